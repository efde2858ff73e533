"""Read digit image files (PNG, JPEG, BMP, ...) into numpy arrays."""

import contextlib
import io
import os
import stat
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .._validation import check_int

# Caps on what one file may hold, checked before it is decoded. 40 megapixels
# hold an A4 page scanned at 600 dpi (35 MP) and the photos of phones and most
# cameras (12 to 24 MP) while the arrays made of it stay near 160 MB; an
# image in MNIST form keeps 784 of them. The bytes: an uncompressed RGBA file
# of that many pixels.
MAX_PIXELS = 40_000_000
MAX_BYTES = 4 * MAX_PIXELS

# Files that are not regular files, by what they are: opening one for reading
# can block forever (a named pipe with no writer) or read without end.
_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def load_digit_images(paths, *, max_pixels=MAX_PIXELS, max_bytes=MAX_BYTES):
    """Read image files into a list of uint8 arrays.

    Any format Pillow reads works (PNG, JPEG, BMP, GIF, TIFF, ...). The
    orientation a phone records in a JPEG's EXIF data is applied. The images
    keep their size and colours, ready for :class:`MNISTNormalizer`.

    Of a file with several frames (an animated GIF, PNG or WebP, a
    multi-page TIFF), only the first frame is read, with a warning. A
    phone's multi-picture JPEG (MPO), whose first frame is the photo and
    the others its previews or depth maps, is read without one.

    Parameters
    ----------
    paths : str, path-like or iterable of str or path-like
        The files to read. A single path reads one file.
    max_pixels : int, default=40_000_000
        The most pixels (width times height) a file may declare, checked on
        its header before anything is decoded: a small file can declare an
        image of billions of pixels (a decompression bomb). 40 megapixels
        hold an A4 page scanned at 600 dpi and the photos of phones and most
        cameras. Pillow's own limit, ``PIL.Image.MAX_IMAGE_PIXELS``, still
        refuses twice its value whatever this says.
    max_bytes : int, default=160_000_000
        The most bytes read from a file: an uncompressed RGBA file of 40
        megapixels. A longer file is refused after reading one byte more,
        whatever its size on disk says.

    Returns
    -------
    images : list of ndarray of uint8
        One array per path, in order: ``(height, width)`` for grey images
        (bilevel and 16-bit grey files are scaled to ``0..255``),
        ``(height, width, 3)`` for colour and ``(height, width, 4)`` for
        images with transparency (RGBA, grey with alpha, palettes with a
        transparent colour). A blank image is read as it is; the
        normaliser turns it into an all-zero digit.

    Raises
    ------
    FileNotFoundError
        If a path does not exist; the message names it.
    ValueError
        If a path is a directory, not a regular file (a named pipe, a
        device, a socket: refused before it is opened, since reading one can
        block forever), a file of more than ``max_bytes`` bytes or of more
        than ``max_pixels`` pixels, or a file Pillow cannot read as an image
        (not an image, damaged, or larger than Pillow's decompression bomb
        limit allows); the message names it. Pillow's
        ``DecompressionBombError`` and ``DecompressionBombWarning`` never
        reach the caller.
    TypeError
        If ``max_pixels`` or ``max_bytes`` is not an int.
    OSError
        If a path cannot be opened for another reason, such as a loop of
        symbolic links or a missing permission; the error names it.

    Warns
    -----
    UserWarning
        For a file of several frames, naming the file and the number of
        frames: only the first is read.

    See Also
    --------
    MNISTNormalizer : Turn the images into MNIST form.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skdigits.preprocessing import load_digit_images
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "seven.png")
    >>> Image.new("RGB", (40, 60), "white").save(path)
    >>> [image] = load_digit_images(path)
    >>> image.shape, image.dtype
    ((60, 40, 3), dtype('uint8'))
    """
    check_int("max_pixels", max_pixels, "a positive int", minimum=1)
    check_int("max_bytes", max_bytes, "a positive int", minimum=1)
    if isinstance(paths, str | bytes | os.PathLike):
        paths = [paths]
    images = []
    for path in paths:  # a loop, not a comprehension: the warning's stacklevel
        images.append(_load_one(path, max_pixels, max_bytes))
    return images


def _load_one(path, max_pixels, max_bytes):
    name = repr(os.fsdecode(path))
    try:
        _check_regular_file(os.stat(path), name)
    except FileNotFoundError:
        raise FileNotFoundError(f"No such image file: {name}") from None
    # Any other OSError (a symbolic link loop, no permission) names the path.
    with open(path, "rb", opener=_open_without_blocking) as file:
        # Checked again on what was opened, in case the path changed since.
        _check_regular_file(os.fstat(file.fileno()), name)
        data = file.read(max_bytes + 1)  # the bytes there are, not st_size
    if len(data) > max_bytes:
        raise ValueError(
            f"{name} is larger than max_bytes={max_bytes} bytes, the most an "
            "image file is read for."
        )
    # Pillow warns of images over its MAX_IMAGE_PIXELS as it opens a file,
    # and as frames grow while it decodes one: the header's size is checked
    # against max_pixels here instead, and a warning while decoding is an
    # error unless max_pixels allows more than Pillow.
    with _as_value_error(name), warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
    with image:
        _check_pixels(name, image.size, max_pixels, "declares")
        with _as_value_error(name), warnings.catch_warnings():
            warnings.simplefilter(
                "error" if max_pixels < Image.MAX_IMAGE_PIXELS else "ignore",
                Image.DecompressionBombWarning,
            )
            frames = getattr(image, "n_frames", 1)
            multi_frame = frames > 1 and image.format != "MPO"
            array = _to_array(ImageOps.exif_transpose(image))
    _check_pixels(name, array.shape[1::-1], max_pixels, "decodes to")
    if multi_frame:
        warnings.warn(
            f"{name} has {frames} frames (an animated or multi-page image); "
            "only the first is read.",
            UserWarning,
            stacklevel=3,
        )
    return array


def _check_pixels(name, size, max_pixels, verb):
    width, height = size
    if width * height > max_pixels:
        raise ValueError(
            f"Cannot read {name} as an image: it {verb} {width} x {height} "
            f"= {width * height} pixels, more than max_pixels={max_pixels}."
        )


@contextlib.contextmanager
def _as_value_error(name):
    """Turn what Pillow raises on a file into a ValueError naming it."""
    try:
        yield
    except UnidentifiedImageError:
        raise ValueError(
            f"Cannot read {name} as an image: not a format Pillow reads."
        ) from None
    except (
        OSError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise ValueError(f"Cannot read {name} as an image: {exc}") from exc
    except Exception as exc:
        # Pillow's decoders raise many kinds on damaged or crafted files
        # (ValueError, struct.error, IndexError, ZeroDivisionError, ...).
        raise ValueError(
            f"Cannot read {name} as an image: {type(exc).__name__}: {exc}"
        ) from exc


def _check_regular_file(status, name):
    if stat.S_ISDIR(status.st_mode):
        raise ValueError(f"{name} is a directory, not an image file.")
    for is_kind, kind in _NOT_REGULAR:
        if is_kind(status.st_mode):
            raise ValueError(f"{name} is {kind}, not an image file.")
    if not stat.S_ISREG(status.st_mode):
        raise ValueError(f"{name} is not a regular file, not an image file.")


def _open_without_blocking(path, flags):
    # A named pipe swapped in after the check opens at once (and is refused)
    # instead of blocking until a writer comes; regular files ignore the flag.
    return os.open(path, flags | getattr(os, "O_NONBLOCK", 0))


def _to_array(image):
    mode = image.mode
    if mode in ("L", "RGB", "RGBA"):
        return np.array(image, dtype=np.uint8)
    if mode == "1":
        return np.array(image.convert("L"), dtype=np.uint8)
    if mode.startswith("I"):
        # 16- or 32-bit grey: scale the file's nominal range to 0..255.
        values = np.asarray(image, dtype=np.float64)
        peak = values.max(initial=0)
        top = 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak
        return np.rint(np.clip(values, 0, None) * (255.0 / top)).astype(np.uint8)
    if mode == "F":
        values = np.asarray(image, dtype=np.float64)
        low, high = values.min(), values.max()
        scale = 255.0 / (high - low) if high > low else 0.0
        return np.rint((values - low) * scale).astype(np.uint8)
    has_alpha = "A" in mode or "transparency" in image.info
    return np.array(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.uint8)

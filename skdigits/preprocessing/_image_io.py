"""Read digit image files (PNG, JPEG, BMP, ...) into numpy arrays."""

import os

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


def load_digit_images(paths):
    """Read image files into a list of uint8 arrays.

    Any format Pillow reads works (PNG, JPEG, BMP, GIF, TIFF, ...). The
    orientation a phone records in a JPEG's EXIF data is applied. The images
    keep their size and colours, ready for :class:`MNISTNormalizer`.

    Parameters
    ----------
    paths : str, path-like or iterable of str or path-like
        The files to read. A single path reads one file.

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
        If a path is a directory or a file Pillow cannot read as an image;
        the message names it.

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
    if isinstance(paths, str | bytes | os.PathLike):
        paths = [paths]
    return [_load_one(path) for path in paths]


def _load_one(path):
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such image file: {os.fsdecode(path)!r}")
    if os.path.isdir(path):
        raise ValueError(f"{os.fsdecode(path)!r} is a directory, not an image file.")
    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            return _to_array(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(
            f"Cannot read {os.fsdecode(path)!r} as an image: {exc}"
        ) from exc


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

"""Turn digit images of any size, polarity and value range into MNIST form."""

import math
import numbers

import numpy as np
from PIL import Image
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, validate_data

_POLARITIES = ("auto", "dark_on_light", "light_on_dark")

# ITU-R BT.601 luma weights, the ones Pillow's ``convert("L")`` uses.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)

_EIGHT = np.ones((3, 3), dtype=bool)  # 8-connected neighbours

# Median stroke width of MNIST's test digits, in pixels, measured by
# stroke_width_of at four times their resolution (p10 2.2, p90 3.8).
MNIST_STROKE_WIDTH = 2.8
# Strokes are thickened or thinned at this multiple of the box's resolution.
_WORK_SCALE = 4

# Images are processed in stacks of about this many pixels.
_BATCH_PIXELS = 2**21

_INPUT_HELP = (
    "Expected a batch of images: a list of 2-D (height, width) or 3-D "
    "(height, width, channels) arrays, an array of shape (n_images, height, width) "
    "or (n_images, height, width, channels), or flat images of shape "
    "(n_images, n_pixels)"
)


class MNISTNormalizer(TransformerMixin, BaseEstimator):
    """Bring digit images into the form of MNIST digits.

    MNIST digits are white ink on a black background, size-normalised to fit
    a 20x20 box keeping their aspect ratio, and placed in a 28x28 frame so
    that their centre of mass is at the centre, with anti-aliased grey levels
    in ``0..255``. This transformer brings other digit images to that form:
    photos and scans of dark ink on light paper, images of any size, off-centre
    digits, other digit data sets such as scikit-learn's 8x8 digits.

    Each image goes through these steps:

    1. Colour images are converted to grey (ITU-R 601 luma). An alpha channel
       is composited onto white paper, or onto black when
       ``polarity="light_on_dark"``; alpha is read as ``0..255`` in integer
       arrays and as ``[0, 1]`` in float arrays.
    2. Polarity: with ``polarity="auto"`` an image whose border pixels have
       a median above the middle of its value range (between its darkest and
       its brightest pixel) is taken as dark ink on light paper, any other
       as light ink on dark. Its paper level is the median of its border
       pixels on the paper's side of that middle (of all its pixels there,
       if ink covers the whole border).
    3. Value range: each image is scaled by its own range, the paper level
       to 0 and the ink's extreme (the darkest pixel for dark ink, the
       brightest for light ink) to 1, giving white ink on black. Any input
       range works this way: ``uint8`` 0-255, floats in ``[0, 1]``, 0-16
       for :func:`sklearn.datasets.load_digits`, ...
    4. Background cleaning: pixels above ``threshold`` are ink. Fainter
       pixels, down to a quarter of ``threshold``, are kept where they are
       connected to ink (8-connected), up to about one output pixel beyond
       its bounding box: the anti-aliased edges of strokes, not paper noise,
       shading or JPEG ringing. All other pixels become 0.
    5. The image is cropped to the bounding box of the remaining ink and
       resized (Lanczos when shrinking, bilinear when enlarging, with Pillow)
       to fit a ``box_size`` square keeping the aspect ratio; its grey levels
       are stretched so that the brightest pixel is 255. With
       ``stroke_width`` set, the strokes are first thickened or thinned
       (grey-level dilation or erosion with a disc, at four times the box's
       resolution) so that their mean width in the box is about
       ``stroke_width`` pixels, that of MNIST's pen. Thinning stops where
       the thinnest strokes (a serif font's hairlines) would go below an
       output pixel.
    6. It is placed in an ``output_size`` square frame with its centre of
       mass at the centre (pixel ``output_size // 2``, rounded to whole
       pixels as in MNIST), moved only as far as needed to keep the whole
       digit inside the frame.

    An image with no ink (constant, or nothing left after cleaning) gives an
    all-zero output image; it is not an error.

    The transformer is stateless: :meth:`fit` only validates its input and,
    for flat 2-D input, records ``n_features_in_``.

    Parameters
    ----------
    polarity : {"auto", "dark_on_light", "light_on_dark"}, default="auto"
        Colours of the ink and background in the input. ``"auto"`` decides
        per image from the median of its border pixels.

    threshold : float, default=0.2
        Ink level, on the scale of step 3 (paper 0, strongest ink 1), above
        which a pixel is ink; see step 4. Must be in ``[0, 1)``. Raise it for
        noisy photos or shaded paper, lower it to keep faint strokes.

    box_size : int, default=20
        Side of the square the digit is scaled to fit, keeping its aspect
        ratio. Must be at least 1 and at most ``output_size``.

    stroke_width : float or None, default=None
        Mean stroke width, in output pixels, to bring every digit to (see
        step 5): printed digits in thin or bold fonts, fine pens and
        markers then all look drawn with the same pen, as MNIST's digits
        are (about 2.8 pixels: the median over MNIST's test digits, measured
        as this transformer measures). The width is estimated from the
        distance transform of the ink. ``None`` keeps the strokes as they
        are. Slower: about 1.1 ms per image instead of 0.3.

    output_size : int, default=28
        Side of the square output images.

    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of the images when they come as flat rows of a 2-D
        array. ``None`` infers it: rows of ``side * side`` values are square
        images (64 values: 8x8, 784 values: 28x28), any other row of ``k``
        values is read as an image one pixel high, ``(1, k)``.

    flatten : bool, default=True
        If True, :meth:`transform` returns shape ``(n_images, output_size**2)``
        as MNIST's flat rows; if False ``(n_images, output_size, output_size)``.

    Attributes
    ----------
    n_features_in_ : int
        Number of values per flat image seen in :meth:`fit`. Only set when
        :meth:`fit` got a 2-D array of flat images; :meth:`transform` then
        checks that flat input has the same number of values.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    load_digit_images : Read image files into arrays this transformer takes.
    sklearn.datasets.load_digits : 8x8 digits (white on black, 0-16).

    Notes
    -----
    Output values are ``uint8`` in ``0..255`` like the MNIST files. Divide by
    255 to get the ``[0, 1]`` floats most networks are trained on.

    Input can be a list of images of different sizes, grey ``(h, w)`` or with
    channels ``(h, w, c)`` where ``c`` is 1 (grey), 2 (grey and alpha), 3 (RGB)
    or 4 (RGBA); anything :func:`numpy.asarray` turns into one, such as a
    Pillow image, works too. A 3-D array is always read as a stack of grey
    images ``(n_images, h, w)`` and a 4-D array as ``(n_images, h, w, c)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdigits.preprocessing import MNISTNormalizer
    >>> image = np.full((60, 40), 255, dtype=np.uint8)  # white paper
    >>> image[10:50, 25:29] = 0  # a black stroke: a "1"
    >>> X = MNISTNormalizer().fit_transform([image])
    >>> X.shape, X.dtype
    ((1, 784), dtype('uint8'))
    >>> digit = X[0].reshape(28, 28)
    >>> rows, cols = np.nonzero(digit)
    >>> int(rows.min()), int(rows.max()), int(digit.max())
    (5, 24, 255)

    scikit-learn's 8x8 digits (values 0-16) in MNIST form:

    >>> from sklearn.datasets import load_digits
    >>> X_8x8 = load_digits().data[:5]
    >>> MNISTNormalizer(flatten=False).fit_transform(X_8x8).shape
    (5, 28, 28)
    """

    def __init__(
        self,
        polarity="auto",
        threshold=0.2,
        box_size=20,
        stroke_width=None,
        output_size=28,
        image_shape=None,
        flatten=True,
    ):
        self.polarity = polarity
        self.threshold = threshold
        self.box_size = box_size
        self.stroke_width = stroke_width
        self.output_size = output_size
        self.image_shape = image_shape
        self.flatten = flatten

    def fit(self, X, y=None):
        """Validate the parameters and `X`; learn nothing else.

        Parameters
        ----------
        X : list of array-like or array-like
            Images, in any of the forms :meth:`transform` takes.

        y : None
            Ignored.

        Returns
        -------
        self : MNISTNormalizer
            The transformer.
        """
        self._check_params()
        self._check_images(X, reset=True)
        return self

    def transform(self, X):
        """Normalise each image of `X` into MNIST form.

        Parameters
        ----------
        X : list of array-like or array-like
            A list of 2-D ``(h, w)`` or 3-D ``(h, w, c)`` images of any sizes,
            an array ``(n_images, h, w)`` or ``(n_images, h, w, c)``, or flat
            images ``(n_images, n_pixels)`` (see ``image_shape``).

        Returns
        -------
        X_mnist : ndarray of uint8, shape (n_images, output_size**2)
            Digits in MNIST form, ``0..255``. Shape
            ``(n_images, output_size, output_size)`` if ``flatten=False``.
        """
        self._check_params()
        images = self._check_images(X, reset=False)
        size = self.output_size
        out = np.zeros((len(images), size, size), dtype=np.uint8)
        for start, batch in _batches(images):
            ink = _ink(batch, self.polarity)
            for offset, digit in enumerate(ink):
                _place_digit(
                    digit,
                    out[start + offset],
                    float(self.threshold),
                    self.box_size,
                    self.stroke_width,
                )
        if self.flatten:
            return out.reshape(len(images), size * size)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Stateless: transform needs no fit.
        tags.requires_fit = False
        tags.input_tags.three_d_array = True
        # Output is always uint8 0-255, whatever the input dtype.
        tags.transformer_tags.preserves_dtype = []
        return tags

    def _check_params(self):
        name = type(self).__name__
        if not isinstance(self.polarity, str) or self.polarity not in _POLARITIES:
            raise ValueError(
                f"{name}: polarity must be one of {_POLARITIES}; got {self.polarity!r}."
            )
        if (
            not isinstance(self.threshold, numbers.Real)
            or isinstance(self.threshold, bool)
            or not 0 <= self.threshold < 1
        ):
            raise ValueError(
                f"{name}: threshold must be a number in [0, 1); got {self.threshold!r}."
            )
        for param in ("output_size", "box_size"):
            value = getattr(self, param)
            if (
                not isinstance(value, numbers.Integral)
                or isinstance(value, bool)
                or value < 1
            ):
                raise ValueError(
                    f"{name}: {param} must be a positive integer; got {value!r}."
                )
        if self.stroke_width is not None and (
            not isinstance(self.stroke_width, numbers.Real)
            or isinstance(self.stroke_width, bool)
            or not 0 < self.stroke_width <= self.box_size / 2
        ):
            raise ValueError(
                f"{name}: stroke_width must be None or a number of pixels in "
                f"(0, box_size / 2]; got {self.stroke_width!r}."
            )
        if self.box_size > self.output_size:
            raise ValueError(
                f"{name}: box_size must be at most output_size; got "
                f"box_size={self.box_size!r} and output_size={self.output_size!r}."
            )
        if self.image_shape is not None and not (
            isinstance(self.image_shape, tuple | list)
            and len(self.image_shape) == 2
            and all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
                for v in self.image_shape
            )
        ):
            raise ValueError(
                f"{name}: image_shape must be None or a (height, width) pair of "
                f"positive integers; got {self.image_shape!r}."
            )
        if not isinstance(self.flatten, bool | np.bool_):
            raise ValueError(
                f"{name}: flatten must be True or False; got {self.flatten!r}."
            )

    def _check_images(self, X, *, reset):
        """Validate `X` and return a sequence of 2-D or 3-D image arrays."""
        if isinstance(X, list | tuple):
            if len(X) == 0:
                raise ValueError(f"{_INPUT_HELP}; got an empty {type(X).__name__}.")
            items = [np.asarray(item) for item in X]
            ndims = {item.ndim for item in items}
            if ndims == {1}:
                # A list of flat rows is a 2-D array-like.
                return self._flat_to_images(X, reset=reset)
            if not ndims <= {2, 3}:
                raise ValueError(
                    f"{_INPUT_HELP}; got a list of arrays with "
                    f"{sorted(ndims)} dimensions."
                )
            if reset:
                self._forget_n_features()
            return [_check_image(item, i) for i, item in enumerate(items)]

        ndim = X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim
        if ndim == 2:
            return self._flat_to_images(X, reset=reset)
        if ndim not in (3, 4):
            hint = (
                " Reshape your data: one flat image is X.reshape(1, -1), one 2-D "
                "image is [X]."
                if ndim < 2
                else ""
            )
            raise ValueError(
                f"{_INPUT_HELP}; got an array with {ndim} dimensions.{hint}"
            )
        X = check_array(X, allow_nd=True, dtype="numeric")
        if ndim == 4:
            _check_channels(X.shape[-1], "the images")
        if min(X.shape[1:3]) == 0:
            raise ValueError(f"{_INPUT_HELP}; got empty images, shape {X.shape}.")
        if reset:
            self._forget_n_features()
        return X

    def _flat_to_images(self, X, *, reset):
        if reset or hasattr(self, "n_features_in_"):
            X = validate_data(self, X, reset=reset, dtype="numeric")
        else:
            X = check_array(X, dtype="numeric")
        n_pixels = X.shape[1]
        if self.image_shape is not None:
            height, width = (int(v) for v in self.image_shape)
            if height * width != n_pixels:
                raise ValueError(
                    f"{type(self).__name__}: image_shape={tuple(self.image_shape)} "
                    f"has {height * width} pixels but the flat images have "
                    f"{n_pixels} values each."
                )
        else:
            side = math.isqrt(n_pixels)
            height, width = (side, side) if side * side == n_pixels else (1, n_pixels)
        return X.reshape(X.shape[0], height, width)

    def _forget_n_features(self):
        # Images are not flat rows: fit on them records no n_features_in_.
        for attr in ("n_features_in_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)


def _check_channels(n_channels, what):
    if n_channels not in (1, 2, 3, 4):
        raise ValueError(
            f"{_INPUT_HELP}; {what} have {n_channels} channels where 1 (grey), "
            "2 (grey, alpha), 3 (RGB) or 4 (RGBA) are expected."
        )


def _check_image(image, index):
    """Validate one image of a list."""
    if image.dtype.kind not in "biuf":
        try:
            image = image.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Image {index} is not numeric: dtype {image.dtype}."
            ) from exc
    if image.ndim == 3:
        _check_channels(image.shape[2], f"image {index} has shape {image.shape}:")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"Image {index} is empty: shape {image.shape}.")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError(f"Image {index} contains NaN or infinity.")
    return image


def _batches(images):
    """Yield ``(start, stack)``: equal-size images as ``(n, h, w[, c])`` arrays."""
    if isinstance(images, np.ndarray):
        step = max(1, _BATCH_PIXELS // (images.shape[1] * images.shape[2]))
        for start in range(0, images.shape[0], step):
            yield start, images[start : start + step]
    else:
        for start, image in enumerate(images):
            yield start, image[np.newaxis]


def _nominal_max(values):
    """Per image of a stack, the value meaning full (white, opaque)."""
    peak = values.max(axis=(1, 2), keepdims=True).astype(np.float32)
    if values.dtype.kind in "biu":
        return np.where(peak <= 255, np.float32(255), np.float32(65535))
    return np.where(peak <= 1, np.float32(1), np.where(peak <= 255, 255, peak))


def _to_grey(images, polarity):
    """A stack of images ``(n, h, w[, c])`` as float32 grey ``(n, h, w)``."""
    grey = images.astype(np.float32)
    if grey.ndim == 3:
        return grey
    n_channels = grey.shape[3]
    colour = grey[..., 0] if n_channels <= 2 else grey[..., :3] @ _LUMA
    if n_channels in (1, 3):
        return colour
    # Composite onto paper: white unless the ink is said to be light.
    alpha = grey[..., -1] / _nominal_max(images[..., -1])
    if polarity == "light_on_dark":
        paper = np.float32(0)
    else:
        paper = _nominal_max(images[..., :-1].max(axis=3))
    return alpha * colour + (1 - alpha) * paper


def _paper_level(grey, border, middle, dark_ink):
    """Per image, the median of its border pixels on the paper's side.

    The paper's side is above the middle of the value range for dark ink,
    below it for light ink. When no border pixel is there (ink covers the
    whole border), all the image's pixels on the paper's side count.
    """
    on_paper = np.where(
        dark_ink[:, np.newaxis],
        border > middle[:, np.newaxis],
        border < middle[:, np.newaxis],
    )
    values = np.where(on_paper, border, np.nan)
    values.sort(axis=1)  # NaN last
    count = on_paper.sum(axis=1)
    lower = np.maximum(count - 1, 0) // 2
    upper = count // 2
    paper = 0.5 * (
        np.take_along_axis(values, lower[:, np.newaxis], axis=1)[:, 0]
        + np.take_along_axis(values, upper[:, np.newaxis], axis=1)[:, 0]
    )
    for i in np.flatnonzero(count == 0):
        image = grey[i]
        side = image[image > middle[i]] if dark_ink[i] else image[image < middle[i]]
        paper[i] = np.median(side) if side.size else middle[i]
    return paper


def _ink(images, polarity):
    """White-on-black ink of a stack: paper at 0, the strongest ink at 1.

    Each image is scaled by its own value range, from its paper level (see
    `_paper_level`) to its ink's extreme. Blank images come out all 0.
    """
    grey = _to_grey(images, polarity)
    low = grey.min(axis=(1, 2))
    high = grey.max(axis=(1, 2))
    value_range = high - low
    middle = low + 0.5 * value_range
    border = np.concatenate(
        [grey[:, 0], grey[:, -1], grey[:, 1:-1, 0], grey[:, 1:-1, -1]], axis=1
    )
    if polarity == "auto":
        dark_ink = np.median(border, axis=1) > middle
    else:
        dark_ink = np.full(len(grey), polarity == "dark_on_light")
    paper = _paper_level(grey, border, middle, dark_ink)
    # Map paper to 0 and the ink's extreme (darkest or lightest) to 1.
    contrast = np.where(dark_ink, low, high) - paper
    has_ink = (value_range > 1e-6 * np.maximum(abs(low), abs(high))) & (
        abs(contrast) > 1e-6 * value_range
    )
    scale = np.where(has_ink, 1 / np.where(has_ink, contrast, 1), 0)
    ink = grey
    ink -= paper[:, np.newaxis, np.newaxis]
    ink *= scale[:, np.newaxis, np.newaxis].astype(np.float32)
    return ink


def _clean(ink, threshold, box_size):
    """Crop of `ink` to the digit, background set to 0; None if there is none.

    Pixels above `threshold` are ink. Fainter ones, down to a quarter of it,
    are kept where they connect to ink, up to about one output pixel
    (``reach`` input pixels) beyond its bounding box: the anti-aliased edges
    of strokes, not paper noise, shading or compression ringing around them.
    """
    strong = ink > threshold
    rows = np.flatnonzero(strong.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(strong.any(axis=0))
    reach = math.ceil(max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) / box_size)
    top, left = max(rows[0] - reach, 0), max(cols[0] - reach, 0)
    region = (slice(top, rows[-1] + reach + 1), slice(left, cols[-1] + reach + 1))
    ink, strong = ink[region], strong[region]
    labels, n_labels = ndimage.label(ink > 0.25 * threshold, structure=_EIGHT)
    inked = np.zeros(n_labels + 1, dtype=bool)
    inked[labels[strong]] = True
    inked[0] = False
    keep = inked[labels]
    rows = np.flatnonzero(keep.any(axis=1))
    cols = np.flatnonzero(keep.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    return np.where(keep[box], ink[box], np.float32(0))


def stroke_width_of(ink):
    """Mean stroke width, in pixels, of white-on-black ink (0 if none).

    The ink above half its peak is the stroke's body. In a stroke ``w``
    pixels wide, the distances of its pixels to the nearest background pixel
    run from 1 to ``w / 2`` and back, averaging ``(w + 2) / 4`` whatever its
    length, so ``w`` is 4 times the mean distance, less 2.

    Parameters
    ----------
    ink : ndarray of shape (height, width)
        A grey image, ink bright on a 0 background.

    Returns
    -------
    float
        The estimated width.
    """
    return _mean_width(_body_distance(ink))


def _body_distance(ink):
    """Distance to the background of the body of ``ink``, or None if blank."""
    if not ink.size or not ink.max() > 0:
        return None
    return ndimage.distance_transform_edt(np.pad(ink > 0.5 * ink.max(), 1))


def _mean_width(distance):
    """:func:`stroke_width_of`, from :func:`_body_distance`."""
    if distance is None:
        return 0.0
    return float(max(4 * distance[distance > 0].mean() - 2, 1.0))


def _thinnest_width(distance):
    """Width of the thinnest strokes, from :func:`_body_distance` (0 if none).

    Along the middle of a stroke (the ridge of the distance transform of
    its body) the distance to the background is half the stroke's local
    width. The thinnest strokes are the 10th percentile of the ridge, so
    that a few pixels of noise do not count; a thin stroke shorter than a
    tenth of all strokes (a short serif) may not count either.
    """
    if distance is None:
        return 0.0
    ridge = (distance > 0) & (distance >= ndimage.maximum_filter(distance, size=3))
    return float(2 * np.percentile(distance[ridge], 10) - 1)


def _set_stroke_width(ink, box_size, stroke_width):
    """`ink` resized to fit ``_WORK_SCALE * box_size``, strokes as wide."""
    work_size = _WORK_SCALE * box_size
    height, width = ink.shape
    scale = work_size / max(height, width)
    size = (
        max(1, min(work_size, math.floor(width * scale + 0.5))),
        max(1, min(work_size, math.floor(height * scale + 0.5))),
    )
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
    image = Image.frombuffer("F", (width, height), ink, "raw", "F", 0, 1)
    work = np.frombuffer(image.resize(size, resample).tobytes(), dtype=np.float32)
    work = np.clip(work.reshape(size[1], size[0]), 0, None)
    # Room to grow: thickening must not be cut at the edges.
    margin = math.ceil(2 * stroke_width) + 1
    work = np.pad(work, margin)
    distance = _body_distance(work)
    change = _WORK_SCALE * stroke_width - _mean_width(distance)
    radius = abs(change) / 2
    if change < 0:
        # Thin the bold strokes no further than the thinnest ones allow: each
        # keeps at least an output pixel (a serif font's hairlines too).
        radius = min(radius, (_thinnest_width(distance) - _WORK_SCALE) / 2)
    if radius >= 0.5:
        r = math.ceil(radius)
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        disc = xx**2 + yy**2 <= radius**2
        if change > 0:
            work = ndimage.grey_dilation(work, footprint=disc)
        else:
            thinner = ndimage.grey_erosion(work, footprint=disc)
            if thinner.max() > 0.5 * work.max():  # never erase the digit
                work = thinner
    rows = np.flatnonzero(work.max(axis=1) > 0)
    cols = np.flatnonzero(work.max(axis=0) > 0)
    if rows.size == 0:
        return work
    return np.ascontiguousarray(work[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def _place_digit(ink, out, threshold, box_size, stroke_width=None):
    """Put the digit of `ink` in MNIST form into the zeroed uint8 `out`."""
    ink = _clean(ink, threshold, box_size)
    if ink is None:
        return  # blank: all zero
    if stroke_width is not None:
        ink = _set_stroke_width(ink, box_size, stroke_width)

    # Fit into the box, keeping the aspect ratio.
    height, width = ink.shape
    scale = box_size / max(height, width)
    new_height = min(box_size, max(1, math.floor(height * scale + 0.5)))
    new_width = min(box_size, max(1, math.floor(width * scale + 0.5)))
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
    image = Image.frombuffer("F", (width, height), ink, "raw", "F", 0, 1)
    small = np.frombuffer(
        image.resize((new_width, new_height), resample).tobytes(), dtype=np.float32
    ).reshape(new_height, new_width)
    small = np.clip(small, 0, None)  # Lanczos rings below 0
    peak = small.max()
    if peak <= 0:
        return
    small *= 255 / peak

    # Centre of mass to the frame's centre, keeping the digit inside.
    size = out.shape[0]
    center_row = small.sum(axis=1) @ np.arange(new_height) / small.sum()
    center_col = small.sum(axis=0) @ np.arange(new_width) / small.sum()
    top = min(max(math.floor(size // 2 - center_row + 0.5), 0), size - new_height)
    left = min(max(math.floor(size // 2 - center_col + 0.5), 0), size - new_width)
    out[top : top + new_height, left : left + new_width] = np.rint(small)

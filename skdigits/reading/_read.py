"""Read the digits of form fields: segment, normalise, classify in batches."""

import dataclasses
import functools
import math
import numbers
import os
import sys

import numpy as np

from ..preprocessing import _image_io
from . import _scoring, _segment
from ._segment import check_image, check_polarity, is_real, segment_field

#: Default of ``reject_threshold``: a digit read with a lower probability is
#: rejected. Chosen on fields composed from MNIST *training* digits and on
#: printed fields of other seeds than the benchmark's, never on its test
#: fields (``benchmarks/bench_reading.py --tune``): the highest threshold
#: that rejected at most 5% of the strings read right, with the digits of
#: close-call segmentations (REJECT_MARGIN, LEARNED_REJECT_MARGIN) also
#: rejected. With the shipped model (load_pretrained), in session 7: 0.9,
#: which rejected 4.4% of the 1,830 right strings and caught 49% of the 170
#: wrong ones (0.95: 5.8% and 54%). Session 8, with the piece scorer and the
#: verifier's second opinion: 3.1% of the 1,914 right strings and 55% of the
#: 86 wrong ones (0.95: 4.6% and 63%, within 5% but close to it: 0.9 kept).
#: Session 11, with the verifier of ink-labelled pieces: 3.1% of the 1,930
#: right strings and 67% of the 70 wrong ones (0.95: 4.8% and 77%, within 5%
#: but close to it, as in session 8: 0.9 kept). Session 12, with the refined
#: cuts and LEARNED_REJECT_MARGIN 1.2: 2.7% of the 1,934 right strings and
#: 64% of the 66 wrong ones (at 0.9 already 4.9% of the separated fields'
#: right strings: 0.9 kept, as in sessions 8 and 11).
DEFAULT_REJECT_THRESHOLD = 0.9

#: Default of ``max_pixels``: larger images are refused, not read; that of
#: load_digit_images, checked on a file's header before it is decoded.
DEFAULT_MAX_PIXELS = _image_io.MAX_PIXELS

# A touching run whose best segmentation scores less than this above the
# best with another number of digits is a close call: its digits are
# rejected (when reject_threshold > 0), however sure of each the network is.
# With DEFAULT_REJECT_THRESHOLD, chosen on fields of MNIST training digits:
# 47% of wrong strings rejected instead of 34%, 4.8% of right ones.
REJECT_MARGIN = 0.6
# The same, on the scale of the learned scores (with a verifier). On fields
# of MNIST training digits (bench_reading.py --tune, all 2,000 fields), 0.3,
# 0.6 and 1.2 rejected 57%, 58% and 63% of the wrong strings and 4.2%, 4.4%
# and 4.8% of the right ones: 0.6 keeps clear of 5%.
# Session 11's verifier: 66%, 67% and 71% of the wrong strings, 3.0%, 3.1%
# and 3.2% of the right ones (0.6 kept). Session 12's refined cuts
# (REFINE_OFFSETS) widen the margins: 0.6 and 1.2 rejected 58% and 64% of
# the wrong strings, 2.6% and 2.7% of the right ones: 1.2.
LEARNED_REJECT_MARGIN = 1.2
# The segmentation verifier (benchmarks/train_verifier.py): with one, the
# pieces are scored by _scoring.learned_scores, and a digit read from a piece
# it thinks is not one digit with a probability above VERIFIER_REJECT is
# rejected (with reject_threshold > 0). Chosen on fields of MNIST training
# digits (bench_reading.py --tune): with reject_threshold 0.9, 0.5 rejected
# 63% of the wrong strings and 9.3% of the right ones, 0.95 55% and 3.9%:
# 0.95 keeps within 5%. Session 11's verifier, all 2,000 fields: 0.9, 0.95
# and 0.99 rejected 69%, 67% and 64% of the wrong strings and 3.6%, 3.1%
# and 2.5% of the right ones (0.95 kept).
VERIFIER_REJECT = 0.95
# A blob DOUBT_WIDTH to Field.split_width (_segment) digit heights wide, which is
# not cut otherwise, is cut when the verifier gives it a probability above
# DOUBT_JUNK of not being one digit: candidates in a second batch, for the
# blobs the verifier doubts alone (and the wide blobs of WIDE_DOUBT_JUNK).
# Chosen on fields of MNIST training digits (bench_reading.py --tune, 500
# of each kind): touching fields read right 0.792 without, 0.802 with (0.7,
# 0.5), 0.806 (0.7, 0.2), 0.814 (0.5, 0.05), 0.818 (0.5, 0.01) and 0.826
# cutting every such blob (0.5, 0), which read 0.974 of the separated fields
# instead of 0.980 in 2.7 times the time; the others 0.978, in about the
# time of none.
DOUBT_WIDTH = 0.5
DOUBT_JUNK = 0.05
# With a verifier, in a field whose digits do not touch (Field.touching), the
# blobs wider than Field.split_width are read whole first too, and cut in
# the second batch only when the verifier gives the whole a probability
# above WIDE_DOUBT_JUNK of not being one digit, or the classifier reads it
# with a probability below WIDE_DOUBT_CONFIDENCE. Most such blobs are one
# wide digit (a "0", a "2" or a "4" can be wider than the field's median
# height): their candidates were half of a separated field's pieces. On
# fields of MNIST training digits (bench_reading.py --tune) the readings
# were as right as when every such blob was cut (session 10: 0.976 / 0.982
# / 0.888 / 0.998 exact), and a 6-digit test field in 19.8 ms instead of
# 23.4 (the median of five runs of 120 calls, AMD EPYC). That verifier
# alone was a poor judge of these: with WIDE_DOUBT_CONFIDENCE 0, 1e-4 lost 4
# touching fields of 500, so 1e-5 it was. Session 11's verifier, trained
# to call merged digits junk, read those fields alike at 1e-5, 1e-4 and
# 1e-3 (a first version of it also with 0.999): 1e-4 recut fewer of the
# latency fields (3 of 10 instead of 5, with that first version).
WIDE_DOUBT_JUNK = 1e-4
WIDE_DOUBT_CONFIDENCE = 0.9999
# With a verifier, the cuts of the best segmentation of a cut blob get
# neighbours this many pixels away, and their pieces a third batch
# (_refine_plan): the candidate cuts are never closer than 3 pixels, and a
# narrow "1" touching its neighbour is 4 to 8 pixels wide. On touching
# fields of MNIST training digits (bench_reading.py --tune, session 12):
# 0.902 read right without, 0.906 with (0.898 and 0.902 without
# _segment._FRAGMENT_GROWTH), the others unchanged, for 1.6 times the time
# of a touching field (separated ones rarely have a cut blob). Session 11's
# try of such neighbours for every candidate cut read 0.912 for 6 times
# the pieces.
REFINE_OFFSETS = (-2, -1, 1, 2)
#: The verifier's class of pieces that are not one digit.
NOT_A_DIGIT = 10
# The verifier's second opinion of a cut piece's digit is floored here: a
# digit it rules out keeps a chance (as tried on training-digit fields).
_SECOND_FLOOR = 1e-6


@dataclasses.dataclass(frozen=True, eq=False)
class FieldReading:
    """The digits read from one field image, left to right.

    Parameters
    ----------
    text : str
        The digits read, as a string (``""`` when none were found).
    labels : ndarray of shape (n_digits,)
        The class of each digit, from the classifier's ``classes_``.
    proba : ndarray of float of shape (n_digits, n_classes)
        The classifier's probabilities for each digit, its columns in the
        order of ``classes``. For a digit cut out of touching ink and read
        with a verifier whose digit classes are the classifier's, the
        classifier's probabilities times the verifier's, renormalised: a
        second opinion from a network trained on such pieces.
    confidence : ndarray of float of shape (n_digits,)
        The probability of each digit read: the largest of its row of
        ``proba``.
    boxes : ndarray of int of shape (n_digits, 4)
        ``(x0, y0, x1, y1)`` of each digit in the input image's pixels,
        ``x1`` and ``y1`` exclusive: ``image[y0:y1, x0:x1]`` holds it.
    rejected : ndarray of bool of shape (n_digits,)
        True for the digits whose ``confidence`` is below the
        ``reject_threshold`` they were read with, or (with a threshold above
        0) cut from touching ink that could nearly as well be another number
        of digits, or that the verifier is sure (above ``VERIFIER_REJECT``,
        0.95) are not one digit: not sure.
    classes : ndarray of shape (n_classes,)
        The classifier's classes, the columns of ``proba``.

    See Also
    --------
    read_digits : Read fields into FieldReadings.

    Examples
    --------
    >>> import numpy as np
    >>> from skdigits.reading import FieldReading
    >>> reading = FieldReading(
    ...     text="42", labels=np.array([4, 2]),
    ...     proba=np.eye(10)[[4, 2]] * 0.9 + 0.01,
    ...     confidence=np.array([0.91, 0.91]),
    ...     boxes=np.array([[2, 3, 20, 30], [24, 3, 40, 30]]),
    ...     rejected=np.array([False, False]), classes=np.arange(10))
    >>> reading.text, reading.any_rejected
    ('42', False)
    """

    text: str
    labels: np.ndarray
    proba: np.ndarray
    confidence: np.ndarray
    boxes: np.ndarray
    rejected: np.ndarray
    classes: np.ndarray

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    def __len__(self):
        return len(self.text)

    @property
    def any_rejected(self):
        """Whether any digit is rejected: the string as a whole is not sure."""
        return bool(self.rejected.any())

    @property
    def min_confidence(self):
        """The lowest digit probability (1.0 for an empty reading)."""
        return float(self.confidence.min()) if len(self.confidence) else 1.0

    def __repr__(self):
        marks = "".join("?" if r else "." for r in self.rejected)
        return (
            f"FieldReading(text={self.text!r}, n_digits={len(self.text)}, "
            f"min_confidence={self.min_confidence:.3f}, rejected={marks!r})"
        )


def read_digits(
    images,
    *,
    classifier=None,
    reject_threshold=DEFAULT_REJECT_THRESHOLD,
    polarity="auto",
    stroke_width=None,
    max_pixels=DEFAULT_MAX_PIXELS,
    verifier="auto",
):
    """Read the digits of form fields: a postcode, an amount, a date, an ID.

    Each image holds one line of digits (1 to about 20), handwritten or
    printed, dark on light or light on dark, grey or colour, maybe with
    noise specks, an underline or a box around it, uneven gaps, neighbours
    that touch and strokes broken in two. It is read in these steps:

    1. The image is converted to grey and its ink found: the paper is the
       colour of most of its pixels (with ``polarity="auto"``); pixels at
       more than 35% of the way from the paper to the strongest ink are ink.
       An image whose ink differs from its paper by less than 12% of its
       type's range (31 levels of 255) has no ink.
    2. Box lines and underlines (straight runs of ink longer than the
       digits are high, or joining two such lines) are removed.
    3. The connected components of the ink are found; specks (tiny
       components, and ink lower than 40% of the digits' median height) are
       dropped, and the pieces of a broken digit (a fragment overlapping
       another piece horizontally) merged.
    4. A piece wider than the digits are high (than 0.8 of their height,
       in a field with a piece wider than any one digit) may be several
       touching digits: candidate cuts are placed at minima of its vertical
       ink projection, where it would divide evenly and, in a piece wider
       than most digits, at the valleys of its upper and lower contours;
       in a field whose digits touch, at both sides of each narrow run of
       columns nearly all ink (a ``1`` between two neighbours).
       Where a straight cut would run down a stroke (digits whose columns
       overlap), the seam beside it, a path through the least ink from top
       to bottom, is a candidate cut too. Each candidate segmentation
       (digits 0.15 to 1.2 heights wide, or the piece uncut up to 2
       heights) is scored piece by piece and the best one is kept. With a
       ``verifier``, a piece scores the log-odds that it is one whole
       digit, from what the classifier and the verifier say of it and its
       geometry (the shipped *piece scorer*, a logistic
       regression fit on the reader's own pieces of training-digit fields;
       see ``skdigits/reading/_scoring.py``); without one, the classifier's
       confidence (a reward per digit read with a clear margin over the
       other classes, so that two clear digits beat one pair the network is
       as sure of) less a penalty for widths unlike a digit's. With a
       verifier, a piece 0.5 to 1 heights wide is cut too when the verifier
       doubts it is one digit (a "1" touching its neighbour is often
       narrower than one digit height); and in a field whose digits do not
       touch (no piece wider than 1.3 heights), a wider piece is read whole
       first, and cut only when the verifier or the classifier is not all
       but sure it is one digit (most are one wide digit).
    5. Every piece is brought to MNIST form by
       :class:`~skdigits.preprocessing.MNISTNormalizer` and classified.

    The pieces of all the images, with the candidates of step 4, go to the
    classifier's ``predict_proba`` in one batch (and the cuts of the blobs
    doubted in a second), and to the verifier's; when both are
    :class:`~skdigits.CNNDigitClassifier` networks of the same input (as the
    shipped pair), one compiled call runs both. A classifier given (or a
    Pipeline ending in one) with test-time augmentation (``tta_shift`` > 0)
    scores the candidates without it; the pieces kept are then classified
    with it, in a second batch.

    Parameters
    ----------
    images : str, path-like, array-like, or list of them
        One field or a list of fields. A path is read with
        :func:`~skdigits.preprocessing.load_digit_images`' safe loader; an
        array is a 2-D grey image or a 3-D ``(height, width, channels)``
        colour image with 1 to 4 channels (alpha is composited onto paper).
    classifier : estimator, default=None
        A fitted classifier of MNIST-form digits with ``predict_proba`` and
        ``classes_``: a :class:`~skdigits.CNNDigitClassifier` (its image
        size and input scale are followed), or any estimator of flat rows of
        784 values 0-255, such as a Pipeline. None is the model that ships
        with skdigits, :func:`~skdigits.load_pretrained` (loaded once a
        process), without its test-time augmentation: on fields it reads as
        well without, in two thirds of the time.
    reject_threshold : float, default=0.9
        A digit read with a probability below this is marked in
        ``rejected``, as are, when it is above 0, the digits of a run of
        touching digits that could nearly as well be cut into another
        number of digits. The default was chosen on fields of MNIST training
        digits and printed fields other than the benchmark's (see
        ``benchmarks/bench_reading.py --tune``): the highest that rejected
        at most 5% of the right strings there, with the model that ships
        with skdigits. 0 rejects nothing.
    polarity : {"auto", "dark_on_light", "light_on_dark"}, default="auto"
        Colours of ink and paper. ``"auto"`` takes the colour of most of the
        pixels for the paper.
    stroke_width : float or None, default=None
        The stroke width, in pixels of the 20x20 box, the digits are brought
        to before a 28x28 classifier sees them (see
        :class:`~skdigits.preprocessing.MNISTNormalizer`; MNIST's pen is
        2.8). None keeps the strokes as they are: on fields of MNIST
        training digits and printed fields it read more strings right
        (0.963 and 0.997 exact against 0.947 and 0.987 with 2.8), and it is
        three times faster.
    max_pixels : int or None, default=40_000_000
        Images of more pixels are refused with a ValueError naming them; a
        file is refused from the size its header declares, before it is
        decoded, and read no further than 4 bytes a pixel of the cap (160
        MB at least). None sets no limit (Pillow's own decompression-bomb
        limit still applies to files).
    verifier : "auto", estimator or None, default="auto"
        A classifier of the candidate pieces whose ``classes_`` include
        ``10``, a piece that is *not one digit* (two touching digits taken
        as one, part of a digit, parts of two), trained on the pieces this
        function cuts. ``"auto"`` is the one that ships with skdigits
        (``benchmarks/train_verifier.py``; loaded once a process; its ONNX
        export for an ONNX classifier, so no TensorFlow is needed). With a
        verifier, pieces are scored by the piece scorer (step 4), which was
        fit with the shipped classifier and verifier; a digit it is sure
        (above 0.95) is not one digit is rejected (with ``reject_threshold``
        above 0). None scores the pieces by the classifier alone.

    Returns
    -------
    reading : FieldReading or list of FieldReading
        A :class:`FieldReading` for one image; a list of them, in order, for
        a list of images. An image without digits (blank paper, or only box
        lines, underlines and specks) reads as ``text == ""`` with empty
        arrays: nothing is guessed.

    Raises
    ------
    FileNotFoundError
        If a path does not exist (the message names it), or the shipped
        model or verifier a default asks for is missing.
    ValueError
        For a file that is not an image, an array that is not an image, an
        image larger than ``max_pixels`` (naming the file or the index of
        the image), a parameter out of its range, or a ``verifier`` without
        the class 10.
    TypeError
        If ``classifier`` or ``verifier`` has no ``predict_proba`` or is not
        fitted.

    See Also
    --------
    segment_digits : The boxes of the ink alone, without a classifier.
    skdigits.plotting.FieldReadingDisplay : Draw a reading on its image.

    Examples
    --------
    >>> import numpy as np
    >>> from skdigits.reading import read_digits
    >>> blank = np.full((40, 120), 255, dtype=np.uint8)
    >>> read_digits(blank, classifier=clf).text  # doctest: +SKIP
    ''

    With the model that ships with skdigits:

    >>> reading = read_digits("postcode.png")  # doctest: +SKIP
    >>> reading.text, reading.rejected  # doctest: +SKIP
    ('75011', array([False, False, False, False, False]))
    """
    _check_params(reject_threshold, stroke_width, max_pixels)
    check_polarity(polarity)
    verifier = _resolve_verifier(verifier)  # checked before any work
    single, items = _as_list(images)
    arrays = [_load(item, index, max_pixels) for index, item in enumerate(items)]
    if classifier is None:
        classifier = _shipped_reader()
    classes = _check_classifier(classifier)
    verifier = _resolve_verifier(verifier, classifier)
    readings = _read_arrays(
        arrays,
        classifier,
        classes,
        float(reject_threshold),
        polarity,
        stroke_width,
        verifier,
    )
    return readings[0] if single else readings


@functools.lru_cache(maxsize=1)
def _shipped_reader():
    """The shipped model as fields are read with it: without its TTA.

    Loaded once a process, never handed out (so never changed).

    Its ``tta_shift`` of 1 buys 0.07 points on single MNIST digits; on
    fields it read as well without (bench_reading.py: 0.920 of the strings
    exact against 0.921) in two thirds of the time (17.8 against 27.4 ms for
    a 6-digit field).
    """
    from .._pretrained import load_pretrained

    return _without_tta(load_pretrained())


def _check_params(reject_threshold, stroke_width, max_pixels):
    if not is_real(reject_threshold) or not 0 <= reject_threshold <= 1:
        raise ValueError(
            f"reject_threshold must be a number in [0, 1]; got {reject_threshold!r}."
        )
    if stroke_width is not None and (
        not is_real(stroke_width) or not 0 < stroke_width <= 10
    ):
        raise ValueError(
            "stroke_width must be None or a number of pixels in (0, 10]; got "
            f"{stroke_width!r}."
        )
    if max_pixels is not None and (
        not isinstance(max_pixels, numbers.Integral)
        or isinstance(max_pixels, bool)
        or max_pixels < 1
    ):
        raise ValueError(
            f"max_pixels must be None or a positive integer; got {max_pixels!r}."
        )


def _is_path(item):
    return isinstance(item, str | bytes | os.PathLike)


def _as_list(images):
    """``(single, items)``: whether one image was given, and the images."""
    if _is_path(images) or isinstance(images, np.ndarray):
        return True, [images]
    if hasattr(images, "__array_interface__") or hasattr(images, "__array__"):
        return True, [images]  # a Pillow image, or another array-like
    if isinstance(images, list | tuple):
        if not images:
            raise ValueError("images is an empty list: give at least one image.")
        return False, list(images)
    raise ValueError(
        "images must be a path, an image array or a list of them; got "
        f"{type(images).__name__}."
    )


def _load(item, index, max_pixels):
    if _is_path(item):
        # Refused from the header's size, before decoding, past max_pixels;
        # the file may hold at most 4 bytes a pixel (uncompressed RGBA).
        # None: no cap of ours (Pillow's own limit still applies).
        no_cap = max_pixels is None
        name = repr(os.fsdecode(item))
        array = _image_io._load_one(
            item,
            sys.maxsize if no_cap else max_pixels,
            sys.maxsize if no_cap else max(_image_io.MAX_BYTES, 4 * max_pixels),
        )
        return check_image(array, name)
    name = f"image {index}"
    array = check_image(item, name)
    n_pixels = array.shape[0] * array.shape[1]
    if max_pixels is not None and n_pixels > max_pixels:
        raise ValueError(
            f"{name} is too large to read: {array.shape[1]}x{array.shape[0]} = "
            f"{n_pixels:,} pixels, more than max_pixels={max_pixels:,}."
        )
    return array


def _check_classifier(classifier, name="classifier"):
    from sklearn.utils.validation import check_is_fitted

    if not hasattr(classifier, "predict_proba"):
        raise TypeError(
            f"{name} must have predict_proba; got {type(classifier).__name__}."
        )
    try:
        check_is_fitted(classifier)
    except Exception as exc:  # NotFittedError, or TypeError for a non-estimator
        raise TypeError(
            f"{name} must be a fitted classifier: {exc}".rstrip(".") + "."
        ) from None
    classes = getattr(classifier, "classes_", None)
    if classes is None:
        raise TypeError(
            f"{name} must have classes_; {type(classifier).__name__} has none."
        )
    return np.asarray(classes)


def _resolve_verifier(verifier, classifier=None):
    """The verifier to read with: the shipped one for "auto", or None.

    With ``classifier`` None, "auto" is only checked, not loaded. The shipped
    verifier for an ONNX classifier is its ONNX export: no TensorFlow.
    """
    if isinstance(verifier, str):
        if verifier != "auto":
            raise ValueError(
                "verifier must be 'auto', None or a fitted classifier; "
                f"got {verifier!r}."
            )
        if classifier is None:
            return verifier
        from .._pretrained import load_verifier

        return load_verifier(onnx=_is_onnx(classifier))
    if verifier is None:
        return None
    classes = _check_classifier(verifier, "verifier")
    if NOT_A_DIGIT not in classes.tolist():
        raise ValueError(
            f"verifier must have the class {NOT_A_DIGIT} (a piece that is not one "
            f"digit) among its classes_; got {classes.tolist()}."
        )
    return verifier


def _normalizer_for(classifier, stroke_width):
    """The MNISTNormalizer of the classifier's input, and its input scale."""
    from ..preprocessing import MNISTNormalizer

    shape = getattr(classifier, "image_shape_", None)
    size = 28
    if shape is not None and len(shape) == 3 and shape[0] == shape[1] and shape[2] == 1:
        size = int(shape[0])
    mnist = size == 28
    normalizer = MNISTNormalizer(
        polarity="light_on_dark",
        box_size=20 if mnist else size,
        output_size=size,
        # Thinning and thickening need room: MNIST's 20-pixel box.
        stroke_width=stroke_width if mnist else None,
    )
    return normalizer, float(getattr(classifier, "input_scale_", 255.0))


class _Candidates:
    """The pieces to classify, collected from every field, in one list."""

    def __init__(self):
        self.images = []
        self.boxes = []
        self.heights = []  # the digit height of the piece's field
        self.ends = []  # (starts at the blob's left end, ends at its right)
        self.cut_ink = []  # ink in the columns of the cuts, over the height
        self.blob_widths = []  # the width of the piece's blob, over the height

    def add(self, piece, digit_height, blob_width, ends=(True, True), ink=(0, 0)):
        if piece is None:
            return None
        self.images.append(piece[0])
        self.boxes.append(piece[1])
        self.heights.append(digit_height)
        self.blob_widths.append(blob_width / max(digit_height, 1))
        self.ends.append(ends)
        self.cut_ink.append(ink)
        return len(self.images) - 1

    def geometry(self):
        return _scoring.PieceGeometry(
            self.boxes, self.heights, self.ends, self.cut_ink, self.blob_widths
        )


@dataclasses.dataclass
class _Plan:
    """One blob's segmentations: its cut positions and the pieces between.

    ``positions`` are field columns in order, the blob's ends first and last;
    ``bounds[k]`` is the cut at ``positions[k]``, that column or a seam (a
    column per row, :meth:`~skdigits.reading._segment.Field.seams`);
    ``ink[k]`` the ink it crosses over the digit height. ``edges`` maps a run
    ``(i, j)`` of positions to the index of its piece among the candidates;
    ``fallback`` is the uncut blob's piece when it is no edge (wider or
    narrower than a digit), for when no segmentation works.
    """

    edges: dict
    fallback: object
    positions: list
    bounds: list
    ink: list

    @property
    def last(self):
        return len(self.positions) - 1

    def best(self, score, inked):
        """``(path, edges)``: the best segmentation of the pieces with ink.

        ``path`` is piece indices (:func:`_best_path`), ``edges`` the plan's
        edges whose piece kept ink.
        """
        edges = {edge: index for edge, index in self.edges.items() if inked[index]}
        return _best_path(self.last, edges, self.fallback, score), edges

    def path_positions(self, path):
        """Indices into ``positions`` of a path's cuts, the blob's ends included.

        ``path`` is piece indices, as :func:`_best_path` gives them.
        """
        run = {index: edge for edge, index in self.edges.items()}
        return [0] + [run[index][1] for index in path if index in run]


def _cut_positions(field, blob, cuts):
    """``(positions, bounds, ink)`` of candidate cuts at blob columns ``cuts``.

    Each cut is its column; one whose seam crosses much less ink than the
    column (``_segment.SEAM_SAVING``, ``SEAM_MAX_INK``) is also its seam, at
    the same position, so that a segmentation uses one or the other.
    """
    height = max(field.digit_height, 1)
    straight = field.mask(blob).sum(axis=0)[cuts] / height
    seams, crossed = field.seams(blob, cuts)
    positions, bounds, ink = [], [], []
    for x, column_ink, seam, seam_ink in zip(
        cuts, straight, seams, crossed, strict=True
    ):
        positions.append(blob.left + x)
        bounds.append(blob.left + x)
        ink.append(float(column_ink))
        if (
            column_ink - seam_ink >= _segment.SEAM_SAVING
            and seam_ink <= _segment.SEAM_MAX_INK
        ):
            positions.append(blob.left + x)
            bounds.append(seam)
            ink.append(float(seam_ink))
    return positions, bounds, ink


def _add_edges(field, blob, plan, candidates, pairs, whole_index=None):
    """Add to ``plan`` the pieces of its runs ``pairs`` as wide as a digit can be.

    ``pairs`` are ``(i, j)`` of positions; the whole blob ``(0, last)`` may be
    up to ``_segment.MAX_WHOLE_WIDTH`` heights wide, and is ``whole_index``
    when that piece was classified already.
    """
    height = field.digit_height
    low = _segment.MIN_PIECE_WIDTH * height
    high = _segment.MAX_PIECE_WIDTH * height
    last, positions, bounds, ink = plan.last, plan.positions, plan.bounds, plan.ink
    for i, j in pairs:
        width = positions[j] - positions[i]
        whole = (i, j) == (0, last) and width <= _segment.MAX_WHOLE_WIDTH * height
        if not whole and not low <= width <= high:
            continue
        if (i, j) == (0, last) and whole_index is not None:
            index = whole_index
        else:
            index = candidates.add(
                field.piece(blob, bounds[i], bounds[j]),
                height,
                blob.width,
                ends=(i == 0, j == last),
                ink=(ink[i], ink[j]),
            )
        if index is not None:
            plan.edges[i, j] = index


def _plan_blob(field, blob, candidates, cut=False, whole_index=None, split=None):
    """What to classify for one blob: a :class:`_Plan`.

    An ordinary blob is one piece: the edge ``(0, 1)`` of the positions
    ``[left, right]``. A wide one (perhaps touching digits), or any with
    ``cut``, gets candidate cuts (:func:`_cut_positions`); every run between
    two cut positions as wide as a digit can be is an edge. ``whole_index``
    is the index of the uncut blob's piece when it was classified already;
    with ``cut``, None is returned when the blob has no candidate cut. A
    blob is cut when wider than ``split`` digit heights (default
    ``field.split_width``).
    """
    height = field.digit_height
    plan = _Plan({}, None, [blob.left, blob.right], [blob.left, blob.right], [0.0, 0.0])
    split = field.split_width if split is None else split
    if cut or blob.width > split * height:
        cuts = field.cuts(blob)
        if cut and not cuts:
            return None
        positions, bounds, ink = _cut_positions(field, blob, cuts)
        plan.positions[1:1], plan.bounds[1:1], plan.ink[1:1] = positions, bounds, ink
    last, positions = plan.last, plan.positions
    pairs = []
    for i in range(last):
        for j in range(i + 1, last + 1):
            # Past a digit's width from i, the runs only widen: the whole
            # blob is one only when no cut before its end is that far.
            wide = positions[j] - positions[i] > _segment.MAX_PIECE_WIDTH * height
            if wide and (i, j) != (0, last):
                break
            pairs.append((i, j))
    _add_edges(field, blob, plan, candidates, pairs, whole_index)
    if (0, last) not in plan.edges:
        # Wider or narrower than a digit: the whole blob is one piece only
        # when no segmentation of it works.
        plan.fallback = candidates.add(field.piece(blob), height, blob.width)
    return plan


def _refine_plan(field, blob, plan, path, candidates):
    """Add cuts beside those of a chosen segmentation, and their pieces.

    The candidate cuts are a few pixels apart (``_segment.Field.cuts``), and
    where a narrow digit touches its neighbour two pixels make the
    difference: every cut of ``path`` (piece indices, :func:`_best_path`)
    inside the blob gets neighbours ``REFINE_OFFSETS`` pixels away (none on
    a column already a straight cut, or nearer an end than
    ``field.cut_margin``; a seam that is already a cut is not
    added again), and the runs from a chosen position or a neighbour of it
    to the next chosen one or a neighbour of that become edges. Returns the
    number of positions added.
    """
    chosen = plan.path_positions(path)
    if len(chosen) < 3:
        return 0
    margin = field.cut_margin
    straight = {
        p for p, b in zip(plan.positions, plan.bounds, strict=True) if np.ndim(b) == 0
    }
    near = []  # per chosen cut: the columns of its new neighbours
    for k in chosen[1:-1]:
        x = plan.positions[k]
        near.append(
            {
                x + d
                for d in REFINE_OFFSETS
                if blob.left + margin <= x + d <= blob.right - margin
                and x + d not in straight
            }
        )
    columns = sorted(set().union(*near))
    if not columns:
        return 0
    positions, bounds, ink = _cut_positions(
        field, blob, [c - blob.left for c in columns]
    )
    seams = [b for b in plan.bounds if np.ndim(b)]
    new = [
        k
        for k, b in enumerate(bounds)
        if not np.ndim(b) or not any(np.array_equal(b, s) for s in seams)
    ]
    positions, bounds, ink = ([v[k] for k in new] for v in (positions, bounds, ink))
    # Merged in order of position; the blob's ends stay first and last.
    entries = [(p, k) for k, p in enumerate(plan.positions)]
    entries += [(p, -1 - k) for k, p in enumerate(positions)]
    entries.sort(key=lambda e: (e[0], e[1] < 0))
    moved = {k: n for n, (_, k) in enumerate(entries) if k >= 0}
    plan.positions = [p for p, _ in entries]
    plan.bounds = [plan.bounds[k] if k >= 0 else bounds[-1 - k] for _, k in entries]
    plan.ink = [plan.ink[k] if k >= 0 else ink[-1 - k] for _, k in entries]
    plan.edges = {(moved[i], moved[j]): index for (i, j), index in plan.edges.items()}
    added = [n for n, (_, k) in enumerate(entries) if k < 0]
    groups = [[moved[chosen[0]]]]
    for k, beside in zip(chosen[1:-1], near, strict=True):
        groups.append([moved[k]] + [n for n in added if plan.positions[n] in beside])
    groups.append([moved[chosen[-1]]])
    pairs = [
        (i, j)
        for here, there in zip(groups[:-1], groups[1:], strict=True)
        for i in here
        for j in there
        if i < j and (i, j) not in plan.edges
    ]
    _add_edges(field, blob, plan, candidates, pairs)
    return len(added)


def _best_path(last, edges, fallback, score):
    """The piece indices of the best segmentation (Viterbi over the cuts)."""
    best = [-math.inf] * (last + 1)
    back = [None] * (last + 1)
    best[0] = 0.0
    for j in range(1, last + 1):
        for i in range(j):
            index = edges.get((i, j))
            if index is None or best[i] == -math.inf:
                continue
            value = best[i] + score[index]
            if value > best[j]:
                best[j], back[j] = value, (i, index)
    if back[last] is None:
        return [] if fallback is None or score[fallback] == -math.inf else [fallback]
    path, j = [], last
    while j:
        i, index = back[j]
        path.append(index)
        j = i
    return path[::-1]


def _count_margin(last, edges, score, n_chosen):
    """How far the best segmentation beats the best with another digit count."""
    if last < 2 or not n_chosen:
        return math.inf
    best = np.full((last + 1, last + 1), -np.inf)  # position, pieces so far
    best[0, 0] = 0.0
    for (i, j), index in sorted(edges.items(), key=lambda e: e[0][1]):
        np.maximum(best[j, 1:], best[i, :-1] + score[index], out=best[j, 1:])
    totals = best[last]
    if not np.isfinite(totals[n_chosen]):
        return math.inf
    others = np.delete(totals, n_chosen)
    return float(totals[n_chosen] - others.max()) if others.size else math.inf


def _without_tta(classifier):
    """``classifier`` with test-time augmentation off: a shallow copy, or itself.

    Candidate pieces are scored on plain probabilities; only the pieces a
    reading keeps get the classifier's own ``tta_shift`` (five forward
    passes a piece), which reads as well at a fraction of the work. A
    Pipeline's last step is looked at.
    """
    steps = getattr(classifier, "steps", None)
    if isinstance(steps, list) and steps:
        name, last = steps[-1]
        plain = _without_tta(last)
        if plain is last:
            return classifier
        pipeline = _shallow_copy(classifier)
        pipeline.steps = [*steps[:-1], (name, plain)]
        return pipeline
    for name in ("tta_shift", "tta_shift_"):  # CNNDigitClassifier, ONNX file
        if getattr(classifier, name, 0):
            plain = _shallow_copy(classifier)
            setattr(plain, name, 0)
            return plain
    return classifier


def _shallow_copy(estimator):
    """A new object sharing ``estimator``'s attributes (its network included).

    Not ``copy.copy``: that pickles an ONNX predictor's state, building a new
    onnxruntime session, and re-seeds a CNN's threads.
    """
    twin = type(estimator).__new__(type(estimator))
    vars(twin).update(vars(estimator))
    return twin


def _is_onnx(classifier):
    """Whether ``classifier`` (or a Pipeline's last step) runs an ONNX file."""
    from .._onnx_predictor import OnnxDigitClassifier

    steps = getattr(classifier, "steps", None)
    if isinstance(steps, list) and steps:
        classifier = steps[-1][1]
    return isinstance(classifier, OnnxDigitClassifier)


def _verifier_proba(verifier, images, pixels, normalizer):
    """The verifier's probabilities of each of ``images``: ``(n, n_classes)``.

    ``pixels`` are the images as ``normalizer`` brought them to the
    classifier (0-255): reused when the verifier's own normalisation (the
    one it was trained with, no stroke width) is the same.
    """
    own, scale = _normalizer_for(verifier, None)
    if own.get_params() != normalizer.get_params():
        pixels = own.fit_transform(images)
    X = pixels.astype(np.float32) * np.float32(scale / 255.0)
    return np.asarray(_without_tta(verifier).predict_proba(X), dtype=float)


def _joint_forward(plain, verifier, normalizer):
    """One forward call for the classifier and the verifier, or None.

    When both are :class:`~skdigits.CNNDigitClassifier` (without test-time
    augmentation) of the same image shape and input scale, and the verifier
    sees the pieces as the classifier does, their networks run in one
    compiled call per batch (:func:`~skdigits._network.joint_inference_function`):
    the same probabilities as their ``predict_proba``, for one call's set-up
    cost instead of two (2.5 to 3 ms saved a batch on 2 cores). Returns
    ``f(X) -> (proba, verifier_proba)`` for X as the classifier's input
    (flat rows).
    """
    classifier_module = sys.modules.get("skdigits._classifier")
    if verifier is None or classifier_module is None:
        return None  # no CNN was ever loaded: nothing to join
    cnn = classifier_module.CNNDigitClassifier
    verifier = _without_tta(verifier)
    both = (plain, verifier)
    if not all(type(m) is cnn and not m.tta_shift for m in both):
        return None
    shape = tuple(plain.image_shape_)
    if tuple(verifier.image_shape_) != shape or float(plain.input_scale_) != float(
        verifier.input_scale_
    ):
        return None
    if _normalizer_for(verifier, None)[0].get_params() != normalizer.get_params():
        return None
    from .._network import joint_inference_function

    forward = joint_inference_function([plain.model_, verifier.model_])
    batch = classifier_module._PREDICT_BATCH

    def run(X):
        images = np.asarray(X, dtype=np.float32).reshape(-1, *shape)
        parts = [forward(images[i : i + batch]) for i in range(0, len(images), batch)]
        return tuple(
            np.concatenate([np.asarray(part[k], dtype=float) for part in parts])
            for k in range(2)
        )

    return run


def _classify(candidates, start, plain, verifier, normalizer, scale, shapes, joint):
    """Inputs, plain probabilities, ink and verifier probabilities of new pieces.

    The pieces are ``candidates.images[start:]``; an empty list gives empty
    arrays. A piece with no ink left after the normaliser's cleaning is not
    classified (``inked`` False, probabilities 0). ``shapes`` are the
    numbers of the classifier's and the verifier's classes; ``joint`` is
    :func:`_joint_forward`'s function for the pair, or None.
    """
    images = candidates.images[start:]
    n_classes, n_verifier = shapes
    if not images:
        return (
            None,
            np.zeros((0, n_classes)),
            np.zeros(0, bool),
            np.zeros((0, n_verifier)),
        )
    pixels = normalizer.fit_transform(images)
    inked = pixels.any(axis=1)
    X = pixels.astype(np.float32) * np.float32(scale / 255.0)
    proba = np.zeros((len(X), n_classes))
    checked = np.zeros((len(X), n_verifier))
    if inked.any() and joint is not None:
        proba[inked], checked[inked] = joint(X[inked])
    elif inked.any():
        proba[inked] = np.asarray(plain.predict_proba(X[inked]), dtype=float)
        if verifier is not None:
            kept = [im for im, k in zip(images, inked, strict=True) if k]
            checked[inked] = _verifier_proba(verifier, kept, pixels[inked], normalizer)
    return X, proba, inked, checked


def _doubted(field, blob, junk, confidence):
    """Whether a blob read whole, so read, is cut in the second batch."""
    if blob.width <= DOUBT_WIDTH * field.digit_height:
        return False
    if blob.width <= field.split_width * field.digit_height:
        return junk > DOUBT_JUNK
    return junk > WIDE_DOUBT_JUNK or confidence < WIDE_DOUBT_CONFIDENCE


def _recut_doubtful(fields, plans, candidates, junk, confidence):
    """Cut the blobs read whole that the verifier (or classifier) doubts.

    A blob ``DOUBT_WIDTH`` to ``field.split_width`` digit heights wide is planned
    uncut; when the verifier gives its piece a probability above
    ``DOUBT_JUNK`` of not being one digit (a "1" touching its neighbour is
    often narrower than one digit height), it is planned again with cuts,
    the uncut piece kept as it was classified. So is a wider blob of a field
    whose digits do not touch, planned uncut too, above ``WIDE_DOUBT_JUNK``
    or below ``WIDE_DOUBT_CONFIDENCE`` (``confidence``: the classifier's
    probability of the digit read). The new pieces are added to
    ``candidates``.
    """
    for field, plan in zip(fields, plans, strict=True):
        for b, blob_plan in enumerate(plan):
            blob = field.blobs[b]
            whole = blob_plan.edges.get((0, 1))
            if (
                blob_plan.last == 1
                and whole is not None
                and _doubted(field, blob, junk[whole], confidence[whole])
            ):
                recut = _plan_blob(field, blob, candidates, cut=True, whole_index=whole)
                if recut is not None:
                    plan[b] = recut


class _Proposal:
    """The segmented fields, their candidate pieces and what was read of them.

    ``plans`` holds, per field, one :class:`_Plan` per blob (with a
    verifier and ``refine``, its best segmentation's cuts refined by
    :func:`_refine_plan`, their pieces in a third batch);
    ``X`` the pieces as the classifier saw them; ``proba`` its plain
    probabilities (no TTA); ``inked`` whether a piece kept ink after
    normalisation; ``checked`` the verifier's probabilities (no columns
    without a verifier) and ``junk`` its probability of "not one digit".
    """

    def __init__(
        self,
        arrays,
        plain,
        classes,
        polarity,
        stroke_width,
        verifier,
        wide_first=True,
        refine=True,
    ):
        self.fields = [segment_field(array, polarity) for array in arrays]
        self.candidates = candidates = _Candidates()
        self.plans = []
        for field in self.fields:
            blobs = [] if field is None else field.blobs
            # With a verifier, the wide blobs of a field whose digits do not
            # touch are read whole first (WIDE_DOUBT_JUNK).
            touching = field is not None and field.touching
            whole_first = wide_first and verifier is not None and not touching
            # A blob too wide to be one digit is cut at once all the same.
            split = _segment.MAX_WHOLE_WIDTH if whole_first else None
            self.plans.append(
                [_plan_blob(field, blob, candidates, split=split) for blob in blobs]
            )
        normalizer, scale = _normalizer_for(plain, stroke_width)
        v_classes = [] if verifier is None else list(verifier.classes_)
        self.junk_column = v_classes.index(NOT_A_DIGIT) if v_classes else None
        # The verifier's columns of digits (all but "not one digit").
        self.digit_columns = np.arange(len(v_classes)) != self.junk_column
        joint = _joint_forward(plain, verifier, normalizer)  # decided once
        shapes = (len(classes), len(v_classes))
        args = (plain, verifier, normalizer, scale, shapes, joint)
        found = [_classify(candidates, 0, *args)]
        if verifier is not None:
            start = len(candidates.images)
            _recut_doubtful(
                self.fields,
                self.plans,
                candidates,
                found[0][3][:, self.junk_column],
                found[0][1].max(axis=1),
            )
            if len(candidates.images) > start:
                found.append(_classify(candidates, start, *args))
        self.classes = classes
        self.verifier_classes = np.asarray(v_classes)
        self._gather(found, verifier is not None)
        if verifier is not None and refine:
            start = len(candidates.images)
            self._refine()
            if len(candidates.images) > start:
                found.append(_classify(candidates, start, *args))
                self._gather(found, True)

    def _gather(self, found, verified):
        """Join the batches' inputs and probabilities into one array each."""
        inputs = [X for X, *_ in found if X is not None]
        self.X = np.concatenate(inputs) if inputs else None
        self.proba, self.inked, self.checked = (
            np.concatenate([part[k] for part in found]) for k in (1, 2, 3)
        )
        self.junk = (
            self.checked[:, self.junk_column] if verified else np.zeros(len(self.proba))
        )

    def _refine(self):
        """Cuts beside the chosen ones of every cut blob (:func:`_refine_plan`)."""
        score = self.scores(learned=True)
        for field, plan in zip(self.fields, self.plans, strict=True):
            for blob, blob_plan in zip(field.blobs if plan else [], plan, strict=True):
                if blob_plan.last < 2:
                    continue
                path, _ = blob_plan.best(score, self.inked)
                _refine_plan(field, blob, blob_plan, path, self.candidates)

    def features(self):
        """The PIECE_FEATURES of every candidate (with a verifier)."""
        digits = self.digit_columns
        verifier_digits = self.checked[:, digits]
        n = len(self.proba)
        # Compared as text: a classifier of labels "0" to "9" (as fetch_openml
        # gives them) agrees with a verifier of 0 to 9.
        labels = self.classes.astype(str)[self.proba.argmax(axis=1)] if n else []
        verifier_labels = (
            self.verifier_classes[digits].astype(str)[verifier_digits.argmax(axis=1)]
            if n
            else []
        )
        return _scoring.piece_features(
            self.proba,
            labels,
            verifier_digits,
            self.junk,
            verifier_labels,
            self.candidates.geometry(),
        )

    def second_opinion(self, proba, kept):
        """Weigh in the verifier's digits for the kept pieces cut from ink.

        A piece cut out of touching ink often holds a sliver of its
        neighbour, and the verifier was trained on such pieces: the rows of
        ``proba`` (in place) of the ``kept`` pieces that do not span their
        blob become the classifier's probabilities times the verifier's
        (over its digit classes), renormalised. Only when the verifier's
        digit classes are the classifier's (as text: "3" is 3). On fields of
        MNIST training digits, touching fields read right: 0.860 without,
        0.870 with; separated and printed ones unchanged.
        """
        digits = self.digit_columns
        names = self.verifier_classes[digits].astype(str).tolist()
        order = {c: k for k, c in enumerate(names)}
        columns = [order.get(c) for c in self.classes.astype(str).tolist()]
        if None in columns or len(columns) != len(order):
            return
        ends = np.asarray(self.candidates.ends, dtype=bool).reshape(-1, 2)
        cut = [i for i in kept if not ends[i].all()]
        if not cut:
            return
        second = self.checked[np.ix_(cut, np.flatnonzero(digits)[columns])]
        second /= np.maximum(second.sum(axis=1, keepdims=True), _SECOND_FLOOR)
        joint = proba[cut] * np.maximum(second, _SECOND_FLOOR)
        proba[cut] = joint / joint.sum(axis=1, keepdims=True)

    def scores(self, learned):
        """Each candidate's score as a digit of a segmentation (-inf: no ink)."""
        if learned:
            score = _scoring.learned_scores(self.features())
        else:
            score = _scoring.heuristic_scores(self.proba, self.candidates.geometry())
        return np.where(self.inked, score, -np.inf)


def _read_arrays(
    arrays, classifier, classes, reject_threshold, polarity, stroke_width, verifier
):
    plain = _without_tta(classifier)
    found = _Proposal(arrays, plain, classes, polarity, stroke_width, verifier)
    plans, candidates, inked = found.plans, found.candidates, found.inked
    proba, junk, X = found.proba, found.junk, found.X
    n_classes = len(classes)
    score = found.scores(learned=verifier is not None)
    close_margin = REJECT_MARGIN if verifier is None else LEARNED_REJECT_MARGIN

    chosen, close = [], []  # per field: the pieces read, their close calls
    for plan in plans:
        chosen.append([])
        close.append([])
        for blob_plan in plan:
            path, edges = blob_plan.best(score, inked)
            margin = _count_margin(blob_plan.last, edges, score, len(path))
            chosen[-1] += path
            close[-1] += [margin < close_margin] * len(path)
    kept = sorted(set().union(*chosen))
    if kept and plain is not classifier:
        proba[kept] = np.asarray(classifier.predict_proba(X[kept]), dtype=float)
    if kept and verifier is not None:
        found.second_opinion(proba, kept)

    readings = []
    for pieces, calls in zip(chosen, close, strict=True):
        rows = proba[pieces].reshape(len(pieces), n_classes)
        labels = classes[rows.argmax(axis=1)] if len(pieces) else classes[:0]
        confidence = rows.max(axis=1) if len(pieces) else np.zeros(0)
        boxes = np.asarray([candidates.boxes[i] for i in pieces], dtype=np.int64)
        readings.append(
            FieldReading(
                text="".join(str(label) for label in labels),
                labels=labels,
                proba=rows,
                confidence=confidence,
                boxes=boxes.reshape(len(pieces), 4),
                rejected=(confidence < reject_threshold)
                | (
                    (np.array(calls, dtype=bool) | (junk[pieces] > VERIFIER_REJECT))
                    & (reject_threshold > 0)
                ),
                classes=classes.copy(),
            )
        )
    return readings

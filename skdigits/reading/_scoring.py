"""Score candidate pieces of touching digits: how likely each is one digit.

:func:`read_digits <skdigits.reading.read_digits>` cuts runs of touching
digits at candidate positions and keeps the segmentation whose pieces score
highest in total. With a verifier, a piece's score is the log-odds that it
is one whole digit, from a logistic regression on what the classifier and
the verifier say of it and on its geometry (``PIECE_FEATURES``), fit on the
reader's own pieces of fields of MNIST *training* digits and printed numbers
(``benchmarks/train_piece_scorer.py``, which writes ``_data/piece_scorer.json``),
plus ``PIECE_BIAS``. The sum of log-odds over a segmentation is its
log-likelihood against all the others under independent pieces, up to a
constant; the bias makes up for the pieces' prior (about one in four
candidates is a digit), which the sum would otherwise charge each digit.

Without a verifier the pieces are scored by :func:`heuristic_scores`.
Pure numpy: no TensorFlow, no pickle (the coefficients are JSON numbers).
"""

import functools
import json
import math
import os
from importlib import resources

import numpy as np

#: File of the fitted coefficients, in the package's ``_data`` folder.
SCORER_FILE = "piece_scorer.json"

#: The features of a candidate piece, in the order of the coefficients.
#: ``h`` is the field's digit height; "cut ink" is the ink in the column of a
#: cut, over ``h`` (0 at an end of the blob of ink).
PIECE_FEATURES = (
    "classifier softened log-probability",  # as heuristic_scores
    "classifier log-margin, top two classes",  # clipped to [0, 40]
    "verifier log-probability of one digit",
    "verifier log-probability of not one digit",
    "verifier softened log-probability among digits",
    "verifier's digit is the classifier's",
    "width / h",
    "(width / h) ** 2",
    "narrower than a digit",  # by how far below 0.25 h
    "wider than a digit",  # by how far beyond 1.2 h
    "height / h",
    "|height / h - 1|",
    "starts at the blob's left end",
    "ends at the blob's right end",
    "left cut ink",
    "right cut ink",
    "blob width / h",
)

# A candidate's score is its log-odds of being one digit plus this. Chosen on
# fields of MNIST training digits (bench_reading.py --tune --set
# PIECE_BIAS=...). Session 11, with a first version of the verifier and
# scorer that call a piece holding half of a second digit's ink not one
# digit: 0, 1, 1.5, 2, 2.5, 3 and 4 read 0.898, 0.904, 0.900, 0.900, 0.900,
# 0.894 and 0.892 of the touching fields right, 0.980 of the separated up to
# 2.5 (0.978, 0.974 at 3 and 4), the printed 1.000 (0.998 at 4): 1.5, the
# middle of the plateau. With the shipped pair, 1, 1.5 and 2.5 read 0.896,
# 0.898 and 0.900 of the touching fields, the others within 0.2 points.
# Session 7's scorer: 2, 3, 4 and 5 read 0.842, 0.860, 0.850 and 0.840 of
# the touching fields, when merged pieces were labelled digits.
PIECE_BIAS = 1.5

# Without a verifier: each digit of a candidate segmentation scores
# DIGIT_REWARD plus its class's log-probability softened by TEMPERATURE,
# less a penalty for a width unlike a digit's (0.25 to 1.2 of the field's
# digit height): WIDTH_PENALTY per tenth of the height beyond. Chosen with
# the split constants of _segment on fields of MNIST training digits
# (bench_reading.py --tune): touching fields read right went from 0.700 to
# 0.754 (the raw log-probabilities, no reward), others unchanged.
TYPICAL_WIDTH = (0.25, 1.2)
WIDTH_PENALTY = 0.1
TEMPERATURE = 5.0
DIGIT_REWARD = 3.0
# Probabilities are floored here before their log (float32's smallest normal).
MIN_PROBA = 1e-37
_FEATURE_FLOOR = 1e-12  # the verifier's probabilities, in the features


class PieceGeometry:
    """The geometry of the candidate pieces, in arrays (see PIECE_FEATURES).

    Parameters
    ----------
    boxes : array of shape (n, 4)
        ``(x0, y0, x1, y1)`` of each piece.
    heights : array of shape (n,)
        The digit height of each piece's field.
    ends : array of bool of shape (n, 2)
        Whether the piece starts at its blob's left end, ends at its right.
    cut_ink : array of shape (n, 2)
        Ink in the column of the left and right cut, over the digit height.
    blob_widths : array of shape (n,)
        The width of the piece's blob, over the digit height.

    Attributes
    ----------
    width, height : ndarray of shape (n,)
        Each piece's width and height over its field's digit height.
    ends, cut_ink : ndarray of shape (n, 2)
        As the parameters, as floats.
    blob_width : ndarray of shape (n,)
        As ``blob_widths``.
    """

    def __init__(self, boxes, heights, ends, cut_ink, blob_widths):
        boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
        heights = np.maximum(np.asarray(heights, dtype=float), 1)
        self.width = (boxes[:, 2] - boxes[:, 0]) / heights
        self.height = (boxes[:, 3] - boxes[:, 1]) / heights
        self.ends = np.asarray(ends, dtype=float).reshape(-1, 2)
        self.cut_ink = np.asarray(cut_ink, dtype=float).reshape(-1, 2)
        self.blob_width = np.asarray(blob_widths, dtype=float)


def softened(proba):
    """``-TEMPERATURE * log(sum_k (p_k / p_max) ** (1 / TEMPERATURE))``.

    The log-probability of the class read after softening the probabilities
    (a softmax of the logits over ``TEMPERATURE``), on the scale of the
    unsoftened ones: 0 for a sure class, about -0.5 for an even tie of two.
    """
    logp = np.log(np.maximum(proba, MIN_PROBA))
    logp -= logp.max(axis=1, keepdims=True)
    return -TEMPERATURE * np.log(np.exp(logp / TEMPERATURE).sum(axis=1))


def _width_outside(width):
    low, high = TYPICAL_WIDTH
    return np.maximum(low - width, 0), np.maximum(width - high, 0)


def heuristic_scores(proba, geometry):
    """Scores of pieces from the classifier alone (no verifier).

    ``DIGIT_REWARD`` plus :func:`softened`, less the width penalty. A network
    trained on single digits is nearly as sure of two merged digits, or of a
    fragment, as of a digit: its raw log-probabilities are all close to 0,
    and their sum favours fewer pieces. Softened, a piece scores by how far
    its class is ahead of the others (a digit read with a margin of 20 nats
    scores about 2.9, one of 5 nats 1.4, an even tie about -0.5), so two
    clear digits beat one merged pair however sure the network is of it,
    while a digit cut in two, its halves less clear, does not.
    """
    below, beyond = _width_outside(geometry.width)
    return DIGIT_REWARD + softened(proba) - WIDTH_PENALTY * 10 * (below + beyond)


def piece_features(proba, labels, verifier_digits, junk, verifier_labels, geometry):
    """The matrix of PIECE_FEATURES, one row per piece.

    Parameters
    ----------
    proba : ndarray of shape (n_pieces, n_classes)
        The classifier's probabilities.
    labels : array-like of shape (n_pieces,)
        The class it reads, comparable with ``verifier_labels``.
    verifier_digits : ndarray of shape (n_pieces, n_digit_classes)
        The verifier's probabilities of its digit classes.
    junk : ndarray of shape (n_pieces,)
        The verifier's probability of "not one digit".
    verifier_labels : array-like of shape (n_pieces,)
        The verifier's digit read.
    geometry : PieceGeometry
        The pieces' geometry.

    Returns
    -------
    ndarray of shape (n_pieces, len(PIECE_FEATURES))
    """
    n = len(proba)
    if not n:
        return np.zeros((0, len(PIECE_FEATURES)))
    logp = np.sort(np.log(np.maximum(proba, MIN_PROBA)), axis=1)
    margin = logp[:, -1] - logp[:, -2] if proba.shape[1] > 1 else np.zeros(n)
    digits = verifier_digits / np.maximum(
        verifier_digits.sum(axis=1, keepdims=True), _FEATURE_FLOOR
    )
    width = geometry.width
    below, beyond = _width_outside(width)
    columns = [
        softened(proba),
        np.clip(margin, 0, 40),
        np.log(np.maximum(1 - junk, _FEATURE_FLOOR)),
        np.log(np.maximum(junk, _FEATURE_FLOOR)),
        softened(digits),
        np.asarray(labels) == np.asarray(verifier_labels),
        width,
        width**2,
        below,
        beyond,
        geometry.height,
        np.abs(geometry.height - 1),
        geometry.ends[:, 0],
        geometry.ends[:, 1],
        geometry.cut_ink[:, 0],
        geometry.cut_ink[:, 1],
        geometry.blob_width,
    ]
    return np.column_stack([np.asarray(c, dtype=float) for c in columns])


def scorer_path():
    """The path of the shipped scorer file, ``_data/piece_scorer.json``."""
    return os.fspath(resources.files("skdigits") / "_data" / SCORER_FILE)


@functools.lru_cache(maxsize=1)
def load_scorer(path=None):
    """``(coef, intercept)`` of a piece scorer file (the shipped one for None).

    Parameters
    ----------
    path : str or None, default=None
        A JSON file as ``benchmarks/train_piece_scorer.py`` writes it.

    Returns
    -------
    coef : ndarray of shape (len(PIECE_FEATURES),), read-only
    intercept : float

    Raises
    ------
    FileNotFoundError
        When the file is missing.
    ValueError
        Naming the file, when it is not JSON of an object with the names of
        PIECE_FEATURES and one finite number per feature and an intercept.
    """
    path = scorer_path() if path is None else path
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"{path} is not a piece scorer file: {exc}") from None
    try:
        names = tuple(data["features"])
        numbers = [*data["coef"], data["intercept"]]
        if not all(_is_number(v) for v in numbers):
            raise TypeError("coef and intercept must be numbers")
        coef = np.asarray(numbers[:-1], dtype=float)
        intercept = float(numbers[-1])
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{path} is not a piece scorer file: {exc!r}") from None
    if names != PIECE_FEATURES:
        raise ValueError(
            f"{path} scores other features than this skdigits computes "
            f"({len(names)} named, expected the {len(PIECE_FEATURES)} of "
            "PIECE_FEATURES); retrain it (benchmarks/train_piece_scorer.py)."
        )
    if coef.shape != (len(PIECE_FEATURES),):
        raise ValueError(
            f"{path} holds {coef.size} coefficients for {len(PIECE_FEATURES)} features."
        )
    if not (np.isfinite(coef).all() and math.isfinite(intercept)):
        raise ValueError(f"{path} holds coefficients that are not finite.")
    coef.setflags(write=False)
    return coef, intercept


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def learned_scores(features, scorer=None):
    """Log-odds of each piece being one digit, plus ``PIECE_BIAS``.

    Parameters
    ----------
    features : ndarray of shape (n_pieces, len(PIECE_FEATURES))
        From :func:`piece_features`.
    scorer : (coef, intercept) or None, default=None
        None is the shipped scorer (:func:`load_scorer`).

    Returns
    -------
    ndarray of shape (n_pieces,)
    """
    coef, intercept = load_scorer() if scorer is None else scorer
    return features @ coef + intercept + PIECE_BIAS

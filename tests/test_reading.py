"""Reading digit fields: segmentation with known boxes, then read_digits.

Segmentation needs no classifier; ``read_digits`` is tested with a stub
classifier where the digits' identity does not matter (one batch, shapes,
errors), and with a small CNN fitted on MNIST where it does.
"""

import os
import sys

import numpy as np
import pytest
from PIL import Image
from sklearn.base import BaseEstimator, ClassifierMixin

from skdigits.reading import FieldReading, read_digits, segment_digits
from skdigits.reading import _read as read_module

sys.path.insert(0, os.path.dirname(__file__))
from _digit_fields import compose_field, render_number  # noqa: E402

PAPER, INK = 235, 20


def _paper(height=60, width=200):
    return np.full((height, width), PAPER, dtype=np.uint8)


def _ring(image, x0, y0, width, height, thickness=3):
    """Draw an elliptic ring (a "0") whose ink box is (x0, y0, x0+w, y0+h)."""
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    cx, cy = x0 + (width - 1) / 2, y0 + (height - 1) / 2
    rx, ry = width / 2, height / 2  # pixel centres within half a pixel of the box
    outer = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
    inner = ((xx - cx) / (rx - thickness)) ** 2 + ((yy - cy) / (ry - thickness)) ** 2
    ring = outer & (inner > 1)
    rows, cols = np.flatnonzero(ring.any(axis=1)), np.flatnonzero(ring.any(axis=0))
    assert (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1) == (
        x0,
        y0,
        x0 + width,
        y0 + height,
    )
    image[ring] = INK
    return image


def _field_of_blocks():
    """Three digit-like shapes with known boxes, on white paper."""
    image = _paper()
    image[15:45, 20:24] = INK  # a "1"
    _ring(image, 50, 15, 20, 30)  # a "0"
    image[15:18, 90:110] = INK  # a "7": its bar...
    image[15:45, 107:110] = INK  # ...and its stem
    boxes = [[20, 15, 24, 45], [50, 15, 70, 45], [90, 15, 110, 45]]
    return image, np.array(boxes)


class StubClassifier(ClassifierMixin, BaseEstimator):
    """A fitted "classifier" of MNIST-form digits: its answer is the ink.

    Every digit is class 3 with probability 0.95, or class 8 with 0.6 when
    its MNIST form has more than 120 inked pixels; it counts its calls.
    """

    def __init__(self):
        self.classes_ = np.arange(10)
        self.calls = []

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        X = np.asarray(X)
        self.calls.append(X.shape)
        proba = np.full((len(X), 10), 0.05 / 9)
        heavy = (X > 0).sum(axis=1) > 120
        proba[~heavy, 3] = 0.95
        proba[heavy] = 0.4 / 9
        proba[heavy, 8] = 0.6
        return proba


@pytest.fixture
def stub():
    return StubClassifier()


@pytest.fixture(autouse=True)
def _stub_reads_without_the_shipped_verifier(request, monkeypatch):
    # The stub's readings follow from its own answers alone; the shipped
    # verifier is read by the tests with a fitted CNN, and by name below.
    if "stub" in request.fixturenames:
        from skdigits import _pretrained

        monkeypatch.setattr(_pretrained, "load_verifier", lambda onnx=False: None)


# --- segmentation: known boxes ---------------------------------------------------


def test_segment_finds_the_known_boxes():
    image, boxes = _field_of_blocks()
    np.testing.assert_array_equal(segment_digits(image), boxes)


def test_segment_drops_specks():
    image, boxes = _field_of_blocks()
    for y, x in [(5, 5), (50, 80), (30, 150), (55, 190)]:
        image[y : y + 2, x : x + 2] = INK
    image[30, 40] = INK
    np.testing.assert_array_equal(segment_digits(image), boxes)


@pytest.mark.parametrize("frame", ["box", "underline", "comb"])
def test_segment_drops_box_lines_and_underlines(frame):
    image, boxes = _field_of_blocks()
    if frame == "box":
        image[5:7, 5:195] = INK
        image[53:55, 5:195] = INK
        image[5:55, 5:7] = INK
        image[5:55, 193:195] = INK
    elif frame == "underline":
        image[48:50, 2:198] = INK
    else:  # comb boxes: a wall between each digit cell, all touching lines
        image[5:7, 5:195] = INK
        image[53:55, 5:195] = INK
        for x in (5, 35, 80, 120, 193):
            image[5:55, x : x + 2] = INK
    np.testing.assert_array_equal(segment_digits(image), boxes)


def test_segment_keeps_a_digit_that_touches_the_underline():
    image, boxes = _field_of_blocks()
    image[45:47, 2:198] = INK  # right under the digits, touching them
    found = segment_digits(image)
    assert len(found) == 3
    np.testing.assert_array_equal(found[:, [0, 2]], boxes[:, [0, 2]])


@pytest.mark.parametrize(
    "draw",
    [
        lambda im: None,  # blank paper
        lambda im: im.__setitem__((slice(48, 50), slice(2, 198)), INK),  # underline
        lambda im: [  # a box and nothing in it
            im.__setitem__((slice(5, 7), slice(5, 195)), INK),
            im.__setitem__((slice(53, 55), slice(5, 195)), INK),
            im.__setitem__((slice(5, 55), slice(5, 7)), INK),
            im.__setitem__((slice(5, 55), slice(193, 195)), INK),
        ],
        lambda im: [im.__setitem__((y, x), INK) for y, x in [(3, 3), (40, 90)]],
    ],
    ids=["blank", "underline-only", "box-only", "specks-only"],
)
def test_segment_finds_nothing_without_digits(draw):
    image = _paper()
    draw(image)
    found = segment_digits(image)
    assert found.shape == (0, 4) and found.dtype == np.int64


def test_noisy_blank_paper_has_no_digits():
    rng = np.random.default_rng(0)
    noisy = np.clip(rng.normal(PAPER, 6, (80, 300)), 0, 255).astype(np.uint8)
    assert len(segment_digits(noisy)) == 0


def test_segment_merges_the_fragments_of_a_broken_digit():
    image = _paper()
    _ring(image, 50, 15, 20, 30)
    image[29:31, 40:80] = PAPER  # the "0" broken into a top and a bottom half
    image[15:18, 100:120] = INK  # a "5"'s bar, apart from its body
    image[20:45, 100:104] = INK
    image[30:45, 100:118] = INK
    np.testing.assert_array_equal(
        segment_digits(image), [[50, 15, 70, 45], [100, 15, 120, 45]]
    )


def test_segment_joins_a_fragment_that_widens_a_touching_run_a_little():
    from skdigits.reading import _segment

    image = _paper()
    for left in (20, 37, 54, 70):  # a run of touching digits, 26 high, 70 wide
        _ring(image, left, 20, 20, 26)
    image[15:18, 15:35] = INK  # the bar of its first digit, 5 columns out
    # Wider than any one digit, but a fragment widening the run by less than
    # _FRAGMENT_GROWTH heights is its ink.
    assert 70 > _segment.MAX_WHOLE_WIDTH * 26 and 5 < _segment._FRAGMENT_GROWTH * 26
    np.testing.assert_array_equal(segment_digits(image), [[15, 15, 90, 46]])


def test_segment_keeps_touching_digits_together():
    image = _paper()
    _ring(image, 50, 15, 20, 30)
    _ring(image, 68, 15, 20, 30)  # overlaps the first by 2 pixels
    np.testing.assert_array_equal(segment_digits(image), [[50, 15, 88, 45]])


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: 255 - im,  # light ink on dark paper
        lambda im: np.stack([im, im // 2 + 100, im], axis=-1),  # colour
        lambda im: np.dstack([np.zeros_like(im)] * 3 + [255 - im]),  # alpha ink
        lambda im: im.astype(np.float64) / 255,  # floats in [0, 1]
        lambda im: im[..., np.newaxis],  # one channel
    ],
    ids=["light-on-dark", "rgb", "rgba", "float", "one-channel"],
)
def test_segment_any_polarity_and_colour(convert):
    image, boxes = _field_of_blocks()
    np.testing.assert_array_equal(segment_digits(convert(image)), boxes)


def test_segment_explicit_polarity():
    image, boxes = _field_of_blocks()
    np.testing.assert_array_equal(
        segment_digits(image, polarity="dark_on_light"), boxes
    )
    np.testing.assert_array_equal(
        segment_digits(255 - image, polarity="light_on_dark"), boxes
    )


def test_segment_mnist_field_boxes_match_the_composition(mnist_data_home):
    from skdigits.datasets import fetch_mnist

    X, _ = fetch_mnist(subset="test", data_home=mnist_data_home, return_X_y=True)
    image, boxes = compose_field(X[:6], 0, gap=(6, 12), frame="box", specks=(2, 2))
    found = segment_digits(image)
    assert found.shape == boxes.shape
    # Within 2 pixels of the composed ink boxes (their faint edges differ).
    assert np.abs(found - boxes).max() <= 2


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros(5), "2-D grey image"),
        (np.zeros((4, 4, 7)), "1 to 4 channels"),
        (np.zeros((0, 4)), "empty"),
        (np.full((4, 4), np.nan), "NaN"),
        (np.array([["a"]]), "not a numeric image"),
    ],
)
def test_segment_refuses_what_is_not_an_image(image, message):
    with pytest.raises(ValueError, match=message):
        segment_digits(image)


def test_segment_refuses_an_unknown_polarity():
    with pytest.raises(ValueError, match="polarity must be one of"):
        segment_digits(_paper(), polarity="white")


# --- read_digits with a stub classifier ------------------------------------------


def test_read_gives_a_field_reading(stub):
    image, boxes = _field_of_blocks()
    reading = read_digits(image, classifier=stub)
    assert isinstance(reading, FieldReading)
    assert len(reading) == 3 and len(reading.text) == 3
    assert set(reading.text) <= {"3", "8"}
    assert reading.proba.shape == (3, 10)
    np.testing.assert_allclose(reading.proba.sum(axis=1), 1)
    np.testing.assert_array_equal(reading.confidence, reading.proba.max(axis=1))
    np.testing.assert_array_equal(reading.boxes, boxes)
    assert reading.boxes.dtype == np.int64
    np.testing.assert_array_equal(reading.classes, np.arange(10))
    assert reading.rejected.dtype == bool
    # Read-only: a reading is a record of what was read.
    with pytest.raises(ValueError):
        reading.boxes[0, 0] = 1
    assert "FieldReading(text=" in repr(reading)


def test_read_rejects_below_the_threshold(stub):
    image, _ = _field_of_blocks()
    reading = read_digits(image, classifier=stub, reject_threshold=0.9)
    np.testing.assert_array_equal(reading.rejected, reading.confidence < 0.9)
    assert read_digits(image, classifier=stub, reject_threshold=1.0).rejected.all()
    assert not read_digits(image, classifier=stub, reject_threshold=0).any_rejected


@pytest.mark.parametrize(
    "image",
    [_paper(), np.full((30, 30, 3), 128, np.uint8), None],
    ids=["blank", "grey-constant-colour", "box-only"],
)
def test_read_blank_and_box_only_read_empty(stub, image):
    if image is None:
        image = _paper()
        image[5:7, 5:195] = INK
        image[53:55, 5:195] = INK
        image[5:55, 5:7] = INK
        image[5:55, 193:195] = INK
    reading = read_digits(image, classifier=stub)
    assert reading.text == "" and len(reading) == 0
    assert reading.proba.shape == (0, 10)
    assert reading.boxes.shape == (0, 4)
    assert reading.confidence.shape == reading.rejected.shape == (0,)
    assert not reading.any_rejected and reading.min_confidence == 1.0
    assert stub.calls == []  # nothing to classify: nothing guessed


def test_read_a_list_in_one_batch(stub):
    image, _ = _field_of_blocks()
    readings = read_digits([image, _paper(), 255 - image], classifier=stub)
    assert isinstance(readings, list) and len(readings) == 3
    assert [len(r) for r in readings] == [3, 0, 3]
    assert readings[0].text == readings[2].text
    assert len(stub.calls) == 1  # every piece of every image in one call
    assert stub.calls[0][1] == 784  # MNIST form, flat


class StubTTAClassifier(StubClassifier):
    """The stub with a ``tta_shift`` that marks its answers: class 5 when on."""

    tta_shift = 1

    def predict_proba(self, X):
        proba = super().predict_proba(X)
        self.calls[-1] = (self.tta_shift, *self.calls[-1])
        if self.tta_shift:
            proba = np.full_like(proba, 0.01 / 9)
            proba[:, 5] = 0.99
        return proba


def test_read_scores_candidates_without_tta_and_reads_the_kept_with_it():
    clf = StubTTAClassifier()
    image, boxes = _field_of_blocks()
    reading = read_digits(image, classifier=clf, verifier=None)
    # Every candidate without augmentation, then the three kept with it.
    assert [call[0] for call in clf.calls] == [0, 1]
    assert clf.calls[1][1:] == (3, 784) and clf.calls[0][1] >= 3
    assert reading.text == "555"  # the augmented probabilities are the ones read
    np.testing.assert_array_equal(reading.boxes, boxes)
    assert clf.tta_shift == 1  # the caller's classifier is left as it was


class StubVerifier(ClassifierMixin, BaseEstimator):
    """A fitted "verifier": a piece is not one digit (class 10) by its shape.

    ``junk`` maps the piece's MNIST form (28 x 28) to the probability that it
    is not one digit; the rest goes to class 0. It counts its calls.
    """

    def __init__(self, junk):
        self.junk = junk
        self.calls = []
        self.classes_ = np.arange(11)

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        X = np.asarray(X).reshape(-1, 28, 28)
        self.calls.append(len(X))
        junk = np.array([self.junk(image) for image in X], dtype=float)
        proba = np.zeros((len(X), 11))
        proba[:, 10], proba[:, 0] = junk, 1 - junk
        return proba


def _wider_than_high(image):
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return (cols[-1] - cols[0]) > (rows[-1] - rows[0])


def _touching_rings():
    image = _paper()
    _ring(image, 50, 15, 20, 30)
    _ring(image, 68, 15, 20, 30)  # overlaps the first by 2 pixels
    return image


def test_the_verifier_decides_how_touching_digits_are_cut(stub):
    image = _touching_rings()
    # A verifier sure that only a ring is one digit (in MNIST form, 20 pixels
    # high, a ring is 13 wide; the pair, 20; half a ring, 7): two digits.
    splits = StubVerifier(lambda im: 0.001 if 10 < _ink_width(im) < 17 else 0.999)
    reading = read_digits(image, classifier=stub, verifier=splits, reject_threshold=0)
    assert len(reading) == 2 and splits.calls  # the verifier saw the candidates
    assert reading.boxes[0, 0] == 50 and reading.boxes[-1, 2] == 88
    # One sure that only the whole is a digit: one digit, the whole blob.
    keeps = StubVerifier(lambda im: 0.001 if _wider_than_high(im) else 0.999)
    whole = read_digits(image, classifier=stub, verifier=keeps, reject_threshold=0)
    np.testing.assert_array_equal(whole.boxes, [[50, 15, 88, 45]])
    # Without a verifier the stub's answers alone keep the rings whole: the
    # first verifier changed the reading.
    alone = read_digits(image, classifier=stub, verifier=None, reject_threshold=0)
    np.testing.assert_array_equal(alone.boxes, [[50, 15, 88, 45]])


class StubVerifierOf(StubVerifier):
    """The stub verifier, its "one digit" share on ``digit`` (not class 0)."""

    def __init__(self, junk, digit):
        super().__init__(junk)
        self.digit = digit

    def predict_proba(self, X):
        proba = super().predict_proba(X)
        proba[:, [0, self.digit]] = proba[:, [self.digit, 0]]
        return proba


def test_candidates_record_their_ends_and_the_ink_their_cuts_cross():
    from skdigits.reading import _segment

    image = _touching_rings()
    field = _segment.segment_field(image)
    (blob,) = field.blobs
    candidates = read_module._Candidates()
    plan = read_module._plan_blob(field, blob, candidates)
    last, edges = plan.last, plan.edges
    cuts = field.cuts(blob)
    positions = [blob.left, *(blob.left + x for x in cuts), blob.right]
    assert last == len(positions) - 1  # no seam saves a stroke here
    ink = field.mask(blob).sum(axis=0) / field.digit_height
    for (i, j), index in edges.items():
        assert candidates.ends[index] == (i == 0, j == last)
        left, right = candidates.cut_ink[index]
        assert left == (0 if i == 0 else ink[positions[i] - blob.left])
        assert right == (0 if j == last else ink[positions[j] - blob.left])
        assert candidates.blob_widths[index] == blob.width / field.digit_height
    # A cut through the rings' overlap crosses ink; the whole blob none.
    assert any(min(c) > 0 for c in candidates.cut_ink)
    assert candidates.cut_ink[edges[0, last]] == (0, 0)


class StringStub(StubClassifier):
    """The stub, its classes the text "0" to "9" (as fetch_openml gives)."""

    def __init__(self):
        super().__init__()
        self.classes_ = np.array([str(d) for d in range(10)])


def test_a_classifier_of_text_labels_agrees_with_the_verifier_of_numbers(stub):
    image = _touching_rings()
    verifier = StubVerifierOf(lambda im: 0.5, 3)  # reads 3, as the stub mostly
    found = read_module._Proposal(
        [image], StringStub(), StringStub().classes_, "auto", None, verifier
    )
    agree = found.features()[:, 5]
    assert set(np.unique(agree)) <= {0.0, 1.0}
    reads_three = found.proba.argmax(axis=1) == 3
    np.testing.assert_array_equal(agree.astype(bool), reads_three & found.inked)
    assert agree.any()
    reading = read_digits(image, classifier=StringStub(), verifier=verifier)
    # The second opinion still applies: "3" is 3.
    assert reading.text and set(reading.text) <= {"3", "8"}


def test_the_verifier_gives_a_second_opinion_on_cut_pieces_only(stub):
    image = _touching_rings()
    ring = lambda im: 0.001 if 10 < _ink_width(im) < 17 else 0.999  # noqa: E731
    reading = read_digits(
        image, classifier=stub, verifier=StubVerifierOf(ring, 5), reject_threshold=0
    )
    # Two rings cut apart: the stub says 3 (0.95) or 8 (0.6), the verifier 5
    # (0.999, its other digits 0): the product of the two opinions, over 1.
    assert reading.text == "55"
    second = np.full(10, read_module._SECOND_FLOOR)
    second[5] = 1
    light, heavy = np.full(10, 0.05 / 9), np.full(10, 0.4 / 9)
    light[3], heavy[8] = 0.95, 0.6  # the stub's two answers
    products = [p * second / (p * second).sum() for p in (light, heavy)]
    for row in reading.proba:
        assert any(np.allclose(row, p, rtol=1e-6) for p in products)
    # A whole blob is read by the classifier alone.
    keeps = StubVerifierOf(lambda im: 0.001 if _wider_than_high(im) else 0.999, 5)
    whole = read_digits(image, classifier=stub, verifier=keeps, reject_threshold=0)
    assert len(whole) == 1 and whole.text in ("3", "8")
    # A verifier whose digits are not the classifier's classes gives none.
    other = StubVerifierOf(ring, 5)
    other.classes_ = np.array([10, *range(11, 21)])  # "not one digit" is first
    odd = read_digits(image, classifier=stub, verifier=other, reject_threshold=0)
    assert odd.text and set(odd.text) <= {"3", "8"}  # the stub's own answers


def _ink_width(image):
    cols = np.flatnonzero(image.any(axis=0))
    return cols[-1] - cols[0] + 1


def test_a_narrow_blob_the_verifier_doubts_is_cut_in_a_second_batch(stub):
    # Two narrow rings touching: 22 pixels wide for 30 high, narrower than
    # SPLIT_WIDTH digit heights, so not cut unless the verifier doubts it.
    image = _paper()
    _ring(image, 50, 15, 12, 30)
    _ring(image, 60, 15, 12, 30)  # overlaps the first by 2 pixels
    assert read_module.DOUBT_WIDTH < 22 / 30 <= 1.0
    # In MNIST form (20 pixels high) the pair is 15 wide, one ring 8, a third
    # of the pair 5.
    doubts = StubVerifier(lambda im: 0.001 if 6 < _ink_width(im) <= 11 else 0.999)
    reading = read_digits(image, classifier=stub, verifier=doubts, reject_threshold=0)
    assert len(reading) == 2
    assert reading.boxes[0, 0] == 50 and reading.boxes[-1, 2] == 72
    # The blob, then its cuts, then the neighbours of the cut chosen.
    assert len(doubts.calls) == 3 and doubts.calls[0] == 1
    trusts = StubVerifier(lambda im: 0.001)
    whole = read_digits(image, classifier=stub, verifier=trusts, reject_threshold=0)
    np.testing.assert_array_equal(whole.boxes, [[50, 15, 72, 45]])
    assert trusts.calls == [1]  # no second batch
    alone = read_digits(image, classifier=stub, verifier=None, reject_threshold=0)
    np.testing.assert_array_equal(alone.boxes, [[50, 15, 72, 45]])
    # With test-time augmentation: the three batches plain, the two kept
    # pieces with it.
    clf = StubTTAClassifier()
    doubts.calls.clear()
    tta = read_digits(image, classifier=clf, verifier=doubts, reject_threshold=0)
    assert [call[:2] for call in clf.calls] == [
        (0, 1),
        (0, doubts.calls[1]),
        (0, doubts.calls[2]),
        (1, 2),
    ]
    # The augmented probabilities (class 5, 0.99) are the ones read, with the
    # verifier's second opinion on the cut pieces (class 0, sure).
    augmented = np.full(10, 0.01 / 9)
    augmented[5] = 0.99
    second = np.full(10, read_module._SECOND_FLOOR)
    second[0] = 1
    expected = augmented * second / (augmented * second).sum()
    np.testing.assert_allclose(tta.proba, [expected, expected], rtol=1e-6)
    np.testing.assert_array_equal(tta.boxes, reading.boxes)


class SureClassifier(StubClassifier):
    """The stub, sure of every digit: class 3 with probability 1."""

    def predict_proba(self, X):
        proba = super().predict_proba(X)
        proba[:] = np.eye(10)[3]
        return proba


def test_a_wide_blob_is_read_whole_first_where_the_digits_do_not_touch(
    stub, monkeypatch
):
    from skdigits.reading import _segment

    image = _touching_rings()  # 38 pixels wide for 30 high
    field = _segment.segment_field(image)
    assert not field.touching and 30 * field.split_width < 38
    assert _segment.TOUCHING_WIDTH * 30 >= 38
    whole = [[50, 15, 88, 45]]
    # Classifier and verifier sure of the whole: one piece, in one batch.
    sure, trusts = SureClassifier(), StubVerifier(lambda im: 0.0)
    reading = read_digits(image, classifier=sure, verifier=trusts, reject_threshold=0)
    np.testing.assert_array_equal(reading.boxes, whole)
    assert trusts.calls == [1] and [shape[0] for shape in sure.calls] == [1]
    # Without a verifier nothing is read first: the cuts are in the batch.
    sure.calls.clear()
    read_digits(image, classifier=sure, verifier=None, reject_threshold=0)
    assert len(sure.calls) == 1 and sure.calls[0][0] > 1
    # A verifier above WIDE_DOUBT_JUNK (1e-5) on the whole, sure of each
    # ring (13 pixels wide of 20 high in MNIST form; the pair 20): the cuts
    # in a second batch (the chosen cut's neighbours in a third), two digits.
    assert read_module.WIDE_DOUBT_JUNK < 1e-3
    splits = StubVerifier(lambda im: 0.0 if 10 < _ink_width(im) < 17 else 1e-3)
    two = read_digits(image, classifier=sure, verifier=splits, reject_threshold=0)
    assert len(two) == 2 and two.boxes[0, 0] == 50 and two.boxes[-1, 2] == 88
    assert splits.calls[0] == 1 and len(splits.calls) == 3
    # A classifier below WIDE_DOUBT_CONFIDENCE (the stub's 0.95 or 0.6) gets
    # the cuts too, however sure the verifier is.
    trusts.calls.clear()
    unsure = read_digits(image, classifier=stub, verifier=trusts, reject_threshold=0)
    # The whole, its cuts, the chosen cuts' neighbours.
    assert trusts.calls[0] == 1 and len(trusts.calls) == 3
    assert len(unsure) > 1  # cut: every piece is one digit to this verifier
    # Where a blob is wider than TOUCHING_WIDTH heights, the digits touch:
    # the cuts are in the first batch.
    _ring(image, 86, 15, 20, 30)  # a third ring: 56 pixels wide
    assert _segment.segment_field(image).touching
    trusts.calls.clear()
    read_digits(image, classifier=sure, verifier=trusts, reject_threshold=0)
    assert len(trusts.calls) == 2 and trusts.calls[0] > 1  # then refined
    # A blob too wide to be one digit (MAX_WHOLE_WIDTH) is cut at once even
    # where the field does not count as touching.
    _ring(image, 104, 15, 20, 30)  # four rings: 74 pixels, 2.5 heights
    monkeypatch.setattr(_segment, "TOUCHING_WIDTH", 3.0)
    assert not _segment.segment_field(image).touching
    assert _segment.MAX_WHOLE_WIDTH * 30 < 74
    trusts.calls.clear()
    read_digits(image, classifier=sure, verifier=trusts, reject_threshold=0)
    assert len(trusts.calls) == 2 and trusts.calls[0] > 1  # then refined


def test_a_digit_the_verifier_doubts_is_rejected(stub):
    image, _ = _field_of_blocks()
    doubts = StubVerifier(lambda im: 0.99)  # above VERIFIER_REJECT (0.95)
    reading = read_digits(image, classifier=stub, verifier=doubts)
    assert reading.rejected.all()
    unsure = StubVerifier(lambda im: 0.9)  # doubts, but not sure enough
    read = read_digits(image, classifier=stub, verifier=unsure)
    np.testing.assert_array_equal(read.rejected, read.confidence < 0.9)
    # reject_threshold=0 rejects nothing, the verifier's doubts included.
    none = read_digits(image, classifier=stub, verifier=doubts, reject_threshold=0)
    assert not none.any_rejected


def test_read_uses_the_shipped_verifier_by_default(stub, monkeypatch):
    from skdigits import _pretrained

    shipped = StubVerifier(lambda im: 0.99)
    monkeypatch.setattr(_pretrained, "load_verifier", lambda onnx=False: shipped)
    image, _ = _field_of_blocks()
    assert read_digits(image, classifier=stub).rejected.all()
    # The three pieces, then the cuts of the "0" and the "7" (two thirds of
    # a digit height wide), which it doubts.
    assert shipped.calls[0] == 3 and len(shipped.calls) == 2
    read_digits(image, classifier=stub, verifier=None)
    assert len(shipped.calls) == 2  # None: no verifier


@pytest.mark.parametrize(
    "verifier, error, message",
    [
        ("shipped", ValueError, "verifier must be 'auto', None or a fitted"),
        (StubClassifier(), ValueError, "must have the class 10"),
        (object(), TypeError, "verifier must have predict_proba"),
    ],
    ids=["unknown-name", "no-class-10", "not-a-classifier"],
)
def test_read_refuses_a_bad_verifier(stub, verifier, error, message):
    image, _ = _field_of_blocks()
    with pytest.raises(error, match=message):
        read_digits(image, classifier=stub, verifier=verifier)


def test_a_pipeline_ending_in_an_augmented_classifier_scores_candidates_plainly():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    clf = StubTTAClassifier()
    identity = FunctionTransformer().fit(np.zeros((1, 784)))
    pipeline = Pipeline([("identity", identity), ("stub", clf)])
    image, _ = _field_of_blocks()
    reading = read_digits(image, classifier=pipeline, verifier=None)
    assert [call[0] for call in clf.calls] == [0, 1] and reading.text == "555"
    assert pipeline.steps[-1][1] is clf and clf.tta_shift == 1  # left as it was


def test_read_a_tuple_and_a_one_element_list_give_lists(stub):
    image, _ = _field_of_blocks()
    assert isinstance(read_digits((image,), classifier=stub), list)
    assert isinstance(read_digits([image], classifier=stub), list)


def test_read_files_and_arrays_mixed(stub, tmp_path):
    image, boxes = _field_of_blocks()
    path = tmp_path / "field.png"
    Image.fromarray(np.stack([image] * 3, axis=-1)).save(path)
    from_file, from_str, from_array = read_digits(
        [path, str(path), image], classifier=stub
    )
    for reading in (from_file, from_str):
        np.testing.assert_array_equal(reading.boxes, boxes)
        assert reading.text == from_array.text
    assert read_digits(path, classifier=stub).text == from_array.text


def test_read_a_pillow_image_as_one_image(stub):
    image, boxes = _field_of_blocks()
    reading = read_digits(Image.fromarray(image).convert("RGB"), classifier=stub)
    np.testing.assert_array_equal(reading.boxes, boxes)


def test_read_a_missing_file_names_it(stub, tmp_path):
    missing = tmp_path / "missing.png"
    with pytest.raises(FileNotFoundError, match="missing.png"):
        read_digits(missing, classifier=stub)


def test_read_a_file_that_is_not_an_image_names_it(stub, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ValueError, match="notes.png"):
        read_digits([_paper(), path], classifier=stub)


def test_read_refuses_images_over_the_pixel_cap(stub, tmp_path):
    image, _ = _field_of_blocks()  # 60 x 200 = 12,000 pixels
    path = tmp_path / "big.png"
    Image.fromarray(image).save(path)
    with pytest.raises(ValueError, match="big.png' as an image.*more than max_pixels"):
        read_digits(path, classifier=stub, max_pixels=11_999)
    with pytest.raises(ValueError, match="image 1 is too large"):
        read_digits([image[:10], image], classifier=stub, max_pixels=11_999)
    assert len(read_digits(image, classifier=stub, max_pixels=12_000)) == 3
    assert len(read_digits(image, classifier=stub, max_pixels=None)) == 3
    assert read_module.DEFAULT_MAX_PIXELS >= 20_000_000  # a page at 600 dpi


@pytest.mark.parametrize(
    "params, message",
    [
        ({"reject_threshold": 1.5}, "reject_threshold must be a number in"),
        ({"reject_threshold": "high"}, "reject_threshold must be a number in"),
        ({"reject_threshold": True}, "reject_threshold must be a number in"),
        ({"polarity": "dark"}, "polarity must be one of"),
        ({"stroke_width": 0}, "stroke_width must be None or"),
        ({"stroke_width": "thin"}, "stroke_width must be None or"),
        ({"max_pixels": 0}, "max_pixels must be None or a positive integer"),
        ({"max_pixels": 1.5e6}, "max_pixels must be None or a positive integer"),
    ],
)
def test_read_validates_its_parameters(stub, params, message):
    with pytest.raises(ValueError, match=message):
        read_digits(_paper(), classifier=stub, **params)


@pytest.mark.parametrize(
    "images, message",
    [
        ([], "empty list"),
        (42, "a path, an image array or a list"),
        (np.zeros((3, 20, 20)), "1 to 4 channels; pass several images as a list"),
        ([np.zeros((5, 5)), np.zeros(3)], "image 1 has shape"),
    ],
)
def test_read_refuses_what_is_not_images(stub, images, message):
    with pytest.raises(ValueError, match=message):
        read_digits(images, classifier=stub)


def test_read_refuses_what_is_not_a_fitted_classifier():
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    with pytest.raises(TypeError, match="must have predict_proba"):
        read_digits(_paper(), classifier=LinearSVC())
    with pytest.raises(TypeError, match="must be a fitted classifier"):
        read_digits(_paper(), classifier=LogisticRegression())


@pytest.fixture
def fresh_shipped_reader():
    """No shipped reader cached before the test, nor left cached after it."""
    read_module._shipped_reader.cache_clear()
    yield
    read_module._shipped_reader.cache_clear()


def test_read_without_a_classifier_reads_with_the_pretrained_model_once_without_tta(
    monkeypatch, fresh_shipped_reader
):
    from skdigits import _pretrained

    loaded = []

    def fake_load_pretrained():
        loaded.append(StubTTAClassifier())
        return loaded[-1]

    monkeypatch.setattr(_pretrained, "load_pretrained", fake_load_pretrained)
    image, _ = _field_of_blocks()
    assert len(read_digits(image, verifier=None)) == 3
    assert read_digits(image, verifier=None).text in {"333", "383"}  # not "555"
    assert len(loaded) == 1  # loaded once for both calls
    # The model was read without its augmentation, in one call a field; the
    # estimator load_pretrained gave is left as it was.
    assert [call[0] for call in loaded[0].calls] == [0, 0]
    assert loaded[0].tta_shift == 1


def test_read_without_a_classifier_or_pretrained_file_says_so(
    monkeypatch, tmp_path, fresh_shipped_reader
):
    from skdigits import _pretrained

    monkeypatch.setattr(
        _pretrained, "pretrained_path", lambda: str(tmp_path / "mnist_cnn.zip")
    )
    with pytest.raises(FileNotFoundError, match="pretrained model is missing"):
        read_digits(_paper())


def test_read_digits_is_exposed_lazily_without_tensorflow():
    import subprocess

    code = (
        "import sys, skdigits; skdigits.read_digits; import skdigits.reading; "
        "import skdigits.plotting; print('tensorflow' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    ).stdout
    assert out.strip() == "False"


# --- read_digits with a CNN fitted on MNIST --------------------------------------


@pytest.fixture(scope="module")
def clear_digits(mnist_reader, mnist_data_home):
    """MNIST test digits the reader classifies right and surely, by class."""
    from skdigits.datasets import fetch_mnist

    X, y = fetch_mnist(subset="test", data_home=mnist_data_home, return_X_y=True)
    X, y = X[:600], y[:600]
    proba = mnist_reader.predict_proba(X)
    sure = (proba.argmax(axis=1) == y) & (proba.max(axis=1) > 0.99)
    return {d: X[sure & (y == d)] for d in range(10)}


def _digits(clear_digits, text, start=0):
    return [clear_digits[int(c)][(start + i) % 5] for i, c in enumerate(text)]


def test_read_a_handwritten_field(mnist_reader, clear_digits):
    text = "30418"
    image, boxes = compose_field(
        _digits(clear_digits, text), 1, gap=(6, 12), angle=0, frame="underline"
    )
    reading = read_digits(image, classifier=mnist_reader)
    assert reading.text == text
    assert np.abs(reading.boxes - boxes).max() <= 2
    assert reading.labels.tolist() == [int(c) for c in text]


def test_read_splits_touching_digits(mnist_reader, clear_digits):
    text = "4703"
    image, _ = compose_field(
        _digits(clear_digits, text, 1), 2, gap=(-2, -1), angle=0, specks=(0, 0)
    )
    assert len(segment_digits(image)) < len(text)  # they do touch
    reading = read_digits(image, classifier=mnist_reader)
    assert reading.text == text


@pytest.fixture(scope="module")
def clear_train_digits(mnist_reader, mnist_data_home):
    """MNIST training digits the reader never saw, read right and surely."""
    from skdigits.datasets import fetch_mnist

    X, y = fetch_mnist(subset="train", data_home=mnist_data_home, return_X_y=True)
    X, y = X[10000:10600], y[10000:10600]  # mnist_reader is fitted on X[:6000]
    proba = mnist_reader.predict_proba(X)
    sure = (proba.argmax(axis=1) == y) & (proba.max(axis=1) > 0.99)
    return {d: X[sure & (y == d)] for d in range(10)}


def test_read_splits_a_pair_the_network_is_sure_of_as_one(
    mnist_reader, clear_train_digits
):
    # A "1" overlapping a "4": the network is as sure of the pair as of a
    # "4", so summed raw log-probabilities kept it whole (with the model of
    # one thread; whether the old scoring fails depends on the fitted
    # weights, so only the new scoring's reading is asserted); softened,
    # two clear digits beat one.
    text = "146"
    image, _ = compose_field(
        _digits(clear_train_digits, text), 10, gap=(-2, -1), angle=0, specks=(0, 0)
    )
    assert len(segment_digits(image)) < len(text)  # they do touch
    assert read_digits(image, classifier=mnist_reader).text == text


def test_a_cnn_and_its_verifier_run_in_one_call_and_read_the_same(
    mnist_reader, clear_digits, monkeypatch
):
    from skdigits._pretrained import load_verifier

    verifier = load_verifier()
    normalizer, _ = read_module._normalizer_for(mnist_reader, None)
    joint = read_module._joint_forward(mnist_reader, verifier, normalizer)
    X = np.concatenate([clear_digits[d][:2] for d in range(10)]).astype(np.float32)
    proba, checked = joint(X)
    np.testing.assert_allclose(proba, mnist_reader.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(checked, verifier.predict_proba(X), atol=1e-6)
    # Not for a classifier that is no CNN, nor without a verifier, nor with TTA.
    assert read_module._joint_forward(StubClassifier(), verifier, normalizer) is None
    assert read_module._joint_forward(mnist_reader, None, normalizer) is None
    tta = read_module._shallow_copy(mnist_reader)
    tta.tta_shift = 1
    assert read_module._joint_forward(tta, verifier, normalizer) is None
    rescaled = read_module._shallow_copy(mnist_reader)
    rescaled.input_scale_ = 2 * mnist_reader.input_scale_
    assert read_module._joint_forward(rescaled, verifier, normalizer) is None
    # read_digits takes the joint call, and reads the same either way.
    image, _ = compose_field(
        _digits(clear_digits, "47031"), 2, gap=(-2, 0), angle=0, specks=(0, 0)
    )
    joint_calls = []
    original = read_module._joint_forward

    def spy(*args):
        joint = original(*args)
        joint_calls.append(joint is not None)
        return joint

    monkeypatch.setattr(read_module, "_joint_forward", spy)
    joined = read_digits(image, classifier=mnist_reader)
    assert joint_calls and all(joint_calls)
    monkeypatch.setattr(read_module, "_joint_forward", lambda *args: None)
    apart = read_digits(image, classifier=mnist_reader)
    assert joined.text == apart.text
    np.testing.assert_allclose(joined.proba, apart.proba, atol=1e-6)


def test_with_a_verifier_pieces_are_scored_by_the_piece_scorer(stub, monkeypatch):
    from skdigits.reading import _scoring

    image = _touching_rings()
    learned = []
    original = _scoring.learned_scores
    monkeypatch.setattr(
        _scoring,
        "learned_scores",
        lambda features: learned.append(features.shape) or original(features),
    )
    verifier = StubVerifier(lambda im: 0.5)
    read_digits(image, classifier=stub, verifier=verifier)
    assert learned and learned[0][1] == len(_scoring.PIECE_FEATURES)
    learned.clear()
    read_digits(image, classifier=stub, verifier=None)
    assert not learned  # the classifier alone: the heuristic scores


def test_contour_valleys_find_where_two_digits_touch():
    from skdigits.reading._segment import _contour_valleys

    mask = np.zeros((20, 21), dtype=bool)
    mask[:, 1:9] = mask[:, 12:20] = True  # two digits' ink
    mask[12:, 9:12] = True  # joined by a thick stroke along the bottom
    valleys = _contour_valleys(mask, 3)
    assert valleys and abs(valleys[0] - 10) <= 1  # the top edge dips at 10
    assert _contour_valleys(np.ones((20, 21), dtype=bool), 3) == []  # a block


def _slanted_pair():
    """Two slanted strokes whose columns overlap, joined by a bridge.

    The left stroke runs from columns 47-50 at the top to 40-43 at the
    bottom, the right one 4 columns to its right; rows 29-30 join them.
    """
    image = _paper(60, 120)
    left, right = np.zeros(image.shape, bool), np.zeros(image.shape, bool)
    for row in range(15, 45):
        shift = (45 - row) // 4
        left[row, 40 + shift : 43 + shift] = True
        right[row, 47 + shift : 50 + shift] = True
    image[left | right] = INK
    image[29:31, 46:51] = INK  # the bridge
    return image, left, right


def test_a_seam_goes_round_the_strokes_a_straight_cut_runs_down():
    from skdigits.reading import _segment

    image, left, right = _slanted_pair()
    field = _segment.segment_field(image)
    (blob,) = field.blobs
    cut = 48 - blob.left
    straight = field.mask(blob)[:, cut].sum()
    (seam,), (crossed,) = field.seams(blob, [cut])
    assert len(seam) == blob.height
    assert np.abs(np.diff(seam)).max() <= 1  # one column a row at most
    reach = round(_segment.SEAM_REACH * field.digit_height)
    assert np.abs(seam - 48).max() <= reach
    # It crosses the bridge alone: 2 pixels, not the straight cut's 16.
    assert crossed * field.digit_height == pytest.approx(2) and straight == 16
    piece, box = field.piece(blob, blob.left, seam)
    y0, x0 = box[1] - 1, box[0] - 1
    window = (slice(y0, y0 + piece.shape[0]), slice(x0, x0 + piece.shape[1]))
    assert (piece[left[window]] > 0.9).all()  # all of the left stroke
    assert box[:2] == (40, 15) and box[2] <= 50  # none of the right one
    # A straight cut at the same column leaves part of the left stroke out.
    sliced, (x0, y0, x1, y1) = field.piece(blob, blob.left, 48)
    assert x1 == 48 and left[:, 48:].any()
    assert field.seams(blob, [])[0].shape == (0, blob.height)


def test_a_blob_is_cut_along_a_seam_only_where_it_saves_a_stroke():
    from skdigits.reading import _segment

    image, left, _ = _slanted_pair()
    field = _segment.segment_field(image)
    (blob,) = field.blobs
    field.cuts = lambda blob: [48 - blob.left]  # the cut between the strokes
    candidates = read_module._Candidates()
    plan = read_module._plan_blob(field, blob, candidates, cut=True)
    last, edges = plan.last, plan.edges
    # Positions: the blob's ends, the straight cut and its seam.
    assert last == 3 and len(candidates.boxes) == 5
    # A piece holds the left stroke (and half the bridge), another the
    # right: no straight cut gives them.
    rows, cols = np.nonzero(left)
    assert (cols.min(), rows.min(), rows.max() + 1) == (40, 15, 45)
    left_piece = candidates.boxes[edges[0, 2]]
    assert left_piece[:2] == (40, 15) and left_piece[2] <= 50
    assert candidates.cut_ink[edges[0, 2]][1] == pytest.approx(2 / 30)
    assert candidates.boxes[edges[2, 3]][2:] == (57, 45)
    assert candidates.cut_ink[edges[0, 1]][1] == pytest.approx(16 / 30)
    # Round rings overlapping by 2 pixels: the seams save too little, the
    # cuts stay straight (every cut's ink is a column's).
    field = _segment.segment_field(_touching_rings())
    (blob,) = field.blobs
    candidates = read_module._Candidates()
    read_module._plan_blob(field, blob, candidates)
    columns = field.mask(blob).sum(axis=0) / field.digit_height
    for ink in candidates.cut_ink:
        assert all(i == 0 or np.isclose(columns, i).any() for i in ink)


def test_the_chosen_cuts_get_neighbours_and_their_pieces(monkeypatch):
    from skdigits.reading import _segment

    # The rings overlap at columns 68-69; the only candidate cut is at 66.
    monkeypatch.setattr(_segment.Field, "cuts", lambda self, blob: [66 - blob.left])
    field = _segment.segment_field(_touching_rings())
    (blob,) = field.blobs
    candidates = read_module._Candidates()
    plan = read_module._plan_blob(field, blob, candidates)
    assert plan.positions == [50, 66, 88]
    before = dict(plan.edges)
    old = list(plan.positions), list(plan.bounds), list(plan.ink)
    path = [plan.edges[0, 1], plan.edges[1, 2]]
    added = read_module._refine_plan(field, blob, plan, path, candidates)
    offsets = read_module.REFINE_OFFSETS
    assert added == len(offsets)
    assert plan.positions == sorted([50, 66, 88, *(66 + d for d in offsets)])
    assert len(plan.bounds) == len(plan.ink) == len(plan.positions)
    # The pieces classified already keep their indices, at their positions,
    # and the cuts there their bounds and ink.
    for (i, j), index in before.items():
        moved = plan.positions.index(old[0][i]), plan.positions.index(old[0][j])
        assert plan.edges[moved] == index
        for k, n in zip((i, j), moved, strict=True):
            assert plan.bounds[n] == old[1][k] and plan.ink[n] == old[2][k]
    # The new cuts are straight, their ink that of their columns.
    columns = field.mask(blob).sum(axis=0) / field.digit_height
    for n, x in enumerate(plan.positions[1:-1], start=1):
        assert plan.bounds[n] == x and plan.ink[n] == columns[x - blob.left]
    # Each new cut gives a piece from the blob's left end and one to its
    # right end: the cut at 68 parts the rings where they meet.
    last = plan.last
    for d in offsets:
        k = plan.positions.index(66 + d)
        assert candidates.boxes[plan.edges[0, k]][2] == 66 + d
        assert candidates.boxes[plan.edges[k, last]][0] == 66 + d
    assert len(candidates.boxes) == len(before) + 2 * len(offsets)
    # A blob read whole has no cut to refine.
    assert read_module._refine_plan(field, blob, plan, [plan.edges[0, last]], []) == 0


def test_a_reading_with_a_verifier_refines_its_cuts_in_a_third_batch(stub):
    image = _touching_rings()
    splits = StubVerifier(lambda im: 0.001 if 10 < _ink_width(im) < 17 else 0.999)
    args = ([image], stub, stub.classes_, "auto", None, splits)
    plain = read_module._Proposal(*args, refine=False)
    refined = read_module._Proposal(*args)
    n = len(plain.candidates.boxes)
    assert len(refined.candidates.boxes) > n
    # The first batches are the same; the new pieces are classified too.
    assert refined.candidates.boxes[:n] == plain.candidates.boxes
    np.testing.assert_array_equal(refined.proba[:n], plain.proba[:n])
    assert len(refined.proba) == len(refined.junk) == len(refined.candidates.boxes)
    assert refined.inked[n:].all()
    # Without a verifier there is no third batch.
    alone = read_module._Proposal(*args[:-1], None)
    again = read_module._Proposal(*args[:-1], None, refine=False)
    assert alone.candidates.boxes == again.candidates.boxes


def test_a_field_whose_digits_touch_cuts_narrower_blobs():
    from skdigits.reading import _segment

    image = _paper(60, 200)
    _ring(image, 20, 15, 27, 30)  # a blob 0.9 digit heights wide
    _ring(image, 70, 15, 20, 30)
    separated = _segment.segment_field(image)
    assert separated.split_width == _segment.SPLIT_WIDTH
    _ring(image, 120, 15, 24, 30)
    _ring(image, 142, 15, 24, 30)  # touching: 46 pixels, 1.5 heights
    touching = _segment.segment_field(image)
    assert touching.split_width == _segment.TOUCHING_SPLIT_WIDTH < 0.9
    wide = touching.blobs[0]
    planned = read_module._plan_blob(touching, wide, read_module._Candidates())
    assert planned.last > 1  # the 0.9-wide blob gets cut positions
    assert (
        read_module._plan_blob(
            separated, separated.blobs[0], read_module._Candidates()
        ).last
        == 1
    )


def test_stroke_sides_are_both_sides_of_a_narrow_run_nearly_all_ink():
    from skdigits.reading._segment import _stroke_sides

    projection = np.array([2, 3, 9, 9, 9, 3, 2, 10, 10, 10, 10, 10, 10, 10, 4, 2])
    # Digits 10 high: columns 2-4 are a stroke (3 wide, sides 2 and 5); the
    # run at 7-13 is too wide for one (a bar, a "0"'s side on a neighbour).
    assert _stroke_sides(projection, 10, 2) == [2, 5]
    assert _stroke_sides(projection, 10, 3) == [5]  # no cut nearer an end
    assert _stroke_sides(np.full(16, 6), 10, 2) == []  # nothing that tall


def test_a_field_whose_digits_touch_cuts_beside_a_narrow_one(monkeypatch):
    """A "1" between two rings it touches: a cut at each of its sides."""
    from skdigits.reading import _segment

    image = _paper(60, 200)
    _ring(image, 50, 15, 24, 30)
    image[15:45, 73:78] = INK  # the "1", columns 73-77, on both rings
    _ring(image, 77, 15, 24, 30)
    field = _segment.segment_field(image)
    (blob,) = field.blobs
    assert field.touching  # 51 pixels wide, 1.7 heights
    sides = {73 - blob.left, 78 - blob.left}
    assert sides <= set(field.cuts(blob))
    with monkeypatch.context() as patched:
        patched.setattr(_segment, "STROKE_HEIGHT", 0)
        assert not sides <= set(field.cuts(blob))  # no other cut gives both
    field.__dict__["touching"] = False  # as in a field of separated digits
    assert not sides <= set(field.cuts(blob))
    # The "1" is a piece of its own among the candidates (it is 5 pixels
    # wide, MIN_PIECE_WIDTH 0.15 of 30 rows: 4.5).
    field = _segment.segment_field(image)
    candidates = read_module._Candidates()
    plan = read_module._plan_blob(field, field.blobs[0], candidates)
    boxes = [candidates.boxes[i] for i in plan.edges.values()]
    assert (73, 15, 78, 45) in boxes


def test_count_margin_is_the_lead_over_another_number_of_digits():
    # Two pieces (1 + 1) against the blob whole (1.5), or one digit alone.
    edges = {(0, 1): 0, (1, 2): 1, (0, 2): 2}
    score = np.array([1.0, 1.0, 1.5])
    assert read_module._count_margin(2, edges, score, 2) == pytest.approx(0.5)
    assert read_module._count_margin(1, {(0, 1): 0}, score, 1) == np.inf


def test_read_a_broken_digit_as_one(mnist_reader, clear_digits):
    text = "505"
    image, boxes = compose_field(
        _digits(clear_digits, text), 3, gap=(8, 10), angle=0, specks=(0, 0)
    )
    middle = (boxes[1, 1] + boxes[1, 3]) // 2
    image[middle : middle + 2, boxes[1, 0] : boxes[1, 2]] = image[2, 2]  # break it
    assert read_digits(image, classifier=mnist_reader).text == text


def test_read_any_polarity_and_colour_alike(mnist_reader, clear_digits):
    text = "2961"
    image, _ = compose_field(_digits(clear_digits, text), 4, angle=0)
    colour = np.stack([image, image, image // 2], axis=-1)
    readings = read_digits([image, 255 - image, colour], classifier=mnist_reader)
    assert [r.text for r in readings] == [text] * 3


def test_read_a_printed_number(mnist_reader):
    image, _ = render_number("2024", 0, height=(40, 40))
    reading = read_digits(image, classifier=mnist_reader)
    assert len(reading) == 4  # the small model may misread one; it finds four


def test_read_with_a_pipeline_of_flat_mnist_rows(mnist_reader, clear_digits):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    identity = FunctionTransformer().fit(np.zeros((1, 784)))
    pipeline = Pipeline([("identity", identity), ("cnn", mnist_reader)])
    text = "8642"
    image, _ = compose_field(_digits(clear_digits, text), 5, angle=0)
    assert read_digits(image, classifier=pipeline).text == text

"""Find the digits of a field image: ink, ruled lines, specks, fragments.

Pure numpy and scipy (no TensorFlow): the classifier is needed only to split
touching digits, which :mod:`skdigits.reading._read` does with the candidate
cuts computed here.
"""

import functools
import math
import numbers

import numpy as np
from scipy import ndimage

from ..preprocessing._normalizer import _to_grey

POLARITIES = ("auto", "dark_on_light", "light_on_dark")

# On the ink scale (paper 0, the strongest ink 1), pixels above this are ink.
INK_LEVEL = 0.35
# An image whose ink differs from its paper by less than this fraction of
# the value range of its type (255 for 8 bits) is blank: its "ink" is noise.
MIN_CONTRAST = 0.12
# Ink smaller than this, in pixels, is never a digit (noise on blank paper).
MIN_DIGIT_SIZE = 5

# Ruled lines: a straight run of ink at least this many times the height of
# the digits (horizontal lines), or a vertical run joining two horizontal
# lines (the sides of a box) or this much taller than the digits.
_LINE_LENGTH = 1.2
_VERTICAL_LINE_LENGTH = 1.6
# Specks: components of fewer pixels than (this x digit height) squared.
_SPECK_SIZE = 0.1
# After merging fragments, ink lower than this fraction of the digit height
# (a dash, a dot, a fragment that belongs to no digit) is not a digit.
_MIN_HEIGHT = 0.4
# Fragments of one digit: a piece lower than this fraction of the digit
# height is merged into the piece it overlaps most horizontally.
_FRAGMENT_HEIGHT = 0.8
# A fragment may widen a piece past the widest digit (MAX_WHOLE_WIDTH: a
# run of touching digits) by up to this many digit heights, each fragment
# from the piece's width as earlier fragments left it: the broken-off end
# of a "7"'s bar that overlaps the run. Counting from the width before any
# merge instead (at most 0.5 heights in all) read one touching tuning field
# fewer (0.904). On touching fields of MNIST training digits
# (bench_reading.py --tune, session 12): 0.902 read right without, 0.906
# with 0.5 (0.898 and 0.902 without _read.REFINE_OFFSETS), the others
# unchanged.
_FRAGMENT_GROWTH = 0.5

# Touching digits: a piece wider than this fraction of the digit height may
# hold several digits; each digit cut from it is between these fractions of
# the height wide. At most this many cut positions per expected digit.
SPLIT_WIDTH = 1.0
# In a field with a blob wider than TOUCHING_WIDTH (wider than any single
# digit: the field's digits touch), blobs wider than TOUCHING_SPLIT_WIDTH
# may hold several digits too: a narrow "1" touching its neighbour makes a
# blob barely wider than one digit. Not in every field: many single digits
# are 0.8 to 1.1 heights wide, and cutting them all costs time.
TOUCHING_WIDTH = 1.3
TOUCHING_SPLIT_WIDTH = 0.8
MIN_PIECE_WIDTH = 0.15
MAX_PIECE_WIDTH = 1.2
# An uncut blob up to this wide may be one digit (a wide 0, 2 or 4).
MAX_WHOLE_WIDTH = 2.0
_CUTS_PER_DIGIT = 3
_MAX_CUTS = 40
# A piece wider than this fraction of the digit height (wider than most
# single digits) also gets cuts at the valleys of its upper and lower
# contours: on fields of MNIST training digits, 0.754 -> 0.770 of touching
# fields read right, the others unchanged.
VALLEY_WIDTH = 1.1
# A seam (Field.seams) is a cut that follows the gap between two digits
# instead of a column: from the blob's top to its bottom through as little
# ink as it can, one column sideways a row at most and no farther than
# SEAM_REACH digit heights from its candidate column. Where it crosses at
# least SEAM_SAVING digit heights of ink fewer than the straight cut (which
# then runs down a stroke: a narrow "1" whose columns overlap its
# neighbour's), it is a candidate cut too, beside the straight one.
SEAM_REACH = 0.2
SEAM_SAVING = 0.25
# ... and where it crosses at most this much: where two digits touch, not a
# path that carves one digit in two through several strokes.
SEAM_MAX_INK = 0.1
# Per column away from the candidate: among paths through equal ink, the
# straightest.
_SEAM_DRIFT = 0.01
# A narrow "1" between two neighbours is a run of columns nearly all ink
# from top to bottom: no projection minimum, no valley. In a field whose
# digits touch (Field.touching), runs of columns of at least STROKE_HEIGHT
# digit heights of ink, at most STROKE_WIDTH wide, get cuts at both their
# sides (STROKE_HEIGHT 0: none). On touching fields of MNIST training
# digits (the --tune seed, 1,500 fields, session 13): 0.909 read right
# instead of 0.901; cutting so in every field (0.6 to 0.8 read 0.909 to
# 0.912) read 2,000 separated fields 0.9815 instead of 0.982, with more
# right strings rejected.
STROKE_HEIGHT = 0.75
STROKE_WIDTH = 0.3

_EIGHT = np.ones((3, 3), dtype=bool)


def check_polarity(polarity):
    if not isinstance(polarity, str) or polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {POLARITIES}; got {polarity!r}.")


def check_image(image, name="image"):
    """A 2-D grey or 3-D (h, w, 1-4 channels) numeric array, or an error."""
    array = np.asarray(image)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} is not a numeric image: dtype {array.dtype}.")
    if array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4):
        raise ValueError(
            f"{name} has shape {array.shape}: a 3-D image must be (height, width, "
            "channels) with 1 to 4 channels; pass several images as a list."
        )
    if array.ndim not in (2, 3):
        raise ValueError(
            f"{name} has shape {array.shape}: expected a 2-D grey image or a 3-D "
            "(height, width, channels) colour image."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} is empty: shape {array.shape}.")
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return array


def field_ink(image, polarity="auto"):
    """White-on-black ink of a field image in ``[0, 1]``, or None if blank.

    The polarity is read from the median of all the pixels (a field is mostly
    paper, and its border may be a box line); the paper level is the median
    of the pixels on the paper's side of the middle of the value range.
    """
    image = np.asarray(image)
    composite = "light_on_dark" if polarity == "light_on_dark" else "auto"
    grey = _to_grey(image[np.newaxis], composite)[0]
    low, high = float(grey.min()), float(grey.max())
    middle = 0.5 * (low + high)
    if polarity == "auto":
        dark_ink = float(np.median(grey)) > middle
    else:
        dark_ink = polarity == "dark_on_light"
    paper_side = grey[grey > middle] if dark_ink else grey[grey < middle]
    paper = float(np.median(paper_side)) if paper_side.size else middle
    extreme = low if dark_ink else high
    if abs(paper - extreme) < MIN_CONTRAST * _nominal_range(image):
        return None
    ink = (grey - np.float32(paper)) * np.float32(1 / (extreme - paper))
    return np.clip(ink, 0, 1, out=ink)


def _nominal_range(image):
    """The value of full white for the image's type and values."""
    values = image if image.ndim == 2 else image[..., : min(3, image.shape[2])]
    peak = float(values.max())
    if image.dtype.kind in "biu":
        return 1.0 if image.dtype == bool else 255.0 if peak <= 255 else 65535.0
    return 1.0 if peak <= 1 else 255.0 if peak <= 255 else max(peak, 1e-12)


def _long_runs(mask, length, axis):
    """The pixels of ``mask`` in straight runs of at least ``length`` along axis.

    The binary opening of ``mask`` by a line of ``length`` pixels, computed
    from run lengths in one pass rather than by erosion and dilation.
    """
    if axis == 0:
        return _long_runs(mask.T, length, 1).T
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    starts = np.argwhere(steps == 1)
    ends = np.argwhere(steps == -1)  # same rows, same order
    long = ends[:, 1] - starts[:, 1] >= length
    marks = np.zeros((mask.shape[0], mask.shape[1] + 1), dtype=np.int32)
    np.add.at(marks, (starts[long, 0], starts[long, 1]), 1)
    np.add.at(marks, (ends[long, 0], ends[long, 1]), -1)
    return np.cumsum(marks, axis=1)[:, :-1] > 0


def _reference_height(heights):
    """The height of the field's digits: median of the tall components."""
    heights = np.asarray(heights, dtype=float)
    if not heights.size:
        return 0.0
    tall = heights[heights >= 0.6 * heights.max()]
    return float(np.median(tall))


def _component_heights(mask):
    labels, n = ndimage.label(mask, structure=_EIGHT)
    if not n:
        return np.zeros(0)
    slices = ndimage.find_objects(labels)
    sizes = np.bincount(labels.ravel())[1:]
    heights = np.array([s[0].stop - s[0].start for s in slices], dtype=float)
    # Specks do not count: a field of noise has no height.
    return heights[sizes >= 3]


def ruled_lines(binary):
    """The pixels of box lines and underlines in a binary field image.

    Horizontal lines are straight runs of ink longer than ``_LINE_LENGTH``
    times the height of the digits; vertical ones are straight runs that join
    two horizontal lines (the sides of a box, the walls of comb boxes) or are
    much taller than the digits. A digit's own strokes are never that long.
    """
    rows = np.flatnonzero(binary.any(axis=1))
    cols = np.flatnonzero(binary.any(axis=0))
    lines = np.zeros_like(binary)
    if not rows.size:
        return lines
    ink_height = rows[-1] - rows[0] + 1
    ink_width = cols[-1] - cols[0] + 1
    horizontal = _long_runs(binary, max(MIN_DIGIT_SIZE * 2, 0.35 * ink_width), 1)
    vertical = _long_runs(binary, max(MIN_DIGIT_SIZE * 2, 0.5 * ink_height), 0)
    if not horizontal.any() and not vertical.any():
        return lines

    h_labels, n_h = ndimage.label(horizontal, structure=_EIGHT)
    v_labels, n_v = ndimage.label(vertical, structure=_EIGHT)
    h_slices = ndimage.find_objects(h_labels)
    v_slices = ndimage.find_objects(v_labels)
    # Vertical runs that join two horizontal runs: a box's sides.
    near_horizontal = ndimage.binary_dilation(horizontal, _EIGHT, iterations=2)
    box_sides = np.zeros(n_v + 1, dtype=bool)
    for index, (r, c) in enumerate(v_slices, start=1):
        top = near_horizontal[r.start : r.start + 3, c] & (
            v_labels[r.start : r.start + 3, c] == index
        )
        bottom = near_horizontal[r.stop - 3 : r.stop, c] & (
            v_labels[r.stop - 3 : r.stop, c] == index
        )
        box_sides[index] = top.any() and bottom.any()
    # The digits' height, from the ink that is not in a candidate line.
    rest = binary & ~horizontal & ~box_sides[v_labels]
    height = _reference_height(_component_heights(rest))
    h_keep = np.zeros(n_h + 1, dtype=bool)
    for index, (_, c) in enumerate(h_slices, start=1):
        h_keep[index] = height == 0 or c.stop - c.start >= _LINE_LENGTH * height
    v_keep = np.zeros(n_v + 1, dtype=bool)
    for index, (r, _) in enumerate(v_slices, start=1):
        tall = height == 0 or r.stop - r.start >= _VERTICAL_LINE_LENGTH * height
        v_keep[index] = (box_sides[index] and h_keep.any()) or tall
    lines = h_keep[h_labels] | v_keep[v_labels]
    if lines.any():
        # The anti-aliased edges of the lines go with them.
        lines = ndimage.binary_dilation(lines, _EIGHT) & binary
    return lines


class Blob:
    """The ink of one or more digits: connected components and their box."""

    __slots__ = ("labels", "top", "left", "bottom", "right")

    def __init__(self, label, box):
        rows, cols = box
        self.labels = [label]
        self.top, self.bottom = rows.start, rows.stop
        self.left, self.right = cols.start, cols.stop

    @property
    def height(self):
        return self.bottom - self.top

    @property
    def width(self):
        return self.right - self.left

    def absorb(self, other):
        self.labels += other.labels
        self.top, self.bottom = min(self.top, other.top), max(self.bottom, other.bottom)
        self.left, self.right = min(self.left, other.left), max(self.right, other.right)


class Field:
    """A field image segmented into blobs of ink, left to right.

    Attributes
    ----------
    ink : ndarray of float32 (height, width)
        White-on-black ink, 0 to 1, ruled lines removed.
    labels : ndarray of int (height, width)
        Connected components of the binarised ink.
    blobs : list of Blob
        The digits' ink, one blob per digit or per run of touching digits.
    digit_height : float
        The median height of the field's digits, in pixels.
    """

    def __init__(self, ink, labels, blobs, digit_height):
        self.ink = ink
        self.labels = labels
        self.blobs = blobs
        self.digit_height = digit_height

    @functools.cached_property
    def touching(self):
        """Whether the field's digits touch: a blob wider than any one digit.

        Wider than ``TOUCHING_WIDTH`` digit heights. Found once a field.
        """
        return any(b.width > TOUCHING_WIDTH * self.digit_height for b in self.blobs)

    @property
    def cut_margin(self):
        """No cut is nearer a blob's end than this many pixels.

        ``MIN_PIECE_WIDTH`` digit heights, and at least 2.
        """
        return max(2, math.ceil(MIN_PIECE_WIDTH * self.digit_height))

    @property
    def split_width(self):
        """Blobs wider than this many digit heights may be touching digits.

        ``SPLIT_WIDTH``, or ``TOUCHING_SPLIT_WIDTH`` in a field whose digits
        touch (:attr:`touching`).
        """
        return TOUCHING_SPLIT_WIDTH if self.touching else SPLIT_WIDTH

    def mask(self, blob, left=None, right=None):
        """Binary mask of ``blob`` in its box, columns ``[left, right)`` of it."""
        rows = slice(blob.top, blob.bottom)
        left = blob.left if left is None else left
        right = blob.right if right is None else right
        return np.isin(self.labels[rows, left:right], blob.labels)

    def piece(self, blob, left=None, right=None):
        """``(image, box)``: the ink of a blob between two cuts, cropped.

        A cut is a column of the field or a seam (:meth:`seams`, a column
        for each row of the blob). The image holds only this blob's ink,
        with a pixel of anti-aliased edge around it, not its neighbours';
        the box is ``(x0, y0, x1, y1)`` in the field's pixels, end exclusive.
        None if the cuts hold no ink.
        """
        left = blob.left if left is None else left
        right = blob.right if right is None else right
        if np.ndim(left) or np.ndim(right):
            columns = np.arange(blob.left, blob.right)
            inside = (columns >= np.reshape(left, (-1, 1))) & (
                columns < np.reshape(right, (-1, 1))
            )
            mask, left = _without_slivers(self.mask(blob) & inside), blob.left
        else:
            mask = self.mask(blob, left, right)
            if (left, right) != (blob.left, blob.right):
                mask = _without_slivers(mask)
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if not rows.size:
            return None
        mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        top, x0 = blob.top + rows[0], left + cols[0]
        box = (int(x0), int(top), int(x0 + mask.shape[1]), int(top + mask.shape[0]))
        # One pixel around the mask: the anti-aliased edges of the strokes.
        y0, x0w = max(top - 1, 0), max(x0 - 1, 0)
        y1 = min(box[3] + 1, self.ink.shape[0])
        x1w = min(box[2] + 1, self.ink.shape[1])
        grown = np.zeros((y1 - y0, x1w - x0w), dtype=bool)
        grown[
            top - y0 : top - y0 + mask.shape[0], x0 - x0w : x0 - x0w + mask.shape[1]
        ] = mask
        grown = ndimage.binary_dilation(grown, _EIGHT)
        window = self.ink[y0:y1, x0w:x1w]
        return np.where(grown, window, np.float32(0)), box

    def seams(self, blob, cuts):
        """The seam of each candidate cut: ``(seams, ink)``.

        ``cuts`` are columns of the blob's box (as :meth:`cuts` gives them);
        ``seams[k]`` is, for each row of the blob, the field's column where
        the cut passes (that pixel and those right of it are on the right),
        found by dynamic programming over the rows: the path from top to
        bottom through the least ink, moving at most one column a row and at
        most ``SEAM_REACH`` digit heights from ``cuts[k]``. ``ink[k]`` is the
        number of the blob's ink pixels the seam crosses, over the digit
        height.
        """
        mask = self.mask(blob)
        cuts = np.asarray(cuts, dtype=int).reshape(-1)
        n_rows, width = mask.shape
        if not cuts.size:
            return np.zeros((0, n_rows), dtype=int), np.zeros(0)
        ink = np.where(
            mask, self.ink[blob.top : blob.bottom, blob.left : blob.right], 0
        )
        reach = round(SEAM_REACH * self.digit_height)
        offset = np.abs(np.arange(width)[np.newaxis] - cuts[:, np.newaxis])
        extra = np.where(offset <= reach, _SEAM_DRIFT * offset, np.inf)
        total = ink[0] + extra
        moves = np.empty((n_rows, len(cuts), width), dtype=np.int8)
        padded = np.full((len(cuts), width + 2), np.inf)
        for row in range(1, n_rows):
            padded[:, 1:-1] = total
            # From the column to the left (0), the same (1), the right (2).
            options = np.stack([padded[:, :-2], total, padded[:, 2:]])
            moves[row] = options.argmin(axis=0)
            total = np.take_along_axis(options, moves[row][np.newaxis], 0)[0]
            total += ink[row] + extra
        path = np.empty((len(cuts), n_rows), dtype=int)
        path[:, -1] = total.argmin(axis=1)
        picks = np.arange(len(cuts))
        for row in range(n_rows - 1, 0, -1):
            path[:, row - 1] = path[:, row] + moves[row, picks, path[:, row]] - 1
        crossed = mask[np.arange(n_rows), path].sum(axis=1)
        return blob.left + path, crossed / max(self.digit_height, 1)

    def cuts(self, blob):
        """Candidate column positions to split a blob of touching digits.

        Minima of the blob's vertical ink projection (columns where few
        pixels are ink, where two digits meet), with the positions that
        divide the blob evenly into as many digits as its width suggests,
        and, for a blob wider than ``VALLEY_WIDTH`` heights, the valleys of
        its upper and lower contours, and in a field whose digits touch, the
        sides of narrow strokes (:func:`_stroke_sides`); never closer than
        ``MIN_PIECE_WIDTH`` digit heights to an end. At most
        ``_CUTS_PER_DIGIT`` minima and as many valleys per expected digit.
        """
        height = self.digit_height
        projection = self.mask(blob).sum(axis=0).astype(float)
        smooth = ndimage.uniform_filter1d(projection, 3, mode="nearest")
        margin = self.cut_margin
        width = blob.width
        if width <= 2 * margin:
            return []
        inner = np.arange(margin, width - margin + 1)
        values = smooth[np.clip(inner, 0, width - 1)]
        left = smooth[np.clip(inner - 1, 0, width - 1)]
        right = smooth[np.clip(inner + 1, 0, width - 1)]
        minima = inner[(values <= left) & (values <= right)]
        expected = max(2, round(width / (0.65 * height)))
        limit = min(_MAX_CUTS, _CUTS_PER_DIGIT * expected)
        # Lowest projection first; a cut 2 pixels from a chosen one is the same.
        chosen = []
        for x in minima[
            np.argsort(smooth[np.clip(minima, 0, width - 1)], kind="stable")
        ]:
            if len(chosen) >= limit:
                break
            if all(abs(x - c) > 2 for c in chosen):
                chosen.append(int(x))
        if width > VALLEY_WIDTH * height:
            for x in _contour_valleys(self.mask(blob), margin)[:limit]:
                if all(abs(x - c) > 2 for c in chosen):
                    chosen.append(int(x))
        if STROKE_HEIGHT > 0 and self.touching:
            for x in _stroke_sides(projection, height, margin):
                if x not in chosen:
                    chosen.append(int(x))
        window = max(1, round(0.1 * height))
        for k in range(2, expected + 2):
            for i in range(1, k):
                x = round(i * width / k)
                lo, hi = max(margin, x - window), min(width - margin, x + window)
                if lo > hi:
                    continue
                best = lo + int(np.argmin(smooth[lo : hi + 1]))
                if all(abs(best - c) > 2 for c in chosen):
                    chosen.append(best)
        return sorted(chosen[:_MAX_CUTS])


def _contour_valleys(mask, margin):
    """Columns where the upper contour dips lowest or the lower rises highest.

    Where two digits touch, the ink's top edge dips between them (seen from
    above) or its bottom edge rises (seen from below), even where a stroke
    crosses the column. Deepest first, at least ``margin`` from the ends.
    """
    n_rows, width = mask.shape
    inner = np.arange(margin, width - margin)
    if not inner.size:
        return []
    inked = mask.any(axis=0)
    # How far the top edge lies below the box's top, the bottom edge above
    # its bottom (the whole height for an empty column).
    from_top = np.where(inked, mask.argmax(axis=0), n_rows).astype(float)
    from_bottom = np.where(inked, mask[::-1].argmax(axis=0), n_rows).astype(float)
    found = []
    for depth in (from_top, from_bottom):
        depth = ndimage.uniform_filter1d(depth, 3, mode="nearest")
        d = depth[inner]
        peak = (d >= depth[inner - 1]) & (d >= depth[np.minimum(inner + 1, width - 1)])
        # Only valleys deeper than a tenth of the blob's height count.
        peak &= d - depth.min() > 0.1 * n_rows
        found.append(np.stack([inner[peak], d[peak]], axis=1))
    found = np.concatenate(found)
    return found[np.argsort(-found[:, 1], kind="stable"), 0].astype(int).tolist()


def _stroke_sides(projection, height, margin):
    """Both sides of each narrow run of columns nearly all ink: a "1"."""
    runs = ndimage.find_objects(ndimage.label(projection >= STROKE_HEIGHT * height)[0])
    sides = [
        x
        for (run,) in runs
        if run.stop - run.start <= STROKE_WIDTH * height
        for x in (run.start, run.stop)
    ]
    return sorted(x for x in sides if margin <= x <= len(projection) - margin)


def _without_slivers(mask):
    """A cut piece without the slivers of its neighbours a straight cut leaves."""
    labels, n = ndimage.label(mask, structure=_EIGHT)
    if n < 2:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    keep = sizes >= 0.15 * sizes.max()
    return keep[labels]


def segment_field(image, polarity="auto"):
    """Segment one field image into blobs of digit ink (see :class:`Field`).

    Returns None for a blank image (no ink that differs from the paper).
    """
    ink = field_ink(image, polarity)
    if ink is None:
        return None
    binary = ink > INK_LEVEL
    lines = ruled_lines(binary)
    if lines.any():
        binary &= ~lines
        ink = np.where(lines, np.float32(0), ink)
    labels, n = ndimage.label(binary, structure=_EIGHT)
    if not n:
        return None
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    slices = ndimage.find_objects(labels)
    blobs = [Blob(i, s) for i, s in enumerate(slices, start=1) if sizes[i] >= 3]
    height = _reference_height([b.height for b in blobs])
    speck = max(4.0, (_SPECK_SIZE * height) ** 2)
    blobs = [b for b in blobs if sizes[b.labels[0]] >= speck]
    blobs = _merge_fragments(blobs, height)
    height = _reference_height([b.height for b in blobs])
    blobs = [
        b
        for b in blobs
        if b.height >= _MIN_HEIGHT * height and max(b.height, b.width) >= MIN_DIGIT_SIZE
    ]
    if not blobs:
        return None
    blobs.sort(key=lambda b: (b.left + b.right, b.top))
    return Field(ink, labels, blobs, _reference_height([b.height for b in blobs]))


def _merge_fragments(blobs, height):
    """Merge the pieces of broken digits into the piece each overlaps most.

    A piece lower than ``_FRAGMENT_HEIGHT`` digit heights joins the piece
    that overlaps it most horizontally (at least 20% of its width), when the
    two together are no taller than 1.35 digits and no wider than the widest
    digit (``MAX_WHOLE_WIDTH`` heights) or than the larger piece (as earlier
    merges left it) and ``_FRAGMENT_GROWTH`` heights.
    """
    blobs = sorted(blobs, key=lambda b: b.height)
    boxes = np.array(
        [(b.left, b.top, b.right, b.bottom) for b in blobs], dtype=float
    ).reshape(-1, 4)
    alive = np.ones(len(blobs), dtype=bool)
    # One pass, lowest first, each fragment against every piece at once.
    for i, small in enumerate(blobs):
        if small.height >= _FRAGMENT_HEIGHT * height:
            break
        alive[i] = False
        overlap = np.minimum(boxes[:, 2], small.right) - np.maximum(
            boxes[:, 0], small.left
        )
        overlap[~alive] = -np.inf
        best = int(np.argmax(overlap)) if alive.any() else -1
        if best < 0 or overlap[best] <= 0 or overlap[best] < 0.2 * small.width:
            alive[i] = True
            continue
        left, top, right, bottom = boxes[best]
        tall = max(bottom, small.bottom) - min(top, small.top)
        wide = max(right, small.right) - min(left, small.left)
        widest = max(MAX_WHOLE_WIDTH * height, right - left + _FRAGMENT_GROWTH * height)
        if tall > 1.35 * height or wide > widest:
            alive[i] = True
            continue
        other = blobs[best]
        other.absorb(small)
        boxes[best] = (other.left, other.top, other.right, other.bottom)
    return [b for b, keep in zip(blobs, alive, strict=True) if keep]


def segment_digits(image, *, polarity="auto"):
    """Boxes of the digits' ink in one field image, left to right.

    Box lines, underlines and specks are dropped and the fragments of a
    broken digit merged, as :func:`read_digits` does before it classifies;
    digits that touch are one box here (read_digits splits them with the
    classifier's help).

    Parameters
    ----------
    image : array-like of shape (height, width) or (height, width, channels)
        A grey or colour image (1 to 4 channels) of one line of digits, dark
        on light or light on dark.
    polarity : {"auto", "dark_on_light", "light_on_dark"}, default="auto"
        Colours of ink and paper; ``"auto"`` takes the colour of most of the
        pixels for the paper.

    Returns
    -------
    boxes : ndarray of int of shape (n_pieces, 4)
        ``(x0, y0, x1, y1)`` of each piece of ink in the image's pixels,
        ``x1`` and ``y1`` exclusive (``image[y0:y1, x0:x1]`` holds it).
        A blank image, or one of only lines and specks, gives none.

    See Also
    --------
    read_digits : Segment and classify.

    Examples
    --------
    >>> import numpy as np
    >>> from skdigits.reading import segment_digits
    >>> field = np.full((40, 100), 255, dtype=np.uint8)  # white paper
    >>> field[10:30, 10:14] = 0   # a "1"
    >>> field[10:30, 40:52] = 0   # a block of ink
    >>> field[36:38, 2:98] = 0    # an underline
    >>> segment_digits(field)
    array([[10, 10, 14, 30],
           [40, 10, 52, 30]])
    """
    check_polarity(polarity)
    field = segment_field(check_image(image), polarity)
    if field is None:
        return np.zeros((0, 4), dtype=np.int64)
    boxes = [field.piece(blob)[1] for blob in field.blobs]
    return np.asarray(boxes, dtype=np.int64).reshape(-1, 4)


def is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)

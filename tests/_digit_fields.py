"""Form fields composed from digit images, for tests and benchmarks.

``compose_field`` lays MNIST digits out on a line the way a hand fills a
form: dark ink on light paper, each digit scaled and slightly rotated, uneven
gaps (or neighbours that touch and overlap), paper noise, specks, and
sometimes a box around the field or a line under it. ``render_number``
draws a printed number in one of the machine's fonts. Both return the image
and the digits' boxes, ``(x0, y0, x1, y1)`` end exclusive.
"""

import numpy as np
from _digit_images import font_files
from PIL import Image, ImageDraw, ImageFont
from sklearn.utils import check_random_state

#: The ink (of 1) from which a pixel is its digit's in compose_field's owners.
OWNER_INK = 0.35


def _ink_crop(digit):
    """An MNIST digit (white on black, 0-255) cropped to its ink, as 0-1 floats."""
    digit = np.asarray(digit, dtype=np.float64).reshape(28, 28) / 255.0
    rows = np.flatnonzero(digit.max(axis=1) > 0.1)
    cols = np.flatnonzero(digit.max(axis=0) > 0.1)
    return digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _transform(ink, height, angle):
    image = Image.fromarray(np.uint8(np.rint(255 * ink)))
    # MNIST fits each digit's larger side to 20 pixels: a wide digit is
    # lower than a tall one, as it was written.
    scale = height / 20
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(height)))
    image = image.resize(size, Image.Resampling.BILINEAR)
    if angle:
        image = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    out = np.asarray(image, dtype=np.float64) / 255.0
    rows = np.flatnonzero(out.max(axis=1) > 0.2)
    cols = np.flatnonzero(out.max(axis=0) > 0.2)
    return out[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def compose_field(
    digits,
    random_state=None,
    *,
    gap=(3, 12),
    height=(18, 44),
    angle=6.0,
    noise=(1.0, 8.0),
    specks=(0, 3),
    frame=None,
    return_owners=False,
):
    """One field of MNIST digits, dark ink on light paper.

    Parameters
    ----------
    digits : sequence of arrays of 784 values 0-255
        MNIST images, in reading order.
    random_state : int, RandomState or None
        Seed of the layout.
    gap : (int, int)
        Range of the gaps between neighbours' ink boxes, in pixels; negative
        values overlap them (``(-3, 0)``: touching neighbours).
    height : (int, int)
        Range of the field's digit size in pixels (the height of a digit
        taller than wide, the width of one wider than tall, as MNIST's
        20-pixel box); each digit varies by up to 8% around the field's.
    angle : float
        Largest rotation of a digit, in degrees, either way.
    noise : (float, float)
        Range of the standard deviation of the paper's noise, in grey levels.
    specks : (int, int)
        Range of the number of small dark specks sprinkled on the paper.
    frame : {None, "box", "underline", "random"}
        A box around the digits, a line under them, or, for "random", one
        of the two or nothing (a third each).
    return_owners : bool
        Also return which digit each pixel's ink is from. The layout is
        drawn from ``random_state`` the same either way.

    Returns
    -------
    image : ndarray of uint8 (height, width)
    boxes : ndarray of int (n_digits, 4)
    owners : ndarray of int (height, width)
        Only with ``return_owners``: the index of the digit whose ink is
        strongest at each pixel, ``-1`` where no digit has ink (at least
        ``OWNER_INK`` of full ink; box lines and specks are no digit's).
    """
    rng = check_random_state(random_state)
    field_height = rng.uniform(*height)
    inks = [
        _transform(
            _ink_crop(d),
            field_height * rng.uniform(0.92, 1.08),
            rng.uniform(-angle, angle),
        )
        for d in digits
    ]
    margin = int(round(0.4 * field_height)) + 6
    positions, x = [], margin
    for ink in inks:
        positions.append(x)
        x += ink.shape[1] + int(rng.randint(gap[0], gap[1] + 1))
    width = x + margin
    tallest = max(ink.shape[0] for ink in inks)
    canvas_h = tallest + 2 * margin
    canvas = np.zeros((canvas_h, width))
    owners = np.full(canvas.shape, -1)
    boxes = []
    for k, (ink, x0) in enumerate(zip(inks, positions, strict=True)):
        y0 = margin + (tallest - ink.shape[0]) // 2 + int(rng.randint(-2, 3))
        window = (slice(y0, y0 + ink.shape[0]), slice(x0, x0 + ink.shape[1]))
        region = canvas[window]
        owners[window][(ink > region) & (ink >= OWNER_INK)] = k
        np.maximum(region, ink, out=region)
        boxes.append((x0, y0, x0 + ink.shape[1], y0 + ink.shape[0]))
    boxes = np.asarray(boxes)

    if frame == "random":
        frame = (None, "box", "underline")[rng.randint(3)]
    thickness = int(rng.randint(1, 3))
    left, right = margin // 3, width - margin // 3
    if frame == "box":
        top = max(0, boxes[:, 1].min() - margin // 2)
        bottom = min(canvas_h, boxes[:, 3].max() + margin // 2)
        canvas[top : top + thickness, left:right] = 1
        canvas[bottom - thickness : bottom, left:right] = 1
        canvas[top:bottom, left : left + thickness] = 1
        canvas[top:bottom, right - thickness : right] = 1
    elif frame == "underline":
        y = min(canvas_h - thickness, boxes[:, 3].max() + int(rng.randint(1, 5)))
        canvas[y : y + thickness, left:right] = 1
    for _ in range(int(rng.randint(specks[0], specks[1] + 1))):
        sy, sx = rng.randint(0, canvas_h - 2), rng.randint(0, width - 2)
        canvas[sy : sy + rng.randint(1, 3), sx : sx + rng.randint(1, 3)] = 1

    paper = rng.uniform(200, 250)
    ink_level = rng.uniform(0, 70)
    page = paper + (ink_level - paper) * canvas
    page += rng.normal(0, rng.uniform(*noise), page.shape)
    image = np.clip(np.rint(page), 0, 255).astype(np.uint8)
    return (image, boxes, owners) if return_owners else (image, boxes)


def render_number(
    text, random_state=None, *, fonts=None, height=(16, 60), return_boxes=False
):
    """A printed number in one of the machine's fonts, dark on light paper.

    Returns the grey image (uint8) and the font's path; with
    ``return_boxes``, also each character's ink box ``(x0, y0, x1, y1)``.
    """
    rng = check_random_state(random_state)
    fonts = fonts if fonts is not None else font_files()
    path = fonts[rng.randint(len(fonts))]
    size = int(rng.randint(height[0], height[1] + 1))
    font = ImageFont.truetype(path, size)
    left, top, right, bottom = font.getbbox(text)
    margin = size // 2 + 4
    image = Image.new("L", (right - left + 2 * margin, bottom - top + 2 * margin), 0)
    ImageDraw.Draw(image).text((margin - left, margin - top), text, fill=255, font=font)
    coverage = np.asarray(image, dtype=np.float64) / 255.0
    paper = rng.uniform(190, 250)
    ink_level = rng.uniform(0, 80)
    page = paper + (ink_level - paper) * coverage
    page += rng.normal(0, rng.uniform(1, 6), page.shape)
    page = np.clip(np.rint(page), 0, 255).astype(np.uint8)
    if not return_boxes:
        return page, path
    boxes = []
    for i, char in enumerate(text):
        x = margin - left + font.getlength(text[:i])
        x0, y0, x1, y1 = font.getbbox(char)
        boxes.append((x + x0, margin - top + y0, x + x1, margin - top + y1))
    return page, path, np.rint(boxes).astype(int)

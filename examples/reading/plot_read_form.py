"""
================================
Read the digit fields of a form
================================

A form holds fields of several digits: a postcode, a date, an amount, a
customer number. :func:`skdigits.read_digits` reads each field image into
the digits it holds, with each digit's box and probability, and marks the
digits it is not sure of as *rejected* rather than guessing silently.

This example draws a synthetic form (handwritten digits from MNIST's test
set, never seen in training, and a printed amount), cuts out its fields as
a form reader would from the form's layout, reads them all in one call, and
shows what was read with :class:`~skdigits.plotting.FieldReadingDisplay`.
"""

# %%
# A form to read
# --------------
# Handwritten MNIST test digits, dark ink on light paper, in boxes and over
# underlines, with uneven gaps; two of the phone number's digits touch.
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from skdigits.datasets import fetch_mnist

X, y = fetch_mnist(subset="test", return_X_y=True)
rng = np.random.default_rng(0)
font_path = matplotlib.font_manager.findfont("DejaVu Sans")
label_font = ImageFont.truetype(font_path, 18)

form = Image.new("L", (760, 420), 245)
draw = ImageDraw.Draw(form)
draw.text((20, 14), "ORDER FORM", fill=30, font=ImageFont.truetype(font_path, 26))


def handwrite(text, x, y_top, height=34, gaps=(4, 12)):
    """Write ``text`` with MNIST digits from (x, y_top); return the right end."""
    for char in text:
        if char == " ":
            x += height // 2
            continue
        choices = np.flatnonzero(y == int(char))
        digit = X[rng.choice(choices)].reshape(28, 28)
        rows = np.flatnonzero(digit.max(axis=1) > 25)
        cols = np.flatnonzero(digit.max(axis=0) > 25)
        digit = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        scale = height / 20  # MNIST fits digits to 20 pixels
        size = (round(digit.shape[1] * scale), round(digit.shape[0] * scale))
        ink = Image.fromarray(digit).resize(size, Image.Resampling.BILINEAR)
        ink = ink.rotate(rng.uniform(-5, 5), Image.Resampling.BILINEAR, expand=True)
        # Dark ink: darken the paper where the digit's ink is.
        paper = form.crop((x, y_top, x + ink.width, y_top + ink.height))
        dark = np.minimum(np.asarray(paper), 255 - np.asarray(ink) * 0.85)
        form.paste(Image.fromarray(dark.astype(np.uint8)), (x, y_top))
        x += ink.width + int(rng.integers(*gaps))
    return x


# (label, text, position, how the field is drawn, gaps between digits)
fields = [
    ("Postcode", "75011", (180, 70), "box", (4, 12)),
    ("Date", "12 05 2024", (180, 140), "underline", (3, 9)),
    ("Customer no.", "4096318", (180, 210), "box", (6, 14)),
    ("Phone", "0612 4839", (180, 280), "underline", (-3, 1)),
]
regions = []
for label, text, (x0, y0), frame, gaps in fields:
    draw.text((20, y0 + 12), label, fill=30, font=label_font)
    x1 = handwrite(text, x0 + 10, y0 + 8, gaps=gaps) + 10
    if frame == "box":
        draw.rectangle((x0, y0, x1, y0 + 52), outline=40, width=2)
    else:
        draw.line((x0, y0 + 50, x1 + 30, y0 + 50), fill=40, width=2)
    regions.append((x0 - 4, y0 - 4, max(x1, x0 + 200) + 34, y0 + 58))

# A printed amount, in matplotlib's DejaVu Sans.
draw.text((20, 362), "Amount", fill=30, font=label_font)
draw.text((180, 352), "1250", fill=20, font=ImageFont.truetype(font_path, 36))
regions.append((176, 346, 330, 402))
truth = [f[1].replace(" ", "") for f in fields] + ["1250"]

page = np.asarray(form).astype(float) + rng.normal(0, 4, (form.height, form.width))
page = np.clip(page, 0, 255).astype(np.uint8)

fig, ax = plt.subplots(figsize=(7.6, 4.2), layout="constrained")
ax.imshow(page, cmap="gray", vmin=0, vmax=255)
ax.set_axis_off()
for x0, y0, x1, y1 in regions:
    ax.add_patch(
        plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ls=":", ec="tab:blue")
    )
ax.set_title("A synthetic form; dotted: the field regions of its layout")

# %%
# Read every field in one call
# ----------------------------
# Without a ``classifier``, ``read_digits`` reads with the model that ships
# with skdigits (:func:`~skdigits.load_pretrained`, trained on MNIST's 60,000
# training images; loaded once a process). It takes a list of images (files
# or arrays) and classifies the digits of all of them in one batch. Box
# lines, underlines and specks are not digits; touching digits are split
# where the classifier (and the segmentation verifier) is surest of the
# pieces.
from skdigits import read_digits

crops = [page[y0:y1, x0:x1] for x0, y0, x1, y1 in regions]
readings = read_digits(crops)
labels = [f[0] for f in fields] + ["Amount"]
for label, reading, expected in zip(labels, readings, truth, strict=True):
    marks = "".join("?" if r else " " for r in reading.rejected)
    print(f"{label:<13} read {reading.text:<9} expected {expected:<9} {marks}")

# %%
# What was read, where
# --------------------
# Each digit's box is in the field image's pixels (``reading.boxes``), green
# when the classifier is sure of it and red when it is rejected: below
# ``reject_threshold`` (0.9 by default), a digit a person should check.
from skdigits.plotting import FieldReadingDisplay

# sphinx_gallery_thumbnail_number = 2
fig, axes = plt.subplots(
    len(crops), 1, figsize=(6, 1.6 * len(crops)), layout="constrained"
)
for ax, crop, reading, label in zip(axes, crops, readings, labels, strict=True):
    display = FieldReadingDisplay.from_reading(crop, reading, ax=ax)
    display.title_.set_text(f"{label}: {display.title_.get_text()}")

# %%
# Nothing is guessed
# ------------------
# A blank field, or one holding only its box, reads as an empty string with
# no digits, never as a digit made up from the paper's noise.
blank = page[regions[0][1] : regions[0][3], 420:700]
print(repr(read_digits(blank)))

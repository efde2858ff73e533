"""Printed digit images rendered with Pillow's fonts, for tests and benchmarks.

``render_digits`` draws the digits 0-9 the way real inputs look rather than
the way MNIST looks: dark ink on light paper, images of many sizes and
shapes, digits off-centre, thin and thick strokes, slightly rotated, blurred
and noisy. It uses the TrueType fonts installed on the machine when there are
any (``/usr/share/fonts`` and friends) and Pillow's built-in font otherwise,
so it works everywhere, with fewer styles on a bare machine.
"""

import glob
import os
import re

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features
from sklearn.utils import check_random_state

_FONT_DIRS = [
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:/Windows/Fonts",
    os.path.expanduser("~/.fonts"),
    os.path.expanduser("~/.local/share/fonts"),
]
# Text families whose digits are ordinary digits (no symbol, emoji, math fonts).
_TEXT_FONT = re.compile(
    r"^(DejaVu(Sans|Serif)|Liberation(Sans|Serif|Mono)|Free(Sans|Serif|Mono)"
    r"|Noto(Sans|Serif)(Mono)?-|Ubuntu|Roboto|OpenSans|Lato-|Arial|Verdana"
    r"|Times|Georgia|Courier|Helvetica)",
    re.IGNORECASE,
)
_POLARITIES = ("dark_on_light", "light_on_dark", "mixed")


def font_files():
    """Paths of the text TrueType/OpenType fonts found on this machine."""
    found = set()
    for folder in _FONT_DIRS:
        for ext in ("ttf", "otf", "TTF", "OTF"):
            found.update(
                glob.glob(os.path.join(folder, "**", f"*.{ext}"), recursive=True)
            )
    return sorted(path for path in found if _TEXT_FONT.match(os.path.basename(path)))


def _fonts():
    """Font makers ``size -> font``: installed fonts, then Pillow's own."""
    makers = [
        lambda size, path=path: ImageFont.truetype(path, size) for path in font_files()
    ]
    if features.check("freetype2"):
        # Pillow >= 10.1: a scalable built-in font, no font file needed.
        makers.append(lambda size: ImageFont.load_default(size=size))
    if not makers:  # pragma: no cover - Pillow without FreeType
        raise RuntimeError("No scalable font: Pillow was built without FreeType.")
    return makers


def render_digits(n_per_digit=10, random_state=None, *, polarity="dark_on_light"):
    """Render each digit 0-9 `n_per_digit` times in varied styles.

    Parameters
    ----------
    n_per_digit : int, default=10
        Images per digit.
    random_state : int, RandomState instance or None, default=None
        Seed for the styles.
    polarity : {"dark_on_light", "light_on_dark", "mixed"}, default="dark_on_light"
        Ink darker than the paper (like a scan), lighter (like MNIST), or
        either at random per image.

    Returns
    -------
    images : list of ndarray of uint8, shape (height, width)
        Grey images, heights 40-200 pixels and widths 0.7-1.3 times the
        height, each with one digit of a random font (when several are
        installed), stroke width, size (45-80% of the height), position,
        rotation (up to 12 degrees), blur, paper shading and noise.
    labels : ndarray of int64, shape (10 * n_per_digit,)
        The digit in each image, ``0, 0, ..., 1, 1, ...``.
    """
    if polarity not in _POLARITIES:
        raise ValueError(f"polarity must be one of {_POLARITIES}; got {polarity!r}.")
    rng = check_random_state(random_state)
    fonts = _fonts()
    images, labels = [], []
    for digit in range(10):
        for _ in range(n_per_digit):
            light_ink = polarity == "light_on_dark" or (
                polarity == "mixed" and rng.rand() < 0.5
            )
            images.append(_render(str(digit), fonts, rng, light_ink))
            labels.append(digit)
    return images, np.asarray(labels, dtype=np.int64)


def _glyph_mask(text, font, stroke_width):
    """Ink coverage 0-255 of `text`, cropped to its ink, as an "L" image."""
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke_width)
    mask = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(mask).text(
        (1 - left, 1 - top),
        text,
        fill=255,
        font=font,
        stroke_width=stroke_width,
        stroke_fill=255,
    )
    return mask.crop(mask.getbbox())


def _render(text, fonts, rng, light_ink):
    height = int(rng.randint(40, 201))
    width = max(24, int(round(height * rng.uniform(0.7, 1.3))))
    make_font = fonts[rng.randint(len(fonts))]

    # Glyph at a nominal size, to learn its proportions.
    probe = make_font(100)
    left, top, right, bottom = probe.getbbox(text)
    glyph_height = bottom - top
    target = rng.uniform(0.45, 0.8) * height
    size = max(8, int(round(100 * target / glyph_height)))
    font = make_font(size)
    stroke_width = int(rng.randint(0, max(1, size // 12) + 1))
    mask = _glyph_mask(text, font, stroke_width)
    mask = mask.rotate(
        rng.uniform(-12, 12), resample=Image.Resampling.BICUBIC, expand=True
    )
    # Shrink the glyph when it does not fit the page with a small margin.
    fit = min(1.0, 0.95 * width / mask.width, 0.95 * height / mask.height)
    if fit < 1.0:
        mask = mask.resize(
            (max(1, int(mask.width * fit)), max(1, int(mask.height * fit))),
            Image.Resampling.LANCZOS,
        )
    # Anywhere on the page: off-centre digits are the point.
    x = int(rng.randint(0, width - mask.width + 1))
    y = int(rng.randint(0, height - mask.height + 1))
    coverage = np.zeros((height, width), dtype=np.float64)
    coverage[y : y + mask.height, x : x + mask.width] = np.asarray(mask) / 255.0

    paper = rng.uniform(170, 250)
    ink = rng.uniform(0, 90)
    if light_ink:
        paper, ink = 255 - paper, 255 - ink
    # Mild shading across the page, as under a lamp.
    slope = rng.uniform(-12, 12)
    shading = slope * np.linspace(-0.5, 0.5, width)[np.newaxis, :]
    page = paper + shading + (ink - paper) * coverage
    page = Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))
    radius = rng.uniform(0, 1.5) * height / 100
    if radius > 0.3:
        page = page.filter(ImageFilter.GaussianBlur(radius))
    noisy = np.asarray(page, dtype=np.float64) + rng.normal(
        0, rng.uniform(0, 6), (height, width)
    )
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)

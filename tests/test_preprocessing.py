"""Tests for skdigits.preprocessing: MNISTNormalizer and load_digit_images."""

import errno
import gzip
import os
import struct
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from _crafted_files import png_declaring
from _digit_images import render_digits
from numpy.testing import assert_array_equal
from PIL import Image, ImageOps
from scipy import ndimage
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from skdigits.preprocessing import MNISTNormalizer, load_digit_images
from skdigits.preprocessing._normalizer import stroke_width_of

# --------------------------------------------------------------------- helpers


def _read_idx(path, offset):
    """The payload of a gzip-compressed IDX file (16: images, 8: labels)."""
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


@pytest.fixture(scope="module")
def mnist_test_digits(mnist_data_home):
    """The first 200 MNIST test digits (200, 28, 28) uint8 and their labels."""
    folder = os.path.join(mnist_data_home, "mnist")
    images = _read_idx(os.path.join(folder, "t10k-images-idx3-ubyte.gz"), 16)
    labels = _read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), 8)
    return images.reshape(-1, 28, 28)[:200], labels[:200]


@pytest.fixture(scope="module")
def mnist_train_sample(mnist_data_home):
    """3000 MNIST training digits, flat (3000, 784) uint8, and their labels."""
    folder = os.path.join(mnist_data_home, "mnist")
    images = _read_idx(os.path.join(folder, "train-images-idx3-ubyte.gz"), 16)
    labels = _read_idx(os.path.join(folder, "train-labels-idx1-ubyte.gz"), 8)
    return images.reshape(-1, 784)[:3000], labels[:3000]


def _ink_box(digit):
    """(first row, last row, first column, last column) of the nonzero pixels."""
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


def _center_of_mass(digits):
    """(row, column) centre of mass of each of a stack of 2-D images."""
    digits = np.asarray(digits, dtype=np.float64)
    total = digits.sum(axis=(1, 2))
    rows = digits.sum(axis=2) @ np.arange(digits.shape[1]) / total
    cols = digits.sum(axis=1) @ np.arange(digits.shape[2]) / total
    return np.stack([rows, cols], axis=1)


def _on_paper(digit, factor=3, page=(100, 80), at=(12, 20)):
    """An MNIST digit as a scan: dark on white, enlarged, off-centre on a page."""
    top, bottom, left, right = _ink_box(digit)
    crop = 255 - digit[top : bottom + 1, left : right + 1]
    height, width = crop.shape
    big = np.asarray(
        Image.fromarray(crop).resize(
            (width * factor, height * factor), Image.Resampling.BILINEAR
        )
    )
    sheet = np.full(page, 255, dtype=np.uint8)
    sheet[at[0] : at[0] + big.shape[0], at[1] : at[1] + big.shape[1]] = big
    return sheet


def _correlations(a, b):
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))


def _similarity(a, b):
    """Correlations of 28x28 digits blurred a little (same shape: above 0.9)."""
    blur = (0, 1, 1)
    a = ndimage.gaussian_filter(np.asarray(a, np.float64).reshape(-1, 28, 28), blur)
    b = ndimage.gaussian_filter(np.asarray(b, np.float64).reshape(-1, 28, 28), blur)
    return _correlations(a, b)


def _ring_image():
    """A thick dark "0" on white paper, (60, 44) uint8."""
    rows, cols = np.mgrid[:60, :44]
    radius = np.hypot((rows - 30) / 22, (cols - 22) / 14)
    return np.where((radius > 0.6) & (radius < 1), 0, 255).astype(np.uint8)


def _stroke_image(shape=(60, 40), dark=True):
    """A vertical bar (a "1"), dark on white or white on black, uint8."""
    image = np.zeros(shape, dtype=np.uint8)
    image[10:50, 22:27] = 255
    return 255 - image if dark else image


# ------------------------------------------------------------ scikit-learn API


@parametrize_with_checks([MNISTNormalizer(), MNISTNormalizer(stroke_width=2.5)])
def test_sklearn_compatible(estimator, check):
    # Non-square flat rows of check data are 1 x n images (documented), so
    # no check is expected to fail.
    check(estimator)


def test_tags_declare_a_stateless_transformer():
    tags = MNISTNormalizer().__sklearn_tags__()
    assert tags.requires_fit is False
    assert tags.transformer_tags.preserves_dtype == []
    assert tags.input_tags.three_d_array


def test_transform_without_fit_equals_fit_transform():
    X = load_digits().data[:20]
    assert_array_equal(
        MNISTNormalizer().transform(X), MNISTNormalizer().fit_transform(X)
    )


def test_n_features_in_only_for_flat_input():
    X = load_digits().data[:10]
    normalizer = MNISTNormalizer().fit(X)
    assert normalizer.n_features_in_ == 64
    with pytest.raises(ValueError, match="X has 49 features"):
        normalizer.transform(np.zeros((2, 49)))
    # Refitting on images forgets it; images never need it.
    normalizer.fit([np.zeros((30, 30)), np.ones((10, 12))])
    assert not hasattr(normalizer, "n_features_in_")
    assert normalizer.transform(np.zeros((2, 49))).shape == (2, 784)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"polarity": "white"}, "polarity must be one of"),
        ({"threshold": 1.0}, r"threshold must be a number in \[0, 1\)"),
        ({"threshold": -0.1}, "threshold must be"),
        ({"threshold": "high"}, "threshold must be"),
        ({"box_size": 0}, "box_size must be a positive integer"),
        ({"box_size": 2.5}, "box_size must be a positive integer"),
        ({"output_size": 10}, "box_size must be at most output_size"),
        ({"image_shape": (8,)}, "image_shape must be None or a"),
        ({"image_shape": (8, 0)}, "image_shape must be None or a"),
        ({"image_shape": (4, 4)}, r"image_shape=\(4, 4\) has 16 pixels"),
        ({"flatten": "yes"}, "flatten must be True or False"),
        ({"stroke_width": 0}, r"stroke_width must be None or a number .* \(0, "),
        ({"stroke_width": 11}, "stroke_width must be None or a number"),
        ({"stroke_width": "bold"}, "stroke_width must be None or a number"),
    ],
)
def test_invalid_parameters_raise_in_fit_and_transform_not_init(params, message):
    normalizer = MNISTNormalizer(**params)  # no validation in __init__
    X = load_digits().data[:3]
    for method in (normalizer.fit, normalizer.transform):
        with pytest.raises(ValueError, match=message):
            method(X)


@pytest.mark.parametrize(
    "X, message",
    [
        ([], "got an empty list"),
        (np.zeros(10), "Reshape your data"),
        (np.zeros((2, 3, 3, 3, 3)), "got an array with 5 dimensions"),
        (np.zeros((2, 8, 8, 5)), "5 channels"),
        ([np.zeros((8, 8)), np.zeros((8, 8, 7))], "7 channels"),
        ([np.zeros((8, 8)), np.zeros(4)], r"list of arrays with \[1, 2\] dim"),
        ([np.zeros((8, 8)), np.zeros((0, 5))], "Image 1 is empty"),
        ([np.zeros((8, 8)), np.full((5, 5), np.nan)], "Image 1 contains NaN"),
        ([np.array([["a", "b"], ["c", "d"]])], "Image 0 is not numeric"),
        (np.full((2, 64), np.inf), "infinity"),
    ],
)
def test_invalid_input_raises_clear_value_error(X, message):
    with pytest.raises(ValueError, match=message):
        MNISTNormalizer().fit_transform(X)


def test_pipeline_with_logistic_regression():
    digits = load_digits()
    pipe = make_pipeline(
        MNISTNormalizer(), MinMaxScaler(), LogisticRegression(max_iter=500)
    )
    # One BLAS thread: on a busy small machine threads only contend here.
    with threadpool_limits(limits=1, user_api="blas"):
        pipe.fit(digits.data[:300], digits.target[:300])
        accuracy = pipe.score(digits.data[1000:1300], digits.target[1000:1300])
    assert accuracy > 0.85
    assert pipe.named_steps["mnistnormalizer"].n_features_in_ == 64
    pipe.set_params(mnistnormalizer__box_size=16)
    assert clone(pipe).get_params()["mnistnormalizer__box_size"] == 16


def test_import_does_not_import_tensorflow():
    code = (
        "import sys, skdigits.preprocessing; "
        "sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root, env=env)


# --------------------------------------------------------------- MNIST form


def test_mnist_round_trip_from_a_scanned_page(mnist_test_digits):
    digits, _ = mnist_test_digits
    pages = [_on_paper(digit) for digit in digits]
    assert pages[0].shape == (100, 80) and pages[0][0, 0] == 255
    back = MNISTNormalizer(flatten=False).fit_transform(pages)
    assert back.shape == (200, 28, 28) and back.dtype == np.uint8
    # Measured: mean |difference| 4.0 of 255, median correlation 0.995, 97.5%
    # above 0.9; the misses are one-pixel shifts where MNIST's centre of mass
    # is at x.5 and rounding goes the other way.
    difference = np.abs(back.astype(float) - digits).mean(axis=(1, 2))
    correlation = _correlations(back, digits)
    assert difference.mean() < 6
    assert np.median(correlation) > 0.98
    assert np.mean(correlation > 0.9) > 0.93
    assert correlation.min() > 0.6


def test_mnist_digits_are_already_in_mnist_form(mnist_test_digits):
    digits, _ = mnist_test_digits
    # threshold=0 keeps every nonzero pixel, so the ink box is MNIST's own.
    same = MNISTNormalizer(threshold=0, flatten=False).fit_transform(digits)
    assert np.abs(same.astype(int) - digits).max() <= 2
    # The default threshold drops faint specks away from the strokes.
    close = MNISTNormalizer().fit_transform(digits.reshape(200, 784))
    assert np.median(_correlations(close, digits)) > 0.999


def test_value_range_does_not_matter(mnist_test_digits):
    digits = mnist_test_digits[0][:50]
    expected = MNISTNormalizer().fit_transform(digits)
    for scaled in (digits / 255.0, digits * (16 / 255), digits * 4.0 - 300):
        # Float rounding may flip a grey level by one.
        out = MNISTNormalizer().fit_transform(scaled)
        assert np.abs(out.astype(int) - expected).max() <= 1


def test_sklearn_8x8_digits_to_mnist_form():
    digits = load_digits()
    X = MNISTNormalizer().fit_transform(digits.data)
    assert X.shape == (1797, 784) and X.dtype == np.uint8
    images = X.reshape(-1, 28, 28)
    assert (images.max(axis=(1, 2)) == 255).all()
    centers = _center_of_mass(images)
    assert np.abs(centers - 14).max() <= 1
    boxes = np.array([_ink_box(image) for image in images])
    heights = boxes[:, 1] - boxes[:, 0] + 1
    widths = boxes[:, 3] - boxes[:, 2] + 1
    assert heights.max() <= 20 and widths.max() <= 20
    assert (np.maximum(heights, widths) == 20).all()  # fitted to the box
    # The same digits as (n, 8, 8) images or a list give the same result.
    assert_array_equal(MNISTNormalizer().fit_transform(digits.images), X)
    assert_array_equal(MNISTNormalizer().fit_transform(list(digits.images[:5])), X[:5])


def test_normalized_digits_look_like_mnist_to_an_mnist_model(mnist_train_sample):
    # A nearest-neighbour model of MNIST only recognises digits in MNIST form.
    X_train, y_train = mnist_train_sample
    model = KNeighborsClassifier(n_neighbors=3).fit(X_train, y_train)
    digits = load_digits()
    X_normalized = MNISTNormalizer().fit_transform(digits.data[:500])
    naive = np.array(
        [
            np.asarray(
                Image.fromarray(np.uint8(image * 255 / 16)).resize(
                    (28, 28), Image.Resampling.BILINEAR
                )
            )
            for image in digits.images[:500]
        ]
    ).reshape(500, 784)
    # Measured: 0.72 normalised, 0.51 resized only.
    normalized_accuracy = model.score(X_normalized, digits.target[:500])
    naive_accuracy = model.score(naive, digits.target[:500])
    assert normalized_accuracy > 0.65
    assert normalized_accuracy > naive_accuracy + 0.15


def test_rendered_digits_come_out_centred_and_boxed():
    images, labels = render_digits(3, random_state=0, polarity="mixed")
    assert len(images) == 30 and list(labels[::3]) == list(range(10))
    assert len({image.shape for image in images}) > 20  # sizes differ
    out = MNISTNormalizer(flatten=False).fit_transform(images)
    assert out.shape == (30, 28, 28)
    assert np.abs(_center_of_mass(out) - 14).max() <= 1
    for image in out:
        top, bottom, left, right = _ink_box(image)
        assert max(bottom - top, right - left) + 1 == 20
    # Clean background: few faint pixels (measured at most 9%; with the
    # paper noise kept, threshold=0.01, up to 41%).
    faint = ((out > 0) & (out < 40)).mean(axis=(1, 2))
    assert faint.max() < 0.15


def test_list_of_differently_sized_images():
    bar = _stroke_image((60, 40))
    half = np.asarray(Image.fromarray(bar).resize((20, 30), Image.Resampling.BOX))
    images = [
        bar,
        np.pad(bar, ((5, 40), (70, 3)), constant_values=255),  # on a bigger page
        half,
        np.full((7, 300), 255, dtype=np.uint8),  # blank
        load_digits().images[0],
    ]
    out = MNISTNormalizer(flatten=False).fit_transform(images)
    assert out.shape == (5, 28, 28)
    # The bar, wherever it is on the page, is the same digit.
    assert_array_equal(out[0], out[1])
    assert _correlations(out[:1], out[2:3])[0] > 0.9
    assert not out[3].any()
    # Each image is normalised on its own.
    for image, expected in zip(images, out, strict=True):
        assert_array_equal(
            MNISTNormalizer(flatten=False).fit_transform([image])[0], expected
        )


def test_input_forms_agree():
    rng = np.random.RandomState(0)
    images = np.full((4, 12, 8), 250, dtype=np.uint8)
    for i, image in enumerate(images):
        top, left = rng.randint(0, 6, size=2)
        image[top : top + 6, left : left + 3] = 10 * i
    expected = MNISTNormalizer().fit_transform(images)
    as_list = MNISTNormalizer().fit_transform(list(images))
    flat = MNISTNormalizer(image_shape=(12, 8)).fit_transform(images.reshape(4, 96))
    rgb = MNISTNormalizer().fit_transform(np.repeat(images[..., np.newaxis], 3, axis=3))
    one_channel = MNISTNormalizer().fit_transform(images[..., np.newaxis])
    assert_array_equal(as_list, expected)
    assert_array_equal(flat, expected)
    assert_array_equal(one_channel, expected)
    assert np.abs(rgb.astype(int) - expected).max() <= 1
    pillow = MNISTNormalizer().fit_transform([Image.fromarray(i) for i in images])
    assert_array_equal(pillow, expected)
    cube = MNISTNormalizer(flatten=False).fit_transform(images)
    assert_array_equal(cube.reshape(4, 784), expected)


def test_non_square_flat_rows_are_one_pixel_high_images():
    row = np.zeros((1, 10))
    row[0, 3:6] = 1.0
    out = MNISTNormalizer(flatten=False).fit_transform(row)[0]
    # A 1 x 3 stroke scaled to the 20-pixel box: a horizontal bar.
    top, bottom, left, right = _ink_box(out)
    assert (bottom - top + 1, right - left + 1) == (7, 20)


def test_output_and_box_size():
    out = MNISTNormalizer(box_size=12, output_size=16, flatten=False).fit_transform(
        [_stroke_image()]
    )
    assert out.shape == (1, 16, 16)
    top, bottom, left, right = _ink_box(out[0])
    assert bottom - top + 1 == 12
    assert top + bottom in (15, 16, 17)  # centred at pixel 8


def test_digit_is_kept_inside_the_frame():
    # Most of the mass on the left, a long thin tail to the right: centring
    # the mass at pixel 14 would push the tail out of the frame.
    image = np.full((100, 100), 255, dtype=np.uint8)
    image[:, :30] = 0
    image[96:, 30:] = 0
    image = np.pad(image, 10, constant_values=255)  # paper around it
    out = MNISTNormalizer(flatten=False).fit_transform([image])[0]
    top, bottom, left, right = _ink_box(out)
    assert (bottom - top + 1, right - left + 1) == (20, 20)
    assert right == 27  # shifted only as far as the frame allows


# ------------------------------------------------------------------ polarity


def test_polarity_is_detected_both_ways(mnist_test_digits):
    digits = mnist_test_digits[0][:30]
    light_on_dark = MNISTNormalizer().fit_transform(digits)
    dark_on_light = MNISTNormalizer().fit_transform(255 - digits)
    assert_array_equal(dark_on_light, light_on_dark)
    # Grey paper and grey ink, as in a dim photo.
    photo = 200 - (digits.astype(np.float64) * 120 / 255)
    assert (
        np.abs(MNISTNormalizer().fit_transform(photo).astype(int) - light_on_dark).max()
        <= 1
    )


def test_polarity_override():
    dark = _stroke_image(dark=True)
    light = _stroke_image(dark=False)
    auto = MNISTNormalizer().fit_transform([dark, light])
    assert_array_equal(auto[0], auto[1])
    assert_array_equal(
        MNISTNormalizer(polarity="dark_on_light").fit_transform([dark]), auto[:1]
    )
    assert_array_equal(
        MNISTNormalizer(polarity="light_on_dark").fit_transform([light]), auto[:1]
    )
    # Told the wrong polarity, the white paper is the ink: not the bar.
    wrong = MNISTNormalizer(polarity="light_on_dark").fit_transform([dark])
    assert not np.array_equal(wrong, auto[:1])


def test_polarity_override_where_auto_detection_fails():
    # A thick dark ring cropped so tight that ink covers most of the border:
    # "auto" takes the ink for paper; the override reads it right.
    rows, cols = np.mgrid[:40, :40]
    radius = np.hypot(rows - 19.5, cols - 19.5)
    ring = np.where((radius > 8) & (radius < 26), 0, 255).astype(np.uint8)
    assert np.median(np.concatenate([ring[0], ring[-1]])) == 0
    ring_digit = MNISTNormalizer(polarity="dark_on_light", flatten=False).fit_transform(
        [ring]
    )[0]
    assert ring_digit[14, 14] == 0  # the hole stays black
    assert ring_digit[14, 5] > 200 and ring_digit[14, 22] > 200
    auto_digit = MNISTNormalizer(flatten=False).fit_transform([ring])[0]
    assert auto_digit[14, 14] > 200  # auto: the hole is taken for ink


def test_alpha_is_composited_onto_paper():
    # A red stroke on a transparent background (black, fully transparent).
    rgba = np.zeros((60, 40, 4), dtype=np.uint8)
    rgba[10:50, 22:27] = (200, 0, 0, 255)
    expected = MNISTNormalizer().fit_transform([_stroke_image()])
    assert_array_equal(MNISTNormalizer().fit_transform([rgba]), expected)
    assert_array_equal(
        MNISTNormalizer(polarity="light_on_dark").fit_transform([rgba]), expected
    )
    floats = rgba / 255.0  # float alpha in [0, 1]
    assert_array_equal(MNISTNormalizer().fit_transform([floats]), expected)


# -------------------------------------------------------------- blank images


@pytest.mark.parametrize(
    "blank",
    [
        np.zeros((28, 28), dtype=np.uint8),
        np.full((50, 40), 255, dtype=np.uint8),
        np.full((9, 9, 3), 0.5),
        np.full((1, 1), 3),
    ],
)
def test_blank_image_gives_all_zero_digit(blank):
    out = MNISTNormalizer().fit_transform([blank, _stroke_image()])
    assert not out[0].any()
    assert out[1].max() == 255


def test_threshold_separates_ink_from_paper_noise():
    ring = _ring_image()
    expected = MNISTNormalizer().fit_transform([ring])
    rng = np.random.RandomState(1)
    page = np.where(np.pad(ring, 20, constant_values=255) > 128, 230.0, 20.0)
    mild = np.clip(page + rng.normal(0, 6, size=page.shape), 0, 255)
    strong = np.clip(page + rng.normal(0, 16, size=page.shape), 0, 255)
    # Measured: 0.94 (a one-pixel shift), about 0 when the noise is ink.
    assert _similarity(MNISTNormalizer().fit_transform([mild]), expected)[0] > 0.9
    for X in (mild, strong):
        noise_as_ink = MNISTNormalizer(threshold=0.05).fit_transform([X])
        assert _similarity(noise_as_ink, expected)[0] < 0.3
    assert _similarity(MNISTNormalizer().fit_transform([strong]), expected)[0] < 0.3
    cleaned = MNISTNormalizer(threshold=0.5).fit_transform([strong])
    assert _similarity(cleaned, expected)[0] > 0.9


def test_shading_touching_the_digit_is_not_ink():
    # A shadow over a corner of the page, fainter than threshold but touching
    # the strokes: only about a pixel of it may join the digit's box.
    ring = _ring_image()
    expected = MNISTNormalizer().fit_transform([ring])
    page = np.where(np.pad(ring, 20, constant_values=255) > 128, 230.0, 20.0)
    page[50:, 45:] = np.minimum(page[50:, 45:], 205.0)  # ink level 0.12
    out = MNISTNormalizer().fit_transform([page])
    # Measured: 0.90; 0.39 when the whole connected shadow is kept.
    assert _similarity(out, expected)[0] > 0.85


# ---------------------------------------------------------------- file loading


@pytest.mark.parametrize(
    "ext, mode",
    [
        ("png", "L"),
        ("png", "RGB"),
        ("png", "RGBA"),
        ("jpg", "L"),
        ("jpg", "RGB"),
        ("bmp", "L"),
        ("bmp", "RGB"),
        # JPEG has no alpha; Pillow reads 32-bit BMPs back without it.
    ],
)
def test_load_digit_images_formats(tmp_path, ext, mode):
    grey = _ring_image()
    if mode == "L":
        array = grey
    elif mode == "RGB":
        array = np.stack([grey, grey // 2, grey], axis=2)  # purple paper
    else:
        # Black ink on transparent paper.
        ink = np.zeros_like(grey)
        array = np.stack([ink, ink, ink, 255 - grey], axis=2)
    path = tmp_path / f"digit.{ext}"
    Image.fromarray(array).save(path, quality=90)  # quality: JPEG only

    [image] = load_digit_images([path])
    assert image.dtype == np.uint8
    assert image.shape == array.shape
    out = MNISTNormalizer().fit_transform([image])
    expected = MNISTNormalizer().fit_transform([grey])
    if ext == "jpg":  # lossy
        assert np.abs(image.astype(int) - array).mean() < 6
        # Measured: 1.0 grey, 0.94 colour (chroma subsampling).
        assert _similarity(out, expected)[0] > 0.9
    else:
        assert_array_equal(image, array)
        assert np.abs(out.astype(int) - expected).max() <= 1


def test_load_digit_images_other_modes(tmp_path):
    grey = _stroke_image()
    Image.fromarray(grey > 128).save(tmp_path / "bilevel.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "deep.png")
    palette = Image.fromarray(grey).convert("P")
    palette.info["transparency"] = 0
    palette.save(tmp_path / "palette.png")
    Image.fromarray(np.stack([grey, np.full_like(grey, 255)], axis=2), "LA").save(
        tmp_path / "grey_alpha.png"
    )
    bilevel, deep, transparent, grey_alpha = load_digit_images(
        [
            str(tmp_path / "bilevel.png"),
            tmp_path / "deep.png",
            tmp_path / "palette.png",
            tmp_path / "grey_alpha.png",
        ]
    )
    assert_array_equal(bilevel, grey)
    assert deep.dtype == np.uint8
    assert_array_equal(deep, grey)
    assert transparent.shape == (60, 40, 4)
    assert grey_alpha.shape == (60, 40, 4)
    # A single path reads one file.
    assert len(load_digit_images(tmp_path / "deep.png")) == 1


def test_load_digit_images_blank_file_is_read_and_normalized_to_zero(tmp_path):
    Image.new("L", (30, 40), 255).save(tmp_path / "blank.png")
    [blank] = load_digit_images([tmp_path / "blank.png"])
    assert blank.shape == (40, 30) and (blank == 255).all()
    assert not MNISTNormalizer().fit_transform([blank]).any()


def test_load_digit_images_bad_files(tmp_path):
    missing = tmp_path / "missing.png"
    with pytest.raises(FileNotFoundError, match="missing.png"):
        load_digit_images([missing])
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("not a picture")
    Image.new("L", (8, 8)).save(tmp_path / "fine.png")
    with pytest.raises(ValueError, match="notes.png"):
        load_digit_images([tmp_path / "fine.png", not_an_image])
    with pytest.raises(ValueError, match="directory"):
        load_digit_images([tmp_path])
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes((tmp_path / "fine.png").read_bytes()[:30])
    with pytest.raises(ValueError, match="truncated.png"):
        load_digit_images([truncated])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_load_digit_images_refuses_a_named_pipe_without_blocking(tmp_path):
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    outcome = []

    def load():
        try:
            load_digit_images([pipe])
        except Exception as exc:
            outcome.append(exc)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(timeout=20)
    if reader.is_alive():  # blocked opening the pipe: release it, then fail
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(timeout=5)
        pytest.fail("load_digit_images blocked on a named pipe")
    [error] = outcome
    assert isinstance(error, ValueError)
    assert str(error) == f"{str(pipe)!r} is a named pipe (FIFO), not an image file."


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_load_digit_images_refuses_a_device():
    with pytest.raises(ValueError, match="'/dev/null' is a character device"):
        load_digit_images("/dev/null")


def test_load_digit_images_reports_a_symlink_loop_as_such(tmp_path):
    loop = tmp_path / "loop.png"
    try:
        os.symlink(tmp_path / "other.png", loop)
        os.symlink(loop, tmp_path / "other.png")
    except (OSError, NotImplementedError):
        pytest.skip("no symbolic links here")
    with pytest.raises(OSError) as info:
        load_digit_images([loop])
    assert not isinstance(info.value, FileNotFoundError)
    assert info.value.errno == errno.ELOOP
    assert os.fsdecode(info.value.filename) == str(loop)


@pytest.mark.parametrize("ext", ["gif", "tiff", "png", "webp"])
def test_load_digit_images_warns_that_only_the_first_frame_is_read(tmp_path, ext):
    first, *others = [Image.fromarray(_ring_image() // k) for k in (1, 2, 3)]
    path = tmp_path / f"animated.{ext}"
    first.save(path, save_all=True, append_images=others, lossless=True)
    with pytest.warns(UserWarning) as record:
        [image] = load_digit_images(path)
    [warning] = record
    assert str(warning.message) == (
        f"{str(path)!r} has 3 frames (an animated or multi-page image); "
        "only the first is read."
    )
    assert warning.filename == __file__  # the caller's line
    grey = image if image.ndim == 2 else image[..., 0]
    assert np.abs(grey.astype(int) - _ring_image()).max() <= 2  # the first frame


def test_load_digit_images_reads_a_phones_multi_picture_jpeg_quietly(tmp_path):
    # MPO: the photo, then a preview (or depth map); the first is the one.
    photo, preview = Image.fromarray(_ring_image()), Image.new("L", (20, 30))
    photo.save(tmp_path / "phone.mpo", save_all=True, append_images=[preview])
    with Image.open(tmp_path / "phone.mpo") as saved:
        assert (saved.format, saved.n_frames) == ("MPO", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        [image] = load_digit_images(tmp_path / "phone.mpo")
    assert image.shape == _ring_image().shape


def test_load_digit_images_refuses_a_decompression_bomb(tmp_path, monkeypatch):
    path = tmp_path / "bomb.png"
    Image.new("L", (30, 30), 255).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 900 > 2 * 100
    with pytest.raises(ValueError) as excinfo:
        load_digit_images(path)
    assert str(excinfo.value).startswith(f"Cannot read {str(path)!r} as an image: ")
    assert "decompression bomb" in str(excinfo.value)


@pytest.mark.parametrize(
    "width, height",
    [(1, 89_000_000), (89_000_000, 1), (10_000, 10_000), (6_325, 6_325)],
    ids=["tall-strip", "wide-strip", "pillow-warns", "just-over"],
)
def test_load_digit_images_checks_the_declared_size_before_decoding(
    tmp_path, width, height
):
    # A few dozen bytes declaring a huge image: refused from its header, for
    # any aspect ratio, with no warning from Pillow (10000 x 10000 is over
    # PIL.Image.MAX_IMAGE_PIXELS).
    path = tmp_path / "huge.png"
    path.write_bytes(png_declaring(width, height))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError) as excinfo:
            load_digit_images(path)
    assert str(excinfo.value) == (
        f"Cannot read {str(path)!r} as an image: it declares {width} x {height} "
        f"= {width * height} pixels, more than max_pixels=40000000."
    )


def test_load_digit_images_turns_pillows_bomb_error_into_value_error(tmp_path):
    # 20000 x 20000 is over twice PIL.Image.MAX_IMAGE_PIXELS: Pillow refuses
    # it as it opens the file, before max_pixels can be checked.
    path = tmp_path / "bomb.png"
    path.write_bytes(png_declaring(20_000, 20_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="bomb.png' as an image: .*exceeds limit"):
            load_digit_images(path, max_pixels=10**9)


def test_load_digit_images_checks_the_size_decoded_too(tmp_path, monkeypatch):
    # A frame that grows the image while it is decoded (as GIF and TIFF
    # frames may): refused on the decoded size, and Pillow's warning of such
    # a growth is an error, not a warning for the caller.
    path = tmp_path / "small.png"
    Image.new("L", (10, 10)).save(path)
    monkeypatch.setattr(
        ImageOps, "exif_transpose", lambda image: Image.new("L", (50, 40))
    )
    with pytest.raises(ValueError, match="decodes to 50 x 40 = 2000 pixels, more than"):
        load_digit_images(path, max_pixels=1000)

    def warn(image):
        warnings.warn(
            "Image size exceeds limit", Image.DecompressionBombWarning, stacklevel=2
        )
        return image

    monkeypatch.setattr(ImageOps, "exif_transpose", warn)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="small.png' as an image: Image size"):
            load_digit_images(path)


def test_load_digit_images_caps_are_parameters(tmp_path):
    path = tmp_path / "digit.png"
    Image.new("L", (30, 20), 255).save(path)
    assert load_digit_images(path, max_pixels=600)[0].shape == (20, 30)
    with pytest.raises(ValueError, match="30 x 20 = 600 pixels, more than max_pix"):
        load_digit_images(path, max_pixels=599)
    size = path.stat().st_size
    assert len(load_digit_images(path, max_bytes=size)) == 1
    with pytest.raises(ValueError, match=f"larger than max_bytes={size - 1} bytes"):
        load_digit_images(path, max_bytes=size - 1)
    for value in (True, 2.5, "10"):
        with pytest.raises(TypeError, match="max_pixels must be a positive int"):
            load_digit_images(path, max_pixels=value)
    with pytest.raises(ValueError, match="max_bytes must be a positive int"):
        load_digit_images(path, max_bytes=0)


@pytest.mark.parametrize(
    "error",
    [
        struct.error("unpack requires a buffer of 4 bytes"),
        IndexError("tuple index out of range"),
        ZeroDivisionError("division by zero"),
        KeyError(274),
    ],
    ids=["struct.error", "IndexError", "ZeroDivisionError", "KeyError"],
)
def test_load_digit_images_turns_any_pillow_error_into_value_error(
    tmp_path, monkeypatch, error
):
    # What Pillow raised on damaged EXIF data or crafted headers over the
    # years, simulated at the EXIF step.
    path = tmp_path / "damaged.jpg"
    Image.new("L", (8, 8)).save(path)

    def fail(image):
        raise error

    monkeypatch.setattr(ImageOps, "exif_transpose", fail)
    with pytest.raises(ValueError) as excinfo:
        load_digit_images(path)
    assert str(excinfo.value).startswith(
        f"Cannot read {str(path)!r} as an image: {type(error).__name__}: "
    )
    assert excinfo.value.__cause__ is error


def test_load_digit_images_applies_exif_orientation(tmp_path):
    wide = np.zeros((20, 50), dtype=np.uint8)
    image = Image.fromarray(wide)
    exif = image.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to view
    image.save(tmp_path / "phone.jpg", exif=exif)
    [loaded] = load_digit_images([tmp_path / "phone.jpg"])
    assert loaded.shape == (50, 20)


# ------------------------------------------------------------ stroke width


@pytest.mark.parametrize("width", [3, 8, 20])
def test_stroke_width_estimate(width):
    bar = np.zeros((200, 100), dtype=np.float32)
    bar[20:180, 40 : 40 + width] = 1.0
    assert stroke_width_of(bar) == pytest.approx(width, rel=0.15)
    assert stroke_width_of(np.zeros((5, 5))) == 0.0


def _ring(stroke):
    """A "0" of the given stroke width (pixels), dark on white, 200 x 150."""
    rows, cols = np.mgrid[:200, :150]
    distance = np.hypot((rows - 100) / 80, (cols - 75) / 50)
    ink = np.abs(distance - 1) * 65 < stroke / 2  # about `stroke` pixels wide
    return np.where(ink, 0, 255).astype(np.uint8)


def _output_width(digit):
    """Stroke width of a 28x28 output digit, measured at 4x its resolution."""
    image = Image.fromarray(digit.astype(np.float32))
    return stroke_width_of(np.asarray(image.resize((112, 112)))) / 4


def test_stroke_width_brings_thin_and_bold_digits_together():
    images = [_ring(stroke) for stroke in (4, 12, 30)]
    plain = MNISTNormalizer(flatten=False).fit_transform(images)
    even = MNISTNormalizer(flatten=False, stroke_width=2.5).fit_transform(images)
    plain_widths = [_output_width(d) for d in plain]
    even_widths = [_output_width(d) for d in even]
    plain_spread = max(plain_widths) / min(plain_widths)
    even_spread = max(even_widths) / min(even_widths)
    assert plain_spread > 2  # hairline to bold
    assert even_spread < 0.7 * plain_spread  # much closer to one pen
    assert all(1.5 < w < 3.5 for w in even_widths)  # MNIST's: about 2.8
    # Still a digit in MNIST form: boxed, centred, full range.
    for digit in even:
        rows, cols = np.nonzero(digit)
        assert rows.max() - rows.min() + 1 <= 20
        assert digit.max() == 255
        assert ndimage.center_of_mass(digit) == pytest.approx((14, 14), abs=1)


def test_stroke_width_never_erases_a_digit(monkeypatch):
    from skdigits.preprocessing import _normalizer

    calls = []

    def erase(image, footprint):  # a thinning that wipes everything out
        calls.append(footprint.shape)
        return np.zeros_like(image)

    monkeypatch.setattr(_normalizer.ndimage, "grey_erosion", erase)
    bold = np.full((100, 100), 255, dtype=np.uint8)
    bold[10:90, 35:65] = 0  # a bar 30 pixels wide: thinned to 2.8
    digit = MNISTNormalizer(flatten=False, stroke_width=2.8).fit_transform([bold])[0]
    assert calls  # the thinning was tried ...
    assert digit.max() == 255  # ... and refused: the digit is still there


def _top_bar_columns(digit):
    """Columns inked (above half) in the top two rows of a digit's ink."""
    top = np.flatnonzero(digit.max(axis=1))[0]
    return np.flatnonzero(digit[top : top + 2].max(axis=0) > 127)


def test_stroke_width_keeps_hairlines_of_bold_digits():
    # A "T" of a serif font: a hairline bar on a bold stem, dark on white.
    # Thinning the stem to 2.8 pixels would erase the bar.
    serif = np.full((200, 160), 255, dtype=np.uint8)
    serif[20:26, 20:140] = 0  # hairline, 6 pixels
    serif[20:180, 60:100] = 0  # stem, 40 pixels
    plain, thin = (
        MNISTNormalizer(flatten=False, stroke_width=width).fit_transform([serif])[0]
        for width in (None, 2.8)
    )
    assert len(_top_bar_columns(plain)) >= 14
    assert len(_top_bar_columns(thin)) >= len(_top_bar_columns(plain)) - 1


def test_thinning_goes_as_far_as_the_thinnest_strokes_allow():
    from skdigits.preprocessing import _normalizer

    # White-on-black ink, 160 x 120: a bar 20 pixels thick on a stem 90 wide,
    # worked on at half this size (80 pixels for a 20-pixel box).
    ink = np.zeros((160, 120), dtype=np.float32)
    ink[:20] = 1.0
    ink[:, 15:105] = 1.0
    work = _normalizer._set_stroke_width(ink, box_size=20, stroke_width=2.8)
    body = work > 0.5 * work.max()
    scale = _normalizer._WORK_SCALE
    stem = body[-scale * 2].sum()  # a row near the bottom: the stem only
    bar = body[:, 2].sum()  # a column at the left: the bar only
    assert stem < 90 / 2 - 2  # thinned, though far from 2.8 x 4 ...
    assert scale <= bar < 20 / 2  # ... as the bar keeps an output pixel

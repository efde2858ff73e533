"""
=============================
Predict digits in image files
=============================

A network trained on MNIST has only seen MNIST digits: white ink on black,
fitted to a 20x20 box and centred in 28x28 pixels. Real images (photos,
scans, drawings) are none of that. This example writes a few such images as
PNG and JPEG files, reads them back with
:func:`~skdigits.preprocessing.load_digit_images`, brings them into MNIST
form with :class:`~skdigits.preprocessing.MNISTNormalizer`, and classifies
them with a :class:`~skdigits.CNNDigitClassifier` trained on MNIST.
"""

# %%
# Train a network on MNIST
# ------------------------
# A subset and a few epochs keep this example fast; a network trained on all
# of MNIST does better (or load one from a file, see :func:`skdigits.load_model`).
from skdigits import CNNDigitClassifier
from skdigits.datasets import fetch_mnist

X_train, y_train = fetch_mnist(subset="train", return_X_y=True)
clf = CNNDigitClassifier(batch_size=64, epochs=3, random_state=0)  # small data
clf.fit(X_train[:6000], y_train[:6000])

# %%
# Write some digit images
# -----------------------
# Digits drawn with Pillow in a font, in the ways real images differ
# from MNIST: dark ink on light paper, colours, a transparent background,
# grey and noisy paper saved as JPEG, off-centre, slightly rotated, any size.
import os
import tempfile

import numpy as np
from PIL import Image, ImageDraw, ImageFont

folder = tempfile.mkdtemp(prefix="skdigits-digits-")
rng = np.random.default_rng(0)


def write_digit(name, digit, size, ink, paper, position, angle=0, noise=0):
    """Draw ``digit`` on a ``size`` canvas and save it as ``name``."""
    mode = "RGBA" if len(paper) == 4 else "RGB"
    image = Image.new(mode, size, paper)
    font = ImageFont.load_default(size=int(size[1] * 0.7))
    ImageDraw.Draw(image).text(
        position, digit, fill=ink, font=font, stroke_width=1, stroke_fill=ink
    )
    if angle:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=paper)
    if noise:
        pixels = np.asarray(image, dtype=float)
        pixels += rng.normal(0, noise, pixels.shape)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    path = os.path.join(folder, name)
    image.save(path)
    return path


# file, digit, canvas (width, height), ink, paper, digit's position, rotation, noise
drawings = [
    ("three.png", "3", (90, 120), "black", "white", (22, 15), 0, 0),
    ("seven.png", "7", (160, 120), "white", (20, 40, 90), (70, 20), 0, 0),
    ("two.png", "2", (100, 100), (0, 0, 0, 255), (0, 0, 0, 0), (25, 12), 0, 0),
    ("five.jpg", "5", (120, 140), (40, 40, 40), (190, 185, 170), (35, 30), -8, 12),
    ("eight.png", "8", (200, 150), (30, 60, 200), "white", (20, 20), 6, 0),
    ("zero.png", "0", (80, 110), "white", "black", (15, 15), 0, 0),
    ("four.bmp", "4", (100, 120), "black", "white", (25, 15), 0, 0),
]
paths = [write_digit(*drawing) for drawing in drawings]
truth = [int(drawing[1]) for drawing in drawings]

# %%
# Read them
# ---------
# :func:`~skdigits.preprocessing.load_digit_images` reads any format Pillow
# reads and keeps each image as it is: its size, its colours, its alpha.
import matplotlib.pyplot as plt

from skdigits.preprocessing import load_digit_images

images = load_digit_images(paths)
for path, image in zip(paths, images, strict=True):
    print(f"{os.path.basename(path):10} {image.shape}")

fig, axes = plt.subplots(1, len(images), figsize=(8, 1.9), layout="constrained")
for ax, path, image in zip(axes, paths, images, strict=True):
    ax.imshow(image, cmap="gray")
    ax.set_title(os.path.basename(path), fontsize=9)
    ax.set_axis_off()

# %%
# Bring them into MNIST form
# --------------------------
# Each image is converted to grey, its polarity is detected from its border,
# the paper becomes black and the ink white, and the digit is cropped,
# resized to fit 20x20 and centred by centre of mass in 28x28.
# ``stroke_width=2.8`` also thickens thin strokes and thins bold ones to the
# width of MNIST's pen: on 500 rendered printed digits it raised an MNIST
# model's accuracy from 0.87 to 0.97 (``benchmarks/real_digits.py``).
from skdigits.preprocessing import MNISTNormalizer

X = MNISTNormalizer(stroke_width=2.8).fit_transform(images)
print(X.shape, X.dtype)

# %%
# Predict
# -------
# The normalised images are flat rows of 784 values in 0..255, like MNIST's.
proba = clf.predict_proba(X)
# sphinx_gallery_thumbnail_number = 2
predicted = clf.classes_[proba.argmax(axis=1)]

fig, axes = plt.subplots(1, len(images), figsize=(8, 1.9), layout="constrained")
confidence = proba.max(axis=1)
for ax, digit, label, p, true in zip(
    axes, X, predicted, confidence, truth, strict=True
):
    ax.imshow(digit.reshape(28, 28), cmap="gray")
    color = "tab:green" if label == true else "tab:red"
    ax.set_title(f"pred {label} ({p:.2f})", color=color, fontsize=9)
    ax.set_axis_off()

# %%
# Without the normaliser
# ----------------------
# For comparison, the same files merely converted to grey and resized to
# 28x28, as one might do by hand: dark digits on light paper, not centred,
# not scaled as in MNIST. The network has never seen such images.
naive = np.stack(
    [np.asarray(Image.open(path).convert("L").resize((28, 28))) for path in paths]
)
naive_predicted = clf.predict(naive)
print("true:                  ", truth)
print("with the normaliser:   ", predicted.tolist())
print("without the normaliser:", naive_predicted.tolist())

# %%
# Clean up the example's files.
import shutil

shutil.rmtree(folder)

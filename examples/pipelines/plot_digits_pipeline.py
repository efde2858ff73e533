"""
======================================================
A pipeline for scikit-learn's 8x8 digits in MNIST form
======================================================

:class:`~skdigits.preprocessing.MNISTNormalizer` brings digit images of any
size and value range into the form of MNIST digits: white on black, fitted
to a 20x20 box, centred by centre of mass in 28x28 pixels. As a
scikit-learn transformer it goes at the head of a
:class:`~sklearn.pipeline.Pipeline`, in front of
:class:`~skdigits.CNNDigitClassifier`, so that the pipeline takes the raw
images both to fit and to predict.

Here the images are scikit-learn's 1,797 digits of 8x8 pixels with values
0 to 16. The classifier also works on them directly; the pipeline gives it
28x28 images, the size of the images a network trained on MNIST expects.
"""

# %%
# The data
# --------
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
print(X.shape, X.min(), X.max())

# %%
# The same digits before and after the normaliser: 8x8 with 17 grey levels,
# then 28x28 in 0..255 with the digit in MNIST's 20x20 box.
from skdigits.preprocessing import MNISTNormalizer

normalized = MNISTNormalizer(flatten=False).fit_transform(X[:6])

fig, axes = plt.subplots(2, 6, figsize=(9, 3.4), layout="constrained")
for i in range(6):
    axes[0, i].imshow(X[i].reshape(8, 8), cmap="gray")
    axes[1, i].imshow(normalized[i], cmap="gray")
    axes[0, i].set_title(f"digit {y[i]}")
for ax in axes.ravel():
    ax.set_axis_off()
axes[0, 0].text(-2, 3.5, "8x8", ha="right", fontsize=11)
axes[1, 0].text(-6, 14, "28x28", ha="right", fontsize=11)

# %%
# The pipeline
# ------------
# A small network is enough for this small dataset, with small mini-batches
# (more gradient steps per epoch from its 1,347 training images).
from sklearn.pipeline import make_pipeline

from skdigits import CNNDigitClassifier

pipeline = make_pipeline(
    MNISTNormalizer(),
    CNNDigitClassifier(
        filters=(16,), dense_units=64, batch_size=32, epochs=12, random_state=0
    ),
)
pipeline.fit(X_train, y_train)
print(f"pipeline test accuracy: {pipeline.score(X_test, y_test):.3f}")
pipeline  # shows the estimator's diagram

# %%
# Its parameters are reachable by step name, as in any pipeline: for
# example ``cnndigitclassifier__filters`` or ``mnistnormalizer__threshold``,
# for a grid search.
cnn = pipeline[-1]
print(f"input shape: {cnn.image_shape_}, input scale: {cnn.input_scale_}")
print(f"epochs run: {len(cnn.history_['loss'])}, weights kept: {cnn.best_epoch_}")

# %%
# The same network on the raw 8x8 images
# --------------------------------------
# The classifier needs no normaliser to train on 8x8 images: it builds its
# network for the input size, and scales by the largest value, 16. On this
# dataset both reach a similar accuracy: its digits are already clean and
# centred. The normaliser matters for images that are not (see
# :ref:`sphx_glr_auto_examples_mnist_plot_predict_image_files.py`).
# Without the default augmentation: it suits 28x28 digits (such as the
# normaliser's), but a shift of 5 % of 8 pixels only blurs them.
raw = CNNDigitClassifier(
    filters=(16,),
    dense_units=64,
    batch_size=32,
    epochs=12,
    rotation_range=0,
    shift_range=0,
    zoom_range=0,
    random_state=0,
)
raw.fit(X_train, y_train)
print(f"raw 8x8 test accuracy: {raw.score(X_test, y_test):.3f}")
print(f"input shape: {raw.image_shape_}, input scale: {raw.input_scale_}")

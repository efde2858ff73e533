"""
====================================================================
Train a CNN on MNIST: learning curves, confusion matrix, predictions
====================================================================

The three figures of the notebook this project grew from, made with
scikit-learn's and skdigits' displays: the learning curves of the network,
the confusion matrix on test images, and test images titled with their
predictions, green when right and red when wrong.

To run in under a minute on a CPU, the network trains on 6,000 of MNIST's
60,000 training images, for a few epochs. Trained on all of them, for
longer, the same network makes far fewer mistakes (see :doc:`/benchmarks`).
"""

# %%
# Load MNIST
# ----------
# :func:`~skdigits.datasets.fetch_mnist` reads MNIST from the scikit-learn
# data home (and downloads it there the first time). Each image is a flat
# row of 784 grey levels, 0 to 255.
from skdigits.datasets import fetch_mnist

X_train, y_train = fetch_mnist(subset="train", return_X_y=True)
X_test, y_test = fetch_mnist(subset="test", return_X_y=True)
print(X_train.shape, X_train.dtype, X_test.shape)

X_train, y_train = X_train[:6000], y_train[:6000]
X_test, y_test = X_test[:2000], y_test[:2000]

# %%
# Train the network
# -----------------
# :class:`~skdigits.CNNDigitClassifier` reads each row of 784 values as a
# 28x28 image and learns to divide the pixels by 255 (``input_scale_``).
# By default every training image trains the network; here 10 % are held out
# to watch the training (``validation_split``), which also turns on early
# stopping and learning-rate reduction on plateau.
from skdigits import CNNDigitClassifier

clf = CNNDigitClassifier(epochs=6, validation_split=0.1, random_state=0)
clf.fit(X_train, y_train)
print(f"image shape: {clf.image_shape_}, input scale: {clf.input_scale_}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Learning curves
# ---------------
# Accuracy and loss per epoch, on the training images and on the held-out
# validation images. The dashed line marks the epoch whose weights the model
# kept: early stopping restores the best validation epoch. The thin purple
# line is the learning rate at the end of each epoch, on the loss panel's
# right-hand (logarithmic) axis: it falls along a cosine after the warm-up,
# and steps down wherever the validation accuracy stalled and the rate was
# halved.
from skdigits.plotting import TrainingHistoryDisplay

TrainingHistoryDisplay.from_estimator(clf)

# %%
# Confusion matrix
# ----------------
# The classifier is a scikit-learn classifier, so scikit-learn's
# :class:`~sklearn.metrics.ConfusionMatrixDisplay` works on it as on any
# other. Rows are the true digits, columns the predicted ones: everything off
# the diagonal is a mistake.
from sklearn.metrics import ConfusionMatrixDisplay

display = ConfusionMatrixDisplay.from_estimator(
    clf, X_test, y_test, cmap="Blues", colorbar=False
)
display.ax_.set_title("MNIST test images")

# %%
# Sample predictions
# ------------------
# Test images with their predicted label and its probability; green when the
# prediction is right, red when it is wrong.
from skdigits.plotting import SamplePredictionsDisplay

SamplePredictionsDisplay.from_estimator(clf, X_test, y_test, n_images=25)
# sphinx_gallery_thumbnail_number = 3

# %%
# The mistakes, most confident first: some are ambiguous even to a human,
# others show what a network trained on a tenth of MNIST has not learned yet.
SamplePredictionsDisplay.from_estimator(
    clf, X_test, y_test, n_images=16, mistakes_only=True
)

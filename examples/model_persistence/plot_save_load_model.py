"""
=======================================
Save a model to a file and load it back
=======================================

:func:`skdigits.save_model` writes a fitted
:class:`~skdigits.CNNDigitClassifier` to a single file, and
:func:`skdigits.load_model` reads it back. The file is a zip archive holding
the network in the Keras format and everything else as JSON: no pickle, so a
model file from anywhere can be loaded without running code from it.
"""

# %%
# Train a small model
# -------------------
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skdigits import CNNDigitClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
clf = CNNDigitClassifier(
    filters=(16,), dense_units=64, batch_size=32, epochs=15, random_state=0
)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Save it
# -------
# ``metadata`` stores information of your own with the model.
import os
import tempfile

from skdigits import save_model

folder = tempfile.mkdtemp(prefix="skdigits-models-")
path = os.path.join(folder, "digits-model.zip")
save_model(clf, path, metadata={"dataset": "sklearn digits", "test_size": 0.25})
print(f"{os.path.getsize(path) / 1024:.0f} KiB")

# %%
# What is inside
# --------------
# Two members: the network, in Keras' own ``.keras`` format, and the
# estimator's parameters and fitted state as JSON.
import json
import zipfile

with zipfile.ZipFile(path) as archive:
    for info in archive.infolist():
        print(f"{info.filename:16} {info.file_size:>8} bytes")
    state = json.loads(archive.read("estimator.json"))

import textwrap

for key in ("format", "format_version", "skdigits_version", "keras_version"):
    print(f"{key}: {state[key]}")
print(textwrap.fill("fitted state: " + ", ".join(sorted(state["fitted"])), 76))

# %%
# Load it back
# ------------
# The loaded estimator has the same parameters and gives the same
# probabilities, bit for bit.
import numpy as np

from skdigits import load_model

loaded, metadata = load_model(path, return_metadata=True)
print(metadata)
print("same parameters:", loaded.get_params() == clf.get_params())
print(
    "same probabilities:",
    np.array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test)),
)
loaded  # shows the estimator's diagram

# %%
# The training history is part of the file, so the learning curves can be
# drawn from a loaded model too.
from skdigits.plotting import TrainingHistoryDisplay

TrainingHistoryDisplay.from_estimator(loaded)

# %%
# Not a pickle
# ------------
# ``pickle`` and ``joblib`` also save the estimator, but loading a pickle
# runs whatever code the file holds: only load pickles you trust.
# :func:`~skdigits.load_model` loads model files only, and says what is
# wrong with anything else.
import pickle

pickle_path = os.path.join(folder, "model.pkl")
with open(pickle_path, "wb") as file:
    pickle.dump({"not": "a model file"}, file)
try:
    load_model(pickle_path)
except ValueError as exc:
    print(textwrap.fill(str(exc), 76))

# %%
# Clean up the example's files.
import shutil

shutil.rmtree(folder)

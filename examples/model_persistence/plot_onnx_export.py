"""
==============================================
Export to ONNX and predict without TensorFlow
==============================================

:func:`skdigits.export_onnx` writes the network of a fitted
:class:`~skdigits.CNNDigitClassifier` to an ONNX file, with the classes and
the input layout in its metadata. :func:`skdigits.load_onnx` reads it back as
an :class:`~skdigits.OnnxDigitClassifier`, which predicts with onnxruntime:
a service that loads it never imports TensorFlow (see :ref:`onnx`).
"""

# %%
# Train a small model
# -------------------
# ``precision="float32"``: on a processor with native bfloat16, ``"auto"``
# would train in bfloat16, and the exported float32 graph would then differ
# from the estimator by bfloat16's rounding.
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skdigits import CNNDigitClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
clf = CNNDigitClassifier(
    filters=(8,),
    dense_units=32,
    batch_size=32,
    epochs=10,
    precision="float32",
    random_state=0,
)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Export it
# ---------
import os
import tempfile

from skdigits import export_onnx

folder = tempfile.mkdtemp(prefix="skdigits-onnx-")
path = os.path.join(folder, "digits.onnx")
export_onnx(clf, path, metadata={"dataset": "sklearn digits"})
print(f"{os.path.getsize(path) / 1024:.0f} KiB")

# %%
# What is inside
# --------------
# A plain ONNX graph from float32 images to probabilities, which any ONNX
# runtime can run, and skdigits' JSON document in the model's metadata.
import json

import numpy as np
import onnxruntime

session = onnxruntime.InferenceSession(path)
for node in (*session.get_inputs(), *session.get_outputs()):
    print(f"{node.name:14} {node.type:14} {node.shape}")
header = json.loads(session.get_modelmeta().custom_metadata_map["skdigits"])
print(", ".join(sorted(header)))

images = X_test.reshape(-1, 8, 8, 1).astype(np.float32)
(proba,) = session.run(["probabilities"], {"images": images})
same = (clf.classes_[proba.argmax(1)] == clf.predict(X_test)).all()
print("onnxruntime alone, same predictions:", same)

# %%
# Load it for prediction
# ----------------------
# :class:`~skdigits.OnnxDigitClassifier` is a fitted scikit-learn classifier:
# the same classes, input layouts and checks as the estimator, and the same
# probabilities up to float32 rounding.
from skdigits import load_onnx

onnx_clf = load_onnx(path)
print(onnx_clf.classes_, onnx_clf.image_shape_)
print("same predictions:", (onnx_clf.predict(X_test) == clf.predict(X_test)).all())
difference = np.abs(onnx_clf.predict_proba(X_test) - clf.predict_proba(X_test))
print(f"largest probability difference: {difference.max():.1e}")
print(f"test accuracy: {onnx_clf.score(X_test, y_test):.3f}")

# %%
# Serve a pipeline
# ----------------
# Only the network is a graph: a pipeline's
# :class:`~skdigits.preprocessing.MNISTNormalizer` stays in Python, and
# :func:`~skdigits.export_onnx` says so. Rebuild the pipeline around the ONNX
# classifier; it predicts without being fit, as the normalizer needs no
# fitting.
import textwrap
import warnings

from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from skdigits.preprocessing import MNISTNormalizer

images_train, images_test = train_test_split(
    load_digits().images, test_size=0.25, stratify=y, random_state=0
)
pipeline = make_pipeline(MNISTNormalizer(box_size=8, output_size=8), clone(clf)).fit(
    images_train, y_train
)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    export_onnx(pipeline, path)
print(textwrap.fill(str(caught[0].message), 76))

served = make_pipeline(MNISTNormalizer(box_size=8, output_size=8), load_onnx(path))
print(f"served pipeline, test accuracy: {served.score(images_test, y_test):.3f}")
same = (served.predict(images_test) == pipeline.predict(images_test)).all()
print("same predictions as the pipeline:", same)

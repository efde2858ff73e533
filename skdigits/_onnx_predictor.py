"""Prediction from an ONNX file with onnxruntime: no TensorFlow.

:func:`~skdigits.export_onnx` writes the network of a fitted
:class:`~skdigits.CNNDigitClassifier` as an ONNX graph, with what prediction
needs besides the graph (the classes and their dtype, the image shape, the
input scale, the test-time augmentation) as JSON in the model's metadata
under the key ``skdigits``. This module reads such a file back as an
:class:`OnnxDigitClassifier`. It imports numpy, scikit-learn and onnxruntime,
never TensorFlow, so a service that only predicts can run without it.
"""

import json
import os

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import ClassifierTags
from sklearn.utils.validation import check_is_fitted

from . import _input, _tta
from ._serialization import (
    DAMAGED_STATE_ERRORS,
    _decode,
    check_format,
    checked_layout,
)

#: The key of the model metadata entry that holds skdigits' JSON document.
METADATA_KEY = "skdigits"
FORMAT_NAME = "skdigits-onnx"
#: The version export_onnx writes; load_onnx reads this one and the older ones.
FORMAT_VERSION = 1
#: The graph's input and output names.
INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"

# What load_onnx reads, at most. The largest network one can reasonably ask
# of CNNDigitClassifier (filters=(128, 256), dense_units=1024 on 28x28 images,
# "same" padding) has 13.9 million float32 parameters: 56 MB of ONNX weights.
# The cap leaves more than four times that.
MAX_ONNX_BYTES = 256 * 2**20
# The JSON document in the metadata: about 1 kB, more with column names or
# metadata of the caller.
_MAX_METADATA_BYTES = 16 * 2**20

# Images per onnxruntime call, as CNNDigitClassifier's forward pass.
_PREDICT_BATCH = 2048


def load_onnx(path, *, return_metadata=False, providers=None):
    """Load an ONNX file written by :func:`~skdigits.export_onnx` for prediction.

    Returns an :class:`OnnxDigitClassifier`, which predicts with
    onnxruntime: TensorFlow is not imported, and need not be installed (see
    :ref:`onnx` for an installation without it). The file is read into
    memory, at most 256 MiB of it (more than four times the largest network
    ``CNNDigitClassifier`` can reasonably build), and the graph is given to
    onnxruntime as bytes, so it cannot name other files to read (ONNX's
    external data) and no custom operator library is loaded. Its skdigits
    metadata is checked before the classifier is made.

    Parameters
    ----------
    path : str or path-like
        An ONNX file written by :func:`~skdigits.export_onnx`.
    return_metadata : bool, default=False
        If True, also return the ``metadata`` given to ``export_onnx``.
    providers : list of str, default=None
        onnxruntime's execution providers, in order of preference; None is
        ``["CPUExecutionProvider"]``.

    Returns
    -------
    estimator : OnnxDigitClassifier
        The fitted classifier.
    metadata : dict
        Only when ``return_metadata`` is True: the saved metadata, or an
        empty dict.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is a directory, is larger than 256 MiB, is not an ONNX
        model onnxruntime can run, has no skdigits metadata (an ONNX file
        written by other tools), has metadata that is damaged or does not
        match its graph, or was written in a newer format than this version
        of skdigits reads; the message names the file and what is wrong.
    ImportError
        If onnxruntime is not installed.

    See Also
    --------
    export_onnx : Write the ONNX file.
    load_model : Load a model file, for prediction with TensorFlow.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import CNNDigitClassifier, export_onnx, load_onnx
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNDigitClassifier(filters=(8,), dense_units=16, epochs=2,
    ...                          precision="float32", random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "digits.onnx")
    >>> export_onnx(clf, path)
    >>> onnx_clf = load_onnx(path)
    >>> onnx_clf
    OnnxDigitClassifier()
    >>> bool((onnx_clf.predict(X) == clf.predict(X)).all())
    True
    >>> bool(np.allclose(onnx_clf.predict_proba(X), clf.predict_proba(X),
    ...                  atol=1e-5))
    True
    """
    path = os.fspath(path)
    name = repr(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such ONNX file: {name}")
    if os.path.isdir(path):
        raise ValueError(f"{name} is a directory, not an ONNX file.")
    with open(path, "rb") as file:
        data = file.read(MAX_ONNX_BYTES + 1)
    if len(data) > MAX_ONNX_BYTES:
        raise ValueError(
            f"{name} is larger than the {MAX_ONNX_BYTES} bytes load_onnx reads; "
            "it was not loaded."
        )
    estimator = OnnxDigitClassifier()
    metadata = estimator._load(data, name, providers)
    if return_metadata:
        return estimator, metadata
    return estimator


class OnnxDigitClassifier(ClassifierMixin, BaseEstimator):
    """A digit classifier exported to ONNX, predicting with onnxruntime.

    Made by :func:`load_onnx` from a file of :func:`~skdigits.export_onnx`:
    the network of a fitted :class:`~skdigits.CNNDigitClassifier`, run by
    onnxruntime, without TensorFlow. It predicts as the exported estimator
    does: the same input layouts and checks, the same classes in their
    dtype, the same probabilities up to float32 rounding (identical
    predictions on MNIST's 10,000 test images, probabilities within 1.1e-6
    for a float32 network; see :ref:`onnx` for one trained in bfloat16).

    It is a fitted scikit-learn classifier for inference: use it in
    :func:`~sklearn.metrics.ConfusionMatrixDisplay.from_estimator`, with
    :meth:`score`, or as the last step of a pipeline after
    :class:`~skdigits.preprocessing.MNISTNormalizer` (which stays in
    Python). It cannot be trained: :meth:`fit` raises, so train a
    ``CNNDigitClassifier`` and export it again instead. It has no
    parameters; ``clone`` gives an empty one.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, in the dtype of the ``y`` the network was fit on.
    n_features_in_ : int
        Number of values per sample (pixels times channels).
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when the estimator was fit on a DataFrame with string
        column names.
    image_shape_ : tuple of int
        ``(height, width, channels)`` that each sample is read as.
    input_scale_ : float
        The largest absolute input value seen in fit; the graph divides the
        input by it, so give it images in the range the estimator was fit on.
    precision_ : {"float32", "bfloat16"}
        The precision the network was trained in. The ONNX graph computes in
        float32 either way.
    tta_shift_ : int
        The exported estimator's ``tta_shift``: with a positive value,
        :meth:`predict_proba` averages each image's probabilities with those
        of four copies shifted by this many pixels.
    session_ : onnxruntime.InferenceSession
        The session that runs the graph.

    See Also
    --------
    load_onnx : Make one from a file.
    export_onnx : Write the file.
    CNNDigitClassifier : The estimator that trains the network.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from skdigits import CNNDigitClassifier, export_onnx, load_onnx
    >>> from skdigits.preprocessing import MNISTNormalizer
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNDigitClassifier(filters=(8,), dense_units=16, epochs=2,
    ...                          random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "digits.onnx")
    >>> export_onnx(clf, path)
    >>> onnx_clf = load_onnx(path)
    >>> onnx_clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> onnx_clf.image_shape_, onnx_clf.n_features_in_
    ((8, 8, 1), 64)
    >>> onnx_clf.predict(X[:3]).shape
    (3,)
    """

    def __sklearn_is_fitted__(self):
        return hasattr(self, "session_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        tags.classifier_tags.multi_label = False
        tags.non_deterministic = False
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags

    def fit(self, X=None, y=None, **fit_params):
        """Refuse to train: an exported network cannot be fit.

        Parameters
        ----------
        X, y : ignored
            Not used.
        **fit_params : dict
            Not used.

        Raises
        ------
        TypeError
            Always. Train a :class:`~skdigits.CNNDigitClassifier` and write
            it with :func:`~skdigits.export_onnx` instead.
        """
        raise TypeError(
            "OnnxDigitClassifier cannot be fit: it runs a network exported by "
            "skdigits.export_onnx. Fit a CNNDigitClassifier (or its pipeline) "
            "and export it again; a pipeline ending in an OnnxDigitClassifier "
            "predicts without being fit."
        )

    def predict_proba(self, X):
        """Probability of each class for each image.

        Parameters
        ----------
        X : array-like
            Images: flat rows of ``n_features_in_`` values, or images of
            shape ``image_shape_`` (``(n, height, width)`` or ``(n, height,
            width, channels)``), in the range the estimator was fit on; NaN
            and infinity are refused.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.
        """
        check_is_fitted(self)
        X, _, _ = _input.check_images(self, X, reset=False)
        X = _input.as_image_batch(X, self.image_shape_)
        return _tta.mean_proba(
            lambda views: self.session_.run([self._output], {self._input: views})[0],
            X,
            self.tta_shift_,
            _PREDICT_BATCH,
        )

    def predict(self, X):
        """Predicted class of each image.

        Parameters
        ----------
        X : array-like
            Images, as for :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``, in their original dtype.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    # ------------------------------------------------------------------
    # loading, and pickling (the session is rebuilt from the file's bytes)

    def _load(self, data, name, providers):
        """Fill the fitted attributes from an ONNX file's bytes; its metadata."""
        session = _session(data, name, providers)
        header = _read_header(session, name)
        try:
            state, metadata = _fitted_state(header, session)
        except DAMAGED_STATE_ERRORS as exc:
            raise ValueError(
                f"{name} is a damaged skdigits ONNX file: its skdigits metadata "
                f"is invalid ({exc})."
            ) from None
        vars(self).update(state)
        self.session_ = session
        self._onnx_bytes = data
        self._providers = providers
        return metadata

    def __getstate__(self):
        state = dict(vars(self))
        state.pop("session_", None)
        return state

    def __setstate__(self, state):
        vars(self).update(state)
        if "_onnx_bytes" in state:
            self.session_ = _session(
                self._onnx_bytes, "the unpickled model", state.get("_providers")
            )


def _import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImportError(
            f"skdigits.load_onnx needs onnxruntime: pip install onnxruntime ({exc})"
        ) from exc
    return onnxruntime


def _session_threads():
    """Threads for onnxruntime: SKDIGITS_NUM_THREADS, a Dask worker's, or 0.

    The rule of :func:`skdigits.set_num_threads` for TensorFlow; 0 leaves
    the choice to onnxruntime (one thread per core).
    """
    from ._runtime import NUM_THREADS_ENV, dask_worker_threads

    value = os.environ.get(NUM_THREADS_ENV)
    if value:
        try:
            n_threads = int(value)
        except ValueError:
            n_threads = 0
        if n_threads < 1:
            raise ValueError(
                f"{NUM_THREADS_ENV} must be a positive integer, got {value!r}"
            )
        return n_threads
    return dask_worker_threads() or 0


def _session(data, name, providers):
    ort = _import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = _session_threads()
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(
            data,
            sess_options=options,
            providers=list(providers or ["CPUExecutionProvider"]),
        )
    except Exception as exc:  # onnxruntime raises its own kinds on a bad file
        message = " ".join(str(exc).split())
        raise ValueError(
            f"{name} is not an ONNX model onnxruntime can run "
            f"({type(exc).__name__}: {message}). skdigits' ONNX files are "
            "written by skdigits.export_onnx."
        ) from None


def _read_header(session, name):
    """The skdigits JSON document of a session's model, checked for its format."""
    custom = session.get_modelmeta().custom_metadata_map
    text = custom.get(METADATA_KEY)
    if text is None:
        raise ValueError(
            f"{name} is an ONNX model without skdigits metadata (no "
            f"{METADATA_KEY!r} entry): load_onnx reads files written by "
            "skdigits.export_onnx, which records the classes and input layout "
            "the graph alone does not hold. Run other ONNX models with "
            "onnxruntime directly."
        )
    if len(text) > _MAX_METADATA_BYTES:
        raise ValueError(
            f"{name} is not a valid skdigits ONNX file: its skdigits metadata "
            f"holds more than {_MAX_METADATA_BYTES} bytes; it was not loaded."
        )
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(
            f"{name} is a damaged skdigits ONNX file: its skdigits metadata is "
            f"not JSON ({exc})."
        ) from None
    check_format(
        header,
        name,
        kind="ONNX file",
        where="its skdigits metadata",
        format_name=FORMAT_NAME,
        format_version=FORMAT_VERSION,
    )
    return header


def _fitted_state(header, session):
    """The classifier's attributes from the metadata, checked against the graph."""
    classes, n_features, image_shape, input_scale = checked_layout(header, 2)
    precision = header["precision"]
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"unknown precision {precision!r}")
    tta_shift = header["tta_shift"]
    _tta.check_shift(tta_shift)
    state = {
        "classes_": classes,
        "n_features_in_": n_features,
        "image_shape_": image_shape,
        "input_scale_": float(input_scale),
        "precision_": precision,
        "tta_shift_": int(tta_shift),
    }
    if "feature_names_in" in header:
        names = header["feature_names_in"]
        if (
            not isinstance(names, list)
            or len(names) != n_features
            or not all(isinstance(n, str) for n in names)
        ):
            raise ValueError(f"feature_names_in must be a list of {n_features} strings")
        state["feature_names_in_"] = np.asarray(names, dtype=object)
    metadata = _decode(header.get("metadata", {"__dict__": {}}))
    if not isinstance(metadata, dict):
        raise ValueError("metadata is not a dict")

    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) < 1:
        raise ValueError(
            f"the graph has {len(inputs)} inputs and {len(outputs)} outputs, "
            "not one image input and a probability output"
        )
    graph_in, graph_out = inputs[0], outputs[0]
    if graph_in.type != "tensor(float)" or graph_out.type != "tensor(float)":
        raise ValueError(
            f"the graph maps {graph_in.type} to {graph_out.type}, not float "
            "images to float probabilities"
        )
    if tuple(graph_in.shape[1:]) != image_shape:
        raise ValueError(
            f"the graph takes images of shape {tuple(graph_in.shape[1:])}, the "
            f"metadata says {image_shape}"
        )
    if len(graph_out.shape) != 2 or graph_out.shape[1] != len(classes):
        raise ValueError(
            f"the graph outputs {graph_out.shape[-1]} probabilities an image, "
            f"the metadata names {len(classes)} classes"
        )
    state["_input"], state["_output"] = graph_in.name, graph_out.name
    return state, metadata


__all__ = ["OnnxDigitClassifier", "load_onnx"]

"""ONNX export: the network of a fitted CNNDigitClassifier as one ``.onnx`` file.

The graph is converted by Keras' own exporter (``keras.Model.export(...,
format="onnx")``, through tf2onnx) from an inference copy of the network:
float32 layers (the weights of a bfloat16 network are float32 already) and a
forward pass traced with ``training=False``, so that batch normalization uses
its moving statistics and the augmentation and dropout layers are left out.
What prediction needs besides the graph is written as JSON in the model's
metadata (``metadata_props``, key ``skdigits``); :mod:`skdigits._onnx_predictor`
reads it back.
"""

import contextlib
import functools
import json
import os
import warnings

import numpy as np

from ._onnx_predictor import (
    FORMAT_NAME,
    FORMAT_VERSION,
    INPUT_NAME,
    METADATA_KEY,
    OUTPUT_NAME,
)
from ._serialization import (
    _encode,
    _python_scalar,
    _scratch_names,
    atomic_path,
    checked_labels,
    encode_metadata,
)

_CLASS_NAME = "skdigits.CNNDigitClassifier"
#: The oldest opset export_onnx writes (tested; older ones put the weights
#: among the graph's inputs).
MIN_OPSET = 13


def export_onnx(estimator, path, *, target_opset=None, metadata=None):
    """Write the network of a fitted classifier to an ONNX file.

    The file holds the network as an ONNX graph, which maps float32 images
    of shape ``(n, height, width, channels)`` to class probabilities, and,
    in its metadata, what prediction needs besides: the classes with their
    dtype, the image shape, the input scale, the test-time augmentation and
    the skdigits version. :func:`load_onnx` reads it back as an
    :class:`OnnxDigitClassifier`, which predicts with onnxruntime, without
    TensorFlow. Any ONNX runtime can run the graph itself: its input is
    named ``"images"`` (in the range the estimator was fit on: the graph
    divides by ``input_scale_``), its output ``"probabilities"``.

    A network trained in bfloat16 is exported in float32 (its weights are
    float32 already): the file's inputs and outputs are float32, and
    onnxruntime computes in float32. Batch normalization is exported with
    its moving statistics; the augmentation and dropout layers, which act
    in training only, are left out.

    The file is written like :func:`save_model`'s: to a temporary file in
    the target directory, then renamed to ``path``, so ``path`` is either the
    complete new file or left as it was.

    Parameters
    ----------
    estimator : CNNDigitClassifier or Pipeline
        A fitted :class:`CNNDigitClassifier`, or a fitted pipeline ending in
        one, such as ``make_pipeline(MNISTNormalizer(), CNNDigitClassifier())``.
        Only the classifier is exported: the steps before it are Python code,
        not part of the graph. A warning says so; rebuild the pipeline with
        those steps and :func:`load_onnx`'s classifier.
    path : str or path-like
        The file to write, replaced if it exists. Its directory must exist.
        ``.onnx`` is the usual extension (the command line's ``predict``
        recognises ONNX files by it).
    target_opset : int, default=None
        The ONNX opset of the graph (as skl2onnx's ``target_opset``), from 13
        to the newest tf2onnx writes (18 for tf2onnx 1.17); None is tf2onnx's
        default (15 for tf2onnx 1.17, which onnxruntime 1.11 and later run).
    metadata : dict, default=None
        Information of your own to store in the file (str keys, plain
        values), returned by ``load_onnx(path, return_metadata=True)``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If the estimator is not a CNNDigitClassifier or a pipeline ending in
        one, or the metadata holds a value that cannot be stored as JSON.
    ValueError
        If ``target_opset`` is outside the range above.
    ImportError
        If tf2onnx or onnx is not installed (``pip install skdigits[onnx]``).

    Warns
    -----
    UserWarning
        For a pipeline: which steps are not in the file.

    See Also
    --------
    load_onnx : Load the file for prediction without TensorFlow.
    save_model : Save the whole estimator, to refit or predict with TensorFlow.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import CNNDigitClassifier, export_onnx
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNDigitClassifier(filters=(8,), dense_units=16, epochs=2,
    ...                          random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "digits.onnx")
    >>> export_onnx(clf, path, metadata={"trained_on": "sklearn digits"})
    >>> import onnxruntime
    >>> session = onnxruntime.InferenceSession(path)
    >>> [(i.name, i.shape[1:]) for i in session.get_inputs()]
    [('images', [8, 8, 1])]
    >>> [o.name for o in session.get_outputs()]
    ['probabilities']
    """
    from sklearn.utils.validation import check_is_fitted

    estimator = _classifier_of(estimator)
    check_is_fitted(estimator, "model_")
    if target_opset is not None and (
        isinstance(target_opset, bool) or not isinstance(target_opset, int)
    ):
        raise TypeError(f"target_opset must be an int or None, got {target_opset!r}")
    header = _header(estimator, metadata)
    onnx = _import_exporters()
    _check_opset(target_opset)
    network = _inference_network(estimator.model_)
    import tensorflow as tf

    signature = [
        tf.TensorSpec((None, *estimator.image_shape_), tf.float32, name=INPUT_NAME)
    ]
    path = os.fspath(path)
    with atomic_path(path) as temporary:
        _, scratch = _scratch_names(temporary)
        try:
            with _quiet_tf2onnx():
                network.export(
                    scratch,
                    format="onnx",
                    verbose=False,
                    input_signature=signature,
                    opset_version=target_opset,
                )
            model = onnx.load(scratch)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(scratch)
        _rename_output(model, OUTPUT_NAME)
        model.doc_string = (
            "A skdigits.CNNDigitClassifier's network: float32 images "
            f"{list(estimator.image_shape_)} in, class probabilities out. "
            "Load with skdigits.load_onnx."
        )
        entry = model.metadata_props.add()
        entry.key = METADATA_KEY
        entry.value = json.dumps(header, allow_nan=False)
        with open(temporary, "wb") as file:
            file.write(model.SerializeToString())


def _classifier_of(estimator):
    """The CNNDigitClassifier to export: the estimator, or a pipeline's last step."""
    from sklearn.pipeline import Pipeline

    from ._classifier import CNNDigitClassifier

    if isinstance(estimator, Pipeline):
        steps = estimator.steps
        final = steps[-1][1] if steps else None
        if type(final) is CNNDigitClassifier:
            kept = ", ".join(
                f"{name!r} ({type(step).__name__})" for name, step in steps[:-1]
            )
            if kept:
                warnings.warn(
                    "export_onnx exports the pipeline's CNNDigitClassifier "
                    f"{steps[-1][0]!r} only; the steps before it, {kept}, stay "
                    "in Python and are not in the ONNX file. Predict with "
                    "make_pipeline(<those steps>, skdigits.load_onnx(path)).",
                    UserWarning,
                    stacklevel=3,
                )
            return final
        raise TypeError(
            "export_onnx exports a pipeline that ends in a CNNDigitClassifier; "
            f"this one ends in {type(final).__name__}."
        )
    if type(estimator) is not CNNDigitClassifier:
        raise TypeError(
            "export_onnx exports a CNNDigitClassifier or a pipeline ending in "
            f"one; got {type(estimator).__name__}."
        )
    return estimator


def _import_exporters():
    try:
        import onnx
        import tf2onnx  # noqa: F401  (Keras' exporter imports it)
    except ImportError as exc:
        raise ImportError(
            "skdigits.export_onnx needs tf2onnx and onnx: "
            f"pip install 'skdigits[onnx]' ({exc})"
        ) from exc
    return onnx


def _check_opset(target_opset):
    import tf2onnx

    highest = max(tf2onnx.constants.OPSET_TO_IR_VERSION)
    if target_opset is not None and not MIN_OPSET <= target_opset <= highest:
        raise ValueError(
            f"target_opset must be in [{MIN_OPSET}, {highest}] (tf2onnx "
            f"{tf2onnx.__version__} writes opsets up to {highest}), got "
            f"{target_opset}"
        )


def _header(estimator, metadata):
    """The JSON document stored in the model's metadata."""
    import keras

    from . import __version__

    metadata = encode_metadata(metadata, "an ONNX file")
    classes = checked_labels(estimator.classes_, "export", "to an ONNX file")
    header = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": _CLASS_NAME,
        "skdigits_version": __version__,
        "keras_version": keras.__version__,
        "classes": {
            "dtype": classes.dtype.str,
            "values": [_encode(_python_scalar(c)) for c in classes],
        },
        "n_features_in": int(estimator.n_features_in_),
        "image_shape": [int(d) for d in estimator.image_shape_],
        "input_scale": float(estimator.input_scale_),
        "precision": str(estimator.precision_),
        "tta_shift": int(estimator.tta_shift),
        "metadata": metadata,
    }
    if hasattr(estimator, "feature_names_in_"):
        header["feature_names_in"] = [str(n) for n in estimator.feature_names_in_]
    return header


def _inference_network(model):
    """A float32 copy of ``model`` whose call is its inference forward pass.

    ``keras.Model.export`` traces the model's call without ``training``, and
    Keras' random augmentation layers then take their training branch (random
    ops ONNX does not have) and batch normalization its batch statistics; its
    ONNX exporter also needs a float32 dtype policy.
    """
    import keras

    def float32_layer(layer):
        config = layer.get_config()
        config["dtype"] = "float32"
        return type(layer).from_config(config)

    copy = keras.models.clone_model(model, clone_function=float32_layer)
    copy.set_weights(model.get_weights())
    wrapper = _inference_model_class()(copy)
    wrapper(np.zeros((1, *model.input_shape[1:]), dtype=np.float32))  # builds it
    return wrapper


@functools.cache
def _inference_model_class():
    """The model class of :func:`_inference_network`, made once Keras is imported."""
    import keras

    class InferenceModel(keras.Model):
        """``network(images, training=False)``, as a model Keras can export."""

        def __init__(self, network):
            super().__init__(name="skdigits_inference")
            self.network = network

        def call(self, images):
            return self.network(images, training=False)

    return InferenceModel


def _rename_output(model, new_name):
    """Name the graph's only output ``new_name`` (tf2onnx calls it Identity:0)."""
    graph = model.graph
    (output,) = graph.output
    old_name = output.name
    for node in graph.node:
        node.output[:] = [new_name if o == old_name else o for o in node.output]
        node.input[:] = [new_name if i == old_name else i for i in node.input]
    output.name = new_name


@contextlib.contextmanager
def _quiet_tf2onnx():
    """Keep tf2onnx's progress lines (INFO and WARNING logs) quiet."""
    import logging

    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            # Keras' tf2onnx patch for NumPy 2 reads np.object, deprecated.
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


__all__ = ["export_onnx"]

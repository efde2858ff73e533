"""Handwritten digit classification for the scikit-learn ecosystem.

The estimator is imported lazily so that ``import skdigits.datasets`` (or the
command line's ``--help``) does not pay for importing TensorFlow.
"""

# _runtime sets TensorFlow's options, so it is imported before TensorFlow is.
from ._runtime import set_num_threads

__version__ = "0.1.0.dev0"

__all__ = [
    "CNNDigitClassifier",
    "OnnxDigitClassifier",
    "__version__",
    "export_onnx",
    "load_model",
    "load_onnx",
    "load_pretrained",
    "read_digits",
    "save_model",
    "set_num_threads",
]


def __getattr__(name):
    if name == "CNNDigitClassifier":
        from ._classifier import CNNDigitClassifier

        return CNNDigitClassifier
    if name in ("save_model", "load_model"):
        from . import _serialization

        return getattr(_serialization, name)
    if name in ("load_onnx", "OnnxDigitClassifier"):
        # onnxruntime and numpy, never TensorFlow: for inference-only installs.
        from . import _onnx_predictor

        return getattr(_onnx_predictor, name)
    if name == "export_onnx":
        from ._onnx import export_onnx

        return export_onnx
    if name == "load_pretrained":
        from ._pretrained import load_pretrained

        return load_pretrained
    if name == "read_digits":
        from .reading import read_digits

        return read_digits
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__ + ["datasets", "preprocessing", "plotting", "reading"])

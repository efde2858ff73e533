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


# Public name -> the module that defines it, imported on first use. The
# ONNX predictor's module imports onnxruntime and numpy, never TensorFlow
# (inference-only installs); so do the reading and pretrained modules until
# a model is loaded.
_LAZY = {
    "CNNDigitClassifier": "._classifier",
    "save_model": "._serialization",
    "load_model": "._serialization",
    "load_onnx": "._onnx_predictor",
    "OnnxDigitClassifier": "._onnx_predictor",
    "export_onnx": "._onnx",
    "load_pretrained": "._pretrained",
    "read_digits": ".reading",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__ + ["datasets", "preprocessing", "plotting", "reading"])

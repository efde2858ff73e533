"""Checking the images given to a classifier, without TensorFlow.

:class:`~skdigits.CNNDigitClassifier` and :class:`~skdigits.OnnxDigitClassifier`
accept the same input and refuse the same mistakes with the same messages;
this module holds that check. It imports numpy and scikit-learn only, so the
ONNX predictor can use it in an environment without TensorFlow.
"""

import math

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

_CHECK = {"dtype": "numeric", "ensure_all_finite": True, "accept_sparse": False}


def check_images(estimator, X, y=None, *, reset):
    """Validate images ``X`` (and labels ``y``) for ``estimator``.

    ``X`` may be flat ``(n, n_features)`` rows, ``(n, height, width)`` images
    or ``(n, height, width, channels)`` images; it is refused if sparse, if
    it has more than 4 dimensions, or if it holds NaN, infinity or anything
    not numeric, or with values that overflow float32. With ``reset=False``
    3-D and 4-D images must have the fitted ``image_shape_``, and the number
    of values per sample (and the column names of a DataFrame) must be those
    seen in fit, as scikit-learn's ``validate_data`` checks them.

    Parameters
    ----------
    estimator : estimator
        The classifier; ``validate_data`` reads and (with ``reset``) sets its
        ``n_features_in_`` and ``feature_names_in_``.
    X : array-like
        The images.
    y : array-like, default=None
        Labels, checked with ``X`` when given.
    reset : bool
        True in fit (record the input's layout), False in prediction.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The images as flat rows.
    y : ndarray or None
        The checked labels.
    image_shape : tuple of int or None
        ``(height, width, channels)`` of 3-D or 4-D input; None for flat rows.
    """
    image_shape = None
    if X is not None and not (sp.issparse(X) or hasattr(X, "iloc")):
        X = np.asarray(X)
    if X is not None and np.ndim(X) > 2:
        image_shape = X.shape[1:] if X.ndim == 4 else (*X.shape[1:], 1)
        if X.ndim > 4:
            raise ValueError(
                f"X must have 2 to 4 dimensions (flat rows, images, or "
                f"images with channels), got shape {X.shape}"
            )
        fitted_shape = getattr(estimator, "image_shape_", None)
        if not reset and fitted_shape is not None:
            if tuple(image_shape) != tuple(fitted_shape):
                # As many values, other images: (16, 4) is not (8, 8) reshaped.
                raise ValueError(
                    f"X holds images of shape {tuple(image_shape)}, but this "
                    f"{type(estimator).__name__} was fitted on images of shape "
                    f"{tuple(fitted_shape)}: give images of that shape, or flat "
                    f"rows of {math.prod(fitted_shape)} values"
                )
        X = X.reshape(len(X), -1)
    if y is None:
        X = validate_data(estimator, X, reset=reset, **_CHECK)
    else:
        X, y = validate_data(estimator, X, y, reset=reset, **_CHECK)
    _check_float32_range(X)
    return X, y, image_shape


def _check_float32_range(X):
    """Refuse values that float32, which the network computes in, overflows."""
    if X.dtype.kind != "f" or X.dtype.itemsize <= 4 or not X.size:
        return
    largest = max(float(X.max()), -float(X.min()))
    limit = float(np.finfo(np.float32).max)
    if largest > limit:
        raise ValueError(
            f"X has values of magnitude up to {largest:.3g}, beyond float32's "
            f"largest, {limit:.3g}, in which the network computes: they would "
            "become infinite. Scale X down first (to [0, 1], or 0-255)."
        )


def image_shape_of(n_features):
    """The image a flat row of ``n_features`` values is read as.

    A perfect square is a square one-channel image (784 as 28 x 28, 64 as
    8 x 8); any other length a 1 x k strip.
    """
    side = math.isqrt(n_features)
    return (side, side, 1) if side * side == n_features else (1, n_features, 1)


def as_image_batch(X, image_shape):
    """Flat rows ``X`` as float32 images of ``image_shape``."""
    return X.reshape(len(X), *image_shape).astype(np.float32, copy=False)

"""The model that ships in the package: MNIST digits without training first."""

import functools
import os
from importlib import resources

#: File name of the shipped model inside the package's ``_data`` folder.
PRETRAINED_FILE = "mnist_cnn.zip"
#: File name of the shipped segmentation verifier (see read_digits), and of
#: its ONNX export, for reading with an ONNX classifier without TensorFlow.
VERIFIER_FILE = "mnist_pieces.zip"
VERIFIER_ONNX_FILE = "mnist_pieces.onnx"


def pretrained_path():
    """Path of the shipped model file (a file written by ``save_model``)."""
    return os.fspath(resources.files("skdigits") / "_data" / PRETRAINED_FILE)


def verifier_path(onnx=False):
    """Path of the shipped segmentation verifier (``save_model``'s or ONNX)."""
    name = VERIFIER_ONNX_FILE if onnx else VERIFIER_FILE
    return os.fspath(resources.files("skdigits") / "_data" / name)


def load_pretrained():
    """Load the digit classifier fitted on MNIST that ships with skdigits.

    Nothing is downloaded and nothing is trained: the model file inside the
    package is read by :func:`~skdigits.load_model`, the safe loader, in
    about a second. Each call returns a new estimator, so changing or
    refitting one does not change the next.

    The network is the documented best single network of
    ``CNNDigitClassifier`` of its time (``filters=(32, 64)``, two 3x3
    convolutions a block, ``dense_units=256``, rotation, shift and zoom
    augmentation of 10 degrees and 10 %), trained in float32 for
    30 epochs on all 60,000 MNIST training images with ``random_state=0``
    by ``benchmarks/train_pretrained.py``, which makes it again (see
    :ref:`pretrained`). It predicts with test-time augmentation
    (``tta_shift=1``: the mean over the image and its four one-pixel
    shifts) and scores 99.60 % on the 10,000 MNIST test images (99.53 %
    with ``tta_shift=0``, five times faster). Through
    :class:`~skdigits.preprocessing.MNISTNormalizer` it reads 93.5 % of
    scikit-learn's 8x8 digits and 97.4 % of printed digits rendered in many
    fonts and styles with ``stroke_width=2.8`` (88.2 % without;
    ``benchmarks/real_digits.py``). The file takes 3.7 MB.

    Returns
    -------
    estimator : CNNDigitClassifier
        Fitted: 28 x 28 grey images, light ink on a dark background, values
        0 to 255 (MNIST's form), classes the ints 0 to 9. Bring other digit
        images to that form with
        :class:`~skdigits.preprocessing.MNISTNormalizer`, or read whole
        fields of digits with :func:`~skdigits.read_digits`.

    Raises
    ------
    FileNotFoundError
        If the package was installed without its data file.

    See Also
    --------
    read_digits : Read fields of several digits with this model.
    load_model : Load a model file of your own.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from skdigits import load_pretrained
    >>> from skdigits.preprocessing import MNISTNormalizer
    >>> X, y = load_digits(return_X_y=True)
    >>> reader = make_pipeline(MNISTNormalizer(), load_pretrained())
    >>> reader.predict(X[:10])
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> y[:10]
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    """
    return _load_shipped(pretrained_path(), "pretrained model", "")


@functools.lru_cache(maxsize=2)
def load_verifier(onnx=False):
    """The segmentation verifier that ships with skdigits, loaded once.

    A ``CNNDigitClassifier`` of the pieces :func:`~skdigits.read_digits`
    cuts from touching digits: classes 0 to 9, and 10 for a piece that is
    not one digit (two digits merged, part of one, a part of one with part
    of its neighbour). Trained by ``benchmarks/train_verifier.py`` on fields
    of MNIST training digits and printed numbers. One estimator per process,
    shared by every reading, which never changes it. With ``onnx=True``, its
    ONNX export (``skdigits export``) as an
    :class:`~skdigits.OnnxDigitClassifier`: no TensorFlow.

    Raises
    ------
    FileNotFoundError
        If the package was installed without its data file.
    """
    path = verifier_path(onnx)
    remedy = ", or read with verifier=None"
    if onnx:
        from ._onnx_predictor import load_onnx

        _check_shipped(path, "segmentation verifier", remedy)
        return load_onnx(path)
    return _load_shipped(path, "segmentation verifier", remedy)


def _load_shipped(path, what, remedy):
    """A model file of the package, read by the safe loader."""
    from ._serialization import load_model

    _check_shipped(path, what, remedy)
    return load_model(path)


def _check_shipped(path, what, remedy):
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path}: skdigits' {what} is missing from this installation; "
            f"reinstall skdigits{remedy}"
        )

"""The model that ships in the package: MNIST digits without training first."""

import os
from importlib import resources

#: File name of the shipped model inside the package's ``_data`` folder.
PRETRAINED_FILE = "mnist_cnn.zip"


def pretrained_path():
    """Path of the shipped model file (a file written by ``save_model``)."""
    return os.fspath(resources.files("skdigits") / "_data" / PRETRAINED_FILE)


def load_pretrained():
    """Load the digit classifier fitted on MNIST that ships with skdigits.

    Nothing is downloaded and nothing is trained: the model file inside the
    package is read by :func:`~skdigits.load_model`, the safe loader. Each
    call returns a new estimator, so changing or refitting one does not
    change the next.

    Returns
    -------
    estimator : CNNDigitClassifier
        Fitted on the 60,000 MNIST training images: 28 x 28 grey images,
        light ink on a dark background, values 0 to 255, classes the ints
        0 to 9. Images of other digits are brought to that form by
        :class:`~skdigits.preprocessing.MNISTNormalizer`.

    Raises
    ------
    FileNotFoundError
        If the package was installed without its data file.
    """
    from ._serialization import load_model

    path = pretrained_path()
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path}: skdigits' pretrained model is missing from this "
            "installation; reinstall skdigits"
        )
    return load_model(path)

"""Doctest set-up: skip the examples that need MNIST when it is not available.

An example that calls ``fetch_mnist`` runs only when the four MNIST files are
in the scikit-learn data home (``SCIKIT_LEARN_DATA``); it never downloads.
"""

import os

import pytest


def _mnist_available():
    from sklearn.datasets import get_data_home

    from skdigits.datasets._mnist import _MNIST_FILES

    directory = os.path.join(get_data_home(), "mnist")
    return all(os.path.exists(os.path.join(directory, n)) for n in _MNIST_FILES)


@pytest.fixture(autouse=True)
def _skip_mnist_doctests_without_data(request):
    dtest = getattr(request.node, "dtest", None)  # set on doctest items only
    if dtest is None:
        return
    if any("fetch_mnist(" in example.source for example in dtest.examples):
        if not _mnist_available():
            pytest.skip("MNIST files not found in the scikit-learn data home")

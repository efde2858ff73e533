"""Shared test fixtures: seeds, headless plotting, the MNIST data home."""

import os
import random

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# Keep TensorFlow's start-up chatter out of test logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow: takes a minute or more; deselected by default, run with -m slow",
    )


@pytest.fixture(autouse=True)
def _fixed_global_seeds():
    """Tests never depend on the order they run in through global RNG state."""
    random.seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def digits():
    """The 8x8 digits split 75/25, stratified: X_train, X_test, y_train, y_test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


@pytest.fixture(scope="session")
def mnist_data_home():
    """The scikit-learn data home holding MNIST, or skip when it is absent.

    CI points ``SCIKIT_LEARN_DATA`` at ``../shared/data``; nothing is downloaded.
    """
    from sklearn.datasets import get_data_home

    data_home = get_data_home()
    names = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ]
    if not all(os.path.exists(os.path.join(data_home, "mnist", n)) for n in names):
        pytest.skip(f"MNIST files not found under {data_home}/mnist")
    return data_home


@pytest.fixture(scope="session")
def mnist_reader(mnist_data_home):
    """A small CNN fitted on 6,000 MNIST training digits, once per session.

    It reads MNIST-like fields well enough to test reading (about 97% of
    single test digits); skipped when MNIST is absent.
    """
    from skdigits import CNNDigitClassifier
    from skdigits.datasets import fetch_mnist

    X, y = fetch_mnist(subset="train", data_home=mnist_data_home, return_X_y=True)
    clf = CNNDigitClassifier(
        filters=(16, 32),
        dense_units=64,
        batch_size=64,
        epochs=3,
        validation_split=0.0,
        random_state=0,
    )
    return clf.fit(X[:6000], y[:6000])

"""The model shipped in the package: skdigits.load_pretrained."""

import json
import os
import re
import zipfile

import numpy as np
import pytest

import skdigits
from skdigits import _pretrained
from skdigits.preprocessing import MNISTNormalizer


@pytest.fixture(scope="module")
def pretrained():
    return skdigits.load_pretrained()


def test_shipped_file_is_within_the_package_budget():
    path = _pretrained.pretrained_path()
    assert os.path.isfile(path), f"{path} is not in the package"
    assert os.path.getsize(path) <= 5 * 2**20
    with zipfile.ZipFile(path) as archive:  # a save_model file, no pickle
        assert not [n for n in archive.namelist() if n.endswith((".pkl", ".pickle"))]


def test_load_pretrained_is_a_fitted_mnist_classifier(pretrained):
    assert isinstance(pretrained, skdigits.CNNDigitClassifier)
    np.testing.assert_array_equal(pretrained.classes_, np.arange(10))
    assert tuple(pretrained.image_shape_) == (28, 28, 1)
    assert pretrained.n_features_in_ == 784
    # float32: the same speed on every CPU, bfloat16 or not.
    assert pretrained.precision_ == "float32"


def test_each_call_returns_a_new_estimator(pretrained):
    other = skdigits.load_pretrained()
    assert other is not pretrained and other.model_ is not pretrained.model_
    other.set_params(tta_shift=0)
    other.model_.layers[-1].kernel.assign(
        np.zeros(other.model_.layers[-1].kernel.shape)
    )
    assert pretrained.tta_shift == 1
    assert np.abs(pretrained.model_.layers[-1].kernel.numpy()).sum() > 0


def test_the_recipe_is_the_training_scripts(pretrained):
    """The shipped network is what benchmarks/train_pretrained.py trains."""
    import importlib.util

    here = os.path.dirname(__file__)
    path = os.path.join(here, "..", "benchmarks", "train_pretrained.py")
    spec = importlib.util.spec_from_file_location("train_pretrained", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    params = pretrained.get_params()
    for name, value in script.RECIPE.items():
        expected = tuple(value) if isinstance(value, list) else value
        got = tuple(params[name]) if isinstance(params[name], list) else params[name]
        assert got == expected, name
    assert params["random_state"] == script.SEED


def test_documented_accuracy_is_measured_on_mnist_test(pretrained, mnist_data_home):
    """The docstring's and the file's MNIST test accuracy are the model's own."""
    from skdigits.datasets import fetch_mnist

    X, y = fetch_mnist(subset="test", return_X_y=True, data_home=mnist_data_home)
    accuracy = pretrained.score(X, y)
    path = _pretrained.pretrained_path()
    _, metadata = skdigits.load_model(path, return_metadata=True)
    assert accuracy == pytest.approx(metadata["mnist_test_accuracy"], abs=1e-12)
    assert accuracy >= 0.996  # the floor for the shipped model
    documented = re.search(
        r"scores\s+([\d.]+)\s+%\s+on\s+the\s+10,000\s+MNIST\s+test",
        _pretrained.load_pretrained.__doc__,
    )
    assert documented, "load_pretrained's docstring states its test accuracy"
    assert float(documented.group(1)) == pytest.approx(100 * accuracy, abs=0.005)


def test_reads_sklearn_digits_through_the_normalizer(pretrained):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    accuracy = np.mean(pretrained.predict(MNISTNormalizer().fit_transform(X)) == y)
    assert accuracy >= 0.90  # a different data set, written by other people


def test_missing_file_is_a_clear_error(monkeypatch, tmp_path):
    missing = tmp_path / "mnist_cnn.zip"
    monkeypatch.setattr(_pretrained, "pretrained_path", lambda: os.fspath(missing))
    with pytest.raises(FileNotFoundError, match=re.escape(str(missing))):
        skdigits.load_pretrained()


def test_metadata_says_how_it_was_made():
    path = _pretrained.pretrained_path()
    _, metadata = skdigits.load_model(path, return_metadata=True)
    assert "train_pretrained.py" in metadata["description"]
    assert metadata["cpu"] and metadata["versions"]["tensorflow"]
    json.dumps(metadata)  # plain JSON values


# --- the segmentation verifier that read_digits uses -----------------------------


def test_shipped_verifier_is_small_and_knows_what_is_not_a_digit():
    from skdigits.reading._read import NOT_A_DIGIT

    path = _pretrained.verifier_path()
    assert os.path.isfile(path), f"{path} is not in the package"
    assert os.path.getsize(path) <= 2**20  # far less than the classifier
    verifier = _pretrained.load_verifier()
    assert verifier is _pretrained.load_verifier()  # loaded once a process
    np.testing.assert_array_equal(verifier.classes_, np.arange(11))
    assert NOT_A_DIGIT == 10 and tuple(verifier.image_shape_) == (28, 28, 1)
    assert verifier.precision_ == "float32" and verifier.tta_shift == 0


def test_the_verifier_recipe_is_the_training_scripts():
    import importlib.util

    here = os.path.dirname(__file__)
    path = os.path.join(here, "..", "benchmarks", "train_verifier.py")
    spec = importlib.util.spec_from_file_location("train_verifier", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    params = _pretrained.load_verifier().get_params()
    for name, value in script.RECIPE.items():
        assert params[name] == value, name
    assert params["random_state"] == script.SEED


def test_the_verifier_tells_digits_from_merged_pairs(pretrained, mnist_data_home):
    """On MNIST test digits, alone and side by side, as the reader cuts them."""
    from skdigits.datasets import fetch_mnist
    from skdigits.reading._read import NOT_A_DIGIT

    X, _ = fetch_mnist(subset="test", return_X_y=True, data_home=mnist_data_home)
    digits = X[:200].reshape(-1, 28, 28)
    pairs = np.concatenate([digits[:100:2], digits[1:100:2]], axis=2)  # 28 x 56
    normalizer = MNISTNormalizer(polarity="light_on_dark")
    pieces = normalizer.fit_transform(list(digits[100:]) + list(pairs))
    verifier = _pretrained.load_verifier()
    junk = verifier.predict_proba(pieces)[:, list(verifier.classes_).index(NOT_A_DIGIT)]
    # Single digits are mostly digits (0.93 measured; it was trained on the
    # reader's pieces, not on MNIST's frames), and hardly ever surely not
    # (the rejection rule: above 0.95); two digits side by side are not.
    assert np.mean(junk[:100] < 0.5) >= 0.88
    assert np.mean(junk[:100] > 0.95) <= 0.03
    assert np.mean(junk[100:] > 0.5) >= 0.95


def test_the_shipped_onnx_verifier_is_the_keras_one(mnist_data_home):
    pytest.importorskip("onnxruntime")
    from skdigits.datasets import fetch_mnist

    path = _pretrained.verifier_path(onnx=True)
    assert os.path.isfile(path) and os.path.getsize(path) <= 2**20
    onnx = _pretrained.load_verifier(onnx=True)
    assert isinstance(onnx, skdigits.OnnxDigitClassifier)
    np.testing.assert_array_equal(onnx.classes_, np.arange(11))
    X, _ = fetch_mnist(subset="test", return_X_y=True, data_home=mnist_data_home)
    keras_proba = _pretrained.load_verifier().predict_proba(X[:200])
    np.testing.assert_allclose(onnx.predict_proba(X[:200]), keras_proba, atol=1e-5)

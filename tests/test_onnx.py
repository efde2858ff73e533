"""ONNX export (``export_onnx``) and the onnxruntime predictor (``load_onnx``)."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from _configs import FAST
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from skdigits import (
    CNNDigitClassifier,
    OnnxDigitClassifier,
    _onnx_predictor,
    export_onnx,
    load_onnx,
    save_model,
)
from skdigits.preprocessing import MNISTNormalizer

# Export needs tf2onnx and onnx, prediction onnxruntime: the "onnx" extra.
pytest.importorskip("tf2onnx")
onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(filters=(8,), dense_units=16, epochs=2, random_state=0)


@pytest.fixture(scope="module")
def fitted(digits):
    """A float32 classifier of the 8x8 digits, its ONNX file and the loaded one."""
    X_train, _, y_train, _ = digits
    clf = CNNDigitClassifier(**FAST, precision="float32").fit(X_train, y_train)
    return clf


@pytest.fixture(scope="module")
def exported(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "digits.onnx"
    export_onnx(fitted, path, metadata={"trained_on": "8x8 digits", "n": (1, 2)})
    return path


@pytest.fixture
def onnx_clf(exported):
    return load_onnx(exported)


def _rewritten(source, destination, change):
    """Write ``source`` to ``destination`` after ``change(model)``."""
    model = onnx.load(source)
    change(model)
    onnx.save(model, destination)
    return destination


def _header(model):
    (entry,) = [e for e in model.metadata_props if e.key == "skdigits"]
    return entry


# --- what the file holds, and what comes back -----------------------------------


def test_fitted_attributes_come_back(fitted, onnx_clf):
    assert is_classifier(onnx_clf)
    check_is_fitted(onnx_clf)
    np.testing.assert_array_equal(onnx_clf.classes_, fitted.classes_)
    assert onnx_clf.classes_.dtype == fitted.classes_.dtype
    assert onnx_clf.n_features_in_ == fitted.n_features_in_ == 64
    assert onnx_clf.image_shape_ == fitted.image_shape_ == (8, 8, 1)
    assert onnx_clf.input_scale_ == fitted.input_scale_ == 16.0
    assert onnx_clf.precision_ == "float32"
    assert onnx_clf.tta_shift_ == 0
    assert repr(onnx_clf) == "OnnxDigitClassifier()"


def test_the_file_is_plain_onnx_with_named_io_and_metadata(exported):
    model = onnx.load(exported)
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["images"]
    assert [o.name for o in model.graph.output] == ["probabilities"]
    for value in (*model.graph.input, *model.graph.output):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    header = json.loads(_header(model).value)
    from skdigits import __version__

    assert header["format"] == "skdigits-onnx"
    assert header["skdigits_version"] == __version__
    assert header["classes"] == {"dtype": "<i8", "values": list(range(10))}
    assert header["image_shape"] == [8, 8, 1]
    assert header["input_scale"] == 16.0


def test_predictions_match_the_estimator(fitted, onnx_clf, digits):
    _, X_test, _, y_test = digits
    np.testing.assert_array_equal(onnx_clf.predict(X_test), fitted.predict(X_test))
    proba = onnx_clf.predict_proba(X_test)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, fitted.predict_proba(X_test), atol=1e-5)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert onnx_clf.score(X_test, y_test) == fitted.score(X_test, y_test)


def test_every_input_layout_predicts_alike(onnx_clf, digits):
    X = digits[1][:50]
    expected = onnx_clf.predict_proba(X)
    for layout in (X.reshape(-1, 8, 8), X.reshape(-1, 8, 8, 1), X.astype(np.uint8)):
        np.testing.assert_array_equal(onnx_clf.predict_proba(layout), expected)
    assert onnx_clf.predict_proba(X[:1]).shape == (1, 10)


@pytest.mark.parametrize(
    "X",
    [
        np.full((3, 64), np.nan),
        np.full((3, 64), np.inf),
        sp.csr_matrix(np.zeros((3, 64))),
        np.zeros(64),
        np.zeros((0, 64)),
        np.array([["a"] * 64] * 3),
        np.zeros((3, 63)),
        np.zeros((3, 7, 7)),
        np.zeros((3, 2, 2, 4, 4)),
    ],
    ids=["nan", "inf", "sparse", "1d", "empty", "strings", "63", "7x7", "5d"],
)
def test_bad_input_is_refused_as_the_estimator_refuses_it(fitted, onnx_clf, X):
    with pytest.raises((ValueError, TypeError)) as expected:
        fitted.predict(X)
    with pytest.raises(expected.type) as got:
        onnx_clf.predict(X)
    # The same message, naming the class that refuses.
    message = str(got.value).replace("OnnxDigitClassifier", "CNNDigitClassifier")
    assert message == str(expected.value)


def test_labels_and_column_names_keep_their_types(tmp_path):
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = pd.DataFrame(X[:300], columns=[f"px{i}" for i in range(64)])
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six",
                       "seven", "eight", "nine"])[y[:300]]  # fmt: skip
    # float32: the exported network's own precision, so no near-tie flips.
    clf = CNNDigitClassifier(**TINY, precision="float32").fit(X, labels)
    export_onnx(clf, tmp_path / "names.onnx")
    onnx_clf = load_onnx(tmp_path / "names.onnx")
    assert onnx_clf.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(onnx_clf.classes_, clf.classes_)
    np.testing.assert_array_equal(onnx_clf.feature_names_in_, clf.feature_names_in_)
    np.testing.assert_array_equal(onnx_clf.predict(X), clf.predict(X))
    with pytest.raises(ValueError) as expected:
        clf.predict(X.rename(columns={"px0": "other"}))
    with pytest.raises(ValueError) as got:
        onnx_clf.predict(X.rename(columns={"px0": "other"}))
    assert str(got.value) == str(expected.value)  # names no class


def test_a_bfloat16_network_with_batch_norm_and_augmentation_exports_in_float32(
    digits, tmp_path
):
    # Keras' exporter alone would trace the augmentation layers' training
    # branch (random ops ONNX lacks) and batch normalization's batch
    # statistics, and refuses a bfloat16 policy.
    X_train, X_test, y_train, _ = digits
    clf = CNNDigitClassifier(
        **TINY,
        precision="bfloat16",
        batch_norm=True,
        rotation_range=10,
        shift_range=0.1,
        zoom_range=0.1,
    ).fit(X_train, y_train)
    export_onnx(clf, tmp_path / "bf16.onnx")
    model = onnx.load(tmp_path / "bf16.onnx")
    for value in (*model.graph.input, *model.graph.output):
        assert value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    ops = {node.op_type for node in model.graph.node}
    assert not ops & {"ReduceMean", "RandomUniform", "RandomUniformLike"}
    onnx_clf = load_onnx(tmp_path / "bf16.onnx")
    assert onnx_clf.precision_ == "bfloat16"
    # The float32 network of the same weights, in Keras, gives the same.
    from skdigits._onnx import _inference_network

    network = _inference_network(clf.model_)
    float32 = np.asarray(network(X_test.reshape(-1, 8, 8, 1).astype(np.float32)))
    np.testing.assert_allclose(onnx_clf.predict_proba(X_test), float32, atol=1e-5)
    # bfloat16 rounding apart, the estimator's own probabilities.
    np.testing.assert_allclose(
        onnx_clf.predict_proba(X_test), clf.predict_proba(X_test), atol=0.05
    )


def test_test_time_augmentation_is_exported(fitted, digits, tmp_path):
    X = digits[1][:40]
    fitted.tta_shift = 1
    try:
        export_onnx(fitted, tmp_path / "tta.onnx")
        expected = fitted.predict_proba(X)
    finally:
        fitted.tta_shift = 0
    onnx_clf = load_onnx(tmp_path / "tta.onnx")
    assert onnx_clf.tta_shift_ == 1
    np.testing.assert_allclose(onnx_clf.predict_proba(X), expected, atol=1e-5)


def test_metadata_comes_back(exported):
    _, metadata = load_onnx(exported, return_metadata=True)
    assert metadata == {"trained_on": "8x8 digits", "n": (1, 2)}


@pytest.mark.parametrize("opset", [13, 18])
def test_target_opset(fitted, digits, tmp_path, opset):
    export_onnx(fitted, tmp_path / "m.onnx", target_opset=opset)
    assert onnx.load(tmp_path / "m.onnx").opset_import[0].version == opset
    X = digits[1][:20]
    np.testing.assert_array_equal(
        load_onnx(tmp_path / "m.onnx").predict(X), fitted.predict(X)
    )


# --- pipelines, fit, clone, pickle --------------------------------------------------


def test_a_pipeline_exports_its_classifier_and_says_the_rest_stays(fitted, tmp_path):
    from sklearn.datasets import load_digits

    images = load_digits().images[:30] * 16  # 0-255 grey levels, as from photos
    normalizer = MNISTNormalizer(box_size=8, output_size=8)
    pipeline = Pipeline([("normalizer", normalizer), ("cnn", fitted)])
    with pytest.warns(UserWarning, match=r"'normalizer' \(MNISTNormalizer\), stay in"):
        export_onnx(pipeline, tmp_path / "pipe.onnx")
    served = make_pipeline(clone(normalizer), load_onnx(tmp_path / "pipe.onnx"))
    np.testing.assert_array_equal(served.predict(images), pipeline.predict(images))
    np.testing.assert_allclose(
        served.predict_proba(images), pipeline.predict_proba(images), atol=1e-5
    )
    y = served.predict(images)
    assert served.score(images, y) == 1.0


def test_fit_is_refused_and_clone_is_empty(onnx_clf, digits):
    X_train, _, y_train, _ = digits
    with pytest.raises(TypeError, match="cannot be fit.*export_onnx"):
        onnx_clf.fit(X_train, y_train)
    with pytest.raises(TypeError, match="cannot be fit"):
        make_pipeline(MNISTNormalizer(), onnx_clf).fit(X_train, y_train)
    empty = clone(onnx_clf)
    assert isinstance(empty, OnnxDigitClassifier)
    with pytest.raises(NotFittedError):
        empty.predict(X_train[:2])


def test_pickle_round_trip(onnx_clf, digits):
    X = digits[1][:20]
    copy = pickle.loads(pickle.dumps(onnx_clf))
    np.testing.assert_array_equal(copy.predict_proba(X), onnx_clf.predict_proba(X))


@pytest.mark.parametrize(
    "estimator, error, match",
    [
        (CNNDigitClassifier(), NotFittedError, "not fitted"),
        (StandardScaler(), TypeError, "got StandardScaler"),
        (make_pipeline(StandardScaler()), TypeError, "ends in StandardScaler"),
    ],
    ids=["unfitted", "other_estimator", "other_pipeline"],
)
def test_what_cannot_be_exported(tmp_path, estimator, error, match):
    with pytest.raises(error, match=match):
        export_onnx(estimator, tmp_path / "x.onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"target_opset": 99}, ValueError, r"target_opset must be in \[13, 18\]"),
        ({"target_opset": "15"}, TypeError, "target_opset must be an int"),
        ({"metadata": {"f": print}}, TypeError, "Cannot save the metadata"),
    ],
    ids=["opset_99", "opset_str", "metadata"],
)
def test_bad_export_arguments(fitted, tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        export_onnx(fitted, tmp_path / "x.onnx", **kwargs)
    assert os.listdir(tmp_path) == []


def test_a_failed_export_leaves_the_old_file(fitted, exported, tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    path.write_bytes(exported.read_bytes())

    def fail(*args):
        raise RuntimeError("interrupted")

    monkeypatch.setattr("skdigits._onnx._rename_output", fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        export_onnx(fitted, path)
    assert path.read_bytes() == exported.read_bytes()
    assert os.listdir(tmp_path) == ["model.onnx"]


# --- loading what is not a skdigits ONNX file ---------------------------------------


def _set_header(value):
    def change(model):
        _header(model).value = value

    return change


def _edit_header(**fields):
    def change(model):
        entry = _header(model)
        entry.value = json.dumps({**json.loads(entry.value), **fields})

    return change


def _drop_header(model):
    entries = [e for e in model.metadata_props if e.key != "skdigits"]
    del model.metadata_props[:]
    model.metadata_props.extend(entries)


@pytest.mark.parametrize(
    "change, match",
    [
        (_drop_header, "ONNX model without skdigits metadata"),
        (_set_header("{not json"), "damaged skdigits ONNX file.*not JSON"),
        (_set_header("[1, 2]"), "not a skdigits ONNX file"),
        (_edit_header(format="other"), "not a skdigits ONNX file"),
        (_edit_header(format_version="1"), "invalid format_version"),
        (_edit_header(format_version=99), "format version 99.*Upgrade skdigits"),
        (_edit_header(classes={"dtype": "<i8", "values": 3}), "classes"),
        (_edit_header(classes={"dtype": "<M8", "values": [1, 2]}), "label dtype"),
        (_edit_header(classes={"dtype": "<i8", "values": [1, 0]}), "sorted"),
        (_edit_header(classes={"dtype": "<i8", "values": [0, 1]}), "10 prob.*2 cl"),
        (_edit_header(image_shape=["8", 8, 1]), "image_shape must be a list"),
        (_edit_header(image_shape=[4, 16, 1]), "the graph takes images"),
        (_edit_header(n_features_in=True), "n_features_in must be an int"),
        (_edit_header(input_scale=float("nan")), "input_scale"),
        (_edit_header(input_scale="16"), "input_scale"),
        (_edit_header(precision="float8"), "precision"),
        (_edit_header(tta_shift=-1), "tta_shift"),
        (_edit_header(metadata=[]), "metadata is not a dict"),
        (_edit_header(feature_names_in=[1] * 64), "feature_names_in"),
        (_edit_header(image_shape=None), "image_shape"),
    ],
)
def test_bad_metadata_is_a_value_error_naming_the_file(
    exported, tmp_path, change, match
):
    path = _rewritten(exported, tmp_path / "bad.onnx", change)
    with pytest.raises(ValueError, match=match) as error:
        load_onnx(path)
    assert repr(str(path)) in str(error.value)


def test_what_is_not_an_onnx_model_is_refused(fitted, tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"notes.onnx' is not an ONNX model"):
        load_onnx(text)
    save_model(fitted, tmp_path / "model.zip")
    with pytest.raises(ValueError, match=r"model.zip' is not an ONNX model"):
        load_onnx(tmp_path / "model.zip")
    with pytest.raises(ValueError, match="is a directory"):
        load_onnx(tmp_path)
    with pytest.raises(FileNotFoundError, match="No such ONNX file"):
        load_onnx(tmp_path / "none.onnx")


def test_the_size_cap_applies_to_the_bytes_read(exported, monkeypatch):
    size = os.path.getsize(exported)
    monkeypatch.setattr(_onnx_predictor, "MAX_ONNX_BYTES", size - 1)
    with pytest.raises(ValueError, match=f"larger than the {size - 1} bytes"):
        load_onnx(exported)
    monkeypatch.setattr(_onnx_predictor, "MAX_ONNX_BYTES", size)
    load_onnx(exported)


def test_a_bad_thread_count_is_refused(exported, monkeypatch):
    monkeypatch.setenv("SKDIGITS_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="SKDIGITS_NUM_THREADS must be a positive"):
        load_onnx(exported)


# --- no TensorFlow ------------------------------------------------------------------

_PREDICT_WITHOUT_TENSORFLOW = """
import sys
import numpy as np
from sklearn.pipeline import make_pipeline
import skdigits
from skdigits import load_onnx
from skdigits.preprocessing import MNISTNormalizer
clf = load_onnx(sys.argv[1])
X = np.load(sys.argv[2])
labels = clf.predict(X)
pipeline = make_pipeline(MNISTNormalizer(box_size=8, output_size=8), clf)
pipeline.predict(X.reshape(-1, 8, 8) * 16)
print(" ".join(map(str, labels)))
print("tensorflow" in sys.modules, "keras" in sys.modules)
"""


def test_prediction_never_imports_tensorflow(fitted, exported, digits, tmp_path):
    X = digits[1][:10]
    np.save(tmp_path / "X.npy", X)
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run(
        [sys.executable, "-c", _PREDICT_WITHOUT_TENSORFLOW, exported, "X.npy"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    labels, modules = done.stdout.splitlines()
    assert labels.split() == [str(c) for c in fitted.predict(X)]
    assert modules == "False False"


# --- real MNIST -----------------------------------------------------------------------


def test_parity_on_the_mnist_test_images(mnist_data_home, tmp_path):
    from skdigits.datasets import fetch_mnist

    X_train, y_train = fetch_mnist(
        subset="train", data_home=mnist_data_home, return_X_y=True
    )
    X_test, _ = fetch_mnist(subset="test", data_home=mnist_data_home, return_X_y=True)
    clf = CNNDigitClassifier(**{**FAST, "epochs": 2}, precision="float32")
    clf.fit(X_train[:2000], y_train[:2000])
    export_onnx(clf, tmp_path / "mnist.onnx")
    onnx_clf = load_onnx(tmp_path / "mnist.onnx")
    np.testing.assert_array_equal(onnx_clf.predict(X_test), clf.predict(X_test))
    np.testing.assert_allclose(
        onnx_clf.predict_proba(X_test), clf.predict_proba(X_test), atol=1e-5
    )

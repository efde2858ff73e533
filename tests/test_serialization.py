"""Model files: save_model / load_model, and pickle / joblib round trips."""

import copy
import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import joblib
import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import skdigits
from skdigits import CNNDigitClassifier, load_model, save_model

TINY = dict(filters=(8,), dense_units=16, epochs=2, random_state=0)


@pytest.fixture(scope="module")
def fitted(digits):
    X_train, _, y_train, _ = digits
    params = {**TINY, "callbacks__early_stopping__patience": 1, "batch_size": 64}
    return CNNDigitClassifier(**params).fit(X_train, y_train)


@pytest.fixture(scope="module")
def saved(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.zip"
    save_model(fitted, path, metadata={"dataset": "digits", "n": 3})
    return path


@pytest.fixture(scope="module")
def loaded(saved):
    return load_model(saved)


# --- round trip ---------------------------------------------------------------


def test_loaded_model_predicts_bit_for_bit(fitted, loaded, digits):
    X_test, y_test = digits[1], digits[3]
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), fitted.predict_proba(X_test)
    )
    np.testing.assert_array_equal(loaded.predict(X_test), fitted.predict(X_test))
    assert loaded.score(X_test, y_test) == fitted.score(X_test, y_test)


def test_loaded_model_has_the_fitted_state(fitted, loaded):
    assert type(loaded) is CNNDigitClassifier
    assert loaded.get_params() == fitted.get_params()
    assert repr(loaded) == repr(fitted)
    assert set(vars(loaded)) == set(vars(fitted))
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert loaded.classes_.dtype == fitted.classes_.dtype
    for name in (
        "n_classes_",
        "n_features_in_",
        "image_shape_",
        "input_scale_",
        "history_",
        "best_epoch_",
        "X_dtype_",
        "X_shape_",
        "n_outputs_expected_",
    ):
        assert getattr(loaded, name) == getattr(fitted, name), name
    assert isinstance(loaded.model_, keras.Model)
    assert loaded.model_.to_json() == fitted.model_.to_json()


def test_file_layout_is_a_zip_of_keras_model_and_json(saved):
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["estimator.json", "model.keras"]
        header = json.loads(archive.read("estimator.json"))
    assert header["format"] == "skdigits-model"
    assert header["format_version"] == 1
    assert header["skdigits_version"] == skdigits.__version__
    assert header["params"]["filters"] == {"__tuple__": [8]}
    assert header["fitted"]["classes"]["values"] == list(range(10))
    assert header["metadata"] == {"__dict__": {"dataset": "digits", "n": 3}}


def test_metadata_is_returned_on_request(saved):
    _, metadata = load_model(saved, return_metadata=True)
    assert metadata == {"dataset": "digits", "n": 3}


def test_loaded_model_can_be_cloned_and_refitted(saved, fitted, digits):
    X_train, X_test, y_train, _ = digits
    model = load_model(saved)
    assert clone(model).get_params() == fitted.get_params()
    model.set_params(epochs=1, validation_split=0).fit(X_train[:300], y_train[:300])
    assert len(model.history_["loss"]) == 1
    assert model.predict(X_test).shape == (len(X_test),)


def test_loaded_model_continues_training_with_partial_fit(saved, digits):
    X_train, _, y_train, _ = digits
    model = load_model(saved)
    n_epochs = len(model.history_["loss"])
    model.partial_fit(X_train[:200], y_train[:200])
    assert len(model.history_["loss"]) == n_epochs + 1


@pytest.mark.parametrize(
    "make_labels",
    [
        pytest.param(lambda y: np.array(["zero", "one", "two"])[y % 3], id="str"),
        pytest.param(lambda y: y % 2 == 0, id="bool"),
    ],
)
def test_labels_of_a_real_fit_come_back_with_their_dtype(make_labels, digits, tmp_path):
    X_train, X_test, y_train, _ = digits
    labels = make_labels(y_train[:200])
    params = {**TINY, "epochs": 1, "validation_split": 0}
    clf = CNNDigitClassifier(**params).fit(X_train[:200], labels)
    save_model(clf, tmp_path / "model.zip")
    loaded = load_model(tmp_path / "model.zip")
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    predicted = loaded.predict(X_test[:50])
    assert predicted.dtype == clf.predict(X_test[:50]).dtype
    np.testing.assert_array_equal(predicted, clf.predict(X_test[:50]))


@pytest.mark.parametrize(
    "classes",
    [
        np.arange(10, dtype=np.int32),
        np.arange(10, dtype=np.uint8) * 20,
        np.arange(10, dtype=np.float32) * 2,
        np.arange(10, dtype=np.float64) - 5,
        np.array(list("abcdefghij")),
        np.array([f"digit {d}" for d in range(10)], dtype=object),
    ],
    ids=lambda classes: str(classes.dtype),
)
def test_labels_come_back_with_their_dtype(fitted, digits, tmp_path, classes):
    relabeled = copy.copy(fitted)
    relabeled.classes_ = classes
    save_model(relabeled, tmp_path / "model.zip")
    loaded = load_model(tmp_path / "model.zip")
    assert loaded.classes_.dtype == classes.dtype
    np.testing.assert_array_equal(loaded.classes_, classes)
    X_test = digits[1]
    np.testing.assert_array_equal(loaded.predict(X_test), relabeled.predict(X_test))


def test_feature_names_are_kept(fitted, tmp_path):
    named = copy.copy(fitted)
    named.feature_names_in_ = np.array([f"px{i}" for i in range(64)], dtype=object)
    save_model(named, tmp_path / "model.zip")
    loaded = load_model(tmp_path / "model.zip")
    np.testing.assert_array_equal(loaded.feature_names_in_, named.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object


def test_numpy_and_nonfinite_parameters_round_trip(fitted, tmp_path):
    odd = copy.copy(fitted)
    odd.set_params(
        learning_rate=np.float32(0.001),
        batch_size=np.int64(64),
        callbacks__early_stopping__baseline=float("-inf"),
        callbacks=[],
    )
    save_model(odd, tmp_path / "model.zip")
    params = load_model(tmp_path / "model.zip").get_params()
    assert params == odd.get_params()
    assert type(params["learning_rate"]) is np.float32
    assert type(params["batch_size"]) is np.int64
    assert params["callbacks"] == []


def test_importing_skdigits_api_does_not_import_tensorflow():
    code = (
        "import sys, skdigits; skdigits.save_model; skdigits.load_model; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- pickle and joblib ------------------------------------------------------


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(fitted, digits, protocol):
    X_test = digits[1]
    restored = pickle.loads(pickle.dumps(fitted, protocol=protocol))
    assert type(restored) is CNNDigitClassifier
    assert restored.get_params() == fitted.get_params()
    np.testing.assert_array_equal(
        restored.predict_proba(X_test), fitted.predict_proba(X_test)
    )


def test_copies_share_or_copy_the_network(fitted, digits):
    shallow, deep = copy.copy(fitted), copy.deepcopy(fitted)
    assert shallow.model_ is fitted.model_
    assert deep.model_ is not fitted.model_
    np.testing.assert_array_equal(
        deep.predict_proba(digits[1]), fitted.predict_proba(digits[1])
    )


def test_a_subclass_own_reduce_is_kept(fitted):
    class Named(CNNDigitClassifier):
        def __reduce__(self):
            return "a_name"

    assert Named().__reduce_ex__(pickle.HIGHEST_PROTOCOL) == "a_name"


def test_save_after_pickling_in_the_same_process(fitted, digits, tmp_path):
    # scikeras registers Functional as a custom object ">Functional" when it
    # pickles a model; files saved afterwards name it so and must still load.
    pickle.dumps(fitted)
    save_model(fitted, tmp_path / "model.zip")
    with zipfile.ZipFile(tmp_path / "model.zip") as archive:
        with zipfile.ZipFile(io.BytesIO(archive.read("model.keras"))) as inner:
            config = json.loads(inner.read("config.json"))
    assert config["registered_name"] == ">Functional"
    X_test = digits[1]
    np.testing.assert_array_equal(
        load_model(tmp_path / "model.zip").predict_proba(X_test),
        fitted.predict_proba(X_test),
    )


def test_joblib_round_trip(fitted, digits, tmp_path):
    X_test = digits[1]
    joblib.dump(fitted, tmp_path / "model.joblib")
    restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(
        restored.predict_proba(X_test), fitted.predict_proba(X_test)
    )


# --- what cannot be saved ----------------------------------------------------


def test_unfitted_estimator_is_not_saved(tmp_path):
    with pytest.raises(NotFittedError):
        save_model(CNNDigitClassifier(), tmp_path / "model.zip")
    assert os.listdir(tmp_path) == []


def test_other_objects_are_not_saved(tmp_path):
    with pytest.raises(TypeError, match="saves a CNNDigitClassifier.*pickle"):
        save_model({"not": "an estimator"}, tmp_path / "model.zip")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "param, value",
    [
        ("callbacks", [keras.callbacks.TerminateOnNaN()]),
        ("random_state", np.random.RandomState(0)),
    ],
)
def test_non_plain_parameters_are_a_clear_error(fitted, tmp_path, param, value):
    odd = copy.copy(fitted)
    setattr(odd, param, value)
    with pytest.raises(TypeError, match=f"Cannot save parameter {param}=.*pickle"):
        save_model(odd, tmp_path / "model.zip")
    assert os.listdir(tmp_path) == []


def test_non_plain_metadata_is_a_clear_error(fitted, tmp_path):
    with pytest.raises(TypeError, match="metadata"):
        save_model(fitted, tmp_path / "model.zip", metadata={"when": object()})
    assert os.listdir(tmp_path) == []


# --- atomic writes -------------------------------------------------------------


@pytest.mark.parametrize(
    "error", [OSError("No space left on device"), KeyboardInterrupt()]
)
def test_failed_save_leaves_no_file_and_keeps_the_old_one(
    fitted, tmp_path, monkeypatch, error
):
    target = tmp_path / "model.zip"
    target.write_bytes(b"the previous model")

    writestr = zipfile.ZipFile.writestr
    calls = []

    def fail_on_the_state(self, name, *args, **kwargs):
        # model.keras is already in the archive when this fails.
        calls.append(name)
        if name == "estimator.json":
            raise error
        return writestr(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail_on_the_state)
    with pytest.raises(type(error)):
        save_model(fitted, target)
    assert "estimator.json" in calls
    assert os.listdir(tmp_path) == ["model.zip"]
    assert target.read_bytes() == b"the previous model"

    monkeypatch.undo()
    save_model(fitted, target)  # and a later save replaces it
    assert os.listdir(tmp_path) == ["model.zip"]
    assert zipfile.is_zipfile(target)


def test_overwriting_keeps_the_mode(fitted, tmp_path):
    target = tmp_path / "model.zip"
    target.write_bytes(b"the previous model")
    target.chmod(0o600)
    save_model(fitted, target)
    assert target.stat().st_mode & 0o777 == 0o600
    assert zipfile.is_zipfile(target)


def test_a_new_file_gets_the_umask_mode(fitted, tmp_path):
    umask = os.umask(0o027)
    try:
        save_model(fitted, tmp_path / "model.zip")
    finally:
        os.umask(umask)
    assert (tmp_path / "model.zip").stat().st_mode & 0o777 == 0o640


def test_stale_temporary_files_of_the_target_are_removed(fitted, tmp_path):
    stale = tmp_path / ".model.zip.k1ll3d.skdigits-tmp"
    stale.write_bytes(b"half a model")
    (tmp_path / ".model.zip.k1ll3d.skdigits-tmp.keras").write_bytes(b"half")
    other = tmp_path / ".other.zip.k1ll3d.skdigits-tmp"
    other.write_bytes(b"another target's")
    save_model(fitted, tmp_path / "model.zip")
    assert sorted(os.listdir(tmp_path)) == [other.name, "model.zip"]


@pytest.mark.skipif(sys.platform == "win32", reason="no file locks")
def test_the_temporary_file_of_a_save_in_progress_is_kept(fitted, tmp_path):
    import fcntl

    live = tmp_path / ".model.zip.l1v3.skdigits-tmp"
    live.write_bytes(b"being written")
    with open(live, "rb+") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        save_model(fitted, tmp_path / "model.zip")
    assert sorted(os.listdir(tmp_path)) == [live.name, "model.zip"]


def test_save_uses_no_system_temporary_folder(fitted, tmp_path, monkeypatch):
    import tempfile

    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    target_dir = tmp_path / "models"
    target_dir.mkdir()

    writestr = zipfile.ZipFile.writestr
    seen = []

    def look_while_writing(self, name, *args, **kwargs):
        # Keras makes (and removes) an empty folder there while it saves the
        # network; nothing of skdigits' goes there.
        if name == "estimator.json":
            seen.append(os.listdir(system_temp))
        return writestr(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", look_while_writing)
    save_model(fitted, target_dir / "model.zip")
    assert seen == [[]]
    assert os.listdir(system_temp) == []
    assert os.listdir(target_dir) == ["model.zip"]


_SLOW_SAVE = """
import sys, time, zipfile
from skdigits import load_model, save_model

model = load_model(sys.argv[1])
write = zipfile.ZipFile.writestr

def slow(self, name, *args, **kwargs):
    if name == "estimator.json":  # the network is written by then
        print("writing", flush=True)
        time.sleep(60)
    return write(self, name, *args, **kwargs)

zipfile.ZipFile.writestr = slow
save_model(model, sys.argv[2])
"""


def test_a_killed_save_leaves_only_what_the_next_save_removes(saved, fitted, tmp_path):
    import signal

    target_dir, system_temp = tmp_path / "models", tmp_path / "system-temp"
    target_dir.mkdir()
    system_temp.mkdir()
    target = target_dir / "model.zip"
    env = {**os.environ, "TMPDIR": str(system_temp), "SKDIGITS_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_SAVE, str(saved), str(target)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stdout.readline() == "writing\n"
        left = sorted(os.listdir(target_dir))
        assert len(left) == 2, left
        assert all(n.startswith(".model.zip.") and ".skdigits-tmp" in n for n in left)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert sorted(os.listdir(target_dir)) == left
    assert os.listdir(system_temp) == []
    save_model(fitted, target)
    assert os.listdir(target_dir) == ["model.zip"]


def test_save_into_a_missing_directory_fails_cleanly(fitted, tmp_path):
    with pytest.raises(FileNotFoundError, match="No such directory"):
        save_model(fitted, tmp_path / "missing" / "model.zip")
    assert os.listdir(tmp_path) == []


# --- what cannot be loaded ---------------------------------------------------


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _rewrite_header(saved, path, change):
    with zipfile.ZipFile(saved) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(members["estimator.json"])
    change(header)
    members["estimator.json"] = json.dumps(header)
    return _zip(path, members)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="No such model file.*nothing.zip"):
        load_model(tmp_path / "nothing.zip")


@pytest.mark.parametrize(
    "name, data, match",
    [
        ("random.zip", bytes(range(256)) * 8, "not a skdigits model file.*not a zip"),
        ("notes.txt", b"just some text\n", "not a skdigits model file.*not a zip"),
        ("empty.zip", b"", "not a skdigits model file.*not a zip"),
    ],
)
def test_non_model_files_are_a_clear_error(tmp_path, name, data, match):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match) as info:
        load_model(path)
    assert name in str(info.value)


def test_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        load_model(tmp_path)


def test_plain_zip_is_a_clear_error(tmp_path):
    path = _zip(tmp_path / "plain.zip", {"readme.txt": "hello"})
    with pytest.raises(ValueError, match="plain.zip.*no estimator.json"):
        load_model(path)


def test_bare_keras_file_is_a_clear_error(fitted, tmp_path):
    path = tmp_path / "network.keras"
    fitted.model_.save(path)
    with pytest.raises(ValueError, match="network.keras.*Keras model file.*keras.sav"):
        load_model(path)


def test_file_without_newer_parameters_gets_the_values_it_was_fit_with(
    tmp_path, digits
):
    # A file written before kernel_size and convs_per_block existed, when the
    # default network was two 3 x 3 convolutions a block fit on a 10 % split:
    # loaded, it keeps those values (not today's defaults), so that a clone
    # builds the network the file holds.
    X_train, y_train = digits[0][:200], digits[2][:200]
    older = dict(kernel_size=3, convs_per_block=2, validation_split=0.1)
    clf = CNNDigitClassifier(**{**TINY, **older, "epochs": 1})
    save_model(clf.fit(X_train, y_train), tmp_path / "written.zip")

    def drop(header):
        for name in older:
            header["params"].pop(name)

    loaded = load_model(
        _rewrite_header(tmp_path / "written.zip", tmp_path / "older.zip", drop)
    )
    assert CNNDigitClassifier().kernel_size == "auto"
    assert {name: getattr(loaded, name) for name in older} == older

    def kernels(estimator):
        return [
            layer.kernel_size[0]
            for layer in estimator.model_.layers
            if isinstance(layer, keras.layers.Conv2D)
        ]

    assert kernels(loaded) == [3, 3]
    assert kernels(clone(loaded).fit(X_train, y_train)) == [3, 3]


def test_newer_format_version_is_a_clear_error(saved, tmp_path):
    path = _rewrite_header(
        saved, tmp_path / "future.zip", lambda h: h.update(format_version=99)
    )
    with pytest.raises(ValueError, match="future.zip.*format version 99.*Upgrade"):
        load_model(path)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda h: h.update(format="something-else"), "does not declare the format"),
        (lambda h: h.update(format_version="1"), "invalid format_version"),
        (lambda h: h.update({"class": "os.system"}), "cannot load"),
        (lambda h: h["fitted"].pop("classes"), "damaged.*classes"),
        (lambda h: h["fitted"].update(image_shape=[4, 4, 1]), "damaged"),
        (lambda h: h["params"].update(epochs={"__code__": 1}), "damaged"),
        (lambda h: h["params"].update(bogus=1), "damaged.*bogus"),
    ],
)
def test_damaged_state_is_a_clear_error(saved, tmp_path, change, match):
    path = _rewrite_header(saved, tmp_path / "damaged.zip", change)
    with pytest.raises(ValueError, match=match) as info:
        load_model(path)
    assert "damaged.zip" in str(info.value)


def _set_fitted(**values):
    return lambda h: h["fitted"].update(values)


def _set_param(**values):
    return lambda h: h["params"].update(values)


@pytest.mark.parametrize(
    "change, match",
    [
        (
            _set_fitted(
                classes={"dtype": "<i8", "values": [0, 1, 1, 3, 4, 5, 6, 7, 8, 9]}
            ),
            "classes must be unique and sorted",
        ),
        (
            _set_fitted(
                classes={"dtype": "<i8", "values": [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]}
            ),
            "classes must be unique and sorted",
        ),
        (_set_fitted(input_scale=0), "input_scale must be a finite number > 0"),
        (_set_fitted(input_scale=-16.0), "input_scale must be a finite number > 0"),
        (
            _set_fitted(input_scale={"__float__": "inf"}),
            "input_scale must be a finite number > 0",
        ),
        (_set_fitted(input_scale="16"), "input_scale must be a finite number > 0"),
        (_set_fitted(n_features_in=True), "n_features_in must be an int >= 1"),
        (_set_fitted(n_features_in=64.0), "n_features_in must be an int >= 1"),
        (_set_fitted(image_shape=[8, 8]), "image_shape must be a list of 3 ints >= 1"),
        (
            _set_fitted(image_shape=[8, 8, "1"]),
            "image_shape must be a list of 3 ints >= 1",
        ),
        (_set_fitted(X_shape=[-1, 8, 8, 1]), "X_shape must be a list of ints >= 0"),
        (_set_fitted(X_dtype=8), "X_dtype must be"),
        (_set_fitted(best_epoch=-1), "best_epoch must be an int >= 0"),
        (_set_fitted(best_epoch="2"), "best_epoch must be an int >= 0"),
        (
            _set_fitted(history={"__dict__": {"loss": ["a"]}}),
            "history must be a dict of lists of numbers",
        ),
        (
            _set_fitted(history={"__dict__": {"loss": 1.0}}),
            "history must be a dict of lists of numbers",
        ),
        (_set_fitted(history=[1.0]), "history must be a dict of lists of numbers"),
        (_set_fitted(feature_names_in=["a"]), "feature_names_in must be a list of"),
        (_set_param(epochs=0), "params: epochs must be a positive int"),
        (_set_param(validation_split=2.0), "params: validation_split must be in"),
        (_set_param(padding="full"), "params: padding must be"),
        (_set_param(filters={"__tuple__": [8, -1]}), "params: filters must be"),
    ],
)
def test_inconsistent_state_is_a_clear_error(saved, tmp_path, change, match):
    path = _rewrite_header(saved, tmp_path / "inconsistent.zip", change)
    with pytest.raises(ValueError, match=match) as info:
        load_model(path)
    assert "inconsistent.zip" in str(info.value)
    assert "damaged skdigits model file" in str(info.value)


def test_invalid_json_is_a_clear_error(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        network = archive.read("model.keras")
    path = _zip(
        tmp_path / "bad.zip", {"model.keras": network, "estimator.json": "{oops"}
    )
    with pytest.raises(ValueError, match="bad.zip.*damaged.*estimator.json"):
        load_model(path)


def _rewrite_network(saved, path, change):
    """A copy of the model file ``saved`` whose network config ``change`` edits."""
    with zipfile.ZipFile(saved) as archive:
        header = archive.read("estimator.json")
        with zipfile.ZipFile(io.BytesIO(archive.read("model.keras"))) as inner:
            parts = {name: inner.read(name) for name in inner.namelist()}
    config = json.loads(parts["config.json"])
    change(config)
    parts["config.json"] = json.dumps(config)
    network = io.BytesIO()
    with zipfile.ZipFile(network, "w") as inner:
        for name, data in parts.items():
            inner.writestr(name, data)
    return _zip(path, {"model.keras": network.getvalue(), "estimator.json": header})


def _layer(config, class_name):
    layers = config["config"]["layers"]
    return next(layer for layer in layers if layer["class_name"] == class_name)


def test_network_naming_foreign_code_is_refused(saved, tmp_path):
    def change(config):
        layer = config["config"]["layers"][1]
        layer["module"], layer["class_name"] = "os", "system"

    path = _rewrite_network(saved, tmp_path / "evil.zip", change)
    with pytest.raises(ValueError, match="evil.zip.*'system' from 'os'.*not loaded"):
        load_model(path)


@pytest.fixture
def registered_objects():
    """A function and a layer registered with Keras, counting their calls."""
    calls = []

    @keras.saving.register_keras_serializable(package="skdigits_test")
    def counting_activation(x):
        calls.append("activation")
        return keras.activations.relu(x)

    # Registered as ">CountingLayer", as Keras' own Functional is after pickling.
    @keras.saving.register_keras_serializable(package="")
    class CountingLayer(keras.layers.Layer):
        def __init__(self, **kwargs):
            calls.append("layer")
            super().__init__(name=kwargs.get("name"))

        def call(self, x):
            return x

    yield calls
    for key in ("skdigits_test>counting_activation", ">CountingLayer"):
        keras.saving.get_custom_objects().pop(key, None)


@pytest.mark.parametrize(
    "change, named",
    [
        pytest.param(
            # Keras resolves a function's name through the registry first,
            # whatever module the node names: this loaded, and ran it.
            lambda c: _layer(c, "Dense")["config"].update(
                activation={
                    "module": "keras.activations",
                    "class_name": "function",
                    "config": "skdigits_test>counting_activation",
                    "registered_name": None,
                }
            ),
            "function",
            id="registered-function",
        ),
        pytest.param(
            lambda c: _layer(c, "Dense")["config"].update(
                activation="skdigits_test>counting_activation"
            ),
            "skdigits_test>counting_activation",
            id="name-of-a-registered-function",
        ),
        pytest.param(
            lambda c: _layer(c, "Dropout").update(
                module="keras.layers",
                class_name="CountingLayer",
                registered_name=">CountingLayer",
            ),
            ">CountingLayer",
            id="registered-layer",
        ),
        pytest.param(
            lambda c: _layer(c, "Dense")["config"].update(
                activation={
                    "module": "keras.activations",
                    "class_name": "function",
                    "config": "relu",
                    "registered_name": "skdigits_test>counting_activation",
                }
            ),
            "function",
            id="function-with-a-registered-name",
        ),
    ],
)
def test_network_naming_registered_code_is_refused(
    saved, tmp_path, registered_objects, change, named
):
    path = _rewrite_network(saved, tmp_path / "registered.zip", change)
    with pytest.raises(ValueError) as info:
        load_model(path)
    message = str(info.value)
    assert "registered.zip" in message and "not a Keras object" in message
    assert repr(named) in message
    assert registered_objects == []


def test_network_with_bfloat16_batch_norm_and_augmentation_loads(digits, tmp_path):
    X_train, X_test, y_train, _ = digits
    clf = CNNDigitClassifier(
        **{**TINY, "epochs": 1},
        precision="bfloat16",
        batch_norm=True,
        rotation_range=10,
        shift_range=0.1,
        zoom_range=0.1,
    ).fit(X_train[:200], y_train[:200])
    pickle.loads(pickle.dumps(clf))  # registers ">Functional"
    save_model(clf, tmp_path / "model.zip")
    loaded = load_model(tmp_path / "model.zip")
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), clf.predict_proba(X_test)
    )


def test_damaged_network_is_a_clear_error(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        header = archive.read("estimator.json")
    path = _zip(
        tmp_path / "broken.zip",
        {"model.keras": b"not a keras file", "estimator.json": header},
    )
    with pytest.raises(ValueError, match="broken.zip.*damaged.*model.keras"):
        load_model(path)


# --- size caps -----------------------------------------------------------------


def _deflated_zip(path, members):
    """A zip whose members are compressed, so that large members stay small."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _network_member(saved):
    with zipfile.ZipFile(saved) as archive:
        return archive.read("estimator.json"), archive.read("model.keras")


def test_large_estimator_json_is_refused(saved, tmp_path):
    header, network = _network_member(saved)
    state = json.loads(header)
    state["metadata"] = {"__dict__": {"padding": " " * (16 * 2**20)}}
    path = _deflated_zip(
        tmp_path / "big.zip",
        {"model.keras": network, "estimator.json": json.dumps(state)},
    )
    assert path.stat().st_size < 2**20
    with pytest.raises(
        ValueError, match=r"big.zip.*estimator.json holds more than the 16777216 bytes"
    ):
        load_model(path)


def test_large_config_in_the_network_is_refused(saved, tmp_path):
    header, _ = _network_member(saved)
    network = _deflated_zip(
        tmp_path / "model.keras",
        {"config.json": b" " * (4 * 2**20) + b"{}", "metadata.json": b"{}"},
    ).read_bytes()
    members = {"model.keras": network, "estimator.json": header}
    path = _zip(tmp_path / "big.zip", members)
    assert path.stat().st_size < 2**20
    match = r"big.zip.*model.keras/config.json holds more than the 4194304 bytes"
    with pytest.raises(ValueError, match=match):
        load_model(path)


def test_large_weights_in_the_network_are_refused(saved, tmp_path, monkeypatch):
    monkeypatch.setattr(skdigits._serialization, "_MAX_MODEL_BYTES", 2**20)
    header, network = _network_member(saved)
    with zipfile.ZipFile(io.BytesIO(network)) as inner:
        parts = {name: inner.read(name) for name in inner.namelist()}
    parts["model.weights.h5"] = bytes(2**20)
    network = _deflated_zip(tmp_path / "model.keras", parts).read_bytes()
    members = {"model.keras": network, "estimator.json": header}
    path = _zip(tmp_path / "big.zip", members)
    with pytest.raises(ValueError, match=r"big.zip.*model.keras holds more than"):
        load_model(path)


def test_large_network_member_is_refused(saved, tmp_path, monkeypatch):
    monkeypatch.setattr(skdigits._serialization, "_MAX_MODEL_BYTES", 2**20)
    header, _ = _network_member(saved)
    path = _deflated_zip(
        tmp_path / "big.zip",
        {"model.keras": bytes(2**20 + 1), "estimator.json": header},
    )
    with pytest.raises(ValueError, match=r"big.zip.*model.keras holds more than"):
        load_model(path)
    assert os.listdir(tmp_path) == ["big.zip"]


def test_capped_reads_stop_one_byte_past_the_cap():
    from skdigits._serialization import _read_capped

    source = io.BytesIO(bytes(10_000))
    assert _read_capped(source, 1000) is None
    assert source.tell() == 1001
    assert _read_capped(io.BytesIO(b"abc"), 3) == b"abc"


def test_the_caps_are_documented():
    doc = load_model.__doc__
    for size in ("16 MiB", "512 MiB", "4 MiB"):
        assert size in doc


def _patch_member(path, member, *, flag_bits=None, compression=None):
    """Rewrite a stored member's zip headers: encryption flag, compression id."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    local = info.header_offset
    central = data.index(b"PK\x01\x02")
    # Find this member's central directory record by its name.
    name = member.encode()
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    if flag_bits is not None:
        data[local + 6 : local + 8] = flag_bits.to_bytes(2, "little")
        data[central + 8 : central + 10] = flag_bits.to_bytes(2, "little")
    if compression is not None:
        data[local + 8 : local + 10] = compression.to_bytes(2, "little")
        data[central + 10 : central + 12] = compression.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("member", ["estimator.json", "model.keras"])
@pytest.mark.parametrize(
    "patch, match",
    [({"flag_bits": 0x1}, "encrypted"), ({"compression": 99}, "compression")],
)
def test_encrypted_or_unknown_compression_members_are_value_errors(
    saved, tmp_path, member, patch, match
):
    with zipfile.ZipFile(saved) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    path = _patch_member(_zip(tmp_path / "odd.zip", members), member, **patch)
    with pytest.raises(ValueError, match=rf"odd\.zip.*{match}"):
        load_model(path)


def test_deeply_nested_state_is_a_value_error(tmp_path):
    path = _zip(
        tmp_path / "deep.zip",
        {"estimator.json": "[" * 100_000 + "]" * 100_000, "model.keras": b"x"},
    )
    with pytest.raises(ValueError, match=r"deep\.zip' is a damaged skdigits model"):
        load_model(path)

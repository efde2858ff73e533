"""The precision parameter: the decision, the network's dtypes, fits in each."""

import keras
import numpy as np
import pytest
from _configs import FAST

from skdigits import CNNDigitClassifier, _precision, load_model, save_model
from skdigits._precision import cpu_flags, native_bfloat16, resolve_precision

# /proc/cpuinfo lines of the processors this project was measured on.
SAPPHIRE_RAPIDS = "fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8"
EPYC_ZEN3 = "fpu avx2 fma sha_ni"
EPYC_ZEN4 = "fpu avx2 avx512f avx512_bf16 avx512_vnni"


# --- the decision ------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, gpus, expected",
    [
        (SAPPHIRE_RAPIDS, [], "bfloat16"),
        (EPYC_ZEN4, [], "bfloat16"),
        (EPYC_ZEN3, [], "float32"),
        ("amx_bf16", [], "bfloat16"),
        ("", [], "float32"),
        # With a GPU the network runs there: the GPU decides.
        (EPYC_ZEN3, [(9, 0)], "bfloat16"),
        (SAPPHIRE_RAPIDS, [(7, 5)], "float32"),
        (EPYC_ZEN3, [(8, 0), (7, 0)], "float32"),
    ],
)
def test_auto_is_bfloat16_only_where_native(flags, gpus, expected):
    assert resolve_precision("auto", flags=set(flags.split()), gpus=gpus) == expected


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_explicit_precision_is_kept_whatever_the_hardware(precision):
    for flags in (set(), set(SAPPHIRE_RAPIDS.split())):
        assert resolve_precision(precision, flags=flags, gpus=[]) == precision


@pytest.mark.parametrize("bad", ["float16", "bf16", "", None, 32, "AUTO"])
def test_unknown_precision_is_refused_with_the_choices(bad):
    with pytest.raises(ValueError, match="precision must be one of 'auto'"):
        resolve_precision(bad)


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC\n"
        f"flags\t\t: {EPYC_ZEN4}\n\nprocessor\t: 1\nflags\t\t: other\n"
    )
    assert cpu_flags(str(cpuinfo)) == frozenset(EPYC_ZEN4.split())
    assert native_bfloat16(flags=cpu_flags(str(cpuinfo)), gpus=[])


def test_cpu_flags_of_a_machine_without_cpuinfo_are_empty(tmp_path):
    assert cpu_flags(str(tmp_path / "missing")) == frozenset()
    assert resolve_precision("auto", flags=cpu_flags(str(tmp_path)), gpus=[]) == (
        "float32"
    )


def test_auto_uses_this_machines_flags(monkeypatch):
    monkeypatch.setattr(_precision, "gpu_compute_capabilities", lambda: [])
    for flags, expected in [(SAPPHIRE_RAPIDS, "bfloat16"), (EPYC_ZEN3, "float32")]:
        monkeypatch.setattr(
            _precision, "_this_cpu_flags", lambda f=flags: set(f.split())
        )
        assert resolve_precision("auto") == expected


# --- the estimator -----------------------------------------------------------


@pytest.fixture(scope="module", params=["float32", "bfloat16"])
def fitted(request, digits):
    X_train, _, y_train, _ = digits
    return CNNDigitClassifier(precision=request.param, **FAST).fit(X_train, y_train)


def test_both_precisions_learn_the_8x8_digits(fitted, digits):
    _, X_test, _, y_test = digits
    assert fitted.score(X_test, y_test) > 0.95


def test_network_computes_in_the_precision_and_outputs_float32(fitted, digits):
    compute = {"float32": "float32", "bfloat16": "bfloat16"}[fitted.precision_]
    model = fitted.model_
    assert model.get_layer("block1_conv1").compute_dtype == compute
    assert model.get_layer("dense").compute_dtype == compute
    # Weights, input scaling, softmax and so the loss stay float32.
    assert all(w.dtype == "float32" for w in model.weights)
    assert model.get_layer("rescale").compute_dtype == "float32"
    assert model.get_layer("softmax").compute_dtype == "float32"
    proba = fitted.predict_proba(digits[1])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_precision_is_a_fitted_attribute_stored_in_model_files(fitted, tmp_path):
    path = tmp_path / "model.zip"
    save_model(fitted, path)
    loaded = load_model(path)
    assert loaded.precision_ == fitted.precision_
    assert loaded.model_.get_layer("block1_conv1").compute_dtype == (
        fitted.model_.get_layer("block1_conv1").compute_dtype
    )


def test_auto_decides_at_fit(monkeypatch, digits):
    X_train, _, y_train, _ = digits
    for native, expected in [(True, "bfloat16"), (False, "float32")]:
        monkeypatch.setattr(
            _precision, "native_bfloat16", lambda native=native, **_: native
        )
        clf = CNNDigitClassifier(**{**FAST, "epochs": 1}).fit(X_train, y_train)
        assert clf.precision == "auto"
        assert clf.precision_ == expected
        assert clf.model_.get_layer("block1_conv1").compute_dtype == expected


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "float16"])
def test_global_policy_is_neither_read_nor_changed(policy, digits):
    X_train, _, y_train, _ = digits
    keras.config.set_dtype_policy(policy)
    try:
        clf = CNNDigitClassifier(precision="float32", **{**FAST, "epochs": 1})
        clf.fit(X_train, y_train)
        assert keras.config.dtype_policy().name == policy
    finally:
        keras.config.set_dtype_policy("float32")
    model = clf.model_
    assert model.input.dtype == "float32"
    computing = [layer for layer in model.layers if layer is not model.layers[0]]
    assert {layer.compute_dtype for layer in computing} == {"float32"}


def test_bfloat16_fit_is_reproducible(digits):
    X_train, X_test, y_train, _ = digits
    params = {**FAST, "epochs": 3, "precision": "bfloat16"}
    first = CNNDigitClassifier(**params).fit(X_train, y_train)
    second = CNNDigitClassifier(**params).fit(X_train, y_train)
    np.testing.assert_array_equal(
        first.predict_proba(X_test), second.predict_proba(X_test)
    )


def test_bad_precision_is_refused_before_any_work(fitted, digits):
    X_train, X_test, y_train, _ = digits
    before = fitted.predict_proba(X_test)
    with pytest.raises(ValueError, match="precision must be one of"):
        fitted.set_params(precision="half").fit(X_train, y_train)
    fitted.set_params(precision=fitted.precision_)
    np.testing.assert_array_equal(fitted.predict_proba(X_test), before)

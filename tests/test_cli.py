"""The command line: ``python -m skdigits train / evaluate / predict``."""

import contextlib
import io
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
from _crafted_files import png_declaring
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import skdigits
import skdigits._pretrained
import skdigits.datasets
from skdigits import CNNDigitClassifier, load_model, save_model
from skdigits._callbacks import DEFAULT_CALLBACKS
from skdigits._cli import (
    DATASET_PARAMS,
    _drop_log_lines,
    _static_param_names,
    _to_model_input,
    main,
)
from skdigits.preprocessing import MNISTNormalizer

TINY = ["--set", "filters=(8,)", "--set", "dense_units=16", "--set", "epochs=2"]
PNG = b"\x89PNG\r\n\x1a\n"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _run(argv, *, terminal=False):
    """``main(argv)`` with its exit status, stdout and stderr."""
    out, err = (_Terminal() if terminal else io.StringIO()), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model file trained by the command line on the 8x8 digits, once."""
    folder = tmp_path_factory.mktemp("trained")
    model, history = folder / "model.zip", folder / "history.png"
    status, out, err = _run(
        ["train", "--dataset", "digits", "-o", model, "--plot-history", history]
        + [*TINY, "--random-state", "0"]
    )
    assert status == 0, err
    return types.SimpleNamespace(model=model, history=history, out=out)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """Two digit photos: 8x8 test digits enlarged, dark ink on light paper."""
    folder = tmp_path_factory.mktemp("images")
    digits = load_digits()
    paths = []
    for index in (0, 1):  # a 0 and a 1
        grey = 255 - (digits.images[index] * (255 / 16)).astype(np.uint8)
        path = folder / f"digit{index}.png"
        Image.fromarray(grey).resize((64, 64), Image.Resampling.BILINEAR).save(path)
        paths.append(str(path))
    return paths


def _is_png(path):
    with open(path, "rb") as file:
        return file.read(8) == PNG


# --- help and version ----------------------------------------------------------


@pytest.mark.parametrize(
    "command", [[], ["train"], ["evaluate"], ["predict"], ["export"]]
)
def test_help(command, capsys):
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: skdigits")
    if not command:
        assert all(name in out for name in ("train", "evaluate", "predict", "export"))


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"skdigits {skdigits.__version__}"


# --- train, evaluate, predict on the 8x8 digits ---------------------------------


def test_train_writes_a_model_file_and_a_summary(trained):
    model, metadata = load_model(trained.model, return_metadata=True)
    assert metadata == {
        "dataset": "digits",
        "n_train": 1347,
        "split": {"test_size": 0.25, "random_state": 0},
    }
    assert model.get_params()["filters"] == (8,)
    assert model.get_params()["dense_units"] == 16
    # The 8x8 digits' preset (small data: small batches), under --set's epochs.
    assert model.batch_size == DATASET_PARAMS["digits"]["batch_size"] == 32
    assert model.rotation_range == model.shift_range == model.zoom_range == 0
    assert model.epochs == 2
    assert model.random_state == 0
    assert model.verbose == 0  # not a terminal
    for label in (
        "dataset:",
        "epochs run:",
        "best epoch:",
        "validation accuracy:",
        "fit time:",
        f"model written:       {trained.model}",
        f"learning curves:     {trained.history}",
    ):
        assert label in trained.out
    assert "1347 training images" in trained.out
    assert _is_png(trained.history)
    assert sorted(os.listdir(trained.model.parent)) == ["history.png", "model.zip"]


def test_evaluate_uses_the_held_out_digits(trained, tmp_path):
    cm, samples = tmp_path / "cm.png", tmp_path / "samples.png"
    status, out, err = _run(
        ["evaluate", trained.model, "--confusion-matrix", cm, "--samples", samples]
    )
    assert status == 0, err
    X, y = load_digits(return_X_y=True)
    _, X_test, _, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    accuracy = load_model(trained.model).score(X_test, y_test)
    assert f"accuracy: {accuracy:.4f}" in out
    assert "450 test images" in out
    assert "precision" in out and "macro avg" in out
    assert _is_png(cm) and _is_png(samples)
    assert sorted(os.listdir(tmp_path)) == ["cm.png", "samples.png"]


def test_evaluate_mistakes_only(trained, tmp_path):
    samples = tmp_path / "mistakes.png"
    status, _, err = _run(
        ["evaluate", trained.model, "--samples", samples, "--mistakes-only"]
    )
    assert status == 0, err
    assert _is_png(samples)


def test_predict_prints_a_digit_per_image(trained, images):
    status, out, err = _run(["predict", "--model", trained.model, *images])
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, images, strict=True):
        assert line.startswith(path)
        assert "(p=" in line


def test_predict_without_a_model_uses_the_shipped_one(tmp_path):
    """A newcomer's first command works before any training."""
    from _digit_images import render_digits

    digit_images, labels = render_digits(1, random_state=0)
    paths = []
    for image, label in zip(digit_images, labels, strict=True):
        paths.append(str(tmp_path / f"printed_{label}.png"))
        Image.fromarray(image).save(paths[-1])
    status, out, err = _run(["predict", *paths, "--json"])
    assert status == 0, err
    read = [r["label"] for r in json.loads(out)]
    assert np.mean(np.asarray(read) == np.asarray(labels)) >= 0.8


def test_predict_without_a_model_when_the_shipped_one_is_missing(
    monkeypatch, images, tmp_path
):
    missing = tmp_path / "mnist_cnn.zip"
    monkeypatch.setattr(
        skdigits._pretrained, "pretrained_path", lambda: os.fspath(missing)
    )
    status, out, err = _run(["predict", *images])
    assert status == 2 and out == ""
    assert err.count("\n") == 1
    assert str(missing) in err and "--model" in err


def test_predict_json(trained, images):
    status, out, err = _run(["predict", "--model", trained.model, *images, "--json"])
    assert status == 0, err
    results = json.loads(out)
    assert [r["path"] for r in results] == images
    for result in results:
        assert set(result) == {"path", "label", "probability", "probabilities"}
        assert isinstance(result["label"], int)
        probabilities = result["probabilities"]
        assert sorted(probabilities) == [str(d) for d in range(10)]
        assert sum(probabilities.values()) == pytest.approx(1, abs=1e-5)
        assert result["probability"] == max(probabilities.values())
        assert probabilities[str(result["label"])] == result["probability"]


def test_predict_tta_shift_overrides_the_models(trained, images, tmp_path):
    from skdigits import load_model, save_model

    shifted = tmp_path / "shifted.zip"  # the model, saved with tta_shift=1
    save_model(load_model(trained.model).set_params(tta_shift=1), shifted)
    results = []
    for argv in (
        ["--model", shifted],
        ["--model", trained.model, "--tta-shift", "1"],
        ["--model", shifted, "--tta-shift", "0"],
        ["--model", trained.model],
    ):
        status, out, err = _run(["predict", *argv, *images, "--json"])
        assert status == 0, err
        results.append([r["probabilities"] for r in json.loads(out)])
    assert results[1] == results[0]  # --tta-shift 1 predicts as tta_shift=1
    assert results[2] == results[3]  # and 0 as the model without it
    assert results[0] != results[3]


def test_predict_says_blank_for_an_image_without_ink(trained, images, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (64, 64), 255).save(blank)
    paths = [images[0], str(blank), images[1]]
    status, out, err = _run(["predict", "--model", trained.model, *paths])
    assert status == 0, err
    lines = out.splitlines()
    assert lines[1].startswith(str(blank))
    assert lines[1].endswith("  blank  (no ink found)")
    assert "(p=" in lines[0] and "(p=" in lines[2]

    status, out, err = _run(["predict", "--model", trained.model, *paths, "--json"])
    assert status == 0, err
    results = json.loads(out)
    assert results[1] == {
        "path": str(blank),
        "label": None,
        "probability": None,
        "probabilities": None,
    }
    # The others are classified as without the blank one among them.
    _, alone, _ = _run(
        ["predict", "--model", trained.model, images[0], images[1], "--json"]
    )
    assert [results[0], results[2]] == json.loads(alone)


def test_predict_warns_of_frames_in_one_line(trained, images, tmp_path):
    first = Image.open(images[0])
    animated = tmp_path / "animated.gif"
    first.save(animated, save_all=True, append_images=[Image.new("L", first.size)])
    status, out, err = _run(["predict", "--model", trained.model, animated])
    assert status == 0, err
    assert err == (
        f"skdigits: warning: {str(animated)!r} has 2 frames (an animated or "
        "multi-page image); only the first is read.\n"
    )
    assert len(out.splitlines()) == 1


def test_images_are_brought_to_the_models_form():
    ink = np.full((40, 30), 255, dtype=np.uint8)
    ink[5:35, 12:18] = 0  # a "1", dark on light
    small = types.SimpleNamespace(image_shape_=(8, 8, 1), input_scale_=16.0)
    X = _to_model_input([ink], small)
    assert X.shape == (1, 8, 8)
    assert X.max() == 16.0
    rows = np.flatnonzero(X[0].any(axis=1))
    assert (rows.min(), rows.max()) == (0, 7)  # the whole frame, as 8x8 digits

    mnist = types.SimpleNamespace(image_shape_=(28, 28, 1), input_scale_=255.0)
    X = _to_model_input([ink], mnist)
    assert X.shape == (1, 28, 28)
    assert X.max() == 255.0
    rows = np.flatnonzero(X[0].any(axis=1))
    assert rows.max() - rows.min() + 1 == 20  # MNIST's 20x20 box
    # With MNIST's stroke width: the normalizer's output at stroke_width=2.8.
    expected = MNISTNormalizer(stroke_width=2.8, flatten=False).fit_transform([ink])
    np.testing.assert_array_equal(X, expected.astype(float))


# --- MNIST ------------------------------------------------------------------------


def test_train_and_evaluate_on_mnist(mnist_data_home, tmp_path, monkeypatch):
    real_fetch = skdigits.datasets.fetch_mnist
    calls = []

    def small_fetch(*, subset, data_home, return_X_y):
        calls.append((subset, data_home))
        X, y = real_fetch(subset=subset, data_home=data_home, return_X_y=True)
        return X[:300], y[:300]

    monkeypatch.setattr(skdigits.datasets, "fetch_mnist", small_fetch)
    model = tmp_path / "mnist.zip"
    status, out, err = _run(
        ["train", "-o", model, "--data-home", mnist_data_home]
        + [*TINY, "--set", "epochs=1", "--set", "validation_split=0"]
    )
    assert status == 0, err
    assert "MNIST, 300 training images" in out
    assert "validation accuracy: none" in out
    fitted = load_model(model)
    assert fitted.image_shape_ == (28, 28, 1)
    assert fitted.batch_size == CNNDigitClassifier().batch_size  # no preset

    status, out, err = _run(["evaluate", model, "--data-home", mnist_data_home])
    assert status == 0, err
    assert "MNIST, 300 test images" in out
    assert calls == [("train", mnist_data_home), ("test", mnist_data_home)]


# --- errors -----------------------------------------------------------------------


def _error_cases():
    model = "{model}"
    return [
        (["train", "--set", "epocs=3"], "Did you mean 'epochs'"),
        (["train", "--set", "filters=abc"], "filters must be"),
        (["train", "--set", "epochs"], "--set expects KEY=VALUE"),
        (["train", "-o", "{tmp}/missing/model.zip"], "no such directory"),
        (["train", "-o", "{tmp}"], "is a directory"),
        (["train", "--plot-history", "{tmp}/curves.xyz"], "image extension"),
        (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
        (["train", "--random-state", "x"], "invalid int value"),
        (["fly"], "invalid choice: 'fly'"),
        ([], "required: COMMAND"),
        (["evaluate", "{tmp}/none.zip"], "No such model file"),
        (["evaluate", "{text}"], "not a skdigits model file"),
        (["evaluate", model, "--samples", "{tmp}/no/s.png"], "no such directory"),
        (["predict", "--model", model], "required: IMAGE"),
        (["predict", "--model", model, "{tmp}/none.png"], "No such image file"),
        (["predict", "--model", model, "{text}"], "Cannot read"),
        (["predict", "--model", model, "/dev/null"], "is a character device"),
        (
            ["predict", "--model", model, "{huge}"],
            "1 x 89000000 = 89000000 pixels, more than",
        ),
        (["predict", "--model", "{text}", "{text}"], "not a skdigits model file"),
        (["predict", "--model", "{tmp}/none.onnx", "{text}"], "No such ONNX file"),
        (["export", "{tmp}/none.zip"], "No such model file"),
        (["export", "{text}"], "not a skdigits model file"),
        (["export", model, "-o", "{tmp}/model.zip"], "ends in .onnx"),
        (["export", model, "-o", "{tmp}/no/model.onnx"], "no such directory"),
        (["export", model, "-o", "{tmp}/m.onnx", "--opset", "0"], "--opset must"),
        (["export", model, "-o", "{tmp}/m.onnx", "--opset", "5"], "at least 13"),
        (
            ["export", model, "-o", "{tmp}/m.onnx", "--opset", "99"],
            "--opset must be in",
        ),
        (["export", "{tmp}/m.onnx"], "is an ONNX file already"),
    ]


@pytest.mark.parametrize("argv, message", _error_cases())
def test_errors_are_one_line_and_exit_2(trained, tmp_path, argv, message):
    text = tmp_path / "notes.txt"
    text.write_text("not an image, not a model\n")
    huge = tmp_path / "huge.png"  # 66 bytes declaring 89 megapixels
    huge.write_bytes(png_declaring(1, 89_000_000))
    names = {"tmp": tmp_path, "model": trained.model, "text": text, "huge": huge}
    argv = [arg.format(**names) for arg in argv]
    if argv[:1] == ["train"] and "-o" not in argv:
        argv += ["-o", str(tmp_path / "model.zip")]
    before = sorted(os.listdir(tmp_path))
    status, out, err = _run(argv)
    assert status == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert err.startswith("skdigits: error: ")
    assert message in err
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize(
    "options, terminal, verbose",
    [
        ([], False, 0),
        (["--verbose"], False, 2),
        ([], True, 1),
        (["--verbose"], True, 1),
        (["--set", "verbose=2"], True, 2),
    ],
)
def test_keras_progress_bar_on_terminals_only(
    tmp_path, monkeypatch, options, terminal, verbose
):
    seen = []

    def record(self, X, y):
        seen.append(self.verbose)
        raise KeyboardInterrupt

    monkeypatch.setattr(CNNDigitClassifier, "fit", record)
    argv = ["train", "--dataset", "digits", "-o", tmp_path / "m.zip", *options]
    assert _run(argv, terminal=terminal)[0] == 130
    assert seen == [verbose]


def test_evaluate_a_model_saved_without_metadata(trained, tmp_path):
    # A model saved with save_model alone: its 8x8 input says which dataset.
    save_model(load_model(trained.model), tmp_path / "plain.zip")
    status, out, err = _run(["evaluate", tmp_path / "plain.zip"])
    assert status == 0, err
    assert "scikit-learn 8x8 digits (held out), 450 test images" in out


def test_evaluate_a_model_of_an_unknown_dataset(trained, tmp_path):
    model = load_model(trained.model)
    save_model(model, tmp_path / "other.zip", metadata={"dataset": "emnist"})
    status, out, err = _run(["evaluate", tmp_path / "other.zip"])
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("skdigits: error: ")
    assert "other.zip was trained on 'emnist', which evaluate does not know" in err
    assert "--dataset (mnist, digits)" in err
    status, out, err = _run(["evaluate", tmp_path / "other.zip", "--dataset", "digits"])
    assert status == 0, err


def test_failed_training_writes_nothing(tmp_path, monkeypatch):
    def fail(self, X, y):
        raise KeyboardInterrupt

    monkeypatch.setattr(CNNDigitClassifier, "fit", fail)
    model = tmp_path / "model.zip"
    status, _, err = _run(["train", "--dataset", "digits", "-o", model, *TINY])
    assert status == 130
    assert err == "skdigits: interrupted\n"
    assert os.listdir(tmp_path) == []


# --- as a real program -------------------------------------------------------------


def _python_m_skdigits(*args, cwd, keep_threads=False, code=None):
    """Run ``python -m skdigits ARGS`` (or ``python -c CODE ARGS``) as a user would.

    Without this suite's ``TF_CPP_MIN_LOG_LEVEL`` (see conftest.py): the
    command line must keep TensorFlow quiet by itself.
    """
    path = [ROOT, os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path))}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    if not keep_threads:
        env.pop("SKDIGITS_NUM_THREADS", None)
    program = ["-c", code] if code else ["-m", "skdigits"]
    return subprocess.run(
        [sys.executable, *program, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_python_m_skdigits(tmp_path):
    done = _python_m_skdigits("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "usage: skdigits" in done.stdout

    done = _python_m_skdigits("evaluate", "missing.zip", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == "skdigits: error: No such model file: 'missing.zip'\n"

    quick = ["--set", "epochs=1", "--set", "validation_split=0"]
    done = _python_m_skdigits(
        "train", "--dataset", "digits", *TINY, *quick, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "skdigits-model.zip" in done.stdout
    assert os.listdir(tmp_path) == ["skdigits-model.zip"]


def test_help_is_quiet(tmp_path):
    done = _python_m_skdigits("predict", "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: skdigits predict")
    assert done.stderr == ""


def test_a_bad_set_is_one_line_on_stderr(tmp_path):
    done = _python_m_skdigits(
        "train", "--dataset", "digits", "--set", "epocs=3", cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("skdigits: error: invalid parameter 'epocs'")
    assert "Did you mean 'epochs'?" in done.stderr


def test_predict_is_quiet(trained, images, tmp_path):
    # SKDIGITS_NUM_THREADS kept: it makes the command import TensorFlow first
    # thing, through set_num_threads.
    done = _python_m_skdigits(
        "predict", "--model", trained.model, *images, cwd=tmp_path, keep_threads=True
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2
    assert done.stderr == ""


# main(argv) run in a fresh process: does it report the error without
# importing TensorFlow (3 s, and its log lines)?
_MAIN_THEN_MODULES = """
import sys
from skdigits._cli import main
status = main(sys.argv[1:])
print(status, "tensorflow" in sys.modules, "keras" in sys.modules)
"""


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--set", "epocs=3"], "Did you mean 'epochs'"),
        (["train", "--set", "callbacks__early_stoping__patience=2"], "Did you mean"),
        (["train", "--set", "callbacks__lr_schedule=1"], "callbacks__NAME__ARGUMENT"),
        (["train", "-o", "{tmp}/missing/model.zip"], "no such directory"),
        (["evaluate", "{tmp}/none.zip"], "No such model file"),
        (["evaluate", "{image}"], "not a skdigits model file"),
        (["predict", "--model", "{model}", "{tmp}/none.png"], "No such image file"),
    ],
)
def test_argument_errors_come_before_tensorflow(
    trained, images, tmp_path, argv, message
):
    names = {"tmp": tmp_path, "model": trained.model, "image": images[0]}
    argv = [arg.format(**names) for arg in argv]
    done = _python_m_skdigits(
        *argv, cwd=tmp_path, keep_threads=True, code=_MAIN_THEN_MODULES
    )
    assert done.stdout.split() == ["2", "False", "False"], done.stderr
    assert done.stderr.startswith("skdigits: error: ")
    assert message in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_set_names_are_read_from_the_estimators_source():
    # The names --set is checked against before TensorFlow starts are the
    # estimator's: its parameters, and the callbacks of callbacks__NAME__*.
    parameters, callbacks = _static_param_names()
    params = CNNDigitClassifier().get_params()
    assert set(parameters) == {k for k in params if not k.startswith("callbacks__")}
    assert callbacks == list(DEFAULT_CALLBACKS)
    assert {k.split("__")[1] for k in params if k.startswith("callbacks__")} == set(
        callbacks
    )


def test_tensorflow_log_lines_below_the_level_are_dropped():
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are "
        "written to STDERR\n"
        "I0000 00:00:1796121166.013041   13800 port.cc:153] oneDNN custom ops\n"
        "I0000 00:00:1796121166.075992   13800 cpu_feature_guard.cc:227] Optimized\n"
        "To enable the following instructions: AVX2, rebuild TensorFlow\n"
        "W0000 00:00:1796121166.075992   13800 some.cc:1] a warning\n"
        "E0000 00:00:1796121173.112542   13800 cuda_platform.cc:52] no cuInit\n"
    )
    python_warning = "x.py:1: UserWarning: not TensorFlow's\n"
    assert _drop_log_lines(text, 3) == ""
    assert _drop_log_lines(python_warning + text, 3) == python_warning
    assert _drop_log_lines(text, 2).splitlines() == [text.splitlines()[-1]]
    assert len(_drop_log_lines(text, 1).splitlines()) == 2  # W and E
    assert _drop_log_lines(text, 0) == text


# --- ONNX: export, and predict or evaluate without TensorFlow -----------------------


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    """The trained model, exported to ONNX by the command line."""
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    status, out, err = _run(["export", trained.model, "-o", path])
    assert status == 0, err
    return types.SimpleNamespace(path=path, out=out)


def test_export_writes_an_onnx_file_and_a_summary(exported):
    assert "classes:           0 1 2 3 4 5 6 7 8 9" in exported.out
    assert "images of 8x8x1, float32" in exported.out
    assert f"ONNX file written: {exported.path} (" in exported.out
    with open(exported.path, "rb") as file:
        assert file.read(2) == b"\x08\x08"  # protobuf: ir_version 8


def test_export_names_the_onnx_file_after_the_model(trained, exported, tmp_path):
    model = tmp_path / "digits.zip"
    model.write_bytes(trained.model.read_bytes())
    status, _, err = _run(["export", model, "--opset", "13"])
    assert status == 0, err
    assert sorted(os.listdir(tmp_path)) == ["digits.onnx", "digits.zip"]


def test_predict_and_evaluate_read_onnx_files_alike(trained, exported, images):
    # A bfloat16 network (precision="auto" on a CPU with bfloat16) is exported
    # in float32: its probabilities then differ by bfloat16's rounding.
    float32 = load_model(trained.model).precision_ == "float32"
    tolerance = 1e-5 if float32 else 2e-2
    outputs = []
    for model in (trained.model, exported.path):
        status, out, err = _run(["predict", "--model", model, *images, "--json"])
        assert status == 0, err
        outputs.append(json.loads(out))
    for keras_result, onnx_result in zip(*outputs, strict=True):
        assert onnx_result["label"] == keras_result["label"]
        for digit, p in keras_result["probabilities"].items():
            assert onnx_result["probabilities"][digit] == pytest.approx(
                p, abs=tolerance
            )
    # export keeps the model file's metadata: evaluate knows the dataset.
    reports = [_run(["evaluate", m])[1] for m in (trained.model, exported.path)]
    assert "8x8 digits (held out)" in reports[1]
    accuracies = [float(r.split("accuracy:")[1].split()[0]) for r in reports]
    assert accuracies[1] == pytest.approx(accuracies[0], abs=tolerance)


def test_a_model_file_without_tensorflow_is_one_line(images, tmp_path):
    """An inference-only install: a .zip model needs TensorFlow, said in one line."""
    code = (
        "import sys\n"
        "class NoTensorFlow:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] in ('tensorflow', 'keras'):\n"
        "            raise ImportError(f'No module named {name!r}')\n"
        "sys.meta_path.insert(0, NoTensorFlow())\n"
        "from skdigits._cli import main\n"
        "sys.exit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "predict", *images],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1
    assert "needs TensorFlow" in done.stderr and ".onnx" in done.stderr


# The shipped verifier comes as ONNX too: read needs no TensorFlow either.
@pytest.mark.parametrize("command", ["predict", "read"])
def test_an_onnx_file_needs_no_tensorflow(exported, images, tmp_path, command):
    done = _python_m_skdigits(
        command,
        "--model",
        exported.path,
        *images,
        cwd=tmp_path,
        keep_threads=True,
        code=_MAIN_THEN_MODULES,
    )
    lines = done.stdout.splitlines()
    assert lines[-1] == "0 False False", done.stderr
    assert len(lines) == len(images) + 1 and lines[0].startswith(str(images[0]))
    assert done.stderr == ""


def test_an_onnx_file_of_another_kind_is_one_line(exported, images, tmp_path):
    import onnx

    model = onnx.load(exported.path)
    del model.metadata_props[:]
    onnx.save(model, tmp_path / "other.onnx")
    (tmp_path / "text.onnx").write_text("not a model")
    for name, message in [
        ("other.onnx", "ONNX model without skdigits metadata"),
        ("text.onnx", "is not an ONNX model onnxruntime can run"),
    ]:
        status, out, err = _run(["predict", "--model", tmp_path / name, *images])
        assert status == 2
        assert err.startswith(f"skdigits: error: {str(tmp_path / name)!r} ")
        assert message in err
        assert len(err.splitlines()) == 1

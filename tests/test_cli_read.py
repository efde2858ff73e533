"""The command line's ``read``: the digits of form field image files.

In their own module, beside test_cli.py, so that they share the session's
small MNIST reader (``mnist_reader`` in conftest.py) with test_reading.py.
"""

import contextlib
import io
import json
import os
import subprocess
import sys
import types

import numpy as np
import pytest
from PIL import Image

from skdigits import save_model
from skdigits._cli import main
from skdigits.reading._read import DEFAULT_REJECT_THRESHOLD

sys.path.insert(0, os.path.dirname(__file__))
from _digit_fields import compose_field  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory, mnist_reader, mnist_data_home):
    """A model file, two field images with their digits, and a blank page."""
    from skdigits.datasets import fetch_mnist

    folder = tmp_path_factory.mktemp("read")
    model = folder / "model.zip"
    save_model(mnist_reader, model)
    X, y = fetch_mnist(subset="test", data_home=mnist_data_home, return_X_y=True)
    proba = mnist_reader.predict_proba(X[:300])
    sure = np.flatnonzero(
        (proba.argmax(axis=1) == y[:300]) & (proba.max(axis=1) > 0.99)
    )
    fields = []
    for n, seed in ((5, 0), (3, 1)):
        chosen = sure[seed * 10 : seed * 10 + n]
        image, _ = compose_field(X[chosen], seed, gap=(6, 12), angle=0)
        path = folder / f"field{seed}.png"
        Image.fromarray(image).save(path)
        fields.append((str(path), "".join(str(d) for d in y[chosen])))
    blank = folder / "blank.png"
    Image.new("L", (120, 40), 240).save(blank)
    return types.SimpleNamespace(model=str(model), fields=fields, blank=str(blank))


def test_read_help_names_the_default_threshold(capsys):
    assert main(["read", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: skdigits read")
    assert f"{DEFAULT_REJECT_THRESHOLD}" in " ".join(out.split())
    assert main(["--help"]) == 0
    assert "read" in capsys.readouterr().out


def test_read_prints_each_files_digits(files):
    (first, text1), (second, text2) = files.fields
    status, out, err = _run(
        ["read", first, second, files.blank, "--model", files.model]
    )
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(first) and f"  {text1}  (min p=" in lines[0]
    assert lines[1].startswith(second) and f"  {text2}  (min p=" in lines[1]
    assert lines[2].startswith(files.blank) and lines[2].endswith("(no digits)")
    assert err == ""


def test_read_marks_rejected_digits(files):
    path, text = files.fields[0]
    status, out, _ = _run(
        ["read", path, "--model", files.model, "--reject-threshold", "1"]
    )
    assert status == 0
    assert "rejected: " in out and f"{text[0]} at 1 (p=" in out


def test_read_json(files):
    path, text = files.fields[0]
    status, out, err = _run(
        ["read", path, files.blank, "--model", files.model, "--json"]
    )
    assert status == 0, err
    field, blank = json.loads(out)
    assert field["path"] == path and field["text"] == text
    assert field["rejected"] is False
    assert len(field["digits"]) == len(text)
    for digit, char in zip(field["digits"], text, strict=True):
        assert digit["label"] == int(char)
        assert 0 < digit["probability"] <= 1
        x0, y0, x1, y1 = digit["box"]
        assert x0 < x1 and y0 < y1
        assert digit["rejected"] is False
    assert field["min_probability"] == min(d["probability"] for d in field["digits"])
    assert blank == {
        "path": files.blank,
        "text": "",
        "min_probability": None,
        "rejected": False,
        "digits": [],
    }


@pytest.mark.parametrize(
    "make_argv, message",
    [
        (lambda f, t: ["read", t / "missing.png", "--model", f.model], "missing.png"),
        (lambda f, t: ["read", f.blank, "--model", t / "nope.zip"], "nope.zip"),
        (
            lambda f, t: [
                "read",
                f.blank,
                "--model",
                f.model,
                "--reject-threshold",
                "2",
            ],
            "expected a number in [0, 1], got '2'",
        ),
        (lambda f, t: ["read", t / "notes.png", "--model", f.model], "notes.png"),
        (
            lambda f, t: ["read", f.blank, "--model", f.model, "--tta-shift", "-1"],
            "expected an int >= 0, got '-1'",
        ),
        (
            lambda f, t: [
                "read",
                f.blank,
                "--model",
                f.model,
                "--verifier",
                t / "v.zip",
            ],
            "v.zip",
        ),
        (
            lambda f, t: [
                "read",
                f.fields[0][0],
                "--model",
                f.model,
                "--verifier",
                f.model,
            ],
            "verifier must have the class 10",
        ),
    ],
    ids=[
        "missing-image",
        "missing-model",
        "bad-threshold",
        "not-an-image",
        "bad-tta-shift",
        "missing-verifier",
        "verifier-without-class-10",
    ],
)
def test_read_errors_are_one_line_and_exit_2(files, tmp_path, make_argv, message):
    (tmp_path / "notes.png").write_text("not an image")
    status, out, err = _run(make_argv(files, tmp_path))
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("skdigits: error: ")
    assert message in err


def test_read_with_another_or_no_verifier(files):
    from skdigits._pretrained import verifier_path

    paths = [path for path, _ in files.fields]
    argv = ["read", *paths, "--model", files.model, "--json"]
    default = json.loads(_run(argv)[1])
    named = json.loads(_run([*argv, "--verifier", verifier_path()])[1])
    assert named == default  # "auto" is the shipped file
    status, out, err = _run([*argv, "--verifier", "none"])
    assert status == 0, err
    # Separated fields read the same without the verifier.
    assert [r["text"] for r in json.loads(out)] == [t for _, t in files.fields]
    status, out, err = _run([*argv, "--tta-shift", "1"])
    assert status == 0, err
    augmented = json.loads(out)
    assert [r["text"] for r in augmented] == [t for _, t in files.fields]
    assert augmented[0]["min_probability"] != default[0]["min_probability"]


def test_read_without_model_or_pretrained_file_says_so(files, monkeypatch, tmp_path):
    from skdigits import _pretrained

    missing = str(tmp_path / "mnist_cnn.zip")
    monkeypatch.setattr(_pretrained, "pretrained_path", lambda: missing)
    status, out, err = _run(["read", files.blank])
    assert status == 2 and out == ""
    assert err.count("\n") == 1
    assert "pretrained model" in err and "--model" in err


def test_read_without_model_reads_the_shipped_model_without_tta(
    files, monkeypatch, tmp_path
):
    # As read_digits does with the shipped model (its tta_shift is 1), unless
    # --tta-shift says otherwise; a model given keeps its own.
    from skdigits import _pretrained, load_model, reading

    shipped = tmp_path / "shipped.zip"
    save_model(load_model(files.model).set_params(tta_shift=1), shipped)
    monkeypatch.setattr(_pretrained, "pretrained_path", lambda: str(shipped))
    real, seen = reading.read_digits, []

    def spy(images, *, classifier, **options):
        seen.append(classifier.tta_shift)
        return real(images, classifier=classifier, **options)

    monkeypatch.setattr(reading, "read_digits", spy)
    path, text = files.fields[0]
    for argv in ([], ["--tta-shift", "2"], ["--model", shipped]):
        status, out, err = _run(["read", path, "--verifier", "none", *argv])
        assert status == 0, err
        assert f"  {text}  (min p=" in out
    assert seen == [0, 2, 1]


def test_read_refuses_an_image_over_the_pixel_cap(files, monkeypatch):
    from skdigits.reading import _read

    monkeypatch.setattr(_read, "DEFAULT_MAX_PIXELS", 100)
    status, _, err = _run(["read", files.blank, "--model", files.model])
    assert status == 2
    assert "blank.png' as an image" in err and "more than max_pixels=100" in err
    assert err.count("\n") == 1


def test_read_as_a_subprocess(files):
    path, text = files.fields[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [ROOT, os.environ.get("PYTHONPATH")])
        ),
    }
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the command keeps TensorFlow quiet
    completed = subprocess.run(
        [sys.executable, "-m", "skdigits", "read", path, "--model", files.model],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split()[:2] == [path, text]
    assert completed.stderr == ""


def test_read_takes_an_onnx_file_as_the_model(files, tmp_path):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    from skdigits import export_onnx, load_model

    onnx_path = tmp_path / "reader.onnx"
    export_onnx(load_model(files.model), onnx_path)
    paths = [path for path, _ in files.fields]
    readings = []
    for model in (files.model, onnx_path):
        status, out, err = _run(["read", *paths, "--model", model, "--json"])
        assert status == 0, err
        readings.append(json.loads(out))
    keras_readings, onnx_readings = readings
    # --tta-shift sets the ONNX file's shift too: 1 pixel moves the values.
    status, out, err = _run(
        ["read", *paths, "--model", onnx_path, "--json", "--tta-shift", "1"]
    )
    assert status == 0, err
    shifted = json.loads(out)
    assert [r["text"] for r in shifted] == [text for _, text in files.fields]
    assert shifted[0]["min_probability"] != onnx_readings[0]["min_probability"]
    assert [r["text"] for r in onnx_readings] == [text for _, text in files.fields]
    assert [r["text"] for r in keras_readings] == [text for _, text in files.fields]
    for keras_reading, onnx_reading in zip(keras_readings, onnx_readings, strict=True):
        assert onnx_reading["min_probability"] == pytest.approx(
            keras_reading["min_probability"], abs=2e-2
        )

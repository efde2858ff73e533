"""The benchmark scripts: their helpers, and their ``--smoke`` runs end to end."""

import importlib.util
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from skdigits import load_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCHMARKS = os.path.join(ROOT, "benchmarks")


def _module(script):
    """A script of benchmarks/ as a module (benchmarks/ is not a package)."""
    if BENCHMARKS not in sys.path:  # sweep.py imports bench_mnist
        sys.path.insert(0, BENCHMARKS)
    name = os.path.splitext(script)[0]
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(BENCHMARKS, script)
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench_mnist():
    return _module("bench_mnist.py")


def _smoke(script, json_path, data_home, *args):
    """Run ``script --smoke`` as a user would; its results and its stdout."""
    env = {
        **os.environ,
        "SCIKIT_LEARN_DATA": str(data_home),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [ROOT, os.environ.get("PYTHONPATH")])
        ),
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    completed = subprocess.run(
        [sys.executable, os.path.join(BENCHMARKS, script), "--smoke"]
        + ["--json", str(json_path), *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with open(json_path) as f:
        return json.load(f), completed.stdout


def test_forward_macs_counts_convolutions_and_dense_layers(bench_mnist):
    from skdigits._network import build_cnn

    model = build_cnn(
        image_shape=(28, 28, 1),
        n_classes=10,
        input_scale=255.0,
        filters=(16, 32),
        kernel_size=3,
        convs_per_block=2,
        dense_units=128,
        dropout=0.25,
        dense_dropout=0.5,
        batch_norm=True,
        learning_rate=1e-3,
    )
    # Valid convolutions ("auto" on 28x28): 28 -> 26 -> 24, pool 12 -> 10 -> 8.
    convolutions = 9 * (26 * 26 * 16 * 1 + 24 * 24 * 16 * 16)
    convolutions += 9 * (10 * 10 * 32 * 16 + 8 * 8 * 32 * 32)
    dense = 4 * 4 * 32 * 128 + 128 * 10
    assert bench_mnist.forward_macs(model) == convolutions + dense
    # 2 FLOP per multiply-add; training 3x forward, validation 1x forward.
    expected = 2 * (convolutions + dense) * (3 * 100 + 10) * 2 / 1e9
    macs = bench_mnist.forward_macs(model)
    assert bench_mnist.training_gflop(macs, 100, 10, 2) == pytest.approx(expected)


def test_torch_forward_macs_match_the_keras_count(bench_mnist, monkeypatch):
    # The skorch row's network, counted in torch, does the Keras network's sums.
    pytest.importorskip("skorch")
    torch = pytest.importorskip("torch")

    built = {}
    monkeypatch.setattr(
        bench_mnist,
        "measure_estimator",
        lambda net, data: built.update(net=net.initialize()) or {"fit_s": 1.0},
    )
    monkeypatch.setattr(
        bench_mnist,
        "load_split",
        lambda config: (np.zeros((4, 784)), np.arange(4), np.zeros((2, 784)), None),
    )
    config = {"smoke": False, "compare_epochs": 1}
    row = bench_mnist.skorch_row(config)
    keras_model = bench_mnist.keras_network(bench_mnist.fixed_estimator(config))
    assert isinstance(built["net"].module_, torch.nn.Module)
    assert row["forward_macs"] == bench_mnist.forward_macs(keras_model)
    assert row["params"] == bench_mnist.fixed_epochs_params(config)


def test_torch_augment_mirrors_the_keras_random_layers(bench_mnist):
    # skorch_cnn trains the augmented default network: its augmentation is
    # the identity at inference and when its ranges are 0, and a shift moves
    # the ink by up to the range, filling what it uncovers with 0.
    torch = pytest.importorskip("torch")
    augment_class = bench_mnist.torch_augment_class()
    images = torch.zeros((64, 1, 28, 28))
    images[:, :, 10:18, 10:18] = 1.0
    shift = augment_class(0.0, 0.1, 0.0)
    np.testing.assert_array_equal(shift.eval()(images), images)
    np.testing.assert_allclose(
        augment_class(0.0, 0.0, 0.0).train()(images), images, atol=1e-6
    )
    torch.manual_seed(0)
    moved = shift.train()(images).numpy()
    assert not np.allclose(moved, images.numpy())
    assert moved.min() >= 0 and moved[:, :, :4].max() == 0  # 0 fills, in range
    rows = (moved[:, 0] > 0.5).any(axis=2)
    tops = rows.argmax(axis=1)
    assert set(np.unique(tops)) <= set(range(10 - 3, 10 + 4))  # <= 2.8 px
    assert len(np.unique(tops)) > 2  # a random shift per image
    rotated = augment_class(10.0, 0.0, 0.0).train()(images).numpy()
    assert rotated.sum(axis=(1, 2, 3)) == pytest.approx(64.0, rel=0.1)


@pytest.mark.parametrize("epochs", [1, 2, 5])
def test_rebuilt_schedule_is_the_estimators(bench_mnist, epochs):
    # keras_raw and skorch_cnn rebuild the estimator's schedule: the same
    # rate at every step, the cap on a short fit's warm-up included.
    import types

    from skdigits import CNNDigitClassifier
    from skdigits._callbacks import CosineSchedule

    clf = CNNDigitClassifier(epochs=epochs, batch_size=100)
    plan = bench_mnist.schedule_plan(clf, n_train=1000)
    schedule = CosineSchedule()
    schedule.set_model(
        types.SimpleNamespace(optimizer=types.SimpleNamespace(learning_rate=4e-3))
    )
    schedule.set_params({"steps": 10, "epochs": epochs})
    schedule.on_train_begin()
    assert plan == schedule._plan  # one plan, so one rate at every step
    assert plan["warmup_steps"] == min(10, 10 * epochs // 2)


def test_median_of_runs_and_targets(bench_mnist):
    runs = [
        {"fit_s": 3.0, "epochs": 5, "latency_ms": {"predict": 1.0}, "params": [1]},
        {"fit_s": 1.0, "epochs": 5, "latency_ms": {"predict": 4.0}, "params": [1]},
        {"fit_s": 2.0, "epochs": 5, "latency_ms": {"predict": 2.0}, "params": [1]},
    ]
    assert bench_mnist.median_of(runs) == {
        "fit_s": 2.0,
        "epochs": 5,
        "latency_ms": {"predict": 2.0},
        "params": [1],
    }
    failed = {"error": "ValueError: boom"}
    assert bench_mnist.median_of([runs[0], failed]) == failed

    checks = bench_mnist.check_targets(
        {"skdigits_default": {"accuracy": 0.996, "fit_s": 200.0}}
    )
    assert {c["target"]: c["met"] for c in checks} == {
        "skdigits_default accuracy": True,
        "skdigits_default fit (s)": False,
    }


def test_bench_mnist_arguments_are_checked(bench_mnist, capsys):
    for argv in (["--rows", "nope"], ["--best-params", "[1]"], ["--repeat", "0"]):
        with pytest.raises(SystemExit) as exc_info:
            bench_mnist.main(argv)
        assert exc_info.value.code == 2
    assert "--best-params must be a JSON object" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_mnist_smoke(mnist_data_home, tmp_path):
    results, stdout = _smoke("bench_mnist.py", tmp_path / "bench.json", mnist_data_home)

    header = results["header"]
    assert {"date", "machine", "versions", "config"} <= set(header)
    machine = header["machine"]
    assert {"cpu", "cores", "cpu_flags", "native_bfloat16"} <= set(machine)
    assert set(machine["matmul_gflops"]) == {"float32", "bfloat16"}
    assert all(rate > 0 for rate in machine["matmul_gflops"].values())
    assert {"skdigits", "tensorflow", "keras", "scikeras", "scikit-learn", "numpy"} <= (
        set(header["versions"])
    )
    assert header["config"]["smoke"] is True

    rows = results["rows"]
    assert list(rows) == [
        "skdigits_default",
        "skdigits_best",
        "skdigits_default_float32",
        "skdigits_default_bfloat16",
        "seed_keras",
        "skdigits_fixed",
        "keras_raw",
        "sklearn_mlp",
        "sklearn_logreg",
        "sklearn_knn",
        "skorch_cnn",
    ]
    for name, row in rows.items():
        assert "error" not in row, (name, row)
        if name == "skorch_cnn" and "skipped" in row:
            continue  # skorch and torch are optional
        assert 0 <= row["accuracy"] <= 1, name
        for key in ("fit_s", "predict_s", "peak_rss_mb"):
            assert row[key] > 0, (name, key)
        assert len(row["runs"]) == 1
    for name in ("skdigits_default", "skdigits_best", "skdigits_fixed"):
        assert set(rows[name]["latency_ms"]) == {"predict_proba", "predict"}
        assert rows[name]["gflops"] > 0
    assert set(rows["keras_raw"]["latency_ms"]) == {"model.predict", "model(x)"}
    assert rows["skdigits_default_float32"]["precision"] == "float32"
    assert rows["skdigits_default_bfloat16"]["precision"] == "bfloat16"
    assert rows["seed_keras"]["precision"] == "float32"
    assert rows["seed_keras"]["forward_macs"] > rows["skdigits_default"]["forward_macs"]
    assert results["comparison"]["default_vs_seed"] > 0

    # The overhead comparison: the same network, for the same epochs.
    fixed, raw = rows["skdigits_fixed"], rows["keras_raw"]
    assert fixed["forward_macs"] == raw["forward_macs"]
    assert fixed["epochs"] == raw["epochs"] == header["config"]["compare_epochs"]
    assert results["comparison"]["fit_ratio"] > 0
    assert results["comparison"]["predict_ratio"] > 0
    assert {t["target"] for t in results["targets"]} >= {
        "fit overhead ratio",
        "skdigits_default accuracy",
    }
    assert "overhead vs raw Keras" in stdout


def test_pareto_front_keeps_what_nothing_beats():
    plot_front = _module("plot_front.py")
    found = [
        ("slow and poor", 100.0, 0.990, "sweep"),
        ("fast", 10.0, 0.980, "bench"),
        ("good", 50.0, 0.995, "sweep"),
        ("slower, no better", 60.0, 0.995, "sweep"),
        ("best", 200.0, 0.996, "bench"),
    ]
    front = plot_front.pareto_front(found)
    assert [p[0] for p in front] == ["fast", "good", "best"]


def test_front_points_merge_seeds_by_median():
    plot_front = _module("plot_front.py")
    sweep = {
        "runs": [
            {"config": "a", "fit_s": 10.0, "accuracy": 0.99},
            {"config": "a", "fit_s": 30.0, "accuracy": 0.97},
            {"config": "a", "fit_s": 20.0, "accuracy": 0.98},
            {"config": "b", "error": "ValueError: boom"},
        ]
    }
    bench = {"rows": {"seed_keras": {"fit_s": 5.0, "accuracy": 0.9}, "x": {}}}
    assert plot_front.points(bench, sweep) == [
        ("seed notebook (plain Keras)", 5.0, 0.9, "bench"),
        ("a (x3)", 20.0, 0.98, "sweep"),
    ]


@pytest.mark.slow
def test_sweep_and_front_smoke(mnist_data_home, tmp_path):
    results, stdout = _smoke("sweep.py", tmp_path / "sweep.json", mnist_data_home)
    runs = results["runs"]
    assert [run["config"] for run in runs] == ["default"]
    run = runs[0]
    assert "error" not in run, run
    assert 0 <= run["accuracy"] <= 1 and 0 <= run["accuracy_tta"] <= 1
    assert run["fit_s"] > 0 and run["precision"] == "bfloat16"
    assert run["cpu"] == results["header"]["machine"]["cpu"]

    figure = tmp_path / "front.png"
    plot_front = _module("plot_front.py")
    front = plot_front.main(
        ["--sweep", str(tmp_path / "sweep.json"), "-o", str(figure)]
    )
    assert [p[0] for p in front] == ["default"]
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_levers_change_the_compiled_network():
    sweep = _module("sweep.py")
    plain = sweep.lever_estimator({"epochs": 1})
    assert type(plain).__name__ == "CNNDigitClassifier"
    lever = sweep.lever_estimator({"ema": 0.9, "label_smoothing": 0.1, "epochs": 1})
    X = np.random.RandomState(0).rand(40, 64)
    y = np.arange(40) % 4
    lever.set_params(filters=(4,), dense_units=8, batch_size=8).fit(X, y)
    optimizer = lever.model_.optimizer
    assert optimizer.use_ema and optimizer.ema_momentum == 0.9
    assert lever.model_.loss is not None and not isinstance(lever.model_.loss, str)


def test_sweep_ensembles_are_soft_votes_of_saved_runs(mnist_data_home, tmp_path):
    from skdigits.datasets import fetch_mnist

    sweep = _module("sweep.py")
    _, y_test = fetch_mnist(subset="test", return_X_y=True)
    rng = np.random.RandomState(0)
    right = np.eye(10)[y_test]
    # Each member is right on a different two thirds of the images, and as
    # sure of its one wrong class there: the vote of all three is right
    # wherever two of them are.
    wrong = np.eye(10)[(y_test + 1) % 10]
    part = rng.randint(3, size=len(y_test))
    runs = []
    for seed in range(3):
        proba = np.where((part == seed)[:, None], wrong, right)
        np.save(sweep.proba_path(str(tmp_path), "x", seed), proba)
        runs.append({"config": "x", "seed": seed, "fit_s": 10.0 + seed})
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps({"header": {}, "runs": runs}))
    argv = ["--ensemble", "x", "--seeds", "0", "1", "2", "--json", str(path)]
    results = sweep.main([*argv, "--save-proba", str(tmp_path)])
    assert [e["seeds"] for e in results["ensembles"]] == [[0, 1], [0, 1, 2]]
    assert results["ensembles"][1]["accuracy"] == 1.0
    assert results["ensembles"][1]["fit_s"] == 33.0
    # Where one of two is wrong they tie, and argmax takes the lower class:
    # the right one (y) unless y is 9 (the wrong one is then 0).
    expected = np.mean((part == 2) | (y_test != 9))
    assert results["ensembles"][0]["accuracy"] == pytest.approx(expected)
    assert json.loads(path.read_text())["ensembles"] == results["ensembles"]
    with pytest.raises(SystemExit, match="no run of x with seeds \\[5\\]"):
        sweep.main(
            [
                "--ensemble",
                "x",
                "--seeds",
                "5",
                "--json",
                str(path),
                "--save-proba",
                str(tmp_path),
            ]
        )


def test_every_sweep_config_is_valid_estimator_params():
    sweep = _module("sweep.py")
    for name, params in sweep.CONFIGS.items():
        estimator = sweep.lever_estimator(params)  # set_params checks the names
        estimator._check_params()
        assert estimator.epochs >= 1, name


def test_real_digits_smoke(mnist_data_home, tmp_path):
    results, _ = _smoke("real_digits.py", tmp_path / "real.json", mnist_data_home)

    assert set(results) == {"sklearn_8x8_digits", "rendered_png_files"}
    for row in results.values():
        assert row["n"] > 0
        # One accuracy per normalizer: strokes as they are, and MNIST's width.
        assert set(row["accuracy"]) == {"stroke_width=None", "stroke_width=2.8"}
        assert all(0 <= a <= 1 for a in row["accuracy"].values())


@pytest.mark.slow
def test_bench_dask_smoke(mnist_data_home, tmp_path):
    pytest.importorskip("distributed")
    results, stdout = _smoke("bench_dask.py", tmp_path / "dask.json", mnist_data_home)

    header = results["header"]
    assert header["config"]["smoke"] is True
    assert {"dask", "distributed", "joblib"} <= set(header["versions"])
    rows = results["rows"]
    assert list(rows) == ["dask_1x1", "dask_2x1"]
    for name, row in rows.items():
        assert "error" not in row, (name, row)
        assert row["fit_s"] > 0 and row["n_fits"] == 4
        assert row["tf_threads"] == [1]  # one thread per fit, in both rows
    # joblib runs a one-thread cluster's search in the client, sequentially.
    assert rows["dask_1x1"]["ran_in"] == "client"
    assert rows["dask_2x1"]["ran_in"] == "workers"
    comparison = results["comparison"]
    assert comparison["dask_2x1 / dask_1x1"] > 0
    assert comparison["scores_equal"] is True
    assert [t["target"] for t in results["targets"]] == ["dask_2x1 / dask_1x1 (time)"]
    assert "scores equal in the 1-thread Dask rows: yes" in stdout


def test_bench_onnx_smoke(mnist_data_home, tmp_path):
    pytest.importorskip("tf2onnx")
    pytest.importorskip("onnxruntime")
    results, stdout = _smoke("bench_onnx.py", tmp_path / "onnx.json", mnist_data_home)

    header = results["header"]
    assert header["config"]["smoke"] is True
    assert {"onnx", "onnxruntime", "tf2onnx"} <= set(header["versions"])
    parity = results["parity"]
    assert parity["n_images"] == 200
    # The graph is the float32 network: what it computes, to float32 rounding.
    assert parity["differing_predictions_vs_float32_keras"] == 0
    assert parity["max_abs_proba_diff_vs_float32_keras"] < 1e-5
    for runtime in ("keras", "onnx"):
        assert set(results["predict"][runtime]) == {
            "predict_1_ms",
            "predict_proba_1_ms",
            "predict_200_s",
        }
        assert all(value > 0 for value in results["predict"][runtime].values())
    assert results["start_up"]["keras"]["tensorflow_imported"] is True
    assert results["start_up"]["onnx"]["tensorflow_imported"] is False
    environments = results["environments"]
    assert environments["full"]["size_mb"] > 0
    assert "tensorflow" in environments["skdigits_with_dependencies"]["distributions"]
    assert "parity on 200 MNIST test images" in stdout


def test_bench_reading_smoke(mnist_data_home, tmp_path):
    results, stdout = _smoke(
        "bench_reading.py", tmp_path / "read.json", mnist_data_home
    )

    header = results["header"]
    assert header["config"]["smoke"] is True and header["config"]["tune"] is False
    assert header["config"]["mnist_subset"] == "test"  # never tuned on
    assert header["machine"]["cpu"]
    for category in ("separated", "separated_5", "touching", "printed"):
        row = results[category]
        assert row["n_fields"] > 0 and row["n_digits"] >= 3 * row["n_fields"]
        assert 0 <= row["exact"] <= row["digit_accuracy"] <= 1
    assert results["latency"]["median_ms"] > 0
    # The smoke CNN predicts without augmentation: with and without verifier,
    # and (a CNN, as the shipped verifier) in one forward call or two.
    ways = results["latency"]["ways"]
    assert set(ways) == {
        "as given",
        "as given, no verifier",
        "as given, two forward calls",
    }
    assert ways["as given"]["median_ms"] == results["latency"]["median_ms"]
    assert [t["threshold"] for t in results["tradeoff"]][:2] == [0.5, 0.7]
    labels = [t["target"] for t in results["targets"]]
    assert "touching exact" in labels and "6-digit field read (ms)" in labels
    assert "targets:" in stdout and "6-digit field" in stdout


@pytest.mark.slow
def test_train_pretrained_smoke(mnist_data_home, tmp_path):
    """The shipped model's recipe runs, and writes a model file of the budget."""
    model = tmp_path / "model.zip"
    results, stdout = _smoke(
        "train_pretrained.py",
        tmp_path / "pretrained.json",
        mnist_data_home,
        "-o",
        model,
    )
    assert f"model written to {model}" in stdout
    clf, metadata = load_model(model, return_metadata=True)
    assert clf.precision_ == "float32" and clf.tta_shift == 1
    assert metadata["mnist_test_accuracy"] == results["accuracy"]
    assert results["file_bytes"] == os.path.getsize(model)
    assert results["header"]["config"]["smoke"] is True
    assert not [
        p for p in os.listdir(tmp_path) if p not in {"model.zip", "pretrained.json"}
    ]


def test_fit_profile_smoke(mnist_data_home, tmp_path):
    # With a validation split (the default has none), so that its passes are timed.
    results, stdout = _smoke(
        "fit_profile.py",
        tmp_path / "p.json",
        mnist_data_home,
        "--set",
        "validation_split=0.1",
    )
    runs = results["runs"]
    assert [run["precision"] for run in runs] == ["float32", "bfloat16"]
    for run in runs:
        assert run["epochs"] == 1 and run["validation_s"] > 0
        phases = run["first_epoch_train_s"] + run["validation_s"]
        assert 0 < phases < run["fit_s"]  # the phases lie inside the fit
        assert run["outside_epochs_s"] > 0
    assert "results written to" in stdout


@pytest.mark.slow
def test_train_verifier_smoke(mnist_data_home, tmp_path):
    """The verifier's recipe labels the reader's own pieces and saves a model."""
    model = tmp_path / "verifier.zip"
    results, stdout = _smoke(
        "train_verifier.py", tmp_path / "v.json", mnist_data_home, "-o", model
    )
    assert f"model written to {model}" in stdout
    clf = load_model(model)
    assert clf.classes_.tolist() == list(range(11))  # 10: not one digit
    assert 0.2 < results["junk_share"] < 0.9  # both kinds of piece are made
    assert results["n_pieces"] > results["n_fields"]
    assert 0 <= results["held_out"]["junk_recall@0.5"] <= 1


def test_verifier_pieces_are_labelled_by_the_digits_they_cover():
    train_verifier = _module("train_verifier.py")
    image = np.full((60, 200), 235, dtype=np.uint8)
    image[15:45, 20:24] = 20  # a "1"
    image[15:45, 60:64] = 20  # a "1", apart
    image[15:45, 100:130] = 20  # a block: the "4" is its left half
    boxes = np.array([[20, 15, 24, 45], [60, 15, 64, 45], [100, 15, 115, 45]])
    pieces, labels = train_verifier.field_pieces(image, boxes, [1, 7, 4])
    assert len(pieces) == len(labels)
    # Each stroke covers its digit's columns; the block (no wider than high,
    # so not cut) covers the "4"'s with an overlap over union of 0.5: junk.
    assert labels == [1, 7, train_verifier.JUNK]
    boxes[2, 2] = 126  # a "4" of 26 of its 30 columns: 0.87, the digit
    assert train_verifier.field_pieces(image, boxes, [1, 7, 4])[1] == [1, 7, 4]
    boxes[2, 2] = 120  # 0.67: in between, not used
    assert train_verifier.field_pieces(image, boxes, [1, 7, 4])[1] == [1, 7]


def test_a_piece_holding_much_of_a_second_digit_is_not_one_digit():
    train_verifier = _module("train_verifier.py")
    owners = np.full((60, 200), -1)
    owners[15:45, 21:24] = 0  # a narrow "1"
    owners[15:18, 24:44] = 1  # the bar of a "7" touching it
    owners[18:45, 40:44] = 1  # and its stem
    boxes = np.array([[21, 15, 24, 45], [24, 15, 44, 45]])

    def piece(x0, x1):
        # As Field.piece cuts it: a pixel around the box, the strokes' edge,
        # where beside a cut the neighbour's ink is too.
        return np.ones((32, x1 - x0 + 2), dtype=np.float32), (x0, 15, x1, 45)

    label = train_verifier.piece_label
    both = piece(21, 44)  # columns: 0.87 of the "7"'s, over union
    assert label(both, boxes, [1, 7]) == 7  # by columns alone
    assert label(both, boxes, [1, 7], owners) == train_verifier.JUNK
    # The edge beside the cut holds a third of the "1": not counted.
    assert label(piece(24, 44), boxes, [1, 7], owners) == 7
    shares = train_verifier.ink_shares(piece(24, 44), owners, 3)
    np.testing.assert_allclose(shares, [0.0, 1.0, 0.0])  # a third, inkless
    assert label(piece(21, 24), boxes, [1, 7], owners) == 1
    # A third of the "1" beside the "7": neither one digit nor a merge.
    np.testing.assert_allclose(
        train_verifier.ink_shares(piece(23, 44), owners, 2), [1 / 3, 1.0]
    )
    assert label(piece(23, 44), boxes, [1, 7], owners) is None
    # Three quarters of the "7"'s columns, but only its bar's ink: not used.
    assert label(piece(24, 39), boxes, [1, 7]) == 7
    assert label(piece(24, 39), boxes, [1, 7], owners) is None


def test_composed_fields_say_whose_ink_each_pixel_is():
    from _digit_fields import compose_field

    def overlap(values):
        """Owners, and those where both digits' ink is full, of two blocks."""
        digits = np.zeros((2, 784))
        for digit, value in zip(digits, values, strict=True):
            digit.reshape(28, 28)[4:24, 4:24] = value
        layout = {"gap": (-10, -10), "height": (40, 40), "angle": 0.0}
        image, boxes = compose_field(digits, 3, specks=(0, 0), **layout)
        again, same, owners = compose_field(
            digits, 3, specks=(0, 0), return_owners=True, **layout
        )
        np.testing.assert_array_equal(again, image)  # the same layout
        np.testing.assert_array_equal(same, boxes)
        (_, a_top, a_right, a_bottom), (b_left, b_top, _, b_bottom) = boxes
        rows = slice(max(a_top, b_top) + 2, min(a_bottom, b_bottom) - 2)
        return owners, boxes, owners[rows, b_left + 2 : a_right - 2]

    owners, boxes, both = overlap([150, 255])
    assert both.size > 40 and (both == 1).all()  # the later, stronger one's
    assert set(np.unique(owners)) == {-1, 0, 1}
    assert (owners[:, : boxes[0, 0]] == -1).all()  # paper left of the digits
    assert (owners[:, boxes[1, 2] :] == -1).all()
    _, _, both = overlap([255, 150])
    assert (both == 0).all()  # the earlier, stronger one keeps its ink


def test_reading_errors_smoke(mnist_data_home, tmp_path):
    results, stdout = _smoke(
        "reading_errors.py", tmp_path / "errors.json", mnist_data_home
    )
    n_wrong = round(results["n_fields"] * (1 - results["exact"]))
    assert results["n_fields"] == 8
    assert sum(results["kinds"].values()) == n_wrong  # each wrong field, once
    assert 0 <= results["oracle_cuts_exact"] <= 1
    assert results["header"]["config"]["seed"] == 1002  # --tune's touching
    assert "with a true cut added in every overlap" in stdout


def test_oracle_cuts_add_the_true_cut_and_put_the_reader_back():
    from skdigits.reading import _read, _segment

    reading_errors = _module("reading_errors.py")
    image = np.full((60, 200), 235, dtype=np.uint8)
    yy, xx = np.mgrid[:60, :200]
    truth = []
    for cx in (50, 71):  # two rings 24 wide, overlapping: one blob
        ring = ((xx - cx) / 12) ** 2 + ((yy - 30) / 15) ** 2
        ink = (ring <= 1) & (ring > 0.6)
        image[ink] = 20
        cols, rows = np.flatnonzero(ink.any(0)), np.flatnonzero(ink.any(1))
        truth.append([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])
    middle = round((truth[0][2] + truth[1][0]) / 2)
    before = (_read.segment_field, _segment.Field.cuts)
    field = _read.segment_field(image)
    (blob,) = field.blobs
    assert middle - blob.left not in field.cuts(blob)
    with reading_errors.oracle_cuts([truth]):
        field = _read.segment_field(image)
        assert middle - blob.left in field.cuts(blob)  # mid-way in the overlap
    assert (_read.segment_field, _segment.Field.cuts) == before
    with pytest.raises(RuntimeError), reading_errors.oracle_cuts([truth]):
        raise RuntimeError
    assert (_read.segment_field, _segment.Field.cuts) == before


def test_verifier_and_scorer_pieces_are_cut_as_the_shipped_ones_were():
    from skdigits.reading import _segment

    train_verifier = _module("train_verifier.py")
    names = ("SEAM_SAVING", "TOUCHING_WIDTH", "_FRAGMENT_GROWTH", "STROKE_HEIGHT")
    before = {name: getattr(_segment, name) for name in names}
    assert set(train_verifier.CANDIDATE_SETTINGS) == set(before)
    with train_verifier.candidate_settings():
        # No seam saves infinite ink; no blob is wider than infinite heights.
        assert _segment.SEAM_SAVING == _segment.TOUCHING_WIDTH == math.inf
        # No fragment widens a run of touching digits, no stroke gets cuts.
        assert _segment._FRAGMENT_GROWTH == _segment.STROKE_HEIGHT == 0
    with pytest.raises(RuntimeError), train_verifier.candidate_settings():
        raise RuntimeError
    after = {name: getattr(_segment, name) for name in before}
    assert after == before  # put back, after an error too
    # A field with a blob 1.5 heights wide is "touching" to the reader, so
    # its narrower blobs get cuts; not to the shipped pieces' reader.
    image = np.full((60, 200), 235, dtype=np.uint8)
    yy, xx = np.mgrid[:60, :200]
    for cx in (50, 72):  # two rings 24 wide, 30 high, 46 wide together
        ring = ((xx - cx) / 12) ** 2 + ((yy - 30) / 15) ** 2
        image[(ring <= 1) & (ring > 0.6)] = 20
    assert _segment.segment_field(image).touching
    with train_verifier.candidate_settings():
        assert not _segment.segment_field(image).touching
    # A fragment widening a run of touching digits is the run's ink to the
    # reader; to the shipped pieces' reader a dash, dropped.
    image = np.full((60, 200), 235, dtype=np.uint8)
    for cx in (40, 57, 74, 91):  # four rings 20 wide, 30 high: 71 wide
        ring = ((xx - cx) / 10) ** 2 + ((yy - 32) / 15) ** 2
        image[(ring <= 1) & (ring > 0.6)] = 20
    image[12:15, 25:45] = 20  # a bar above the first, 5 columns out
    (blob,) = _segment.segment_field(image).blobs
    assert blob.left == 25
    with train_verifier.candidate_settings():
        (blob,) = _segment.segment_field(image).blobs
        assert blob.left == 30


def test_bench_reading_sets_only_number_constants_read_at_each_call(monkeypatch):
    from skdigits.reading import _scoring, _segment

    bench_reading = _module("bench_reading.py")
    monkeypatch.setattr(_scoring, "PIECE_BIAS", _scoring.PIECE_BIAS)
    monkeypatch.setattr(_segment, "SPLIT_WIDTH", _segment.SPLIT_WIDTH)
    set_ = bench_reading.set_constants(["PIECE_BIAS=2", "SPLIT_WIDTH=0.7"])
    assert set_ == {"PIECE_BIAS": 2.0, "SPLIT_WIDTH": 0.7}
    assert _scoring.PIECE_BIAS == 2.0 and _segment.SPLIT_WIDTH == 0.7
    for bad in (
        "DEFAULT_REJECT_THRESHOLD=0.5",
        "NOPE=1",
        "TEMPERATURE=x",
        "_MAX_CUTS=0.5",
    ):
        with pytest.raises(SystemExit, match="expected NAME=NUMBER"):
            bench_reading.set_constants([bad])


def test_bench_reading_takes_every_set_given(monkeypatch):
    from skdigits.reading import _scoring

    bench_reading = _module("bench_reading.py")
    monkeypatch.setattr(_scoring, "PIECE_BIAS", _scoring.PIECE_BIAS)
    # The first --set is checked (and refused) too, before anything loads: a
    # later --set does not replace it.
    with pytest.raises(SystemExit, match="'NOPE=1'"):
        bench_reading.main(["--smoke", "--set", "NOPE=1", "--set", "PIECE_BIAS=2"])


def test_front_keeps_runs_of_different_files_apart():
    plot_front = _module("plot_front.py")
    run = {"config": "x", "precision": "bfloat16", "seed": 0}
    first = {"runs": [{**run, "fit_s": 10.0, "accuracy": 0.99}]}
    second = {"runs": [{**run, "fit_s": 20.0, "accuracy": 0.995}]}
    found = plot_front.points(sweep=plot_front.merged([first, second]))
    assert sorted(p[1:3] for p in found) == [(10.0, 0.99), (20.0, 0.995)]


def test_docs_figure_adds_only_the_named_older_rows_the_new_run_lacks():
    plot_front = _module("plot_front.py")
    new = {"rows": {"skdigits_default": {"fit_s": 1.0}}, "header": {"x": 1}}
    old = {
        "rows": {
            "skdigits_default": {"fit_s": 9.0},  # the old default: not drawn
            "sklearn_mlp": {"fit_s": 2.0},
            "skorch_cnn": {"fit_s": 3.0},
        }
    }
    merged = plot_front.with_older_rows(new, old, ("sklearn_mlp", "skdigits_best"))
    assert merged["rows"] == {
        "skdigits_default": {"fit_s": 1.0},
        "sklearn_mlp": {"fit_s": 2.0},
    }
    assert merged["header"] == {"x": 1} and "sklearn_mlp" not in new["rows"]


@pytest.mark.slow
def test_train_piece_scorer_smoke(mnist_data_home, tmp_path):
    """The scorer's fit labels the reader's own pieces and writes a file it loads."""
    from skdigits.reading import _scoring

    path = tmp_path / "scorer.json"
    results, stdout = _smoke(
        "train_piece_scorer.py", tmp_path / "s.json", mnist_data_home, "-o", path
    )
    assert f"scorer written to {path}" in stdout
    coef, intercept = _scoring.load_scorer(str(path))
    assert coef.shape == (len(_scoring.PIECE_FEATURES),)
    assert 0.05 < results["digit_share"] < 0.9  # both kinds of piece are made
    assert results["n_pieces"] > results["n_fields"]
    assert 0.5 < results["held_out"]["roc_auc"] <= 1  # better than chance


def test_piece_scorer_fit_folds_the_scaling_into_the_coefficients():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_piece_scorer = _module("train_piece_scorer.py")
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 4)) * [1, 10, 100, 0.1] + [0, 5, -50, 1]
    y = X[:, 0] + X[:, 1] / 10 + rng.normal(size=300) > 0.5
    coef, intercept = train_piece_scorer.fit(X, y)
    reference = make_pipeline(
        StandardScaler(), LogisticRegression(C=train_piece_scorer.C, max_iter=5000)
    ).fit(X, y)
    np.testing.assert_allclose(
        X @ coef + intercept, reference.decision_function(X), rtol=1e-6, atol=1e-8
    )

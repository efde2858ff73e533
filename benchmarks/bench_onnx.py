"""Serving without TensorFlow: the ONNX predictor against CNNDigitClassifier.

One fitted ``CNNDigitClassifier`` (the defaults, trained on the 60,000 MNIST
training images, or a model file given with ``--model``) is exported with
``skdigits.export_onnx`` and loaded back with ``skdigits.load_onnx``. On the
10,000 MNIST test images the script measures:

- parity: identical predictions, largest difference of ``predict_proba``
  (against the estimator, and against the float32 Keras copy of its network
  that the graph is exported from, which is the same thing for a float32
  network);
- predict time: one image (median of many calls) and the 10,000 images
  (median of ``--repeat`` calls), for both;
- start-up: in fresh processes, the time to import, to load the model and to
  predict the first image, for both paths (and with ``--inference-python``,
  for an interpreter whose environment has no TensorFlow);
- size on disk of each environment (``sys.prefix``, and the
  ``--inference-python`` interpreter's), and of the two model files.

Run from the repository root, with MNIST in the scikit-learn data home::

    python benchmarks/bench_onnx.py                              # trains once (~2 min)
    python benchmarks/bench_onnx.py --precision float32 --name bench_onnx_float32
    python benchmarks/bench_onnx.py --model models/default.zip   # a saved model
    python benchmarks/bench_onnx.py --inference-python /tmp/onnx-env/bin/python
    python benchmarks/bench_onnx.py --smoke                      # seconds, for CI

Results go to ``benchmarks/results/<name>.json`` (``--name``, default
``bench_onnx``) or ``--json``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)  # the checkout this script belongs to
sys.path.insert(0, HERE)
import bench_mnist  # noqa: E402  (header, timings, JSON output)

SMOKE_PARAMS = {"filters": [4], "dense_units": 8, "epochs": 1}
SMOKE_SIZES = {"n_train": 600, "n_test": 200}
FULL_SIZES = {"n_train": 60_000, "n_test": 10_000}
SEED = 0

# Run in a fresh process: time to import, to load, to predict one image.
# argv: path, "onnx" or "keras". Prints one JSON line.
_START_UP = """
import json, sys, time
start = time.perf_counter()
import numpy as np
import skdigits
if sys.argv[2] == "onnx":
    from skdigits import load_onnx as load
    import onnxruntime  # noqa: F401
else:
    from skdigits import load_model as load
    import tensorflow  # noqa: F401
    import skdigits._classifier  # noqa: F401
imported = time.perf_counter()
clf = load(sys.argv[1])
loaded = time.perf_counter()
clf.predict(np.zeros((1, clf.n_features_in_), dtype=np.uint8))
predicted = time.perf_counter()
print(json.dumps({
    "import_s": imported - start,
    "load_s": loaded - imported,
    "first_predict_s": predicted - loaded,
    "total_s": predicted - start,
    "tensorflow_imported": "tensorflow" in sys.modules,
}))
"""


def start_up(python, path, kind, runs):
    """Medians of ``runs`` fresh processes of :data:`_START_UP`."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if python == sys.executable:
        env["PYTHONPATH"] = ROOT  # this checkout's skdigits, not an installed one
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [python, "-c", _START_UP, path, kind],
            capture_output=True,
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),
            timeout=600,
        )
        if done.returncode:
            raise RuntimeError(f"start-up run failed:\n{done.stderr}")
        results.append(json.loads(done.stdout.splitlines()[-1]))
    row = {
        key: statistics.median(r[key] for r in results)
        for key in ("import_s", "load_s", "first_predict_s", "total_s")
    }
    row["tensorflow_imported"] = any(r["tensorflow_imported"] for r in results)
    return row


def disk_usage(directory):
    """Bytes a directory takes on disk (blocks, as ``du``), links not followed."""
    total = 0
    for folder, _, files in os.walk(directory):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                pass
    return total


def environment_of(python):
    """``sys.prefix`` and the versions of an interpreter's environment."""
    code = (
        "import sys, json, importlib.metadata as m\n"
        "def v(p):\n"
        "    try: return m.version(p)\n"
        "    except m.PackageNotFoundError: return None\n"
        "print(json.dumps({'prefix': sys.prefix, 'versions': {p: v(p) for p in "
        "('skdigits', 'onnxruntime', 'numpy', 'scikit-learn', 'scipy', "
        "'tensorflow', 'keras', 'onnx', 'tf2onnx')}}))"
    )
    done = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def installed_closure(requirement="skdigits"):
    """MB on disk of a distribution and its dependencies (no extras), installed.

    What ``pip install skdigits`` installs, measured from this environment:
    the files each distribution's RECORD lists, followed through its
    requirements that apply without extras.
    """
    import importlib.metadata as metadata
    import re

    seen, todo, total = set(), [requirement], 0
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for file in dist.files or ():
            try:
                total += os.lstat(dist.locate_file(file)).st_blocks * 512
            except OSError:
                pass
        for line in dist.requires or ():
            requirement, _, marker = line.partition(";")
            if "extra" in marker:
                continue
            todo.append(re.split(r"[\s\[<>=!~(]", requirement.strip(), maxsplit=1)[0])
    return {"distributions": sorted(seen), "size_mb": total / 1e6}


def environment_row(python):
    found = environment_of(python)
    return {
        "python": python,
        "prefix": found["prefix"],
        "size_mb": disk_usage(found["prefix"]) / 1e6,
        "versions": found["versions"],
    }


def run(args):
    from skdigits import CNNDigitClassifier, export_onnx, load_model, load_onnx
    from skdigits._onnx import _inference_network
    from skdigits.datasets import fetch_mnist

    sizes = SMOKE_SIZES if args.smoke else FULL_SIZES
    X_test, y_test = fetch_mnist(subset="test", return_X_y=True)
    X_test, y_test = X_test[: sizes["n_test"]], y_test[: sizes["n_test"]]
    results = {"model": {}}
    workdir = tempfile.mkdtemp(prefix="bench-onnx-")
    if args.model:
        clf = load_model(args.model)
        results["model"]["source"] = args.model
        model_path = args.model
    else:
        X_train, y_train = fetch_mnist(subset="train", return_X_y=True)
        X_train, y_train = X_train[: sizes["n_train"]], y_train[: sizes["n_train"]]
        params = {"random_state": SEED, **(SMOKE_PARAMS if args.smoke else {})}
        if args.precision:
            params["precision"] = args.precision
        clf = CNNDigitClassifier(**params)
        _, fit_s = bench_mnist.timed(clf.fit, X_train, y_train)
        results["model"].update(
            source=f"CNNDigitClassifier(**{params}) fit on {len(X_train)} images",
            fit_s=fit_s,
        )
        from skdigits import save_model

        model_path = args.save_model or os.path.join(workdir, "model.zip")
        save_model(clf, model_path)
    onnx_path = os.path.join(workdir, "model.onnx")
    _, export_s = bench_mnist.timed(export_onnx, clf, onnx_path)
    onnx_clf = load_onnx(onnx_path)
    results["model"].update(
        precision=clf.precision_,
        export_s=export_s,
        model_file_mb=os.path.getsize(model_path) / 1e6,
        onnx_file_mb=os.path.getsize(onnx_path) / 1e6,
    )

    # parity
    proba = clf.predict_proba(X_test)
    onnx_proba = onnx_clf.predict_proba(X_test)
    images = X_test.reshape(-1, *clf.image_shape_).astype(np.float32)
    network = _inference_network(clf.model_)
    float32 = np.concatenate(
        [np.asarray(network(images[i : i + 2048])) for i in range(0, len(images), 2048)]
    )
    predictions, onnx_predictions = proba.argmax(1), onnx_proba.argmax(1)
    results["parity"] = {
        "n_images": len(X_test),
        "differing_predictions": int((predictions != onnx_predictions).sum()),
        "max_abs_proba_diff": float(np.abs(proba - onnx_proba).max()),
        "differing_predictions_vs_float32_keras": int(
            (float32.argmax(1) != onnx_predictions).sum()
        ),
        "max_abs_proba_diff_vs_float32_keras": float(
            np.abs(float32 - onnx_proba).max()
        ),
        "accuracy": float((clf.classes_[predictions] == y_test).mean()),
        "onnx_accuracy": float((onnx_clf.classes_[onnx_predictions] == y_test).mean()),
    }

    # predict times
    one = X_test[:1]
    calls = 20 if args.smoke else 300
    timing = {}
    for name, model in (("keras", clf), ("onnx", onnx_clf)):
        timing[name] = {
            "predict_1_ms": bench_mnist.median_ms(model.predict, one, calls, 10),
            "predict_proba_1_ms": bench_mnist.median_ms(
                model.predict_proba, one, calls, 10
            ),
            f"predict_{len(X_test)}_s": statistics.median(
                bench_mnist.timed(model.predict, X_test)[1] for _ in range(args.repeat)
            ),
        }
    results["predict"] = timing

    # start-up in fresh processes, and environments
    runs = 1 if args.smoke else args.repeat
    results["start_up"] = {
        "keras": start_up(sys.executable, model_path, "keras", runs),
        "onnx": start_up(sys.executable, onnx_path, "onnx", runs),
    }
    results["environments"] = {"full": environment_row(sys.executable)}
    # What pip install skdigits (no extras) puts in an environment, measured
    # on this one's files: the full environment holds much else (dev tools).
    results["environments"]["skdigits_with_dependencies"] = installed_closure()
    if args.inference_python:
        results["start_up"]["onnx_inference_env"] = start_up(
            args.inference_python, onnx_path, "onnx", runs
        )
        results["environments"]["inference"] = environment_row(args.inference_python)
    return results


def print_report(results):
    head = results["header"]
    bench_mnist.print_title("bench_onnx", head)
    if head["config"]["smoke"]:
        print("SMOKE RUN: a tiny network on a few images, numbers mean nothing")
    model = results["model"]
    print(f"\nmodel: {model['source']}, precision {model['precision']}")
    if "fit_s" in model:
        print(f"  fit {model['fit_s']:.1f} s")
    print(
        f"  export {model['export_s']:.2f} s; model file {model['model_file_mb']:.2f}"
        f" MB, ONNX file {model['onnx_file_mb']:.2f} MB"
    )
    parity = results["parity"]
    print(f"\nparity on {parity['n_images']} MNIST test images (ONNX vs ...)")
    print(
        f"  CNNDigitClassifier: {parity['differing_predictions']} predictions "
        f"differ, predict_proba within {parity['max_abs_proba_diff']:.2e}; "
        f"accuracy {parity['accuracy']:.4f} vs {parity['onnx_accuracy']:.4f}"
    )
    print(
        "  its float32 Keras network: "
        f"{parity['differing_predictions_vs_float32_keras']} differ, within "
        f"{parity['max_abs_proba_diff_vs_float32_keras']:.2e}"
    )
    print(f"\n{'predict':<28}{'keras':>12}{'onnx':>12}")
    for key in results["predict"]["keras"]:
        keras_value = results["predict"]["keras"][key]
        onnx_value = results["predict"]["onnx"][key]
        print(f"  {key:<26}{keras_value:>12.3f}{onnx_value:>12.3f}")
    print("\nfresh process, median s: import / load / first predict / total")
    for name, row in results["start_up"].items():
        print(
            f"  {name:<22}{row['import_s']:>8.2f}{row['load_s']:>8.2f}"
            f"{row['first_predict_s']:>8.3f}{row['total_s']:>8.2f}"
            f"  tensorflow imported: {row['tensorflow_imported']}"
        )
    print("\nenvironment size on disk")
    for name, row in results["environments"].items():
        where = row.get("prefix") or f"{len(row['distributions'])} distributions"
        print(f"  {name:<28}{row['size_mb']:>9.0f} MB  {where}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--model", help="a model file to measure instead of training")
    parser.add_argument("--save-model", help="keep the trained model file there")
    parser.add_argument(
        "--precision",
        choices=("auto", "float32", "bfloat16"),
        help="the trained estimator's precision (default: its default, auto)",
    )
    parser.add_argument(
        "--inference-python",
        help="an interpreter of an environment without TensorFlow, with "
        "skdigits (--no-deps), numpy, scikit-learn and onnxruntime",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each 10k predict, start-up"
    )
    parser.add_argument("--name", default=None, help="results/NAME.json")
    parser.add_argument("--json", default=None, help="results file path")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    name = args.name or ("bench_onnx_smoke" if args.smoke else "bench_onnx")
    path = args.json or os.path.join(HERE, "results", f"{name}.json")
    config = {
        "smoke": args.smoke,
        "repeat": args.repeat,
        "seed": SEED,
        "precision": args.precision,
    }
    results = {"header": bench_mnist.header(config)}
    results["header"]["versions"].update(
        bench_mnist.versions(("onnx", "onnxruntime", "tf2onnx"))
    )
    results.update(run(args))
    print_report(results)
    bench_mnist.write_json(results, path)
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

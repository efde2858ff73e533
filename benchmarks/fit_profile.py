"""Where the time of a ``CNNDigitClassifier.fit`` goes, in each precision.

A callback timestamps every epoch's training steps and its validation
pass; what is left of the fit's wall time is set-up (checks, the split,
building and compiling the network) and wrap-up. The first epoch includes
tracing the training step. One fresh process per precision::

    python benchmarks/fit_profile.py                       # default parameters
    python benchmarks/fit_profile.py --set filters=[32,64] dense_units=256
    python benchmarks/fit_profile.py --smoke

Results go to ``benchmarks/results/fit_profile.json`` (``--name``).
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_mnist  # noqa: E402  (also puts this checkout first on sys.path)


def profile_fit(name, config):
    """Fit with a timing callback: seconds per phase."""
    import keras

    from skdigits import CNNDigitClassifier, _runtime

    _runtime.set_num_threads()
    marks = []

    class Clock(keras.callbacks.Callback):
        def _mark(self, what):
            marks.append((what, time.perf_counter()))

        def on_epoch_begin(self, epoch, logs=None):
            self._mark("epoch_begin")

        def on_test_begin(self, logs=None):
            self._mark("test_begin")

        def on_test_end(self, logs=None):
            self._mark("test_end")

        def on_epoch_end(self, epoch, logs=None):
            self._mark("epoch_end")

    params = {"precision": config["precision"], "random_state": 0, **config["params"]}
    if config["smoke"]:
        params.update(bench_mnist.SMOKE_NETWORK)
    X_train, y_train, X_test, y_test = bench_mnist.load_split(config)
    clf = CNNDigitClassifier(callbacks=[Clock()], **params)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    total = time.perf_counter() - start
    train, validation = [], []
    begin = test = None
    for what, t in marks:
        if what == "epoch_begin":
            begin, test = t, None
        elif what == "test_begin":
            test = t
            train.append(t - begin)
        elif what == "test_end":
            validation.append(t - test)
        elif what == "epoch_end" and test is None:  # no validation this epoch
            train.append(t - begin)
    epochs_s = marks[-1][1] - marks[0][1]
    return {
        "precision": clf.precision_,
        "fit_s": total,
        "epochs": len(train),
        "first_epoch_train_s": train[0],
        "median_epoch_train_s": float(np.median(train[1:] or train)),
        "median_validation_s": float(np.median(validation)) if validation else 0.0,
        "validation_s": float(sum(validation)),
        "outside_epochs_s": total - epochs_s,
        "accuracy": float(clf.score(X_test, y_test)),
        "params": params,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--precisions", nargs="+", default=["float32", "bfloat16"], metavar="P"
    )
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="NAME=JSON", help="estimator params"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--name", default="fit_profile", help="results/NAME.json")
    parser.add_argument("--json", help="results file (default results/NAME.json)")
    args = parser.parse_args(argv)
    params = {}
    for item in args.set:
        key, _, value = item.partition("=")
        params[key] = json.loads(value)
    sizes = bench_mnist.SMOKE_SIZES if args.smoke else bench_mnist.FULL_SIZES
    base = {"smoke": args.smoke, **sizes, "params": params}
    results = {"header": bench_mnist.header(base), "runs": []}
    for precision in args.precisions:
        run = bench_mnist.run_in_fresh_process(
            precision, {**base, "precision": precision}, profile_fit
        )
        results["runs"].append(run)
        print(json.dumps({k: v for k, v in run.items() if k != "params"}))
    suffix = "_smoke" if args.smoke else ""
    path = args.json or os.path.join(HERE, "results", f"{args.name}{suffix}.json")
    bench_mnist.write_json(results, path)
    print(f"results written to {path}")
    return results


if __name__ == "__main__":
    main()

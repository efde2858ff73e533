"""Wall time of one grid search on Dask with 1 and with 2 worker processes.

The same search runs in every row: ``GridSearchCV`` over network sizes and
an early-stopping setting of ``CNNDigitClassifier(random_state=0)``, on the
first ``n_train`` MNIST training images, ``refit=False`` (the refit is one
more fit in the client whatever the cluster; see the user guide). Each row
runs in a fresh process:

- ``sequential``: ``search.fit`` without Dask, one fit at a time, TensorFlow
  with its default threads (every core): where a user starts from.
- ``dask_WxT``: the search inside ``joblib.parallel_backend("dask")`` on a
  ``LocalCluster`` of ``W`` worker processes of ``T`` threads each; by
  skdigits' rule each worker's TensorFlow uses ``T`` threads. The default
  rows are ``dask_1x1`` (one worker process, one core), ``dask_1x2`` (one
  worker process, two fits at a time) and ``dask_2x1`` (two worker
  processes, one core each).

A cluster of one thread in all runs no fit on Dask: joblib runs a call whose
backend offers one worker sequentially in the calling process. So the
``dask_1x1`` row trains in the client, with ``SKDIGITS_NUM_THREADS=1`` there,
the work one single-core worker would do (``ran_in`` says where fits ran).

The cluster is started and every worker imports TensorFlow before the clock
starts (``startup_s`` reports that time); the clock then covers
``search.fit`` only: sending the estimator and data, the fits, the scores
coming back. Rows with one TensorFlow thread per fit must have equal scores
(``scores_equal``).

Run from the repository root, with MNIST in the scikit-learn data home, on
a machine that does nothing else::

    python benchmarks/bench_dask.py                 # every row, once
    python benchmarks/bench_dask.py --repeat 3      # medians of 3 runs
    python benchmarks/bench_dask.py --rows dask_1x1 dask_2x1 dask_4x1
    python benchmarks/bench_dask.py --smoke         # seconds, for CI

Results go to ``benchmarks/results/<name>.json`` (``--name``) or ``--json``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Benchmark the checkout this script belongs to, installed or not; share
# bench_mnist's helpers (header, medians, JSON output).
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

import bench_mnist  # noqa: E402

from skdigits._defaults import PREVIOUS_DEFAULTS  # noqa: E402

SEED = 0
# The network of the earlier runs (the estimator's defaults before session
# 7, with their validation split, so that the searched patience matters).
PREVIOUS_NETWORK = dict(PREVIOUS_DEFAULTS)
FULL = {
    "n_train": 10_000,
    "cv": 2,
    "network": {**PREVIOUS_NETWORK, "epochs": 3},
    "param_grid": {
        "filters": [[8, 16], [16, 32]],
        "callbacks__early_stopping__patience": [1, 2],
    },
}
SMOKE = {
    "n_train": 600,
    "cv": 2,
    "network": {**PREVIOUS_NETWORK, "filters": [4], "dense_units": 8, "epochs": 1},
    "param_grid": {"callbacks__early_stopping__patience": [1, 2]},
}
DEFAULT_ROWS = ["sequential", "dask_1x1", "dask_1x2", "dask_2x1"]
SMOKE_ROWS = ["dask_1x1", "dask_2x1"]
# (label, path of keys into the comparison, comparison, limit); see README.md.
TARGETS = [("dask_2x1 / dask_1x1 (time)", ("dask_2x1 / dask_1x1",), "<=", 0.6)]


def cluster_shape(name):
    """``(workers, threads per worker)`` of a row named ``dask_WxT``."""
    try:
        prefix, shape = name.split("_")
        workers, threads = (int(n) for n in shape.split("x"))
    except ValueError:
        raise ValueError(f"not a row: {name!r} (sequential or dask_WxT)") from None
    if prefix != "dask" or workers < 1 or threads < 1:
        raise ValueError(f"not a row: {name!r} (sequential or dask_WxT)")
    return workers, threads


def row_name_type(name):
    """argparse type of --rows."""
    if name != "sequential":
        try:
            cluster_shape(name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return name


# ----------------------------------------------------------------------
# one row, in a fresh process


def make_search(config):
    """The search of every row, unfitted."""
    from sklearn.model_selection import GridSearchCV

    from skdigits import CNNDigitClassifier

    def as_params(values):  # JSON lists back to the tuples the estimator takes
        return [tuple(v) if isinstance(v, list) else v for v in values]

    estimator = CNNDigitClassifier(random_state=SEED)
    estimator.set_params(
        **{
            k: tuple(v) if isinstance(v, list) else v
            for k, v in config["network"].items()
        }
    )
    grid = {name: as_params(values) for name, values in config["param_grid"].items()}
    return GridSearchCV(estimator, grid, cv=config["cv"], refit=False)


def load_data(config):
    from skdigits.datasets import fetch_mnist

    X, y = fetch_mnist(subset="train", return_X_y=True)
    return X[: config["n_train"]], y[: config["n_train"]]


def search_result(search, fit_s, **extra):
    results = search.cv_results_
    scores = [
        [float(results[f"split{i}_test_score"][c]) for i in range(search.n_splits_)]
        for c in range(len(results["params"]))
    ]
    return {
        "fit_s": fit_s,
        "n_fits": len(results["params"]) * search.n_splits_,
        "mean_score": float(results["mean_test_score"].mean()),
        "scores": scores,
        **extra,
    }


def sequential_row(config):
    X, y = load_data(config)
    search = make_search(config)
    _, fit_s = bench_mnist.timed(search.fit, X, y)
    import tensorflow as tf

    threads = tf.config.threading.get_intra_op_parallelism_threads() or "default"
    return search_result(
        search, fit_s, workers=0, tf_threads=threads, startup_s=0.0, ran_in="client"
    )


def _tensorflow_threads():
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads()


def _import_tensorflow():
    import skdigits._classifier  # noqa: F401  (TensorFlow and Keras)


def dask_row(config, n_workers, threads_per_worker):
    import joblib
    from dask.distributed import Client, LocalCluster

    from skdigits import _runtime

    X, y = load_data(config)
    search = make_search(config)
    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # skdigits' rule for Dask workers, not a count from the environment.
        env={"TF_CPP_MIN_LOG_LEVEL": "2", _runtime.NUM_THREADS_ENV: ""},
    )
    try:
        with Client(cluster) as client:
            client.wait_for_workers(n_workers)
            client.run(_import_tensorflow)
            startup_s = time.perf_counter() - start
            with joblib.parallel_backend("dask"):
                _, fit_s = bench_mnist.timed(search.fit, X, y)
            on_workers = sorted(set(client.run(_tensorflow_threads).values()))
    finally:
        cluster.close()
    if n_workers * threads_per_worker == 1:  # joblib ran it here (see above)
        threads, ran_in = [_tensorflow_threads()], "client"
    else:
        threads, ran_in = on_workers, "workers"
    return search_result(
        search,
        fit_s,
        workers=n_workers,
        threads_per_worker=threads_per_worker,
        tf_threads=threads,
        startup_s=startup_s,
        ran_in=ran_in,
    )


def run_row(name, config):
    if name == "sequential":
        return sequential_row(config)
    workers, threads = cluster_shape(name)
    if workers * threads == 1:
        # joblib runs the search here: one thread, like the single worker.
        from skdigits import set_num_threads

        set_num_threads(1)
    return dask_row(config, workers, threads)


def run_in_fresh_process(name, config):
    """``run_row`` in a new interpreter; a failure is reported, not raised."""
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, "row.json")
        completed = subprocess.run(
            [sys.executable, __file__, "--_row", name, "--_config", json.dumps(config)]
            + ["--_out", out],
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        if completed.returncode != 0 or not os.path.exists(out):
            return {"error": f"the row's process exited with {completed.returncode}"}
        with open(out) as f:
            return json.load(f)


# ----------------------------------------------------------------------
# summarising and reporting


def compare(rows):
    """Time ratios of each Dask row to ``dask_1x1`` and to ``sequential``."""
    comparison = {}
    for reference in ("dask_1x1", "sequential"):
        reference_s = rows.get(reference, {}).get("fit_s")
        if not reference_s:
            continue
        for name, row in rows.items():
            if name.startswith("dask_") and name != reference and "fit_s" in row:
                comparison[f"{name} / {reference}"] = row["fit_s"] / reference_s
    one_thread = [
        row["scores"]
        for name, row in rows.items()
        if name.startswith("dask_") and row.get("tf_threads") == [1]
    ]
    if len(one_thread) > 1:
        comparison["scores_equal"] = all(s == one_thread[0] for s in one_thread)
    return comparison


def versions():
    return bench_mnist.versions(extra=("dask", "distributed", "joblib"))


def print_report(results):
    head = results["header"]
    config = head["config"]
    bench_mnist.print_title("bench_dask", head)
    n_candidates = 1
    for values in config["param_grid"].values():
        n_candidates *= len(values)
    print(
        f"search: {n_candidates} candidates x {config['cv']} folds on "
        f"{config['n_train']} MNIST images, refit=False; medians of "
        f"{config['repeat']} run(s)"
        + (
            "; SMOKE RUN: tiny networks, numbers mean nothing"
            if config["smoke"]
            else ""
        )
    )
    print(
        f"\n{'row':<14}{'ran in':>8}{'TF threads':>12}{'search s':>10}"
        f"{'vs dask_1x1':>13}{'startup s':>11}{'mean score':>12}"
    )
    one = results["rows"].get("dask_1x1", {}).get("fit_s")
    for name, row in results["rows"].items():
        if "fit_s" not in row:
            print(f"{name:<14}FAILED: {row.get('error', '')}")
            continue
        threads = row["tf_threads"]
        threads = ",".join(map(str, threads)) if isinstance(threads, list) else threads
        ratio = f"{row['fit_s'] / one:.2f}x" if one else "-"
        print(
            f"{name:<14}{row['ran_in']:>8}{threads:>12}{row['fit_s']:>10.1f}"
            f"{ratio:>13}{row['startup_s']:>11.1f}{row['mean_score']:>12.4f}"
        )
    if "scores_equal" in results["comparison"]:
        equal = results["comparison"]["scores_equal"]
        print(f"\nscores equal in the 1-thread Dask rows: {'yes' if equal else 'NO'}")
    print("\ntargets" + (" (for full runs only)" if config["smoke"] else ""))
    for check in results["targets"]:
        print(
            f"  {check['target']:<30}{check['value']:>8.3f} {check['op']} "
            f"{check['limit']:<6g}{'met' if check['met'] else 'NOT MET'}"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument(
        "--rows",
        nargs="+",
        type=row_name_type,
        metavar="ROW",
        help="sequential and/or dask_WxT (W workers of T threads); default "
        f"{' '.join(DEFAULT_ROWS)} ({' '.join(SMOKE_ROWS)} with --smoke)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each row; medians reported"
    )
    parser.add_argument("--name", default="bench_dask", help="results file name")
    parser.add_argument(
        "--json", help="results file (default benchmarks/results/NAME.json)"
    )
    # One row in this process, for run_in_fresh_process.
    parser.add_argument("--_row", help=argparse.SUPPRESS)
    parser.add_argument("--_config", type=json.loads, help=argparse.SUPPRESS)
    parser.add_argument("--_out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._row:
        bench_mnist.write_json(run_row(args._row, args._config), args._out)
        return None
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    config = {"smoke": args.smoke, **(SMOKE if args.smoke else FULL)}
    config["repeat"] = args.repeat
    names = list(
        dict.fromkeys(args.rows or (SMOKE_ROWS if args.smoke else DEFAULT_ROWS))
    )
    started = bench_mnist.header(config)
    started["versions"] = versions()
    runs = {name: [] for name in names}
    for repeat in range(args.repeat):  # rows interleaved: drift hits them alike
        for name in names:
            print(f"[run {repeat + 1}/{args.repeat}] {name} ...", flush=True)
            result, seconds = bench_mnist.timed(run_in_fresh_process, name, config)
            print(
                f"[run {repeat + 1}/{args.repeat}] {name}: {seconds:.0f} s", flush=True
            )
            runs[name].append(result)
    rows = {
        name: {**bench_mnist.median_of(row_runs), "runs": row_runs}
        for name, row_runs in runs.items()
    }
    results = {"header": started, "rows": rows, "comparison": compare(rows)}
    results["targets"] = bench_mnist.check_targets(results["comparison"], TARGETS)

    path = args.json or os.path.join(
        HERE, "results", f"{args.name}{'_smoke' if args.smoke else ''}.json"
    )
    bench_mnist.write_json(results, path)
    print_report(results)
    print(f"\nresults written to {path}")
    return results


if __name__ == "__main__":
    results = main()
    if results is not None:
        failed = [name for name, row in results["rows"].items() if "error" in row]
        sys.exit(f"failed rows: {', '.join(failed)}" if failed else 0)

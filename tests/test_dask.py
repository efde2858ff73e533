"""Searches on a Dask cluster through joblib (docs/user_guide/dask.rst).

One ``LocalCluster`` of two worker processes on 127.0.0.1, one thread each,
shared by the module. A small grid search over a pipeline (MNISTNormalizer,
then the network) on scikit-learn's 8x8 digits runs on it; the tests check
that its scores equal the same search run sequentially, that fitted
estimators travel between client and workers, that each worker's TensorFlow
uses its share of the cores, that the data reach each worker once, and that a
worker killed in the middle of a fit is survived.
"""

import os
import pickle
import signal
import sys
import threading
import time

import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline

from skdigits import CNNDigitClassifier, _runtime
from skdigits.preprocessing import MNISTNormalizer

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

pytestmark = pytest.mark.slow

N_WORKERS = 2
# What the workers need: quiet TensorFlow, and no SKDIGITS_NUM_THREADS from
# the test environment, so that the Dask rule of _runtime is what runs.
WORKER_ENV = {"TF_CPP_MIN_LOG_LEVEL": "2", _runtime.NUM_THREADS_ENV: ""}
# Two candidates that differ in network size and in a callback setting.
PARAM_GRID = [
    {"cnn__filters": [(4,)], "cnn__callbacks__early_stopping__patience": [1]},
    {"cnn__filters": [(8,)], "cnn__callbacks__early_stopping__patience": [2]},
]
CV = 2
TIMEOUT = 180  # seconds any one search may take before the test fails


def make_pipeline(**cnn_params):
    """8x8 digits in MNIST form, 12x12 pixels; a tiny network: ~1 s a fit."""
    cnn = CNNDigitClassifier(
        filters=(4,),
        dense_units=16,
        batch_size=16,
        epochs=4,
        learning_rate=0.01,
        validation_split=0.1,  # for the early-stopping setting searched
        random_state=0,
        **cnn_params,
    )
    return Pipeline(
        [("normalize", MNISTNormalizer(box_size=10, output_size=12)), ("cnn", cnn)]
    )


def make_search(refit=True, **cnn_params):
    return GridSearchCV(make_pipeline(**cnn_params), PARAM_GRID, cv=CV, refit=refit)


def split_scores(search):
    """Every candidate's test score on every split: (n_candidates, CV)."""
    results = search.cv_results_
    return np.column_stack([results[f"split{i}_test_score"] for i in range(CV)])


# ----------------------------------------------------------------------
# run on the workers (pickled by value: the workers cannot import this file)


def search_sequentially(search, X, y):
    """``search.fit`` with joblib's sequential backend: no Dask, one process."""
    with joblib.parallel_config(backend="sequential"):
        return search.fit(X, y)


def tensorflow_threads():
    """This process's TensorFlow pools, and whether a fit applied the rule."""
    import tensorflow as tf

    threading_config = tf.config.threading
    return (
        threading_config.get_intra_op_parallelism_threads(),
        threading_config.get_inter_op_parallelism_threads(),
        _runtime._env_threads_applied,
    )


def predict_proba(estimator, X):
    return estimator.predict_proba(X)


def transfers_in(dask_worker):
    """Keys this worker fetched from other workers, one entry per transfer."""
    return [key for entry in dask_worker.transfer_incoming_log for key in entry["keys"]]


class StallFirstFit(keras.callbacks.Callback):
    """Marks each fit's worker; the first fit to end an epoch then stalls.

    ``directory/fitting-<pid>`` appears when a worker has ended an epoch;
    ``directory/stalled`` holds the pid of the worker whose fit stalls, for
    the test to kill it. Only one fit ever stalls, even after a restart.
    """

    def __init__(self, directory):
        super().__init__()
        self.directory = directory

    def on_epoch_end(self, epoch, logs=None):
        pid = str(os.getpid())
        open(os.path.join(self.directory, f"fitting-{pid}"), "a").close()
        if epoch != 0:
            return
        draft = os.path.join(self.directory, f"draft-{pid}")
        with open(draft, "w") as f:
            f.write(pid)
        try:
            os.link(draft, os.path.join(self.directory, "stalled"))  # atomic
        except FileExistsError:
            return
        time.sleep(TIMEOUT)


class TaskInputs(distributed.SchedulerPlugin):
    """Records, for each task the scheduler hands a worker, the data it reads."""

    name = "skdigits-test-task-inputs"

    def __init__(self, scheduler):
        self.scheduler = scheduler
        self.inputs = {}  # task key -> {dependency key: bytes}

    def transition(self, key, start, finish, *args, **kwargs):
        if finish == "processing" and key in self.scheduler.tasks:
            dependencies = self.scheduler.tasks[key].dependencies
            self.inputs[key] = {dep.key: dep.nbytes for dep in dependencies}


# ----------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def data():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600], X[600:700], y[600:700]


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 worker processes, 1 thread each, on 127.0.0.1."""
    import cloudpickle

    this_module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(this_module)
    local_cluster = distributed.LocalCluster(
        n_workers=N_WORKERS,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        env=WORKER_ENV,
    )
    client = distributed.Client(local_cluster)
    try:
        yield local_cluster, client
    finally:
        client.close()
        local_cluster.close()
        cloudpickle.unregister_pickle_by_value(this_module)


@pytest.fixture
def client(cluster):
    """The cluster's client, with every worker up (a test may kill one)."""
    _, dask_client = cluster
    dask_client.wait_for_workers(N_WORKERS, timeout=TIMEOUT)
    return dask_client


@pytest.fixture(scope="module")
def dask_search(cluster, data):
    """The search run on the cluster, with what its tasks read recorded."""
    local_cluster, client = cluster
    X, y, _, _ = data
    recorder = TaskInputs(local_cluster.scheduler)
    local_cluster.scheduler.add_plugin(recorder)
    try:
        with joblib.parallel_backend("dask"):
            search = make_search().fit(X, y)
    finally:
        local_cluster.scheduler.remove_plugin(name=recorder.name)
    transfers = client.run(transfers_in)
    return search, recorder.inputs, transfers


@pytest.fixture(scope="module")
def sequential_search(cluster, data):
    """The same search, sequential, in one worker process (the same threads).

    TensorFlow on a CPU gives the same numbers bit for bit for the same
    thread count, and the workers run one thread; the test process may run
    more. Without the refit, which the client of the Dask search does.
    """
    _, client = cluster
    X, y, _, _ = data
    search = make_search(refit=False)
    future = client.submit(search_sequentially, search, X, y, pure=False)
    return future.result(timeout=TIMEOUT)


# ----------------------------------------------------------------------
# results


def test_dask_search_equals_sequential_search(dask_search, sequential_search):
    search, _, _ = dask_search
    np.testing.assert_array_equal(split_scores(search), split_scores(sequential_search))
    results = sequential_search.cv_results_
    assert search.best_index_ == np.argmin(results["rank_test_score"])
    # Both candidates learned something, and differently: a real comparison.
    assert len(set(split_scores(search).ravel())) > 1
    assert split_scores(search).min() > 0.2  # chance: 0.1


def test_refit_happens_in_the_client(dask_search):
    search, inputs, _ = dask_search
    # The workers ran one task per candidate and split, no more: the refit on
    # all the data ran here, in the client.
    fit_tasks = [key for key in inputs if "batch_of" in key]
    assert len(fit_tasks) == len(search.cv_results_["params"]) * CV
    assert search.refit_time_ > 0
    assert search.best_estimator_.named_steps["cnn"].model_ is not None


def test_fitted_estimators_travel_both_ways(client, dask_search, data):
    search, _, _ = dask_search
    _, _, X_test, _ = data
    best = search.best_estimator_
    expected = best.predict_proba(X_test)
    # Pickled in this process...
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(best)).predict_proba(X_test), expected
    )
    # ... and on a worker, which has other TensorFlow threads.
    remote = client.submit(predict_proba, best, X_test, pure=False)
    np.testing.assert_allclose(remote.result(timeout=TIMEOUT), expected, atol=1e-5)


def test_each_worker_uses_its_share_of_the_cores(client, dask_search):
    # Each worker's first fit set TensorFlow's pools to its nthreads: 1.
    threads = client.run(tensorflow_threads)
    assert sorted(threads.values()) == [(1, 1, True)] * N_WORKERS


# ----------------------------------------------------------------------
# data transfers


def test_data_reach_each_worker_once(dask_search, data):
    X, y, _, _ = data
    search, inputs, transfers = dask_search
    n_fits = len(search.cv_results_["params"]) * CV
    fit_tasks = {key: deps for key, deps in inputs.items() if "batch_of" in key}
    assert len(fit_tasks) == n_fits  # one fit per task
    # joblib scattered X once: a single key holds it, which every task reads
    # instead of carrying a copy of the data.
    X_keys = {
        key for deps in fit_tasks.values() for key, n in deps.items() if n == X.nbytes
    }
    assert len(X_keys) == 1
    (X_key,) = X_keys
    assert all(X_key in deps for deps in fit_tasks.values())
    # It went to one worker; each other worker fetched it at most once.
    fetched = [keys.count(X_key) for keys in transfers.values()]
    assert all(count <= 1 for count in fetched)
    assert sum(fetched) <= N_WORKERS - 1 < n_fits


# ----------------------------------------------------------------------
# a worker killed in the middle of a fit


def _cross_validate_killing_a_worker(client, cluster, data, search, directory):
    """cross_validate the best candidate, SIGKILL the worker of a stalled fit.

    Everything the fits read, the data and the folds' indices, is sent to
    every worker first (``scatter``), so no data are lost with the worker.
    Returns ``{"results": ...}`` or ``{"error": ...}``, the key of ``X``,
    and the transfers between workers made before the kill.
    """
    local_cluster, _ = cluster
    X, y, _, _ = data
    estimator = make_pipeline(callbacks=[StallFirstFit(str(directory))])
    estimator.set_params(**search.best_params_)
    # The search's folds, as arrays joblib finds in its scatter list.
    folds = list(StratifiedKFold(CV).split(X, y))
    everything = [X, y, *(indices for fold in folds for indices in fold)]
    outcome = {}

    def run():
        try:
            with joblib.parallel_backend("dask", scatter=everything):
                outcome["results"] = cross_validate(
                    estimator, X, y, cv=folds, return_estimator=True
                )
        except Exception as exc:  # reported to the test
            outcome["error"] = exc

    pids = set(client.run(os.getpid).values())
    transfers_before = client.run(transfers_in)
    recorder = TaskInputs(local_cluster.scheduler)
    local_cluster.scheduler.add_plugin(recorder)
    worker = threading.Thread(target=run, daemon=True)
    try:
        worker.start()
        stalled = directory / "stalled"
        deadline = time.monotonic() + TIMEOUT
        # Kill in the middle of a fit, once both workers are fitting.
        while not (stalled.exists() and len(list(directory.glob("fitting-*"))) == 2):
            assert time.monotonic() < deadline, "no fit stalled"
            assert worker.is_alive(), outcome
            time.sleep(0.05)
        transfers = {
            address: keys[len(transfers_before.get(address, [])) :]
            for address, keys in client.run(transfers_in).items()
        }
        pid = int(stalled.read_text())
        assert pid in pids
        os.kill(pid, signal.SIGKILL)
        worker.join(TIMEOUT)
        assert not worker.is_alive(), "cross_validate did not end after the kill"
    finally:
        local_cluster.scheduler.remove_plugin(name=recorder.name)
    X_keys = {
        key
        for deps in recorder.inputs.values()
        for key, n in deps.items()
        if n == X.nbytes
    }
    return outcome, X_keys, transfers


def test_killed_worker_is_survived(client, cluster, data, dask_search, tmp_path):
    search, _, _ = dask_search
    outcome, X_keys, transfers = _cross_validate_killing_a_worker(
        client, cluster, data, search, tmp_path
    )
    assert "error" not in outcome, outcome
    # Dask ran the killed fit again on a live worker; seeds make it equal
    # (the same folds and parameters as the search's best candidate).
    results = outcome["results"]
    np.testing.assert_array_equal(
        results["test_score"], split_scores(search)[search.best_index_]
    )
    # Estimators fitted on the workers came back fitted.
    for fitted in results["estimator"]:
        assert fitted.named_steps["cnn"].model_ is not None
    # scatter put X on every worker before the fits: one key, which no worker
    # had to fetch from another.
    assert len(X_keys) == 1
    assert all(X_keys.isdisjoint(keys) for keys in transfers.values())
    # The nanny restarts the killed worker.
    client.wait_for_workers(N_WORKERS, timeout=TIMEOUT)

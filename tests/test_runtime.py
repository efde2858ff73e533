"""Seeds and threads: the one place that sets them (skdigits/_runtime.py)."""

import os
import random
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

from skdigits import _runtime


def test_seed_from_follows_scikit_learn_random_state_rules():
    assert _runtime.seed_from(3) == _runtime.seed_from(3)
    rng = np.random.RandomState(0)
    assert _runtime.seed_from(rng) != _runtime.seed_from(rng)  # advanced


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_set_num_threads_rejects_non_positive_ints(bad):
    with pytest.raises(ValueError, match="positive integer"):
        _runtime.set_num_threads(bad)


@pytest.fixture(scope="module")
def network_files(tmp_path_factory):
    """A tiny fitted estimator, as a model file and as a pickle."""
    import pickle

    from skdigits import CNNDigitClassifier, save_model

    X = np.random.RandomState(0).rand(20, 16)
    clf = CNNDigitClassifier(filters=(4,), dense_units=4, epochs=1)
    clf.fit(X, [0, 1] * 10)
    folder = tmp_path_factory.mktemp("networks")
    save_model(clf, folder / "model.zip")
    (folder / "model.pkl").write_bytes(pickle.dumps(clf))
    return folder


# How a fresh process gets its first network: each must apply the rule first.
FIRST_NETWORK = {
    "fit": "CNNDigitClassifier(filters=(4,), dense_units=4, epochs=1).fit("
    "np.random.RandomState(0).rand(20, 16), [0, 1] * 10)",
    "load_model": "skdigits.load_model(folder / 'model.zip')",
    "unpickle": "pickle.loads((folder / 'model.pkl').read_bytes())",
}


@pytest.mark.parametrize("first", list(FIRST_NETWORK))
def test_env_threads_reach_tensorflow_before_the_first_network(first, network_files):
    # A fresh process: TensorFlow's pools are fixed by its first operation.
    code = textwrap.dedent(
        f"""
        import pathlib
        import pickle
        import sys
        import warnings

        import numpy as np
        import tensorflow as tf
        import skdigits
        from skdigits import CNNDigitClassifier

        warnings.simplefilter("error", RuntimeWarning)  # "threads not applied"
        folder = pathlib.Path({str(network_files)!r})
        model = {FIRST_NETWORK[first]}
        model.predict(np.zeros((1, 16)))
        print(tf.config.threading.get_intra_op_parallelism_threads(),
              tf.config.threading.get_inter_op_parallelism_threads(),
              "distributed" in sys.modules)
        """
    )
    env = {**os.environ, _runtime.NUM_THREADS_ENV: "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    # ... and Dask is no dependency: nothing here imports it.
    assert out.stdout.split() == ["1", "1", "False"]


def test_bad_env_threads_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(_runtime.NUM_THREADS_ENV, "many")
    with pytest.raises(ValueError, match="SKDIGITS_NUM_THREADS must be a positive"):
        _runtime.set_num_threads()


# ----------------------------------------------------------------------
# Dask workers: their share of the cores (tests/test_dask.py runs a cluster)


def _fake_distributed(nthreads):
    """A stand-in for ``distributed`` whose get_worker behaves as in a task."""

    def get_worker():
        if nthreads is None:
            raise ValueError("No worker found")
        return types.SimpleNamespace(state=types.SimpleNamespace(nthreads=nthreads))

    return types.SimpleNamespace(get_worker=get_worker)


def test_dask_worker_threads_is_the_workers_nthreads(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(3))
    assert _runtime.dask_worker_threads() == 3
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(None))
    assert _runtime.dask_worker_threads() is None  # not in a task
    monkeypatch.delitem(sys.modules, "distributed")
    assert _runtime.dask_worker_threads() is None  # never imported: no Dask


@pytest.fixture
def first_fit(monkeypatch):
    """apply_env_threads as at a process's first fit; the counts it applies."""
    applied = []
    monkeypatch.setattr(_runtime, "_env_threads_applied", False)
    monkeypatch.setattr(_runtime, "_threads_chosen", False)
    monkeypatch.setattr(_runtime, "set_num_threads", applied.append)
    monkeypatch.delenv(_runtime.NUM_THREADS_ENV, raising=False)
    return applied


def test_first_fit_in_a_dask_worker_takes_the_workers_share(first_fit, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(3))
    _runtime.apply_env_threads()
    _runtime.apply_env_threads()  # once per process
    assert first_fit == [3]


def test_env_threads_win_over_the_workers_share(first_fit, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(3))
    monkeypatch.setenv(_runtime.NUM_THREADS_ENV, "2")
    _runtime.apply_env_threads()
    assert first_fit == [None]  # set_num_threads() reads the variable


def test_an_explicit_count_wins_over_the_first_fit(first_fit, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(3))
    monkeypatch.setattr(_runtime, "_threads_chosen", True)  # set_num_threads(n)
    _runtime.apply_env_threads()
    assert first_fit == []


def test_first_fit_outside_dask_leaves_tensorflow_alone(first_fit, monkeypatch):
    monkeypatch.delitem(sys.modules, "distributed", raising=False)
    _runtime.apply_env_threads()
    assert first_fit == []
    # A client imports distributed too, but runs no task: still nothing...
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(None))
    _runtime.apply_env_threads()
    assert first_fit == []
    # ... and a later fit in a Dask task of this process still gets its share.
    monkeypatch.setitem(sys.modules, "distributed", _fake_distributed(2))
    _runtime.apply_env_threads()
    assert first_fit == [2]


# ----------------------------------------------------------------------
# Seeds: Keras' default layer seeds are the fitting thread's own


def test_keras_layer_seeds_ignore_other_threads_draws():
    # Keras draws a seed for each layer built without one from Python's
    # global generator; a Dask worker's event loop draws from it too, from
    # another thread, while a task builds its network. Inside seeded(), the
    # draws are the fitting thread's own: the same with or without them.
    from keras.src.random.seed_generator import make_default_seed

    assert _runtime._keras_seed_module() is not None, "Keras moved its seeds"
    with _runtime.seeded(7):
        alone = [make_default_seed() for _ in range(3)]
    with _runtime.seeded(7):
        interleaved = []
        for _ in range(3):
            random.random()  # what another thread might draw meanwhile
            interleaved.append(make_default_seed())
    assert interleaved == alone
    # The numbers of a fit alone are what they always were: the global
    # generator seeded with the fit's seed.
    expected = random.Random(7)
    assert alone == [expected.randint(1, int(1e9)) for _ in range(3)]
    # Outside seeded(), Keras draws from the global generator again.
    random.seed(1)
    assert make_default_seed() == random.Random(1).randint(1, int(1e9))

"""Seeds and threads: the one place that sets them (skdigits/_runtime.py)."""

import os
import subprocess
import sys
import textwrap

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


def test_env_threads_reach_tensorflow_at_first_fit():
    # A fresh process: TensorFlow's pools are fixed by its first operation.
    code = textwrap.dedent(
        """
        import numpy as np
        import tensorflow as tf
        from skdigits import CNNDigitClassifier

        X = np.random.RandomState(0).rand(20, 16)
        CNNDigitClassifier(filters=(4,), dense_units=4, epochs=1).fit(X, [0, 1] * 10)
        print(tf.config.threading.get_intra_op_parallelism_threads(),
              tf.config.threading.get_inter_op_parallelism_threads())
        """
    )
    env = {**os.environ, _runtime.NUM_THREADS_ENV: "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1"]


def test_bad_env_threads_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(_runtime.NUM_THREADS_ENV, "many")
    with pytest.raises(ValueError, match="SKDIGITS_NUM_THREADS must be a positive"):
        _runtime.set_num_threads()

"""Seeds, determinism and TensorFlow threads: the one place that sets them.

Every fit of :class:`~skdigits.CNNDigitClassifier` runs inside :func:`seeded`,
and every process that trains (the test suite, the command line, a Dask worker)
may call :func:`set_num_threads` once, before TensorFlow builds its thread
pools. Nothing else in skdigits touches global random state or thread settings.
"""

import contextlib
import os
import random
import warnings

import numpy as np

#: Environment variable read by :func:`set_num_threads` when no count is given.
NUM_THREADS_ENV = "SKDIGITS_NUM_THREADS"

# TensorFlow enables its oneDNN CPU kernels by default only on some Intel
# processors; elsewhere (AMD, older Intel) training this network is up to
# twice as slow without them. They are deterministic for a fixed thread count.
# The variable is read when TensorFlow is imported, so the package's __init__
# imports this module first; a value the user set is kept.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def seed_from(random_state):
    """Draw the integer seed of one fit from a ``random_state`` parameter.

    Parameters
    ----------
    random_state : int, numpy.random.RandomState or None
        As everywhere in scikit-learn: an int gives the same seed every time,
        a ``RandomState`` is advanced (so successive fits differ), ``None``
        draws from NumPy's global generator.

    Returns
    -------
    int
        A seed in ``[0, 2**31 - 1)``.

    Examples
    --------
    >>> from skdigits._runtime import seed_from
    >>> seed_from(0) == seed_from(0)
    True
    """
    from sklearn.utils import check_random_state

    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def seeded(seed):
    """Make everything random inside the block a function of ``seed``.

    Seeds Python, NumPy, TensorFlow and Keras (whose global seed generator is
    reset), so that on a CPU the same seed, parameters and data give bit for
    bit the same network: weights, dropout masks, shuffling and validation
    split. TensorFlow's kernels on CPU are deterministic for a fixed thread
    count, so op determinism (which slows some ops) is not switched on. The
    Python and NumPy generator states are restored on exit, so a fit does not
    change the caller's random streams.

    Parameters
    ----------
    seed : int
        The seed, e.g. from :func:`seed_from`.
    """
    import keras

    python_state = random.getstate()
    numpy_state = np.random.get_state()
    try:
        keras.utils.set_random_seed(seed)
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def set_num_threads(n_threads=None):
    """Limit the CPU threads TensorFlow uses in this process.

    Call it before the first fit or prediction: TensorFlow fixes its thread
    pools when it first runs an operation, and a later call only warns. Use
    it when several training processes share a machine (``n_jobs`` in
    scikit-learn searches, Dask workers), giving each its share of the cores.

    Parameters
    ----------
    n_threads : int or None, default=None
        Threads for both the intra-op and inter-op pools. ``None`` reads the
        ``SKDIGITS_NUM_THREADS`` environment variable and does nothing when
        it is unset, leaving TensorFlow's default (all cores).

    Returns
    -------
    int or None
        The thread count now in force, or ``None`` when left to TensorFlow.

    Raises
    ------
    ValueError
        If the count is not a positive integer.
    RuntimeError
        If TensorFlow's pools already run with another size.

    Examples
    --------
    >>> import skdigits
    >>> skdigits.set_num_threads()  # SKDIGITS_NUM_THREADS is unset: no change
    """
    if n_threads is None:
        value = os.environ.get(NUM_THREADS_ENV)
        if not value:
            return None
        try:
            n_threads = int(value)
        except ValueError:
            raise ValueError(
                f"{NUM_THREADS_ENV} must be a positive integer, got {value!r}"
            ) from None
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)):
        raise ValueError(f"n_threads must be a positive integer, got {n_threads!r}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer, got {n_threads}")
    import tensorflow as tf

    threading = tf.config.threading
    if (
        threading.get_intra_op_parallelism_threads() == n_threads
        and threading.get_inter_op_parallelism_threads() == n_threads
    ):
        return int(n_threads)
    try:
        threading.set_intra_op_parallelism_threads(int(n_threads))
        threading.set_inter_op_parallelism_threads(int(n_threads))
    except RuntimeError as exc:  # TensorFlow already initialised its pools
        raise RuntimeError(
            "TensorFlow's thread pools are already running in this process; "
            "call skdigits.set_num_threads (or set SKDIGITS_NUM_THREADS) before "
            "the first fit or prediction"
        ) from exc
    return int(n_threads)


_env_threads_applied = False


def apply_env_threads():
    """Apply ``SKDIGITS_NUM_THREADS`` once per process, at the first fit.

    So that setting the variable for worker processes (joblib, Dask) is
    enough. If TensorFlow already runs with other pools, warn and go on.
    """
    global _env_threads_applied
    if _env_threads_applied:
        return
    _env_threads_applied = True
    try:
        set_num_threads()
    except RuntimeError as exc:
        warnings.warn(str(exc), RuntimeWarning, stacklevel=3)

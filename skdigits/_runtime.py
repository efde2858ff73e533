"""Seeds, determinism and TensorFlow threads: the one place that sets them.

Every fit of :class:`~skdigits.CNNDigitClassifier` runs inside :func:`seeded`,
and every process that trains (the test suite, the command line, a Dask worker)
may call :func:`set_num_threads` once, before TensorFlow builds its thread
pools. Nothing else in skdigits touches global random state or thread settings.

A process that did not call :func:`set_num_threads` gets its thread count at
its first fit, from :func:`apply_env_threads`: ``SKDIGITS_NUM_THREADS`` if it
is set, else, inside a Dask worker, the worker's own share of the cores (see
:func:`dask_worker_threads`), else TensorFlow's default (every core).
"""

import contextlib
import os
import random
import sys
import threading
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


class _ThreadSeedSource:
    """Keras' source of default seeds, private to a thread inside :func:`seeded`.

    Keras draws a seed from Python's global :mod:`random` generator for every
    layer and initializer created without one (the convolution and dense
    weights, dropout). That generator is shared by all the threads of a
    process, and in a Dask worker the event-loop thread draws from it while a
    task builds its network (``dask.sizeof`` samples long lists), so the
    network would depend on timing. Inside :func:`seeded`, the building
    thread draws from its own ``random.Random(seed)`` instead: the very
    numbers the global generator seeded with ``seed`` gives a fit that runs
    alone, whatever other threads do. Elsewhere it is the global generator.
    """

    def __init__(self):
        self._local = threading.local()

    @property
    def generator(self):
        return getattr(self._local, "generator", None)

    @generator.setter
    def generator(self, value):
        self._local.generator = value

    def __getattr__(self, name):
        return getattr(self.generator or random, name)


_keras_seed_source = _ThreadSeedSource()


def _keras_seed_module():
    """Keras' module that draws default seeds (private), or None if it moved.

    Tested by ``tests/test_runtime.py``: a Keras release that moves it fails
    that test rather than silently losing determinism in threads.
    """
    try:
        from keras.src.random import seed_generator
    except ImportError:
        return None
    source = getattr(seed_generator, "python_random", None)
    if source is random or source is _keras_seed_source:
        return seed_generator
    return None


@contextlib.contextmanager
def seeded(seed):
    """Make everything random inside the block a function of ``seed``.

    Seeds Python, NumPy, TensorFlow and Keras (whose global seed generator is
    reset), so that on a CPU the same seed, parameters and data give bit for
    bit the same network: weights, dropout masks, shuffling and validation
    split. TensorFlow's kernels on CPU are deterministic for a fixed thread
    count, so op determinism (which slows some ops) is not switched on. The
    Python and NumPy generator states are restored on exit, so a fit does not
    change the caller's random streams. The seeds Keras gives new layers come
    from a generator of this thread's own, so that other threads using
    Python's :mod:`random` meanwhile (a Dask worker's event loop does) do not
    change the network.

    Parameters
    ----------
    seed : int
        The seed, e.g. from :func:`seed_from`.
    """
    import keras

    module = _keras_seed_module()
    if module is not None:
        module.python_random = _keras_seed_source
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    outer_generator = _keras_seed_source.generator
    try:
        keras.utils.set_random_seed(seed)
        _keras_seed_source.generator = random.Random(seed)
        yield
    finally:
        _keras_seed_source.generator = outer_generator
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def set_num_threads(n_threads=None):
    """Limit the CPU threads TensorFlow uses in this process.

    Call it before the first fit or prediction: TensorFlow fixes its thread
    pools when it first runs an operation, and a later call only warns. Use
    it when several training processes share a machine (``n_jobs`` in
    scikit-learn searches, Dask workers), giving each its share of the cores.

    A process that never calls it gets a count at its first fit:
    ``SKDIGITS_NUM_THREADS`` if set, else, in a Dask worker, the worker's
    ``nthreads`` (its share of the cores), else TensorFlow's default. A count
    set by a call is kept by later fits.

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
    global _threads_chosen
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
        _threads_chosen = True
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
    _threads_chosen = True
    return int(n_threads)


# True once this process fixed its count with set_num_threads (a call, or the
# rule of apply_env_threads): the first fit then leaves it alone.
_threads_chosen = False
_env_threads_applied = False


def dask_worker_threads():
    """The Dask worker's share of the cores, when this runs inside a Dask task.

    Dask gives every worker ``nthreads`` threads, the number of cores it may
    use (``threads_per_worker`` of a ``LocalCluster``, ``--nthreads`` of
    ``dask worker``, ``cores / processes`` of dask-jobqueue); its workers
    together use the machine's cores once. Distributed is imported only if
    it already is (as in every Dask worker), so it is no dependency.

    Returns
    -------
    int or None
        The worker's ``nthreads``, or ``None`` outside a Dask task.
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except (AttributeError, ValueError):  # not in a task of a worker
        return None
    nthreads = getattr(getattr(worker, "state", None), "nthreads", None)
    if isinstance(nthreads, (int, np.integer)) and nthreads >= 1:
        return int(nthreads)
    return None


def apply_env_threads():
    """Fix this process's thread count once, at its first fit.

    Unless :func:`set_num_threads` was already called in the process:
    ``SKDIGITS_NUM_THREADS`` if set (so that setting it for worker
    processes, joblib's or Dask's, is enough); else, in a Dask worker, the
    worker's share of the cores (:func:`dask_worker_threads`), so that
    workers sharing a machine do not oversubscribe it; else nothing
    (TensorFlow's default, every core), and a later fit checks again. If
    TensorFlow already runs with other pools, warn and go on.
    """
    global _env_threads_applied
    if _env_threads_applied or _threads_chosen:
        return
    source = NUM_THREADS_ENV
    n_threads = None
    if not os.environ.get(NUM_THREADS_ENV):
        n_threads = dask_worker_threads()
        if n_threads is None:  # nothing yet; a later fit may run in a Dask task
            return
        source = f"the Dask worker's share of the cores ({n_threads})"
    _env_threads_applied = True
    try:
        set_num_threads(n_threads)
    except RuntimeError as exc:
        warnings.warn(f"{exc}; {source} not applied", RuntimeWarning, stacklevel=3)

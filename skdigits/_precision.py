"""Which floating-point precision a network trains in: the one place that decides.

``CNNDigitClassifier(precision=...)`` takes ``"float32"``, ``"bfloat16"`` or
``"auto"``. ``"bfloat16"`` is Keras' mixed precision: the convolutions and
dense layers compute in bfloat16 while their weights, the input scaling, the
augmentation, the softmax output and the loss stay in float32. Processors
with bfloat16 instructions run it about twice as fast as float32 (measured
on an AMD EPYC with ``avx512_bf16`` and an Intel Xeon with AMX); processors
without them emulate it, slower than float32. ``"auto"`` therefore picks
bfloat16 only where the hardware computes it natively.

The policy is given to the layers of the estimator's own network (Keras
layers take a ``dtype`` policy); Keras' global policy is never changed.
"""

import functools

PRECISIONS = ("auto", "float32", "bfloat16")

#: CPU flags (as Linux's ``/proc/cpuinfo`` names them) of native bfloat16
#: arithmetic: AVX-512 BF16 (Intel Cooper Lake and later, AMD Zen 4 and later)
#: and AMX's bfloat16 tiles (Intel Sapphire Rapids and later).
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})

#: The first CUDA compute capability with bfloat16 tensor cores (Ampere).
BF16_MIN_COMPUTE_CAPABILITY = (8, 0)

# Keras' name of each precision's dtype policy.
_KERAS_POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def check_precision(precision):
    """Raise a ValueError unless ``precision`` is one of :data:`PRECISIONS`."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {', '.join(map(repr, PRECISIONS))}, "
            f"got {precision!r}"
        )


def cpu_flags(path="/proc/cpuinfo"):
    """The feature flags of this machine's first CPU, or an empty set.

    Read from Linux's ``/proc/cpuinfo``; elsewhere (macOS, Windows) the set
    is empty, so ``"auto"`` keeps float32 there.

    Parameters
    ----------
    path : str, default="/proc/cpuinfo"
        The file to read.

    Returns
    -------
    frozenset of str
    """
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return frozenset(value.split())
    except OSError:
        pass
    return frozenset()


def gpu_compute_capabilities():
    """The CUDA compute capability of each GPU TensorFlow sees.

    Returns
    -------
    list of tuple of int
        ``(major, minor)`` per GPU; empty on a machine without one.
    """
    import tensorflow as tf

    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(gpu)
        capability = details.get("compute_capability")
        if capability:
            capabilities.append(tuple(int(c) for c in capability))
    return capabilities


def native_bfloat16(*, flags=None, gpus=None):
    """Whether this machine computes bfloat16 natively.

    Parameters
    ----------
    flags : set of str, default=None
        CPU flags; ``None`` reads them with :func:`cpu_flags`.
    gpus : list of tuple of int, default=None
        Compute capabilities of the GPUs that would run the network; ``None``
        asks TensorFlow (:func:`gpu_compute_capabilities`). With a GPU, the
        network runs there, so the GPUs decide.

    Returns
    -------
    bool

    Examples
    --------
    >>> from skdigits._precision import native_bfloat16
    >>> native_bfloat16(flags={"avx2", "avx512f"}, gpus=[])
    False
    >>> native_bfloat16(flags={"avx512f", "avx512_bf16"}, gpus=[])
    True
    >>> native_bfloat16(flags=set(), gpus=[(9, 0)])
    True
    """
    if gpus is None:
        gpus = gpu_compute_capabilities()
    if gpus:
        return all(tuple(c) >= BF16_MIN_COMPUTE_CAPABILITY for c in gpus)
    if flags is None:
        flags = _this_cpu_flags()
    return bool(BF16_CPU_FLAGS & set(flags))


@functools.lru_cache(maxsize=1)
def _this_cpu_flags():
    return cpu_flags()


def resolve_precision(precision, *, flags=None, gpus=None):
    """The precision a fit uses: ``precision``, with ``"auto"`` decided.

    ``"auto"`` is ``"bfloat16"`` where :func:`native_bfloat16` holds and
    ``"float32"`` elsewhere.

    Parameters
    ----------
    precision : {"auto", "float32", "bfloat16"}
        The estimator's parameter.
    flags, gpus : optional
        As for :func:`native_bfloat16`, to decide for another machine.

    Returns
    -------
    {"float32", "bfloat16"}

    Examples
    --------
    >>> from skdigits._precision import resolve_precision
    >>> resolve_precision("float32")
    'float32'
    >>> resolve_precision("auto", flags={"avx2"}, gpus=[])
    'float32'
    >>> resolve_precision("auto", flags={"amx_bf16", "amx_tile"}, gpus=[])
    'bfloat16'
    """
    check_precision(precision)
    if precision != "auto":
        return precision
    return "bfloat16" if native_bfloat16(flags=flags, gpus=gpus) else "float32"


def keras_policy(precision):
    """Keras' dtype policy name for a resolved precision.

    Parameters
    ----------
    precision : {"float32", "bfloat16"}

    Returns
    -------
    str
        ``"float32"`` or ``"mixed_bfloat16"``.
    """
    if precision not in _KERAS_POLICIES:
        raise ValueError(
            f"precision must be 'float32' or 'bfloat16' here, got {precision!r}"
        )
    return _KERAS_POLICIES[precision]

"""Safe model files: a fitted CNNDigitClassifier in one file, without pickle.

A model file is a zip archive with two members:

``model.keras``
    The network in the Keras format, read back with Keras' ``safe_mode``.
``estimator.json``
    Everything else, as plain JSON: the file format's name and version, the
    versions that wrote it, the estimator's parameters, the fitted state that
    prediction, scoring and refitting need (classes with their dtype, input
    shape and scale, training history, ...) and free metadata of the caller.

Nothing in a model file is executable, so a file from an untrusted source
cannot run code when it is loaded: the scikit-learn state is rebuilt from the
JSON values, the network from its Keras configuration, and every object that
configuration names must be one of Keras' own.
"""

import contextlib
import json
import math
import os
import tempfile
import zipfile

import numpy as np

FORMAT_NAME = "skdigits-model"
#: The version this module writes; it reads this one and the older ones.
FORMAT_VERSION = 1

_MODEL_MEMBER = "model.keras"
_STATE_MEMBER = "estimator.json"
_CLASS_NAME = "skdigits.CNNDigitClassifier"

# Caps on what a model file may make load_model read (zip bombs). Each is
# checked on the bytes actually decompressed, reading at most one byte more,
# so a member whose header lies about its size cannot make loading read more.
# estimator.json: parameters, fitted state, history and metadata; a few kB in
# practice.
_MAX_STATE_BYTES = 16 * 2**20
# model.keras: the largest network of this estimator one can reasonably ask
# for, filters=(128, 256) and dense_units=1024 on 28x28 images with "same"
# padding, batch normalization and augmentation, has 13.9 million parameters:
# its model.weights.h5 with Adam's two slots is 167 MB (measured, Keras
# 3.15). The cap leaves three times that.
_MAX_MODEL_BYTES = 512 * 2**20
# config.json inside model.keras: 20 kB for that network; a few kB a layer.
_MAX_CONFIG_BYTES = 4 * 2**20
# Label dtype kinds a model file can hold: bool, ints, floats, str, object (of str).
_LABEL_KINDS = "biufUO"


def save_model(estimator, path, *, metadata=None):
    """Save a fitted :class:`~skdigits.CNNDigitClassifier` to one model file.

    The file is a zip archive holding the network in the Keras format and
    the estimator's parameters and fitted state as JSON. It involves no
    pickle: :func:`load_model` can read a file from any source without
    running code from it, and files stay readable by later versions of
    skdigits. Use it to share models, to publish them, and to keep them
    across upgrades.

    For caching a model in the same environment, :mod:`pickle` and
    :mod:`joblib` work too and keep every attribute as it is, including
    non-JSON parameters such as callback objects, but only load such files
    from sources you trust: unpickling can run arbitrary code.

    The file is written to temporary files in the target directory,
    ``.<name>.<random>.skdigits-tmp`` (nothing goes to the system's temporary
    folder), and then renamed to ``path``, so ``path`` is either the complete
    new file or left as it was, even if the save fails or is interrupted. A
    replaced file keeps its mode; a new one gets the umask's default. A save
    killed while writing leaves its temporary files, which the next save to
    ``path`` removes.

    Parameters
    ----------
    estimator : CNNDigitClassifier
        A fitted estimator. Its parameters must be plain values (None, bool,
        int, float, str, and lists, tuples and dicts of them): a list of
        ``callbacks`` objects or a ``RandomState`` as ``random_state`` cannot
        be saved; set them to None first.
    path : str or path-like
        The file to write, replaced if it exists. Its directory must exist.
        Any name works; ``.zip`` says what the file is.
    metadata : dict, default=None
        Information of your own to store in the file (str keys, plain
        values), returned by ``load_model(path, return_metadata=True)``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If the estimator is not a CNNDigitClassifier, or a parameter or the
        metadata holds a value that cannot be stored as JSON; the message
        names it.

    See Also
    --------
    load_model : Load the estimator back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import CNNDigitClassifier, load_model, save_model
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNDigitClassifier(filters=(8,), dense_units=16, epochs=2,
    ...                          random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "digits-model.zip")
    >>> save_model(clf, path)
    >>> loaded = load_model(path)
    >>> bool(np.array_equal(loaded.predict_proba(X), clf.predict_proba(X)))
    True
    >>> loaded.get_params() == clf.get_params()
    True
    """
    from sklearn.utils.validation import check_is_fitted

    from ._classifier import CNNDigitClassifier

    if type(estimator) is not CNNDigitClassifier:
        raise TypeError(
            "save_model saves a CNNDigitClassifier; got "
            f"{type(estimator).__name__}. Use pickle or joblib for other objects."
        )
    check_is_fitted(estimator, "model_")
    header = _header(estimator, metadata)
    state_json = json.dumps(header, indent=1, allow_nan=False)
    path = os.fspath(path)
    with atomic_path(path) as temporary:
        # Beside the target, not in the system's temporary folder, so that an
        # interrupted save leaves nothing the next one does not remove.
        model_path, _ = _scratch_names(temporary)
        try:
            estimator.model_.save(model_path)
            with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.write(model_path, _MODEL_MEMBER)
                archive.writestr(_STATE_MEMBER, state_json)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(model_path)


def load_model(path, *, return_metadata=False):
    """Load an estimator saved by :func:`save_model`.

    The estimator comes back as it was saved: same parameters, same
    predictions (``predict_proba`` bit for bit), ready to be scored,
    displayed, cloned or fitted again. Loading runs no code from the file:
    it holds no pickle, and the network is read with Keras' ``safe_mode``
    after checking that every object its configuration names is Keras' own
    (a class of a ``keras`` module, or a plain name that no object registered
    in this process answers to, unless the object is Keras' own).

    Loading reads at most 16 MiB of ``estimator.json``, 512 MiB of
    ``model.keras`` (three times the largest network this estimator can
    reasonably build: ``filters=(128, 256)``, ``dense_units=1024`` on 28x28
    images, 167 MB with its optimizer state) and 4 MiB of the network's
    configuration (20 kB for that network). The caps apply to the bytes
    decompressed, whatever the archive declares, and a file past one is
    refused before the rest is read.

    Parameters
    ----------
    path : str or path-like
        A model file written by :func:`save_model`.
    return_metadata : bool, default=False
        If True, also return the ``metadata`` given to :func:`save_model`.

    Returns
    -------
    estimator : CNNDigitClassifier
        The fitted estimator.
    metadata : dict
        Only when ``return_metadata`` is True: the saved metadata, or an
        empty dict.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is not a skdigits model file (another file, a plain
        Keras ``.keras`` file, a damaged file), one past the size caps, one
        whose network names an object that is not Keras' own, or one written
        in a newer format than this version of skdigits reads; the message
        names the file and what is wrong.

    See Also
    --------
    save_model : Write a model file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import CNNDigitClassifier, load_model, save_model
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNDigitClassifier(filters=(8,), dense_units=16, epochs=2,
    ...                          random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "digits-model.zip")
    >>> save_model(clf, path, metadata={"trained_on": "sklearn digits"})
    >>> loaded, metadata = load_model(path, return_metadata=True)
    >>> metadata
    {'trained_on': 'sklearn digits'}
    >>> bool((loaded.predict(X[:20]) == clf.predict(X[:20])).all())
    True
    """
    archive, header, name = open_model_file(path)
    with archive, tempfile.TemporaryDirectory(prefix="skdigits-load-") as scratch:
        model_path = os.path.join(scratch, _MODEL_MEMBER)
        with open(model_path, "wb") as dst:
            _copy(
                archive,
                _member(archive, _MODEL_MEMBER, _MAX_MODEL_BYTES, name),
                dst,
                name,
            )
        network = _load_network(model_path, name)
    try:
        estimator = _restore(header, network)
        metadata = _decode(header.get("metadata", {"__dict__": {}}))
        if not isinstance(metadata, dict):
            raise TypeError("metadata is not a dict")
    except DAMAGED_STATE_ERRORS as exc:
        raise ValueError(
            f"{name} is a damaged skdigits model file: its state is invalid ({exc})."
        ) from exc
    if return_metadata:
        return estimator, metadata
    return estimator


def open_model_file(path):
    """Open a model file and check its header, without importing TensorFlow.

    The first half of :func:`load_model`, with the same errors: the command
    line calls it to report a file that is not a model before TensorFlow
    starts.

    Parameters
    ----------
    path : str or path-like
        A model file.

    Returns
    -------
    archive : zipfile.ZipFile
        The open archive; the caller closes it.
    header : dict
        Its ``estimator.json``, checked to be of a format this version reads.
    name : str
        The path as error messages name it.
    """
    path = os.fspath(path)
    name = repr(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such model file: {name}")
    if os.path.isdir(path):
        raise ValueError(f"{name} is a directory, not a skdigits model file.")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        # An empty or truncated file, random bytes, a text file, an image...
        raise ValueError(
            f"{name} is not a skdigits model file: it is not a zip archive "
            f"({exc}). Model files are written by skdigits.save_model."
        ) from None
    try:
        header = _read_header(archive, name)
    except BaseException:
        archive.close()
        raise
    return archive, header, name


#: The end of the names of temporary files, beside their target.
TEMPORARY_SUFFIX = ".skdigits-tmp"
# Without file locks (Windows), a temporary file is stale after this long.
_STALE_SECONDS = 15 * 60


def _lock(fd):
    """Lock an open file for this process; False where locks are unavailable."""
    try:
        import fcntl
    except ImportError:
        return False
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return True


def _remove_stale_temporaries(directory, base):
    """Remove what interrupted writes of ``base`` left in ``directory``.

    A write in progress holds a lock on its temporary file, so only the files
    of killed writes are removed (older than 15 minutes where there are no
    locks).
    """
    import time

    prefix = f".{base}."
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for entry in names:
        if not (entry.startswith(prefix) and entry.endswith(TEMPORARY_SUFFIX)):
            continue
        candidate = os.path.join(directory, entry)
        try:
            fd = os.open(candidate, os.O_RDWR)
        except OSError:
            continue
        try:
            try:
                locked = _lock(fd)
            except OSError:
                continue  # a save in progress holds it
            if not locked and time.time() - os.fstat(fd).st_mtime < _STALE_SECONDS:
                continue
            for stale in (candidate, *_scratch_names(candidate)):
                with contextlib.suppress(OSError):
                    os.remove(stale)
        finally:
            os.close(fd)


def _scratch_names(temporary):
    """Other files a write through ``temporary`` may make beside it.

    The network of :func:`save_model`, and the graph of
    :func:`skdigits.export_onnx` before its metadata is added.
    """
    return (temporary + ".keras", temporary + ".onnx")


@contextlib.contextmanager
def atomic_path(path):
    """Write a file through a temporary name, then move it into place.

    Yields the name of a new temporary file in the directory of ``path``,
    ``.<name>.<random>.skdigits-tmp``; when the block ends without an
    exception the file is flushed to disk and renamed to ``path`` (replacing
    it atomically), with the mode of the file it replaces, or a new file's
    mode under the umask. On any exception the temporary file is removed and
    ``path`` is untouched. A process killed while writing leaves at most its
    temporary files, which the next write of ``path`` removes (a write in
    progress holds a lock on its file, so concurrent writes are safe).

    Parameters
    ----------
    path : str or path-like
        The final file name. Its directory must exist.

    Yields
    ------
    str
        The temporary file's name, to write to. Files named after it with a
        further suffix (``<name>.keras``) are removed with it.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"No such directory: {directory!r} (for {path!r})")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path!r} is a directory")
    base = os.path.basename(path)
    _remove_stale_temporaries(directory, base)
    fd, temporary = tempfile.mkstemp(
        dir=directory, prefix=f".{base}.", suffix=TEMPORARY_SUFFIX
    )
    try:
        _lock(fd)
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            # mkstemp makes the file private (0600); give it a new file's mode.
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        for name in (temporary, *_scratch_names(temporary)):
            with contextlib.suppress(FileNotFoundError):
                os.remove(name)
        raise
    finally:
        os.close(fd)


# ----------------------------------------------------------------------
# writing


def _header(estimator, metadata):
    """The JSON document of ``estimator.json``."""
    import keras

    from . import __version__

    params = {}
    for key, value in sorted(estimator.get_params(deep=False).items()):
        try:
            params[key] = _encode(value)
        except TypeError as exc:
            raise TypeError(
                f"Cannot save parameter {key}={value!r} to a model file: {exc}. "
                "Model files hold only plain values (None, bool, int, float, str "
                f"and lists, tuples and dicts of them); set {key} to such a value "
                "(e.g. None) before saving, or use pickle/joblib to cache the "
                "estimator in the same environment (trusted files only)."
            ) from None
    metadata = encode_metadata(metadata, "a model file")
    classes = checked_labels(estimator.classes_, "save", "to a model file")
    fitted = {
        "classes": {
            "dtype": classes.dtype.str,
            "values": [_encode(_python_scalar(c)) for c in classes],
        },
        "n_features_in": int(estimator.n_features_in_),
        "image_shape": [int(d) for d in estimator.image_shape_],
        "input_scale": float(estimator.input_scale_),
        "X_dtype": np.dtype(estimator.X_dtype_).str,
        "X_shape": [int(d) for d in estimator.X_shape_],
        "history": _encode(dict(estimator.history_)),
        "best_epoch": int(estimator.best_epoch_),
        "precision": str(estimator.precision_),
    }
    if hasattr(estimator, "feature_names_in_"):
        fitted["feature_names_in"] = [str(n) for n in estimator.feature_names_in_]
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "class": _CLASS_NAME,
        "skdigits_version": __version__,
        "keras_version": keras.__version__,
        "params": params,
        "fitted": fitted,
        "metadata": metadata,
    }


#: What reading a JSON state of the wrong shape or types can raise: turned
#: into a ValueError naming the file by load_model and load_onnx.
DAMAGED_STATE_ERRORS = (
    AttributeError,
    IndexError,
    KeyError,
    OverflowError,
    RecursionError,
    TypeError,
    ValueError,
)


def check_format(header, name, *, kind, where, format_name, format_version):
    """Refuse a JSON header of another format, or of a newer version.

    ``header`` is the parsed header of the file ``name``, a skdigits
    ``kind`` (``"model file"``, ``"ONNX file"``) whose header is ``where``.
    """
    if not isinstance(header, dict) or header.get("format") != format_name:
        raise ValueError(
            f"{name} is not a skdigits {kind}: {where} does not declare the "
            f"format {format_name!r}."
        )
    version = header.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(
            f"{name} is a damaged skdigits {kind}: invalid format_version {version!r}."
        )
    if version > format_version:
        from . import __version__

        raise ValueError(
            f"{name} is a skdigits {kind} of format version {version}, "
            f"written by skdigits {header.get('skdigits_version', '?')}; this "
            f"skdigits ({__version__}) reads format versions up to "
            f"{format_version}. Upgrade skdigits to load it."
        )


def encode_metadata(metadata, target):
    """The user's ``metadata`` as plain JSON values, for ``target``."""
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {metadata!r}")
    try:
        return _encode(metadata or {})
    except TypeError as exc:
        raise TypeError(f"Cannot save the metadata to {target}: {exc}") from None


def checked_labels(classes, verb, target):
    """``classes`` as an array, if its dtype can be stored in a file."""
    classes = np.asarray(classes)
    if classes.dtype.kind not in _LABEL_KINDS:
        raise TypeError(
            f"Cannot {verb} class labels of dtype {classes.dtype} {target}; "
            "labels must be bools, ints, floats or strings."
        )
    return classes


def _python_scalar(value):
    return value.item() if isinstance(value, np.generic) else value


def _encode(value):
    """A JSON-plain form of ``value`` that :func:`_decode` turns back exactly.

    Lists, str, bool, int, None and finite floats are themselves; every JSON
    object is a tagged value: a tuple, a dict, a numpy scalar, a non-finite
    float.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        if value.dtype.kind not in "biuf":
            raise TypeError(f"numpy {value.dtype} values cannot be stored")
        return {"__numpy__": value.dtype.str, "value": _encode(value.item())}
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("dict keys must be strings")
        return {"__dict__": {k: _encode(v) for k, v in value.items()}}
    raise TypeError(f"a {type(value).__name__} is not a plain value")


# ----------------------------------------------------------------------
# reading


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"__tuple__"}:
        return tuple(_decode(v) for v in value["__tuple__"])
    if set(value) == {"__dict__"}:
        return {str(k): _decode(v) for k, v in value["__dict__"].items()}
    if set(value) == {"__float__"} and value["__float__"] in ("nan", "inf", "-inf"):
        return float(value["__float__"])
    if set(value) == {"__numpy__", "value"}:
        dtype = np.dtype(value["__numpy__"])
        if dtype.kind not in "biuf":
            raise ValueError(f"unsupported numpy scalar type {dtype}")
        return dtype.type(_decode(value["value"]))
    raise ValueError(f"unknown value {value!r}")


def _member(archive, member, max_bytes, name):
    try:
        info = archive.getinfo(member)
    except KeyError:
        raise _missing_members(archive, name) from None
    if info.file_size > max_bytes:
        # Only an early refusal: the size read is what is capped (_read_capped).
        raise _too_large(name, member, max_bytes)
    return info


def _too_large(name, member, max_bytes):
    return ValueError(
        f"{name} is not a valid skdigits model file: its {member} holds more "
        f"than the {max_bytes} bytes a model file may hold there; it was not loaded."
    )


def _read_capped(src, max_bytes):
    """The bytes of ``src``, or None if there are more than ``max_bytes``.

    Reads at most ``max_bytes + 1`` bytes, whatever the archive declares.
    """
    chunks = []
    size = 0
    while size <= max_bytes and (chunk := src.read(min(2**20, max_bytes + 1 - size))):
        chunks.append(chunk)
        size += len(chunk)
    return None if size > max_bytes else b"".join(chunks)


def _missing_members(archive, name):
    names = set(archive.namelist())
    if {"config.json", "metadata.json"} <= names:
        return ValueError(
            f"{name} is a Keras model file (.keras), not a skdigits model file: "
            "it holds a bare network without the estimator. Load it with "
            "keras.saving.load_model; save estimators with skdigits.save_model."
        )
    missing = sorted({_MODEL_MEMBER, _STATE_MEMBER} - names)
    return ValueError(
        f"{name} is not a skdigits model file: this zip archive has no "
        f"{' and no '.join(missing)}. Model files are written by "
        "skdigits.save_model."
    )


# What reading a zip member can raise: damaged data, and (RuntimeError,
# NotImplementedError) an encrypted member or an unsupported compression.
_ZIP_READ_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
)


def _read_header(archive, name):
    if not {_MODEL_MEMBER, _STATE_MEMBER} <= set(archive.namelist()):
        raise _missing_members(archive, name)
    info = _member(archive, _STATE_MEMBER, _MAX_STATE_BYTES, name)
    try:
        with archive.open(info) as src:
            data = _read_capped(src, _MAX_STATE_BYTES)
    except _ZIP_READ_ERRORS as exc:
        raise ValueError(
            f"{name} is a damaged skdigits model file: cannot read its "
            f"{_STATE_MEMBER} ({exc})."
        ) from None
    if data is None:
        raise _too_large(name, _STATE_MEMBER, _MAX_STATE_BYTES)
    try:
        header = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(
            f"{name} is a damaged skdigits model file: cannot read its "
            f"{_STATE_MEMBER} ({exc})."
        ) from None
    check_format(
        header,
        name,
        kind="model file",
        where=f"its {_STATE_MEMBER}",
        format_name=FORMAT_NAME,
        format_version=FORMAT_VERSION,
    )
    if header.get("class") != _CLASS_NAME:
        raise ValueError(
            f"{name} holds a {header.get('class')!r}, which this skdigits cannot "
            f"load (it loads {_CLASS_NAME})."
        )
    return header


def _copy(archive, info, dst, name):
    """Copy model.keras out, refusing it past its cap on the bytes read."""
    size = 0
    try:
        with archive.open(info) as src:
            while size <= _MAX_MODEL_BYTES and (
                chunk := src.read(min(2**20, _MAX_MODEL_BYTES + 1 - size))
            ):
                size += len(chunk)
                if size > _MAX_MODEL_BYTES:
                    break
                dst.write(chunk)
    except _ZIP_READ_ERRORS as exc:
        raise ValueError(
            f"{name} is a damaged skdigits model file: cannot read its "
            f"{_MODEL_MEMBER} ({exc})."
        ) from None
    if size > _MAX_MODEL_BYTES:
        raise _too_large(name, _MODEL_MEMBER, _MAX_MODEL_BYTES)


def _registered_objects():
    """The objects registered with Keras in this process, by registered name.

    Keras resolves a name of a configuration through this registry before its
    own modules: ``register_keras_serializable`` and ``get_custom_objects``
    (by the user, or by any imported library) put objects there, and a file
    naming one would run its code. Empty while Keras is not imported.
    """
    import sys

    registration = sys.modules.get("keras.src.saving.object_registration")
    if registration is None:
        return {}
    objects = dict(registration.GLOBAL_CUSTOM_OBJECTS)
    global_state = sys.modules.get("keras.src.backend.common.global_state")
    if global_state is not None:
        objects.update(
            global_state.get_global_attribute("custom_objects_scope_dict", {}) or {}
        )
    return objects


def _is_keras_module(module):
    return isinstance(module, str) and (
        module == "keras" or module.startswith("keras.")
    )


def _is_keras_object(obj):
    return _is_keras_module(getattr(obj, "__module__", None))


def _not_keras(name, exc):
    return ValueError(
        f"{name} is a damaged skdigits model file: its {_MODEL_MEMBER} is "
        f"not a Keras model ({exc})."
    )


def _check_network_config(model_path, name):
    """Refuse a network whose configuration names objects outside Keras.

    Allowed: classes of Keras' own modules (``keras``, ``keras.layers``,
    ``keras.src...``) named without a registered name of their own, and
    plain names (activations, initializers, dtype policies) that no object
    registered in this process answers to unless it is Keras' own. Refused:
    any other module, lambdas, functions given as objects, and every name
    that Keras would resolve to an object registered by the user or a
    library, since loading would run that object's code.
    """
    try:
        with zipfile.ZipFile(model_path) as keras_file:
            # Keras reads the weights through zipfile, which never yields more
            # than a member declares, so the declared sizes bound what it reads.
            total = sum(member.file_size for member in keras_file.infolist())
            info = keras_file.getinfo("config.json")
            data = None
            if total <= _MAX_MODEL_BYTES:
                with keras_file.open(info) as src:
                    data = _read_capped(src, _MAX_CONFIG_BYTES)
    except (KeyError, *_ZIP_READ_ERRORS) as exc:
        raise _not_keras(name, exc) from None
    if total > _MAX_MODEL_BYTES:
        raise _too_large(name, _MODEL_MEMBER, _MAX_MODEL_BYTES)
    if data is None:
        raise _too_large(name, f"{_MODEL_MEMBER}/config.json", _MAX_CONFIG_BYTES)
    try:
        config = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise _not_keras(name, exc) from None
    registered = _registered_objects()
    # Keras looks a string up in this registry before its own modules (a
    # function's name in a {"class_name": "function"} node, a plain string
    # given to deserialize_keras_object), whatever module the node claims.
    foreign_names = {k for k, obj in registered.items() if not _is_keras_object(obj)}

    def refuse(what, module):
        raise ValueError(
            f"{name} is not a valid skdigits model file: its network "
            f"uses {what!r} from {module!r}, which is not "
            "a Keras object; it was not loaded."
        )

    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            if node in foreign_names:
                obj = registered.get(node)
                refuse(node, getattr(obj, "__module__", "a registered object"))
        elif isinstance(node, dict):
            stack.extend(node.values())
            if "class_name" not in node:
                continue
            class_name = node["class_name"]
            module = node.get("module")
            registered_name = node.get("registered_name")
            if class_name == "__keras_tensor__" and module is None:
                continue  # a reference to a layer's output, no object
            if class_name in ("__lambda__", "function") or not _is_keras_module(module):
                refuse(class_name, module)
            # A custom object is registered as "package>Name". Pickling a model
            # with scikeras registers Keras' own Functional as ">Functional"
            # (empty package), and the files saved afterwards name it so; the
            # registry check above refuses the name if it is anything else.
            if registered_name not in (None, class_name, ">" + str(class_name)):
                refuse(registered_name, module)


def _load_network(model_path, name):
    _check_network_config(model_path, name)
    import keras

    from . import _runtime

    _runtime.apply_env_threads()  # before the weights start TensorFlow

    try:
        return keras.saving.load_model(model_path, safe_mode=True)
    except Exception as exc:  # Keras raises many kinds on a bad file
        message = " ".join(str(exc).split())
        raise ValueError(
            f"{name} is a damaged skdigits model file: Keras cannot load its "
            f"network ({type(exc).__name__}: {message})."
        ) from None


def _restore(header, network):
    """The fitted estimator from the JSON state and the loaded network."""
    from ._classifier import CNNDigitClassifier
    from ._defaults import PREVIOUS_DEFAULTS

    if not isinstance(header.get("params"), dict):
        raise ValueError("params is not a dict")
    params = {str(k): _decode(v) for k, v in header["params"].items()}
    fitted = header["fitted"]
    if not isinstance(fitted, dict):
        raise ValueError("fitted is not a dict")
    classes, n_features, image_shape, input_scale = checked_layout(fitted, 1)
    if not isinstance(fitted["X_dtype"], str):
        raise ValueError(f"X_dtype must be a dtype's name, got {fitted['X_dtype']!r}")
    X_shape = _checked_shape(fitted["X_shape"], "X_shape", 0)
    if "feature_names_in" in fitted:
        names = fitted["feature_names_in"]
        if (
            not isinstance(names, list)
            or len(names) != n_features
            or not all(isinstance(n, str) for n in names)
        ):
            raise ValueError(f"feature_names_in must be a list of {n_features} strings")
    history = _decode(fitted["history"])
    if not isinstance(history, dict) or not all(
        isinstance(values, list)
        and all(
            isinstance(v, int | float | np.integer | np.floating)
            and not isinstance(v, bool)
            for v in values
        )
        for values in history.values()
    ):
        raise ValueError("history must be a dict of lists of numbers")
    best_epoch = _checked_int(fitted["best_epoch"], "best_epoch", 0)
    if tuple(network.input_shape[1:]) != image_shape:
        raise ValueError(
            f"the network takes {network.input_shape[1:]}, the estimator {image_shape}"
        )
    if network.output_shape[-1] != len(classes):
        raise ValueError(
            f"the network has {network.output_shape[-1]} outputs for "
            f"{len(classes)} classes"
        )

    # set_params refuses unknown parameter names. A parameter missing from the
    # file was added, or its default changed, after the file was written: it
    # gets the value the file's estimator had, so that a clone refits what
    # it was.
    estimator = CNNDigitClassifier().set_params(**{**PREVIOUS_DEFAULTS, **params})
    try:
        estimator._check_params()  # the checks of fit
    except (TypeError, ValueError) as exc:
        raise ValueError(f"params: {exc}") from None
    state = vars(estimator)
    # As CNNDigitClassifier._initialize does, from the saved values: the
    # target encoder is fitted on the classes, which gives the same mapping
    # as fitting it on the training labels.
    estimator._random_state = None
    estimator.classes_ = None
    estimator.target_encoder_ = estimator.target_encoder.fit(classes)
    state.update(estimator.target_encoder_.get_metadata())
    estimator.classes_ = classes
    estimator.n_features_in_ = n_features
    if "feature_names_in" in fitted:
        estimator.feature_names_in_ = np.asarray(
            [str(n) for n in fitted["feature_names_in"]], dtype=object
        )
    estimator.image_shape_ = image_shape
    # Files written before the precision parameter hold float32 networks.
    precision = fitted.get("precision", "float32")
    if precision not in ("float32", "bfloat16"):
        raise ValueError(f"unknown precision {precision!r}")
    estimator.precision_ = precision
    estimator.input_scale_ = float(input_scale)
    estimator.X_dtype_ = np.dtype(fitted["X_dtype"])
    estimator.X_shape_ = X_shape
    estimator.feature_encoder_ = estimator.feature_encoder.fit(
        np.zeros((1, *image_shape), dtype=np.float32)
    )
    estimator.model_ = network
    estimator._initialize_callbacks()
    estimator.history_ = {str(k): list(v) for k, v in history.items()}
    estimator.best_epoch_ = best_epoch
    return estimator


def checked_layout(state, min_classes):
    """``classes``, ``n_features_in``, ``image_shape``, ``input_scale`` of a file.

    ``state`` is the part of a model or ONNX file's JSON header that holds
    them; any value of the wrong type or out of range is a ValueError (the
    caller names the file).
    """
    classes_dtype = np.dtype(state["classes"]["dtype"])
    if classes_dtype.kind not in _LABEL_KINDS:
        raise ValueError(f"unsupported class label dtype {classes_dtype}")
    values = state["classes"]["values"]
    if not isinstance(values, list):
        raise ValueError("classes must be a list")
    classes = np.array([_decode(v) for v in values], dtype=classes_dtype)
    if classes.ndim != 1 or len(classes) < min_classes:
        raise ValueError(f"classes must be a list of at least {min_classes} labels")
    if not np.array_equal(np.unique(classes), classes):
        raise ValueError("classes must be unique and sorted")
    n_features = _checked_int(state["n_features_in"], "n_features_in", 1)
    image_shape = _checked_shape(state["image_shape"], "image_shape", 1, 3)
    if math.prod(image_shape) != n_features:
        raise ValueError(f"image_shape {image_shape} has not {n_features} values")
    input_scale = state["input_scale"]
    if (
        isinstance(input_scale, bool)
        or not isinstance(input_scale, int | float)
        or not math.isfinite(input_scale)
        or input_scale <= 0
    ):
        raise ValueError(
            f"input_scale must be a finite number > 0, got {input_scale!r}"
        )
    return classes, n_features, image_shape, input_scale


def _checked_int(value, field, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{field} must be an int >= {minimum}, got {value!r}")
    return value


def _checked_shape(value, field, minimum, length=None):
    if (
        not isinstance(value, list)
        or (length is not None and len(value) != length)
        or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= minimum
            for d in value
        )
    ):
        size = f"{length} " if length is not None else ""
        raise ValueError(
            f"{field} must be a list of {size}ints >= {minimum}, got {value!r}"
        )
    return tuple(value)


__all__ = ["atomic_path", "load_model", "open_model_file", "save_model"]

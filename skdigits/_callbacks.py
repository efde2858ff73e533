"""Training callbacks as estimator parameters.

The default callbacks are named, and every argument of each one is an
estimator parameter ``callbacks__<name>__<argument>``: it shows in
``get_params()``, is changed by ``set_params`` and can be searched by
``GridSearchCV``. A misspelt name is an error that suggests the closest valid one.
"""

import difflib
import inspect

import keras

PREFIX = "callbacks__"

# name -> (callback class, the arguments we set differently from Keras)
DEFAULT_CALLBACKS = {
    "early_stopping": (
        keras.callbacks.EarlyStopping,
        {"monitor": "val_accuracy", "patience": 4, "restore_best_weights": True},
    ),
    "reduce_lr": (
        keras.callbacks.ReduceLROnPlateau,
        {"monitor": "val_accuracy", "factor": 0.5, "patience": 2, "min_lr": 1e-5},
    ),
}


def _arguments(callback_class):
    """Named arguments of a callback class and their Keras defaults."""
    return {
        name: p.default
        for name, p in inspect.signature(callback_class.__init__).parameters.items()
        if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def default_callback_params():
    """All ``callbacks__<name>__<argument>`` parameters with their defaults.

    Returns
    -------
    dict
        Parameter name to default value, in a stable order.
    """
    params = {}
    for name, (callback_class, overrides) in DEFAULT_CALLBACKS.items():
        for argument, default in _arguments(callback_class).items():
            params[f"{PREFIX}{name}__{argument}"] = overrides.get(argument, default)
    return params


def suggest(name, candidates):
    """Return ``" Did you mean 'x'?"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def check_callback_param(key):
    """Raise a ValueError with a suggestion if ``key`` names no callback argument.

    Parameters
    ----------
    key : str
        A parameter name starting with ``callbacks__``.
    """
    valid = default_callback_params()
    if key not in valid:
        raise ValueError(
            f"Invalid callback parameter {key!r}. Callback parameters are "
            f"'callbacks__<name>__<argument>' with <name> one of "
            f"{sorted(DEFAULT_CALLBACKS)} and <argument> an argument of that "
            f"Keras callback.{suggest(key, valid)}"
        )


def make_default_callbacks(params, *, has_validation):
    """Instantiate the default callbacks from estimator parameters.

    A callback that monitors a validation metric (``val_*``) is left out when
    there is no validation data, instead of warning on every epoch.

    Parameters
    ----------
    params : dict
        The estimator's ``get_params()``.
    has_validation : bool
        Whether the fit holds out validation data.

    Returns
    -------
    dict
        Name to callback instance.
    """
    callbacks = {}
    for name, (callback_class, _) in DEFAULT_CALLBACKS.items():
        prefix = f"{PREFIX}{name}__"
        kwargs = {
            k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)
        }
        if str(kwargs.get("monitor", "")).startswith("val_") and not has_validation:
            continue
        callbacks[name] = callback_class(**kwargs)
    return callbacks


class LearningRateLogger(keras.callbacks.Callback):
    """Record the optimizer's learning rate of each epoch in the history."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )

"""Training callbacks as estimator parameters.

The default callbacks are named, and every argument of each one is an
estimator parameter ``callbacks__<name>__<argument>``: it shows in
``get_params()``, is changed by ``set_params`` and can be searched by
``GridSearchCV``. A misspelt name is an error that suggests the closest valid one.
"""

import difflib
import inspect
import math

import keras
import numpy as np

PREFIX = "callbacks__"


class CosineSchedule(keras.callbacks.Callback):
    """Warm the learning rate up, then let it fall along a cosine, every step.

    The schedule of Keras' :class:`~keras.optimizers.schedules.CosineDecay`
    with warm-up, fitted to the fit it runs in: it starts at a tenth of the
    optimizer's learning rate, rises linearly to it over ``warmup_epochs``,
    then decays to ``alpha`` times it at the end of the fit's last epoch.
    Unlike a schedule compiled into the optimizer, it composes with
    :class:`~keras.callbacks.ReduceLROnPlateau`: a reduction made between
    epochs scales the rest of the schedule by the same factor. The
    optimizer's learning rate is put back when training ends, so a later
    ``partial_fit`` (which runs no default callback) trains at the full
    rate, not the schedule's final, tiny one. It sets the rate at every
    step: to use a schedule of your own (e.g.
    :class:`~keras.callbacks.LearningRateScheduler`), turn this one off with
    ``warmup_epochs=0, alpha=1``.

    Parameters
    ----------
    warmup_epochs : float, default=1.0
        Epochs of linear warm-up; 0 starts at the full rate. At most half of
        the fit's steps warm up (a one-epoch fit warms up for half of it).
    alpha : float, default=0.0
        The final learning rate as a fraction of the optimizer's. With
        ``warmup_epochs=0`` and ``alpha=1`` the rate stays constant.
    """

    def __init__(self, warmup_epochs=1.0, alpha=0.0):
        super().__init__()
        if not warmup_epochs >= 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs!r}")
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must be in [0, 1], got {alpha!r}")
        self.warmup_epochs = warmup_epochs
        self.alpha = alpha

    def on_train_begin(self, logs=None):
        self._initial_rate = current_learning_rate(self.model.optimizer)
        self._plan = schedule_plan(
            self.params.get("steps") or 1,
            self.params["epochs"],
            warmup_epochs=self.warmup_epochs,
            alpha=self.alpha,
        )
        self._step = 0
        self._scale = 1.0
        self._last_set = None

    def rate(self, step):
        """The unscaled learning rate of optimizer step ``step`` (from 0)."""
        return self._initial_rate * schedule_factor(self._plan, step)

    def on_epoch_begin(self, epoch, logs=None):
        if self._last_set:  # another callback's change scales what follows
            current = current_learning_rate(self.model.optimizer)
            if not math.isclose(current, self._last_set, rel_tol=1e-5):
                self._scale *= current / self._last_set

    def on_train_batch_begin(self, batch, logs=None):
        rate = self._scale * self.rate(self._step)
        self.model.optimizer.learning_rate = rate
        # As the optimizer's float32 variable holds it, to compare exactly.
        self._last_set = float(np.float32(rate))
        self._step += 1

    def on_train_end(self, logs=None):
        self.model.optimizer.learning_rate = self._initial_rate


def current_learning_rate(optimizer):
    """The optimizer's learning rate now, as a Python float.

    Read with ``float()``, which Keras variables and tensors implement, not
    through ``keras.ops.convert_to_numpy``: that calls ``numpy.array`` on a
    Keras variable, whose ``__array__`` takes no ``copy`` argument, and so
    raises NumPy 2's DeprecationWarning at every fit.
    """
    return float(optimizer.learning_rate)


def schedule_plan(steps_per_epoch, epochs, *, warmup_epochs=1.0, alpha=0.0):
    """The steps of :class:`CosineSchedule`'s warm-up and decay for one fit.

    At most half of the fit's steps warm up, so that every fit also decays.
    The benchmarks rebuild the estimator's schedule from this plan (in Keras'
    ``CosineDecay`` and in PyTorch), so all three follow one definition.

    Parameters
    ----------
    steps_per_epoch : int
        Optimizer steps in one epoch.
    epochs : int
        Epochs of the fit.
    warmup_epochs : float, default=1.0
        Epochs of linear warm-up.
    alpha : float, default=0.0
        The final rate as a fraction of the peak.

    Returns
    -------
    dict
        ``warmup_steps``, ``decay_steps`` and ``alpha``.

    Examples
    --------
    >>> from skdigits._callbacks import schedule_plan
    >>> schedule_plan(10, 5)
    {'warmup_steps': 10, 'decay_steps': 40, 'alpha': 0.0}
    >>> schedule_plan(10, 1)["warmup_steps"]  # half of a one-epoch fit
    5
    """
    total = steps_per_epoch * epochs
    warmup = min(round(warmup_epochs * steps_per_epoch), total // 2)
    return {
        "warmup_steps": warmup,
        "decay_steps": max(total - warmup, 1),
        "alpha": alpha,
    }


def schedule_factor(plan, step):
    """The learning rate of optimizer step ``step`` as a fraction of the peak.

    Linear warm-up from a tenth of the peak over ``plan["warmup_steps"]``,
    then a cosine from the peak down to ``plan["alpha"]`` times it.

    Parameters
    ----------
    plan : dict
        From :func:`schedule_plan`.
    step : int
        The optimizer step, counting from 0.

    Returns
    -------
    float

    Examples
    --------
    >>> from skdigits._callbacks import schedule_factor, schedule_plan
    >>> plan = schedule_plan(10, 5)
    >>> schedule_factor(plan, 0), schedule_factor(plan, 10), schedule_factor(plan, 50)
    (0.1, 1.0, 0.0)
    """
    warmup, decay = plan["warmup_steps"], plan["decay_steps"]
    if step < warmup:
        return 0.1 + 0.9 * step / warmup
    done = min(step - warmup, decay) / decay
    cosine = 0.5 * (1 + math.cos(math.pi * done))
    return (1 - plan["alpha"]) * cosine + plan["alpha"]


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
    "lr_schedule": (CosineSchedule, {}),
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
            logs["learning_rate"] = current_learning_rate(self.model.optimizer)


class RefuseInvalidLoss(keras.callbacks.TerminateOnNaN):
    """Keras' TerminateOnNaN, raising a ValueError that says what to do.

    Keras' check (a NaN or infinite loss at the end of a batch) with its
    ``raise_error=True``, which stops at once and runs no other callback's
    ``on_train_end``; its RuntimeError becomes a ValueError that names the
    epoch and the usual causes. The estimator catches nothing: its fit puts
    itself back as it was, as for any failure.
    """

    def __init__(self):
        super().__init__(raise_error=True)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        try:
            super().on_batch_end(batch, logs)
        except RuntimeError:
            loss = (logs or {}).get("loss")
            raise ValueError(
                f"Training diverged: the loss became {float(loss)} at epoch "
                f"{self._epoch + 1}, batch {batch + 1}; the estimator was left as "
                "it was. A smaller learning_rate usually helps; check X and "
                "sample_weight for huge values too."
            ) from None

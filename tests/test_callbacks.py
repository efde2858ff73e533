"""The default callbacks: the cosine learning-rate schedule and its company."""

import warnings

import keras
import numpy as np
import pytest

from skdigits._callbacks import (
    DEFAULT_CALLBACKS,
    CosineSchedule,
    LearningRateLogger,
    default_callback_params,
    make_default_callbacks,
)

STEPS, EPOCHS = 4, 5  # 4 batches of 8 images per epoch


class _RateRecorder(keras.callbacks.Callback):
    """The optimizer's learning rate at every training step."""

    def on_train_begin(self, logs=None):
        self.rates = []

    def on_train_batch_end(self, batch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate))


def _fit(callbacks, learning_rate=0.01, epochs=EPOCHS):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(
        keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    recorder = _RateRecorder()
    X = np.random.default_rng(0).normal(size=(8 * STEPS, 3)).astype("float32")
    y = (X[:, 0] > 0).astype(int)
    model.fit(
        X, y, batch_size=8, epochs=epochs, callbacks=[*callbacks, recorder], verbose=0
    )
    return model, np.array(recorder.rates)


def test_warm_up_then_cosine_decay_to_alpha():
    _, rates = _fit([CosineSchedule(warmup_epochs=1, alpha=0.1)])
    assert len(rates) == STEPS * EPOCHS
    # Warm-up: a tenth of the rate, rising linearly over the first epoch.
    np.testing.assert_allclose(rates[:STEPS], 0.001 + 0.009 * np.arange(STEPS) / 4)
    assert rates[STEPS] == pytest.approx(0.01)  # the peak, then down
    decay = rates[STEPS:]
    assert np.all(np.diff(decay) < 0)
    # Keras' own CosineDecay gives the same numbers, step for step.
    keras_schedule = keras.optimizers.schedules.CosineDecay(
        0.001,
        decay_steps=STEPS * (EPOCHS - 1),
        alpha=0.1,
        warmup_target=0.01,
        warmup_steps=STEPS,
    )
    expected = [float(keras_schedule(step)) for step in range(STEPS * EPOCHS)]
    np.testing.assert_allclose(rates, expected, rtol=1e-5)


def test_no_warm_up_and_constant_rate():
    _, rates = _fit([CosineSchedule(warmup_epochs=0, alpha=1.0)])
    np.testing.assert_allclose(rates, 0.01)


def test_reading_the_rate_raises_no_numpy_deprecation_warning():
    # keras.ops.convert_to_numpy on the optimizer's variable raised NumPy 2's
    # "__array__ implementation doesn't accept a copy keyword" at every fit.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        _, rates = _fit([CosineSchedule(), LearningRateLogger()], epochs=2)
    assert len(rates) == 2 * STEPS


def test_rate_is_restored_when_training_ends():
    model, rates = _fit([CosineSchedule()])
    assert rates[-1] < 1e-4  # the schedule ends near 0 ...
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)  # ... not so


class _HalveAfterEpoch(keras.callbacks.Callback):
    """Stands in for ReduceLROnPlateau: halves the rate at one epoch's end."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            rate = float(self.model.optimizer.learning_rate)
            self.model.optimizer.learning_rate = rate / 2


def test_a_plateau_reduction_scales_the_rest_of_the_schedule():
    _, plain = _fit([CosineSchedule()])
    _, halved = _fit([_HalveAfterEpoch(1), CosineSchedule()])
    np.testing.assert_allclose(halved[: 2 * STEPS], plain[: 2 * STEPS], rtol=1e-6)
    np.testing.assert_allclose(halved[2 * STEPS :], plain[2 * STEPS :] / 2, rtol=1e-5)


def test_composes_with_keras_reduce_lr_on_plateau():
    # The monitored loss cannot improve by 1e9: every epoch after the first
    # (which sets the reference) is a plateau and halves the rate.
    reduce = keras.callbacks.ReduceLROnPlateau(
        "loss", factor=0.5, patience=0, min_delta=1e9
    )
    _, plain = _fit([CosineSchedule(alpha=0.5)])
    _, reduced = _fit([reduce, CosineSchedule(alpha=0.5)])
    ratios = reduced / plain
    expected = np.repeat([1, 1, 0.5, 0.25, 0.125], STEPS)
    np.testing.assert_allclose(ratios, expected, rtol=1e-5)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"warmup_epochs": -1}, "warmup_epochs"), ({"alpha": 2}, "alpha")],
)
def test_bad_arguments_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CosineSchedule(**kwargs)


def test_schedule_is_a_default_callback_with_parameters():
    params = default_callback_params()
    assert params["callbacks__lr_schedule__warmup_epochs"] == 1.0
    assert params["callbacks__lr_schedule__alpha"] == 0.0
    assert list(DEFAULT_CALLBACKS) == ["early_stopping", "reduce_lr", "lr_schedule"]


def test_schedule_runs_without_validation_data():
    # Early stopping and plateau reduction watch validation accuracy and are
    # left out without validation data; the schedule watches nothing.
    callbacks = make_default_callbacks(default_callback_params(), has_validation=False)
    assert list(callbacks) == ["lr_schedule"]
    assert isinstance(callbacks["lr_schedule"], CosineSchedule)


def test_short_fits_warm_up_for_half_of_them_at_most():
    # One epoch: half of it warms up, the other half decays.
    _, rates = _fit([CosineSchedule(warmup_epochs=1)], epochs=1)
    assert np.argmax(rates) == STEPS // 2
    assert rates[-1] < rates[STEPS // 2]
    # A warm-up longer than the fit: the peak is still reached, then left.
    _, rates = _fit([CosineSchedule(warmup_epochs=5)], epochs=3)
    assert rates.max() == pytest.approx(0.01)
    assert rates[-1] < 0.01 * 0.1

"""CNNDigitClassifier: behaviour users rely on, beyond scikit-learn's checks."""

import pickle

import keras
import numpy as np
import pytest
import scipy.sparse as sp
from _configs import FAST, NO_AUGMENTATION
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    check_cv,
    cross_val_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import get_tags

from skdigits import CNNDigitClassifier


@pytest.fixture(scope="module")
def fitted(digits):
    X_train, _, y_train, _ = digits
    return CNNDigitClassifier(**FAST).fit(X_train, y_train)


@pytest.fixture(scope="module")
def small(digits):
    """400 training digits: enough to check behaviour, fast to fit."""
    X_train, X_test, y_train, y_test = digits
    return X_train[:400], y_train[:400], X_test, y_test


def _fast(**params):
    return CNNDigitClassifier(**{**FAST, "epochs": 3, **params})


# --- scikit-learn identity -------------------------------------------------


def test_is_a_classifier_where_plain_scikeras_is_not():
    from scikeras.wrappers import KerasClassifier

    clf = CNNDigitClassifier()
    assert is_classifier(clf)
    assert get_tags(clf).estimator_type == "classifier"
    assert not get_tags(clf).input_tags.sparse
    # The reason the subclass declares its tags: the base class alone fails.
    assert not is_classifier(KerasClassifier())


def test_cross_validation_is_stratified(digits):
    _, _, y_train, _ = digits
    cv = check_cv(3, y_train, classifier=is_classifier(CNNDigitClassifier()))
    assert isinstance(cv, StratifiedKFold)


# --- accuracy and fitted state -----------------------------------------------


def test_accuracy_floor_on_held_out_8x8_digits(fitted, digits):
    _, X_test, _, y_test = digits
    assert fitted.score(X_test, y_test) >= 0.95


def test_fitted_attributes(fitted, digits):
    X_train, _, y_train, _ = digits
    assert fitted.n_features_in_ == 64
    assert fitted.image_shape_ == (8, 8, 1)
    assert fitted.input_scale_ == 16.0
    np.testing.assert_array_equal(fitted.classes_, np.arange(10))
    assert fitted.n_classes_ == 10
    history = fitted.history_
    assert set(history) == {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    }
    n_epochs = len(history["loss"])
    assert 1 <= n_epochs <= FAST["epochs"]
    assert all(len(v) == n_epochs for v in history.values())
    assert 1 <= fitted.best_epoch_ <= n_epochs
    # Early stopping restores the best validation epoch's weights.
    best = np.argmax(history["val_accuracy"]) + 1
    assert fitted.best_epoch_ == best
    # The default schedule: warm-up to the learning rate, then a decay.
    rates = history["learning_rate"]
    assert max(rates) <= FAST["learning_rate"]
    assert rates[0] == pytest.approx(FAST["learning_rate"], rel=0.1)
    assert np.all(np.diff(rates[1:]) < 0)


def test_predict_returns_labels_proba_sums_to_one(fitted, digits):
    _, X_test, _, _ = digits
    proba = fitted.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(
        fitted.predict(X_test), fitted.classes_[proba.argmax(axis=1)]
    )
    single = fitted.predict_proba(X_test[:1])
    assert single.shape == (1, 10)
    np.testing.assert_allclose(single, proba[:1], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("layout", ["images", "images_with_channel"])
def test_image_layouts_train_the_same_network(small, layout):
    X, y, X_test, _ = small
    shaped = X.reshape(-1, 8, 8) if layout == "images" else X.reshape(-1, 8, 8, 1)
    flat = _fast().fit(X, y)
    image = _fast().fit(shaped, y)
    assert image.image_shape_ == (8, 8, 1)
    np.testing.assert_array_equal(
        flat.predict_proba(X_test), image.predict_proba(X_test.reshape(-1, 8, 8))
    )


def test_raw_uint8_and_unit_floats_train_alike(small):
    X, y, X_test, y_test = small
    raw = np.round(X * 255 / 16).astype(np.uint8)
    unit = raw / 255.0
    clf_raw = _fast(epochs=10).fit(raw, y)
    clf_unit = _fast(epochs=10).fit(unit, y)
    assert clf_raw.input_scale_ == 255.0
    assert clf_unit.input_scale_ == 1.0
    raw_test = np.round(X_test * 255 / 16).astype(np.uint8)
    score_raw = clf_raw.score(raw_test, y_test)
    score_unit = clf_unit.score(raw_test / 255.0, y_test)
    assert score_raw > 0.8
    assert abs(score_raw - score_unit) <= 0.02


def test_non_square_rows_are_read_as_strips():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 10))
    y = (X[:, 0] > 0).astype(int)
    clf = _fast(epochs=2).fit(X, y)
    assert clf.image_shape_ == (1, 10, 1)
    assert clf.predict(X).shape == (60,)


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["zero", "one", "two"]),
        np.array([3, 7, 100], dtype=np.int32),
        np.array([1.0, 2.0, 5.0]),
    ],
    ids=["strings", "noncontiguous_int32", "floats"],
)
def test_predict_returns_original_labels_and_dtype(small, labels):
    X, y, _, _ = small
    keep = y < 3
    y_mapped = labels[y[keep]]
    clf = _fast().fit(X[keep], y_mapped)
    np.testing.assert_array_equal(clf.classes_, np.sort(labels))
    predicted = clf.predict(X[keep])
    assert predicted.dtype == y_mapped.dtype
    assert set(predicted) <= set(labels)


# --- reproducibility -----------------------------------------------------------


def test_random_state_makes_fit_bit_for_bit_reproducible(small):
    X, y, X_test, _ = small
    first = _fast(random_state=7).fit(X, y).predict_proba(X_test)
    second = _fast(random_state=7).fit(X, y).predict_proba(X_test)
    other = _fast(random_state=8).fit(X, y).predict_proba(X_test)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, other)


def test_fit_leaves_global_random_streams_alone(small):
    X, y, _, _ = small
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    _fast(epochs=1).fit(X, y)
    assert np.random.rand() == expected


# --- callbacks as parameters ---------------------------------------------------


def test_callback_parameters_are_estimator_parameters():
    clf = CNNDigitClassifier()
    params = clf.get_params()
    assert params["callbacks__early_stopping__patience"] == 4
    assert params["callbacks__early_stopping__monitor"] == "val_accuracy"
    assert params["callbacks__early_stopping__restore_best_weights"] is True
    assert params["callbacks__reduce_lr__factor"] == 0.5
    assert params["callbacks__reduce_lr__min_lr"] == 1e-5
    assert params["callbacks__lr_schedule__warmup_epochs"] == 1.0
    assert params["callbacks__lr_schedule__alpha"] == 0.0
    clf.set_params(callbacks__reduce_lr__factor=0.2)
    assert clf.get_params()["callbacks__reduce_lr__factor"] == 0.2
    assert "callbacks__reduce_lr__factor=0.2" in repr(clf)
    assert clone(clf).get_params()["callbacks__reduce_lr__factor"] == 0.2


def test_misspelt_callback_parameter_suggests_the_right_one():
    clf = CNNDigitClassifier()
    with pytest.raises(ValueError, match="Did you mean 'callbacks__early_stopping"):
        clf.set_params(callbacks__early_stopping__patiense=3)
    with pytest.raises(ValueError, match="Did you mean 'epochs'"):
        clf.set_params(epohcs=3)
    # Nothing was set: set_params checks every name first.
    with pytest.raises(ValueError):
        clf.set_params(epochs=99, callbacks__erly_stopping__patience=3)
    assert clf.epochs == CNNDigitClassifier().epochs
    # A typo given to the constructor is caught by fit, before any work.
    typo = CNNDigitClassifier(callbacks__reduce_lr__min_lrr=1e-4)
    with pytest.raises(ValueError, match="Did you mean 'callbacks__reduce_lr__min_lr'"):
        typo.fit(np.zeros((4, 4)), [0, 1, 0, 1])


def test_callback_parameters_change_training(small):
    X, y, _, _ = small
    clf = _fast(
        epochs=8,
        learning_rate=0.05,  # too high: validation accuracy stalls
        callbacks__reduce_lr__patience=0,
        callbacks__reduce_lr__factor=0.1,
        callbacks__reduce_lr__min_delta=1.0,  # no epoch counts as improving
        callbacks__early_stopping__patience=100,
        callbacks__lr_schedule__warmup_epochs=0,  # a constant rate otherwise
        callbacks__lr_schedule__alpha=1.0,
    ).fit(X, y)
    rates = clf.history_["learning_rate"]
    assert len(rates) == 8
    # The rate logged is the one each epoch trained with; a reduction at the
    # end of epoch 2 shows from epoch 3 on.
    assert rates[:3] == pytest.approx([0.05, 0.05, 0.005])
    assert rates[-1] == pytest.approx(1e-5)  # floored at min_lr


def test_early_stopping_stops_and_restores(small):
    X, y, _, _ = small
    clf = _fast(
        epochs=30,
        callbacks__early_stopping__patience=1,
        callbacks__early_stopping__min_delta=1.0,  # nothing improves enough
    ).fit(X, y)
    assert len(clf.history_["loss"]) == 2
    assert clf.best_epoch_ == 1


def test_user_callbacks_run_after_the_defaults(small):
    X, y, _, _ = small

    class CountEpochs(keras.callbacks.Callback):
        epochs_seen = 0

        def on_epoch_end(self, epoch, logs=None):
            type(self).epochs_seen += 1
            assert "learning_rate" in logs

    _fast(epochs=2, callbacks=[CountEpochs()]).fit(X, y)
    assert CountEpochs.epochs_seen == 2
    with pytest.raises(TypeError, match="keras.callbacks.Callback"):
        _fast(callbacks=[keras.callbacks.EarlyStopping]).fit(X, y)


def test_no_validation_split_means_fixed_epochs_no_callbacks(small):
    X, y, _, _ = small
    clf = _fast(epochs=3, validation_split=0.0).fit(X, y)
    assert set(clf.history_) == {"loss", "accuracy", "learning_rate"}
    assert len(clf.history_["loss"]) == 3
    assert clf.best_epoch_ == 3


# --- integration with scikit-learn -----------------------------------------


def test_grid_search_over_a_callback_parameter_in_a_pipeline(small):
    X, y, X_test, y_test = small
    pipe = Pipeline(
        [("scale", FunctionTransformer()), ("cnn", _fast(epochs=8, learning_rate=3e-3))]
    )
    assert is_classifier(pipe)
    search = GridSearchCV(
        pipe,
        {"cnn__callbacks__early_stopping__patience": [1, 3]},
        cv=2,
    ).fit(X, y)
    assert set(
        search.cv_results_["param_cnn__callbacks__early_stopping__patience"]
    ) == {
        1,
        3,
    }
    assert (
        search.best_estimator_.named_steps["cnn"].get_params()[
            "callbacks__early_stopping__patience"
        ]
        == search.best_params_["cnn__callbacks__early_stopping__patience"]
    )
    assert search.score(X_test, y_test) > 0.5


def test_cross_val_score(small):
    X, y, _, _ = small
    scores = cross_val_score(_fast(epochs=8, learning_rate=3e-3), X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.5


def test_confusion_matrix_display_in_one_line(fitted, digits):
    _, X_test, _, y_test = digits
    display = ConfusionMatrixDisplay.from_estimator(fitted, X_test, y_test)
    assert display.confusion_matrix.shape == (10, 10)
    assert display.confusion_matrix.sum() == len(y_test)
    assert np.trace(display.confusion_matrix) >= 0.95 * len(y_test)


def test_clone_copies_parameters_not_fitted_state(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "model_")


def test_pickle_round_trip_keeps_predictions(fitted, digits):
    _, X_test, _, _ = digits
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        restored.predict_proba(X_test), fitted.predict_proba(X_test)
    )
    np.testing.assert_array_equal(restored.classes_, fitted.classes_)


def test_partial_fit_trains_at_the_full_rate_without_callbacks(small):
    X, y, _, _ = small
    clf = _fast(epochs=2).fit(X, y)
    clf.partial_fit(X, y).partial_fit(X, y)
    # The schedule ran in fit and gave the rate back; partial_fit runs none.
    assert clf.history_["learning_rate"][-2:] == pytest.approx(
        [FAST["learning_rate"]] * 2
    )


def test_partial_fit_continues_training(small):
    X, y, _, _ = small
    clf = _fast()
    clf.partial_fit(X, y, classes=np.arange(10))
    clf.partial_fit(X, y)
    assert len(clf.history_["loss"]) == 2
    assert clf.history_["loss"][1] < clf.history_["loss"][0]


# --- bad input ---------------------------------------------------------------------


def test_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFittedError):
        CNNDigitClassifier().predict(np.zeros((1, 64)))


X_OK = np.zeros((6, 4))
Y_OK = np.array([0, 1, 0, 1, 0, 1])


@pytest.mark.parametrize(
    "X, y, error, match",
    [
        (np.full((6, 4), np.nan), Y_OK, ValueError, "NaN"),
        (np.full((6, 4), np.inf), Y_OK, ValueError, "infinity"),
        (sp.csr_matrix(X_OK), Y_OK, TypeError, "dense data is required"),
        (np.zeros(6), Y_OK, ValueError, "Expected 2D array"),
        (np.zeros((0, 4)), np.array([]), ValueError, "0 sample"),
        (np.array([["a"] * 4] * 6), Y_OK, ValueError, "numeric"),
        (X_OK, Y_OK[:5], ValueError, "inconsistent numbers of samples"),
        (X_OK, np.zeros(6), ValueError, "at least 2 classes.*1 class"),
        (X_OK, np.array([0, 1, np.nan, 1, 0, 1]), ValueError, "NaN"),
        (np.zeros((6, 2, 2, 2, 2)), Y_OK, ValueError, "2 to 4 dimensions"),
        (np.full((6, 4), 1e39), Y_OK, ValueError, "1e\\+39, beyond float32's"),
    ],
    ids=[
        "nan",
        "inf",
        "sparse",
        "1d",
        "empty",
        "strings",
        "length_mismatch",
        "single_class",
        "nan_labels",
        "5d",
        "float32_overflow",
    ],
)
def test_bad_fit_input_is_a_clear_error_and_changes_nothing(fitted, X, y, error, match):
    before = dict(vars(fitted))
    with pytest.raises(error, match=match):
        fitted.fit(X, y)
    after = vars(fitted)
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)


def test_wrong_number_of_features_at_predict(fitted):
    with pytest.raises(ValueError, match="X has 63 features.*expecting 64"):
        fitted.predict(np.zeros((2, 63)))


@pytest.mark.parametrize("shape", [(4, 16), (16, 4), (16, 4, 1), (4, 4, 4)])
def test_images_of_another_shape_are_refused_at_predict(fitted, digits, shape):
    _, X_test, _, _ = digits
    images = X_test[:3].reshape(3, *shape)  # as many values as (8, 8, 1)
    expected = (*shape, 1) if len(shape) == 2 else shape
    message = rf"images of shape \({', '.join(map(str, expected))}\).*\(8, 8, 1\)"
    for method in (fitted.predict, fitted.predict_proba):
        with pytest.raises(ValueError, match=message):
            method(images)
    # The fitted layouts stay accepted: flat rows, images with or without
    # their channel axis.
    flat = fitted.predict_proba(X_test[:3])
    for layout in ((3, 8, 8), (3, 8, 8, 1)):
        np.testing.assert_array_equal(
            fitted.predict_proba(X_test[:3].reshape(layout)), flat
        )


def test_values_beyond_float32_are_refused_at_predict(fitted, digits):
    _, X_test, _, _ = digits
    X = X_test[:3].astype(np.float64)
    X[1, 5] = -1e39  # finite in float64, infinite in float32
    with pytest.raises(ValueError, match="magnitude up to 1e\\+39, beyond float32"):
        fitted.predict(X)
    fitted.predict(X.clip(-3e38, 3e38))  # large but representable: accepted


@pytest.mark.parametrize(
    "n_samples, fraction", [(4, 0.8), (2, 0.9), (10, 0.95)], ids=str
)
def test_a_validation_split_that_leaves_no_training_sample_is_refused(
    n_samples, fraction
):
    X = np.random.RandomState(0).rand(n_samples, 4)
    y = np.arange(n_samples) % 2
    clf = _fast(validation_split=fraction)
    with pytest.raises(
        ValueError,
        match=rf"validation_split={fraction} of {n_samples} samples holds out "
        rf"{n_samples} and leaves 0 to train on",
    ):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def _diverging_weights(y):
    # The loss of a sample times 3e38 overflows float32: the first batch's
    # loss is infinite and its gradient step makes every weight NaN.
    return np.full(len(y), 3e38)


def _state(estimator):
    return {k: v for k, v in vars(estimator).items()}


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_diverging_first_fit_is_an_error_and_leaves_it_unfitted(small, method):
    X, y, _, _ = small
    clf = _fast(epochs=2)
    before = _state(clf)
    with pytest.raises(ValueError, match="Training diverged: the loss became inf"):
        getattr(clf, method)(X, y, sample_weight=_diverging_weights(y))
    assert _state(clf) == before
    assert not hasattr(clf, "model_")


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_diverging_refit_keeps_the_fitted_model_bit_for_bit(fitted, digits, method):
    X_train, X_test, y_train, _ = digits
    proba = fitted.predict_proba(X_test)
    before = _state(fitted)
    history = {k: list(v) for k, v in fitted.history_.items()}
    weights = [np.copy(w) for w in fitted.model_.get_weights()]
    with pytest.raises(ValueError, match="Training diverged.*learning_rate"):
        getattr(fitted, method)(
            X_train, y_train, sample_weight=_diverging_weights(y_train)
        )
    after = _state(fitted)
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)
    assert fitted.history_ == history
    for saved, now in zip(weights, fitted.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(now, saved)
    np.testing.assert_array_equal(fitted.predict_proba(X_test), proba)
    # partial_fit trains on from there as if nothing had happened.
    assert fitted.model_.optimizer.learning_rate.numpy() == np.float32(
        FAST["learning_rate"]
    )


def test_bad_parameters_are_clear_errors(small):
    X, y, _, _ = small
    with pytest.raises(ValueError, match="validation_split"):
        _fast(validation_split=1.5).fit(X, y)
    with pytest.raises(ValueError, match="filters"):
        _fast(filters=(16, -1)).fit(X, y)
    with pytest.raises(TypeError, match="epochs"):
        _fast(epochs=2.5).fit(X, y)
    with pytest.raises(ValueError, match="padding must be 'auto', 'valid' or 'same'"):
        _fast(padding="full").fit(X, y)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"learning_rate": float("nan")}, ValueError, "learning_rate must be a number"),
        ({"learning_rate": 0.0}, ValueError, r"learning_rate must be in \(0, 1\]"),
        ({"learning_rate": -1e-3}, ValueError, r"learning_rate must be in \(0, 1\]"),
        ({"learning_rate": 50.0}, ValueError, r"learning_rate must be in \(0, 1\]"),
        ({"learning_rate": "0.01"}, TypeError, "learning_rate must be a number"),
        ({"validation_split": "0.1"}, TypeError, "validation_split must be a number"),
        ({"dropout": None}, TypeError, "dropout must be a number"),
        ({"rotation_range": float("inf")}, ValueError, "rotation_range must be"),
        ({"filters": ()}, ValueError, "filters must be a non-empty sequence"),
        ({"filters": (True,)}, ValueError, "filters must be a non-empty sequence"),
        ({"dense_units": 2.5}, ValueError, "dense_units must be an int >= 0"),
        ({"dense_units": -1}, ValueError, "dense_units must be an int >= 0"),
        ({"verbose": "x"}, ValueError, "verbose must be 0, 1 or 2"),
        # A bool is an int to Python, never a count here.
        ({"verbose": True}, ValueError, "verbose must be 0, 1 or 2"),
        ({"epochs": True}, TypeError, "epochs must be a positive int, got True"),
        ({"tta_shift": False}, TypeError, "tta_shift must be an int >= 0"),
        ({"kernel_size": np.int64(0)}, ValueError, 'kernel_size must be "auto", a po'),
        ({"kernel_size": "same"}, ValueError, 'kernel_size must be "auto", a positive'),
        (
            {"kernel_size": (5, 3)},
            ValueError,
            r"one positive int per block of filters \(1\), got \(5, 3\)",
        ),
        ({"convs_per_block": (0,)}, ValueError, 'convs_per_block must be "auto", a'),
        ({"convs_per_block": 1.5}, TypeError, 'convs_per_block must be "auto", a'),
        (
            {"callbacks__early_stopping__patience": -1},
            ValueError,
            "callbacks__early_stopping__patience must be an int >= 0",
        ),
        (
            {"callbacks__reduce_lr__patience": 1.5},
            ValueError,
            "callbacks__reduce_lr__patience must be an int >= 0",
        ),
    ],
)
def test_values_that_cannot_train_are_refused_and_change_nothing(
    fitted, digits, params, error, match
):
    X_train, X_test, y_train, _ = digits
    before = fitted.predict_proba(X_test)
    state = dict(vars(fitted))
    estimator = clone(fitted).set_params(**params)
    with pytest.raises(error, match=match):
        estimator.fit(X_train, y_train)
    assert not hasattr(estimator, "model_")  # refused before any work
    assert vars(fitted).keys() == state.keys()
    np.testing.assert_array_equal(fitted.predict_proba(X_test), before)


def test_negative_sample_weight_is_refused(small):
    X, y, _, _ = small
    weights = np.ones(len(y))
    weights[3] = -1.0
    clf = _fast()
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        clf.fit(X, y, sample_weight=weights)
    assert not hasattr(clf, "model_")


# --- MNIST (read from the data home; skipped when it is absent) --------------


def test_mnist_accuracy_floor_raw_and_scaled(mnist_data_home):
    from skdigits.datasets import fetch_mnist

    X_train, y_train = fetch_mnist(subset="train", return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", return_X_y=True)
    X_train, y_train = X_train[:6000], y_train[:6000]
    params = dict(
        filters=(8, 16), dense_units=64, batch_size=32, epochs=3, random_state=0
    )
    raw = CNNDigitClassifier(**params).fit(X_train, y_train)
    unit = CNNDigitClassifier(**params).fit(X_train / 255.0, y_train)
    raw_score = raw.score(X_test, y_test)
    # 6,000 images and 3 epochs of a small network: well above 95 % on the
    # full 10,000-image test set; raw uint8 and [0, 1] floats train alike.
    assert raw_score >= 0.95
    assert abs(raw_score - unit.score(X_test / 255.0, y_test)) <= 0.01
    # Any layout of the same pixels predicts the same.
    np.testing.assert_array_equal(
        raw.predict(X_test[:50]), raw.predict(X_test[:50].reshape(-1, 28, 28))
    )


def test_augmentation_acts_in_training_only(small):
    X, y, X_test, _ = small
    clf = _fast(epochs=2, rotation_range=10, shift_range=0.1, zoom_range=0.1).fit(X, y)
    names = [layer.name for layer in clf.model_.layers]
    assert {"augment_rotation", "augment_shift", "augment_zoom"} <= set(names)
    # Prediction is deterministic: the random layers are identity at inference.
    np.testing.assert_array_equal(clf.predict_proba(X_test), clf.predict_proba(X_test))
    # Training sees augmented images: the layer changes a batch when training.
    images = X_test[:8].reshape(-1, 8, 8, 1).astype("float32") / 16
    layer = clf.model_.get_layer("augment_shift")
    shifted = keras.ops.convert_to_numpy(layer(images, training=True))
    assert not np.allclose(shifted, images)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(layer(images, training=False)), images
    )
    plain = _fast(epochs=2, **NO_AUGMENTATION).fit(X, y)
    assert not any(
        name.startswith("augment")
        for name in [layer.name for layer in plain.model_.layers]
    )
    with pytest.raises(ValueError, match="rotation_range"):
        _fast(rotation_range=400).fit(X, y)


def test_default_network_is_the_5x5_first_augmented_one_on_every_image():
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (40, 28, 28)).astype(np.uint8), np.arange(40) % 4
    clf = CNNDigitClassifier(epochs=1, random_state=0).fit(X, y)
    convs = [
        (layer.name, layer.kernel_size[0], layer.filters)
        for layer in clf.model_.layers
        if isinstance(layer, keras.layers.Conv2D)
    ]
    assert convs == [
        ("block1_conv1", 5, 32),
        ("block2_conv1", 3, 64),
        ("block2_conv2", 3, 64),
    ]
    names = {layer.name for layer in clf.model_.layers}
    assert {"augment_rotation", "augment_shift", "augment_zoom"} <= names
    assert clf.model_.get_layer("dense").units == 256
    assert "val_loss" not in clf.history_  # no split: all 40 images trained
    assert clf.best_epoch_ == 1


def test_per_block_kernels_fit_clone_and_round_trip(digits, tmp_path):
    from skdigits import load_model, save_model

    X_train, X_test, y_train, _ = digits
    params = dict(filters=(4, 8), kernel_size=(5, 3), convs_per_block=(1, 2))
    clf = CNNDigitClassifier(
        **params, dense_units=8, batch_size=64, epochs=1, random_state=0
    ).fit(X_train, y_train)
    convs = [layer for layer in clf.model_.layers if "conv" in layer.name]
    assert [layer.kernel_size[0] for layer in convs] == [5, 3, 3]
    assert [layer.name for layer in convs][0] == "block1_conv1"
    assert {k: clone(clf).get_params()[k] for k in params} == params
    save_model(clf, tmp_path / "m.zip")
    loaded = load_model(tmp_path / "m.zip")
    assert {k: loaded.get_params()[k] for k in params} == params
    np.testing.assert_array_equal(
        loaded.predict_proba(X_test), clf.predict_proba(X_test)
    )

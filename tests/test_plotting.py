"""Tests of skdigits.plotting: what each display draws."""

import os
import subprocess
import sys
import types
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.image import AxesImage
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.metrics import ConfusionMatrixDisplay

from skdigits.plotting import SamplePredictionsDisplay, TrainingHistoryDisplay

GREEN, RED = "tab:green", "tab:red"


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    """No display ever shows a window; every test leaves no figure open."""

    def _no_show(*args, **kwargs):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", _no_show)
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300], X[300:500], y[300:500]


@pytest.fixture(scope="module")
def fitted(digits):
    """One fast network on 300 of scikit-learn's 8x8 digits."""
    from skdigits import CNNDigitClassifier

    X_train, y_train, _, _ = digits
    clf = CNNDigitClassifier(
        filters=(8,), dense_units=16, epochs=3, validation_split=0.1, random_state=0
    )
    return clf.fit(X_train, y_train)


def _legend_labels(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


# ----------------------------------------------------------------------
# TrainingHistoryDisplay


def test_history_from_estimator_draws_curves_of_the_fit(fitted):
    display = TrainingHistoryDisplay.from_estimator(fitted)

    assert len(display.axes_) == 2
    # The two panels, and the learning-rate twin of the loss panel.
    assert display.figure_.axes == [*display.axes_, display.learning_rate_axis_]
    assert [ax.get_title() for ax in display.axes_] == ["Accuracy", "Loss"]
    assert set(display.lines_) == {"accuracy", "val_accuracy", "loss", "val_loss"}
    n_epochs = len(fitted.history_["loss"])
    for key, line in display.lines_.items():
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, n_epochs + 1))
        np.testing.assert_allclose(line.get_ydata(), fitted.history_[key])
    accuracy_ax, loss_ax = display.axes_
    assert display.lines_["val_accuracy"] in accuracy_ax.lines
    assert display.lines_["loss"] in loss_ax.lines
    for ax in display.axes_:
        labels = _legend_labels(ax)
        assert labels[:2] == ["training", "validation"]
        assert f"weights kept (epoch {fitted.best_epoch_})" in labels
    assert "learning rate" not in _legend_labels(accuracy_ax)
    assert _legend_labels(loss_ax)[-1] == "learning rate"
    line = display.learning_rate_line_
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, n_epochs + 1))
    np.testing.assert_allclose(line.get_ydata(), fitted.history_["learning_rate"])


def test_history_best_epoch_marker_is_at_best_epoch(fitted):
    display = TrainingHistoryDisplay.from_estimator(fitted)
    assert len(display.best_epoch_lines_) == 2
    for ax, line in zip(display.axes_, display.best_epoch_lines_, strict=True):
        assert line in ax.lines
        assert list(line.get_xdata()) == [fitted.best_epoch_] * 2

    history = {"loss": [3.0, 2.0, 1.0, 1.5], "accuracy": [0.1, 0.5, 0.9, 0.8]}
    display = TrainingHistoryDisplay(history, best_epoch=3).plot()
    assert [list(line.get_xdata()) for line in display.best_epoch_lines_] == [
        [3, 3],
        [3, 3],
    ]


def _history(learning_rate):
    n = len(learning_rate)
    return {
        "loss": np.linspace(2, 0.5, n),
        "accuracy": np.linspace(0.2, 0.9, n),
        "val_loss": np.linspace(2.1, 0.7, n),
        "val_accuracy": np.linspace(0.2, 0.85, n),
        "learning_rate": learning_rate,
    }


def _schedule(n_epochs=10, peak=1e-3, halve_after=5):
    """Per-epoch rates of a warm-up, a cosine decay to 0 and one halving."""
    rates = peak * 0.5 * (1 + np.cos(np.pi * np.linspace(0, 1, n_epochs - 1)))
    rates = np.concatenate([[peak / 10], rates])  # the warm-up epoch
    rates[halve_after:] /= 2
    return rates


def _axes_fraction(axis, y):
    """Heights of the values ``y`` on ``axis``, from 0 (bottom) to 1 (top)."""
    points = np.column_stack([np.ones_like(y), y])
    return axis.transAxes.inverted().transform(axis.transData.transform(points))[:, 1]


def test_history_draws_the_learning_rate_on_a_twin_of_the_loss_panel():
    rates = _schedule()
    display = TrainingHistoryDisplay(_history(rates), best_epoch=9).plot()
    accuracy_ax, loss_ax = display.axes_
    axis, line = display.learning_rate_axis_, display.learning_rate_line_

    # A twin of the loss panel only: same x-axis, its own y-axis on the right.
    assert display.figure_.axes == [accuracy_ax, loss_ax, axis]
    assert axis.get_shared_x_axes().joined(axis, loss_ax)
    assert axis.yaxis.get_label_position() == "right"
    assert axis.get_ylabel() == "learning rate"
    assert axis.get_yscale() == "log"
    assert list(axis.lines) == [line]
    assert line not in loss_ax.lines
    # One point per epoch, the history's rates as they are.
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 11))
    np.testing.assert_array_equal(line.get_ydata(), rates)
    assert line.get_color() not in {
        curve.get_color() for curve in display.lines_.values()
    }
    # In the loss panel's legend, which is drawn over it with the curves.
    assert _legend_labels(loss_ax) == [
        "training",
        "validation",
        "weights kept (epoch 9)",
        "learning rate",
    ]
    assert "learning rate" not in _legend_labels(accuracy_ax)
    assert loss_ax.get_zorder() > axis.get_zorder()
    # The rates keep out of the top of the panel, where the legend goes...
    heights = _axes_fraction(axis, rates[rates > 0])
    assert np.all((heights > 0) & (heights < 0.7))
    # ... and do not stretch the loss axis.
    assert loss_ax.get_ylim()[0] > 0.25


def test_history_constant_learning_rate_is_a_flat_line():
    display = TrainingHistoryDisplay(_history([1e-3] * 4)).plot()
    axis = display.learning_rate_axis_

    np.testing.assert_array_equal(display.learning_rate_line_.get_ydata(), [1e-3] * 4)
    assert axis.get_yscale() == "log"
    low, high = axis.get_ylim()
    assert 0 < low < 1e-3 < high and np.isfinite(high)
    assert 0 < _axes_fraction(axis, np.array([1e-3]))[0] < 0.7
    display.figure_.canvas.draw()


@pytest.mark.parametrize("last", [0.0, 1e-12], ids=["zero", "tiny"])
def test_history_learning_rate_ending_at_or_near_zero(last):
    # A cosine schedule ends at exactly 0, or nearly: the log axis holds, and
    # keeps to 3 decades below the highest rate rather than showing 1e-12.
    rates = [1e-4, 1e-3, 8e-4, 4e-4, 1e-4, last]
    display = TrainingHistoryDisplay(_history(rates)).plot()
    axis = display.learning_rate_axis_

    np.testing.assert_array_equal(display.learning_rate_line_.get_ydata(), rates)
    assert axis.get_yscale() == "log"
    low, high = axis.get_ylim()
    assert 1e-7 < low < 1e-4 and 1e-3 < high < 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        display.figure_.canvas.draw()


def test_history_learning_rate_never_positive_is_on_a_linear_axis():
    display = TrainingHistoryDisplay(_history([0.0] * 3)).plot()
    assert display.learning_rate_axis_.get_yscale() == "linear"
    np.testing.assert_array_equal(display.learning_rate_line_.get_ydata(), [0, 0, 0])
    display.figure_.canvas.draw()


def test_history_without_validation_or_learning_rate():
    history = {"loss": [1.0, 0.6, 0.4], "accuracy": [0.5, 0.8, 0.9]}
    display = TrainingHistoryDisplay(history, best_epoch=3).plot()

    assert set(display.lines_) == {"accuracy", "loss"}
    assert display.learning_rate_line_ is None
    assert display.learning_rate_axis_ is None
    assert display.figure_.axes == list(display.axes_)  # no twin
    for ax in display.axes_:
        assert _legend_labels(ax) == ["training", "weights kept (epoch 3)"]


def test_history_reads_a_keras_history_object():
    # Keras 2 logged the learning rate as "lr".
    history = types.SimpleNamespace(history={"loss": [1.0, 0.5], "lr": [0.1, 0.05]})
    display = TrainingHistoryDisplay(history).plot()
    assert set(display.lines_) == {"loss"}
    np.testing.assert_array_equal(display.learning_rate_line_.get_ydata(), [0.1, 0.05])
    assert _legend_labels(display.axes_[1]) == ["training", "learning rate"]


def test_history_draws_on_the_axes_given():
    fig, axes = plt.subplots(2, 1)
    display = TrainingHistoryDisplay(_history([1e-3, 5e-4])).plot(ax=axes)

    assert display.figure_ is fig
    assert list(display.axes_) == list(axes)
    assert plt.get_fignums() == [fig.number]
    assert display.lines_["accuracy"] in axes[0].lines
    assert display.lines_["loss"] in axes[1].lines
    assert display.learning_rate_axis_.figure is fig
    assert display.learning_rate_axis_.get_shared_x_axes().joined(
        display.learning_rate_axis_, axes[1]
    )


def test_history_from_estimator_passes_ax(fitted):
    fig, axes = plt.subplots(1, 2)
    display = TrainingHistoryDisplay.from_estimator(fitted, ax=axes)
    assert display.figure_ is fig
    assert plt.get_fignums() == [fig.number]


@pytest.mark.parametrize("n_axes", [1, 3])
def test_history_rejects_ax_that_is_not_two_axes(n_axes):
    _, axes = plt.subplots(1, n_axes, squeeze=False)
    ax = axes[0, 0] if n_axes == 1 else axes
    with pytest.raises(ValueError, match="sequence of 2 matplotlib Axes"):
        TrainingHistoryDisplay({"loss": [1.0]}).plot(ax=ax)


def test_history_from_estimator_on_an_unfitted_estimator():
    from skdigits import CNNDigitClassifier

    with pytest.raises(NotFittedError, match="not fitted"):
        TrainingHistoryDisplay.from_estimator(CNNDigitClassifier())


@pytest.mark.parametrize(
    "history, best_epoch, match",
    [
        ({"loss": [1.0, 0.5], "accuracy": [0.5]}, None, "one value per epoch"),
        ({"loss": []}, None, "no epochs"),
        ({"val_loss": [1.0]}, None, "'loss' or 'accuracy'"),
        ({"loss": [1.0, 0.5]}, 3, "best_epoch must be an int from 1 to"),
        ({"loss": [1.0, 0.5]}, 0, "best_epoch must be an int from 1 to"),
    ],
)
def test_history_rejects_invalid_input(history, best_epoch, match):
    with pytest.raises(ValueError, match=match):
        TrainingHistoryDisplay(history, best_epoch=best_epoch).plot()
    assert not plt.get_fignums()  # nothing drawn before the check


# ----------------------------------------------------------------------
# The confusion matrix is scikit-learn's own display


def test_confusion_matrix_display_works_on_the_estimator(fitted, digits):
    _, _, X_test, y_test = digits
    display = ConfusionMatrixDisplay.from_estimator(fitted, X_test, y_test)

    assert display.confusion_matrix.sum() == len(y_test)
    n_right = np.sum(fitted.predict(X_test) == y_test)
    assert np.trace(display.confusion_matrix) == n_right
    assert display.im_ in display.ax_.images
    np.testing.assert_array_equal(display.display_labels, fitted.classes_)


# ----------------------------------------------------------------------
# SamplePredictionsDisplay


def test_sample_predictions_from_estimator(fitted, digits):
    _, _, X_test, y_test = digits
    display = SamplePredictionsDisplay.from_estimator(
        fitted, X_test, y_test, n_images=10
    )

    assert display.axes_.shape == (3, 4)
    assert len(display.images_) == len(display.texts_) == 10
    assert not any(ax.axison for ax in display.axes_.ravel())
    assert [len(ax.images) for ax in display.axes_.ravel()] == [1] * 10 + [0] * 2
    for i, image in enumerate(display.images_):
        assert isinstance(image, AxesImage)
        np.testing.assert_array_equal(image.get_array(), X_test[i].reshape(8, 8))
        assert image.get_cmap().name == "gray"

    y_pred = fitted.predict(X_test[:10])
    proba = fitted.predict_proba(X_test[:10]).max(axis=1)
    for text, true, pred, p in zip(
        display.texts_, y_test[:10], y_pred, proba, strict=True
    ):
        assert text.get_text() == f"pred {pred} (true {true})\n{p:.0%}"
        assert text.get_color() == (GREEN if pred == true else RED)
    np.testing.assert_array_equal(display.correct_, y_pred == y_test[:10])
    assert display.message_ is None


def test_sample_predictions_title_colors_follow_correctness(digits):
    X, y, _, _ = digits
    y_pred = y[:6].copy()
    y_pred[[1, 4]] = (y_pred[[1, 4]] + 1) % 10
    display = SamplePredictionsDisplay.from_predictions(X[:6], y[:6], y_pred)

    assert [t.get_color() for t in display.texts_] == [
        GREEN,
        RED,
        GREEN,
        GREEN,
        RED,
        GREEN,
    ]
    assert display.texts_[1].get_text() == f"pred {y_pred[1]} (true {y[1]})"
    assert display.axes_.shape == (2, 3)


def test_mistakes_only_shows_the_most_confident_mistakes_first(fitted, digits):
    _, _, X_test, y_test = digits
    y_pred = fitted.predict(X_test)
    confidence = fitted.predict_proba(X_test).max(axis=1)
    wrong = np.flatnonzero(y_pred != y_test)
    assert len(wrong) > 4  # a 3-epoch network makes mistakes to show
    expected = wrong[np.argsort(-confidence[wrong], kind="stable")][:4]

    display = SamplePredictionsDisplay.from_estimator(
        fitted, X_test, y_test, n_images=4, mistakes_only=True
    )

    assert len(display.images_) == 4
    assert not display.correct_.any()
    assert all(t.get_color() == RED for t in display.texts_)
    np.testing.assert_allclose(display.proba, confidence[expected])
    assert np.all(np.diff(display.proba) <= 0)
    for image, i in zip(display.images_, expected, strict=True):
        np.testing.assert_array_equal(image.get_array(), X_test[i].reshape(8, 8))


def test_mistakes_only_from_predictions_order_and_count():
    images = np.arange(6 * 4, dtype=float).reshape(6, 2, 2)
    y_true = np.array([0, 1, 2, 3, 4, 5])
    y_pred = np.array([1, 1, 0, 0, 4, 0])
    proba = np.array([0.5, 0.99, 0.9, 0.5, 0.8, 0.7])
    display = SamplePredictionsDisplay.from_predictions(
        images, y_true, y_pred, proba=proba, mistakes_only=True
    )
    # wrong: 0 (0.5), 2 (0.9), 3 (0.5), 5 (0.7); ties keep data order
    np.testing.assert_array_equal(display.y_true, [2, 5, 0, 3])
    assert [t.get_text() for t in display.texts_] == [
        "pred 0 (true 2)\n90%",
        "pred 0 (true 5)\n70%",
        "pred 1 (true 0)\n50%",
        "pred 0 (true 3)\n50%",
    ]
    shown = SamplePredictionsDisplay.from_predictions(
        images, y_true, y_pred, proba=proba, mistakes_only=True, n_images=2
    )
    np.testing.assert_array_equal(shown.y_true, [2, 5])


def test_mistakes_only_without_probabilities_keeps_data_order(digits):
    X, y, X_test, y_test = digits
    clf = Perceptron(max_iter=2, tol=None, random_state=0).fit(X, y)  # no proba
    y_pred = clf.predict(X_test)
    display = SamplePredictionsDisplay.from_estimator(
        clf, X_test, y_test, n_images=5, mistakes_only=True
    )
    wrong = np.flatnonzero(y_pred != y_test)[:5]
    np.testing.assert_array_equal(display.y_true, y_test[wrong])
    assert display.proba is None
    assert "\n" not in display.texts_[0].get_text()


def test_mistakes_only_with_no_mistakes_says_so(digits):
    X, y, _, _ = digits
    display = SamplePredictionsDisplay.from_predictions(
        X[:50], y[:50], y[:50], mistakes_only=True
    )
    assert display.images_ == [] and display.texts_ == []
    assert display.message_.get_text() == "No mistakes: all 50 predictions are correct."
    assert display.message_.axes in display.figure_.axes
    assert not display.axes_.ravel()[0].images


def test_random_state_picks_a_reproducible_subset(digits):
    X, y, _, _ = digits
    first = SamplePredictionsDisplay.from_predictions(X, y, y, n_images=9)
    np.testing.assert_array_equal(first.y_true, y[:9])

    def shown(random_state):
        index = np.arange(len(y))  # labels that tell which images are shown
        display = SamplePredictionsDisplay.from_predictions(
            X, index, index, n_images=9, random_state=random_state
        )
        return display.y_true

    indices = shown(0)
    np.testing.assert_array_equal(indices, shown(0))
    assert len(set(indices)) == 9 and np.all(np.diff(indices) > 0)  # data order
    assert not np.array_equal(indices, np.arange(9))
    assert not np.array_equal(indices, shown(1))
    more = SamplePredictionsDisplay.from_predictions(X[:4], y[:4], y[:4], n_images=9)
    assert len(more.images_) == 4


@pytest.mark.parametrize(
    "X, image_shape, expected",
    [
        (np.zeros((3, 64)), None, (8, 8)),
        (np.zeros((3, 64)), (4, 16), (4, 16)),
        (np.zeros((3, 64)), (4, 16, 1), (4, 16)),
        (np.zeros((3, 12)), None, (1, 12)),
        (np.zeros((3, 5, 7)), None, (5, 7)),
        (np.zeros((3, 5, 7, 1)), None, (5, 7)),
        (np.zeros((3, 5, 7, 3)), None, (5, 7, 3)),
    ],
)
def test_images_of_any_layout(X, image_shape, expected):
    display = SamplePredictionsDisplay.from_predictions(
        X, [0, 1, 2], [0, 1, 2], image_shape=image_shape
    )
    assert [image.get_array().shape for image in display.images_] == [expected] * 3


@pytest.mark.parametrize(
    "X, image_shape, match",
    [
        (np.zeros((2, 64)), (7, 7), "does not hold the 64 values"),
        (np.zeros((2, 5, 7, 2)), None, "1, 3 or 4 channels"),
    ],
)
def test_images_of_invalid_layout(X, image_shape, match):
    with pytest.raises(ValueError, match=match):
        SamplePredictionsDisplay.from_predictions(
            X, [0, 1], [0, 1], image_shape=image_shape
        )


def test_from_estimator_reads_image_shape_and_predict_proba(digits):
    X, y, X_test, y_test = digits
    clf = LogisticRegression(max_iter=200).fit(X, y)
    clf.image_shape_ = (4, 16, 1)  # as a CNNDigitClassifier fitted on 4x16 images
    display = SamplePredictionsDisplay.from_estimator(clf, X_test, y_test, n_images=3)
    assert display.images_[0].get_array().shape == (4, 16)
    np.testing.assert_allclose(display.proba, clf.predict_proba(X_test[:3]).max(axis=1))


def test_sample_predictions_draw_on_the_axes_given(digits):
    X, y, _, _ = digits
    fig, axes = plt.subplots(2, 3)
    display = SamplePredictionsDisplay.from_predictions(X, y, y, n_images=4, ax=axes)

    assert display.figure_ is fig
    assert display.axes_.shape == (2, 3)
    assert plt.get_fignums() == [fig.number]
    assert [len(ax.images) for ax in axes.ravel()] == [1, 1, 1, 1, 0, 0]

    with pytest.raises(ValueError, match="2 Axes for 4 images"):
        SamplePredictionsDisplay.from_predictions(X, y, y, n_images=4, ax=axes[0, :2])

    _, ax = plt.subplots()
    single = SamplePredictionsDisplay.from_predictions(X, y, y, n_images=1, ax=ax)
    assert list(single.axes_) == [ax]
    assert single.images_[0] in ax.images


def test_sample_predictions_n_cols_and_cmap(digits):
    X, y, _, _ = digits
    display = SamplePredictionsDisplay.from_predictions(
        X, y, y, n_images=5, n_cols=5, cmap="gray_r"
    )
    assert display.axes_.shape == (1, 5)
    assert display.images_[0].get_cmap().name == "gray_r"


@pytest.mark.parametrize("n_images", [0, -1, 2.5, True])
def test_invalid_n_images(digits, n_images):
    X, y, _, _ = digits
    with pytest.raises(ValueError, match="n_images must be a positive int"):
        SamplePredictionsDisplay.from_predictions(X, y, y, n_images=n_images)


def test_from_estimator_on_an_unfitted_estimator(digits):
    X, y, _, _ = digits
    with pytest.raises(NotFittedError):
        SamplePredictionsDisplay.from_estimator(LogisticRegression(), X, y)


# ----------------------------------------------------------------------
# The module itself


def test_import_is_cheap():
    """Importing skdigits.plotting imports neither Matplotlib nor TensorFlow."""
    code = (
        "import sys, skdigits.plotting; "
        "print(sorted({m.split('.')[0] for m in sys.modules} "
        "& {'matplotlib', 'tensorflow', 'keras'}))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

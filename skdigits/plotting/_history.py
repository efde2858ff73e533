"""Learning curves: accuracy, loss and learning rate per epoch of a fit."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

# The two panels, left to right: (history key, title).
_PANELS = (("accuracy", "Accuracy"), ("loss", "Loss"))
_LEARNING_RATE_KEYS = ("learning_rate", "lr")
_LEARNING_RATE_COLOR = "tab:purple"
# The learning-rate axis spans at most this many decades below the highest
# rate, so that a schedule ending at (nearly) 0 does not squash the rest.
_LEARNING_RATE_DECADES = 3


class TrainingHistoryDisplay:
    """Learning curves of a network: accuracy and loss per epoch.

    Two panels side by side, accuracy on the left and loss on the right, each
    with the training curve and, when the fit held out validation data, the
    validation curve. A dashed vertical line marks the epoch whose weights the
    model kept (early stopping restores the best epoch). When the history
    records the learning rate, the loss panel also draws it, one point per
    epoch, as a thin line on a second y-axis on its right: a warm-up over
    several epochs, a cosine decay and a reduction on plateau each show for
    what they are. (The history holds the rate at the end of each epoch, so a
    one-epoch warm-up shows only as a first point at the full rate.)

    The learning-rate axis is logarithmic, so that each reduction by a given
    factor is a step of the same height, and it keeps the rates to the lower
    two thirds of the panel, out of the way of a legend at the top. It spans
    at most three decades below the highest rate: a lower rate, 0 included (a
    cosine schedule may end at exactly 0), runs off the bottom of the panel
    rather than squashing the rest of the curve. A constant rate is a flat
    line. Only when no rate is positive is the axis linear.

    Create it with :meth:`from_estimator`, or from a history dict and call
    :meth:`plot`. All attributes ending in ``_`` are set by :meth:`plot`.

    Parameters
    ----------
    history : dict of list or keras.callbacks.History
        Per-epoch values: ``loss`` and/or ``accuracy``, optionally
        ``val_loss``, ``val_accuracy`` and ``learning_rate`` (or ``lr``), all
        of the same length, such as :attr:`CNNDigitClassifier.history_
        <skdigits.CNNDigitClassifier>`. A Keras ``History`` object is read
        through its ``history`` attribute.
    best_epoch : int, default=None
        The epoch, counting from 1, whose weights the model kept. None draws
        no marker.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure holding the two panels (and the learning-rate axis).
    axes_ : ndarray of matplotlib.axes.Axes of shape (2,)
        The accuracy panel and the loss panel.
    lines_ : dict of str to matplotlib.lines.Line2D
        The curves, keyed by history key (``"accuracy"``, ``"val_accuracy"``,
        ``"loss"``, ``"val_loss"``); only the keys present in ``history``.
    best_epoch_lines_ : list of matplotlib.lines.Line2D or None
        The best-epoch marker of each panel, or None without ``best_epoch``.
    learning_rate_line_ : matplotlib.lines.Line2D or None
        The learning rate per epoch, on ``learning_rate_axis_``; None when
        ``history`` has no learning rate.
    learning_rate_axis_ : matplotlib.axes.Axes or None
        The learning-rate axis: a twin of the loss panel (``axes_[1]``) that
        shares its x-axis, with its y-axis on the right; None when ``history``
        has no learning rate. The loss panel is drawn above it, so the curves
        and the legend are never hidden by the learning rate.

    See Also
    --------
    SamplePredictionsDisplay : Digit images with their predicted labels.
    sklearn.metrics.ConfusionMatrixDisplay : The confusion matrix; use
        ``ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test)``.
    sklearn.model_selection.LearningCurveDisplay : Scores against the number
        of training samples (rather than epochs).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import CNNDigitClassifier
    >>> from skdigits.plotting import TrainingHistoryDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNDigitClassifier(filters=(8,), dense_units=16, epochs=2,
    ...                          validation_split=0.1,
    ...                          random_state=0).fit(X[:300], y[:300])
    >>> display = TrainingHistoryDisplay.from_estimator(clf)
    >>> len(display.axes_)
    2
    >>> sorted(display.lines_)
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    >>> display.best_epoch_lines_[0].get_xdata()[0] == clf.best_epoch_
    True
    >>> rates = display.learning_rate_line_.get_ydata()
    >>> bool(np.allclose(rates, clf.history_["learning_rate"]))
    True
    >>> display.learning_rate_axis_.get_ylabel()
    'learning rate'

    From a history of your own, without validation data: a rate halved at
    the third epoch, on a log axis.

    >>> history = {"loss": [1.2, 0.7, 0.5], "accuracy": [0.6, 0.8, 0.9],
    ...            "learning_rate": [1e-3, 1e-3, 5e-4]}
    >>> display = TrainingHistoryDisplay(history, best_epoch=3).plot()
    >>> display.learning_rate_line_.get_ydata().tolist()
    [0.001, 0.001, 0.0005]
    >>> display.learning_rate_axis_.get_yscale()
    'log'
    >>> [t.get_text() for t in display.axes_[1].get_legend().get_texts()]
    ['training', 'weights kept (epoch 3)', 'learning rate']

    Without a learning rate in the history, none is drawn:

    >>> display = TrainingHistoryDisplay({"loss": [1.2, 0.7]}).plot()
    >>> display.learning_rate_line_ is None and display.learning_rate_axis_ is None
    True
    """

    def __init__(self, history, *, best_epoch=None):
        self.history = history
        self.best_epoch = best_epoch

    @classmethod
    def from_estimator(cls, estimator, *, ax=None):
        """Plot the learning curves of a fitted network.

        Parameters
        ----------
        estimator : CNNDigitClassifier
            A fitted estimator with ``history_`` (and, optionally,
            ``best_epoch_``), such as :class:`~skdigits.CNNDigitClassifier`.
        ax : sequence of 2 matplotlib Axes, default=None
            The accuracy and loss panels to draw on, e.g. the ``axes`` of
            ``plt.subplots(1, 2)``. None makes a new figure.

        Returns
        -------
        display : TrainingHistoryDisplay
            The display, with the figure drawn.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the estimator has not been fitted.
        """
        check_is_fitted(estimator, "history_")
        display = cls(
            estimator.history_, best_epoch=getattr(estimator, "best_epoch_", None)
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the learning curves.

        Parameters
        ----------
        ax : sequence of 2 matplotlib Axes, default=None
            The accuracy and loss panels to draw on, e.g. the ``axes`` of
            ``plt.subplots(1, 2)``. None makes a new figure with two panels
            side by side.

        Returns
        -------
        display : TrainingHistoryDisplay
            The display, with ``figure_``, ``axes_`` and the artists set.
        """
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes
        from matplotlib.ticker import MaxNLocator

        history = _check_history(self.history)
        n_epochs = len(next(iter(history.values())))
        epochs = np.arange(1, n_epochs + 1)
        best_epoch = _check_best_epoch(self.best_epoch, n_epochs)

        if ax is None:
            fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
        else:
            axes = np.asarray(ax, dtype=object).ravel()
            if len(axes) != 2 or not all(isinstance(a, Axes) for a in axes):
                raise ValueError(
                    "ax must be a sequence of 2 matplotlib Axes (the accuracy "
                    f"and the loss panel), got {ax!r}"
                )
            fig = axes[0].figure

        self.lines_ = {}
        self.best_epoch_lines_ = [] if best_epoch is not None else None
        self.learning_rate_line_ = self.learning_rate_axis_ = None
        rates = _learning_rates(history)
        for panel, (key, title) in zip(axes, _PANELS, strict=True):
            for prefix, label, style in (
                ("", "training", {"color": "C0", "marker": "o"}),
                ("val_", "validation", {"color": "C1", "marker": "s"}),
            ):
                if prefix + key in history:
                    (self.lines_[prefix + key],) = panel.plot(
                        epochs,
                        history[prefix + key],
                        label=label,
                        markersize=4,
                        **style,
                    )
            if best_epoch is not None:
                self.best_epoch_lines_.append(
                    panel.axvline(
                        best_epoch,
                        color="0.3",
                        linestyle="--",
                        linewidth=1,
                        label=f"weights kept (epoch {best_epoch})",
                    )
                )
            panel.set_title(title)
            panel.set_xlabel("Epoch")
            panel.set_ylabel(key)
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
            panel.grid(alpha=0.3)
            handles, labels = panel.get_legend_handles_labels()
            if key == "loss" and rates is not None:
                self._plot_learning_rate(panel, epochs, rates)
                handles.append(self.learning_rate_line_)
                labels.append(self.learning_rate_line_.get_label())
            if handles:
                panel.legend(handles, labels, fontsize="small")

        self.figure_ = fig
        self.axes_ = np.asarray(axes, dtype=object)
        return self

    def _plot_learning_rate(self, panel, epochs, rates):
        """Draw the rates on a twin of ``panel``, with its y-axis on the right."""
        axis = panel.twinx()
        (line,) = axis.plot(
            epochs,
            rates,
            color=_LEARNING_RATE_COLOR,
            linewidth=1.2,
            marker=".",
            markersize=4,
            label="learning rate",
        )
        limits = _learning_rate_limits(rates)
        if limits is not None:
            axis.set_yscale("log")
            axis.set_ylim(*limits)
        axis.set_ylabel("learning rate", color=_LEARNING_RATE_COLOR)
        axis.tick_params(axis="y", which="both", colors=_LEARNING_RATE_COLOR)
        # The panel above its twin, so that the curves and the legend are
        # drawn over the learning rate; the twin takes over the background.
        axis.set_zorder(panel.get_zorder())
        panel.set_zorder(axis.get_zorder() + 1)
        axis.set_facecolor(panel.get_facecolor())
        axis.patch.set_visible(panel.patch.get_visible())
        panel.patch.set_visible(False)
        self.learning_rate_line_ = line
        self.learning_rate_axis_ = axis


def _check_history(history):
    """The history as a dict of equal-length float arrays, checked."""
    history = getattr(history, "history", history)  # keras.callbacks.History
    if not hasattr(history, "items"):
        raise TypeError(
            "history must be a dict of per-epoch lists, such as "
            f"CNNDigitClassifier.history_, got {type(history).__name__}"
        )
    history = {k: np.asarray(v, dtype=float).ravel() for k, v in history.items()}
    if not any(key in history for key, _ in _PANELS):
        raise ValueError(
            "history must hold 'loss' or 'accuracy' per epoch, got keys "
            f"{sorted(history)}"
        )
    lengths = {len(v) for v in history.values()}
    if len(lengths) != 1:
        raise ValueError(
            "every list in history must have one value per epoch, got lengths "
            f"{ {k: len(v) for k, v in history.items()} }"
        )
    if lengths == {0}:
        raise ValueError("history holds no epochs")
    return history


def _check_best_epoch(best_epoch, n_epochs):
    if best_epoch is None:
        return None
    if (
        isinstance(best_epoch, bool)
        or not isinstance(best_epoch, (int, np.integer))
        or not 1 <= best_epoch <= n_epochs
    ):
        raise ValueError(
            f"best_epoch must be an int from 1 to the number of epochs "
            f"({n_epochs}), got {best_epoch!r}"
        )
    return int(best_epoch)


def _learning_rates(history):
    """The history's learning rate per epoch, or None if it records none."""
    for key in _LEARNING_RATE_KEYS:
        if key in history:
            return history[key]
    return None


def _learning_rate_limits(rates):
    """Log-scale y-limits for ``rates``, or None if no rate is positive.

    The positive rates, at most ``_LEARNING_RATE_DECADES`` decades of them
    below the highest, are centred in the lower 70 % of the axis and fill at
    most 65 % of it, so that a legend "best" placed at the top (where a
    falling loss leaves room) hides none of them. A constant rate, or rates
    within a decade, are shown in a window of one decade.
    """
    positive = rates[np.isfinite(rates) & (rates > 0)]
    if not len(positive):
        return None
    high = np.log10(positive.max())
    low = max(np.log10(positive.min()), high - _LEARNING_RATE_DECADES)
    span = high - low
    window = max(span / 0.65, 1.0)
    bottom = low - (0.7 * window - span) / 2
    return 10**bottom, 10 ** (bottom + window)

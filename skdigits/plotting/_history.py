"""Learning curves: accuracy and loss per epoch, as the network trained."""

import numpy as np
from sklearn.utils.validation import check_is_fitted

# The two panels, left to right: (history key, title).
_PANELS = (("accuracy", "Accuracy"), ("loss", "Loss"))
_LEARNING_RATE_KEYS = ("learning_rate", "lr")


class TrainingHistoryDisplay:
    """Learning curves of a network: accuracy and loss per epoch.

    Two panels side by side, accuracy on the left and loss on the right, each
    with the training curve and, when the fit held out validation data, the
    validation curve. A dashed vertical line marks the epoch whose weights the
    model kept (early stopping restores the best epoch), and dotted vertical
    lines mark where the learning rate was reduced (on plateau): each is drawn
    half an epoch before the first epoch trained at the lower rate, between it
    and the last epoch at the higher rate, so it never hides the best-epoch
    line.

    Create it with :meth:`from_estimator`, or from a history dict and call
    :meth:`plot`. All attributes ending in ``_`` are set by :meth:`plot`.

    Parameters
    ----------
    history : dict of list or keras.callbacks.History
        Per-epoch values: ``loss`` and/or ``accuracy``, optionally
        ``val_loss``, ``val_accuracy`` and ``learning_rate``, all of the same
        length, such as :attr:`CNNDigitClassifier.history_
        <skdigits.CNNDigitClassifier>`. A Keras ``History`` object is read
        through its ``history`` attribute.
    best_epoch : int, default=None
        The epoch, counting from 1, whose weights the model kept. None draws
        no marker.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure holding the two panels.
    axes_ : ndarray of matplotlib.axes.Axes of shape (2,)
        The accuracy panel and the loss panel.
    lines_ : dict of str to matplotlib.lines.Line2D
        The curves, keyed by history key (``"accuracy"``, ``"val_accuracy"``,
        ``"loss"``, ``"val_loss"``); only the keys present in ``history``.
    best_epoch_lines_ : list of matplotlib.lines.Line2D or None
        The best-epoch marker of each panel, or None without ``best_epoch``.
    lr_reduction_epochs_ : ndarray of int
        The epochs, counting from 1, trained at a lower learning rate than
        the epoch before; empty when ``history`` has no learning rate.
    lr_reduction_lines_ : list of matplotlib.collections.LineCollection or None
        The learning-rate reduction markers of each panel, one vertical line
        per reduction at ``lr_reduction_epochs_ - 0.5``, or None when the
        learning rate never dropped.

    See Also
    --------
    SamplePredictionsDisplay : Digit images with their predicted labels.
    sklearn.metrics.ConfusionMatrixDisplay : The confusion matrix; use
        ``ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test)``.
    sklearn.model_selection.LearningCurveDisplay : Scores against the number
        of training samples (rather than epochs).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import CNNDigitClassifier
    >>> from skdigits.plotting import TrainingHistoryDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNDigitClassifier(filters=(8,), dense_units=16, epochs=2,
    ...                          random_state=0).fit(X[:300], y[:300])
    >>> display = TrainingHistoryDisplay.from_estimator(clf)
    >>> len(display.axes_)
    2
    >>> sorted(display.lines_)
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    >>> display.best_epoch_lines_[0].get_xdata()[0] == clf.best_epoch_
    True

    From a history of your own, without validation data:

    >>> history = {"loss": [1.2, 0.7, 0.5], "accuracy": [0.6, 0.8, 0.9],
    ...            "learning_rate": [1e-3, 1e-3, 5e-4]}
    >>> display = TrainingHistoryDisplay(history, best_epoch=3).plot()
    >>> display.lr_reduction_epochs_
    array([3])
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

        self.lr_reduction_epochs_ = _lr_reduction_epochs(history)
        self.lines_ = {}
        self.best_epoch_lines_ = [] if best_epoch is not None else None
        self.lr_reduction_lines_ = [] if len(self.lr_reduction_epochs_) else None
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
            if self.lr_reduction_lines_ is not None:
                self.lr_reduction_lines_.append(
                    panel.vlines(
                        self.lr_reduction_epochs_ - 0.5,
                        0,
                        1,
                        transform=panel.get_xaxis_transform(),
                        colors="tab:purple",
                        linestyles=":",
                        linewidth=1.5,
                        label="learning rate reduced",
                    )
                )
            panel.set_title(title)
            panel.set_xlabel("Epoch")
            panel.set_ylabel(key)
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
            panel.grid(alpha=0.3)
            if panel.get_legend_handles_labels()[0]:
                panel.legend(fontsize="small")

        self.figure_ = fig
        self.axes_ = np.asarray(axes, dtype=object)
        return self


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


def _lr_reduction_epochs(history):
    """Epochs (from 1) whose learning rate is lower than the previous epoch's."""
    for key in _LEARNING_RATE_KEYS:
        if key in history:
            rates = history[key]
            return np.flatnonzero(rates[1:] < rates[:-1]) + 2
    return np.array([], dtype=int)

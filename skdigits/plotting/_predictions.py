"""Sample predictions: digit images titled with their predicted labels."""

import math
import numbers

import numpy as np
from sklearn.utils import check_consistent_length, check_random_state
from sklearn.utils.validation import check_is_fitted

_RIGHT_COLOR = "tab:green"
_WRONG_COLOR = "tab:red"


class SamplePredictionsDisplay:
    """A grid of digit images, each titled with its predicted and true label.

    Each image is titled ``"pred 7 (true 3)"``, followed by the probability
    the classifier gave its prediction when known; the title is green when the
    prediction is right and red when it is wrong. With ``mistakes_only=True``
    the constructors show the most confident mistakes instead: the wrong
    predictions only, the highest predicted probability first.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`, or from
    images and labels and call :meth:`plot`. All attributes ending in ``_``
    are set by :meth:`plot`.

    Parameters
    ----------
    images : array-like of shape (n_images, height, width) or \
            (n_images, height, width, channels)
        The images; one channel is shown in grey, three or four as colour.
    y_true : array-like of shape (n_images,)
        The true labels.
    y_pred : array-like of shape (n_images,)
        The predicted labels.
    proba : array-like of shape (n_images,), default=None
        The probability the classifier gave each predicted label, shown in
        the titles. None shows no probability.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure holding the grid.
    axes_ : ndarray of matplotlib.axes.Axes
        The grid, of shape (n_rows, n_cols) when :meth:`plot` made it, else
        the shape of the ``ax`` given. Axes left over after the last image
        are blank.
    images_ : list of matplotlib.image.AxesImage
        The images drawn, in the order of ``images``.
    texts_ : list of matplotlib.text.Text
        The title of each image; ``text.get_color()`` is ``"tab:green"``
        for a right prediction and ``"tab:red"`` for a wrong one.
    correct_ : ndarray of bool of shape (n_images,)
        Whether each prediction is right.
    message_ : matplotlib.text.Text or None
        With no images (no mistakes to show), the message drawn in place of
        the grid, such as ``"No mistakes: all 100 predictions are
        correct."``; else None.

    See Also
    --------
    TrainingHistoryDisplay : Learning curves of the network.
    sklearn.metrics.ConfusionMatrixDisplay : The confusion matrix; use
        ``ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test)``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdigits import CNNDigitClassifier
    >>> from skdigits.plotting import SamplePredictionsDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = CNNDigitClassifier(filters=(8,), dense_units=16, epochs=2,
    ...                          random_state=0).fit(X[:300], y[:300])
    >>> display = SamplePredictionsDisplay.from_estimator(
    ...     clf, X[300:400], y[300:400], n_images=9)
    >>> display.axes_.shape
    (3, 3)
    >>> display.texts_[0].get_color() in ("tab:green", "tab:red")
    True

    The most confident mistakes, the highest probability first:

    >>> mistakes = SamplePredictionsDisplay.from_estimator(
    ...     clf, X[300:400], y[300:400], n_images=6, mistakes_only=True)
    >>> bool(mistakes.correct_.any())
    False
    >>> bool((mistakes.proba[:-1] >= mistakes.proba[1:]).all())
    True

    From labels you already have (flat rows of 64 values are read as 8x8):

    >>> display = SamplePredictionsDisplay.from_predictions(
    ...     X[:4], y[:4], [0, 1, 2, 8], proba=[0.9, 0.8, 0.7, 0.6])
    >>> [text.get_color() for text in display.texts_]
    ['tab:green', 'tab:green', 'tab:green', 'tab:red']
    """

    def __init__(self, images, y_true, y_pred, *, proba=None):
        self.images = images
        self.y_true = y_true
        self.y_pred = y_pred
        self.proba = proba

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        n_images=25,
        mistakes_only=False,
        random_state=None,
        ax=None,
        n_cols=None,
        cmap="gray",
    ):
        """Plot images with the labels a fitted classifier predicts for them.

        Parameters
        ----------
        estimator : classifier
            A fitted classifier, such as :class:`~skdigits.CNNDigitClassifier`.
            Its ``image_shape_``, when it has one, gives the shape of the
            images in flat rows of ``X``. With ``predict_proba``, the titles
            show the probability of each predicted label.
        X : array-like of shape (n_samples, n_features), \
                (n_samples, height, width) or (n_samples, height, width, channels)
            Images, in any layout the estimator accepts.
        y : array-like of shape (n_samples,)
            True labels.
        n_images : int, default=25
            The most images to show.
        mistakes_only : bool, default=False
            Show the most confident mistakes: only the wrong predictions,
            sorted by the probability of the predicted label, highest first
            (in data order for a classifier without ``predict_proba``). When
            there are none, the figure says so in place of the grid.
        random_state : int, RandomState instance or None, default=None
            Which images to show when ``mistakes_only=False``: None shows the
            first ``n_images``; otherwise ``n_images`` are drawn at random,
            without replacement, and shown in data order. Ignored with
            ``mistakes_only=True``.
        ax : array-like of matplotlib Axes, default=None
            One Axes per image, e.g. the ``axes`` of ``plt.subplots(3, 3)``,
            filled row by row; extra Axes are left blank. None makes a new
            figure.
        n_cols : int, default=None
            Columns of the grid made when ``ax`` is None; default the
            ceiling of the square root of the number of images.
        cmap : str or matplotlib.colors.Colormap, default="gray"
            Colormap of one-channel images.

        Returns
        -------
        display : SamplePredictionsDisplay
            The display, with the figure drawn.
        """
        check_is_fitted(estimator)
        X, y = _check_X_y(X, y)
        if mistakes_only:
            y_pred, proba = _predict(estimator, X)
            indices = _most_confident_mistakes(y, y_pred, proba, n_images)
            y_pred = y_pred[indices]
            proba = None if proba is None else proba[indices]
        else:
            indices = _sample(len(y), n_images, random_state)
            y_pred, proba = _predict(estimator, X[indices])
        images = _as_images(X[indices], getattr(estimator, "image_shape_", None))
        display = cls(images, y[indices], y_pred, proba=proba)
        if mistakes_only and not len(indices):
            display._empty_message = _no_mistakes_message(len(y))
        return display.plot(ax=ax, n_cols=n_cols, cmap=cmap)

    @classmethod
    def from_predictions(
        cls,
        X,
        y_true,
        y_pred,
        *,
        proba=None,
        image_shape=None,
        n_images=25,
        mistakes_only=False,
        random_state=None,
        ax=None,
        n_cols=None,
        cmap="gray",
    ):
        """Plot images with given true and predicted labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), \
                (n_samples, height, width) or (n_samples, height, width, channels)
            Images. Flat rows are reshaped to ``image_shape``.
        y_true : array-like of shape (n_samples,)
            True labels.
        y_pred : array-like of shape (n_samples,)
            Predicted labels.
        proba : array-like of shape (n_samples,) or (n_samples, n_classes), \
                default=None
            The probability of each predicted label, or the output of
            ``predict_proba`` (its largest value in each row is used, the
            probability of the predicted label when ``y_pred`` is its argmax).
            None shows no probability.
        image_shape : tuple of int, default=None
            ``(height, width)`` or ``(height, width, channels)`` of flat rows
            of ``X``. None reads a row of ``k`` values as a square image of
            side ``sqrt(k)`` when ``k`` is a perfect square, else as a
            ``1 x k`` strip.
        n_images : int, default=25
            The most images to show.
        mistakes_only : bool, default=False
            Show the most confident mistakes: only the wrong predictions,
            sorted by ``proba``, highest first (in data order without
            ``proba``). When there are none, the figure says so in place of
            the grid.
        random_state : int, RandomState instance or None, default=None
            Which images to show when ``mistakes_only=False``: None shows the
            first ``n_images``; otherwise ``n_images`` are drawn at random,
            without replacement, and shown in data order. Ignored with
            ``mistakes_only=True``.
        ax : array-like of matplotlib Axes, default=None
            One Axes per image, filled row by row; extra Axes are left
            blank. None makes a new figure.
        n_cols : int, default=None
            Columns of the grid made when ``ax`` is None; default the
            ceiling of the square root of the number of images.
        cmap : str or matplotlib.colors.Colormap, default="gray"
            Colormap of one-channel images.

        Returns
        -------
        display : SamplePredictionsDisplay
            The display, with the figure drawn.
        """
        X, y_true = _check_X_y(X, y_true)
        y_pred = np.asarray(y_pred)
        check_consistent_length(y_true, y_pred)
        if proba is not None:
            proba = np.asarray(proba, dtype=float)
            if proba.ndim == 2:
                proba = proba.max(axis=1)
            check_consistent_length(y_true, proba)
        if mistakes_only:
            indices = _most_confident_mistakes(y_true, y_pred, proba, n_images)
        else:
            indices = _sample(len(y_true), n_images, random_state)
        display = cls(
            _as_images(X[indices], image_shape),
            y_true[indices],
            y_pred[indices],
            proba=None if proba is None else proba[indices],
        )
        if mistakes_only and not len(indices):
            display._empty_message = _no_mistakes_message(len(y_true))
        return display.plot(ax=ax, n_cols=n_cols, cmap=cmap)

    def plot(self, ax=None, *, n_cols=None, cmap="gray"):
        """Draw the grid of images.

        Parameters
        ----------
        ax : array-like of matplotlib Axes, default=None
            One Axes per image, e.g. the ``axes`` of ``plt.subplots(3, 3)``,
            filled row by row; extra Axes are left blank. None makes a new
            figure.
        n_cols : int, default=None
            Columns of the grid made when ``ax`` is None; default the
            ceiling of the square root of the number of images.
        cmap : str or matplotlib.colors.Colormap, default="gray"
            Colormap of one-channel images.

        Returns
        -------
        display : SamplePredictionsDisplay
            The display, with ``figure_``, ``axes_`` and the artists set.
        """
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes

        images = _as_images(self.images)
        y_true = np.asarray(self.y_true)
        y_pred = np.asarray(self.y_pred)
        proba = None if self.proba is None else np.asarray(self.proba, dtype=float)
        check_consistent_length(images, y_true, y_pred)
        if proba is not None:
            check_consistent_length(images, proba)
        n_images = len(images)

        if ax is None:
            if n_cols is None:
                n_cols = max(1, math.ceil(math.sqrt(n_images)))
            elif not _is_positive_int(n_cols):
                raise ValueError(f"n_cols must be a positive int, got {n_cols!r}")
            n_rows = max(1, math.ceil(n_images / n_cols))
            fig, axes = plt.subplots(
                n_rows,
                n_cols,
                figsize=(1.5 * n_cols + 0.2, 1.8 * n_rows + 0.2),
                squeeze=False,
                layout="constrained",
            )
            if n_images == 0:
                fig.set_size_inches(4.5, 1.5)
        else:
            axes = np.asarray(ax, dtype=object)
            if axes.ndim == 0:  # a single Axes
                axes = axes.reshape(1)
            flat = axes.ravel()
            if not len(flat) or not all(isinstance(a, Axes) for a in flat):
                raise ValueError(
                    f"ax must be a matplotlib Axes or an array of them, got {ax!r}"
                )
            if len(flat) < n_images:
                raise ValueError(
                    f"ax has {len(flat)} Axes for {n_images} images; give one "
                    "Axes per image"
                )
            fig = flat[0].figure

        self.correct_ = y_true == y_pred
        self.images_ = []
        self.texts_ = []
        self.message_ = None
        for i, panel in enumerate(axes.ravel()):
            panel.set_axis_off()
            if i >= n_images:
                continue
            self.images_.append(panel.imshow(images[i], cmap=cmap))
            title = f"pred {y_pred[i]} (true {y_true[i]})"
            if proba is not None:
                title += f"\n{proba[i]:.0%}"
            color = _RIGHT_COLOR if self.correct_[i] else _WRONG_COLOR
            self.texts_.append(panel.set_title(title, color=color, fontsize=9))
        if n_images == 0:
            message = getattr(self, "_empty_message", "No images to show.")
            self.message_ = axes.ravel()[0].text(
                0.5, 0.5, message, ha="center", va="center", wrap=True
            )

        self.figure_ = fig
        self.axes_ = axes
        return self


def _check_X_y(X, y):
    X = np.asarray(X)
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-dimensional, got shape {y.shape}")
    check_consistent_length(X, y)
    return X, y


def _is_positive_int(value):
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and value >= 1
    )


def _check_n_images(n_images):
    if not _is_positive_int(n_images):
        raise ValueError(f"n_images must be a positive int, got {n_images!r}")


def _sample(n_samples, n_images, random_state):
    """Indices of the images to show: the first ones, or a random subset."""
    _check_n_images(n_images)
    n_images = min(n_images, n_samples)
    if random_state is None:
        return np.arange(n_images)
    rng = check_random_state(random_state)
    return np.sort(rng.choice(n_samples, size=n_images, replace=False))


def _most_confident_mistakes(y_true, y_pred, proba, n_images):
    """Indices of the wrong predictions, highest probability first."""
    _check_n_images(n_images)
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))
    if proba is not None:
        wrong = wrong[np.argsort(-proba[wrong], kind="stable")]
    return wrong[:n_images]


def _no_mistakes_message(n_samples):
    return f"No mistakes: all {n_samples} predictions are correct."


def _predict(estimator, X):
    """Predicted labels and, when available, the probability of each."""
    y_pred = np.asarray(estimator.predict(X))
    if not hasattr(estimator, "predict_proba") or not len(y_pred):
        return y_pred, None
    proba = np.asarray(estimator.predict_proba(X))
    columns = np.searchsorted(estimator.classes_, y_pred)
    return y_pred, proba[np.arange(len(y_pred)), columns]


def _as_images(X, image_shape=None):
    """Images of shape (n, height, width) or (n, height, width, 3 or 4)."""
    X = np.asarray(X)
    if X.ndim == 2:
        n_features = X.shape[1]
        if image_shape is None:
            side = math.isqrt(n_features)
            image_shape = (side, side) if side * side == n_features else (1, n_features)
        image_shape = tuple(int(d) for d in image_shape)
        if math.prod(image_shape) != n_features:
            raise ValueError(
                f"image_shape {image_shape} does not hold the {n_features} "
                "values of each row of X"
            )
        X = X.reshape(len(X), *image_shape)
    if X.ndim == 4 and X.shape[-1] == 1:
        X = X[..., 0]
    if X.ndim == 3 or (X.ndim == 4 and X.shape[-1] in (3, 4)):
        return X
    raise ValueError(
        "images must be flat rows, (n, height, width) or (n, height, width, "
        f"channels) with 1, 3 or 4 channels; got shape {X.shape}"
    )

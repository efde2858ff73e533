"""A field image with the digits read from it boxed and labelled."""

import numpy as np

_CONFIDENT_COLOR = "tab:green"
_REJECTED_COLOR = "tab:red"


class FieldReadingDisplay:
    """A field image with a box and a label on each digit read from it.

    Each digit's box is drawn on the image with its label and probability
    above it, in green when the digit is confident and in red when it is
    rejected (its probability is below the reading's ``reject_threshold``).
    The title is the text read. A rejected digit's label also shows its
    probability.

    Create it with :meth:`from_estimator` (reads the image) or
    :meth:`from_reading` (a reading you already have), or from an image and
    a reading and call :meth:`plot`. All attributes ending in ``_`` are set
    by :meth:`plot`.

    Parameters
    ----------
    image : array-like of shape (height, width) or (height, width, channels)
        The field image the reading was made from.
    reading : FieldReading
        What :func:`~skdigits.read_digits` read from it.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
        The figure.
    ax_ : matplotlib.axes.Axes
        The Axes holding the image.
    image_ : matplotlib.image.AxesImage
        The image drawn.
    boxes_ : list of matplotlib.patches.Rectangle
        The box of each digit, left to right; ``get_edgecolor()`` is green
        for a confident digit and red for a rejected one.
    texts_ : list of matplotlib.text.Text
        The label of each digit, coloured as its box.
    title_ : matplotlib.text.Text
        The title: the text read, or ``"(no digits)"``, followed by the
        number of rejected digits when there are any.

    See Also
    --------
    skdigits.read_digits : Read the digits of form fields.
    SamplePredictionsDisplay : Single digits with their predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from skdigits.plotting import FieldReadingDisplay
    >>> from skdigits.reading import FieldReading
    >>> image = np.full((40, 60), 255, dtype=np.uint8)
    >>> image[8:32, 10:14] = 0
    >>> image[8:32, 30:46] = 0
    >>> reading = FieldReading(
    ...     text="17", labels=np.array([1, 7]),
    ...     proba=np.eye(10)[[1, 7]] * [[0.99], [0.6]],
    ...     confidence=np.array([0.99, 0.6]),
    ...     boxes=np.array([[10, 8, 14, 32], [30, 8, 46, 32]]),
    ...     rejected=np.array([False, True]), classes=np.arange(10))
    >>> display = FieldReadingDisplay.from_reading(image, reading)
    >>> from matplotlib.colors import to_rgba
    >>> [box.get_edgecolor() == to_rgba("tab:green") for box in display.boxes_]
    [True, False]
    >>> display.title_.get_text()
    '17   (1 not sure)'
    """

    def __init__(self, image, reading):
        self.image = image
        self.reading = reading

    @classmethod
    def from_estimator(
        cls,
        estimator,
        image,
        *,
        reject_threshold=None,
        polarity="auto",
        verifier="auto",
        ax=None,
        cmap="gray",
    ):
        """Read a field image with a classifier and draw what was read.

        Parameters
        ----------
        estimator : classifier or None
            A fitted classifier, as ``classifier`` of
            :func:`~skdigits.read_digits`; None uses the model that ships
            with skdigits.
        image : str, path-like or array-like
            One field image: a file, or a grey or colour array.
        reject_threshold : float, default=None
            Digits below this probability are rejected (red); None uses
            :func:`~skdigits.read_digits`' default.
        polarity : {"auto", "dark_on_light", "light_on_dark"}, default="auto"
            Colours of ink and paper.
        verifier : "auto", estimator or None, default="auto"
            The segmentation verifier, as for :func:`~skdigits.read_digits`.
        ax : matplotlib Axes, default=None
            The Axes to draw on; None makes a new figure.
        cmap : str or matplotlib.colors.Colormap, default="gray"
            Colormap of a grey image.

        Returns
        -------
        display : FieldReadingDisplay
            The display, with the figure drawn.
        """
        from ..reading import read_digits
        from ..reading._read import DEFAULT_MAX_PIXELS, _as_list, _load

        single, items = _as_list(image)
        if not single:
            raise ValueError(
                "FieldReadingDisplay shows one field image; got a list of "
                f"{len(items)}: make one display per image."
            )
        array = _load(items[0], 0, DEFAULT_MAX_PIXELS)
        options = (
            {} if reject_threshold is None else {"reject_threshold": reject_threshold}
        )
        reading = read_digits(
            array,
            classifier=estimator,
            polarity=polarity,
            verifier=verifier,
            **options,
        )
        return cls(array, reading).plot(ax=ax, cmap=cmap)

    @classmethod
    def from_reading(cls, image, reading, *, ax=None, cmap="gray"):
        """Draw a reading on the image it was read from.

        Parameters
        ----------
        image : array-like of shape (height, width) or (height, width, channels)
            The field image.
        reading : FieldReading
            What :func:`~skdigits.read_digits` read from it.
        ax : matplotlib Axes, default=None
            The Axes to draw on; None makes a new figure.
        cmap : str or matplotlib.colors.Colormap, default="gray"
            Colormap of a grey image.

        Returns
        -------
        display : FieldReadingDisplay
            The display, with the figure drawn.
        """
        return cls(image, reading).plot(ax=ax, cmap=cmap)

    def plot(self, ax=None, *, cmap="gray"):
        """Draw the image, the boxes and the labels.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            The Axes to draw on; None makes a new figure sized to the image.
        cmap : str or matplotlib.colors.Colormap, default="gray"
            Colormap of a grey image.

        Returns
        -------
        display : FieldReadingDisplay
            The display, with ``figure_``, ``ax_`` and the artists set.
        """
        import matplotlib.pyplot as plt
        from matplotlib.axes import Axes
        from matplotlib.patches import Rectangle

        image = np.asarray(self.image)
        if image.ndim == 3 and image.shape[2] == 1:
            image = image[..., 0]
        if image.ndim not in (2, 3):
            raise ValueError(
                "image must be 2-D or (height, width, channels); got shape "
                f"{image.shape}"
            )
        reading = self.reading
        boxes = np.asarray(reading.boxes).reshape(-1, 4)
        if ax is None:
            height, width = image.shape[:2]
            scale = min(10 / width, 4 / height, 0.08)
            fig, ax = plt.subplots(
                figsize=(max(2.5, width * scale), max(1.2, height * scale + 0.5)),
                layout="constrained",
            )
        elif not isinstance(ax, Axes):
            raise ValueError(f"ax must be a matplotlib Axes, got {ax!r}")
        else:
            fig = ax.figure

        if image.ndim == 2:
            self.image_ = ax.imshow(
                image, cmap=cmap, vmin=_low(image), vmax=_high(image)
            )
        else:
            self.image_ = ax.imshow(image)
        ax.set_axis_off()
        self.boxes_, self.texts_ = [], []
        for box, label, p, rejected in zip(
            boxes, reading.labels, reading.confidence, reading.rejected, strict=True
        ):
            x0, y0, x1, y1 = (int(v) for v in box)
            color = _REJECTED_COLOR if rejected else _CONFIDENT_COLOR
            # Pixel edges: pixel i spans i - 0.5 to i + 0.5 in imshow's axes.
            patch = Rectangle(
                (x0 - 0.5, y0 - 0.5),
                x1 - x0,
                y1 - y0,
                fill=False,
                edgecolor=color,
                linewidth=1.5,
            )
            ax.add_patch(patch)
            self.boxes_.append(patch)
            self.texts_.append(
                ax.text(
                    (x0 + x1 - 1) / 2,
                    y0 - 1.5,
                    f"{label}\n{p:.0%}" if rejected else str(label),
                    color=color,
                    ha="center",
                    va="bottom",
                    fontsize=9,
                    fontweight="bold",
                    clip_on=False,
                )
            )
        title = reading.text or "(no digits)"
        if reading.any_rejected:
            title += f"   ({int(np.sum(reading.rejected))} not sure)"
        self.title_ = ax.set_title(title, fontsize=11, pad=14 if len(boxes) else 6)
        self.figure_ = fig
        self.ax_ = ax
        return self


def _low(image):
    return 0 if image.dtype.kind in "biu" else min(0.0, float(image.min()))


def _high(image):
    if image.dtype.kind in "biu":
        return 255 if image.max() <= 255 else int(image.max())
    return 1.0 if image.max() <= 1 else float(image.max())

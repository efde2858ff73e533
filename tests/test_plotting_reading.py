"""FieldReadingDisplay: a field image with the digits read boxed in colour."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from sklearn.base import BaseEstimator, ClassifierMixin  # noqa: E402

from skdigits.plotting import FieldReadingDisplay  # noqa: E402
from skdigits.reading import FieldReading, read_digits  # noqa: E402

GREEN, RED = to_rgba("tab:green"), to_rgba("tab:red")


class _Stub(ClassifierMixin, BaseEstimator):
    """Class 7 with probability 0.95 for thin digits, 0.5 for heavy ones."""

    def __init__(self):
        self.classes_ = np.arange(10)

    def fit(self, X, y=None):
        return self

    def predict_proba(self, X):
        X = np.asarray(X)
        proba = np.full((len(X), 10), 0.05 / 9)
        proba[:, 7] = 0.95
        heavy = (X > 0).sum(axis=1) > 200
        proba[heavy] = 0.5 / 9
        proba[heavy, 7] = 0.5
        return proba


def _field():
    image = np.full((50, 120), 240, dtype=np.uint8)
    image[10:40, 20:24] = 10  # thin: confident
    image[10:40, 60:82] = 10  # a block: heavy, rejected
    return image


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_from_estimator_boxes_confident_green_and_rejected_red():
    # The stub's answers alone decide: no verifier.
    display = FieldReadingDisplay.from_estimator(_Stub(), _field(), verifier=None)
    reading = display.reading
    assert reading.text == "77"
    assert reading.rejected.tolist() == [False, True]
    assert [box.get_edgecolor() for box in display.boxes_] == [GREEN, RED]
    assert [text.get_color() for text in display.texts_] == ["tab:green", "tab:red"]
    assert display.texts_[0].get_text() == "7"
    assert display.texts_[1].get_text() == "7\n50%"
    assert display.title_.get_text() == "77   (1 not sure)"
    # Boxes drawn on the pixels' edges, in the image's coordinates.
    first = display.boxes_[0]
    assert (first.get_x(), first.get_y()) == (19.5, 9.5)
    assert (first.get_width(), first.get_height()) == (4, 30)
    assert display.ax_.figure is display.figure_
    assert display.image_.get_array().shape == (50, 120)


def test_from_estimator_threshold_and_files(tmp_path):
    from PIL import Image

    path = tmp_path / "field.png"
    Image.fromarray(_field()).save(path)
    display = FieldReadingDisplay.from_estimator(
        _Stub(), path, reject_threshold=0.4, verifier=None
    )
    assert [box.get_edgecolor() for box in display.boxes_] == [GREEN, GREEN]
    with pytest.raises(ValueError, match="one field image"):
        FieldReadingDisplay.from_estimator(_Stub(), [path, path])


def test_from_reading_on_given_axes_and_colour_images():
    image = _field()
    reading = read_digits(image, classifier=_Stub(), verifier=None)
    fig, (left, right) = plt.subplots(1, 2)
    display = FieldReadingDisplay.from_reading(
        np.stack([image] * 3, axis=-1), reading, ax=right
    )
    assert display.ax_ is right and display.figure_ is fig
    assert len(display.boxes_) == 2
    assert display.image_.get_array().shape == (50, 120, 3)
    # plot() again draws again, on new Axes.
    again = display.plot()
    assert again.ax_ is not right


def test_an_empty_reading_draws_the_image_alone():
    image = np.full((30, 60), 200, dtype=np.uint8)
    reading = read_digits(image, classifier=_Stub())
    display = FieldReadingDisplay.from_reading(image, reading)
    assert display.boxes_ == [] and display.texts_ == []
    assert display.title_.get_text() == "(no digits)"


def test_plot_checks_its_arguments():
    reading = FieldReading(
        text="",
        labels=np.zeros(0, int),
        proba=np.zeros((0, 10)),
        confidence=np.zeros(0),
        boxes=np.zeros((0, 4), int),
        rejected=np.zeros(0, bool),
        classes=np.arange(10),
    )
    with pytest.raises(ValueError, match="ax must be a matplotlib Axes"):
        FieldReadingDisplay(np.zeros((5, 5)), reading).plot(ax="left")
    with pytest.raises(ValueError, match="image must be 2-D"):
        FieldReadingDisplay(np.zeros(5), reading).plot()

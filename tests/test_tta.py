"""Test-time augmentation: the shifted views and predict_proba's average."""

import numpy as np
import pytest

from skdigits import CNNDigitClassifier
from skdigits._tta import mean_proba, shifted_views


def test_shifted_views_move_the_ink_and_fill_with_zeros():
    image = np.zeros((1, 5, 5, 1), dtype=np.float32)
    image[0, 2, 2, 0] = 1.0  # one ink pixel in the centre
    views = list(shifted_views(image, 1))
    assert len(views) == 5
    ink = [tuple(np.argwhere(view[0, :, :, 0])[0]) for view in views]
    assert ink == [(2, 2), (2, 1), (2, 3), (1, 2), (3, 2)]
    assert all(view.sum() == 1 and view.dtype == image.dtype for view in views)


def test_a_shift_past_the_edge_leaves_a_blank_view():
    image = np.ones((2, 3, 4, 1), dtype=np.float32)
    views = list(shifted_views(image, 4))
    assert views[0] is image
    assert [float(v.sum()) for v in views[1:]] == [0.0, 0.0, 0.0, 0.0]


def test_no_shift_is_the_image_alone():
    image = np.ones((1, 3, 3, 1))
    assert [v is image for v in shifted_views(image, 0)] == [True]


@pytest.mark.parametrize("shift", [0, 1])
@pytest.mark.parametrize("batch_size", [1, 4, 5, 12, 1000])
def test_mean_proba_batches_the_views_and_averages_them(shift, batch_size):
    rng = np.random.RandomState(0)
    images = rng.rand(7, 4, 4, 1).astype(np.float32)
    weights = rng.rand(16, 3)
    calls = []

    def forward(batch):  # a toy network: a fixed linear map of the pixels
        calls.append(len(batch))
        return batch.reshape(len(batch), -1) @ weights

    proba = mean_proba(forward, images, shift, batch_size)
    views = list(shifted_views(images, shift))
    expected = np.mean([v.reshape(7, -1) @ weights for v in views], axis=0)
    np.testing.assert_allclose(proba, expected, rtol=1e-6)
    assert proba.dtype == np.float64 and proba.shape == (7, 3)
    assert max(calls) <= max(batch_size, len(views))  # the cap, or one image's views
    assert sum(calls) == 7 * len(views)  # every view of every image, once
    if batch_size >= 7 * len(views):
        assert calls == [7 * len(views)]  # all of them in one call


@pytest.fixture(scope="module")
def fitted(digits):
    X_train, _, y_train, _ = digits
    return CNNDigitClassifier(
        filters=(16,), dense_units=64, batch_size=32, epochs=10, random_state=0
    ).fit(X_train, y_train)


def test_predict_proba_averages_the_views(fitted, digits):
    X_test = digits[1][:50]
    images = X_test.reshape(-1, 8, 8, 1)
    plain = fitted.predict_proba(X_test)
    expected = np.mean(
        [
            fitted.predict_proba(view.reshape(len(view), -1))
            for view in shifted_views(images, 1)
        ],
        axis=0,
    )
    fitted.set_params(tta_shift=1)
    try:
        averaged = fitted.predict_proba(X_test)
        predicted = fitted.predict(X_test)
    finally:
        fitted.set_params(tta_shift=0)
    np.testing.assert_allclose(averaged, expected, rtol=1e-6)
    np.testing.assert_allclose(averaged.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(averaged, plain)  # the views changed something
    np.testing.assert_array_equal(predicted, fitted.classes_[expected.argmax(1)])
    np.testing.assert_array_equal(fitted.predict_proba(X_test), plain)


@pytest.mark.parametrize(
    "bad, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_bad_tta_shift_is_refused_by_fit_and_predict(fitted, digits, bad, error):
    X_train, X_test, y_train, _ = digits
    before = fitted.predict_proba(X_test)
    fitted.set_params(tta_shift=bad)
    try:
        with pytest.raises(error, match="tta_shift must be an int >= 0"):
            fitted.predict(X_test)
        with pytest.raises(error, match="tta_shift must be an int >= 0"):
            fitted.fit(X_train, y_train)
    finally:
        fitted.set_params(tta_shift=0)
    np.testing.assert_array_equal(fitted.predict_proba(X_test), before)

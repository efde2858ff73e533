"""The network: its padding rule and its compiled forward pass."""

import gc
import weakref

import numpy as np
import pytest

from skdigits._network import (
    AUTO_VALID_MIN_SIDE,
    build_cnn,
    inference_function,
    joint_inference_function,
)

NETWORK = dict(
    n_classes=10,
    input_scale=1.0,
    filters=(4, 8),
    kernel_size=3,
    convs_per_block=2,
    dense_units=8,
    dropout=0.25,
    dense_dropout=0.5,
    batch_norm=False,
    learning_rate=1e-3,
)


def _conv_sides(model):
    return [
        layer.output.shape[1]
        for layer in model.layers
        if type(layer).__name__ == "Conv2D"
    ]


@pytest.mark.parametrize(
    "side, padding, sides",
    [
        (28, "auto", [26, 24, 10, 8]),  # valid: each convolution trims 2
        (28, "valid", [26, 24, 10, 8]),
        (28, "same", [28, 28, 14, 14]),
        (8, "auto", [8, 8, 4, 4]),  # small images keep their edges
        (8, "valid", [6, 4, 2, 2]),  # a 2 x 2 map is padded: too small
        (1, "valid", [1, 1, 1, 1]),  # any size gets through
    ],
)
def test_padding(side, padding, sides):
    model = build_cnn(image_shape=(side, side, 1), padding=padding, **NETWORK)
    assert _conv_sides(model) == sides
    assert model.output.shape == (None, 10)


def test_auto_padding_threshold():
    below, at = AUTO_VALID_MIN_SIDE - 1, AUTO_VALID_MIN_SIDE
    for side, first in [(below, below), (at, at - 2)]:
        model = build_cnn(image_shape=(side, side, 1), padding="auto", **NETWORK)
        assert _conv_sides(model)[0] == first


def _conv_kernels(model):
    return [
        (layer.kernel_size[0], layer.strides[0])
        for layer in model.layers
        if type(layer).__name__ == "Conv2D"
    ]


@pytest.mark.parametrize(
    "kernel_size, convs_per_block, kernels, sides",
    [
        (3, 2, [3, 3, 3, 3], [26, 24, 10, 8]),
        ((5, 3), (1, 2), [5, 3, 3], [24, 10, 8]),  # one 5x5, then two 3x3
        ([3, 5], [2, 1], [3, 3, 5], [26, 24, 8]),
        (3, 1, [3, 3], [26, 11]),
        ("auto", "auto", [5, 3, 3], [24, 10, 8]),  # the default: as (5, 3), (1, 2)
        ("auto", 2, [5, 5, 3, 3], [24, 20, 8, 6]),  # each "auto" alone
        (3, "auto", [3, 3, 3], [26, 11, 9]),
    ],
)
def test_kernel_size_and_convs_per_block_shape_each_block(
    kernel_size, convs_per_block, kernels, sides
):
    params = {**NETWORK, "kernel_size": kernel_size}
    params["convs_per_block"] = convs_per_block
    model = build_cnn(image_shape=(28, 28, 1), **params)
    assert [k for k, _ in _conv_kernels(model)] == kernels
    assert _conv_sides(model) == sides
    pools = [layer.name for layer in model.layers if "pool" in layer.name]
    assert pools == ["block1_pool", "block2_pool"]  # one after every block


@pytest.mark.parametrize(
    "filters, kernels", [((4,), [5]), ((4, 8, 8), [5, 3, 3, 3, 3])]
)
def test_auto_blocks_compose_with_any_number_of_blocks(filters, kernels):
    params = {**NETWORK, "filters": filters, "kernel_size": "auto"}
    params["convs_per_block"] = "auto"
    model = build_cnn(image_shape=(28, 28, 1), **params)
    assert [k for k, _ in _conv_kernels(model)] == kernels


@pytest.fixture(scope="module")
def model():
    return build_cnn(image_shape=(8, 8, 1), padding="same", **NETWORK)


def test_inference_function_equals_the_eager_model(model):
    images = np.random.default_rng(0).random((5, 8, 8, 1), dtype=np.float32)
    forward = inference_function(model)
    expected = np.asarray(model(images, training=False))
    np.testing.assert_allclose(np.asarray(forward(images)), expected, rtol=1e-6)
    # One function per model, traced once for every batch size.
    assert inference_function(model) is forward
    for n in (1, 3, 5):
        assert np.asarray(forward(images[:n])).shape == (n, 10)
    assert forward.experimental_get_tracing_count() == 1


def test_inference_function_sees_new_weights(model):
    images = np.ones((2, 8, 8, 1), dtype=np.float32)
    forward = inference_function(model)
    before = np.asarray(forward(images))
    weights = model.get_weights()
    model.set_weights([w + 0.1 for w in weights])
    try:
        after = np.asarray(forward(images))
        np.testing.assert_allclose(
            after, np.asarray(model(images, training=False)), rtol=1e-6
        )
        assert not np.allclose(before, after)
    finally:
        model.set_weights(weights)


def test_inference_function_does_not_keep_the_model_alive():
    model = build_cnn(image_shape=(8, 8, 1), padding="same", **NETWORK)
    inference_function(model)(np.zeros((1, 8, 8, 1), dtype=np.float32))
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None


def test_many_models_do_not_warn_of_retracing(caplog):
    # As in a search, where one process builds a network for every fit.
    images = np.zeros((1, 8, 8, 1), dtype=np.float32)
    with caplog.at_level("WARNING"):
        for _ in range(7):
            model = build_cnn(image_shape=(8, 8, 1), padding="same", **NETWORK)
            inference_function(model)(images)
    assert "retracing" not in caplog.text


def test_joint_inference_function_runs_every_model_in_one_call(model):
    other = build_cnn(
        image_shape=(8, 8, 1), padding="same", **{**NETWORK, "filters": (2,)}
    )
    images = np.random.default_rng(1).random((4, 8, 8, 1), dtype=np.float32)
    forward = joint_inference_function([model, other])
    first, second = forward(images)
    for output, net in ((first, model), (second, other)):
        np.testing.assert_allclose(
            np.asarray(output), np.asarray(net(images, training=False)), rtol=1e-6
        )
    assert joint_inference_function([model, other]) is forward  # compiled once
    assert joint_inference_function([other, model]) is not forward  # in order
    assert forward.experimental_get_tracing_count() == 1
    wide = build_cnn(image_shape=(12, 8, 1), padding="same", **NETWORK)
    with pytest.raises(ValueError, match="different input shapes"):
        joint_inference_function([model, wide])


def test_joint_inference_function_does_not_keep_the_models_alive():
    first = build_cnn(image_shape=(8, 8, 1), padding="same", **NETWORK)
    other = build_cnn(image_shape=(8, 8, 1), padding="same", **NETWORK)
    joint_inference_function([first, other])(np.zeros((1, 8, 8, 1), np.float32))
    refs = [weakref.ref(first), weakref.ref(other)]
    del first, other
    gc.collect()
    assert [ref() for ref in refs] == [None, None]

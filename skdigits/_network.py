"""The convolutional network: the seed notebook's family, sized by parameters."""

import keras
from keras import layers


def build_cnn(
    *,
    image_shape,
    n_classes,
    input_scale,
    filters,
    kernel_size,
    dense_units,
    dropout,
    dense_dropout,
    batch_norm,
    learning_rate,
    rotation_range=0.0,
    shift_range=0.0,
    zoom_range=0.0,
):
    """Build and compile the digit CNN.

    The network is, for each entry of ``filters``, a block of two convolutions
    (ReLU, ``same`` padding, optional batch normalisation), a 2x2 max-pooling
    and dropout; then a dense ReLU layer with dropout and a softmax output.
    It is compiled with Adam and sparse categorical cross-entropy (the same
    loss as categorical cross-entropy, on integer labels).

    ``same`` padding on convolutions and pooling lets any image size through,
    down to a 1 x 1 image or a 1 x k strip.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width, channels)`` of one input image.
    n_classes : int
        Number of output units.
    input_scale : float
        Inputs are divided by this in the first layer.
    filters : sequence of int
        Filters of the convolutions in each block.
    kernel_size : int
        Side of the square convolution kernels.
    dense_units : int
        Units of the dense layer; 0 leaves it out.
    dropout : float
        Dropout rate after each convolution block.
    dense_dropout : float
        Dropout rate after the dense layer.
    batch_norm : bool
        Whether to normalise each convolution's output before its activation.
    learning_rate : float
        Adam's initial learning rate.
    rotation_range, shift_range, zoom_range : float, default=0.0
        Random augmentation applied to training batches only (Keras' random
        image layers are identity at inference): rotation up to this many
        degrees either way, shift up to this fraction of the height and width,
        zoom in or out by up to this fraction. Uncovered pixels are filled
        with 0, the background of MNIST-form images.

    Returns
    -------
    keras.Model
        The compiled model.
    """
    inputs = keras.Input(shape=tuple(image_shape), name="image")
    x = layers.Rescaling(1.0 / input_scale, name="rescale")(inputs)
    augment = {"fill_mode": "constant", "fill_value": 0.0}
    if rotation_range:
        x = layers.RandomRotation(
            rotation_range / 360.0, name="augment_rotation", **augment
        )(x)
    if shift_range:
        x = layers.RandomTranslation(
            shift_range, shift_range, name="augment_shift", **augment
        )(x)
    if zoom_range:
        x = layers.RandomZoom(zoom_range, zoom_range, name="augment_zoom", **augment)(x)
    for block, n_filters in enumerate(filters, start=1):
        for conv in (1, 2):
            x = layers.Conv2D(
                n_filters,
                kernel_size,
                padding="same",
                use_bias=not batch_norm,
                activation=None if batch_norm else "relu",
                name=f"block{block}_conv{conv}",
            )(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"block{block}_bn{conv}")(x)
                x = layers.Activation("relu", name=f"block{block}_relu{conv}")(x)
        x = layers.MaxPooling2D(2, padding="same", name=f"block{block}_pool")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"block{block}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", name="dense")(x)
        if dense_dropout:
            x = layers.Dropout(dense_dropout, name="dense_dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="softmax")(x)
    model = keras.Model(inputs, outputs, name="cnn_digit_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model

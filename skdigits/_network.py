"""The convolutional network: the seed notebook's family, sized by parameters."""

import weakref

import keras
from keras import layers

from ._precision import keras_policy

# padding="auto": valid convolutions from this image side up. MNIST-form
# digits (28 x 28) lie inside a blank border that valid convolutions may
# trim; in small images such as the 8 x 8 digits the ink reaches the edge,
# and trimming it costs accuracy (measured: 0.92 against 0.96 held out).
AUTO_VALID_MIN_SIDE = 16

# One compiled forward pass per model, dropped with the model.
_inference_functions = weakref.WeakKeyDictionary()
_joint_functions = weakref.WeakKeyDictionary()  # first model: [(others, fn)]


# kernel_size="auto" and convs_per_block="auto": the first block one 5 x 5
# convolution, every other block two 3 x 3 ones. On MNIST, with the wide
# network, it reaches the accuracy of two 3 x 3 convolutions in the first
# block at half the arithmetic (docs/benchmarks.rst, session 6's sweep).
AUTO_PER_BLOCK = {"kernel_size": (5, 3), "convs_per_block": (1, 2)}


def per_block(name, value, n_blocks):
    """``kernel_size`` or ``convs_per_block`` as a tuple of one int per block.

    ``value`` is an int (every block's), a sequence of ``n_blocks`` ints, or
    ``"auto"``: ``AUTO_PER_BLOCK[name]``'s first value for the first block,
    its second for the others.
    """
    if isinstance(value, str) and value == "auto":
        first, others = AUTO_PER_BLOCK[name]
        return (first,) + (others,) * (n_blocks - 1)
    if isinstance(value, (list, tuple)):
        return tuple(int(v) for v in value)
    return (int(value),) * n_blocks


def build_cnn(
    *,
    image_shape,
    n_classes,
    input_scale,
    filters,
    dense_units,
    dropout,
    dense_dropout,
    batch_norm,
    learning_rate,
    padding="auto",
    rotation_range=0.0,
    shift_range=0.0,
    zoom_range=0.0,
    precision="float32",
    kernel_size="auto",
    convs_per_block="auto",
    stem=None,
):
    """Build and compile the digit CNN.

    The network is, for each entry of ``filters``, a block of convolutions
    (by default one 5 x 5 in the first block, two 3 x 3 in the others; ReLU,
    optional batch normalisation), a 2x2 max-pooling and dropout; then
    a dense ReLU layer with dropout and a softmax output. It is compiled with
    Adam and sparse categorical cross-entropy (the same loss as categorical
    cross-entropy, on integer labels).

    Any image size gets through, down to a 1 x 1 image or a 1 x k strip: a
    convolution whose input is smaller than its kernel is zero-padded
    (``same``) whatever ``padding`` says, and pooling pads odd sizes.

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
    padding : {"auto", "valid", "same"}, default="auto"
        ``valid`` convolutions shrink each map by ``kernel_size - 1``: on
        28 x 28 images, about half the arithmetic of ``same`` padding, which
        keeps the map's size. ``auto`` is ``valid`` for images of at least
        ``AUTO_VALID_MIN_SIDE`` pixels on their smaller side, ``same`` for
        smaller ones.
    rotation_range, shift_range, zoom_range : float, default=0.0
        Random augmentation applied to training batches only (Keras' random
        image layers are identity at inference): rotation up to this many
        degrees either way, shift up to this fraction of the height and width,
        zoom in or out by up to this fraction. Uncovered pixels are filled
        with 0, the background of MNIST-form images.
    precision : {"float32", "bfloat16"}, default="float32"
        ``"bfloat16"``: the convolution, pooling and dense layers compute in
        bfloat16 (Keras' ``mixed_bfloat16`` policy: weights kept in float32);
        the input scaling, the augmentation and the softmax output layer stay
        in float32, so the loss and the probabilities are float32 as well.
    kernel_size : int, sequence of int or "auto", default="auto"
        Side of the square convolution kernels; a sequence gives each block's;
        ``"auto"``: 5 in the first block, 3 in the others.
    convs_per_block : int, sequence of int or "auto", default="auto"
        Convolutions in each block; a sequence gives each block's; ``"auto"``:
        one in the first block, two in the others.
    stem : sequence of (int, int), optional
        The first block's convolutions as ``(kernel_size, strides)`` pairs, in
        place of those ``kernel_size`` and ``convs_per_block`` give; a stride
        above 1 replaces the block's pooling. Not an estimator parameter: a
        lever measured by ``benchmarks/sweep.py`` (``((3, 1), (3, 2))``: a
        stride-2 second convolution).

    Returns
    -------
    keras.Model
        The compiled model.
    """
    compute = keras_policy(precision)  # given to each layer, never global
    inputs = keras.Input(shape=tuple(image_shape), name="image", dtype="float32")
    x = layers.Rescaling(1.0 / input_scale, name="rescale", dtype="float32")(inputs)
    augment = {"fill_mode": "constant", "fill_value": 0.0, "dtype": "float32"}
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
    if padding == "auto":
        small = min(image_shape[:2]) < AUTO_VALID_MIN_SIDE
        padding = "same" if small else "valid"
    kernel_sizes = per_block("kernel_size", kernel_size, len(filters))
    n_convs = per_block("convs_per_block", convs_per_block, len(filters))
    for block, n_filters in enumerate(filters, start=1):
        convs = ((kernel_sizes[block - 1], 1),) * n_convs[block - 1]
        if stem and block == 1:
            convs = tuple(stem)
        for conv, (size, strides) in enumerate(convs, start=1):
            fits = all(side >= size for side in x.shape[1:3])
            x = layers.Conv2D(
                n_filters,
                size,
                strides=strides,
                padding=padding if fits else "same",
                use_bias=not batch_norm,
                activation=None if batch_norm else "relu",
                name=f"block{block}_conv{conv}",
                dtype=compute,
            )(x)
            if batch_norm:
                x = layers.BatchNormalization(
                    name=f"block{block}_bn{conv}", dtype=compute
                )(x)
                x = layers.Activation(
                    "relu", name=f"block{block}_relu{conv}", dtype=compute
                )(x)
        if all(strides == 1 for _, strides in convs):
            x = layers.MaxPooling2D(
                2, padding="same", name=f"block{block}_pool", dtype=compute
            )(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"block{block}_dropout", dtype=compute)(x)
    x = layers.Flatten(name="flatten", dtype=compute)(x)
    if dense_units:
        x = layers.Dense(dense_units, activation="relu", name="dense", dtype=compute)(x)
        if dense_dropout:
            x = layers.Dropout(dense_dropout, name="dense_dropout", dtype=compute)(x)
    # float32 whatever the precision: the softmax, its output and the loss.
    outputs = layers.Dense(
        n_classes, activation="softmax", name="softmax", dtype="float32"
    )(x)
    model = keras.Model(inputs, outputs, name="cnn_digit_classifier")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def inference_function(model):
    """The model's forward pass in inference mode, compiled once per model.

    Calling a Keras model eagerly runs its layers one operation at a time,
    and ``keras.Model.predict`` sets up a data pipeline on every call: both
    cost milliseconds per call whatever the batch size. On the TensorFlow
    backend this returns a ``tf.function`` traced once for any batch size
    (the weights are read at each call, so later training is seen); on other
    backends, the eager call.

    Parameters
    ----------
    model : keras.Model
        A built model with one image input.

    Returns
    -------
    callable
        Maps a float32 array of shape ``(n_images, *model.input_shape[1:])``
        to the model's output tensor.
    """
    function = _inference_functions.get(model)
    if function is not None:
        return function
    forward = _Forward(model)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        signature = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
        forward = tf.function(forward, input_signature=[signature])
    _inference_functions[model] = forward
    return forward


def joint_inference_function(models):
    """The forward passes of several models of one input, compiled as one.

    As :func:`inference_function`, but one call runs every model on the same
    images and returns their outputs as a tuple: the set-up cost of a call
    (about 2 ms on 2 cores, whatever the batch) is paid once for all of
    them. Compiled once per tuple of models, held weakly.

    Parameters
    ----------
    models : sequence of keras.Model
        Built models with the same image input shape.

    Returns
    -------
    callable
        Maps a float32 array of shape ``(n_images, *input_shape[1:])`` to a
        tuple of the models' output tensors (the one tensor for one model).
    """
    models = tuple(models)
    shapes = {tuple(m.input_shape[1:]) for m in models}
    if len(shapes) != 1:
        raise ValueError(f"the models have different input shapes: {sorted(shapes)}")
    known = _joint_functions.setdefault(models[0], [])
    known[:] = [(o, f) for o, f in known if all(ref() is not None for ref in o)]
    for others, function in known:
        if len(others) == len(models) - 1 and all(
            ref() is m for ref, m in zip(others, models[1:], strict=True)
        ):
            return function
    forward = _Forward(*models)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        signature = tf.TensorSpec((None, *models[0].input_shape[1:]), tf.float32)
        forward = tf.function(forward, input_signature=[signature])
    known.append(([weakref.ref(m) for m in models[1:]], forward))
    return forward


class _Forward:
    """``model(images, training=False)``, holding the model weakly.

    A callable object rather than a closure: TensorFlow counts the traces of
    every closure of one function together and warns of "retracing" once a
    process has built five models, though each is traced only once.
    """

    def __init__(self, *models):
        # The cache must not keep them alive.
        self._models = [weakref.ref(model) for model in models]

    def __call__(self, images):
        outputs = tuple(ref()(images, training=False) for ref in self._models)
        return outputs[0] if len(outputs) == 1 else outputs

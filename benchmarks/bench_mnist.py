"""Accuracy, speed and memory of CNNDigitClassifier on MNIST, against references.

Every row trains on the same split (the 60,000 MNIST training images) and is
measured on the 10,000 test images, each in a fresh process, so that peak
memory is that row's own and no TensorFlow state carries over between rows:

- ``skdigits_default``: ``CNNDigitClassifier(random_state=0)`` (the seed of
  each run: ``--seeds``).
- ``skdigits_best``: ``CNNDigitClassifier(random_state=0, **best_params)``.
- ``skdigits_fixed``: the default network for exactly ``--compare-epochs``
  epochs (``validation_split=0``, so no early stopping), the estimator side of
  the overhead comparison...
- ``keras_raw``: ...against the same network built with
  ``skdigits._network.build_cnn`` and trained by ``model.fit`` for the same
  epochs, batch size and seed.
- ``sklearn_mlp``, ``sklearn_logreg``, ``sklearn_knn``: scikit-learn's
  ``MLPClassifier``, ``LogisticRegression`` and ``KNeighborsClassifier`` on
  pixels scaled to [0, 1].
- ``skorch_cnn``: the default network in PyTorch through skorch, trained like
  ``skdigits_fixed``; skipped when skorch or torch is not installed.

Run from the repository root, with MNIST in the scikit-learn data home::

    python benchmarks/bench_mnist.py                       # every row, once
    python benchmarks/bench_mnist.py --repeat 3            # medians of 3 runs
    python benchmarks/bench_mnist.py --seeds 0 1 2 --once seed_keras
                                          # medians of 3 seeds; the anchor once
    python benchmarks/bench_mnist.py --rows skdigits_fixed keras_raw
    python benchmarks/bench_mnist.py --best-params '{"filters": [32, 64]}'
    python benchmarks/bench_mnist.py --smoke               # seconds, for CI

Results go to ``benchmarks/results/<name>.json`` (``--name``) or ``--json``.
"""

import argparse
import functools
import importlib.metadata
import json
import math
import multiprocessing
import os
import platform
import resource
import statistics
import sys
import time
import traceback
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# Benchmark the checkout this script belongs to, installed or not.
sys.path.insert(0, os.path.dirname(HERE))

# One member of the documented best configuration, a soft vote of such
# networks with different seeds (docs/benchmarks.rst; sweep.py --ensemble):
# twice the filters, a wider dense layer, augmentation, 12 epochs run to the
# end of the schedule, keeping the last weights.
DEFAULT_BEST_PARAMS = {
    "filters": [32, 64],
    "kernel_size": 3,  # two 3x3 convolutions a block, on a 10 % split: the
    "convs_per_block": 2,  # defaults these members were measured with
    "validation_split": 0.1,
    "dense_units": 256,
    "rotation_range": 10,
    "shift_range": 0.1,
    "zoom_range": 0.1,
    "epochs": 12,
    "callbacks__early_stopping__patience": 40,
    "callbacks__early_stopping__restore_best_weights": False,
}
# Overrides of every network's size in a smoke run: seconds, not minutes.
SMOKE_NETWORK = {"filters": [4], "dense_units": 8, "epochs": 1}
SMOKE_SIZES = {"n_train": 600, "n_test": 200}
FULL_SIZES = {"n_train": 60_000, "n_test": 10_000}
SEED = 0  # every row's random_state, unless --seeds says others

# (label, where in the results, comparison, limit); see README.md.
TARGETS = [
    ("skdigits_default accuracy", ("skdigits_default", "accuracy"), ">=", 0.9955),
    ("skdigits_default fit (s)", ("skdigits_default", "fit_s"), "<=", 180.0),
    ("default fit / seed_keras fit", ("comparison", "default_vs_seed"), "<=", 0.2),
    ("skdigits_best accuracy", ("skdigits_best", "accuracy"), ">=", 0.997),
    ("best fit / seed_keras fit", ("comparison", "best_vs_seed"), "<=", 1.0),
    ("fit overhead ratio", ("comparison", "fit_ratio"), "<=", 1.05),
    ("predict overhead ratio", ("comparison", "predict_ratio"), "<=", 1.10),
    (
        "1-image predict_proba (ms)",
        ("skdigits_default", "latency_ms", "predict_proba"),
        "<=",
        3.0,
    ),
    ("1-image predict (ms)", ("skdigits_default", "latency_ms", "predict"), "<=", 3.0),
    *(
        (f"{row} peak RSS (MB)", (row, "peak_rss_mb"), "<=", 2500.0)
        for row in ("skdigits_default", "skdigits_best", "skdigits_fixed")
    ),
]


# ----------------------------------------------------------------------
# measuring


def timed(function, *args, **kwargs):
    """``function(*args, **kwargs)`` and the wall-clock seconds it took."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def median_ms(function, argument, calls, warmup):
    """Median milliseconds of ``function(argument)`` over ``calls`` calls."""
    for _ in range(warmup):
        function(argument)
    return 1000 * statistics.median(timed(function, argument)[1] for _ in range(calls))


def peak_rss_mb():
    """This process's peak resident memory in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes / KB


def forward_macs(model):
    """Multiply-adds of one image's forward pass through Conv2D and Dense layers.

    Other layers (pooling, normalisation, activations) are ignored: they are
    a fraction of a percent of this network's arithmetic.
    """
    import keras

    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, out_h, out_w, out_c = layer.output.shape
            k_h, k_w = layer.kernel_size
            macs += out_h * out_w * out_c * k_h * k_w * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            macs += math.prod(layer.kernel.shape)
    return int(macs)


def torch_forward_macs(module, images):
    """:func:`forward_macs` of a PyTorch module, on the first of ``images``."""
    import torch

    macs = 0

    def count(layer, inputs, output):
        nonlocal macs
        if isinstance(layer, torch.nn.Conv2d):
            inputs_per_output = layer.in_channels // layer.groups
            macs += output[0].numel() * inputs_per_output * math.prod(layer.kernel_size)
        else:
            macs += layer.in_features * layer.out_features

    counted = (torch.nn.Conv2d, torch.nn.Linear)
    hooks = [
        layer.register_forward_hook(count)
        for layer in module.modules()
        if isinstance(layer, counted)
    ]
    try:
        with torch.no_grad():
            module.eval()(torch.as_tensor(images[:1]))
    finally:
        for hook in hooks:
            hook.remove()
    return int(macs)


def training_gflop(macs, n_train, n_validation, epochs):
    """GFLOP of training: 2 FLOP per multiply-add, backward pass ~ 2x forward.

    Per epoch: 3 x forward (``macs`` multiply-adds) on the training images,
    plus one forward pass on the validation images.
    """
    flop = 2 * macs * (3 * n_train + n_validation) * epochs
    return flop / 1e9


# ----------------------------------------------------------------------
# the rows; each runs in its own process and returns a dict of numbers


def load_split(config):
    """The MNIST split of every row: flat uint8 images and int labels."""
    from skdigits.datasets import fetch_mnist

    X_train, y_train = fetch_mnist(subset="train", return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", return_X_y=True)
    n_train, n_test = config["n_train"], config["n_test"]
    return X_train[:n_train], y_train[:n_train], X_test[:n_test], y_test[:n_test]


def network_params(config, **params):
    """CNNDigitClassifier parameters, with the smoke run's tiny network."""
    params = {"random_state": seed_of(config), **params}
    if config["smoke"]:
        params.update(SMOKE_NETWORK)
    return params


def fixed_epochs_params(config):
    """The default network for exactly ``compare_epochs`` epochs."""
    return network_params(config, validation_split=0.0) | {
        "epochs": config["compare_epochs"]
    }


def fixed_estimator(config):
    """The unfitted estimator of ``skdigits_fixed``, for the rows that mirror it."""
    from skdigits import CNNDigitClassifier

    return CNNDigitClassifier().set_params(**fixed_epochs_params(config))


def keras_network(clf):
    """The Keras network that ``clf`` builds for MNIST's 28x28 images."""
    from skdigits._network import build_cnn
    from skdigits._precision import resolve_precision

    return build_cnn(
        image_shape=(28, 28, 1),
        n_classes=10,
        input_scale=255.0,
        filters=tuple(clf.filters),
        kernel_size=clf.kernel_size,
        convs_per_block=clf.convs_per_block,
        padding=clf.padding,
        dense_units=clf.dense_units,
        dropout=clf.dropout,
        dense_dropout=clf.dense_dropout,
        batch_norm=clf.batch_norm,
        learning_rate=clf.learning_rate,
        rotation_range=clf.rotation_range,
        shift_range=clf.shift_range,
        zoom_range=clf.zoom_range,
        precision=resolve_precision(clf.precision),
    )


def measure_estimator(estimator, data):
    """Fit and predict any scikit-learn classifier: accuracy and seconds."""
    X_train, y_train, X_test, y_test = data
    _, fit_s = timed(estimator.fit, X_train, y_train)
    predicted, predict_s = timed(estimator.predict, X_test)
    return {
        "accuracy": float(np.mean(predicted == y_test)),
        "fit_s": fit_s,
        "predict_s": predict_s,
    }


def skdigits_row(config, params):
    from skdigits import CNNDigitClassifier

    X_train, _, X_test, _ = data = load_split(config)
    clf = CNNDigitClassifier().set_params(**params)  # checks every name
    result = measure_estimator(clf, data)
    # The first predict above paid any one-off cost; the ratio uses this one.
    _, result["predict_proba_s"] = timed(clf.predict_proba, X_test)
    epochs = len(clf.history_["loss"])
    n_validation = math.ceil(clf.validation_split * len(X_train))
    macs = forward_macs(clf.model_)
    gflop = training_gflop(macs, len(X_train) - n_validation, n_validation, epochs)
    if config.get("save_dir"):  # e.g. for benchmarks/real_digits.py --model
        from skdigits import save_model

        save_model(clf, os.path.join(config["save_dir"], f"{config['row']}.zip"))
    one_image = X_test[:1]
    return result | {
        "epochs": epochs,
        "best_epoch": clf.best_epoch_,
        "precision": clf.precision_,
        "gflops": gflop / result["fit_s"],
        "forward_macs": macs,
        "latency_ms": {
            name: median_ms(method, one_image, config["calls"], config["warmup"])
            for name, method in [
                ("predict_proba", clf.predict_proba),
                ("predict", clf.predict),
            ]
        },
        "params": params,
    }


def schedule_plan(clf, n_train):
    """The estimator's learning-rate schedule, for the rows that rebuild it.

    ``skdigits._callbacks.schedule_plan`` for ``clf``'s epochs, batch size and
    schedule parameters on ``n_train`` images, as its ``CosineSchedule`` plans
    the fit.
    """
    from skdigits._callbacks import schedule_plan as plan

    params = clf.get_params()
    return plan(
        math.ceil(n_train / clf.batch_size),
        clf.epochs,
        warmup_epochs=params["callbacks__lr_schedule__warmup_epochs"],
        alpha=params["callbacks__lr_schedule__alpha"],
    )


def keras_raw_row(config):
    import keras

    from skdigits import _runtime
    from skdigits._classifier import _PREDICT_BATCH

    X_train, y_train, X_test, y_test = load_split(config)
    # What a Keras user would feed: float32 images, converted beforehand.
    X_train, X_test = (
        X.reshape(-1, 28, 28, 1).astype(np.float32) for X in (X_train, X_test)
    )
    clf = fixed_estimator(config)
    # The seed the estimator draws from random_state, so the same weights.
    keras.utils.set_random_seed(_runtime.seed_from(clf.random_state))
    model = keras_network(clf)
    # The estimator's learning-rate schedule, as a Keras user would write it:
    # Keras' own CosineDecay with warm-up, compiled into the optimizer.
    plan = schedule_plan(clf, len(X_train))
    warmup = plan["warmup_steps"]
    schedule = keras.optimizers.schedules.CosineDecay(
        clf.learning_rate / 10 if warmup else clf.learning_rate,
        decay_steps=plan["decay_steps"],
        alpha=plan["alpha"],
        warmup_target=clf.learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss=model.loss,
        metrics=["accuracy"],
    )
    macs = forward_macs(model)
    _, fit_s = timed(
        model.fit,
        X_train,
        y_train,
        epochs=clf.epochs,
        batch_size=clf.batch_size,
        verbose=0,
    )

    def predict(X):
        return model.predict(X, batch_size=_PREDICT_BATCH, verbose=0)

    proba, predict_s = timed(predict, X_test)  # traces predict's graph
    _, predict_proba_s = timed(predict, X_test)  # warm, as skdigits' own
    one_image = X_test[:1]
    return {
        "accuracy": float(np.mean(np.argmax(proba, axis=1) == y_test)),
        "fit_s": fit_s,
        "predict_s": predict_s,
        "predict_proba_s": predict_proba_s,
        "epochs": clf.epochs,
        "precision": model.get_layer("block1_conv1").compute_dtype,
        "gflops": training_gflop(macs, len(X_train), 0, clf.epochs) / fit_s,
        "forward_macs": macs,
        "latency_ms": {
            name: median_ms(method, one_image, config["calls"], config["warmup"])
            for name, method in [
                ("model.predict", lambda x: model.predict(x, verbose=0)),
                ("model(x)", lambda x: model(x, training=False)),
            ]
        },
        "params": fixed_epochs_params(config),
    }


# The recipe of the notebook skdigits grew from (shared/seed), in plain Keras:
# the anchor every target is measured against.
SEED_RECIPE = {
    "filters": [32, 64],
    "dense_units": 256,
    "batch_size": 128,
    "learning_rate": 1e-3,
    "epochs": 30,
    "validation_split": 0.1,
    "early_stopping_patience": 5,
    "reduce_lr": {"factor": 0.5, "patience": 2, "min_lr": 1e-5},
}


def seed_keras_network():
    """The seed notebook's network, compiled as it compiles it."""
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((28, 28, 1))])
    for n_filters in SEED_RECIPE["filters"]:
        model.add(layers.Conv2D(n_filters, 3, padding="same", activation="relu"))
        model.add(layers.Conv2D(n_filters, 3, padding="same", activation="relu"))
        model.add(layers.MaxPooling2D(2))
        model.add(layers.Dropout(0.25))
    model.add(layers.Flatten())
    model.add(layers.Dense(SEED_RECIPE["dense_units"], activation="relu"))
    model.add(layers.Dropout(0.5))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.Adam(SEED_RECIPE["learning_rate"]),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def seed_keras_row(config):
    """The seed's recipe, exactly: what a user of the notebook gets."""
    import keras

    X_train, y_train, X_test, y_test = load_split(config)
    X_train, X_test = (
        X.reshape(-1, 28, 28, 1).astype(np.float32) / 255 for X in (X_train, X_test)
    )
    keras.utils.set_random_seed(seed_of(config))
    model = seed_keras_network()
    epochs = 1 if config["smoke"] else SEED_RECIPE["epochs"]
    callbacks = [
        keras.callbacks.EarlyStopping(
            monitor="val_accuracy",
            patience=SEED_RECIPE["early_stopping_patience"],
            restore_best_weights=True,
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_accuracy", **SEED_RECIPE["reduce_lr"]
        ),
    ]
    history, fit_s = timed(
        model.fit,
        X_train,
        keras.utils.to_categorical(y_train, 10),
        batch_size=SEED_RECIPE["batch_size"],
        epochs=epochs,
        validation_split=SEED_RECIPE["validation_split"],
        callbacks=callbacks,
        verbose=0,
    )
    proba, predict_s = timed(model.predict, X_test, verbose=0)
    ran = len(history.history["loss"])
    n_validation = int(len(X_train) * SEED_RECIPE["validation_split"])
    macs = forward_macs(model)
    gflop = training_gflop(macs, len(X_train) - n_validation, n_validation, ran)
    return {
        "accuracy": float(np.mean(np.argmax(proba, axis=1) == y_test)),
        "fit_s": fit_s,
        "predict_s": predict_s,
        "epochs": ran,
        "best_epoch": callbacks[0].best_epoch + 1,
        "gflops": gflop / fit_s,
        "forward_macs": macs,
        "precision": "float32",
        "params": SEED_RECIPE,
    }


def sklearn_row(config, make_estimator, n_iter=None):
    """A scikit-learn classifier on pixels scaled to [0, 1] (before timing)."""
    from sklearn.exceptions import ConvergenceWarning

    X_train, y_train, X_test, y_test = load_split(config)
    X_train, X_test = (X.astype(np.float32) / 255 for X in (X_train, X_test))
    estimator = make_estimator(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = measure_estimator(estimator, (X_train, y_train, X_test, y_test))
    params = json.loads(json.dumps(estimator.get_params(), default=repr))
    return result | {"epochs": n_iter(estimator) if n_iter else None, "params": params}


def _mlp(config):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=(256,),
        early_stopping=True,
        max_iter=10 if config["smoke"] else 200,
        random_state=seed_of(config),
    )


def _logreg(config):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=20 if config["smoke"] else 200)


def _knn(config):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=3)


def torch_augment_class():
    """``TorchAugment``: Keras' three random image layers as one torch module."""
    import torch

    class TorchAugment(torch.nn.Module):
        """Random rotation, shift and zoom of each image, in training only.

        Keras' ``RandomRotation(rotation / 360)``, ``RandomTranslation(shift,
        shift)`` and ``RandomZoom(zoom, zoom)`` (each factor uniform, height
        and width zoomed independently; bilinear; uncovered pixels 0) as one
        affine resampling per image; the identity in eval mode.
        """

        def __init__(self, rotation, shift, zoom):
            super().__init__()
            self.rotation, self.shift, self.zoom = rotation, shift, zoom

        def forward(self, images):
            if not self.training:
                return images
            n = images.shape[0]

            def uniform(limit):
                return (torch.rand(n) * 2 - 1) * limit

            angle = torch.deg2rad(uniform(self.rotation))
            scale_y, scale_x = 1 + uniform(self.zoom), 1 + uniform(self.zoom)
            cos, sin = torch.cos(angle), torch.sin(angle)
            # Output -> input coordinates, in [-1, 1] units (a shift of a
            # fraction f of the side is 2 f of them).
            theta = torch.stack(
                [
                    torch.stack(
                        [cos * scale_x, -sin * scale_y, 2 * uniform(self.shift)], 1
                    ),
                    torch.stack(
                        [sin * scale_x, cos * scale_y, 2 * uniform(self.shift)], 1
                    ),
                ],
                1,
            )
            grid = torch.nn.functional.affine_grid(
                theta, images.shape, align_corners=False
            )
            return torch.nn.functional.grid_sample(
                images, grid, mode="bilinear", padding_mode="zeros", align_corners=False
            )

    return TorchAugment


def skorch_row(config):
    try:
        import skorch
        import torch
    except ImportError as exc:
        return {"skipped": f"skorch or torch is not installed ({exc})"}
    from torch import nn

    from skdigits import _runtime
    from skdigits._callbacks import schedule_factor

    TorchAugment = torch_augment_class()
    clf = fixed_estimator(config)
    if clf.batch_norm or not clf.dense_units or clf.padding == "same":
        return {
            "skipped": "the torch network has valid convolutions, a dense layer "
            "and no batch normalisation"
        }
    if os.environ.get(_runtime.NUM_THREADS_ENV):  # as the TensorFlow rows
        torch.set_num_threads(int(os.environ[_runtime.NUM_THREADS_ENV]))
    X_train, y_train, X_test, y_test = load_split(config)
    X_train, X_test = (
        X.reshape(-1, 1, 28, 28).astype(np.float32) / 255 for X in (X_train, X_test)
    )
    # The skdigits network (see skdigits._network.build_cnn) in torch: valid
    # convolutions on 28x28 images ("auto" padding), each block's kernel size
    # and number of convolutions as the estimator resolves them.
    layers, channels, side = [], 1, 28
    augmentation = (clf.rotation_range, clf.shift_range, clf.zoom_range)
    if any(augmentation):
        layers.append(TorchAugment(*augmentation))
    blocks = zip(
        clf.filters,
        clf._per_block("kernel_size"),
        clf._per_block("convs_per_block"),
        strict=True,
    )
    for n_filters, size, n_convs in blocks:
        for _ in range(n_convs):
            layers += [nn.Conv2d(channels, n_filters, size), nn.ReLU()]
            channels, side = n_filters, side - (size - 1)
        layers += [
            nn.MaxPool2d(2, ceil_mode=True),  # Keras' "same" pooling
            nn.Dropout(clf.dropout),
        ]
        side = math.ceil(side / 2)
    layers += [
        nn.Flatten(),
        nn.Linear(channels * side * side, clf.dense_units),
        nn.ReLU(),
        nn.Dropout(clf.dense_dropout),
        nn.Linear(clf.dense_units, 10),
    ]
    # The estimator's schedule, stepped every batch: linear warm-up from a
    # tenth of the rate, then a cosine down to alpha times it.
    plan = schedule_plan(clf, len(X_train))

    torch.manual_seed(seed_of(config))
    net = skorch.NeuralNetClassifier(
        nn.Sequential(*layers),
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=clf.learning_rate,
        max_epochs=clf.epochs,
        batch_size=clf.batch_size,
        train_split=None,
        iterator_train__shuffle=True,
        callbacks=[
            skorch.callbacks.LRScheduler(
                torch.optim.lr_scheduler.LambdaLR,
                lr_lambda=functools.partial(schedule_factor, plan),
                step_every="batch",
            )
        ],
        verbose=0,
    )
    result = measure_estimator(net, (X_train, y_train, X_test, y_test))
    macs = torch_forward_macs(net.module_, X_test)
    gflop = training_gflop(macs, len(X_train), 0, clf.epochs)
    return result | {
        "epochs": clf.epochs,
        "gflops": gflop / result["fit_s"],
        "forward_macs": macs,
        "torch_threads": torch.get_num_threads(),
        "precision": "float32",
        "params": fixed_epochs_params(config),
    }


ROWS = {
    "skdigits_default": (
        "CNNDigitClassifier(random_state=seed)",
        lambda config: skdigits_row(config, network_params(config)),
    ),
    "skdigits_best": (
        "CNNDigitClassifier(random_state=seed, **best_params)",
        lambda config: skdigits_row(
            config, network_params(config, **config["best_params"])
        ),
    ),
    "skdigits_default_float32": (
        'CNNDigitClassifier(random_state=seed, precision="float32")',
        lambda config: skdigits_row(
            config, network_params(config, precision="float32")
        ),
    ),
    "skdigits_default_bfloat16": (
        'CNNDigitClassifier(random_state=seed, precision="bfloat16")',
        lambda config: skdigits_row(
            config, network_params(config, precision="bfloat16")
        ),
    ),
    "seed_keras": (
        "the seed notebook's recipe in plain Keras (float32)",
        seed_keras_row,
    ),
    "skdigits_fixed": (
        "default network, validation_split=0, epochs=compare_epochs",
        lambda config: skdigits_row(config, fixed_epochs_params(config)),
    ),
    "keras_raw": (
        "skdigits_fixed's network: build_cnn + model.fit, same epochs and seed",
        keras_raw_row,
    ),
    "sklearn_mlp": (
        "MLPClassifier((256,), early_stopping=True)",
        lambda config: sklearn_row(config, _mlp, n_iter=lambda e: e.n_iter_),
    ),
    "sklearn_logreg": (
        "LogisticRegression(max_iter=200)",
        lambda config: sklearn_row(
            config, _logreg, n_iter=lambda e: int(e.n_iter_.max())
        ),
    ),
    "sklearn_knn": (
        "KNeighborsClassifier(n_neighbors=3)",
        lambda c: sklearn_row(c, _knn),
    ),
    "skorch_cnn": ("skdigits_fixed's network in PyTorch via skorch", skorch_row),
}


def run_row(name, config):
    """Run one row in this process (a fresh one): its numbers and peak memory."""
    from skdigits import _runtime

    _runtime.set_num_threads()  # SKDIGITS_NUM_THREADS, for every row alike
    result = ROWS[name][1]({**config, "row": name})
    if "skipped" not in result:
        result["peak_rss_mb"] = peak_rss_mb()
    return result


def run_in_fresh_process(name, config, function=run_row):
    """``function(name, config)`` in a new interpreter; failures are reported."""
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(function, name, config).result()
    except Exception as exc:  # the row's own error, or its process dying
        traceback.print_exception(exc)
        return {"error": f"{type(exc).__name__}: {exc}"}


def matmul_peak(_name, config):
    """GFLOP/s of TensorFlow's largest-kernel work, a square matmul, per dtype.

    The best of several runs of an ``n x n`` product (``n`` = 4096, 256 in a
    smoke run) in float32 and in bfloat16, with this process's threads: the
    rate the training rows' GFLOP/s are compared against.
    """
    import tensorflow as tf

    from skdigits import _runtime

    _runtime.set_num_threads()
    n = 256 if config["smoke"] else 4096

    def square(a):
        return tf.linalg.matmul(a, a).numpy()

    peaks = {}
    for dtype in ("float32", "bfloat16"):
        a = tf.random.stateless_uniform((n, n), seed=(SEED, 1), dtype=tf.float32)
        a = tf.cast(a, dtype)
        square(a)  # warm-up: oneDNN picks its kernel
        best = min(timed(square, a)[1] for _ in range(5))
        peaks[dtype] = 2 * n**3 / best / 1e9
    return peaks


# ----------------------------------------------------------------------
# summarising and reporting


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def seed_of(config):
    """The random seed of a row's run: ``--seeds``' current one, or SEED."""
    return config.get("seed", SEED)


def without_seed(run):
    """A run's results without the seed and parameters it ran with.

    Not measures: the rows take the first run's parameters instead of a
    median of them (see ``row_params``).
    """
    return {key: value for key, value in run.items() if key not in ("seed", "params")}


def row_params(runs):
    """The parameters of a row's runs: the first's, with every seed used."""
    params = next((run["params"] for run in runs if "params" in run), None)
    seeds = sorted(
        {run["params"].get("random_state") for run in runs if "params" in run}
    )
    if params is not None and len(seeds) > 1:
        params = {**params, "random_state": seeds}
    return params


def median_of(runs):
    """The runs merged: the median of every number, the first of anything else.

    A row with a failed or skipped run is that run's error or note.
    """
    for run in runs:
        if isinstance(run, dict) and ("error" in run or "skipped" in run):
            return run
    first = runs[0]
    if isinstance(first, dict):
        return {key: median_of([run[key] for run in runs]) for key in first}
    if all(_is_number(run) for run in runs):
        return statistics.median(runs)
    return first


def compare(rows):
    """Ratios of median seconds: skdigits over raw Keras, rows over the seed's."""

    def ratio(row, reference, key="fit_s"):
        a, b = rows.get(row), rows.get(reference)
        if not all(r and key in r for r in (a, b)):
            return None
        return a[key] / b[key]

    ratios = {
        "fit_ratio": ratio("skdigits_fixed", "keras_raw"),
        "predict_ratio": ratio("skdigits_fixed", "keras_raw", "predict_proba_s"),
        "default_vs_seed": ratio("skdigits_default", "seed_keras"),
        "best_vs_seed": ratio("skdigits_best", "seed_keras"),
    }
    return {name: value for name, value in ratios.items() if value is not None}


def check_targets(results, targets=TARGETS):
    """Each target ``(label, path of keys into results, op, limit)``: met?"""
    checks = []
    for label, path, op, target in targets:
        value = results
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        met = value >= target if op == ">=" else value <= target
        checks.append(
            {"target": label, "value": value, "op": op, "limit": target, "met": met}
        )
    return checks


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions(extra=()):
    """Versions of Python, skdigits, its main dependencies and ``extra``."""
    import skdigits

    found = {"skdigits": skdigits.__version__, "python": platform.python_version()}
    for package in ("tensorflow", "keras", "scikeras", "scikit-learn", "numpy", *extra):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


# CPU flags worth naming beside a timing: vector width and bfloat16 units.
NOTABLE_CPU_FLAGS = frozenset(
    {"avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"}
    | {"avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"}
)


def header(config, rows=()):
    from skdigits._precision import BF16_CPU_FLAGS, cpu_flags

    flags = cpu_flags()
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "usable_cores": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
            "threads": os.environ.get("SKDIGITS_NUM_THREADS") or "TensorFlow default",
            # The flags that decide precision="auto" and the kernels used.
            "cpu_flags": sorted(flags & NOTABLE_CPU_FLAGS),
            "native_bfloat16": bool(BF16_CPU_FLAGS & flags),
            "platform": platform.platform(),
        },
        # skorch and torch only where their row runs (None: not installed).
        "versions": versions(("skorch", "torch") if "skorch_cnn" in rows else ()),
        "config": config,
    }


def _format(value, digits):
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def print_title(name, head):
    """The first lines of a report: script, date, machine, versions."""
    machine = head["machine"]
    print(f"\n{name}  {head['date']}")
    print(f"machine: {machine['cpu']}, {machine['usable_cores']} cores usable")
    if "cpu_flags" in machine:
        print(f"cpu flags: {' '.join(machine['cpu_flags']) or '-'}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in head["versions"].items()))


def print_report(results):
    head = results["header"]
    config = head["config"]
    print_title("bench_mnist", head)
    print(
        f"split: {config['n_train']} train / {config['n_test']} test; "
        f"medians of {config['repeat']} run(s) of seed(s) "
        f"{', '.join(map(str, config.get('seeds', [SEED])))}"
        + (
            "; SMOKE RUN: tiny networks, numbers mean nothing"
            if config["smoke"]
            else ""
        )
    )
    columns = [  # title, key, width, decimals
        ("accuracy", "accuracy", 9, 4),
        ("fit s", "fit_s", 9, 2),
        ("predict s", "predict_s", 10, 3),
        ("epochs", "epochs", 7, 0),
        ("GFLOP/s", "gflops", 8, 1),
        ("of peak", "of_peak", 8, 2),
        ("peak RSS MB", "peak_rss_mb", 12, 0),
    ]
    peaks = head["machine"].get("matmul_gflops") or {}
    if peaks and "error" not in peaks:
        print(
            "matmul peak GFLOP/s (4096^2, TensorFlow): "
            + ", ".join(f"{dtype} {value:.0f}" for dtype, value in peaks.items())
        )
    print(
        f"\n{'row':<26}{'precision':>10}"
        + "".join(f"{t:>{w}}" for t, _, w, _ in columns)
    )
    for name, row in results["rows"].items():
        if "fit_s" not in row:
            note = f"skipped: {row['skipped']}" if "skipped" in row else "FAILED: "
            print(f"{name:<26}{note}{row.get('error', '')}")
            continue
        peak = peaks.get(row.get("precision")) if "error" not in peaks else None
        row = {
            **row,
            "of_peak": row["gflops"] / peak if peak and "gflops" in row else None,
        }
        cells = [f"{name:<26}{row.get('precision') or '-':>10}"]
        cells += [f"{_format(row.get(key), d):>{w}}" for _, key, w, d in columns]
        print("".join(cells))
    latency = {
        f"{name} {method}": ms
        for name, row in results["rows"].items()
        for method, ms in row.get("latency_ms", {}).items()
    }
    if latency:
        print("\nsingle-image latency, median ms")
        for label, ms in latency.items():
            print(f"  {label:<38}{ms:>8.2f}")
    comparison = results["comparison"]
    if "fit_ratio" in comparison:
        print(
            f"\noverhead vs raw Keras: fit {comparison['fit_ratio']:.3f}x, "
            f"predict_proba(10k) {comparison['predict_ratio']:.3f}x"
        )
    for key, label in [("default_vs_seed", "default"), ("best_vs_seed", "best")]:
        if key in comparison:
            print(f"{label} fit time / seed_keras fit time: {comparison[key]:.3f}")
    print("\ntargets" + (" (for full runs only)" if config["smoke"] else ""))
    for check in results["targets"]:
        print(
            f"  {check['target']:<34}{check['value']:>10.4g} {check['op']} "
            f"{check['limit']:<8g}{'met' if check['met'] else 'NOT MET'}"
        )


def write_json(results, path):
    """Write through a temporary file, so an interrupted run leaves no half file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temporary = f"{path}.tmp"
    with open(temporary, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    os.replace(temporary, path)


def main(argv=None):
    rows_help = "\n".join(f"  {name:<18}{text}" for name, (text, _) in ROWS.items())
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=f"rows:\n{rows_help}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument(
        "--rows", nargs="+", choices=list(ROWS), default=list(ROWS), metavar="ROW"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs of each row; medians reported"
    )
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[SEED],
        help="random seeds: every row runs once per seed (and --repeat times "
        f"each); medians over all its runs (default {SEED})",
    )
    parser.add_argument(
        "--once",
        nargs="+",
        default=[],
        choices=list(ROWS),
        metavar="ROW",
        help="rows of --rows run only in the first round (first seed, first "
        "repeat), such as the 15-minute seed_keras",
    )
    parser.add_argument(
        "--best-params",
        type=json.loads,
        default=DEFAULT_BEST_PARAMS,
        help="skdigits_best's parameters, a JSON object "
        f"(default {json.dumps(DEFAULT_BEST_PARAMS)})",
    )
    parser.add_argument(
        "--compare-epochs",
        type=int,
        default=5,
        help="epochs of skdigits_fixed, keras_raw and skorch_cnn (default 5)",
    )
    parser.add_argument(
        "--latency-calls", type=int, default=200, help="single-image calls timed"
    )
    parser.add_argument(
        "--save-dir",
        help="save each skdigits row's fitted model as DIR/<row>.zip",
    )
    parser.add_argument("--name", default="bench_mnist", help="results file name")
    parser.add_argument(
        "--json", help="results file (default benchmarks/results/NAME.json)"
    )
    args = parser.parse_args(argv)
    if not isinstance(args.best_params, dict):
        parser.error("--best-params must be a JSON object")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    config = {
        "smoke": args.smoke,
        **(SMOKE_SIZES if args.smoke else FULL_SIZES),
        "repeat": args.repeat,
        "seeds": args.seeds,
        "once": args.once,
        "best_params": args.best_params,
        "compare_epochs": 1 if args.smoke else args.compare_epochs,
        "calls": 10 if args.smoke else args.latency_calls,
        "warmup": 2 if args.smoke else 20,
        "save_dir": args.save_dir and os.path.abspath(args.save_dir),
    }
    started = header(config, args.rows)
    started["machine"]["matmul_gflops"] = run_in_fresh_process(
        "matmul", config, matmul_peak
    )
    runs = {name: [] for name in args.rows}
    rounds = [(seed, repeat) for seed in args.seeds for repeat in range(args.repeat)]
    for number, (seed, repeat) in enumerate(rounds):
        # rows interleaved: drift hits them alike
        for name in args.rows:
            if number and name in args.once:
                continue
            where = f"[seed {seed}, run {repeat + 1}/{args.repeat}] {name}"
            print(f"{where} ...", flush=True)
            row_config = {**config, "seed": seed}
            result, seconds = timed(run_in_fresh_process, name, row_config)
            print(f"{where}: {seconds:.0f} s")
            runs[name].append(result | {"seed": seed})
    rows = {
        name: {
            "description": ROWS[name][0],
            **median_of([without_seed(run) for run in row_runs]),
            "params": row_params(row_runs),
            "seeds": [run["seed"] for run in row_runs],
            "runs": row_runs,
        }
        for name, row_runs in runs.items()
    }
    results = {"header": started, "rows": rows, "comparison": compare(rows)}
    results["targets"] = check_targets({**rows, "comparison": results["comparison"]})

    path = args.json or os.path.join(
        HERE, "results", f"{args.name}{'_smoke' if args.smoke else ''}.json"
    )
    write_json(results, path)
    print_report(results)
    print(f"\nresults written to {path}")
    return results


if __name__ == "__main__":
    failed = [name for name, row in main()["rows"].items() if "error" in row]
    sys.exit(f"failed rows: {', '.join(failed)}" if failed else 0)

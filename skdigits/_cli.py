"""The ``skdigits`` command line: train, evaluate and use digit classifiers.

``python -m skdigits`` or the ``skdigits`` console script::

    skdigits train --dataset digits -o model.zip --plot-history history.png
    skdigits evaluate model.zip --confusion-matrix cm.png --samples samples.png
    skdigits predict photo-of-a-7.png scan-of-a-3.jpg [--json] [--model model.zip]
    skdigits export model.zip -o model.onnx
    skdigits predict --model model.onnx photo-of-a-7.png  # onnxruntime, no TensorFlow
    skdigits read postcode.png amount.jpg [--model model.zip] [--json]

TensorFlow, scikit-learn and matplotlib are imported by the commands that
need them, so ``--help`` and ``--version`` answer at once, and TensorFlow
only once the arguments are checked (``--set`` names included), so a mistake
is reported at once too. Every error a user can cause (a missing file, a bad
parameter, an unreadable image, a file that is not a model) is reported as
one line on stderr, ``skdigits: error: ...``, with exit status 2; nothing
half-written is left behind. TensorFlow's own log lines are kept off stderr
unless asked for (``--verbose``, or ``TF_CPP_MIN_LOG_LEVEL``).
"""

import argparse
import ast
import contextlib
import difflib
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
import warnings

DEFAULT_OUTPUT = "skdigits-model.zip"
DATASETS = ("mnist", "digits")

# The split of scikit-learn's 8x8 digits into the images train fits on and the
# images evaluate measures; saved in each model file so evaluate uses the one
# the model was trained with.
DIGITS_SPLIT = {"test_size": 0.25, "random_state": 0}

# Parameters train uses for a dataset unless --set says otherwise. The
# estimator's defaults are tuned for MNIST's 54,000 training images; on the
# 1,347 8x8 digits they would make 5 optimizer steps an epoch, too few to
# learn, and the default augmentation (a shift of 5 % is 0.4 of their pixels)
# only blurs them.
DATASET_PARAMS = {
    "digits": {
        "batch_size": 32,
        "epochs": 30,
        "rotation_range": 0,
        "shift_range": 0,
        "zoom_range": 0,
    }
}

_EXIT_USAGE = 2


class CommandError(Exception):
    """An error of the user's: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """Report usage errors as one line, through :func:`main`, not by exiting."""

    def error(self, message):
        raise CommandError(f"{message} (see '{self.prog} --help')")


def main(argv=None):
    """Run the ``skdigits`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments, without the program name; None reads ``sys.argv``.

    Returns
    -------
    int
        The exit status: 0 on success, 2 on an error (reported on stderr as
        one line), 130 when interrupted.
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return args.run(args)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print("skdigits: interrupted", file=sys.stderr)
        return 130
    except (CommandError, OSError, ValueError, TypeError) as exc:
        print(f"skdigits: error: {_one_line(exc)}", file=sys.stderr)
        return _EXIT_USAGE


def _one_line(exc):
    message = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        message = f"{exc.strerror}: {os.fsdecode(exc.filename)!r}"
    return message or type(exc).__name__


# ----------------------------------------------------------------------
# the parser


def _build_parser():
    from . import __version__

    parser = _Parser(
        prog="skdigits",
        description=(
            "Train, evaluate and use convolutional network classifiers of "
            "handwritten digits (skdigits.CNNDigitClassifier)."
        ),
        epilog=(
            "Set SKDIGITS_NUM_THREADS to limit the CPU threads TensorFlow uses, "
            "TF_CPP_MIN_LOG_LEVEL (or --verbose) to see TensorFlow's log lines. "
            "Run 'skdigits COMMAND --help' for each command's options."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"skdigits {__version__}"
    )
    commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", required=True, parser_class=_Parser
    )

    train = commands.add_parser(
        "train",
        help="fit a classifier and write it to a model file",
        description=(
            "Fit a CNNDigitClassifier on MNIST's 60,000 training images (read "
            "from the scikit-learn data home, downloaded there if missing) or on "
            "scikit-learn's bundled 8x8 digits (offline; 75%% of them, the other "
            "25%% being the held-out set of 'evaluate'), and write it to a model "
            "file (skdigits.save_model). The estimator's defaults suit MNIST; for "
            "the 8x8 digits train sets "
            + ", ".join(f"{k}={v}" for k, v in DATASET_PARAMS["digits"].items())
            + " (small data needs more, smaller steps; small images no "
            "augmentation) unless --set says otherwise."
        ),
    )
    train.add_argument(
        "--dataset",
        choices=DATASETS,
        default="mnist",
        help="the training images (default: %(default)s)",
    )
    _add_data_home(train)
    train.add_argument(
        "-o",
        "--output",
        default=DEFAULT_OUTPUT,
        metavar="PATH",
        help="the model file to write (default: %(default)s)",
    )
    train.add_argument(
        "--set",
        dest="params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=(
            "an estimator parameter of skdigits.CNNDigitClassifier, e.g. "
            "--set epochs=5 --set filters=32,64 (a tuple) "
            "--set callbacks__early_stopping__patience=2; VALUE is read as a "
            "Python literal, else as a string. Repeat for several."
        ),
    )
    train.add_argument(
        "--random-state",
        type=int,
        default=None,
        metavar="INT",
        help="seed, for a reproducible fit (default: a random one)",
    )
    train.add_argument(
        "--verbose",
        action="store_true",
        help=(
            "report every epoch even when the output is not a terminal (on a "
            "terminal a progress bar is shown anyway), and show TensorFlow's "
            "log lines"
        ),
    )
    train.add_argument(
        "--plot-history",
        metavar="PATH",
        help="also write the learning curves as an image (e.g. history.png)",
    )
    train.set_defaults(run=_train)

    evaluate = commands.add_parser(
        "evaluate",
        help="measure a model on held-out test images",
        description=(
            "Print the accuracy and the per-class report of a model on the test "
            "images of its dataset: MNIST's 10,000 test images, or the 25%% of "
            "scikit-learn's 8x8 digits that 'train --dataset digits' held out."
        ),
    )
    evaluate.add_argument("model", metavar="MODEL", help="a model file")
    evaluate.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="the test images (default: the dataset the model was trained on)",
    )
    _add_data_home(evaluate)
    evaluate.add_argument(
        "--confusion-matrix",
        metavar="PATH",
        help="also write the confusion matrix as an image (e.g. cm.png)",
    )
    evaluate.add_argument(
        "--samples",
        metavar="PATH",
        help="also write a grid of test images with their predictions",
    )
    evaluate.add_argument(
        "--mistakes-only",
        action="store_true",
        help="show only misclassified images in --samples",
    )
    _add_verbose(evaluate)
    evaluate.set_defaults(run=_evaluate)

    predict = commands.add_parser(
        "predict",
        help="classify digit image files",
        description=(
            "Classify image files (PNG, JPEG, ...; any size, dark ink on light "
            "paper or light on dark). Each image is brought to the model's input "
            "form with skdigits.preprocessing.MNISTNormalizer: for a model of "
            "28x28 images, MNIST's (the digit fitted to a 20x20 box, centred by "
            "centre of mass); for another size, e.g. a model trained on 8x8 "
            "digits, the digit fitted to the whole frame, as in scikit-learn's "
            "digits. Grey levels are scaled to the range the model was fit on. "
            "An image without ink (blank paper) is reported as 'blank', not "
            "classified."
        ),
    )
    predict.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    _add_model_option(predict)
    predict.add_argument(
        "--json",
        action="store_true",
        help=(
            "print a JSON list of {path, label, probability, probabilities} "
            "instead of text (all three null for a blank image)"
        ),
    )
    _add_verbose(predict)
    predict.set_defaults(run=_predict)

    export = commands.add_parser(
        "export",
        help="write a model's network to an ONNX file",
        description=(
            "Write the network of a model file to an ONNX file "
            "(skdigits.export_onnx), with the classes and input layout in its "
            "metadata, for prediction with onnxruntime, without TensorFlow: "
            "'skdigits predict --model MODEL.onnx ...', skdigits.load_onnx, or "
            "any ONNX runtime. The model file's metadata (its dataset) is kept. Needs "
            "tf2onnx and onnx (pip install 'skdigits[onnx]')."
        ),
    )
    export.add_argument("model", metavar="MODEL", help="a model file")
    export.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="the ONNX file to write, ending in .onnx (default: MODEL with .onnx)",
    )
    export.add_argument(
        "--opset",
        type=int,
        default=None,
        metavar="INT",
        help="the ONNX opset of the graph (default: tf2onnx's, 15)",
    )
    _add_verbose(export)
    export.set_defaults(run=_export)

    read = commands.add_parser(
        "read",
        help="read the digits of form fields (one line of digits per image)",
        description=(
            "Read the digits of image files of form fields: a postcode, an "
            "amount, a date, an ID (one line of 1 to about 20 digits, handwritten "
            "or printed, dark on light or light on dark; box lines, underlines "
            "and specks are ignored; touching digits are split). Prints each "
            "file's digits and the lowest probability among them; digits below "
            "--reject-threshold are marked rejected (not sure). An image without "
            "digits reads as '(no digits)'. See skdigits.read_digits."
        ),
    )
    read.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    _add_model_option(
        read,
        tta_default="the model's own tta_shift; 0 for the shipped model, which "
        "reads fields as well without, in two thirds of the time",
    )
    read.add_argument(
        "--reject-threshold",
        type=_probability,
        default=None,
        metavar="P",
        help=(
            "mark digits read with a probability below P as rejected "
            "(default: that of skdigits.read_digits, 0.9)"
        ),
    )
    read.add_argument(
        "--verifier",
        default="auto",
        metavar="FILE",
        help=(
            "the segmentation verifier that judges how touching digits are cut: "
            "'auto' (default: the one that ships with skdigits), 'none', or a "
            "model or .onnx file of a classifier with a class 10 (not one digit)"
        ),
    )
    read.add_argument(
        "--json",
        action="store_true",
        help=(
            "print a JSON list of {path, text, min_probability, rejected, digits: "
            "[{label, probability, box: [x0, y0, x1, y1], rejected}]} instead of text"
        ),
    )
    _add_verbose(read)
    read.set_defaults(run=_read)
    return parser


def _add_model_option(
    parser, tta_default="the model's own tta_shift (the shipped model's is 1)"
):
    parser.add_argument(
        "-m",
        "--model",
        metavar="MODEL",
        help=(
            "a model file, or an ONNX file of 'skdigits export' (.onnx), which "
            "predicts with onnxruntime, without TensorFlow (default: the model "
            "that ships with skdigits, fitted on MNIST: skdigits.load_pretrained)"
        ),
    )
    parser.add_argument(
        "--tta-shift",
        type=_count,
        default=None,
        metavar="N",
        help=(
            "predict with test-time augmentation by N pixels (0: none, about five "
            f"times faster); default: {tta_default}"
        ),
    )


def _count(text):
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text!r}")
    return value


def _with_tta_shift(estimator, shift):
    """``estimator`` predicting with ``shift`` (``--tta-shift``), if given."""
    if shift is None:
        return estimator
    if hasattr(estimator, "tta_shift_"):  # an ONNX file's, read from the file
        estimator.tta_shift_ = shift
        return estimator
    return estimator.set_params(tta_shift=shift)


def _probability(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def _add_verbose(parser):
    parser.add_argument(
        "--verbose",
        action="store_true",
        help=(
            "show all of TensorFlow's log lines (else those TF_CPP_MIN_LOG_LEVEL "
            "allows: none unless it is set)"
        ),
    )


def _add_data_home(parser):
    parser.add_argument(
        "--data-home",
        metavar="DIR",
        help=(
            "the scikit-learn data home holding mnist/ (default: "
            "$SCIKIT_LEARN_DATA, else ~/scikit_learn_data)"
        ),
    )


# ----------------------------------------------------------------------
# commands


def _train(args):
    params = DATASET_PARAMS.get(args.dataset, {}) | _parse_params(args.params)
    _check_param_names(params)
    if args.random_state is not None:
        params["random_state"] = args.random_state
    if "verbose" not in params:
        params["verbose"] = 1 if sys.stdout.isatty() else 2 if args.verbose else 0
    # Everything the user gave is checked before the data is read.
    _check_output(args.output)
    if args.plot_history:
        _check_figure_path(args.plot_history)
        _plotting()
    _start_tensorflow(args.verbose)
    estimator = _make_estimator(params)

    X, y, description = _load_data(args.dataset, "train", args.data_home)
    start = time.perf_counter()
    estimator.fit(X, y)
    seconds = time.perf_counter() - start

    from ._serialization import save_model

    metadata = {"dataset": args.dataset, "n_train": len(X)}
    if args.dataset == "digits":
        metadata["split"] = dict(DIGITS_SPLIT)
    save_model(estimator, args.output, metadata=metadata)

    history = estimator.history_
    best = estimator.best_epoch_
    lines = [
        ("dataset", f"{description}, {len(X)} training images"),
        ("epochs run", f"{len(history['loss'])} of {estimator.epochs}"),
        ("best epoch", str(best)),
    ]
    if "val_accuracy" in history:
        lines.append(
            ("validation accuracy", f"{history['val_accuracy'][best - 1]:.4f}")
        )
    else:
        lines.append(("validation accuracy", "none (validation_split=0)"))
    lines += [("fit time", f"{seconds:.1f} s"), ("model written", args.output)]
    if args.plot_history:
        display = _plotting().TrainingHistoryDisplay.from_estimator(estimator)
        _save_figure(display.figure_, args.plot_history)
        lines.append(("learning curves", args.plot_history))
    _print_table(lines)
    return 0


def _evaluate(args):
    for path in (args.confusion_matrix, args.samples):
        if path:
            _check_figure_path(path)
    if args.samples:
        _plotting()
    estimator, metadata = _load_model(args.model, verbose=args.verbose)
    dataset = args.dataset or metadata.get("dataset") or _guess_dataset(estimator)
    if dataset not in DATASETS:
        raise CommandError(
            f"{args.model} was trained on {dataset!r}, which evaluate does not "
            f"know; choose the test images with --dataset ({', '.join(DATASETS)})"
        )
    X, y, description = _load_data(
        dataset, "test", args.data_home, split=metadata.get("split")
    )
    _check_input_size(estimator, X, dataset)

    from sklearn.metrics import accuracy_score, classification_report

    y_pred = estimator.predict(X)
    print(f"model:    {args.model}")
    print(f"dataset:  {description}, {len(X)} test images")
    print(f"accuracy: {accuracy_score(y, y_pred):.4f}")
    print()
    print(classification_report(y, y_pred, digits=4, zero_division=0))

    figures = []
    if args.confusion_matrix:
        _headless()
        from sklearn.metrics import ConfusionMatrixDisplay

        display = ConfusionMatrixDisplay.from_predictions(y, y_pred)
        display.ax_.set_title(f"Confusion matrix, {description} test images")
        figures.append((display.figure_, args.confusion_matrix))
    if args.samples:
        display = _plotting().SamplePredictionsDisplay.from_estimator(
            estimator, X, y, mistakes_only=args.mistakes_only
        )
        figures.append((display.figure_, args.samples))
    for figure, path in figures:
        _save_figure(figure, path)
        print(f"written:  {path}")
    return 0


def _predict(args):
    args.model = _model_path(args.model)
    _check_model_file(args.model)
    images = _read_image_files(args.images)
    estimator, _ = _load_model(args.model, verbose=args.verbose)
    estimator = _with_tta_shift(estimator, args.tta_shift)
    X = _to_model_input(images, estimator)
    # The normaliser gives an image without ink (blank paper, or nothing
    # left after its background cleaning) as all zeros: no digit to classify.
    inked = X.reshape(len(X), -1).any(axis=1)
    proba = iter(estimator.predict_proba(X[inked]) if inked.any() else [])
    classes = estimator.classes_
    results = []
    for path, has_ink in zip(args.images, inked, strict=True):
        if not has_ink:
            results.append(
                {
                    "path": path,
                    "label": None,
                    "probability": None,
                    "probabilities": None,
                }
            )
            continue
        row = next(proba)
        best = int(row.argmax())
        results.append(
            {
                "path": path,
                "label": _json_label(classes[best]),
                "probability": float(row[best]),
                "probabilities": {
                    str(_json_label(c)): float(p)
                    for c, p in zip(classes, row, strict=True)
                },
            }
        )
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        width = max(len(r["path"]) for r in results)
        for r in results:
            if r["label"] is None:
                print(f"{r['path']:<{width}}  blank  (no ink found)")
            else:
                p = r["probability"]
                print(f"{r['path']:<{width}}  {r['label']}  (p={p:.3f})")
    return 0


def _export(args):
    output = args.output or os.path.splitext(args.model)[0] + ".onnx"
    if not _is_onnx(output):
        raise CommandError(
            f"cannot write {output!r}: an ONNX file's name ends in .onnx, which "
            "'skdigits predict' recognises"
        )
    if os.path.exists(args.model) and os.path.exists(output):
        if os.path.samefile(args.model, output):
            raise CommandError(f"cannot write {output!r}: it is the model file")
    if _is_onnx(args.model):
        raise CommandError(
            f"{args.model!r} is an ONNX file already: export takes a model file "
            "written by 'skdigits train' or skdigits.save_model"
        )
    from ._onnx import MIN_OPSET  # no TensorFlow: checked before it starts

    if args.opset is not None and args.opset < MIN_OPSET:
        raise CommandError(f"--opset must be at least {MIN_OPSET}, got {args.opset}")
    _check_model_file(args.model)
    _check_output(output)
    estimator, metadata = _load_model(args.model, verbose=args.verbose)

    from ._onnx import export_onnx

    start = time.perf_counter()
    try:
        export_onnx(estimator, output, target_opset=args.opset, metadata=metadata)
    except ImportError as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        if "target_opset" not in str(exc):
            raise
        raise CommandError(str(exc).replace("target_opset", "--opset")) from None
    seconds = time.perf_counter() - start
    height, width, channels = estimator.image_shape_
    _print_table(
        [
            ("model", args.model),
            ("input", f"images of {height}x{width}x{channels}, float32"),
            ("classes", " ".join(str(_json_label(c)) for c in estimator.classes_)),
            ("export time", f"{seconds:.1f} s"),
            ("ONNX file written", f"{output} ({os.path.getsize(output):,} bytes)"),
        ]
    )
    return 0


def _read(args):
    from .reading import _read

    if args.model is None and args.tta_shift is None:
        args.tta_shift = 0  # as read_digits reads with the shipped model
    args.model = _model_path(args.model)
    _check_model_file(args.model)
    verifier = {"auto": "auto", "none": None}.get(args.verifier, args.verifier)
    if verifier not in ("auto", None):
        _check_model_file(verifier)
    images = _read_image_files(args.images, max_pixels=_read.DEFAULT_MAX_PIXELS)
    estimator, _ = _load_model(args.model, verbose=args.verbose)
    estimator = _with_tta_shift(estimator, args.tta_shift)
    if verifier not in ("auto", None):
        verifier, _ = _load_model(verifier, verbose=args.verbose)
    from .reading import read_digits

    options = {"verifier": verifier}
    if args.reject_threshold is not None:
        options["reject_threshold"] = args.reject_threshold
    readings = read_digits(images, classifier=estimator, **options)
    results = []
    for path, reading in zip(args.images, readings, strict=True):
        digits = [
            {
                "label": _json_label(label),
                "probability": float(p),
                "box": [int(v) for v in box],
                "rejected": bool(rejected),
            }
            for label, p, box, rejected in zip(
                reading.labels,
                reading.confidence,
                reading.boxes,
                reading.rejected,
                strict=True,
            )
        ]
        results.append(
            {
                "path": path,
                "text": reading.text,
                "min_probability": float(reading.confidence.min())
                if len(reading.text)
                else None,
                "rejected": reading.any_rejected,
                "digits": digits,
            }
        )
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    width = max(len(r["path"]) for r in results)
    for r in results:
        if not r["text"]:
            print(f"{r['path']:<{width}}  (no digits)")
            continue
        line = f"{r['path']:<{width}}  {r['text']}  (min p={r['min_probability']:.3f})"
        rejected = [
            f"{d['label']} at {i + 1} (p={d['probability']:.3f})"
            for i, d in enumerate(r["digits"])
            if d["rejected"]
        ]
        if rejected:
            line += "  rejected: " + ", ".join(rejected)
        print(line)
    return 0


# ----------------------------------------------------------------------
# helpers


def _parse_params(items):
    """``["key=value", ...]`` as a dict, values read as Python literals."""
    params = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(
                f"--set expects KEY=VALUE (e.g. --set epochs=5), got {item!r}"
            )
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            value = text
        params[key] = value
    return params


def _check_param_names(params):
    """Refuse ``--set`` names the estimator does not take, before TensorFlow.

    The names come from the source of ``CNNDigitClassifier.__init__`` and of
    the table of default callbacks (:func:`_static_param_names`), so a typo
    is reported at once, without the seconds of importing TensorFlow. An
    argument of a default callback (``callbacks__<name>__<argument>``) is a
    Keras callback's, known only to Keras: set_params checks it later.
    """
    names = _static_param_names()
    if names is None:  # no source to read: set_params checks every name
        return
    parameters, callbacks = names
    prefix = "callbacks__"
    for key in params:
        if key in parameters:
            continue
        if key.startswith(prefix):
            name, sep, argument = key[len(prefix) :].partition("__")
            if name in callbacks and sep and argument:
                continue
            close = difflib.get_close_matches(name, callbacks, n=1, cutoff=0.6)
            hint = ""
            if close:
                suggestion = f"{prefix}{close[0]}__{argument or 'ARGUMENT'}"
                hint = f" Did you mean {suggestion!r}?"
            raise CommandError(
                f"invalid callback parameter {key!r}: callback parameters are "
                f"{prefix}NAME__ARGUMENT with NAME one of {', '.join(callbacks)} "
                f"and ARGUMENT an argument of that callback.{hint}"
            )
        close = difflib.get_close_matches(key, parameters, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise CommandError(
            f"invalid parameter {key!r} for CNNDigitClassifier.{hint} Its "
            f"parameters are {', '.join(parameters)}, and {prefix}NAME__ARGUMENT "
            f"for the default callbacks {', '.join(callbacks)}"
        )


def _static_param_names():
    """The estimator's parameter names, read from its source without importing it.

    Importing :mod:`skdigits._classifier` imports TensorFlow. Its source
    says the same: the arguments of ``CNNDigitClassifier.__init__`` and the
    keys of ``DEFAULT_CALLBACKS`` in :mod:`skdigits._callbacks`, the names
    ``get_params`` lists (tested).

    Returns
    -------
    tuple of (list of str, list of str) or None
        The parameter names and the default callbacks' names, or None where
        the source cannot be read (an installation without ``.py`` files).
    """
    try:
        classifier = _parse_source("_classifier")
        callbacks_module = _parse_source("_callbacks")
    except (ImportError, OSError, SyntaxError, ValueError):
        return None
    parameters, callbacks = [], []
    for node in classifier.body:
        if isinstance(node, ast.ClassDef) and node.name == "CNNDigitClassifier":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    arguments = item.args.args[1:] + item.args.kwonlyargs
                    parameters = [a.arg for a in arguments]
    for node in callbacks_module.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Dict)
            and any(getattr(t, "id", None) == "DEFAULT_CALLBACKS" for t in node.targets)
        ):
            callbacks = [
                key.value
                for key in node.value.keys
                if isinstance(key, ast.Constant) and isinstance(key.value, str)
            ]
    if not parameters or not callbacks:
        return None
    return parameters, callbacks


def _parse_source(module):
    """The syntax tree of a module of this package, which is not imported."""
    spec = importlib.util.find_spec(f"{__package__}.{module}")
    origin = getattr(spec, "origin", None)
    if not origin or not origin.endswith(".py"):
        raise ValueError(f"no source for {module}")
    with open(origin, "rb") as file:
        return ast.parse(file.read(), origin)


def _make_estimator(params):
    """A CNNDigitClassifier with ``params``, checked as fit would check them."""
    from ._classifier import CNNDigitClassifier

    estimator = CNNDigitClassifier()
    estimator.set_params(**params)  # unknown names: "Did you mean ...?"
    estimator._check_params()  # bad values, before any data is read
    return estimator


def _check_output(path):
    """Fail early, before any work, if ``path`` cannot be written."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"cannot write {path!r}: no such directory {directory!r}")
    if os.path.isdir(path):
        raise CommandError(f"cannot write {path!r}: it is a directory")
    if not os.access(directory, os.W_OK):
        raise CommandError(
            f"cannot write {path!r}: directory {directory!r} is read-only"
        )


def _check_figure_path(path):
    """Fail early if ``path`` cannot be written or has no image extension."""
    _check_output(path)
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    extension = os.path.splitext(path)[1].lstrip(".").lower()
    if extension not in formats:
        raise CommandError(
            f"cannot write a figure to {path!r}: give it an image extension, "
            f"one of {', '.join('.' + f for f in sorted(formats))}"
        )


def _is_onnx(path):
    """Whether the command line reads ``path`` as an ONNX file: by its name."""
    return os.fspath(path).lower().endswith(".onnx")


def _read_image_files(paths, **caps):
    """The images of ``paths`` (load_digit_images), before TensorFlow starts.

    Every file is read, or refused naming it, first; a warning (e.g. that
    of an animated GIF, whose first frame is read) is one line on stderr.
    """
    from .preprocessing import load_digit_images

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        images = load_digit_images(paths, **caps)
    for warning in caught:
        print(f"skdigits: warning: {warning.message}", file=sys.stderr)
    return images


def _model_path(path):
    """The model file a command uses: ``--model``, or the shipped model."""
    if path is not None:
        return path
    from ._pretrained import pretrained_path

    path = pretrained_path()
    if not os.path.isfile(path):
        raise CommandError(
            f"skdigits' pretrained model {path} is missing from this "
            "installation: reinstall skdigits, or give a model with --model"
        )
    return path


def _check_model_file(path):
    """Fail early, before TensorFlow starts, if ``path`` is not a model file.

    An ONNX file is checked when :func:`_load_model` loads it, which needs no
    TensorFlow; here, only that it exists.
    """
    if _is_onnx(path):
        if not os.path.exists(path):
            raise FileNotFoundError(f"No such ONNX file: {path!r}")
        return
    from ._serialization import open_model_file

    archive, _, _ = open_model_file(path)
    archive.close()


def _load_model(path, *, verbose=False):
    """The estimator and metadata of the model a command is given.

    The one loader of the commands that take a model: a model file
    (:func:`~skdigits.load_model`, after TensorFlow starts quietly) or an
    ONNX file, named ``*.onnx`` (:func:`~skdigits.load_onnx`: an
    :class:`~skdigits.OnnxDigitClassifier`, and TensorFlow is not imported).
    Both have ``classes_``, ``image_shape_``, ``input_scale_``,
    ``predict`` and ``predict_proba``.

    Parameters
    ----------
    path : str
        The file given on the command line.
    verbose : bool, default=False
        Show TensorFlow's log lines as it starts (``--verbose``).

    Returns
    -------
    estimator : CNNDigitClassifier or OnnxDigitClassifier
    metadata : dict
        The metadata saved with the model (e.g. its ``dataset``).
    """
    if _is_onnx(path):
        from ._onnx_predictor import load_onnx

        try:
            return load_onnx(path, return_metadata=True)
        except ImportError as exc:
            raise CommandError(str(exc)) from None
    _check_model_file(path)
    _start_tensorflow(verbose)
    from ._serialization import load_model

    return load_model(path, return_metadata=True)


def _guess_dataset(estimator):
    return "mnist" if tuple(estimator.image_shape_) == (28, 28, 1) else "digits"


def _load_data(dataset, subset, data_home, split=None):
    """``(X, y, description)`` of a dataset's train or test images."""
    if dataset == "mnist":
        from . import datasets

        X, y = datasets.fetch_mnist(subset=subset, data_home=data_home, return_X_y=True)
        return X, y, "MNIST"
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    split = {**DIGITS_SPLIT, **(split if isinstance(split, dict) else {})}
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=split["test_size"],
        random_state=split["random_state"],
        stratify=y,
    )
    description = "scikit-learn 8x8 digits"
    if subset == "train":
        return X_train, y_train, description
    return X_test, y_test, f"{description} (held out)"


def _check_input_size(estimator, X, dataset):
    n_features = X.shape[1]
    if n_features != estimator.n_features_in_:
        raise CommandError(
            f"the model takes images of {estimator.n_features_in_} values "
            f"({'x'.join(map(str, estimator.image_shape_))}) but {dataset} images "
            f"have {n_features}; choose the model's dataset with --dataset"
        )


def _to_model_input(images, estimator):
    """Digit images of any size as the model's input: ``(n, height, width)``.

    :class:`~skdigits.preprocessing.MNISTNormalizer` puts each digit in MNIST
    form (white on black, centred by centre of mass). A 28x28 model gets
    exactly that, with strokes brought to MNIST's width; a model of another
    square size ``s`` gets the digit fitted to the whole ``s x s`` frame
    (``box_size=output_size=s``), the layout of
    scikit-learn's 8x8 digits, which span the full height of their frame. The
    0-255 grey levels are then scaled to the model's range, ``input_scale_``
    (16 for the 8x8 digits).
    """
    from .preprocessing import MNISTNormalizer

    height, width, channels = estimator.image_shape_
    if height != width or channels != 1:
        raise CommandError(
            "predict handles models of square one-channel images; this model "
            f"takes {height}x{width} images with {channels} channels"
        )
    from .preprocessing._normalizer import MNIST_STROKE_WIDTH

    mnist = height == 28
    normalizer = MNISTNormalizer(
        box_size=20 if mnist else height,
        output_size=height,
        # MNIST's pen: measured on rendered printed digits, 0.87 -> 0.97.
        stroke_width=MNIST_STROKE_WIDTH if mnist else None,
        flatten=False,
    )
    X = normalizer.fit_transform(images).astype("float64")
    return X * (estimator.input_scale_ / 255.0)


def _json_label(label):
    return label.item() if hasattr(label, "item") else label


def _plotting():
    """The skdigits.plotting module, or a clear error if it is missing."""
    _headless()
    try:
        from . import plotting
    except ImportError as exc:
        raise CommandError(
            f"figures need skdigits.plotting, which cannot be imported ({exc})"
        ) from None
    return plotting


def _headless():
    """Draw figures off-screen (Agg) unless pyplot is already in use."""
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def _save_figure(figure, path):
    """Write a matplotlib figure atomically, in the format of the extension."""
    import matplotlib.pyplot as plt

    from ._serialization import atomic_path

    extension = os.path.splitext(path)[1].lstrip(".").lower()
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format=extension, dpi=100)
    finally:
        plt.close(figure)


def _start_tensorflow(verbose=False):
    """Import TensorFlow, keeping its log lines off stderr; apply the threads.

    TensorFlow writes 5 to 10 lines to stderr as it starts (absl's banner,
    oneDNN, CUDA stubs, CPU features, the failed cuInit of a machine without
    a GPU driver). Unless the user asks for them (``--verbose``, or a
    ``TF_CPP_MIN_LOG_LEVEL`` of their own, which is kept), the level is set
    to 3 (fatal errors only) before TensorFlow is imported. That level does
    not reach the lines its libraries log as they load, before absl's logging
    is set up: those are read from stderr while TensorFlow is imported
    (:func:`_tensorflow_log_filtered`), and the ones below the level dropped.
    """
    if "tensorflow" not in sys.modules:
        try:
            if verbose:
                import tensorflow  # noqa: F401
            else:
                os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
                with _tensorflow_log_filtered(os.environ["TF_CPP_MIN_LOG_LEVEL"]):
                    import tensorflow  # noqa: F401
        except ImportError as exc:  # an inference-only install (see ONNX docs)
            raise CommandError(
                f"this command needs TensorFlow, which cannot be imported ({exc}): "
                "install tensorflow, or give an ONNX model (.onnx) with --model"
            ) from None
    from . import _runtime

    try:
        _runtime.set_num_threads()
    except RuntimeError:  # already running in this process (main() called twice)
        pass


# A line of absl's (and glog's) log format: "I0000 00:00:1796121166.013041
# 13800 port.cc:153] message", its first letter the severity.
_ABSL_LINE = re.compile(r"[IWEF]\d{4} [\d:.]+ +\d+ [^\]\s]+:\d+\] ")
_ABSL_BANNER = "WARNING: All log messages before absl::InitializeLog() is called"


@contextlib.contextmanager
def _tensorflow_log_filtered(level):
    """Drop TensorFlow's log lines below ``level`` from stderr, in the block.

    What the block writes to file descriptor 2 is caught in a temporary file;
    at its end, absl log lines of a severity below ``level`` (0 info, 1
    warning, 2 error, 3 fatal; as ``TF_CPP_MIN_LOG_LEVEL``) are dropped, with
    their continuation lines and absl's banner, and the rest is written to
    stderr. If the block raises, everything is written, for the user to see
    why.
    """
    try:
        level = int(level)
    except ValueError:
        level = 0
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no stderr file descriptor
        yield
        return
    try:
        caught = tempfile.TemporaryFile()
    except OSError:  # nowhere to write it: let it through
        os.close(saved)
        yield
        return
    failed = False
    with caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        except Exception:  # not KeyboardInterrupt: nothing to explain then
            failed = True
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            text = caught.read().decode(errors="replace")
            if not failed:
                text = _drop_log_lines(text, level)
            if text:
                sys.stderr.write(text)
                sys.stderr.flush()


def _drop_log_lines(text, level):
    """``text`` without its absl log lines of severity below ``level``."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(_ABSL_BANNER):
            dropping = level > 0
        elif _ABSL_LINE.match(line):
            dropping = "IWEF".index(line[0]) < level
        if not dropping:
            kept.append(line)
    return "".join(kept)


def _print_table(lines):
    width = max(len(name) for name, _ in lines) + 1
    for name, value in lines:
        print(f"{name + ':':<{width}} {value}")

"""Accuracy of an MNIST-trained CNNDigitClassifier on digits that are not MNIST.

Two sets go through :class:`skdigits.preprocessing.MNISTNormalizer` and the
classifier: scikit-learn's 1,797 bundled 8x8 digits, and printed digits
rendered with Pillow in many styles (dark on light, sizes, strokes, offsets,
rotation, noise), written to PNG files and read back with
:func:`skdigits.preprocessing.load_digit_images`, as a user's files would be.

Run (MNIST in the scikit-learn data home)::

    python benchmarks/real_digits.py                    # trains the default model
    python benchmarks/real_digits.py --model model.zip  # or uses a saved one
    python benchmarks/real_digits.py --smoke            # seconds, for CI
    python benchmarks/real_digits.py --model model.zip --stroke-width none 2.5

Each ``--stroke-width`` (``none`` or pixels, default both ``none`` and
``MNIST_STROKE_WIDTH``) is one normalizer and one column of the table.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
from _digit_images import render_digits  # noqa: E402

from skdigits import CNNDigitClassifier  # noqa: E402
from skdigits.preprocessing import MNISTNormalizer, load_digit_images  # noqa: E402
from skdigits.preprocessing._normalizer import MNIST_STROKE_WIDTH  # noqa: E402


def _rendered_files(directory, n_per_digit, random_state):
    images, labels = render_digits(n_per_digit, random_state=random_state)
    paths = []
    for i, image in enumerate(images):
        path = os.path.join(directory, f"digit_{i:04d}_{labels[i]}.png")
        Image.fromarray(image).save(path)
        paths.append(path)
    return paths, np.asarray(labels)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model file from skdigits.save_model")
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--n-per-digit", type=int, default=50)
    parser.add_argument(
        "--stroke-width",
        nargs="+",
        type=lambda v: None if v.lower() == "none" else float(v),
        default=[None, MNIST_STROKE_WIDTH],
        metavar="W",
        help="MNISTNormalizer stroke_width values to compare ('none' or pixels)",
    )
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    if args.model:
        from skdigits import load_model

        clf = load_model(args.model)
    else:
        from skdigits.datasets import fetch_mnist

        X, y = fetch_mnist(subset="train", return_X_y=True)
        params = {"random_state": 0}
        if args.smoke:
            X, y = X[:2000], y[:2000]
            params.update(filters=(8,), dense_units=16, epochs=1)
        start = time.perf_counter()
        clf = CNNDigitClassifier(**params).fit(X, y)
        seconds = time.perf_counter() - start
        print(f"trained on {len(X)} MNIST images in {seconds:.0f} s")

    digits = load_digits()
    X8, y8 = digits.images, digits.target
    if args.smoke:
        X8, y8 = X8[:100], y8[:100]
    n_per_digit = 2 if args.smoke else args.n_per_digit
    with tempfile.TemporaryDirectory() as directory:
        paths, labels = _rendered_files(directory, n_per_digit, random_state=0)
        images = load_digit_images(paths)
    sets = {"sklearn_8x8_digits": (X8, y8), "rendered_png_files": (images, labels)}

    results = {}
    for name, (X, y) in sets.items():
        results[name] = {"n": len(y), "accuracy": {}}
        for width in args.stroke_width:
            normalizer = MNISTNormalizer(stroke_width=width)
            accuracy = float(clf.score(normalizer.transform(X), y))
            results[name]["accuracy"][f"stroke_width={width}"] = accuracy

    columns = [f"stroke_width={w}" for w in args.stroke_width]
    print(f"{'data':<22}{'n':>6}" + "".join(f"{c:>20}" for c in columns))
    for name, row in results.items():
        cells = "".join(f"{row['accuracy'][c]:>20.4f}" for c in columns)
        print(f"{name:<22}{row['n']:>6}{cells}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()

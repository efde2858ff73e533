"""Reading digit fields with skdigits.read_digits: accuracy, rejection, speed.

Fields no one tuned on, read by an MNIST-trained model:

- ``separated``: 3 to 8 MNIST **test** digits (never seen in training) in a
  line, gaps of 2 to 12 pixels, dark ink on light paper, each digit scaled
  (digit size 18-44 pixels a field, +-8% a digit) and rotated up to 6
  degrees, paper noise, a few specks, a third in a box and a third over an
  underline; ``separated_5``: the same with 5 digits each (the target's).
- ``touching``: the same, but neighbours' ink boxes touch or overlap by 0
  to 3 pixels.
- ``printed``: numbers of 3 to 8 digits rendered in the machine's fonts
  (``/usr/share/fonts`` and matplotlib's bundled DejaVu), 16-60 pixels.

Per category: exact-string accuracy, per-digit accuracy (1 - edit distance
/ length, so a missed or an extra digit costs one), and how well
``rejected`` catches wrong strings at the threshold (the fraction of wrong
strings with a rejected digit, and of right strings with one). Then the
median time to read one 6-digit field, model loaded. ``--tune`` instead
prints the rejection trade-off on fields of MNIST *training* digits and
printed fields of other seeds: where ``DEFAULT_REJECT_THRESHOLD`` was chosen.

Run from the repository root (MNIST in the scikit-learn data home)::

    python benchmarks/bench_reading.py                     # the pretrained model
    python benchmarks/bench_reading.py --model model.zip   # another model file
    python benchmarks/bench_reading.py --tune --model model.zip
    python benchmarks/bench_reading.py --verifier none     # no segmentation verifier
    python benchmarks/bench_reading.py --smoke             # seconds, for CI

Results go to ``benchmarks/results/bench_reading.json`` (``--name``, ``--json``).
"""

import argparse
import glob
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from _digit_fields import compose_field, render_number  # noqa: E402
from _digit_images import font_files  # noqa: E402
from bench_mnist import check_targets, header, print_title, write_json  # noqa: E402

FULL_SIZES = {"n_fields": 500, "latency_calls": 120}
SMOKE_SIZES = {"n_fields": 6, "latency_calls": 3}
SEED = 0  # the test fields' seed; --tune uses others

TARGETS = [
    ("separated per-digit accuracy", ("separated", "digit_accuracy"), ">=", 0.99),
    ("separated 5-digit exact", ("separated_5", "exact"), ">=", 0.96),
    ("touching exact", ("touching", "exact"), ">=", 0.90),
    ("printed exact", ("printed", "exact"), ">=", 0.98),
    ("wrong strings rejected", ("all", "wrong_rejected"), ">=", 0.5),
    ("right strings rejected", ("all", "right_rejected"), "<=", 0.05),
    ("6-digit field read (ms)", ("latency", "median_ms"), "<=", 20.0),
]


def printed_fonts():
    """The machine's text fonts and matplotlib's bundled DejaVu fonts."""
    import matplotlib

    bundled = glob.glob(
        os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVu*.ttf")
    )
    # DejaVu Sans/Serif Display hold a few glyphs, no digits: skipped.
    fonts = {os.path.basename(p): p for p in bundled if "Display" not in p}
    fonts.update({os.path.basename(p): p for p in font_files()})
    return sorted(fonts.values())


def make_fields(category, n_fields, X, y, seed, fonts, return_boxes=False):
    """``(images, truths)`` of one category, and the digits' boxes if asked."""
    rng = np.random.RandomState(seed)
    images, truths, boxes = [], [], []
    for _ in range(n_fields):
        n_digits = 5 if category == "separated_5" else rng.randint(3, 9)
        if category == "printed":
            text = "".join(str(d) for d in rng.randint(0, 10, n_digits))
            image, _, box = render_number(text, rng, fonts=fonts, return_boxes=True)
        else:
            chosen = rng.randint(0, len(X), n_digits)
            text = "".join(str(d) for d in y[chosen])
            gap = (-3, 0) if category == "touching" else (2, 12)
            image, box = compose_field(X[chosen], rng, gap=gap, frame="random")
        images.append(image)
        truths.append(text)
        boxes.append(np.asarray(box))
    return (images, truths, boxes) if return_boxes else (images, truths)


def fraction(flags):
    """The mean of a boolean array, None when it is empty."""
    return float(np.mean(flags)) if len(flags) else None


def edit_distance(a, b):
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            )
        previous = current
    return previous[-1]


def score(readings, truths, threshold):
    right = np.array([r.text == t for r, t in zip(readings, truths, strict=True)])
    flagged = np.array([r.any_rejected for r in readings])
    digit = [
        max(0.0, 1 - edit_distance(r.text, t) / len(t))
        for r, t in zip(readings, truths, strict=True)
    ]
    return {
        "n_fields": len(truths),
        "n_digits": int(sum(len(t) for t in truths)),
        "exact": float(right.mean()),
        "digit_accuracy": float(np.mean(digit)),
        "n_wrong": int((~right).sum()),
        "wrong_rejected": fraction(flagged[~right]),
        "right_rejected": fraction(flagged[right]),
        "_right": right,
        "_min_confidence": np.array([r.min_confidence for r in readings]),
        # Rejected for a close-call segmentation, whatever the threshold.
        "_cut_rejected": np.array(
            [bool((r.rejected & (r.confidence >= threshold)).any()) for r in readings]
        ),
    }


def load_classifier(args):
    if args.model:
        from skdigits import load_model

        return load_model(args.model), args.model
    if args.smoke:
        from skdigits import CNNDigitClassifier
        from skdigits.datasets import fetch_mnist

        X, y = fetch_mnist(subset="train", return_X_y=True)
        params = dict(filters=(8,), dense_units=16, epochs=1, random_state=SEED)
        return CNNDigitClassifier(**params).fit(X[:2000], y[:2000]), "smoke CNN"
    from skdigits.reading import _read

    # What read_digits reads with when given no classifier.
    return _read._shipped_reader(), "pretrained, as read_digits uses it (tta_shift=0)"


def set_constants(items):
    """Set reading constants ``NAME=VALUE`` (numbers); the values set, by name.

    Only the constants that ``read_digits`` reads at each call (not those
    that are defaults of its arguments, such as ``DEFAULT_REJECT_THRESHOLD``:
    use ``--threshold``).
    """
    from skdigits.reading import _read, _scoring, _segment

    constants = {}
    for item in items:
        name, _, text = item.partition("=")
        module = next(
            (m for m in (_read, _segment, _scoring) if hasattr(m, name)), None
        )
        old = getattr(module, name, None)
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        numbers = (int, float)
        if (
            name.startswith("DEFAULT_")
            or type(old) not in numbers
            or type(value) not in numbers
            or (isinstance(old, int) and not isinstance(value, int))
        ):
            raise SystemExit(
                f"--set {item!r}: expected NAME=NUMBER for a number constant of "
                "skdigits.reading._read, _segment or _scoring read at each call"
            )
        setattr(module, name, type(old)(value))
        constants[name] = getattr(module, name)
    return constants


def load_verifier(args):
    """The ``verifier`` argument of read_digits that ``--verifier`` names."""
    if args.verifier == "none":
        return None
    if args.verifier == "auto":
        return "auto"
    from skdigits import load_model

    return load_model(args.verifier)


def tradeoff(rows, thresholds):
    """Fraction of wrong and right strings with a digit below each threshold."""
    right = np.concatenate([row["_right"] for row in rows])
    low = np.concatenate([row["_min_confidence"] for row in rows])
    cut = np.concatenate([row["_cut_rejected"] for row in rows])
    table = []
    for threshold in thresholds:
        flagged = (low < threshold) | (cut & (threshold > 0))
        table.append(
            {
                "threshold": threshold,
                "wrong_rejected": float(flagged[~right].mean())
                if (~right).any()
                else None,
                "right_rejected": float(flagged[right].mean()),
            }
        )
    return table


def latency(clf, verifier, X, calls, rounds=5):
    """Milliseconds to read one 6-digit field: the reader as given, and others.

    The ways of reading take turns, ``calls / rounds`` calls each a round, so
    that this machine's slow and fast spells hit them alike: the classifier
    and verifier as given (the row's own numbers), then, where they differ,
    the classifier with ``tta_shift=0``, each without the verifier, and the
    pair in two forward calls instead of read_digits' joint one.
    """
    import copy

    from skdigits.reading import _read, read_digits

    rng = np.random.RandomState(SEED + 7)
    images = [
        compose_field(X[rng.randint(0, len(X), 6)], rng, frame="random")[0]
        for _ in range(10)
    ]
    ways = {"as given": (clf, verifier)}
    if getattr(clf, "tta_shift", 0):
        plain = copy.deepcopy(clf).set_params(tta_shift=0)
        ways["tta_shift=0"] = (plain, verifier)
    if verifier is not None:
        for name, (c, _) in list(ways.items()):
            ways[f"{name}, no verifier"] = (c, None)
    joint = _read._joint_forward
    separate = {}
    if verifier is not None:
        # Whether the pair can run in one call is decided as read_digits does.
        v = _read._resolve_verifier(verifier, clf)
        normalizer, _ = _read._normalizer_for(clf, None)
        if joint(_read._without_tta(clf), v, normalizer) is not None:
            separate["as given, two forward calls"] = True
            ways["as given, two forward calls"] = (clf, verifier)
    times = {name: [] for name in ways}

    def read(name, c, v, image):
        _read._joint_forward = (lambda *args: None) if name in separate else joint
        try:
            read_digits(image, classifier=c, verifier=v)
        finally:
            _read._joint_forward = joint

    for name, (c, v) in ways.items():
        for image in images:  # warm-up: compiled forward passes, caches
            read(name, c, v, image)
    per_round = max(1, calls // rounds)
    for _ in range(rounds):
        for name, (c, v) in ways.items():
            for i in range(per_round):
                start = time.perf_counter()
                read(name, c, v, images[i % len(images)])
                times[name].append(time.perf_counter() - start)
    summary = {
        name: {
            "median_ms": 1000 * statistics.median(t),
            "p90_ms": 1000 * float(np.percentile(t, 90)),
            "calls": len(t),
        }
        for name, t in times.items()
    }
    return {**summary["as given"], "ways": summary}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model file (default: the pretrained one)")
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--tune", action="store_true", help="threshold trade-off")
    parser.add_argument("--n-fields", type=int, help="fields per category")
    parser.add_argument("--threshold", type=float, help="reject_threshold to use")
    parser.add_argument(
        "--verifier",
        default="auto",
        help="a verifier model file, 'auto' (the shipped one) or 'none'",
    )
    parser.add_argument(
        "--set",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=VALUE",
        help="reading constants to try, e.g. PIECE_BIAS=5 SPLIT_WIDTH=0.8 "
        "(of skdigits.reading._read, _segment or _scoring)",
    )
    parser.add_argument("--name", default=None, help="results/NAME.json")
    parser.add_argument("--json", help="write the results to this path")
    args = parser.parse_args(argv)

    from skdigits.datasets import fetch_mnist
    from skdigits.reading import read_digits
    from skdigits.reading._read import DEFAULT_REJECT_THRESHOLD

    sizes = dict(SMOKE_SIZES if args.smoke else FULL_SIZES)
    if args.n_fields:
        sizes["n_fields"] = args.n_fields
    threshold = DEFAULT_REJECT_THRESHOLD if args.threshold is None else args.threshold
    constants = set_constants(args.set)  # checked before the models load
    clf, model = load_classifier(args)
    verifier = load_verifier(args)
    subset = "train" if args.tune else "test"
    X, y = fetch_mnist(subset=subset, return_X_y=True)
    fonts = printed_fonts()
    seed = SEED + 1000 if args.tune else SEED
    config = {
        "smoke": args.smoke,
        "tune": args.tune,
        "model": model,
        "mnist_subset": subset,
        "reject_threshold": threshold,
        "verifier": args.verifier,
        "constants": constants,
        "seed": seed,
        "n_fonts": len(fonts),
        **sizes,
    }
    head = header(config)
    print_title("bench_reading.py", head)
    print(f"model: {model}; MNIST {subset} digits; {len(fonts)} fonts")

    results = {"header": head}
    categories = ["separated", "separated_5", "touching", "printed"]
    for offset, category in enumerate(categories):
        images, truths = make_fields(
            category, sizes["n_fields"], X, y, seed + offset, fonts
        )
        start = time.perf_counter()
        readings = read_digits(
            images, classifier=clf, reject_threshold=threshold, verifier=verifier
        )
        seconds = time.perf_counter() - start
        results[category] = score(readings, truths, threshold)
        results[category]["ms_per_field_batched"] = 1000 * seconds / len(images)
        results[category]["examples_wrong"] = [
            [t, r.text] for r, t in zip(readings, truths, strict=True) if r.text != t
        ][:5]
    rows = [results[c] for c in categories]
    right = np.concatenate([row["_right"] for row in rows])
    flagged = np.concatenate(
        [(row["_min_confidence"] < threshold) | row["_cut_rejected"] for row in rows]
    )
    results["all"] = {
        "n_fields": int(len(right)),
        "exact": float(right.mean()),
        "wrong_rejected": fraction(flagged[~right]),
        "right_rejected": fraction(flagged[right]),
    }
    thresholds = [0.5, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99]
    results["tradeoff"] = tradeoff(rows, thresholds)
    if not args.tune:
        results["latency"] = latency(clf, verifier, X, sizes["latency_calls"])
    for row in rows:
        row.pop("_right")
        row.pop("_min_confidence")
        row.pop("_cut_rejected")

    print(
        f"\n{'fields':<12}{'n':>5}{'digits':>8}{'per-digit':>11}{'exact':>8}"
        f"{'wrong rej.':>12}{'right rej.':>12}{'ms/field':>10}"
    )
    for category in categories:
        r = results[category]
        wrong = "-" if r["wrong_rejected"] is None else f"{r['wrong_rejected']:.2f}"
        right_r = "-" if r["right_rejected"] is None else f"{r['right_rejected']:.3f}"
        print(
            f"{category:<12}{r['n_fields']:>5}{r['n_digits']:>8}"
            f"{r['digit_accuracy']:>11.4f}{r['exact']:>8.3f}{wrong:>12}{right_r:>12}"
            f"{r['ms_per_field_batched']:>10.1f}"
        )
    a = results["all"]
    wrong = "-" if a["wrong_rejected"] is None else f"{a['wrong_rejected']:.2f}"
    right_a = "-" if a["right_rejected"] is None else f"{a['right_rejected']:.3f}"
    print(
        f"{'all':<12}{a['n_fields']:>5}{'':>8}{'':>11}{a['exact']:>8.3f}{wrong:>12}"
        f"{right_a:>12}"
    )
    print(f"\nreject_threshold={threshold}; rejection trade-off over all fields:")
    for t in results["tradeoff"]:
        wr = "-" if t["wrong_rejected"] is None else f"{t['wrong_rejected']:.2f}"
        rr = "-" if t["right_rejected"] is None else f"{t['right_rejected']:.3f}"
        print(
            f"  {t['threshold']:<6} wrong strings rejected {wr:>5}, "
            f"right strings rejected {rr:>5}"
        )
    if "latency" in results:
        print("\n6-digit field, one read_digits call (the ways taking turns):")
        for name, lat in results["latency"]["ways"].items():
            print(
                f"  {name:<28} median {lat['median_ms']:.1f} ms, "
                f"p90 {lat['p90_ms']:.1f} ms ({lat['calls']} calls)"
            )
    if not args.tune:
        results["targets"] = check_targets(results, TARGETS)
        print("\ntargets:")
        for t in results["targets"]:  # a target whose value is None is left out
            mark = "met" if t["met"] else "NOT met"
            print(
                f"  {t['target']:<30} {t['value']:.4g} {t['op']} {t['limit']}  {mark}"
            )

    name = args.name or ("bench_reading" + ("_smoke" if args.smoke else ""))
    if args.tune:
        name += "_tune"
    path = args.json or os.path.join(HERE, "results", f"{name}.json")
    write_json(results, path)
    print(f"\nwritten: {path}")
    return results


if __name__ == "__main__":
    main()

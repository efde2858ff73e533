"""Why read_digits reads touching fields wrong: candidates, scoring or reading.

On the touching tuning fields of ``bench_reading.py --tune`` (MNIST
**training** digits, the same seed, so the same fields), each field read
wrong falls in one of these kinds:

- ``no_true_cut``: no segmentation among the candidates has every piece
  cover one true digit's columns (overlap over union of at least
  ``train_verifier.DIGIT_IOU``): the cut that would part two digits is not
  proposed, or not cleanly enough;
- ``misread``: the true segmentation was chosen, a digit misread;
- ``scoring``: a true segmentation was there, another one chosen.

Then the fields are read again with a cut added at the middle of every
true overlap between neighbours (an oracle no reader has): how right the
reading could be with the candidates perfect and the scoring as it is.

Run from the repository root (MNIST in the scikit-learn data home)::

    python benchmarks/reading_errors.py            # 500 fields, as --tune
    python benchmarks/reading_errors.py --smoke    # seconds, for CI

Results go to ``benchmarks/results/reading_errors.json`` (``--json``).
"""

import argparse
import collections
import contextlib
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_reading  # noqa: E402  (puts this checkout and tests/ first)
import train_verifier  # noqa: E402

# bench_reading.py --tune's touching fields: its seed, its offset.
SEED = bench_reading.SEED + 1000 + 2
N_FIELDS = 500


def true_path(plan, score, inked, boxes_of, truth_boxes):
    """The best segmentation of one blob whose pieces each cover a true digit."""
    from skdigits.reading import _read

    good = {
        edge: index
        for edge, index in plan.edges.items()
        if inked[index]
        and train_verifier.best_overlap(boxes_of[index], truth_boxes)[1]
        >= train_verifier.DIGIT_IOU
    }
    return _read._best_path(plan.last, good, None, score)


def kinds_of_errors(images, truths, truth_boxes):
    """``(kind per field, texts read)`` as read_digits reads the fields."""
    from skdigits.reading import _read

    classifier = _read._shipped_reader()
    verifier = _read._resolve_verifier("auto", classifier)
    classes = np.asarray(classifier.classes_)
    found = _read._Proposal(images, classifier, classes, "auto", None, verifier)
    score = found.scores(learned=True)
    proba = found.proba.copy()
    found.second_opinion(proba, list(range(len(proba))))
    boxes_of = found.candidates.boxes
    kinds, texts = [], []
    for plan, truth, boxes in zip(found.plans, truths, truth_boxes, strict=True):
        chosen, true, complete = [], [], True
        for blob_plan in plan:
            chosen += blob_plan.best(score, found.inked)[0]
            path = true_path(blob_plan, score, found.inked, boxes_of, boxes)
            complete &= bool(path)
            true += path
        text = "".join(str(classes[proba[i].argmax()]) for i in chosen)
        texts.append(text)
        if text == truth:
            kinds.append("right")
        elif not complete or len(true) != len(truth):
            kinds.append("no_true_cut")
        elif sorted(true) == sorted(chosen):
            kinds.append("misread")
        else:
            kinds.append("scoring")
    return kinds, texts


@contextlib.contextmanager
def oracle_cuts(truth_boxes):
    """The reader's candidate cuts, and one mid-way in every true overlap.

    The fields must be segmented in the order of ``truth_boxes``.
    """
    from skdigits.reading import _read, _segment

    segment, cuts = _read.segment_field, _segment.Field.cuts
    order = iter(truth_boxes)
    truths = {}

    def segment_field(image, polarity="auto"):
        field = segment(image, polarity)
        boxes = next(order)
        if field is not None:
            truths[id(field)] = boxes
        return field

    def with_true_cuts(field, blob):
        proposed = set(cuts(field, blob))
        boxes = truths.get(id(field), ())
        for left, right in zip(boxes[:-1], boxes[1:], strict=True):
            x = int(round((left[2] + right[0]) / 2)) - blob.left
            if 2 < x < blob.width - 2:
                proposed.add(x)
        return sorted(proposed)

    _read.segment_field, _segment.Field.cuts = segment_field, with_true_cuts
    try:
        yield
    finally:
        _read.segment_field, _segment.Field.cuts = segment, cuts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-fields", type=int, default=N_FIELDS)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--json", help="results file")
    args = parser.parse_args(argv)

    from skdigits.datasets import fetch_mnist
    from skdigits.reading import read_digits

    n_fields = 8 if args.smoke else args.n_fields
    X, y = fetch_mnist(subset="train", return_X_y=True)
    images, truths, boxes = bench_reading.make_fields(
        "touching", n_fields, X, y, SEED, fonts=None, return_boxes=True
    )
    kinds, texts = kinds_of_errors(images, truths, boxes)
    with oracle_cuts(boxes):
        oracle = read_digits(images)
    counts = collections.Counter(kinds)
    report = {
        "n_fields": n_fields,
        "exact": counts["right"] / n_fields,
        "kinds": {k: counts[k] for k in ("no_true_cut", "misread", "scoring")},
        "oracle_cuts_exact": float(
            np.mean([r.text == t for r, t in zip(oracle, truths, strict=True)])
        ),
        "examples": {
            kind: [
                [truth, text]
                for truth, text, k in zip(truths, texts, kinds, strict=True)
                if k == kind
            ][:10]
            for kind in ("no_true_cut", "misread", "scoring")
        },
    }
    print(f"touching tuning fields: {n_fields}, read right {report['exact']:.3f}")
    for kind, n in report["kinds"].items():
        print(f"  {kind:<12} {n:>4}  e.g. {report['examples'][kind][:3]}")
    print(f"with a true cut added in every overlap: {report['oracle_cuts_exact']:.3f}")
    path = args.json or os.path.join(
        HERE, "results", f"reading_errors{'_smoke' if args.smoke else ''}.json"
    )
    config = {"smoke": args.smoke, "n_fields": n_fields, "seed": SEED}
    bench_reading.write_json({"header": bench_reading.header(config), **report}, path)
    print(f"written: {path}")
    return report


if __name__ == "__main__":
    main()

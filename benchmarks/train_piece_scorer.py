"""Fit the piece scorer that ships in the package (``_data/piece_scorer.json``).

:func:`skdigits.read_digits` cuts runs of touching digits at candidate
positions and keeps the segmentation whose pieces score highest in total.
With a verifier, a piece's score is the log-odds that it is one whole digit
(see :mod:`skdigits.reading._scoring`): a logistic regression on
``PIECE_FEATURES``, what the shipped classifier and verifier say of the
piece and its geometry. This script fits it on the reader's own candidate
pieces of fields of MNIST **training** digits and printed numbers (the
verifier's mix of fields, ``train_verifier.KINDS``, another seed), a piece
being one digit when its columns cover a true digit's with an overlap over
union of at least ``train_verifier.DIGIT_IOU`` while holding little of any
other digit's ink (``train_verifier.piece_label``)::

    python benchmarks/train_piece_scorer.py                 # the package's file
    python benchmarks/train_piece_scorer.py -o /tmp/s.json  # somewhere else
    python benchmarks/train_piece_scorer.py --smoke -o /tmp/s.json   # for CI

The standardisation is folded into the coefficients, so the file holds one
number per feature and an intercept: JSON, read without pickle.
Deterministic: the same fields, models and scikit-learn give the same file.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_verifier  # noqa: E402  (its bench_mnist puts this checkout first)

N_FIELDS = 3000
SEED = 2000  # not the verifier's (0, 1), nor bench_reading's (0-3, 1000-1003)
#: Inverse regularisation strength of the logistic regression.
C = 1.0


def field_rows(n_fields, seed):
    """PIECE_FEATURES of the candidate pieces of ``n_fields`` fields, labels."""
    from skdigits.reading import _read

    classifier = _read._shipped_reader()
    verifier = _read._resolve_verifier("auto", classifier)
    classes = np.asarray(classifier.classes_)
    rows, labels = [], []
    fields = list(train_verifier.training_fields(n_fields, seed))
    batch = 100  # fields a read, as read_digits batches them
    for start in range(0, len(fields), batch):
        part = fields[start : start + batch]
        # Cut as the shipped scorer's pieces were, every wide blob at once.
        with train_verifier.candidate_settings():
            found = _read._Proposal(
                [image for image, *_ in part],
                classifier,
                classes,
                "auto",
                None,
                verifier,
                wide_first=False,
                refine=False,
            )
        field_of = np.full(len(found.candidates.boxes), -1)  # a piece's field
        for f, plan in enumerate(found.plans):
            for blob_plan in plan:
                field_of[list(blob_plan.edges.values())] = f
                if blob_plan.fallback is not None:
                    field_of[blob_plan.fallback] = f
        assert (field_of >= 0).all(), "a candidate piece outside every plan"
        labels_of = [
            train_verifier.piece_label(piece, *part[f][1:])
            for piece, f in zip(
                zip(found.candidates.images, found.candidates.boxes, strict=True),
                field_of,
                strict=True,
            )
        ]
        # One digit, or not (junk, or the pieces the verifier leaves out).
        digit = np.array(
            [label not in (None, train_verifier.JUNK) for label in labels_of],
            dtype=bool,
        )
        # Pieces without ink after normalisation are never scored.
        rows.append(found.features()[found.inked])
        labels.append(digit[found.inked])
    return np.concatenate(rows), np.concatenate(labels)


def fit(X, y):
    """``(coef, intercept)`` on the raw features: the scaler folded in."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
    model.fit(X, y)
    scaler, logistic = model[0], model[1]
    coef = logistic.coef_[0] / scaler.scale_
    intercept = float(logistic.intercept_[0] - coef @ scaler.mean_)
    return coef, intercept


def main(argv=None):
    from sklearn.metrics import log_loss, roc_auc_score

    from skdigits.reading._scoring import PIECE_FEATURES, scorer_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", help=f"file (default: {scorer_path()})")
    parser.add_argument("--n-fields", type=int, default=N_FIELDS)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument(
        "--json", help="results file (default results/piece_scorer.json)"
    )
    args = parser.parse_args(argv)
    if args.smoke and not args.output:
        parser.error(
            "--smoke needs -o: a smoke run must not replace the package's file"
        )
    args.output = args.output or scorer_path()
    n_fields = 30 if args.smoke else args.n_fields

    start = time.perf_counter()
    X, y = field_rows(n_fields, SEED)
    pieces_s = time.perf_counter() - start
    held_X, held_y = field_rows(max(10, n_fields // 6), SEED + 1)
    coef, intercept = fit(X, y)
    held = 1 / (1 + np.exp(-(held_X @ coef + intercept)))
    report = {
        "n_fields": n_fields,
        "n_pieces": int(len(y)),
        "digit_share": float(y.mean()),
        "pieces_s": pieces_s,
        "held_out": {
            "n_pieces": int(len(held_y)),
            "log_loss": float(log_loss(held_y, held, labels=[False, True])),
            "roc_auc": float(roc_auc_score(held_y, held))
            if 0 < held_y.mean() < 1
            else None,
        },
    }
    data = {
        "about": "skdigits piece scorer: log-odds that a candidate piece is one "
        "digit, coef @ features + intercept (benchmarks/train_piece_scorer.py)",
        "features": list(PIECE_FEATURES),
        "coef": [float(c) for c in coef],
        "intercept": intercept,
        "trained": report,
    }
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.output)
    print(json.dumps(report, indent=1))
    for name, c in zip(PIECE_FEATURES, coef, strict=True):
        print(f"  {c:+9.4f}  {name}")
    print(f"scorer written to {args.output}")
    train_verifier.write_results("piece_scorer", args, n_fields, report)
    return report


if __name__ == "__main__":
    main()

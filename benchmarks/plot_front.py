"""Accuracy against fit time, from the JSON results of bench_mnist.py and sweep.py.

Every configuration tried is a point (the median over its seeds), on a log
time axis; the Pareto front (the most accurate result at each fit time or
less) is drawn through them::

    python benchmarks/plot_front.py --bench benchmarks/results/session4.json \\
        --sweep benchmarks/results/sweep.json -o front.png

The docs' benchmarks page draws the committed results with :func:`draw`.
"""

import argparse
import json
import os
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))

# bench_mnist rows shown, and how they are labelled.
BENCH_LABELS = {
    "seed_keras": "seed notebook (plain Keras)",
    "skdigits_default": "skdigits default",
    "skdigits_default_float32": "default, float32",
    "skdigits_default_bfloat16": "default, bfloat16",
    "skdigits_best": "one member of the best",
    "skorch_cnn": "skorch (PyTorch)",
    "sklearn_mlp": "scikit-learn MLP",
}


def load(path):
    with open(path) as f:
        return json.load(f)


def points(bench=None, sweep=None):
    """``(label, fit seconds, accuracy, kind)`` of every result to draw.

    ``kind`` is ``"bench"`` for rows of ``bench_mnist.py``, ``"sweep"`` for
    configurations of ``sweep.py`` (labelled with their precision unless it
    is bfloat16, the sweep's default), whose seeds are merged by median, and
    ``"ensemble"`` for its soft votes of several seeds (``--ensemble``).
    Failed, skipped and smoke-sized runs are left out.
    """
    found = []
    for name, row in ((bench or {}).get("rows") or {}).items():
        if name in BENCH_LABELS and "fit_s" in row and "accuracy" in row:
            found.append((BENCH_LABELS[name], row["fit_s"], row["accuracy"], "bench"))
    runs = {}
    for run in (sweep or {}).get("runs", []):
        if "fit_s" in run:
            key = (run["config"], run.get("precision", "bfloat16"), run.get("source"))
            runs.setdefault(key, []).append(run)
    for (config, precision, _), config_runs in runs.items():
        n = len(config_runs)
        label = config if precision == "bfloat16" else f"{config}, {precision}"
        label = f"{label} (x{n})" if n > 1 else label
        fit_s = statistics.median(r["fit_s"] for r in config_runs)
        accuracy = statistics.median(r["accuracy"] for r in config_runs)
        found.append((label, fit_s, accuracy, "sweep"))
    for entry in (sweep or {}).get("ensembles", []):
        label = f"vote of {len(entry['seeds'])} {entry['config']}"
        found.append((label, entry["fit_s"], entry["accuracy"], "ensemble"))
    return found


def pareto_front(found):
    """The points no other point beats in both time and accuracy, by time."""
    front, best = [], -1.0
    for point in sorted(found, key=lambda p: (p[1], -p[2])):
        if point[2] > best:
            front.append(point)
            best = point[2]
    return front


# The accuracy targets of docs/benchmarks.rst, drawn as lines.
TARGET_LINES = ((0.9955, "target of the default"), (0.997, "target of the best"))
ACCURACY_TICKS = (0.9, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.996, 0.997, 0.998)


def error(accuracy):
    """Test error in percent: what the figure's log axis shows."""
    return 100 * (1 - accuracy)


def draw(ax, bench=None, sweep=None, *, title=None):
    """Draw the points and their Pareto front on ``ax``; return the front.

    The front's points and the benchmark rows are labelled; the other sweep
    points are drawn unlabelled.
    """
    import matplotlib.ticker

    found = points(bench, sweep)
    styles = {
        "bench": {"marker": "s", "color": "tab:blue", "label": "bench_mnist rows"},
        "sweep": {
            "marker": "o",
            "color": "tab:orange",
            "label": "sweep configurations",
        },
        "ensemble": {"marker": "^", "color": "tab:purple", "label": "soft votes"},
    }
    for kind, style in styles.items():
        chosen = [p for p in found if p[3] == kind]
        if chosen:
            ax.scatter(
                [p[1] for p in chosen],
                [error(p[2]) for p in chosen],
                s=30,
                zorder=3,
                **style,
            )
    front = pareto_front(found)
    # Labels for the front and the benchmark rows only: the other points
    # crowd the middle, and the docs' tables name them.
    labels = [
        ax.annotate(
            label,
            (fit_s, error(accuracy)),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=7,
        )
        for point in sorted(found, key=lambda p: p[1])
        for label, fit_s, accuracy, kind in [point]
        if kind == "bench" or point in front
    ]
    for target, text in TARGET_LINES:
        ax.axhline(error(target), color="tab:green", linewidth=0.8, linestyle=":")
        ax.annotate(
            text,
            (0.005, error(target)),
            xycoords=("axes fraction", "data"),
            xytext=(0, 2),
            textcoords="offset points",
            fontsize=7,
            color="tab:green",
        )
    if front:
        ax.step(
            [p[1] for p in front],
            [error(p[2]) for p in front],
            where="post",
            color="grey",
            linestyle="--",
            linewidth=1,
            label="Pareto front",
            zorder=2,
        )
    # Error on a log axis, upside down: up is more accurate, and 99.7 % is as
    # far from 99.5 % as 99.5 % from 99.2 %. Ticks say accuracy.
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_yaxis()
    ticks = [
        t
        for t in ACCURACY_TICKS
        if found and error(t) <= 1.2 * max(error(p[2]) for p in found)
    ]
    ax.set_yticks([error(t) for t in ticks], [f"{100 * t:.2f} %" for t in ticks])
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("fit time on the 60,000 training images (s, log scale)")
    ax.set_ylabel("MNIST test accuracy (log scale of the error)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    _separate(ax, labels)
    return front


def _separate(ax, labels):
    """Move each label down a line (9 points) until it overlaps none before."""
    canvas = ax.figure.canvas
    canvas.draw()  # the final limits, so the labels' extents
    renderer = canvas.get_renderer()
    placed = []
    for text in labels:
        for line in range(8):
            text.xyann = (4, 3 - 9 * line)
            box = text.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed):
                break
        placed.append(box)


#: The results the docs' benchmarks page draws (relative to this folder):
#: sweeps of three sessions on the same kind of machine (AMD EPYC, Zen 4).
#: The bench rows are session 7's (today's defaults) and, of session 4's,
#: those session 7 did not measure again (DOCS_OLDER_ROWS).
DOCS_BENCH = "results/session7.json"
DOCS_OLDER_BENCH = "results/session4.json"
DOCS_OLDER_ROWS = ("skdigits_best", "sklearn_mlp")
DOCS_SWEEPS = (
    "results/session4_sweep.json",
    "results/session6_sweep.json",
    "results/session6_sweep_float32.json",
)


def merged(sweeps):
    """One sweep of the runs and ensembles of several results files.

    Each run keeps the index of its file (``"source"``), so that runs of one
    configuration name from different files are separate points.
    """
    return {
        "runs": [
            {**run, "source": i}
            for i, sweep in enumerate(sweeps)
            for run in sweep.get("runs", [])
        ],
        "ensembles": [e for sweep in sweeps for e in sweep.get("ensembles", [])],
    }


def with_older_rows(bench, older, names):
    """``bench`` with the rows ``names`` of an ``older`` run it lacks."""
    rows = dict(bench.get("rows") or {})
    for name in names:
        if name not in rows and name in (older.get("rows") or {}):
            rows[name] = older["rows"][name]
    return {**bench, "rows": rows}


def draw_docs_figure():
    """The figure of docs/benchmarks.rst, from the committed results."""
    import matplotlib.pyplot as plt

    bench = with_older_rows(
        load(os.path.join(HERE, DOCS_BENCH)),
        load(os.path.join(HERE, DOCS_OLDER_BENCH)),
        DOCS_OLDER_ROWS,
    )
    sweep = merged([load(os.path.join(HERE, name)) for name in DOCS_SWEEPS])
    machine = bench["header"]["machine"]
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    flags = ", ".join(machine.get("cpu_flags", []))
    title = f"{machine['cpu']} ({flags}), {machine['usable_cores']} cores"
    draw(ax, bench, sweep, title=title)
    return fig


def main(argv=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", help="a bench_mnist.py results file")
    parser.add_argument("--sweep", nargs="+", help="sweep.py results files")
    parser.add_argument("-o", "--output", default="accuracy_vs_fit_time.png")
    args = parser.parse_args(argv)
    bench = load(args.bench) if args.bench else None
    sweeps = [load(path) for path in args.sweep or []]
    sweep = merged(sweeps) if sweeps else None
    head = (bench or (sweeps[0] if sweeps else {})).get("header", {})
    machine = head.get("machine", {})
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    front = draw(
        ax,
        bench,
        sweep,
        title=f"{machine.get('cpu', '?')}, {machine.get('usable_cores', '?')} cores,"
        f" {head.get('date', '')[:10]}",
    )
    fig.savefig(args.output, dpi=120)
    print(f"figure written to {args.output}")
    for label, fit_s, accuracy, _ in front:
        print(f"  front: {label:<32}{fit_s:>9.1f} s {100 * accuracy:>8.2f} %")
    return front


if __name__ == "__main__":
    main()

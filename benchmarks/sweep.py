"""Which training levers buy MNIST accuracy per second: one configuration a run.

Each configuration is ``CNNDigitClassifier`` parameters, plus two levers the
estimator does not offer (they did not earn their time, see
docs/benchmarks.rst): ``ema`` (Adam's exponential moving average of the
weights, its momentum) and ``label_smoothing``. Every run trains on the
60,000 MNIST training images in a fresh process and is measured on the 10,000
test images, plainly and with test-time augmentation (``tta_shift=1``)::

    python benchmarks/sweep.py --list                      # the configurations
    python benchmarks/sweep.py --configs default aug_e20   # seed 0 each
    python benchmarks/sweep.py --configs aug_e20 --seeds 0 1 2
    python benchmarks/sweep.py --smoke                     # seconds, for CI

Results are appended to ``benchmarks/results/<name>.json`` (``--name``, default
``sweep``) after every run, so a long sweep keeps what it finished;
``benchmarks/plot_front.py`` draws them.
"""

import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_mnist  # noqa: E402  (benchmarks/ is not a package)

from skdigits._defaults import PREVIOUS_DEFAULTS  # noqa: E402

AUG = {"rotation_range": 10, "shift_range": 0.1, "zoom_range": 0.1}
SHIFT = {"shift_range": 0.1}
WIDE = {"filters": [32, 64], "dense_units": 256}
LONG = {"callbacks__early_stopping__patience": 40}  # the schedule runs to its end
LAST = {"callbacks__early_stopping__restore_best_weights": False}  # keep the last
# The first block one 5x5 convolution instead of two 3x3 ones.
STEM5 = {"kernel_size": [5, 3], "convs_per_block": [1, 2]}

# The estimator's defaults before session 7, which the configurations below
# (all measured before) change: they keep meaning what they measured.
PREVIOUS = dict(PREVIOUS_DEFAULTS)

#: name -> changes to the defaults before session 7 (``precision`` defaults
#: to "bfloat16": see --precision).
_MEASURED_BEFORE = {
    "previous_default": {},
    "default_norestore": {**LAST},
    "e20": {"epochs": 20, **LONG},
    "shift_e20": {**SHIFT, "epochs": 20, **LONG},
    "aug_e20": {**AUG, "epochs": 20, **LONG},
    "aug_e20_norestore": {**AUG, "epochs": 20, **LONG, **LAST},
    # Keras restores the best epoch's weights after the moving average is
    # copied in, so the average is measured on the last weights.
    "aug_e20_ema": {**AUG, "epochs": 20, **LONG, **LAST, "ema": 0.99},
    "aug_e20_ls": {**AUG, "epochs": 20, **LONG, "label_smoothing": 0.1},
    "bn_e12": {"batch_norm": True, "epochs": 12, **LONG},
    "bn_aug_e12": {"batch_norm": True, **AUG, "epochs": 12, **LONG},
    "wide_e8": {**WIDE, "epochs": 8, **LONG},
    "wide_aug_e12": {**WIDE, **AUG, "epochs": 12, **LONG},
    # One member of the documented best configuration (a soft vote of them).
    "wide_aug_e12_norestore": dict(bench_mnist.DEFAULT_BEST_PARAMS),
    "wide_aug_e8_norestore": {**WIDE, **AUG, "epochs": 8, **LONG, **LAST},
    "aug_e30": {**AUG, "epochs": 30, **LONG},
    # Candidates for the model shipped in the package (one network, <= 5 MB).
    "wide_aug_e30": {**WIDE, **AUG, "epochs": 30, **LONG},
    "wide_aug_e30_norestore": {**WIDE, **AUG, "epochs": 30, **LONG, **LAST},
    "aug_e20_b128": {**AUG, "epochs": 20, "batch_size": 128, **LONG},
    # Session 6: where the arithmetic goes (the wide network's second
    # convolution, 32 -> 32 filters on 24 x 24 maps, is half of it), batch
    # size and peak rate, a one-cycle-like schedule (long warm-up).
    "stem5_aug_e8_norestore": {
        **WIDE,
        **AUG,
        **STEM5,
        "epochs": 8,
        **LONG,
        **LAST,
    },
    "stride2_aug_e8_norestore": {
        **WIDE,
        **AUG,
        "stem": [[3, 1], [3, 2]],
        "epochs": 8,
        **LONG,
        **LAST,
    },
    "wide_aug_e8_b512_norestore": {
        **WIDE,
        **AUG,
        "batch_size": 512,
        "learning_rate": 6e-3,
        "epochs": 8,
        **LONG,
        **LAST,
    },
    "wide_aug_e8_cycle_norestore": {
        **WIDE,
        **AUG,
        "learning_rate": 6e-3,
        "callbacks__lr_schedule__warmup_epochs": 2.5,
        "epochs": 8,
        **LONG,
        **LAST,
    },
    "wide_aug_e8_all": {**WIDE, **AUG, "epochs": 8, "validation_split": 0.0},
    "stem5_aug_e8_all": {
        **WIDE,
        **AUG,
        **STEM5,
        "epochs": 8,
        "validation_split": 0.0,
    },
    # Augmentation strength: half and one and a half times AUG.
    "stem5_augweak_e8_all": {
        **WIDE,
        **STEM5,
        "rotation_range": 5,
        "shift_range": 0.05,
        "zoom_range": 0.05,
        "epochs": 8,
        "validation_split": 0.0,
    },
    "stem5_augstrong_e8_all": {
        **WIDE,
        **STEM5,
        "rotation_range": 15,
        "shift_range": 0.15,
        "zoom_range": 0.15,
        "epochs": 8,
        "validation_split": 0.0,
    },
    "stem5_aug_e10_all": {
        **WIDE,
        **AUG,
        **STEM5,
        "epochs": 10,
        "validation_split": 0.0,
    },
    # The best configuration of 2026-11-25 (99.57 % in float32 in 21-25 min).
    "best_previous": {
        **WIDE,
        **AUG,
        "batch_size": 128,
        "learning_rate": 3e-3,
        "epochs": 20,
        "callbacks__early_stopping__patience": 20,
    },
}
#: name -> parameters.
CONFIGS = {
    "default": {},  # today's defaults (stem5_augweak_e8_all's network)
    **{name: {**PREVIOUS, **params} for name, params in _MEASURED_BEFORE.items()},
}
SMOKE = {"filters": [4], "dense_units": 8, "epochs": 1}


def lever_estimator(params):
    """The estimator of one configuration, with the levers it does not offer.

    ``ema`` and ``label_smoothing`` recompile the network; ``stem`` replaces
    its first block (``build_cnn``'s ``stem``: ``(kernel_size, strides)`` of
    each convolution).
    """
    import keras

    from skdigits import CNNDigitClassifier
    from skdigits._network import build_cnn

    params = dict(params)
    ema = params.pop("ema", None)
    smoothing = params.pop("label_smoothing", 0.0)
    stem = params.pop("stem", None)
    if not (ema or smoothing or stem):
        return CNNDigitClassifier().set_params(**params)

    class LeverClassifier(CNNDigitClassifier):
        def _keras_build_fn(self, meta):
            model = build_cnn(**self._network_kwargs(meta), stem=stem)
            if not (ema or smoothing):
                return model
            optimizer = keras.optimizers.Adam(
                float(self.learning_rate), use_ema=bool(ema), ema_momentum=ema or 0.99
            )
            loss = model.loss
            if smoothing:

                def loss(y_true, y_pred):
                    labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
                    return keras.losses.categorical_crossentropy(
                        keras.ops.one_hot(labels, meta["n_classes_"]),
                        y_pred,
                        label_smoothing=smoothing,
                    )

            model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
            return model

    return LeverClassifier().set_params(**params)


def run_config(name, config):
    """Fit one configuration (in a fresh process): accuracy, seconds, epochs."""
    from skdigits import _runtime

    _runtime.set_num_threads()
    params = {"precision": config["precision"], **config["params"]}
    params["random_state"] = config["seed"]
    if config["smoke"]:
        params.update(SMOKE)
    X_train, y_train, X_test, y_test = bench_mnist.load_split(config)
    clf = lever_estimator(params)
    _, fit_s = bench_mnist.timed(clf.fit, X_train, y_train)
    clf.predict_proba(X_test[:1])  # traces the forward pass, as users' first call
    proba, predict_s = bench_mnist.timed(clf.predict_proba, X_test)
    clf.set_params(tta_shift=1)
    proba_tta, predict_tta_s = bench_mnist.timed(clf.predict_proba, X_test)
    if config.get("save_proba"):  # for ensembles of the runs: see ensemble_of
        os.makedirs(config["save_proba"], exist_ok=True)
        np.save(proba_path(config["save_proba"], name, config["seed"]), proba)
    return {
        "config": name,
        "seed": config["seed"],
        "accuracy": float(np.mean(clf.classes_[proba.argmax(1)] == y_test)),
        "accuracy_tta": float(np.mean(clf.classes_[proba_tta.argmax(1)] == y_test)),
        "fit_s": fit_s,
        "predict_s": predict_s,
        "predict_tta_s": predict_tta_s,
        "epochs": len(clf.history_["loss"]),
        "best_epoch": clf.best_epoch_,
        "precision": clf.precision_,
        "params": params,
        "peak_rss_mb": bench_mnist.peak_rss_mb(),
    }


def proba_path(directory, name, seed):
    """Where ``--save-proba`` keeps a run's test-set probabilities."""
    return os.path.join(directory, f"{name}_seed{seed}.npy")


def ensemble_of(directory, name, seeds, y_test):
    """Test accuracy of the soft vote of ``name``'s runs with ``seeds``.

    The mean of the members' ``predict_proba``, as scikit-learn's
    ``VotingClassifier(voting="soft")`` over those estimators computes it
    (tests/test_ensemble.py checks that it does), from the saved runs.
    MNIST's classes are 0 to 9, so a column's index is its label.
    """
    proba = np.mean([np.load(proba_path(directory, name, s)) for s in seeds], axis=0)
    return float(np.mean(proba.argmax(1) == y_test))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), metavar="NAME")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument(
        "--precision", default="bfloat16", choices=["float32", "bfloat16", "auto"]
    )
    parser.add_argument(
        "--save-proba", metavar="DIR", help="keep each run's test probabilities in DIR"
    )
    parser.add_argument(
        "--ensemble",
        metavar="NAME",
        help="no training: the soft votes of NAME's saved runs (--seeds, "
        "--save-proba), added to the results file",
    )
    parser.add_argument("--list", action="store_true", help="list the configurations")
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    parser.add_argument("--name", default="sweep", help="results file name")
    parser.add_argument("--json", help="results file (default results/NAME.json)")
    args = parser.parse_args(argv)
    path = args.json or os.path.join(
        HERE, "results", f"{args.name}{'_smoke' if args.smoke else ''}.json"
    )
    if args.ensemble:
        return report_ensembles(args, path)
    if args.list:
        for name, params in CONFIGS.items():
            print(f"{name:<24} {json.dumps(params)}")
        return None
    names = args.configs or (["default"] if args.smoke else list(CONFIGS))
    sizes = bench_mnist.SMOKE_SIZES if args.smoke else bench_mnist.FULL_SIZES
    base = {"smoke": args.smoke, **sizes, "precision": args.precision}
    if args.save_proba:
        base["save_proba"] = os.path.abspath(args.save_proba)
    results = {"header": bench_mnist.header(base), "runs": []}
    if os.path.exists(path):  # append to an earlier sweep of this name
        with open(path) as f:
            results["runs"] = json.load(f)["runs"]
    for seed in args.seeds:
        for name in names:
            config = {**base, "params": CONFIGS[name], "seed": seed}
            print(f"{name} seed {seed} ...", flush=True)
            run = bench_mnist.run_in_fresh_process(name, config, run_config)
            run.setdefault("config", name)
            run["date"] = results["header"]["date"]
            run["cpu"] = results["header"]["machine"]["cpu"]
            run["cpu_flags"] = results["header"]["machine"]["cpu_flags"]
            results["runs"].append(run)
            bench_mnist.write_json(results, path)
            print(json.dumps({k: v for k, v in run.items() if k != "params"}))
    print(f"results written to {path}")
    return results


def report_ensembles(args, path):
    """Soft votes of the first 2, 3, ... of ``--seeds``: accuracy, summed time."""
    from skdigits.datasets import fetch_mnist

    if not args.save_proba:
        raise SystemExit("--ensemble needs --save-proba DIR")
    with open(path) as f:
        results = json.load(f)
    _, y_test = fetch_mnist(subset="test", return_X_y=True)
    runs = {
        r["seed"]: r
        for r in results["runs"]
        if r.get("config") == args.ensemble and "fit_s" in r
    }
    missing = [s for s in args.seeds if s not in runs]
    if missing:
        raise SystemExit(f"no run of {args.ensemble} with seeds {missing} in {path}")
    ensembles = results.setdefault("ensembles", [])
    for k in range(2, len(args.seeds) + 1):
        seeds = args.seeds[:k]
        entry = {
            "config": args.ensemble,
            "seeds": seeds,
            "accuracy": ensemble_of(args.save_proba, args.ensemble, seeds, y_test),
            "fit_s": sum(runs[s]["fit_s"] for s in seeds),
        }
        ensembles[:] = [
            e for e in ensembles if (e["config"], e["seeds"]) != (args.ensemble, seeds)
        ]
        ensembles.append(entry)
        print(
            f"{args.ensemble} x{k} (seeds {seeds}): accuracy {entry['accuracy']:.4f}, "
            f"fit {entry['fit_s']:.0f} s in all"
        )
    bench_mnist.write_json(results, path)
    return results


if __name__ == "__main__":
    main()

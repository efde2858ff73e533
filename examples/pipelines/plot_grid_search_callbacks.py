"""
=======================================
Grid search over the training callbacks
=======================================

The early-stopping and learning-rate callbacks of
:class:`~skdigits.CNNDigitClassifier` are configured through estimator
parameters named ``callbacks__<name>__<argument>``. They appear in
``get_params()``, so :class:`~sklearn.model_selection.GridSearchCV` searches
them like any other parameter.

This search is kept tiny, on scikit-learn's 8x8 digits with a small network,
so that it runs in about a minute: how long early stopping waits for the
validation accuracy to improve (its *patience*), and how much the learning
rate drops when the accuracy stalls. A high learning rate makes this small
network converge, and its validation accuracy stall, within a few epochs, so
that the callbacks have something to do. Both callbacks watch a held-out
validation split, off by default (every image trains the network): here a
tenth of each training set is held out for them.
"""

# %%
# The callback parameters
# -----------------------
# Every argument of both callbacks is a parameter, with its default.
from skdigits import CNNDigitClassifier

clf = CNNDigitClassifier(
    filters=(8,),
    dense_units=32,
    batch_size=64,
    learning_rate=0.01,
    epochs=25,
    validation_split=0.1,
    # No augmentation: it suits 28x28 digits, not these 8x8 ones.
    rotation_range=0,
    shift_range=0,
    zoom_range=0,
    random_state=0,
)
for name, value in clf.get_params().items():
    if name.startswith("callbacks__"):
        print(f"{name} = {value!r}")

# %%
# A misspelt name is an error that says what was meant:
import textwrap

try:
    clf.set_params(callbacks__early_stoping__patience=2)
except ValueError as exc:
    print(textwrap.fill(str(exc), width=76))

# %%
# The search
# ----------
# Four candidates, each scored on one held-out quarter of the data: every
# fit builds and compiles a new network, so even a tiny search takes a while.
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedShuffleSplit

X, y = load_digits(return_X_y=True)

search = GridSearchCV(
    clf,
    param_grid={
        "callbacks__early_stopping__patience": [1, 4],
        "callbacks__reduce_lr__factor": [0.2, 0.5],
    },
    cv=StratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=0),
)
search.fit(X, y)
for name, value in search.best_params_.items():
    print(f"best {name} = {value}")
print(f"best accuracy: {search.best_score_:.3f}")

# %%
# The refitted best model trained for this many epochs, and kept the weights
# of this one:
best = search.best_estimator_
print(f"epochs run: {len(best.history_['loss'])}, weights kept: {best.best_epoch_}")

# %%
# Results
# -------
# A patience of 1 epoch stops the training at the first epoch without
# progress: the fits are fast but end early. A longer patience gives the
# learning-rate reductions time to help. Each bar is a single fit, so small
# differences are noise.
import matplotlib.pyplot as plt

results = search.cv_results_
labels = [
    f"patience {params['callbacks__early_stopping__patience']}\n"
    f"factor {params['callbacks__reduce_lr__factor']}"
    for params in results["params"]
]
fig, (ax_score, ax_time) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
bars = ax_score.bar(labels, results["mean_test_score"], color="tab:blue")
ax_score.bar_label(bars, fmt="%.3f")
ax_score.set(title="Accuracy on the held-out quarter", ylim=(0.9, 1.0))
bars = ax_time.bar(labels, results["mean_fit_time"], color="tab:gray")
ax_time.bar_label(bars, fmt="%.1f")
ax_time.set(title="Fit time (s)")
ax_time.margins(y=0.15)  # room for the labels
for ax in (ax_score, ax_time):
    ax.tick_params(axis="x", labelsize=8)

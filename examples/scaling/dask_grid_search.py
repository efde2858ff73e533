"""
=============================
Grid search on a Dask cluster
=============================

A grid search trains one network per candidate and fold, each independent
of the others. scikit-learn's searches run these fits through joblib, and
joblib's Dask backend hands them to a Dask cluster: the search itself does
not change.

This script starts a ``LocalCluster`` of worker processes on this machine;
connect the ``Client`` to a scheduler's address instead
(``Client("tcp://scheduler-host:8786")``) to use a real cluster, e.g. one
started with dask-jobqueue or dask-kubernetes. It needs Dask
(``pip install -e ".[dask]"``), and ``bokeh`` for the dashboard, and it
trains 25 networks on MNIST, so it is shown here but not run when the
documentation is built. See :ref:`dask` in the user guide.
"""

import os

import joblib
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

from skdigits import CNNDigitClassifier
from skdigits.datasets import fetch_mnist
from skdigits.preprocessing import MNISTNormalizer

# %%
# The search
# ----------
# The pipeline normalises the images before the network (MNIST is already in
# that form; the same pipeline then takes digits scanned or photographed).
# The candidates differ in network size, batch normalisation and the first
# block's kernels (one 5x5 convolution, or one 3x3). The folds are computed
# beforehand, so that they can be sent to the workers with the data (below).


def make_search(X, y):
    """The grid search, and its folds."""
    pipeline = make_pipeline(MNISTNormalizer(), CNNDigitClassifier(random_state=0))
    param_grid = {
        "cnndigitclassifier__filters": [(16, 32), (32, 64)],
        "cnndigitclassifier__batch_norm": [False, True],
        "cnndigitclassifier__kernel_size": ["auto", 3],
    }
    folds = list(StratifiedKFold(n_splits=3).split(X, y))
    return GridSearchCV(pipeline, param_grid, cv=folds, verbose=1), folds


# %%
# Run it on a cluster
# -------------------
# Dask starts its worker processes the way that works on every platform
# ("spawn"): each one imports this script, so what runs goes under
# ``if __name__ == "__main__":``.
#
# One worker process per core, each running one fit at a time
# (``threads_per_worker=1``). Each worker's TensorFlow then uses one thread,
# its share of the cores: skdigits sets it at a worker's first fit, from the
# worker's number of threads, so that the workers do not compete for cores.
#
# ``scatter`` sends the data and every fold's indices to every worker before
# the first fit: each worker receives them once, and a worker lost in the
# middle of the search does not take the only copy of any of them with it.
#
# The scores are those of the same search run without Dask (with one
# TensorFlow thread per fit): each fit seeds itself from ``random_state``.
# The best candidate is refitted on all the data in this process.
if __name__ == "__main__":
    cluster = LocalCluster(n_workers=os.cpu_count() or 2, threads_per_worker=1)
    client = Client(cluster)  # or Client("tcp://scheduler-host:8786")
    print(client)
    print("Dashboard:", client.dashboard_link)  # open it to watch the fits

    X, y = fetch_mnist(subset="train", return_X_y=True)
    X_test, y_test = fetch_mnist(subset="test", return_X_y=True)
    search, folds = make_search(X, y)
    everything = [X, y, *(indices for fold in folds for indices in fold)]
    with joblib.parallel_backend("dask", scatter=everything):
        search.fit(X, y)

    print("best parameters:", search.best_params_)
    print(f"best cross-validated accuracy: {search.best_score_:.4f}")
    print(f"test accuracy: {search.score(X_test, y_test):.4f}")

    client.close()
    cluster.close()

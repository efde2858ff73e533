"""
===========================================
Grid search on a Dask cluster (preliminary)
===========================================

A grid search trains one network per candidate and fold, each independent
of the others. scikit-learn's searches run these fits through joblib, and
joblib's Dask backend hands them to a Dask cluster: the search itself does
not change.

This script starts a :class:`~dask.distributed.LocalCluster` on this
machine; connect a :class:`~dask.distributed.Client` to a scheduler's
address instead to use a real cluster. It needs Dask
(``pip install -e ".[dask]"``) and minutes of computing, so it is shown here
but not run when the documentation is built.

.. note::

   Preliminary: tried on a single machine only. See :ref:`dask` in the user
   guide.
"""

import os

import joblib
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV

from skdigits import CNNDigitClassifier, set_num_threads
from skdigits.datasets import fetch_mnist

# %%
# Start the cluster
# -----------------
# One worker process per pair of cores, each running one fit at a time
# (``threads_per_worker=1``): TensorFlow does the parallel work inside each
# fit. Each worker's TensorFlow is then limited to its share of the cores,
# before its first fit, with ``skdigits.set_num_threads``.

n_cores = os.cpu_count() or 2
threads_per_fit = 2
cluster = LocalCluster(
    n_workers=max(1, n_cores // threads_per_fit), threads_per_worker=1
)
client = Client(cluster)
client.run(set_num_threads, threads_per_fit)
print(client)
print("Dashboard:", client.dashboard_link)  # open it to watch the fits

# %%
# Search
# ------
# Inside ``joblib.parallel_backend("dask")``, ``n_jobs=-1`` means every
# worker of the cluster.
X, y = fetch_mnist(subset="train", return_X_y=True)
X_test, y_test = fetch_mnist(subset="test", return_X_y=True)

search = GridSearchCV(
    CNNDigitClassifier(random_state=0),
    param_grid={
        "filters": [(16, 32), (32, 64)],
        "batch_norm": [False, True],
        "callbacks__early_stopping__patience": [2, 4],
    },
    cv=3,
    n_jobs=-1,
    verbose=1,
)
with joblib.parallel_backend("dask"):
    search.fit(X, y)

print("best parameters:", search.best_params_)
print(f"best cross-validated accuracy: {search.best_score_:.4f}")
print(f"test accuracy: {search.score(X_test, y_test):.4f}")

# %%
# Stop the cluster
# ----------------
client.close()
cluster.close()

"""Ensembles of CNNDigitClassifier: scikit-learn's own, in a Pipeline."""

import numpy as np
import pytest
from _configs import NO_AUGMENTATION
from sklearn.base import clone
from sklearn.ensemble import BaggingClassifier, VotingClassifier
from sklearn.pipeline import Pipeline

from skdigits import CNNDigitClassifier
from skdigits.preprocessing import MNISTNormalizer

# Small images keep the three members' fits to seconds.
NORMALIZER = dict(box_size=10, output_size=12)
# No augmentation: the members see small images (the 8x8 digits, or 12x12).
MEMBER = dict(filters=(8,), dense_units=32, batch_size=32, epochs=8, **NO_AUGMENTATION)


def _members(n):
    return [
        (f"cnn{seed}", CNNDigitClassifier(random_state=seed, **MEMBER))
        for seed in range(n)
    ]


@pytest.fixture(scope="module")
def voting(digits):
    X_train, _, y_train, _ = digits
    pipeline = Pipeline(
        [
            ("normalize", MNISTNormalizer(**NORMALIZER)),
            ("vote", VotingClassifier(_members(3), voting="soft")),
        ]
    )
    return pipeline.fit(X_train, y_train)


def test_soft_voting_averages_the_members_probabilities(voting, digits):
    _, X_test, _, y_test = digits
    images = voting[:-1].transform(X_test)
    members = voting[-1].estimators_
    expected = np.mean([m.predict_proba(images) for m in members], axis=0)
    np.testing.assert_allclose(voting.predict_proba(X_test), expected, rtol=1e-6)
    # Members differ (their seeds), and the vote is at least as good as most.
    scores = [m.score(images, voting[-1].le_.transform(y_test)) for m in members]
    assert len(set(scores)) > 1
    assert voting.score(X_test, y_test) >= np.median(scores) - 0.01
    assert voting.score(X_test, y_test) > 0.85


def test_voting_ensemble_is_reproducible_and_clonable(voting, digits):
    X_train, X_test, y_train, _ = digits
    again = clone(voting).fit(X_train, y_train)
    np.testing.assert_array_equal(
        again.predict_proba(X_test), voting.predict_proba(X_test)
    )


def test_bagging_over_the_cnn(digits):
    X_train, X_test, y_train, y_test = digits
    bagging = Pipeline(
        [
            ("normalize", MNISTNormalizer(**NORMALIZER)),
            (
                "bag",
                BaggingClassifier(
                    CNNDigitClassifier(**MEMBER), n_estimators=2, random_state=0
                ),
            ),
        ]
    ).fit(X_train, y_train)
    seeds = [m.random_state for m in bagging[-1].estimators_]
    assert len(set(seeds)) == 2  # Bagging gives each member its own seed
    assert bagging.score(X_test, y_test) > 0.85

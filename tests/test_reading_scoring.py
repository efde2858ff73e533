"""The piece scorer: features, the shipped coefficients, their checks."""

import json
import math

import numpy as np
import pytest

from skdigits.reading import _scoring


def _geometry(n, width=0.6, height=1.0):
    boxes = np.array([[0, 0, width * 30, height * 30]] * n)
    return _scoring.PieceGeometry(
        boxes, [30] * n, [(True, False)] * n, [(0.0, 0.2)] * n, [1.5] * n
    )


def _features(junk, agree=True):
    proba = np.full((len(junk), 10), 0.01 / 9)
    proba[:, 3] = 0.99
    verifier_digits = np.zeros((len(junk), 10))
    verifier_digits[:, 3 if agree else 5] = 1 - np.asarray(junk)
    labels = np.full(len(junk), 3)
    verifier_labels = np.full(len(junk), 3 if agree else 5)
    return _scoring.piece_features(
        proba,
        labels,
        verifier_digits,
        np.asarray(junk),
        verifier_labels,
        _geometry(len(junk)),
    )


def test_features_are_the_named_ones_in_order():
    proba = np.array([[0.7, 0.2, 0.1]])
    boxes = [[0, 0, 3, 24]]  # 0.1 digit heights wide, 0.8 high
    geometry = _scoring.PieceGeometry(boxes, [30], [(False, True)], [(0.3, 0)], [2])
    verifier_digits = np.array([[0.1, 0.6, 0.1]])  # 0.8 in all, over 1: 0.75 on 1
    row = _scoring.piece_features(
        proba, [0], verifier_digits, np.array([0.2]), [1], geometry
    )[0]
    named = dict(zip(_scoring.PIECE_FEATURES, row, strict=True))
    assert named["classifier softened log-probability"] == pytest.approx(
        _scoring.softened(proba)[0]
    )
    assert named["classifier log-margin, top two classes"] == pytest.approx(
        np.log(0.7 / 0.2)
    )
    assert named["verifier softened log-probability among digits"] == pytest.approx(
        _scoring.softened(verifier_digits / 0.8)[0]
    )
    assert named["verifier's digit is the classifier's"] == 0
    assert named["width / h"] == pytest.approx(0.1)
    assert named["narrower than a digit"] == pytest.approx(0.15)
    assert named["wider than a digit"] == 0
    assert named["height / h"] == pytest.approx(0.8)
    assert named["|height / h - 1|"] == pytest.approx(0.2)
    assert named["starts at the blob's left end"] == 0
    assert named["ends at the blob's right end"] == 1
    assert named["left cut ink"] == pytest.approx(0.3)
    assert named["right cut ink"] == 0
    assert named["blob width / h"] == 2
    wide = _scoring.PieceGeometry([[0, 0, 45, 30]], [30], [(1, 1)], [(0, 0)], [1.5])
    beyond = _scoring.piece_features(
        proba, [0], verifier_digits, np.array([0.2]), [0], wide
    )[0]
    assert beyond[_scoring.PIECE_FEATURES.index("wider than a digit")] == pytest.approx(
        0.3
    )

    features = _features([0.1, 0.9])
    assert features.shape == (2, len(_scoring.PIECE_FEATURES))
    row = dict(zip(_scoring.PIECE_FEATURES, features[0], strict=True))
    assert row["verifier log-probability of one digit"] == pytest.approx(math.log(0.9))
    assert row["verifier log-probability of not one digit"] == pytest.approx(
        math.log(0.1)
    )
    assert row["verifier's digit is the classifier's"] == 1
    assert row["width / h"] == pytest.approx(0.6)
    assert row["(width / h) ** 2"] == pytest.approx(0.36)
    assert row["narrower than a digit"] == 0 and row["wider than a digit"] == 0
    assert row["|height / h - 1|"] == pytest.approx(0)
    assert row["starts at the blob's left end"] == 1
    assert row["ends at the blob's right end"] == 0
    assert row["right cut ink"] == pytest.approx(0.2)
    assert row["blob width / h"] == pytest.approx(1.5)
    assert _features([0.1], agree=False)[0, 5] == 0
    assert _scoring.piece_features(
        np.zeros((0, 10)), [], np.zeros((0, 10)), np.zeros(0), [], _geometry(0)
    ).shape == (0, len(_scoring.PIECE_FEATURES))


def test_the_shipped_scorer_trusts_the_verifier_and_digit_widths():
    coef, intercept = _scoring.load_scorer()
    assert _scoring.load_scorer() is _scoring.load_scorer()  # read once
    assert coef.shape == (len(_scoring.PIECE_FEATURES),) and not coef.flags.writeable
    assert np.isfinite(coef).all() and math.isfinite(intercept)
    scores = _scoring.learned_scores(_features([0.001, 0.5, 0.999]))
    assert scores[0] > scores[1] > scores[2]  # the surer "not one digit", lower
    # A piece twice as wide as a digit scores lower than one as wide as one.
    wide = _features([0.001])
    wide[0, 6], wide[0, 7], wide[0, 9] = 2.0, 4.0, 0.8
    assert _scoring.learned_scores(wide)[0] < scores[0]


N_FEATURES = len(_scoring.PIECE_FEATURES)


def _scorer_json(coef=None, intercept=0.0, features=None):
    return json.dumps(
        {
            "features": list(_scoring.PIECE_FEATURES) if features is None else features,
            "coef": [0.5] * N_FEATURES if coef is None else coef,
            "intercept": intercept,
        }
    )


def test_a_scorer_file_written_as_the_trainer_does_loads(tmp_path):
    path = tmp_path / "scorer.json"
    path.write_text(_scorer_json(coef=list(range(N_FEATURES)), intercept=-2))
    coef, intercept = _scoring.load_scorer(str(path))
    np.testing.assert_array_equal(coef, np.arange(N_FEATURES))
    assert intercept == -2.0


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "is not a piece scorer file"),
        ('{"coef": [1]}', "is not a piece scorer file"),
        ("[1, 2]", "is not a piece scorer file"),  # JSON, not an object
        ("[" * 100_000 + "]" * 100_000, "is not a piece scorer file"),  # too deep
        (_scorer_json(intercept=10**400), "is not a piece scorer file"),
        (_scorer_json(intercept=True), "is not a piece scorer file"),
        (_scorer_json(coef=["1.0"] * N_FEATURES), "is not a piece scorer file"),
        (_scorer_json(coef=[1.0] * (N_FEATURES - 1)), "holds 16 coefficients"),
        (
            json.dumps({"features": ["a"], "coef": [1.0], "intercept": 0}),
            "scores other features",
        ),
        (
            json.dumps(
                {
                    "features": list(_scoring.PIECE_FEATURES),
                    "coef": [float("nan")] * len(_scoring.PIECE_FEATURES),
                    "intercept": 0,
                }
            ),
            "not finite",
        ),
    ],
)
def test_a_bad_scorer_file_is_refused_naming_it(tmp_path, content, message):
    path = tmp_path / "scorer.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as info:
        _scoring.load_scorer(str(path))
    assert str(path) in str(info.value)


def test_a_missing_scorer_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.json"):
        _scoring.load_scorer(str(tmp_path / "nowhere.json"))


def test_heuristic_scores_reward_clear_digits_of_digit_widths():
    sure = np.full((1, 10), 1e-12)  # a margin of 27.6 nats
    sure[:, 2] = 1 - 9e-12
    tie = np.full((1, 10), 1e-6)
    tie[0, 2] = tie[0, 4] = 0.5
    geometry = _geometry(1)
    clear = _scoring.heuristic_scores(sure, geometry)[0]
    assert clear > _scoring.heuristic_scores(tie, geometry)[0]
    assert clear == pytest.approx(_scoring.DIGIT_REWARD, abs=0.3)
    too_wide = _scoring.heuristic_scores(sure, _geometry(1, width=2.2))[0]
    assert too_wide == pytest.approx(clear - _scoring.WIDTH_PENALTY * 10, abs=1e-9)

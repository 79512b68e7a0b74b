"""The kept libraries compute what the hand-written code they replace computed, on random inputs.

Each reference below is the formula the suite used before it called scipy
or scikit-learn: verdicts and stored metrics must not move with the change.
"""

import numpy as np
import pytest

from suite.statistics import mean_ci, spread_permutation_test
from suite.training.objectives import baseline_metrics, loss_oscillation


def reference_mean_ci(values, level=0.95):
    from scipy import stats

    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def reference_spread_test(a, b):
    """Every one of the 2^n ways of swapping each pair's two values, counted with ties within 1e-12."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    observed = a.std(ddof=1) - b.std(ddof=1)
    n = len(a)
    swaps = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
    pa, pb = np.where(swaps, b, a), np.where(swaps, a, b)
    stats = pa.std(axis=1, ddof=1) - pb.std(axis=1, ddof=1)
    tol = 1e-12 * max(1.0, abs(observed))
    return float(observed), float(np.mean(stats >= observed - tol)), float(np.mean(stats <= observed + tol))


def samples(rng, n):
    """Pairs of per-seed values as claims see them: continuous, on a few levels (counts of modes, with
    ties), one a reordering of the other (equal spreads), one constant."""
    yield rng.normal(size=n), rng.normal(size=n) * 3
    yield rng.integers(0, 9, n).astype(float), rng.integers(0, 9, n).astype(float)
    levels = rng.integers(0, 9, n) / 8.0
    yield levels, levels[rng.permutation(n)]
    yield np.full(n, 0.1), rng.normal(size=n)


def test_the_t_interval_is_the_hand_written_one():
    rng = np.random.default_rng(0)
    for n in range(2, 13):
        for a, b in samples(rng, n):
            for values in (a, b, a - b):
                assert mean_ci(values) == pytest.approx(reference_mean_ci(values), rel=1e-12, abs=1e-12)
    assert mean_ci([0.5, 0.5, 0.5]) == (0.5, 0.5, 0.5)  # no spread, no width (scipy needs a positive scale)
    assert mean_ci([2.0])[0] == 2.0 and np.isnan(mean_ci([2.0])[1]) and np.isnan(mean_ci([])[0])


def test_the_permutation_test_gives_the_exact_enumerations_p_values():
    """Ties included: equal spreads (one condition a reordering of the other) and counts with few levels
    are where scipy's own tie rule would drop the unswapped data (`spread_permutation_test`)."""
    rng = np.random.default_rng(1)
    for n in range(3, 13):
        for a, b in samples(rng, n):
            assert spread_permutation_test(a, b) == reference_spread_test(a, b), (a, b)


def test_beyond_the_exact_size_the_p_values_are_a_sample_of_the_exact_ones():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=12), rng.normal(size=12) * 2
    exact = reference_spread_test(a, b)
    sampled = spread_permutation_test(a, b, max_exact=9)  # 512 random swaps of the 4,096
    assert sampled[0] == exact[0]
    assert sampled[1:] == pytest.approx(exact[1:], abs=0.08)
    assert sampled == spread_permutation_test(a, b, max_exact=9)  # seeded: the same sample each time


def test_the_dummy_baselines_are_the_majority_label_and_the_mean():
    rng = np.random.default_rng(3)
    for trial in range(60):
        classes, labels = int(rng.integers(2, 6)), (1, 1, 4)[trial % 3]
        shape = (int(rng.integers(5, 200)),) + ((labels,) if trial % 3 else ())
        y_train, y_test = rng.integers(0, classes, shape), rng.integers(0, classes, (50,) + shape[1:])
        majority = np.array([np.bincount(c).argmax() for c in y_train.reshape(len(y_train), -1).T])
        expected = float(np.mean(y_test.reshape(len(y_test), -1) == majority))
        got = baseline_metrics("majority", y_train, y_test, {"test/accuracy": 0.9})
        assert got["test/baseline_accuracy"] == expected and got["test/examples"] == 50.0
    # a tie goes to the smallest label, as np.bincount(...).argmax() does
    tie = baseline_metrics("majority", np.array([2, 2, 1, 1, 3]), np.array([1, 2]), {"test/accuracy": 1.0})
    assert tie["test/baseline_accuracy"] == 0.5
    assert baseline_metrics("majority", np.array([[0, 1], [0, 1], [1, 0]]), np.array([[0, 1]]),
                            {"test/accuracy": 1.0})["test/baseline_accuracy"] == 1.0  # per label position
    for shape, dtype in (((300,), np.float32), ((300, 1), np.float32), ((300, 3), np.float64)):
        y_train = (rng.normal(size=shape) * 5).astype(dtype)
        y_test = rng.normal(size=(40,) + shape[1:]).astype(dtype)
        expected = float(np.mean((y_test - y_train.mean(axis=0)) ** 2))
        got = baseline_metrics("mean", y_train, y_test, {"test/loss": expected / 2})
        assert got == {"test/baseline_loss": expected, "test/skill": 0.5}
    assert baseline_metrics(None, y_train, y_test, {}) == {}


def test_detrending_is_the_least_squares_line():
    rng = np.random.default_rng(4)
    for n in (8, 9, 20, 41):
        values = np.cumsum(rng.normal(size=n)) + 5
        tail = values[n // 2:]
        steps = np.arange(len(tail))
        residual = tail - np.polyval(np.polyfit(steps, tail, 1), steps)
        expected = residual.std() / (np.abs(tail).mean() + 1e-12)
        got = loss_oscillation({"loss": list(values)})
        assert got["train/oscillation_loss"] == pytest.approx(expected, rel=1e-10)
        assert got["train/oscillation_generator"] == got["train/oscillation_loss"]
    line = loss_oscillation({"loss": list(3.0 - 0.1 * np.arange(12))})["train/oscillation_loss"]
    assert line == pytest.approx(0.0, abs=1e-12)  # a loss that falls steadily does not swing


def test_each_loss_per_example_is_what_its_mean_averages():
    import keras

    from suite.training.objectives import make_loss

    rng = np.random.default_rng(5)
    cases = {"sparse_categorical_crossentropy_logits": (rng.integers(0, 10, 32), rng.normal(size=(32, 10))),
             "mse": (rng.normal(size=(32, 1)), rng.normal(size=(32, 1))),
             "symbols_crossentropy": (rng.integers(0, 8, (32, 5)), rng.normal(size=(32, 40))),
             "huber": (rng.normal(size=(32, 2)), rng.normal(size=(32, 2)))}
    for name, (y, p) in cases.items():
        y, p = y.astype("float32" if y.dtype.kind == "f" else "int32"), p.astype("float32")
        per_example = keras.ops.convert_to_numpy(make_loss(name, reduction=None)(y, p))
        assert per_example.shape == (32,), name
        loss = make_loss(name)
        mean = loss(y, p) if isinstance(loss, keras.losses.Loss) else keras.ops.mean(loss(y, p))
        assert float(keras.ops.convert_to_numpy(mean)) == pytest.approx(float(per_example.mean()), rel=1e-6)

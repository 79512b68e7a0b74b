import numpy as np
import pandas as pd
import pytest

from suite.claims import Claim, bootstrap_ci, decide, evaluate_claim, overall_verdict


def frame(values_by_arch, sizes=(100, 400), seeds=(0, 1, 2), dataset="d"):
    rows = []
    for arch, fn in values_by_arch.items():
        for n in sizes:
            for s in seeds:
                rows.append({"dataset": dataset, "arch": arch, "variant": "natural", "n_train": n,
                             "seed": s, "metric": "test/accuracy", "value": fn(n, s)})
    return pd.DataFrame(rows)


CLAIM = Claim(text="a beats b", a={"arch": "a"}, b={"arch": "b"}, test="better")


def test_better_supported_contradicted_inconclusive():
    up = frame({"a": lambda n, s: 0.9 + 0.01 * s, "b": lambda n, s: 0.8})
    assert evaluate_claim(CLAIM, up)[0].verdict == "supported"
    down = frame({"a": lambda n, s: 0.7, "b": lambda n, s: 0.8 + 0.01 * s})
    assert evaluate_claim(CLAIM, down)[0].verdict == "contradicted"
    mixed = frame({"a": lambda n, s: 0.8 + (0.05 if s == 0 else -0.05), "b": lambda n, s: 0.8})
    result = evaluate_claim(CLAIM, mixed)[0]
    assert result.verdict == "inconclusive"
    assert result.low < 0 < result.high and result.n_seeds == 3


def test_lower_is_better_metrics_flip_the_sign():
    claim = Claim(text="a lower loss", a={"arch": "a"}, b={"arch": "b"}, metric="test/loss",
                  higher_is_better=False)
    f = frame({"a": lambda n, s: 0.1, "b": lambda n, s: 0.5 + 0.01 * s}).assign(metric="test/loss")
    assert evaluate_claim(claim, f)[0].verdict == "supported"


def test_sizes_selection_uses_only_the_smallest():
    # a wins only at the smallest size
    f = frame({"a": lambda n, s: 0.9 if n == 100 else 0.5, "b": lambda n, s: 0.7 + 0.001 * s})
    small = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, sizes="smallest:1")
    assert evaluate_claim(small, f)[0].sizes == (100,)
    assert evaluate_claim(small, f)[0].verdict == "supported"
    large = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, sizes="largest:1")
    assert evaluate_claim(large, f)[0].verdict == "contradicted"


def test_tuple_condition_must_hold_against_each():
    f = frame({"a": lambda n, s: 0.9, "c": lambda n, s: 0.6, "b": lambda n, s: 0.7 + 0.01 * s})
    claim = Claim(text="", a={"arch": ("a", "c")}, b={"arch": "b"})
    assert evaluate_claim(claim, f)[0].verdict == "contradicted"  # c is below b


def test_negligible_and_not_better():
    assert decide("negligible", -0.01, 0.01, 0.02) == "supported"
    assert decide("negligible", 0.03, 0.05, 0.02) == "contradicted"
    assert decide("negligible", -0.01, 0.05, 0.02) == "inconclusive"
    assert decide("not_better", -0.05, 0.0, 0.0) == "supported"
    assert decide("not_better", 0.01, 0.05, 0.0) == "contradicted"


def test_single_seed_is_inconclusive_with_a_note():
    f = frame({"a": lambda n, s: 0.9, "b": lambda n, s: 0.1}, seeds=(0,))
    r = evaluate_claim(CLAIM, f)[0]
    assert r.verdict == "inconclusive" and "fewer than 2 seeds" in r.note


def test_bootstrap_interval_contains_the_mean():
    mean, low, high = bootstrap_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5 and 1.0 <= low < 2.5 < high <= 4.0
    assert np.isnan(bootstrap_ci([1.0])[1])


def test_overall_verdict_needs_agreement():
    assert overall_verdict(["supported", "supported"]) == "supported"
    assert overall_verdict(["supported", "contradicted"]) == "inconclusive"
    assert overall_verdict([]) == "inconclusive"


def test_unknown_test_is_rejected():
    with pytest.raises(ValueError, match="unknown claim test 'bigger'"):
        Claim(text="", a={}, b={}, test="bigger")

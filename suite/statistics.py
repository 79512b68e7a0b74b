"""The statistics behind the verdicts: intervals and tests that hold at the seeds used.

Kept apart from `suite.claims` (what a claim says and how its conditions
are paired) so that each stays short; `suite.claims` re-exports them.
"""

from __future__ import annotations

import numpy as np

TESTS = ("better", "negligible", "not_better")


def mean_ci(values, level: float = 0.95):
    """Mean and Student-t interval (n - 1 degrees of freedom) of the mean of `values`, one per seed.

    It holds its level at few seeds where the per-seed values are roughly
    normal (tests/test_claims.py checks its coverage at 3 and 10 seeds); a
    constant set of values gives a zero-width interval. One value: no interval.
    """
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.nan, np.nan, np.nan
    mean = float(values.mean())
    if len(values) == 1:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def spread_permutation_test(a, b, max_exact: int = 16, n_random: int = 20_000, seed: int = 0):
    """sd(a) - sd(b) over paired seeds and its one-sided p-values (p_more, p_less) from swapping each
    seed's two values or not: every one of the 2^n ways up to `max_exact` seeds, else a random sample."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    observed = a.std(ddof=1) - b.std(ddof=1)
    n = len(a)
    if n <= max_exact:
        swaps = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(bool)
    else:
        swaps = np.random.default_rng(seed).integers(0, 2, (n_random, n)).astype(bool)
    pa, pb = np.where(swaps, b, a), np.where(swaps, a, b)
    stats = pa.std(axis=1, ddof=1) - pb.std(axis=1, ddof=1)
    tol = 1e-12 * max(1.0, abs(observed))
    return float(observed), float(np.mean(stats >= observed - tol)), float(np.mean(stats <= observed + tol))


def loglog_slope(lengths, values) -> float:
    """Slope of log(value) against log(length): 1 is linear growth, 0 flat."""
    return float(np.polyfit(np.log(np.asarray(lengths, float)), np.log(np.asarray(values, float)), 1)[0])


def decide(test: str, low: float, high: float, margin: float) -> str:
    if test == "better":
        return "supported" if low > 0 else "contradicted" if high < 0 else "inconclusive"
    if test == "negligible":
        if -margin <= low and high <= margin:
            return "supported"
        return "contradicted" if (low > margin or high < -margin) else "inconclusive"
    if test == "not_better":
        return "supported" if high <= margin else "contradicted" if low > margin else "inconclusive"
    raise ValueError(f"unknown claim test {test!r}; valid tests: {', '.join(TESTS)}")

"""The statistics behind the verdicts: intervals and tests that hold at the seeds used.

Kept apart from `suite.claims` (what a claim says and how its conditions
are paired) so that each stays short. The procedures are scipy's: this
module names them and says how they are read.
"""

from __future__ import annotations

import numpy as np

TESTS = ("better", "negligible", "not_better")


def mean_ci(values, level: float = 0.95):
    """Mean and Student-t interval (n - 1 degrees of freedom) of the mean of `values`, one per seed
    (`scipy.stats.t.interval` around the mean, scaled by its standard error).

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
    scale = float(stats.sem(values))
    if scale == 0:  # scipy's distributions need a positive scale: no spread, no width
        return mean, mean, mean
    low, high = stats.t.interval(level, len(values) - 1, loc=mean, scale=scale)
    return mean, float(low), float(high)


def sd_difference(a, b, axis=-1):
    """The standard deviation over seeds (n - 1 in the denominator) of a minus that of b."""
    return np.std(a, axis=axis, ddof=1) - np.std(b, axis=axis, ddof=1)


def spread_permutation_test(a, b, max_exact: int = 16, seed: int = 0):
    """sd(a) - sd(b) over paired seeds and its one-sided p-values (p_more, p_less) from swapping each
    seed's two values or not (`scipy.stats.permutation_test`, permutation_type="samples"): every one of
    the 2^n ways up to `max_exact` seeds, else 2^max_exact random ones.

    The p-values are the share of those ways whose sd difference is at least (at most) the observed
    one, counting as equal any within 1e-12 of it (relative above 1): the statistic is a difference
    of two standard deviations, whose round-off is relative to the deviations and not to their
    difference, so scipy's own tie rule (1e-14 of the difference itself; none at a difference of 0)
    can fail to count the unswapped data as a tie of itself."""
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    result = stats.permutation_test((a, b), sd_difference, permutation_type="samples", vectorized=True,
                                    n_resamples=2**max_exact, rng=seed)
    observed, null = float(result.statistic), np.asarray(result.null_distribution)
    tol = 1e-12 * max(1.0, abs(observed))
    return observed, float(np.mean(null >= observed - tol)), float(np.mean(null <= observed + tol))


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

"""The statistics behind the verdicts: intervals and tests that hold at the seeds used.

Kept apart from `suite.claims` (what a claim says and how its conditions
are paired) so that each stays short. The procedures are scipy's: this
module names them and says how they are read.
"""

from __future__ import annotations

import warnings

import numpy as np

TESTS = ("better", "negligible", "not_better")
# the error level of one tail: each side of a 95% interval, each one-sided test of a verdict, the
# permutation test of a spread and Holm's family-wise level across the run's decisions
ONE_SIDED = 0.025


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


def one_sided_p(values, popmean: float, alternative: str):
    """The p-value of a one-sample Student t-test over seeds (`scipy.stats.ttest_1samp`) that the mean of
    `values` is greater (`alternative="greater"`) or less ("less") than `popmean`; over the last axis, so
    that many sets of seeds are tested at once (a float for one set, an array of the leading shape else).

    Values without spread (every seed the same) have no standard error: then p is 0 where they lie
    strictly beyond `popmean` in that direction and 1 otherwise, the limit of the test as the spread
    shrinks (scipy's own answer there is nan), as `mean_ci` gives a zero-width interval."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    flat = np.ptp(values, axis=-1) == 0
    with warnings.catch_warnings():  # nearly equal values: scipy warns of round-off, as `mean_ci` would not
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        warnings.filterwarnings("ignore", "invalid value", RuntimeWarning)  # the flat sets, replaced below
        warnings.filterwarnings("ignore", "divide by zero", RuntimeWarning)  # one value: flat too
        p = np.asarray(stats.ttest_1samp(values, popmean, axis=-1, alternative=alternative).pvalue, dtype=float)
    first = values[..., 0]
    beyond = first > popmean if alternative == "greater" else first < popmean
    p = np.where(flat, np.where(beyond, 0.0, 1.0), p)
    return float(p) if p.ndim == 0 else p


def tost(values, margin: float):
    """Two one-sided t-tests (TOST, Schuirmann 1987) that the mean of `values` lies within [-margin,
    margin]: the larger of the p-values of "mean > -margin" and "mean < margin". At p <= 0.025 both
    reject, exactly where the 95% Student-t interval lies inside the band. Over the last axis, as
    `one_sided_p`."""
    return _same_kind(np.maximum(one_sided_p(values, -margin, "greater"), one_sided_p(values, margin, "less")))


def decision_p_values(test: str, values, margin: float) -> tuple:
    """(p_for, p_against): the one-sided p-values of the two tests a verdict makes on per-seed values
    (positive: a better), at one-sided `ONE_SIDED` each, the tails of the 95% interval:

    - "better":     mean > 0 (supported), mean < 0 (contradicted);
    - "not_better": mean < margin (supported), mean > margin (contradicted);
    - "negligible": TOST within [-margin, margin] (supported), and the smaller of mean > margin and
                    mean < -margin (contradicted: the interval wholly outside the band).

    Each rejects exactly where `decide`'s interval rule says (tests/test_claims.py checks it on random
    inputs). Over the last axis, as `one_sided_p`: floats for one set of seeds."""
    if test == "better":
        return one_sided_p(values, 0.0, "greater"), one_sided_p(values, 0.0, "less")
    if test == "not_better":
        return one_sided_p(values, margin, "less"), one_sided_p(values, margin, "greater")
    if test == "negligible":
        return tost(values, margin), _same_kind(np.minimum(one_sided_p(values, margin, "greater"),
                                                           one_sided_p(values, -margin, "less")))
    raise ValueError(f"unknown claim test {test!r}; valid tests: {', '.join(TESTS)}")


def _same_kind(p):
    """A float for a 0-d result, the array otherwise (as `one_sided_p` returns)."""
    p = np.asarray(p, dtype=float)
    return float(p) if p.ndim == 0 else p


def redraw(n: int, size: int, draws: int, rng, stages: int = 2) -> np.ndarray:
    """Positions (draws, size) into n values, drawn with replacement in two stages: a set of n (the values
    as the truth might be), then `size` from that set: a second study's values under a bootstrap that lets
    the effect itself vary. `stages=1`: `size` straight from the n values, which plugs in the effect
    observed (more hopeful: bench/README.md, "Does a verdict repeat?", measures both)."""
    if stages not in (1, 2):
        raise ValueError(f"stages must be 1 or 2. Received: stages={stages}")
    if stages == 1:
        return rng.integers(0, n, size=(draws, size))
    worlds = rng.integers(0, n, size=(draws, n))
    return np.take_along_axis(worlds, rng.integers(0, n, size=(draws, size)), axis=1)


def verdict_of(p_for: float, p_against: float, level: float = ONE_SIDED) -> str:
    """supported where the claim's test rejects at `level`, contradicted where the opposite one does."""
    return "supported" if p_for <= level else "contradicted" if p_against <= level else "inconclusive"


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment (Holm 1979) of m p-values, in their order: with the p-values sorted
    ascending, p_(1) <= ... <= p_(m), the adjusted p_(i) is the largest over j <= i of
    min(1, (m - j + 1) p_(j)). A hypothesis whose adjusted p is at most alpha is rejected with a
    family-wise error rate of at most alpha, whatever the dependence between the tests. (scipy has no
    Holm; `statsmodels.stats.multitest.multipletests(method="holm")` computes the same.)"""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    steps = np.minimum(1.0, (len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.maximum.accumulate(steps) if len(p) else steps
    return adjusted


def decide(test: str, low: float, high: float, margin: float) -> str:
    """The verdict of a 95% interval [low, high] of the mean difference (the rules of `suite.claims`);
    the same as `verdict_of(*decision_p_values(...))` on the values the interval came from."""
    if test == "better":
        return "supported" if low > 0 else "contradicted" if high < 0 else "inconclusive"
    if test == "negligible":
        if -margin <= low and high <= margin:
            return "supported"
        return "contradicted" if (low > margin or high < -margin) else "inconclusive"
    if test == "not_better":
        return "supported" if high <= margin else "contradicted" if low > margin else "inconclusive"
    raise ValueError(f"unknown claim test {test!r}; valid tests: {', '.join(TESTS)}")

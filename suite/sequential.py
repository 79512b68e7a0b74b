"""Group-sequential verdicts: seeds drawn in rounds, the error level spent over the planned looks.

A claim's verdict (`suite.claims`) is looked at after each round of seeds:
at the planned seed counts `looks_for(planned)` (3, 5, 10, then 20 ...,
up to the seeds planned for the study). At look k the verdict's one-sided
t-tests (`suite.statistics.decision_p_values`) over the first n_k seeds are
compared with a nominal level below `ONE_SIDED`; the first look where a test
rejects decides the verdict (supported where the claim's test rejects,
contradicted where the opposite one does), and none rejecting by the last
look leaves it inconclusive. Each one-sided test keeps its error rate at
`ONE_SIDED` over all the looks together: a group-sequential design, the
level spent over the looks by a spending function (Lan and DeMets 1983).

The spending function is the power family alpha * t^rho of Kim and DeMets
(1987), t the share of the planned seeds a look has seen, with rho = 3: it
spends little at the first looks (a decision at 3 seeds needs an effect that
is decisive there), so the last look's level stays close to `ONE_SIDED` and
its power close to the fixed design's (tests/test_sequential.py simulates
both). Look k's nominal level is the level spent since the look before,
alpha(t_k) - alpha(t_{k-1}): each look's t-test is exact for normal per-seed
values, so the chance that any look rejects a true null is at most the sum
of the levels, alpha (Bonferroni's inequality over the looks). The usual
nominal levels of a spending function, from the joint normal distribution of
the looks' z statistics (correlation sqrt(n_i / n_j); Jennison and Turnbull
2000, "Group Sequential Methods with Applications to Clinical Trials",
section 7.2), also spend the looks' correlation; but Student-t statistics at
2 to 9 degrees of freedom, each with its own standard deviation, are less
correlated than that, and those levels applied to the t-tests' p-values
exceed the error rate (bench/README.md, "Sequential seeds", measures both).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from suite.statistics import ONE_SIDED, decision_p_values, mean_ci, redraw

# the seed counts at which a verdict is looked at, below the seeds planned (the last look)
LOOKS = (3, 5, 10, 20, 40)
# the power family's exponent (Kim and DeMets 1987): rho = 1 spends like Pocock's design, rho = 3 close to
# O'Brien and Fleming's (Jennison and Turnbull 2000, section 7.2.1)
RHO = 3.0
# `repeat_codes`: the bootstrap draws of seeds, and each verdict's code
DRAWS = 1000
CODES = {"supported": 1, "contradicted": -1, "inconclusive": 0}
# the verdicts whose chance of repeating is estimated and shown: a decision. An inconclusive verdict claims
# nothing, and the estimate is far too gloomy there (a mean of exactly 0 reads about 0.8; bench/README.md)
DECIDED = ("supported", "contradicted")
# a decision that a second set of seeds repeats with a smaller estimated probability is flagged as one that
# may not repeat; 0.8 borrows, by analogy, the power a study is conventionally designed for (Cohen 1988,
# "Statistical Power Analysis for the Behavioral Sciences", section 2.4)
REPEATABLE = 0.8
# a verdict's `method` (`suite.claims.ClaimResult`): the procedure, its looks recorded beside it
SPENDING = f"level spent as 0.025 t^{RHO:g}, Kim and DeMets 1987"
PROCEDURE = f"group-sequential t-tests over seeds ({SPENDING})"


def looks_for(planned: int) -> tuple[int, ...]:
    """The seed counts a verdict is looked at when `planned` seeds are planned: those of `LOOKS` below
    it, then `planned` itself (the last look). One look (planned <= 3): the fixed design."""
    if planned < 1:
        raise ValueError(f"planned seeds must be at least 1; received planned={planned}")
    return tuple(n for n in LOOKS if n < planned) + (planned,)


def spent(t, alpha: float = ONE_SIDED, rho: float = RHO):
    """The level spent by the share `t` of the planned seeds: alpha t^rho (Kim and DeMets 1987)."""
    return alpha * np.minimum(np.asarray(t, dtype=float), 1.0) ** rho


@functools.cache
def nominal_levels(looks: tuple[int, ...], planned: int | None = None, alpha: float = ONE_SIDED,
                   rho: float = RHO) -> tuple[float, ...]:
    """The one-sided nominal level of each look, for looks at `looks` seeds of `planned` (the last look's
    by default): the level `spent` between the look before and this one, at the shares n_k / planned of
    the planned seeds; the last look spends the rest of alpha, also where it falls short of `planned` (a
    failed or interrupted run). The levels sum to alpha. Computed once per schedule (cached)."""
    looks = tuple(int(n) for n in looks)
    if not looks or looks[0] < 1 or any(b <= a for a, b in zip(looks, looks[1:])):
        raise ValueError(f"looks must be increasing positive seed counts; received looks={looks}")
    planned = max(looks[-1], planned or looks[-1])
    cumulative = [float(spent(n / planned, alpha, rho)) for n in looks[:-1]] + [alpha]
    return tuple(float(x) for x in np.diff([0.0, *cumulative]))


@dataclasses.dataclass(frozen=True)
class Decision:
    """The outcome of the sequential procedure on one claim's per-seed values.

    verdict: supported, contradicted or inconclusive; n_seeds: the seeds of the look it rests on (the
    deciding look, else the last look reached; all the values where no look is reached); look: that
    look's index in `looks` (None: none reached); level: that look's nominal level; p_for, p_against:
    its two one-sided p-values (`suite.statistics.decision_p_values`); pending: no look decided and the last
    is not reached, so more seeds may decide it."""

    verdict: str
    n_seeds: int
    looks: tuple
    look: int | None
    level: float | None
    p_for: float | None
    p_against: float | None
    pending: bool

    @property
    def p_value(self) -> float | None:
        """The smaller p-value on the scale of a single test at `ONE_SIDED`: scaled by ONE_SIDED / the
        look's nominal level (at most 1), so that it is at most ONE_SIDED exactly where the look rejects.
        An approximation for Holm's adjustment across the run (`suite.aggregation.holm_verdicts`),
        which compares every verdict's p-value with ONE_SIDED: a nominal p-value is not the probability
        of the whole sequential procedure rejecting."""
        if self.p_for is None:
            return None
        return min(1.0, min(self.p_for, self.p_against) * ONE_SIDED / self.level)


def reached_looks(looks: tuple[int, ...], available: int) -> tuple[int, ...]:
    """The looks that `available` seeds reach: every planned look at or below it; and where fewer seeds
    than the last look are there but more than the one before it (a failed or interrupted run), a last
    look at the seeds there (it spends the rest of the level)."""
    reached = tuple(n for n in looks if n <= available)
    before = looks[-2] if len(looks) > 1 else 0
    if available < looks[-1] and available > before:
        reached += (available,)
    return reached


def first_rejection(p_for, p_against, levels) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised core of the procedure: `p_for` and `p_against` of shape (looks, ...) and one level per
    look; returns (verdict, look) of the shape after the first axis: verdict 1 where the claim's test
    rejects first (supported), -1 where the opposite one does (contradicted), 0 where neither does by the
    last look; look: the index of the deciding look, else the last. The claim's own test is read first
    at a look where both would reject."""
    p_for, p_against = np.asarray(p_for, dtype=float), np.asarray(p_against, dtype=float)
    levels = np.asarray(levels, dtype=float).reshape((-1,) + (1,) * (p_for.ndim - 1))
    outcome = np.where(p_for <= levels, 1, np.where(p_against <= levels, -1, 0))
    decided = outcome != 0
    look = np.where(decided.any(axis=0), decided.argmax(axis=0), len(outcome) - 1)
    return np.take_along_axis(outcome, look[None], axis=0)[0], look


def sequential_test(test: str, values, margin: float, planned: int | None = None, p_values=None) -> Decision:
    """The sequential verdict of `test` ("better", "not_better", "negligible") on per-seed `values` in
    seed order, with `planned` seeds planned (None: as many as there are values): look k tests the first
    n_k values (`looks_for`, `reached_looks`) at its nominal level (`nominal_levels`). The decision rests
    only on the values up to its look: seeds beyond it never change it. `p_values(index)`: the look's two
    p-values from the seeds at the positions `index` (an integer array, seeds along its last axis: here
    the first n), where they are not `decision_p_values` of `values` (a claim over several pairs,
    `suite.decidable.pairwise_p_values`); `repeat_codes` calls it with many draws of seeds at once."""
    values = np.asarray(values, dtype=float)
    looks = looks_for(planned or max(len(values), 1))
    reached = tuple(n for n in reached_looks(looks, len(values)) if n >= 2)  # a t-test needs 2 seeds
    if not reached:
        return Decision("inconclusive", len(values), looks, None, None, None, None, pending=len(values) < looks[-1])
    # the last look reached spends the rest of the level where it is the last (planned, or short of it in
    # a failed or interrupted run); looks before the last keep the levels of the planned schedule
    final = reached[-1] == looks[-1] or reached[-1] not in looks
    levels = nominal_levels(reached, looks[-1]) if final else nominal_levels(looks)[: len(reached)]
    # a look before the last whose seeds all gave the same value decides nothing: its t statistic has no
    # spread to divide by, and the next seeds may differ (modes covered: 8, 8, 8 at 3 seeds, then a 5)
    p_values = p_values or (lambda index: decision_p_values(test, values[index], margin))
    p = [p_values(np.arange(n)) if n == reached[-1] and final or np.ptp(values[:n]) > 0 else (1.0, 1.0)
         for n in reached]
    verdict, look = first_rejection([q[0] for q in p], [q[1] for q in p], levels)
    verdict, look = int(verdict), int(look)
    return Decision({1: "supported", -1: "contradicted", 0: "inconclusive"}[verdict], reached[look], looks,
                    look, levels[look], p[look][0], p[look][1], pending=verdict == 0 and not final)


def repeat_codes(test: str, values, margin: float, planned: int | None = None, p_values=None, n: int | None = None,
                 draws: int = DRAWS, seed: int = 0, stages: int = 2) -> tuple:
    """The verdict a second set of seeds would give, estimated: the procedure of `sequential_test` run
    again on `draws` fresh sets of `planned` seeds, each drawn with replacement from the first `n` of
    `values` (the seeds the verdict rests on; all by default) in two stages (`suite.statistics.redraw`:
    a set as the truth might be, then the study's seeds from it), and each draw's verdict as a code (1
    supported, -1 contradicted, 0 inconclusive; `CODES`). The share of draws that give the verdict found
    (`repeat_share`) estimates its reproducibility probability (Shao and Chow 2002, "Reproducibility
    probability in clinical trials", Statistics in Medicine 21: the chance that an identical second study
    decides as the first did, for a significant first study): about 0.5 for a decision at the edge of its
    test (Goodman 1992), near 1 only far from it, so on the scale of "would a second machine agree" it
    says how far from its test's edge a decision sits. From the seeds alone it cannot know they were lucky:
    for a decision on a weak effect it is far too hopeful (bench/README.md, "Does a verdict repeat?").
    Resampling keeps the seeds' shape (a model that learns on some seeds and not on others stays a
    mixture), but five seeds that all fell in one mode look decisive to it as to the t-test. `p_values` as
    in `sequential_test`, given the drawn positions. A fixed generator (`seed`): the same values give the
    same estimate on every machine. Empty where fewer than 2 seeds are there (no test)."""
    values = np.asarray(values, dtype=float)
    n = len(values) if n is None else n
    if n < 2:
        return ()
    looks = looks_for(planned or n)
    index = redraw(n, looks[-1], draws, np.random.default_rng(seed), stages)
    p_values = p_values or (lambda positions: decision_p_values(test, values[positions], margin))
    p_for, p_against = [], []
    for k, m in enumerate(looks):
        if m < 2:  # a t-test needs two seeds
            p_for.append(np.ones(draws)), p_against.append(np.ones(draws))
            continue
        f, a = (np.broadcast_to(np.asarray(p, dtype=float), (draws,)) for p in p_values(index[:, :m]))
        if k < len(looks) - 1:  # an early look whose seeds all agree decides nothing (`sequential_test`)
            spread = np.ptp(values[index[:, :m]], axis=-1) > 0
            f, a = np.where(spread, f, 1.0), np.where(spread, a, 1.0)
        p_for.append(f), p_against.append(a)
    verdict, _ = first_rejection(p_for, p_against, nominal_levels(looks))
    return tuple(int(v) for v in verdict)


def repeat_share(codes, verdict: str) -> float | None:
    """The share of `repeat_codes`'s draws that give `verdict`; None where there are no draws or the verdict
    is no decision (`DECIDED`: inconclusive, or not a test's outcome: undecidable, control failed)."""
    if not len(codes) or verdict not in DECIDED:
        return None
    return float(np.mean(np.asarray(codes) == CODES[verdict]))


def repeated_interval(values, decision: Decision) -> tuple[float, float, float]:
    """Mean and repeated confidence interval (Jennison and Turnbull 1989) of the first `decision.n_seeds`
    values: the Student-t interval at two-sided level 1 - 2 x the look's nominal level, which lies beyond
    0 (or inside a "negligible" band) exactly where that look's tests reject, as the 95% interval does
    for a single test (`suite.statistics.decide`); its coverage holds at every look together. With no
    look reached, the plain 95% interval of the values there."""
    values = np.asarray(values, dtype=float)[: decision.n_seeds]
    level = 1 - 2 * (decision.level if decision.level is not None else ONE_SIDED)
    return mean_ci(values, level)

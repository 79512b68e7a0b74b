"""How a claim's two conditions are compared: their runs paired by seed and size, and differenced.

A claim (`suite.claims.Claim`) compares condition a with condition b (or
with a constant): for every seed and training-set size where both have runs,
the difference a - b, signed so that positive favours a (by the metric's
direction), optionally after a paired change between variants, as log-log
slopes over lengths, or as the spread over seeds. `suite.claims` turns these
differences into verdicts; `suite.adequacy` recomputes them with runs trained
longer.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from suite.conditions import compared_pairs, select_sizes, selects
from suite.statistics import loglog_slope, spread_permutation_test


def condition_values(frame, condition: Mapping, higher: bool, by=("seed", "n_train")):
    """Per `by` value of a condition; the weakest where it lists a tuple."""
    sub = frame[selects(frame, condition)]
    # Every listed value must be present, else that (seed, size) is dropped.
    need = 1
    for value in condition.values():
        if isinstance(value, tuple):
            need *= len(value)
    grouped = sub.groupby(list(by))["value"]
    weakest = grouped.min() if higher else grouped.max()
    return weakest[grouped.count() == need]


def loglog_slopes(frame, by, x: str = "length") -> pd.DataFrame:
    """One log-log slope of `value` against column `x` per group of `by` (mean over other rows per x)."""
    rows = []
    for key, g in frame.groupby(list(by)):
        per_x = g.groupby(x)["value"].mean()
        if len(per_x) >= 2 and (per_x > 0).all():
            rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                         "value": loglog_slope(per_x.index, per_x.to_numpy())})
    return pd.DataFrame(rows, columns=[*by, "value"])


# the error a scaling exponent takes the log of never goes below this: a seed at 100% accuracy at one size
# (a test set of a few hundred examples can show it) would otherwise give log(0)
ERROR_FLOOR = 1e-3


def scaling_exponents(frame, by) -> pd.DataFrame:
    """One scaling exponent per group of `by`: minus the log-log slope of the error (1 - value, an
    accuracy, floored at `ERROR_FLOOR`) against the training-set size `n_train`, the exponent alpha of
    a power-law learning curve, error ~ n^-alpha (Hestness et al. 2017). Higher: the error falls faster
    as data grows. Groups with fewer than two sizes drop out."""
    error = frame.assign(value=(1.0 - frame["value"]).clip(lower=ERROR_FLOOR))
    slopes = loglog_slopes(error, by, x="n_train")
    return slopes.assign(value=-slopes["value"])


PAIR_KEYS = ("study", "dataset", "arch", "setting", "model", "n_train", "seed", "metric")


def paired_change(frame, column: str, base, other, absolute: bool = False) -> pd.DataFrame:
    """value(column = other) - value(column = base), paired on everything else that identifies a run.

    Pairs share dataset, architecture, setting, training-set size, seed
    (hence the training subset) and metric; rows without a partner drop out.
    """
    keys = [k for k in PAIR_KEYS if k in frame.columns and k != column]
    first = frame[frame[column] == base].groupby(keys)["value"].mean()
    second = frame[frame[column] == other].groupby(keys)["value"].mean()
    both = first.index.intersection(second.index)
    change = second[both] - first[both]
    return (change.abs() if absolute else change).reset_index()


def differences(claim, frame, a: Mapping, b: Mapping):
    """Signed differences a - b (positive: a better), per seed (and size)."""
    sign = 1.0 if claim.prefers_higher else -1.0
    if claim.change:
        (column, (base, other)), = claim.change.items()
        frame = paired_change(frame, column, base, other, claim.absolute)
    if claim.statistic == "slope":
        frame = loglog_slopes(frame, sorted({"seed", *a, *b}))
        by = ("seed",)
    elif claim.statistic == "scaling":
        frame = scaling_exponents(frame, sorted({"seed", *a, *b}))
        by = ("seed",)
    else:
        by = ("seed", "n_train")
    va = condition_values(frame, a, claim.prefers_higher, by)
    if not b:
        return sign * (va - claim.reference)
    vb = condition_values(frame, b, claim.prefers_higher, by)
    both = va.index.intersection(vb.index)
    return sign * (va[both] - vb[both])


# metrics bounded above by 1 (a perfect score): where a model sits within a claim's margin of it, nothing can
# lead it by the margin. By the metric's last part: accuracies and skills, probes' accuracies
# ("trained/probe_code_10") and trustworthiness ("trained/trust_code")
BOUNDED = ("accuracy", "skill")
BOUNDED_PREFIXES = ("probe_", "trust_")


def bounded(metric: str) -> bool:
    """Whether `metric` is bounded above by 1, a perfect score (`BOUNDED`)."""
    last = metric.split("/")[-1]
    return last in BOUNDED or last.startswith(BOUNDED_PREFIXES)


def room_to_perfect(claim, frame, sizes, seeds) -> float | None:
    """What a claim's models leave to a perfect score, as a mean over the claim's sizes and `seeds`, where
    that can make the claim true whatever the models do (`suite.decidable.undecidable`): for "a is not
    better than b by more than the margin", what b leaves (below the margin, a cannot beat b by it); for
    "a and b within the margin of each other", the larger of what a and b leave (both below the margin:
    neither can lead the other by it, so the band holds by the ceiling, as gating's two cells at skill
    0.998 on the adding problem); for "a is better than b", the larger of what a and b leave too (both
    saturated: a difference between them, whichever its sign, is not one in what they learned, as the
    LSTM's two initialisations at skill 0.998 and 0.999 on the adding problem). A change between two
    metrics of the same runs against 0 (the code's trustworthiness against PCA's) plays its first metric
    as b and its second as a. None where that does not apply: a band or bound with no margin, no b, any
    other change, or a metric not bounded by 1 (`bounded`)."""
    sides = _bounded_sides(claim)
    if (claim.test not in ("better", "not_better", "negligible") or (claim.margin <= 0 and claim.test != "better")
            or sides is None or claim.statistic != "mean" or not claim.prefers_higher):
        return None
    rooms = []
    a, b = sides
    for condition in ((b,) if claim.test == "not_better" else (a, b)):
        values = condition_values(frame, condition, True).reset_index()
        values = values[values["n_train"].isin(sizes) & values["seed"].isin(seeds)]
        if values.empty:
            return None
        rooms.append(float(1.0 - values.groupby("seed")["value"].mean().mean()))
    return max(rooms)


def _bounded_sides(claim) -> tuple[Mapping, Mapping] | None:
    """(a, b) as conditions on runs whose metric is bounded by 1, for `room_to_perfect`; None otherwise."""
    if not claim.change:
        return (claim.a, claim.b) if claim.b and bounded(claim.metric) else None
    metrics = claim.change.get("metric")
    if claim.b or claim.reference != 0 or claim.absolute or not metrics or not all(bounded(m) for m in metrics):
        return None
    base, other = metrics
    return {**claim.a, "metric": other}, {**claim.a, "metric": base}


def spread_difference(claim, frame):
    """sd over seeds of a minus sd over seeds of b (per-seed values averaged over the claim's sizes),
    with the one-sided p-values of `spread_permutation_test`. Returns (estimate, p_more, p_less,
    seeds, sizes); the p-values are None below 3 seeds."""
    sizes = select_sizes(claim.sizes, sorted(frame["n_train"].unique().tolist()))
    frame = frame[frame["n_train"].isin(sizes)]
    va = condition_values(frame, claim.a, True).groupby("seed").mean()
    vb = condition_values(frame, claim.b, True).groupby("seed").mean()
    seeds = va.index.intersection(vb.index)
    a, b = va[seeds].to_numpy(), vb[seeds].to_numpy()
    if len(seeds) < 3:
        return (float(a.std(ddof=1) - b.std(ddof=1)) if len(seeds) == 2 else None), None, None, len(seeds), sizes
    estimate, p_more, p_less = spread_permutation_test(a, b)
    return estimate, p_more, p_less, len(seeds), sizes


def pair_differences(claim, frame) -> list:
    """Per pair of conditions of an `each` claim (`suite.conditions.compared_pairs`), its differences per
    seed (and size); one part without `each`."""
    if not claim.each:
        return [differences(claim, frame, claim.a, claim.b)]
    return [differences(claim, frame, a, b) for a, b in compared_pairs(claim.a, claim.b, claim.each)]


def weakest_difference(claim, frame):
    """The differences, or with `each`, per seed (and size) the one least favourable to the claim
    (the pairs of conditions: `suite.conditions.compared_pairs`)."""
    if not claim.each:
        return differences(claim, frame, claim.a, claim.b)
    parts = pair_differences(claim, frame)
    joined = pd.concat(parts, axis=1, join="inner")
    if claim.test == "better" or joined.empty:
        return joined.min(axis=1)
    if claim.test == "not_better":
        return joined.max(axis=1)
    # negligible: the difference farthest from 0, with its sign
    return joined.apply(lambda row: row.iloc[int(np.argmax(np.abs(row.to_numpy())))], axis=1)


def per_seed(claim, frame, sizes) -> pd.Series:
    """The claim's difference per seed (a - b, sign-flipped where lower is better), averaged over `sizes`."""
    diff = weakest_difference(claim, frame).reset_index(name="diff")
    return diff[diff["n_train"].isin(sizes)].groupby("seed")["diff"].mean()

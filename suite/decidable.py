"""What a dataset can decide of a claim, and a claim over several models pair by pair.

*Undecidable*: the data could not decide the claim at all, whatever the
effect: a margin smaller than one example of the test set (accuracies move
in steps of 1 / test examples), a "not_better" claim on an accuracy whose b
leaves less than the margin to a perfect score over the claim's sizes and
seeds (at the ceiling: a cannot beat b by the margin whatever a does, so the
claim cannot fail; likewise a "negligible" claim whose a and b both do), a
"better" claim whose a and b both leave less than 1 -
`suite.adequacy.SATURATED` to a perfect score (both saturated: whichever
leads by a hair, the two learned the task), an interval wider than a
"negligible" claim's whole band (no outcome could be supported at these seeds), or two
conditions whose difference is the same for every seed (zero variance:
fixed by construction or both saturated, not measured; one condition at the
same value on every seed against a constant is a measurement).

A dataset undecidable for one of these reasons (`DATA_LIMITS`: all but the
interval wider than a band, which more seeds may narrow) counts for nothing
in the claim's verdict over its datasets (`suite.claims.ClaimResult.counts`).

Over several models (`each`): per seed the pair least favourable to the
claim is tested for it (sound: every pair is at least as favourable), each
pair's own differences against it (`pairwise_p_values`), and a pair that
cannot decide (a model below its gate, or two models that learned nothing)
is left out where the others can (`competent_pairs`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from suite.adequacy import SATURATED, gate_checks, learned_nothing
from suite.differences import pair_differences
from suite.statistics import decision_p_values

def competent_pairs(claim, runs, gates, sizes) -> tuple | None:
    """For a claim over several pairs (`each`) some of which cannot decide it on `runs` (one dataset's, at
    the claim's `sizes`): a model below its gate, or two models that learned nothing the claim reads
    (`suite.adequacy.learned_nothing`): (the claim over the other pairs, which are left out and why,
    "without arch=ft_transformer: ft_transformer not competent (0.932 < 0.939 = ...)"); None where every
    pair or none can decide. Such a pair says nothing of the others: "no network beats the trees" on the
    MLP, the grid CNN and the column LSTM stands or falls on them when the FT-Transformer is not
    competent, as a claim over datasets stands on those that can decide it. The pairs are chosen on the
    seeds of the whole claim's verdict (`runs`); the claim over the others then reads its own looks."""
    if not claim.each or claim.statistic != "mean":
        return None
    (column, values), = claim.each.items()
    why = {}
    for v in values:
        single = dataclasses.replace(claim, each={column: (v,)})
        reasons = [c.text() for c in gate_checks(single, runs, gates) if not c.passed]
        why[v] = "; ".join(filter(None, [*reasons, learned_nothing(single, runs, sizes)]))
    kept = tuple(v for v in values if not why[v])
    if not kept or len(kept) == len(values):
        return None
    left_out = "; ".join(f"without {column}={v}: {why[v]}" for v in values if why[v])
    return dataclasses.replace(claim, each={column: kept}), left_out


def pairwise_p_values(claim, frame, sizes, seeds, values):
    """For a claim over several pairs (`each`): a look's p-values from the seeds at given positions, the test for it
    on the per-seed weakest pair (`values`: sound, as every pair is at least as favourable) and the test
    against it on each pair's own differences, Bonferroni over the pairs (a minimum over noisy pairs is
    pulled against the claim by the noise alone: four pairs each at +0.01 give a per-seed minimum below
    0). Returns (p_values for `suite.sequential.sequential_test`, each pair's per-seed values by name, as
    "arch=lstm"); (None, {}) without `each` or for slopes and scaling exponents (their contradiction
    still reads the weakest pair)."""
    if not claim.each or claim.statistic != "mean":
        return None, {}
    (column, names), = claim.each.items()
    # the (seed, size) cells of the weakest series (`weakest_difference`): those where every pair has runs
    joined = pd.concat(pair_differences(claim, frame), axis=1, join="inner", keys=names)
    joined = joined[joined.index.get_level_values("n_train").isin(sizes)]
    pairs = {f"{column}={name}": joined[name].groupby(level="seed").mean().reindex(seeds).to_numpy()
             for name in names}

    def p_values(index):  # the seeds at `index` (the first n, or `suite.sequential.repeat_codes`'s draws)
        p_for = decision_p_values(claim.test, values[index], claim.margin)[0]
        against = [decision_p_values(claim.test, pair[index], claim.margin)[1] for pair in pairs.values()]
        return p_for, np.minimum(1.0, len(pairs) * np.min(against, axis=0))

    return p_values, pairs


EXAMPLES = "test/examples"
# the reasons of `undecidable` that no number of seeds removes: such a dataset counts for nothing in the
# claim's verdict over its datasets (`ClaimResult.counts`)
DATA_LIMITS = ("the same difference", "margin", "at the ceiling")


def test_split_size(runs, dataset) -> int | None:
    """The size of a dataset's test split, from its runs' `test/examples` (None where not stored)."""
    if "metric" not in runs.columns or "dataset" not in runs.columns:
        return None
    values = runs.loc[(runs["metric"] == EXAMPLES) & (runs["dataset"] == dataset), "value"]
    return int(values.min()) if len(values) else None


def undecidable(claim, per_seed, low: float, high: float, examples: int | None,
                pending: bool = False, room: float | None = None) -> str:
    """Why the data cannot decide a claim whatever the effect ("" when they can); see the module docstring.

    A contradicted verdict stands against the two interval rules (the data
    did decide it), not against a constant difference (then nothing was
    measured). An interval wider than a band counts only at the last look
    (not while `pending`): more seeds may narrow it."""
    # two conditions that differ by the same amount on every seed were not both measured (one is fixed by
    # construction, or both saturate); one condition at the same value on every seed against a constant
    # (an RNN at skill 1.0 on every seed) is a measurement
    if not claim.control and claim.b and len(per_seed) >= 2 and np.ptp(per_seed) == 0:
        return (f"the same difference ({float(per_seed[0]):+.3g}) for every seed: fixed by construction or "
                "saturated, not measured")
    proportion = claim.metric.split("/")[-1] == "accuracy" and claim.statistic == "mean"
    if examples and proportion and 0 < claim.margin < 1 / examples:
        return (f"margin {claim.margin:g} is below one example of the {examples}-example test set "
                f"({1 / examples:.3f})")
    # a control holds by construction wherever its machinery works, at the ceiling too: not this rule's case
    if room is not None and room < claim.margin and claim.test == "negligible" and not claim.control:
        return (f"at the ceiling: a and b each leave at most {room:.3f} to a perfect score, less than the margin "
                f"{claim.margin:g}, so neither can lead the other by the margin whatever they learn")
    if room is not None and room < 1 - SATURATED and claim.test == "better" and not claim.control:
        return (f"at the ceiling: a and b each leave at most {room:.3f} to a perfect score (both above "
                f"{SATURATED:g}), so a difference between them is not one in what they learned")
    if room is not None and room < claim.margin and claim.test == "not_better":
        return (f"at the ceiling: b leaves {room:.3f} to a perfect score, less than the margin {claim.margin:g}, "
                "so a cannot beat it by the margin whatever a does")
    if claim.test == "negligible" and claim.margin > 0 and high - low > 2 * claim.margin and not pending:
        return (f"the interval ({high - low:.3f} wide) is wider than the band [-{claim.margin:g}, "
                f"{claim.margin:g}]: no outcome could be supported at these seeds")
    return ""

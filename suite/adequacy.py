"""Whether a verdict's runs were trained well enough to say something about the bias.

A verdict can measure the training rather than the bias: a model still
improving when its step budget ran out, one at the trivial baseline on the
data its bias matches, a classifier that does not fit its own training
data. `qualifiers` names such a condition beside the verdict (the report
shows it in red); it never changes the verdict itself.
"""

from __future__ import annotations

import json
from typing import Mapping

from suite.conditions import compared_pairs, selects

STILL_IMPROVING, SKILL = "train/still_improving", "test/skill"
TRAIN_ACCURACY, BASELINE = "train/final_accuracy", "test/baseline_accuracy"
SATURATED = 0.99  # a mean test skill this close to 1: nothing left to learn, whatever the loss still does
FITS = 0.5  # competence: a classifier fits its own training data to at least this skill over the majority class


def _conditions(claim) -> list[Mapping]:
    """The conditions whose runs a claim's evidence rests on: every a, then every non-empty b, of the
    pairs it compares (`suite.conditions.compared_pairs`), each once."""
    pairs = compared_pairs(claim.a, claim.b, claim.each)
    sides = [a for a, _ in pairs if a] + [b for _, b in pairs if b]
    return list({json.dumps(c, sort_keys=True, default=list): c for c in sides}.values())


def _training_skill(runs) -> float | None:
    """Mean over runs of the training accuracy's skill over the majority class (None: no classifier)."""
    pivot = runs[runs["metric"].isin((TRAIN_ACCURACY, BASELINE))].pivot_table(
        index="run_key" if "run_key" in runs.columns else ["seed", "n_train"], columns="metric", values="value")
    if TRAIN_ACCURACY not in pivot or BASELINE not in pivot or pivot.dropna().empty:
        return None
    pivot = pivot.dropna()
    return float(((pivot[TRAIN_ACCURACY] - pivot[BASELINE]) / (1 - pivot[BASELINE]).clip(lower=1e-12)).mean())


def qualifiers(claim, runs, sizes) -> str:
    """Why a verdict may measure training rather than the bias, from how its runs ended: a condition
    whose runs mostly used their whole step budget while still improving ("under-trained", unless their
    test skill is at the ceiling), whose
    runs on data its bias matches are at the trivial baseline ("untrained"), or whose classifiers do
    not fit their own matched training data ("not competent": training skill below FITS). The last two only
    where the claim compares two conditions (a claim on one model's level against a constant, such
    as "the RNN fails beyond 20 steps", is about that level itself). "" when none applies."""
    notes = []
    if "matched" not in runs.columns:
        return ""
    for condition in _conditions(claim):
        mask = selects(runs, condition)
        if len(sizes):
            mask &= runs["n_train"].isin(sizes).to_numpy()
        sub = runs[mask]
        name = ", ".join(f"{k}={'/'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in condition.items())
        improving = sub.loc[sub["metric"] == STILL_IMPROVING, "value"]
        # a loss can keep falling at a perfect score: runs at the ceiling cannot be short of training
        perfect = sub.loc[sub["metric"] == SKILL, "value"]
        if len(improving) and improving.mean() >= 0.5 and not (len(perfect) and perfect.mean() >= SATURATED):
            notes.append(f"under-trained: {name} ({int(improving.sum())} of {len(improving)} runs still "
                         f"improving at the step budget)")
        skill = sub.loc[(sub["metric"] == SKILL) & (sub["matched"] == 1), "value"]
        if claim.b and len(skill) and skill.mean() <= 0.02:
            notes.append(f"untrained: {name} at the trivial baseline on its matched data "
                         f"(mean skill {skill.mean():+.2f})")
        fit = _training_skill(sub[sub["matched"] == 1])  # on mismatched data, not fitting may be the effect
        if claim.b and fit is not None and fit < FITS:
            notes.append(f"not competent: {name} does not fit its own training data (training skill "
                         f"{fit:+.2f} < {FITS:g})")
    return "; ".join(dict.fromkeys(notes))

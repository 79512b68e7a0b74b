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

SKILL = "test/skill"
IMPROVING = "train/improving_on_metric"  # suite.training.objectives.metric_convergence
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


def condition_name(condition: Mapping) -> str:
    """A condition in words: "arch=lstm, variant=natural" (a tuple's values joined by "/")."""
    return ", ".join(f"{k}={'/'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in condition.items())


def undertrained_conditions(claim, runs, sizes) -> list[tuple[Mapping, int, int]]:
    """The conditions of `claim` whose runs (`runs`: one dataset's tidy rows; at the claim's `sizes`) were
    mostly still improving on the claim's metric when their step budget ended (`IMPROVING`: the
    validation metric rose in the last two checks by more than noise): (condition, runs improving, runs).
    Not where the runs' test skill is at the ceiling (a loss can keep falling at a perfect score).
    These are the conditions a longer budget is tried on (`suite.training.checks`)."""
    out = []
    for condition in _conditions(claim):
        mask = selects(runs, condition)
        if len(sizes):
            mask &= runs["n_train"].isin(sizes).to_numpy()
        sub = runs[mask]
        improving = sub.loc[sub["metric"] == IMPROVING, "value"]
        perfect = sub.loc[sub["metric"] == SKILL, "value"]
        if len(improving) and improving.mean() >= 0.5 and not (len(perfect) and perfect.mean() >= SATURATED):
            out.append((condition, int(improving.sum()), len(improving)))
    return out


def qualifiers(claim, runs, sizes, moved: dict | None = None) -> str:
    """Why a verdict may measure training rather than the bias, from how its runs ended: a condition
    whose runs were mostly still improving on the claim's metric when their budget ended
    (`undertrained_conditions`), unless the same runs at a longer budget (`moved`: condition name ->
    (how much the claim's difference moves, half the interval's width, seeds), from
    `suite.claims.longer_training`) leave the difference within half the interval's width
    ("under-trained", with both numbers, or "not checked at a longer budget"); a condition whose
    runs on data its bias matches are at the trivial baseline ("untrained"); or whose classifiers do
    not fit their own matched training data ("not competent": training skill below FITS). The last
    two only where the claim compares two conditions (a claim on one model's level against a
    constant, such as "the RNN fails beyond 20 steps", is about that level itself). "" when none
    applies."""
    notes = []
    if "matched" not in runs.columns:
        return ""
    moved = moved or {}
    for condition, improving, n in undertrained_conditions(claim, runs, sizes):
        name = condition_name(condition)
        what = f"{improving} of {n} runs still improving on the metric when their step budget ended"
        if name not in moved:
            notes.append(f"under-trained: {name} ({what}; not checked at a longer budget)")
        elif abs(moved[name][0]) > moved[name][1]:
            delta, half, seeds = moved[name]
            notes.append(f"under-trained: {name} ({what}; at a longer budget the difference moves by {delta:+.3f} "
                         f"on {seeds} seeds, more than the interval's half-width {half:.3f})")
    for condition in _conditions(claim):
        mask = selects(runs, condition)
        if len(sizes):
            mask &= runs["n_train"].isin(sizes).to_numpy()
        sub = runs[mask]
        name = condition_name(condition)
        skill = sub.loc[(sub["metric"] == SKILL) & (sub["matched"] == 1), "value"]
        if claim.b and len(skill) and skill.mean() <= 0.02:
            notes.append(f"untrained: {name} at the trivial baseline on its matched data "
                         f"(mean skill {skill.mean():+.2f})")
        fit = _training_skill(sub[sub["matched"] == 1])  # on mismatched data, not fitting may be the effect
        if claim.b and fit is not None and fit < FITS:
            notes.append(f"not competent: {name} does not fit its own training data (training skill "
                         f"{fit:+.2f} < {FITS:g})")
    return "; ".join(dict.fromkeys(notes))

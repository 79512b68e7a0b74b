"""Longer training where a verdict may measure the training: the conditions still improving, at twice the budget.

A verdict can measure how far a model got in its step budget rather than its
bias. After the evaluation runs, each evidential claim of the selected
studies is read against the stored runs: a condition whose runs at the
claim's sizes were mostly still improving on the claim's metric when their
budget ended (`suite.adequacy.undertrained_conditions`) has those runs
trained again, on the first `CHECK_SEEDS` seeds, at `CHECK_FACTOR` times the
step budget (kind "check": ordinary stored runs, reused on rerun, read by no
figure). The report then recomputes the claim's difference on those seeds
with the longer runs in place of the condition's (`suite.claims`): the
"under-trained" qualifier stays only where the difference moves by more than
half the width of the claim's interval, and both numbers are shown.
"""

from __future__ import annotations

import dataclasses

from suite.adequacy import undertrained_conditions
from suite.conditions import select_sizes, selects
from suite.training.plan import RunSpec

CHECK_FACTOR = 2  # the step budget of a check, in multiples of the evaluation runs'
CHECK_SEEDS = {"smoke": 1, "quick": 3, "full": 3}  # the first seeds of a study, checked (smoke: the plumbing)
# the flagged conditions checked per study: every one, except in the smoke profile, whose short runs flag
# nearly every condition and whose verdicts are no evidence: one per study shows the path works
CHECK_CONDITIONS = {"smoke": 1}


def check_runs(specs: list[RunSpec], studies, store, profile: str) -> list[RunSpec]:
    """The check runs for the evaluation runs `specs` (already trained and stored in `store`, a
    `suite.store.read.Reader`) of `studies`: for each flagged condition of each evidential claim, its
    runs at the claim's sizes on the first seeds, at `CHECK_FACTOR` times their step budget."""
    # the database read as the report reads it, borrowed runs under their borrower's labels
    from suite.report.frames import load_results, planned_study_runs

    planned = {s.key: s for s in specs if s.kind == "eval"}
    if not planned:
        return []
    data = load_results(store)
    checks: dict = {}
    for study in studies:
        tidy = planned_study_runs(data, study.name, planned)
        if tidy is None:
            continue
        seeds = sorted(tidy["seed"].unique())[:CHECK_SEEDS[profile]]
        flagged: list = []  # (dataset, condition) checked in this study so far
        for claim in study.claims:
            if claim.control:  # a check of the machinery, not evidence: its outcome is known
                continue
            frame = tidy if claim.datasets is None else tidy[tidy["dataset"].isin(claim.datasets)]
            for dataset, sub in frame.groupby("dataset"):
                sizes = select_sizes(claim.sizes, sub["n_train"].unique().tolist())
                for condition, _, _ in undertrained_conditions(claim, sub, sizes):
                    if (dataset, condition) not in flagged:
                        if len(flagged) >= CHECK_CONDITIONS.get(profile, float("inf")):
                            continue
                        flagged.append((dataset, condition))
                    chosen = sub[selects(sub, condition) & sub["n_train"].isin(sizes).to_numpy()
                                 & sub["seed"].isin(seeds).to_numpy()]
                    for key in chosen["run_key"].unique():
                        check = longer(planned[key])
                        checks[check.key] = check
    return list(checks.values())


def longer(spec: RunSpec) -> RunSpec:
    """A run's check: the same run (task, size, seed, rate) at `CHECK_FACTOR` times its step budget."""
    budget = dataclasses.replace(spec.budget, max_steps=spec.budget.max_steps * CHECK_FACTOR)
    return dataclasses.replace(spec, budget=budget, kind="check")

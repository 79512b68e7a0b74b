"""Choosing a learning rate from stored tuning runs: the rule, as pure functions of result frames.

Shared by the runner (which trains the evaluation runs at the chosen rate,
`suite.training.tuning`) and the report (which shows the grid's scores and
the choice), so both apply the same rule to the same stored runs. The rule:
per task, the rate with the lowest mean over its tuning seeds of each run's
lowest validation loss (`SCORE`); a run that diverged or failed counts as
+inf, so a rate that fails on any seed is never chosen; ties go to the
smaller rate.
"""

from __future__ import annotations

import numpy as np

SCORE = "val/best_loss"  # the lowest validation loss of a run: the weights early stopping restores


def choose_rates(frame) -> dict:
    """task -> the chosen learning rate, from the tuning runs in `frame` (a row per run: task,
    learning_rate, status and the score `SCORE`, NaN where the run failed or has none)."""
    if not len(frame):
        return {}
    table = score_table(frame)
    return {task: float(min(row.index, key=lambda lr: (row[lr], lr))) for task, row in table.iterrows()}


def score_table(frame):
    """task x learning rate: the mean over tuning seeds of each run's score, +inf for a run that
    diverged or failed (so a rate that fails on any seed is never chosen)."""
    scores = frame[SCORE].astype(float).where(frame["status"] == "ok", np.inf)
    scores = scores.where(np.isfinite(scores), np.inf)  # NaN (diverged, failed) is the worst
    table = frame.assign(score=scores).pivot_table(index="task", columns="learning_rate", values="score",
                                                   aggfunc="mean")
    return table.fillna(np.inf)


def tuning_frame(runs, metrics):
    """The tuning runs of `runs` (the `runs` table as a frame, any subset) with their score: a row per
    run (task, learning_rate, seed, status, `SCORE`)."""
    kind = runs["kind"] if "kind" in runs else None
    if kind is None:
        return runs.iloc[0:0].assign(**{SCORE: []})
    tune = runs[(kind == "tune") & runs["status"].isin(["ok", "failed"])]
    score = metrics[metrics["metric"] == SCORE][["run_key", "value"]].rename(columns={"value": SCORE})
    return tune.merge(score, on="run_key", how="left")

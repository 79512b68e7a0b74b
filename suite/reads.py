"""Which of a study's tasks something reads: its claims, the competence gates they rest on, its figures.

A task nothing reads is not trained (`suite.training.plan.plan_runs`; `--all-tasks` trains every task):
the tabular grid's 16 network cells where its claims read 9, say. Reads are decided before any run, on
the tasks' own columns (arch, variant, dataset, setting, model, matched), through the same `selects`
the verdicts use, so a claim reads here exactly the tasks whose runs its conditions select there:

- a claim: the tasks each of its conditions selects (`suite.adequacy.claim_conditions`) on its
  datasets, narrowed to its `change`'s two values where it compares a change of a task column;
- a competence gate, where a claim's conditions select some of its model's tasks on a dataset: the
  model's and its reference's tasks on matched data there (narrowed by `on`), as `suite.adequacy.measure`
  reads them;
- a figure: the conditions it declares (`suite.report.figures.registry.draws_every_task`); a figure that
  declares none draws what the rest reads (the learning curves: the cells a claim compares);
- the report's data-size crossover (`Study.crossover`): every model on its variants.

A study with no claims (descriptive) reads every task. Sizes and seeds are not narrowed here: a task
read at one size trains at all of them (the learning curves read every size), and seeds are the rounds'
(`suite.training.rounds`).
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from suite.adequacy import claim_conditions
from suite.conditions import selects

COLUMNS = ("arch", "variant", "dataset", "setting", "matched")


def task_frame(tasks) -> pd.DataFrame:
    """One row per task: its name and the columns conditions select on (`model` as the report names it:
    the architecture, with its setting where it has one, e.g. "gru@equal params")."""
    rows = [{"task": t.name, **{c: getattr(t, c) for c in COLUMNS}} for t in tasks]
    frame = pd.DataFrame(rows, columns=("task",) + COLUMNS)
    frame["matched"] = frame["matched"].astype(int)
    frame["model"] = [f"{a}@{s}" if s else a for a, s in zip(frame["arch"], frame["setting"])]
    return frame


def _selects(frame, condition) -> "pd.Series":
    """`selects`, where a condition naming a column the tasks do not have (a metric, a size) selects on the
    columns they do have."""
    return selects(frame, {k: v for k, v in condition.items() if k in frame.columns})


def claim_reads(claim, frame, gates=()) -> set:
    """The names of the tasks in `frame` (`task_frame`) that a claim's verdict reads, with those of the
    gates it rests on (`suite.adequacy.gate_checks`)."""
    if claim.datasets is not None:
        frame = frame[frame["dataset"].isin(claim.datasets)]
    narrow = {k: v for k, v in (claim.change or {}).items() if k in frame.columns}
    mask = pd.Series(False, index=frame.index)
    for condition in claim_conditions(claim):
        mask |= _selects(frame, {**condition, **narrow})
    read = set(frame.loc[mask, "task"])
    if claim.control or not claim.b:
        return read  # rests on no gate (suite.adequacy.gate_checks)
    for gate in gates:
        for dataset in frame.loc[mask, "dataset"].unique():
            here = frame[frame["dataset"] == dataset]
            if gate.datasets is not None and dataset not in gate.datasets:
                continue
            if not (_selects(here, gate.model) & mask.loc[here.index]).any():
                continue
            matched = here[(here["matched"] == 1) & _selects(here, gate.on or {})]
            for condition in (gate.model, gate.relative_to):
                if condition:
                    read |= set(matched.loc[_selects(matched, condition), "task"])
    return read


def figure_reads() -> dict:
    """Figure name -> the conditions of the tasks it draws beyond what the claims read (`draws_every_task`)."""
    from suite.report.figures import FIGURES

    return {name: getattr(fn, "reads", ()) for name, fn in FIGURES.items()}


def study_reads(study, tasks, figures: dict | None = None) -> set:
    """The names of the tasks among `tasks` (the study's planned tasks, borrowed ones under the borrower's
    setting) that the study reads: its claims with their gates, its figures' declared conditions
    (`figures`: figure name -> conditions; None: the registered figures', `figure_reads`), its crossover;
    every task where it has no claim."""
    figures = figure_reads() if figures is None else figures
    frame = task_frame(tasks)
    if not study.claims:
        return set(frame["task"])
    read = set()
    for claim in study.claims:
        read |= claim_reads(claim, frame, study.gates)
    for name in study.figures:
        for condition in figures.get(name, ()):
            read |= set(frame.loc[_selects(frame, condition), "task"])
    if study.crossover:
        read |= set(frame.loc[_selects(frame, {"variant": tuple(study.crossover[1])}), "task"])
    return read


def unread_line(unread) -> str:
    """The tasks not planned because nothing reads them (`suite.reads`), per study, in one line."""
    tasks = Counter(s.task.study for s in {s.task.name: s for s in unread}.values())
    runs = Counter(s.task.study for s in unread)
    per_study = ", ".join(f"{study} {tasks[study]} tasks ({runs[study]:,} runs)" for study in tasks)
    return (f"not trained: the tasks no claim, competence gate or figure reads ({per_study}); --all-tasks trains "
            f"them too")

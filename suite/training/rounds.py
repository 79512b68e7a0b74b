"""Evaluation runs in rounds of seeds: after the first, only what an undecided verdict reads trains.

A claim's verdict is sequential (`suite.sequential`): it is looked at after
3, 5, 10 ... seeds (`looks_for` the seeds planned for its study) and stops
at the first look that decides it. So the evaluation runs train in rounds,
round k bringing each study's runs up to its k-th look: the first round
trains every planned task on the first look's seeds; after each round the
claims are evaluated from the store (as the report reads it,
`suite.report.frames.study_runs`), and the next round trains only the runs
of the tasks that a claim still undecided reads (the runs its conditions
select, `suite.adequacy.claim_conditions`, and those of the competence gates
it rests on, on the datasets where it is undecided). A decided claim draws
no more seeds; a task no claim reads (drawn by a figure only) keeps the
first round's. Every round's runs are ordinary evaluation runs under their
own keys, so a rerun reuses them and, the verdicts resting only on the seeds
up to their deciding look, reaches the same decisions.
"""

from __future__ import annotations

import sys

import numpy as np

from suite.adequacy import claim_conditions
from suite.conditions import selects
from suite.sequential import looks_for
from suite.training.plan import RunSpec, seeds_for


def planned_seeds(study, profile: str, seeds) -> int:
    """The seeds planned for a study's evaluation runs (its verdicts' last look): its profile's, or
    `--seeds`'."""
    return len(seeds_for(study, profile, seeds))


def study_looks(study, profile: str, seeds) -> tuple[int, ...]:
    """The seed counts at which a study's verdicts are looked at (`suite.sequential.looks_for`)."""
    return looks_for(planned_seeds(study, profile, seeds))


def round_count(studies, profile: str, seeds) -> int:
    """How many rounds the evaluation runs of `studies` take at most: their largest number of looks."""
    return max((len(study_looks(s, profile, seeds)) for s in studies), default=1)


def readers(spec: RunSpec, studies) -> list:
    """The studies among `studies` that read a run: its own, and those that borrow it (`Study.borrows`)."""
    return [s for s in studies if spec.task.study == s.name or any(b.lends(spec.task) for b in s.borrows)]


def round_runs(specs: list[RunSpec], studies, profile: str, seeds, round_: int,
               reads: dict | None = None) -> list[RunSpec]:
    """The evaluation runs `specs` up to round `round_` (0: the first): for each study of `studies` that
    reads a run, the run is in the round where its seed is among the study's first `looks[round_]` seeds
    (the last look's, past its last round) and, after the first round, its task is one that the study's
    undecided claims read (`reads`: study name -> task names, from `undecided_reads`). A run of an
    earlier round is in the later ones too (already trained, it is reused)."""
    chosen = {}
    for spec in specs:
        who = readers(spec, studies) or list(studies)  # read by none of them: every study's first round
        for study in who:
            order = seeds_for(study, profile, seeds)
            looks = study_looks(study, profile, seeds)
            if spec.seed not in order or order.index(spec.seed) >= looks[min(round_, len(looks) - 1)]:
                continue
            if round_ == 0 or spec.task.name in (reads or {}).get(study.name, ()) or \
                    order.index(spec.seed) < looks[0]:
                chosen[spec.key] = spec
                break
    return list(chosen.values())


def closeness(result) -> float:
    """How far a pending verdict is from a decision: its p-value over the level of its look (1 or less:
    decided; the smallest first). No test made: infinitely far."""
    if result.p_value is None or not result.level:
        return float("inf")
    return result.p_value / result.level


def undecided_reads(specs: list[RunSpec], studies, store, profile: str, seeds, keys=None) -> dict:
    """study name -> {name of a task whose runs its undecided claims read: how close the closest of them
    is to a decision (`closeness`)}: every claim of each study in `studies` evaluated on the stored
    evaluation runs among `specs` (only those whose key is in `keys`, where given: the runs of the rounds
    so far), with its study's planned seeds as the last look; a result still `pending`
    (`suite.claims.ClaimResult`) reads the runs its conditions select on its dataset, and those of the
    competence gates it rests on."""
    from suite.claims import evaluate_claim
    from suite.report.frames import planned_study_runs

    planned = {s.key: s for s in specs if keys is None or s.key in keys}
    data = {"studies": store.studies(), "runs": store.runs(), "metrics": store.metrics()}
    reads: dict = {}
    for study in studies:
        tidy = planned_study_runs(data, study.name, planned)
        if tidy is None or tidy.empty:
            continue
        tasks = reads.setdefault(study.name, {})
        for claim in study.claims:
            for result in evaluate_claim(claim, tidy, tuple(study.gates), planned=planned_seeds(study, profile, seeds),
                                         repeats=False):
                if result.pending:
                    for task in {planned[k].task.name for k in read_keys(claim, result, tidy)}:
                        tasks[task] = min(tasks.get(task, float("inf")), closeness(result))
    return reads


def read_keys(claim, result, tidy) -> set:
    """The keys of the runs in `tidy` that a claim's result reads: those its conditions select on the
    result's dataset (on the claim's datasets, for a result across datasets or over lengths), and
    those of the models and references of the gates it rests on."""
    frame = tidy if claim.datasets is None else tidy[tidy["dataset"].isin(claim.datasets)]
    if result.dataset in set(frame["dataset"]):
        frame = frame[frame["dataset"] == result.dataset]
    mask = np.zeros(len(frame), dtype=bool)
    for condition in claim_conditions(claim):
        if set(condition) <= set(frame.columns):
            mask |= selects(frame, condition)
    for check in result.gates:
        for condition in (check.gate.model, check.gate.relative_to):
            if condition and set(condition) <= set(frame.columns):
                mask |= selects(frame, condition)
    return set(frame.loc[mask, "run_key"])


def train_in_rounds(specs: list[RunSpec], studies, profile: str, seeds, train,
                    store) -> tuple[list[RunSpec], int, dict]:
    """Trains the evaluation runs among `specs` of `studies` round by round (`round_runs`), evaluating the
    claims from `store` (a `suite.store.write.Writer`) after each round but the last (`undecided_reads`),
    until none is undecided; the other runs of `specs` (the recipes' sweep, kind "sensitivity") train with
    the first round. `train(specs, what) -> (runs trained, counts)` trains those not stored yet. Each
    round's claims read the runs of the rounds so far only (stored before or trained now), so a rerun
    takes the same rounds. Returns (the runs of the rounds and the others, how many trained, their
    counts). After the first round, `train` is also given a rank (spec -> priority): the tasks of the
    claims closest to a decision first (`closeness`), for a run that may end at a deadline."""
    evaluation = [s for s in specs if s.kind == "eval"]
    others = [s for s in specs if s.kind != "eval"]
    rounds = round_count(studies, profile, seeds)
    reads, trained, ran, counts, unfinished = None, {}, 0, {"ok": 0, "failed": 0}, 0
    for round_ in range(rounds):
        chosen = [r for r in round_runs(evaluation, studies, profile, seeds, round_, reads) if r.key not in trained]
        what = "runs" if rounds == 1 else f"runs, round {round_ + 1} of at most {rounds} (seeds in rounds)"
        if round_ == 0:
            now, counted = train(chosen + others, what)
        else:
            near = {task: c for tasks in reads.values() for task, c in tasks.items()}
            now, counted = train(chosen, what, lambda spec: near.get(spec.task.name, float("inf")))
        trained.update({r.key: r for r in chosen})
        unfinished += counted.get("unfinished", 0)
        ran += now
        counts = {**counted, **{k: counts[k] + counted[k] for k in ("ok", "failed")}}
        if round_ + 1 < rounds:
            # the rounds' runs so far, stored before or trained now: a rerun takes the same rounds
            reads = undecided_reads(evaluation, studies, store, profile, seeds, set(trained))
            if not any(reads.values()):
                break
    if rounds > 1:
        untrained = f", {unfinished} of them left untrained at the deadline" if unfinished else ""
        print(f"seeds in rounds: {len(trained)} of the {len(evaluation)} evaluation runs planned were needed{untrained} "
              f"(a verdict decided at an earlier look draws no more seeds)", file=sys.stderr)
    return list(trained.values()) + others, ran, counts


def first_round(specs: list[RunSpec], studies, profile: str, seeds) -> tuple[list[RunSpec], list[str]]:
    """For `--plan`: the evaluation runs of the first round, and lines on the rounds after it (the looks,
    and how many runs they may add at most: which depends on the results)."""
    first = round_runs(specs, studies, profile, seeds, 0)
    if round_count(studies, profile, seeds) == 1:
        return first, []
    looks = sorted({study_looks(s, profile, seeds) for s in studies})
    return first, [f"then: evaluation seeds in rounds, at {' | '.join('/'.join(map(str, x)) for x in looks)} seeds "
                   f"(the verdicts are looked at after each round): a later round trains only the tasks that claims "
                   f"still undecided read, which depends on the results; at most {len(specs) - len(first):,} runs "
                   f"more (not counted above)"]

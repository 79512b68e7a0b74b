"""Only the tasks something reads are trained (`suite.reads`): a claim's verdict is the same without the others.

The check is independent of how `suite.reads` decides: every registered study's tasks (its full profile,
with what it borrows) get synthetic results, and each claim is evaluated by the verdicts' own code
(`suite.claims.evaluate_claim`, gates included) on all of them and on the tasks planning keeps alone.
"""

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from suite.claims import evaluate_claim
from suite.reads import figure_reads, study_reads, task_frame
from suite.studies import REGISTRY, load_builtin_studies

load_builtin_studies()


def study_tasks(study) -> list:
    """A study's tasks in its full profile, the borrowed ones under its own setting."""
    tasks = [t for t in REGISTRY.tasks(study.name) if not t.skip and t.dataset in study.datasets["full"]]
    for borrow in study.borrows:
        tasks += [dataclasses.replace(t, setting=borrow.as_setting) for t in REGISTRY.tasks(borrow.study)
                  if borrow.lends(t)]
    return tasks


def synthetic_runs(study, tasks, seed=0) -> pd.DataFrame:
    """A tidy frame as the report reads it: every task at two sizes and five seeds, a random value for every
    metric a claim or gate of the study names."""
    metrics = {c.metric for c in study.claims} | {g.metric for g in study.gates} | {"test/accuracy"}
    metrics |= {m for c in study.claims if c.change and "metric" in c.change for m in c.change["metric"]}
    frame = task_frame(tasks)
    rng = np.random.default_rng(seed)
    rows = []
    for _, task in frame.iterrows():
        length = int(m.group(1)) if (m := re.search(r"_T(\d+)", task["dataset"])) else 10
        for n in (50, 100):
            for s in range(5):
                for metric in sorted(metrics):
                    rows.append({**task.to_dict(), "n_train": n, "seed": s, "metric": metric, "length": length,
                                 "value": rng.uniform(), "run_key": f"{task['task']}/{n}/{s}"})
    return pd.DataFrame(rows)


def verdicts(claim, runs, gates) -> list:
    return [(r.dataset, r.verdict, r.estimate, r.note, tuple(c.text() for c in r.gates))
            for r in evaluate_claim(claim, runs, gates)]


@pytest.mark.parametrize("study", REGISTRY.studies(), ids=lambda s: s.name)
def test_a_verdict_reads_only_the_tasks_planning_keeps(study):
    tasks = study_tasks(study)
    runs = synthetic_runs(study, tasks)
    kept = runs[runs["task"].isin(study_reads(study, tasks))]
    for claim in study.claims:
        assert verdicts(claim, kept, study.gates) == verdicts(claim, runs, study.gates), claim.text


def test_the_tabular_grid_drops_the_cells_nothing_reads():
    """Not vacuous: the tabular study's claims read fewer network cells than its grid has (the variants no
    claim compares), and a figure that draws every task keeps them all."""
    study = REGISTRY.study("tabular")
    tasks = study_tasks(study)
    read = study_reads(study, tasks)
    assert 0 < len(read) < len(tasks)
    assert "tabular/synth_piecewise/rotated/mlp" in read  # the rotation claim compares the MLP with the trees
    assert "tabular/synth_piecewise/rotated/grid_cnn" not in read  # no claim compares it
    every = dataclasses.replace(study, figures=study.figures + ("vs_length",))
    assert study_reads(every, tasks) == {t.name for t in tasks}
    assert figure_reads()["vs_length"] == ({},) and figure_reads()["learning_curves"] == ()


def test_a_study_without_claims_reads_every_task():
    study = dataclasses.replace(REGISTRY.study("tabular"), claims=())
    tasks = study_tasks(study)
    assert study_reads(study, tasks) == {t.name for t in tasks}


def test_a_gate_reads_its_reference_where_no_claim_does():
    """A relative gate's reference (here logistic regression, which no claim compares) is read on matched
    data, and dropping it would change the verdict (its gate could not be measured)."""
    from suite.adequacy import Gate
    from suite.claims import Claim
    from suite.studies import PROFILES, Study, Task

    tasks = [Task(name=f"g/t/{variant}/{arch}", study="g", dataset="t", arch=arch, variant=variant,
                  matched=variant == "natural")
             for arch in ("mlp", "cnn", "logreg") for variant in ("natural", "permuted")]
    gate = Gate(model={"arch": "mlp"}, metric="test/accuracy", level=-0.03, relative_to={"arch": "logreg"},
                sizes="all", source="relative")
    claim = Claim(text="cnn beats mlp", a={"arch": "cnn", "variant": "natural"}, b={"arch": "mlp", "variant": "natural"})
    study = Study(name="g", question="?", claim="c", expected="e", claims=(claim,), gates=(gate,),
                  sizes={p: (50,) for p in PROFILES}, seeds={p: 5 for p in PROFILES},
                  datasets={p: ("t",) for p in PROFILES})
    read = study_reads(study, tasks)
    assert "g/t/natural/logreg" in read and "g/t/permuted/logreg" not in read
    runs = synthetic_runs(study, tasks)
    kept = runs[runs["task"].isin(read)]
    assert verdicts(claim, kept, (gate,)) == verdicts(claim, runs, (gate,))
    without = kept[kept["task"] != "g/t/natural/logreg"]
    assert verdicts(claim, without, (gate,)) != verdicts(claim, runs, (gate,))

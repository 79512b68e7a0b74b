"""Seeds in rounds (`suite.training.rounds`): later rounds train only what undecided verdicts read.

The runs are "trained" by writing synthetic results into a real store, so the
rounds read the store as the command line's do.
"""

import json

import numpy as np

from suite.claims import Claim, evaluate_claim
from suite.report import write_report
from suite.report.frames import load_results, study_runs
from suite.report.html import planned_seeds
from suite.store.read import Reader
from suite.store.schema import RunRecord, RunResult
from suite.store.write import Writer
from suite.studies import PROFILES, Study, Task
from suite.training.plan import BUDGETS, RunSpec
from suite.training.rounds import first_round, round_runs, train_in_rounds
from conftest import read_report

SEEDS = 10
TASKS = {name: Task(name=f"r/{name}", study="r", dataset="digits", arch="mlp", setting=name)
         for name in ("clear", "base", "noisy", "other", "figure")}
# per task, its accuracy on a seed: "clear" beats "base" by far (decided at the first look), "noisy" and
# "other" differ by noise alone (undecided to the last look), "figure" is read by no claim
SCORES = {"clear": lambda s: 0.9 + 0.001 * (s % 3), "base": lambda s: 0.5,
          "noisy": lambda s: 0.6 + 0.05 * np.sin(7.0 * s), "other": lambda s: 0.6,
          "figure": lambda s: 0.3}
CLAIMS = (Claim(text="clear beats base", a={"setting": "clear"}, b={"setting": "base"}),
          Claim(text="noisy beats other", a={"setting": "noisy"}, b={"setting": "other"}))
STUDY = Study(name="r", question="Rounds?", claim="Rounds.", expected="expected", claims=CLAIMS,
              sizes={p: (50,) for p in PROFILES}, seeds={p: SEEDS for p in PROFILES},
              datasets={p: ("digits",) for p in PROFILES})


def specs():
    return [RunSpec(task, 50, seed, {}, BUDGETS["smoke"], "smoke", "jax")
            for task in TASKS.values() for seed in range(SEEDS)]


def trainer(store, log):
    """`train(specs, what[, rank])` as the command line's: stores what is not stored yet, returns (count,
    counts). A later round's rank must put every run it is given at a finite closeness to a decision."""
    def train(chosen, what, rank=None):
        assert rank is None or all(np.isfinite(rank(s)) for s in chosen)
        stored = set(store.runs(columns=("run_key",))["run_key"])
        new = [s for s in chosen if s.key not in stored]
        for spec in new:
            row = {"run_key": spec.key, "study": "r", "task": spec.task.name, "arch": "mlp", "dataset": "digits",
                   "variant": "natural", "setting": spec.task.setting, "matched": 1, "profile": "smoke",
                   "n_train": 50, "seed": spec.seed, "status": "ok", "config_json": json.dumps(spec.config),
                   "objective": "classification", "metric": "test/accuracy", "framework": "keras", "length": 64}
            value = SCORES[spec.task.setting](spec.seed)
            store.record_run(RunResult(RunRecord(**row), {"test/accuracy": value}, {}))
        log.append(sorted((s.task.setting, s.seed) for s in new))
        return len(new), {"ok": len(new), "failed": 0, "device": "CPU (test)", "workers": 1}
    return train


def test_a_decided_claim_stops_drawing_seeds_and_a_rerun_takes_the_same_rounds(tmp_path):
    db = tmp_path / "r.sqlite"
    log = []
    with Writer(db) as store:
        store.record_study(STUDY, "smoke", {"max_steps": 1}, seeds=SEEDS)
        runs, ran, _ = train_in_rounds(specs(), [STUDY], "smoke", None, trainer(store, log), store)
    seeds = {name: {seed for setting, seed in sum(log, []) if setting == name} for name in TASKS}
    assert seeds["clear"] == seeds["base"] == seeds["figure"] == {0, 1, 2}  # decided at 3; read by no claim
    assert seeds["noisy"] == seeds["other"] == set(range(SEEDS))  # undecided: every planned seed
    assert ran == len(runs) == 3 * 3 + 2 * SEEDS and len(log) == 3
    # the report's verdicts (the planned seeds from the study's row) are those the rounds reached
    with Reader(db) as store:
        data = load_results(store)
    row = data["studies"].iloc[0]
    assert planned_seeds(row) == SEEDS
    clear, noisy = (evaluate_claim(c, study_runs(data, row), planned=planned_seeds(row))[0] for c in CLAIMS)
    assert (clear.verdict, clear.n_seeds, noisy.n_seeds, noisy.pending) == ("supported", 3, SEEDS, False)
    # the page shows each verdict's seeds, its looks and its procedure
    with Reader(db) as store:
        index = write_report(store, tmp_path / "index.html")
    page = read_report(index)
    assert "3 (looks 3/5/10)" in page and "10 (looks 3/5/10)" in page and "group-sequential t-tests" in page
    # a rerun trains nothing and takes the same rounds
    again = []
    with Writer(db) as store:
        runs_again, ran_again, _ = train_in_rounds(specs(), [STUDY], "smoke", None, trainer(store, again), store)
    assert ran_again == 0 and again == [[], [], []] and {r.key for r in runs_again} == {r.key for r in runs}


def test_the_first_round_is_every_task_on_the_first_look_and_one_look_is_one_round():
    first, lines = first_round(specs(), [STUDY], "smoke", None)
    assert {(s.task.setting, s.seed) for s in first} == {(t, s) for t in TASKS for s in range(3)}
    assert "3/5/10" in lines[0] and str(len(specs()) - len(first)) in lines[0]
    # a later round brings the tasks read by undecided claims up to the next look, the others not
    second = round_runs(specs(), [STUDY], "smoke", None, 1, {"r": {"r/noisy"}})
    assert {s.seed for s in second if s.task.setting == "noisy"} == set(range(5))
    assert {s.seed for s in second if s.task.setting == "other"} == set(range(3))
    # two planned seeds (the smoke profile's): one look, one round
    assert first_round(specs(), [STUDY], "smoke", [0, 1])[1] == []

"""Learning rates chosen on validation (suite.training.tuning): which runs tune, how the rate is chosen,
and that the chosen rate is the one the evaluation runs train at."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from suite.studies import REGISTRY, Task, load_builtin_studies
from suite.training import BUDGETS, RunSpec, plan_runs
from suite.selection import choose_rates
from suite.training.tuning import (GRIDS, SEED_BASE, SENSITIVITY, TUNE_SEEDS, TUNINGS, apply_rates,
                                   sensitivity_runs, tunable, tuning_runs)

load_builtin_studies()


@pytest.fixture(scope="module")
def quick_plan():
    """The default run's evaluation runs (planning only: no training)."""
    return plan_runs(REGISTRY, REGISTRY.studies(), "quick", "jax").runs


def test_every_tunable_task_tunes_over_the_whole_grid_on_seeds_of_its_own(quick_plan):
    grid = GRIDS["quick"]
    tune = tuning_runs(quick_plan, REGISTRY.studies(), grid, "quick")
    by_task: dict = {}
    for spec in tune:
        by_task.setdefault(spec.task.name, []).append(spec)
    validation = {s.name for s in REGISTRY.studies() if s.tuning == "validation"}
    expected = {s.task.name for s in quick_plan if s.task.study in validation and tunable(s)}
    assert expected and set(by_task) == expected
    evaluation_seeds = {s.seed for s in quick_plan}
    for task, specs in by_task.items():
        assert sorted(s.lr for s in specs) == sorted(np.repeat(grid, TUNE_SEEDS["quick"]).tolist())
        assert {s.seed for s in specs} == set(range(SEED_BASE, SEED_BASE + TUNE_SEEDS["quick"]))
        sizes = sorted({s.n_train for s in quick_plan if s.task.name == task})
        assert {s.n_train for s in specs} == {sizes[len(sizes) // 2]}
        assert all(s.kind == "tune" and not s.probes for s in specs)
    assert not evaluation_seeds & {s.seed for s in tune}
    assert len({s.key for s in tune}) == len(tune)  # every rate and seed its own run
    assert not {s.key for s in tune} & {s.key for s in quick_plan}


def test_what_is_not_tuned_on_validation(quick_plan):
    """scikit-learn baselines, objectives without validation, pinned rates and studies not tuned on
    validation keep their rate; every study declares one of the known ways."""
    tuned = {s.task.name for s in tuning_runs(quick_plan, REGISTRY.studies(), GRIDS["quick"], "quick")}
    for spec in quick_plan:
        study = REGISTRY.study(spec.task.study)
        assert study.tuning in TUNINGS
        if spec.lr is None or study.tuning != "validation" or spec.task.learning_rate is not None:
            assert spec.task.name not in tuned
    assert not tuning_runs(quick_plan, REGISTRY.studies(), (), "quick")  # an empty grid: no tuning


def test_sensitivity_repeats_evaluation_runs_at_multiples_of_their_rate(quick_plan):
    swept = sensitivity_runs(quick_plan, REGISTRY.studies())
    studies = {s.name for s in REGISTRY.studies() if s.tuning == "sensitivity"}
    assert swept and {s.task.study for s in swept} == studies
    evaluation = {(s.task.name, s.n_train, s.seed): s for s in quick_plan}
    for spec in swept:
        original = evaluation[(spec.task.name, spec.n_train, spec.seed)]
        assert spec.kind == "sensitivity" and spec.probes == original.probes  # measured like the original
        assert any(math.isclose(spec.lr, original.lr * f) for f in SENSITIVITY)
        assert spec.key != original.key


def _tuning(rows):
    return pd.DataFrame(rows, columns=["task", "learning_rate", "seed", "status", "val/best_loss"])


def test_the_lowest_mean_validation_loss_wins_and_a_failure_on_any_seed_rules_a_rate_out():
    frame = _tuning([
        ("a", 1e-3, 0, "ok", 0.50), ("a", 1e-3, 1, "ok", 0.40),  # mean 0.45
        ("a", 1e-2, 0, "ok", 0.30), ("a", 1e-2, 1, "ok", 0.70),  # mean 0.50
        ("b", 1e-3, 0, "ok", 0.90), ("b", 1e-2, 0, "ok", 0.20), ("b", 1e-2, 1, "failed", None),
        ("c", 1e-3, 0, "ok", np.inf), ("c", 3e-3, 0, "ok", 0.8), ("c", 1e-2, 0, "ok", np.nan),
        ("d", 1e-3, 0, "ok", 0.5), ("d", 3e-3, 0, "ok", 0.5),  # a tie: the smaller rate
    ])
    assert choose_rates(frame) == {"a": 1e-3, "b": 1e-3, "c": 3e-3, "d": 1e-3}
    assert choose_rates(frame.iloc[0:0]) == {}


def test_a_chosen_rate_changes_the_run_key_only_where_it_differs_from_the_default():
    task = Task(name="t/mlp", study="t", dataset="digits", arch="mlp")
    spec = RunSpec(task, 60, 0, {"width": 16}, BUDGETS["smoke"], "smoke", "tensorflow")
    assert spec.lr == 1e-3
    same, other = apply_rates([spec], {"t/mlp": 1e-3})[0], apply_rates([spec], {"t/mlp": 1e-2})[0]
    assert same.key == spec.key and other.key != spec.key and other.lr == 1e-2
    assert apply_rates([spec], {"other": 1e-2})[0] is spec


@pytest.mark.slow
def test_the_per_run_trainer_trains_a_reused_model_at_each_run_s_rate():
    """One compiled model serves runs at different rates: each trains as a fresh model at its rate would."""
    from suite.training import Trainer

    task = Task(name="t/mlp", study="t", dataset="digits", arch="mlp")
    spec = RunSpec(task, 60, 0, {"width": 16}, dataclasses.replace(BUDGETS["smoke"], max_steps=16), "smoke",
                   "tensorflow")
    fast = dataclasses.replace(spec, learning_rate=1e-2)
    trainer = Trainer("CPU")
    first, second = trainer.run(spec), trainer.run(fast)
    alone = Trainer("CPU").run(fast)
    assert second.metrics["test/loss"] == pytest.approx(alone.metrics["test/loss"], rel=1e-5)
    assert second.metrics["test/loss"] != pytest.approx(first.metrics["test/loss"], rel=1e-3)
    assert second.record.learning_rate == 1e-2 and first.record.learning_rate == 1e-3


def _runs(rows):
    columns = ["run_key", "study", "profile", "task", "arch", "setting", "dataset", "variant", "seed", "n_train",
               "status", "kind", "learning_rate", "metric"]
    return pd.DataFrame([dict(zip(columns, r)) for r in rows], columns=columns)


def test_the_report_shows_each_task_s_grid_and_the_rate_its_evaluation_runs_used():
    from suite.report.rates import rate_section

    study = pd.Series({"name": "s", "profile": "quick", "tuning": "validation"})
    rows, metrics = [], []
    for i, (lr, loss) in enumerate(((1e-3, 0.9), (1e-2, 0.4), (3e-2, float("inf")))):
        rows.append((f"t{i}", "s", "quick", "s/d/natural/mlp", "mlp", "", "d", "natural", SEED_BASE, 100, "ok",
                     "tune", lr, "test/accuracy"))
        metrics.append((f"t{i}", "val/best_loss", loss))
    rows.append(("e0", "s", "quick", "s/d/natural/mlp", "mlp", "", "d", "natural", 0, 100, "ok", "eval", 1e-2,
                 "test/accuracy"))
    data = {"runs": _runs(rows), "metrics": pd.DataFrame(metrics, columns=["run_key", "metric", "value"])}
    section = rate_section(data, study)
    assert "chosen on the validation split" in section["caption"]
    table = section["frame"]
    row = table.iloc[0]
    assert row["chosen"] == "1e-2" and row["evaluated at"] == "1e-2" and row["3e-2"] == "diverged"
    # the chosen rate at the grid's edge is said
    data["metrics"].loc[1, "value"] = 2.0
    data["metrics"].loc[2, "value"] = 0.1
    assert "edge of the grid" in rate_section(data, study)["caption"]


def test_the_report_shows_a_sensitivity_study_s_results_per_rate_and_seed():
    from suite.report.rates import rate_section

    study = pd.Series({"name": "g", "profile": "quick", "tuning": "sensitivity"})
    rows, metrics = [], []
    for seed in (0, 1):
        for kind, lr in (("eval", 2e-4), ("sensitivity", 5e-5), ("sensitivity", 8e-4)):
            key = f"{kind}{lr}{seed}"
            rows.append((key, "g", "quick", "g/ring/natural/gan", "gan", "", "ring", "natural", seed, 1000, "ok",
                         kind, lr, "trained/modes"))
            metrics.append((key, "trained/modes", 8.0 if lr == 2e-4 else seed))
    data = {"runs": _runs(rows), "metrics": pd.DataFrame(metrics, columns=["run_key", "metric", "value"])}
    section = rate_section(data, study)
    table = section["frame"]
    assert len(table) == 3 and {"seed 0", "seed 1", "mean"} <= set(table.columns)
    recipe = table[table["rate"].str.contains("evaluated")].iloc[0]
    assert float(recipe["mean"]) == 8.0
    assert table["rate"].str.contains("x4").any() and table["rate"].str.contains("x0.25").any()

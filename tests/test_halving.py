"""Successive halving of a tuning population (suite.training.halving): which rates stop at a rung, that a
stopped rate is never chosen, that the rates kept train as in the full grid, and the keys of halved runs."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from suite.selection import HALTED, SCORE, choose_rates, score_table, tuning_frame
from suite.studies import REGISTRY, Task, load_builtin_studies
from suite.training import BUDGETS, OBJECTIVES, RunSpec
from suite.training.halving import Halving, population_rule, rung_stops, survivors
from suite.training.tuning import GRIDS, SEED_BASE, TUNE_SEEDS, tune_rates, tuning_runs

load_builtin_studies()

TASK = Task(name="locality/digits/natural/mlp", study="locality", dataset="digits", arch="mlp", matched=True)


def _members(rates, seeds=3, halving=True, trainer="population"):
    rule = Halving(tuple(sorted(set(rates)))) if halving else None
    return [RunSpec(TASK, 200, SEED_BASE + s, {"width": 8}, BUDGETS["quick"], "quick", "jax", trainer=trainer,
                    learning_rate=lr, kind="tune", halving=rule) for lr in rates for s in range(seeds)]


# --- the rule ---------------------------------------------------------------------------------------------

def test_rungs_grow_geometrically_and_stop_before_the_budget_ends():
    rule = Halving((1e-3, 1e-2), eta=2, first=1)
    assert rule.rungs(16) == [1, 2, 4, 8]
    assert Halving((1e-3,), eta=3, first=2).rungs(30) == [2, 6, 18]
    assert rule.rungs(1) == []  # one check: nothing to save
    for checks in range(1, 40):
        rungs = rule.rungs(checks)
        assert all(r < checks for r in rungs) and all(b == a * rule.eta for a, b in zip(rungs, rungs[1:]))
    with pytest.raises(ValueError, match="eta"):
        Halving((1e-3,), eta=1)
    with pytest.raises(ValueError, match="alpha"):
        Halving((1e-3,), alpha=1.5)


def test_clearly_separated_rates_the_worse_stop_and_the_best_never():
    rates = np.repeat([3e-4, 1e-3, 3e-3, 1e-2], 3)
    scores = np.array([0.50, 0.52, 0.51, 0.70, 0.71, 0.72, 0.90, 0.91, 0.92, 0.30, 0.31, 0.29])
    kept = survivors(rates, scores, eta=2, alpha=0.05)
    assert kept == {1e-3, 3e-3}  # the best half
    assert survivors(rates, scores, eta=4, alpha=0.05) == {3e-3}
    # a diverged seed puts its rate last; every rate diverged: nothing to rank by, the first ones kept
    diverged = scores.copy()
    diverged[7] = -np.inf
    assert 3e-3 not in survivors(rates, diverged, eta=2, alpha=0.05)
    assert len(survivors(rates, np.full(12, -np.inf), eta=2, alpha=0.05)) == 2


def test_a_rate_whose_seeds_disagree_is_not_stopped_on_its_mean_alone():
    """Behind on its mean, but its seeds are too spread to say it is behind: it stays; with steady seeds
    the same mean stops."""
    rates = np.repeat([1e-3, 1e-2, 3e-2], 3)
    unsteady = np.array([0.90, 0.91, 0.92, 0.80, 0.81, 0.82, 0.40, 0.95, 0.93])
    assert 3e-2 in survivors(rates, unsteady, eta=3, alpha=0.05)
    steady = np.array([0.90, 0.91, 0.92, 0.80, 0.81, 0.82, 0.75, 0.76, 0.77])
    assert 3e-2 not in survivors(rates, steady, eta=3, alpha=0.05)


@pytest.mark.parametrize("eta", [2, 3])
def test_halving_never_removes_a_rate_within_one_standard_error_of_the_best(eta):
    """On random grids: the best rate, every rate within one standard error of its mean, and at least the
    best ceil(n / eta) rates go on."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        n, seeds = rng.integers(2, 7), rng.integers(1, 4)
        rates = np.repeat(10.0 ** -np.arange(1, n + 1), seeds)
        scores = rng.normal(rng.normal(0, 1, n).repeat(seeds), rng.uniform(0.01, 1))
        kept = survivors(rates, scores, eta=eta, alpha=0.05)
        table = score_table(pd.DataFrame({"task": "t", "learning_rate": rates, "status": "ok", SCORE: scores}))
        best = table.sort_values(["mean", "learning_rate"], ascending=[False, True]).iloc[0]
        within = set(table.loc[table["mean"] >= best["mean"] - best["se"], "learning_rate"])
        assert best["learning_rate"] in kept and within <= kept
        assert len(kept) >= math.ceil(n / eta)


def test_at_a_rung_every_seed_of_a_rate_behind_stops_and_finished_rates_are_left_alone():
    specs = _members([3e-4, 1e-3, 3e-3, 1e-2])
    objective = OBJECTIVES["classification"]
    means = {3e-4: 0.5, 1e-3: 0.7, 3e-3: 0.9, 1e-2: 0.3}

    def history(spec):
        value = means[spec.lr] + 0.01 * (spec.seed - SEED_BASE)
        return {"val_loss": [1.0 - value], "val_accuracy": [value], "loss": [1.0]}

    histories = [history(s) for s in specs]
    active = np.ones(len(specs), dtype=bool)
    halted = np.zeros(len(specs), dtype=bool)
    stop = rung_stops(specs, histories, objective, active, halted)
    stopped = {s.lr for s, x in zip(specs, stop) if x}
    assert stopped == {3e-4, 1e-2}  # eta 2: the better two go on
    assert all(stop[i] == (specs[i].lr in stopped) for i in range(len(specs)))  # a rate stops as a whole
    # a rate whose seeds have all finished (early stopping) has nothing to save: it stays in the choice
    finished = np.array([s.lr != 1e-2 for s in specs])
    assert {s.lr for s, x in zip(specs, rung_stops(specs, histories, objective, finished, halted)) if x} == {3e-4}
    # rates stopped at an earlier rung are out of the ranking: of the two left, one goes on
    again = rung_stops(specs, histories, objective, active & ~stop, stop)
    assert {s.lr for s, x in zip(specs, again) if x} == {1e-3} and not (again & stop).any()
    # members without a rule (evaluation runs) never stop
    plain = [dataclasses.replace(s, halving=None, kind="eval") for s in specs]
    assert not rung_stops(plain, histories, objective, active, halted).any()
    assert population_rule(plain) is None and population_rule(specs) == specs[0].halving
    with pytest.raises(ValueError, match="one halving rule"):
        population_rule(specs[:3] + _members([1e-3, 1e-1]))


# --- the choice and the report ----------------------------------------------------------------------------

def _frame(scores, halted=()):
    rows = [("t", lr, SEED_BASE + s, "ok", v, 5.0 if lr in halted else np.nan)
            for lr, values in scores.items() for s, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["task", "learning_rate", "seed", "status", SCORE, "halted_at"])


def test_a_halted_rate_is_never_chosen():
    scores = {1e-3: [0.80, 0.81, 0.82], 3e-3: [0.85, 0.86, 0.87], 1e-2: [0.95, 0.96, 0.97]}
    assert choose_rates(_frame(scores)) == {"t": 1e-2}
    assert choose_rates(_frame(scores, halted=(1e-2,))) == {"t": 3e-3}  # its score is from fewer steps
    assert choose_rates(_frame(scores, halted=(1e-3, 3e-3, 1e-2))) == {}
    table = score_table(_frame(scores, halted=(1e-2,)))
    assert list(table["halted"]) == [False, False, True] and not table["failed"].any()


def test_the_stored_halt_reaches_the_choice_and_the_report_shows_it():
    from suite.report.rates import rate_section
    from test_tuning import _tuned_study

    data = _tuned_study({1e-3: [0.80, 0.81, 0.82], 3e-3: [0.90, 0.91, 0.89], 1e-2: [0.95, 0.96, 0.97]},
                        evaluated={"natural": 3e-3})
    key = data["runs"].loc[data["runs"]["learning_rate"] == 1e-2, "run_key"]
    data["metrics"] = pd.concat([data["metrics"], pd.DataFrame({"run_key": key, "metric": HALTED, "value": 2.0})])
    tune = tuning_frame(data["runs"], data["metrics"])
    assert set(tune.loc[tune["halted_at"].notna(), "learning_rate"]) == {1e-2}
    assert choose_rates(tune) == {"s/d/natural/mlp": 3e-3}
    section = rate_section(data, pd.Series({"name": "s", "profile": "quick", "tuning": "validation"}))
    row = section["frame"].iloc[0]
    assert row["1e-2"] == "stopped early by halving" and row["chosen"] == "3e-3"
    assert "Successive halving stopped 1 of the 3 rates" in section["caption"]


# --- which runs halve, and their keys ---------------------------------------------------------------------

def _plan(trainer):
    return [RunSpec(TASK, n, seed, {"width": 8}, BUDGETS["quick"], "quick", "jax", trainer=trainer)
            for n in (50, 200) for seed in (0, 1)]


def test_only_tuning_populations_halve_and_a_halved_run_has_a_key_of_its_own():
    studies = REGISTRY.studies()
    grid = GRIDS["quick"]
    halved = tuning_runs(_plan("population"), studies, grid, "quick")
    full = tuning_runs(_plan("population"), studies, grid, "quick", halving=False)
    assert {s.halving for s in halved} == {Halving(tuple(grid))} and {s.halving for s in full} == {None}
    assert len(halved) == len(grid) * TUNE_SEEDS["quick"]
    assert not {s.key for s in halved} & {s.key for s in full}  # never mixed with the full grid's runs
    assert [s.config["halving"]["rates"] for s in halved[:1]] == [list(grid)]
    assert "halving" not in full[0].config
    # the per-run trainer keeps the full grid, under the keys it had
    fit = tuning_runs(_plan("fit"), studies, grid, "quick")
    assert {s.halving for s in fit} == {None}
    assert {s.key for s in fit} == {s.key for s in tuning_runs(_plan("fit"), studies, grid, "quick", halving=False)}
    # evaluation runs never halve
    assert all(s.halving is None for s in _plan("population"))


def test_an_extension_round_of_one_rate_trains_whole_and_a_rerun_plans_the_same_runs():
    """The grid still grows past an edge: a round that adds one rate has nothing to halve (its runs keep
    the keys they had); a rerun plans the same keys, so stored runs are reused."""
    trained = []

    def train(runs):
        trained.append(list(runs))

    def read(runs):  # larger is better: the grid grows upwards to the bound
        return pd.DataFrame([(r.task.name, r.learning_rate, r.seed, "ok", r.learning_rate, np.nan) for r in runs],
                            columns=["task", "learning_rate", "seed", "status", SCORE, "halted_at"])

    tuning = tune_rates(_plan("population"), REGISTRY.studies(), GRIDS["quick"], "quick", train, read)
    assert len(trained) > 1
    assert {s.halving for s in trained[0]} == {Halving(tuple(GRIDS["quick"]))}
    for round_ in trained[1:]:
        assert len({s.learning_rate for s in round_}) == 1 and {s.halving for s in round_} == {None}
    again = tune_rates(_plan("population"), REGISTRY.studies(), GRIDS["quick"], "quick", lambda runs: None, read)
    assert [s.key for s in again.runs] == [s.key for s in tuning.runs] and again.rates == tuning.rates



# --- training (slow) ----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_population_stops_the_rates_behind_at_a_rung_and_the_others_train_as_in_the_full_grid():
    """Rates clearly apart (1e-6 barely moves): the worse rate stops at a rung, the best never; the rates
    kept end with the weights the full grid gives them (vectorised, the stopped members leave the stack,
    `_drop`); a stopped member's weights are those of the same run trained only up to its rung (they did
    not move after it), on both ways of stepping members."""
    from test_backends import run_python_ok
    from conftest import ROOT

    run_python_ok((
        "import os, sys; os.environ['KERAS_BACKEND'] = 'jax'; sys.path.insert(0, %r)\n"
        "import dataclasses\n"
        "import numpy as np\n"
        "from suite.studies import Task\n"
        "from suite.training import Budget, RunSpec\n"
        "from suite.training.halving import Halving\n"
        "from suite.training.population import PopulationTrainer\n"
        "task = Task(name='t/mlp', study='t', dataset='digits', arch='mlp')\n"
        "budget = Budget(max_steps=80, eval_every=10, patience=10, batch_size=16)\n"
        "rates = (1e-6, 1e-2)\n"
        "def members(rule):\n"
        "    return [RunSpec(task, 200, 10_000 + s, {'width': 16}, budget, 'quick', 'jax', trainer='population',\n"
        "                    learning_rate=lr, kind='tune', halving=rule) for lr in rates for s in range(3)]\n"
        "for path in ('vmap', 'loop'):\n"
        "    trainer = PopulationTrainer('CPU', vectorize=path)\n"
        "    halved = trainer.run(members(Halving(rates)))\n"
        "    halved_weights = trainer.final_weights\n"
        "    full = trainer.run(members(None))\n"
        "    full_weights = trainer.final_weights\n"
        "    at = [r.metrics.get('tune/halted_at') for r in halved]\n"
        "    assert all(a is None for a in at[3:]), at  # the best rate never stops\n"
        "    assert all(a is not None and a == at[0] for a in at[:3]), at  # the worse stops as a whole\n"
        "    assert all('tune/halted_at' not in r.metrics for r in full)\n"
        "    rung = int(at[0])\n"
        "    assert rung in Halving(rates).rungs(8)\n"
        "    for r in halved[:3]:\n"
        "        assert r.ok and len(r.history['val_loss']) == rung and r.record.steps == rung * 10\n"
        "    for i in range(3, 6):  # the rate kept: as in the full grid (its validation sums: to round-off)\n"
        "        np.testing.assert_allclose(halved[i].history['val_loss'], full[i].history['val_loss'], rtol=1e-5)\n"
        "        for a, b in zip(halved_weights[i], full_weights[i]):\n"
        "            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)\n"
        "    assert halved[3].record.vectorize == path\n"
        "    short = dataclasses.replace(budget, max_steps=rung * 10)\n"
        "    trainer.run([dataclasses.replace(s, budget=short) for s in members(None)[:3]])\n"
        "    for i in range(3):  # frozen at its rung: the weights of the same run trained only that far\n"
        "        for a, b in zip(halved_weights[i], trainer.final_weights[i]):\n"
        "            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)\n"
        "        assert any(not np.allclose(a, b) for a, b in zip(halved_weights[i], full_weights[i]))\n"
        "print('ok')\n"
    ) % str(ROOT))

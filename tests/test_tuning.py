"""Learning rates chosen on validation (suite.training.tuning, suite.selection): which runs tune, the
one-standard-error rule, the grid that extends itself past an edge, one rate shared by every variant,
and the score every Keras run records (`val/score`)."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from suite.selection import (BOUNDS, SCORE, best, choice_repeat, choose, choose_rates, extension, next_rate,
                             score_table, tuning_frame)
from suite.studies import REGISTRY, Task, load_builtin_studies
from suite.training import BUDGETS, RunSpec, plan_runs
from suite.training.tuning import (GRIDS, SEED_BASE, SENSITIVITY, TUNE_SEEDS, TUNINGS, apply_rates, rate_group,
                                   sensitivity_runs, tunable, tune_rates, tuned_groups, tuning_of, tuning_runs)

load_builtin_studies()


@pytest.fixture(scope="module")
def quick_plan():
    """The default run's evaluation runs (planning only: no training)."""
    return plan_runs(REGISTRY, REGISTRY.studies(), "quick", "jax").runs


def _validated(plan):
    return [s for s in plan if tunable(s) and tuning_of(s.task, REGISTRY.studies()) == "validation"]


# --- which runs tune ------------------------------------------------------------------------------------

def test_every_rate_group_tunes_its_natural_variant_over_the_grid_on_seeds_of_its_own(quick_plan):
    """One group per (study, architecture, dataset, setting); it tunes on its natural variant only, every
    rate of the grid on at least 3 seeds of its own (quick and full), at its reference size."""
    assert min(TUNE_SEEDS["quick"], TUNE_SEEDS["full"]) >= 3
    grid = GRIDS["quick"]
    tune = tuning_runs(quick_plan, REGISTRY.studies(), grid, "quick")
    validated = _validated(quick_plan)
    groups = {rate_group(s.task) for s in validated}
    by_task: dict = {}
    for spec in tune:
        by_task.setdefault(spec.task.name, []).append(spec)
    assert groups and {rate_group(specs[0].task) for specs in by_task.values()} == groups
    assert len(by_task) == len(groups)  # one task tuned per group
    variants = {}
    for spec in validated:
        variants.setdefault(rate_group(spec.task), set()).add(spec.task.variant)
    evaluation_seeds = {s.seed for s in quick_plan}
    for task, specs in by_task.items():
        group = rate_group(specs[0].task)
        assert specs[0].task.variant == ("natural" if "natural" in variants[group] else specs[0].task.variant)
        assert sorted(s.lr for s in specs) == sorted(np.repeat(grid, TUNE_SEEDS["quick"]).tolist())
        assert {s.seed for s in specs} == set(range(SEED_BASE, SEED_BASE + TUNE_SEEDS["quick"]))
        sizes = sorted({s.n_train for s in quick_plan if s.task.name == task})
        assert {s.n_train for s in specs} == {sizes[len(sizes) // 2]}
        assert all(s.kind == "tune" and not s.probes and s.extension == 0 for s in specs)
    assert not evaluation_seeds & {s.seed for s in tune}
    assert len({s.key for s in tune}) == len(tune)  # every rate and seed its own run
    assert not {s.key for s in tune} & {s.key for s in quick_plan}
    # the variants share: fewer tasks tuned than tasks whose rate is chosen
    assert len(by_task) < len({s.task.name for s in validated})


def test_what_is_not_tuned_on_validation(quick_plan):
    """scikit-learn baselines, objectives without validation, pinned rates and tasks set otherwise keep
    their rate; every study and task declares one of the known ways."""
    tuned = {rate_group(s.task) for s in tuning_runs(quick_plan, REGISTRY.studies(), GRIDS["quick"], "quick")}
    for spec in quick_plan:
        how = tuning_of(spec.task, REGISTRY.studies())
        assert how in TUNINGS
        if spec.lr is None or how != "validation" or spec.task.learning_rate is not None:
            assert not (rate_group(spec.task) in tuned and tunable(spec) and how == "validation")
    assert not tuning_runs(quick_plan, REGISTRY.studies(), (), "quick")  # an empty grid: no tuning


def test_the_likelihood_models_are_tuned_on_a_held_out_loss_and_the_gans_keep_their_recipes(quick_plan):
    """generation: the VAE and the diffusion model choose their rate on validation (their own held-out
    loss); the GANs train at their recipes' rate and are swept around it."""
    generation = [s for s in quick_plan if s.task.study == "generation"]
    assert generation
    tune = tuning_runs(generation, REGISTRY.studies(), GRIDS["quick"], "quick")
    assert {s.task.arch for s in tune} == {"vae", "diffusion", "dense_ae"}  # the autoencoder beside the VAE too
    swept = sensitivity_runs(generation, REGISTRY.studies())
    assert swept and {s.task.arch for s in swept} == {"gan", "gan_sn"}
    from suite.training.objectives import OBJECTIVES

    for spec in generation:
        objective = OBJECTIVES[spec.task.objective]
        if spec.task.arch in ("gan", "gan_sn"):
            assert spec.lr == 2e-4 and not objective.validates
        else:
            assert objective.heldout and objective.train_only and objective.validates
    # a rate chosen for them reaches their evaluation runs; the GANs' stays
    rates = {rate_group(s.task): 3e-3 for s in tune}
    applied = apply_rates(generation, rates, REGISTRY.studies())
    assert {s.task.arch for s in applied if s.lr == 3e-3} == {"vae", "diffusion", "dense_ae"}
    assert all(s.lr == 2e-4 for s in applied if s.task.arch.startswith("gan"))


def test_sensitivity_repeats_evaluation_runs_at_multiples_of_their_rate(quick_plan):
    swept = sensitivity_runs(quick_plan, REGISTRY.studies())
    expected = {s.task.name for s in quick_plan if s.lr is not None
                and tuning_of(s.task, REGISTRY.studies()) == "sensitivity"}
    assert swept and {s.task.name for s in swept} == expected
    evaluation = {(s.task.name, s.n_train, s.seed): s for s in quick_plan}
    for spec in swept:
        original = evaluation[(spec.task.name, spec.n_train, spec.seed)]
        assert spec.kind == "sensitivity" and spec.probes == original.probes  # measured like the original
        assert any(math.isclose(spec.lr, original.lr * f) for f in SENSITIVITY)
        assert spec.key != original.key


def test_a_task_s_own_tuning_is_checked_when_registered():
    from suite import UsageError
    from suite.studies import check_task

    with pytest.raises(UsageError, match="unknown tuning 'best'.*validation"):
        check_task(Task(name="t/mlp", study="t", dataset="digits", arch="mlp", tuning="best"))


# --- the one-standard-error rule --------------------------------------------------------------------------

def _tuning(rows):
    return pd.DataFrame(rows, columns=["task", "learning_rate", "seed", "status", SCORE])


def _seeds(task, rate, values, status="ok"):
    return [(task, rate, i, status, v) for i, v in enumerate(values)]


def test_the_smallest_rate_within_one_standard_error_of_the_best_is_chosen():
    # the best mean (0.90 at 1e-2) has a standard error of 0.1 / sqrt(3) = 0.0577
    frame = _tuning(_seeds("a", 1e-3, [0.80, 0.82, 0.78]) + _seeds("a", 3e-3, [0.86, 0.84, 0.85])
                    + _seeds("a", 1e-2, [0.80, 0.90, 1.00]))
    table = score_table(frame).set_index("learning_rate")
    assert table.loc[1e-2, "mean"] == pytest.approx(0.90)
    assert table.loc[1e-2, "se"] == pytest.approx(0.1 / math.sqrt(3))
    assert choose_rates(frame) == {"a": 3e-3}  # 0.85 >= 0.90 - 0.0577; 0.80 is not
    tight = _tuning(_seeds("a", 1e-3, [0.80, 0.82, 0.78]) + _seeds("a", 3e-3, [0.86, 0.84, 0.85])
                    + _seeds("a", 1e-2, [0.899, 0.900, 0.901]))
    assert choose_rates(tight) == {"a": 1e-2}  # the best is better than its own seeds' noise


def test_the_rule_prefers_a_smaller_rate_by_one_half_decade_step_at_most():
    """Seeds that spread wide (some learn the task, some do not) put every rate within one standard error of
    the best; the choice then goes one step below the best, never ten times below it."""
    noisy = _tuning(_seeds("a", 1e-4, [0.30, 0.60, 0.95]) + _seeds("a", 3e-4, [0.35, 0.65, 0.97])
                    + _seeds("a", 1e-3, [0.40, 0.70, 1.00]) + _seeds("a", 3e-3, [0.2, 0.3, 0.4]))
    assert choose_rates(noisy) == {"a": 3e-4}  # 1e-4 is within the best's standard error (0.17), but 10x below
    # the bound is on rates, not on the grid's order: with a gap in the grid the next rate tried may be out
    gap = _tuning(_seeds("a", 1e-4, [0.30, 0.60, 0.95]) + _seeds("a", 1e-3, [0.40, 0.70, 1.00]))
    assert choose_rates(gap) == {"a": 1e-3}
    table = score_table(noisy)
    assert choose(table) == 3e-4 and extension(sorted(table["learning_rate"]), choose(table)) == ([], False)


def test_a_difference_within_the_seeds_noise_resolves_the_same_way_whichever_rate_won():
    """The failure this rule exists for: two rates 0.0009 apart whose seeds spread wider. Whichever of the
    two happens to win on this machine, the choice is the same: the smaller."""
    for small_wins in (True, False):
        better, worse = [0.5009, 0.49, 0.512], [0.50, 0.49, 0.511]
        frame = _tuning(_seeds("a", 3e-4, better if small_wins else worse)
                        + _seeds("a", 1e-3, worse if small_wins else better))
        assert choose_rates(frame) == {"a": 3e-4}


def test_ties_failures_and_single_seeds():
    frame = _tuning(
        _seeds("tie", 1e-3, [0.5, 0.5]) + _seeds("tie", 3e-3, [0.5, 0.5])  # equal means, no spread: the smaller
        + _seeds("fail", 1e-3, [0.2, 0.2]) + _seeds("fail", 1e-2, [0.9])
        + [("fail", 1e-2, 1, "failed", None)]  # the best mean, but it failed on one seed: never chosen
        + _seeds("diverged", 1e-3, [0.3]) + _seeds("diverged", 1e-2, [float("-inf")])
        + _seeds("nan", 1e-3, [0.3]) + _seeds("nan", 1e-2, [float("nan")])
        + _seeds("one", 1e-3, [0.30]) + _seeds("one", 3e-3, [0.31])  # one seed: no spread, the best wins
        + _seeds("none", 1e-3, [float("-inf")]) + [("none", 1e-2, 0, "failed", None)])
    assert choose_rates(frame) == {"tie": 1e-3, "fail": 1e-3, "diverged": 1e-3, "nan": 1e-3, "one": 3e-3}
    assert score_table(frame).set_index(["task", "learning_rate"]).loc[("fail", 1e-2), "failed"]
    assert choose_rates(frame.iloc[0:0]) == {}


def test_the_rule_on_arrays_chooses_as_the_rule_on_tables_reads_it():
    """`choose` and `best` run the rule on arrays (so that `choice_repeat` can run it on many redraws at
    once); checked against the rule read straight off the table, on random grids with ties and failures."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        rates = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2][: rng.integers(1, 6)]
        frame = _tuning([("t", r, i, "ok" if rng.random() > 0.05 else "failed", round(rng.normal(), 1))
                         for r in rng.permutation(rates) for i in range(3)])
        table = score_table(frame)
        valid = table[~table["failed"]]
        if valid.empty:
            assert choose(table) is None
            continue
        top = valid.sort_values(["mean", "learning_rate"], ascending=[False, True]).iloc[0]
        near = next_rate(top["learning_rate"], -1) * (1 - 1e-9)
        acceptable = valid[(valid["mean"] >= top["mean"] - top["se"]) & (valid["learning_rate"] >= near)]
        assert (best(table), choose(table)) == (top["learning_rate"], acceptable["learning_rate"].min())


def test_a_choice_that_a_second_set_of_tuning_seeds_may_not_repeat_is_told_from_a_clear_one():
    """`choice_repeat`: a rate clearly ahead of its neighbours is chosen again in nearly every redraw of the
    tuning seeds; two rates between which one seed of three decides (the vanilla RNN on adding at T = 50,
    bench/README.md) split the redraws, and both are named."""
    clear = _tuning(_seeds("a", 3e-4, [-0.13, -0.12, -0.125]) + _seeds("a", 1e-3, [-0.07, -0.08, -0.09])
                    + _seeds("a", 3e-3, [-0.2, -0.3, -0.25]))
    assert choice_repeat(clear)[1e-3] >= 0.95
    coin = _tuning(_seeds("a", 3e-4, [-0.12, -0.14, -0.17]) + _seeds("a", 1e-3, [-0.04, -0.16, -0.175])
                   + _seeds("a", 3e-3, [-0.3, -0.31, -0.29]))
    shares = choice_repeat(coin)
    assert choose_rates(coin) == {"a": 3e-4} and set(shares) == {3e-4, 1e-3}
    assert 0.2 < shares[3e-4] < 0.8 and sum(shares.values()) == pytest.approx(1.0)
    assert choice_repeat(coin) == shares  # a fixed generator: the same on every call
    assert choice_repeat(_tuning([("a", 1e-3, 0, "failed", None)])) == {}


# --- the grid that extends itself --------------------------------------------------------------------------

def test_a_half_decade_step_beyond_an_edge_stays_on_the_ladder_and_within_the_bounds():
    for rate in (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0):
        up, down = next_rate(rate, 1), next_rate(rate, -1)
        assert up > rate > down
        assert math.log10(up / rate) == pytest.approx(0.5, abs=0.03)  # 3x or 3.33x
        assert math.log10(rate / down) == pytest.approx(0.5, abs=0.03)
        assert next_rate(up, -1) == pytest.approx(rate) and next_rate(down, 1) == pytest.approx(rate)
    assert next_rate(1e-2, 1) == 3e-2 and next_rate(3e-4, -1) == 1e-4
    grid = [3e-4, 1e-3, 3e-3, 1e-2]
    assert extension(grid, 1e-3) == ([], False)  # interior
    assert extension(grid, 1e-2) == ([3e-2], False) and extension(grid, 3e-4) == ([1e-4], False)
    assert extension([next_rate(BOUNDS[1], -1), BOUNDS[1]], BOUNDS[1]) == ([], True)  # the largest is the bound
    assert extension([BOUNDS[0], 3e-5], BOUNDS[0]) == ([], True)
    assert extension([1e-3], 1e-3) == ([3e-4, 3e-3], False)  # one rate: both sides
    assert extension(grid, None) == ([], False)  # nothing chosen (every rate failed)


def _fake_tuning(score):
    """`train` and `read` for `tune_rates` without training: a run's score is `score(rate, seed)`."""
    trained = []

    def train(runs):
        trained.append(list(runs))

    def read(runs):
        return pd.DataFrame([(r.task.name, r.learning_rate, r.seed, "ok", score(r.learning_rate, r.seed))
                             for r in runs], columns=["task", "learning_rate", "seed", "status", SCORE])

    return train, read, trained


def _plan(variants=("natural", "permuted")):
    tasks = [Task(name=f"locality/digits/{v}/mlp", study="locality", dataset="digits", arch="mlp", variant=v,
                  matched=v == "natural") for v in variants]
    return [RunSpec(t, n, seed, {"width": 8}, BUDGETS["quick"], "quick", "jax") for t in tasks
            for n in (50, 200) for seed in (0, 1)]


def _peaked(best, spread=0.01):
    """A score that peaks at `best` (in log10 rate), with a seed-to-seed spread."""
    return lambda lr, seed: -abs(math.log10(lr) - math.log10(best)) + spread * (seed - SEED_BASE - 1)


def test_the_grid_grows_past_an_edge_until_the_choice_is_interior():
    train, read, trained = _fake_tuning(_peaked(3e-5))
    plan = _plan()
    tuning = tune_rates(plan, REGISTRY.studies(), GRIDS["quick"], "quick", train, read)
    (group,) = tuning.rates
    assert tuning.rates[group] == pytest.approx(3e-5)
    tried = sorted({r.learning_rate for r in tuning.runs})
    assert tried[0] < tuning.rates[group] < tried[-1]  # interior
    assert tuning.extended[group] == [1e-4, 3e-5, 1e-5]  # one half-decade step per round
    assert tuning.rounds == len(trained) == 4 and group not in tuning.at_bound
    for round_, runs in enumerate(trained):
        assert {r.extension for r in runs} == {round_}
        assert {r.seed for r in runs} == set(range(SEED_BASE, SEED_BASE + TUNE_SEEDS["quick"]))
        assert {r.n_train for r in runs} == {200} and {r.task.variant for r in runs} == {"natural"}
    # a rerun plans the same runs (the same keys: stored runs are reused) and chooses the same
    again = tune_rates(plan, REGISTRY.studies(), GRIDS["quick"], "quick", *_fake_tuning(_peaked(3e-5))[:2])
    assert [r.key for r in again.runs] == [r.key for r in tuning.runs] and again.rates == tuning.rates


def test_the_grid_grows_where_the_best_rate_is_at_an_edge_though_the_choice_is_not():
    """Every rate of the grid at chance, the largest best by a hair: the rule's choice (a smaller rate within
    one standard error) is interior, but the best is at the edge, so the grid grows upward, and where a
    larger rate learns the task the choice follows it (the GRU on copy at T = 50: at chance from 3e-4 to
    1e-2, learned at 0.1; bench/README.md)."""
    grid = GRIDS["quick"]
    top = max(grid)

    def flat_then_learned(lr, seed):  # chance (0.13, a hair better at the top of the grid) up to it; 1.0 above
        return 1.0 if lr > top * 1.01 else 0.13 + 0.001 * (lr == top) + 0.002 * (seed - SEED_BASE - 1)

    train, read, trained = _fake_tuning(flat_then_learned)
    tuning = tune_rates(_plan(), REGISTRY.studies(), grid, "quick", train, read)
    (group,) = tuning.rates
    assert tuning.extended[group][0] > top and tuning.rates[group] > top
    # with no rate beyond the grid learning either, it still grows once, then stops with the choice interior
    train, read, trained = _fake_tuning(lambda lr, seed: 0.13 + 0.001 * (lr >= top) + 0.002 * (seed - SEED_BASE))
    tuning = tune_rates(_plan(), REGISTRY.studies(), grid, "quick", train, read)
    assert len(trained) >= 2 and tuning.rates[group] < top


def test_the_grid_stops_at_its_bound_and_an_interior_choice_trains_no_more():
    train, read, trained = _fake_tuning(lambda lr, seed: lr)  # larger is always better
    tuning = tune_rates(_plan(), REGISTRY.studies(), GRIDS["quick"], "quick", train, read)
    (group,) = tuning.rates
    assert tuning.rates[group] == BOUNDS[1] and group in tuning.at_bound
    assert max(r.learning_rate for r in tuning.runs) == BOUNDS[1]
    train, read, trained = _fake_tuning(_peaked(1e-3))
    tuning = tune_rates(_plan(), REGISTRY.studies(), GRIDS["quick"], "quick", train, read)
    assert len(trained) == 1 and not tuning.extended and list(tuning.rates.values()) == [1e-3]
    assert not tune_rates(_plan(), REGISTRY.studies(), (), "quick", train, read).runs  # no grid: nothing


def test_every_variant_trains_at_the_rate_chosen_on_the_natural_one():
    plan = _plan(("natural", "permuted"))
    train, read, _ = _fake_tuning(_peaked(3e-3))
    tuning = tune_rates(plan, REGISTRY.studies(), GRIDS["quick"], "quick", train, read)
    assert {r.task.variant for r in tuning.runs} == {"natural"}
    applied = apply_rates(plan, tuning.rates, REGISTRY.studies())
    assert {(s.task.variant, s.lr) for s in applied} == {("natural", 3e-3), ("permuted", 3e-3)}
    # a rate equal to the default leaves the key as it was; another changes it
    same = apply_rates(plan, {rate_group(plan[0].task): plan[0].lr}, REGISTRY.studies())
    assert [s.key for s in same] == [s.key for s in plan]
    assert apply_rates(plan, {("other", "mlp", "digits", ""): 1e-2}, REGISTRY.studies()) == plan
    # without a natural variant planned, a group tunes on the first of its variants
    assert {s[0].task.variant for s in tuned_groups(_plan(("permuted",)), REGISTRY.studies()).values()} == \
        {"permuted"}


def test_a_pinned_rate_is_never_replaced():
    task = Task(name="locality/digits/natural/mlp", study="locality", dataset="digits", arch="mlp",
                learning_rate=5e-4)
    spec = RunSpec(task, 50, 0, {"width": 8}, BUDGETS["quick"], "quick", "jax")
    assert apply_rates([spec], {rate_group(task): 1e-2}, REGISTRY.studies()) == [spec]


# --- what is stored -----------------------------------------------------------------------------------------

def test_the_score_is_the_claims_metric_at_the_weights_the_run_ends_with():
    from suite.training.objectives import OBJECTIVES, validation_score

    history = {"val_loss": [0.9, 0.4, 0.5, 0.4, 0.6], "val_accuracy": [0.5, 0.8, 0.9, 0.7, 0.95], "loss": [1] * 5}
    # early stopping restores the first lowest validation loss (check 2): its accuracy, not the best accuracy
    assert validation_score(history, OBJECTIVES["classification"]) == {SCORE: 0.8}
    assert validation_score(history, OBJECTIVES["regression"]) == {SCORE: -0.4}  # a loss: negated
    heldout = OBJECTIVES["generate_heldout"]
    assert validation_score(history, heldout) == {SCORE: -0.6}  # no early stopping: the last check
    assert validation_score(history, OBJECTIVES["generate"]) == {}  # no validation split
    assert validation_score({"val_loss": [float("nan")] * 3, "val_accuracy": [0.1] * 3},
                            OBJECTIVES["classification"]) == {SCORE: float("-inf")}
    assert validation_score({"val_loss": [1.0, float("nan")]}, heldout) == {SCORE: float("-inf")}


def test_tuning_runs_of_variants_or_rates_no_longer_tuned_leave_the_report(tmp_path):
    """A stored tuning run of a planned task that the plan does not tune (a permuted variant tuned apart
    by an earlier version, a rate outside today's grid) is superseded; the planned ones are kept."""
    from types import SimpleNamespace

    from suite.store.write import Writer
    from suite.training.plan import supersede
    from suite.training.tuning import unscored
    from test_report import fill, study

    s = study("s")
    natural = Task(name="s/d/natural/mlp", study="s", dataset="digits", arch="mlp")
    permuted = Task(name="s/d/permuted/mlp", study="s", dataset="digits", arch="mlp", variant="permuted")
    with Writer(tmp_path / "r.sqlite") as store:
        fill(store, [natural, permuted], s, sizes=(50,), seeds=(SEED_BASE,), columns=lambda t: {"kind": "tune"})
        fill(store, [permuted], s, sizes=(50,), seeds=(0,))  # an evaluation run of the permuted variant
        runs = store.runs()
        keys = dict(zip(runs["task"] + runs["kind"].fillna("eval"), runs["run_key"]))
        assert unscored(store) == {keys["s/d/natural/mlptune"], keys["s/d/permuted/mlptune"]}  # no val/score
        spec = lambda task, key, seed, kind: SimpleNamespace(key=key, task=task, profile="smoke",  # noqa: E731
                                                             n_train=50, seed=seed, kind=kind)
        planned = [spec(natural, keys["s/d/natural/mlptune"], SEED_BASE, "tune"),
                   spec(permuted, keys["s/d/permuted/mlpeval"], 0, "eval")]
        assert supersede(store, planned) == 1
        runs = store.runs()
        assert dict(zip(runs["run_key"], runs["status"])) == {
            keys["s/d/natural/mlptune"]: "ok", keys["s/d/permuted/mlpeval"]: "ok",
            keys["s/d/permuted/mlptune"]: "superseded"}


# --- the report ---------------------------------------------------------------------------------------------

def _runs(rows):
    columns = ["run_key", "study", "profile", "task", "arch", "setting", "dataset", "variant", "seed", "n_train",
               "status", "kind", "learning_rate", "metric"]
    return pd.DataFrame([dict(zip(columns, r)) for r in rows], columns=columns)


def _tuned_study(scores, extended=(), evaluated=None):
    """Runs and metrics of a study with one tuned model: `scores` rate -> a score per seed."""
    rows, metrics = [], []
    for lr, values in scores.items():
        for seed, value in enumerate(values):
            key = f"t{lr}{seed}"
            rows.append((key, "s", "quick", "s/d/natural/mlp", "mlp", "", "d", "natural", SEED_BASE + seed, 100,
                         "ok", "tune", lr, "test/accuracy"))
            metrics += [(key, SCORE, value), (key, "tune/extension", 1.0 if lr in extended else 0.0)]
    for variant, lr in (evaluated or {}).items():
        rows.append((f"e{variant}", "s", "quick", f"s/d/{variant}/mlp", "mlp", "", "d", variant, 0, 100, "ok",
                     "eval", lr, "test/accuracy"))
    return {"runs": _runs(rows), "metrics": pd.DataFrame(metrics, columns=["run_key", "metric", "value"])}


def test_the_report_shows_the_grid_s_scores_the_choice_and_the_variants_that_share_it():
    from suite.report.rates import rate_section

    study = pd.Series({"name": "s", "profile": "quick", "tuning": "validation"})
    data = _tuned_study({1e-3: [0.80, 0.82, 0.81], 3e-3: [0.90, 0.91, 0.89], 1e-2: [0.1, float("-inf"), 0.2],
                         3e-4: [0.7, 0.7, 0.7]}, extended=(3e-4,),
                        evaluated={"natural": 3e-3, "permuted": 3e-3})
    section = rate_section(data, study)
    assert "chosen on the validation split" in section["caption"] and "one-standard-error" in section["caption"]
    row = section["frame"].iloc[0]
    assert row["chosen"] == "3e-3" and row["1e-2"] == "diverged" and row["tuned on"] == "natural"
    assert row["3e-3"].startswith("0.9 ± ")
    assert "extended (3e-4)" in row["grid"] and row["variants at the chosen rate"] == "natural, permuted"
    assert float(row["chosen again"].split()[0]) >= 0.95  # 3e-3 is ahead of every other rate on every seed
    assert "evaluated apart" not in section["frame"]
    # a choice at the bound is said; a variant evaluated at another rate (an earlier tuning) too
    below = next_rate(BOUNDS[1], -1)
    data = _tuned_study({below: [0.5, 0.5, 0.5], BOUNDS[1]: [0.9, 0.9, 0.9]}, extended=(BOUNDS[1],),
                        evaluated={"natural": BOUNDS[1], "permuted": below})
    row = rate_section(data, study)["frame"].iloc[0]
    assert "at the bound" in row["grid"] and row["variants at the chosen rate"] == "natural"
    assert row["evaluated apart"] == f"permuted at {below:.0e}".replace("e-0", "e-")
    # a choice at an edge that was not extended (runs of an interrupted tuning) is said
    data = _tuned_study({1e-3: [0.5, 0.5, 0.5], 3e-3: [0.9, 0.9, 0.9]})
    assert "edge of the rates tried" in rate_section(data, study)["caption"]


def test_the_report_shows_a_sensitivity_sweep_per_rate_and_seed_beside_a_tuned_grid():
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
    # a VAE tuned on validation in the same study: both tables, the grid first, the swept rows the GAN's only
    tuned = _tuned_study({1e-3: [-1.0, -1.1, -0.9], 3e-3: [-0.5, -0.6, -0.4], 1e-2: [-2.0, -2.1, -1.9]},
                         evaluated={"natural": 3e-3})
    tuned["runs"] = tuned["runs"].assign(study="g", task=lambda f: f["task"].str.replace("s/d", "g/ring"),
                                         arch="vae", dataset="ring")
    both = {"runs": pd.concat([tuned["runs"], data["runs"]]), "metrics": pd.concat([tuned["metrics"],
                                                                                   data["metrics"]])}
    section = rate_section(both, study)
    grid, swept = section["frames"]
    assert list(grid["model"]) == ["vae"] and grid.iloc[0]["chosen"] == "3e-3"
    assert len(swept) == 3 and "Sensitivity" in section["caption"]


# --- training (slow) ----------------------------------------------------------------------------------------

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


@pytest.mark.slow
def test_val_score_is_the_validation_metric_at_the_restored_weights_on_both_trainers():
    """Measured again by a probe on the model each trainer ends with: a classifier's validation accuracy (early
    stopping restored its best weights), a regression's validation loss, and the VAE's and the diffusion model's
    held-out loss (their own loss on the validation split, on fixed draws); the GAN has none."""
    from test_backends import run_python_ok
    from conftest import ROOT

    run_python_ok((
        "import os, sys; os.environ['KERAS_BACKEND'] = 'jax'; sys.path.insert(0, %r)\n"
        "import numpy as np\n"
        "from suite.probes.core import Measured, register_probe\n"
        "from suite.studies import Task\n"
        "from suite.training import Budget, RunSpec, Trainer\n"
        "from suite.training.population import PopulationTrainer\n"
        "@register_probe('validation_check')\n"
        "def check(model, objective, data, x, y):\n"
        "    if objective.heldout:  # the model's own loss on the whole split, one batch\n"
        "        return Measured(metrics={'value': -float(np.asarray(model(data.x_val, training=False)['loss']))})\n"
        "    if objective.loss is None:\n"
        "        return Measured()\n"
        "    logits = np.asarray(model(data.x_val, training=False))\n"
        "    if objective.loss == 'mse':\n"
        "        return Measured(metrics={'value': -float(np.mean((logits.reshape(data.y_val.shape) - data.y_val) ** 2))})\n"
        "    return Measured(metrics={'value': float(np.mean(logits.argmax(-1) == data.y_val))})\n"
        "budget = Budget(max_steps=600, eval_every=10, patience=2, batch_size=16)\n"
        "short = Budget(max_steps=40, eval_every=10, patience=2, batch_size=64)\n"
        "cases = [Task(name='t/mlp', study='t', dataset='digits', arch='mlp', probes=('validation_check',)),\n"
        "         Task(name='t/gru', study='t', dataset='adding_T10', arch='mlp', objective='regression',\n"
        "              metric='test/skill', probes=('validation_check',)),\n"
        "         Task(name='t/vae', study='t', dataset='ring8', arch='vae', objective='generate_heldout',\n"
        "              metric='trained/modes', probes=('validation_check',)),\n"
        "         Task(name='t/diffusion', study='t', dataset='ring8', arch='diffusion',\n"
        "              objective='generate_heldout', metric='trained/modes', probes=('validation_check',)),\n"
        "         Task(name='t/gan', study='t', dataset='ring8', arch='gan', objective='generate',\n"
        "              metric='trained/modes', probes=('validation_check',))]\n"
        "stopped = 0\n"
        "for task in cases:\n"
        "    b = budget if task.objective in ('classification', 'regression') else short\n"
        "    specs = [RunSpec(task, 100, seed, {'width': 8}, b, 'smoke', 'jax', learning_rate=3e-2,\n"
        "                     trainer=trainer) for seed in (0, 1) for trainer in ('fit', 'population')]\n"
        "    results = [Trainer('CPU').run(s) for s in specs if s.trainer == 'fit']\n"
        "    results += PopulationTrainer('CPU').run([s for s in specs if s.trainer == 'population'])\n"
        "    for r in results:\n"
        "        assert r.ok, r.record.error\n"
        "        if task.arch == 'gan':\n"
        "            assert 'val/score' not in r.metrics and 'val_loss' not in r.history, task\n"
        "            continue\n"
        "        assert np.isclose(r.metrics['val/score'], r.metrics['trained/value'], rtol=1e-4, atol=1e-5), \\\n"
        "            (task.name, r.record.trainer, r.metrics['val/score'], r.metrics['trained/value'])\n"
        "        stopped += r.metrics.get('train/stopped_early', 0)\n"
        "        if task.objective == 'generate_heldout':\n"
        "            assert len(r.history['val_loss']) == len(r.history['loss']), r.history.keys()\n"
        "assert stopped >= 2, stopped  # restored weights (not the last) on both trainers at least once\n"
        "print('ok')\n"
    ) % str(ROOT))

"""Population training (many runs of one task in one compiled program, on JAX): each member is its own run.

The checks run in a fresh interpreter on the jax backend (this process has
already loaded Keras on its default backend).
"""

import re

import pytest

from conftest import read_report, unmeasured_claims, ROOT, run_cli
from suite.store.read import Reader

pytest.importorskip("jax")

from test_backends import run_python_ok  # noqa: E402

PRELUDE = (
    "import os, sys; os.environ['KERAS_BACKEND'] = 'jax'; sys.path.insert(0, %r)\n"
    "import dataclasses\n"
    "import numpy as np\n"
    "from suite.studies import Task\n"
    "from suite.training import BUDGETS, Budget, RunSpec\n"
    "from suite.training.population import PopulationTrainer\n"
    "def specs(task, pairs, hparams, budget):\n"
    "    return [RunSpec(task, n, s, hparams, budget, 'smoke', 'jax', trainer='population') for n, s in pairs]\n"
) % str(ROOT)


def stored_runs(path) -> int:
    with Reader(path) as db:
        return len(db.runs(columns=("run_key",)))


@pytest.mark.slow
def test_a_member_trains_as_it_would_alone_for_an_mlp_a_gru_and_a_cnn():
    """With the same seed, subset, batch order, learning rate and budget, a member of a population of 4
    ends with the same weights as the same run trained alone (also at a rate the others do not share);
    so does its test score. The CNN's members
    step in turn on a CPU ("loop"), the others vectorised ("vmap")."""
    run_python_ok(PRELUDE + (
        "budget = Budget(max_steps=40, eval_every=10, patience=10, batch_size=16)\n"
        "cases = [(Task(name='t/mlp', study='t', dataset='digits', arch='mlp'), {'width': 16}, 'vmap'),\n"
        "         (Task(name='t/gru', study='t', dataset='adding_T10', arch='gru', objective='regression',\n"
        "               metric='test/loss'), {'width': 8}, 'vmap'),\n"
        "         (Task(name='t/cnn', study='t', dataset='digits', arch='cnn'), {'width': 4}, 'loop')]\n"
        "for task, hparams, path in cases:\n"
        "    trainer = PopulationTrainer('CPU')\n"
        "    members = specs(task, [(60, 0), (120, 1), (60, 2), (200, 3)], hparams, budget)\n"
        "    members[1] = dataclasses.replace(members[1], learning_rate=3e-3)  # a rate of its own\n"
        "    together = trainer.run(members)\n"
        "    weights = trainer.final_weights\n"
        "    alone = trainer.run([members[1]])\n"
        "    for a, b in zip(weights[1], trainer.final_weights[0]):\n"
        "        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)\n"
        "    trainer.run([dataclasses.replace(members[1], learning_rate=None)])  # at the default rate it differs\n"
        "    assert any(not np.allclose(a, b) for a, b in zip(weights[1], trainer.final_weights[0]))\n"
        "    assert abs(together[1].metrics['test/loss'] - alone[0].metrics['test/loss']) < 1e-4\n"
        "    assert together[1].history['val_loss'] == pytest_approx(alone[0].history['val_loss'])\n"
        "    assert all(r.record.members == 4 and r.record.trainer == 'population' for r in together)\n"
        "    assert all(r.record.vectorize == path for r in together)\n"
        "    for name in ('train/stopped_early', 'train/still_improving'):  # how it ended, as alone\n"
        "        assert together[1].metrics[name] == alone[0].metrics[name]\n"
        "    assert len({round(r.metrics['test/loss'], 6) for r in together}) == 4  # the members differ\n"
        "print('ok')\n"
    ).replace("pytest_approx", "(lambda v: [round(x, 4) for x in v])")
     .replace("together[1].history['val_loss'] ==", "[round(x, 4) for x in together[1].history['val_loss']] =="))


@pytest.mark.slow
def test_a_stopped_member_does_not_move_and_the_two_ways_of_stepping_agree():
    """The mask that stops a member freezes its weights and optimizer state; the others go on.
    Stepping the members vectorised or in turn trains the same weights."""
    run_python_ok(PRELUDE + (
        "import jax.numpy as jnp\n"
        "from suite.data import load_variant\n"
        "from suite.training import OBJECTIVES\n"
        "task = Task(name='t/mlp', study='t', dataset='digits', arch='mlp')\n"
        "spec = specs(task, [(60, 0)], {'width': 16}, BUDGETS['smoke'])[0]\n"
        "data = load_variant('digits', 'natural')\n"
        "trained = {}\n"
        "for path in ('vmap', 'loop'):\n"
        "  trainer = PopulationTrainer('CPU', vectorize=path)\n"
        "  import keras; keras.utils.set_random_seed(0)  # the same initial weights for both\n"
        "  model, optimizer, chunk, evaluate, opt_init, _ = trainer._program(spec, data, OBJECTIVES['classification'])\n"
        "  tv = [jnp.stack([v.value, v.value]) for v in model.trainable_variables]\n"
        "  ntv = [jnp.stack([v.value, v.value]) for v in model.non_trainable_variables]\n"
        "  ov = [jnp.stack([jnp.asarray(v), jnp.asarray(v)]) for v in opt_init]\n"
        "  before, ov_before = [np.asarray(v) for v in tv], [np.asarray(v) for v in ov]\n"
        "  idx = jnp.asarray(np.random.default_rng(0).integers(0, len(data.y_pool), (5, 2, 16)))\n"
        "  tv, ntv, ov, losses, _ = chunk(tv, ntv, ov, jnp.asarray([True, False]), jnp.asarray(data.x_pool)[None],\n"
        "                                 jnp.asarray(data.y_pool)[None], jnp.zeros(2, dtype=int), idx)\n"
        "  for b, a in zip(before, tv):\n"
        "      np.testing.assert_array_equal(np.asarray(a)[1], b[1])  # stopped: not one bit moved\n"
        "  assert any(not np.allclose(np.asarray(a)[0], b[0]) for b, a in zip(before, tv))  # active: trained\n"
        "  for b, a in zip(ov_before, ov):\n"
        "      np.testing.assert_array_equal(np.asarray(a)[1], b[1])  # nor did its optimizer state\n"
        "  trained[path] = [np.asarray(a)[0] for a in tv]\n"
        "for a, b in zip(trained['vmap'], trained['loop']):\n"
        "    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)\n"
        "print('ok')\n"
    ))


@pytest.mark.slow
def test_a_diverging_run_ends_the_same_way_on_both_trainers():
    """One divergence rule (`suite.training.results.finish_run`): a run whose training loss becomes
    non-finite fails, with the same error, whether it trained alone or as a member of a population (its
    fellow members go on, unharmed); a learning-rate tuning run that diverges is kept, flagged, with a
    validation score of +inf, so that its rate is never chosen."""
    run_python_ok(PRELUDE + (
        "from suite.training import Trainer\n"
        "task = Task(name='t/mlp', study='t', dataset='digits', arch='mlp')\n"
        "cases = [(0, 1e-3, 'eval'), (1, 1e30, 'eval'), (2, 1e30, 'tune')]  # a rate of 1e30 overflows\n"
        "def spec(seed, lr, kind, trainer):\n"
        "    return RunSpec(task, 60, seed, {'width': 16}, BUDGETS['smoke'], 'smoke', 'jax', trainer=trainer,\n"
        "                   learning_rate=lr, kind=kind)\n"
        "together = PopulationTrainer('CPU').run([spec(*case, 'population') for case in cases])\n"
        "fit = Trainer('CPU')\n"
        "alone = [fit.run_or_fail(spec(*case, 'fit')) for case in cases]\n"
        "for results in (together, alone):\n"
        "    fine, diverged, tuning = results\n"
        "    assert fine.ok and 'train/diverged' not in fine.metrics and fine.metrics['test/accuracy'] > 0\n"
        "    assert diverged.record.status == 'failed' and not diverged.metrics, diverged.record.error\n"
        "    assert diverged.record.error.startswith('FloatingPointError: loss became nan at check'), diverged.record.error\n"
        "    assert tuning.ok and tuning.metrics['train/diverged'] == 1.0 and tuning.metrics['val/best_loss'] == float('inf')\n"
        "    assert tuning.metrics['val/score'] == -float('inf')\n"
        "assert together[1].record.error == alone[1].record.error\n"
        "print('ok')\n"
    ))


@pytest.mark.slow
def test_a_second_population_of_equal_shapes_compiles_nothing():
    """Populations of one model group with the same number of members reuse the compiled programs:
    no XLA compilation at all for the second one (seen through jax's compile events), whether its
    members step vectorised (MLP) or in turn (CNN on a CPU)."""
    run_python_ok(PRELUDE + (
        "import jax.monitoring\n"
        "compiles = []\n"
        "jax.monitoring.register_event_duration_secs_listener(\n"
        "    lambda event, secs, **kw: compiles.append(event) if event.endswith('backend_compile_duration') else None)\n"
        "budget = Budget(max_steps=20, eval_every=10, patience=10, batch_size=16)\n"
        "for arch in ('mlp', 'cnn'):\n"
        "    task = Task(name='t/' + arch, study='t', dataset='digits', arch=arch)\n"
        "    trainer = PopulationTrainer('CPU')\n"
        "    trainer.run(specs(task, [(60, 0), (120, 1)], {'width': 4}, budget))\n"
        "    assert compiles, 'the first population compiles its programs'\n"
        "    compiles.clear()\n"
        "    trainer.run(specs(task, [(90, 2), (150, 3)], {'width': 4}, budget))\n"
        "    assert compiles == [], (arch, len(compiles))\n"
        "print('ok')\n"
    ))


@pytest.mark.slow
def test_the_cli_tunes_and_trains_populations_and_resumes_without_duplicates(tmp_path, run_main):
    """Learning rates tuned on validation (one population per task holds a round of the grid) on the natural
    variants; with two rates every choice starts at an edge, so the grid grows past it round by round; then
    the evaluation runs of every variant at the rate chosen on the natural one; a rerun reuses everything and
    chooses the same rates."""
    from suite.selection import BOUNDS, choose_rates, extension, tuning_frame

    out = tmp_path / "out"
    args = ("--backend", "jax", "--studies", "locality", "--archs", "mlp,cnn", "--profile", "smoke",
            "--learning-rates", "1e-3,1e-2", "--output", out, "--no-progress", "--workers", "1")
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not unmeasured_claims(out / "results.sqlite")
    with Reader(out / "results.sqlite") as db:
        runs, metrics = db.runs(), db.metrics()
    rows = list(runs[["arch", "trainer", "vectorize", "members", "status", "kind", "task", "seed", "n_train",
                      "learning_rate", "variant"]].itertuples(index=False, name=None))
    # convolutions step member by member on a CPU
    assert {(a, t, v) for a, t, v, *_ in rows} == {("mlp", "population", "vmap"), ("cnn", "population", "loop")}
    assert all(row[4] == "ok" for row in rows)
    evaluation = [r for r in rows if r[5] == "eval"]
    tune = tuning_frame(runs, metrics)
    first = tune[tune["extension"] == 0]
    assert {r[3] for r in evaluation} == {4}  # 2 sizes x 2 seeds of each task together
    assert set(first["members"]) == {4}  # the two rates x two seeds of a task together
    assert {r[10] for r in evaluation} == {"natural", "permuted"} and set(tune["variant"]) == {"natural"}
    assert set(first["learning_rate"]) == {1e-3, 1e-2}
    assert not set(tune["seed"]) & {r[7] for r in evaluation}  # seeds of their own
    assert set(tune["n_train"]) == {max(r[8] for r in evaluation)}  # the larger of the two sizes
    # every choice on the first round was at an edge: the grid grew, until the choice is interior or at a bound
    chosen = choose_rates(tune)
    assert len(chosen) == len({r[6] for r in evaluation}) // 2 and (tune["extension"] > 0).any()
    for task, rate in chosen.items():
        tried = sorted(tune.loc[tune["task"] == task, "learning_rate"].unique())
        assert len(tried) > 2
        assert tried[0] < rate < tried[-1] or extension(tried, rate)[1], (task, tried, rate)
        assert BOUNDS[0] <= min(tried) and max(tried) <= BOUNDS[1]
    # each variant's evaluation runs train at the rate chosen on its model's natural variant
    natural = {task.replace("/natural/", "/permuted/"): rate for task, rate in chosen.items()}
    assert {(r[6], r[9]) for r in evaluation} == set(chosen.items()) | set(natural.items())
    assert "extending the grid past an edge" in result.stderr
    again = run_cli(*args)
    planned = [line for line in again.stderr.splitlines() if " planned: " in line]  # tuning, runs, checks
    assert again.returncode == 0 and len(planned) > 2 and all(line.endswith(" 0 to run") for line in planned), \
        again.stderr[-2000:]
    assert stored_runs(out / "results.sqlite") == len(rows)
    # --plan: the evaluation runs and the first round of the grid, an estimate from the step times just
    # measured, nothing trained or written; on the backend this process has loaded: planning trains nothing
    code, printed, _ = run_main(*[a for a in args if a not in ("--backend", "jax")], "--plan")
    assert code == 0
    assert f"{len(evaluation) + len(first)} runs ({len(first)} of them tuning" in printed
    assert "first round" in printed and f"{len(chosen)} chosen for {len(chosen) * 2} tasks" in printed
    assert "estimated on CPU" in printed
    assert re.search(r"\((\d+) of \1 units from step times measured", printed), printed  # every model measured
    assert stored_runs(out / "results.sqlite") == len(rows)
    html = read_report(out / "index.html")
    # a verdict in every claim's row of the index (the report's CSS names every verdict, so the page's
    # text alone proves nothing)
    from suite.studies import REGISTRY, load_builtin_studies

    load_builtin_studies()
    verdicts = re.findall(r'<tr data-verdict="([\w ]+)" data-study="locality">', html)
    assert len(verdicts) == len(REGISTRY.study("locality").claims), verdicts
    from suite.claims import VERDICTS

    assert set(verdicts) <= {*VERDICTS, "no data"}, verdicts
    assert "Learning rates, chosen on the validation split" in html and "extended (" in html


def test_population_needs_jax(run_main, tmp_path):
    import keras

    if keras.backend.backend() == "jax":
        pytest.skip("this process has loaded Keras on jax; the check is for the other backends")
    code, _, err = run_main("--trainer", "population", "--backend", keras.backend.backend(), "--output", tmp_path)
    assert code == 2 and "--trainer population needs --backend jax" in err


def test_the_eta_weighs_each_unit_by_its_steps_and_its_group_s_measured_rate():
    from suite.store.schema import RunRecord, RunResult
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec
    from suite.training.estimate import Eta

    def unit(arch, members=1, trainer="fit"):
        task = Task(name=f"t/{arch}", study="t", dataset="digits", arch=arch)
        return tuple(RunSpec(task, 50, s, {"width": 4}, BUDGETS["quick"], "quick", "jax", trainer=trainer)
                     for s in range(members))

    def done(u, seconds):
        return [RunResult(RunRecord(run_key="k", study="t", task="t", arch="a", dataset="d", variant="v",
                                    matched=1, profile="quick", n_train=50, seed=0, status="ok",
                                    train_seconds=seconds / len(u))) for _ in u]

    slow, slow2, fast, population = unit("cnn"), unit("cnn"), unit("mlp"), unit("gru", 5, "population")
    eta = Eta([slow, slow2, fast, population])
    assert eta.seconds_left() is None  # nothing measured yet
    eta.finished(slow, done(slow, 8.0))
    eta.start -= 10.0  # 10 s have passed
    # three units left: two of 240 member-steps and the population's 5 x 240, all at the only rate
    # measured so far (a member costs its steps: on a CPU a population's convolutions step member by member)
    assert eta.seconds_left() == __import__("pytest").approx(10.0 * (1 + 1 + 5), rel=0.01)
    eta.finished(fast, done(fast, 0.8))  # the mlp is ten times quicker: its group's own rate counts now
    left = eta.seconds_left()
    assert left < 70.0 * 6 / 7 and left > 0
    # a group measured before (the database's runs, e.g. the tuning that precedes the evaluation runs)
    # takes its own earlier rate, not the average of the groups measured so far
    from suite.training.units import model_group

    informed = Eta([slow, population], prior={model_group(population[0]): 0.2 / BUDGETS["quick"].max_steps})
    informed.finished(slow, done(slow, 8.0))
    informed.start -= 10.0
    assert informed.seconds_left() == __import__("pytest").approx(10.0 * 5 * 0.2 / 8.0, rel=0.01)


@pytest.mark.slow
def test_a_kill_in_the_middle_of_a_population_loses_no_finished_run(tmp_path):
    """kill -9 while a population trains: the runs committed before stay, the rerun trains the rest,
    and no run is stored twice."""
    import os

    from test_cli import _kill_once_runs_are_in, planned_counts

    out = tmp_path / "out"
    # one worker; every unit is a population of 6 (2 sizes x 3 seeds; the CNN's members step in turn
    # on a CPU): the kill lands inside one
    args = ["--backend", "jax", "--studies", "locality", "--archs", "cnn,mlp", "--profile", "smoke", "--seeds", "3",
            "--workers", "1", "--output", str(out), "--no-progress", "--no-checks"]
    db = out / "results.sqlite"
    before = _kill_once_runs_are_in(args, db, 12)
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    planned, done, to_run = planned_counts(result.stderr)
    assert 12 <= len(before) < planned and len(before) % 6 == 0  # whole populations or none
    assert done == len(before) and to_run == planned - len(before)
    with Reader(db) as reader:
        runs, frame = reader.runs(), reader.results()
    ok = runs[runs["status"] == "ok"]
    after = dict(zip(ok["run_key"], ok["finished_at"]))
    assert len(after) == planned and all(after[k] == v for k, v in before.items())
    assert not frame.duplicated(["task", "n_train", "seed", "metric"]).any()
    # compiled programs kept for the rerun (beside the output, unless the tests' shared cache is set)
    cache = os.environ.get("JAX_COMPILATION_CACHE_DIR") or out / ".jax_cache"
    assert os.path.isdir(cache) and os.listdir(cache)


@pytest.mark.slow
def test_the_two_backends_and_paths_agree_within_seed_noise():
    """One task per family, smoke sizes: the population on JAX and one fit() per run on TensorFlow
    reach the same ballpark (not the same bits: other batch orders, other kernels)."""
    import json
    import subprocess
    import sys

    import numpy as np

    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("compares the jax population with the tensorflow per-run path")
    from suite.studies import Task
    from suite.training import Budget, RunSpec, Trainer

    budget = Budget(max_steps=120, eval_every=30, patience=3, batch_size=32)
    cases = {
        "classification": (dict(dataset="digits", arch="mlp"), "test/accuracy", 0.08),
        "regression": (dict(dataset="adding_T10", arch="gru", objective="regression", metric="test/loss"),
                       "test/skill", 0.35),
        "generate": (dict(dataset="digits", arch="dense_ae", objective="generate",
                          metric="train/final_loss"), "train/final_loss", 0.02),
    }
    code = PRELUDE + (
        "import json\n"
        "budget = Budget(max_steps=120, eval_every=30, patience=3, batch_size=32)\n"
        "out = {}\n"
        "for family, (fields, metric) in %r.items():\n"
        "    task = Task(name='t/' + family, study='t', **fields)\n"
        "    runs = PopulationTrainer('CPU').run(specs(task, [(300, 0), (300, 1), (300, 2)], {'width': 16}, budget))\n"
        "    out[family] = [r.metrics[metric] for r in runs]\n"
        "print(json.dumps(out))\n"
    ) % {family: (fields, metric) for family, (fields, metric, _) in cases.items()}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    on_jax = json.loads(result.stdout.strip().splitlines()[-1])
    trainer = Trainer("CPU")
    for family, (fields, metric, tolerance) in cases.items():
        task = Task(name="t/" + family, study="t", **fields)
        on_tf = [trainer.run(RunSpec(task, 300, seed, {"width": 16}, budget, "smoke", "tensorflow")).metrics[metric]
                 for seed in range(3)]
        assert abs(np.mean(on_jax[family]) - np.mean(on_tf)) <= tolerance, (family, on_jax[family], on_tf)


def test_auto_trains_populations_and_steps_what_convolves_in_turn_on_a_cpu():
    pytest.importorskip("keras")
    from suite.architectures import build_uninitialised
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec
    from suite.training.population import trainer_policy, vectorize_members

    def spec(arch, dataset, objective="classification", width=8):
        task = Task(name=f"t/{arch}/{dataset}", study="t", dataset=dataset, arch=arch, objective=objective)
        return RunSpec(task, 50, 0, {} if arch == "logreg" else {"width": width}, BUDGETS["smoke"], "smoke", "jax")

    auto = trainer_policy("auto", "jax")
    for arch, dataset, objective in [("mlp", "digits", "classification"), ("gru", "adding_T10", "regression"),
                                     ("gan", "ring8", "generate"), ("cnn", "digits", "classification")]:
        assert auto(spec(arch, dataset, objective)) == "population"
    assert auto(spec("lstm", "adding_T32", "step_time")) == "fit"  # its own step time is the measurement
    assert auto(spec("logreg", "digits")) == "fit"  # scikit-learn: its own path (recorded as sklearn)
    assert trainer_policy("fit", "jax")(spec("mlp", "digits")) == "fit"
    assert trainer_policy("auto", "tensorflow")(spec("mlp", "digits")) == "fit"
    assert trainer_policy("population", "jax")(spec("cnn", "digits")) == "population"

    def path(arch, shape, device, outputs=10):
        return vectorize_members(build_uninitialised(arch, shape, outputs, width=8), device)

    assert path("mlp", (8, 8, 1), "CPU") == path("gru", (10, 2), "CPU", 1) == path("gan", (2,), "CPU", 2) == "vmap"
    for arch in ("cnn", "vit", "gan", "tcn"):  # the DCGAN on images and the TCN convolve too
        shape = (16, 2) if arch == "tcn" else (8, 8, 1)
        assert path(arch, shape, "CPU (test)") == "loop", arch
        assert path(arch, shape, "GPU (test)") == "vmap", arch

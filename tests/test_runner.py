"""The runner in process: records, failures, re-initialisation, planning."""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from suite.architectures import ARCHITECTURES, Architecture, build_model
from suite.studies import PROFILES, StudyRegistry, Study, Task
from suite.training import BUDGETS, RunSpec, Trainer, plan_runs, run_plan
from suite.store.read import Reader
from suite.store.write import Writer


def _broken(input_shape, num_classes, width=4):
    raise ValueError("this builder is broken on purpose")


def _nan(input_shape, num_classes, width=4):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(num_classes)(x)
    x = keras.layers.Lambda(lambda t: keras.ops.log(-keras.ops.abs(t) - 1.0))(x)
    return keras.Model(inputs, x)


@pytest.fixture
def faulty_archs(monkeypatch):
    """Two architectures that fail, registered for one test only."""
    for name, build in (("test_broken", _broken), ("test_nan", _nan)):
        ARCHITECTURES.register(name, Architecture(name, build, name))
    yield
    for name in ("test_broken", "test_nan"):
        ARCHITECTURES.unregister(name)


def spec(arch, seed=0, n=40, hparams=None, name=None):
    task = Task(name=name or f"t/{arch}", study="t", dataset="digits", arch=arch)
    return RunSpec(task, n, seed, hparams or {"width": 8}, BUDGETS["smoke"], "smoke", "tensorflow")


@pytest.mark.slow
def test_failed_runs_are_recorded_and_the_suite_goes_on(tmp_path, faulty_archs):
    specs = [spec("test_broken"), spec("test_nan"), spec("mlp")]
    with Writer(tmp_path / "r.sqlite") as store:
        counts = run_plan(specs, store, progress=False, workers=1)
        rows = store.runs(columns=("task", "status", "error"))
    assert counts["ok"] == 1 and counts["failed"] == 2
    errors = dict(zip(rows["task"], rows["error"]))
    assert "this builder is broken on purpose" in errors["t/test_broken"]
    assert "loss became nan" in errors["t/test_nan"]
    assert rows.set_index("task").loc["t/mlp", "status"] == "ok"


def test_a_run_records_everything_the_issue_lists(tmp_path):
    trainer = Trainer("CPU (test)")
    result = trainer.run(spec("cnn"))
    row, metrics, history, series, arrays = result.record, result.metrics, result.history, result.series, result.arrays
    assert set(metrics) >= {"test/accuracy", "test/loss", "train/step_ms", "model/params"}
    assert 0.0 <= metrics["test/accuracy"] <= 1.0
    # how it ended: stopped on a plateau, or at the budget (still improving or not), never both
    assert {metrics["train/stopped_early"], metrics["train/still_improving"]} <= {0.0, 1.0}
    assert metrics["train/stopped_early"] + metrics["train/still_improving"] <= 1
    assert metrics["train/step_ms"] > 0 and series == {} and arrays == {}
    # the trivial predictor (the training set's commonest digit) and the skill over it
    assert 0.05 < metrics["test/baseline_accuracy"] < 0.2
    assert metrics["test/skill"] == pytest.approx(
        (metrics["test/accuracy"] - metrics["test/baseline_accuracy"]) / (1 - metrics["test/baseline_accuracy"]))
    assert row.params == build_model("cnn", (8, 8, 1), 10, width=8).count_params()
    assert row.epochs == len(history["loss"]) >= 1 and row.train_seconds > 0
    assert row.backend == "tensorflow" and row.device == "CPU (test)"
    assert (row.objective, row.metric, row.framework, row.length) == ("classification", "test/accuracy", "keras", 8)
    assert json.loads(row.hparams_json) == {"width": 8}
    versions = json.loads(row.versions_json)
    assert {"keras", "tensorflow", "numpy", "python"} <= set(versions)


@pytest.mark.slow
def test_reused_model_matches_a_fresh_one(tmp_path):
    """Re-initialising the cached compiled model gives a new model's result."""
    first = Trainer("cpu").run(spec("mlp", seed=1)).metrics
    trainer = Trainer("cpu")
    trainer.run(spec("mlp", seed=5))  # trains the cached model on another seed first
    reused = trainer.run(spec("mlp", seed=1)).metrics
    assert reused["test/accuracy"] == pytest.approx(first["test/accuracy"], abs=0.02)
    assert reused["test/loss"] == pytest.approx(first["test/loss"], rel=0.05)


def test_run_key_changes_with_what_determines_the_result():
    keys = {spec("mlp").key, spec("mlp", seed=1).key, spec("mlp", n=41).key,
            spec("mlp", hparams={"width": 9}).key, spec("cnn").key}
    assert len(keys) == 5
    assert spec("mlp").key == spec("mlp").key


def test_plan_expands_sizes_and_seeds_and_fits_widths():
    reg = StudyRegistry()
    reg.add_study(Study(name="p", question="q", claim="c", expected="e",
                        sizes={p: (30, "full", 10**6) for p in PROFILES}, seeds={p: 2 for p in PROFILES},
                        datasets={p: ("digits",) for p in PROFILES}, param_target=5000))
    reg.add_grid("p", datasets=("digits", "mnist5k"), variants={"natural": True}, archs=("mlp", "cnn"))
    plan = plan_runs(reg, reg.studies(), "smoke", "tensorflow")
    assert {r.task.dataset for r in plan.runs} == {"digits"}  # the profile's datasets only
    assert sorted({r.n_train for r in plan.runs}) == [30, 1258]  # "full" and oversize cap to the pool
    assert len(plan.runs) == 2 * 2 * 2
    widths = {r.task.arch: r.hparams["width"] for r in plan.runs}
    counts = [build_model(a, (8, 8, 1), 10, width=w).count_params() for a, w in widths.items()]
    assert max(counts) <= 2 * min(counts)


def _thread_counts():
    from threadpoolctl import threadpool_info

    return sorted({(pool["user_api"], pool["num_threads"]) for pool in threadpool_info()})


@pytest.mark.slow
def test_a_worker_process_runs_its_libraries_on_one_thread():
    """The workers, not the threads, share the machine: in a worker process OpenMP (scikit-learn's
    gradient boosting) and BLAS run one thread each, although importing the worker's own module
    loads them before its initialiser runs."""
    import concurrent.futures as cf
    import multiprocessing

    import keras

    from suite.training.local import start_worker

    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(1, mp_context=context, initializer=start_worker,
                                initargs=(keras.backend.backend(), "CPU", 1, None)) as pool:
        counts = pool.submit(_thread_counts).result(timeout=300)
    assert any(api == "openmp" for api, _ in counts), counts  # scikit-learn's OpenMP is loaded there
    assert all(threads == 1 for _, threads in counts), counts


def test_runs_of_another_version_are_superseded_by_the_plan_and_revived_when_planned_again(tmp_path):
    """After an upgrade changes run keys, the report shows the planned runs only, never old and new mixed."""
    from types import SimpleNamespace

    from suite.report import write_report
    from suite.training.plan import supersede
    from conftest import read_report
    from test_report import fill, study

    s = study("s")
    task = Task(name="s/a", study="s", dataset="digits", arch="mlp")
    spec = lambda key: SimpleNamespace(key=key, task=task, profile="smoke", n_train=50, seed=0)  # noqa: E731

    def statuses(store):
        runs = store.runs(columns=("run_key", "status"))
        return dict(zip(runs["run_key"], runs["status"]))

    with Writer(tmp_path / "r.sqlite") as store:
        fill(store, [task], s, sizes=(50,), seeds=(0, 1))  # keys "s/a-50-0" and "s/a-50-1"
        old = "s/a-50-0"
        assert supersede(store, [spec("new key")]) == 1  # same task, size and seed, another key
        assert statuses(store) == {old: "superseded", "s/a-50-1": "ok"}  # seed 1 is not planned anew: kept
        assert old not in store.finished_keys()
        html = read_report(write_report(store, tmp_path / "index.html"))
        assert "1 successful runs" in html
        assert supersede(store, [spec(old)]) == 0  # planned again (say, back on the old backend): reused
        assert statuses(store)[old] == "ok"
        # a task the code no longer registers (renamed, or now another study's runs): its runs leave the
        # report of its study; the registered task's stay
        gone = Task(name="s/b", study="s", dataset="digits", arch="cnn")
        fill(store, [gone], s, sizes=(50,), seeds=(0,))
        assert supersede(store, [spec(old)], {"s": ["s/a"]}) == 1
        assert statuses(store) == {old: "ok", "s/a-50-1": "ok", "s/b-50-0": "superseded"}
    with Reader(tmp_path / "r.sqlite") as store:  # committed: another connection reads the same
        assert statuses(store) == {old: "ok", "s/a-50-1": "ok", "s/b-50-0": "superseded"}


def test_a_deadline_stops_the_units_and_an_order_hands_them_out_in_turn():
    """`Execution.deadline`: past it, no unit starts; `ordered`: the first group in the units' order goes
    first, not the largest."""
    from suite.training.local import GroupQueue, results_in_process
    from suite.training.units import Execution

    assert list(results_in_process([("never",)], Execution("jax", "CPU", deadline=0.0))) == []
    assert not Execution("jax", "CPU").past_deadline()

    class Spec:
        def __init__(self, arch):
            self.task, self.hparams = type("T", (), {"dataset": "digits", "arch": arch})(), {}

    small, large = (Spec("mlp"),), [(Spec("cnn"),), (Spec("cnn"),)]
    assert GroupQueue([small, *large], ordered=True).take(None, set())[1] is small
    assert GroupQueue([small, *large]).take(None, set())[1] is large[0]

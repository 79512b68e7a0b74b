"""The command line, end to end, in subprocesses (smoke profile, tiny sizes)."""

import importlib.util
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import read_report, ROOT
from suite import UsageError
from suite.data import DATASETS
from suite.store.read import Reader
from suite.studies import REGISTRY, load_builtin_studies

load_builtin_studies()  # the valid names the errors must list, from the registries themselves


@pytest.mark.parametrize("args, message", [
    (["--studies", "nope"], "unknown study 'nope'; valid studies: " + ", ".join(s.name for s in REGISTRY.studies())),
    (["--profile", "fast"], "unknown profile 'fast'; valid profiles: full, quick, smoke"),
    (["--archs", "rnn2"], "unknown arch 'rnn2'; valid archs: " + ", ".join(sorted({t.arch for t in REGISTRY.tasks()}))),
    (["--datasets", "imagenet"], "unknown dataset 'imagenet'; valid datasets: " + ", ".join(DATASETS.names())),
    (["--backend", "theano"], "unknown backend 'theano'; valid backends: jax, tensorflow, torch"),
    (["--sizes", "10,abc"], "bad size 'abc' in --sizes; valid: positive integers or 'full'"),
    (["--seeds", "x"], "bad --seeds 'x'"),
    (["--seeds", "1,1"], "bad --seeds '1,1'; seed 1 is listed twice"),
    (["--export", "out.xlsx"], "bad --export 'out.xlsx': valid formats are .csv, .parquet"),
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--tasks-module", "/no/such/file.py"], "--tasks-module '/no/such/file.py' is not a file"),
    (["--learning-rates", "1e-3,fast"], "bad learning rate 'fast' in --learning-rates; valid: numbers between 0 and 1"),
    (["--learning-rates", "2"], "bad learning rate '2' in --learning-rates"),
    (["--time-budget", "5s"], "bad --time-budget '5s'; valid: a duration of at least a minute, e.g. 15m"),
    (["--time-budget", "soon"], "bad --time-budget 'soon'"),
    (["--executor", "spark"], "unknown executor 'spark'; valid executors: local, ray"),
    (["--address", "auto"], "--address needs --executor ray (the executor is 'local')"),
    *([(["--executor", "ray", "--address", "127.0.0.1:9"], "cannot reach the Ray cluster at '127.0.0.1:9'"),
       (["--executor", "ray", "--address", "nowhere"], "bad --address 'nowhere'; valid: auto, or host:port"),
       (["--executor", "ray", "--gpus-per-task", "-1"], "bad --gpus-per-task -1; valid: 0 to 8")]
      if importlib.util.find_spec("ray") else []),
])
def test_bad_usage_is_one_line_and_exit_code_2(args, message, tmp_path, run_main):
    """In this process, through the command line's own entry point (the next test checks the real
    process's exit code)."""
    code, _, err = run_main(*args, "--output", tmp_path)
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert message in lines[0]


def test_bad_usage_exits_the_process_with_code_2(cli, tmp_path):
    for args in (["--studies", "nope"], ["--bogus"]):
        result = cli(*args, "--output", tmp_path)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_report_only_without_database_is_usage_error(run_main, tmp_path):
    code, _, err = run_main("--report-only", "--output", tmp_path / "none")
    assert code == 2 and "no results database" in err
    assert not (tmp_path / "none").exists()  # reading creates nothing


def test_help_explains_itself(run_main):
    code, out, _ = run_main("--help")
    assert code == 0
    for option in ("--list", "--studies", "--archs", "--sizes", "--seeds", "--profile", "--output",
                   "--report-only", "--fresh", "--backend", "--data-dir", "--tasks-module"):
        assert option in out
    assert "resume" in out


def test_list_shows_studies_and_tasks(run_main, tmp_path):
    code, out, _ = run_main("--list", "--output", tmp_path)
    assert code == 0
    assert "locality/digits/permuted/cnn" in out and "mismatched" in out


USER_MODULE = '''
from suite.claims import Claim
from suite.studies import Study, Task, register_study, register_task

register_study(Study(
    name="mine", question="Does my MLP learn digits?", claim="A user's own claim.",
    expected="wide beats narrow",
    claims=(Claim(text="The wide MLP beats the narrow one.",
                  a={"task": "mine/wide"}, b={"task": "mine/narrow"}),),
    sizes={"smoke": (40,), "quick": (40,), "full": (40,)},
    seeds={"smoke": 2, "quick": 2, "full": 2},
    datasets={"smoke": ("digits",), "quick": ("digits",), "full": ("digits",)},
))
import keras
from suite.architectures import register_architecture

# an architecture is registered before a task names it (names are checked on registration)
@register_architecture("user_linear", "a linear model the user defines in the module")
def build_linear(input_shape, num_classes, width=1):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(keras.layers.Flatten()(inputs)))

register_task(Task(name="mine/wide", study="mine", dataset="digits", arch="mlp", hparams={"width": 32}))
register_task(Task(name="mine/narrow", study="mine", dataset="digits", arch="user_linear"))
register_task(Task(name="mine/skipped", study="mine", dataset="digits", arch="cnn",
                   skip="kept out on purpose"))
'''


def test_task_module_outside_the_repo_runs_end_to_end(cli, tmp_path):
    module = tmp_path / "elsewhere" / "my_study.py"
    module.parent.mkdir()
    module.write_text(USER_MODULE)
    out = tmp_path / "out"
    result = cli("--tasks-module", module, "--studies", "mine", "--profile", "smoke",
                 "--output", out, "--no-progress", "--no-checks", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "report:" in result.stdout
    with Reader(out / "results.sqlite") as db:
        results, skipped = db.results(), db.skipped()
    frame = results[results["metric"] == "test/accuracy"]
    assert sorted(frame["task"].unique()) == ["mine/narrow", "mine/wide"]
    assert len(frame) == 4 and (frame["status"] == "ok").all()  # the user's arch ran too
    assert set(frame["seed"]) == {0, 1} and set(frame["n_train"]) == {40}
    assert skipped.to_dict("records")[0]["reason"] == "kept out on purpose"
    html = read_report(out / "index.html")
    assert "The wide MLP beats the narrow one." in html and "kept out on purpose" in html

    # the tidy results beside the report: the results view, row for row
    assert len(pd.read_csv(out / "results.csv")) == len(results)

    (out / "index.html").unlink()
    export = tmp_path / ("tidy.parquet" if importlib.util.find_spec("pyarrow") else "tidy.csv")
    rebuilt = cli("--tasks-module", module, "--report-only", "--output", out, "--export", export, cwd=tmp_path)
    assert rebuilt.returncode == 0 and (out / "index.html").exists(), rebuilt.stderr
    tidy = pd.read_parquet(export) if export.suffix == ".parquet" else pd.read_csv(export)
    assert set(tidy["task"]) == {"mine/narrow", "mine/wide"} and "value" in tidy.columns
    assert "The wide MLP beats the narrow one." in read_report(out / "index.html")

    fresh = cli("--tasks-module", module, "--studies", "mine", "--profile", "smoke", "--fresh",
                "--output", out, "--no-progress", "--workers", "1", "--no-checks", cwd=tmp_path)
    assert fresh.returncode == 0 and "0 already done, 4 to run" in fresh.stderr, fresh.stderr
    with Reader(out / "results.sqlite") as db:
        assert len(db.runs()) == 4  # replaced, not added


def test_missing_tfds_data_is_one_line_and_the_rest_runs(cli, tmp_path):
    out = tmp_path / "out"
    result = cli("--studies", "locality", "--datasets", "digits,tfds_mnist", "--archs", "mlp",
                 "--sizes", "40", "--seeds", "1", "--profile", "smoke", "--data-dir", tmp_path / "empty",
                 "--output", out, "--no-progress", "--workers", "1", "--no-checks")
    assert result.returncode == 0, result.stderr
    notes = [l for l in result.stderr.splitlines() if "tfds_mnist" in l]
    assert len(notes) == 1 and "--data-dir" in notes[0] and "Traceback" not in result.stderr
    with Reader(out / "results.sqlite") as db:
        assert len(db.finished_keys()) == 2
        assert (db.skipped()["dataset"] == "tfds_mnist").sum() == 2


def _count_ok(db):
    try:
        with Reader(db) as reader:
            return len(reader.finished_keys())
    except UsageError:  # no database yet, or its schema not yet
        return 0


def _finished_at(db) -> dict:
    """run key -> when it finished, of the successful runs."""
    with Reader(db) as reader:
        runs = reader.runs(columns=("run_key", "status", "finished_at"))
    ok = runs[runs["status"] == "ok"]
    return dict(zip(ok["run_key"], ok["finished_at"]))


def _start_and_wait_for(args, db, runs):
    """Starts the suite in its own process group; returns once `runs` are saved."""
    # SIGINT as in a terminal: a shell's background job (e.g. a CI script run
    # with `&`) inherits SIGINT ignored, and Python then never sees Ctrl-C
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_suite.py"), *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while _count_ok(db) < runs and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    return proc


def _assert_group_ends(pgid, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(pgid, signal.SIGKILL)
    raise AssertionError("processes of the suite outlived it")


@pytest.mark.slow
def test_ctrl_c_stops_at_once_and_keeps_finished_runs(tmp_path):
    out = tmp_path / "out"
    # 40 runs, half of them ViTs (about a second each): the signal lands mid-way
    # even on a fast machine (12 MLP runs alone once finished before it arrived)
    args = ["--studies", "locality", "--archs", "mlp,vit", "--profile", "smoke", "--seeds", "5",
            "--output", str(out), "--no-progress"]
    proc = _start_and_wait_for(args, out / "results.sqlite", 2)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    signalled = time.time()
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-2000:]
    # at once: the runs in flight are abandoned, not waited for (they once
    # were, for up to a run's length: 8-17 s with ViT runs in flight)
    assert time.time() - signalled < 8
    assert "interrupted" in stderr and "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    _assert_group_ends(proc.pid)
    assert _count_ok(out / "results.sqlite") >= 2


def _kill_once_runs_are_in(args, db, runs: int) -> dict:
    """Starts the suite, kill -9s it once `runs` runs are committed; the finished runs (key -> time)."""
    proc = _start_and_wait_for(args, db, runs)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    _assert_group_ends(proc.pid)  # worker processes do not outlive the suite
    return _finished_at(db)


def planned_counts(stderr: str) -> tuple[int, int, int]:
    """(planned, already done, to run) from the command line's "N runs planned: ..." line."""
    import re

    found = re.search(r"(\d+) runs planned: (\d+) already done, (\d+) to run", stderr)
    assert found, stderr[-2000:]
    return tuple(int(g) for g in found.groups())


def test_resume_after_sigkill_loses_nothing_and_duplicates_nothing(cli, tmp_path):
    out = tmp_path / "out"
    # one run at a time (tensorflow), so a kill lands between runs; a kill in the middle of a
    # population on jax: tests/test_population.py
    args = ["--studies", "locality", "--archs", "mlp", "--profile", "smoke", "--seeds", "3",
            "--backend", "tensorflow", "--output", str(out), "--no-progress", "--no-checks"]
    db = out / "results.sqlite"
    before = _kill_once_runs_are_in(args, db, 3)

    result = cli(*args)
    assert result.returncode == 0, result.stderr
    planned, done, to_run = planned_counts(result.stderr)
    assert 3 <= len(before) < planned and done == len(before) and to_run == planned - len(before)
    after = _finished_at(db)
    assert len(after) == planned
    assert all(after[k] == v for k, v in before.items())  # finished runs kept, not redone
    with Reader(db) as reader:
        frame = reader.results()
    assert not frame.duplicated(["task", "n_train", "seed", "metric"]).any()


CRASHING_MODULE = USER_MODULE + """
import os

@register_architecture("user_crash", "kills its own process, as the OOM killer would")
def build_crash(input_shape, num_classes, width=1):
    os._exit(3)

register_task(Task(name="mine/crash", study="mine", dataset="digits", arch="user_crash",
                   hparams={"width": 1}))
"""


def test_a_worker_that_dies_fails_its_run_and_the_rest_goes_on(cli, tmp_path):
    module = tmp_path / "crashing_study.py"
    module.write_text(CRASHING_MODULE)
    out = tmp_path / "out"
    # --all-tasks: no claim reads the crashing task, which would otherwise not be planned (suite.reads)
    result = cli("--tasks-module", module, "--studies", "mine", "--profile", "smoke", "--all-tasks",
                 "--workers", "2", "--output", out, "--no-progress", "--no-checks", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with Reader(out / "results.sqlite") as db:
        rows = list(db.runs(columns=("task", "status", "error")).itertuples(index=False, name=None))
    by_task = {}
    for task, status, error in rows:
        by_task.setdefault(task, set()).add((status, error if isinstance(error, str) else None))  # NULL: NaN
    assert {s for s, _ in by_task["mine/crash"]} == {"failed"}
    assert all("worker process died" in e for _, e in by_task["mine/crash"])
    assert by_task["mine/wide"] == {("ok", None)} and by_task["mine/narrow"] == {("ok", None)}
    assert len(rows) == 6


@pytest.mark.slow
def test_a_time_budget_ends_on_time_with_a_report_that_says_what_is_missing(run_main, tmp_path, monkeypatch):
    """A budget too short for the plan: training stops at the deadline, the report is written and marks the
    verdicts a longer run completes; the same command without the budget goes on from the stored runs."""
    import suite.cli

    # the deadline 1 s after the start, before planning ends: whatever the backend's speed, the plan cannot
    # finish (a unit started before a deadline runs on: tests/test_runner.py checks the executors' side)
    monkeypatch.setattr(suite.cli, "report_reserve", lambda budget: budget - 1)
    # two small models of one study: the rerun that completes the plan stays short
    args = ["--studies", "locality", "--archs", "mlp,logreg", "--profile", "smoke", "--output", tmp_path,
            "--no-progress", "--workers", "1", "--no-checks"]
    started = time.time()
    code, _, err = run_main(*args, "--time-budget", "1m")
    assert code == 0, err
    assert time.time() - started < 60, "the budget was a minute"
    assert "planned runs not trained" in err
    with Reader(tmp_path / "results.sqlite") as reader:
        stored = len(reader.runs())  # what the deadline let finish (none, on a slow machine's planning)
    html = read_report(tmp_path / "index.html")
    assert "A first look within a time budget" in html and "--time-budget 1m" in html
    code, _, err = run_main(*args)
    assert code == 0, err
    assert f": {stored} already done" in err  # the runs the first look stored are kept, the rest train now
    assert "A first look within a time budget" not in read_report(tmp_path / "index.html")

"""Shared fixtures. Tests run offline on a CPU, on the smoke profile.

Two tiers: `python -m pytest -m "not slow"` for the edit-test loop (every
architecture builds and takes a step, the statistics, the report on
synthetic databases; about two minutes), `python -m pytest` for everything.
A test that uses the `smoke_run` or `cli` fixture is marked slow here; other
slow tests (a fresh interpreter that trains, a run through the trainer,
Ray) say so with `@pytest.mark.slow`.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One JAX compilation cache for the whole session: the command-line runs of different tests compile the
# same small models (the command line keeps its cache beside each output folder otherwise); a warm cache
# halves a smoke run. Compiled programs are the same programs, so no result changes.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="suite-jax-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


def run_cli(*args, cwd=ROOT, timeout=600, **kwargs):
    """Runs `python run_suite.py ARGS` in a subprocess; returns CompletedProcess."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "run_suite.py"), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, **kwargs,
    )


def read_report(index) -> str:
    """The report's index and every study page beside it, as one text (what `--single-page` holds)."""
    index = Path(index)
    pages = sorted(p for p in index.parent.glob("*.html") if p != index)
    return "\n".join(p.read_text() for p in [index, *pages])


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def run_main(monkeypatch, capsys):
    """`run_suite.py ARGS` in this process, through the command line's own entry point: `run(*args)` returns
    (exit code, stdout, stderr). For what needs no training: a fresh interpreter per case would spend its
    time importing Keras (`cli` runs the real process)."""
    import keras

    from suite.cli import main

    # main sets these in the environment: undone after the test, so later tests' subprocesses do not
    # inherit them (setenv records the value or its absence; delenv of an absent name records nothing)
    for name in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "TF_CPP_MIN_LOG_LEVEL",
                 "XLA_PYTHON_CLIENT_PREALLOCATE"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("KERAS_BACKEND", keras.backend.backend())  # the backend this process has loaded

    def run(*args):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exit:  # argparse's own errors and --help
            code = exit.code
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


SLOW_FIXTURES = ("cli", "smoke_run")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    """Whatever trains through the command line is slow. The tests that read the shared smoke run go to
    one test process (pytest.ini runs two: `--dist loadgroup`), so it is trained once while the other
    process takes everything else."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if set(SLOW_FIXTURES) & fixtures:
            item.add_marker(pytest.mark.slow)
        if "smoke_run" in fixtures:
            item.add_marker(pytest.mark.xdist_group("smoke_run"))


class SmokeRun:
    """The smoke run of every registered study: its output folder, database, report and console output."""

    def __init__(self, output: Path, result):
        self.output = output
        self.db = output / "results.sqlite"
        self.index = output / "index.html"
        self.result = result
        self._html = None

    @property
    def html(self) -> str:
        """The index and every study page, as one text (`read_report`)."""
        if self._html is None:
            self._html = read_report(self.index)
        return self._html

    def query(self, sql: str, params=()) -> list:
        import sqlite3

        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> SmokeRun:
    """Every registered study on the smoke profile, trained once for the whole test run: the study
    tests, the unmeasured-claim detector, the report's and the browser's tests read its database and
    report instead of training their own."""
    output = tmp_path_factory.mktemp("smoke")
    result = run_cli("--profile", "smoke", "--output", output, "--no-progress", "--workers", "2",
                     timeout=1800)  # two spawned workers, as on a 2-core machine
    assert result.returncode == 0, result.stderr[-3000:]
    return SmokeRun(output, result)


def unmeasured_claims(db_path) -> list[str]:
    """The claims of a results database that measure nothing: two conditions that differ by the same
    nonzero amount on every seed (fixed by construction), or two conditions that read the same runs (for
    some value of `each`). Controls are exempt: they check the machinery by construction."""
    import json

    from suite.claims import Claim, evaluate_claim
    from suite.conditions import compared_pairs, selects
    from suite.report.frames import load_results, study_runs
    from suite.store.read import Reader

    with Reader(db_path) as store:
        data = load_results(store)
    problems = []
    for _, study in data["studies"].iterrows():
        tidy = study_runs(data, study)
        for claim in (Claim.from_json(json.dumps(c)) for c in json.loads(study["claims_json"])):
            if claim.control:
                continue
            for result in evaluate_claim(claim, tidy):
                # the same nonzero difference on every seed: fixed by construction; a zero one is two conditions
                # stuck at the same floor or ceiling (smoke-sized training: no GAN, VAE or diffusion model
                # covers a mode in 24 steps), or the same runs, which the check below finds
                if result.note.startswith("the same difference") and result.estimate:
                    problems.append(f"{study['name']}: {claim.text} ({result.dataset}): {result.note}")
            if not claim.b or claim.change:
                continue
            rows = tidy if claim.datasets is None else tidy[tidy["dataset"].isin(claim.datasets)]
            for a, b in compared_pairs(claim.a, claim.b, claim.each):
                shared = set(rows.loc[selects(rows, a), "run_key"]) & set(rows.loc[selects(rows, b), "run_key"])
                if shared:
                    problems.append(f"{study['name']}: {claim.text}: a and b share {len(shared)} runs")
    return problems

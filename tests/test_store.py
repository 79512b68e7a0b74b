"""The results database: reading never creates or changes a file, old databases read and migrate alike.

Two fixtures below write SQL of their own: a database of another program and
one made by an older version of the suite; neither can be made through
today's `Writer`.
"""

import json
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT
from suite import UsageError
from suite.store.read import Reader
from suite.store.schema import RUN_COLUMNS, RunRecord, RunResult
from suite.store.write import Writer


def files_under(folder) -> dict:
    """Every path under `folder` with its bytes (None for a folder)."""
    return {p.relative_to(folder): None if p.is_dir() else p.read_bytes() for p in sorted(folder.rglob("*"))}


def another_program_s_database(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    con.commit()
    con.close()


NOT_A_RESULTS_DATABASE = {
    "missing": lambda path: None,
    "a folder": lambda path: path.mkdir(),
    "text": lambda path: path.write_text("these are not the runs you are looking for\n" * 50),
    "empty": lambda path: path.touch(),
    "another program's SQLite": another_program_s_database,
}


@pytest.mark.parametrize("case", NOT_A_RESULTS_DATABASE)
def test_reading_what_is_not_a_results_database_is_one_line_and_creates_nothing(tmp_path, case):
    path = tmp_path / "results.sqlite"
    NOT_A_RESULTS_DATABASE[case](path)
    before = files_under(tmp_path)
    with pytest.raises(UsageError) as error:
        Reader(path)
    message = str(error.value)
    assert "\n" not in message and repr(str(path)) in message, message
    assert files_under(tmp_path) == before


def record(key, **columns):
    row = dict(run_key=key, study="s", task="s/a", arch="mlp", dataset="digits", variant="natural", matched=1,
               profile="smoke", n_train=50, seed=0, status="ok")
    return RunResult(RunRecord(**{**row, **columns}), {"test/accuracy": 0.5})


def test_a_reader_sees_each_committed_run_and_cannot_write(tmp_path):
    path = tmp_path / "results.sqlite"
    with Writer(path) as writer:
        writer.record_run(record("a"))
        assert path.read_bytes()[18:20] == b"\x02\x02"  # WAL (the file header's versions): readers never wait
        with Reader(path) as reader:
            assert reader.finished_keys() == {"a"}
            writer.record_run(record("b", seed=1))
            assert reader.finished_keys() == {"a", "b"}
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                reader.con.execute("DELETE FROM runs")


def old_database(path):
    """A database as the first release wrote it: fewer columns in two tables, no other table but these."""
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE studies (name TEXT PRIMARY KEY, question TEXT, claim TEXT, expected TEXT,
                              claims_json TEXT, profile TEXT, budget_json TEXT, updated_at REAL);
        CREATE TABLE runs (run_key TEXT PRIMARY KEY, study TEXT, task TEXT, arch TEXT, dataset TEXT,
            variant TEXT, matched INTEGER, bias TEXT, profile TEXT, n_train INTEGER, seed INTEGER,
            status TEXT, error TEXT, epochs INTEGER, steps INTEGER, train_seconds REAL, params INTEGER,
            backend TEXT, device TEXT, versions_json TEXT, config_json TEXT, finished_at REAL);
        CREATE TABLE metrics (run_key TEXT, metric TEXT, value REAL, PRIMARY KEY (run_key, metric));
        INSERT INTO studies (name, profile) VALUES ('locality', 'smoke');
    """)
    config = {"metric": "test/loss", "objective": "regression", "input_shape": [12, 3], "hparams": {"width": 4}}
    con.execute("INSERT INTO runs (run_key, study, status, profile, config_json) VALUES ('k', 'locality', 'ok', "
                "'smoke', ?)", (json.dumps(config),))
    con.execute("INSERT INTO metrics VALUES ('k', 'test/loss', 0.25)")
    con.commit()
    con.close()


def everything(path) -> dict:
    with Reader(path) as reader:
        return {"studies": reader.studies(), "runs": reader.runs(), "metrics": reader.metrics(),
                "results": reader.results(), "history": reader.history(), "arrays": reader.arrays(),
                "series": reader.series(), "skipped": reader.skipped(), "sessions": reader.sessions()}


def test_an_old_database_reads_with_today_s_columns_unchanged_and_migrates_to_what_was_read(tmp_path):
    path = tmp_path / "old.sqlite"
    old_database(path)
    stored = path.read_bytes()
    read = everything(path)
    assert path.read_bytes() == stored and sorted(p.name for p in tmp_path.iterdir()) == ["old.sqlite"]
    runs = read["runs"]
    assert set(RUN_COLUMNS) <= set(runs) and runs.loc[0, "run_key"] == "k"
    # what a migration fills from the stored configuration, the reader reads from it too
    assert runs.loc[0, ["metric", "objective", "length"]].tolist() == ["test/loss", "regression", 12]
    assert json.loads(runs.loc[0, "hparams_json"]) == {"width": 4} and runs.loc[0, "setting"] is None
    assert read["results"][["run_key", "metric", "value", "kind"]].values.tolist() == [["k", "test/loss", 0.25,
                                                                                        "eval"]]
    assert {"figures_json", "references_json", "borrows_json"} <= set(read["studies"])
    assert read["arrays"].empty and list(read["arrays"]) == ["run_key", "name", "npy"]  # a table it lacks

    with Writer(path):  # opened for writing: migrated in place, every row kept
        pass
    migrated = everything(path)
    for name, frame in read.items():
        columns = sorted(frame.columns)
        pd.testing.assert_frame_equal(migrated[name][columns], frame[columns], check_dtype=False, obj=name)


def test_findings_prints_help_and_refuses_a_missing_file_creating_nothing(tmp_path):
    script = [sys.executable, str(ROOT / "docs" / "findings.py")]
    shown = subprocess.run([*script, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and shown.stdout.startswith("usage:"), shown.stderr
    missing = subprocess.run([*script, "nothing.sqlite"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and missing.stdout == "", missing.stderr
    assert len(missing.stderr.splitlines()) == 1 and "'nothing.sqlite'" in missing.stderr
    assert list(tmp_path.iterdir()) == []

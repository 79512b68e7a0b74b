"""Results database: SQLite (standard library), WAL mode.

Each run is committed in one transaction as soon as it finishes, so an
interrupted suite (Ctrl-C or kill -9) loses at most the run in flight. The
run key (a hash of everything that determines a result) lets a rerun skip
finished runs. The `results` view is tidy: one row per run and metric.
"""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY, question TEXT, claim TEXT, expected TEXT,
    claims_json TEXT, profile TEXT, budget_json TEXT, updated_at REAL,
    figures_json TEXT, references_json TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    run_key TEXT PRIMARY KEY,
    study TEXT, task TEXT, arch TEXT, setting TEXT, dataset TEXT, variant TEXT,
    matched INTEGER, bias TEXT, profile TEXT,
    n_train INTEGER, seed INTEGER,
    status TEXT, error TEXT,
    epochs INTEGER, steps INTEGER, train_seconds REAL, params INTEGER,
    backend TEXT, device TEXT, versions_json TEXT, config_json TEXT,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS metrics (
    run_key TEXT REFERENCES runs(run_key) ON DELETE CASCADE,
    metric TEXT, value REAL,
    PRIMARY KEY (run_key, metric)
);
CREATE TABLE IF NOT EXISTS history (
    run_key TEXT REFERENCES runs(run_key) ON DELETE CASCADE,
    epoch INTEGER, metric TEXT, value REAL,
    PRIMARY KEY (run_key, epoch, metric)
);
-- per-run measurements along an axis (e.g. a gradient norm per time step)
CREATE TABLE IF NOT EXISTS series (
    run_key TEXT REFERENCES runs(run_key) ON DELETE CASCADE,
    name TEXT, x REAL, value REAL,
    PRIMARY KEY (run_key, name, x)
);
-- per-run small arrays (filters, image patches), each an .npy file's bytes
CREATE TABLE IF NOT EXISTS arrays (
    run_key TEXT REFERENCES runs(run_key) ON DELETE CASCADE,
    name TEXT, npy BLOB,
    PRIMARY KEY (run_key, name)
);
CREATE TABLE IF NOT EXISTS skipped (
    study TEXT, task TEXT, arch TEXT, dataset TEXT, variant TEXT, reason TEXT,
    PRIMARY KEY (study, task)
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, argv TEXT, started_at REAL,
    finished_at REAL, runs_done INTEGER, wall_seconds REAL
);
DROP VIEW IF EXISTS results;
CREATE VIEW results AS
SELECT r.study, r.task, r.arch, r.setting, r.dataset, r.variant, r.matched, r.n_train, r.seed,
       m.metric, m.value, r.status, r.train_seconds, r.params, r.epochs, r.steps,
       r.profile, r.backend, r.device, r.error, r.run_key
FROM runs r LEFT JOIN metrics m ON m.run_key = r.run_key;
"""


def to_npy(array) -> bytes:
    """An array as the bytes of an .npy file (shape and dtype included; no pickle)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def from_npy(blob: bytes) -> np.ndarray:
    return np.load(io.BytesIO(blob), allow_pickle=False)


class Store:
    """The results database at `path` (created with its schema if new)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(str(self.path), timeout=30)
        self.con.execute("PRAGMA journal_mode=WAL")
        self.con.execute("PRAGMA foreign_keys=ON")
        self._add_missing_columns()
        self.con.executescript(SCHEMA)
        self.con.commit()

    # columns added since the first release: a database made before gets them
    _ADDED = {"runs": ("setting TEXT",), "studies": ("figures_json TEXT", "references_json TEXT")}

    def _add_missing_columns(self):
        for table, columns in self._ADDED.items():
            have = {row[1] for row in self.con.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                if have and column.split()[0] not in have:
                    self.con.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

    def close(self):
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def finished_keys(self) -> set[str]:
        """Keys of runs that finished successfully (failed runs are retried)."""
        return {k for (k,) in self.con.execute("SELECT run_key FROM runs WHERE status = 'ok'")}

    def record_study(self, study, profile: str, budget: dict) -> None:
        with self.con:
            self.con.execute(
                "INSERT OR REPLACE INTO studies (name, question, claim, expected, claims_json, profile, "
                "budget_json, updated_at, figures_json, references_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (study.name, study.question, study.claim, study.expected,
                 json.dumps([json.loads(c.to_json()) for c in study.claims]),
                 profile, json.dumps(budget), time.time(),
                 json.dumps(list(study.figures)), json.dumps(list(study.references))),
            )

    def record_skip(self, task, reason: str) -> None:
        with self.con:
            self.con.execute(
                "INSERT OR REPLACE INTO skipped VALUES (?, ?, ?, ?, ?, ?)",
                (task.study, task.name, task.arch, task.dataset, task.variant, reason),
            )

    def clear_skip(self, task) -> None:
        with self.con:
            self.con.execute("DELETE FROM skipped WHERE study = ? AND task = ?", (task.study, task.name))

    def record_run(self, row: dict, metrics: dict, history: dict, series: dict | None = None,
                   arrays: dict | None = None) -> None:
        """Writes one finished run (ok or failed) with its metrics, history, series and arrays."""
        columns = [
            "run_key", "study", "task", "arch", "setting", "dataset", "variant", "matched", "bias",
            "profile", "n_train", "seed", "status", "error", "epochs", "steps",
            "train_seconds", "params", "backend", "device", "versions_json",
            "config_json", "finished_at",
        ]
        values = [row.get(c) for c in columns]
        with self.con:  # one transaction: the run is there whole or not at all
            self.con.execute("DELETE FROM runs WHERE run_key = ?", (row["run_key"],))
            self.con.execute(
                f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                values,
            )
            self.con.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?)",
                [(row["run_key"], k, float(v)) for k, v in metrics.items()],
            )
            self.con.executemany(
                "INSERT INTO history VALUES (?, ?, ?, ?)",
                [(row["run_key"], epoch, k, float(v))
                 for k, values in history.items() for epoch, v in enumerate(values)],
            )
            self.con.executemany(
                "INSERT INTO series VALUES (?, ?, ?, ?)",
                [(row["run_key"], name, float(x), float(v))
                 for name, points in (series or {}).items() for x, v in points],
            )
            self.con.executemany(
                "INSERT INTO arrays VALUES (?, ?, ?)",
                [(row["run_key"], name, to_npy(value)) for name, value in (arrays or {}).items()],
            )

    def start_session(self, argv: list[str]) -> int:
        with self.con:
            cur = self.con.execute(
                "INSERT INTO sessions (argv, started_at) VALUES (?, ?)", (json.dumps(argv), time.time())
            )
        return cur.lastrowid

    def finish_session(self, session_id: int, runs_done: int) -> None:
        with self.con:
            self.con.execute(
                "UPDATE sessions SET finished_at = ?, runs_done = ?, wall_seconds = ? - started_at WHERE id = ?",
                (time.time(), runs_done, time.time(), session_id),
            )

    def read_arrays(self, run_key: str) -> dict:
        """A run's arrays by name."""
        rows = self.con.execute("SELECT name, npy FROM arrays WHERE run_key = ?", (run_key,))
        return {name: from_npy(blob) for name, blob in rows}

    def read_frame(self, sql: str, params=()):
        import pandas as pd

        return pd.read_sql_query(sql, self.con, params=params)

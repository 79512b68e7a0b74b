"""Results database: SQLite (standard library), WAL mode.

Each run is committed in one transaction as soon as it finishes, so an
interrupted suite (Ctrl-C or kill -9) loses at most the run in flight. The
run key (a hash of everything that determines a result) lets a rerun skip
finished runs. The `results` view is tidy: one row per run and metric.

`RunRecord` is the one list of a run's columns: the `runs` table is made
from it, and a database made before a column existed gets it on opening.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sqlite3
import time
from pathlib import Path

import numpy as np

from suite import UsageError


@dataclasses.dataclass
class RunRecord:
    """One run's row in the `runs` table (metrics, history, series and arrays go beside it).

    `config_json` is the full resolved configuration (what the run key
    hashes, plus the input shape and framework): provenance. What the report
    reads is in columns of its own (`objective`, `metric`, `framework`,
    `length`, `hparams_json`), never dug out of the config.
    """

    run_key: str
    study: str
    task: str
    arch: str
    dataset: str
    variant: str
    matched: int
    profile: str
    n_train: int
    seed: int
    status: str  # "ok" or "failed"
    setting: str = ""
    bias: str = ""
    error: str | None = None
    epochs: int | None = None
    steps: int | None = None
    train_seconds: float | None = None
    params: int | None = None
    backend: str | None = None
    device: str | None = None
    versions_json: str | None = None
    config_json: str | None = None
    finished_at: float | None = None
    objective: str | None = None  # the task's objective (suite.training.objectives)
    metric: str | None = None  # the task's primary metric, e.g. "test/accuracy"
    framework: str | None = None  # "keras" or "sklearn"
    length: int | None = None  # the input's first dimension (time steps of a sequence)
    hparams_json: str | None = None  # the builder's arguments, a JSON object
    trainer: str | None = None  # what trained it: "fit" (one run), "population" (with others), "sklearn"
    members: int | None = None  # runs trained together with it, itself included (population)
    # how a population's members stepped: "vmap" (one vectorised program) or "loop" (one compiled
    # step applied to each member in turn: convolutions on a CPU, see suite/training/population.py)
    vectorize: str | None = None
    learning_rate: float | None = None  # what it trained with (tuned, else the task's or architecture's)
    kind: str | None = None  # "eval" (the verdicts and figures read it) or "tune" (a learning-rate grid's run)
    higher_is_better: int | None = None  # 1 if a higher `metric` is better, else 0 (its direction: suite.metrics)


@dataclasses.dataclass
class RunResult:
    """What one run produced: its record, metrics, per-epoch history, series and arrays.

    Args:
      metrics: name -> value (e.g. "test/accuracy").
      history: name -> one value per epoch (e.g. "loss", "val_loss").
      series: name -> [(x, value), ...] (e.g. a gradient norm per time step).
      arrays: name -> a small NumPy array (filters, image patches).
    """

    record: RunRecord
    metrics: dict = dataclasses.field(default_factory=dict)
    history: dict = dataclasses.field(default_factory=dict)
    series: dict = dataclasses.field(default_factory=dict)
    arrays: dict = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.record.status == "ok"


RUN_COLUMNS = tuple(f.name for f in dataclasses.fields(RunRecord))
_SQL_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "REAL"}


def _column_sql(field: dataclasses.Field) -> str:
    kind = _SQL_TYPES[str(field.type).split("|")[0].strip()]
    return f"{field.name} {kind}" + (" PRIMARY KEY" if field.name == "run_key" else "")


RUNS_SQL = ("CREATE TABLE IF NOT EXISTS runs (\n    "
            + ",\n    ".join(_column_sql(f) for f in dataclasses.fields(RunRecord)) + "\n);")

# columns added after the first release, filled from the stored configuration
# when a database made before them is opened
_FROM_CONFIG = {"objective": "$.objective", "metric": "$.metric", "framework": "$.framework",
                "length": "$.input_shape[0]", "hparams_json": "$.hparams", "learning_rate": "$.learning_rate",
                "kind": "$.kind"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY, question TEXT, claim TEXT, expected TEXT,
    claims_json TEXT, profile TEXT, budget_json TEXT, updated_at REAL,
    figures_json TEXT, references_json TEXT, position INTEGER, crossover_json TEXT, tuning TEXT,
    data_json TEXT,  -- a user's data: file name, hash, shape, column names (never its contents)
    borrows_json TEXT  -- another study's runs read as this study's (suite.studies.Borrow)
);
{runs}
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
       r.profile, r.backend, r.device, r.error, r.run_key, r.learning_rate, COALESCE(r.kind, 'eval') AS kind
FROM runs r LEFT JOIN metrics m ON m.run_key = r.run_key;
""".format(runs=RUNS_SQL)


EXPORT_FORMATS = (".csv", ".parquet")


def check_export_path(path: Path) -> None:
    """A one-line error for an export path the suite cannot write (checked before any training)."""
    import importlib.util

    if path.suffix not in EXPORT_FORMATS:
        raise UsageError(f"bad --export {str(path)!r}: valid formats are {', '.join(EXPORT_FORMATS)}")
    if path.suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise UsageError(f"--export {str(path)!r} needs pyarrow (pip install pyarrow); or export to .csv")


def to_npy(array) -> bytes:
    """An array as the bytes of an .npy file (shape and dtype included; no pickle)."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def from_npy(blob: bytes) -> np.ndarray:
    return np.load(io.BytesIO(blob), allow_pickle=False)


def _borrows_json(study, profile: str) -> str | None:
    """A study's borrowed runs (`suite.studies.Borrow`) on the datasets its profile runs, for the report."""
    borrows = [{"study": b.study, "setting": b.setting, "as_setting": b.as_setting,
                "datasets": [d for d in b.datasets if d in study.datasets.get(profile, b.datasets)],
                "archs": list(b.archs)}
               for b in getattr(study, "borrows", ())]
    return json.dumps(borrows) if borrows else None


class Store:
    """The results database at `path` (created with its schema if new).

    A path that cannot be created or opened, or a file that is not a
    results database, is a one-line `UsageError` naming the path; an
    existing file is never overwritten or deleted.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"cannot create the output folder {str(self.path.parent)!r} ({e.strerror}); "
                             f"pass --output with a folder you can write to") from None
        try:
            self.con = sqlite3.connect(str(self.path), timeout=30)
            self.con.execute("PRAGMA journal_mode=WAL")
            self.con.execute("PRAGMA foreign_keys=ON")
            self._check_is_results_database()
            self._add_missing_columns()
            self.con.executescript(SCHEMA)
            self.con.commit()
        except sqlite3.DatabaseError as e:
            if getattr(self, "con", None) is not None:
                self.con.close()
            raise UsageError(f"{str(self.path)!r} is not a usable results database ({e}); it was left as it "
                             f"is: move it away or pass another --output") from None

    def _check_is_results_database(self):
        """A valid SQLite file that holds other tables (not ours) is refused, not written into."""
        tables = {name for (name,) in self.con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "runs" not in tables:
            raise sqlite3.DatabaseError(f"it holds tables {', '.join(sorted(tables))} but no 'runs'")

    # columns added to tables other than `runs` since the first release
    _ADDED = {"studies": ("figures_json TEXT", "references_json TEXT", "position INTEGER", "crossover_json TEXT",
                          "tuning TEXT", "data_json TEXT", "borrows_json TEXT")}

    def _add_missing_columns(self):
        """A database made before a column existed gets it (runs: every `RunRecord` field)."""
        added = dict(self._ADDED)
        added["runs"] = tuple(_column_sql(f) for f in dataclasses.fields(RunRecord))
        for table, columns in added.items():
            have = {row[1] for row in self.con.execute(f"PRAGMA table_info({table})")}
            for column in columns:
                name = column.split()[0]
                if have and name not in have:
                    self.con.execute(f"ALTER TABLE {table} ADD COLUMN {column.replace(' PRIMARY KEY', '')}")
                    if table == "runs" and name in _FROM_CONFIG:
                        self.con.execute(f"UPDATE runs SET {name} = json_extract(config_json, ?)",
                                         (_FROM_CONFIG[name],))

    def close(self):
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def supersede(self, specs, registered: dict | None = None) -> int:
        """Makes the planned runs the ones the report shows: every successful run of the same task,
        profile, size and seed as a planned run but under another key (made by another version of the
        code, another backend or budget) is marked `superseded` (kept, not shown, not reused), and a
        planned run an earlier plan superseded is `ok` again (reused). `registered`: study -> the names
        of its tasks now; its runs of any other task (one the code no longer has) are superseded too.
        Returns how many were superseded."""
        gone = 0
        with self.con:
            for study, names in (registered or {}).items():
                for profile in {s.profile for s in specs}:
                    gone += self.con.execute(
                        f"UPDATE runs SET status = 'superseded' WHERE status = 'ok' AND study = ? AND profile = ? "
                        f"AND task NOT IN ({', '.join('?' * len(names))})", (study, profile, *names)).rowcount
            self.con.execute("CREATE TEMP TABLE IF NOT EXISTS planned (run_key TEXT PRIMARY KEY, task TEXT, "
                             "profile TEXT, n_train INTEGER, seed INTEGER)")
            self.con.execute("DELETE FROM planned")
            self.con.executemany("INSERT OR REPLACE INTO planned VALUES (?, ?, ?, ?, ?)",
                                 [(s.key, s.task.name, s.profile, s.n_train, s.seed) for s in specs])
            self.con.execute("UPDATE runs SET status = 'ok' WHERE status = 'superseded' "
                             "AND run_key IN (SELECT run_key FROM planned)")
            cursor = self.con.execute(
                "UPDATE runs SET status = 'superseded' WHERE status = 'ok' "
                "AND run_key NOT IN (SELECT run_key FROM planned) AND EXISTS (SELECT 1 FROM planned p "
                "WHERE p.task = runs.task AND p.profile = runs.profile AND p.n_train = runs.n_train "
                "AND p.seed = runs.seed)")
            return cursor.rowcount + gone

    def finished_keys(self) -> set[str]:
        """Keys of runs that finished successfully (failed runs are retried)."""
        return {k for (k,) in self.con.execute("SELECT run_key FROM runs WHERE status = 'ok'")}

    def record_study(self, study, profile: str, budget: dict, position: int | None = None) -> None:
        """`position`: the study's place in the lesson's order (the report lists studies by it)."""
        with self.con:
            self.con.execute(
                "INSERT OR REPLACE INTO studies (name, question, claim, expected, claims_json, profile, "
                "budget_json, updated_at, figures_json, references_json, position, crossover_json, tuning, "
                "data_json, borrows_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (study.name, study.question, study.claim, study.expected,
                 json.dumps([json.loads(c.to_json()) for c in study.claims]),
                 profile, json.dumps(budget), time.time(),
                 json.dumps(list(study.figures)), json.dumps(list(study.references)), position,
                 json.dumps(study.crossover and [study.crossover[0], list(study.crossover[1])]),
                 getattr(study, "tuning", None), json.dumps(dict(study.data)) if study.data else None,
                 _borrows_json(study, profile)),
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

    def record_run(self, result: RunResult) -> None:
        """Writes one finished run (ok or failed) with its metrics, history, series and arrays."""
        record, key = result.record, result.record.run_key
        values = [getattr(record, c) for c in RUN_COLUMNS]
        with self.con:  # one transaction: the run is there whole or not at all
            self.con.execute("DELETE FROM runs WHERE run_key = ?", (key,))
            self.con.execute(
                f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
                values,
            )
            self.con.executemany(
                "INSERT INTO metrics VALUES (?, ?, ?)",
                [(key, k, float(v)) for k, v in result.metrics.items()],
            )
            self.con.executemany(
                "INSERT INTO history VALUES (?, ?, ?, ?)",
                [(key, epoch, k, float(v)) for k, values in result.history.items() for epoch, v in enumerate(values)],
            )
            self.con.executemany(
                "INSERT INTO series VALUES (?, ?, ?, ?)",
                [(key, name, float(x), float(v)) for name, points in result.series.items() for x, v in points],
            )
            self.con.executemany(
                "INSERT INTO arrays VALUES (?, ?, ?)",
                [(key, name, to_npy(value)) for name, value in result.arrays.items()],
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

    def export_results(self, path: str | Path) -> Path:
        """Writes the `results` view (one row per run and metric) to `path`: .csv, or .parquet
        (which needs pyarrow). Written beside a temporary name first, so no half file is left."""
        path = Path(path)
        check_export_path(path)
        frame = self.read_frame("SELECT * FROM results ORDER BY study, task, n_train, seed, metric")
        tmp = path.with_name(path.name + ".tmp")
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(path)
        return path

    def read_frame(self, sql: str, params=()):
        import pandas as pd

        return pd.read_sql_query(sql, self.con, params=params)

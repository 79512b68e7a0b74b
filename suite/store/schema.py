"""The results database's schema: a run's columns, the tables, migrations, and opening a connection.

`RunRecord` is the one list of a run's columns: the `runs` table is made
from it. `SCHEMA` is the one statement of every table; a database made by
an older version is brought up to it when opened for writing (`migrate`:
the columns it lacks are added, a run's filled from its stored
configuration where that has them). A connection opened for reading cannot
write, so it reads every table through `table_source`, which shows the same
columns over the same old file.

SQLite in WAL mode: a reader never waits for the writer, and the writer
commits each run as one transaction, so an interrupted suite loses at most
the runs in flight. The `results` view is tidy: one row per run and metric.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import sqlite3
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
    status: str  # "ok", "failed", or "superseded" (kept, not shown, not reused: suite.training.plan.supersede)
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

# columns of `runs` added after the first release, filled from the stored configuration in a
# database made before them
FROM_CONFIG = {"objective": "$.objective", "metric": "$.metric", "framework": "$.framework",
               "length": "$.input_shape[0]", "hparams_json": "$.hparams", "learning_rate": "$.learning_rate",
               "kind": "$.kind"}

# the tidy view over `runs` and `metrics` (or whatever a reader reads them through: `table_source`)
RESULTS_SQL = """SELECT r.study, r.task, r.arch, r.setting, r.dataset, r.variant, r.matched, r.n_train, r.seed,
       m.metric, m.value, r.status, r.train_seconds, r.params, r.epochs, r.steps,
       r.profile, r.backend, r.device, r.error, r.run_key, r.learning_rate, COALESCE(r.kind, 'eval') AS kind
FROM {runs} r LEFT JOIN {metrics} m ON m.run_key = r.run_key"""

SCHEMA = """
CREATE TABLE IF NOT EXISTS studies (
    name TEXT PRIMARY KEY, question TEXT, claim TEXT, expected TEXT,
    claims_json TEXT, profile TEXT, budget_json TEXT, updated_at REAL,
    figures_json TEXT, references_json TEXT, position INTEGER, crossover_json TEXT, tuning TEXT,
    data_json TEXT,  -- a user's data: file name, hash, shape, column names (never its contents)
    borrows_json TEXT,  -- another study's runs read as this study's (suite.studies.Borrow)
    gates_json TEXT,  -- competence gates: each compared model's level and its source (suite.adequacy.Gate)
    seeds INTEGER  -- the seeds planned for its evaluation runs: the sequential verdicts' last look (suite.sequential)
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
-- per-run small arrays (filters, image patches), each an .npy file's bytes (`to_npy`)
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
{results};
""".format(runs=RUNS_SQL, results=RESULTS_SQL.format(runs="runs", metrics="metrics"))


@functools.cache
def table_columns() -> dict[str, tuple[tuple[str, str], ...]]:
    """table -> its columns as `SCHEMA` declares them, ((name, SQL type), ...), read from the schema made
    in memory (so the list is never written twice)."""
    con = sqlite3.connect(":memory:")
    try:
        con.executescript(SCHEMA)
        tables = [name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                                  "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        return {t: tuple((row[1], row[2]) for row in con.execute(f"PRAGMA table_info({t})")) for t in tables}
    finally:
        con.close()


def columns_of(con: sqlite3.Connection, table: str) -> set[str]:
    """The columns `table` has in the database at `con` (none if it has no such table)."""
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}


def check_is_results_database(con: sqlite3.Connection, empty_ok: bool) -> None:
    """A valid SQLite file that holds other tables (not ours) is refused, never written into; an empty
    one is a new database to write (`empty_ok`), nothing to read."""
    tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables and not empty_ok:
        raise sqlite3.DatabaseError("it holds no tables")
    if tables and "runs" not in tables:
        raise sqlite3.DatabaseError(f"it holds tables {', '.join(sorted(tables))} but no 'runs'")


def migrate(con: sqlite3.Connection) -> None:
    """A database made before a column existed gets it; a run's column in `FROM_CONFIG` is filled from
    the run's stored configuration. A table the database lacks is made whole by `SCHEMA`."""
    for table, columns in table_columns().items():
        have = columns_of(con, table)
        for name, kind in columns:
            if have and name not in have:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
                if table == "runs" and name in FROM_CONFIG:
                    con.execute(f"UPDATE runs SET {name} = json_extract(config_json, ?)", (FROM_CONFIG[name],))


def table_source(con: sqlite3.Connection, table: str) -> str:
    """`table` as SQL to select from, with every column `SCHEMA` gives it, over a database that may be
    older: a column it lacks reads as `migrate` would fill it (from the run's configuration, else NULL),
    a table it lacks reads as empty. What a reader reads through, since it cannot migrate the file."""
    have = columns_of(con, table)
    names = [name for name, _ in table_columns()[table]]
    if have >= set(names):
        return table

    def column(name):
        if name in have:
            return name
        if table == "runs" and name in FROM_CONFIG and "config_json" in have:
            return f"json_extract(config_json, '{FROM_CONFIG[name]}') AS {name}"
        return f"NULL AS {name}"

    select = ", ".join(column(name) for name in names)
    return f"(SELECT {select} FROM {table})" if have else f"(SELECT {select} WHERE 0)"


def connect_for_writing(path: Path) -> sqlite3.Connection:
    """A read-write connection to the results database at `path`, made with its schema if new and
    migrated if old. A folder that cannot be made, or a file that is not a results database, is a
    one-line `UsageError` naming the path; an existing file is never overwritten or deleted."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create the output folder {str(path.parent)!r} ({e.strerror}); "
                         f"pass --output with a folder you can write to") from None
    con = None
    try:
        con = sqlite3.connect(str(path), timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA foreign_keys=ON")
        check_is_results_database(con, empty_ok=True)
        migrate(con)
        con.executescript(SCHEMA)
        con.commit()
    except sqlite3.DatabaseError as e:
        if con is not None:
            con.close()
        raise UsageError(f"{str(path)!r} is not a usable results database ({e}); it was left as it "
                         f"is: move it away or pass another --output") from None
    return con


def connect_for_reading(path: Path) -> sqlite3.Connection:
    """A read-only connection (SQLite's `mode=ro`) to the results database at `path`. A missing file, or
    one that is not a results database, is a one-line `UsageError` naming the path: reading never
    creates a file. (In WAL mode SQLite keeps the `-wal` and `-shm` files it needs beside a database
    while a connection reads it; a read-only one cannot remove them, the next writer does.)"""
    if not path.is_file():
        raise UsageError(f"no results database at {str(path)!r}: "
                         + ("it is a folder" if path.is_dir() else "no such file"))
    con = None
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
        check_is_results_database(con, empty_ok=False)
    except sqlite3.DatabaseError as e:
        if con is not None:
            con.close()
        raise UsageError(f"{str(path)!r} is not a usable results database ({e}); it was left as it is") from None
    return con


def to_npy(array) -> bytes:
    """An array as the bytes of an .npy file (shape and dtype included; no pickle): an `arrays` row."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def from_npy(blob: bytes) -> np.ndarray:
    """The array an `arrays` row holds (`to_npy`)."""
    return np.load(io.BytesIO(blob), allow_pickle=False)

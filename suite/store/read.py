"""Reading the results database: every query the suite asks of it, on a connection that cannot write.

The report, the learning-rate choice, the ETA, the export, `docs/findings.py`
and the tests read through `Reader`; a `suite.store.write.Writer` is a
`Reader` too (a session reads what it wrote through its own connection).
Each table is read through `suite.store.schema.table_source`, so a database
made by an older version reads with today's columns without being changed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from suite import UsageError
from suite.store.schema import RESULTS_SQL, connect_for_reading, from_npy, table_source

EXPORT_FORMATS = (".csv", ".parquet")


def check_export_path(path: Path) -> None:
    """A one-line error for an export path the suite cannot write (checked before any training)."""
    import importlib.util

    if path.suffix not in EXPORT_FORMATS:
        raise UsageError(f"bad --export {str(path)!r}: valid formats are {', '.join(EXPORT_FORMATS)}")
    if path.suffix == ".parquet" and importlib.util.find_spec("pyarrow") is None:
        raise UsageError(f"--export {str(path)!r} needs pyarrow (pip install pyarrow); or export to .csv")


def _where(conditions: list[tuple[str, list]]) -> tuple[str, list]:
    """A WHERE clause requiring every (SQL, parameters) condition given, and its parameters; "" if none."""
    if not conditions:
        return "", []
    return " WHERE " + " AND ".join(sql for sql, _ in conditions), [p for _, ps in conditions for p in ps]


def _keys_condition(column: str, keys) -> tuple[str, list]:
    keys = list(keys)
    return f"{column} IN ({', '.join('?' * len(keys))})", keys


class Reader:
    """The results database at `path`, opened read-only.

    A missing file, or one that is not a results database, is a one-line
    `suite.UsageError` naming the path; nothing is created. Frames are pandas
    DataFrames, one row per stored row.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.con = self.connect()

    def connect(self) -> sqlite3.Connection:
        return connect_for_reading(self.path)

    def close(self):
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _frame(self, sql: str, params=()):
        import pandas as pd

        return pd.read_sql_query(sql, self.con, params=params)

    def studies(self):
        """The `studies` table (a row per study, as last recorded), by name."""
        return self._frame(f"SELECT * FROM {table_source(self.con, 'studies')} ORDER BY name")

    def runs(self, keys=None, columns=None):
        """The `runs` table (a row per run, every status), or the runs whose key is in `keys`; `columns`:
        the columns to read (`suite.store.schema.RUN_COLUMNS`), else all."""
        where, params = _where([_keys_condition("run_key", keys)] if keys is not None else [])
        what = ", ".join(columns) if columns else "*"
        return self._frame(f"SELECT {what} FROM {table_source(self.con, 'runs')}{where}", params)

    def metrics(self, keys=None, metric: str | None = None):
        """Every stored metric with its run's study and profile (run_key, study, profile, metric, value);
        only the runs whose key is in `keys`, and only the metric named `metric`, where given."""
        conditions = [_keys_condition("r.run_key", keys)] if keys is not None else []
        if metric is not None:
            conditions.append(("m.metric = ?", [metric]))
        where, params = _where(conditions)
        return self._frame(f"SELECT r.run_key, r.study, r.profile, m.metric, m.value FROM "
                           f"{table_source(self.con, 'metrics')} m JOIN {table_source(self.con, 'runs')} r "
                           f"USING (run_key){where}", params)

    def results(self):
        """The tidy `results` view (a row per run and metric), by study, task, size, seed and metric."""
        sql = RESULTS_SQL.format(runs=table_source(self.con, "runs"), metrics=table_source(self.con, "metrics"))
        return self._frame(f"SELECT * FROM ({sql}) ORDER BY study, task, n_train, seed, metric")

    def history(self):
        """Every run's per-epoch history (run_key, epoch, metric, value)."""
        return self._frame(f"SELECT run_key, epoch, metric, value FROM {table_source(self.con, 'history')}")

    def series(self):
        """Every run's measurements along an axis (run_key, name, x, value)."""
        return self._frame(f"SELECT run_key, name, x, value FROM {table_source(self.con, 'series')}")

    def arrays(self):
        """Every run's arrays (run_key, name, npy: an .npy file's bytes, `suite.store.schema.from_npy`)."""
        return self._frame(f"SELECT run_key, name, npy FROM {table_source(self.con, 'arrays')}")

    def run_arrays(self, run_key: str) -> dict:
        """A run's arrays by name."""
        rows = self.con.execute(f"SELECT name, npy FROM {table_source(self.con, 'arrays')} WHERE run_key = ?",
                                (run_key,))
        return {name: from_npy(blob) for name, blob in rows}

    def skipped(self):
        """The tasks a plan skipped, with the reason, by study and task."""
        return self._frame(f"SELECT * FROM {table_source(self.con, 'skipped')} ORDER BY study, task")

    def sessions(self):
        """Every session of the suite on this database (argv, start, end, runs done), in order."""
        return self._frame(f"SELECT * FROM {table_source(self.con, 'sessions')} ORDER BY id")

    def finished_keys(self) -> set[str]:
        """Keys of runs that finished successfully (failed runs are retried)."""
        return {k for (k,) in self.con.execute(f"SELECT run_key FROM {table_source(self.con, 'runs')} "
                                               "WHERE status = 'ok'")}

    def run_times(self) -> list[tuple]:
        """What the ETA learns from: per successful run with a training time, (device, dataset, arch,
        hparams_json, train_seconds, steps, its budget's max_steps from the stored configuration)."""
        return self.con.execute(
            "SELECT device, dataset, arch, hparams_json, train_seconds, steps, "
            f"json_extract(config_json, '$.budget.max_steps') FROM {table_source(self.con, 'runs')} "
            "WHERE status = 'ok' AND train_seconds IS NOT NULL").fetchall()

    def export_results(self, path: str | Path) -> Path:
        """Writes the `results` view (one row per run and metric) to `path`: .csv, or .parquet
        (which needs pyarrow). Written beside a temporary name first, so no half file is left."""
        path = Path(path)
        check_export_path(path)
        frame = self.results()
        tmp = path.with_name(path.name + ".tmp")
        if path.suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(path)
        return path

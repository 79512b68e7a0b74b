"""Writing the results database: studies, runs, skips, sessions, and the statuses planning decides.

Each run is committed in one transaction as soon as it finishes, so an
interrupted suite (Ctrl-C or kill -9) loses at most the run in flight. The
run key (a hash of everything that determines a result) lets a rerun skip
finished runs. Which stored runs a plan replaces is planning's decision
(`suite.training.plan.supersede`); the writer only sets the statuses.
"""

from __future__ import annotations

import json
import sqlite3
import time

from suite.store.read import Reader
from suite.store.schema import RUN_COLUMNS, RunResult, connect_for_writing, to_npy


def _borrows_json(study, profile: str) -> str | None:
    """A study's borrowed runs (`suite.studies.Borrow`) on the datasets its profile runs, for the report."""
    borrows = [{"study": b.study, "setting": b.setting, "as_setting": b.as_setting,
                "datasets": [d for d in b.datasets if d in study.datasets.get(profile, b.datasets)],
                "archs": list(b.archs)}
               for b in getattr(study, "borrows", ())]
    return json.dumps(borrows) if borrows else None


class Writer(Reader):
    """The results database at `path`, opened for writing: made with its schema if new, migrated if
    old (`suite.store.schema.connect_for_writing`). It reads through the same connection (`Reader`).

    A path that cannot be created or opened, or a file that is not a
    results database, is a one-line `UsageError` naming the path; an
    existing file is never overwritten or deleted.
    """

    def connect(self) -> sqlite3.Connection:
        return connect_for_writing(self.path)

    def record_study(self, study, profile: str, budget: dict, position: int | None = None,
                     seeds: int | None = None) -> None:
        """`position`: the study's place in the lesson's order (the report lists studies by it); `seeds`:
        the seeds planned for its evaluation runs (its verdicts' last look, `suite.sequential`)."""
        with self.con:
            self.con.execute(
                "INSERT OR REPLACE INTO studies (name, question, claim, expected, claims_json, profile, "
                "budget_json, updated_at, figures_json, references_json, position, crossover_json, tuning, "
                "data_json, borrows_json, gates_json, seeds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (study.name, study.question, study.claim, study.expected,
                 json.dumps([json.loads(c.to_json()) for c in study.claims]),
                 profile, json.dumps(budget), time.time(),
                 json.dumps(list(study.figures)), json.dumps(list(study.references)), position,
                 json.dumps(study.crossover and [study.crossover[0], list(study.crossover[1])]),
                 getattr(study, "tuning", None), json.dumps(dict(study.data)) if study.data else None,
                 _borrows_json(study, profile),
                 json.dumps([json.loads(g.to_json()) for g in getattr(study, "gates", ())]), seeds),
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

    def set_statuses(self, statuses: dict) -> None:
        """Sets each run's status (run key -> "ok" or "superseded"), all in one transaction: what
        planning decided (`suite.training.plan.supersede`)."""
        with self.con:
            self.con.executemany("UPDATE runs SET status = ? WHERE run_key = ?",
                                 [(status, key) for key, status in statuses.items()])

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

"""The results database (SQLite, standard library), split by job.

  schema  a run's columns (`RunRecord`), what a run produced (`RunResult`),
          the tables, how a database made by an older version is brought
          up to date, and opening a connection for writing or for reading
  write   `Writer`: records studies, runs, skips and sessions, and the
          status changes planning decides (`suite.training.plan.supersede`)
  read    `Reader`: every query, on a database opened read-only; the report,
          the learning-rate choice, the ETA, the export and the tests read
          through it

SQL lives in these modules alone. Opening a path to read it never creates
a file: a missing file, or one that is not a results database, is a
one-line `suite.UsageError`.
"""

"""Inductive-bias benchmark suite.

Data flows one way: run_suite.py -> registry (select) -> runner (train,
evaluate) -> results store (SQLite) -> report (HTML). Nothing flows back.
Modules that need Keras import it lazily, so the CLI can pick the backend
(KERAS_BACKEND) before Keras is first imported.
"""

__version__ = "0.1.0"


class UsageError(ValueError):
    """Bad input from the user: shown as one line, exit code 2."""


class DataUnavailable(RuntimeError):
    """A dataset cannot be loaded here; the message says what to do."""

"""Inductive-bias benchmark suite.

Data flows one way: run_suite.py -> studies (select) -> training (train,
evaluate) -> results store (SQLite) -> report (HTML). Nothing flows back.
Each kind of plug-in (architecture, dataset, variant, objective, probe,
figure, study) has one `suite.registry.Registry` and one package or module.
The command line picks the backend (KERAS_BACKEND) before anything imports
Keras (`suite.backend`).
"""

__version__ = "0.1.0"


class UsageError(ValueError):
    """Bad input from the user: shown as one line, exit code 2."""


class DataUnavailable(RuntimeError):
    """A dataset cannot be loaded here; the message says what to do."""

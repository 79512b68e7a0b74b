"""Registered studies: one module per study, imported explicitly.

To add a study, write a module here that calls `register_study` and
`register_task` (or `register_grid`), and add it to STUDY_MODULES. A study of
your own can also live outside the repository: `--tasks-module path.py`.
"""

STUDY_MODULES = [
    "tasks.locality",
    "tasks.memory",
    "tasks.order",
    "tasks.gating",
    "tasks.bottleneck",
    "tasks.tabular",
    "tasks.translation",
    "tasks.pooling",
    "tasks.hierarchy",
    "tasks.generation",
    "tasks.representation",
]

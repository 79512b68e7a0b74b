"""Registered studies: one module per study, imported explicitly.

To add a study, write a module here that calls `register_study` and
`register_task` (or `register_grid`), and add it to STUDY_MODULES. A study of
your own can also live outside the repository: `--tasks-module path.py`.
"""

# In the lesson's order, which the report follows: the CNN's biases, then the
# sequence models', the autoencoder's, the generative models', tables.
STUDY_MODULES = [
    "tasks.locality",
    "tasks.translation",
    "tasks.pooling",
    "tasks.hierarchy",
    "tasks.memory",
    "tasks.gating",
    "tasks.order",
    "tasks.length",
    "tasks.bottleneck",
    "tasks.representation",
    "tasks.generation",
    "tasks.tabular",
    "tasks.graphs",
]

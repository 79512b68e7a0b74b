"""Learning rates: chosen on the validation split, from one grid shared by every architecture.

A comparison between architectures is fair only if each trains at a
learning rate suited to it; a rate fixed for all favours whichever model it
happens to suit. So each study says how its learning rates are set
(`Study.tuning`):

- "validation" (the default): every Keras task of the study trains at each
  rate of the profile's grid (`GRIDS`, the same for every architecture; the
  user's `--learning-rates` replaces it) on seeds of its own (`TUNE_SEEDS`
  seeds from `SEED_BASE`: disjoint from the evaluation seeds, so the choice
  never sees the runs it is judged on), at one reference size (the middle
  of the sizes it is evaluated at, the larger of two), under the task's own
  budget. The rate with the lowest mean best validation loss wins (a run
  that diverged or failed counts as infinitely bad; ties go to the smaller
  rate), and the task's evaluation runs train at it. Each task (dataset,
  variant, architecture, setting) is tuned on its own: a model on permuted
  pixels gets the rate that suits it there, not the one chosen on natural
  images.
- "sensitivity": the evaluation runs keep the published recipe's rate (the
  GANs' 2e-4, for instance), and the same runs are repeated at `SENSITIVITY`
  multiples of it on the first evaluation seeds, so the report shows how the
  result moves with the rate, seed by seed. For a study about a recipe's
  stability, choosing the rate would hide what it measures.
- "fixed": the task's (else the architecture's) rate, for studies whose
  measurement does not depend on it (the bottleneck study times steps).

Tuning runs are ordinary stored runs (kind "tune", their rate in their key),
so a rerun reuses them and chooses the same rates; the report reads them
back and draws the grid's scores per study (`rate_table`).

A task that pins `learning_rate` is not tuned; scikit-learn baselines have
no learning rate; objectives without a validation split (`train_only`)
cannot be tuned on one and keep their rate.
"""

from __future__ import annotations

import dataclasses

from suite.architectures import get_architecture
from suite.training.objectives import OBJECTIVES
from suite.selection import SCORE, choose_rates, tuning_frame
from suite.training.plan import RunSpec

TUNINGS = ("validation", "sensitivity", "fixed")
# the grid every architecture of a profile is tuned over: half-decades around Adam's usual 1e-3.
# The smoke profile checks the plumbing in seconds: no tuning unless --learning-rates asks for it.
GRIDS = {"smoke": (), "quick": (3e-4, 1e-3, 3e-3, 1e-2), "full": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)}
TUNE_SEEDS = {"smoke": 1, "quick": 1, "full": 2}
SEED_BASE = 10_000  # tuning seeds are SEED_BASE, SEED_BASE + 1, ...: never an evaluation seed
SENSITIVITY = (0.25, 4.0)  # "sensitivity" studies: the recipe's rate times these, on the evaluation seeds
SENSITIVITY_SEEDS = 5  # ... on the first five of them


def tunable(spec: RunSpec) -> bool:
    """Whether a run's learning rate may be tuned on validation: a Keras model whose objective has a
    validation split and whose task does not pin a rate."""
    task = spec.task
    return (get_architecture(task.arch).framework == "keras" and not OBJECTIVES[task.objective].train_only
            and task.learning_rate is None)


def reference_size(sizes) -> int:
    """The size a task is tuned at: the middle of its evaluation sizes (the larger of two)."""
    sizes = sorted(set(sizes))
    return sizes[len(sizes) // 2]


def tuning_runs(specs: list[RunSpec], studies, grid, profile: str) -> list[RunSpec]:
    """The runs of the learning-rate grid for the evaluation runs `specs` of "validation" studies:
    per task, every rate x `TUNE_SEEDS[profile]` seeds at its reference size."""
    tuned = {s.name for s in studies if s.tuning == "validation"}
    by_task: dict = {}
    for spec in specs:
        if spec.task.study in tuned and tunable(spec):
            by_task.setdefault(spec.task.name, []).append(spec)
    out = []
    for runs in by_task.values():
        size = reference_size(s.n_train for s in runs)
        template = runs[0]
        out += [dataclasses.replace(template, n_train=size, seed=SEED_BASE + i, learning_rate=float(lr), kind="tune")
                for lr in grid for i in range(TUNE_SEEDS[profile])]
    return out


def sensitivity_runs(specs: list[RunSpec], studies) -> list[RunSpec]:
    """For "sensitivity" studies: each evaluation run of the first `SENSITIVITY_SEEDS` seeds again at
    `SENSITIVITY` multiples of its rate (kind "sensitivity": probes and all, not read by the verdicts)."""
    swept = {s.name for s in studies if s.tuning == "sensitivity"}
    seeds: dict = {}
    for spec in specs:
        seeds.setdefault(spec.task.name, set()).add(spec.seed)
    first = {task: set(sorted(s)[:SENSITIVITY_SEEDS]) for task, s in seeds.items()}
    return [dataclasses.replace(spec, learning_rate=spec.lr * factor, kind="sensitivity")
            for spec in specs if spec.task.study in swept and spec.lr is not None
            and spec.seed in first[spec.task.name] for factor in SENSITIVITY]


def apply_rates(specs: list[RunSpec], rates: dict) -> list[RunSpec]:
    """The evaluation runs with each tuned task's chosen rate (a new run key where it changed)."""
    return [dataclasses.replace(s, learning_rate=rates[s.task.name]) if s.task.name in rates else s
            for s in specs]


def read_choices(store, keys) -> dict:
    """task -> the chosen rate, from the stored tuning runs whose keys are `keys` (this plan's)."""
    keys = list(keys)
    if not keys:
        return {}
    return choose_rates(tuning_frame(store.runs(keys), store.metrics(keys, metric=SCORE)))

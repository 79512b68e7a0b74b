"""Units of work: a plan's runs grouped as they will train, whichever executor trains them.

A unit is a population (the runs of one task that train together,
`suite.training.population`) or one run. Units of one model group share a
compiled model or program in a worker, so executors keep a worker on one
group and the cost model (`suite.training.estimate`) prices a unit by its
group's measured speed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Iterable

from suite.data import TRANSFORMS
from suite.training.plan import RunSpec

MAX_MEMBERS = 32  # runs in one population at most


def group_key(dataset: str, arch: str, hparams) -> tuple:
    """A model group from its parts (`hparams`: a dict, or its JSON as stored with a run): runs of one
    group share one compiled model, and are priced at one measured speed."""
    if isinstance(hparams, str):
        hparams = json.loads(hparams or "{}")
    return (dataset, arch, json.dumps(hparams, sort_keys=True))


def model_group(spec: RunSpec) -> tuple:
    """The model group of a run (`group_key`)."""
    return group_key(spec.task.dataset, spec.task.arch, spec.hparams)


def execution_order(runs: Iterable[RunSpec]) -> list[RunSpec]:
    """Groups runs that share a compiled model, so each is built once."""
    return sorted(runs, key=lambda r: (*model_group(r), r.task.study, r.task.variant, r.n_train, r.seed))


def population_key(spec: RunSpec) -> tuple:
    """Runs with the same key share one population: the same task, settings and budget, and
    for a variant drawn anew per seed (a column order, a rotation) the same seed, since
    members must share their data."""
    seeded = TRANSFORMS[spec.task.variant].seeded
    return (spec.task.name, json.dumps(spec.hparams, sort_keys=True), spec.budget, spec.profile,
            spec.seed if seeded else None)


def group_populations(specs: list[RunSpec], max_members: int = MAX_MEMBERS) -> list[list[RunSpec]]:
    """Runs split into populations (at most `max_members` each), in a stable order."""
    groups: dict = {}
    for spec in specs:
        groups.setdefault(population_key(spec), []).append(spec)
    out = []
    for members in groups.values():
        members = sorted(members, key=lambda s: (s.n_train, s.seed))
        out += [members[i:i + max_members] for i in range(0, len(members), max_members)]
    return out


def units_of(runs: list[RunSpec]) -> list[tuple]:
    """The plan's units of work, in execution order: populations, then single runs."""
    runs = execution_order(runs)
    populations = group_populations([r for r in runs if r.trainer == "population"])
    return [tuple(p) for p in populations] + [(r,) for r in runs if r.trainer != "population"]


@dataclasses.dataclass(frozen=True)
class Execution:
    """Where and how an executor trains a plan's units (`suite.training.runner.EXECUTORS`).

    Args:
      backend: the Keras backend every worker loads.
      device: the device this machine trains on (workers of another machine find their own).
      workers: training processes in parallel (local) or CPUs of a Ray instance started here.
      setup: a picklable callable each worker process runs once Keras is loaded, to register
        there what the suite's process registered (`suite.training.worker.prepare_process`).
      data_dir: the tensorflow-datasets data directory.
      address, gpus_per_task: Ray's cluster address and the GPUs each unit asks for.
      deadline: a `time.time()` after which no unit starts and those in flight are given up (their runs
        are not stored: a rerun trains them); None: none (`--time-budget`).
      ordered: hand the units out in the order given (a priority), not the largest model group first.
    """

    backend: str
    device: str
    workers: int = 1
    setup: object = None
    data_dir: str | None = None
    address: str | None = None
    gpus_per_task: float = 0.0
    deadline: float | None = None
    ordered: bool = False

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.time() >= self.deadline

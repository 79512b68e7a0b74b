"""Learning rates: chosen on the validation split, from one grid shared by every architecture.

A comparison between architectures is fair only if each trains at a
learning rate suited to it; a rate fixed for all favours whichever model it
happens to suit. So each study says how its learning rates are set
(`Study.tuning`; a task may say otherwise, `Task.tuning`):

- "validation" (the default): the rate is chosen per (study, architecture,
  dataset, setting) on the validation split (`tune_rates`). Its matched
  variant ("natural") trains at each rate of the profile's grid (`GRIDS`,
  the same for every architecture; the user's `--learning-rates` replaces
  it) on `TUNE_SEEDS` seeds of its own (from `SEED_BASE`: disjoint from the
  evaluation seeds, so the choice never sees the runs it is judged on), at
  one reference size (the middle of the sizes it is evaluated at, the
  larger of two), under the task's own budget. Each run is scored on the
  validation value of the metric the claims read (`val/score`: accuracy for
  classifiers, the objective's own loss otherwise), and the rate is chosen
  by the one-standard-error rule (`suite.selection`: the smallest rate
  whose mean score is within one standard error of the best rate's; a rate
  that diverged or failed on any seed never is). Where the choice, or the
  best rate, is the smallest or the largest rate tried, the next half-decade
  step beyond that edge trains too (same seeds, same size), and the choice is
  made again, until both are interior or the next step would leave
  `suite.selection.BOUNDS`. Every
  structure-destroying variant of that (study, architecture, dataset,
  setting) then trains at the rate chosen on the natural one, so a control
  compares the same recipe on two versions of the data, and a permuted
  input cannot win a rate of its own.
- "sensitivity": the evaluation runs keep the published recipe's rate (the
  GANs' 2e-4, for instance), and the same runs are repeated at `SENSITIVITY`
  multiples of it on the first evaluation seeds, so the report shows how the
  result moves with the rate, seed by seed. For a model whose stability is
  the question, choosing the rate would hide what it measures.
- "fixed": the task's (else the architecture's) rate, for studies whose
  measurement does not depend on it (the bottleneck study times steps).

On the population trainer the grid is halved as it trains
(`suite.training.halving`): at a few rungs (after 2, 4, 8, ... checks) the
rates clearly behind the best stop, and only the rates still in at the end
can be chosen. The per-run trainer keeps the full grid (its runs train
apart, in whichever worker is free).

Tuning runs are ordinary stored runs (kind "tune", their rate in their key),
so a rerun reuses them, extensions included, and chooses the same rates; the
report reads them back and draws the grid's scores per study.

A task that pins `learning_rate` is not tuned; scikit-learn baselines have
no learning rate; objectives without a validation split (`train_only`, unless
a held-out loss is evaluated: `Objective.heldout`) cannot be tuned on one and
keep their rate.
"""

from __future__ import annotations

import dataclasses

from suite.architectures import get_architecture
from suite.selection import SCORE, best as best_rate, choose_rates, extension, tuning_frame
from suite.training.halving import Halving
from suite.training.objectives import OBJECTIVES
from suite.training.plan import RunSpec

TUNINGS = ("validation", "sensitivity", "fixed")
# the grid every architecture of a profile starts from: half-decades around Adam's usual 1e-3 (it extends
# itself past an edge choice, `tune_rates`). The smoke profile checks the plumbing in seconds: no tuning
# unless --learning-rates asks for it.
GRIDS = {"smoke": (), "quick": (3e-4, 1e-3, 3e-3, 1e-2), "full": (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)}
# tuning seeds per rate: at least 3 where a choice decides verdicts, so that the one-standard-error rule
# has a spread to measure; 2 in smoke (the plumbing, the rule end to end)
TUNE_SEEDS = {"smoke": 2, "quick": 3, "full": 3}
SEED_BASE = 10_000  # tuning seeds are SEED_BASE, SEED_BASE + 1, ...: never an evaluation seed
SENSITIVITY = (0.25, 4.0)  # "sensitivity" studies: the recipe's rate times these, on the evaluation seeds
SENSITIVITY_SEEDS = 5  # ... on the first five of them


def tuning_of(task, studies) -> str:
    """How `task`'s learning rate is set: its own `Task.tuning`, else its study's (`studies`: the
    planned `Study`s, among them the task's)."""
    if task.tuning is not None:
        return task.tuning
    return {s.name: s.tuning for s in studies}[task.study]


def tunable(spec: RunSpec) -> bool:
    """Whether a run's learning rate may be tuned on validation: a Keras model whose objective evaluates
    a validation split and whose task does not pin a rate."""
    task = spec.task
    return (get_architecture(task.arch).framework == "keras" and OBJECTIVES[task.objective].validates
            and task.learning_rate is None)


def rate_group(task) -> tuple:
    """The tasks that share one learning rate: (study, architecture, dataset, setting), every variant."""
    return (task.study, task.arch, task.dataset, task.setting)


def _reference_first(task) -> tuple:
    """Sort key: the variant a group is tuned on comes first (natural, else a matched one, else by name)."""
    return (task.variant != "natural", not task.matched, task.variant, task.name)


def reference_size(sizes) -> int:
    """The size a task is tuned at: the middle of its evaluation sizes (the larger of two)."""
    sizes = sorted(set(sizes))
    return sizes[len(sizes) // 2]


def tuned_groups(specs: list[RunSpec], studies) -> dict:
    """rate group -> the evaluation runs of the task it is tuned on (its natural variant), for the
    runs of `specs` whose rate is chosen on validation."""
    by_task: dict = {}
    for spec in specs:
        if tunable(spec) and tuning_of(spec.task, studies) == "validation":
            by_task.setdefault(spec.task.name, []).append(spec)
    groups: dict = {}
    for runs in sorted(by_task.values(), key=lambda r: _reference_first(r[0].task)):
        groups.setdefault(rate_group(runs[0].task), runs)
    return groups


def _grid_runs(runs: list[RunSpec], rates, profile: str, round_: int = 0, halving: bool = True) -> list[RunSpec]:
    """The tuning runs of one group at `rates`: every rate x `TUNE_SEEDS[profile]` seeds at the reference size,
    halved as they train (`suite.training.halving`) where they train as one population and `halving` is on."""
    size = reference_size(s.n_train for s in runs)
    rates = [float(lr) for lr in rates]
    rule = Halving(tuple(sorted(rates))) if halving and runs[0].trainer == "population" and len(rates) > 1 else None
    return [dataclasses.replace(runs[0], n_train=size, seed=SEED_BASE + i, learning_rate=lr, kind="tune",
                                extension=round_, halving=rule)
            for lr in rates for i in range(TUNE_SEEDS[profile])]


def tuning_runs(specs: list[RunSpec], studies, grid, profile: str, halving: bool = True) -> list[RunSpec]:
    """The first round of the learning-rate grid for the evaluation runs `specs`: per rate group, its
    natural variant at every rate of `grid` x `TUNE_SEEDS[profile]` seeds at its reference size (the
    extensions `tune_rates` adds past an edge come on top); `halving`: halved as they train (`_grid_runs`)."""
    if not grid:
        return []
    return [run for runs in tuned_groups(specs, studies).values()
            for run in _grid_runs(runs, grid, profile, halving=halving)]


@dataclasses.dataclass
class Tuning:
    """What `tune_rates` did: every tuning run (all rounds), the rate chosen per group, the rates the
    grid grew by per group, and the groups whose choice stopped at a bound (`suite.selection.BOUNDS`)."""

    runs: list = dataclasses.field(default_factory=list)
    rates: dict = dataclasses.field(default_factory=dict)
    extended: dict = dataclasses.field(default_factory=dict)
    at_bound: set = dataclasses.field(default_factory=set)
    rounds: int = 0


def tune_rates(specs: list[RunSpec], studies, grid, profile: str, train, read, halving: bool = True) -> Tuning:
    """Chooses a learning rate per rate group of the evaluation runs `specs`, extending the grid past an
    edge choice (module docstring).

    Args:
      train: `train(runs)`: trains (or finds stored) the tuning runs `runs` of one round.
      read: `read(runs) -> frame`: those runs' stored results as `suite.selection.tuning_frame` gives them.
      halving: halve each round's rates as they train (`suite.training.halving`; on the population
        trainer only); False: every rate for its whole budget.
    """
    groups = tuned_groups(specs, studies) if grid else {}
    tuning = Tuning()
    pending = [run for runs in groups.values() for run in _grid_runs(runs, grid, profile, halving=halving)]
    chosen: dict = {}
    best: dict = {}
    while pending:
        train(pending)
        tuning.runs += pending
        tuning.rounds += 1
        scores = read(tuning.runs)
        chosen, best = choose_rates(scores), choose_rates(scores, rule=best_rate)
        pending = []
        for group, runs in groups.items():
            tried = {s.learning_rate for s in tuning.runs if rate_group(s.task) == group}
            beyond, _ = extension(tried, chosen.get(runs[0].task.name), best.get(runs[0].task.name))
            if beyond:
                tuning.extended.setdefault(group, []).extend(beyond)
                pending += _grid_runs(runs, beyond, profile, tuning.rounds, halving)
    for group, runs in groups.items():
        rate = chosen.get(runs[0].task.name)
        if rate is not None:
            tuning.rates[group] = rate
        tried = {s.learning_rate for s in tuning.runs if rate_group(s.task) == group}
        if extension(tried, rate, best.get(runs[0].task.name))[1]:
            tuning.at_bound.add(group)
    return tuning


def apply_rates(specs: list[RunSpec], rates: dict, studies) -> list[RunSpec]:
    """The runs with the rate chosen for their rate group (`rates`: group -> rate), every variant of it
    (a new run key where the rate differs from the default); runs whose rate is not chosen on validation
    are left as they are."""
    out = []
    for spec in specs:
        group = rate_group(spec.task)
        if group in rates and tunable(spec) and tuning_of(spec.task, studies) == "validation":
            spec = dataclasses.replace(spec, learning_rate=rates[group])
        out.append(spec)
    return out


def sensitivity_runs(specs: list[RunSpec], studies) -> list[RunSpec]:
    """For tasks set by "sensitivity": each evaluation run of the first `SENSITIVITY_SEEDS` seeds again at
    `SENSITIVITY` multiples of its rate (kind "sensitivity": probes and all, not read by the verdicts)."""
    seeds: dict = {}
    for spec in specs:
        seeds.setdefault(spec.task.name, set()).add(spec.seed)
    first = {task: set(sorted(s)[:SENSITIVITY_SEEDS]) for task, s in seeds.items()}
    return [dataclasses.replace(spec, learning_rate=spec.lr * factor, kind="sensitivity")
            for spec in specs if spec.kind == "eval" and tuning_of(spec.task, studies) == "sensitivity"
            and spec.lr is not None and spec.seed in first[spec.task.name] for factor in SENSITIVITY]


def read_tuning(store, runs: list[RunSpec]):
    """The stored results of the tuning runs `runs` (`suite.selection.tuning_frame`)."""
    keys = [r.key for r in runs]
    return tuning_frame(store.runs(keys), store.metrics(keys))


def unscored(store) -> set:
    """Keys of stored successful tuning runs without a `val/score` (made before it was recorded): they
    train again, so that every choice reads the same score."""
    runs = store.runs(columns=("run_key", "kind", "status"))
    if "kind" not in runs:
        return set()
    tune = set(runs.loc[(runs["kind"] == "tune") & (runs["status"] == "ok"), "run_key"])
    if not tune:
        return set()
    scored = set(store.metrics(sorted(tune), metric=SCORE)["run_key"])
    return tune - scored

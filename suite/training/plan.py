"""Planning: studies expand into runs over training-set sizes x seeds, each with its budget.

A `RunSpec` holds everything that determines one run's result; its `key`
(a hash of its configuration) lets a rerun skip finished runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from suite import DataUnavailable
from suite.architectures import get_architecture, resolve_hparams
from suite.data import DATASETS, load_variant, resolve_size
from suite.probes.core import probe_key

# bump when a change in the runner changes results (2: step time counts partial executions; 3: test/examples,
# the detrended oscillation, the mean-over-shifts test set "shifts"; 4: test and validation splits drawn per seed)
RESULTS_VERSION = 4


@dataclasses.dataclass(frozen=True)
class Budget:
    """Training budget, the same for every architecture of a profile.

    Args:
      max_steps: cap on optimizer steps (a budget in steps, not epochs, so
        small training sets do not get fewer updates than large ones).
      eval_every: minimum optimizer steps between validation checks; a small
        training set is repeated within one "epoch" to reach it. Each
        validation check is one entry of the stored history.
      patience: validation checks without improvement before stopping; the
        best weights (lowest validation loss) are restored.
      batch_size: examples per step.
      steps_per_execution: steps per call into the compiled train function.
    """

    max_steps: int
    eval_every: int = 32
    patience: int = 4
    batch_size: int = 64
    steps_per_execution: int = 16


BUDGETS = {
    "smoke": Budget(max_steps=24, eval_every=8, patience=2, steps_per_execution=8),
    # quick: enough steps that most runs stop on their own (early stopping after 200 without gain) rather
    # than still improving when the budget ends (bench/README.md: the budget's history)
    "quick": Budget(max_steps=800, eval_every=50, patience=4),
    "full": Budget(max_steps=6000, eval_every=200, patience=6, steps_per_execution=32),
}


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run's result."""

    task: object  # suite.studies.Task
    n_train: int
    seed: int
    hparams: dict
    budget: Budget
    profile: str
    backend: str
    trainer: str = "fit"  # "fit": one run at a time; "population": with the other runs of its task
    # None: the task's (else its architecture's) learning rate; the tuned value once tuning chose one
    learning_rate: float | None = None
    # "eval": a run the verdicts and figures read; "tune": a run of the learning-rate grid, on seeds
    # of its own, read only to choose the rate; "sensitivity": an evaluation run repeated at another
    # rate, for the report's sensitivity table (suite.training.tuning)
    kind: str = "eval"
    # a tuning run's round of the grid's extension (0: the grid given; `suite.training.tuning.tune_rates`):
    # recorded with its result for the report, not part of its key (the same run serves any grid that reaches
    # its rate)
    extension: int = 0
    # a tuning run's successive halving (`suite.training.halving.Halving`: the rule and the rates it competes
    # with in its population); None: it trains for its whole budget. Part of its key: a halved run's result
    # depends on both
    halving: object = None

    @property
    def probes(self) -> tuple:
        """The task's probes; none for a tuning run (only its validation loss is read)."""
        return () if self.kind == "tune" else self.task.probes

    @property
    def lr(self) -> float | None:
        """The learning rate this run trains with."""
        return self.learning_rate if self.learning_rate is not None else learning_rate(self.task)

    @property
    def config(self) -> dict:
        t = self.task
        return {
            "task": t.name, "study": t.study, "arch": t.arch, "dataset": t.dataset,
            "variant": t.variant, "objective": t.objective, "metric": t.metric,
            "hparams": self.hparams, "learning_rate": self.lr,
            "n_train": self.n_train, "seed": self.seed,
            "budget": dataclasses.asdict(self.budget), "backend": self.backend,
            "results_version": RESULTS_VERSION,
            # only when used, so the keys of runs without them stay as they were
            **({"setting": t.setting} if t.setting else {}),
            **({"probes": [probe_key(name) for name in self.probes]} if self.probes else {}),
            **({"arch_version": version} if (version := get_architecture(t.arch).version) != 1 else {}),
            **({"trainer": self.trainer} if self.trainer != "fit" else {}),
            **({"kind": self.kind} if self.kind != "eval" else {}),
            **({"halving": self.halving.config} if self.halving is not None else {}),
            **({"data": data} if (data := DATASETS[t.dataset].fingerprint) else {}),
        }

    @property
    def key(self) -> str:
        blob = json.dumps(self.config, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def learning_rate(task) -> float:
    """The task's learning rate, else its architecture's default (None for scikit-learn)."""
    return task.learning_rate or get_architecture(task.arch).learning_rate


# --- planning -------------------------------------------------------------------

@dataclasses.dataclass
class Plan:
    runs: list
    skipped: list  # (task, reason)
    notes: list  # one-line messages for the user (e.g. unavailable data)
    # the studies whose tasks the runs are: the selected ones and those they borrow from (`Study.borrows`)
    studies: list = dataclasses.field(default_factory=list)
    # the runs of the tasks no claim, gate or figure of the selected studies reads (`suite.reads`): not in
    # `runs`, not trained (unless planned with every task)
    unread: list = dataclasses.field(default_factory=list)


def budget_for(study, profile: str, task=None) -> Budget:
    """The profile's budget with the study's overrides (`Study.budget`), then the task's (`Task.budget`)."""
    overrides = {**study.budget.get(profile, {}), **((task.budget or {}).get(profile, {}) if task else {})}
    return dataclasses.replace(BUDGETS[profile], **overrides)


def study_budget(study, profile: str, runs) -> dict:
    """The study's budget (`budget_for`) with, under "by_task", where its runs' budgets differ from it:
    a list of {"where": "setting = budget x4", "budget": {the fields that differ}} (borrowed runs
    count as the borrower's, under its setting label). For the report's "Budget" line."""
    base = dataclasses.asdict(budget_for(study, profile))
    tasks = {}  # task attributes as the study's page shows them -> differing fields
    for run in runs:
        task = run.task
        setting = task.setting
        if task.study != study.name:
            lent = [b for b in study.borrows if b.lends(task) and task.dataset in study.datasets[profile]]
            if not lent:
                continue
            setting = lent[0].as_setting
        diff = {k: v for k, v in dataclasses.asdict(run.budget).items() if v != base[k]}
        tasks[(task.dataset, task.arch, setting)] = json.dumps(diff, sort_keys=True)
    by_task = []
    for diff in sorted(set(tasks.values()) - {"{}"}):
        with_it = [key for key, d in tasks.items() if d == diff]
        without = [key for key, d in tasks.items() if d != diff]
        where = f"{len(with_it)} tasks"
        for i, name in ((2, "setting"), (0, "dataset"), (1, "arch")):  # the first attribute that separates them
            values = {key[i] for key in with_it}
            if not values & {key[i] for key in without}:
                where = f"{name} = {', '.join(sorted(values))}"
                break
        by_task.append({"where": where, "budget": json.loads(diff)})
    return {**base, **({"by_task": by_task} if by_task else {})}


def seeds_for(study, profile: str, seeds) -> list[int]:
    if seeds is None:
        return list(range(study.seeds[profile]))
    return list(seeds)


def plan_runs(registry, studies, profile, backend, archs=None, datasets=None,
              sizes=None, seeds=None, data_dir=None, trainer_for=None, every_task=False) -> Plan:
    """Expands the selected studies (of `registry`, a `suite.studies.StudyRegistry`) into runs over sizes x seeds.

    A study's borrowed runs (`Study.borrows`) are the lender's tasks, planned
    as the lender plans them (the same keys: planned twice, they run once).
    `trainer_for(spec) -> "fit" | "population"` picks how each run trains
    (it goes into the run key); None: one run at a time. Only the tasks that
    a selected study's claims, gates or figures read are planned
    (`suite.reads.study_reads`; the others go to `Plan.unread`), or every
    task with `every_task`.
    """
    from suite.reads import study_reads

    plan = Plan([], [], [])
    unavailable: dict[str, str] = {}
    planned: dict[str, list] = {}  # selected study -> the tasks it plans, lent ones under its setting

    def expand(study, tasks, wanted, wanted_archs, reader=None, as_setting=None):
        for task in tasks:
            if wanted_archs and task.arch not in wanted_archs:
                continue
            if task.dataset not in wanted:
                continue
            if task.skip:
                plan.skipped.append((task, task.skip))
                continue
            try:
                data = load_variant(task.dataset, task.variant, data_dir)
            except DataUnavailable as e:
                if task.dataset not in unavailable:
                    unavailable[task.dataset] = str(e)
                    plan.notes.append(str(e))
                plan.skipped.append((task, unavailable[task.dataset]))
                continue
            planned.setdefault(reader or study.name, []).append(
                dataclasses.replace(task, setting=as_setting) if as_setting is not None else task)
            hparams = resolve_hparams(task.arch, data.input_shape, data.num_outputs,
                                      study.param_target, task.hparams)
            n_values = sorted({resolve_size(s, data) for s in (sizes or study.sizes[profile])})
            for n in n_values:
                for seed in seeds_for(study, profile, seeds):
                    spec = RunSpec(task, n, seed, hparams, budget_for(study, profile, task), profile, backend)
                    if trainer_for is not None:
                        spec = dataclasses.replace(spec, trainer=trainer_for(spec))
                    plan.runs.append(spec)

    for study in studies:
        wanted = set(datasets) if datasets else set(study.datasets[profile])
        wanted_archs = set(archs) if archs else set(study.archs.get(profile, ()))
        expand(study, registry.tasks(study.name), wanted, wanted_archs)
        plan.studies.append(study)
        for borrow in study.borrows:
            lender = registry.study(borrow.study)
            expand(lender, [t for t in registry.tasks(lender.name) if borrow.lends(t)], wanted, wanted_archs,
                   reader=study.name, as_setting=borrow.as_setting)
            plan.studies.append(lender)
    # a run borrowed by one selected study and planned by another is one run
    plan.runs = list({spec.key: spec for spec in plan.runs}.values())
    if not every_task:
        read = set().union(*(study_reads(s, planned.get(s.name, [])) for s in studies))
        plan.unread = [spec for spec in plan.runs if spec.task.name not in read]
        plan.runs = [spec for spec in plan.runs if spec.task.name in read]
    plan.studies = list({s.name: s for s in plan.studies}.values())
    # width fitting built models whose variables were never initialised (build_uninitialised):
    # drop them, before anything initialises every pending variable at once
    import keras

    keras.backend.clear_session()
    return plan




# --- the stored runs a plan replaces ----------------------------------------------

def supersede(store, specs, registered: dict | None = None) -> int:
    """Makes the planned runs the ones the report shows: every successful run of the same task,
    profile, size and seed as a planned run but under another key (made by another version of the
    code, another backend or budget) is marked `superseded` (kept, not shown, not reused), and so is
    every learning-rate tuning run of a planned task and profile that the plan does not tune (a rate
    or a variant no longer tuned: variants share their natural variant's rate); a planned run an
    earlier plan superseded is `ok` again (reused). `registered`: study -> the names of its tasks now;
    its runs of any other task (one the code no longer has) are superseded too, in the profiles
    planned. `store`: a `suite.store.write.Writer`, which reads the stored runs and sets the statuses
    decided here in one transaction. Returns how many were superseded."""
    runs = store.runs(columns=("run_key", "study", "task", "profile", "n_train", "seed", "status", "kind"))
    rows = list(runs.itertuples(index=False))
    before = {r.run_key: r.status for r in rows}
    status = dict(before)
    planned = {s.key for s in specs}
    profiles = {s.profile for s in specs}
    # in this order: a task no longer registered; a planned run back; a planned slot under another key
    gone = [r.run_key for r in rows if status[r.run_key] == "ok" and r.study in (registered or {})
            and r.profile in profiles and r.task not in registered[r.study]]
    status.update(dict.fromkeys(gone, "superseded"))
    status.update({key: "ok" for key in planned if status.get(key) == "superseded"})
    slots = {(s.task.name, s.profile, s.n_train, s.seed) for s in specs}
    tasks = {(s.task.name, s.profile) for s in specs}
    replaced = [r.run_key for r in rows if status[r.run_key] == "ok" and r.run_key not in planned
                and ((r.task, r.profile, r.n_train, r.seed) in slots
                     or (r.kind == "tune" and (r.task, r.profile) in tasks))]
    status.update(dict.fromkeys(replaced, "superseded"))
    store.set_statuses({key: s for key, s in status.items() if s != before[key]})
    return len(gone) + len(replaced)

"""Studies and tasks: what the suite runs, and the claims it judges.

A *task* pairs one dataset variant (a dataset plus an optional
structure-destroying transform) with one architecture, an objective and its
metric, and says which bias it tests and whether the data matches that bias.
A *study* groups tasks around one question and states the lesson's claim it
tests, with declarative rules for its verdicts (see `suite.claims`).

Study modules under `tasks/` register into `REGISTRY` when imported; they are
imported explicitly (`tasks.STUDY_MODULES`), never discovered by globbing.
Every name a task or study uses (architecture, dataset, variant, objective,
probe, figure) is checked when it is registered: a typo fails at load, with
one line naming the valid choices, before any run.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import itertools
import sys
from pathlib import Path
from typing import Iterable, Mapping

from suite import UsageError
from suite.adequacy import Gate
from suite.claims import Claim
from suite.conditions import compared_pairs
from suite.registry import Registry

PROFILES = ("smoke", "quick", "full")


@dataclasses.dataclass(frozen=True)
class Task:
    """One (dataset variant, architecture) pair of a study.

    Args:
      name: unique name, by convention `study/dataset/variant/arch`.
      study: the study this task belongs to.
      dataset: a name in `suite.data.DATASETS`.
      arch: a name in `suite.architectures.ARCHITECTURES`.
      variant: a name in `suite.data.TRANSFORMS` ("natural" is the identity).
      matched: whether the data's structure matches the bias under test.
      bias: the bias this task probes, e.g. "spatial locality".
      objective: a name in `suite.training.OBJECTIVES` (loss, metrics, monitor).
      metric: the primary metric key, namespaced by split (AlgoPerf style); its direction is
        the metric's own (`suite.metrics`), stored with every run.
      hparams: explicit builder arguments; a missing `width` is fitted to
        the study's parameter target (so compared models stay within 2x).
      skip: if set, the pair makes no sense; the reason is reported.
      description: free text shown in the report.
      setting: a label for the hyperparameters, when a study compares one
        architecture under several (e.g. "equal width" / "equal params");
        claims and figures can select on it like on `arch`.
      learning_rate: overrides the architecture's default learning rate.
      probes: measurements taken at initialisation and after training, by
        name in `suite.probes.PROBES` (e.g. "input_gradients").
      budget: profile -> overrides of the study's budget for this task only
        (e.g. fewer steps for a slower model).
      tuning: how this task's learning rate is set, where it differs from its
        study's (`Study.tuning`; e.g. a study that keeps its GANs' recipes
        and tunes its VAE on validation); None: the study's.
    """

    name: str
    study: str
    dataset: str
    arch: str
    variant: str = "natural"
    matched: bool = True
    bias: str = ""
    objective: str = "classification"
    metric: str = "test/accuracy"
    hparams: Mapping = dataclasses.field(default_factory=dict)
    skip: str | None = None
    description: str = ""
    setting: str = ""
    learning_rate: float | None = None
    probes: tuple = ()
    budget: Mapping | None = None
    tuning: str | None = None


@dataclasses.dataclass(frozen=True)
class Borrow:
    """Another study's runs, read as this study's: the same content trained once, under one key.

    Where two studies would train the same models on the same data with the
    same budget (the `gating` study's models at equal parameters on the
    memory tasks are the `memory` study's), the borrower plans the lender's
    tasks (their keys, sizes, seeds, budget and learning-rate tuning) and its
    report reads those runs as its own, under its own setting label.

    Args:
      study: the lender.
      setting: the lender's setting whose runs are read.
      as_setting: their setting in the borrowing study.
      datasets: the datasets they are read on (those the borrower's profile runs).
      archs: the architectures they are read for.
    """

    study: str
    setting: str
    as_setting: str
    datasets: tuple
    archs: tuple

    def lends(self, task: Task) -> bool:
        """Whether the borrower reads `task`'s runs."""
        return (task.study == self.study and task.setting == self.setting and task.dataset in self.datasets
                and task.arch in self.archs)


@dataclasses.dataclass(frozen=True)
class Study:
    """A question about one bias, the lesson's claim, and how to judge it.

    Args:
      name: unique study name (used by `--studies`).
      question: the question the study answers, in plain words.
      claim: the lesson's sentence(s) this study tests.
      expected: the outcome the lesson predicts.
      claims: declarative verdict rules (`suite.claims.Claim`).
      sizes: profile -> training-set sizes; "full" means the whole pool.
      seeds: profile -> number of seeds.
      datasets: profile -> datasets run by default in that profile.
      param_target: parameter count that unset widths are fitted to.
      budget: profile -> overrides of the runner's budget for that profile
        (fields of `suite.training.Budget`), the same for every task of the study.
      figures: the report's figures for this study, by name in
        `suite.report.figures.FIGURES`, in order.
      references: published reference points, shown beside the results.
      archs: profile -> the architectures run by default in that profile
        (a profile not listed runs every architecture of the study's tasks);
        e.g. a slow baseline only in "full". `--archs` overrides it.
      crossover: (reference architecture, variants) for the report's
        data-size crossover: every other architecture's primary metric minus
        the reference's against training-set size, on those variants; None:
        the study has no such panel.
      tuning: how its learning rates are set (`suite.training.tuning`; a
        task may say otherwise, `Task.tuning`): "validation" (chosen per
        architecture, dataset and setting on the validation split of the
        natural variant, from the profile's grid, and shared by every
        variant), "sensitivity" (the recipe's rate, and the runs repeated at
        multiples of it to show the sensitivity) or "fixed" (the task's or
        architecture's rate: its measurement does not depend on it; the
        study's text says so).
      borrows: `Borrow`s: another study's runs this study reads instead of
        training the same content again under its own keys.
      gates: competence gates (`suite.adequacy.Gate`): per compared model, the level it must reach on
        its matched task, with its source; a verdict comparing a model below its gate is undecidable.
    """

    name: str
    question: str
    claim: str
    expected: str
    claims: tuple[Claim, ...] = ()
    sizes: Mapping[str, tuple] = dataclasses.field(default_factory=dict)
    seeds: Mapping[str, int] = dataclasses.field(default_factory=dict)
    datasets: Mapping[str, tuple] = dataclasses.field(default_factory=dict)
    param_target: int = 20_000
    budget: Mapping[str, Mapping] = dataclasses.field(default_factory=dict)
    figures: tuple = ("learning_curves",)
    references: tuple = ()
    archs: Mapping[str, tuple] = dataclasses.field(default_factory=dict)
    crossover: tuple | None = None
    tuning: str = "validation"
    data: Mapping = dataclasses.field(default_factory=dict)
    borrows: tuple[Borrow, ...] = ()
    gates: tuple[Gate, ...] = ()

    def __post_init__(self):
        for field in ("sizes", "seeds", "datasets"):
            missing = [p for p in PROFILES if p not in getattr(self, field)]
            if missing:
                raise ValueError(
                    f"study {self.name!r}: {field} lacks profiles {missing}. "
                    f"Received: {field}={dict(getattr(self, field))}"
                )


# what an architecture's `inputs` accepts, by dataset kind (suite.data.KINDS)
_ACCEPTS = {"image": ("image",), "sequence": ("sequence",), "table": ("table",), "graph": ("graph",),
            "any": ("image", "sequence", "table", "graph"), "generative": ("image", "sequence", "table", "points")}


def architectures_for(kind: str, objective: str) -> list[str]:
    """The registered architectures a task on `kind` data with `objective` can train (the checks of
    `check_task`), generative models aside: they learn the data, not a label."""
    from suite.architectures import ARCHITECTURES
    from suite.training import OBJECTIVES

    return [a.name for a in ARCHITECTURES.values() if a.inputs != "generative" and kind in _ACCEPTS[a.inputs]
            and (a.framework != "sklearn" or OBJECTIVES[objective].estimators)]


def check_task(task: Task) -> None:
    """Every name the task uses is registered, and its parts fit together; else one line naming the valid choices."""
    from suite.architectures import ARCHITECTURES
    from suite.data import DATASETS, TRANSFORMS
    from suite.probes import PROBES
    from suite.training import OBJECTIVES

    where = f"task {task.name!r}"
    for registry, name in ((ARCHITECTURES, task.arch), (DATASETS, task.dataset), (TRANSFORMS, task.variant),
                           (OBJECTIVES, task.objective)):
        registry.check(name, where)
    for probe in task.probes:
        PROBES.check(probe, where)
    from suite.training.tuning import TUNINGS

    if task.tuning is not None and task.tuning not in TUNINGS:
        raise UsageError(f"{where}: unknown tuning {task.tuning!r}; valid: {', '.join(TUNINGS)}")
    arch, kind = ARCHITECTURES[task.arch], DATASETS[task.dataset].kind
    if kind not in _ACCEPTS[arch.inputs]:
        raise UsageError(f"{where}: architecture {task.arch!r} takes {arch.inputs} inputs, not the {kind} "
                         f"dataset {task.dataset!r}; valid datasets for it: kinds {', '.join(_ACCEPTS[arch.inputs])}")
    transform = TRANSFORMS[task.variant]
    if transform.kinds and kind not in transform.kinds:
        raise UsageError(f"{where}: variant {task.variant!r} applies to {' or '.join(transform.kinds)} data, "
                         f"not the {kind} dataset {task.dataset!r}")
    if arch.framework == "sklearn" and not OBJECTIVES[task.objective].estimators:
        valid = [n for n, o in OBJECTIVES.items() if o.estimators]
        raise UsageError(f"{where}: the scikit-learn baseline {task.arch!r} cannot be trained on objective "
                         f"{task.objective!r}; valid objectives for it: {', '.join(valid)}")


# metrics the architecture fixes before any training: a claim on one could not fail
FIXED_BY_CONSTRUCTION = ("model/",)


def check_study(study: Study) -> None:
    from suite.report.figures import FIGURES

    from suite.training.tuning import TUNINGS

    for figure in study.figures:
        FIGURES.check(figure, f"study {study.name!r}")
    if study.tuning not in TUNINGS:
        raise UsageError(f"study {study.name!r}: unknown tuning {study.tuning!r}; valid: {', '.join(TUNINGS)}")
    for claim in study.claims:
        if claim.test == "not_better" and claim.margin <= 0:
            raise UsageError(f"study {study.name!r}: the claim {claim.text!r} is not_better with margin "
                             f"{claim.margin:g}, which a zero difference can never support; valid choices: "
                             f"test='negligible' with a margin of at least one test example, or test='better' "
                             f"with a and b swapped")
        metrics = set(claim.change["metric"]) if claim.change and "metric" in claim.change else {claim.metric}
        fixed = sorted(m for m in metrics if m.startswith(FIXED_BY_CONSTRUCTION))
        if fixed:
            raise UsageError(f"study {study.name!r}: the claim {claim.text!r} compares {fixed[0]}, which the "
                             f"architecture fixes before training (it cannot fail): state it in the study's text")
        if claim.each and not _each_fills(claim):
            (column, _), = claim.each.items()
            raise UsageError(f"study {study.name!r}: the claim {claim.text!r} sets each={{{column!r}: ...}} but "
                             f"every condition names {column!r} itself (or b is empty and a names it), so each "
                             f"changes nothing: a is compared with {'b' if claim.b else 'the constant reference'}")
        if claim.b and not claim.change and _same_runs(claim):
            raise UsageError(f"study {study.name!r}: the claim {claim.text!r} compares the same runs with "
                             f"themselves (a = b = {dict(claim.a)}): it cannot fail")


def _each_fills(claim) -> bool:
    """Whether `each` fills in at least one condition (a, or a non-empty b, that does not name its column)."""
    (column, _), = claim.each.items()
    return column not in claim.a or (bool(claim.b) and column not in claim.b)


def _same_runs(claim) -> bool:
    """Whether a claim's two conditions select the same runs for some value of `each`."""
    return any(a == b for a, b in compared_pairs(claim.a, claim.b, claim.each))


class StudyRegistry:
    """Studies and their tasks by name; duplicates rejected, every name a task uses checked on registration."""

    def __init__(self):
        self._studies: Registry[Study] = Registry("study")
        self._tasks: Registry[Task] = Registry("task")
        self._order: list[str] = []  # registration order: the lesson's for the built-in studies

    def add_study(self, study: Study) -> Study:
        check_study(study)
        registered = self._studies.register(study.name, study)
        self._order.append(study.name)
        return registered

    def position(self, name: str) -> int:
        """A study's place in registration order (`tasks.STUDY_MODULES` lists the lesson's order)."""
        return self._order.index(name)

    def remove_study(self, name: str) -> None:
        """Removes a study and its tasks (a user's data registered again with other options; tests)."""
        self._studies.unregister(name)
        self._order.remove(name)
        for task in self.tasks(name):
            self._tasks.unregister(task.name)

    def add_task(self, task: Task) -> Task:
        self._studies.check(task.study, f"task {task.name!r}")
        check_task(task)
        return self._tasks.register(task.name, task)

    def add_grid(
        self,
        study: str,
        datasets: Iterable[str],
        variants: Mapping[str, bool],
        archs: Iterable[str],
        **task_kwargs,
    ) -> list[Task]:
        """Registers one task per (dataset, variant, arch).

        `variants` maps a variant name to whether it matches the bias. With a
        `setting`, it ends the task names (`study/dataset/variant/arch@setting`).
        """
        suffix = f"@{task_kwargs['setting']}" if task_kwargs.get("setting") else ""
        return [
            self.add_task(
                Task(
                    name=f"{study}/{ds}/{variant}/{arch}{suffix}",
                    study=study,
                    dataset=ds,
                    arch=arch,
                    variant=variant,
                    matched=matched,
                    **task_kwargs,
                )
            )
            for ds, (variant, matched), arch in itertools.product(
                datasets, variants.items(), archs
            )
        ]

    def study(self, name: str) -> Study:
        return self._studies[name]

    def task(self, name: str) -> Task:
        return self._tasks[name]

    def studies(self) -> list[Study]:
        return self._studies.values()

    def tasks(self, study: str | None = None) -> list[Task]:
        return [t for t in self._tasks.values() if study is None or t.study == study]


REGISTRY = StudyRegistry()
register_study = REGISTRY.add_study
register_task = REGISTRY.add_task
register_grid = REGISTRY.add_grid


def load_task_module(path: str | Path) -> None:
    """Imports a user's study module from a file path; it registers on import."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--tasks-module {str(path)!r} is not a file")
    module_name = f"user_tasks_{abs(hash(str(path.resolve())))}"
    if module_name in sys.modules:  # already loaded: registering twice would fail
        return
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception:
        del sys.modules[module_name]
        raise


def load_builtin_studies() -> None:
    """Imports every study module listed in `tasks.STUDY_MODULES` (once)."""
    import tasks

    for module in tasks.STUDY_MODULES:
        importlib.import_module(module)


def load_studies(task_modules=()) -> None:
    """The built-in studies and a user's task modules (what a worker process needs to register)."""
    load_builtin_studies()
    for path in task_modules:
        load_task_module(path)

"""Your data, your answer: a user's own table, images or sequences as a dataset, a study and its tasks.

`python run_suite.py --data my.csv --target label` (or a `.parquet`, an `.npz` holding arrays `x` and
`y`, or a folder of images with one sub-folder per class) reads the data once and checks it
(`suite.userfile`: every problem one line and exit code 2, before any training). It then registers,
through the ordinary registries:

- a dataset named after the file or folder (`my_<name>` where a built-in dataset or study has that
  name: a user's data never replaces ours, and the same file gets the same name on every run, so its
  run keys do not change), of the kind its shape says (a table from CSV/Parquet or a 2-D `x`;
  images for (N, H, W[, C]) with H = W, or any 4-D `x`, or a folder; sequences for (N, T, F));
  `--kind` overrides where the shape allows both;
- a study of the same name: every registered architecture and classical baseline that applies to
  that kind (`suite.studies.architectures_for`), on every variant registered for it (natural, and the
  structure-destroying ones: permuted pixels or time steps, reordered / rotated / noise columns),
  over sizes from a few per class up to the whole training pool and the profile's seeds; its
  budget, parameter target and default architectures per profile are those of the built-in study
  of the same kind of data (`TEMPLATES`).

The study then goes through the same planning, runner, store and report as the built-in ones. The
database records the file's name, a SHA-256 of its bytes, its shape and its column names (the
study's `data`), never its contents; the hash also enters every run's key (`DatasetSpec.fingerprint`),
so an edited file is trained on afresh instead of reusing runs of the old one.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys

import numpy as np

from suite import UsageError
from suite.claims import Claim
from suite.data import DATASETS, DatasetSpec, apply_to_splits, forget_loaded, load_dataset, register_dataset
from suite.studies import (PROFILES, REGISTRY, Study, architectures_for, load_builtin_studies, load_studies,
                           register_grid, register_study)
from suite.userfile import MIN_ROWS, Loaded, UserData, read

# what a user's target is called, the metric its claims compare and whether higher is better, per task
TASKS = {"classification": ("class", "test/accuracy", True), "regression": ("value", "test/loss", False)}

SIZE_POINTS = {"smoke": 2, "quick": 3, "full": 5}  # training-set sizes per profile, up to the whole pool
# the built-in study of each kind of data, whose budget, parameter target, seeds, default
# architectures per profile, biases and crossover reference a user's study takes over
TEMPLATES = {"image": "locality", "sequence": "order", "table": "tabular"}
# per kind: (the model whose bias the data's structure should feed, the variant that destroys that
# structure, the bias-free model it is compared with, the data in words, what the variant does,
# what it means when the variant costs the model)
STRUCTURE = {
    "image": ("cnn", "permuted", "mlp", "images", "with the pixels permuted",
              "your images have spatial structure the CNN uses"),
    "sequence": ("lstm", "permuted", "mlp", "sequences", "with the time steps permuted",
                 "the order of your sequences carries information the LSTM uses"),
    "table": ("hgb", "rotated", "mlp", "table", "with the features rotated",
              "your columns mean something one at a time, which the trees' axis-aligned splits use"),
}
EXPECTED = {
    "image": "If your images have spatial structure, the CNN leads the MLP at small training sets and loses "
             "that lead once the pixels are permuted; the MLP and the classical baselines do not move.",
    "sequence": "If the order of your time steps matters, the recurrent and convolutional models lead the MLP "
                "and lose accuracy once the steps are permuted; the MLP does not move.",
    "table": "A table's columns have no neighbours and no order: gradient-boosted trees are the model to beat; "
             "a random rotation costs the trees if your columns carry meaning one at a time.",
}


def register_user_data(user: UserData, quiet: bool = False) -> str:
    """Reads and checks the user's data, registers its dataset, study and tasks; returns the study's
    name. Registering the same data again is a no-op; other data under the same name replaces it."""
    load_builtin_studies()  # the templates, and the names a user's data must not take
    read_as = read(user)
    name = own_name(read_as.name)
    loaded = dataclasses.replace(read_as, name=name)
    if name in DATASETS:
        if DATASETS[name].fingerprint == loaded.fingerprint:
            return name
        forget(name)  # own_name leaves only a user's data under this name
    target, metric, higher = TASKS[loaded.task]
    register_dataset(DatasetSpec(name, lambda data_dir: ((loaded.x, loaded.y), None), loaded.kind,
                                 source=f"your data: {loaded.info['file']}", description=_describe(loaded),
                                 target=target, post=_post(loaded.kind, target), fingerprint=loaded.fingerprint))
    try:
        pool = len(load_dataset(name).y_pool)
    except ValueError as e:  # the checks above should leave nothing for the splits to refuse
        forget(name)
        raise UsageError(f"--data {user.path!r} cannot be split into test, validation and training sets: {e}")
    archs = architectures_for(loaded.kind, loaded.task)
    template = REGISTRY.study(TEMPLATES[loaded.kind])
    register_study(_study(loaded, template, archs, pool, metric, higher))
    biases = {t.arch: t.bias for t in REGISTRY.tasks(template.name)}
    variants = {v: v == "natural" for v in _variants(loaded.kind)}
    for arch in archs:
        register_grid(name, datasets=(name,), variants=variants, archs=(arch,), bias=biases.get(arch, ""),
                      objective=loaded.task, metric=metric)
    if not quiet:
        renamed = [f"{read_as.name!r} is the name of a built-in dataset or study: your data run as {name!r} "
                   f"(--studies {name}, the page {name}.html)"] if name != read_as.name else []
        for note in [*renamed, *loaded.notes, f"{_describe(loaded)}: study {name!r}, {len(archs)} architectures x "
                     f"{len(variants)} variants ({', '.join(variants)})"]:
            print(f"note: {note}", file=sys.stderr)
    return name


def setup_worker(task_modules: tuple, user: UserData | None) -> None:
    """What a worker process registers: the studies and task modules, then the user's data."""
    load_studies(task_modules)
    if user is not None:
        register_user_data(user, quiet=True)


def forget(name: str) -> None:
    """Unregisters a user's dataset and study (and drops its cached loads)."""
    from suite.data import transforms

    if name in {s.name for s in REGISTRY.studies()}:
        REGISTRY.remove_study(name)
    if name in DATASETS:
        DATASETS.unregister(name)
    forget_loaded()
    transforms.clear_variant_cache()


def own_name(stem: str) -> str:
    """The name a user's data registers under: its file's, or `my_<stem>` where a built-in dataset or study
    (or one of a `--tasks-module`) has that name (then `my_<stem>_2`, ...). It depends only on the file's
    name and on what is registered, so the same file gets the same name, and its runs the same keys, on
    every run and in every worker process."""
    load_builtin_studies()
    ours = {n for n, spec in DATASETS.items() if spec.fingerprint}  # a user's data, which may be replaced
    taken = ({*DATASETS.names()} | {s.name for s in REGISTRY.studies()}) - ours
    candidates = itertools.chain((stem, f"my_{stem}"), (f"my_{stem}_{i}" for i in itertools.count(2)))
    return next(c for c in candidates if c not in taken)


# --- the dataset's final form, the study ------------------------------------------------------------

def _post(kind: str, target: str):
    """Sequences standardised per feature and a regression target to zero mean and unit variance, each
    with the training pool's statistics alone (a model's learning rate then suits any units)."""
    if kind != "sequence" and target != "value":
        return None

    def post(dataset):
        if kind == "sequence":
            mean, std = dataset.x_pool.mean(axis=(0, 1)), dataset.x_pool.std(axis=(0, 1))
            scale = np.where(std > 0, std, 1.0)
            dataset = apply_to_splits(dataset, lambda x: ((x - mean) / scale).astype(np.float32))
        if target == "value":
            mean, scale = float(dataset.y_pool.mean()), float(dataset.y_pool.std()) or 1.0

            def standard(y):
                return ((y - mean) / scale).astype(np.float32)

            dataset = dataclasses.replace(dataset, y_pool=standard(dataset.y_pool), y_val=standard(dataset.y_val),
                                          y_test=standard(dataset.y_test))
        return dataset

    return post


def _variants(kind: str) -> list[str]:
    """Natural, then every registered variant that applies to this kind of data."""
    from suite.data import TRANSFORMS

    return ["natural", *(name for name, t in TRANSFORMS.items() if kind in t.kinds)]


def size_ladder(pool: int, classes: int, points: int) -> tuple:
    """`points` sizes, evenly spaced on a log scale from a few examples per class to the whole pool
    ("full"); a size that would leave fewer than one example per class outside it is left out (the
    seeded subsample is stratified)."""
    per_class = max(classes, 1)
    smallest = max(2 * per_class, min(MIN_ROWS, pool // 3))
    if pool <= smallest:
        return ("full",)
    sizes = {int(round(s)) for s in np.geomspace(smallest, pool, points)[:-1]}
    return (*sorted(s for s in sizes if pool - s >= per_class), "full")


def _describe(loaded: Loaded) -> str:
    shape = " x ".join(map(str, loaded.info["shape"]))
    what = {"table": "a table", "image": "images", "sequence": "sequences"}[loaded.kind]
    task = f"{loaded.classes} classes" if loaded.classes else "regression"
    return f"{loaded.info['file']}: {what}, {shape} ({task})"


def _study(loaded: Loaded, template: Study, archs: list, pool: int, metric: str, higher: bool) -> Study:
    arch, variant, other, data, destroyed, meaning = STRUCTURE[loaded.kind]
    claims = []
    if arch in archs and other in archs:
        claims.append(Claim(text=f"The {arch} beats the {other} on your {data}.",
                            a={"arch": arch, "variant": "natural"}, b={"arch": other, "variant": "natural"},
                            metric=metric, higher_is_better=higher))
    if arch in archs and variant in _variants(loaded.kind):
        claims.append(Claim(text=f"The {arch} does worse on your {data} {destroyed}: {meaning}.",
                            a={"arch": arch, "variant": "natural"}, b={"arch": arch, "variant": variant},
                            metric=metric, higher_is_better=higher))
    reference = template.crossover[0] if template.crossover and template.crossover[0] in archs else "mlp"
    return Study(
        name=loaded.name,
        question=f"Which model should you use for {_describe(loaded)}, from how many examples on, and which "
                 f"structure of your data do the models use?",
        claim="The right inductive bias lets a model learn more from less data; the wrong one costs it. Every "
              f"model that applies to your {data}, on it and on versions of it with one structure destroyed.",
        expected=EXPECTED[loaded.kind],
        claims=tuple(claims),
        sizes={p: size_ladder(pool, loaded.classes, SIZE_POINTS[p]) for p in PROFILES},
        seeds=dict(template.seeds),
        datasets={p: (loaded.name,) for p in PROFILES},
        param_target=template.param_target,
        budget=dict(template.budget),
        figures=("answer", "learning_curves", "tuned_baselines"),
        archs={p: tuple(a for a in names if a in archs) for p, names in template.archs.items()},
        crossover=(reference, ("natural",)),
        data=loaded.info,
    )

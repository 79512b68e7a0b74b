"""Your data, your answer: a user's own table, images or sequences as a dataset, a study and its tasks.

`python run_suite.py --data my.csv --target label` (or a `.parquet`, an `.npz` holding arrays `x` and
`y`, or a folder of images with one sub-folder per class) reads the data once and checks it: every
problem (a target that is not there or is constant, too few rows per class, a text column with too
many values, mostly missing values) is one line naming the bad value and exit code 2, before any
training. It then registers, through the ordinary registries:

- a dataset named after the file, of the kind its shape says (a table from CSV/Parquet or a 2-D `x`;
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
import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np

from suite import UsageError
from suite.claims import Claim
from suite.data import DATASETS, DatasetSpec, apply_to_splits, load_dataset, register_dataset
from suite.registry import unknown_name_error
from suite.studies import (PROFILES, REGISTRY, Study, architectures_for, load_builtin_studies, load_studies,
                           register_grid, register_study)

KINDS = ("image", "sequence", "table")
TASKS = {"classification": ("class", "test/accuracy", True), "regression": ("value", "test/loss", False)}
TABLE_SUFFIXES = (".csv", ".parquet")
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what image_dataset_from_directory reads
MAX_CATEGORIES = 50  # distinct values of a text column one-hot encoded; more is an identifier or free text
MAX_INFERRED_CLASSES = 20  # an integer target with at most this many values is read as classes
# each class needs a few examples in the test split (20%), the validation split (10%) and the pool
MIN_PER_CLASS = 10
MIN_ROWS = 20  # a regression target: enough rows for the same three splits
DEFAULT_IMAGE_SIZE = 32
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


@dataclasses.dataclass(frozen=True)
class UserData:
    """The command line's `--data` and its options (picklable: worker processes register it too)."""

    path: str
    target: str | None = None
    kind: str | None = None
    task: str | None = None
    image_size: int | None = None

    @classmethod
    def from_args(cls, args) -> "UserData | None":
        given = {o: getattr(args, o) for o in ("target", "kind", "task", "image_size")
                 if getattr(args, o, None) is not None}
        if not getattr(args, "data", None):
            if given:
                raise UsageError(f"--{next(iter(given)).replace('_', '-')} needs --data (a file or a folder "
                                 f"of images of your own)")
            return None
        return cls(str(args.data), **given)


@dataclasses.dataclass
class Loaded:
    """The checked data, what the database may record about it, and notes for the user."""

    name: str
    kind: str
    task: str
    x: object  # a pandas DataFrame (tables) or an array
    y: np.ndarray
    classes: int
    info: dict
    notes: list

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.info, sort_keys=True).encode()).hexdigest()[:16]


def register_user_data(user: UserData, quiet: bool = False) -> str:
    """Reads and checks the user's data, registers its dataset, study and tasks; returns the study's
    name. Registering the same data again is a no-op; other data under the same name replaces it."""
    load_builtin_studies()  # the templates
    loaded = read(user)
    name = loaded.name
    if name in DATASETS:
        if DATASETS[name].fingerprint == loaded.fingerprint:
            return name
        if not DATASETS[name].fingerprint:
            raise UsageError(f"--data {user.path!r}: the name {name!r} is taken by a built-in dataset; "
                             f"rename the file or folder")
        forget(name)
    if name in {s.name for s in REGISTRY.studies()}:
        raise UsageError(f"--data {user.path!r}: the name {name!r} is taken by a built-in study; "
                         f"rename the file or folder")
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
        for note in [*loaded.notes, f"{_describe(loaded)}: study {name!r}, {len(archs)} architectures x "
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
    load_dataset.cache_clear()
    transforms._load_variant.cache_clear()


# --- reading and checking -------------------------------------------------------------------------

def read(user: UserData) -> Loaded:
    """The user's data, checked; every problem a one-line UsageError."""
    path = Path(user.path)
    if not path.exists():
        raise UsageError(f"--data {user.path!r}: no such file or folder")
    if user.kind is not None and user.kind not in KINDS:
        raise unknown_name_error("kind", user.kind, KINDS)
    if user.task is not None and user.task not in TASKS:
        raise unknown_name_error("task", user.task, TASKS)
    if user.image_size is not None and not path.is_dir():
        raise UsageError(f"--image-size resizes the images of a folder (--data DIR); {path.name!r} is a file")
    if path.is_dir():
        reader = _read_folder
    elif path.suffix.lower() in TABLE_SUFFIXES:
        reader = _read_table
    elif path.suffix.lower() == ".npz":
        reader = _read_arrays
    else:
        raise UsageError(f"--data {user.path!r}: unknown format {path.suffix or '(no suffix)'!r}; valid: "
                         f"{', '.join((*TABLE_SUFFIXES, '.npz'))}, or a folder of images with one sub-folder "
                         f"per class")
    name = re.sub(r"[^\w.-]", "_", path.name if path.is_dir() else path.stem)
    loaded = reader(path, user, name)
    loaded.info = {"file": path.name, "sha256": _sha256(path), "kind": loaded.kind, "task": loaded.task,
                   **loaded.info, **({"classes": loaded.classes} if loaded.classes else {})}
    return loaded


def _sha256(path: Path) -> str:
    """Of the file's bytes; of a folder, every image's path inside it and bytes."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _check_kind(user: UserData, allowed: tuple, what: str) -> str:
    """The kind asked for (`--kind`) where the data allow it, else the inferred one (allowed[0])."""
    if user.kind is not None and user.kind not in allowed:
        raise UsageError(f"--kind {user.kind} does not fit {what}; valid kinds for it: {', '.join(allowed)}")
    return user.kind or allowed[0]


def _read_table(path: Path, user: UserData, name: str) -> Loaded:
    import pandas as pd

    kind = _check_kind(user, ("table",), f"{path.name} (a CSV or Parquet file is a table)")
    if path.suffix.lower() == ".parquet":
        if importlib.util.find_spec("pyarrow") is None:
            raise UsageError(f"--data {path.name!r} needs pyarrow to read Parquet (pip install pyarrow); or "
                             f"save it as .csv")
        frame = pd.read_parquet(path)
    else:
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise UsageError(f"--data {path.name!r} is not a readable CSV file: {str(e).splitlines()[0]}") from None
    frame.columns = [str(c) for c in frame.columns]
    columns = list(frame.columns)
    if user.target is None:
        raise UsageError(f"--data {path.name!r} is a table: name the column to predict with --target; "
                         f"columns: {', '.join(columns)}")
    if user.target not in columns:
        raise UsageError(f"--target {user.target!r} is not a column of {path.name}; columns: {', '.join(columns)}")
    if len(columns) < 2:
        raise UsageError(f"{path.name} holds only the target column {user.target!r}: no features to learn from")
    missing = frame.isna()
    keep, notes = _drop_missing(missing.any(axis=1).to_numpy(), missing.sum().to_dict(), path.name)
    frame = frame[keep].reset_index(drop=True)
    y = frame.pop(user.target)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
            count = frame[column].nunique()
            if count > MAX_CATEGORIES:
                raise UsageError(f"column {column!r} of {path.name} holds {count} distinct text values; at most "
                                 f"{MAX_CATEGORIES} are one-hot encoded: drop it or turn it into numbers")
            frame[column] = frame[column].astype(str)  # mixed text and numbers: categories all the same
    task, y, classes = _target(y, user, f"target {user.target!r} of {path.name}")
    info = {"target": user.target, "shape": [int(len(missing)), len(columns)], "columns": columns,
            **({"rows_dropped": int((~keep).sum())} if notes else {})}
    return Loaded(name, kind, task, frame, y, classes, info, notes)


def _read_arrays(path: Path, user: UserData, name: str) -> Loaded:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            found = sorted(arrays.files)
            if "x" not in found or "y" not in found:
                raise UsageError(f"--data {path.name!r} holds arrays {', '.join(found) or '(none)'}; it needs x "
                                 f"(the inputs) and y (one target per row)")
            x, y = arrays["x"], arrays["y"]
    except (ValueError, OSError) as e:  # not an .npz, or object arrays (which would need pickle)
        raise UsageError(f"--data {path.name!r} is not a readable .npz of numeric arrays: {e}") from None
    if user.target is not None:
        raise UsageError(f"--target names a column of a CSV or Parquet file; {path.name} has its target in y")
    y = y.reshape(len(y)) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1 or len(y) != len(x):
        raise UsageError(f"{path.name}: y has shape {y.shape}, x {x.shape}; valid: one target per row of x "
                         f"({len(x)} values)")
    if not np.issubdtype(x.dtype, np.number):
        raise UsageError(f"{path.name}: x holds {x.dtype} values; valid: numbers")
    square = x.ndim == 3 and x.shape[1] == x.shape[2]  # (N, H, W) with H = W reads as images
    allowed = {2: ("table",), 3: ("image", "sequence") if square else ("sequence", "image"),
               4: ("image",)}.get(x.ndim)
    if allowed is None:
        raise UsageError(f"{path.name}: x has shape {x.shape}; valid: (N, features) a table, (N, H, W[, C]) "
                         f"images, (N, T, F) sequences")
    kind = _check_kind(user, allowed, f"x of shape {x.shape} in {path.name}")
    bad_x = ~np.isfinite(x.reshape(len(x), -1).astype(np.float64)).all(axis=1)
    bad_y = ~np.isfinite(y.astype(np.float64)) if np.issubdtype(y.dtype, np.number) else np.zeros(len(y), bool)
    keep, notes = _drop_missing(bad_x | bad_y, {"x": int(bad_x.sum()), "y": int(bad_y.sum())}, path.name)
    x, y = x[keep], y[keep]
    if len(allowed) > 1 and user.kind is None:
        other = allowed[1]
        notes.append(f"{path.name}: x of shape {x.shape} read as {kind}s (--kind {other} to read it as {other}s)")
    if kind == "image":
        x = _unit_range(x[..., None] if x.ndim == 3 else x)
    task, y, classes = _target(y, user, f"y of {path.name}")
    info = {"shape": [int(len(keep)), *map(int, x.shape[1:])], "columns": ["x", "y"],
            **({"rows_dropped": int((~keep).sum())} if (~keep).any() else {})}
    return Loaded(name, kind, task, x.astype(np.float32), y, classes, info, notes)


def _read_folder(path: Path, user: UserData, name: str) -> Loaded:
    kind = _check_kind(user, ("image",), f"{path.name} (a folder is read as images)")
    if user.target is not None or user.task == "regression":
        raise UsageError(f"a folder of images is classified by its sub-folders ({path.name}); valid: no "
                         f"--target, --task classification")
    size = DEFAULT_IMAGE_SIZE if user.image_size is None else user.image_size
    if not 4 <= size <= 1024:
        raise UsageError(f"bad --image-size {size}; valid: 4 to 1024 (pixels a side)")
    classes = sorted(d.name for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
    counts = {c: sum(1 for f in (path / c).rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES) for c in classes}
    if len(classes) < 2:
        raise UsageError(f"--data {path.name!r}: a folder of images needs one sub-folder per class, at least 2; "
                         f"found {len(classes)} ({', '.join(classes) or 'none'})")
    _check_classes(counts, f"folder {path.name}", "images")
    import keras

    images = keras.utils.image_dataset_from_directory(path, labels="inferred", label_mode="int",
                                                      class_names=classes, image_size=(size, size),
                                                      batch_size=None, shuffle=False)
    xs, ys = zip(*images.as_numpy_iterator())
    x, y = np.stack(xs).astype(np.float32) / 255.0, np.asarray(ys, dtype=np.int64)
    info = {"shape": [len(y), *map(int, x.shape[1:])], "columns": classes, "image_size": size}
    return Loaded(name, kind, "classification", x, y, len(classes), info, [])


def _drop_missing(rows: np.ndarray, per_column: dict, what: str):
    """(rows to keep, notes): rows with a missing value dropped; an error when they are most of the data."""
    if not rows.any():
        return ~rows, []
    named = ", ".join(f"{c} ({n})" for c, n in sorted(per_column.items(), key=lambda kv: -kv[1]) if n)
    if 2 * rows.sum() > len(rows):
        raise UsageError(f"{what}: {rows.sum()} of {len(rows)} rows have a missing value (columns {named}); "
                         f"fill them in or drop those columns first")
    return ~rows, [f"{what}: {rows.sum()} of {len(rows)} rows dropped for a missing value (columns {named})"]


def _target(values, user: UserData, what: str):
    """(task, y, classes): classes when the target is categorical (text, or a few integers), else a
    regression; `--task` overrides."""
    import pandas as pd

    series = pd.Series(np.asarray(values)) if not isinstance(values, pd.Series) else values.reset_index(drop=True)
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if series.nunique() < 2:
        raise UsageError(f"{what} is constant ({series.iloc[0]!r} in every row): there is nothing to predict")
    task = user.task
    if task is None:
        integral = numeric and bool(np.all(np.mod(series.to_numpy(np.float64), 1) == 0))
        task = "classification" if not numeric or (integral and series.nunique() <= MAX_INFERRED_CLASSES) \
            else "regression"
    if task == "regression":
        if not numeric:
            raise UsageError(f"--task regression needs a numeric target; {what} holds labels such as "
                             f"{series.iloc[0]!r}; valid: --task classification")
        if len(series) < MIN_ROWS:
            raise UsageError(f"{what}: {len(series)} rows; a regression needs at least {MIN_ROWS} for the test, "
                             f"validation and training splits")
        return task, series.to_numpy(np.float32), 0
    codes, labels = pd.factorize(series, sort=True)
    _check_classes(dict(zip(labels, np.bincount(codes))), what, "rows")
    return task, codes.astype(np.int64), len(labels)


def _check_classes(counts: dict, what: str, unit: str) -> None:
    """Every class has MIN_PER_CLASS examples for the stratified test, validation and training splits."""
    label, count = min(counts.items(), key=lambda kv: kv[1])
    if count < MIN_PER_CLASS:
        raise UsageError(f"{what}: class {label!r} has {count} {unit}; each class needs at least {MIN_PER_CLASS} "
                         f"for the test, validation and training splits ({len(counts)} classes)")


def _unit_range(x: np.ndarray) -> np.ndarray:
    """Images in [0, 1] as the models expect: bytes / 255, other values scaled by the data's range."""
    if np.issubdtype(x.dtype, np.integer) and x.min() >= 0 and x.max() <= 255:
        return x / 255.0
    low, high = float(x.min()), float(x.max())
    return x if low >= 0 and high <= 1 else (x - low) / max(high - low, 1e-12)


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
        figures=("answer", "learning_curves"),
        archs={p: tuple(a for a in names if a in archs) for p, names in template.archs.items()},
        crossover=(reference, ("natural",)),
        data=loaded.info,
    )

"""A user's file or folder, read and checked: what `--data` names, as a frame or arrays, and what the
database may record about it.

`read` dispatches on what the path is (a folder of images, one sub-folder per class) or its suffix
(`.csv`, `.parquet`: a table; `.npz`: arrays `x` and `y`) and checks everything training would trip over:
a file that is not what its suffix says, a target that is not there or is constant, too few rows per
class, a text column with too many values, mostly missing values. Each problem is a one-line
`UsageError` naming the file and what was expected, raised before anything is registered or trained.
Registering the result as a dataset and a study is `suite.userdata`'s.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from suite import UsageError
from suite.registry import unknown_name_error

KINDS = ("image", "sequence", "table")
TASKS = ("classification", "regression")
TABLE_SUFFIXES = (".csv", ".parquet")
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what image_dataset_from_directory reads
MAX_CATEGORIES = 50  # distinct values of a text column one-hot encoded; more is an identifier or free text
MAX_INFERRED_CLASSES = 20  # an integer target with at most this many values is read as classes
# each class needs a few examples in the test split (20%), the validation split (10%) and the pool
MIN_PER_CLASS = 10
MIN_ROWS = 20  # a regression target: enough rows for the same three splits
DEFAULT_IMAGE_SIZE = 32


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

    name: str  # the file's (`file_stem`); registering keeps it where no built-in name is the same
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


def file_stem(path: Path) -> str:
    """A file's name without its suffix (a folder's whole name), in the characters a name may hold."""
    return re.sub(r"[^\w.-]", "_", path.name if path.is_dir() else path.stem)


def read(user: UserData) -> Loaded:
    """The user's data, checked and named after its file; every problem a one-line UsageError."""
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
    loaded = reader(path, user, file_stem(path))
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
        import pyarrow

        try:
            frame = pd.read_parquet(path)
        except (pyarrow.ArrowException, OSError, ValueError) as e:  # not Parquet, or damaged
            raise UsageError(f"--data {path.name!r} is not a readable Parquet file (expected one such as "
                             f"pandas' to_parquet writes): {_first_line(e)}") from None
    else:
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise UsageError(f"--data {path.name!r} is not a readable CSV file (expected text, one row per "
                             f"line, values separated by commas, column names first): {_first_line(e)}") from None
    if frame.empty:
        raise UsageError(f"--data {path.name!r} holds no rows (columns: {', '.join(map(str, frame.columns))})")
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
    expected = "expected a zip of arrays such as numpy.savez writes"
    if not zipfile.is_zipfile(path):  # numpy would try it as a pickle and say so
        raise UsageError(f"--data {path.name!r} is not an .npz file ({expected})")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            found = sorted(arrays.files)
            if "x" not in found or "y" not in found:
                raise UsageError(f"--data {path.name!r} holds arrays {', '.join(found) or '(none)'}; it needs x "
                                 f"(the inputs) and y (one target per row)")
            x, y = arrays["x"], arrays["y"]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:  # damaged, or object arrays (pickles)
        raise UsageError(f"--data {path.name!r} is not a readable .npz of numeric arrays ({expected}): "
                         f"{_first_line(e)}") from None
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):  # a zip member that is no .npy
        raise UsageError(f"--data {path.name!r}: x and y are not arrays ({expected})")
    if not len(x):
        raise UsageError(f"--data {path.name!r}: x holds no rows")
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
    _check_images(path, classes)
    import keras
    import tensorflow as tf  # what image_dataset_from_directory decodes with, on every backend

    try:
        images = keras.utils.image_dataset_from_directory(path, labels="inferred", label_mode="int",
                                                          class_names=classes, image_size=(size, size),
                                                          batch_size=None, shuffle=False)
        xs, ys = zip(*images.as_numpy_iterator())
    except tf.errors.OpError as e:  # an image Pillow opens and TensorFlow does not decode
        raise UsageError(f"--data {path.name!r}: an image could not be decoded (expected {_IMAGE_FORMATS}): "
                         f"{_first_line(e.message)}") from None
    x, y = np.stack(xs).astype(np.float32) / 255.0, np.asarray(ys, dtype=np.int64)
    info = {"shape": [len(y), *map(int, x.shape[1:])], "columns": classes, "image_size": size}
    return Loaded(name, kind, "classification", x, y, len(classes), info, [])


DECODED_FORMATS = ("BMP", "GIF", "JPEG", "PNG")  # what TensorFlow's decode_image reads, by Pillow's names
_IMAGE_FORMATS = "BMP, GIF, JPEG or PNG images"


def _check_images(path: Path, classes: list) -> None:
    """Every image of the folder is an image TensorFlow decodes, checked with Pillow so that the first
    one that is not is named: TensorFlow's decoder, which reads them afterwards, fails without naming
    the file."""
    from PIL import Image, UnidentifiedImageError

    for label in classes:
        for file in sorted(f for f in (path / label).rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES):
            try:
                with Image.open(file) as image:
                    found = image.format
                    image.verify()
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:  # Pillow's decoders raise these
                raise UsageError(f"--data {path.name!r}: {file.relative_to(path)} is not a readable image "
                                 f"(expected {_IMAGE_FORMATS}): {_first_line(e)}") from None
            if found not in DECODED_FORMATS:
                raise UsageError(f"--data {path.name!r}: {file.relative_to(path)} is a {found} image; valid: "
                                 f"{_IMAGE_FORMATS} (save it as PNG)")


def _first_line(error) -> str:
    """The first line of an error's message: a library's message can run to a traceback's length."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


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

"""The dataset core: `Dataset`, the registry of loaders, per-seed splits and seeded subsamples.

Every dataset becomes a `Dataset`: a test split, a validation split (used
for early stopping and tuning) and a training pool, drawn from the run's
seed (`load_dataset(name, split_seed=seed)`), so that the spread over seeds
holds which examples were tested, not only the training noise. A dataset
whose source gives a test set (tensorflow-datasets' MNIST, CIFAR-10) keeps
it for every seed, the benchmark's canonical test set (`Dataset.canonical_test`,
recorded with each run); its validation split is still drawn per seed. A run
takes a seeded, class-stratified subsample of the pool of the size it asks
for, so runs with the same (dataset, size, seed) train and are tested on the
same examples whatever the architecture: the comparisons are paired.

Tables (kind "table", x of shape (N, features)): a loader may return a pandas
DataFrame; its text and category columns are one-hot encoded and its numeric
columns standardised with the mean and standard deviation of the training
pool alone (never the validation or test split).
"""

from __future__ import annotations

import dataclasses
import functools
import zlib
from typing import Callable, Mapping

import numpy as np

from suite.registry import Registry

SPLIT_SEED = 0  # the split of whatever does not belong to a run (planning, a table's row count)
KINDS = ("image", "sequence", "table", "points", "graph")

@dataclasses.dataclass(frozen=True)
class Dataset:
    """Arrays of one dataset: images as float32 (N, H, W, C) in [0, 1], sequences (N, T, F).

    `num_outputs` is the model's output size: the number of classes (times
    the labels per example, when `y` has several), or 1 for a regression
    target (`target == "value"`). `extra_tests` are further test sets, by
    name (e.g. "shift4": the test split shifted by 4 pixels): every run is
    also scored on each, as `test_<name>/<metric>`.
    """

    name: str
    x_pool: np.ndarray
    y_pool: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_outputs: int
    target: str = "class"
    extra_tests: Mapping = dataclasses.field(default_factory=dict)
    split_seed: int = SPLIT_SEED  # the seed the splits were drawn with
    canonical_test: bool = False  # the source's test set, the same for every seed

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_pool.shape[1:])


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """How to load a dataset: `load(data_dir)` -> ((x, y), (x_test, y_test) or None).

    `target` is "class" (integer labels; splits and subsamples keep the class
    proportions) or "value" (a regression target; plain random splits).
    `post`, if set, turns the split Dataset into the final one (e.g. adds
    shifted test sets). `fingerprint`, for data that can change under a fixed
    name (a user's file), is a hash of its contents and options: it enters
    every run's key, so a changed file is trained on afresh.
    """

    name: str
    load: Callable
    kind: str
    source: str
    description: str = ""
    target: str = "class"
    post: Callable | None = None
    fingerprint: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"dataset {self.name!r}: kind must be one of {', '.join(KINDS)}. "
                             f"Received: kind={self.kind!r}")


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    return DATASETS.register(spec.name, spec)


def _split(y, size, seed, stratify=True):
    """Indices (taken, rest), `size` examples taken (class proportions kept if stratify)."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    if size >= len(y):
        return np.random.default_rng(seed).permutation(idx), idx[:0]
    taken, rest = train_test_split(idx, train_size=size, stratify=y if stratify else None,
                                   random_state=seed)
    return taken, rest


def make_splits(name, x, y, test=None, test_fraction=0.2, val_fraction=0.1, max_val=1000,
                target="class", seed: int = SPLIT_SEED):
    """Test and validation splits drawn with `seed` (the test split is `test` where the source gives one),
    the rest is the training pool. Their sizes do not depend on the seed."""
    if target not in ("class", "value"):
        raise ValueError(f"target must be 'class' or 'value'. Received: target={target!r}")
    label_dtype = np.int64 if target == "class" else np.float32
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=label_dtype)
    stratify = target == "class" and y.ndim == 1  # several labels per example: plain splits
    total = len(y) + (0 if test is None else len(test[1]))
    if test is None:
        rest, test_idx = _split(y, len(y) - int(round(test_fraction * len(y))), seed, stratify)
        x_test, y_test = x[test_idx], y[test_idx]
        x, y = x[rest], y[rest]
    else:
        x_test, y_test = np.asarray(test[0], np.float32), np.asarray(test[1], label_dtype)
    n_val = min(max_val, int(round(val_fraction * total)))
    val_idx, pool_idx = _split(y, n_val, seed + 1, stratify)  # not the test split's draw again
    if target == "class":
        # one logit per class, for each label of an example (copy memory has several)
        num_outputs = int(max(y.max(), y_test.max()) + 1) * (1 if y.ndim == 1 else int(y.shape[1]))
    else:
        num_outputs = 1 if y.ndim == 1 else int(y.shape[1])
    return Dataset(
        name=name,
        x_pool=x[pool_idx], y_pool=y[pool_idx],
        x_val=x[val_idx], y_val=y[val_idx],
        x_test=x_test, y_test=y_test,
        num_outputs=num_outputs, target=target, split_seed=seed, canonical_test=test is not None,
    )


_PROVIDED: dict = {}  # name -> what a dataset's loader returned in another process (`provide_dataset`)


def provide_dataset(name: str, fetch) -> None:
    """Hands this process a dataset loaded elsewhere, once: `fetch()` returns what its loader returns
    (`source_data`), called only if this process has not been given it yet (a Ray worker gets the
    driver's from the object store, so a cluster's nodes need neither the data files nor the loaders'
    downloads)."""
    if name not in _PROVIDED:
        _PROVIDED[name] = fetch()


@functools.lru_cache(maxsize=8)
def source_data(name: str, data_dir: str | None = None):
    """What a registered dataset's loader returns, ((x, y), (x_test, y_test) or None), before any split
    (cached per process: each seed's split is drawn from it)."""
    if name in _PROVIDED:
        return _PROVIDED[name]
    return DATASETS[name].load(data_dir)


def forget_loaded() -> None:
    """Drops this process's cached loads and splits (a dataset registered again under its name, or a
    loader run under different conditions, loads afresh)."""
    source_data.cache_clear()
    load_dataset.cache_clear()


@functools.lru_cache(maxsize=16)
def load_dataset(name: str, data_dir: str | None = None, split_seed: int = SPLIT_SEED) -> Dataset:
    """A registered dataset split with `split_seed` (a run's seed; cached per process). A table's
    numeric columns are standardised with that split's training pool alone."""
    spec = DATASETS[name]
    train, test = source_data(name, data_dir)
    if spec.kind != "table":
        dataset = make_splits(name, *train, test=test, target=spec.target, seed=split_seed)
        return spec.post(dataset) if spec.post else dataset
    train, test, numeric = encode_table(train, test)
    dataset = standardise(make_splits(name, *train, test=test, target=spec.target, seed=split_seed), numeric)
    return spec.post(dataset) if spec.post else dataset


def subsample_indices(dataset: Dataset, n: int, seed: int) -> np.ndarray:
    """Positions in the pool of a seeded training subset of `n` examples (class-stratified for labels)."""
    taken, _ = _split(dataset.y_pool, n, seed, stratify=dataset.target == "class" and dataset.y_pool.ndim == 1)
    return taken


def subsample(dataset: Dataset, n: int, seed: int):
    """A seeded training subset of `n` examples of the pool (class-stratified for labels)."""
    taken = subsample_indices(dataset, n, seed)
    return dataset.x_pool[taken], dataset.y_pool[taken]


def resolve_size(size, dataset: Dataset) -> int:
    """A profile's size ("full" or an int) as a count, capped at the pool."""
    pool = len(dataset.y_pool)
    return pool if size == "full" else min(int(size), pool)


def fixed_rng(*parts) -> np.random.Generator:
    """A generator seeded by names (stable across processes, unlike hash())."""
    return np.random.default_rng(zlib.crc32("/".join(map(str, parts)).encode()))


def apply_to_splits(dataset: Dataset, fn: Callable) -> Dataset:
    """The same function of the features applied to the pool, validation and every test split."""
    return dataclasses.replace(dataset, x_pool=fn(dataset.x_pool), x_val=fn(dataset.x_val),
                               x_test=fn(dataset.x_test),
                               extra_tests={k: (fn(x), y) for k, (x, y) in dataset.extra_tests.items()})


def encode_table(train, test=None):
    """Tables as float arrays: one-hot category columns, and which columns are numeric.

    `train` (and `test`) are (x, y) with x a pandas DataFrame or an array.
    Text, boolean and category columns become one 0/1 column per category
    (the categories of train and test together, so the encoding is the same
    for both; no label is looked at). Returns (train, test, numeric), with
    `numeric` a boolean mask of the encoded columns that are numeric.
    """
    import pandas as pd

    x, y = train
    if not isinstance(x, pd.DataFrame):
        x = np.asarray(x, dtype=np.float32)
        return (x, y), test, np.ones(x.shape[1], dtype=bool)
    frames = [x] if test is None else [x, test[0]]
    both = pd.concat(frames, keys=range(len(frames)))
    categorical = [c for c in both.columns if not pd.api.types.is_numeric_dtype(both[c])
                   or pd.api.types.is_bool_dtype(both[c])]
    encoded = pd.get_dummies(both, columns=categorical, dtype=np.float32)
    numeric = np.array([c in both.columns and c not in categorical for c in encoded.columns])
    parts = [encoded.loc[i].to_numpy(np.float32) for i in range(len(frames))]
    return (parts[0], y), None if test is None else (parts[1], test[1]), numeric


def standardise(dataset: Dataset, numeric) -> Dataset:
    """Numeric columns to zero mean and unit variance, fitted on the training pool only.

    The validation and test splits are scaled with the pool's statistics,
    so nothing about them leaks into training. 0/1 category columns are
    kept as they are.
    """
    numeric = np.asarray(numeric, dtype=bool)
    mean = np.where(numeric, dataset.x_pool.mean(axis=0), 0.0).astype(np.float32)
    std = dataset.x_pool.std(axis=0)
    scale = np.where(numeric & (std > 0), std, 1.0).astype(np.float32)
    return apply_to_splits(dataset, lambda x: ((x - mean) / scale).astype(np.float32))

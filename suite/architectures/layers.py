"""Layers and blocks shared by the builders: position embeddings, feature tokens, Transformer and convolution blocks."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

# How each block of `conv_blocks` treats resolution. "dilate" keeps full resolution but dilates block i's
# convolution by (3 * 2^i) // 2 (1, 3, 6, ...), so it sees about as far as the max-pooled CNN: a receptive
# field of 9 pixels after two blocks against the pooled CNN's 10 ("none": 5), without downsampling.
# "blurmax": anti-aliased max-pooling (`blurred_max_pool`).
POOLS = ("max", "stride", "none", "dilate", "blurmax")


@keras.saving.register_keras_serializable(package="suite")
class BinomialBlurPool(layers.Layer):
    """Blurs each channel with the 3x3 binomial filter [1, 2, 1]' [1, 2, 1] / 16 and keeps every second
    row and column: what a fixed, untrained `DepthwiseConv2D(3, strides=2, padding="same")` with that
    kernel computes (zero padding as "same" pads, the odd one after), as sums of strided slices. On JAX's
    CPU backend the depthwise convolution (a grouped convolution there) made the anti-aliased CNN's
    training step 38.8 ms against 6.8 ms with the slices (bench/pooling_speed.py, side by side); the
    filter is separable: a row pass, then a column pass. No weights, nothing trained."""

    TAPS = (1.0, 2.0, 1.0)

    def call(self, x):
        for axis in (1, 2):
            size = x.shape[axis]
            out = -(-size // 2)
            total = max((out - 1) * 2 + 3 - size, 0)
            pads = [(0, 0)] * 4
            pads[axis] = (total // 2, total - total // 2)
            x = ops.pad(x, pads)
            taps = []
            for offset, weight in enumerate(self.TAPS):
                index = [slice(None)] * 4
                index[axis] = slice(offset, offset + 2 * out - 1, 2)
                taps.append(weight * x[tuple(index)])
            x = (taps[0] + taps[1] + taps[2]) / 4.0
        return x

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        half = lambda size: None if size is None else -(-size // 2)  # noqa: E731
        return (batch, half(height), half(width), channels)

    def flops(self) -> int:
        """Per example, counted as the 3x3 depthwise filter it equals (2 x 9 per output value), so the
        FLOPs the runs record do not depend on how the filter is computed."""
        return 2 * 9 * int(np.prod(self.output.shape[1:]))


def blurred_max_pool(x):
    """Anti-aliased max-pooling, MaxBlurPool (Zhang 2019, "Making convolutional networks shift-invariant
    again"): the max over 2x2 windows at every position (stride 1), then a fixed binomial blur before
    keeping every second row and column (`BinomialBlurPool`). Subsampling without the blur aliases: a
    1-pixel shift of the input can change which maxima survive; the blur low-passes the map first."""
    x = MaxPooling2D(2, strides=1, padding="same")(x)
    return BinomialBlurPool()(x)


def conv_blocks(x, num_classes, width, blocks, head, pool="max"):
    """[Conv2D 3x3 + ReLU, downsampling] x blocks, then the head's logits."""
    if head not in ("flatten", "gap"):
        raise ValueError(f"head must be 'flatten' or 'gap'. Received: head={head!r}")
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}. Received: pool={pool!r}")
    for i in range(blocks):
        x = layers.Conv2D(width * 2**i, 3, strides=2 if pool == "stride" else 1, padding="same",
                          dilation_rate=(3 * 2**i) // 2 if pool == "dilate" else 1, activation="relu")(x)
        if pool == "max":
            x = MaxPooling2D(2, padding="same")(x)
        elif pool == "blurmax":
            x = blurred_max_pool(x)
    x = layers.Flatten()(x) if head == "flatten" else layers.GlobalAveragePooling2D()(x)
    return layers.Dense(num_classes)(x)


class MaxPooling2D(layers.MaxPooling2D):
    """Keras's `MaxPooling2D`, computed on JAX as a reshape and a max where windows do not overlap.

    The same function (outputs identical); only its cost differs. On JAX's CPU
    backend the gradient of `lax.reduce_window` (XLA's select-and-scatter)
    dominated a small CNN's step: 27.9 ms a step against 7.1 ms for the
    reshape (the CNN of `locality`, batch 64, one core; TensorFlow's own
    pooling: 9.4 ms, and its reshape is slower, 19.3 ms: so only on JAX).
    Where two inputs of a window tie for the maximum the reshape's gradient
    is shared between them, the window's gradient picks one.
    """

    def call(self, inputs):
        pool_h, pool_w = self.pool_size
        if keras.backend.backend() != "jax" or self.data_format != "channels_last":
            return super().call(inputs)
        if tuple(self.strides) == (1, 1):
            return self._shifted_max(inputs)
        if tuple(self.strides) != (pool_h, pool_w):
            return super().call(inputs)
        height, width = inputs.shape[1], inputs.shape[2]
        if self.padding == "same":  # pad with -inf as "same" pooling does: the odd one after
            pads = [(0, 0)]
            for size, pool in ((height, pool_h), (width, pool_w)):
                total = -(-size // pool) * pool - size
                pads.append((total // 2, total - total // 2))
            inputs = ops.pad(inputs, pads + [(0, 0)], constant_values=-np.inf)
        else:  # "valid" drops the rows and columns of an incomplete window
            inputs = inputs[:, :height - height % pool_h, :width - width % pool_w, :]
        rows, cols = inputs.shape[1] // pool_h, inputs.shape[2] // pool_w
        windows = ops.reshape(inputs, (-1, rows, pool_h, cols, pool_w, inputs.shape[3]))
        return ops.max(windows, axis=(2, 4))

    def _shifted_max(self, inputs):
        """Stride 1 (overlapping windows, the anti-aliased CNN's `blurred_max_pool`): the maximum of the
        window's pool_h x pool_w shifted slices of the input, padded with -inf as "same" pooling pads
        (the odd one after). The same maxima as `reduce_window`, whose gradient made the anti-aliased
        CNN's step 1.2x slower (45.6 ms against 38.8 ms: bench/pooling_speed.py measures both in one run)."""
        pool_h, pool_w = self.pool_size
        if self.padding == "same":
            pads = [(0, 0), ((pool_h - 1) // 2, pool_h // 2), ((pool_w - 1) // 2, pool_w // 2), (0, 0)]
            inputs = ops.pad(inputs, pads, constant_values=-np.inf)
        rows, cols = inputs.shape[1] - pool_h + 1, inputs.shape[2] - pool_w + 1
        out = None
        for i in range(pool_h):
            for j in range(pool_w):
                piece = inputs[:, i:i + rows, j:j + cols, :]
                out = piece if out is None else ops.maximum(out, piece)
        return out


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



class SinusoidalPositionEmbedding(layers.Layer):
    """Adds the fixed sine/cosine position code of Vaswani et al. (2017); no weights."""

    def call(self, x):
        steps, width = x.shape[1], x.shape[2]
        position = ops.arange(steps, dtype="float32")[:, None]
        rate = ops.exp(ops.arange(0, width, 2, dtype="float32") * (-ops.log(10000.0) / width))
        angles = position * rate[None, :]
        code = ops.reshape(ops.stack([ops.sin(angles), ops.cos(angles)], axis=-1), (steps, -1))[:, :width]
        return x + ops.cast(code[None], x.dtype)



def grid_side(features: int) -> int:
    """Side of the smallest square grid holding every feature."""
    return int(np.ceil(np.sqrt(features)))



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

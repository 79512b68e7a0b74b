"""Image architectures (H, W, C): the MLP (any input), the CNN and a small ViT."""

from __future__ import annotations

import keras
from keras import layers

from suite.architectures.core import register_architecture
from suite.architectures.layers import PositionEmbedding, conv_blocks, default_patch_size, transformer_encoder


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
        2: the same weights, no pooling), "none" (no downsampling at all) or
        "dilate" (no downsampling, dilated convolutions that see about as far
        as the max-pooled CNN: `conv_blocks`) or "blurmax" (anti-aliased
        max-pooling, Zhang 2019: `blurred_max_pool`).
    """
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, conv_blocks(inputs, num_classes, width, blocks, head, pool), name="cnn")



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

"""Table architectures: input (features,), the columns in their given order."""

from __future__ import annotations

import keras
from keras import layers

from suite.architectures.core import register_architecture
from suite.architectures.layers import FeatureTokenizer, conv_blocks, grid_side, transformer_encoder


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
    return keras.Model(inputs, conv_blocks(x, num_classes, width, blocks, head), name="grid_cnn")


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

"""Sequence architectures: input (T, features), one output vector per sequence."""

from __future__ import annotations

import keras
from keras import layers, ops

from suite.architectures.core import register_architecture
from suite.architectures.layers import PositionEmbedding, SinusoidalPositionEmbedding, transformer_encoder


class ChronoBias(keras.initializers.Initializer):
    """Chrono initialisation of a gated cell's biases (Tallec and Ollivier 2018, "Can recurrent neural
    networks warp time?"): the gate that keeps the state gets a bias log(u), u uniform on [1, steps - 1],
    so each unit starts with a memory time scale between 1 and `steps` steps, instead of Keras's (a forget
    bias of 1: about 3.7 steps). LSTM (bias order input, forget, cell, output): forget log(u), input
    -log(u), the others 0, as the paper gives it. GRU: its update gate z keeps the state in Keras's
    convention (h = z * h_prev + (1 - z) * candidate), so it plays the forget gate's part: z's input bias
    log(u), every other bias 0 (the paper derives the LSTM's; this is the same time scale on the GRU's
    keeping gate).
    """

    def __init__(self, units: int, steps: int, cell: str, seed=None):
        if cell not in ("lstm", "gru"):
            raise ValueError(f"chrono initialisation is for the gated cells lstm and gru. Received: cell={cell!r}")
        self.units, self.steps, self.cell = units, steps, cell
        self.uniform = keras.initializers.RandomUniform(1.0, max(float(steps) - 1.0, 2.0), seed=seed)

    def __call__(self, shape, dtype=None):
        keep = ops.log(self.uniform((self.units,), dtype=dtype))
        zeros = ops.zeros((self.units,), dtype=dtype)
        if self.cell == "lstm":
            return ops.reshape(ops.concatenate([-keep, keep, zeros, zeros]), shape)
        row = ops.concatenate([keep, zeros, zeros])
        # reset_after (Keras's default): an input bias row and a recurrent one, summed in each gate
        return ops.reshape(ops.stack([row, ops.zeros_like(row)]) if len(shape) == 2 else row, shape)

    def get_config(self):
        return {"units": self.units, "steps": self.steps, "cell": self.cell}


def _recurrent(cell, name):
    gated = name in ("lstm", "gru")

    def build(input_shape, num_classes, width=32, init="default"):
        if init not in (("default", "chrono") if gated else ("default",)):
            raise ValueError(f"init must be {'default or chrono' if gated else 'default'} for {name}. "
                             f"Received: init={init!r}")
        options = {}
        if init == "chrono":
            options = {"bias_initializer": ChronoBias(width, input_shape[0], name)}
            if name == "lstm":
                options["unit_forget_bias"] = False  # the chrono bias sets the forget gate itself
        inputs = keras.Input(input_shape)
        x = cell(width, **options)(inputs)  # the last hidden state
        return keras.Model(inputs, layers.Dense(num_classes)(x), name=name)

    build.__doc__ = f"""{name}: one {cell.__name__} layer of `width` units, its last state to a dense head.

    Args:
      input_shape: (time steps, features per step).
      num_classes: number of outputs (logits, or 1 for a regression).
      width: hidden units.
      init: "default" (Keras's){'; "chrono": chrono initialisation of the gate biases for the input length (`ChronoBias`)' if gated else ''}.
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

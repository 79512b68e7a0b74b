"""Graph architectures: a message-passing graph network over (nodes, nodes + features) arrays.

The data (`suite.data.graphs`) hold each node's adjacency row followed by
its features; the network splits the two, so its one assumption is the
graph's: what a node becomes depends on the node and on the sum over its
neighbours, by the same weights at every node (invariant to the order of
the nodes, unlike the MLP that reads the flattened matrix).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from suite.architectures.core import register_architecture


@keras.saving.register_keras_serializable(package="suite")
class GraphConv(layers.Layer):
    """One round of message passing with sum aggregation (Kipf and Welling 2017 without the degree
    normalisation; the sum, not the mean, as Xu et al. 2019 show a sum keeps counts that a mean loses):
    h_i' = relu(W_self h_i + W_neighbours sum_{j ~ i} h_j + b). Called on [states, adjacency]."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.own = layers.Dense(units)
        self.neighbours = layers.Dense(units, use_bias=False)

    def build(self, input_shape):
        states, _ = input_shape
        self.own.build(states)
        self.neighbours.build(states)

    def call(self, inputs):
        states, adjacency = inputs
        return ops.relu(self.own(states) + self.neighbours(ops.matmul(adjacency, states)))

    def compute_output_shape(self, input_shape):
        states, _ = input_shape
        return (*states[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@register_architecture(
    "gnn", "Graph network: 2 rounds of message passing (sum over neighbours) of `width` units per node, "
    "then a per-node dense layer, the mean over nodes and a dense head.",
    inputs="graph",
)
def build_gnn(input_shape, num_classes, width=32, rounds=2):
    """A message-passing graph network for graph classification.

    Args:
      input_shape: (nodes, nodes + features): each node's adjacency row, then its features.
      num_classes: number of output logits.
      width: units per node in every round.
      rounds: rounds of message passing (each reaches one edge further).
    """
    nodes = input_shape[0]
    if input_shape[1] <= nodes:
        raise ValueError(f"a graph input is (nodes, nodes + features) with at least one feature. "
                         f"Received: input_shape={tuple(input_shape)}")
    inputs = keras.Input(input_shape)
    adjacency, states = inputs[:, :, :nodes], inputs[:, :, nodes:]
    for _ in range(rounds):
        states = GraphConv(width)([states, adjacency])
    states = layers.Dense(width, activation="relu")(states)
    pooled = layers.GlobalAveragePooling1D()(states)  # the mean over a fixed number of nodes: the sum, rescaled
    return keras.Model(inputs, layers.Dense(num_classes)(pooled), name="gnn")

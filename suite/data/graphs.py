"""Graphs: small generated graphs whose label a rule about relations gives.

A graph of `nodes` nodes is one array of shape (nodes, nodes + 2): row i is
node i's row of the adjacency matrix (0/1, symmetric, no self-loops)
followed by its colour, one-hot (red, blue). Node order carries no
information (each graph's nodes are in random order), so a model that reads
the matrix as a flat vector must learn the rule at every pair of positions,
while a graph network (`suite.architectures.graph`) applies one rule to every
node and its neighbours. Kind "graph": the MLP flattens it like anything
else; the graph network reads the adjacency part as its edges.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from suite.data.core import DatasetSpec, register_dataset

GRAPH_NODES = 12


def red_edge_graphs(n: int, nodes: int = GRAPH_NODES, seed: int = 0, edge_p: float = 0.2,
                    reds: tuple = (2, 3, 4, 5)):
    """Random graphs labelled by whether some edge joins two red nodes: a rule about a relation (an edge)
    between entities with a property (red), the same at every node, blind to node order.

    Each graph is Erdos-Renyi (every pair of nodes joined with probability `edge_p`) with a number of red
    nodes drawn uniformly from `reds`, at random places. The classes are drawn in equal numbers *at each
    number of red nodes*, so chance is 0.5 and counting the red nodes says nothing about the label; only
    the edge count says a little (a graph with more edges is likelier to join two reds). A one-round
    message-passing network computes the rule exactly (for each red node, whether a neighbour is red;
    then whether any node says yes).

    Returns:
      x: float32 (n, nodes, nodes + 2): adjacency rows, then the colour one-hot (red, blue);
      y: int64 (n,) in {0, 1}.
    """
    rng = np.random.default_rng(seed)
    cells = [(k, c) for k in reds for c in (0, 1)]
    want = {cell: n // len(cells) + (i < n % len(cells)) for i, cell in enumerate(cells)}
    kept = {cell: [] for cell in cells}
    while any(len(kept[cell]) < want[cell] for cell in cells):
        batch = max(256, 2 * n)
        upper = np.triu(rng.random((batch, nodes, nodes)) < edge_p, k=1)
        adjacency = upper | upper.transpose(0, 2, 1)
        count = rng.choice(reds, size=batch)
        red = rng.random((batch, nodes)).argsort(axis=1) < count[:, None]  # `count` red nodes at random places
        label = (adjacency & red[:, :, None] & red[:, None, :]).any(axis=(1, 2)).astype(np.int64)
        x = np.concatenate([adjacency, np.stack([red, ~red], axis=-1)], axis=-1).astype(np.float32)
        for cell in cells:
            room = want[cell] - len(kept[cell])
            if room > 0:
                kept[cell].extend(x[(count == cell[0]) & (label == cell[1])][:room])
    x = np.stack([g for cell in cells for g in kept[cell]])
    y = np.concatenate([np.full(want[cell], cell[1]) for cell in cells]).astype(np.int64)
    order = rng.permutation(n)
    return x[order], y[order]


def _graph_loader(generate: Callable, n: int) -> Callable:
    def load(data_dir):
        return generate(n, seed=n), None  # a fixed seed: every run sees the same graphs

    return load


register_dataset(DatasetSpec(
    "red_edge", _graph_loader(red_edge_graphs, 6000), "graph", "generated",
    f"6,000 random graphs of {GRAPH_NODES} nodes, red or blue: does an edge join two red nodes? (chance 0.5)",
))

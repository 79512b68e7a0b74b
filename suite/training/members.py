"""What the population trainer does to its stacked members one by one, and to their data splits.

`member_loop` and `member_map` give a program that steps or scores the members in turn the signature of
the vectorised one (`suite.training.population`: convolutions step member by member on a CPU); `distinct`,
`stacked` and `evaluate_all` hold each member's own data split (each seed's, `suite.data.load_variant`)
once per distinct split and score every member on its own.
"""

from __future__ import annotations

import numpy as np


def member_loop(step):
    """A `chunk` (the vmapped program's signature) that applies one member's compiled `step` to
    each active member in turn, step by step, and restacks their states."""
    import jax.numpy as jnp

    def chunk(tv, ntv, ov, active, x_pool, y_pool, which, idx):
        k = len(active)
        states = [[[v[i] for v in part] for part in (tv, ntv, ov)] for i in range(k)]
        outputs = {}  # member -> [(loss, parts) per step], read once all are dispatched
        for i in np.flatnonzero(np.asarray(active)):
            state, outputs[i] = states[i], []
            for step_idx in idx:
                *state, loss, parts = step(*state, True, x_pool, y_pool, which[i], step_idx[i])
                outputs[i].append((loss, parts))
            states[i] = state
        losses, metrics = np.zeros((len(idx), k), dtype=np.float32), {}  # a stopped member's stay 0
        for i, steps in outputs.items():
            for s, (loss, parts) in enumerate(steps):
                losses[s, i] = loss
                for name, value in parts.items():
                    metrics.setdefault(name, np.zeros((len(idx), k), dtype=np.float32))[s, i] = value
        restacked = [[jnp.stack([states[i][p][j] for i in range(k)]) for j in range(len(part))]
                   for p, part in enumerate((tv, ntv, ov))]
        return (*restacked, losses, metrics)

    return chunk


def member_map(scores):
    """An `evaluate` (the vmapped program's signature) that scores each member in turn."""
    def evaluate(tv, ntv, x, y, which, weight):
        per_member = [scores([v[i] for v in tv], [v[i] for v in ntv], x, y, which[i], weight)
                      for i in range(len(tv[0]))]
        return {name: np.stack([np.asarray(m[name]) for m in per_member]) for name in per_member[0]}

    return evaluate


def distinct(datasets: list) -> tuple[list, list]:
    """The distinct objects of `datasets` (each seed's split, loaded once and cached: members of one seed
    share it) and, for each entry, the index of its object among them."""
    splits, which = [], []
    for d in datasets:
        index = next((j for j, s in enumerate(splits) if s is d), None)
        if index is None:
            splits.append(d)
            index = len(splits) - 1
        which.append(index)
    return splits, which


def stacked(splits: list, split) -> tuple[np.ndarray, np.ndarray]:
    """`split(d)` = (x, y) of every distinct split `d`, stacked: (splits, rows, ...) each; their sizes do
    not depend on the seed (`suite.data.make_splits`)."""
    pairs = [split(d) for d in splits]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def evaluate_all(evaluate, tv, ntv, x, y, which, batch: int, pad: bool = True) -> dict:
    """Each member's mean loss and metrics over a whole split, in batches: name -> (members,).

    `x` and `y` hold each distinct split's version of it on their first axis (`stacked`); `which` gives
    each member's (an index per member).

    Every batch has `batch` rows (the last one padded with weight 0), so the
    validation, test and extra test splits share one compiled program. A
    model that computes its own loss gives a batch's mean, which padding
    would change: its last batch is not padded (`pad=False`; it has only the
    validation split to evaluate, so one more program at most).
    """
    totals, rows = None, x.shape[1]
    which = np.asarray(which)
    for i in range(0, rows, batch):
        xb, yb = x[:, i:i + batch], y[:, i:i + batch]
        n = xb.shape[1]
        weight = np.zeros(batch if pad else n, dtype=np.float32)
        weight[:n] = 1.0
        if pad and n < batch:
            xb = np.concatenate([xb, np.repeat(xb[:, :1], batch - n, axis=1)], axis=1)
            yb = np.concatenate([yb, np.repeat(yb[:, :1], batch - n, axis=1)], axis=1)
        scores = {name: np.asarray(v, dtype=np.float64) for name, v in evaluate(tv, ntv, xb, yb, which, weight).items()}
        totals = scores if totals is None else {name: totals[name] + v for name, v in scores.items()}
    return {name: v / rows for name, v in totals.items()}

"""Optimizers the architectures need beyond Keras's own: `AlternatingAdam`, the GANs' players in turn."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


class AlternatingAdam(keras.optimizers.Adam):
    """Adam over several players' variables that updates one player per step, in turn.

    Step i updates player `turns[i % len(turns)]` only: the others'
    variables and their Adam moments stay as they are (a zero gradient would
    not do: Adam's momentum would still move them), and each player's bias
    correction counts its own updates. Written with `keras.ops` on the
    optimizer's own `iterations`, so the same object trains under `fit` on
    every backend and under `stateless_apply` in the population trainer.

    Args:
        players: one list of variables per player.
        turns: the player of each step of one cycle, e.g. (0, 1) (in turn) or
            (0, 0, 0, 0, 0, 1) (five steps of player 0 per step of player 1).
        **kwargs: Adam's arguments (learning_rate, beta_1, ...).
    """

    def __init__(self, players, turns=(0, 1), **kwargs):
        super().__init__(**kwargs)
        if sorted(set(turns)) != list(range(len(players))):
            raise ValueError(f"turns must name every player 0..{len(players) - 1}. Received: turns={turns}")
        self._player_ids = [{id(v) for v in variables} for variables in players]
        self.turns = tuple(turns)
        # updates[p][j]: player p's updates in the first j steps of a cycle (its bias correction's step count)
        self._updates = [np.cumsum([0, *(t == p for t in turns)]).astype("float32") for p in range(len(players))]

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        owners = [[p for p, ids in enumerate(self._player_ids) if id(v) in ids] for v in var_list]
        missing = [v.path for v, owner in zip(var_list, owners) if not owner]
        if missing:
            raise ValueError(f"AlternatingAdam: variables of no player. Received: {missing}")
        self._player_of = [owner[0] for owner in owners]  # by the optimizer's index of each variable

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        player, cycle = self._player_of[index], len(self.turns)
        position = ops.mod(self.iterations, cycle)
        active = ops.equal(ops.take(ops.convert_to_tensor(np.array(self.turns, "int32")), position), player)
        updates = self._updates[player]
        dtype = variable.dtype
        local_step = ops.cast(ops.floor_divide(self.iterations, cycle), dtype) * float(updates[-1]) + ops.cast(
            ops.take(ops.convert_to_tensor(updates), position), dtype) + 1
        lr, gradient = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype)
        alpha = lr * ops.sqrt(1 - ops.power(ops.cast(self.beta_2, dtype), local_step)) / (
            1 - ops.power(ops.cast(self.beta_1, dtype), local_step))
        # read as tensors: ops.where takes no variables on jax
        m, v = ops.convert_to_tensor(self._momentums[index]), ops.convert_to_tensor(self._velocities[index])
        new_m = m + (gradient - m) * (1 - self.beta_1)
        new_v = v + (ops.square(gradient) - v) * (1 - self.beta_2)
        old = ops.convert_to_tensor(variable)
        self.assign(self._momentums[index], ops.where(active, new_m, m))
        self.assign(self._velocities[index], ops.where(active, new_v, v))
        self.assign(variable, ops.where(active, old - alpha * new_m / (ops.sqrt(new_v) + self.epsilon), old))

"""What both Keras trainers need of a model: its compiled-program key, its initial state, its optimizer.

A run's initial model is the one a fresh build under the run's seed gives,
whichever trainer trains it; the trainers keep compiled programs per
`program_key` and copy that initial state in.
"""

from __future__ import annotations

import json

from suite.architectures import build_model
from suite.training.plan import RunSpec


def program_key(spec: RunSpec, data) -> tuple:
    """Runs with the same key can share one compiled model: the same architecture, input and
    output shapes, hyperparameters and objective."""
    task = spec.task
    return (task.arch, data.input_shape, data.num_outputs, json.dumps(spec.hparams, sort_keys=True), task.objective)


def initial_model(spec: RunSpec, data):
    """A new model built under the run's seed: the initial state the run trains from (the global
    random seed is left at the run's seed)."""
    import keras

    keras.utils.set_random_seed(spec.seed)
    return build_model(spec.task.arch, data.input_shape, data.num_outputs, **spec.hparams)


def evaluation_batch_size(input_shape) -> int:
    """Examples per evaluation batch: fewer for long sequences.

    Attention over T steps holds a (batch, heads, T, T) matrix; 512
    sequences of 1,024 steps would need gigabytes.
    """
    return int(max(16, min(512, 16384 // max(1, input_shape[0]))))


def make_optimizer(model, learning_rate: float):
    """Adam at `learning_rate`, or the model's own optimizer where it brings one
    (`make_optimizer(learning_rate)`: the GANs, whose players take turns)."""
    import keras

    own = getattr(model, "make_optimizer", None)
    return own(learning_rate) if own else keras.optimizers.Adam(learning_rate)


def learning_rate_slot(optimizer) -> int:
    """The index of the optimizer's learning rate among `optimizer.variables` (Keras keeps a float
    learning rate in a variable there), so one compiled model trains at any rate: the per-run path
    assigns it, the population trainer stacks one value per member."""
    slots = [i for i, v in enumerate(optimizer.variables) if v.name == "learning_rate"]
    if len(slots) != 1:
        raise ValueError(f"expected one 'learning_rate' variable in {type(optimizer).__name__}.variables "
                         f"(a float learning rate, not a schedule). Received: "
                         f"{[v.name for v in optimizer.variables]}")
    return slots[0]

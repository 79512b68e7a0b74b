"""The architecture registry, building, width fitting and FLOP counts.

Every Keras builder takes the input shape, the number of outputs and a
`width` (its one capacity knob) and returns an uncompiled `keras.Model` that
outputs logits. `fit_width` picks the width that brings a model's parameter
count closest to a study's target, so compared architectures stay within 2x
of each other; other hyperparameters are fixed and documented with each
builder, never tuned per training-set size.

Classical baselines (scikit-learn estimators) register here too, with
`framework="sklearn"`: their builders take the run's `seed` and training-set
size `n_train` and return an unfitted classifier, and the runner trains them
on the same subsets, seeds and splits as the Keras models.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from typing import Callable

import keras
import numpy as np
from keras import layers

from suite.registry import Registry

INPUTS = ("image", "sequence", "table", "graph", "any", "generative")
FRAMEWORKS = ("keras", "sklearn")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A registered builder.

    `inputs` says what the builder accepts: "image" (H, W, C), "sequence"
    (T, features), "table" (features,), "graph" (nodes, nodes + features:
    adjacency rows, then node features), "any" (e.g. the MLP, which
    flattens whatever it gets) or "generative" (points (2,) or images,
    trained without labels: `suite.architectures.generative`). `framework`
    is "keras" (the builder returns an uncompiled keras.Model) or "sklearn"
    (it takes the run's `seed` and `n_train` and returns an unfitted
    scikit-learn classifier; inputs are flattened). `version` is raised when
    a change to the builder changes its results: it goes into the run key
    (from 2 on), so earlier results of the architecture are not reused.
    `grid` (scikit-learn builders only): the hyperparameters chosen per run
    on the validation split, as (name, values) pairs, each parameter's values
    from the simplest model to the most flexible and the parameters in the
    order that decides a tie (`grid_points`; the runner's rule:
    `suite.training.trainer.fit_tuned`).
    """

    name: str
    build: Callable
    description: str
    learning_rate: float | None = 1e-3
    inputs: str = "any"
    framework: str = "keras"
    version: int = 1
    grid: tuple = ()

    def __post_init__(self):
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {', '.join(INPUTS)}. Received: inputs={self.inputs!r}")
        if self.framework not in FRAMEWORKS:
            raise ValueError(f"framework must be one of {', '.join(FRAMEWORKS)}. "
                             f"Received: framework={self.framework!r}")
        if self.grid and self.framework != "sklearn":
            raise ValueError(f"only scikit-learn builders take a grid (networks tune their learning rate). "
                             f"Received: grid={self.grid!r} for {self.name!r} (framework={self.framework!r})")

    def grid_points(self, fixed=()) -> list[dict]:
        """Every combination of the grid's values, simplest first: ordered by the first parameter's
        values, then the second's, and so on, so that of equally good points the first is the one a
        tie goes to. Parameters in `fixed` (set by the task) are left out of the grid."""
        grid = [(name, values) for name, values in self.grid if name not in fixed]
        return [dict(zip([name for name, _ in grid], point))
                for point in itertools.product(*(values for _, values in grid))]


ARCHITECTURES: Registry[Architecture] = Registry("architecture")


def register_architecture(name: str, description: str, learning_rate: float | None = 1e-3, inputs: str = "any",
                          framework: str = "keras", version: int = 1, grid: dict | None = None):
    """Decorator: registers a builder under `name` (duplicates rejected). `grid`: parameter -> values,
    simplest first, the parameters in the order that breaks a tie (`Architecture.grid`)."""

    def wrap(build):
        ARCHITECTURES.register(name, Architecture(name, build, description,
                                                  None if framework == "sklearn" else learning_rate,
                                                  inputs, framework, version,
                                                  tuple((k, tuple(v)) for k, v in (grid or {}).items())))
        return build

    return wrap


def keras_architectures(*inputs: str) -> list[str]:
    """Names of the Keras builders that accept any of `inputs` (e.g. "table", "any"), sorted."""
    return sorted(a.name for a in ARCHITECTURES.values() if a.framework == "keras" and a.inputs in inputs)


def get_architecture(name: str) -> Architecture:
    return ARCHITECTURES[name]


# layers whose arithmetic `count_flops` counts; others with weights make it give up
_COUNTED = (layers.Conv1D, layers.Conv2D, layers.DepthwiseConv2D, layers.Dense)
# and layers that count their own arithmetic: a `flops()` method (suite.architectures.layers.BinomialBlurPool)
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
        if hasattr(layer, "flops"):  # a layer that counts its own (the anti-aliasing blur)
            total += layer.flops()
        elif isinstance(layer, _COUNTED):
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


def build_uninitialised(arch: str, input_shape, num_classes, **hparams) -> keras.Model:
    """The model with its variables' shapes but no values, for counting parameters or looking at layers.

    Keras defers the initialisers of variables made in a `StatelessScope`;
    with `initialize_variables=False` it never runs them, so this costs a
    fraction of a build (on JAX each new weight shape compiles its
    initialiser: planning the quick profile took minutes that way, bench/README.md). The
    deferred variables wait in Keras's global state until
    `keras.backend.clear_session()`, which planning calls when it is done:
    the model must not be trained or called.
    """
    with keras.StatelessScope(initialize_variables=False):
        return build_model(arch, input_shape, num_classes, **hparams)


@functools.lru_cache(maxsize=4096)
def _count(arch, input_shape, num_classes, width, frozen_hparams):
    return build_uninitialised(arch, input_shape, num_classes, width=width, **dict(frozen_hparams)).count_params()


def fit_width(arch, input_shape, num_classes, target_params, hparams=None, low=2, high=1024) -> int:
    """The width whose parameter count is closest to `target_params`.

    Building a model to count its weights is the cost here (a few ms with
    `build_uninitialised`; ~0.1-1 s when every variable is initialised), so builds are few: the counts of these
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

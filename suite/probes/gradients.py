"""Input gradients: how far back in a sequence the loss still reaches (the sequence studies)."""

from __future__ import annotations

import numpy as np

from suite.probes.core import Measured, register_probe


def input_gradient_norms(model, objective, x, y) -> tuple[np.ndarray, np.ndarray]:
    """How much the loss depends on each time step of the input.

    For sequences (N, T, F): the norm over features of d loss_i / d x_i[t],
    averaged over the N examples, per time step t, returned against the
    distance from the last step (T - 1 - t). Vanishing gradients show as a
    norm that falls exponentially with that distance. Gradients need the
    backend's own autodiff (Keras has no backend-neutral `grad`).
    """
    import keras

    loss_fn = objective.make_loss()
    n = len(x)

    def total_loss(logits, target):  # the sum over examples: per-example gradients
        return keras.ops.mean(loss_fn(target, logits)) * n

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = total_loss(model(xt, training=False), tf.convert_to_tensor(y))
        grad = tape.gradient(loss, xt).numpy()
    elif backend == "jax":
        import jax

        grad = np.asarray(jax.grad(lambda xx: total_loss(model(xx, training=False), y))(x))
    elif backend == "torch":
        import torch

        # on the device Keras uses (keras.ops gives a tensor there), as a leaf that collects gradients
        xt = keras.ops.convert_to_tensor(x).detach().requires_grad_(True)
        total_loss(model(xt, training=False), torch.as_tensor(y, device=xt.device)).backward()
        grad = xt.grad.detach().cpu().numpy()
    else:  # pragma: no cover
        raise NotImplementedError(f"input gradients on backend {backend!r}")
    norms = np.linalg.norm(grad.reshape(n, grad.shape[1], -1), axis=2).mean(axis=0)
    steps = grad.shape[1]
    return np.arange(steps)[::-1].astype(float), norms


def gradient_reach(norms: np.ndarray) -> float:
    """How much of the gradient reaches the first step: log10 of its norm over the last step's (per-step
    norms in time order, as `input_gradient_norms` returns them). 0 where the first step counts as much as
    the last, -k where k orders of magnitude were lost on the way back: the vanishing gradient, as a number."""
    tiny = np.finfo(np.float64).tiny  # a gradient that vanished entirely reads as very negative, not -inf
    return float(np.log10(max(float(norms[0]), tiny) / max(float(norms[-1]), tiny)))


@register_probe("input_gradients", version=2)  # 2: gradient_reach
def _input_gradients(model, objective, data, x_train, y_train) -> Measured:
    """`input_gradient_norms` on 256 validation examples, and their `gradient_reach`."""
    distance, norms = input_gradient_norms(model, objective, data.x_val[:256], data.y_val[:256])
    return Measured(metrics={"gradient_reach": gradient_reach(norms)},
                    series={"input_gradients": (distance, norms)})


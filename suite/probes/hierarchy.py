"""The feature hierarchy of a CNN: first-layer filters, top-activating patches, linear probes by layer."""

from __future__ import annotations

import numpy as np

from suite.probes.core import Measured, batched, probe_accuracy, register_probe


def edge_basis(k: int) -> np.ndarray:
    """Orthonormal basis (k*k, 2) of the oriented first-derivative kernels.

    The x- and y-derivatives of a Gaussian (sigma = k/3) span every oriented
    edge detector of that scale (steerability: the derivative at angle t is
    cos t * Gx + sin t * Gy). Both have zero mean.
    """
    c = (k - 1) / 2
    yy, xx = np.mgrid[0:k, 0:k] - c
    g = np.exp(-(xx ** 2 + yy ** 2) / (2 * (k / 3) ** 2))
    basis = np.stack([(xx * g).ravel(), (yy * g).ravel()], axis=1)
    basis -= basis.mean(axis=0)
    q, _ = np.linalg.qr(basis)
    return q


def edge_likeness(kernel: np.ndarray) -> float:
    """How edge-like a layer's filters are: the mean share of each filter's energy that is an oriented edge.

    `kernel` is a Conv2D kernel (k, k, in, out); each (in, out) slice is one
    filter. Its mean is removed first (a uniform brightness response is not an
    edge), then the share of the rest in the span of `edge_basis` is taken:
    1 for a pure oriented edge detector, and 2 / (k*k - 1) on average for
    random filters (0.25 for 3x3: two directions of eight), see
    `random_edge_likeness`.
    """
    k = kernel.shape[0]
    w = kernel.reshape(k * k, -1)
    w = w - w.mean(axis=0)
    energy = (w ** 2).sum(axis=0)
    keep = energy > 0
    share = ((edge_basis(k).T @ w) ** 2).sum(axis=0)[keep] / energy[keep]
    return float(share.mean()) if keep.any() else float("nan")


def random_edge_likeness(k: int) -> float:
    """The expected `edge_likeness` of filters with random, isotropic entries."""
    return 2.0 / (k * k - 1)


def receptive_field(model, layer) -> tuple[int, int, int]:
    """(size, jump, offset) of `layer`'s positions in input pixels, along one axis.

    Position i of the layer's output sees input pixels
    [i * jump + offset, i * jump + offset + size - 1] (offset may be negative:
    zero padding). Walks the chain of convolution and pooling layers up to
    `layer` (square kernels and strides, as the suite's CNNs have).
    """
    import keras

    size, jump, offset = 1, 1, 0
    for current in model.layers:
        if isinstance(current, (keras.layers.Conv2D, keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
            k = current.kernel_size[0] if isinstance(current, keras.layers.Conv2D) else current.pool_size[0]
            if isinstance(current, keras.layers.Conv2D):
                k = (k - 1) * current.dilation_rate[0] + 1
            s = current.strides[0]
            pad = 0
            if current.padding == "same":
                n_in, n_out = current.input.shape[1], current.output.shape[1]
                pad = max((n_out - 1) * s + k - n_in, 0) // 2
            offset -= pad * jump
            size += (k - 1) * jump
            jump *= s
        if current is layer:
            return size, jump, offset
    raise ValueError(f"layer {layer.name!r} is not in model {model.name!r}")



def layer_summaries(model, layers, x) -> list[dict]:
    """Per layer, each image's pooled activations and strongest position per channel, in one pass.

    Returns, for each layer, {"mean": (N, C) global average pooling,
    "max": (N, C) the strongest activation, "argmax": (N, C) its position
    (row * width + column)}. Computed inside one Keras model, so the full
    activation maps (N x H x W x C) are never held at once.
    """
    import keras
    from keras import ops

    outputs = []
    for layer in layers:
        _, h, w, c = layer.output.shape
        flat = ops.reshape(layer.output, (-1, h * w, c))
        outputs += [ops.mean(flat, axis=1), ops.max(flat, axis=1), ops.argmax(flat, axis=1)]
    values = batched(keras.Model(model.input, outputs), x)
    return [{"mean": np.asarray(values[3 * i]), "max": np.asarray(values[3 * i + 1]),
             "argmax": np.asarray(values[3 * i + 2])} for i in range(len(layers))]


def context_margin(size: int, window: int = 12) -> int:
    """Pixels of surrounding image shown around a receptive field of `size`, so
    that small fields (3x3 in the first layer) are seen in their stroke."""
    return max(0, (window - size) // 2)


def top_patches(model, layer, summary: dict, x, channels: int = 4, top: int = 6):
    """The input patches of `x` that most activate a few of `layer`'s channels.

    `summary` is the layer's `layer_summaries` entry for `x`. For each
    channel, each image's strongest position; the `top` images with the
    strongest, cropped to that position's receptive field plus a margin of
    `context_margin` pixels (zero outside the image). The channels shown are
    the `channels` with the largest activation anywhere in `x` (dead
    channels never are).

    Returns (patches (channels, top, side, side, in), channel indices,
    (receptive field size, margin)); side = size + 2 * margin.
    """
    width = layer.output.shape[2]
    strongest = summary["max"].max(axis=0)
    chosen = np.argsort(-strongest, kind="stable")[:channels]
    size, jump, offset = receptive_field(model, layer)
    margin = context_margin(size)
    side, pad = size + 2 * margin, size + margin
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    patches = np.zeros((len(chosen), top, side, side, x.shape[-1]), dtype=np.float32)
    for i, ch in enumerate(chosen):
        for j, image in enumerate(np.argsort(-summary["max"][:, ch], kind="stable")[:top]):
            row, col = divmod(int(summary["argmax"][image, ch]), width)
            # the field's top left in padded coordinates, less the margin
            r, c = row * jump + offset + pad - margin, col * jump + offset + pad - margin
            patches[i, j] = padded[image, r:r + side, c:c + side]
    return patches, chosen, (size, margin)


def equal_width(features: np.ndarray, width: int, layer: int) -> np.ndarray:
    """A layer's pooled features through a fixed random projection to `width` dimensions (Gaussian, the
    same for every run: seeded by the layer's position and width), so that a probe on a deep layer's 64
    channels and one on the first layer's 16 read the same number of features."""
    from suite.data import fixed_rng

    projection = fixed_rng("hierarchy-projection", layer, features.shape[1], width).standard_normal(
        (features.shape[1], width)) / np.sqrt(features.shape[1])
    return features @ projection


def held_out_labels(y: np.ndarray, classes: int) -> np.ndarray:
    """A labelling the network was not trained on: the classes split into two fixed halves (the same split
    for every run of a dataset with this many classes), each example labelled by its class's half."""
    from suite.data import fixed_rng

    half = fixed_rng("hierarchy-halves", classes).permutation(classes)[: classes // 2]
    return np.isin(y, half).astype(int)


def _unseen_classes(data, n_probe: int):
    """((x, y) of up to `n_probe` training-pool examples, (x, y) of as many test examples) of the classes
    of the same source the run's dataset left out (`suite.data.UNSEEN_CLASSES`, split as the run's own
    data, by its seed), or None where it has none."""
    from suite.data import UNSEEN_CLASSES, load_dataset

    if data.name not in UNSEEN_CLASSES:
        return None
    other = load_dataset(UNSEEN_CLASSES[data.name], split_seed=data.split_seed)
    return (other.x_pool[:n_probe], other.y_pool[:n_probe]), (other.x_test[:n_probe], other.y_test[:n_probe])


# 4: on a dataset with unseen classes of its source (MNIST-5k's 0-4), the held-out probe reads those
@register_probe("hierarchy", version=4)  # 2: depth_gain; 3: held-out labels on equal widths
def _hierarchy(model, objective, data, x_train, y_train, n_probe: int = 2000, n_patches: int = 1000) -> Measured:
    """What the convolution layers of an image model detect.

    Metrics: `edge_likeness` of the first layer's filters, and per convolution
    layer `probe_accuracy_layer<i>`: a linear probe on the layer's globally
    average-pooled activations (what it detects, not where), trained on up to
    `n_probe` examples of the run's training set and scored on up to
    `n_probe` test examples, and `depth_gain`, the last layer's probe minus the
    first's (how much depth adds; at initialisation too, so that a claim can
    compare the trained rise with the rise a random network already has). Those probes read the labels
    the head was trained on, and a deep layer's pooled features are what the head reads, on more
    channels: a claim on them can hardly fail. So the claims read `held_out_layer<i>` and
    `held_out_gain`: the same probe on classes the network never saw, where its dataset leaves some of
    its source's out (`suite.data.UNSEEN_CLASSES`: trained on MNIST-5k's 0-4, probed on 5-9), else on
    a labelling it was not trained on (`held_out_labels`: its classes in two fixed halves, which a
    network trained on them nearly separates by construction), on every layer's features projected to
    the first layer's width
    (`equal_width`). Arrays: the first layer's `filters`, and per
    layer `top_patches_layer<i>` (`top_patches` over `n_patches` test images)
    with `top_channels_layer<i>` and `receptive_field_layer<i>` (size, margin).
    """
    import keras

    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        return Measured()
    kernel = np.asarray(keras.ops.convert_to_numpy(convs[0].kernel))
    # the random-filter reference goes with the filters: the report draws both from the database
    measured = Measured(metrics={"edge_likeness": edge_likeness(kernel)},
                        arrays={"filters": kernel, "random_edge_likeness": np.asarray(random_edge_likeness(kernel.shape[0]))})
    x_train, y_train = x_train[:n_probe], y_train[:n_probe]
    x_test, y_test = data.x_test[:max(n_probe, n_patches)], data.y_test[:max(n_probe, n_patches)]
    summaries = layer_summaries(model, convs, np.concatenate([x_train, x_test]))
    n = len(x_train)
    for i, (layer, summary) in enumerate(zip(convs, summaries), start=1):
        measured.metrics[f"probe_accuracy_layer{i}"] = probe_accuracy(
            summary["mean"][:n], y_train, summary["mean"][n:n + n_probe], y_test[:n_probe])
        on_test = {k: v[n:n + n_patches] for k, v in summary.items()}
        patches, channels, field = top_patches(model, layer, on_test, x_test[:n_patches])
        measured.arrays[f"top_patches_layer{i}"] = patches
        measured.arrays[f"top_channels_layer{i}"] = channels
        measured.arrays[f"receptive_field_layer{i}"] = np.asarray(field)
    measured.metrics["depth_gain"] = (measured.metrics[f"probe_accuracy_layer{len(convs)}"]
                                      - measured.metrics["probe_accuracy_layer1"])
    classes = int(max(y_train.max(), y_test.max())) + 1
    width = summaries[0]["mean"].shape[1]
    unseen = _unseen_classes(data, n_probe)
    if unseen is not None:  # classes the network never saw: their own labels, through the same layers
        (ux, uy), (tx, ty) = unseen
        summaries, n, y_train, y_test = (layer_summaries(model, convs, np.concatenate([ux, tx])), len(ux),
                                         uy, ty)
        labels = lambda y: y  # noqa: E731
    else:  # a labelling the network was not trained on: a grouping of the classes it was
        labels = lambda y: held_out_labels(y, classes)  # noqa: E731
    for i, summary in enumerate(summaries, start=1):
        features = equal_width(summary["mean"], width, i)
        measured.metrics[f"held_out_layer{i}"] = probe_accuracy(
            features[:n], labels(y_train), features[n:n + n_probe], labels(y_test[:n_probe]))
    measured.metrics["held_out_gain"] = (measured.metrics[f"held_out_layer{len(convs)}"]
                                         - measured.metrics["held_out_layer1"])
    return measured


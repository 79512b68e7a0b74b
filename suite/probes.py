"""Probes: measurements of a model itself, taken at initialisation and after training.

A task lists probes by name (`Task.probes`); the runner calls each one twice
on the same model, once freshly initialised and once trained, and stores
what it returns (`Measured`): curves in the `series` table (named
`<name>/<when>`), numbers as metrics (`<when>/<name>`, so they sit beside
`test/accuracy` and claims can compare them) and small arrays, such as
filters and image patches, in the `arrays` table (`<name>/<when>`).

Probes see the model through `keras.layers` and `keras.Model` only, except
for gradients, which need the backend's own autodiff.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np


@dataclasses.dataclass
class Measured:
    """What one probe measured on one model.

    Args:
      series: name -> (x values, measured values), e.g. a norm per time step.
      metrics: name -> one number.
      arrays: name -> a small NumPy array (filters, patches) for the report.
    """

    series: dict = dataclasses.field(default_factory=dict)
    metrics: dict = dataclasses.field(default_factory=dict)
    arrays: dict = dataclasses.field(default_factory=dict)


# --- input gradients (sequence studies) ----------------------------------------------

def input_gradient_norms(model, objective, x, y) -> tuple[np.ndarray, np.ndarray]:
    """How much the loss depends on each time step of the input.

    For sequences (N, T, F): the norm over features of d loss_i / d x_i[t],
    averaged over the N examples, per time step t, returned against the
    distance from the last step (T - 1 - t). Vanishing gradients show as a
    norm that falls exponentially with that distance. Gradients need the
    backend's own autodiff (Keras has no backend-neutral `grad`).
    """
    import keras

    from suite.runner import make_loss

    loss_fn = make_loss(objective.loss)
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

        xt = torch.tensor(x, requires_grad=True, device=keras.src.backend.torch.core.get_device())
        total_loss(model(xt, training=False), torch.as_tensor(y, device=xt.device)).backward()
        grad = xt.grad.detach().cpu().numpy()
    else:  # pragma: no cover
        raise NotImplementedError(f"input gradients on backend {backend!r}")
    norms = np.linalg.norm(grad.reshape(n, grad.shape[1], -1), axis=2).mean(axis=0)
    steps = grad.shape[1]
    return np.arange(steps)[::-1].astype(float), norms


def _input_gradients(model, objective, data, x_train, y_train) -> Measured:
    """`input_gradient_norms` on 256 validation examples."""
    return Measured(series={"input_gradients": input_gradient_norms(model, objective, data.x_val[:256],
                                                                    data.y_val[:256])})


# --- the feature hierarchy of a CNN (image studies) ---------------------------------

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


def batched(model, x, batch: int = 500) -> list[np.ndarray]:
    """A model's outputs on `x` (a list, one array per output), called directly in batches.

    Not `predict`: probes build a new small model per call, and `predict`
    traces a new function for each (TensorFlow then warns about retracing).
    """
    from keras import ops

    parts = []
    for i in range(0, len(x), batch):
        out = model(x[i:i + batch], training=False)
        parts.append([ops.convert_to_numpy(o) for o in (out if isinstance(out, (list, tuple)) else [out])])
    return [np.concatenate(column) for column in zip(*parts)]


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


def probe_accuracy(train, y_train, test, y_test, scale: str = "feature") -> float:
    """Test accuracy of a linear probe: logistic regression (L2, C=1) on centred, scaled features.

    `scale="feature"` divides each feature by its own standard deviation;
    `scale="global"` divides all of them by one number (their overall
    standard deviation), which keeps their relative scales: then a rotation
    of the features (PCA with all components) gives the same probe as the
    features themselves, where per-feature scaling would whiten it and blow
    up its low-variance, noisy directions.
    """
    from sklearn.linear_model import LogisticRegression

    train, test = np.asarray(train, dtype=np.float64), np.asarray(test, dtype=np.float64)
    mean = train.mean(axis=0)
    centred = train - mean
    spread = centred.std(axis=0) if scale == "feature" else np.full(train.shape[1], np.sqrt((centred ** 2).mean()))
    spread = np.where(spread > 0, spread, 1.0)
    probe = LogisticRegression(max_iter=1000).fit(centred / spread, y_train)
    return float(probe.score((test - mean) / spread, y_test))


def _hierarchy(model, objective, data, x_train, y_train, n_probe: int = 2000, n_patches: int = 1000) -> Measured:
    """What the convolution layers of an image model detect.

    Metrics: `edge_likeness` of the first layer's filters, and per convolution
    layer `probe_accuracy_layer<i>`: a linear probe on the layer's globally
    average-pooled activations (what it detects, not where), trained on up to
    `n_probe` examples of the run's training set and scored on up to
    `n_probe` test examples. Arrays: the first layer's `filters`, and per
    layer `top_patches_layer<i>` (`top_patches` over `n_patches` test images)
    with `top_channels_layer<i>` and `receptive_field_layer<i>` (size, margin).
    """
    import keras

    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    if not convs:
        return Measured()
    kernel = np.asarray(keras.ops.convert_to_numpy(convs[0].kernel))
    measured = Measured(metrics={"edge_likeness": edge_likeness(kernel)}, arrays={"filters": kernel})
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
    return measured


# --- generative and self-supervised models -------------------------------------------

SAMPLE_SEED = 1234  # the same noise at initialisation and after training: paired samples


@functools.lru_cache(maxsize=4)
def _judge(name: str, data_dir=None):
    """The classifier that judges generated images: the suite's CNN trained on the dataset's pool.

    Fixed (seed 0, 600 steps, width 16, global pooling), so every run is
    judged by the same network; its pooled features are the space of the
    Frechet distance. Returns (features fn, predicted class fn, test accuracy).
    """
    import keras

    from suite.data import load_dataset
    from suite.models import build_model

    data = load_dataset(name, data_dir)
    keras.utils.set_random_seed(0)
    model = build_model("cnn", data.input_shape, data.num_outputs, width=16, head="gap")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    repeats = max(1, -(-600 * 64 // len(data.y_pool)))
    x, y = np.concatenate([data.x_pool] * repeats), np.concatenate([data.y_pool] * repeats)
    model.fit(x, y, batch_size=64, epochs=1, steps_per_epoch=600, verbose=0)
    accuracy = float(model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)["accuracy"])
    pooled = next(layer for layer in model.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D))
    features = keras.Model(model.input, pooled.output)
    return (lambda x: batched(features, x)[0], lambda x: batched(model, x)[0].argmax(axis=1), accuracy)


def _samples(model, objective, data, x_train, y_train, n_points: int = 2500, n_images: int = 1000) -> Measured:
    """What a generative model (one with `sample(n, seed)`) generates.

    On a mixture with known modes (`suite.data.MIXTURES`): `modes` covered
    and the `high_quality` share (`suite.generation.mode_coverage`), of
    `n_points` samples. On images: the `frechet_distance` to the test images
    in the feature space of a classifier trained on the same data, and the
    `classes` covered (classes given at least 2% of `n_images` samples by
    that classifier). Arrays: a few of the samples, for the report.
    """
    from suite.data import MIXTURES
    from suite.generation import frechet_distance, mode_coverage

    if not hasattr(model, "sample"):
        return Measured()
    if data.name in MIXTURES:
        mixture = MIXTURES[data.name]
        samples = model.sample(n_points, SAMPLE_SEED)
        coverage = mode_coverage(samples, mixture.centres, mixture.std)
        return Measured(metrics={"modes": coverage["modes"], "high_quality": coverage["high_quality"]},
                        arrays={"samples": samples[:1000].astype(np.float32)})
    features, classify, judge_accuracy = _judge(data.name)
    samples = model.sample(n_images, SAMPLE_SEED)
    counts = np.bincount(classify(samples), minlength=data.num_outputs)
    return Measured(
        metrics={"frechet_distance": frechet_distance(features(samples), features(data.x_test)),
                 "classes": int(np.sum(counts >= 0.02 * n_images)), "judge_accuracy": judge_accuracy},
        arrays={"samples": samples[:36].astype(np.float32)})


def labelled_subset(y, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of `per_class` examples of each class (fewer where a class has fewer), seeded."""
    order = np.random.default_rng(seed).permutation(len(y))
    return np.sort(np.concatenate([order[y[order] == c][:per_class] for c in np.unique(y)]))


_REFERENCES: dict = {}  # (dataset, width, label counts) -> the pixel and PCA probes, per process


def _reference_probes(data, width: int, label_counts: tuple) -> dict:
    """`probe_pixels_<k>` and `probe_pca_<k>` (PCA of `width` components, fitted to the pool).

    They depend on the data alone, not on the model: computed once per
    dataset, width and worker process instead of twice per run. `data` is
    one of `load_variant`'s cached datasets, so its identity names it.
    """
    from sklearn.decomposition import PCA

    key = (id(data), width, label_counts)
    if key not in _REFERENCES:
        flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
        pool, test = flat(data.x_pool), flat(data.x_test)
        pca = PCA(n_components=min(width, pool.shape[1]), random_state=0).fit(pool)
        spaces = {"pixels": (pool, test), "pca": (pca.transform(pool), pca.transform(test))}
        values = {}
        for k in label_counts:
            chosen = labelled_subset(data.y_pool, k)
            for space, (x_pool, x_test) in spaces.items():
                values[f"probe_{space}_{k}"] = probe_accuracy(x_pool[chosen], data.y_pool[chosen], x_test,
                                                              data.y_test, scale="global")
        _REFERENCES[key] = (data, values)  # the dataset is kept, so its id is not reused
    return _REFERENCES[key][1]


def _codes(model, objective, data, x_train, y_train, label_counts=(10, 100)) -> Measured:
    """What an autoencoder's code keeps (models with `encode(x)`).

    `reconstruction_mse` on the test split (models with `reconstruct`), and
    linear probes with few labels: for k in `label_counts`, a logistic
    regression trained on k labelled examples per class of the training pool
    and scored on the test split (features centred and scaled by one number,
    `probe_accuracy(scale="global")`), on the model's codes (`probe_code_<k>`),
    on the raw pixels (`probe_pixels_<k>`) and on PCA codes of the same width
    fitted to the whole pool without labels (`probe_pca_<k>`). The pixel and
    PCA probes do not depend on the model: they are the references the code
    is compared with, run by run. Arrays: 2-D maps of the test codes (their
    first two principal components when wider) with their labels, and a few
    reconstructions.
    """
    from sklearn.decomposition import PCA

    if not hasattr(model, "encode"):
        return Measured()
    codes_pool, codes_test = model.encode(data.x_pool), model.encode(data.x_test)
    width = codes_pool.shape[1]
    measured = Measured(metrics=dict(_reference_probes(data, width, tuple(label_counts))))
    for k in label_counts:
        chosen = labelled_subset(data.y_pool, k)
        measured.metrics[f"probe_code_{k}"] = probe_accuracy(codes_pool[chosen], data.y_pool[chosen], codes_test,
                                                             data.y_test, scale="global")
    if hasattr(model, "reconstruct"):
        reconstructed = model.reconstruct(data.x_test)
        measured.metrics["reconstruction_mse"] = float(np.mean((reconstructed - data.x_test) ** 2))
        measured.arrays["reconstructions"] = np.stack([data.x_test[:8], reconstructed[:8]]).astype(np.float32)
    plane = codes_test if width <= 2 else PCA(n_components=2, random_state=0).fit_transform(codes_test)
    measured.arrays["code_map"] = np.column_stack([plane[:1000], data.y_test[:1000]]).astype(np.float32)
    return measured


# probe name -> fn(model, objective, dataset, x_train, y_train) -> Measured
PROBES = {"input_gradients": _input_gradients, "hierarchy": _hierarchy, "samples": _samples, "codes": _codes}

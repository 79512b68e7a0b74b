"""What an autoencoder's code keeps: few-label linear probes on codes, pixels and PCA; reconstructions."""

from __future__ import annotations

import numpy as np

from suite.probes.core import Measured, dataset_fingerprint, probe_accuracy, register_probe


def labelled_subset(y, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of `per_class` examples of each class (fewer where a class has fewer), seeded."""
    order = np.random.default_rng(seed).permutation(len(y))
    return np.sort(np.concatenate([order[y[order] == c][:per_class] for c in np.unique(y)]))


_REFERENCES: dict = {}  # (dataset, width, label counts) -> the pixel and PCA probes, per process


def _reference_probes(data, width: int, label_counts: tuple, seed: int) -> dict:
    """`probe_pixels_<k>` and `probe_pca_<k>` (PCA of `width` components, fitted to the pool).

    They depend on the data and the seed's draw of labelled examples alone,
    not on the model: computed once per dataset, width, seed and worker
    process instead of twice per run.
    """
    from sklearn.decomposition import PCA

    key = (dataset_fingerprint(data), width, label_counts, seed)
    if key not in _REFERENCES:
        flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
        pool, test, val = flat(data.x_pool), flat(data.x_test), flat(data.x_val)
        pca = PCA(n_components=min(width, pool.shape[1]), random_state=0).fit(pool)
        spaces = {"pixels": (pool, test, val), "pca": (pca.transform(pool), pca.transform(test), pca.transform(val))}
        values = {"trust_pca": neighbourhoods_kept(test, spaces["pca"][1])}
        for k in label_counts:
            chosen = labelled_subset(data.y_pool, k, seed)
            for space, (x_pool, x_test, x_val) in spaces.items():
                values[f"probe_{space}_{k}"] = probe_accuracy(x_pool[chosen], data.y_pool[chosen], x_test,
                                                              data.y_test, scale="global",
                                                              validation=(x_val, data.y_val))
        _REFERENCES[key] = values
    return _REFERENCES[key]


TRUST_NEIGHBOURS = 5  # neighbours whose keeping trustworthiness scores (scikit-learn's default)
TRUST_POINTS = 1000  # test examples it is computed on (pairwise distances: quadratic in their number)


def neighbourhoods_kept(inputs, codes) -> float:
    """Trustworthiness (Venna and Kaski 2001; `sklearn.manifold.trustworthiness`) of `codes` as a map of
    `inputs`, on the first TRUST_POINTS test examples: 1 where each point's nearest neighbours among the
    codes are its nearest neighbours among the inputs, lower the more strangers the codes bring close.
    "Similar inputs map to nearby points", as a number."""
    from sklearn.manifold import trustworthiness

    inputs = np.asarray(inputs).reshape(len(inputs), -1)[:TRUST_POINTS]
    return float(trustworthiness(inputs, np.asarray(codes)[:TRUST_POINTS], n_neighbors=TRUST_NEIGHBOURS))


# 2: the labelled examples drawn per seed; 3: C chosen on validation; 4: trustworthiness of code and PCA
@register_probe("codes", version=4)
def _codes(model, objective, data, x_train, y_train, label_counts=(10, 100), seed: int = 0) -> Measured:
    """What an autoencoder's code keeps (models with `encode(x)`).

    `reconstruction_mse` on the test split (models with `reconstruct`), and
    linear probes with few labels: for k in `label_counts`, a logistic
    regression trained on k labelled examples per class of the training pool
    (drawn anew for each run's `seed`, so that the intervals over seeds hold
    the variance of that draw too; code, pixel and PCA probes of a run see the
    same draw), its regularisation chosen on the validation split, and scored on the test split
    (features centred and scaled by one number, `probe_accuracy(scale="global")`), on the model's codes (`probe_code_<k>`),
    on the raw pixels (`probe_pixels_<k>`) and on PCA codes of the same width
    fitted to the whole pool without labels (`probe_pca_<k>`); and how well
    the code keeps the test inputs' neighbourhoods, `trust_code`, beside
    PCA's of the same width, `trust_pca` (`neighbourhoods_kept`). The pixel and
    PCA probes do not depend on the model: they are the references the code
    is compared with, run by run. Arrays: 2-D maps of the test codes (their
    first two principal components when wider) with their labels, and a few
    reconstructions.
    """
    from sklearn.decomposition import PCA

    if not hasattr(model, "encode"):
        return Measured()
    codes_pool, codes_test, codes_val = model.encode(data.x_pool), model.encode(data.x_test), model.encode(data.x_val)
    width = codes_pool.shape[1]
    measured = Measured(metrics=dict(_reference_probes(data, width, tuple(label_counts), seed)))
    measured.metrics["trust_code"] = neighbourhoods_kept(data.x_test, codes_test)
    for k in label_counts:
        chosen = labelled_subset(data.y_pool, k, seed)
        measured.metrics[f"probe_code_{k}"] = probe_accuracy(codes_pool[chosen], data.y_pool[chosen], codes_test,
                                                             data.y_test, scale="global",
                                                             validation=(codes_val, data.y_val))
    if hasattr(model, "reconstruct"):
        reconstructed = model.reconstruct(data.x_test)
        measured.metrics["reconstruction_mse"] = float(np.mean((reconstructed - data.x_test) ** 2))
        measured.arrays["reconstructions"] = np.stack([data.x_test[:8], reconstructed[:8]]).astype(np.float32)
    plane = codes_test if width <= 2 else PCA(n_components=2, random_state=0).fit_transform(codes_test)
    measured.arrays["code_map"] = np.column_stack([plane[:1000], data.y_test[:1000]]).astype(np.float32)
    return measured


# probe name -> fn(model, objective, dataset, x_train, y_train) -> Measured

INTERPOLATION_PAIRS = 100  # pairs of test images of different classes, drawn per seed
INTERPOLATION_POINTS = 9  # points along each path, both ends included (alpha = 0, 1/8, ..., 1)
_PIXEL_JUDGES: dict = {}  # dataset fingerprint -> the classifier that judges decoded images, per process


def pixel_judge(data):
    """A logistic regression on the training pool's pixels (C chosen on validation, as the probes choose
    it), fitted once per dataset and process: the judge of what a decoded image shows. It does not depend
    on the model, so every autoencoder is judged by the same classifier. (A linear judge, where the generation
    study's `suite.probes.samples.judge` trains a CNN: this one is fitted per seed's split in quick.)"""
    from sklearn.linear_model import LogisticRegression

    key = dataset_fingerprint(data)
    if key not in _PIXEL_JUDGES:
        flat = lambda a: np.asarray(a, dtype=np.float64).reshape(len(a), -1)  # noqa: E731
        fits = [LogisticRegression(C=c, max_iter=1000).fit(flat(data.x_pool), data.y_pool) for c in (0.1, 1.0)]
        best = max(fits, key=lambda f: f.score(flat(data.x_val), data.y_val))
        _PIXEL_JUDGES[key] = lambda x: best.predict_proba(flat(x))
    return _PIXEL_JUDGES[key]


def path_confidence(judge, path) -> np.ndarray:
    """The judge's confidence (its largest class probability) at each point of each path:
    `path` (pairs, points, *image) -> (pairs, points)."""
    pairs, points = path.shape[:2]
    return judge(path.reshape(pairs * points, *path.shape[2:])).max(axis=1).reshape(pairs, points)


def interpolation_pairs(y, n: int, seed: int) -> np.ndarray:
    """`n` pairs of indices into `y` whose labels differ, drawn with `seed`."""
    rng = np.random.default_rng(seed)
    first, second = rng.integers(len(y), size=(2, 4 * n))
    keep = y[first] != y[second]
    return np.column_stack([first[keep], second[keep]])[:n]


@register_probe("interpolations")
def _interpolations(model, objective, data, x_train, y_train, seed: int = 0) -> Measured:
    """Decoded interpolations between the codes of two test images of different classes (models with
    `encode` and `decode`), judged by a classifier of the pixels (`pixel_judge`).

    The lesson's "a smooth latent space enables generation", as numbers: along a straight path between two
    codes, do the decoded images stay images the judge recognises as a digit? `interp_confidence` is the
    judge's mean confidence at the path's inner points (INTERPOLATION_POINTS - 2 of them), `interp_ends` at
    its two ends (the two reconstructions), and `interp_kept` their ratio: how much of the confidence the
    path keeps between the ends, which a blurred reconstruction does not lower by itself.
    `interp_kept_pixels` is the same ratio for the cross-fade of the two images in pixel space, the path
    that needs no model. Pairs are drawn per seed. Array: the decoded path of the first pair.
    """
    if not (hasattr(model, "encode") and hasattr(model, "decode")):
        return Measured()
    pairs = interpolation_pairs(data.y_test, INTERPOLATION_PAIRS, seed)
    alphas = np.linspace(0.0, 1.0, INTERPOLATION_POINTS).reshape(1, -1, 1)
    codes = model.encode(data.x_test[pairs.ravel()]).reshape(len(pairs), 2, -1)
    inner = codes[:, :1] * (1 - alphas) + codes[:, 1:] * alphas  # (pairs, points, width)
    decoded = model.decode(inner.reshape(-1, inner.shape[-1])).reshape(len(pairs), INTERPOLATION_POINTS,
                                                                         *data.input_shape)
    ends = data.x_test[pairs]  # (pairs, 2, *image)
    shape = (1, -1) + (1,) * len(data.input_shape)
    faded = ends[:, :1] * (1 - alphas.reshape(shape)) + ends[:, 1:] * alphas.reshape(shape)
    judge = pixel_judge(data)
    metrics = {}
    for name, path in (("", decoded), ("_pixels", faded)):
        confidence = path_confidence(judge, path)
        middle, end = confidence[:, 1:-1].mean(), confidence[:, [0, -1]].mean()
        metrics[f"interp_kept{name}"] = float(middle / end)
        if not name:
            metrics.update(interp_confidence=float(middle), interp_ends=float(end))
    return Measured(metrics=metrics, arrays={"interpolation": decoded[0].astype(np.float32)})

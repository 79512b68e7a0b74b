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
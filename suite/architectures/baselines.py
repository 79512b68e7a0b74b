"""Classical baselines (scikit-learn), run like the networks: same subsets, seeds and splits.

Each builder takes the run's `seed` and training-set size `n_train` and
returns an unfitted classifier.
"""

from __future__ import annotations

from suite.architectures.core import register_architecture


@register_architecture(
    "hgb", "Histogram gradient-boosted trees (scikit-learn HistGradientBoostingClassifier, defaults).",
    framework="sklearn",
)
def build_hgb(input_shape, num_classes, seed=0, n_train=None, **hparams):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed, **hparams)


@register_architecture(
    "logreg", "Logistic regression (scikit-learn, L2, C=1, multinomial).", framework="sklearn",
)
def build_logreg(input_shape, num_classes, seed=0, n_train=None, **hparams):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, random_state=seed, **hparams)


@register_architecture(
    "knn", "k-nearest neighbours (scikit-learn, k=5, Euclidean; fewer when the training set is smaller).",
    framework="sklearn",
)
def build_knn(input_shape, num_classes, seed=0, n_train=None, n_neighbors=5, **hparams):
    from sklearn.neighbors import KNeighborsClassifier

    # k cannot exceed the training set
    return KNeighborsClassifier(n_neighbors=min(n_neighbors, n_train or n_neighbors), **hparams)

"""Classical baselines (scikit-learn), run like the networks: same subsets, seeds and splits.

Each builder takes the run's `seed` and training-set size `n_train` and
returns an unfitted classifier. Each is tuned per run on the networks'
validation split over a small grid (`grid`: per parameter, its values from
the simplest model to the most flexible; the order of the parameters breaks
ties): the runner fits every point on the run's training subset and keeps
the most accurate on the validation split (`suite.training.trainer.fit_tuned`).

The grids' sources: Grinsztajn, Oyallon and Varoquaux 2022 ("Why do
tree-based models still outperform deep learning on tabular data?", NeurIPS
Datasets and Benchmarks; their search space for HistGradientBoosting,
published with their code: github.com/LeoGrin/tabular-benchmark,
src/configs/model_configs/hgbt_config.py, taken from Hyperopt-sklearn
"except when mentioned");
Hyperopt-sklearn (Komer, Bergstra and Eliasmith 2014) for k-nearest
neighbours; scikit-learn's `LogisticRegressionCV` default grid for C. Each
grid keeps a few values of its source's range, so that a run on 3,500
MNIST images stays affordable (timings: docs/architectures.md).
"""

from __future__ import annotations

from suite.architectures.core import register_architecture

# Trees: min_samples_leaf 20 is scikit-learn's default and the centre of Grinsztajn et al.'s space
# (a normal around 20, for tables of about 10,000 rows); on 50 rows it allows two leaves, so also 5
# and 2, from Hyperopt-sklearn's range (1, or 2 to 50 log-uniform). max_leaf_nodes 31 is the default
# and their centre (a normal around 31); 4 is a depth-2 tree, the shallow trees their max_depth draws
# (2, 3 or 4 in 90% of draws). Their learning rate is log-normal around 0.01 for up to 1,000 boosting
# iterations with early stopping; at scikit-learn's 100 iterations, kept here, the same total shrinkage
# (iterations x rate) centres on 0.1, the default, and 0.3 serves the small trees that 100 steps of
# 0.1 leave short. Ties go to the larger min_samples_leaf, then the fewer leaves, then the lower rate.
HGB_GRID = {"min_samples_leaf": (20, 5, 2), "max_leaf_nodes": (4, 31), "learning_rate": (0.1, 0.3)}
# Logistic regression: the middle five of LogisticRegressionCV's default Cs (10 values from 1e-4 to
# 1e4, log-spaced); the smaller C (the stronger L2 penalty) is the simpler model.
LOGREG_GRID = {"C": (0.01, 0.1, 1.0, 10.0, 100.0)}
# k-nearest neighbours: odd k (no tied vote between two classes), roughly log-spaced over
# Hyperopt-sklearn's range (1 to 50, log-uniform); the larger k (the smoother vote) is the simpler.
KNN_GRID = {"n_neighbors": (45, 25, 15, 9, 5, 3, 1)}


@register_architecture(
    "hgb", "Histogram gradient-boosted trees (scikit-learn HistGradientBoostingClassifier, 100 iterations; "
    "min_samples_leaf, max_leaf_nodes and learning_rate tuned on the validation split).",
    framework="sklearn", version=2, grid=HGB_GRID,
)
def build_hgb(input_shape, num_classes, seed=0, n_train=None, **hparams):
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(random_state=seed, **hparams)


@register_architecture(
    "logreg", "Logistic regression (scikit-learn, L2, multinomial; C tuned on the validation split).",
    framework="sklearn", version=2, grid=LOGREG_GRID,
)
def build_logreg(input_shape, num_classes, seed=0, n_train=None, **hparams):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, random_state=seed, **hparams)


@register_architecture(
    "knn", "k-nearest neighbours (scikit-learn, Euclidean; k tuned on the validation split, at most the "
    "training-set size).",
    framework="sklearn", version=2, grid=KNN_GRID,
)
def build_knn(input_shape, num_classes, seed=0, n_train=None, n_neighbors=5, **hparams):
    from sklearn.neighbors import KNeighborsClassifier

    # k cannot exceed the training set
    return KNeighborsClassifier(n_neighbors=min(n_neighbors, n_train or n_neighbors), **hparams)

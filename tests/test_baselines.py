"""The classical baselines' tuning: grids, the choice rule, the stored values and their table."""

import numpy as np
import pandas as pd
import pytest

from suite.architectures import ARCHITECTURES, Architecture, get_architecture

pytest.importorskip("keras")
from suite.training.trainer import fit_tuned  # noqa: E402  (imports Keras)

BASELINES = [a.name for a in ARCHITECTURES.values() if a.framework == "sklearn"]


class Stub:
    """An estimator whose validation probabilities are given per grid point, counting its fits."""

    fits = 0

    def __init__(self, proba, **params):
        self.proba, self.params = np.asarray(proba, dtype=float), params

    def get_params(self):
        return dict(self.params)

    def fit(self, x, y):
        Stub.fits += 1
        self.classes_ = np.arange(self.proba.shape[1])
        return self

    def predict_proba(self, x):
        return self.proba


def stub_search(probas: dict, y_val):
    """fit_tuned over points {"p": name} in the order of `probas` (simplest first)."""
    Stub.fits = 0
    points = [{"p": name} for name in probas]
    return fit_tuned(lambda p: Stub(probas[p], p=p), points, np.zeros((2, 1)), np.array([0, 1]),
                     np.zeros((len(y_val), 1)), np.asarray(y_val), 2)


RIGHT, SURE, UNSURE, WRONG = [0.9, 0.1], [0.99, 0.01], [0.6, 0.4], [0.2, 0.8]


def test_the_most_accurate_point_wins_even_when_it_is_not_the_simplest():
    y = [0, 0, 0]
    _, chosen, accuracy = stub_search({"simple": [RIGHT, RIGHT, WRONG], "flexible": [UNSURE] * 3}, y)
    assert chosen == {"p": "flexible"} and accuracy == 1.0


def test_equal_accuracy_goes_to_the_lower_validation_cross_entropy():
    y = [0, 0]
    _, chosen, _ = stub_search({"simple": [UNSURE] * 2, "flexible": [SURE] * 2}, y)
    assert chosen == {"p": "flexible"}


def test_equal_accuracy_and_cross_entropy_go_to_the_simplest_point():
    y = [0, 1]
    flipped = [RIGHT, RIGHT[::-1]]
    # a difference far below the tie's tolerance decides nothing
    nudged = [[0.9 + 1e-12, 0.1 - 1e-12], RIGHT[::-1]]
    _, chosen, accuracy = stub_search({"simple": flipped, "middle": nudged, "flexible": flipped}, y)
    assert chosen == {"p": "simple"} and accuracy == 1.0


def test_points_that_build_the_same_estimator_are_fitted_once():
    probas = {"a": [RIGHT], "b": [RIGHT]}
    Stub.fits = 0
    fit_tuned(lambda p: Stub(probas[p], p="same"), [{"p": "a"}, {"p": "b"}], np.zeros((2, 1)), np.array([0, 1]),
              np.zeros((1, 1)), np.array([0]), 2)
    assert Stub.fits == 1


@pytest.mark.parametrize("arch", BASELINES)
def test_every_baseline_has_a_grid_ordered_simplest_first(arch):
    a = get_architecture(arch)
    assert a.grid and a.version >= 2  # tuned baselines supersede the untuned runs (their run keys change)
    points = a.grid_points()
    assert len(points) == int(np.prod([len(values) for _, values in a.grid]))
    first, *_ = a.grid
    # the first parameter varies slowest: every point with its first value comes before any other
    assert [p[first[0]] for p in points] == sorted((p[first[0]] for p in points), key=first[1].index)
    fixed = {first[0]: first[1][0]}
    assert all(first[0] not in p for p in a.grid_points(fixed=fixed))  # a task's own value is not searched


def test_only_scikit_learn_builders_take_a_grid():
    with pytest.raises(ValueError, match="only scikit-learn builders take a grid"):
        Architecture("x", lambda *a: None, "x", grid=(("width", (8, 16)),))


def test_knn_never_tries_more_neighbours_than_training_examples():
    from suite.architectures import build_model
    from suite.data import load_variant, subsample

    data = load_variant("wine", "natural")
    x, y = subsample(data, 6, 0)
    flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
    Stub.fits = 0
    estimator, chosen, accuracy = fit_tuned(
        lambda **p: build_model("knn", data.input_shape, data.num_outputs, seed=0, n_train=len(y), **p),
        get_architecture("knn").grid_points(), flat(x), y, flat(data.x_val), data.y_val, data.num_outputs)
    assert chosen["n_neighbors"] <= len(y) and estimator.n_neighbors == chosen["n_neighbors"]
    assert 0 <= accuracy <= 1


def test_the_study_page_shows_each_baselines_chosen_values():
    from suite.report.figures import FIGURES
    from suite.report.figures.baselines import tuned_values

    rows = [{"model": "knn", "baseline": True, "dataset": "wine", "variant": "natural", "n_train": 50, "seed": s,
             "metric": "tuned/n_neighbors", "value": k} for s, k in enumerate((5, 5, 9))]
    rows += [{"model": "mlp", "baseline": False, "dataset": "wine", "variant": "natural", "n_train": 50, "seed": 0,
              "metric": "test/accuracy", "value": 0.9}]
    tidy = pd.DataFrame(rows)
    values = tuned_values(tidy)
    assert values.to_dict("records") == [{"model": "knn", "dataset": "wine", "variant": "natural", "n_train": 50,
                                          "parameter": "n_neighbors", "runs": 3, "chosen": "5 x2, 9 x1"}]
    figures = FIGURES["tuned_baselines"](tidy, {}, None)
    assert [f["title"] for f in figures] == ["Tuned hyperparameters: knn"] and "5 x2, 9 x1" in figures[0]["table"]
    assert FIGURES["tuned_baselines"](tidy[~tidy["baseline"]], {}, None) == []  # no baseline, no table

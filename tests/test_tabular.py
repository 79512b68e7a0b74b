"""Tables, their perturbations, the scikit-learn baselines and the `tabular` study (issue 4)."""

import json
import re

import numpy as np
import pytest

from suite.data import (column_permutation, informative_table, load_dataset, load_variant,
                        make_splits, piecewise_table, random_rotation, standardise)

TABLES = ("breast_cancer", "wine", "penguins", "synth_informative", "synth_smooth", "synth_piecewise")


@pytest.mark.parametrize("name,features,classes", [
    ("breast_cancer", 30, 2), ("wine", 13, 3), ("penguins", 9, 3),
    ("synth_informative", 20, 2), ("synth_smooth", 8, 2), ("synth_piecewise", 8, 2),
])
def test_tables_load_offline_standardised_on_the_pool(name, features, classes):
    d = load_dataset(name)
    assert d.input_shape == (features,) and d.num_outputs == classes
    assert d.x_pool.dtype == np.float32 and np.isfinite(d.x_pool).all()
    assert len(d.y_pool) >= 120 and len(d.y_test) >= 30
    numeric = slice(0, 4) if name == "penguins" else slice(None)  # penguins: then 5 one-hot columns
    assert np.allclose(d.x_pool[:, numeric].mean(axis=0), 0, atol=1e-5)
    assert np.allclose(d.x_pool[:, numeric].std(axis=0), 1, atol=1e-4)


def test_penguins_categories_are_one_hot_and_numbers_standardised():
    from palmerpenguins import load_penguins

    d = load_dataset("penguins")
    raw = load_penguins().dropna()
    assert len(d.y_pool) + len(d.y_val) + len(d.y_test) == len(raw) == 333
    numeric, onehot = d.x_pool[:, :4], np.concatenate([d.x_pool[:, 4:], d.x_test[:, 4:]])
    assert np.allclose(numeric.mean(axis=0), 0, atol=1e-5) and np.allclose(numeric.std(axis=0), 1, atol=1e-4)
    assert set(np.unique(onehot)) == {0.0, 1.0}
    # 3 islands and 2 sexes: each example has exactly one of each
    assert (onehot[:, :3].sum(axis=1) == 1).all() and (onehot[:, 3:].sum(axis=1) == 1).all()


def test_scaling_is_fitted_on_the_training_pool_only():
    """Were the scaler fitted on all splits, shifting the test split would move the pool's scaling."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(5.0, 2.0, (300, 3)), rng.integers(0, 2, 300)
    x_test = rng.normal(5.0, 2.0, (100, 3)) + 50.0  # a test split far from the training data
    d = standardise(make_splits("t", x, y, test=(x_test, rng.integers(0, 2, 100))), np.ones(3, bool))
    assert np.allclose(d.x_pool.mean(axis=0), 0, atol=1e-5) and np.allclose(d.x_pool.std(axis=0), 1, atol=1e-4)
    raw = make_splits("t", x, y, test=(x_test, np.zeros(100)))
    mean, std = raw.x_pool.mean(axis=0), raw.x_pool.std(axis=0)
    assert np.allclose(d.x_test, (raw.x_test - mean) / std, atol=1e-4)  # the pool's statistics
    assert np.allclose(d.x_val, (raw.x_val - mean) / std, atol=1e-4)
    assert (d.x_test.mean(axis=0) > 20).all()  # the shift is kept, not scaled away
    # columns marked categorical are left as they are
    kept = standardise(raw, np.array([True, False, True]))
    assert np.array_equal(kept.x_pool[:, 1], raw.x_pool[:, 1])


@pytest.mark.parametrize("variant", ["reordered", "rotated"])
def test_reordering_and_rotation_are_fixed_per_seed_invertible_and_the_same_for_every_split(variant):
    natural = load_variant("wine", "natural")
    first, again, other = (load_variant("wine", variant, seed=s) for s in (0, 0, 1))
    assert np.array_equal(first.x_pool, again.x_pool)  # fixed per seed
    assert not np.allclose(first.x_pool, other.x_pool)  # a new draw for another seed
    assert np.array_equal(first.y_test, natural.y_test)
    features = natural.input_shape[0]
    for seed, d in ((0, first), (1, other)):
        if variant == "reordered":
            perm = column_permutation(features, "wine", seed)
            inverse = np.argsort(perm)
            undo = lambda x: x[:, inverse]  # noqa: E731
        else:
            rotation = random_rotation(features, "wine", seed)
            assert np.allclose(rotation @ rotation.T, np.eye(features), atol=1e-5)
            undo = lambda x: x @ rotation.T  # noqa: E731
        # the one transform undone recovers every split of the seed's own split: train and test saw the same
        # transform
        plain = load_variant("wine", "natural", seed=seed)
        for split in ("x_pool", "x_val", "x_test"):
            assert np.allclose(undo(getattr(d, split)), getattr(plain, split), atol=1e-4), split


def test_uninformative_columns_are_appended_noise_fixed_per_seed():
    natural = load_variant("wine", "natural", seed=2)  # the same seed: the same split
    noisy, again = load_variant("wine", "uninformative", seed=2), load_variant("wine", "uninformative", seed=2)
    features = natural.input_shape[0]
    assert noisy.input_shape == (2 * features,)
    for split in ("x_pool", "x_val", "x_test"):
        assert np.array_equal(getattr(noisy, split)[:, :features], getattr(natural, split))
    assert np.array_equal(noisy.x_test, again.x_test)
    noise = noisy.x_pool[:, features:]
    assert abs(noise.mean()) < 0.1 and abs(noise.std() - 1) < 0.1
    # uncorrelated with the label
    assert max(abs(np.corrcoef(noise[:, j], noisy.y_pool)[0, 1]) for j in range(features)) < 0.35


def test_table_perturbations_refuse_images():
    with pytest.raises(ValueError, match="'rotated' needs a table"):
        load_variant("digits", "rotated", seed=0)


def test_generated_tables_have_the_structure_we_control():
    x, y = informative_table(n=500)
    # columns 12..19 are noise: no better than chance for a split on their own
    informative = max(abs(np.corrcoef(x[:, j], y)[0, 1]) for j in range(6))
    noise = max(abs(np.corrcoef(x[:, j], y)[0, 1]) for j in range(12, 20))
    assert informative > 0.2 and noise < 0.15
    xp, yp = piecewise_table(n=500)
    assert set(np.unique(yp)) == {0, 1} and np.array_equal(piecewise_table(n=500)[1], yp)


# --- models and baselines ----------------------------------------------------------

def test_baseline_runs_through_the_runner_like_a_network():
    pytest.importorskip("keras")
    from suite.architectures import get_architecture
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec, Trainer

    trainer = Trainer("CPU (test)")
    results = {}
    for arch in ("hgb", "logreg", "knn"):
        task = Task(name=f"t/wine/rotated/{arch}", study="t", dataset="wine", arch=arch, variant="rotated")
        result = trainer.run(RunSpec(task, 40, 1, {}, BUDGETS["smoke"], "smoke", "tensorflow"))
        row, metrics = result.record, result.metrics
        assert row.status == "ok" and row.arch == arch and row.train_seconds > 0 and row.framework == "sklearn"
        assert 0.0 <= metrics["test/accuracy"] <= 1.0 and np.isfinite(metrics["test/loss"])
        assert "test/skill" in metrics and "test/baseline_accuracy" in metrics
        assert json.loads(row.config_json)["framework"] == "sklearn"
        # tuned on the validation split: every parameter of its grid chosen from the grid, and stored
        grid = dict(get_architecture(arch).grid)
        tuned = {k[len("tuned/"):]: v for k, v in metrics.items() if k.startswith("tuned/")}
        assert set(tuned) == set(grid) and all(tuned[k] in grid[k] for k in grid)
        assert 0 <= metrics["val/accuracy"] <= 1
        results[arch] = metrics["test/accuracy"]
    assert results["logreg"] > 0.8  # wine is easy for a linear model, even rotated


def test_knn_on_a_training_set_smaller_than_k():
    pytest.importorskip("keras")
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec, Trainer

    task = Task(name="t/wine/natural/knn", study="t", dataset="wine", arch="knn")
    result = Trainer("cpu").run(RunSpec(task, 3, 0, {}, BUDGETS["smoke"], "smoke", "tensorflow"))
    assert result.ok and 0 <= result.metrics["test/accuracy"] <= 1
    assert result.metrics["tuned/n_neighbors"] <= 3


def test_ft_transformer_ignores_column_order_given_its_tokens():
    """Reordering the columns and the tokenizer's per-feature weights alike leaves the output unchanged."""
    keras = pytest.importorskip("keras")
    from suite.architectures import build_model

    model = build_model("ft_transformer", (6,), 3, width=8)
    x = np.random.default_rng(0).standard_normal((5, 6)).astype("float32")
    perm = np.array([3, 0, 5, 1, 4, 2])
    before = model.predict(x, verbose=0)
    tokenizer = model.get_layer("feature_tokenizer")
    tokenizer.weight.assign(keras.ops.convert_to_numpy(tokenizer.weight)[perm])
    tokenizer.bias.assign(keras.ops.convert_to_numpy(tokenizer.bias)[perm])
    assert np.allclose(model.predict(x[:, perm], verbose=0), before, atol=1e-5)


def test_tabular_study_writes_its_section_heatmap_baselines_and_verdicts(smoke_run):
    html, query = smoke_run.html, smoke_run.query
    assert 'id="study-tabular"' in html
    for text in ("Sensitivity to each perturbation", "Learning curves: test/accuracy", "Grinsztajn",
                 "change in the metric from variant natural to rotated"):
        assert text in html, text
    from suite.studies import REGISTRY, load_builtin_studies

    load_builtin_studies()
    study = REGISTRY.study("tabular")
    # every task a claim, gate or figure reads (`suite.reads`), on every seed of the profile; no other
    from suite.reads import study_reads

    rows = query("SELECT arch, variant, COUNT(DISTINCT seed) FROM runs WHERE study = 'tabular' AND status = 'ok' "
                 "AND kind = 'eval' GROUP BY arch, variant")
    planned = [t for t in REGISTRY.tasks("tabular") if t.dataset in study.datasets["smoke"]]
    read = study_reads(study, planned)
    assert 0 < len(read) < len(planned)
    assert {(a, v) for a, v, _ in rows} == {(t.arch, t.variant) for t in planned if t.name in read}
    assert all(n == study.seeds["smoke"] for _, _, n in rows)
    # verdicts come with intervals over the seeds
    assert re.search(r"<td>\[[+-]\d\.\d{3}, [+-]\d\.\d{3}\]</td>", html)

"""Sequence pieces (issue 3, first increment): generators, the time permutation, builders."""

import numpy as np
import pytest

from suite.data import adding_problem, permute_time_steps, time_permutation


def test_adding_target_is_the_sum_of_the_marked_values():
    x, y = adding_problem(200, 30, seed=1)
    assert x.shape == (200, 30, 2) and y.shape == (200,)
    assert np.array_equal(x[..., 1].sum(axis=1), np.full(200, 2.0))  # exactly two markers
    np.testing.assert_allclose(y, (x[..., 0] * x[..., 1]).sum(axis=1), rtol=1e-6)
    first = x[..., 1].argmax(axis=1)
    assert (first < 15).all()  # one marker in each half
    assert ((x[..., 1][:, 15:]).sum(axis=1) == 1).all()


def test_adding_trivial_baseline_mse_is_about_a_sixth():
    _, y = adding_problem(200_000, 10, seed=0)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.003)


def test_adding_problem_is_seeded():
    a, b = adding_problem(10, 20, seed=3), adding_problem(10, 20, seed=3)
    assert np.array_equal(a[0], b[0]) and not np.array_equal(a[0], adding_problem(10, 20, seed=4)[0])
    with pytest.raises(ValueError, match="Received: steps=1"):
        adding_problem(5, 1, seed=0)


def test_time_permutation_is_fixed_a_bijection_and_keeps_features_together():
    p = time_permutation(50, "gunpoint")
    assert np.array_equal(p, time_permutation(50, "gunpoint"))
    assert np.array_equal(np.sort(p), np.arange(50)) and not np.array_equal(p, np.arange(50))
    x, _ = adding_problem(4, 50, seed=0)
    xp = permute_time_steps(x, p)
    assert np.array_equal(xp[:, 0, :], x[:, p[0], :])
    assert np.array_equal(permute_time_steps(xp, np.argsort(p)), x)


keras = pytest.importorskip("keras")
from suite.models import ARCHITECTURES, build_model, fit_width  # noqa: E402

SEQUENCE_ARCHS = sorted(a.name for a in ARCHITECTURES.values() if a.inputs in ("sequence", "any"))


def test_sequence_architectures_of_issue_3_are_registered():
    assert set(SEQUENCE_ARCHS) == {"rnn", "lstm", "gru", "tcn", "transformer", "mlp"}


@pytest.mark.parametrize("arch", SEQUENCE_ARCHS)
def test_sequence_builders_build_and_take_one_training_step(arch):
    x, y = adding_problem(8, 20, seed=0)
    model = build_model(arch, (20, 2), 1, width=8)
    assert not model.compiled
    model.compile(optimizer="adam", loss="mse")
    assert model.predict(x, verbose=0).shape == (8, 1)
    before = [w.copy() for w in model.get_weights()]
    assert np.isfinite(model.train_on_batch(x, y))
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_sequence_parameter_counts_match_within_2x():
    counts = [build_model(a, (50, 2), 1, width=fit_width(a, (50, 2), 1, 20_000)).count_params()
              for a in SEQUENCE_ARCHS]
    assert max(counts) <= 2 * min(counts), counts


def test_tcn_receptive_field_covers_the_sequence():
    model = build_model("tcn", (40, 1), 1, width=4)
    dilations = [l.dilation_rate[0] for l in model.layers
                 if isinstance(l, keras.layers.Conv1D) and l.kernel_size[0] == 3]
    assert 1 + 2 * sum(dilations) >= 40
    # the output at the last step depends on the first input step
    x = np.zeros((1, 40, 1), "float32")
    x2 = x.copy()
    x2[0, 0, 0] = 1.0
    assert not np.allclose(model.predict(x, verbose=0), model.predict(x2, verbose=0))


def test_adding_dataset_splits_without_stratification():
    from suite.data import load_dataset, subsample

    d = load_dataset("adding_T10")
    assert d.target == "value" and d.num_outputs == 1 and d.input_shape == (10, 2)
    assert d.y_pool.dtype == np.float32
    assert len(d.y_pool) + len(d.y_val) + len(d.y_test) == 7000
    x, y = subsample(d, 50, seed=0)
    assert x.shape == (50, 10, 2) and np.array_equal(y, subsample(d, 50, seed=0)[1])


def test_regression_runs_through_the_runner():
    from suite.registry import Task
    from suite.runner import BUDGETS, RunSpec, Trainer

    task = Task(name="t/adding/gru", study="t", dataset="adding_T10", arch="gru",
                objective="regression", metric="test/loss", higher_is_better=False)
    row, metrics, history = Trainer("cpu").run(RunSpec(task, 100, 0, {"width": 8}, BUDGETS["smoke"],
                                                       "smoke", "tensorflow"))
    assert row["status"] == "ok"
    assert set(metrics) >= {"test/loss", "test/mae"}
    assert 0 < metrics["test/loss"] < 2.0 and np.isfinite(metrics["test/mae"])
    assert "val_loss" in history

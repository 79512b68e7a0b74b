"""Sequence pieces (issue 3, first increment): generators, the time permutation, builders."""

import json
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
from suite.architectures import build_model, fit_width, keras_architectures  # noqa: E402

SEQUENCE_ARCHS = keras_architectures("sequence", "any")


def test_the_sequence_families_are_registered():
    # the recurrent, convolutional and attention families the studies compare (more may be added)
    assert set(SEQUENCE_ARCHS) >= {"rnn", "lstm", "gru", "tcn", "transformer", "mlp"}


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
    # the output at the last step depends on the first input step (random
    # inputs, so that the ReLUs along the path are active)
    keras.utils.set_random_seed(0)
    model = build_model("tcn", (40, 1), 1, width=16)
    x = np.random.default_rng(0).normal(size=(4, 40, 1)).astype("float32")
    x2 = x.copy()
    x2[:, 0, 0] += 1.0
    assert not np.allclose(model.predict(x, verbose=0), model.predict(x2, verbose=0))


def test_adding_dataset_splits_without_stratification():
    from suite.data import load_dataset, subsample

    d = load_dataset("adding_T10")
    assert d.target == "value" and d.num_outputs == 1 and d.input_shape == (10, 2)
    assert d.y_pool.dtype == np.float32
    assert len(d.y_pool) + len(d.y_val) + len(d.y_test) == 7000
    x, y = subsample(d, 50, seed=0)
    assert x.shape == (50, 10, 2) and np.array_equal(y, subsample(d, 50, seed=0)[1])


@pytest.mark.slow
def test_regression_runs_through_the_runner():
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec, Trainer

    task = Task(name="t/adding/gru", study="t", dataset="adding_T10", arch="gru",
                objective="regression", metric="test/loss")
    result = Trainer("cpu").run(RunSpec(task, 100, 0, {"width": 8}, BUDGETS["smoke"], "smoke", "tensorflow"))
    metrics, history = result.metrics, result.history
    assert result.ok
    assert set(metrics) >= {"test/loss", "test/mae"}
    assert 0 < metrics["test/loss"] < 2.0 and np.isfinite(metrics["test/mae"])
    assert "val_loss" in history


def test_copy_memory_targets_are_the_first_symbols():
    from suite.data import copy_memory

    x, y = copy_memory(500, 20, seed=0)
    assert x.shape == (500, 20, 10) and y.shape == (500, 3)
    assert np.array_equal(x[:, :3, :8].argmax(axis=2), y)  # the symbols shown first
    assert np.all(x.sum(axis=2) == 1)  # one-hot at every step
    assert np.all(x[:, 3:-1, 8] == 1) and np.all(x[:, -1, 9] == 1)  # blanks, then the delimiter
    assert abs(np.mean(y == 0) - 1 / 8) < 0.03  # uniform symbols: chance is 1/8
    with pytest.raises(ValueError, match="Received: steps=3"):
        copy_memory(5, 3, seed=0)


def test_symbols_objective_scores_each_label():
    import keras
    from suite.training.objectives import symbol_accuracy, symbols_crossentropy

    y = np.array([[0, 1, 2], [3, 3, 3]])
    logits = np.full((2, 3 * 4), -5.0, "float32")
    for i, labels in enumerate(y):
        for j, label in enumerate(labels):
            logits[i, j * 4 + label] = 5.0
    logits[1, 2 * 4 + 3], logits[1, 2 * 4 + 0] = -5.0, 5.0  # last label of example 2 wrong
    acc = keras.ops.convert_to_numpy(symbol_accuracy(y, logits))
    np.testing.assert_allclose(acc, [1.0, 2 / 3], rtol=1e-6)
    loss = keras.ops.convert_to_numpy(symbols_crossentropy(y, logits))
    assert loss[0] < 0.01 < loss[1]


def test_baseline_metrics_of_the_trivial_predictors():
    from suite.training import baseline_metrics

    _, y = adding_problem(20_000, 10, seed=0)
    m = baseline_metrics("mean", y[:10_000], y[10_000:], {"test/loss": 1 / 12})
    assert m["test/baseline_loss"] == pytest.approx(1 / 6, abs=0.005)
    assert m["test/skill"] == pytest.approx(0.5, abs=0.02)
    y_cls = np.array([[1, 2], [1, 3], [0, 3]])
    m = baseline_metrics("majority", y_cls, np.array([[1, 3], [1, 0]]), {"test/accuracy": 0.75})
    assert m["test/baseline_accuracy"] == 0.75 and m["test/skill"] == 0.0


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_gradient_norm_probe_gives_one_finite_value_per_step(arch):
    from suite.probes import input_gradient_norms
    from suite.training import OBJECTIVES

    x, y = adding_problem(32, 15, seed=0)
    model = build_model(arch, (15, 2), 1, width=8)
    distance, norms = input_gradient_norms(model, OBJECTIVES["regression"], x, y)
    assert distance.tolist() == list(range(14, -1, -1))  # step t is 14 - t from the end
    assert norms.shape == (15,) and np.all(np.isfinite(norms)) and np.all(norms > 0)


def test_gradient_norm_probe_sees_what_the_loss_depends_on():
    """A model that reads only the last step has zero gradient at every other step."""
    from suite.probes import input_gradient_norms
    from suite.training import OBJECTIVES

    inputs = keras.Input((6, 2))
    last = keras.layers.Cropping1D((5, 0))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(last)))
    x, y = adding_problem(16, 6, seed=1)
    distance, norms = input_gradient_norms(model, OBJECTIVES["regression"], x, y)
    assert norms[-1] > 0 and np.all(norms[:-1] == 0)


def test_gradient_reach_is_the_first_step_s_share_in_orders_of_magnitude():
    from suite.probes.gradients import gradient_reach

    assert gradient_reach(np.array([1e-3, 0.5, 1.0])) == pytest.approx(-3.0)
    assert gradient_reach(np.array([2.0, 1.0, 2.0])) == pytest.approx(0.0)
    assert np.isfinite(gradient_reach(np.array([0.0, 1.0])))  # vanished entirely: very negative, not -inf
    assert gradient_reach(np.array([0.0, 1.0])) < -100


@pytest.mark.parametrize("rule", ["ends", "parity"])
def test_known_rule_strings_are_right_aligned_and_labelled_by_their_rule(rule):
    from suite.data import known_rule

    x, y = known_rule(500, rule, 3, 7, 16, seed=0)
    assert x.shape == (500, 16, 3) and np.all(x.sum(axis=2) == 1)  # one-hot: 0, 1 or padding
    content = x[..., 2] == 0
    lengths = content.sum(axis=1)
    assert lengths.min() == 3 and lengths.max() == 7
    assert np.all(content[:, -1]) and np.all(np.diff(content.astype(int), axis=1) >= 0)  # padding, then the string
    for row, label, n in zip(x, y, lengths):
        bits = row[16 - n:, 1].astype(int)  # the string, read back
        assert label == (bits[0] == bits[-1] if rule == "ends" else bits.sum() % 2)
    assert np.array_equal(known_rule(500, rule, 3, 7, 16, seed=0)[1], y)  # seeded
    assert 0.35 < y.mean() < 0.65
    with pytest.raises(ValueError, match="rule must be"):
        known_rule(5, "dyck", 1, 2, 4, seed=0)
    with pytest.raises(ValueError, match="shortest <= longest <= steps"):
        known_rule(5, rule, 3, 20, 16, seed=0)


def test_the_length_datasets_test_at_the_training_lengths_and_at_two_and_four_times_them():
    from suite.data import LENGTH_TRAINED, load_dataset

    data = load_dataset(f"parity_T{LENGTH_TRAINED}")
    def lengths(x):
        return (x[..., 2] == 0).sum(axis=1)
    assert lengths(data.x_pool).max() == lengths(data.x_test).max() == LENGTH_TRAINED
    for k, (x, y) in (("len2x", data.extra_tests["len2x"]), ("len4x", data.extra_tests["len4x"])):
        factor = int(k[3])
        assert lengths(x).min() == factor // 2 * LENGTH_TRAINED + 1 and lengths(x).max() == factor * LENGTH_TRAINED
        assert len(y) == len(data.y_test) and x.shape[1:] == data.x_test.shape[1:]
        assert np.array_equal(y, x[..., 1].sum(axis=1) % 2)  # labelled by the same rule


def test_sinusoidal_transformer_size_does_not_grow_with_length():
    short = build_model("transformer", (32, 2), 1, width=16, positions="sinusoidal").count_params()
    long = build_model("transformer", (1024, 2), 1, width=16, positions="sinusoidal").count_params()
    learned = build_model("transformer", (1024, 2), 1, width=16).count_params()
    assert short == long < learned
    with pytest.raises(ValueError, match="Received: positions='rotary'"):
        build_model("transformer", (8, 2), 1, positions="rotary")


def test_step_time_objective_times_steps_and_evaluates_nothing():
    from suite.studies import Task
    from suite.training import Budget, RunSpec, Trainer

    task = Task(name="t/steps/lstm", study="t", dataset="adding_T32", arch="lstm", objective="step_time",
                metric="train/step_ms")
    budget = Budget(max_steps=8, eval_every=8, batch_size=4, steps_per_execution=1)
    result = Trainer("cpu").run(RunSpec(task, 32, 0, {"width": 8}, budget, "smoke", "tensorflow"))
    row, metrics, history = result.record, result.metrics, result.history
    assert metrics["train/step_ms"] > 0 and not any(k.startswith("test/") for k in metrics)
    assert row.steps == 8 and "val_loss" not in history
    assert json.loads(row.config_json)["input_shape"] == [32, 2] and row.length == 32


@pytest.mark.slow
def test_probes_are_stored_at_init_and_after_training(tmp_path):
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec, run_plan
    from suite.store.write import Writer

    task = Task(name="t/copy/rnn", study="t", dataset="copy_T10", arch="rnn", objective="symbols",
                probes=("input_gradients",))
    with Writer(tmp_path / "r.sqlite") as store:
        run_plan([RunSpec(task, 64, 0, {"width": 8}, BUDGETS["smoke"], "smoke", "tensorflow")], store,
                 progress=False, workers=1)
        series = store.series()
        metrics = store.metrics()
    assert sorted(series["name"].unique()) == ["input_gradients/init", "input_gradients/trained"]
    assert len(series) == 2 * 10 and (series["value"] > 0).all()
    m = dict(zip(metrics["metric"], metrics["value"]))
    assert 0 <= m["test/accuracy"] <= 1 and "test/skill" in m and m["test/baseline_accuracy"] < 0.3


def test_step_timer_divides_each_gap_by_the_steps_it_ran(monkeypatch):
    """An epoch of 6 steps with 4 per execution runs 4 then 2: both are 1 ms a step."""
    import suite.training.trainer as runner

    # per epoch: the end of execution 1, then the end of execution 2 (2 steps, 2 ms later)
    clock = iter([t for epoch in range(3) for t in (0.01 * epoch, 0.01 * epoch + 0.002)])
    monkeypatch.setattr(runner.time, "perf_counter", lambda: next(clock))
    timer = runner.make_step_timer(steps_per_execution=4, steps_per_epoch=6)
    for epoch in range(3):
        timer.on_epoch_begin(epoch)
        for begin in (0, 4):
            timer.on_train_batch_begin(begin)
            timer.on_train_batch_end(begin + 3)
    assert timer.step_ms == pytest.approx(1.0)

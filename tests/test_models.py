import numpy as np
import pytest

keras = pytest.importorskip("keras")

from suite.architectures import build_model, default_patch_size, fit_width, get_architecture, keras_architectures


IMAGE_ARCHS = keras_architectures("image", "any")
TABLE_ARCHS = keras_architectures("table", "any")


@pytest.mark.parametrize("arch", IMAGE_ARCHS)
@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (32, 32, 3)])
def test_builds_and_takes_one_training_step(arch, shape):
    model = build_model(arch, shape, 10, width=8)
    assert not model.compiled  # builders return uncompiled models
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).random((4, *shape)).astype("float32")
    y = np.arange(4) % 10
    assert model.predict(x, verbose=0).shape == (4, 10)
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.parametrize("arch", TABLE_ARCHS)
@pytest.mark.parametrize("features", [4, 13, 30])
def test_table_builders_build_and_take_one_training_step(arch, features):
    model = build_model(arch, (features,), 3, width=8)
    assert not model.compiled
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).standard_normal((4, features)).astype("float32")
    assert model.predict(x, verbose=0).shape == (4, 3)
    before = [w.copy() for w in model.get_weights()]
    assert np.isfinite(model.train_on_batch(x, np.arange(4) % 3))
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


GRAPH_ARCHS = keras_architectures("graph", "any")


@pytest.mark.parametrize("arch", GRAPH_ARCHS)
def test_graph_builders_build_and_take_one_training_step(arch):
    nodes = 6
    model = build_model(arch, (nodes, nodes + 2), 2, width=8)
    assert not model.compiled
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = (np.random.default_rng(0).random((4, nodes, nodes + 2)) < 0.3).astype("float32")
    assert model.predict(x, verbose=0).shape == (4, 2)
    before = [w.copy() for w in model.get_weights()]
    assert np.isfinite(model.train_on_batch(x, np.arange(4) % 2))
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))


def test_the_graph_network_ignores_the_order_of_the_nodes():
    """Relabelling a graph's nodes (its adjacency rows and columns and its features together) leaves the
    graph network's output unchanged: its one assumption; the MLP's changes."""
    rng = np.random.default_rng(1)
    nodes = 7
    upper = np.triu(rng.random((3, nodes, nodes)) < 0.4, k=1)
    adjacency = (upper | upper.transpose(0, 2, 1)).astype("float32")
    colour = np.eye(2, dtype="float32")[rng.integers(0, 2, (3, nodes))]
    order = rng.permutation(nodes)
    x = np.concatenate([adjacency, colour], axis=-1)
    relabelled = np.concatenate([adjacency[:, order][:, :, order], colour[:, order]], axis=-1)
    gnn = build_model("gnn", x.shape[1:], 2, width=8)
    assert np.allclose(gnn.predict(x, verbose=0), gnn.predict(relabelled, verbose=0), atol=1e-5)
    mlp = build_model("mlp", x.shape[1:], 2, width=8)
    assert not np.allclose(mlp.predict(x, verbose=0), mlp.predict(relabelled, verbose=0), atol=1e-5)


def test_table_widths_fit_the_parameter_target():
    counts = {a: build_model(a, (30,), 2, width=fit_width(a, (30,), 2, 10_000)).count_params() for a in TABLE_ARCHS}
    assert max(counts.values()) <= 2 * min(counts.values()), counts


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1)])
def test_fitted_widths_keep_parameter_counts_within_2x(shape):
    counts = {}
    for arch in IMAGE_ARCHS:
        width = fit_width(arch, shape, 10, 20_000)
        counts[arch] = build_model(arch, shape, 10, width=width).count_params()
    assert max(counts.values()) <= 2 * min(counts.values()), counts
    assert all(10_000 < c < 30_000 for c in counts.values()), counts


def test_unknown_architecture_lists_valid_names():
    from suite.architectures import ARCHITECTURES

    valid = ", ".join(ARCHITECTURES.names())
    with pytest.raises(ValueError, match=f"unknown architecture 'resnet'; valid architectures: {valid}$"):
        get_architecture("resnet")


def test_bad_cnn_head_repeats_the_value():
    with pytest.raises(ValueError, match="Received: head='avg'"):
        build_model("cnn", (8, 8, 1), 10, head="avg")


def test_vit_uses_16_tokens():
    assert [default_patch_size(h) for h in (8, 28, 32)] == [2, 7, 8]
    model = build_model("vit", (28, 28, 1), 10, width=8)
    assert model.get_layer("position_embedding").embedding.shape == (1, 16, 8)


@pytest.mark.parametrize("arch", ["lstm", "gru"])
def test_chrono_initialisation_sets_the_keeping_gate_to_the_input_length(arch):
    """Tallec and Ollivier 2018: the gate that keeps the state starts at log(u), u uniform on [1, T - 1]
    (LSTM: input gate -log(u), other biases 0; GRU: the update gate's input bias, other biases 0); the
    model trains; the default initialisation is Keras's."""
    keras = pytest.importorskip("keras")
    steps, width = 50, 6
    model = build_model(arch, (steps, 3), 4, width=width, init="chrono")
    bias = keras.ops.convert_to_numpy([w for w in model.weights if w.path.endswith("bias") and arch in w.path][0])
    keep = bias[width:2 * width] if arch == "lstm" else bias[0, :width]
    assert np.all(keep >= 0) and np.all(keep <= np.log(steps - 1) + 1e-6) and keep.std() > 0
    if arch == "lstm":
        assert np.allclose(bias[:width], -keep) and np.all(bias[2 * width:] == 0)
    else:
        assert np.all(bias[0, width:] == 0) and np.all(bias[1] == 0)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = np.random.rand(8, steps, 3).astype("float32"), np.arange(8) % 4
    assert np.isfinite(model.train_on_batch(x, y))
    default = build_model(arch, (steps, 3), 4, width=width)
    assert default.count_params() == model.count_params()
    with pytest.raises(ValueError, match="init must be default for rnn"):
        build_model("rnn", (steps, 3), 4, width=width, init="chrono")

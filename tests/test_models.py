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

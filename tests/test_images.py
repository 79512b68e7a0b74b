"""Translation and pooling (issue 6): shifts, canvases, FLOPs, extra test sets, the two studies."""


import numpy as np
import pytest

from suite.data import load_variant, place_on_canvas, place_randomly, shift_images


def digits(n=5):
    return np.random.default_rng(0).random((n, 8, 8, 1)).astype(np.float32)


def test_shift_zero_is_the_identity_and_shifts_move_content_intact():
    canvas = place_on_canvas(digits(), 16)
    assert np.array_equal(shift_images(canvas, 0, 0), canvas)
    moved = shift_images(canvas, 3, 5)
    assert moved.shape == canvas.shape
    assert np.array_equal(moved[:, 3:11, 5:13], canvas[:, :8, :8])  # the same pixels, 3 down and 5 right
    assert np.isclose(moved.sum(), canvas.sum()) and moved[:, :3].sum() == 0 and moved[:, :, :5].sum() == 0
    assert np.array_equal(shift_images(moved, -3, -5), canvas)  # and back
    assert shift_images(canvas, 16, 0).sum() == 0  # off the canvas entirely


def test_canvas_placement_and_random_placement_keep_every_pixel():
    x = digits()
    canvas = place_on_canvas(x, 16, offset=(2, 5))
    assert canvas.shape == (5, 16, 16, 1) and np.array_equal(canvas[:, 2:10, 5:13], x)
    assert np.isclose(canvas.sum(), x.sum())
    with pytest.raises(ValueError, match="do not fit a 12x12 canvas"):
        place_on_canvas(x, 12, offset=(5, 0))
    placed = place_randomly(canvas, np.random.default_rng(1))
    assert np.allclose(placed.sum(axis=(1, 2, 3)), canvas.sum(axis=(1, 2, 3)))  # nothing cut off
    assert len({tuple(np.argwhere(p[..., 0] > 0).min(axis=0)) for p in placed}) > 1  # different positions


def test_canvas_datasets_carry_shifted_test_sets_and_random_placement_moves_training_only():
    d = load_variant("digits_corner", "natural")
    assert d.input_shape == (20, 20, 1)
    assert set(d.extra_tests) == {"shift2", "shift4", "shift6", "shift8", "far", "shifts", "random"}
    xs, ys = d.extra_tests["shifts"]  # every shift together: its accuracy is the mean over the shift set
    assert len(xs) == 4 * len(d.x_test) and np.array_equal(xs[-len(d.x_test):], shift_images(d.x_test, 8, 8))
    assert np.array_equal(ys, np.tile(d.y_test, 4))
    x8, y8 = d.extra_tests["shift8"]
    assert np.array_equal(x8, shift_images(d.x_test, 8, 8)) and np.array_equal(y8, d.y_test)
    assert x8[:, :10].sum() == 0 and np.isclose(x8.sum(), d.x_test.sum())  # moved towards the far corner
    assert x8[:, 18:].sum() == 0 and x8[:, :, 18:].sum() == 0  # still 2 pixels from the far border
    assert d.x_pool[:, 10:, :].sum() == 0 and d.x_pool[:, :, 10:].sum() == 0  # trained in the corner only
    r = load_variant("digits_corner", "random_placement")
    assert r.x_pool[:, 10:, 10:].sum() > 0 and np.isclose(r.x_pool.sum(), d.x_pool.sum())
    assert np.array_equal(r.x_test, d.x_test) and np.array_equal(r.extra_tests["far"][0], x8)
    # a permutation reaches the extra test sets too (train and every test see the same pixels moved)
    p = load_variant("digits_margin", "permuted")
    assert not np.array_equal(p.extra_tests["shift1"][0], load_variant("digits_margin", "natural").extra_tests["shift1"][0])


def test_flop_count_of_a_small_cnn_matches_a_hand_count():
    pytest.importorskip("keras")
    from suite.architectures import build_model, count_flops

    model = build_model("cnn", (8, 8, 1), 10, width=4, head="gap")
    conv1 = 2 * (8 * 8) * (3 * 3 * 1 * 4) + 8 * 8 * 4  # multiply-adds x 2, plus the bias
    conv2 = 2 * (4 * 4) * (3 * 3 * 4 * 8) + 4 * 4 * 8  # after a 2x2 pool
    dense = 2 * 8 * 10 + 10  # global average pooling leaves 8 features
    assert count_flops(model) == conv1 + conv2 + dense == 14378
    strided = build_model("cnn", (8, 8, 1), 10, width=4, head="gap", pool="stride")
    assert strided.count_params() == model.count_params()
    assert count_flops(strided) == 2 * 16 * 36 + 16 * 4 + 2 * 4 * 288 + 4 * 8 + dense
    assert count_flops(build_model("vit", (8, 8, 1), 10, width=8)) is None  # attention is not counted
    # no downsampling, dilated to see about as far as the pooled CNN: same weights, full-resolution FLOPs
    dilated = build_model("cnn", (8, 8, 1), 10, width=4, head="gap", pool="dilate")
    assert dilated.count_params() == model.count_params()
    assert [layer.dilation_rate for layer in dilated.layers if "conv" in layer.name] == [(1, 1), (3, 3)]
    assert count_flops(dilated) == conv1 + 2 * 64 * 288 + 64 * 8 + dense
    # anti-aliased max-pooling: the same trained weights, plus a fixed blur (counted) before each subsampling
    blurred = build_model("cnn", (8, 8, 1), 10, width=4, head="gap", pool="blurmax")
    assert sum(int(np.prod(w.shape)) for w in blurred.trainable_weights) == model.count_params()
    blur1, blur2 = 2 * 16 * 9 * 4, 2 * 4 * 9 * 8  # 3x3 depthwise, at the 4x4 and 2x2 outputs
    assert count_flops(blurred) == conv1 + blur1 + conv2 + blur2 + dense


def test_the_anti_aliasing_blur_is_a_fixed_low_pass_filter():
    pytest.importorskip("keras")
    import keras

    from suite.architectures import build_model
    from suite.architectures.layers import BinomialBlurPool

    model = build_model("cnn", (8, 8, 1), 10, width=4, head="gap", pool="blurmax")
    blurs = [layer for layer in model.layers if isinstance(layer, BinomialBlurPool)]
    assert len(blurs) == 2 and not any(layer.weights for layer in blurs)
    # what a fixed 3x3 depthwise convolution with the binomial kernel computes, at stride 2 with "same"
    # padding, on even and odd sizes (within float round-off: the slices sum in another order)
    rng = np.random.default_rng(0)
    for shape in [(2, 8, 8, 4), (1, 7, 9, 3), (3, 14, 14, 2)]:
        x = rng.normal(size=shape).astype("float32")
        depthwise = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False)
        depthwise.build(shape)
        depthwise.set_weights([np.broadcast_to(np.outer([1, 2, 1], [1, 2, 1])[:, :, None, None] / 16,
                                               (3, 3, shape[-1], 1)).astype("float32")])
        ours = np.asarray(BinomialBlurPool()(x))
        assert ours.shape == tuple(BinomialBlurPool().compute_output_shape(shape))
        assert np.allclose(ours, np.asarray(depthwise(x)), atol=1e-6), shape
    # a constant map stays constant inside the borders (the blur keeps the mean), a checkerboard is smoothed
    flat = np.ones((1, 8, 8, 4), dtype="float32")
    assert np.allclose(np.asarray(blurs[0](flat))[0, 1:-1, 1:-1], 1.0)
    checker = np.indices((8, 8)).sum(axis=0) % 2
    board = np.repeat(checker[None, :, :, None], 4, axis=3).astype("float32")
    assert np.ptp(np.asarray(blurs[0](board))[0, 1:-1, 1:-1]) < 0.5 * np.ptp(board)


def test_runs_are_scored_on_every_extra_test_set():
    pytest.importorskip("keras")
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec, Trainer

    trainer = Trainer("cpu")
    for arch, hparams in (("cnn", {"width": 4, "pool": "max", "head": "gap"}), ("logreg", {})):
        task = Task(name=f"t/{arch}", study="t", dataset="digits_margin", arch=arch)
        metrics = trainer.run(RunSpec(task, 60, 0, hparams, BUDGETS["smoke"], "smoke", "tensorflow")).metrics
        for name in ("shift1", "shift2", "shift3", "far", "random"):
            assert 0 <= metrics[f"test_{name}/accuracy"] <= 1, (arch, name)
        assert metrics["test_far/accuracy"] == metrics["test_shift3/accuracy"]
        assert ("model/flops" in metrics) == (arch == "cnn")


def test_translation_and_pooling_write_their_sections(smoke_run):
    html, query = smoke_run.html, smoke_run.query
    for name in ("translation", "pooling"):
        assert f'id="study-{name}"' in html
    assert html.count("Accuracy against shift") == 2 and "FLOPs / example" in html
    # smoke verdicts say what they are: one warning on the index and on each study's page, one mark per
    # verdict in the index's table of claims
    studies = query("SELECT COUNT(*) FROM studies")[0][0]
    assert html.count('<p class="warn smoke">smoke profile: for testing, not evidence') == 1 + studies
    assert html.count('<span class="smoke">smoke profile') == sum(
        1 for line in html.splitlines() if line.startswith('<tr data-verdict=')) > 0
    from suite.studies import REGISTRY, load_builtin_studies

    load_builtin_studies()
    models = {m for (m,) in query("SELECT DISTINCT arch || '@' || setting FROM runs WHERE study = 'translation'")}
    assert models == {f"{t.arch}@{t.setting}" for t in REGISTRY.tasks("translation")
                      if t.dataset in REGISTRY.study("translation").datasets["smoke"]}
    # less downsampling, more arithmetic per example
    flops = dict(query("SELECT setting, MAX(value) FROM results WHERE study = 'pooling' "
                       "AND metric = 'model/flops' GROUP BY setting"))
    assert flops["strided"] < flops["max pool"] < flops["no downsampling"]
    # every translation run is scored on the far shift
    runs, scored = query("SELECT COUNT(*), COUNT(m.value) FROM runs r LEFT JOIN metrics m ON m.run_key = r.run_key "
                         "AND m.metric = 'test_far/accuracy' WHERE r.study = 'translation' AND r.status = 'ok'")[0]
    assert runs > 0 and scored == runs

"""Generation measures (issue 5): the mixtures, mode coverage, the Frechet distance."""

import numpy as np
import pytest

from suite.data import MIXTURES, grid_mixture, load_variant, ring_mixture
from suite.probes.measures import frechet_distance, mode_coverage


def test_mixtures_have_the_published_modes():
    ring = ring_mixture()
    assert ring.centres.shape == (8, 2) and np.allclose(np.linalg.norm(ring.centres, axis=1), 2.0)
    assert np.allclose(ring.centres[0], [2, 0]) and np.allclose(ring.centres[2], [0, 2], atol=1e-12)
    grid = grid_mixture()
    assert grid.centres.shape == (25, 2) and sorted(set(grid.centres[:, 0])) == [-4, -2, 0, 2, 4]
    assert len({tuple(c) for c in grid.centres}) == 25
    x, modes = ring.sample(4000, seed=0)
    assert x.shape == (4000, 2) and set(modes) == set(range(8))
    assert (x - ring.centres[modes]).std() == pytest.approx(0.02, rel=0.05)
    d = load_variant("grid25", "natural")
    assert d.input_shape == (2,) and d.num_outputs == 25 and len(d.y_pool) + len(d.y_val) + len(d.y_test) == 5000


@pytest.mark.parametrize("name", sorted(MIXTURES))
def test_samples_of_the_true_mixture_cover_every_mode_and_one_gaussian_covers_one(name):
    mixture = MIXTURES[name]
    x, _ = mixture.sample(2500, seed=1)
    result = mode_coverage(x, mixture.centres, mixture.std)
    assert result["modes"] == len(mixture.centres) and result["high_quality"] > 0.98
    one = mixture.centres[3] + mixture.std * np.random.default_rng(2).normal(size=(2500, 2))
    result = mode_coverage(one, mixture.centres, mixture.std)
    assert result["modes"] == 1 and result["per_mode"][3] == result["per_mode"].sum()
    assert result["collapse"] == 1.0  # every good sample on one mode
    assert mode_coverage(x, mixture.centres, mixture.std)["collapse"] == pytest.approx(
        -(-len(mixture.centres) // 4) / len(mixture.centres), abs=0.05)  # an even spread: a quarter
    far = mode_coverage(x + 1.0, mixture.centres, mixture.std)  # every point between modes
    assert far["modes"] == 0 and far["high_quality"] == 0.0 and far["collapse"] == 0.0  # failed, not collapsed


def test_a_few_stray_samples_do_not_count_as_a_covered_mode():
    mixture = ring_mixture()
    x = np.repeat(mixture.centres[:1], 2500, axis=0)
    x[:10] = mixture.centres[5]  # 10 of 2,500: under the 1% needed
    assert mode_coverage(x, mixture.centres, mixture.std)["modes"] == 1
    x[:30] = mixture.centres[5]
    assert mode_coverage(x, mixture.centres, mixture.std)["modes"] == 2


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = frechet_distance(a, a + 1.0)
    assert shifted == pytest.approx(8.0, rel=1e-6)  # ||mu_a - mu_b||^2 = 8 x 1^2, same covariance
    assert frechet_distance(a, a + 2.0) == pytest.approx(32.0, rel=1e-6)
    wider = frechet_distance(a, 2 * a)  # Tr(C + 4C - 2 * 2C) = Tr(C), about 8
    assert wider == pytest.approx(8.0, rel=0.1)
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(a, a[:, :4])


@pytest.mark.parametrize("arch", ["gan", "gan_sn", "vae", "diffusion", "dense_ae", "conv_ae"])
@pytest.mark.parametrize("input_shape", [(2,), (8, 8, 1)])
def test_each_generative_model_builds_takes_a_fit_step_and_samples_the_right_shape(arch, input_shape):
    import keras

    from suite.architectures import build_model

    if arch == "conv_ae" and len(input_shape) == 1:
        with pytest.raises(ValueError, match="conv_ae needs images"):
            build_model(arch, input_shape, 1)
        return
    keras.utils.set_random_seed(0)
    model = build_model(arch, input_shape, 1, width=8, **({"steps": 10} if arch == "diffusion" else {}))
    assert model.built and model.count_params() > 0
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).random((32, *input_shape)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, np.zeros(32), batch_size=16, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # it learned something
    if arch.startswith("gan"):
        assert {"d_loss", "g_loss"} <= set(history)
    if hasattr(model, "fit_sampler"):  # a plain autoencoder samples from a Gaussian fitted to its codes
        model.fit_sampler(x)
    if hasattr(model, "sample"):
        samples = model.sample(5, seed=0)
        assert samples.shape == (5, *input_shape) and np.all(np.isfinite(samples))
        assert np.array_equal(samples, model.sample(5, seed=0))  # the seed fixes the samples
    if hasattr(model, "encode"):
        assert model.encode(x).shape == (32, 2 if arch == "vae" and len(input_shape) == 1 else
                                         8 if arch == "vae" else 8)


def test_the_gan_step_gives_each_player_the_gradient_of_its_own_loss():
    """One combined loss, two players: d(loss)/d(D) = d(d_loss)/d(D) and d(loss)/d(G) = d(g_loss)/d(G)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("checks the gradients with TensorFlow's tape")
    import tensorflow as tf

    from suite.architectures import build_model

    keras.utils.set_random_seed(0)
    gan = build_model("gan_sn", (2,), 1, width=8)
    x = tf.constant(np.random.default_rng(1).normal(size=(64, 2)).astype("float32"))
    d_vars = gan.discriminator.trainable_variables
    g_vars = gan.generator.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        losses = gan(x, training=True)  # one draw of z for all three losses
    for total, own, other in ((tape.gradient(losses["loss"], d_vars), tape.gradient(losses["d_loss"], d_vars),
                               tape.gradient(losses["g_loss"], d_vars)),
                              (tape.gradient(losses["loss"], g_vars), tape.gradient(losses["g_loss"], g_vars),
                               tape.gradient(losses["d_loss"], g_vars))):
        assert all(o is None or np.allclose(o, 0) for o in other)  # the other player's loss does not reach it
        assert any(np.abs(g).max() > 0 for g in own)
        for t, g in zip(total, own):
            np.testing.assert_allclose(t, g, rtol=1e-5, atol=1e-7)


# Two fit steps of a GAN, one batch each: the first may move only the discriminator, the second only
# the generator. Run here on this process's backend (fit) and, by test_backends, in a fresh jax
# interpreter (fit, then the optimizer's stateless_apply as the population trainer calls it).
TURNS_CHECK = """
import numpy as np, keras
from suite.architectures import build_model
from suite.training.models import make_optimizer

def moved(before, variables):
    return [not np.array_equal(b, keras.ops.convert_to_numpy(v)) for b, v in zip(before, variables)]

keras.utils.set_random_seed(0)
gan = build_model("gan", (2,), 1, width=8)
gan.compile(optimizer=make_optimizer(gan, 1e-2), steps_per_execution=1)
assert gan.optimizer.beta_1 == 0.5
x = np.random.default_rng(1).normal(size=(16, 2)).astype("float32")
for player, other in ((gan.discriminator, gan.generator), (gan.generator, gan.discriminator)):
    mine = [keras.ops.convert_to_numpy(v) for v in player.trainable_variables]
    theirs = [keras.ops.convert_to_numpy(v) for v in other.trainable_variables]
    gan.fit(x, np.zeros(16), batch_size=16, epochs=1, verbose=0, shuffle=False)
    assert all(moved(mine, player.trainable_variables)), player.name
    assert not any(moved(theirs, other.trainable_variables)), other.name
if keras.backend.backend() == "jax":
    opt = gan.optimizer
    tv = [v.value for v in gan.trainable_variables]
    grads = [keras.ops.ones_like(v) for v in tv]
    ov = [v.value for v in opt.variables]  # iterations = 2: the discriminator's turn
    new_tv, _ = opt.stateless_apply(ov, grads, tv)
    d_ids = {id(v) for v in gan.discriminator.trainable_variables}
    for v, old, new in zip(gan.trainable_variables, tv, new_tv):
        assert (id(v) in d_ids) == (not np.array_equal(old, new)), v.path
print("ok")
"""


def test_the_gan_players_take_turns():
    """DCGAN's recipe: a discriminator step, then a generator step; the other player's weights stay put.
    Here on this process's backend; on jax in test_backends (with the optimizer's stateless_apply)."""
    exec(TURNS_CHECK, {})


def test_generation_and_representation_write_their_sections(smoke_run):
    import re
    from html import unescape as html_unescape

    html = smoke_run.html
    for name in ("generation", "representation"):
        assert f'id="study-{name}"' in html
    for title in ("Samples on ring8", "Coverage, quality and stability over seeds", "Training losses",
                  "Linear probes on the code, with few labels", "Reconstructions: digits", "The code as a map: digits",
                  "VEEGAN"):
        assert title in html, title
    assert "unknown figure" not in html
    # every claim of the two studies gets a verdict in the summary table; claims whose datasets ran
    # in the smoke profile get a real one, the others say "no data" rather than a verdict
    from suite.claims import VERDICTS
    from suite.studies import REGISTRY, load_builtin_studies

    load_builtin_studies()
    claims = [c for name in ("generation", "representation") for c in REGISTRY.study(name).claims]
    summary = html[:html.index('id="study-')]
    verdicts = dict(re.findall(r'<td>(?:<span class="control">control</span> )?([^<]+)</td><td>[\d/]*</td>'
                               r'<td><span class="verdict ([^"]+)">', summary))
    texts = {html_unescape(c.text) for c in claims}
    assert texts <= set(map(html_unescape, verdicts)), texts - set(map(html_unescape, verdicts))
    ran = {name: set(REGISTRY.study(name).datasets["smoke"]) for name in ("generation", "representation")}
    owner = {c.text: name for name in ran for c in REGISTRY.study(name).claims}
    for claim in claims:
        verdict = verdicts[next(k for k in verdicts if html_unescape(k) == claim.text)].replace("-", " ")  # CSS class
        if claim.datasets is None or set(claim.datasets) & ran[owner[claim.text]]:
            assert verdict in VERDICTS, (claim.text, verdict)
        else:
            assert verdict == "no data", (claim.text, verdict)
    query = smoke_run.query
    # every evaluation run of the generation study counts the modes it covers, of the ring's 8
    runs = query("SELECT r.arch, m.value FROM runs r LEFT JOIN metrics m ON m.run_key = r.run_key "
                 "AND m.metric = 'trained/modes' WHERE r.study = 'generation' AND r.status = 'ok' AND r.kind = 'eval'")
    assert {a for a, _ in runs} == {t.arch for t in REGISTRY.tasks("generation")}
    assert all(v is not None and 0 <= v <= 8 for _, v in runs), runs
    parts = {m for (m,) in query("SELECT DISTINCT h.metric FROM history h JOIN runs r USING (run_key) "
                                 "WHERE r.arch = 'gan'")}
    assert {"loss", "d_loss", "g_loss"} <= parts  # the two players' losses per epoch
    # the VAE, the diffusion model and the plain autoencoder beside the VAE record their held-out loss at every
    # check and its last value as their score (what their rate is chosen on); the GANs, kept at their recipes'
    # rates, evaluate no split
    held_out = dict(query("SELECT r.arch, COUNT(DISTINCT r.run_key) FROM runs r JOIN metrics m USING (run_key) "
                          "WHERE r.study = 'generation' AND m.metric = 'val/score' AND r.status = 'ok' "
                          "GROUP BY r.arch"))
    evaluated = dict(query("SELECT arch, COUNT(*) FROM runs WHERE study = 'generation' AND status = 'ok' "
                           "GROUP BY arch"))
    assert held_out == {a: evaluated[a] for a in ("vae", "diffusion", "dense_ae")}, (held_out, evaluated)
    vae_parts = {m for (m,) in query("SELECT DISTINCT h.metric FROM history h JOIN runs r USING (run_key) "
                                     "WHERE r.arch = 'vae' AND r.study = 'generation'")}
    assert {"val_loss", "val_reconstruction", "val_kl"} <= vae_parts
    arrays = {n for (n,) in query("SELECT DISTINCT name FROM arrays")}
    assert {"samples/trained", "samples/init", "code_map/trained", "reconstructions/trained"} <= arrays
    probes = {m for (m,) in query("SELECT DISTINCT metric FROM results WHERE study = 'representation'")}
    assert {"trained/probe_code_10", "trained/probe_pixels_10", "trained/probe_pca_100",
            "trained/reconstruction_mse", "init/probe_code_10"} <= probes


def test_codes_probe_compares_the_code_with_pixels_and_pca():
    import keras

    from suite.data import load_variant
    from suite.architectures import build_model
    from suite.probes import PROBES, labelled_subset

    data = load_variant("digits", "natural")
    chosen = labelled_subset(data.y_pool, 10)
    assert len(chosen) == 100 and np.all(np.bincount(data.y_pool[chosen]) == 10)
    keras.utils.set_random_seed(0)
    model = build_model("dense_ae", data.input_shape, 10, width=16, latent=4)
    measured = PROBES["codes"](model, None, data, data.x_pool, data.y_pool)
    assert set(measured.metrics) == {f"probe_{s}_{k}" for s in ("code", "pixels", "pca") for k in (10, 100)} | {
        "reconstruction_mse", "trust_code", "trust_pca"}
    assert 0.5 < measured.metrics["trust_code"] <= 1 and 0.5 < measured.metrics["trust_pca"] <= 1
    assert all(0 <= v <= 1 for k, v in measured.metrics.items() if k.startswith("probe"))
    assert measured.metrics["probe_pixels_100"] > 0.9  # digits are easy for a linear model on pixels
    assert measured.arrays["code_map"].shape == (len(data.y_test), 3)
    assert measured.arrays["reconstructions"].shape == (2, 8, 8, 8, 1)
    assert PROBES["codes"](build_model("mlp", data.input_shape, 10, width=4), None, data, None, None).metrics == {}
    # the labelled examples are drawn per seed: another seed, another draw, other probe accuracies
    assert not np.array_equal(labelled_subset(data.y_pool, 10, 1), chosen)
    other = PROBES["codes"](model, None, data, data.x_pool, data.y_pool, seed=1).metrics
    assert other["probe_pixels_10"] != measured.metrics["probe_pixels_10"]
    assert PROBES["codes"](model, None, data, data.x_pool, data.y_pool, seed=1).metrics == other


def test_a_reused_generative_model_restarts_its_random_numbers_too():
    """The runner re-initialises a cached model for each run: its seed generators as well as its weights."""
    import keras

    from suite.data import load_variant
    from suite.architectures import build_model
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec, Trainer

    task = Task(name="t/ring8/vae", study="t", dataset="ring8", arch="vae", objective="generate")
    spec = lambda seed: RunSpec(task, 100, seed, {"width": 8}, BUDGETS["smoke"], "smoke", "tensorflow")  # noqa: E731
    trainer = Trainer("cpu")
    trainer.run(spec(5))  # trains the cached model and advances its noise
    data = load_variant("ring8", "natural")
    model = trainer._compiled_model(spec(1), data)
    trainer._reinitialise(model, spec(1), data)
    keras.utils.set_random_seed(1)
    fresh = build_model("vae", data.input_shape, data.num_outputs, width=8)
    assert len(model.variables) == len(fresh.variables) > len(model.weights)  # the seed state is a variable
    for a, b in zip(model.variables, fresh.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_spectral_normalisation_bounds_each_discriminator_layer():
    """gan_sn's discriminator layers (Keras's SpectralNormalization) keep their largest singular value at 1."""
    import keras

    from suite.architectures import build_model

    if keras.backend.backend() != "tensorflow":  # other backends normalise inside the step, statelessly
        pytest.skip("the normalised kernel is written back to its variable on tensorflow")
    keras.utils.set_random_seed(0)
    gan = build_model("gan_sn", (2,), 1, width=16)
    wrapped = [layer for layer in gan.discriminator.layers if isinstance(layer, keras.layers.SpectralNormalization)]
    assert len(wrapped) == len(gan.discriminator.layers) == 4  # every layer, the output one too
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    for _ in range(30):  # one power-iteration step per training call
        gan.discriminator(x, training=True)
    for layer in wrapped:
        kernel = keras.ops.convert_to_numpy(layer.layer.kernel)
        assert np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0] == pytest.approx(1, rel=0.05)


def test_oscillation_ignores_a_steady_trend_and_reads_the_generator_s_loss():
    from suite.training.objectives import loss_oscillation

    steps = np.arange(20, dtype=float)
    falling = 1.0 - 0.02 * steps  # still falling, in a straight line: no swing
    swinging = 1.0 + 0.2 * (-1) ** steps
    out = loss_oscillation({"loss": falling, "g_loss": swinging, "d_loss": falling})
    assert out["train/oscillation_loss"] < 1e-9 and out["train/oscillation_g_loss"] > 0.1
    assert out["train/oscillation_generator"] == out["train/oscillation_g_loss"]
    one_player = loss_oscillation({"loss": swinging})
    assert one_player["train/oscillation_generator"] == one_player["train/oscillation_loss"]
    assert loss_oscillation({"loss": swinging[:6]}) == {}  # 3 values in the second half: too few


def test_cycling_is_fishers_g_high_for_a_cycle_and_low_for_noise():
    from suite.training.objectives import CYCLING_VALUES, loss_oscillation

    steps = np.arange(80, dtype=float)
    rng = np.random.default_rng(0)
    trend = 2.0 - 0.01 * steps  # a steady fall: detrended away, whatever rides on it
    cycle = loss_oscillation({"g_loss": trend + 0.1 * np.sin(2 * np.pi * steps / 10) + 0.01 * rng.normal(size=80),
                              "loss": trend})
    assert cycle["train/cycling_g_loss"] > 0.8 and cycle["train/cycling_generator"] == cycle["train/cycling_g_loss"]
    noise = [loss_oscillation({"loss": trend + 0.1 * rng.normal(size=80)})["train/cycling_loss"] for _ in range(200)]
    m = 19  # frequencies of a 40-value periodogram, zero and one cycle left out
    assert np.mean(noise) == pytest.approx(sum(1 / k for k in range(1, m + 1)) / m, rel=0.15)
    # as much swing (the oscillation measure alike) but no period: noise scores far below the cycle
    assert max(noise) < 0.6
    # a loss that rises and levels off in the second half is drift, not a cycle
    drift = loss_oscillation({"loss": list(np.r_[np.zeros(40), 1 - np.exp(-np.arange(40) / 8)]
                                        + 0.01 * rng.normal(size=80))})["train/cycling_loss"]
    assert drift < 0.5
    assert "train/cycling_loss" not in loss_oscillation({"loss": list(trend[:2 * CYCLING_VALUES - 2])})


def test_mode_swing_is_zero_for_a_settled_generator_and_the_share_of_mass_that_moves_between_snapshots():
    """The probe reads the model at each snapshot (the same noise each time) and gives it back as it found it."""
    import keras

    from suite.probes import PROBES
    from suite.probes.core import model_state

    ring = MIXTURES["ring8"]
    data = load_variant("ring8", "natural", seed=0)

    class OneKnob:  # a "generator" whose one variable says which mode a share of its samples goes to
        def __init__(self):
            self.knob = keras.Variable(np.zeros(2, dtype="float32"))  # (mode, share of samples sent there)
            self.trainable_variables, self.non_trainable_variables = [self.knob], []

        def sample(self, n, seed):
            mode, share = keras.ops.convert_to_numpy(self.knob)
            rng = np.random.default_rng(seed)
            points = np.repeat(ring.centres[:1], n, axis=0) + rng.normal(0, ring.std, (n, 2))
            points[: int(round(share * n))] = ring.centres[int(mode)]
            return points

    model = OneKnob()
    probe = PROBES["mode_swing"]

    def swing(states):
        snapshots = [(check, ([np.asarray(s, dtype="float32")], [])) for check, s in enumerate(states)]
        return probe(model, None, data, data.x_pool, data.y_pool, snapshots=snapshots)

    model.knob.assign([3.0, 0.5])
    settled = swing([[1, 0.5]] * 5)
    assert settled.metrics["mode_swing"] == 0.0
    # the samples sent to mode 1, then to mode 2, and back: that share moves at every snapshot
    moving = swing([[1, 0.5], [2, 0.5], [1, 0.5], [2, 0.5]])
    assert moving.metrics["mode_swing"] == pytest.approx(0.5)
    assert list(moving.series["mode_swing"][0]) == [1, 2, 3] and np.allclose(moving.series["mode_swing"][1], 0.5)
    assert np.allclose(model_state(model)[0][0], [3.0, 0.5])  # put back as found
    assert swing([[1, 0.5], [1, 0.5]]).metrics == {}  # two snapshots: one distance is no mean to speak of
    assert probe(model, None, data, data.x_pool, data.y_pool, snapshots=None).metrics == {}  # at initialisation


def test_snapshots_are_spread_over_the_second_half_and_end_at_the_last_check():
    from suite.probes.core import PROBE_SNAPSHOTS, snapshot_checks

    wanted = PROBE_SNAPSHOTS["mode_swing"]
    assert snapshot_checks(("samples",), 160) == set()  # no probe asks: nothing is copied
    checks = sorted(snapshot_checks(("samples", "mode_swing"), 160))
    assert len(checks) == wanted and checks[0] == 80 and checks[-1] == 159
    assert len(set(np.diff(checks))) <= 2  # evenly spaced, to rounding
    assert sorted(snapshot_checks(("mode_swing",), 6)) == [3, 4, 5]  # a short run: every check of its half


@pytest.mark.slow
def test_both_trainers_hand_the_mode_swing_probe_its_snapshots():
    """The per-run trainer (a Keras callback) and the population trainer (its own loop) copy the model at the
    same checks, and the probe measures a GAN on the ring from them."""
    from test_backends import run_python_ok
    from test_population import PRELUDE

    run_python_ok(PRELUDE + (
        "from suite.training import Trainer\n"
        "from suite.probes.core import snapshot_checks\n"
        "task = Task(name='t/gan', study='t', dataset='ring8', arch='gan', objective='generate',\n"
        "            metric='trained/modes', probes=('samples', 'mode_swing'))\n"
        "budget = Budget(max_steps=60, eval_every=10, patience=10, batch_size=64)\n"
        "members = specs(task, [(640, 0), (640, 1)], {'width': 32}, budget)  # 10 steps a pass: 6 checks on both\n"
        "expected = [10 * (c + 1) for c in sorted(snapshot_checks(task.probes, 6))][1:]  # the copies' steps\n"
        "alone = Trainer('CPU').run(dataclasses.replace(members[0], trainer='fit'))\n"
        "for run in [alone, *PopulationTrainer('CPU').run(members)]:\n"
        "    assert run.ok, run.record.error\n"
        "    assert 0 <= run.metrics['trained/mode_swing'] <= 1, run.metrics\n"
        "    assert [x for x, _ in run.series['mode_swing/trained']] == expected, run.series\n"
        "    assert 'init/mode_swing' not in run.metrics\n"
        "# 700 examples make passes of 11 steps: the per-run trainer's checks are not every 10 steps, and its\n"
        "# copies say at which step they were taken (6 passes, the last 3 copied; the first has no distance)\n"
        "odd = Trainer('CPU').run(dataclasses.replace(members[0], n_train=700, trainer='fit'))\n"
        "assert [x for x, _ in odd.series['mode_swing/trained']] == [55, 66], odd.series\n"
        "print('ok')\n"
    ))


@pytest.mark.slow
def test_the_same_seed_gives_the_same_gan_twice():
    """Reproducibility on a CPU: a GAN run (both players, their turns, the sampled modes) repeats, also
    after another seed has run in between on the same cached model: its mode counts exactly, its losses
    and sample shares to float rounding (TensorFlow's multithreaded CPU kernels may sum in another
    order: a loss 1e-4 apart was seen in CI)."""
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec, Trainer

    task = Task(name="t/ring8/gan", study="t", dataset="ring8", arch="gan", objective="generate",
                probes=("samples",), learning_rate=1e-3)
    spec = lambda seed: RunSpec(task, 200, seed, {"width": 16}, BUDGETS["smoke"], "smoke", "tensorflow")  # noqa: E731
    trainer = Trainer("cpu")
    first = trainer.run(spec(0)).metrics
    trainer.run(spec(1))
    again = trainer.run(spec(0)).metrics
    compared = {k: v for k, v in first.items() if not k.endswith("step_ms")}
    assert {"trained/modes", "trained/collapse", "train/final_g_loss"} <= set(compared)
    assert set(again) >= set(compared)
    for name, value in compared.items():  # shares of 2,500 samples: a sample is 4e-4
        assert again[name] == (value if name.endswith("/modes") else pytest.approx(value, rel=1e-3, abs=2e-3)), name


def test_trustworthiness_is_one_for_the_inputs_themselves_and_lower_for_a_scramble():
    from suite.probes.codes import neighbourhoods_kept

    x = np.random.default_rng(0).normal(size=(300, 10))
    assert neighbourhoods_kept(x, x) == pytest.approx(1.0)
    assert neighbourhoods_kept(x, 3 * x[:, :10] + 1) == pytest.approx(1.0)  # distances scaled: same neighbours
    scrambled = np.random.default_rng(1).permutation(x)  # codes that belong to other inputs
    assert neighbourhoods_kept(x, scrambled) < 0.6


def test_a_respaced_diffusion_schedule_keeps_the_trained_noise_levels_and_samples_with_fewer_steps():
    import keras

    from suite.architectures import build_model
    from suite.probes import PROBES

    keras.utils.set_random_seed(0)
    model = build_model("diffusion", (2,), 1, width=8, steps=20)
    levels, betas, alpha_bars = model.schedule()
    assert np.array_equal(betas, model.betas) and len(levels) == 20  # the trained schedule, untouched
    for k in (2, 5, 10):
        levels, betas, alpha_bars = model.schedule(k)
        assert len(levels) == k and levels[0] == 0 and levels[-1] == 19
        assert np.allclose(np.cumprod(1 - betas), model.alpha_bars[levels])  # same noise at each kept level
        assert np.all((betas > 0) & (betas < 1))
        assert model.sample(7, seed=0, steps=k).shape == (7, 2)
    assert not np.array_equal(model.sample(50, seed=0, steps=5), model.sample(50, seed=0))
    # the posterior variance adds less noise than beta at every step: over few large steps it matters
    beta = model.sample(500, seed=0, steps=5)
    posterior = model.sample(500, seed=0, steps=5, variance="posterior")
    assert posterior.shape == beta.shape and not np.array_equal(posterior, beta)
    assert np.array_equal(model.sample(7, seed=0), model.sample(7, seed=0, variance="beta"))  # the default
    with pytest.raises(ValueError, match="variance must be"):
        model.sample(3, seed=0, variance="ddim")
    # the probe: on a mixture, coverage at each smaller number of steps; nothing for other data or models
    from suite.data import load_variant
    from suite.probes.samples import DENOISING_STEPS

    ring = load_variant("ring8", "natural")
    measured = PROBES["denoising_steps"](model, None, ring, None, None, n_points=200).metrics
    assert set(measured) == {f"steps{k}_{m}" for k in DENOISING_STEPS for m in ("modes", "high_quality")}
    assert PROBES["denoising_steps"](build_model("vae", (2,), 1, width=8), None, ring, None, None).metrics == {}


def test_a_plain_autoencoder_samples_from_a_mixture_fitted_to_its_codes():
    import keras

    from suite.architectures import build_model

    keras.utils.set_random_seed(0)
    model = build_model("dense_ae", (2,), 1, width=8, latent=2)
    with pytest.raises(RuntimeError, match="fit_sampler"):
        model.sample(5, seed=0)
    x = np.random.default_rng(1).normal(size=(400, 2)).astype("float32")
    model.fit_sampler(x)
    assert model.code_density.n_components == 10  # Ghosh et al. 2020's ex-post density
    codes = model.encode(x)
    # the mixture describes the codes: its mean is theirs, and it scores them far above a shifted copy
    assert np.allclose(model.code_density.means_.T @ model.code_density.weights_, codes.mean(axis=0), atol=1e-3)
    assert model.code_density.score(codes) > model.code_density.score(codes + 5 * codes.std(axis=0)) + 5
    samples = model.sample(50, seed=7)
    assert samples.shape == (50, 2) and np.array_equal(samples, model.sample(50, seed=7))
    assert not np.array_equal(samples, model.sample(50, seed=8))


def test_decoded_interpolations_are_judged_along_the_path_and_an_identity_code_is_a_cross_fade():
    """The interpolation probe decodes the straight path between two test images' codes; where the code
    is the image itself (encode = flatten, decode = reshape), that path is the pixel cross-fade, so both
    keep the same share of the judge's confidence. A trained VAE and autoencoder are judged the same way."""
    import keras

    from suite.architectures import build_model
    from suite.data import load_variant
    from suite.probes import PROBES
    from suite.probes.codes import INTERPOLATION_POINTS, interpolation_pairs

    data = load_variant("digits", "natural")

    class Identity:
        def encode(self, x):
            return x.reshape(len(x), -1)

        def decode(self, z):
            return z.reshape(len(z), *data.input_shape)

    measured = PROBES["interpolations"](Identity(), None, data, None, None, seed=0)
    assert measured.metrics["interp_kept"] == pytest.approx(measured.metrics["interp_kept_pixels"])
    assert 0 < measured.metrics["interp_confidence"] < measured.metrics["interp_ends"] <= 1  # blends: less sure
    assert measured.arrays["interpolation"].shape == (INTERPOLATION_POINTS, 8, 8, 1)
    pairs = interpolation_pairs(data.y_test, 50, seed=3)
    assert len(pairs) == 50 and np.all(data.y_test[pairs[:, 0]] != data.y_test[pairs[:, 1]])
    assert not np.array_equal(pairs, interpolation_pairs(data.y_test, 50, seed=4))  # drawn per seed
    for arch, kw in (("dense_ae", {}), ("vae", {"coder": "dense"})):
        keras.utils.set_random_seed(0)
        model = build_model(arch, data.input_shape, 10, width=16, latent=8, **kw)
        metrics = PROBES["interpolations"](model, None, data, None, None, seed=0).metrics
        assert set(metrics) == {"interp_kept", "interp_confidence", "interp_ends", "interp_kept_pixels"}
        assert metrics["interp_kept_pixels"] == measured.metrics["interp_kept_pixels"]  # no model in it
        assert 0 < metrics["interp_confidence"] <= 1 and metrics["interp_kept"] > 0
        assert model.reconstruct(data.x_test[:4]).shape == (4, 8, 8, 1)
    assert PROBES["interpolations"](build_model("mlp", data.input_shape, 10, width=4), None, data, None,
                                    None).metrics == {}

"""What a generative model generates: mode coverage on mixtures, Frechet distance and classes on images."""

from __future__ import annotations

import numpy as np

from suite.probes.core import Measured, batched, dataset_fingerprint, register_probe
from suite.probes.measures import frechet_distance, mode_coverage

SAMPLE_SEED = 1234  # the same noise at initialisation and after training: paired samples


_JUDGES: dict = {}  # dataset fingerprint -> the judge, per process


def judge(data):
    """The classifier that judges generated images: the suite's CNN trained on the dataset's pool.

    Fixed (seed 0, 600 steps, width 16, global pooling), so every run is
    judged by the same network; its pooled features are the space of the
    Frechet distance. Returns (features fn, predicted class fn, test accuracy).
    """
    key = dataset_fingerprint(data)
    if key not in _JUDGES:
        _JUDGES[key] = _train_judge(data)
    return _JUDGES[key]


def _train_judge(data):
    import keras

    from suite.architectures import build_model

    keras.utils.set_random_seed(0)
    model = build_model("cnn", data.input_shape, data.num_outputs, width=16, head="gap")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    repeats = max(1, -(-600 * 64 // len(data.y_pool)))
    x, y = np.concatenate([data.x_pool] * repeats), np.concatenate([data.y_pool] * repeats)
    model.fit(x, y, batch_size=64, epochs=1, steps_per_epoch=600, verbose=0)
    accuracy = float(model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)["accuracy"])
    pooled = next(layer for layer in model.layers if isinstance(layer, keras.layers.GlobalAveragePooling2D))
    features = keras.Model(model.input, pooled.output)
    return (lambda x: batched(features, x)[0], lambda x: batched(model, x)[0].argmax(axis=1), accuracy)


@register_probe("samples", version=3)  # 2: collapse; 3: the autoencoder samples a mixture fitted to its codes
def _samples(model, objective, data, x_train, y_train, n_points: int = 2500, n_images: int = 1000) -> Measured:
    """What a generative model (one with `sample(n, seed)`) generates; a plain autoencoder samples from a
    mixture of Gaussians fitted to the codes of the training examples first (`Autoencoder.fit_sampler`).

    On a mixture with known modes (`suite.data.MIXTURES`): `modes` covered,
    the `high_quality` share and `collapse` (`suite.probes.measures.mode_coverage`), of
    `n_points` samples. On images: the `frechet_distance` to the test images
    in the feature space of a classifier trained on the same data, and the
    `classes` covered (classes given at least 2% of `n_images` samples by
    that classifier). Arrays: a few of the samples, for the report.
    """
    from suite.data import MIXTURES

    if not hasattr(model, "sample"):
        return Measured()
    if hasattr(model, "fit_sampler"):  # a plain autoencoder: a density fitted to its training codes
        model.fit_sampler(x_train)
    if data.name in MIXTURES:
        mixture = MIXTURES[data.name]
        samples = model.sample(n_points, SAMPLE_SEED)
        coverage = mode_coverage(samples, mixture.centres, mixture.std)
        # the mixture itself goes with the samples: the report draws the true modes and the real
        # distribution beside them from the database alone
        return Measured(metrics={name: coverage[name] for name in ("modes", "high_quality", "collapse")},
                        arrays={"samples": samples[:1000].astype(np.float32),
                                "mixture_centres": np.asarray(mixture.centres, dtype=np.float32),
                                "mixture_std": np.asarray(mixture.std, dtype=np.float32),
                                "real_samples": mixture.sample(1000, seed=0)[0]})
    features, classify, judge_accuracy = judge(data)
    samples = model.sample(n_images, SAMPLE_SEED)
    counts = np.bincount(classify(samples), minlength=data.num_outputs)
    return Measured(
        metrics={"frechet_distance": frechet_distance(features(samples), features(data.x_test)),
                 "classes": int(np.sum(counts >= 0.02 * n_images)), "judge_accuracy": judge_accuracy},
        arrays={"samples": samples[:36].astype(np.float32)})


SWING_SNAPSHOTS = 11  # snapshots over the second half of training: 10 distances between consecutive ones


@register_probe("mode_swing", snapshots=SWING_SNAPSHOTS)
def _mode_swing(model, objective, data, x_train, y_train, snapshots=None, n_points: int = 2000) -> Measured:
    """How much what a generative model generates on a mixture still moves late in training: `mode_swing`,
    the mean over consecutive snapshots (`SWING_SNAPSHOTS` over the second half of the run) of the total
    variation distance between their shares of samples per mode (and off every mode), each of `n_points`
    samples from the same noise.

    0 for a model whose distribution has settled (the same noise gives the
    same samples), up to 1 for one that moves all of its mass to other modes
    between snapshots: a GAN whose two players cycle, the generator chasing
    the discriminator from mode to mode (Metz et al. 2017, fig. 1, on this
    kind of ring). In the generated distribution, not in a loss: the losses
    of a GAN and of a diffusion model are of different objectives, and how
    much one swings says nothing of how much the other would. Series
    `mode_swing`: the distance per pair of snapshots against the later one's
    optimizer steps. Nothing at initialisation or on images.

    What it does not tell apart: every sample off the modes is one bin, so
    a model that has learned nothing reads as settled (read it beside the
    high-quality share); and it counts steady movement (a model still
    learning) as well as back-and-forth.
    """
    from suite.data import MIXTURES
    from suite.probes.core import assign_state, model_state

    if not snapshots or len(snapshots) < 3 or data.name not in MIXTURES or not hasattr(model, "sample"):
        return Measured()
    mixture = MIXTURES[data.name]
    final = model_state(model)
    shares = []
    for _, state in snapshots:
        assign_state(model, state)
        if hasattr(model, "fit_sampler"):  # a plain autoencoder samples a density fitted to its codes then
            model.fit_sampler(x_train)
        per_mode = mode_coverage(model.sample(n_points, SAMPLE_SEED), mixture.centres, mixture.std)["per_mode"]
        shares.append(np.append(per_mode, n_points - per_mode.sum()) / n_points)
    assign_state(model, final)
    if hasattr(model, "fit_sampler"):
        model.fit_sampler(x_train)
    distance = 0.5 * np.abs(np.diff(np.asarray(shares), axis=0)).sum(axis=1)
    steps = [step for step, _ in snapshots[1:]]
    return Measured(metrics={"mode_swing": float(distance.mean())}, series={"mode_swing": (steps, distance)})


DENOISING_STEPS = (5, 10, 25, 100)  # denoising steps to sample with (the model's schedule has 100)


# 2: every step count sampled with the posterior variance (with beta, the last step's own noise decided
# the high-quality share at few steps: a sampler's choice, not compute)
@register_probe("denoising_steps", version=2)
def _denoising_steps(model, objective, data, x_train, y_train, n_points: int = 2500) -> Measured:
    """A diffusion model's samples on a mixture against sampling compute: for k in DENOISING_STEPS,
    `steps<k>_modes` and `steps<k>_high_quality` (as probe `samples` measures them) of `n_points`
    samples drawn with k denoising steps (`Diffusion.sample(steps=k, variance="posterior")`, a respaced
    schedule below 100), all from the same starting noise and with the same sampler."""
    from suite.data import MIXTURES

    if data.name not in MIXTURES or not hasattr(model, "alpha_bars"):
        return Measured()
    mixture = MIXTURES[data.name]
    metrics = {}
    for k in DENOISING_STEPS:
        coverage = mode_coverage(model.sample(n_points, SAMPLE_SEED, steps=k, variance="posterior"),
                                 mixture.centres, mixture.std)
        metrics.update({f"steps{k}_modes": coverage["modes"], f"steps{k}_high_quality": coverage["high_quality"]})
    return Measured(metrics=metrics)

"""Self-supervised and generative models: autoencoders, a VAE, GANs and a diffusion model.

Each is a `keras.Model` whose `call(x)` returns its named losses for a batch
(a dict of scalars; "loss" is the one minimised) and whose `compute_loss`
returns "loss" and records the parts (e.g. the discriminator's and the
generator's losses) as metrics, so they land in the per-epoch history. So
the runner trains them with the same `compile()` / `fit()` as every other
model, on every backend: Keras's own `train_step` takes the gradient of
that one scalar. The labels `fit` passes are ignored.

The GAN needs two players to minimise two different losses with one
gradient. The discriminator's loss sees the generated batch through
`stop_gradient` (no gradient reaches the generator), and the generator's
loss sees the discriminator through `stateless_call` with its weights
behind `stop_gradient` (no gradient reaches the discriminator). The sum of
the two therefore gives each player exactly the gradient of its own loss.
The GANs train as the literature trains them (DCGAN, Radford et al. 2016):
the players take turns, a discriminator step then a generator step that
sees the updated discriminator, each with Adam at beta_1 = 0.5. Their
optimizer (`make_optimizer`, `suite.architectures.optimizers.AlternatingAdam`) does the taking turns, so
`fit` and the population trainer need nothing of their own: one optimizer
step updates one player, and a budget of N steps is N / 2 updates of each.

The VAE's and the diffusion model's losses are random (a latent sample; a step and its noise). In training
they draw from the model's seed generator; in evaluation (`training=False`: the held-out loss their learning
rate is chosen on) from the fixed seed `EVAL_SEED`, so that every evaluation, of any run at any rate, scores
the same split on the same draws, and evaluating never moves the training's random numbers.

Everything here is `keras.layers` and `keras.ops`; sampling (`sample`) returns NumPy arrays."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from suite.architectures.core import register_architecture
from suite.architectures.optimizers import AlternatingAdam

EVAL_SEED = 20_000  # the fixed draws of a held-out loss (module docstring)


def _noise(model, training):
    """The seed of a random draw in `model.call`: its seed generator in training, `EVAL_SEED` otherwise."""
    return model.noise if training else EVAL_SEED


class SelfSupervised(keras.Model):
    """Base: `call` returns {"loss": ..., part: ...}; the parts are tracked as metrics."""

    parts: tuple = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.parts}

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        for name, tracker in self.trackers.items():
            tracker.update_state(y_pred[name])
        return y_pred["loss"]

    def build_for(self, input_shape):
        """Creates every weight by running one batch of zeros (the runner needs them before `fit`)."""
        self(ops.zeros((2, *input_shape)))
        return self


def _is_image(input_shape) -> bool:
    return len(input_shape) == 3


def _sum_per_example(values):
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=-1)


# --- networks shared by the models -------------------------------------------------

def dense_stack(units: int, depth: int, out: int, activation="relu", final=None, dense=layers.Dense) -> list:
    """`depth` hidden layers of `units`, then `out` outputs: the layers, to put in a Sequential."""
    return [*(dense(units, activation=activation) for _ in range(depth)), dense(out, activation=final)]


def conv_encoder(input_shape, width: int, out: int, name: str, conv=layers.Conv2D, dense=layers.Dense):
    """Two strided 3x3 convolutions (width, 2 * width), flattened, to `out` outputs."""
    return keras.Sequential([
        keras.Input(input_shape),
        conv(width, 3, strides=2, padding="same", activation="relu"),
        conv(2 * width, 3, strides=2, padding="same", activation="relu"),
        layers.Flatten(),
        dense(out),
    ], name=name)


def conv_decoder(latent: int, output_shape, width: int, name: str, final="sigmoid"):
    """Dense to a quarter-size map, two transposed 3x3 convolutions up, cropped to the image."""
    h, w, c = output_shape
    h4, w4 = -(-h // 4), -(-w // 4)
    return keras.Sequential([
        keras.Input((latent,)),
        layers.Dense(h4 * w4 * 2 * width, activation="relu"),
        layers.Reshape((h4, w4, 2 * width)),
        layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(c, 3, strides=2, padding="same", activation=final),
        layers.Cropping2D(((0, 4 * h4 - h), (0, 4 * w4 - w))),
    ], name=name)


# --- autoencoders ---------------------------------------------------------------------

class Autoencoder(SelfSupervised):
    """Encoder to a `latent`-wide code, decoder back; mean squared reconstruction error."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder

    def call(self, x, training=False):
        reconstruction = self.decoder(self.encoder(x, training=training), training=training)
        return {"loss": ops.mean((x - reconstruction) ** 2)}

    def encode(self, x) -> np.ndarray:
        return ops.convert_to_numpy(self.encoder(x, training=False))

    def decode(self, z) -> np.ndarray:
        """Inputs decoded from codes `z` (what an interpolation between two codes looks like)."""
        return ops.convert_to_numpy(self.decoder(np.asarray(z, dtype="float32"), training=False))

    def reconstruct(self, x) -> np.ndarray:
        return self.decode(self.encode(x))

    def fit_sampler(self, x, components: int = 10) -> None:
        """A mixture of full-covariance Gaussians fitted to the codes of `x`, which `sample` decodes draws of:
        Ghosh et al. 2020's ex-post density (10 components), a plain autoencoder's fair way to generate."""
        from sklearn.mixture import GaussianMixture
        self.code_density = GaussianMixture(components, random_state=0).fit(self.encode(x).astype(np.float64))

    def sample(self, n: int, seed: int) -> np.ndarray:
        if not hasattr(self, "code_density"):
            raise RuntimeError("an autoencoder samples from a density fitted to its codes: call fit_sampler(x)")
        self.code_density.random_state = seed  # the seed fixes the draws
        z = self.code_density.sample(n)[0][np.random.default_rng(seed).permutation(n)]  # sample() sorts by component
        return self.decode(z)


# --- variational autoencoder -----------------------------------------------------------

class VAE(SelfSupervised):
    """Gaussian latent, reparameterised; the negative ELBO (Kingma and Welling 2014).

    Images: Bernoulli likelihood per pixel (binary cross-entropy). Points:
    Gaussian likelihood with standard deviation `decoder_std`.
    """

    parts = ("reconstruction", "kl")

    def __init__(self, encoder, decoder, latent: int, image: bool, decoder_std: float = 0.1, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.latent, self.image, self.decoder_std = latent, image, decoder_std
        self.noise = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        stats = self.encoder(x, training=training)
        mean, log_var = stats[:, :self.latent], stats[:, self.latent:]
        z = mean + ops.exp(0.5 * log_var) * keras.random.normal(ops.shape(mean), seed=_noise(self, training))
        out = self.decoder(z, training=training)
        if self.image:  # decoder gives logits
            nll = _sum_per_example(ops.maximum(out, 0) - out * x + ops.log1p(ops.exp(-ops.abs(out))))
        else:
            nll = _sum_per_example((x - out) ** 2) / (2 * self.decoder_std ** 2)
        kl = -0.5 * ops.sum(1 + log_var - mean ** 2 - ops.exp(log_var), axis=-1)
        return {"loss": ops.mean(nll + kl), "reconstruction": ops.mean(nll), "kl": ops.mean(kl)}

    def encode(self, x) -> np.ndarray:
        """The posterior means of `x`'s codes."""
        return ops.convert_to_numpy(self.encoder(x, training=False))[:, :self.latent]

    def decode(self, z) -> np.ndarray:
        """The decoder's mean for codes `z` (pixel probabilities for images)."""
        out = ops.convert_to_numpy(self.decoder(np.asarray(z, dtype="float32"), training=False))
        return 1 / (1 + np.exp(-out)) if self.image else out

    def reconstruct(self, x) -> np.ndarray:
        return self.decode(self.encode(x))

    def sample(self, n: int, seed: int) -> np.ndarray:
        return self.decode(np.random.default_rng(seed).normal(size=(n, self.latent)))


# --- GANs ------------------------------------------------------------------------------

# Spectral normalisation (Miyato et al. 2018) is Keras's own layer: one power-iteration step per
# training call bounds each discriminator layer's largest singular value, hence its Lipschitz constant.
def spectral_dense(units, activation=None):
    return layers.SpectralNormalization(layers.Dense(units, activation=activation))


def spectral_conv(filters, kernel_size, strides=1, padding="valid", activation=None):
    return layers.SpectralNormalization(
        layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, activation=activation))


class GAN(SelfSupervised):
    """Generator and discriminator, the non-saturating loss (Goodfellow et al. 2014), players in turn.

    d_loss = -log D(x) - log(1 - D(G(z))); g_loss = -log D(G(z)). See the
    module docstring for how one `fit` step gives each player its own gradient
    and how the optimizer makes them take turns.
    """

    parts = ("d_loss", "g_loss")

    def __init__(self, generator, discriminator, latent: int, seed=None, discriminator_steps: int = 1,
                 beta_2: float = 0.999, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.latent = generator, discriminator, latent
        self.discriminator_steps, self.beta_2 = discriminator_steps, beta_2
        self.noise = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        z = keras.random.normal((ops.shape(x)[0], self.latent), seed=self.noise)
        fake = self.generator(z, training=training)
        real_logits = self.discriminator(x, training=training)
        fake_logits = self.discriminator(ops.stop_gradient(fake), training=training)
        d_loss = ops.mean(ops.softplus(-real_logits)) + ops.mean(ops.softplus(fake_logits))
        # the discriminator as the generator sees it: its weights are constants here
        frozen = [ops.stop_gradient(v.value) for v in self.discriminator.trainable_variables]
        state = [v.value for v in self.discriminator.non_trainable_variables]
        judged, _ = self.discriminator.stateless_call(frozen, state, fake, training=training)
        g_loss = ops.mean(ops.softplus(-judged))
        return {"loss": d_loss + g_loss, "d_loss": d_loss, "g_loss": g_loss}

    def make_optimizer(self, learning_rate: float):
        """Adam with beta_1 = 0.5; `discriminator_steps` discriminator steps, then a generator step."""
        return AlternatingAdam([self.discriminator.trainable_variables, self.generator.trainable_variables],
                               turns=(0,) * self.discriminator_steps + (1,), learning_rate=learning_rate,
                               beta_1=0.5, beta_2=self.beta_2)

    def sample(self, n: int, seed: int) -> np.ndarray:
        z = np.random.default_rng(seed).normal(size=(n, self.latent)).astype("float32")
        return ops.convert_to_numpy(self.generator(z, training=False))


# --- diffusion -------------------------------------------------------------------------

def time_features(t, steps: int, size: int = 16):
    """Sinusoidal features of the diffusion step t (B,) -> (B, size)."""
    frequencies = ops.exp(ops.arange(size // 2, dtype="float32") * (-np.log(1000.0) / (size // 2)))
    angles = ops.cast(ops.reshape(t, (-1, 1)), "float32") / steps * 1000.0 * frequencies[None, :]
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)


class PointDenoiser(keras.Model):
    """MLP that predicts the noise in a 2-D point from the point and the step's features."""

    def __init__(self, width: int, dims: int, **kwargs):
        super().__init__(**kwargs)
        self.net = keras.Sequential(dense_stack(width, 3, dims, activation="silu"), name="denoiser_mlp")

    def call(self, x, t_features, training=False):
        return self.net(ops.concatenate([x, t_features], axis=-1), training=training)


class ImageDenoiser(keras.Model):
    """Small convolutional denoiser: 3x3 convolutions at full resolution, the step's
    features added to every position as a learned per-channel bias."""

    def __init__(self, width: int, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.inp = layers.Conv2D(width, 3, padding="same", activation="silu")
        self.time = [layers.Dense(width) for _ in range(3)]
        self.convs = [layers.Conv2D(width, 3, padding="same", activation="silu") for _ in range(3)]
        self.out = layers.Conv2D(channels, 3, padding="same")

    def call(self, x, t_features, training=False):
        h = self.inp(x)
        for time, conv in zip(self.time, self.convs):
            h = h + conv(h + time(t_features)[:, None, None, :])
        return self.out(h)


class Diffusion(SelfSupervised):
    """DDPM (Ho et al. 2020): learn to predict the noise added at a random step of a fixed schedule.

    `steps` noise levels, betas linear from 1e-4 to `beta_max` (with 100
    steps and 0.1, about 0.7% of the signal's variance is left at the end).
    Sampling runs the learned reverse process from pure noise.
    """

    def __init__(self, denoiser, input_shape, steps: int = 100, beta_max: float = 0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.denoiser, self.data_shape, self.steps = denoiser, tuple(input_shape), steps
        self.image = _is_image(input_shape)  # pixels in [0, 1] are diffused as [-1, 1], like the noise
        self.betas = np.linspace(1e-4, beta_max, steps, dtype="float64")
        self.alpha_bars = np.cumprod(1 - self.betas)
        self.noise = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if self.image:
            x = 2 * x - 1
        n = ops.shape(x)[0]
        seed = _noise(self, training)
        t = keras.random.randint((n,), 0, self.steps, seed=seed)
        noise = keras.random.normal(ops.shape(x), seed=seed + 1 if isinstance(seed, int) else seed)
        alpha_bar = ops.take(ops.convert_to_tensor(self.alpha_bars.astype("float32")), t)
        alpha_bar = ops.reshape(alpha_bar, (-1,) + (1,) * len(self.data_shape))
        noisy = ops.sqrt(alpha_bar) * x + ops.sqrt(1 - alpha_bar) * noise
        predicted = self.denoiser(noisy, time_features(t, self.steps), training=training)
        return {"loss": ops.mean((predicted - noise) ** 2)}

    def schedule(self, steps: int | None = None):
        """(noise levels, betas, cumulative alphas) of the reverse process: the trained schedule, or
        `steps` evenly spaced levels of it with each beta recomputed so that the cumulative alphas at the
        kept levels are the trained ones (what a respaced sampler must keep)."""
        if steps is None or steps >= self.steps:
            return np.arange(self.steps), self.betas, self.alpha_bars
        levels = np.unique(np.round(np.linspace(0, self.steps - 1, steps)).astype(int))
        alpha_bars = self.alpha_bars[levels]
        return levels, 1 - alpha_bars / np.concatenate([[1.0], alpha_bars[:-1]]), alpha_bars

    def sample(self, n: int, seed: int, batch: int = 500, steps: int | None = None,
               variance: str = "beta") -> np.ndarray:
        """`n` samples of the learned reverse process from pure noise, with all `self.steps` denoising
        steps or, with `steps`, fewer: a respaced schedule (Nichol and Dhariwal 2021, section 4) that
        keeps `steps` evenly spaced noise levels and recomputes each kept step's beta from their
        cumulative alphas, so the same trained model samples with less compute. `variance`: the noise
        added at each step, beta (Ho et al. 2020's first choice) or "posterior", the forward process's
        posterior variance beta (1 - alpha_bar_prev) / (1 - alpha_bar), their other choice: the two
        agree over many small steps, but over few large ones beta leaves noise of the step's own size in
        the last samples, so a comparison across step counts uses "posterior"."""
        if variance not in ("beta", "posterior"):
            raise ValueError(f"variance must be 'beta' or 'posterior'. Received: variance={variance!r}")
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n, *self.data_shape)).astype("float32")
        levels, betas, alpha_bars = self.schedule(steps)
        if variance == "posterior":
            previous = np.concatenate([[1.0], alpha_bars[:-1]])
            sigmas = np.sqrt(betas * (1 - previous) / (1 - alpha_bars))
        else:
            sigmas = np.sqrt(betas)
        for i in range(len(levels) - 1, -1, -1):
            features = time_features(np.full((n,), levels[i]), self.steps)
            eps = np.concatenate([ops.convert_to_numpy(self.denoiser(x[j:j + batch], features[j:j + batch],
                                                                     training=False))
                                  for j in range(0, n, batch)])
            beta, alpha_bar = betas[i], alpha_bars[i]
            x = (x - beta / np.sqrt(1 - alpha_bar) * eps) / np.sqrt(1 - beta)
            if i > 0:
                x = x + sigmas[i] * rng.normal(size=x.shape)
            x = x.astype("float32")
        return np.clip((x + 1) / 2, 0, 1) if self.image else x


# --- builders: uncompiled, built models from explicit arguments -----------------------

def _dense_coder(input_shape, width, out, name, final=None, dense=layers.Dense):
    """Flatten whatever comes in, two hidden layers, `out` outputs."""
    return keras.Sequential([keras.Input(input_shape), layers.Flatten(),
                             *dense_stack(width, 2, out, final=final, dense=dense)], name=name)


def _dense_decoder(latent, output_shape, width, name, final=None):
    size = int(np.prod(output_shape))
    return keras.Sequential([keras.Input((latent,)), *dense_stack(width, 2, size, final=final),
                             layers.Reshape(output_shape)], name=name)


@register_architecture(
    "dense_ae", "Dense autoencoder: 2 hidden layers of `width` to a `latent`-wide code and back (MSE).",
    inputs="generative",
)
def build_dense_ae(input_shape, num_classes=None, width=128, latent=8):
    """A dense autoencoder; `latent` wider than the input is the over-complete ablation."""
    image = _is_image(input_shape)
    encoder = _dense_coder(input_shape, width, latent, "encoder")
    decoder = _dense_decoder(latent, input_shape, width, "decoder", final="sigmoid" if image else None)
    return Autoencoder(encoder, decoder, name="dense_ae").build_for(input_shape)


@register_architecture(
    "conv_ae", "Convolutional autoencoder: two strided 3x3 convolutions to a `latent`-wide code, two "
    "transposed convolutions back (MSE).", inputs="generative",
)
def build_conv_ae(input_shape, num_classes=None, width=16, latent=8):
    if not _is_image(input_shape):
        raise ValueError(f"conv_ae needs images (H, W, C). Received: input_shape={tuple(input_shape)}")
    encoder = conv_encoder(input_shape, width, latent, "encoder")
    decoder = conv_decoder(latent, input_shape, width, "decoder")
    return Autoencoder(encoder, decoder, name="conv_ae").build_for(input_shape)


@register_architecture(
    "vae", "Variational autoencoder: Gaussian latent of `latent` dimensions, reparameterised, negative "
    "ELBO; dense for points, convolutional for images (or dense: coder='dense').", inputs="generative",
)
def build_vae(input_shape, num_classes=None, width=64, latent=None, decoder_std=0.1, coder="conv"):
    """`coder="dense"` gives images the dense autoencoder's encoder and decoder (`dense_ae`'s), so that the
    two differ in the variational objective alone."""
    if coder not in ("conv", "dense"):
        raise ValueError(f"coder must be 'conv' or 'dense'. Received: coder={coder!r}")
    image = _is_image(input_shape)
    latent = latent or (8 if image else 2)
    if image and coder == "conv":
        encoder = conv_encoder(input_shape, width, 2 * latent, "encoder")
        decoder = conv_decoder(latent, input_shape, width, "decoder", final=None)  # logits
    else:  # logits for images (a Bernoulli likelihood), values for points
        encoder = _dense_coder(input_shape, width, 2 * latent, "encoder")
        decoder = _dense_decoder(latent, input_shape, width, "decoder")
    return VAE(encoder, decoder, latent, image, decoder_std, name="vae").build_for(input_shape)


def _gan(input_shape, width, latent, spectral: bool, name: str, **recipe):
    image = _is_image(input_shape)
    dense = spectral_dense if spectral else layers.Dense
    if image:  # DCGAN-style: transposed convolutions up, strided convolutions down, no pooling
        generator = conv_decoder(latent, input_shape, width, "generator")
        discriminator = conv_encoder(input_shape, width, 1, "discriminator",
                                     conv=spectral_conv if spectral else layers.Conv2D, dense=dense)
    else:
        generator = keras.Sequential([keras.Input((latent,)), *dense_stack(width, 3, input_shape[0])],
                                     name="generator")
        discriminator = keras.Sequential([keras.Input(input_shape),
                                          *dense_stack(width, 3, 1, dense=dense)], name="discriminator")
    return GAN(generator, discriminator, latent, name=name, **recipe).build_for(input_shape)


@register_architecture(
    "gan", "GAN with the non-saturating loss, trained as DCGAN (Radford et al. 2016): the players in turn, Adam "
    "beta_1 = 0.5; MLP generator and discriminator (3 hidden layers) for points, DCGAN-style convolutional ones "
    "for images.", inputs="generative", learning_rate=2e-4, version=2,  # 2: players in turn, beta_1 = 0.5
)
def build_gan(input_shape, num_classes=None, width=128, latent=None):
    return _gan(input_shape, width, latent or (16 if _is_image(input_shape) else 2), False, "gan")


@register_architecture(
    "gan_sn", "SN-GAN as Miyato et al. 2018 train it: spectral normalisation on every discriminator layer "
    "(keras.layers.SpectralNormalization), 5 discriminator steps per generator step, Adam beta_1 = 0.5, "
    "beta_2 = 0.9.",
    inputs="generative", learning_rate=2e-4, version=3,  # 3: their recipe (5 discriminator steps, beta_2 0.9)
)
def build_gan_sn(input_shape, num_classes=None, width=128, latent=None):
    return _gan(input_shape, width, latent or (16 if _is_image(input_shape) else 2), True, "gan_sn",
                discriminator_steps=5, beta_2=0.9)


@register_architecture(
    "diffusion", "Denoising diffusion (DDPM, 100 steps): an MLP noise predictor for points, a small "
    "convolutional one for images.", inputs="generative",
)
def build_diffusion(input_shape, num_classes=None, width=128, steps=100, beta_max=0.1):
    if _is_image(input_shape):
        denoiser = ImageDenoiser(width, input_shape[-1], name="denoiser")
    else:
        denoiser = PointDenoiser(width, input_shape[0], name="denoiser")
    return Diffusion(denoiser, input_shape, steps, beta_max, name="diffusion").build_for(input_shape)

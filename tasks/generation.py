"""Study `generation`: GAN against VAE against diffusion.

Lesson: "GANs are hard to train. Mode collapse: the generator produces only a
few types of output, ignoring the full data distribution. Oscillation: the
generator and discriminator cycle without converging... diffusion models...
Training is stable (just predict the noise at each step), the models cover
the full data distribution." Four generative models, each trained the way
its literature trains it, by the same runner: a GAN with the non-saturating
loss as DCGAN trains it (players in turn, Adam beta_1 = 0.5; Radford et al.
2016), SN-GAN as Miyato et al. 2018 train it (spectral normalisation, 5
discriminator steps per generator step, Adam beta_1 = 0.5, beta_2 = 0.9),
a VAE and a DDPM-style diffusion model. Data whose modes are known: 8
Gaussians on a ring (std 0.02), where the mode-collapse literature counts
the modes covered, the share of high-quality samples and, here, collapse
apart from failing to train (the share of the good samples on a quarter of
the modes); and the digits, judged by a classifier the suite trains on them
(Frechet distance in its feature space, classes covered). The 25-mode grid
and the digits run in the full profile only: at the quick budget no model
learns the grid (0 modes for all four), and the DCGAN has not yet learned to
draw digits, so they could decide nothing about collapse. Stability: the spread of
the mode count over 10 seeds and the swing of the generator's loss over
training.

Run: python run_suite.py --studies generation
"""

from suite.adequacy import Gate
from suite.claims import Claim
from suite.studies import Study, register_grid, register_study

MIXTURES = ("ring8", "grid25")
# quick's training steps on the mixtures, every model alike: at 4,000 the diffusion model covered 8 ring
# modes at 3e-3 but 5.5 on average at 1e-3 (0 to 8 by seed), and its tuning seeds could not tell the two
# rates apart (held-out loss 0.281 against 0.291, one standard error 0.019); at 8,000 it covered 8 at
# either rate (3 seeds each, by hand) and 7.7 over the default run's 10 seeds at 1e-3 (docs/studies.md,
# generation): past its gate of 7.5, though one seed still covered 5
MIXTURE_STEPS = 8000
MODELS = ("gan", "gan_sn", "vae", "diffusion")
LIKELIHOOD = ("vae", "diffusion")

# Competence gates: the claims that the VAE and the diffusion model cover more than the GAN, collapse
# less and train more stably say something only of likelihood models that learned the ring. A model
# that covers the ring covers all 8 of its modes (VEEGAN, Srivastava et al. 2017, Table 1: 8 of 8;
# as quoted in this project's issue, not checked offline), and the lesson says diffusion models "cover
# the full data distribution": at least 7.5 modes on average (a missed mode on one seed in two). No
# published VAE figure on this ring was found: the same level, since both objectives penalise a missed
# mode. On the 25-mode grid (full profile) no source gives a level at our budget: no gate there. No
# gate on the GANs: their failures are what the claims measure (the sensitivity table shows the rates).
GATES = tuple(Gate(model={"arch": arch}, metric="trained/modes", level=7.5, datasets=("ring8",),
                   source="a model that covers the 8-mode ring covers all 8 (VEEGAN, Srivastava et al. 2017, "
                   "Table 1); the lesson: diffusion models cover the full distribution")
              for arch in LIKELIHOOD)

register_study(
    Study(
        name="generation",
        # the GANs: the recipes' rates, and every run again at a quarter and four times its rate (how the
        # results move with the rate, seed by seed, is part of what "hard to train" means); the VAE and the
        # diffusion model choose theirs on a held-out loss (`Task.tuning` below)
        tuning="sensitivity",
        question="Does a GAN collapse onto a few modes and vary from seed to seed, where a VAE and a "
        "diffusion model cover the whole distribution and train stably?",
        claim="GANs are hard to train: mode collapse and oscillation. Diffusion models train stably "
        "(just predict the noise at each step) and cover the full data distribution.",
        expected="On the ring the GAN covers fewer modes than the VAE and the "
        "diffusion model and puts its good samples on a few of them, its mode count varies more from seed to "
        "seed, and its generator's loss keeps swinging, where the diffusion model's settles. The literature "
        "expects the DCGAN recipe and SN-GAN's to narrow the gap; the numbers below say by how much.",
        claims=(
            Claim(
                text="Mode coverage: the VAE and the diffusion model each cover more modes than the GAN.",
                a={}, b={"arch": "gan"}, each={"arch": LIKELIHOOD}, metric="trained/modes",
                datasets=MIXTURES,
                cell=("generative models", "2-D mixtures"),
            ),
            Claim(
                text="Mode collapse: of its samples that land on a mode, the GAN puts a larger share on its "
                "favourite quarter of the modes than the VAE and the diffusion model do (0.25 is an even "
                "spread on the ring; a model whose samples miss every mode has collapse 0 and is judged by "
                "its high-quality share instead).",
                # a = each of the VAE and the diffusion model, b = the GAN: lower collapse is better for a
                a={}, b={"arch": "gan"}, each={"arch": LIKELIHOOD}, metric="trained/collapse", datasets=MIXTURES,
                cell=("generative models", "2-D mixtures"),
            ),
            Claim(
                text="Class coverage on digits: the VAE and the diffusion model each cover more of the 10 digit "
                "classes (as the judge classifier sees them) than the GAN.",
                a={}, b={"arch": "gan"}, each={"arch": LIKELIHOOD}, metric="trained/classes", datasets=("digits",),
                cell=("generative models", "images"),
            ),
            Claim(
                text="The VAE and the diffusion model cover the full distribution: each covers all 8 modes of "
                "the ring.",
                a={}, b={}, each={"arch": LIKELIHOOD}, metric="trained/modes", reference=7.5, datasets=("ring8",),
                cell=("generative models", "2-D mixtures"),
            ),
            Claim(
                text="Instability across seeds: the number of modes the GAN covers varies more from seed to "
                "seed than the diffusion model's.",
                a={"arch": "gan"}, b={"arch": "diffusion"}, metric="trained/modes", statistic="spread",
                datasets=MIXTURES,
                cell=("generative models", "2-D mixtures"),
            ),
            Claim(
                text="Oscillation: in the second half of training what the GAN generates moves between the "
                "modes more than what the diffusion model generates does (total variation between the shares of "
                "samples per mode at consecutive snapshots, the same noise each time: 0 for a model that has "
                "settled).",
                # measured on the samples, not the losses: a GAN's and a diffusion model's losses are of
                # different objectives, and their swings are not on one scale (`suite.probes.samples`).
                # The claim is that the GAN moves more: a larger value counts for a (`suite.metrics`)
                a={"arch": "gan"}, b={"arch": "diffusion"}, metric="trained/mode_swing",
                higher_is_better=True, datasets=MIXTURES,
                cell=("generative models", "2-D mixtures"),
            ),
            # the lesson's "the two players cycle instead of converging": not how much the loss swings (the
            # claim above) but whether it swings with a period
            Claim(
                text="Cycling: in the second half of training the GAN's generator loss swings with a period more "
                "than the diffusion model's loss does (Fisher's g of the loss less a fitted quadratic, over "
                "periods of at most half the window: the strongest frequency's share of the power; about 0.11 "
                "for noise).",
                a={"arch": "gan"}, b={"arch": "diffusion"}, metric="train/cycling_generator",
                higher_is_better=True, datasets=MIXTURES,
                cell=("generative models", "2-D mixtures"),
            ),
            Claim(
                text="Diffusion quality scales with compute at sampling: more of the diffusion model's samples "
                "land near a mode (high-quality share) with 100 denoising steps than with 10 (the same trained "
                "model, a respaced schedule, the same sampler).",
                a={"arch": "diffusion"}, b={}, metric="trained/steps100_high_quality",
                change={"metric": ("trained/steps10_high_quality", "trained/steps100_high_quality")},
                datasets=("ring8",), cell=("generative models", "2-D mixtures"),
            ),
            # the lesson's "a smooth latent space enables generation": what the VAE's prior buys over a plain
            # autoencoder of the same shape, sampled the fairest way it can be without training it differently
            # (a mixture of 10 Gaussians fitted to its training codes, as Ghosh et al. 2020, who report that such
            # ex-post density estimation lets deterministic autoencoders generate as well as VAEs: this can
            # fail; with one Gaussian, as first run, the autoencoder could not win: 0.3% of its samples on a mode)
            Claim(
                text="Sampling needs the code distribution a VAE imposes: decoding codes drawn from its prior, "
                "the VAE puts more of its samples near a mode (high-quality share) than a plain autoencoder "
                "of the same shape decoding codes drawn from a mixture of 10 Gaussians fitted to its training "
                "codes.",
                a={"arch": "vae"}, b={"arch": "dense_ae"}, metric="trained/high_quality", datasets=MIXTURES,
                cell=("generative models", "2-D mixtures"),
            ),
            Claim(
                text="SN-GAN's recipe helps: spectral normalisation with 5 discriminator steps per generator "
                "step (Miyato et al. 2018) covers more modes than the DCGAN recipe, at as many generator "
                "updates.",
                a={"arch": "gan_sn"}, b={"arch": "gan"}, metric="trained/modes", datasets=MIXTURES,
                cell=("generative models", "2-D mixtures"),
            ),
            Claim(
                text="On digits, the diffusion model's samples are closer to the real images (lower Frechet "
                "distance in the judge's feature space) than the GAN's.",
                a={"arch": "diffusion"}, b={"arch": "gan"}, metric="trained/frechet_distance", datasets=("digits",),
                cell=("generative models", "images"),
            ),
        ),
        # smoke: 200 points, so that its 80 steps make several epochs (losses per epoch, oscillation)
        sizes={"smoke": (200,), "quick": ("full",), "full": ("full",)},
        seeds={"smoke": 2, "quick": 10, "full": 10},
        # digits in full only: at the quick budget (1,000 steps, 500 generator updates) the DCGAN is still
        # drawing checkerboards, so the digit claims would measure how fast each model learns, not collapse
        datasets={"smoke": ("ring8",), "quick": ("ring8",), "full": ("ring8", "grid25", "digits")},
        # a loss value every 50 steps (125 in full; 2 in smoke's 80): 80 in the second half of quick's 8,000
        # steps as of full's 20,000, enough for the spectrum that "Cycling" reads, with the same noise level
        # (about 0.11) in both profiles (suite.training.objectives.loss_oscillation)
        budget={"smoke": {"max_steps": 80, "eval_every": 2, "batch_size": 64, "steps_per_execution": 2},
                "quick": {"max_steps": MIXTURE_STEPS, "eval_every": 50, "batch_size": 128, "steps_per_execution": 50},
                "full": {"max_steps": 20000, "eval_every": 125, "batch_size": 128, "steps_per_execution": 125}},
        figures=("sample_scatter", "sample_grid", "generation_table", "loss_curves"),
        gates=GATES,
        references=(
            "VEEGAN (Srivastava et al. 2017, Table 1), modes covered out of 8 on the 2-D ring: GAN 1, VEEGAN 8; "
            "out of 25 on the 2-D grid: GAN 3.3, VEEGAN 24.6 (as quoted in this project's issue; not checked "
            "against the paper here, which is not reachable offline).",
            "DCGAN (Radford et al. 2016): Adam, learning rate 2e-4, beta_1 = 0.5. SN-GAN (Miyato et al. 2018): "
            "Adam beta_1 = 0.5, beta_2 = 0.9 with 5 discriminator updates per generator update, among the "
            "settings of its Table 1 (recalled here, not checked against the paper offline).",
        ),
    )
)

# width: hidden units of the MLPs (points), channels of the first convolution (images)
WIDTHS = {"points": {"gan": 128, "gan_sn": 128, "vae": 64, "diffusion": 128},
          "images": {"gan": 16, "gan_sn": 16, "vae": 16, "diffusion": 16}}

# The GANs keep their recipes' learning rate (2e-4, DCGAN and SN-GAN alike) and the sensitivity table; the
# VAE and the diffusion model choose theirs on the validation split like the classifiers, on their own
# held-out loss (the negative ELBO; the denoising loss on fixed noise: objective "generate_heldout").
# SN-GAN takes 5 discriminator steps per generator step: it gets 3 times the steps, so that its generator is
# updated as often as the plain GAN's (a budget of N steps is N / 2 generator updates for the plain GAN,
# N / 6 for SN-GAN).
STEP_FACTOR = {"gan_sn": 3}

# the plain autoencoder beside the VAE on the mixtures (same width, a 2-wide code like the VAE's), its rate
# chosen on its held-out reconstruction error like the VAE's on its negative ELBO
for dataset in MIXTURES:
    register_grid("generation", datasets=(dataset,), variants={"natural": True}, archs=("dense_ae",),
                  bias="generative modelling", objective="generate_heldout", metric="trained/modes",
                  probes=("samples", "mode_swing"),
                  budget={"smoke": {"max_steps": 80}, "quick": {"max_steps": MIXTURE_STEPS},
                          "full": {"max_steps": 20000}},
                  hparams={"width": WIDTHS["points"]["vae"], "latent": 2}, tuning="validation")

for dataset, kind in (("ring8", "points"), ("grid25", "points"), ("digits", "images")):
    for arch in MODELS:
        # on digits the convolutional models are slower per step: fewer steps in quick
        steps = {"smoke": 80, "quick": 1000 if kind == "images" else MIXTURE_STEPS, "full": 20000}
        factor = STEP_FACTOR.get(arch, 1)
        budget = {profile: {"max_steps": n * factor} for profile, n in steps.items()}
        likelihood = arch in LIKELIHOOD
        register_grid("generation", datasets=(dataset,), variants={"natural": True}, archs=(arch,),
                      bias="generative modelling", objective="generate_heldout" if likelihood else "generate",
                      metric="trained/modes" if kind == "points" else "trained/frechet_distance",
                      # the diffusion model on a mixture is also sampled with fewer denoising steps
                      probes=("samples",) + (("mode_swing",) if kind == "points" else ())
                      + (("denoising_steps",) if (arch, kind) == ("diffusion", "points") else ()), budget=budget,
                      hparams={"width": WIDTHS[kind][arch]},
                      tuning="validation" if likelihood else None)

"""Study `locality`: does the CNN's assumption of spatial structure pay off?

Lesson: "Specialized architectures encode these structural assumptions
directly, allowing the network to learn more from less data" and "CNNs assume
spatial locality and translation invariance". A fixed pixel permutation keeps
every pixel's value and destroys only the neighbourhoods: the MLP cannot tell
the difference (it is indifferent to input order), the CNN loses what its
bias gave it, and the ViT keeps only its patch embedding.

Run: python run_suite.py --studies locality
Expected (quick profile): CNN above MLP at the smallest sizes on natural
images; on permuted pixels the CNN no better than the MLP; the MLP's two
curves overlap; the ViT's curve the lowest on natural images.
"""

from suite.adequacy import Gate
from suite.claims import Claim
from suite.studies import Study, register_grid, register_study

DATASETS = ("digits", "mnist5k", "tfds_mnist", "tfds_fashion_mnist", "tfds_cifar10")
NETWORKS = ("mlp", "cnn", "vit")

# Competence gates: the verdicts comparing the CNN and the MLP rest on each being a competent image
# classifier. On MNIST's 60,000 training digits every network LeCun et al. 1998 report beats a linear
# classifier (test error 12.0% for the linear one, 4.5-4.7% for 2-layer MLPs, 0.95% for LeNet-5; as
# recalled, not checked against the paper offline). No source gives a level at our training sets (a
# few hundred to a few thousand images), so the gate is relative: at the largest training set, within
# 3 accuracy points of logistic regression on the same images (the tabular study's gate on the trees).
# No gate on the ViT: that it lags with little data is what the claims say.
GATES = tuple(
    Gate(model={"arch": arch}, metric="test/accuracy", level=-0.03, relative_to={"arch": "logreg"},
         source="relative: LeCun et al. 1998 find every network above a linear classifier on MNIST; no "
         "source gives a level at these training-set sizes, so within 3 points of logistic regression on the "
         "same images")
    for arch in ("cnn", "mlp"))

register_study(
    Study(
        name="locality",
        question="Does building in spatial locality (convolution + pooling) let a model "
        "learn images from fewer examples, and does the advantage vanish when the "
        "pixels are shuffled?",
        claim="CNNs assume spatial locality and translation invariance. The right "
        "inductive bias allows a model to learn from less data and generalize better. "
        "The transformer ... needs more data to learn what CNNs and RNNs get for free "
        "from their structure.",
        expected="CNN > MLP at small training sets on natural images; no CNN advantage on "
        "permuted pixels; the MLP unaffected by the permutation; the ViT needs the most data.",
        claims=(
            Claim(
                text="The CNN beats the MLP on natural images at small training sets.",
                a={"arch": "cnn", "variant": "natural"},
                b={"arch": "mlp", "variant": "natural"},
                test="better", sizes="smallest:2",
                cell=("locality", "images"),
            ),
            # "no advantage" one-sided, with the control's 2 points as its margin (7 examples of digits'
            # 359-example test set): "not better by more than 0" could never support a difference of
            # exactly 0, and a band ("within 2 points") would also ask that the CNN not fall *behind*, which
            # the lesson does not say: on mnist5k it does fall behind (-0.026 [-0.038, -0.014] at the
            # CNN's jax-tuned rate, +0.001 at tensorflow's; bench/README, "tensorflow and jax"), so the
            # band made the verdict hinge on the rate either backend chose
            Claim(
                text="Permuting the pixels removes the CNN's advantage over the MLP: on permuted pixels the "
                "CNN is at most 2 accuracy points more accurate than the MLP.",
                a={"arch": "cnn", "variant": "permuted"},
                b={"arch": "mlp", "variant": "permuted"},
                test="not_better", sizes="all", margin=0.02,
                cell=("locality", "images, pixels permuted"),
            ),
            # the drop of the advantage itself, paired seed by seed (a review of December 5: the one-sided
            # claim above is also met by a CNN that is merely tuned badly on permuted pixels)
            Claim(
                text="The CNN's advantage is the pixels' neighbourhoods: permuting them costs the CNN more "
                "accuracy than the MLP (change from natural to permuted pixels, a difference in differences).",
                a={"arch": "mlp"}, b={"arch": "cnn"}, change={"variant": ("natural", "permuted")},
                test="better", sizes="all",
                cell=("locality", "images, pixels permuted"),
            ),
            Claim(
                text="Control: the MLP is unaffected by the permutation (within 2 accuracy points). A fixed "
                "permutation of an MLP's inputs is a relabelling of its first layer's i.i.d. weights, so this "
                "holds by construction at the same recipe: it checks the machinery (same subsets, same "
                "permutation for every split), it is no evidence for the lesson. Both variants train at the "
                "natural variant's tuned learning rate (one recipe).",
                a={"arch": "mlp", "variant": "natural"},
                b={"arch": "mlp", "variant": "permuted"},
                test="negligible", sizes="all", margin=0.02, control=True,
            ),
            Claim(
                text="The Transformer needs the most data: on natural images, on average over the "
                "training-set sizes, both the CNN and the MLP are more accurate than the ViT (the data-size "
                "crossover shows where the ViT catches up).",
                a={"arch": ("cnn", "mlp"), "variant": "natural"},
                b={"arch": "vit", "variant": "natural"},
                test="better", sizes="all",
                cell=("Transformer: minimal bias", "images"),
            ),
            # what "assumes almost nothing" means for this ViT: patches of 7x7 pixels (16 tokens) on MNIST, and
            # a probe with 4x4 patches (49 tokens, the same parameters, 1 seed at n = 3,500) lost 1.3 points to
            # the permutation against 0.2 at 7x7, no more accurate on natural images and 4-5x slower a step on
            # a CPU (docs/studies.md): the ViT here uses little of the pixel neighbourhoods, which this claim
            # says in numbers rather than leaving "the Transformer needs the most data" to stand for it
            # two-sided: "assumes almost nothing" is also contradicted by a ViT that does *better* on permuted
            # pixels (as it did at n <= 400 on mnist5k, while it lost 1.3 points at 3,500: a review of
            # December 5), which a one-sided "costs at most" would have counted for it
            Claim(
                text="The Transformer assumes almost nothing about the pixels: permuting them moves the ViT's "
                "accuracy by at most 2 points either way (natural against permuted).",
                a={"arch": "vit", "variant": "natural"},
                b={"arch": "vit", "variant": "permuted"},
                test="negligible", sizes="all", margin=0.02,
                cell=("Transformer: minimal bias", "images, pixels permuted"),
            ),
            # the lesson's "with abundant data the least biased model wins, and scales": the winning needs
            # more data than a CPU profile trains on (the data-size crossover on the index shows how far off
            # it is); the scaling can be measured at any sizes, as the exponent of a power-law learning curve
            # (Hestness et al. 2017), which the ceiling does not flatter as it would a gain in accuracy
            Claim(
                text="With more data the Transformer scales better: on natural images its test error falls "
                "faster with the training-set size than the CNN's (a larger exponent alpha of a power-law "
                "learning curve, error ~ n^-alpha, over the profile's sizes).",
                a={"arch": "vit", "variant": "natural"},
                b={"arch": "cnn", "variant": "natural"},
                test="better", statistic="scaling",
                cell=("Transformer: minimal bias", "images"),
            ),
        ),
        sizes={"smoke": (60, 120), "quick": (100, 400, "full"), "full": (50, 100, 200, 500, 1000, 2000, 5000, "full")},
        # the data-size crossover on the report's index: every model minus this reference
        crossover=("mlp", ("natural", "permuted")),
        seeds={"smoke": 2, "quick": 10, "full": 10},
        datasets={
            "smoke": ("digits",),
            "quick": ("digits", "mnist5k"),
            "full": DATASETS,
        },
        param_target=20_000,
        figures=("learning_curves", "tuned_baselines"),
        # Classical reference rows (the tabular study's baselines on the flattened pixels).
        # Gradient-boosted trees take tens of seconds per fit on MNIST-5k's 3,500 x 784 on one core, and a run
        # fits each point of their grid (docs/architectures.md): full profile only.
        archs={"smoke": NETWORKS + ("logreg", "knn"), "quick": NETWORKS + ("logreg", "knn")},
        gates=GATES,
    )
)

# The networks, and what a non-deep method reaches on the same images: none of
# the classical ones sees the pixel grid (they read a flat vector), so the
# permutation cannot touch them.
for archs, bias in ((NETWORKS, "spatial locality"), (("hgb", "logreg", "knn"), "none (classical reference)")):
    register_grid("locality", datasets=DATASETS, variants={"natural": True, "permuted": False}, archs=archs, bias=bias)

"""Study `representation`: what an autoencoder's bottleneck learns.

Lesson: "An autoencoder is trained to reconstruct its input... the trick is
forcing the data through a bottleneck... If reconstruction is accurate, the
bottleneck representation must capture the essential information." and
"Autoencoders assume the data lies on a lower-dimensional manifold." A dense
autoencoder with codes 2, 8, 32 and 64 wide, and an over-complete one (a
code twice as wide as the input: no bottleneck), trained without labels on
digits (and MNIST-5k), then probed (`suite.probes`, probe "codes"):
reconstruction error, and a linear probe trained on the codes of only 10 or
100 labelled examples per class, against the same probe on the raw pixels
and on PCA codes of the same width. Mismatched data: a table of independent
noise features (`noise64`), which has no low-dimensional structure to find.
Beside the 8-wide code on images, a VAE with the same dense coder (probe
"interpolations"): decoded paths between two test images' codes, judged by a
classifier of the pixels, for "a smooth latent space enables generation".

Run: python run_suite.py --studies representation
"""

from suite.claims import Claim
from suite.studies import Study, register_grid, register_study

IMAGES = ("digits", "mnist5k")
WIDTHS = (2, 8, 32, 64)
INPUT_SIZE = {"digits": 64, "mnist5k": 784, "noise64": 64}
BOTTLENECK = {"arch": "dense_ae", "setting": "code 8"}
VARIATIONAL = {"arch": "vae", "setting": "code 8"}  # the same dense coder, trained as a VAE
FEW, MORE = 10, 100  # labelled examples per class


def gain(space: str, labels: int) -> dict:
    """The change from the probe on `space` to the probe on the code, in the same runs."""
    return {"metric": (f"trained/probe_{space}_{labels}", f"trained/probe_code_{labels}")}


register_study(
    Study(
        name="representation",
        question="Does an autoencoder's bottleneck learn a code that makes classes easier to separate with "
        "few labels, and does it need the bottleneck and data with low-dimensional structure to do so?",
        claim="Autoencoders assume the data lies on a lower-dimensional manifold: forced through a bottleneck, "
        "the code must capture the essential information.",
        expected="On digits, a linear probe on an 8-wide code with 10 labels per class beats the same probe on "
        "raw pixels; without the bottleneck the advantage shrinks; the code keeps the images' nearest "
        "neighbours, learned in training, as well as PCA does; on structureless noise the code gains "
        "less over the raw features than on digits.",
        claims=(
            Claim(
                text="With a bottleneck, the code beats raw pixels for a linear probe with 10 labels per class.",
                a=BOTTLENECK, b={}, metric=f"trained/probe_code_{FEW}", change=gain("pixels", FEW),
                datasets=IMAGES,
                cell=("autoencoder bottleneck", "images"),
            ),
            Claim(
                text="Without the bottleneck that advantage shrinks: the 8-wide code gains more over the pixels "
                "than the over-complete code does.",
                a=BOTTLENECK, b={"arch": "dense_ae", "setting": "over-complete"}, metric=f"trained/probe_code_{FEW}",
                change=gain("pixels", FEW), datasets=IMAGES,
                cell=("autoencoder bottleneck", "images"),
            ),
            Claim(
                text="The learned code is at least as good as PCA of the same width (within 2 points) for a "
                "probe with 10 labels per class.",
                a=BOTTLENECK, b={}, metric=f"trained/probe_code_{FEW}", test="not_better", margin=0.02,
                reference=0.0, change={"metric": (f"trained/probe_code_{FEW}", f"trained/probe_pca_{FEW}")},
                datasets=IMAGES,
                cell=("autoencoder bottleneck", "images"),
            ),
            # "similar inputs map to nearby points": trustworthiness (Venna and Kaski 2001), how many of each
            # test image's 5 nearest neighbours among the codes are strangers among the pixels
            Claim(
                text="Similar inputs map to nearby points, and training puts them there: the 8-wide code keeps "
                "the test images' nearest neighbours (trustworthiness, 5 neighbours) better after training than "
                "at initialisation.",
                a=BOTTLENECK, b={}, metric="trained/trust_code",
                change={"metric": ("init/trust_code", "trained/trust_code")}, datasets=IMAGES,
                cell=("autoencoder bottleneck", "images"),
            ),
            Claim(
                text="The learned code keeps the images' neighbourhoods at least as well as PCA of the same "
                "width (trustworthiness within 0.01).",
                a=BOTTLENECK, b={}, metric="trained/trust_code", test="not_better", margin=0.01,
                reference=0.0, change={"metric": ("trained/trust_code", "trained/trust_pca")},
                datasets=IMAGES,
                cell=("autoencoder bottleneck", "images"),
            ),
            # "on noise the code is no better than raw" would hold for any data (a code cannot add
            # information): the test is whether the gain depends on the data's structure
            Claim(
                text="The code's standing comes from the data's structure: the 8-wide code's margin over the "
                "raw features (code minus raw; negative where the code loses) is larger on digits than on "
                "structureless noise, with 100 labels per class.",
                a={**BOTTLENECK, "dataset": "digits"}, b={**BOTTLENECK, "dataset": "noise64"},
                metric=f"trained/probe_code_{MORE}", change=gain("pixels", MORE),
                cell=("autoencoder bottleneck", "noise"),
            ),
            # "a smooth latent space enables generation": the path between two codes, decoded, judged by a
            # classifier of the pixels; the share of the ends' confidence kept between them, so a blurrier
            # reconstruction does not count against the VAE by itself
            Claim(
                text="A VAE's code space is smooth: decoded along a straight path between the codes of two test "
                "images of different classes, the VAE's images keep more of a pixel classifier's confidence "
                "between the ends than the plain autoencoder's (the same dense coder, 8-wide code).",
                a=VARIATIONAL, b=BOTTLENECK, metric="trained/interp_kept", datasets=IMAGES,
                cell=("variational code", "images"),
            ),
        ),
        sizes={"smoke": ("full",), "quick": ("full",), "full": ("full",)},
        seeds={"smoke": 2, "quick": 10, "full": 10},
        datasets={"smoke": ("digits",), "quick": ("digits", "mnist5k", "noise64"),
                  "full": ("digits", "mnist5k", "noise64")},
        budget={"quick": {"max_steps": 1500, "eval_every": 150, "batch_size": 64, "steps_per_execution": 50},
                "full": {"max_steps": 6000, "eval_every": 300, "batch_size": 64, "steps_per_execution": 100}},
        figures=("code_probes", "reconstructions", "code_map", "interpolations", "loss_curves"),
        # the convolutional autoencoder (images only) in full; the claims are about the dense one (and the VAE
        # with its coder)
        archs={"smoke": ("dense_ae",), "quick": ("dense_ae", "vae")},
    )
)

# width: hidden units of the dense autoencoder, channels of the convolutional one's first layer
ARCHS = {"dense_ae": 128, "conv_ae": 16}

for dataset, size in INPUT_SIZE.items():
    settings = {f"code {w}": w for w in WIDTHS}
    settings["over-complete"] = 2 * size  # wider than the input: nothing forces a compression
    for arch, width in ARCHS.items():
        if arch == "conv_ae" and dataset not in IMAGES:
            continue
        for setting, latent in settings.items():
            register_grid("representation", datasets=(dataset,), variants={"natural": dataset != "noise64"},
                          archs=(arch,), bias="low-dimensional manifold", objective="generate",
                          metric=f"trained/probe_code_{FEW}", setting=setting, hparams={"width": width, "latent": latent},
                          probes=("codes", "interpolations") if dataset in IMAGES and latent == 8 else ("codes",))

# The VAE beside the 8-wide autoencoder on images: the dense autoencoder's encoder and decoder, the variational
# objective (a Bernoulli likelihood of the pixels, the KL to a standard Gaussian) at the same default rate
register_grid("representation", datasets=IMAGES, variants={"natural": True}, archs=("vae",),
              bias="smooth latent space", objective="generate", metric="trained/interp_kept", setting="code 8",
              hparams={"width": ARCHS["dense_ae"], "latent": 8, "coder": "dense"}, probes=("codes", "interpolations"))

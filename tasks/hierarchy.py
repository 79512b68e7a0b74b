"""Study `hierarchy`: what stacked convolution layers learn.

Lesson: "Early layers detect edges, later layers detect combinations of
edges (shapes), and deeper layers detect complex patterns. This hierarchical
feature learning emerges naturally from the architecture and training." One
CNN (three 3x3 convolution blocks of 16, 32 and 64 channels with max-pooling,
global average pooling, a dense head) trained on MNIST-5k's digits 0-4, probed at
initialisation and after training (`suite.probes`, probe "hierarchy"):

- the first layer's filters, drawn, and how edge-like they are: the share of
  each filter's energy in the span of oriented edge detectors (0.25 on
  average for random 3x3 filters, 1 for a pure edge);
- for each layer, the input patches that most activate a few of its channels;
- a linear probe on each layer's globally pooled activations: how well the
  classes separate in terms of what that layer detects, for the trained
  classes and for the digits 5-9, which the network never saw. The untrained
  network is the control: a rise with depth that training does not add comes
  from the architecture alone (random features pooled over larger fields).

Run: python run_suite.py --studies hierarchy
"""

from suite.claims import Claim
from suite.studies import Study, register_grid, register_study

DATASETS = ("digits", "mnist5k", "tfds_mnist", "tfds_fashion_mnist", "tfds_cifar10", "mnist5k_04")
CNN = {"arch": "cnn"}
LAST = "held_out_layer3"  # the CNN has three convolution layers (blocks=3)

register_study(
    Study(
        name="hierarchy",
        question="Does a CNN's first layer learn edge detectors, and do its deeper layers learn features "
        "that separate the classes better, as a result of training rather than of the architecture alone?",
        claim="Early layers detect edges, later layers detect combinations of edges (shapes), and deeper "
        "layers detect complex patterns. This hierarchical feature learning emerges naturally from the "
        "architecture and training.",
        expected="First-layer filters become oriented edge detectors (far more edge-like than the random "
        "filters they start as); a linear probe on pooled activations gains accuracy with depth, and the "
        "trained network's deep layers beat the same layers untrained.",
        claims=(
            Claim(
                text="Early layers detect edges, learned in training: the first layer's filters are more "
                "edge-like after training than the random filters they start from.",
                a=CNN, b={}, metric="trained/edge_likeness",
                change={"metric": ("init/edge_likeness", "trained/edge_likeness")},
                cell=("hierarchy", "images"),
            ),
            Claim(
                text="Later layers combine them into features that serve more than the labels they were "
                "trained on: trained on MNIST's digits 0-4, a linear probe for the digits 5-9, classes the "
                "network never saw, is more accurate on the last convolution layer's pooled features than on "
                "the first's, at the same number of features (a fixed random projection to the first layer's "
                "width).",
                a=CNN, b={}, metric=f"trained/{LAST}",
                change={"metric": ("trained/held_out_layer1", f"trained/{LAST}")},
                cell=("hierarchy", "images"),
            ),
            Claim(
                text="The hierarchy emerges from training, not from the architecture alone: what depth adds to "
                "that probe (last layer's minus the first's) is larger in the trained network than in the "
                "same network at initialisation, where random filters already give some rise (a difference "
                "in differences).",
                a=CNN, b={}, metric="trained/held_out_gain",
                change={"metric": ("init/held_out_gain", "trained/held_out_gain")},
                cell=("hierarchy", "images"),
            ),
        ),
        sizes={"smoke": (60,), "quick": ("full",), "full": (100, 500, 1000, 2000, "full")},
        seeds={"smoke": 2, "quick": 10, "full": 10},
        # quick: trained on MNIST-5k's digits 0-4, its held-out probe on 5-9; full also the whole sets,
        # where that probe falls back to halves of the trained classes (no unseen classes there)
        datasets={"smoke": ("digits",), "quick": ("mnist5k_04",), "full": DATASETS[-1:] + DATASETS[1:-1]},
        budget={"quick": {"max_steps": 600, "eval_every": 100, "patience": 3}},
        figures=("filters", "top_patches", "layer_probes", "learning_curves"),
    )
)

register_grid("hierarchy", datasets=DATASETS, variants={"natural": True}, archs=("cnn",),
              bias="feature hierarchy", probes=("hierarchy",),
              hparams={"width": 16, "blocks": 3, "head": "gap"})

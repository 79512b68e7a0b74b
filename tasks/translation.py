"""Study `translation`: is a pattern found wherever it is?

Lesson: "CNNs assume spatial locality and translation invariance". Models
train on digits in the top-left corner of a canvas twice their size and are
tested on the same test digits shifted towards the opposite corner by growing
offsets (up to the whole free room), and placed at random. A convolution
slides the same filters everywhere and global average pooling forgets where a
feature was, so the CNN with a global-pooling head should keep its accuracy;
the MLP (one weight per pixel) and the CNN with a flatten-and-dense head (one
weight per position of the last feature map) have never seen ink where the
shifted digits are. A second variant trains on randomly placed digits: the
data, not the architecture, carry the invariance, and the learning curves
show how much data each model then needs: the bias as a substitute for data.

Run: python run_suite.py --studies translation
"""

from suite.adequacy import FLOOR, FLOOR_SOURCE, Gate
from suite.claims import Claim
from suite.studies import Study, register_grid, register_study

DATASETS = ("digits_corner", "mnist5k_corner", "tfds_mnist_corner", "tfds_fashion_mnist_corner",
            "tfds_cifar10_corner")
FIXED = {"variant": "natural"}  # trained in the corner

# Competence gates: the claims compare what the models keep under shifts, which says something only of
# models that recognise the digits they were trained on; measured on the unshifted test digits, trained in
# the corner, at the largest training set. No source gives a level for this canvas: the suite's floor.
# No gate on the ViT: no claim compares it.
GATES = tuple(Gate(model=model, metric="test/skill", level=FLOOR, on=FIXED, source=FLOOR_SOURCE)
              for model in ({"arch": "cnn", "setting": "gap"}, {"arch": "cnn", "setting": "flatten"},
                            {"arch": "mlp"}))

register_study(
    Study(
        name="translation",
        question="Does a CNN with global pooling recognise a digit shifted to where it never saw one, "
        "where an MLP, a CNN with a flatten head and a Transformer do not; and how much data do they "
        "need when the data carry the invariance instead?",
        claim="CNNs assume spatial locality and translation invariance: a pattern learned in one place "
        "is recognised in another.",
        expected="Trained in the corner, the CNN with global pooling keeps most "
        "of its accuracy under shifts, the MLP and the flatten head fall towards chance; trained on random "
        "placements, the MLP should recover, at the price of more data. Claims are judged on the mean "
        "accuracy over every shift of the test set (test_shifts): at a shift that is a multiple of the "
        "CNN's total stride (4 pixels) its pooled features line up with the training ones, a best case "
        "that the accuracy-against-shift figure shows on its own. The MLP and the flatten head are at "
        "chance under the shifts by construction, not by a poor recipe: their weights on positions never "
        "lit in training get no gradient. So the first two claims can fail only on the CNN's side (they "
        "ask whether the CNN keeps its accuracy), and their verdicts name the comparator at chance.",
        claims=(
            Claim(
                text="Over the shifts it never saw (mean over the shift set), the CNN with global pooling is "
                "more accurate than the MLP.",
                a={"arch": "cnn", "setting": "gap", **FIXED}, b={"arch": "mlp", **FIXED},
                metric="test_shifts/accuracy", test="better",
                cell=("translation invariance", "images, shifted"),
            ),
            Claim(
                text="Over the shifts, the CNN with global pooling is more accurate than the same "
                "CNN with a flatten-and-dense head.",
                a={"arch": "cnn", "setting": "gap", **FIXED}, b={"arch": "cnn", "setting": "flatten", **FIXED},
                metric="test_shifts/accuracy", test="better",
                cell=("pooling", "images, shifted"),
            ),
            Claim(
                text="The CNN with global pooling needs no random placement in training: over the "
                "shifts, training on random placements changes its accuracy by at most 5 points.",
                a={"arch": "cnn", "setting": "gap", "variant": "random_placement"},
                b={"arch": "cnn", "setting": "gap", **FIXED},
                metric="test_shifts/accuracy", test="negligible", margin=0.05,
                cell=("translation invariance", "images, shifted"),
            ),
            Claim(
                text="The MLP needs the data to carry the invariance: trained on random placements it is "
                "more accurate over the shifts than trained in the corner.",
                a={"arch": "mlp", "variant": "random_placement"}, b={"arch": "mlp", **FIXED},
                metric="test_shifts/accuracy", test="better",
            ),
        ),
        sizes={"smoke": (60,), "quick": (100, 400, "full"), "full": (50, 100, 200, 500, 1000, 2000, 5000, "full")},
        # the data-size crossover on the report's index: every model minus this reference
        crossover=("mlp", ("natural",)),
        seeds={"smoke": 2, "quick": 10, "full": 10},
        datasets={"smoke": ("digits_corner",), "quick": ("digits_corner",), "full": DATASETS},
        param_target=20_000,
        figures=("vs_shift", "learning_curves"),
        gates=GATES,
    )
)

for setting, head in (("gap", "gap"), ("flatten", "flatten")):
    register_grid("translation", datasets=DATASETS, variants={"natural": True, "random_placement": True},
                  archs=("cnn",), bias="translation invariance", setting=setting, hparams={"head": head})
register_grid("translation", datasets=DATASETS, variants={"natural": True, "random_placement": True},
              archs=("mlp", "vit"), bias="translation invariance")

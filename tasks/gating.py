"""Study `gating`: the LSTM against the GRU, at equal width and at equal parameters.

Lesson: "LSTM and GRU use gating mechanisms ... allowing them to maintain
memory over longer sequences." The GRU has two gates and no separate cell
state, so at the same width it has about three quarters of the LSTM's
weights. Is it as good? Compared twice: at equal width (the GRU smaller) and
at equal parameters (the GRU wider). In quick on MNIST-5k read row by row
(28 steps of 28 pixels, 1,600 training images, 1,000 steps): both cells
reach a skill near 0.87-0.89 there, so a 0.05 band can fail either way.
The adding problem at T = 50 and the 8x8 digits read by rows, quick's data
before, saturate both cells (skill 0.998-1.0 and 0.95-0.96: within the band
of perfect, where "within 0.05 of each other" holds whatever they learn);
full adds the memory tasks at T = 50 and 100, GunPoint (40 test series:
one is 0.025, half the margin) and the digit rows.

On the memory tasks the models at equal parameters are the `memory`
study's at its larger budget ("budget x4": the same parameter target,
sizes, seeds and steps): those runs are read here, not trained again under
other keys. The models at equal width train on the same budget.

Run: python run_suite.py --studies gating
"""

from suite.adequacy import FLOOR, FLOOR_SOURCE, Gate
from suite.claims import Claim
from suite.studies import Borrow, Study, register_grid, register_study
from tasks.memory import BUDGETS as MEMORY_BUDGETS, LONG_BUDGET, gated_cell_gates

MEMORY_TASKS = tuple(f"{family}_T{t}" for family in ("adding", "copy") for t in (10, 50, 100))

WIDTH = 32  # the "equal width" setting; "equal params" fits each width to the target

# Competence gates: "the GRU performs comparably to the LSTM" says something only where both learn the
# task. On the memory tasks, the memory study's gates (tasks/memory.py, with their sources); on the real
# sequences no source gives a level at these sizes: the suite's floor.
MODELS = tuple({"arch": arch, "setting": setting} for arch in ("lstm", "gru") for setting in ("equal width",
                                                                                             "equal params"))
GATES = gated_cell_gates(MODELS) + tuple(
    Gate(model=model, metric="test/skill", level=FLOOR, source=FLOOR_SOURCE,
         datasets=("gunpoint", "digits_rows", "mnist5k_rows")) for model in MODELS)

register_study(
    Study(
        name="gating",
        question="Does the GRU, with fewer gates, perform as well as the LSTM, at equal width "
        "(where it has fewer parameters) and at equal parameters?",
        claim="LSTM and GRU use gating mechanisms to control information flow, allowing them to "
        "maintain memory over longer sequences. (The GRU is the simpler of the two gated cells.)",
        expected="The GRU's skill is comparable to the LSTM's at equal width and at equal parameters. "
        "(At equal width the GRU has about 3/4 of the LSTM's parameters: a fact of the two cells, shown in "
        "the parameter table, not a claim to test.)",
        claims=(
            Claim(
                text="At equal parameters the GRU performs comparably to the LSTM (skill within 0.05).",
                a={"arch": "gru", "setting": "equal params"}, b={"arch": "lstm", "setting": "equal params"},
                test="negligible", margin=0.05, metric="test/skill",
                cell=("gating", "sequences, long range"),
            ),
            Claim(
                text="At equal width, with fewer parameters, the GRU still performs comparably to the "
                "LSTM (skill within 0.05).",
                a={"arch": "gru", "setting": "equal width"}, b={"arch": "lstm", "setting": "equal width"},
                test="negligible", margin=0.05, metric="test/skill",
                cell=("gating", "sequences, long range"),
            ),
        ),
        # the memory study's sizes in smoke and quick (1,600: see tasks/memory.py), so its runs pair with these
        sizes={"smoke": (200,), "quick": (1600,), "full": (50, 200, "full")},
        seeds={"smoke": 2, "quick": 10, "full": 10},
        datasets={
            "smoke": ("adding_T10",),
            "quick": ("mnist5k_rows",),
            "full": ("adding_T50", "adding_T100", "copy_T50", "copy_T100", "gunpoint", "digits_rows",
                     "mnist5k_rows"),
        },
        param_target=5_000,
        budget={"quick": {"max_steps": 1000, "eval_every": 50, "patience": 3, "batch_size": 32},
                "full": {"max_steps": 10_000, "eval_every": 250, "patience": 8}},
        figures=("comparison",),
        borrows=(Borrow("memory", LONG_BUDGET, "equal params", MEMORY_TASKS, archs=("lstm", "gru")),),
        gates=GATES,
    )
)

for family, kwargs in (
    # the memory study's objectives and budget, so results line up with its runs (learning rates tuned on
    # validation); at equal parameters they are its runs (`borrows` above)
    ("adding", dict(objective="regression", metric="test/loss")),
    ("copy", dict(objective="symbols")),
):
    register_grid("gating", datasets=tuple(d for d in MEMORY_TASKS if d.startswith(family)),
                  variants={"natural": True}, archs=("lstm", "gru"), bias="gated memory",
                  setting="equal width", hparams={"width": WIDTH}, budget=MEMORY_BUDGETS[LONG_BUDGET], **kwargs)
for setting, hparams in (("equal width", {"width": WIDTH}), ("equal params", {})):
    register_grid("gating", datasets=("gunpoint", "digits_rows", "mnist5k_rows"), variants={"natural": True},
                  archs=("lstm", "gru"), bias="gated memory", setting=setting, hparams=hparams)

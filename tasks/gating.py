"""Study `gating`: the LSTM against the GRU, at equal width and at equal parameters.

Lesson: "LSTM and GRU use gating mechanisms ... allowing them to maintain
memory over longer sequences." The GRU has two gates and no separate cell
state, so at the same width it has about three quarters of the LSTM's
weights. Is it as good? Compared twice: at equal width (the GRU smaller) and
at equal parameters (the GRU wider), on a memory task (adding problem,
T = 50) and a real sequence task (GunPoint).

Run: python run_suite.py --studies gating
"""

from suite.claims import Claim
from suite.studies import Study, register_grid, register_study

WIDTH = 32  # the "equal width" setting; "equal params" fits each width to the target

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
        sizes={"smoke": (100,), "quick": (1600,), "full": (50, 200, "full")},  # 1,600: see tasks/memory.py
        seeds={"smoke": 2, "quick": 10, "full": 10},
        datasets={
            "smoke": ("adding_T10",),
            "quick": ("adding_T50", "gunpoint"),
            "full": ("adding_T50", "adding_T100", "copy_T50", "copy_T100", "gunpoint", "digits_rows",
                     "mnist5k_rows"),
        },
        param_target=5_000,
        budget={"quick": {"max_steps": 400, "eval_every": 50, "patience": 3, "batch_size": 32},
                "full": {"max_steps": 10_000, "eval_every": 250, "patience": 8}},
        figures=("comparison",),
    )
)

for setting, hparams in (("equal width", {"width": WIDTH}), ("equal params", {})):
    for family, kwargs in (
        # the memory study's objectives, so results line up with it (learning rates tuned on validation)
        ("adding", dict(objective="regression", metric="test/loss", higher_is_better=False)),
        ("copy", dict(objective="symbols")),
    ):
        register_grid("gating", datasets=(f"{family}_T10", f"{family}_T50", f"{family}_T100"),
                      variants={"natural": True}, archs=("lstm", "gru"), bias="gated memory",
                      setting=setting, hparams=hparams, **kwargs)
    register_grid("gating", datasets=("gunpoint", "digits_rows", "mnist5k_rows"), variants={"natural": True},
                  archs=("lstm", "gru"), bias="gated memory", setting=setting, hparams=hparams)

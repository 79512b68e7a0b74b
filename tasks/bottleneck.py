"""Study `bottleneck`: the sequential bottleneck, measured as step time against length.

Lesson: "RNNs process sequences step by step, which limits parallelization";
the Transformer and convolutions process all steps at once. Each model trains
a few steps (batch 4) on sequences of growing length and the median step time
after warm-up is recorded (train/step_ms) on whatever device runs the suite.
Models are matched in parameters (the Transformer uses fixed sinusoidal
positions, so its size does not grow with length).

On a GPU the recurrent models' time grows linearly with length while the
parallel ones stay flat until the device is saturated. On a CPU every model
is compute-bound: step time there measures arithmetic, not parallelism (the
LSTM's linear growth holds by construction, and the Transformer's attention
is quadratic in length), so the claims are about a GPU (`device="GPU"`): on
a CPU they are shown as undecidable, "not testable on this device", with the
slopes measured beside them.

Run: python run_suite.py --studies bottleneck
"""

from suite.claims import Claim
from suite.data import TIMING_LENGTHS
from suite.studies import Study, Task, register_study, register_task

LONG = tuple(f"adding_T{t}" for t in TIMING_LENGTHS if t >= 256)  # where per-step costs dominate

register_study(
    Study(
        name="bottleneck",
        tuning="fixed",  # it times steps: the learning rate changes no step's cost
        question="How does the time of one training step grow with sequence length for recurrent "
        "models, which must process the steps in order, and for convolutional and attention models, "
        "which process them in parallel?",
        claim="RNNs process sequences step by step, which limits parallelization. Transformers "
        "process all positions in parallel.",
        expected="On a GPU, recurrent step time grows linearly with length "
        "(log-log slope near 1); the temporal CNN's and the Transformer's grow more slowly until the device "
        "is saturated. On a CPU every model is compute-bound from the start and attention grows "
        "quadratically, so there the claims cannot be tested.",
        claims=(
            Claim(
                text="The LSTM's step time grows linearly with length at 256 steps and beyond "
                "(log-log slope within 1 +- 0.25).",
                a={"arch": "lstm"}, b={}, reference=1.0, test="negligible", margin=0.25,
                metric="train/step_ms", statistic="slope", datasets=LONG,
                cell=("sequential bottleneck", "sequences, long range"),
                device="GPU",
            ),
            Claim(
                text="The temporal CNN's step time grows more slowly with length than the LSTM's "
                "(smaller log-log slope, 256 steps and beyond).",
                a={"arch": "tcn"}, b={"arch": "lstm"}, test="better",
                metric="train/step_ms", statistic="slope", datasets=LONG,
                cell=("sequential bottleneck", "sequences, long range"),
                device="GPU",
            ),
            Claim(
                text="The Transformer's step time grows more slowly with length than the LSTM's "
                "(smaller log-log slope, 256 steps and beyond).",
                a={"arch": "transformer"}, b={"arch": "lstm"}, test="better",
                metric="train/step_ms", statistic="slope", datasets=LONG,
                cell=("Transformer: minimal bias", "sequences, long range"),
                device="GPU",
            ),
        ),
        sizes={p: (32,) for p in ("smoke", "quick", "full")},  # 8 steps of batch 4
        seeds={"smoke": 2, "quick": 10, "full": 10},
        datasets={
            "smoke": ("adding_T32", "adding_T64"),
            "quick": ("adding_T32", "adding_T256", "adding_T512", "adding_T1024"),
            "full": tuple(f"adding_T{t}" for t in TIMING_LENGTHS),
        },
        param_target=5_000,
        # One epoch of 8 single steps: 7 gaps between steps, the first 2 dropped as warm-up.
        budget={p: {"max_steps": 8, "eval_every": 8, "batch_size": 4, "steps_per_execution": 1}
                for p in ("smoke", "quick", "full")},
        figures=("step_time",),
    )
)

for length in TIMING_LENGTHS:
    for arch, hparams in (("lstm", {}), ("gru", {}), ("tcn", {}), ("transformer", {"positions": "sinusoidal"})):
        register_task(Task(
            name=f"bottleneck/adding_T{length}/natural/{arch}", study="bottleneck",
            dataset=f"adding_T{length}", arch=arch, bias="sequential computation",
            objective="step_time", metric="train/step_ms", hparams=hparams,
        ))

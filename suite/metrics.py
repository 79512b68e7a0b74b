"""Each stored metric's direction, declared once: whether a higher value is better.

A metric is stored as `split/name` (`test/accuracy`, `test_shift2/loss`,
`trained/collapse`, `train/final_g_loss`); its direction follows from its
name, whatever the split: the runner stores it with every run (for the
run's primary metric, `RunRecord.higher_is_better`), a claim takes it as
its default (`suite.claims.Claim.higher_is_better`), and the report's
figures read it (as Keras's `EarlyStopping` reads `mode` from its monitor).

A name is matched by its first word (`probe_code_10`, `oscillation_g_loss`)
before its last one (`final_accuracy`, `baseline_loss`, `reconstruction_mse`):
the first word says what is measured of the rest. A name the table does
not know (a count such as `model/params`, a norm, a user's probe): higher
counts as better, so a claim on it says "a is larger than b".
"""

from __future__ import annotations

# first word of a name -> higher is better
FIRST_WORD = {
    "probe": True,  # a linear probe's accuracy on a representation (suite.probes)
    "trust": True,  # trustworthiness: how well a code keeps its inputs' nearest neighbours (suite.probes.codes)
    "oscillation": False,  # how much a loss still swings late in training: a settled loss swings less
    "cycling": False,  # how much of that swing is periodic (Fisher's g): a settled loss has none
}

# last word (or words) of a name -> higher is better
LAST_WORD = {
    "accuracy": True, "skill": True,
    "modes": True, "classes": True, "high_quality": True,  # coverage of a distribution (suite.probes.measures)
    "edge_likeness": True, "depth_gain": True,
    "reach": True,  # how much of the gradient reaches the first step (suite.probes.gradients)  # learned filters, depth (suite.probes.hierarchy)
    "loss": False, "mae": False, "mse": False, "kl": False, "reconstruction": False,
    "distance": False,  # e.g. the Frechet distance of samples to the data
    "collapse": False,  # the share of a generator's samples on its favourite modes
    "swing": False,  # mode_swing: how much a generator's samples still move between modes (suite.probes.samples)
    "step_ms": False,  # the time of one training step
    "diverged": False,
}


def higher_is_better(metric: str) -> bool:
    """Whether a higher value of `metric` (e.g. "test_shifts/accuracy", "train/step_ms") is better."""
    name = metric.rsplit("/", 1)[-1]
    first = FIRST_WORD.get(name.split("_", 1)[0])
    if first is not None:
        return first
    for ending, higher in sorted(LAST_WORD.items(), key=lambda kv: -len(kv[0])):
        if name == ending or name.endswith("_" + ending):
            return higher
    return True

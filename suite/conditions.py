"""A claim's conditions: which runs a condition selects, and the pairs of conditions a claim compares.

A condition maps a run column (arch, variant, dataset, setting...) to a
value, or to a tuple of values (the runs of any of them). Verdicts
(`suite.claims`), their qualifiers and competence gates (`suite.adequacy`), the checks on a study
(`suite.studies`) and the tests' detector of claims that measure nothing all
select runs through `selects` and expand `each` through `compared_pairs`, so
a claim means the same runs everywhere.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


def selects(frame, condition: Mapping) -> np.ndarray:
    """Per row of `frame`, whether the condition selects it: every column it names holds its value
    (or one of its tuple of values). The empty condition selects every row."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in condition.items():
        mask &= frame[column].isin(value if isinstance(value, tuple) else (value,)).to_numpy()
    return mask


def select_sizes(spec, available) -> list:
    """The training-set sizes a spec picks from those available, ascending: "all", "smallest:K",
    "largest:K", or a tuple of sizes (those of them available). Claims and competence gates
    (`suite.adequacy.Gate`) read their sizes through it."""
    available = sorted(available)
    if spec == "all":
        return available
    if isinstance(spec, str) and ":" in spec:
        end, k = spec.split(":")
        k = int(k)
        return available[:k] if end == "smallest" else available[-k:]
    return [s for s in available if s in set(spec)]


def compared_pairs(a: Mapping, b: Mapping, each: Mapping | None) -> list[tuple[dict, dict]]:
    """The (a, b) pairs a claim compares: (a, b) itself, or with `each` = {column: values} one pair per
    value, the value going into both conditions except into one that names the column itself (so a =
    every network in turn, b = the trees) and never into an empty b (a constant, not runs)."""
    if not each:
        return [(dict(a), dict(b))]
    (column, values), = each.items()

    def fill(condition, value):
        return dict(condition) if column in condition else {column: value, **condition}

    return [(fill(a, v), fill(b, v) if b else {}) for v in values]

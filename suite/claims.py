"""Declarative claims and their verdicts, computed from seeds and intervals.

A claim compares two conditions of a study, *a* and *b* (e.g. the CNN and the
MLP on natural images), on one metric. For every seed the runner's pairing
gives both conditions the same training subset, so the paired difference
a - b (sign-flipped for lower-is-better metrics, so positive always means "a
is better") is averaged over the selected training-set sizes into one value
per seed. A percentile bootstrap over seeds gives a 95% interval of its mean,
and the claim's test turns the interval into a verdict:

- "better":     supported if the interval lies above 0, contradicted if it
                lies below 0, inconclusive otherwise.
- "negligible": supported if the interval lies within [-margin, margin],
                contradicted if it lies wholly outside it, else inconclusive.
- "not_better": supported if the upper end is at most `margin`, contradicted
                if the lower end exceeds `margin`, else inconclusive.

Claims are plain data (JSON round-trip), so they are stored in the results
database and the report can be rebuilt from the database alone.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Mapping

import numpy as np

TESTS = ("better", "negligible", "not_better")
VERDICTS = ("supported", "contradicted", "inconclusive")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One testable statement of a study.

    Args:
      text: the claim in words, shown with its verdict.
      a, b: conditions, mapping a run column (arch, variant, dataset...) to a
        value, or to a tuple of values: then the claim must hold against each
        of them, so the weakest of them (per seed and size) is used.
      test: one of TESTS (see the module docstring).
      sizes: "all", "smallest:K", "largest:K", or a tuple of sizes.
      margin: tolerance for "negligible" and "not_better", in metric units.
      metric: the metric compared.
      higher_is_better: the metric's direction.
    """

    text: str
    a: Mapping
    b: Mapping
    test: str = "better"
    sizes: object = "all"
    margin: float = 0.0
    metric: str = "test/accuracy"
    higher_is_better: bool = True

    def __post_init__(self):
        if self.test not in TESTS:
            raise ValueError(
                f"unknown claim test {self.test!r}; valid tests: {', '.join(TESTS)}"
            )

    def to_json(self) -> str:
        d = dataclasses.asdict(self)
        d["a"], d["b"] = dict(self.a), dict(self.b)
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Claim":
        d = json.loads(text)
        for side in ("a", "b"):
            d[side] = {k: tuple(v) if isinstance(v, list) else v for k, v in d[side].items()}
        if isinstance(d["sizes"], list):
            d["sizes"] = tuple(d["sizes"])
        return cls(**d)

    def rule(self) -> str:
        """The verdict rule in words, shown beside the numbers."""
        m = f"{self.margin:g}"
        return {
            "better": "supported if the 95% interval of (a - b) lies above 0; "
            "contradicted if it lies below 0",
            "negligible": f"supported if the 95% interval of (a - b) lies within "
            f"[-{m}, {m}]; contradicted if it lies wholly outside",
            "not_better": f"supported if the 95% interval's upper end is at most {m}; "
            f"contradicted if its lower end exceeds {m}",
        }[self.test]


@dataclasses.dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    dataset: str
    verdict: str
    estimate: float | None
    low: float | None
    high: float | None
    n_seeds: int
    sizes: tuple
    note: str = ""


def bootstrap_ci(values, n_boot: int = 10_000, level: float = 0.95, seed: int = 0):
    """Mean and percentile-bootstrap interval of the mean of `values`.

    With k values there are few distinct resamples: for k = 3 the 95%
    interval is the range of the values, i.e. "every seed agreed".
    """
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.nan, np.nan, np.nan
    if len(values) == 1:
        return float(values[0]), np.nan, np.nan
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (n_boot, len(values)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(values.mean()), float(low), float(high)


def decide(test: str, low: float, high: float, margin: float) -> str:
    if test == "better":
        return "supported" if low > 0 else "contradicted" if high < 0 else "inconclusive"
    if test == "negligible":
        if -margin <= low and high <= margin:
            return "supported"
        return "contradicted" if (low > margin or high < -margin) else "inconclusive"
    if test == "not_better":
        return "supported" if high <= margin else "contradicted" if low > margin else "inconclusive"
    raise ValueError(f"unknown claim test {test!r}; valid tests: {', '.join(TESTS)}")


def _select_sizes(spec, available: list[int]) -> list[int]:
    available = sorted(available)
    if spec == "all":
        return available
    if isinstance(spec, str) and ":" in spec:
        end, k = spec.split(":")
        k = int(k)
        return available[:k] if end == "smallest" else available[-k:]
    return [s for s in available if s in set(spec)]


def _condition_values(frame, condition: Mapping, higher_is_better: bool):
    """Per (seed, n_train) value of a condition; the weakest of a tuple."""
    mask = np.ones(len(frame), dtype=bool)
    for column, value in condition.items():
        values = value if isinstance(value, tuple) else (value,)
        mask &= frame[column].isin(values).to_numpy()
    sub = frame[mask]
    # Every listed value must be present for a (seed, size), else it is dropped.
    need = 1
    for value in condition.values():
        if isinstance(value, tuple):
            need *= len(value)
    grouped = sub.groupby(["seed", "n_train"])["value"]
    weakest = grouped.min() if higher_is_better else grouped.max()
    return weakest[grouped.count() == need]


def evaluate_claim(claim: Claim, runs) -> list[ClaimResult]:
    """Verdicts of one claim, one per dataset, from a tidy frame of ok runs.

    `runs` needs the columns dataset, seed, n_train, metric, value and the
    columns the claim's conditions name.
    """
    frame = runs[runs["metric"] == claim.metric]
    results = []
    sign = 1.0 if claim.higher_is_better else -1.0
    for dataset, sub in sorted(frame.groupby("dataset"), key=lambda kv: kv[0]):
        a = _condition_values(sub, claim.a, claim.higher_is_better)
        b = _condition_values(sub, claim.b, claim.higher_is_better)
        both = a.index.intersection(b.index)
        sizes = _select_sizes(claim.sizes, both.get_level_values("n_train").unique().tolist())
        diff = (sign * (a[both] - b[both])).reset_index(name="diff")
        diff = diff[diff["n_train"].isin(sizes)]
        per_seed = diff.groupby("seed")["diff"].mean()
        if len(per_seed) < 2:
            results.append(
                ClaimResult(claim, dataset, "inconclusive", None if per_seed.empty else float(per_seed.mean()),
                            None, None, len(per_seed), tuple(sizes),
                            note="fewer than 2 seeds with both conditions: no interval")
            )
            continue
        estimate, low, high = bootstrap_ci(per_seed.to_numpy())
        results.append(
            ClaimResult(claim, dataset, decide(claim.test, low, high, claim.margin),
                        estimate, low, high, len(per_seed), tuple(int(s) for s in sizes))
        )
    return results


def overall_verdict(verdicts: list[str]) -> str:
    """All datasets agree -> that verdict; otherwise (or none) inconclusive."""
    if verdicts and all(v == verdicts[0] for v in verdicts):
        return verdicts[0]
    return "inconclusive"

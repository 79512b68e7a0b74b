"""How well the report's "repeats" estimate foresees a second set of seeds, by simulation and across backends.

    python bench/repeat.py                                   # simulated studies (about a minute)
    python bench/repeat.py --backends /work/runs/backends38  # also: two backends' databases, flag by flag

A verdict's "repeats" (`suite.sequential.repeat_codes`) is the estimated
chance that a second, independent set of seeds gives the same verdict. Here
it is set against the truth: for each simulated study (per-seed differences
drawn from a known distribution, 10 seeds planned, the sequential "better"
test), an independent second study is drawn from the same distribution and
its verdict compared. Per scenario: the mean estimate and how often the
second study agreed, over every verdict and over the decisions alone, and
how often the flagged decisions (estimate below `REPEATABLE`) and the
unflagged ones agreed. Two kinds of seeds: normal (a
shift of the mean, in units of the seeds' standard deviation) and bimodal
(a model that learns the task on some seeds and not on others, as the
vanilla RNN on copy: skill 0.95 or 0.3 against a constant 0.5 baseline).

The report shows the estimate for decisions (supported, contradicted) alone;
here it is computed for every verdict, and the columns say both. With
`--stages 1`, the single-stage redraw (the observed effect plugged in).

With `--backends`: the per-dataset rows of `bench/backends.py`'s two
databases (OUTPUT/jax, OUTPUT/tensorflow) that are a decision on some
backend, split by whether either backend flagged the row, each with how
many agree; and every row that differs. Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from suite.sequential import CODES, DECIDED, REPEATABLE, repeat_codes, sequential_test  # noqa: E402

PLANNED = 10


def normal(shift):
    return lambda rng: rng.normal(shift, 1.0, PLANNED)


def bimodal(learns):
    """Per seed: skill 0.95 with probability `learns`, else 0.3 (each with a little noise), minus 0.5."""
    return lambda rng: np.where(rng.random(PLANNED) < learns, 0.95, 0.3) + rng.normal(0, 0.03, PLANNED) - 0.5


SCENARIOS = [(f"normal, shift {s:g} sd", normal(s)) for s in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)]
SCENARIOS += [(f"bimodal, learns on {q:.0%} of seeds", bimodal(q)) for q in (0.2, 0.3, 0.4, 0.6)]


def calibration(draw, studies: int, rng, stages: int) -> dict:
    """The estimate against a second study's verdict, over all the verdicts and over the decisions alone (the
    report shows it for decisions only; an inconclusive verdict's share is computed here as well)."""
    estimates, agree, decided = [], [], []
    for _ in range(studies):
        first, second = draw(rng), draw(rng)
        a, b = (sequential_test("better", v, 0.0, PLANNED) for v in (first, second))
        codes = np.asarray(repeat_codes("better", first, 0.0, PLANNED, n=a.n_seeds, stages=stages))
        estimates.append(float(np.mean(codes == CODES[a.verdict])))
        agree.append(a.verdict == b.verdict)
        decided.append(a.verdict in DECIDED)
    estimates, agree, decided = np.array(estimates), np.array(agree), np.array(decided)
    flagged = decided & (estimates < REPEATABLE)
    share = lambda mask: f"{agree[mask].mean():.2f} ({mask.sum()})" if mask.any() else "-"  # noqa: E731
    return {"estimate, all": f"{estimates.mean():.2f}", "agree, all": f"{agree.mean():.2f}",
            "decided": f"{decided.mean():.2f}",
            "estimate, decided": f"{estimates[decided].mean():.2f}" if decided.any() else "-",
            "agree, decided (n)": share(decided), "agree, flagged (n)": share(flagged),
            "agree, decided unflagged (n)": share(decided & ~flagged)}


def backends(output: str) -> None:
    """Per-dataset rows only (an overall row repeats its datasets'), those with an estimate on some backend
    (a decision): flagged on either backend or not, and how many have the same verdict on both."""
    from backends import OVERALL, side_by_side  # bench/backends.py

    table = side_by_side({label: Path(output) / label / "results.sqlite" for label in ("jax", "tensorflow")})
    rows = [row for row in table if row["dataset"] != OVERALL]
    estimated = [row for row in rows if any(row[b]["repeat"] is not None for b in ("jax", "tensorflow"))]
    print(f"per-dataset rows: {len(rows)}, {sum(r['same verdict'] for r in rows)} with the same verdict on both; "
          f"{len(estimated)} a decision on some backend")
    for flagged in (False, True):
        part = [row for row in estimated if row["flagged"] == flagged]
        print(f"  decisions {'flagged' if flagged else 'not flagged'} on either backend: {len(part)}, "
              f"{sum(row['same verdict'] for row in part)} with the same verdict on both")
    for row in rows:
        if not row["same verdict"]:
            found = {b: (row[b]["verdict"], row[b]["repeat"]) for b in ("jax", "tensorflow")}
            print(f"  differs: {row['study']}, {row['claim'][:50]}..., {row['dataset']}: " + "; ".join(
                f"{b} {verdict} (repeats {'none' if p is None else f'{p:.2f}'})" for b, (verdict, p) in found.items()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=300, help="simulated studies per scenario")
    parser.add_argument("--stages", type=int, default=2, choices=(1, 2),
                        help="the redraw's stages (suite.statistics.redraw; the report uses 2)")
    parser.add_argument("--backends", help="bench/backends.py's output folder (jax/ and tensorflow/ inside)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    rows = [{"scenario": name, **calibration(draw, args.studies, rng, args.stages)} for name, draw in SCENARIOS]
    head = list(rows[0])
    print("| " + " | ".join(head) + " |\n|" + " --- |" * len(head))
    for row in rows:
        print("| " + " | ".join(row[h] for h in head) + " |")
    if args.backends:
        backends(args.backends)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reproducibility as a benchmark: the same studies on the tensorflow and the jax backend, verdict by verdict.

    python bench/backends.py                                   # quick memory and locality (an hour or more)
    python bench/backends.py --profile smoke --studies locality --output /tmp/backends
    python bench/backends.py --report-only --output /tmp/backends  # tabulate the two folders again

Trains the studies once per backend, each into a folder of its own
(OUTPUT/tensorflow, OUTPUT/jax), through `run_suite.py` as a user would: on
tensorflow every run is one `fit()`, on jax the runs of a task train
together as populations wherever they can (`--trainer auto`), learning
rates tuned on each backend anew. Then reads every claim's result per
dataset from each database with this checkout's code (`bench/verdicts.py`'s
reader: verdict, estimate, 95% interval, seeds) and prints them side by
side, with "same verdict" per row and a count at the end. A row present on
one backend only is a difference. Exits 0 whatever the verdicts: it prints
figures, it is not a test (bench/README.md says what it measured).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from verdicts import results  # noqa: E402  (bench/verdicts.py: every claim's result per dataset)

from suite.sequential import REPEATABLE  # noqa: E402

BACKENDS = ("tensorflow", "jax")
KEY = ("study", "claim", "dataset")
OVERALL = "(overall)"  # bench/verdicts.py's row of a claim's verdict over its datasets


def side_by_side(databases: dict) -> list[dict]:
    """One row per (study, claim, dataset) found in any of `databases` (label -> results.sqlite): each
    label's verdict, estimate, interval and seeds, and whether every label has the same verdict (a row
    missing from one database has verdict None there, and is never the same)."""
    found = {label: {tuple(r[k] for k in KEY): r for r in results(str(db), declared=False)}
             for label, db in databases.items()}
    keys = list(dict.fromkeys(k for rows in found.values() for k in rows))  # first database's order first
    table = []
    for key in keys:
        row = dict(zip(KEY, key))
        for label, rows in found.items():
            r = rows.get(key, {})
            row[label] = {f: r.get(f) for f in ("verdict", "estimate", "low", "high", "n_seeds", "repeat")}
        verdicts = [row[label]["verdict"] for label in databases]
        row["same verdict"] = None not in verdicts and len(set(verdicts)) == 1
        # a difference the report foresaw: on some backend the verdict found is one that a second set of
        # seeds repeats with a probability below REPEATABLE (`suite.sequential.repeat_codes`)
        repeats = [row[label]["repeat"] for label in databases]
        row["flagged"] = any(p is not None and p < REPEATABLE for p in repeats)
        table.append(row)
    return table


def _number(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:+.3f}"


def markdown(table: list[dict], labels) -> str:
    """The side-by-side table as Markdown: per label the verdict and `estimate [low, high] (k seeds)`."""
    head = ["study", "claim", "dataset", *(f"{label}" for label in labels), "same verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in table:
        cells = [row["study"], row["claim"][:70] + ("..." if len(row["claim"]) > 70 else ""), row["dataset"]]
        for label in labels:
            r = row[label]
            if r["verdict"] is None:
                cells.append("(no result)")
                continue
            interval = f" [{_number(r['low'])}, {_number(r['high'])}]" if r["low"] is not None else ""
            repeat = "" if r.get("repeat") is None else f", repeats {r['repeat']:.2f}"
            cells.append(f"{r['verdict']}: {_number(r['estimate'])}{interval} (k={r['n_seeds']}{repeat})")
        cells.append("yes" if row["same verdict"] else "no, flagged" if row["flagged"] else "**no**")
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def summary(table: list[dict]) -> str:
    """How many per-dataset results and how many claims' overall verdicts agree on every backend."""
    per_dataset = [row for row in table if row["dataset"] != OVERALL]
    overall = [row for row in table if row["dataset"] == OVERALL]
    claims = len({(row["study"], row["claim"]) for row in table})
    text = (f"{sum(row['same verdict'] for row in per_dataset)} of {len(per_dataset)} results (claim x dataset, "
            f"{claims} claims) have the same verdict on every backend")
    if overall:
        text += f"; {sum(row['same verdict'] for row in overall)} of {len(overall)} claims' overall verdicts"
    differ = [row for row in table if not row["same verdict"]]
    flagged = [row for row in table if row["flagged"]]
    text += (f". Of the {len(differ)} that differ, {sum(row['flagged'] for row in differ)} are flagged on some "
             f"backend as a verdict a second set of seeds repeats with probability below {REPEATABLE:g}; "
             f"{len(flagged)} of all {len(table)} rows are so flagged")
    return text


def train(backend: str, args, out: Path) -> float:
    """Runs the studies on one backend into `out`; returns the wall seconds."""
    cmd = [sys.executable, str(ROOT / "run_suite.py"), "--studies", args.studies, "--profile", args.profile,
           "--backend", backend, "--output", str(out), "--no-progress"]
    if args.seeds:
        cmd += ["--seeds", args.seeds]
    if args.workers:
        cmd += ["--workers", args.workers]
    print(f"{backend}: {' '.join(cmd[1:])}", flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", default="memory,locality")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--seeds", help="as run_suite.py's --seeds (default: the profile's)")
    parser.add_argument("--workers", help="as run_suite.py's --workers")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated (default: %(default)s)")
    parser.add_argument("--output", default="reports/backends", help="one folder per backend inside it")
    parser.add_argument("--report-only", action="store_true", help="tabulate the existing folders, train nothing")
    args = parser.parse_args(argv)
    labels = args.backends.split(",")
    folders = {label: Path(args.output) / label for label in labels}
    if not args.report_only:
        walls = {label: train(label, args, folder) for label, folder in folders.items()}
        print("wall time: " + ", ".join(f"{label} {seconds / 60:.1f} min" for label, seconds in walls.items()))
    missing = [str(f / "results.sqlite") for f in folders.values() if not (f / "results.sqlite").exists()]
    if missing:
        sys.exit(f"no results to tabulate: {', '.join(missing)} missing (run without --report-only first)")
    table = side_by_side({label: folder / "results.sqlite" for label, folder in folders.items()})
    print(markdown(table, labels))
    print(summary(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())

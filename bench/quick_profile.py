"""Benchmark: wall time of `python run_suite.py --studies S` on the quick profile.

Prints figures; it is not a test. Runs the suite from scratch into a
temporary directory (so nothing is reused), as a user would, then reads the
database for where the time went.

    python bench/quick_profile.py                                        # locality: target 180 s
    python bench/quick_profile.py --studies memory,order,gating,bottleneck  # target 300 s
    python bench/quick_profile.py --workers 1      # one process
    python bench/quick_profile.py --backend jax    # needs `pip install jax`
    python bench/quick_profile.py --keep /tmp/q    # keep the database and report
"""

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from suite.store.read import Reader  # noqa: E402  (after the path is set)
from suite.training.devices import cpu_name  # noqa: E402

# the issues' targets for a 2-core CPU, in seconds
TARGETS = {"locality": 180, "memory,order,gating,bottleneck": 300, "tabular": 180,
           "translation,pooling,hierarchy": 240, "generation,representation": 300}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--studies", default="locality")
    parser.add_argument("--workers")
    parser.add_argument("--backend")
    parser.add_argument("--keep", help="write the results and report here instead of a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or tmp
        if args.keep and Path(args.keep, "results.sqlite").exists():
            sys.exit(f"--keep {args.keep!r} already holds results: the benchmark runs from scratch")
        cmd = [sys.executable, str(ROOT / "run_suite.py"), "--studies", args.studies,
               "--profile", args.profile, "--output", out, "--no-progress"]
        if args.workers:
            cmd += ["--workers", args.workers]
        if args.backend:
            cmd += ["--backend", args.backend]
        start = time.perf_counter()
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"suite failed ({result.returncode}):\n{result.stderr[-2000:]}")
        with Reader(Path(out) / "results.sqlite") as db:
            runs = db.runs(columns=("study", "train_seconds"))
        per_study = runs.groupby("study")["train_seconds"].agg(["size", "sum"]).itertuples(name=None)
    summary = result.stdout.strip().splitlines()[-1]
    runs = int(re.match(r"(\d+) runs", summary).group(1))
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"command: {' '.join(cmd[1:]).replace(out, '<tmp>')}")
    print(f"suite summary: {summary.split('; report')[0]}")
    for study, n, seconds in per_study:
        print(f"  {study}: {n} runs, {seconds:.1f} s of training (summed over workers)")
    target = TARGETS.get(args.studies) if args.profile == "quick" else None
    verdict = "" if target is None else f"; target <= {target} s: {'met' if wall <= target else 'NOT met'}"
    print(f"wall time: {wall:.1f} s for {runs} runs ({60 * runs / wall:.1f} runs/min){verdict}")


if __name__ == "__main__":
    main()

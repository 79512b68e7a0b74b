"""Benchmark (a): wall time of `python run_suite.py --studies locality` (quick).

Prints the figure; it is not a test. Runs the suite from scratch into a
temporary directory (so nothing is reused), as a user would.

    python bench/locality_quick.py                 # default workers
    python bench/locality_quick.py --workers 1     # one process
    python bench/locality_quick.py --backend jax   # needs `pip install jax`
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

from suite.runner import cpu_name  # noqa: E402  (after the path is set)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--studies", default="locality")
    parser.add_argument("--workers")
    parser.add_argument("--backend")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
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
    summary = result.stdout.strip().splitlines()[-1]
    runs = int(re.match(r"(\d+) runs", summary).group(1))
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"command: {' '.join(cmd[1:]).replace(out, '<tmp>')}")
    print(f"suite summary: {summary.split('; report')[0]}")
    print(f"wall time: {wall:.1f} s for {runs} runs ({60 * runs / wall:.1f} runs/min); "
          f"target <= 180 s: {'met' if wall <= 180 else 'NOT met'}")


if __name__ == "__main__":
    main()

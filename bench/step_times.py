"""Records the step times a results database measured, for `--plan` on machines that have not trained yet.

    python bench/step_times.py DB [DB ...] --source "bench/gpu_check.sh on <machine>, <date>"

Reads the seconds per member-step of every model group each database's
successful runs trained (per device: `suite.training.estimate.measured_rates`)
and writes them to `suite/training/step_times.json`, one entry per device
(a device already there is replaced). `python run_suite.py --plan` then
estimates any profile on those devices too, labelled with the source, and
says when no GPU has been measured. `bench/gpu_check.sh` runs this at its
end on a GPU machine; commit the file it changes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from suite.store.read import Reader
    from suite.training.estimate import STEP_TIMES, record_rates

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("databases", nargs="+", help="results.sqlite files")
    parser.add_argument("--source", required=True, help="where and when they were measured, in words")
    parser.add_argument("--file", default=str(STEP_TIMES), help="the step-times file (default: %(default)s)")
    args = parser.parse_args(argv)
    for db in args.databases:
        with Reader(db) as store:
            devices = record_rates(store, args.source, Path(args.file))
        print(f"{db}: step times of {', '.join(devices) or 'no device'} recorded in {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark (d): a worker's resident memory as it trains group after group.

One process does what one of the suite's worker processes does (the same
`UnitRunner.run_unit` entry point), for `--groups` units in a row: a cycle
over a few model groups (an MLP and a CNN on digits, a GRU on adding, a
dense autoencoder), each unit a population of 2 sizes x 2 seeds at the
smoke budget, with new seeds every time so nothing is reused. It prints the
resident set size (RSS, from /proc) after 10, 25, 50, 100 and 200 units and
the ratio of the last to the one after 10 (target: at most 1.5: the
compiled programs and Keras's global state must not pile up).

    python bench/memory.py [--backend jax|tensorflow] [--groups 200]

Not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (task fields, hparams)
GROUPS = [
    ({"dataset": "digits", "arch": "mlp"}, {"width": 32}),
    ({"dataset": "digits", "arch": "cnn"}, {"width": 8}),
    ({"dataset": "adding_T10", "arch": "gru", "objective": "regression", "metric": "test/loss"}, {"width": 16}),
    ({"dataset": "digits", "arch": "dense_ae", "objective": "generate", "metric": "train/final_loss"}, {"width": 16}),
]


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="jax", choices=("jax", "tensorflow"))
    parser.add_argument("--groups", type=int, default=200)
    args = parser.parse_args()
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    # one core, as each of the suite's worker processes has
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    sys.path.insert(0, str(ROOT))
    from suite.backend import import_keras_quietly

    import_keras_quietly()
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec
    from suite.training.population import trainer_policy
    from suite.training.units import units_of
    from suite.training.worker import UnitRunner

    choose = trainer_policy("auto", args.backend)
    trainers = UnitRunner("CPU")
    marks = {10, 25, 50, 100, 200, args.groups}
    seen = {}
    start = time.perf_counter()
    print(f"{args.backend}: {args.groups} units of 4 runs, cycling over {len(GROUPS)} model groups")
    for g in range(1, args.groups + 1):
        fields, hparams = GROUPS[(g - 1) % len(GROUPS)]
        task = Task(name=f"bench/{fields['arch']}", study="bench", **fields)
        runs = [RunSpec(task, n, 1000 * g + s, hparams, BUDGETS["smoke"], "smoke", args.backend) for n in (50, 100)
                for s in range(2)]
        runs = [RunSpec(**{**r.__dict__, "trainer": choose(r)}) for r in runs]
        for unit in units_of(runs):
            results = trainers.run_unit(unit, None)
            failed = [r.record.error for r in results if r.record.status != "ok"]
            if failed:
                raise SystemExit(f"a run failed: {failed[0]}")
        if g in marks:
            seen[g] = rss_mib()
            print(f"after {g:>3} units: RSS {seen[g]:7.1f} MiB   ({time.perf_counter() - start:6.1f} s)", flush=True)
    first = seen.get(10, next(iter(seen.values())))
    last = seen[max(seen)]
    print(f"RSS after {max(seen)} / after 10: {last / first:.2f} (target <= 1.5: {'met' if last / first <= 1.5 else 'not met'})")


if __name__ == "__main__":
    main()

"""Benchmark (b): the suite's time for one fixed workload against a minimal
hand-written Keras script doing the same training.

Workload: the CNN of the locality study (width fitted to 20k parameters) on
1,000 MNIST-5k images, batch 64, exactly EPOCHS epochs (no early stopping),
validation on the same 500 images each epoch, then a test evaluation; SEEDS
seeds in a row. Each side runs in its own fresh process and is timed from
after its imports to the end of the last evaluation (data, model building,
compiling, training, evaluation and, for the suite, writing the database).

    python bench/overhead.py [--arch cnn] [--epochs 10] [--seeds 3]

Prints the figures; it is not a test.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
N_TRAIN = 1000
BATCH = 64


def suite_side(arch, epochs, seeds):
    from suite.data import load_variant
    from suite.architectures import resolve_hparams
    from suite.studies import Task
    from suite.training import Budget, RunSpec, run_plan
    from suite.store.write import Writer

    start = time.perf_counter()
    data = load_variant("mnist5k", "natural")
    hparams = resolve_hparams(arch, data.input_shape, data.num_outputs, 20_000)
    steps = -(-N_TRAIN // BATCH)
    # eval_every = one pass (no repetition), patience beyond the budget (no early stop)
    budget = Budget(max_steps=steps * epochs, eval_every=steps, patience=epochs + 1, batch_size=BATCH)
    task = Task(name=f"bench/{arch}", study="bench", dataset="mnist5k", arch=arch)
    specs = [RunSpec(task, N_TRAIN, seed, hparams, budget, "bench", "tensorflow") for seed in range(seeds)]
    with tempfile.TemporaryDirectory() as out, Writer(Path(out) / "r.sqlite") as store:
        counts = run_plan(specs, store, progress=False, workers=1)
        results = store.results()
        accuracy = results.loc[results["metric"] == "test/accuracy", "value"].mean()
    assert counts["ok"] == seeds, counts
    return time.perf_counter() - start, accuracy


def hand_side(arch, epochs, seeds, steps_per_execution):
    """What a user would write by hand with plain Keras."""
    import keras
    import numpy as np

    from suite.data import load_variant, subsample
    from suite.architectures import build_model, resolve_hparams

    start = time.perf_counter()
    data = load_variant("mnist5k", "natural")
    hparams = resolve_hparams(arch, data.input_shape, data.num_outputs, 20_000)
    accuracies = []
    for seed in range(seeds):
        keras.utils.set_random_seed(seed)
        x, y = subsample(data, N_TRAIN, seed)
        model = build_model(arch, data.input_shape, data.num_outputs, **hparams)
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], steps_per_execution=steps_per_execution)
        model.fit(x, y, batch_size=BATCH, epochs=epochs, validation_data=(data.x_val, data.y_val),
                  validation_batch_size=256, verbose=0)
        accuracies.append(model.evaluate(data.x_test, data.y_test, batch_size=512, verbose=0)[1])
    return time.perf_counter() - start, float(np.mean(accuracies))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="cnn")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        if args.side == "suite":
            seconds, acc = suite_side(args.arch, args.epochs, args.seeds)
        else:
            seconds, acc = hand_side(args.arch, args.epochs, args.seeds, int(args.side.split("-")[1]))
        print(json.dumps({"seconds": seconds, "accuracy": acc}))
        return
    figures = {}
    for side in ("suite", "hand-1", "hand-16"):
        out = subprocess.run([sys.executable, __file__, "--side", side, "--arch", args.arch,
                              "--epochs", str(args.epochs), "--seeds", str(args.seeds)],
                             capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if out.returncode:
            sys.exit(out.stderr[-2000:])
        figures[side] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"workload: {args.arch} on {N_TRAIN} MNIST-5k images, batch {BATCH}, {args.epochs} epochs, "
          f"{args.seeds} seeds (one process each side)")
    labels = {"suite": "suite (runner, store)", "hand-1": "hand-written Keras, compile() defaults",
              "hand-16": "hand-written Keras, steps_per_execution=16"}
    for side, f in figures.items():
        print(f"  {labels[side]:<45} {f['seconds']:6.1f} s   test accuracy {f['accuracy']:.3f}")
    for side in ("hand-1", "hand-16"):
        ratio = figures["suite"]["seconds"] / figures[side]["seconds"]
        print(f"ratio suite / {side}: {ratio:.2f} (target <= 1.1: {'met' if ratio <= 1.1 else 'NOT met'})")


if __name__ == "__main__":
    main()

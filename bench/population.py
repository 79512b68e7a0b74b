"""Benchmark (g): population training against the per-run path and a hand-written Keras script.

For each model, a grid of 3 training-set sizes x 5 seeds (15 runs) at the
budget the quick profile had when it was first measured (240 steps of batch
64, validation every 30 steps, patience 3; kept, so that the figures stay
comparable across its history), trained three ways, each in its own fresh process, timed from
after its imports to the last test score:

- population: `suite.training.population.PopulationTrainer` on the jax
  backend, the 15 runs through one compiled program (what `--backend jax`
  does): vectorised ("vmap"), or for models that convolve on a CPU one
  member after another ("loop");
- per-run: the suite's `Trainer` on the tensorflow backend, one `fit()` per
  run with its compiled model reused (the default path before);
- hand-written: plain Keras on tensorflow, `model.fit` per run with early
  stopping, what a user would write.

    python bench/population.py [--models mlp,gru] [--seeds 5]

Prints a table (seconds, ratios, test accuracy or loss averaged over the
runs, and the population's fixed cost per run: its time outside optimizer
steps divided by its runs). Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# model -> (task fields, sizes, width)
MODELS = {
    "mlp": ({"dataset": "digits", "arch": "mlp"}, (100, 400, 1258), 64),
    "gru": ({"dataset": "adding_T50", "arch": "gru", "objective": "regression", "metric": "test/loss"},
            (100, 400, 1000), 32),
    "cnn": ({"dataset": "mnist5k", "arch": "cnn"}, (100, 400, 1000), 16),
    "dense_ae": ({"dataset": "mnist5k", "arch": "dense_ae", "objective": "generate", "metric": "train/final_loss"},
                 (100, 400, 1000), 128),
}


def specs(model: str, seeds: int, backend: str, trainer: str):
    from suite.studies import Task
    from suite.training import Budget, RunSpec

    fields, sizes, width = MODELS[model]
    task = Task(name=f"bench/{model}", study="bench", **fields)
    budget = Budget(max_steps=240, eval_every=30, patience=3)  # the hand-written loop below uses the same
    return [RunSpec(task, n, s, {"width": width}, budget, "quick", backend, trainer=trainer)
            for n in sizes for s in range(seeds)]


def score(metrics: dict) -> float:
    return metrics.get("test/accuracy", metrics.get("test/loss", metrics.get("train/final_loss")))


def side(name: str, model: str, seeds: int) -> dict:
    """One way of training the grid, in this process; returns seconds and the mean score."""
    import numpy as np

    if name == "population":
        from suite.training.population import PopulationTrainer

        runs = specs(model, seeds, "jax", "population")
        start = time.perf_counter()
        results = PopulationTrainer("CPU").run(runs)
        seconds = time.perf_counter() - start
        stepping = sum(r.record.steps * r.metrics["train/step_ms"] / 1000 for r in results)
        return {"seconds": seconds, "score": float(np.mean([score(r.metrics) for r in results])),
                "fixed_per_run": (seconds - stepping) / len(results), "runs": len(results),
                "path": results[0].record.vectorize}
    if name == "per-run":
        from suite.training import Trainer

        runs = specs(model, seeds, "tensorflow", "fit")
        start = time.perf_counter()
        trainer = Trainer("CPU")
        results = [trainer.run(r) for r in runs]
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "score": float(np.mean([score(r.metrics) for r in results])),
                "runs": len(results)}
    return hand_written(model, seeds)


def hand_written(model: str, seeds: int) -> dict:
    """What a user would write by hand with plain Keras: build, compile, fit with early stopping, evaluate."""
    import keras
    import numpy as np

    from suite.architectures import build_model
    from suite.data import load_variant, subsample
    from suite.training import OBJECTIVES

    fields, sizes, width = MODELS[model]
    objective = OBJECTIVES[fields.get("objective", "classification")]
    data = load_variant(fields["dataset"], "natural")
    start = time.perf_counter()
    scores = []
    for n in sizes:
        for seed in range(seeds):
            keras.utils.set_random_seed(seed)
            x, y = subsample(data, n, seed)
            net = build_model(fields["arch"], data.input_shape, data.num_outputs, width=width)
            net.compile(optimizer=keras.optimizers.Adam(1e-3), loss=objective.make_loss(),
                        metrics=objective.make_metrics())
            repeats = max(1, -(-30 * 64 // len(y)))  # an "epoch" of at least 30 steps, as the suite's
            xr, yr = np.concatenate([x] * repeats), np.concatenate([y] * repeats)
            epochs = -(-240 // -(-len(yr) // 64))
            if objective.train_only:
                history = net.fit(xr, yr, batch_size=64, epochs=epochs, verbose=0).history
                scores.append(history["loss"][-1])
                continue
            net.fit(xr, yr, batch_size=64, epochs=epochs, validation_data=(data.x_val, data.y_val), verbose=0,
                    callbacks=[keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)])
            result = net.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True)
            scores.append(result.get("accuracy", result["loss"]))
    return {"seconds": time.perf_counter() - start, "score": float(np.mean(scores)), "runs": len(scores)}


def run_side(name: str, model: str, seeds: int) -> dict:
    backend = "jax" if name == "population" else "tensorflow"
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           # one core, as each of the suite's worker processes has
           "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
           "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    out = subprocess.run([sys.executable, __file__, "--side", name, "--models", model, "--seeds", str(seeds)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    models = [m for m in args.models.split(",") if m]
    if args.side:
        from suite.backend import import_keras_quietly

        import_keras_quietly()
        print(json.dumps(side(args.side, models[0], args.seeds)))
        return
    print(f"{'model':<9} {'runs':>4} {'population':>11} {'per-run':>8} {'by hand':>8} {'pop/per-run':>11} "
          f"{'pop/hand':>8} {'fixed/run':>9} {'path':>5}  scores (population, per-run, by hand)")
    totals = {"population": 0.0, "per-run": 0.0, "hand": 0.0}
    for model in models:
        row = {name: run_side(name, model, args.seeds) for name in ("population", "per-run", "hand")}
        for name in totals:
            totals[name] += row[name]["seconds"]
        p, r, h = (row[n]["seconds"] for n in ("population", "per-run", "hand"))
        print(f"{model:<9} {row['population']['runs']:>4} {p:>10.1f}s {r:>7.1f}s {h:>7.1f}s {p / r:>11.2f} "
              f"{p / h:>8.2f} {row['population']['fixed_per_run']:>8.3f}s {row['population']['path']:>5}  "
              f"{row['population']['score']:.3f}, {row['per-run']['score']:.3f}, {row['hand']['score']:.3f}")
    p, r, h = totals["population"], totals["per-run"], totals["hand"]
    print(f"{'all':<9} {'':>4} {p:>10.1f}s {r:>7.1f}s {h:>7.1f}s {p / r:>11.2f} {p / h:>8.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: learning-rate tuning with and without successive halving, side by side.

    python bench/halving.py --studies locality,memory --datasets digits,mnist5k,adding_T10,copy_T10 \\
        --sizes 100,200 --seeds 1 [--workers 1] [--output DIR]     (--sizes= : the profile's sizes)
    python bench/halving.py --replay RESULTS.sqlite [--eta 2 --first 1 --alpha 0.05] [--sweep]

Side by side (the default): plans the studies' evaluation runs as
`run_suite.py` does (jax, the population trainer; `--sizes` and `--seeds`
shrink them, and with them the reference size the grid is tuned at), then
runs only their learning-rate tuning (`suite.training.tuning.tune_rates`:
the profile's grid, then the extensions past an edge) twice, each in a fresh
process with a database and a JAX compilation cache of its own: the full
grid, then halved (`suite.training.halving`). Prints, for each: member-steps
(the optimizer steps of every tuning run, extensions included), training
seconds (each population's training loop, summed over populations) and the
tuning phase's wall seconds, the ratios halved / full; then per rate group
the rate each chose, the share of groups where the two agree, and the share
where the halved choice is one the full grid's seeds cannot tell from its
best (within one standard error of the best rate's mean: acceptable to the
one-standard-error rule, which would choose it were the smaller rates not
there).

Replay (`--replay`): a database whose tuning ran the full grid (any
run_suite.py run before halving, or `--trainer fit`) holds every tuning
run's history; halving is replayed on it exactly (the rates kept train as in
the full grid; a halted rate's runs end at its rung, with the score its
history had there), with the rule's parameters given, or over a sweep of
them (`--sweep`). Nothing is trained. Not a test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


# --- side by side ---------------------------------------------------------------------------------------

def tune(args) -> dict:
    """The child process: the tuning phase of the planned runs into `args.output`/results.sqlite."""
    os.environ["KERAS_BACKEND"] = "jax"
    from suite.backend import import_keras_quietly

    import_keras_quietly()
    from suite.cli import parse_seeds, parse_sizes
    from suite.store.write import Writer
    from suite.studies import REGISTRY, load_builtin_studies
    from suite.training import plan_runs, run_plan
    from suite.training.population import trainer_policy
    from suite.training.tuning import GRIDS, read_tuning, tune_rates, tuned_groups

    load_builtin_studies()
    studies = [REGISTRY.study(name) for name in args.studies.split(",")]
    plan = plan_runs(REGISTRY, studies, args.profile, "jax", archs=args.archs.split(",") if args.archs else None,
                     datasets=args.datasets.split(",") if args.datasets else None,
                     sizes=parse_sizes(args.sizes) if args.sizes else None,
                     seeds=parse_seeds(args.seeds) if args.seeds else None,
                     trainer_for=trainer_policy("population", "jax"))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with Writer(out / "results.sqlite") as store:
        start = time.perf_counter()
        tuning = tune_rates(plan.runs, plan.studies, GRIDS[args.profile], args.profile,
                            lambda runs: run_plan(runs, store, progress=False, workers=args.workers),
                            lambda runs: read_tuning(store, runs), halving=args.child == "halved")
        wall = time.perf_counter() - start
    return {"wall": wall, "rounds": tuning.rounds, "runs": len(tuning.runs),
            "rates": {"/".join(map(str, group)): rate for group, rate in tuning.rates.items()},
            "tasks": {"/".join(map(str, group)): runs[0].task.name
                      for group, runs in tuned_groups(plan.runs, plan.studies).items()}}


def costs(db: Path) -> dict:
    """Member-steps and training seconds of the tuning runs stored in `db`, and their frame."""
    from suite.selection import tuning_frame
    from suite.store.read import Reader

    with Reader(db) as store:
        runs, metrics = store.runs(), store.metrics()
    tune = runs[runs["kind"] == "tune"]
    return {"member_steps": int(tune["steps"].fillna(0).sum()), "train_seconds": float(tune["train_seconds"].sum()),
            "runs": len(tune), "halted": int(tuning_frame(runs, metrics)["halted_at"].notna().sum()),
            "frame": tuning_frame(runs, metrics)}


def acceptable(frame, task: str) -> set:
    """The rates of `task` that the one-standard-error rule finds within one standard error of the best."""
    from suite.selection import score_table

    table = score_table(frame[frame["task"] == task])
    valid = table[~table["failed"].astype(bool) & ~table["halted"].astype(bool)]
    if valid.empty:
        return set()
    best = valid.sort_values(["mean", "learning_rate"], ascending=[False, True]).iloc[0]
    return set(valid.loc[valid["mean"] >= best["mean"] - best["se"], "learning_rate"])


def side_by_side(args) -> None:
    out = Path(args.output or tempfile.mkdtemp(prefix="halving-"))
    summaries = {}
    for mode in ("full", "halved"):
        folder = out / mode
        cache = tempfile.mkdtemp(prefix=f"halving-cache-{mode}-")  # each pays its own compiling
        env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": cache, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
               "PYTHONUNBUFFERED": "1"}
        argv = [sys.executable, __file__, "--child", mode, "--output", str(folder), "--studies", args.studies,
                "--profile", args.profile, "--workers", str(args.workers)]
        for name in ("archs", "datasets", "sizes", "seeds"):
            if getattr(args, name) is not None:  # "" too: the profile's
                argv.append(f"--{name}={getattr(args, name)}")
        print(f"{mode}: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{mode} failed:\n{done.stderr[-3000:]}")
        summaries[mode] = json.loads((folder / "summary.json").read_text())
        summaries[mode].update(costs(folder / "results.sqlite"))
    full, halved = summaries["full"], summaries["halved"]
    print(f"tuning of {args.studies} ({args.profile} profile; datasets {args.datasets or 'all'}, sizes "
          f"{args.sizes or 'of the profile'}, seeds {args.seeds or 'of the profile'}), "
          f"{len(full['rates'])} rate groups:")
    print(f"{'':8} {'runs':>6} {'halted':>7} {'rounds':>7} {'member-steps':>13} {'train s':>9} {'wall s':>8}")
    for name, s in (("full", full), ("halved", halved)):
        print(f"{name:8} {s['runs']:>6} {s['halted']:>7} {s['rounds']:>7} {s['member_steps']:>13} "
              f"{s['train_seconds']:>9.1f} {s['wall']:>8.1f}")
    print(f"{'ratio':8} {'':>6} {'':>7} {'':>7} {halved['member_steps'] / full['member_steps']:>13.2f} "
          f"{halved['train_seconds'] / full['train_seconds']:>9.2f} {halved['wall'] / full['wall']:>8.2f}")
    same = near = 0
    rows = []
    for group, task in sorted(full["tasks"].items()):
        a, b = full["rates"].get(group), halved["rates"].get(group)
        ok = b in acceptable(full["frame"], task)
        same += a == b
        near += ok
        rows.append(f"  {task:<48} full {a:<8g} halved {b:<8g}" + ("" if a == b else "  differs" + (
            " (within one standard error of the full grid's best)" if ok else "")))
    n = len(full["tasks"])
    print(f"same chosen rate: {same} of {n} ({same / n:.0%}); the halved choice within one standard error of the "
          f"full grid's best: {near} of {n} ({near / n:.0%})")
    print("\n".join(rows))


# --- replay ---------------------------------------------------------------------------------------------

def replay_populations(db: Path) -> list:
    """The first-round tuning populations of `db` trained without halving: (task, objective, checks,
    [(rate, history)])."""
    from suite.selection import tuning_frame
    from suite.store.read import Reader
    from suite.training.objectives import OBJECTIVES

    with Reader(db) as store:
        runs, metrics, history = store.runs(), store.metrics(), store.history()
    tune = tuning_frame(runs, metrics)
    configs = tune["config_json"].map(json.loads)
    tune = tune[(tune["extension"] == 0) & configs.map(lambda c: "halving" not in c)]
    histories: dict = {}
    for (key, name), rows in history[history["run_key"].isin(tune["run_key"])].groupby(["run_key", "metric"]):
        histories.setdefault(key, {})[name] = list(rows.sort_values("epoch")["value"])
    out = []
    for (task, n, profile, budget), rows in tune.assign(budget=configs.map(lambda c: json.dumps(c["budget"]))).groupby(
            ["task", "n_train", "profile", "budget"]):
        if rows["learning_rate"].nunique() < 2:
            continue
        b = json.loads(budget)
        out.append((task, OBJECTIVES[rows["objective"].iloc[0]], math.ceil(b["max_steps"] / b["eval_every"]),
                    [(lr, histories.get(key, {})) for lr, key in zip(rows["learning_rate"], rows["run_key"])]))
    return out


def replay(population, rule) -> tuple:
    """(member-checks of the full grid, of the halved one, the full grid's choice, the halved one's)."""
    import numpy as np
    import pandas as pd

    from suite.selection import SCORE, choose_rates
    from suite.training.halving import rung_stops
    from suite.training.objectives import validation_score

    _, objective, checks, members = population
    specs = [SimpleNamespace(lr=lr, halving=rule) for lr, _ in members]
    done = np.array([len(h.get("loss", [])) for _, h in members])
    halted_at = np.zeros(len(members), dtype=int)
    for rung in rule.rungs(checks):
        histories = [{name: values[:rung] for name, values in h.items()} for _, h in members]
        active = (done > rung) & (halted_at == 0)  # a member that did more checks was still training there
        stop = rung_stops(specs, histories, objective, active, halted_at > 0)
        halted_at[stop] = rung
    ends = np.where(halted_at > 0, np.minimum(done, halted_at), done)
    scores = [validation_score({name: v[:end] for name, v in h.items()}, objective).get(SCORE, -np.inf)
              for (_, h), end in zip(members, ends)]
    frame = pd.DataFrame({"task": "t", "learning_rate": [lr for lr, _ in members], "status": "ok", SCORE: scores})
    full = choose_rates(frame.assign(**{SCORE: [validation_score(h, objective).get(SCORE, -np.inf)
                                                for _, h in members]})).get("t")
    halved = choose_rates(frame.assign(halted_at=np.where(halted_at > 0, halted_at, np.nan))).get("t")
    near = halved in acceptable(frame.assign(**{SCORE: [validation_score(h, objective).get(SCORE, -np.inf)
                                                       for _, h in members]}), "t")
    return int(done.sum()), int(ends.sum()), full, halved, near


def replay_summary(populations, rule) -> str:
    full = halved = same = within = 0
    for population in populations:
        f, h, a, b, near = replay(population, rule)
        full, halved, same, within = full + f, halved + h, same + (a == b), within + near
    n = max(1, len(populations))
    return (f"eta {rule.eta}, first rung {rule.first}, alpha {rule.alpha}: member-checks {halved} of {full} "
            f"({halved / max(1, full):.2f}), same chosen rate on {same} of {n} ({same / n:.0%}), the halved "
            f"choice within one standard error of the full grid's best on {within} ({within / n:.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", default="locality,memory")
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--archs")
    parser.add_argument("--datasets", default="digits,mnist5k,adding_T10,copy_T10")
    parser.add_argument("--sizes", default="100,200")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--output")
    parser.add_argument("--child", choices=("full", "halved"), help=argparse.SUPPRESS)
    parser.add_argument("--replay", help="a results database whose tuning ran the full grid")
    parser.add_argument("--sweep", action="store_true", help="replay over a sweep of the rule's parameters")
    parser.add_argument("--eta", type=int)
    parser.add_argument("--first", type=int)
    parser.add_argument("--alpha", type=float)
    args = parser.parse_args()
    if args.child:
        summary = tune(args)
        (Path(args.output) / "summary.json").write_text(json.dumps(summary))
        return
    if args.replay:
        import warnings

        from suite.training.halving import Halving

        warnings.filterwarnings("ignore")
        populations = replay_populations(Path(args.replay))
        print(f"{args.replay}: {len(populations)} first-round tuning populations of the full grid")
        default = Halving(())
        given = {k: v for k, v in (("eta", args.eta), ("first", args.first), ("alpha", args.alpha)) if v is not None}
        rules = [Halving((), eta, first, alpha) for eta in (2, 3) for first in (1, 2, 4)
                 for alpha in (0.01, 0.05, 0.1)] if args.sweep else [Halving((), **{
                     "eta": default.eta, "first": default.first, "alpha": default.alpha, **given})]
        for rule in rules:
            print(replay_summary(populations, rule))
        return
    side_by_side(args)


if __name__ == "__main__":
    main()

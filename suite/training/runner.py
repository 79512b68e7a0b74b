"""Running a plan: its runs grouped into units, trained by an executor, each result stored as it arrives.

`run_plan` is the one path: units (`suite.training.units`) -> the executor
chosen from `EXECUTORS` (each yields (unit, results) as units finish) -> the
store, one transaction per run, written by this process alone -> the
progress bar with its ETA (`suite.training.estimate`).
"""

from __future__ import annotations

import sys

from suite.training import local, ray_executor
from suite.training.devices import configure_device, default_workers
from suite.training.estimate import Eta, format_eta, measured_rates
from suite.training.plan import RunSpec
from suite.training.units import Execution, units_of

# name -> executor: `fn(units, execution)` yielding (unit, results) as units finish
EXECUTORS = {"local": local.results, "ray": ray_executor.results}


def run_plan(runs: list[RunSpec], store, data_dir=None, progress=True, workers=None,
             worker_setup=None, executor: str = "local", address=None, gpus_per_task: float = 0.0,
             deadline: float | None = None, rank=None) -> dict:
    """Runs every pending run, committing each as it finishes. Returns counts ("ok", "failed", and
    "unfinished": the runs the deadline left untrained).

    Args:
      workers: processes that train in parallel; None picks `default_workers`.
        With 1, runs train in this process.
      worker_setup: a picklable callable run in each worker process once
        Keras is loaded, to register there what the caller registered (e.g.
        `functools.partial(suite.studies.load_studies, task_modules)`).
      executor: a name in `EXECUTORS`: "local" (worker processes of this
        machine) or "ray" (Ray tasks; on the cluster at `address`, else a Ray
        instance of `workers` CPUs started here), each task asking for
        `gpus_per_task` GPUs.
      deadline: a `time.time()` after which nothing more trains (`Execution.deadline`).
      rank: spec -> a sortable priority: units train in its order (a unit by its members' smallest),
        else as `suite.training.units.units_of` orders them.
    """
    from tqdm.auto import tqdm

    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}. Received: executor={executor!r}")
    import keras

    device = configure_device()
    workers = default_workers(device) if workers is None else workers
    units = units_of(runs)
    if rank is not None:
        units = sorted(units, key=lambda unit: min(rank(s) for s in unit))  # stable: ties keep their order
    counts = {"ok": 0, "failed": 0, "unfinished": 0, "device": device, "workers": workers}
    eta = Eta(units, prior=measured_rates(store).get(device))
    # tqdm's own rate would divide the runs left by a runs-per-second rate that swings with the
    # groups; the ETA shown is the cost-weighted one (Eta)
    bar = tqdm(total=len(runs), unit="run", disable=not progress, dynamic_ncols=True, file=sys.stderr,
               mininterval=0.5, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} runs [{elapsed}, {postfix}]")
    bar.set_postfix_str(format_eta(None), refresh=False)
    execution = Execution(keras.backend.backend(), device, workers, worker_setup, data_dir, address, gpus_per_task,
                          deadline, rank is not None)
    results = EXECUTORS[executor](units, execution) if units else iter(())
    try:
        for unit, unit_results in results:
            for spec, result in zip(unit, unit_results):
                store.record_run(result)  # each run in its own transaction, as soon as its unit is back
                counts[result.record.status] += 1
                if not result.ok:
                    bar.write(f"failed: {spec.task.name} n={spec.n_train} seed={spec.seed}: {result.record.error}")
            eta.finished(unit, unit_results)
            members = f" and {len(unit) - 1} trained with it" if len(unit) > 1 else ""
            bar.set_postfix_str(f"{format_eta(eta.seconds_left())}; {unit[-1].task.name}{members}", refresh=False)
            bar.update(len(unit))
    finally:
        if hasattr(results, "close"):
            results.close()
        bar.close()
    counts["unfinished"] = len(runs) - counts["ok"] - counts["failed"]
    return counts

"""Running a plan: runs grouped by model, in this process or in spawned worker processes.

Results come back to the calling process, which alone writes the database,
one transaction per finished run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from typing import Iterable

from suite.store import RunResult
from suite.text import format_duration
from suite.training.devices import configure_device, default_workers, library_versions
from suite.training.plan import RunSpec
from suite.training.trainer import Trainer, run_record


def model_group(spec: RunSpec) -> tuple:
    """Runs with the same group share one compiled model."""
    return (spec.task.dataset, spec.task.arch, json.dumps(spec.hparams, sort_keys=True))


def execution_order(runs: Iterable[RunSpec]) -> list[RunSpec]:
    """Groups runs that share a compiled model, so each is built once."""
    return sorted(runs, key=lambda r: (*model_group(r), r.task.study, r.task.variant, r.n_train, r.seed))


_WORKER: dict = {}


def _worker_init(backend: str, device: str, threads: int, setup):
    """Runs in each spawned worker before any import of Keras.

    A spawned process starts empty: `setup()` (from the caller) registers
    there what the parent registered beyond the built-in architectures,
    datasets, objectives and probes (e.g. a user's task module).
    """
    os.environ["KERAS_BACKEND"] = backend
    # One core per worker: the workers, not the threads, share the machine.
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # scikit-learn's OpenMP (gradient boosting)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}")
    # OpenMP and BLAS read their variables when loaded, and importing this module (to call this
    # function) has loaded scikit-learn's already: limit them now too. Unlimited, two workers' gradient
    # boosting ran 2 threads each on 2 cores, spinning as they waited: 48 runs took 153 s instead of 6 s.
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _WORKER["device"] = device
    _exit_with_parent()
    from suite.backend import import_keras_quietly

    import_keras_quietly()
    if setup is not None:
        setup()


def _exit_with_parent(interval: float = 0.5):
    """Ends this worker when the suite's process dies (e.g. kill -9).

    A pool worker holds both ends of its task queue, so it would never see
    the parent go and would idle forever; a watcher thread notices that it has
    been re-parented and exits the process.
    """
    import threading

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def units_of(runs: list[RunSpec]) -> list[tuple]:
    """The plan's units of work: a population (the runs of one task trained together) or one run."""
    from suite.training.population import group_populations

    populations = group_populations([r for r in runs if r.trainer == "population"])
    return [tuple(p) for p in populations] + [(r,) for r in runs if r.trainer != "population"]


class _Trainers:
    """One trainer of each kind per process, made when first needed (each keeps its compiled models)."""

    def __init__(self, device: str):
        self.device = device
        self._fit = self._population = None

    def run_unit(self, unit: tuple, data_dir) -> list[RunResult]:
        if unit[0].trainer != "population":
            if self._fit is None:
                self._fit = Trainer(self.device)
            return [self._fit.run_or_fail(spec, data_dir) for spec in unit]
        from suite.training.population import PopulationTrainer

        if self._population is None:
            self._population = PopulationTrainer(self.device)
        try:
            return self._population.run(list(unit), data_dir)
        except Exception as exc:  # every member is recorded as failed; the suite goes on
            if self._fit is None:
                self._fit = Trainer(self.device)
            self._population = None  # a failed step can leave its compiled programs unusable
            return [self._fit.failed(spec, exc) for spec in unit]


def _worker_run(unit: tuple, data_dir):
    if "trainers" not in _WORKER:
        _WORKER["trainers"] = _Trainers(_WORKER["device"])
    return _WORKER["trainers"].run_unit(unit, data_dir)


def _results_in_process(units, data_dir, device):
    trainers = _Trainers(device)
    for unit in units:
        yield unit, trainers.run_unit(unit, data_dir)


class _GroupQueue:
    """Pending units (populations or single runs) by model group, handed out so each worker stays on one group.

    A worker keeps the group it has (its compiled model is cached); when that
    is empty it takes the largest group no other worker is on, and only then
    shares (from the far end of) a group another worker is on.
    """

    def __init__(self, units):
        self.groups: dict = {}
        for unit in units:
            self.groups.setdefault(model_group(unit[0]), []).append(unit)

    def take(self, current, busy):
        if self.groups.get(current):
            return current, self.groups[current].pop(0)
        free = [g for g, v in self.groups.items() if v and g not in busy]
        shared = [g for g, v in self.groups.items() if v]
        if not (free or shared):
            return current, None
        group = max(free or shared, key=lambda g: len(self.groups[g]))
        return group, (self.groups[group].pop(0) if free else self.groups[group].pop())


def _results_from_workers(units, data_dir, device, workers, setup):
    """Runs in spawned worker processes (TensorFlow is not fork-safe).

    Each worker is a one-process pool with exactly one run in flight, so when
    a worker dies (killed for memory, a crash in native code) the run that
    killed it is known: it is recorded as failed and the worker replaced.
    Results come back to this process, which alone writes the database.
    """
    import concurrent.futures as cf
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    import keras

    context = multiprocessing.get_context("spawn")
    initargs = (keras.backend.backend(), device, 1, setup)

    def new_worker():
        return cf.ProcessPoolExecutor(1, mp_context=context, initializer=_worker_init, initargs=initargs)

    ours_before = set(multiprocessing.active_children())
    queue = _GroupQueue(units)
    pool = [new_worker() for _ in range(min(workers, len(units)))]
    groups = [None] * len(pool)
    in_flight = {}  # future -> (worker index, unit)

    def submit(i):
        busy = {g for j, g in enumerate(groups) if j != i}
        groups[i], unit = queue.take(groups[i], busy)
        if unit is not None:
            in_flight[pool[i].submit(_worker_run, unit, data_dir)] = (i, unit)

    try:
        for i in range(len(pool)):
            submit(i)
        while in_flight:
            done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            for future in done:
                i, unit = in_flight.pop(future)
                try:
                    results = future.result()
                except BrokenProcessPool:
                    error = "worker process died during this run (out of memory, or a crash in native code)"
                    results = [RunResult(run_record(spec, "failed", error, keras.backend.backend(), device,
                                                    library_versions())) for spec in unit]
                    pool[i].shutdown(wait=False)
                    pool[i], groups[i] = new_worker(), None
                yield unit, results
                submit(i)
    finally:
        for worker in pool:
            worker.shutdown(wait=False, cancel_futures=True)
        # then stop the worker processes (this process's children started
        # here): an interrupted suite stops now, not after the runs in flight
        for process in set(multiprocessing.active_children()) - ours_before:
            process.terminate()


class Eta:
    """Time left, from each unit's expected cost: its members' optimizer steps times the seconds per
    member-step measured on its model group, or on all groups so far while its own has not finished a
    unit yet. Per member, because a population's step costs in proportion to its members where they
    step one by one (convolutions on a CPU): a rate per population step, measured on the tuning's
    4-member populations, put the 30-member evaluation populations that follow at 0.29x their time
    (a fresh default run, November 2026). Vectorised members cost less than that, so their estimate errs long, then corrects as
    their group's own units finish. The elapsed time scales it, so time outside training
    (start-up, evaluation, probes) is spread in proportion: the estimate does not swing between
    a group of quick runs and a group of slow ones as a plain runs-per-second rate does."""

    def __init__(self, units, prior: dict | None = None):
        """`prior`: model group -> seconds per member-step measured before on this device (the database's runs,
        e.g. this plan's learning-rate tuning, which trains every model group of the plan first); a group
        this run has not measured yet takes its prior rate before the average of the others."""
        self.pending = {id(u): u for u in units}
        self.done_steps: dict = {}  # group -> steps finished
        self.done_seconds: dict = {}  # group -> training seconds they took
        self.prior = {g: r for g, r in (prior or {}).items() if isinstance(r, float)}
        self.start = time.perf_counter()

    @staticmethod
    def steps(unit) -> int:
        """The unit's member-steps: every member's step budget."""
        return unit[0].budget.max_steps * len(unit)

    def _rate(self, group) -> float:
        if self.done_steps.get(group):
            return self.done_seconds[group] / self.done_steps[group]
        if group in self.prior:
            return self.prior[group]
        total = sum(self.done_steps.values())
        return sum(self.done_seconds.values()) / total if total else 1.0

    def finished(self, unit, results) -> None:
        self.pending.pop(id(unit), None)
        group = model_group(unit[0])
        seconds = sum(r.record.train_seconds or 0.0 for r in results)
        self.done_steps[group] = self.done_steps.get(group, 0) + self.steps(unit)
        self.done_seconds[group] = self.done_seconds.get(group, 0.0) + seconds

    def seconds_left(self) -> float | None:
        done = sum(self._rate(g) * n for g, n in self.done_steps.items())
        if not done:
            return None
        left = sum(self._rate(model_group(u[0])) * self.steps(u) for u in self.pending.values())
        return (time.perf_counter() - self.start) * left / done


def _format_eta(seconds: float | None) -> str:
    return "ETA after the first runs" if seconds is None else f"ETA {format_duration(seconds)}"


def run_plan(runs: list[RunSpec], store, data_dir=None, progress=True, workers=None,
             worker_setup=None, executor: str = "local", address=None, gpus_per_task: float = 0.0) -> dict:
    """Runs every pending run, committing each as it finishes. Returns counts.

    Args:
      workers: processes that train in parallel; None picks `default_workers`.
        With 1, runs train in this process.
      worker_setup: a picklable callable run in each worker process once
        Keras is loaded, to register there what the caller registered (e.g.
        `functools.partial(suite.studies.load_studies, task_modules)`).
      executor: "local" (worker processes of this machine) or "ray" (Ray
        tasks, `suite.training.ray_executor`; on the cluster at `address`, else
        a Ray instance of `workers` CPUs started here), each task asking for
        `gpus_per_task` GPUs.
    """
    from tqdm.auto import tqdm

    device = configure_device()
    workers = default_workers(device) if workers is None else workers
    units = units_of(execution_order(runs))
    counts = {"ok": 0, "failed": 0, "device": device, "workers": workers}
    from suite.training.estimate import measured_rates

    eta = Eta(units, prior=measured_rates(store).get(device))
    # tqdm's own rate would divide the runs left by a runs-per-second rate that swings with the
    # groups; the ETA shown is the cost-weighted one (Eta)
    bar = tqdm(total=len(runs), unit="run", disable=not progress, dynamic_ncols=True, file=sys.stderr,
               mininterval=0.5, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} runs [{elapsed}, {postfix}]")
    bar.set_postfix_str(_format_eta(None), refresh=False)
    if executor == "ray" and units:
        import keras

        from suite.training.ray_executor import results_from_ray

        results = results_from_ray(units, data_dir, keras.backend.backend(), worker_setup, address, gpus_per_task,
                                   num_cpus=workers if address in (None, "local") else None)
    elif workers > 1 and len(units) > 1:
        results = _results_from_workers(units, data_dir, device, workers, worker_setup)
    else:
        results = _results_in_process(units, data_dir, device)
    try:
        for unit, unit_results in results:
            for spec, result in zip(unit, unit_results):
                store.record_run(result)  # each run in its own transaction, as soon as its unit is back
                counts[result.record.status] += 1
                if not result.ok:
                    bar.write(f"failed: {spec.task.name} n={spec.n_train} seed={spec.seed}: {result.record.error}")
            eta.finished(unit, unit_results)
            members = f" and {len(unit) - 1} trained with it" if len(unit) > 1 else ""
            bar.set_postfix_str(f"{_format_eta(eta.seconds_left())}; {unit[-1].task.name}{members}", refresh=False)
            bar.update(len(unit))
    finally:
        results.close()
        bar.close()
    return counts

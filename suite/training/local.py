"""The local executor: units of work trained in this process, or in spawned worker processes of this machine.

Results come back to the calling process, which alone writes the database.
"""

from __future__ import annotations

import os
import signal
import time

from suite.training.results import lost_unit
from suite.training.units import Execution, model_group
from suite.training.worker import UnitRunner, prepare_process, run_unit


def results(units, execution: Execution):
    """Yields (unit, results) as units finish: in spawned worker processes when there are several
    workers and units, else one after another in this process (Keras already loaded by the caller)."""
    if execution.workers > 1 and len(units) > 1:
        return results_from_workers(units, execution)
    return results_in_process(units, execution)


def results_in_process(units, execution: Execution):
    """Yields (unit, results), trained one after another in this process."""
    runner = UnitRunner(execution.device)
    for unit in units:
        if execution.past_deadline():  # one process: a unit started before the deadline ends
            return
        yield unit, runner.run_unit(unit, execution.data_dir)


def start_worker(backend: str, device: str, threads: int, setup):
    """Runs in each spawned worker before anything else: the parent handles Ctrl-C, the worker
    ends with its parent, then the one set-up of every training process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    prepare_process(backend, threads, setup, device)


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


class GroupQueue:
    """Pending units (populations or single runs) by model group, handed out so each worker stays on one group.

    A worker keeps the group it has (its compiled model is cached); when that
    is empty it takes the largest group no other worker is on (`ordered`: the
    first, in the units' order), and only then shares (from the far end of) a
    group another worker is on.
    """

    def __init__(self, units, ordered: bool = False):
        self.groups: dict = {}
        self.ordered = ordered
        for unit in units:
            self.groups.setdefault(model_group(unit[0]), []).append(unit)

    def take(self, current, busy):
        if self.groups.get(current):
            return current, self.groups[current].pop(0)
        free = [g for g, v in self.groups.items() if v and g not in busy]
        shared = [g for g, v in self.groups.items() if v]
        if not (free or shared):
            return current, None
        rank = list(self.groups).index if self.ordered else (lambda g: -len(self.groups[g]))
        group = min(free or shared, key=rank)
        return group, (self.groups[group].pop(0) if free else self.groups[group].pop())


def results_from_workers(units, execution: Execution):
    """Yields (unit, results) from spawned worker processes (TensorFlow is not fork-safe).

    Each worker is a one-process pool with exactly one unit in flight, so when
    a worker dies (killed for memory, a crash in native code) the unit that
    killed it is known: its runs are recorded as failed and the worker is
    replaced.
    """
    import concurrent.futures as cf
    import multiprocessing
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    initargs = (execution.backend, execution.device, 1, execution.setup)

    def new_worker():
        return cf.ProcessPoolExecutor(1, mp_context=context, initializer=start_worker, initargs=initargs)

    ours_before = set(multiprocessing.active_children())
    queue = GroupQueue(units, execution.ordered)
    pool = [new_worker() for _ in range(min(execution.workers, len(units)))]
    groups = [None] * len(pool)
    in_flight = {}  # future -> (worker index, unit)

    def submit(i):
        if execution.past_deadline():
            return
        busy = {g for j, g in enumerate(groups) if j != i}
        groups[i], unit = queue.take(groups[i], busy)
        if unit is not None:
            in_flight[pool[i].submit(run_unit, unit, execution.data_dir)] = (i, unit)

    try:
        for i in range(len(pool)):
            submit(i)
        while in_flight:
            left = None if execution.deadline is None else max(0.0, execution.deadline - time.time())
            done, _ = cf.wait(in_flight, timeout=left, return_when=cf.FIRST_COMPLETED)
            if not done:  # the deadline passed: the units in flight are given up (their workers stopped below)
                return
            for future in done:
                i, unit = in_flight.pop(future)
                try:
                    finished = future.result()
                except BrokenProcessPool:
                    finished = lost_unit(unit, "worker process died during this run (out of memory, or a crash "
                                               "in native code)", execution.backend, execution.device)
                    pool[i].shutdown(wait=False)
                    pool[i], groups[i] = new_worker(), None
                yield unit, finished
                submit(i)
    finally:
        for worker in pool:
            worker.shutdown(wait=False, cancel_futures=True)
        # then stop the worker processes (this process's children started
        # here): an interrupted suite stops now, not after the runs in flight
        for process in set(multiprocessing.active_children()) - ours_before:
            process.terminate()

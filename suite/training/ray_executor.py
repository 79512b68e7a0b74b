"""Running a plan on a Ray cluster (`--executor ray`): one Ray task per unit (a population, or one run).

The same units, worker set-up, trainers and results as the local executor
(`suite.training.local`): only where they run differs. Results stream back
to the calling process, which alone writes the database (one transaction per
run, keyed by run key, so a retried unit can never write a run twice).

Why it is built this way (see bench/README.md):
- one task is one unit, never one step: Ray tasks shorter than about 10 ms
  gain nothing;
- every dataset is loaded once, here, and put in the object store: workers
  (on any node) take it from there, so no node needs the data files;
- a Ray worker process is prepared once (`suite.training.worker`) and keeps its trainers between tasks,
  so compiled models and programs are reused; tasks that ask for GPUs get
  `max_calls=0`, or Ray would start a fresh process for every one of them
  and compile everything again;
- `max_retries` covers a worker that dies (killed, out of memory): its unit is
  run again elsewhere. A run that raises is recorded as failed, as locally,
  and not retried (`retry_exceptions` stays off);
- each worker names its own device (a GPU where Ray gave it one), and every
  run records it;
- Ray's own progress output and log forwarding are off: the suite's progress
  bar and ETA work as locally.
"""

from __future__ import annotations

import functools
import socket
import time

from suite import UsageError
from suite.data import source_data
from suite.training.results import lost_unit
from suite.training.units import Execution

RETRIES = 2  # a unit whose worker dies is run again this many times before it is recorded as failed


def _run_unit(unit: tuple, data_dir, backend: str, threads: int, setup, datasets: dict):
    """In a Ray worker: prepares the process once (as every worker: `prepare_process`; the device it
    finds there), takes the unit's datasets as their loaders gave them from the object store (`datasets`:
    name -> object ref; each run draws its split from them),
    then trains."""
    import ray

    from suite.data import provide_dataset
    from suite.training.worker import prepare_process, prepared, run_unit

    if not prepared():
        prepare_process(backend, threads, setup)
    for name, ref in datasets.items():
        provide_dataset(name, functools.partial(ray.get, ref))
    return run_unit(unit, data_dir)


def check_address(address: str | None) -> None:
    """A cluster address the driver cannot reach is one line, before any training: "auto" (a cluster
    started on this machine with `ray start --head`) or host:port."""
    if address in (None, "auto", "local"):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise UsageError(f"bad --address {address!r}; valid: auto, or host:port of a Ray cluster's head "
                         f"(ray start --head prints it)")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise UsageError(f"cannot reach the Ray cluster at {address!r} ({e.strerror or e}); start it with "
                         f"`ray start --head` there, or pass --address auto for one on this machine") from None


def results(units, execution: Execution):
    """Yields (unit, results) as Ray finishes them. Starts a local Ray instance of `execution.workers`
    CPUs unless `execution.address` names a running cluster ("auto": the one started on this machine)."""
    import ray

    address = execution.address
    env = {"KERAS_BACKEND": execution.backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "RAY_DEDUP_LOGS": "0"}
    started = not ray.is_initialized()
    if started:
        import warnings

        with warnings.catch_warnings():  # Ray starts its processes with fork + exec: not the fork JAX warns of
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            ray.init(address=None if address in (None, "local") else address,
                     num_cpus=execution.workers if address in (None, "local") else None,
                     include_dashboard=False, log_to_driver=False, configure_logging=False,
                     runtime_env={"env_vars": env}, ignore_reinit_error=True)
    remote = ray.remote(num_cpus=1, num_gpus=execution.gpus_per_task, max_retries=RETRIES, max_calls=0)(_run_unit)
    # every dataset once into the object store, loaded here (planning loaded them already)
    stored = {name: ray.put(source_data(name, execution.data_dir)) for name in {s.task.dataset for u in units for s in u}}
    pending = {remote.remote(unit, execution.data_dir, execution.backend, 1, execution.setup,
                             {s.task.dataset: stored[s.task.dataset] for s in unit}): unit
               for unit in units}
    try:
        while pending:
            left = None if execution.deadline is None else max(0.0, execution.deadline - time.time())
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=left)
            if not ready:  # the deadline passed: what is still pending is cancelled below
                return
            (ref,) = ready
            unit = pending.pop(ref)
            try:
                finished = ray.get(ref)
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.RayTaskError,
                    ray.exceptions.NodeDiedError) as e:  # retries spent, or a failure outside any one run
                error = f"Ray task failed after {RETRIES} retries: {type(e).__name__}: {str(e).splitlines()[0]}"
                finished = lost_unit(unit, error, execution.backend, "Ray worker")
            yield unit, finished
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()

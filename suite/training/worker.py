"""A training process: set up once, then trains units of work handed to it.

Every executor's worker process (a local spawned worker, a Ray worker, or the
suite's own process when it trains in place) is prepared by `prepare_process`
and trains through `run_unit`, which keeps one trainer of each kind for the
life of the process, so compiled models and programs are reused from one
unit to the next.
"""

from __future__ import annotations

import os

from suite.store.schema import RunResult
from suite.training.results import exception_message, failed_result

_PROCESS: dict = {}  # this process's device and trainers, once prepared


def limit_threads(threads: int) -> None:
    """`threads` threads per process for every library: the workers, not the threads, share the machine.

    Environment variables for libraries not loaded yet (TensorFlow, XLA,
    OpenMP); threadpoolctl for those loaded already (scikit-learn's OpenMP
    and BLAS read their variables when loaded: unlimited, two workers'
    gradient boosting spin on each other's cores, bench/README.md).
    """
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}")
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)


def prepare_process(backend: str, threads: int, setup, device: str | None = None) -> None:
    """Prepares a worker process before it trains: its threads, Keras on `backend` (loaded quietly),
    then `setup()`, which registers there what the suite's process registered beyond the built-in
    studies (a user's task module, a user's data: a spawned or remote process starts empty), and
    its device (`device`, else detected here)."""
    os.environ["KERAS_BACKEND"] = backend
    limit_threads(threads)
    from suite.backend import import_keras_quietly

    import_keras_quietly()
    if setup is not None:
        setup()
    if device is None:
        from suite.training.devices import configure_device

        device = configure_device()
    _PROCESS["device"] = device


def prepared() -> bool:
    """Whether this process has been prepared (`prepare_process`)."""
    return "device" in _PROCESS


class UnitRunner:
    """One trainer of each kind per process, made when first needed (each keeps its compiled models)."""

    def __init__(self, device: str):
        self.device = device
        self._fit = self._population = None

    def _fit_trainer(self):
        if self._fit is None:
            from suite.training.trainer import Trainer

            self._fit = Trainer(self.device)
        return self._fit

    def run_unit(self, unit: tuple, data_dir) -> list[RunResult]:
        """Trains a unit: a population through the population trainer, single runs one by one."""
        if unit[0].trainer != "population":
            trainer = self._fit_trainer()
            return [trainer.run_or_fail(spec, data_dir) for spec in unit]
        from suite.training.population import PopulationTrainer

        if self._population is None:
            self._population = PopulationTrainer(self.device)
        try:
            return self._population.run(list(unit), data_dir)
        except Exception as exc:  # every member is recorded as failed; the suite goes on
            import keras

            # a failed step can leave compiled programs unusable: every trainer starts afresh
            population, self._population, self._fit = self._population, None, None
            keras.backend.clear_session()
            return [failed_result(spec, exception_message(exc), population.backend, population.device,
                                  population.versions, exc) for spec in unit]


def run_unit(unit: tuple, data_dir) -> list[RunResult]:
    """Trains `unit` in this prepared process, with the process's trainers."""
    if "runner" not in _PROCESS:
        _PROCESS["runner"] = UnitRunner(_PROCESS["device"])
    return _PROCESS["runner"].run_unit(unit, data_dir)

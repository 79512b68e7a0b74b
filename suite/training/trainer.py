"""The per-run trainer: one straight path per run, returning one `RunResult`.

`Trainer.run`: load the data -> take the seeded training subset -> the model
(re-initialised under the run's seed) -> probes at initialisation -> `fit`
with early stopping on the validation split under a step budget -> evaluate
on the test split and its extra test sets -> probes after training ->
`finish_run` (`suite.training.results`, shared with the population trainer).
Architectures that are scikit-learn estimators take the same subset and
splits (`_run_estimator`).

Most of a small Keras run is building, compiling and tracing, and per-step
dispatch (bench/README.md). So the trainer keeps one compiled model per
(architecture, input shape, hyperparameters) and, for every run, copies in
the initial weights of a freshly built, freshly seeded model (the same
initialisation a new model would get) and resets the optimizer's variables;
the traced train function is kept. Runs execute grouped by model for the
same reason (`suite.training.units`). `steps_per_execution` cuts dispatch.
"""

from __future__ import annotations

import math
import time

import numpy as np

from suite.architectures import build_model, count_flops, get_architecture
from suite.data import load_variant, subsample
from suite.store.schema import RunResult
from suite.training.devices import library_versions
from suite.training.models import evaluation_batch_size, initial_model, learning_rate_slot, make_optimizer, program_key
from suite.training.objectives import OBJECTIVES
from suite.training.plan import RunSpec
from suite.training.results import (Measured, exception_message, failed_result, finish_run, run_probes, run_record,
                                    score_sets)


def make_step_timer(steps_per_execution: int, steps_per_epoch: int):
    """A callback timing optimizer steps; its `step_ms` is the median in ms.

    Keras calls `on_train_batch_end` once per execution (up to
    `steps_per_execution` steps; the last execution of an epoch may run
    fewer, so each gap is divided by the steps it really ran). Gaps are
    measured between consecutive ends within an epoch, so neither validation
    nor the first call's tracing is counted; the first two gaps are dropped
    as warm-up when there are enough. Converting the logs at each end (this
    callback is not async-safe) makes asynchronous backends finish the step
    before the clock is read. (A factory, so Keras is imported only once the
    backend is chosen.)
    """
    import keras

    class StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.per_step: list[float] = []
            self._last = None
            self._begin = 0

        def on_epoch_begin(self, epoch, logs=None):
            self._last = None

        def on_train_batch_begin(self, batch, logs=None):
            self._begin = batch

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if self._last is not None:
                steps = max(1, min(steps_per_execution, steps_per_epoch - self._begin))
                self.per_step.append((now - self._last) / steps)
            self._last = now

        @property
        def step_ms(self) -> float | None:
            times = self.per_step[2:] if len(self.per_step) > 4 else self.per_step
            if not times:
                return None
            return float(np.median(times)) * 1000.0

    return StepTimer()



class Trainer:
    """Trains runs, re-using one compiled model per architecture and shape."""

    def __init__(self, device: str):
        import keras

        self.keras = keras
        self.device = device
        self.backend = keras.backend.backend()
        self.versions = library_versions()
        self._key = None
        self._model = None
        self._optimizer_init = None

    def _compiled_model(self, spec: RunSpec, data):
        key = (*program_key(spec, data), spec.budget.steps_per_execution)
        if key != self._key:
            # Models pile up in a long process unless the session is cleared.
            self._model = None
            self.keras.backend.clear_session()
            task = spec.task
            model = build_model(task.arch, data.input_shape, data.num_outputs, **spec.hparams)
            objective = OBJECTIVES[task.objective]
            model.compile(
                optimizer=make_optimizer(model, spec.lr),
                loss=objective.make_loss(),
                metrics=objective.make_metrics(),
                steps_per_execution=spec.budget.steps_per_execution,
            )
            model.optimizer.build(model.trainable_variables)
            self._optimizer_init = [self.keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
            self._model, self._key = model, key
        return self._model

    def _reinitialise(self, model, spec: RunSpec, data):
        """Initial state of a new model built under this run's seed (`initial_model`).

        All its variables, not only its weights: a model that draws random
        numbers in training (the generative ones) keeps its seed generators'
        state there, and the previous run's state must not carry over.
        """
        fresh = initial_model(spec, data)
        for variable, value in zip(model.variables, fresh.variables):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, self._optimizer_init):
            variable.assign(value)
        model.optimizer.variables[learning_rate_slot(model.optimizer)].assign(spec.lr)
        self.keras.utils.set_random_seed(spec.seed)  # the data order follows the seed too

    def run(self, spec: RunSpec, data_dir=None) -> RunResult:
        """Trains and evaluates one run.

        The task's probes (`suite.probes`) run on the model at initialisation
        and after training: their curves go to `series` (name -> list of
        (x, value)), their numbers into `metrics`, their arrays to `arrays`.
        """
        keras = self.keras
        task, budget = spec.task, spec.budget
        data = load_variant(task.dataset, task.variant, data_dir, spec.seed)
        if get_architecture(task.arch).framework == "sklearn":
            return self._run_estimator(spec, data)
        model = self._compiled_model(spec, data)
        self._reinitialise(model, spec, data)
        objective = OBJECTIVES[task.objective]
        x, y = subsample(data, spec.n_train, spec.seed)
        result = RunResult(self._record(spec, "ok", data=data, framework="keras"))

        def probe(when):
            run_probes(result, spec.probes, when, model, objective, data, x, y, spec.seed)

        probe("init")
        keras.utils.set_random_seed(spec.seed)  # whatever the probes drew, training starts from the seed
        # Repeat a small training set so one "epoch" (one validation check)
        # spans at least eval_every steps.
        repeats = max(1, math.ceil(budget.eval_every * budget.batch_size / len(y)))
        if repeats > 1:
            x, y = np.concatenate([x] * repeats), np.concatenate([y] * repeats)
        steps_per_epoch = math.ceil(len(y) / budget.batch_size)
        epochs = max(1, math.ceil(budget.max_steps / steps_per_epoch))
        eval_batch = evaluation_batch_size(data.input_shape)

        timer = make_step_timer(budget.steps_per_execution, steps_per_epoch)
        callbacks = [timer, keras.callbacks.TerminateOnNaN()]
        validation = stopping = None
        if not objective.train_only:
            stopping = keras.callbacks.EarlyStopping(monitor=objective.monitor, patience=budget.patience,
                                                     restore_best_weights=True)
            callbacks.append(stopping)
        if objective.validates:  # early stopping's split, or a held-out loss watched at every check
            validation = (data.x_val, data.y_val)
        start = time.perf_counter()
        history = model.fit(
            x, y, batch_size=budget.batch_size, epochs=epochs, shuffle=True,
            validation_data=validation, validation_batch_size=eval_batch,
            callbacks=callbacks, verbose=0,
        ).history
        train_seconds = time.perf_counter() - start
        epochs_done = len(history.get("loss", []))
        measured = Measured(history, y, stopped_early=bool(stopping is not None and stopping.stopped_epoch > 0),
                            params=int(model.count_params()), flops=count_flops(model), step_ms=timer.step_ms,
                            train_seconds=train_seconds, epochs=epochs_done, steps=epochs_done * steps_per_epoch)
        if not objective.train_only:
            def score(x_eval, y_eval):
                return model.evaluate(x_eval, y_eval, batch_size=eval_batch, verbose=0, return_dict=True)

            measured.test = score(data.x_test, data.y_test)
            measured.extra = score_sets(data.extra_tests, score)
        result = finish_run(result, spec, data, measured)
        if not result.ok:  # diverged: the compiled model holds non-finite values (`failed` drops it too)
            self._forget_model()
            return result
        probe("trained")
        return result

    def _run_estimator(self, spec: RunSpec, data) -> RunResult:
        """A scikit-learn baseline: fit on the same training subset, score on the same test split.

        Inputs are flattened (images to pixel vectors). The validation split
        is not used: the baselines run with their library defaults. Metrics
        have the Keras runs' names: test/accuracy, test/loss (the
        cross-entropy in nats, like Keras's), and the baseline and skill.
        """
        from sklearn.metrics import log_loss

        task = spec.task
        objective = OBJECTIVES[task.objective]
        if not objective.estimators:
            raise ValueError(f"scikit-learn baselines cannot be trained on the {task.objective!r} objective. "
                             f"Received: objective={task.objective!r} for task {task.name!r}")
        x, y = subsample(data, spec.n_train, spec.seed)
        estimator = build_model(task.arch, data.input_shape, data.num_outputs, seed=spec.seed, n_train=len(y),
                                **spec.hparams)
        flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
        start = time.perf_counter()
        estimator.fit(flat(x), y)
        train_seconds = time.perf_counter() - start

        def score(x_eval, y_eval):
            # probabilities for every class, also those absent from a small training set
            proba = np.zeros((len(y_eval), data.num_outputs))
            proba[:, estimator.classes_] = estimator.predict_proba(flat(x_eval))
            proba /= proba.sum(axis=1, keepdims=True)  # float32 inputs give float32 rounding
            return {"accuracy": float(np.mean(proba.argmax(axis=1) == y_eval)),
                    "loss": float(log_loss(y_eval, proba, labels=np.arange(data.num_outputs)))}

        result = RunResult(self._record(spec, "ok", data=data, framework="sklearn"))
        return finish_run(result, spec, data, Measured({}, y, test=score(data.x_test, data.y_test),
                                                       extra=score_sets(data.extra_tests, score),
                                                       train_seconds=train_seconds))

    def _record(self, spec: RunSpec, status: str, data=None, framework: str | None = None):
        return run_record(spec, status, None, self.backend, self.device, self.versions, data, framework)

    def _forget_model(self):
        """Drops the compiled model: a failed step (out of memory, non-finite values) can leave it unusable."""
        self._key = self._model = None
        self.keras.backend.clear_session()

    def failed(self, spec: RunSpec, exc: BaseException) -> RunResult:
        """A run that raised: its failed result (`failed_result`)."""
        self._forget_model()
        return failed_result(spec, exception_message(exc), self.backend, self.device, self.versions, exc)

    def run_or_fail(self, spec: RunSpec, data_dir=None) -> RunResult:
        try:
            return self.run(spec, data_dir)
        except Exception as exc:  # recorded and reported; the suite goes on
            return self.failed(spec, exc)

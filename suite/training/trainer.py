"""The per-run trainer: one straight path per run, returning one `RunResult`.

`Trainer.run`: load the data -> take the seeded training subset -> the model
(re-initialised under the run's seed) -> probes at initialisation -> `fit`
with early stopping on the validation split under a step budget -> evaluate
on the test split and its extra test sets -> probes after training ->
`finish_run` (`suite.training.results`, shared with the population trainer).
Architectures that are scikit-learn estimators take the same subset and
splits, their grid searched on the validation split (`_run_estimator`, `fit_tuned`).

Most of a small Keras run is building, compiling and tracing, and per-step
dispatch (bench/README.md). So the trainer keeps one compiled model per
(architecture, input shape, hyperparameters) and, for every run, copies in
the initial weights of a freshly built, freshly seeded model (the same
initialisation a new model would get) and resets the optimizer's variables;
the traced train function is kept. Runs execute grouped by model for the
same reason (`suite.training.units`). `steps_per_execution` cuts dispatch.
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np

from suite.architectures import build_model, count_flops, get_architecture
from suite.data import load_variant, subsample
from suite.probes.core import model_state, snapshot_checks
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


def flatten(a: np.ndarray) -> np.ndarray:
    """One row per example (images and sequences to flat vectors), as the scikit-learn baselines read them."""
    return a.reshape(len(a), -1)


def probabilities(estimator, x: np.ndarray, num_classes: int) -> np.ndarray:
    """A fitted classifier's probabilities for every class, also those absent from a small training set."""
    proba = np.zeros((len(x), num_classes))
    proba[:, estimator.classes_] = estimator.predict_proba(x)
    return proba / proba.sum(axis=1, keepdims=True)  # float32 inputs give float32 rounding


# Validation cross-entropies closer than this (in nats) are a tie: far above float round-off, far below
# any difference between two points of a grid that changes a prediction.
LOSS_TIE = 1e-6


def fit_tuned(build, points: list[dict], x, y, x_val, y_val, num_classes: int):
    """A classical baseline tuned on the validation split: (fitted estimator, chosen values, its validation
    accuracy).

    Rule: every grid point (`Architecture.grid_points`, simplest first) is
    fitted on the run's training subset `(x, y)` and scored on `(x_val,
    y_val)`, the split the networks are stopped and tuned on, the way the
    test split is scored (the most probable class). The most accurate point
    wins (accuracies compared as counts of correct examples: no round-off
    decides); among points equally accurate, the one of lowest validation
    cross-entropy (within `LOSS_TIE`); among those, the simplest. Accuracy
    alone ties often on small validation splits, and where it saturates a
    tie sent to the simplest point picks an over-penalised model that the
    cross-entropy, a proper score on the same rows, tells apart (the
    figures: docs/architectures.md). Points that
    build the same estimator (a k capped at the training-set size) are fitted
    once. The chosen estimator is the one fitted in the search: nothing is
    refitted. The chosen values are read from the fitted estimator (the
    capped k, not the grid's).

    A plain loop rather than scikit-learn's `GridSearchCV` over training and
    validation rows with a `PredefinedSplit`: the fits and scores are the
    same, but `GridSearchCV` ranks by one score and sends ties to its own
    grid order, copies the two sets into one per run, and with `refit=False`
    the chosen point must be fitted once more on the training subset, one
    more fit of the most expensive kind (gradient boosting on 3,500 MNIST
    images takes tens of seconds).
    """
    from sklearn.metrics import log_loss

    scored, seen = [], set()
    for point in points:
        estimator = build(**point)
        params = estimator.get_params()
        key = repr(sorted(params.items()))
        if key in seen:
            continue
        seen.add(key)
        estimator.fit(x, y)
        proba = probabilities(estimator, x_val, num_classes)
        correct = int(np.sum(proba.argmax(axis=1) == y_val))
        loss = float(log_loss(y_val, proba, labels=np.arange(num_classes)))
        scored.append((correct, loss, estimator, {name: params[name] for name in point}))
    most = max(correct for correct, *_ in scored)
    accurate = [entry for entry in scored if entry[0] == most]
    lowest = min(loss for _, loss, *_ in accurate)
    correct, _, estimator, chosen = next(entry for entry in accurate if entry[1] <= lowest + LOSS_TIE)
    return estimator, chosen, correct / len(y_val)


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

        def probe(when, snapshots=None):
            run_probes(result, spec.probes, when, model, objective, data, x, y, spec.seed, snapshots)

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
        snapshots = []  # (optimizer steps done, state) where a probe reads the model during training
        keep = snapshot_checks(spec.probes, epochs)
        callbacks = [timer, keras.callbacks.TerminateOnNaN()]
        if keep:
            callbacks.append(keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: snapshots.append(((epoch + 1) * steps_per_epoch, model_state(model)))
                if epoch in keep else None))
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
        probe("trained", snapshots)
        return result

    def _run_estimator(self, spec: RunSpec, data) -> RunResult:
        """A scikit-learn baseline: tuned and fitted on the same training subset, scored on the same splits.

        Inputs are flattened (images to pixel vectors). The estimator's grid
        is searched on the validation split the networks stop on
        (`fit_tuned`); the chosen values are stored as metrics
        `tuned/<parameter>` and their validation accuracy as `val/accuracy`.
        Test metrics have the Keras runs' names: test/accuracy, test/loss
        (the cross-entropy in nats, like Keras's), and the baseline and skill.
        `train_seconds` is the whole search's.
        """
        from sklearn.metrics import log_loss

        task = spec.task
        objective = OBJECTIVES[task.objective]
        if not objective.estimators:
            raise ValueError(f"scikit-learn baselines cannot be trained on the {task.objective!r} objective. "
                             f"Received: objective={task.objective!r} for task {task.name!r}")
        x, y = subsample(data, spec.n_train, spec.seed)
        build = functools.partial(build_model, task.arch, data.input_shape, data.num_outputs, seed=spec.seed,
                                  n_train=len(y), **spec.hparams)
        points = get_architecture(task.arch).grid_points(fixed=spec.hparams)
        start = time.perf_counter()
        estimator, chosen, val_accuracy = fit_tuned(build, points, flatten(x), y, flatten(data.x_val), data.y_val,
                                                    data.num_outputs)
        train_seconds = time.perf_counter() - start

        def score(x_eval, y_eval):
            proba = probabilities(estimator, flatten(x_eval), data.num_outputs)
            return {"accuracy": float(np.mean(proba.argmax(axis=1) == y_eval)),
                    "loss": float(log_loss(y_eval, proba, labels=np.arange(data.num_outputs)))}

        result = RunResult(self._record(spec, "ok", data=data, framework="sklearn"))
        result.metrics = {**{f"tuned/{name}": float(value) for name, value in chosen.items()},
                          "val/accuracy": val_accuracy}
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

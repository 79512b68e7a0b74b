"""The trainer: one straight path per run, returning one `RunResult`.

`Trainer.run`: load the data -> take the seeded training subset -> the model
(re-initialised under the run's seed) -> probes at initialisation -> `fit`
with early stopping on the validation split under a step budget -> evaluate
on the test split and its extra test sets -> probes after training -> the
record. Architectures that are scikit-learn estimators take the same subset
and splits (`_run_estimator`).

Speed (see ../shared/PERFORMANCE.md and bench/): most of a small Keras run is
building, compiling and tracing, and per-step dispatch. So the trainer keeps
one compiled model per (architecture, input shape, hyperparameters) and, for
every run, copies in the initial weights of a freshly built, freshly seeded
model (the same initialisation a new model would get) and resets the
optimizer's variables; the traced train function is kept. Runs execute
grouped by model for the same reason (`suite.training.workers`).
`steps_per_execution` cuts dispatch.
"""

from __future__ import annotations

import json
import math
import time
import traceback

import numpy as np

from suite.architectures import build_model, count_flops, get_architecture
from suite.data import load_variant, subsample
from suite.metrics import higher_is_better
from suite.probes import PROBES
from suite.store import RunRecord, RunResult
from suite.training.devices import library_versions
from suite.training.objectives import OBJECTIVES, baseline_metrics, convergence_metrics, loss_oscillation
from suite.training.plan import RunSpec


def evaluation_batch_size(input_shape) -> int:
    """Examples per evaluation batch: fewer for long sequences.

    Attention over T steps holds a (batch, heads, T, T) matrix; 512
    sequences of 1,024 steps would need gigabytes.
    """
    return int(max(16, min(512, 16384 // max(1, input_shape[0]))))


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



def score_extra_tests(extra_tests, score) -> dict:
    """`test_<name>/<metric>` for each of a dataset's extra test sets.

    `score(x, y)` returns {metric: value}. A set listed under two names
    (e.g. "far" is the largest shift) is scored once.
    """
    metrics, scored = {}, {}
    for name, (x, y) in extra_tests.items():
        if id(x) not in scored:
            scored[id(x)] = score(x, y)
        metrics.update({f"test_{name}/{k}": float(v) for k, v in scored[id(x)].items()})
    return metrics



def make_optimizer(model, learning_rate: float):
    """Adam at `learning_rate`, or the model's own optimizer where it brings one
    (`make_optimizer(learning_rate)`: the GANs, whose players take turns)."""
    import keras

    own = getattr(model, "make_optimizer", None)
    return own(learning_rate) if own else keras.optimizers.Adam(learning_rate)


def learning_rate_slot(optimizer) -> int:
    """The index of the optimizer's learning rate among `optimizer.variables` (Keras keeps a float
    learning rate in a variable there), so one compiled model trains at any rate: the per-run path
    assigns it, the population trainer stacks one value per member."""
    slots = [i for i, v in enumerate(optimizer.variables) if v.name == "learning_rate"]
    if len(slots) != 1:
        raise ValueError(f"expected one 'learning_rate' variable in {type(optimizer).__name__}.variables "
                         f"(a float learning rate, not a schedule). Received: "
                         f"{[v.name for v in optimizer.variables]}")
    return slots[0]


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
        task = spec.task
        key = (task.arch, data.input_shape, data.num_outputs, json.dumps(spec.hparams, sort_keys=True),
               task.objective, spec.budget.steps_per_execution)
        if key != self._key:
            # Models pile up in a long process unless the session is cleared.
            self._model = None
            self.keras.backend.clear_session()
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
        """Initial state of a new model built under this run's seed.

        All its variables, not only its weights: a model that draws random
        numbers in training (the generative ones) keeps its seed generators'
        state there, and the previous run's state must not carry over.
        """
        self.keras.utils.set_random_seed(spec.seed)
        fresh = build_model(spec.task.arch, data.input_shape, data.num_outputs, **spec.hparams)
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
            validation = (data.x_val, data.y_val)
        start = time.perf_counter()
        history = model.fit(
            x, y, batch_size=budget.batch_size, epochs=epochs, shuffle=True,
            validation_data=validation, validation_batch_size=eval_batch,
            callbacks=callbacks, verbose=0,
        ).history
        train_seconds = time.perf_counter() - start
        losses = np.asarray(history.get("loss", []), dtype=float)
        diverged = bool(losses.size and not np.all(np.isfinite(losses)))
        if diverged and spec.kind != "tune":  # a tuning run that diverges is a result: its rate is too high
            raise FloatingPointError(
                f"loss became {losses[~np.isfinite(losses)][0]} at epoch {int(np.argmax(~np.isfinite(losses))) + 1}"
            )
        params = int(model.count_params())
        metrics = {"model/params": float(params)}
        if timer.step_ms is not None:
            metrics["train/step_ms"] = timer.step_ms
        flops = count_flops(model)
        if flops is not None:
            metrics["model/flops"] = float(flops)
        if not objective.train_only:
            test = model.evaluate(data.x_test, data.y_test, batch_size=eval_batch, verbose=0, return_dict=True)
            metrics.update({f"test/{k}": float(v) for k, v in test.items()})
            metrics.update(baseline_metrics(objective.baseline, y, data.y_test, metrics))
            metrics.update(score_extra_tests(data.extra_tests, lambda xe, ye: model.evaluate(
                xe, ye, batch_size=eval_batch, verbose=0, return_dict=True)))
        metrics.update({f"train/final_{k}": float(v[-1]) for k, v in history.items()
                        if not k.startswith("val_") and len(v)})
        if objective.oscillation:
            metrics.update(loss_oscillation(history))
        metrics.update(convergence_metrics(history, objective.monitor,
                                           stopped_early=bool(stopping is not None and stopping.stopped_epoch > 0)))
        if diverged:  # this path fails an evaluation run that diverges: its rate must never be chosen
            metrics.update({"train/diverged": 1.0, "val/best_loss": float("inf")})
        # the probes' init/ metrics first, as they were measured
        result.metrics = {**result.metrics, **metrics}
        probe("trained")
        result.history = history
        result.record.epochs, result.record.steps = len(losses), len(losses) * steps_per_epoch
        result.record.train_seconds, result.record.params = train_seconds, params
        result.record.finished_at = time.time()
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

        metrics = {f"test/{k}": v for k, v in score(data.x_test, data.y_test).items()}
        metrics.update(baseline_metrics(objective.baseline, y, data.y_test, metrics))
        metrics.update(score_extra_tests(data.extra_tests, score))
        record = self._record(spec, "ok", data=data, framework="sklearn")
        record.train_seconds = train_seconds
        return RunResult(record, metrics)

    def _record(self, spec: RunSpec, status: str, error: str | None = None, data=None,
                framework: str | None = None) -> RunRecord:
        return run_record(spec, status, error, self.backend, self.device, self.versions, data, framework)

    def failed(self, spec: RunSpec, exc: BaseException) -> RunResult:
        """A failed run's result; the error is its last line (the traceback's gist)."""
        message = f"{type(exc).__name__}: {exc}".strip().splitlines()
        record = self._record(spec, "failed", message[-1] if message else type(exc).__name__)
        record.config_json = json.dumps({**spec.config, "traceback": traceback.format_exc(limit=3)}, default=str)
        # A failed step (e.g. out of memory) can leave the compiled model unusable.
        self._key = self._model = None
        self.keras.backend.clear_session()
        return RunResult(record)

    def run_or_fail(self, spec: RunSpec, data_dir=None) -> RunResult:
        try:
            return self.run(spec, data_dir)
        except Exception as exc:  # recorded and reported; the suite goes on
            return self.failed(spec, exc)


def run_probes(result: RunResult, probes, when: str, model, objective, data, x, y, seed: int) -> None:
    """Runs each probe on `model` and files what it measured in `result`: curves as series
    `<name>/<when>`, numbers as metrics `<when>/<name>`, arrays as `<name>/<when>`. A probe whose
    function takes `seed` gets the run's (e.g. to draw its labelled examples anew per seed)."""
    import inspect

    for name in probes:
        fn = PROBES[name]
        measured = fn(model, objective, data, x, y, **({"seed": seed} if "seed" in inspect.signature(fn).parameters
                                                       else {}))
        result.series.update({f"{k}/{when}": [(float(a), float(b)) for a, b in zip(*xy)]
                              for k, xy in measured.series.items()})
        result.metrics.update({f"{when}/{k}": float(v) for k, v in measured.metrics.items()})
        result.arrays.update({f"{k}/{when}": np.asarray(v) for k, v in measured.arrays.items()})


def run_record(spec: RunSpec, status: str, error: str | None, backend: str, device: str, versions: dict,
               data=None, framework: str | None = None, trainer: str | None = None,
               members: int | None = None) -> RunRecord:
    """The database record of one run.

    For a finished run (`data` given), the input shape (figures plot
    against length) and the framework (the report draws baselines as
    reference lines) go with the record, not into the run key: they follow
    from the dataset and the architecture.
    """
    t = spec.task
    config = spec.config
    if data is not None:
        config = {**config, "input_shape": list(data.input_shape), "framework": framework}
    return RunRecord(
        run_key=spec.key, study=t.study, task=t.name, arch=t.arch, setting=t.setting,
        dataset=t.dataset, variant=t.variant, matched=int(t.matched), bias=t.bias,
        profile=spec.profile, n_train=spec.n_train, seed=spec.seed,
        status=status, error=error, backend=backend, device=device,
        versions_json=json.dumps(versions), config_json=json.dumps(config, default=str),
        finished_at=time.time(), objective=t.objective, metric=t.metric, framework=framework,
        length=int(data.input_shape[0]) if data is not None else None,
        hparams_json=json.dumps(spec.hparams, sort_keys=True, default=str),
        trainer=trainer or (None if framework is None else "sklearn" if framework == "sklearn" else "fit"),
        members=members if members is not None else (None if framework is None else 1),
        learning_rate=spec.lr, kind=spec.kind, higher_is_better=int(higher_is_better(t.metric)),
    )

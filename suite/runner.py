"""The runner: expands studies into runs, trains, evaluates, stores.

One linear path per run (`Trainer.run`): seed everything, take the seeded
training subset, re-initialise the model, `fit` with early stopping on the
validation split under a step budget, evaluate on the test split, commit.

Speed (see ../shared/PERFORMANCE.md and bench/): most of a small Keras run is
building, compiling and tracing, and per-step dispatch. So the runner keeps
one compiled model per (architecture, input shape, hyperparameters) and, for
every run, copies in the initial weights of a freshly built, freshly seeded
model (the same initialisation a new model would get) and resets the
optimizer's variables; the traced train function is kept. Runs execute
grouped by model for the same reason. `steps_per_execution` cuts dispatch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import signal
import sys
import time
import traceback
from typing import Iterable

import numpy as np

from suite import DataUnavailable, __version__
from suite.data import load_variant, resolve_size, subsample
from suite.probes import PROBES

RESULTS_VERSION = 2  # bump when a change in the runner changes results (2: step time counts partial executions)


@dataclasses.dataclass(frozen=True)
class Budget:
    """Training budget, the same for every architecture of a profile.

    Args:
      max_steps: cap on optimizer steps (a budget in steps, not epochs, so
        small training sets do not get fewer updates than large ones).
      eval_every: minimum optimizer steps between validation checks; a small
        training set is repeated within one "epoch" to reach it. Each
        validation check is one entry of the stored history.
      patience: validation checks without improvement before stopping; the
        best weights (lowest validation loss) are restored.
      batch_size: examples per step.
      steps_per_execution: steps per call into the compiled train function.
    """

    max_steps: int
    eval_every: int = 32
    patience: int = 4
    batch_size: int = 64
    steps_per_execution: int = 16


BUDGETS = {
    "smoke": Budget(max_steps=24, eval_every=8, patience=2, steps_per_execution=8),
    "quick": Budget(max_steps=240, eval_every=30, patience=3),
    "full": Budget(max_steps=6000, eval_every=200, patience=6, steps_per_execution=32),
}


@dataclasses.dataclass(frozen=True)
class Objective:
    """Loss and metrics of a task type; `evaluate` keys become test/<key>.

    `baseline` names the trivial predictor the test metric is also computed
    for ("mean": the training targets' mean; "majority": the commonest
    training label, per label position), giving test/baseline_<metric> and
    test/skill (0 = no better than the baseline, 1 = perfect). A
    `train_only` objective (timing) trains for the budget and evaluates
    nothing: its result is train/step_ms.
    """

    loss: str
    metrics: tuple
    monitor: str = "val_loss"
    baseline: str | None = None
    train_only: bool = False


OBJECTIVES = {
    "classification": Objective(loss="sparse_categorical_crossentropy_logits", metrics=("accuracy",),
                                baseline="majority"),
    # test/loss is the mean squared error; test/mae beside it
    "regression": Objective(loss="mse", metrics=("mae",), baseline="mean"),
    # several labels per example (copy memory): logits (B, labels * classes)
    "symbols": Objective(loss="symbols_crossentropy", metrics=("symbol_accuracy",), baseline="majority"),
    # the sequential bottleneck: training-step time only
    "step_time": Objective(loss="mse", metrics=(), monitor="loss", train_only=True),
    # self-supervised and generative models (suite.generative_models): the model
    # computes its own loss; what it learned is measured by its probes
    "generate": Objective(loss=None, metrics=(), monitor="loss", train_only=True),
}


def _symbol_logits(y_true, y_pred):
    from keras import ops

    labels = y_true.shape[-1]
    return ops.reshape(y_pred, (-1, labels, y_pred.shape[-1] // labels))


def symbols_crossentropy(y_true, y_pred):
    """Mean cross-entropy over the labels of each example (logits side by side)."""
    import keras
    from keras import ops

    per_label = keras.losses.sparse_categorical_crossentropy(
        y_true, _symbol_logits(y_true, y_pred), from_logits=True)
    return ops.mean(per_label, axis=-1)


def symbol_accuracy(y_true, y_pred):
    """Share of labels predicted right, per example."""
    from keras import ops

    predicted = ops.argmax(_symbol_logits(y_true, y_pred), axis=-1)
    return ops.mean(ops.cast(ops.equal(predicted, ops.cast(y_true, predicted.dtype)), "float32"), axis=-1)


def make_loss(name: str | None):
    import keras

    if name is None:  # the model's own compute_loss
        return None

    if name == "sparse_categorical_crossentropy_logits":
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if name == "symbols_crossentropy":
        return symbols_crossentropy
    return keras.losses.get(name)


def make_metric(name: str):
    import keras

    if name == "symbol_accuracy":  # reported as "accuracy", like one-label classification
        return keras.metrics.MeanMetricWrapper(symbol_accuracy, name="accuracy")
    return name


def baseline_metrics(kind: str | None, y_train, y_test, metrics: dict) -> dict:
    """The trivial predictor's test metric and the model's skill over it."""
    if kind == "mean":
        base = float(np.mean((y_test - y_train.mean(axis=0)) ** 2))
        return {"test/baseline_loss": base, "test/skill": 1.0 - metrics["test/loss"] / base}
    if kind == "majority":
        labels = y_train.reshape(len(y_train), -1)
        majority = np.array([np.bincount(column).argmax() for column in labels.T])
        base = float(np.mean(y_test.reshape(len(y_test), -1) == majority))
        return {"test/baseline_accuracy": base,
                "test/skill": (metrics["test/accuracy"] - base) / max(1e-12, 1.0 - base)}
    return {}


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run's result."""

    task: object  # registry.Task
    n_train: int
    seed: int
    hparams: dict
    budget: Budget
    profile: str
    backend: str

    @property
    def config(self) -> dict:
        t = self.task
        return {
            "task": t.name, "study": t.study, "arch": t.arch, "dataset": t.dataset,
            "variant": t.variant, "objective": t.objective, "metric": t.metric,
            "hparams": self.hparams, "learning_rate": learning_rate(t),
            "n_train": self.n_train, "seed": self.seed,
            "budget": dataclasses.asdict(self.budget), "backend": self.backend,
            "results_version": RESULTS_VERSION,
            # only when used, so the keys of runs without them stay as they were
            **({"setting": t.setting} if t.setting else {}),
            **({"probes": list(t.probes)} if t.probes else {}),
        }

    @property
    def key(self) -> str:
        blob = json.dumps(self.config, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def learning_rate(task) -> float:
    """The task's learning rate, else its architecture's default (None for scikit-learn)."""
    from suite.models import get_architecture

    return task.learning_rate or get_architecture(task.arch).learning_rate


# --- planning -------------------------------------------------------------------

@dataclasses.dataclass
class Plan:
    runs: list
    skipped: list  # (task, reason)
    notes: list  # one-line messages for the user (e.g. unavailable data)


def budget_for(study, profile: str, task=None) -> Budget:
    """The profile's budget with the study's overrides (`Study.budget`), then the task's (`Task.budget`)."""
    overrides = {**study.budget.get(profile, {}), **((task.budget or {}).get(profile, {}) if task else {})}
    return dataclasses.replace(BUDGETS[profile], **overrides)


def seeds_for(study, profile: str, seeds) -> list[int]:
    if seeds is None:
        return list(range(study.seeds[profile]))
    return list(seeds)


def plan_runs(registry, studies, profile, backend, archs=None, datasets=None,
              sizes=None, seeds=None, data_dir=None) -> Plan:
    """Expands the selected studies into runs over sizes x seeds."""
    from suite.models import get_architecture, resolve_hparams

    plan = Plan([], [], [])
    unavailable: dict[str, str] = {}
    for study in studies:
        wanted = set(datasets) if datasets else set(study.datasets[profile])
        wanted_archs = set(archs) if archs else set(study.archs.get(profile, ()))
        for task in registry.tasks(study.name):
            if wanted_archs and task.arch not in wanted_archs:
                continue
            if task.dataset not in wanted:
                continue
            if task.skip:
                plan.skipped.append((task, task.skip))
                continue
            get_architecture(task.arch)  # fail early on an unknown name
            try:
                data = load_variant(task.dataset, task.variant, data_dir)
            except DataUnavailable as e:
                if task.dataset not in unavailable:
                    unavailable[task.dataset] = str(e)
                    plan.notes.append(str(e))
                plan.skipped.append((task, unavailable[task.dataset]))
                continue
            hparams = resolve_hparams(task.arch, data.input_shape, data.num_outputs,
                                      study.param_target, task.hparams)
            n_values = sorted({resolve_size(s, data) for s in (sizes or study.sizes[profile])})
            for n in n_values:
                for seed in seeds_for(study, profile, seeds):
                    plan.runs.append(RunSpec(task, n, seed, hparams, budget_for(study, profile, task), profile, backend))
    return plan


# --- device and environment ----------------------------------------------------------

def configure_device() -> str:
    """Uses the GPU when one is visible (memory growth on); names the device."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            for gpu in gpus:
                try:
                    tf.config.experimental.set_memory_growth(gpu, True)
                except RuntimeError:  # already initialised: growth cannot change now
                    pass
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return f"GPU ({details.get('device_name', gpus[0].name)})"
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return f"GPU ({device.device_kind})"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"GPU ({torch.cuda.get_device_name(0)})"
    except Exception as e:  # a broken driver should not stop a CPU run
        print(f"note: GPU detection failed ({e}); using the CPU", file=sys.stderr)
    return f"CPU ({cpu_name()})"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions() -> dict:
    import keras
    import sklearn

    versions = {
        "python": platform.python_version(), "suite": __version__,
        "keras": keras.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__,
    }
    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    if module:
        versions[module] = sys.modules[module].__version__ if module in sys.modules else __import__(module).__version__
    return versions


# --- training ------------------------------------------------------------------------

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


def loss_oscillation(history: dict) -> dict:
    """`train/oscillation_<loss>`: how much each training loss still moves in the second half of training.

    The standard deviation of its per-epoch values (one per `eval_every`
    steps) over the second half, divided by their mean absolute value: 0
    for a loss that has settled, large for one that swings (two players
    that chase each other). Left out with fewer than 4 values in that half.
    """
    out = {}
    for name, values in history.items():
        tail = np.asarray(values, dtype=float)[len(values) // 2:]
        if len(tail) >= 4:
            out[f"train/oscillation_{name}"] = float(tail.std() / (np.abs(tail).mean() + 1e-12))
    return out


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
        from suite.models import build_model

        task = spec.task
        key = (task.arch, data.input_shape, data.num_outputs, json.dumps(spec.hparams, sort_keys=True),
               task.objective, spec.budget.steps_per_execution, learning_rate(task))
        if key != self._key:
            # Models pile up in a long process unless the session is cleared.
            self._model = None
            self.keras.backend.clear_session()
            model = build_model(task.arch, data.input_shape, data.num_outputs, **spec.hparams)
            objective = OBJECTIVES[task.objective]
            model.compile(
                optimizer=self.keras.optimizers.Adam(learning_rate(task)),
                loss=make_loss(objective.loss),
                metrics=[make_metric(m) for m in objective.metrics],
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
        from suite.models import build_model

        self.keras.utils.set_random_seed(spec.seed)
        fresh = build_model(spec.task.arch, data.input_shape, data.num_outputs, **spec.hparams)
        for variable, value in zip(model.variables, fresh.variables):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, self._optimizer_init):
            variable.assign(value)
        self.keras.utils.set_random_seed(spec.seed)  # the data order follows the seed too

    def run(self, spec: RunSpec, data_dir=None) -> tuple[dict, dict, dict, dict, dict]:
        """Trains and evaluates one run: returns (row, metrics, history, series, arrays).

        The task's probes (`suite.probes`) run on the model at initialisation
        and after training: their curves go to `series` (name -> list of
        (x, value)), their numbers into `metrics`, their arrays to `arrays`.
        """
        from suite.models import count_flops, get_architecture

        keras = self.keras
        task, budget = spec.task, spec.budget
        data = load_variant(task.dataset, task.variant, data_dir, spec.seed)
        if get_architecture(task.arch).framework == "sklearn":
            return self._run_estimator(spec, data)
        model = self._compiled_model(spec, data)
        self._reinitialise(model, spec, data)
        objective = OBJECTIVES[task.objective]
        x, y = subsample(data, spec.n_train, spec.seed)
        probed = {"series": {}, "metrics": {}, "arrays": {}}

        def probe(when):
            for name in task.probes:
                measured = PROBES[name](model, objective, data, x, y)
                probed["series"].update({f"{k}/{when}": [(float(a), float(b)) for a, b in zip(*xy)]
                                         for k, xy in measured.series.items()})
                probed["metrics"].update({f"{when}/{k}": float(v) for k, v in measured.metrics.items()})
                probed["arrays"].update({f"{k}/{when}": np.asarray(v) for k, v in measured.arrays.items()})

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
        validation = None
        if not objective.train_only:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor=objective.monitor, patience=budget.patience, restore_best_weights=True))
            validation = (data.x_val, data.y_val)
        start = time.perf_counter()
        history = model.fit(
            x, y, batch_size=budget.batch_size, epochs=epochs, shuffle=True,
            validation_data=validation, validation_batch_size=eval_batch,
            callbacks=callbacks, verbose=0,
        ).history
        train_seconds = time.perf_counter() - start
        losses = np.asarray(history.get("loss", []), dtype=float)
        if losses.size and not np.all(np.isfinite(losses)):
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
        if task.objective == "generate":
            metrics.update(loss_oscillation(history))
        probe("trained")
        metrics.update(probed["metrics"])
        row = self._ok_row(spec, data, "keras")
        row.update(epochs=len(losses), steps=len(losses) * steps_per_epoch,
                   train_seconds=train_seconds, params=params)
        return row, metrics, history, probed["series"], probed["arrays"]

    def _run_estimator(self, spec: RunSpec, data) -> tuple[dict, dict, dict, dict, dict]:
        """A scikit-learn baseline: fit on the same training subset, score on the same test split.

        Inputs are flattened (images to pixel vectors). The validation split
        is not used: the baselines run with their library defaults. Metrics
        have the Keras runs' names: test/accuracy, test/loss (the
        cross-entropy in nats, like Keras's), and the baseline and skill.
        """
        from sklearn.metrics import log_loss

        from suite.models import build_model

        task = spec.task
        if task.objective != "classification":
            raise ValueError(f"scikit-learn baselines support the 'classification' objective only. "
                             f"Received: objective={task.objective!r} for task {task.name!r}")
        x, y = subsample(data, spec.n_train, spec.seed)
        hparams = dict(spec.hparams)
        if task.arch == "knn":  # k cannot exceed the training set
            hparams["n_neighbors"] = min(hparams.get("n_neighbors", 5), len(y))
        estimator = build_model(task.arch, data.input_shape, data.num_outputs, seed=spec.seed, **hparams)
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
        metrics.update(baseline_metrics(OBJECTIVES[task.objective].baseline, y, data.y_test, metrics))
        metrics.update(score_extra_tests(data.extra_tests, score))
        row = self._ok_row(spec, data, "sklearn")
        row.update(train_seconds=train_seconds)
        return row, metrics, {}, {}, {}

    def _ok_row(self, spec: RunSpec, data, framework: str) -> dict:
        """A finished run's record. The input shape (figures plot against
        length) and the framework (the report draws baselines as reference
        lines) go with the record, not into the run key: they follow from
        the dataset and the architecture."""
        row = self._row(spec, "ok", None)
        row["config_json"] = json.dumps({**spec.config, "input_shape": list(data.input_shape),
                                         "framework": framework}, default=str)
        return row

    def _row(self, spec: RunSpec, status: str, error: str | None) -> dict:
        return run_row(spec, status, error, self.backend, self.device, self.versions)

    def failed_row(self, spec: RunSpec, exc: BaseException) -> dict:
        """A failed run's record; the error is its last line (the traceback's gist)."""
        message = f"{type(exc).__name__}: {exc}".strip().splitlines()
        row = self._row(spec, "failed", message[-1] if message else type(exc).__name__)
        row["config_json"] = json.dumps({**spec.config, "traceback": traceback.format_exc(limit=3)}, default=str)
        # A failed step (e.g. out of memory) can leave the compiled model unusable.
        self._key = self._model = None
        self.keras.backend.clear_session()
        return row


def run_row(spec: RunSpec, status: str, error: str | None, backend: str, device: str, versions: dict) -> dict:
    """The database row of one run (metrics and history are stored beside it)."""
    t = spec.task
    return {
        "run_key": spec.key, "study": t.study, "task": t.name, "arch": t.arch, "setting": t.setting,
        "dataset": t.dataset, "variant": t.variant, "matched": int(t.matched), "bias": t.bias,
        "profile": spec.profile, "n_train": spec.n_train, "seed": spec.seed,
        "status": status, "error": error, "backend": backend, "device": device,
        "versions_json": json.dumps(versions), "config_json": json.dumps(spec.config, default=str),
        "finished_at": time.time(),
    }


def model_group(spec: RunSpec) -> tuple:
    """Runs with the same group share one compiled model."""
    return (spec.task.dataset, spec.task.arch, json.dumps(spec.hparams, sort_keys=True))


def execution_order(runs: Iterable[RunSpec]) -> list[RunSpec]:
    """Groups runs that share a compiled model, so each is built once."""
    return sorted(runs, key=lambda r: (*model_group(r), r.task.study, r.task.variant, r.n_train, r.seed))


def default_workers(device: str) -> int:
    """One process per core on a CPU (measured faster: see bench/); one on a GPU."""
    if not device.startswith("CPU"):
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def _run_or_fail(trainer: Trainer, spec: RunSpec, data_dir):
    try:
        return trainer.run(spec, data_dir)
    except Exception as exc:  # recorded and reported; the suite goes on
        return trainer.failed_row(spec, exc), {}, {}, {}, {}


_WORKER: dict = {}


def _worker_init(backend: str, device: str, threads: int, task_modules: tuple):
    """Runs in each spawned worker before any import of Keras.

    A spawned process starts empty: it registers the same studies (and the
    architectures or datasets a user's task module adds) as the parent.
    """
    os.environ["KERAS_BACKEND"] = backend
    # One core per worker: the workers, not the threads, share the machine.
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)  # scikit-learn's OpenMP (gradient boosting)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                               f" --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    _WORKER["device"] = device
    _exit_with_parent()
    from suite.registry import load_builtin_studies, load_task_module

    load_builtin_studies()
    for path in task_modules:
        load_task_module(path)


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


def _worker_run(spec: RunSpec, data_dir):
    if "trainer" not in _WORKER:
        _WORKER["trainer"] = Trainer(_WORKER["device"])
    return _run_or_fail(_WORKER["trainer"], spec, data_dir)


def _results_in_process(runs, data_dir, device):
    trainer = Trainer(device)
    for spec in runs:
        yield spec, _run_or_fail(trainer, spec, data_dir)


class _GroupQueue:
    """Pending runs by model group, handed out so each worker stays on one group.

    A worker keeps the group it has (its compiled model is cached); when that
    is empty it takes the largest group no other worker is on, and only then
    shares (from the far end of) a group another worker is on.
    """

    def __init__(self, runs):
        self.groups: dict = {}
        for spec in runs:
            self.groups.setdefault(model_group(spec), []).append(spec)

    def take(self, current, busy):
        if self.groups.get(current):
            return current, self.groups[current].pop(0)
        free = [g for g, v in self.groups.items() if v and g not in busy]
        shared = [g for g, v in self.groups.items() if v]
        if not (free or shared):
            return current, None
        group = max(free or shared, key=lambda g: len(self.groups[g]))
        return group, (self.groups[group].pop(0) if free else self.groups[group].pop())


def _results_from_workers(runs, data_dir, device, workers, task_modules):
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
    initargs = (keras.backend.backend(), device, 1, tuple(str(p) for p in task_modules))

    def new_worker():
        return cf.ProcessPoolExecutor(1, mp_context=context, initializer=_worker_init, initargs=initargs)

    queue = _GroupQueue(runs)
    pool = [new_worker() for _ in range(min(workers, len(runs)))]
    groups = [None] * len(pool)
    in_flight = {}  # future -> (worker index, spec)

    def submit(i):
        busy = {g for j, g in enumerate(groups) if j != i}
        groups[i], spec = queue.take(groups[i], busy)
        if spec is not None:
            in_flight[pool[i].submit(_worker_run, spec, data_dir)] = (i, spec)

    try:
        for i in range(len(pool)):
            submit(i)
        while in_flight:
            done, _ = cf.wait(in_flight, return_when=cf.FIRST_COMPLETED)
            for future in done:
                i, spec = in_flight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    error = "worker process died during this run (out of memory, or a crash in native code)"
                    result = (run_row(spec, "failed", error, keras.backend.backend(), device,
                                      library_versions()), {}, {}, {}, {})
                    pool[i].shutdown(wait=False)
                    pool[i], groups[i] = new_worker(), None
                yield spec, result
                submit(i)
    finally:
        for worker in pool:
            # shutdown() forgets the processes, so take them first; then stop
            # them: an interrupted suite stops now, not after the runs in flight
            processes = list((worker._processes or {}).values())
            worker.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()


def run_plan(runs: list[RunSpec], store, data_dir=None, progress=True, workers=None,
             task_modules=()) -> dict:
    """Runs every pending run, committing each as it finishes. Returns counts.

    Args:
      workers: processes that train in parallel; None picks `default_workers`.
        With 1, runs train in this process.
      task_modules: the user's task modules, loaded again in each worker.
    """
    from tqdm.auto import tqdm

    device = configure_device()
    workers = default_workers(device) if workers is None else workers
    runs = execution_order(runs)
    counts = {"ok": 0, "failed": 0, "device": device, "workers": workers}
    bar = tqdm(total=len(runs), unit="run", disable=not progress, dynamic_ncols=True,
               file=sys.stderr, mininterval=0.5)
    results = (_results_from_workers(runs, data_dir, device, workers, task_modules)
               if workers > 1 and len(runs) > 1
               else _results_in_process(runs, data_dir, device))
    try:
        for spec, (row, metrics, history, series, arrays) in results:
            store.record_run(row, metrics, history, series, arrays)
            counts[row["status"]] += 1
            if row["status"] == "failed":
                bar.write(f"failed: {spec.task.name} n={spec.n_train} seed={spec.seed}: {row['error']}")
            bar.set_postfix_str(f"{spec.task.name} n={spec.n_train} seed={spec.seed}", refresh=False)
            bar.update(1)
    finally:
        results.close()
        bar.close()
    return counts

"""What a run means once it has trained: one `RunResult`, made the same way whoever trained it.

Both Keras trainers (one run at a time, `suite.training.trainer`; a
population of runs together, `suite.training.population`) and the
scikit-learn path measure a run and hand what they measured (`Measured`) to
`finish_run`, which alone turns it into the stored metrics and record: the
test scores and the trivial baseline's, the extra test sets, the final
training values, oscillation, convergence, and the divergence rule. A run
that could not be trained at all becomes a `failed_result`, the one shape of
a failed run's record, whether it raised, diverged, killed its worker
process or was lost by Ray.
"""

from __future__ import annotations

import dataclasses
import json
import time
import traceback

import numpy as np

from suite.metrics import higher_is_better
from suite.selection import EXTENSION, HALTED, SCORE
from suite.store.schema import RunRecord, RunResult
from suite.training.objectives import (OBJECTIVES, baseline_metrics, convergence_metrics, loss_oscillation,
                                       metric_convergence, validation_score)
from suite.training.plan import RunSpec


@dataclasses.dataclass
class Measured:
    """What a trainer measured of one run, before it means anything.

    Args:
      history: name -> one value per validation check ("loss", "val_loss", ...).
      y_train: the labels or targets the run trained on (the trivial baseline is fitted on them).
      test: metric -> value on the test split (None: the objective has no test split).
      extra: extra test set name -> {metric: value} (`score_sets`).
      stopped_early: early stopping ended the run.
      params, flops, step_ms: the model's size, forward FLOPs and median time per optimizer step
        (None where not measured: scikit-learn estimators).
      train_seconds, epochs, steps: the training time, the validation checks done and the optimizer
        steps they span.
      halted_at: the check after which successive halving stopped the run's learning rate (a tuning
        run, `suite.training.halving`); None where it did not.
    """

    history: dict
    y_train: np.ndarray
    test: dict | None = None
    extra: dict = dataclasses.field(default_factory=dict)
    stopped_early: bool = False
    params: int | None = None
    flops: int | None = None
    step_ms: float | None = None
    train_seconds: float | None = None
    epochs: int | None = None
    steps: int | None = None
    halted_at: int | None = None


def divergence(history: dict) -> str | None:
    """How a run's training loss left the finite numbers ("loss became nan at check 3"), else None."""
    losses = np.asarray(history.get("loss", []), dtype=float)
    if not losses.size or np.all(np.isfinite(losses)):
        return None
    first = int(np.argmax(~np.isfinite(losses)))
    return f"loss became {losses[first]} at check {first + 1}"


def finish_run(result: RunResult, spec: RunSpec, data, measured: Measured) -> RunResult:
    """The run's metrics and record from what its trainer measured; `result` already holds the
    record of an ok run and the probes' measurements at initialisation.

    The divergence rule, the same on every path: a run whose training loss
    became non-finite is a failed run, except a learning-rate tuning run, for
    which diverging is the result (its rate is too high): it is kept with
    `train/diverged` = 1, a best validation loss of +inf and a `val/score`
    of -inf, so that its rate is never chosen.

    Every run with a validation split records `val/score`, the validation
    value of the metric its claims read at the weights it ends with
    (`validation_score`: what learning rates are chosen on); a tuning run
    also records `tune/extension`, the round of the grid's extension that
    added its rate (`suite.selection`), and `tune/halted_at`, the check after
    which successive halving stopped its rate, where it did
    (`suite.training.halving`).
    """
    objective = OBJECTIVES[spec.task.objective]
    diverged = divergence(measured.history)
    if diverged and spec.kind != "tune":
        return failed_result(spec, f"FloatingPointError: {diverged}", result.record.backend, result.record.device,
                             json.loads(result.record.versions_json))
    metrics = {}
    if measured.params is not None:
        metrics["model/params"] = float(measured.params)
    if measured.step_ms is not None:
        metrics["train/step_ms"] = measured.step_ms
    if measured.flops is not None:
        metrics["model/flops"] = float(measured.flops)
    if measured.test is not None:
        metrics.update({f"test/{k}": float(v) for k, v in measured.test.items()})
        metrics.update(baseline_metrics(objective.baseline, measured.y_train, data.y_test, metrics))
        # 1: the source's test set, the same for every seed; 0: drawn with the run's seed (suite.data.core)
        metrics["test/canonical_split"] = float(data.canonical_test)
        for name, scores in measured.extra.items():
            metrics.update({f"test_{name}/{k}": float(v) for k, v in scores.items()})
    history = measured.history
    metrics.update({f"train/final_{k}": float(v[-1]) for k, v in history.items() if not k.startswith("val_") and len(v)})
    if objective.oscillation:
        metrics.update(loss_oscillation(history))
    metrics.update(convergence_metrics(history, objective.monitor, stopped_early=measured.stopped_early))
    metrics.update(validation_score(history, objective))
    if spec.kind == "tune":
        metrics[EXTENSION] = float(spec.extension)
        if measured.halted_at is not None:
            metrics[HALTED] = float(measured.halted_at)
    metrics.update(metric_convergence(history, spec.task.metric, objective.monitor, len(data.y_val),
                                      stopped_early=measured.stopped_early))
    if diverged:  # a tuning run: kept, and its rate never chosen
        metrics.update({"train/diverged": 1.0, "val/best_loss": float("inf"), SCORE: float("-inf")})
    result.metrics = {**result.metrics, **metrics}  # the probes' init/ metrics first, as they were measured
    result.history = history
    record = result.record
    record.epochs, record.steps = measured.epochs, measured.steps
    record.train_seconds, record.params = measured.train_seconds, measured.params
    record.finished_at = time.time()
    return result


def score_sets(extra_tests: dict, score) -> dict:
    """name -> `score(x, y)` for each of a dataset's extra test sets; a set listed under two names
    (e.g. "far" is the largest shift) is scored once."""
    scored, out = {}, {}
    for name, (x, y) in extra_tests.items():
        if id(x) not in scored:
            scored[id(x)] = score(x, y)
        out[name] = scored[id(x)]
    return out


def run_probes(result: RunResult, probes, when: str, model, objective, data, x, y, seed: int,
               snapshots=None) -> None:
    """Runs each probe on `model` and files what it measured in `result`: curves as series
    `<name>/<when>`, numbers as metrics `<when>/<name>`, arrays as `<name>/<when>`. A probe whose
    function takes `seed` gets the run's (e.g. to draw its labelled examples anew per seed); one that
    takes `snapshots` gets the run's copies of the model during training (`suite.probes.core.snapshot_checks`;
    None at initialisation)."""
    import inspect

    from suite.probes import PROBES

    for name in probes:
        fn = PROBES[name]
        takes = inspect.signature(fn).parameters
        measured = fn(model, objective, data, x, y, **({"seed": seed} if "seed" in takes else {}),
                      **({"snapshots": snapshots} if "snapshots" in takes else {}))
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


def failed_result(spec: RunSpec, error: str, backend: str, device: str, versions: dict,
                  exc: BaseException | None = None) -> RunResult:
    """A failed run's result: its record with `error` (one line) and, for an exception, the end of
    its traceback beside the configuration."""
    record = run_record(spec, "failed", error, backend, device, versions)
    if exc is not None:
        record.config_json = json.dumps({**spec.config, "traceback": "".join(traceback.format_exception(
            type(exc), exc, exc.__traceback__, limit=3))}, default=str)
    return RunResult(record)


def lost_unit(unit, error: str, backend: str, device: str) -> list[RunResult]:
    """The failed results of every run of a unit lost as a whole (its worker process died, or Ray
    gave up on it)."""
    from suite.training.devices import library_versions

    versions = library_versions()
    return [failed_result(spec, error, backend, device, versions) for spec in unit]


def exception_message(exc: BaseException) -> str:
    """An exception as one line: its type and the last line of its message."""
    lines = f"{type(exc).__name__}: {exc}".strip().splitlines()
    return lines[-1] if lines else type(exc).__name__

"""Objectives: what a task's model minimises, what its test metric is, and its trivial baseline.

An objective is registered under a name (`Task.objective`) and says, by its
fields, how the trainer treats it: which loss and metrics to compile, what
early stopping watches, whether there is a test set to score
(`train_only`), which trivial predictor it is compared with, whether its
losses are checked for oscillation, and whether scikit-learn classifiers
can be trained on it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from suite.registry import Registry


@dataclasses.dataclass(frozen=True)
class Objective:
    """Loss and metrics of a task type; `evaluate` keys become test/<key>.

    `baseline` names the trivial predictor the test metric is also computed
    for ("mean": the training targets' mean; "majority": the commonest
    training label, per label position), giving test/baseline_<metric> and
    test/skill (0 = no better than the baseline, 1 = perfect). A
    `train_only` objective (timing, generative models) trains for the budget
    and evaluates nothing on a test split; a `heldout` one (the VAE, the
    diffusion model) is still evaluated on the validation split through its
    own loss at every check (`val_loss`, no early stopping): a held-out
    criterion its learning rate is chosen on. `selection`: the validation
    history entry that says how well a run did on the metric its claims read
    (`val_accuracy` for classifiers, the loss otherwise), recorded at the
    weights the run ends with as `val/score` (`validation_score`).
    `oscillation`: record how much each loss still swings late in training
    (`train/oscillation_<loss>`: two players that chase each other).
    `estimators`: scikit-learn classifiers can be trained and scored on it
    (one class label per example). `alone`: each run's own timing is the
    measurement, so its runs never train together with others
    (`suite.training.population`).
    """

    loss: str | None
    metrics: tuple
    monitor: str = "val_loss"
    baseline: str | None = None
    train_only: bool = False
    heldout: bool = False
    selection: str = "val_loss"
    oscillation: bool = False
    estimators: bool = False
    alone: bool = False

    @property
    def validates(self) -> bool:
        """Whether the validation split is evaluated at every check (early stopping, or a held-out loss)."""
        return not self.train_only or self.heldout

    def make_loss(self):
        """The Keras loss (None: the model computes its own, `compute_loss`)."""
        return make_loss(self.loss)

    def make_metrics(self) -> list:
        return [make_metric(m) for m in self.metrics]

    def example_loss(self):
        """`fn(y_true, y_pred) -> (batch,)`: the loss of each example (its mean is `make_loss`'s value)."""
        return make_loss(self.loss, reduction=None)

    def example_metrics(self) -> dict:
        """Reported name -> `fn(y_true, y_pred) -> (batch,)`, each example's value of each metric."""
        return {reported_name(m): example_metric(m) for m in self.metrics}


OBJECTIVES: Registry[Objective] = Registry("objective")


def register_objective(name: str, objective: Objective) -> Objective:
    return OBJECTIVES.register(name, objective)


register_objective("classification", Objective(loss="sparse_categorical_crossentropy_logits",
                                               metrics=("accuracy",), baseline="majority", estimators=True,
                                               selection="val_accuracy"))
# test/loss is the mean squared error (test/skill is computed from it); test/mae beside it
register_objective("regression", Objective(loss="mse", metrics=("mae",), baseline="mean"))
# several labels per example (copy memory): logits (B, labels * classes); the symbol accuracy is "accuracy"
register_objective("symbols", Objective(loss="symbols_crossentropy", metrics=("symbol_accuracy",),
                                        baseline="majority", selection="val_accuracy"))
# the sequential bottleneck: training-step time only
register_objective("step_time", Objective(loss="mse", metrics=(), monitor="loss", train_only=True, alone=True))
# self-supervised and generative models (suite.architectures.generative): the
# model computes its own loss; what it learned is measured by its probes
register_objective("generate", Objective(loss=None, metrics=(), monitor="loss", train_only=True, oscillation=True))
# ... and those whose own loss is a held-out criterion (the VAE's negative ELBO, the diffusion model's
# denoising loss, drawn on fixed noise in evaluation): evaluated on the validation split at every check, so
# that their learning rate can be chosen on it; still no early stopping (the budget is the run)
register_objective("generate_heldout", Objective(loss=None, metrics=(), monitor="loss", train_only=True,
                                                 heldout=True, oscillation=True))


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


def loss_table() -> dict:
    """Our loss names -> `make(reduction)` of that loss: a Keras loss class at that reduction (None: one
    value per example), or a function of ours that gives one value per example (`compile` averages it).
    Any other name is a Keras loss by name (`keras.losses.get`, e.g. "huber")."""
    import keras

    return {
        "sparse_categorical_crossentropy_logits":
            lambda reduction: keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction),
        "mse": lambda reduction: keras.losses.MeanSquaredError(reduction=reduction),
        "symbols_crossentropy": lambda reduction: symbols_crossentropy,
    }


def make_loss(name: str | None, reduction: str | None = "sum_over_batch_size"):
    """The Keras loss `name` (None: the model computes its own, `compute_loss`); with reduction=None, the
    same loss per example, `fn(y_true, y_pred) -> (batch,)`, in `keras.ops` (any backend, traceable).
    A loss function (Keras's by name, such as "huber", or ours) is per example as it is."""
    import keras

    if name is None:
        return None
    table = loss_table()
    if name in table:
        return table[name](reduction)
    loss = keras.losses.get(name)
    if isinstance(loss, keras.losses.Loss):  # a class name ("Huber"): the same loss at this reduction
        return type(loss).from_config({**loss.get_config(), "reduction": reduction})
    return loss


def example_metric(name: str):
    """Per-example metric values, in `keras.ops`: what the compiled metric `name` averages."""
    import keras

    return {"accuracy": keras.metrics.sparse_categorical_accuracy,
            "mae": keras.losses.mean_absolute_error,
            "symbol_accuracy": symbol_accuracy}[name]


def reported_name(metric: str) -> str:
    """The name a metric is stored under (test/<name>): copy memory's symbol accuracy is "accuracy"."""
    return "accuracy" if metric == "symbol_accuracy" else metric


def make_metric(name: str):
    import keras

    if name == "symbol_accuracy":  # reported as "accuracy", like one-label classification
        return keras.metrics.MeanMetricWrapper(symbol_accuracy, name="accuracy")
    return name


def baseline_metrics(kind: str | None, y_train, y_test, metrics: dict) -> dict:
    """The trivial predictor's test metric and the model's skill over it (and, for labels, the test
    split's size). The predictors are scikit-learn's: "mean" is `DummyRegressor(strategy="mean")`,
    "majority" `DummyClassifier(strategy="most_frequent")` per label position (ties: the smallest label)."""
    if kind not in ("mean", "majority"):
        return {}
    from sklearn.dummy import DummyClassifier, DummyRegressor

    def trivial(predictor, targets):  # the dummies read only the number of rows of their inputs
        predictor.fit(np.zeros((len(targets), 1)), targets)
        return predictor.predict(np.zeros((len(y_test), 1)))

    if kind == "mean":
        predicted = trivial(DummyRegressor(strategy="mean"), y_train.reshape(len(y_train), -1)).reshape(y_test.shape)
        base = float(np.mean((y_test - predicted) ** 2))
        return {"test/baseline_loss": base, "test/skill": 1.0 - metrics["test/loss"] / base}
    labels = y_test.reshape(len(y_test), -1)
    predicted = trivial(DummyClassifier(strategy="most_frequent"), y_train.reshape(len(y_train), -1))
    base = float(np.mean(labels == predicted.reshape(labels.shape)))
    # the test split's size: an accuracy moves in steps of 1 / examples (suite.decidable.undecidable)
    return {"test/baseline_accuracy": base, "test/examples": float(len(y_test)),
            "test/skill": (metrics["test/accuracy"] - base) / max(1e-12, 1.0 - base)}


def loss_oscillation(history: dict) -> dict:
    """`train/oscillation_<loss>`: how much each training loss still swings in the second half of training.

    Over the second half of its per-epoch values (one per `eval_every`
    steps), the standard deviation of what is left after a straight line is
    fitted and taken away (`scipy.signal.detrend`: a loss that still falls steadily does not swing),
    divided by their mean absolute value: 0 for a loss that has settled or
    moves in a straight line, large for one that swings (two players that
    chase each other). `train/oscillation_generator` is the generator's loss
    (`g_loss`) where there are two players, else the one loss minimised: the
    loss whose swings the lesson's "oscillation" is about. Left out with
    fewer than 4 values in that half.

    `train/cycling_<loss>` (and `train/cycling_generator`): whether the
    second half swings with a period, as two players that chase each other in
    a cycle would, rather than as noise or drift: Fisher's g (Fisher 1929),
    the largest ordinate of the periodogram over their sum, of what is left
    after a quadratic is fitted and taken away, over the frequencies of at
    least two cycles in the window (zero and one cycle left out: a loss that
    rises and levels off is drift, not a cycle). 1 for a pure sine, about
    (1 + 1/2 + ... + 1/m) / m for white noise over m frequencies (0.19 at
    m = 19, 0.11 at m = 39). Left out with fewer than `CYCLING_VALUES` values in the second
    half: a spectrum needs them.
    """
    from scipy.signal import detrend, periodogram

    out = {}
    for name, values in history.items():
        tail = np.asarray(values, dtype=float)[len(values) // 2:]
        if len(tail) >= 4 and np.all(np.isfinite(tail)):
            residual = detrend(tail, type="linear")
            out[f"train/oscillation_{name}"] = float(residual.std() / (np.abs(tail).mean() + 1e-12))
            if len(tail) >= CYCLING_VALUES:
                steps = np.arange(len(tail))
                curved = tail - np.polyval(np.polyfit(steps, tail, 2), steps)
                power = periodogram(curved, detrend=False)[1][2:]  # two cycles in the window and more
                out[f"train/cycling_{name}"] = float(power.max() / power.sum()) if power.sum() > 0 else 0.0
    generator = "g_loss" if "g_loss" in history else "loss"
    for measure in ("oscillation", "cycling"):
        if f"train/{measure}_{generator}" in out:
            out[f"train/{measure}_generator"] = out[f"train/{measure}_{generator}"]
    return out


CYCLING_VALUES = 16  # values in the second half of training that `train/cycling_*` needs (8 frequencies)


def convergence_metrics(history: dict, monitor: str, stopped_early: bool) -> dict:
    """How a run ended, for the verdicts' "under-trained" qualifier (the same rule on both trainers).

    `train/stopped_early`: 1 if early stopping ended it (its monitored loss
    had stopped improving: a plateau), else 0. `train/still_improving`: 1 if
    it used its whole step budget and its monitored loss (`monitor`, the
    validation loss; the training loss for objectives without validation)
    was at its best in one of its last two checks: more steps would
    probably have moved it. Left out with fewer than 3 checks.
    `val/best_loss`: the lowest validation loss (+inf if it never was finite).
    """
    out = {}
    validation = np.asarray(history.get(monitor) or [], dtype=float) if monitor.startswith("val_") else ()
    if len(validation):  # the weights early stopping restores; learning rates are chosen on it (tuning)
        out["val/best_loss"] = float(np.nanmin(validation)) if np.isfinite(validation).any() else float("inf")
    values = np.asarray(history.get(monitor) or history.get("loss") or [], dtype=float)
    if len(values) < 3 or not np.all(np.isfinite(values)):
        return out
    improving = not stopped_early and int(np.argmin(values)) >= len(values) - 2
    return {**out, "train/stopped_early": float(stopped_early), "train/still_improving": float(improving)}


def validation_score(history: dict, objective: Objective) -> dict:
    """`val/score`: the run's validation value of `objective.selection` (the metric its claims read) at
    the weights it ends with, oriented so that higher is better (negated where a lower value is better,
    `suite.metrics`): at the check early stopping restores (the first lowest `objective.monitor`, as
    Keras's `EarlyStopping` and the population trainer keep it) for an objective that stops early, at
    the last check for one that trains for its whole budget (`heldout`). -inf where that value (or
    every monitored one) is not finite; nothing for an objective without a validation split."""
    from suite.metrics import higher_is_better
    from suite.selection import SCORE

    if not objective.validates:
        return {}
    values = np.asarray(history.get(objective.selection) or [], dtype=float)
    if not len(values):
        return {}
    if objective.train_only:
        index = len(values) - 1
    else:
        watched = np.asarray(history.get(objective.monitor) or [], dtype=float)
        if not np.isfinite(watched).any():
            return {SCORE: float("-inf")}
        index = int(np.nanargmin(np.where(np.isfinite(watched), watched, np.nan)))
    value = values[index] if index < len(values) else np.nan
    if not np.isfinite(value):
        return {SCORE: float("-inf")}
    sign = 1.0 if higher_is_better(objective.selection.replace("val_", "val/", 1)) else -1.0
    return {SCORE: sign * float(value)}


IMPROVING = "train/improving_on_metric"  # 1: the task's metric still rose on validation when the budget ended
LATE_GAIN = "train/late_gain"  # how much it rose in the last two checks (in the metric's units, better > 0)


def metric_convergence(history: dict, metric: str, monitor: str, examples: int, stopped_early: bool) -> dict:
    """Whether a run was still improving on the metric its claims read when its step budget ended.

    The validation series of the task's metric (`val_accuracy` for an
    accuracy, else the monitored validation loss, from which a skill or an
    error is computed): `train/late_gain` is how much the best of its last
    two checks beats the best before them (oriented: better is positive);
    `train/improving_on_metric` is 1 where the run used its whole budget and
    that gain exceeds what noise alone moves: one validation example for an
    accuracy (1 / `examples`), 1% of the earlier best for a loss. A loss that
    still creeps down while the accuracy is flat is not an under-trained
    model of an accuracy claim. Objectives without validation use their
    training loss. Left out with fewer than 3 checks or non-finite values.
    """
    accuracy = metric.rsplit("/", 1)[-1] == "accuracy"
    key = "val_accuracy" if accuracy and "val_accuracy" in history else monitor
    values = np.asarray(history.get(key) or history.get("loss") or [], dtype=float)
    if len(values) < 3 or not np.all(np.isfinite(values)):
        return {}
    oriented = values if key == "val_accuracy" else -values  # higher is better from here on
    before, late = oriented[:-2].max(), oriented[-2:].max()
    gain = float(late - before)
    tolerance = 1.0 / max(1, examples) if key == "val_accuracy" else 0.01 * abs(before)
    return {LATE_GAIN: gain, IMPROVING: float(not stopped_early and gain > tolerance + 1e-12)}  # float round-off

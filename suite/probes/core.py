"""Probes: measurements of a model itself, taken at initialisation and after training.

A task lists probes by name (`Task.probes`); the trainer calls each one
twice on the same model, once freshly initialised and once trained, and
stores what it returns (`Measured`): curves in the `series` table (named
`<name>/<when>`), numbers as metrics (`<when>/<name>`, so they sit beside
`test/accuracy` and claims can compare them) and small arrays, such as
filters and image patches, in the `arrays` table (`<name>/<when>`).
Whatever the report needs to draw a probe's results (reference values,
the true modes of a mixture) is stored with them: the report reads the
database alone.

A probe is `fn(model, objective, data, x_train, y_train) -> Measured`,
registered with `@register_probe("name")`.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from suite.registry import Registry

@dataclasses.dataclass
class Measured:
    """What one probe measured on one model.

    Args:
      series: name -> (x values, measured values), e.g. a norm per time step.
      metrics: name -> one number.
      arrays: name -> a small NumPy array (filters, patches) for the report.
    """

    series: dict = dataclasses.field(default_factory=dict)
    metrics: dict = dataclasses.field(default_factory=dict)
    arrays: dict = dataclasses.field(default_factory=dict)


PROBES: Registry = Registry("probe")


PROBE_VERSIONS: dict[str, int] = {}
PROBE_SNAPSHOTS: dict[str, int] = {}  # probe -> how many snapshots of the training trajectory it reads


def register_probe(name: str, version: int = 1, snapshots: int = 0):
    """Decorator: registers `fn(model, objective, data, x_train, y_train) -> Measured` under `name`.

    `version` is raised when what the probe measures changes, so that runs
    stored with the old probe are not reused (it enters the run key).
    `snapshots` > 0: the probe also reads the model as it was during
    training; both trainers keep that many copies of its variables over the
    second half of the run (`snapshot_checks`) and pass them, after
    training, as `snapshots=` (a list of `(steps, state)`: the optimizer
    steps done when it was copied, and `state` for `assign_state`; none at
    initialisation). A run that early stopping ends has the copies it
    reached, the weights it keeps (its best) perhaps among none of them.
    """
    PROBE_VERSIONS[name] = version
    if snapshots:
        PROBE_SNAPSHOTS[name] = snapshots
    return PROBES.decorator(name)


def snapshot_checks(probes, checks: int) -> set[int]:
    """The validation checks (0-based) after which the trainers copy a run's variables for `probes`:
    evenly spaced over the second half of the run's planned `checks` (the per-run trainer's checks are
    passes over the repeated subset, the population trainer's every `eval_every` steps: the copies carry
    their step), the last check among them, as many as the most any of the probes asks for (fewer where
    the half has fewer checks); none if no probe asks.
    The second half: what a model still does once it has had time to learn, not how it got there."""
    count = max((PROBE_SNAPSHOTS.get(name, 0) for name in probes), default=0)
    if not count:
        return set()
    first = checks // 2
    return {int(c) for c in np.round(np.linspace(first, checks - 1, min(count, checks - first)))}


def assign_state(model, state) -> None:
    """Puts a snapshot's `state` (the values of `model.trainable_variables`, then of
    `model.non_trainable_variables`) into `model`."""
    trainable, non_trainable = state
    for variable, value in zip(model.trainable_variables, trainable):
        variable.assign(value)
    for variable, value in zip(model.non_trainable_variables, non_trainable):
        variable.assign(value)


def model_state(model):
    """A copy of `model`'s variables as `assign_state` takes them back."""
    from keras import ops

    return ([ops.convert_to_numpy(v) for v in model.trainable_variables],
            [ops.convert_to_numpy(v) for v in model.non_trainable_variables])


def probe_key(name: str) -> str:
    """A probe's name in run keys: `name`, or `name@version` from version 2 on."""
    version = PROBE_VERSIONS.get(name, 1)
    return name if version == 1 else f"{name}@{version}"


def dataset_fingerprint(data) -> tuple:
    """A key for per-dataset caches: the name and a hash of the pool's and test split's contents.

    Variants of one dataset share its name; the contents tell them apart
    (an object's id could be reused once it is freed).
    """
    digest = hashlib.sha1()
    for array in (data.x_pool, data.y_pool, data.x_test):
        digest.update(np.ascontiguousarray(array).tobytes())
    return data.name, digest.hexdigest()


def batched(model, x, batch: int = 500) -> list[np.ndarray]:
    """A model's outputs on `x` (a list, one array per output), called directly in batches.

    Not `predict`: probes build a new small model per call, and `predict`
    traces a new function for each (TensorFlow then warns about retracing).
    """
    from keras import ops

    parts = []
    for i in range(0, len(x), batch):
        out = model(x[i:i + batch], training=False)
        parts.append([ops.convert_to_numpy(o) for o in (out if isinstance(out, (list, tuple)) else [out])])
    return [np.concatenate(column) for column in zip(*parts)]




PROBE_CS = (0.01, 0.1, 1.0, 10.0, 100.0)  # the inverse regularisation strengths a probe may choose from


def probe_accuracy(train, y_train, test, y_test, scale: str = "feature", validation=None) -> float:
    """Test accuracy of a linear probe: logistic regression (L2, C=1) on centred, scaled features.

    With `validation` = (x_val, y_val), C is chosen from `PROBE_CS` by accuracy on
    that split (ties: the stronger regularisation), so a probe on 784 pixels and
    one on an 8-wide code each get the regularisation that suits it.

    `scale="feature"` divides each feature by its own standard deviation;
    `scale="global"` divides all of them by one number (their overall
    standard deviation), which keeps their relative scales: then a rotation
    of the features (PCA with all components) gives the same probe as the
    features themselves, where per-feature scaling would whiten it and blow
    up its low-variance, noisy directions.
    """
    from sklearn.linear_model import LogisticRegression

    train, test = np.asarray(train, dtype=np.float64), np.asarray(test, dtype=np.float64)
    mean = train.mean(axis=0)
    centred = train - mean
    spread = centred.std(axis=0) if scale == "feature" else np.full(train.shape[1], np.sqrt((centred ** 2).mean()))
    spread = np.where(spread > 0, spread, 1.0)
    scaled = lambda x: (np.asarray(x, dtype=np.float64) - mean) / spread  # noqa: E731  the training set's scaling
    fit = lambda c: LogisticRegression(C=c, max_iter=1000).fit(centred / spread, y_train)  # noqa: E731
    if validation is None:
        return float(fit(1.0).score(scaled(test), y_test))
    x_val, y_val = validation
    probes = [fit(c) for c in PROBE_CS]
    best = max(range(len(probes)), key=lambda i: (probes[i].score(scaled(x_val), y_val), -i))
    return float(probes[best].score(scaled(test), y_test))



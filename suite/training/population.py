"""Population training: the runs of one task (its sizes x seeds) trained together in one compiled program.

On the JAX backend, the K members' variables (trainable, non-trainable,
optimizer) are stacked on a leading axis and one optimizer step of all of
them is `jax.vmap` over `model.stateless_call` -> `jax.value_and_grad` ->
`optimizer.stateless_apply`; the steps between two validation checks are
fused with `jax.lax.scan` into one `jax.jit` program whose state buffers
are donated. A small model's step is mostly dispatch, so K members cost
little more than one (see bench/README.md for the figures).

What each member keeps of its own, so that it is an ordinary run:

- its initialisation: a model built under its seed, as the per-run trainer builds it;
- its data split (`load_variant(..., seed)`: its seed's training pool,
  validation and test splits; members of one seed share them, the program
  holds each split once and gives each member the index of its own);
- its training subset (`subsample_indices(size, seed)`) and its batch order: a
  seeded stream of reshuffled passes over its subset, cut into batches of the
  budget's size (a subset smaller than a batch repeats within it), so every
  member takes the same number of examples per step whatever its size;
- its early stopping: every `eval_every` steps all members are validated on
  its validation split; a member's best weights (lowest validation
  loss) are kept, and once `patience` checks pass without improvement it
  stops: a mask freezes its variables and optimizer state from then on. At
  the end every member gets its best weights back (as Keras's EarlyStopping
  with `restore_best_weights=True` does);
- in a tuning population (a learning-rate grid x its tuning seeds), the
  rates clearly behind at a rung stop through the same mask
  (`suite.training.halving`); vectorised on a CPU, once at most half of them
  still train, the others leave the stacked state (an evaluation population
  keeps its shape, and its results to the last bit);
- its test scores, baseline and skill, extra test sets, probes and history.

Self-supervised and generative models (objective `generate`) train the
same way: their `call` returns their losses, and the step minimises "loss"
(the GAN's two players each get the gradient of their own loss from it, see
`suite.architectures.generative`); the parts are logged per check, and
there is no early stopping, as on the per-run path. Those whose own loss is
a held-out criterion (`Objective.heldout`: the VAE, the diffusion model)
are evaluated on the validation split through it at every check, as `fit`
evaluates them (`val_loss` and its parts); the others not at all. Runs whose
own timing is the measurement (`Objective.alone`) and scikit-learn
baselines keep their own paths.

What differs from the per-run path (`suite.training.trainer`), and why the
run key says which trained a run (`"trainer": "population"`): validation
happens every `eval_every` steps exactly (the per-run path validates after
whole passes over a repeated subset, so at `eval_every` steps or a few more),
and training runs `ceil(max_steps / eval_every)` such stretches; batches are
always full. `train_seconds` and `train/step_ms` are the population's time
divided by its members (what one run cost).
"""

from __future__ import annotations

import math
import time

import numpy as np

from suite.architectures import build_model, count_flops, get_architecture
from suite.data import load_variant, subsample_indices
from suite.probes.core import assign_state, snapshot_checks
from suite.store.schema import RunResult
from suite.training.devices import library_versions
from suite.training.halving import population_rule, rung_stops
from suite.training.members import distinct, evaluate_all, member_loop, member_map, stacked
from suite.training.models import evaluation_batch_size, initial_model, learning_rate_slot, make_optimizer, program_key
from suite.training.objectives import OBJECTIVES
from suite.training.plan import RunSpec
from suite.training.results import Measured, finish_run, run_probes, run_record, score_sets


def has_convolutions(model) -> bool:
    """Whether a model (or any model or layer inside it) convolves.

    On a CPU such a population steps its members one after another (`loop`)
    rather than vectorised: under vmap their convolutions become grouped
    convolutions, which XLA's CPU backend runs far slower than one member
    after another, and a convolution inside a `lax.scan` loop runs far slower
    than the same step called on its own (bench/README.md has the figures).
    That covers the CNNs, the ViT's patch embedding, the TCN and the
    generative models on images, whatever they are called.
    """
    import keras

    convolutions = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D, keras.layers.Conv1DTranspose,
                    keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose, keras.layers.DepthwiseConv2D,
                    keras.layers.SeparableConv2D)
    seen, stack = set(), [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, convolutions):
            return True
        stack.extend(getattr(layer, "layers", ()))  # models, and the layers a model holds as attributes
        if isinstance(getattr(layer, "layer", None), keras.layers.Layer):  # wrappers (SpectralNormalization)
            stack.append(layer.layer)
    return False


TRAINERS = ("auto", "fit", "population")


def population_supported(spec: RunSpec, backend: str) -> bool:
    """Whether a run can train in a population: a Keras model, on JAX, whose objective does not
    measure each run's own time (`Objective.alone`). scikit-learn baselines keep their own path."""
    task = spec.task
    return (backend == "jax" and get_architecture(task.arch).framework == "keras"
            and not OBJECTIVES[task.objective].alone)


def trainer_policy(mode: str, backend: str):
    """`spec -> "fit" | "population"` for `plan_runs`.

    "auto" and "population": a population wherever it is supported (how its
    members step, vectorised or in turn, the trainer chooses per model and
    device: `vectorize_members`); "fit": one run at a time.
    """
    if mode not in TRAINERS:
        raise ValueError(f"trainer must be one of {', '.join(TRAINERS)}. Received: trainer={mode!r}")

    def choose(spec: RunSpec) -> str:
        return "population" if mode != "fit" and population_supported(spec, backend) else "fit"

    return choose


def vectorize_members(model, device: str) -> str:
    """"vmap" (every member in one vectorised program, `lax.scan` over the steps between two
    checks) or "loop" (one compiled step applied to each member in turn): "loop" for models
    that convolve on a CPU (`has_convolutions`), "vmap" otherwise."""
    return "loop" if device.startswith("CPU") and has_convolutions(model) else "vmap"


def batch_stream(subset: np.ndarray, batch_size: int, seed: int):
    """Endless batches of positions from `subset`: reshuffled passes, cut into full batches."""
    rng = np.random.default_rng(seed)
    buffer = np.empty(0, dtype=np.int64)
    while True:
        while len(buffer) < batch_size:
            buffer = np.concatenate([buffer, rng.permutation(subset)])
        yield buffer[:batch_size]
        buffer = buffer[batch_size:]


class PopulationTrainer:
    """Trains populations: lists of `RunSpec`s of one task (see `suite.training.units.group_populations`)."""

    def __init__(self, device: str, vectorize: str | None = None):
        """`vectorize`: "vmap" or "loop" for every model (tests compare them); default: chosen
        per model and device (`vectorize_members`)."""
        import keras

        if keras.backend.backend() != "jax":
            raise ValueError(f"population training needs the jax backend. "
                             f"Received: backend={keras.backend.backend()!r}")
        self.keras = keras
        self.device = device
        self.vectorize = vectorize
        self.backend = "jax"
        self.versions = library_versions()
        self._programs: dict = {}  # (task, shapes) -> compiled functions, reused across populations
        self.final_weights: list = []  # each member's trained variables after `run` (tests compare them)

    def run(self, specs: list[RunSpec], data_dir=None) -> list[RunResult]:
        """Trains and evaluates the members together; one `RunResult` per member, in order."""
        import jax
        import jax.numpy as jnp

        keras = self.keras
        first = specs[0]
        task, budget = first.task, first.budget
        objective = OBJECTIVES[task.objective]
        # each member's data split is its seed's; the distinct splits stacked once, `which` picks a member's
        splits, which = distinct([load_variant(task.dataset, task.variant, data_dir, spec.seed) for spec in specs])
        datas = [splits[w] for w in which]
        data = splits[0]  # shapes, sizes and the model's outputs are every split's
        k = len(specs)

        model, optimizer, train_chunk, evaluate, optimizer_init, vectorize = self._program(first, data, objective)
        as_numpy = keras.ops.convert_to_numpy
        inits = []
        for spec in specs:  # each member's initial state: a fresh model under its seed
            fresh = initial_model(spec, data)
            inits.append(([as_numpy(v) for v in fresh.trainable_variables],
                          [as_numpy(v) for v in fresh.non_trainable_variables]))

        def stack(parts):
            return [jnp.asarray(np.stack(leaf)) for leaf in zip(*parts)]

        trainable = stack([i[0] for i in inits])
        non_trainable = stack([i[1] for i in inits])
        opt_vars = stack([optimizer_init] * k)
        slot = learning_rate_slot(optimizer)  # each member's own rate (a tuning grid trains as one population)
        opt_vars[slot] = jnp.asarray(np.array([spec.lr for spec in specs], dtype=np.asarray(optimizer_init[slot]).dtype))
        results = [RunResult(run_record(spec, "ok", None, self.backend, self.device, self.versions, member_data,
                                        "keras", trainer="population", members=k))
                   for spec, member_data in zip(specs, datas)]
        for result in results:
            result.record.vectorize = vectorize
        subsets = [subsample_indices(member_data, spec.n_train, spec.seed) for spec, member_data in zip(specs, datas)]

        def member_model(tv, ntv):
            assign_state(model, (tv, ntv))
            return model

        def probe(when, tv_all, ntv_all, snapshots=None):
            for i, result in enumerate(results):
                if not specs[i].probes or not result.ok:  # a failed (diverged) member has no model to probe
                    continue
                m = member_model([v[i] for v in tv_all], [v[i] for v in ntv_all])
                run_probes(result, specs[i].probes, when, m, objective, datas[i], datas[i].x_pool[subsets[i]],
                           datas[i].y_pool[subsets[i]], specs[i].seed, None if snapshots is None else snapshots[i])

        probe("init", trainable, non_trainable)

        x_pool = jnp.asarray(np.stack([d.x_pool for d in splits]))  # (splits, pool, ...)
        y_pool = jnp.asarray(np.stack([d.y_pool for d in splits]))
        which = np.asarray(which)
        val_sets = stacked(splits, lambda d: (d.x_val, d.y_val))
        streams = [batch_stream(subset, budget.batch_size, spec.seed) for subset, spec in zip(subsets, specs)]
        checks = max(1, math.ceil(budget.max_steps / budget.eval_every))
        keep = snapshot_checks(first.probes, checks)  # where a probe reads the members during training
        snapshots = [[] for _ in specs]  # per member: (optimizer steps done, state)
        eval_batch = min(evaluation_batch_size(data.input_shape), len(data.y_val))
        history: dict = {}  # name -> one list per member, a value per check

        def log(name, i, value):
            history.setdefault(name, [[] for _ in specs])[i].append(float(value))

        active = np.ones(k, dtype=bool)
        stopped_early = np.zeros(k, dtype=bool)
        # a tuning population's successive halving: rates clearly behind at a rung stop (suite.training.halving)
        halving = population_rule(specs)
        rungs = set(halving.rungs(checks)) if halving is not None else set()
        halted_at = np.zeros(k, dtype=int)  # 0: not halted
        # the members in the stacked state: vectorised on a CPU a step costs in proportion to them (bench/README.md),
        # so a halved population drops those that no longer train (`_drop`); their final values wait in `parked`
        live = np.arange(k)
        parked: dict = {}
        compact = halving is not None and vectorize == "vmap" and self.device.startswith("CPU")
        best = np.full(k, np.inf)
        wait = np.zeros(k, dtype=int)
        checks_done = np.zeros(k, dtype=int)
        # copies: the state's own buffers are donated to the first chunk
        best_state = jax.tree_util.tree_map(jnp.copy, (trainable, non_trainable))
        step_seconds = []
        start = time.perf_counter()
        for check in range(checks):
            idx = np.stack([np.stack([next(s) for s in streams]) for _ in range(budget.eval_every)])[:, live]
            t0 = time.perf_counter()
            trainable, non_trainable, opt_vars, losses, parts = train_chunk(
                trainable, non_trainable, opt_vars, jnp.asarray(active[live]), x_pool, y_pool, jnp.asarray(which[live]),
                jnp.asarray(idx))
            losses = _spread(np.asarray(losses), live, k)  # (steps, members): waiting for it ends the chunk
            stepped = len(live) if vectorize == "vmap" else int(active.sum())  # a loop steps only the active ones
            step_seconds.append((time.perf_counter() - t0) / budget.eval_every / stepped)
            parts = {name: _spread(np.asarray(v), live, k) for name, v in parts.items()}
            val = None if not objective.validates else {name: _spread(v, live, k) for name, v in evaluate_all(
                evaluate, trainable, non_trainable, *val_sets, which[live], eval_batch,
                pad=objective.loss is not None).items()}
            for i in np.flatnonzero(active):
                log("loss", i, losses[:, i].mean())  # the mean over the stretch, as Keras's epoch mean
                for name, values in parts.items():
                    log(name, i, values[:, i].mean())
                for name, values in (val or {}).items():
                    log(f"val_{name}", i, values[i])
                checks_done[i] += 1
                if check in keep:  # the member's row of the (possibly compacted) stack
                    row = int(np.searchsorted(live, i))
                    snapshots[i].append(((check + 1) * budget.eval_every, ([np.asarray(v[row]) for v in trainable],
                                                                           [np.asarray(v[row]) for v in non_trainable])))
            # a member whose loss left the finite numbers stops there, as a run does on TerminateOnNaN;
            # `finish_run` applies the divergence rule to it
            active &= np.isfinite(losses).all(axis=0)
            if not objective.train_only:  # early stopping (none where the budget is the run)
                improved = active & (val["loss"] < best)
                best = np.where(improved, val["loss"], best)
                wait = np.where(improved, 0, wait + active)
                best_state = _keep_where(improved[live], (trainable, non_trainable), best_state)
                stopped_early |= active & (wait >= budget.patience) & (check > 0)
                active &= ~stopped_early
            if check + 1 in rungs:
                stop = rung_stops(specs, [{name: values[i] for name, values in history.items()} for i in range(k)],
                                  objective, active, halted_at > 0)
                halted_at[stop] = check + 1
                active &= ~stop
                if compact and 0 < 2 * active.sum() <= len(live):
                    final = (trainable, non_trainable) if objective.train_only else best_state
                    (trainable, non_trainable, opt_vars, best_state), live = _drop(
                        (trainable, non_trainable, opt_vars, best_state), final, live, active, parked)
            if not active.any():
                break
        train_seconds = time.perf_counter() - start
        if not objective.train_only:
            trainable, non_trainable = best_state  # every member's best weights, as Keras restores them
        if len(live) < k:  # the members dropped from the stack back in their places
            trainable, non_trainable = _restack((trainable, non_trainable), live, parked, k)
        self.final_weights = [[np.asarray(v[i]) for v in trainable] for i in range(k)]

        params = int(model.count_params())
        flops = count_flops(model)
        # the first chunk includes compiling; the median of the rest is what a member's step costs
        step_ms = float(np.median(step_seconds[1:] if len(step_seconds) > 1 else step_seconds)) * 1000.0
        test, extra = None, {}
        if not objective.train_only:
            def score(split):  # name -> (members,), each member on its own split's version of `split`
                return evaluate_all(evaluate, trainable, non_trainable, *stacked(splits, split), which, eval_batch)

            test = score(lambda d: (d.x_test, d.y_test))
            named = {id(x): name for name, (x, _) in data.extra_tests.items()}  # a set under two names: once
            extra = score_sets(data.extra_tests, lambda x, y: score(lambda d: d.extra_tests[named[id(x)]]))
        for i, spec in enumerate(specs):
            measured = Measured(
                {name: values[i] for name, values in history.items()}, datas[i].y_pool[subsets[i]],
                test=None if test is None else {name: values[i] for name, values in test.items()},
                extra={name: {m: v[i] for m, v in scores.items()} for name, scores in extra.items()},
                stopped_early=bool(stopped_early[i]), params=params, flops=flops, step_ms=step_ms,
                train_seconds=train_seconds / k, epochs=int(checks_done[i]),
                steps=int(checks_done[i]) * budget.eval_every, halted_at=int(halted_at[i]) or None)
            results[i] = finish_run(results[i], spec, datas[i], measured)
        probe("trained", trainable, non_trainable, snapshots)
        for result in results:
            result.record.finished_at = time.time()
        return results

    def _program(self, spec: RunSpec, data, objective):
        """The model, its optimizer, the jitted chunk of vmapped training steps and the vmapped
        evaluation, built once per model group and kept: populations of equal shapes reuse the
        compiled programs (jit keys its cache on the functions, so they must be the same objects)."""
        import jax
        import jax.numpy as jnp

        keras, task = self.keras, spec.task
        key = program_key(spec, data)
        if key in self._programs:
            return self._programs[key]
        if len(self._programs) >= 8:  # a long worker sees many groups: keep memory bounded
            self._programs.clear()
            keras.backend.clear_session()
        model = build_model(task.arch, data.input_shape, data.num_outputs, **spec.hparams)
        optimizer = make_optimizer(model, spec.lr)
        optimizer.build(model.trainable_variables)
        optimizer_init = [keras.ops.convert_to_numpy(v) for v in optimizer.variables]

        if objective.loss is None:  # the model computes its own losses: {"loss": ..., part: ...}
            def loss_fn(tv, ntv, x, y):
                out, ntv = model.stateless_call(tv, ntv, x, training=True)
                return out["loss"], (ntv, {name: v for name, v in out.items() if name != "loss"})
        else:
            example_loss = objective.example_loss()
            example_metrics = objective.example_metrics()

            def loss_fn(tv, ntv, x, y):
                y_pred, ntv = model.stateless_call(tv, ntv, x, training=True)
                metrics = {name: jnp.mean(fn(y, y_pred)) for name, fn in example_metrics.items()}
                return jnp.mean(example_loss(y, y_pred)), (ntv, metrics)

        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

        def member_step(tv, ntv, ov, active, x_pool, y_pool, which, idx):
            x, y = x_pool[which, idx], y_pool[which, idx]  # the member's own split: `which` of the stacked ones
            (loss, (new_ntv, metrics)), grads = grad_fn(tv, ntv, x, y)
            new_tv, new_ov = optimizer.stateless_apply(ov, grads, tv)
            keep = lambda new, old: jnp.where(active, new, old)  # noqa: E731  a stopped member stays as it is
            tv = jax.tree_util.tree_map(keep, list(new_tv), tv)
            ntv = jax.tree_util.tree_map(keep, list(new_ntv), ntv)
            ov = jax.tree_util.tree_map(keep, list(new_ov), ov)
            return tv, ntv, ov, loss, metrics

        if objective.loss is None:  # the model's own losses, batch means: times the batch's rows (never padded)
            def member_scores(tv, ntv, x, y, which, weight):
                out, _ = model.stateless_call(tv, ntv, x[which], training=False)
                return {name: value * jnp.sum(weight) for name, value in out.items()}
        else:
            def member_scores(tv, ntv, x, y, which, weight):  # x, y: a batch of every split, `which` the member's
                x, y = x[which], y[which]
                y_pred, _ = model.stateless_call(tv, ntv, x, training=False)
                scores = {"loss": jnp.sum(weight * example_loss(y, y_pred))}
                scores.update({name: jnp.sum(weight * fn(y, y_pred)) for name, fn in example_metrics.items()})
                return scores  # sums over the batch (padding weighs 0): means are taken over the whole split

        vectorize = self.vectorize or vectorize_members(model, self.device)
        if vectorize == "vmap":
            population_step = jax.vmap(member_step, in_axes=(0, 0, 0, 0, None, None, 0, 0))

            def chunk(tv, ntv, ov, active, x_pool, y_pool, which, idx):
                def body(state, step_idx):
                    tv, ntv, ov = state
                    tv, ntv, ov, loss, metrics = population_step(tv, ntv, ov, active, x_pool, y_pool, which,
                                                                 step_idx)
                    return (tv, ntv, ov), (loss, metrics)

                (tv, ntv, ov), (losses, metrics) = jax.lax.scan(body, (tv, ntv, ov), idx)
                return tv, ntv, ov, losses, metrics

            train_chunk = jax.jit(chunk, donate_argnums=(0, 1, 2))
            # nothing to evaluate on a split for a train-only objective (its probes measure the model)
            evaluate = None if not objective.validates else jax.jit(jax.vmap(member_scores,
                                                                             in_axes=(0, 0, None, None, 0, None)))
        else:
            train_chunk = member_loop(jax.jit(member_step))
            evaluate = None if not objective.validates else member_map(jax.jit(member_scores))
        program = (model, optimizer, train_chunk, evaluate, optimizer_init, vectorize)
        self._programs[key] = program
        return program


def _spread(values, live, k: int) -> np.ndarray:
    """Per-member values of the stacked members `live` (last axis) in their places among all `k` (0 for
    the members dropped from the stack, which no longer train)."""
    values = np.asarray(values)
    if len(live) == k:
        return values
    out = np.zeros(values.shape[:-1] + (k,), dtype=values.dtype)
    out[..., live] = values
    return out


def _drop(state, final, live, active, parked):
    """The stacked `state` (trees of arrays, members on the first axis) and `live` (the member of each
    stack position) without the members that no longer train (`active`, over all members), whose `final`
    values (a (trainable, non-trainable) pair of stacked lists) are kept in `parked` (member -> values)."""
    import jax

    keep = np.flatnonzero(active[live])
    for j in np.flatnonzero(~active[live]):
        parked[int(live[j])] = tuple([np.asarray(v[j]) for v in part] for part in final)
    return jax.tree_util.tree_map(lambda v: v[keep], state), live[keep]


def _restack(pair, live, parked, k: int):
    """The stacked (trainable, non-trainable) values of all `k` members, in order: those of `pair` (one per
    stack position of `live`) and the `parked` ones (`_drop`)."""
    import jax.numpy as jnp

    position = {int(member): j for j, member in enumerate(live)}
    rows = [parked[i] if i not in position else tuple([np.asarray(v[position[i]]) for v in part] for part in pair)
            for i in range(k)]
    return tuple([jnp.asarray(np.stack([row[p][leaf] for row in rows])) for leaf in range(len(pair[p]))]
                 for p in range(2))


def _keep_where(mask, new, old):
    """Per member, `new` where `mask` else `old` (leaves stacked on the first axis)."""
    import jax
    import jax.numpy as jnp

    mask = jnp.asarray(mask)

    def pick(n, o):
        return jnp.where(mask.reshape((-1,) + (1,) * (n.ndim - 1)), n, o)

    return jax.tree_util.tree_map(pick, new, old)

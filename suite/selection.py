"""Choosing a learning rate from stored tuning runs: the rules, as pure functions of result frames.

Shared by the runner (which extends the grid and trains the evaluation runs
at the chosen rate, `suite.training.tuning`) and the report (which shows the
grid's scores and the choice), so both apply the same rules to the same
stored runs.

The score (`SCORE`, `val/score`): each tuning run's validation value of the
metric its task's claims read (the validation accuracy of a classifier, the
symbol accuracy of copy memory; the objective's own loss otherwise: the
validation mean squared error of a regression, from which skill is computed,
and a generative model's held-out loss), at the weights the run ends with,
oriented so that higher is better (a loss is negated). A run that diverged
or failed has none.

The one-standard-error rule (`choose_rates`), per task:

1. a rate that diverged or failed on any of its tuning seeds is out, and so
   is a rate that successive halving stopped (`HALTED`,
   `suite.training.halving`: its score comes from fewer steps than the
   others');
2. the best rate is the one with the highest mean score over its seeds (of
   two with the same mean, the smaller);
3. every rate whose mean is at least the best rate's mean minus one
   standard error of the best rate's mean (its seeds' standard deviation
   over the square root of their number; 0 with one seed) and that lies at
   most one half-decade step below the best (`next_rate`: 1e-3 -> 3e-4) is
   acceptable;
4. the smallest acceptable rate is chosen.

The step bound in 3: where the tuning seeds spread wide (a task that some
seeds learn and others do not), one standard error covers rates ten or a
hundred times smaller than the best, and at a fixed budget such a rate is
another recipe, which three seeds cannot vouch for: the vanilla RNN on copy
at T = 50 chose 1e-4 on tensorflow where its best rate was 1e-3, and scored
0.47 against the 0.97 that 1e-3 gave on jax (bench/README.md, "tensorflow
and jax"). One step is the most the rule's caution may cost.

So two rates that the tuning seeds cannot tell apart resolve the same way
on every machine (to the smaller, the more conservative of the two), not by
which one's round-off won: a choice moves only when a rate is better by more
than its seeds' noise. A task whose every rate failed has no choice (its
runs keep the architecture's default rate).

The grid extends past an edge (`extension`): where the choice, or the best
rate, is the smallest or the largest rate tried, the next half-decade step
beyond it (`next_rate`: 1 and 3 times a power of ten) is tried too, until
both are interior or the next step would leave `BOUNDS` ("at the bound"). A
rate that halving stopped counts as tried: it was clearly behind when it
stopped, so the grid does not grow past it. The best rate counts, not only
the choice: where every rate tried is at chance (the GRU at four times the
budget on copy at T = 50, 3e-4 to 1e-2 on jax's tuning seeds), the best by
a hair may sit at the edge while the rule's smaller choice is interior, and
the rates beyond the edge, where the task may be learned (0.1 on
tensorflow's: bench/README.md), would never be tried.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SCORE = "val/score"  # the validation value of the claims' metric, at the weights the run ends with; higher is better
# the grid never extends below or above these rates; the upper one lies beyond the largest rate a model
# here chooses (some LSTMs choose 0.1, and break at 0.3), so a choice stops at it only where every larger
# rate is out of reach (bench/README.md, "Learning rates at the bound")
BOUNDS = (1e-5, 1.0)
LADDER = (1.0, 3.0)  # half-decade steps: the rates 1 and 3 times a power of ten
EXTENSION = "tune/extension"  # a tuning run's metric: the extension round that added its rate (0: the grid given)
HALTED = "tune/halted_at"  # a tuning run's metric: the check after which successive halving stopped its rate


def next_rate(rate: float, direction: int) -> float:
    """The half-decade step beyond `rate` (direction +1: up, -1: down): `rate` times or over the square
    root of 10, snapped to the nearest rate of the ladder (1e-4, 3e-4, 1e-3, ...); e.g. 1e-2 -> 3e-2,
    3e-2 -> 1e-1, 3e-4 -> 1e-4."""
    if direction not in (1, -1):
        raise ValueError(f"direction must be +1 or -1. Received: direction={direction}")
    target = math.log10(rate) + 0.5 * direction
    exponent = math.floor(target)
    candidates = [m * 10.0 ** e for e in (exponent - 1, exponent, exponent + 1) for m in LADDER]
    best = min(candidates, key=lambda c: abs(math.log10(c) - target))
    return float(f"{best:.0e}")  # 3e-4, not 0.00030000000000000003


def score_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A row per (task, learning_rate) of the tuning runs in `frame` (a row per run: task,
    learning_rate, status and `SCORE`, NaN where the run failed or has none; `halted_at`, if there, NaN
    where successive halving did not stop it): `mean` and `se` (the standard error of the mean; 0 with
    one seed) over the seeds whose score is finite, `seeds` (runs), `failed` (whether the rate failed or
    diverged on any seed) and `halted` (whether halving stopped it): neither is ever chosen."""
    columns = ["task", "learning_rate", "mean", "se", "seeds", "failed", "halted"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    scores = pd.to_numeric(frame[SCORE], errors="coerce").astype(float)
    ok = (frame["status"] == "ok") & np.isfinite(scores)
    halted = pd.to_numeric(frame["halted_at"], errors="coerce").notna() if "halted_at" in frame else False
    rows = frame.assign(score=scores.where(ok), bad=~ok, stopped=halted)
    table = rows.groupby(["task", "learning_rate"]).agg(mean=("score", "mean"), se=("score", "sem"),
                                                         seeds=("score", "size"), failed=("bad", "any"),
                                                         halted=("stopped", "any"))
    table["se"] = table["se"].fillna(0.0)  # one seed: no spread to measure
    return table.reset_index()[columns]


def _valid(table: pd.DataFrame) -> pd.DataFrame:
    """The rates of one task's `score_table` rows that may be chosen: none failed or halved."""
    out = table["failed"].astype(bool) | (table["halted"].astype(bool) if "halted" in table else False)
    return table[~out]


def best(table: pd.DataFrame) -> float | None:
    """The best rate of one task's `score_table` rows (rule 2 of the module docstring), None if none."""
    return _pick(table, 0)


def choose(table: pd.DataFrame) -> float | None:
    """The one-standard-error rule (module docstring) on one task's rows of `score_table`."""
    return _pick(table, 1)


def _pick(table: pd.DataFrame, which: int) -> float | None:
    """`_rule`'s best rate (which=0) or chosen one (1) among one task's valid rows; None if none is valid."""
    valid = _valid(table)
    if valid.empty:
        return None
    rates = valid["learning_rate"].to_numpy(dtype=float)
    return float(rates[_rule(rates, valid["mean"].to_numpy(dtype=float), valid["se"].to_numpy(dtype=float))[which]])


def _rule(rates, means, ses) -> tuple[np.ndarray, np.ndarray]:
    """Rules 2-4 of the module docstring on the valid rates of one task, over the last axis of `means` and
    `ses` (many draws of the tuning seeds at once: `choice_repeat`): the positions in `rates` of (the best
    rate, the chosen one)."""
    rates, means = np.asarray(rates, dtype=float), np.asarray(means, dtype=float)
    shape = means.shape[:-1]
    means = means.reshape(-1, len(rates))
    ses = np.broadcast_to(np.asarray(ses, dtype=float), shape + (len(rates),)).reshape(means.shape)
    order = np.argsort(rates, kind="stable")
    rates, means, ses = rates[order], means[:, order], ses[:, order]
    top = np.argmax(means, axis=-1)  # the highest mean; of equal ones the first: the smaller rate
    rows = np.arange(len(means))
    near = np.array([next_rate(r, -1) for r in rates])[top] * (1 - 1e-9)  # one half-decade step below the best
    acceptable = (means >= (means[rows, top] - ses[rows, top])[:, None]) & (rates[None] >= near[:, None])
    chosen = np.argmax(acceptable, axis=-1)  # the first acceptable: the smallest rate (the best always is)
    return order[top].reshape(shape), order[chosen].reshape(shape)


def choice_repeat(frame: pd.DataFrame, table: pd.DataFrame | None = None, draws: int = 400, seed: int = 0) -> dict:
    """Whether a second set of tuning seeds would choose the same rate, estimated: one task's tuning runs
    (`tuning_frame`'s rows) drawn again `draws` times, the seeds with replacement and in two stages as
    `suite.sequential.repeat_codes` draws a verdict's (`suite.statistics.redraw`), and the rule applied to
    each draw. Every rate trains on the same tuning seeds, so a draw takes the same seeds at every rate
    (a seed that learns at one rate tends to at its neighbours too); a rate some seed is missing at
    (an interrupted tuning) draws its own. Returns {rate: the share of draws that choose it}, largest first
    ({} where no rate can be chosen). Rates that failed or that halving stopped stay out, as in the rule.
    `table`: the task's `score_table` rows, where they are at hand."""
    from suite.statistics import redraw

    table = _valid(score_table(frame) if table is None else table)
    if table.empty:
        return {}
    rates = table["learning_rate"].to_numpy(dtype=float)
    scores = frame.assign(score=pd.to_numeric(frame[SCORE], errors="coerce")).dropna(subset=["score"])
    grid = scores[scores["learning_rate"].isin(rates)].pivot_table(index="seed", columns="learning_rate",
                                                                   values="score", aggfunc="first")
    rng = np.random.default_rng(seed)
    shared = redraw(len(grid), len(grid), draws, rng)  # seed positions, the same at every rate
    means, ses = [], []
    for rate in rates:
        column = grid[rate].dropna().to_numpy()
        drawn = grid[rate].to_numpy()[shared] if len(column) == len(grid) else column[
            redraw(len(column), len(column), draws, rng)]
        means.append(drawn.mean(axis=-1))
        ses.append(drawn.std(axis=-1, ddof=1) / np.sqrt(len(column)) if len(column) > 1 else np.zeros(draws))
    chosen = rates[_rule(rates, np.stack(means, -1), np.stack(ses, -1))[1]]
    found, counts = np.unique(chosen, return_counts=True)
    return {float(r): float(c / draws) for r, c in sorted(zip(found, counts), key=lambda rc: -rc[1])}


def choose_rates(frame: pd.DataFrame, rule=choose) -> dict:
    """task -> the chosen learning rate, from the tuning runs in `frame` (see `score_table`); a task
    whose every rate failed has none. `rule=best`: each task's best rate instead."""
    chosen = {}
    for task, table in score_table(frame).groupby("task"):
        rate = rule(table)
        if rate is not None:
            chosen[task] = rate
    return chosen


def extension(tried, chosen: float | None, best: float | None = None) -> tuple[list, bool]:
    """(the rates to try next, whether the grid stopped at a bound): the next half-decade step beyond
    each edge of the rates `tried` (both edges when only one rate was tried) where `chosen` or the
    `best` rate (module docstring) is that edge rate, those of them within `BOUNDS`; none where both
    are interior (or there is no choice). At a bound: a step beyond such an edge would leave `BOUNDS`."""
    tried = sorted(tried)
    if chosen is None or not tried:
        return [], False
    edges = {chosen} | ({best} if best is not None else set())
    directions = ([-1] if tried[0] in edges else []) + ([1] if tried[-1] in edges else [])
    steps = [next_rate(tried[0] if d < 0 else tried[-1], d) for d in directions]
    inside = [s for s in steps if BOUNDS[0] * (1 - 1e-9) <= s <= BOUNDS[1] * (1 + 1e-9)]
    return inside, len(inside) < len(steps)


def tuning_frame(runs, metrics):
    """The tuning runs of `runs` (the `runs` table as a frame, any subset) with their score: a row per
    run (task, learning_rate, seed, status, `SCORE`, `extension`: the round of the grid's extension
    that added its rate, 0 for the grid it started from, and `halted_at`: the check after which
    successive halving stopped its rate, NaN where it did not)."""
    kind = runs["kind"] if "kind" in runs else None
    if kind is None:
        return runs.iloc[0:0].assign(**{SCORE: [], "extension": [], "halted_at": []})
    tune = runs[(kind == "tune") & runs["status"].isin(["ok", "failed"])]
    wanted = metrics[metrics["metric"].isin([SCORE, EXTENSION, HALTED])]
    values = wanted.pivot_table(index="run_key", columns="metric", values="value", aggfunc="first")
    for name in (SCORE, EXTENSION, HALTED):
        if name not in values:
            values[name] = np.nan
    values = values[[SCORE, EXTENSION, HALTED]].rename(columns={EXTENSION: "extension", HALTED: "halted_at"})
    values = values.reset_index()
    out = tune.merge(values, on="run_key", how="left")
    out["extension"] = out["extension"].fillna(0).astype(int)
    return out


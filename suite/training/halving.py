"""Successive halving of a learning-rate grid: rates clearly behind after a few checks stop training.

Successive halving (Jamieson and Talwalkar 2016, "Non-stochastic best arm
identification and hyperparameter optimization", AISTATS; the inner loop of
Hyperband, Li et al. 2018, JMLR 18(185)) trains every configuration on a
small budget, keeps the best 1/eta of them, multiplies the budget by eta, and
so on. Here the configurations are the learning rates of one round of a
model's grid (`suite.training.tuning`), each on its tuning seeds, trained as
one population (`suite.training.population`); a rate that stops is frozen by
the population's mask, as early stopping freezes a member.

The rule (`Halving`, `survivors`):

- rungs: after `first` validation checks of the population, then `first`
  times eta, eta squared, ... (Hyperband's geometric resource schedule),
  while before the budget's last check (`Halving.rungs`);
- at a rung each rate is scored by the mean over its seeds of the score each
  seed would record were it to stop there (`val/score`, `validation_score`:
  the validation value of the metric the claims read, at the weights early
  stopping would restore, oriented higher-is-better) and the standard error
  of that mean, as `suite.selection.score_table` scores a finished grid (a
  rate that diverged on a seed is out, as there);
- the rates kept are the best ceil(n / eta) of the n rates still in; every
  rate whose mean is within one standard error of the best rate's mean (the
  one-standard-error rule's acceptable set, `suite.selection.choose`), so
  halving never removes a rate that the final rule could choose were the
  scores to stay as they are at the rung; and every rate that is not
  clearly behind the best: Welch's one-sided t-test of its seeds' scores
  against the best rate's (`scipy.stats.ttest_ind`, unequal variances) does
  not reject, at level `ALPHA`, that it is as good. A rate whose seeds
  disagree early (a large rate's unsteady start) is not stopped on its
  mean alone;
- every other rate that still has a seed training stops: its seeds are
  frozen there and record `tune/halted_at` (the rung, in checks). A rate
  whose seeds have all stopped already (early stopping, divergence) has
  nothing left to save: it is not halted, its score is final, and it stays
  in the ranking and the choice.

A halted rate's runs are ordinary tuning runs whose score comes from fewer
steps than the others': `suite.selection.choose` leaves them out of the
choice (as a rate that diverged), and the report's rate table shows them as
"stopped early by halving". The rates kept train as they would in the full
grid (a member's steps never depend on the others'; a population that
leaves its stopped members out of its vectorised step on a CPU evaluates
the rest to float round-off of the full grid's validation values), so a
halved grid chooses what the full grid chooses unless a rate behind at a
rung would have caught up by the end: a small rate that learns slowly and
reaches the same plateau late, or a large one with an unsteady start. The
defaults below are the conservative end of that trade (bench/README.md).

Only tuning populations halve (evaluation runs never do), and only on the
population trainer: the per-run trainer (TensorFlow, `--trainer fit`) trains
each tuning run alone, in whichever worker is free, and keeps the full grid.
A halved tuning run's key says so (`Halving.config` in `RunSpec.config`): its
result depends on the rule and on the rates it competed with. A round too
large for one population (`suite.training.units.MAX_MEMBERS`) halves each
part among the members it holds.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

VERSION = 1  # bump when the rule changes what a halved run is (its key changes with it)
# eta: the share of rates kept at a rung is 1/eta (Jamieson and Talwalkar 2016 and Li et al. 2018 use 2 and 3);
# first: the first rung, in validation checks; alpha: the level of the test that a rate is clearly behind.
# bench/README.md ("Successive halving in tuning") has the cost and the agreement with the full grid of each.
ETA = 2
FIRST = 2
ALPHA = 0.01


@dataclasses.dataclass(frozen=True)
class Halving:
    """Successive halving of one round of a grid: the rates that compete (module docstring).

    Args:
      rates: the learning rates that train together (one round of one model's grid).
      eta: 1/eta of the rates still in go on at each rung (at least).
      first: the first rung, in validation checks; the next ones are `first` times powers of eta.
      alpha: the level of the one-sided test by which a rate is clearly behind the best.
    """

    rates: tuple
    eta: int = ETA
    first: int = FIRST
    alpha: float = ALPHA

    def __post_init__(self):
        if self.eta < 2:
            raise ValueError(f"eta must be 2 or more. Received: eta={self.eta}")
        if self.first < 1:
            raise ValueError(f"first must be 1 or more. Received: first={self.first}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1. Received: alpha={self.alpha}")

    @property
    def config(self) -> dict:
        """What goes into a halved run's key."""
        return {"version": VERSION, "eta": self.eta, "first": self.first, "alpha": self.alpha,
                "rates": [float(r) for r in sorted(self.rates)]}

    def rungs(self, checks: int) -> list[int]:
        """The checks after which the rates are ranked, for a budget of `checks` checks: `first`, `first`
        times eta, ..., each before the last check (a rung at the end would save nothing)."""
        out, rung = [], self.first
        while rung < checks:
            out.append(rung)
            rung *= self.eta
        return out


def survivors(rates, scores, eta: int, alpha: float) -> set:
    """The rates that go on at a rung (module docstring): the best ceil(n / eta) of the n distinct
    `rates` by their mean score over their seeds, every rate within one standard error of the best, and
    every rate that Welch's one-sided test at level `alpha` does not find behind the best.

    Args:
      rates: each member's learning rate (members of a rate are its seeds).
      scores: each member's score at the rung (`val/score` as of then: higher is better; -inf or NaN where
        it diverged).
      eta: the halving factor.
      alpha: the test's level.
    """
    import warnings

    from scipy import stats

    from suite.selection import SCORE, score_table

    rates, scores = np.asarray(rates, dtype=float), np.asarray(scores, dtype=float)
    frame = pd.DataFrame({"task": "", "learning_rate": rates, "status": "ok", SCORE: scores})
    table = score_table(frame)
    table["mean"] = table["mean"].where(~table["failed"].astype(bool), -np.inf)  # diverged: last, never kept
    ranked = table.sort_values(["mean", "learning_rate"], ascending=[False, True])
    keep = set(ranked["learning_rate"].iloc[:math.ceil(len(ranked) / eta)])
    best = ranked.iloc[0]
    if not np.isfinite(best["mean"]):  # every rate diverged: nothing to rank by
        return keep
    keep |= set(ranked.loc[ranked["mean"] >= best["mean"] - best["se"], "learning_rate"])
    leader = scores[rates == best["learning_rate"]]
    for rate, mean in zip(ranked["learning_rate"], ranked["mean"]):
        if rate in keep or not np.isfinite(mean):
            continue
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # seeds with equal scores: no spread to test
            p = stats.ttest_ind(scores[rates == rate], leader, equal_var=False, alternative="less").pvalue
        if not p < alpha:  # not clearly behind (a NaN: too few seeds, or no spread, to tell)
            keep.add(rate)
    return keep


def population_rule(specs) -> Halving | None:
    """The halving a population's members share (None: no member halves). Members of one round of one
    grid share it; a population that mixes two rules was planned wrong."""
    rules = {spec.halving for spec in specs if spec.halving is not None}
    if len(rules) > 1:
        raise ValueError(f"a population's members must share one halving rule. Received: {sorted(map(str, rules))}")
    return rules.pop() if rules else None


def rung_stops(specs, histories: list, objective, active, halted) -> np.ndarray:
    """Which members stop at a rung (module docstring): the members of every rate that `survivors` does
    not keep and that still has a seed training.

    Args:
      specs: the population's members (those with a `halving` compete).
      histories: each member's history so far (name -> a value per check).
      objective: the task's `Objective` (its validation score is what rates are ranked by).
      active: whether each member still trains.
      halted: whether each member's rate was stopped at an earlier rung (out of the ranking).
    Returns: a boolean mask over the members.
    """
    from suite.selection import SCORE
    from suite.training.objectives import validation_score

    rule = population_rule(specs)
    stop = np.zeros(len(specs), dtype=bool)
    members = [i for i, spec in enumerate(specs) if spec.halving is not None and not halted[i]]
    if rule is None or not members:
        return stop
    rates = [specs[i].lr for i in members]
    scores = [validation_score(histories[i], objective).get(SCORE, -np.inf) for i in members]
    kept = survivors(rates, scores, rule.eta, rule.alpha)
    for rate in set(rates) - kept:
        of_rate = [i for i, r in zip(members, rates) if r == rate]
        if any(active[i] for i in of_rate):  # a rate whose seeds have all finished has nothing left to save
            stop[of_rate] = True
    return stop

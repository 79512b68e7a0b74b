"""Declarative claims and their verdicts, computed from seeds and intervals.

A claim compares two conditions of a study, *a* and *b* (e.g. the CNN and the
MLP on natural images), on one metric. For every seed the runner's pairing
gives both conditions the same training subset, so the paired difference
a - b (sign-flipped for lower-is-better metrics, so positive always means "a
is better"; a metric's direction is declared once, in `suite.metrics`) is
averaged over the selected training-set sizes into one value per seed. A
Student-t interval over seeds (n - 1 degrees of freedom) gives an interval
of its mean, and the claim's test turns the interval into a verdict. (A
percentile bootstrap would not do at the seeds used: with 3 seeds its "95%"
interval is the range of the three values, which under no effect at all
excludes 0 a quarter of the time.) The seeds are read in rounds
(`suite.sequential`): at 3, 5, 10 ... seeds, up to those planned, each look
testing at a level smaller than 0.025 per side, so that all the looks
together hold 0.025; the first look that decides gives the verdict, its
seeds and its interval (a repeated confidence interval: the Student-t
interval at that look's level, 95% where there is one look). Below, "the
interval" is that one.

- "better":     supported if the interval lies above 0, contradicted if it
                lies below 0, inconclusive otherwise.
- "negligible": two one-sided t-tests (TOST) at the margin, each at one-sided
                0.025 (the tails of the 95% interval): supported if both reject,
                i.e. the interval lies within [-margin, margin]; contradicted if
                the interval lies wholly outside it, else inconclusive.
- "not_better": supported if the upper end is at most `margin`, contradicted
                if the lower end exceeds `margin`, else inconclusive. The margin
                is positive: at 0, a zero difference could never be supported
                (registration refuses it, `suite.studies.check_study`).

Each verdict is also a test with a p-value (`suite.statistics.decision_p_values`),
which decides exactly as the interval does; the report shows the run's
evidential verdicts again after Holm's adjustment (`suite.aggregation.holm_verdicts`),
and beside each decision the chance that a second set of seeds repeats it
(`ClaimResult.repeat`, `suite.sequential.repeat_codes`). A spread stays a
fixed design on every planned seed (`evaluate_claim` says why).

Variations: an empty *b* compares *a* with the constant `reference` (e.g.
"the RNN's skill over the trivial baseline is at most 0.1"); `each` repeats
the comparison for every value of a column (e.g. every architecture, natural
against permuted data) and keeps the weakest difference; `datasets` limits a
claim to some datasets; `statistic="slope"` replaces the mean over sizes by
the log-log slope of the metric against sequence length (one slope per seed,
over the claim's datasets together), e.g. how step time grows with length;
`statistic="scaling"` replaces it by the exponent of a power-law learning
curve (error ~ n^-alpha: minus the log-log slope of 1 - accuracy against the
training-set size, one per seed and dataset, `suite.differences.scaling_exponents`),
e.g. "the ViT's error falls faster with data than the CNN's";
`statistic="spread"` compares how much each condition varies from seed to
seed (the standard deviation over seeds of its per-seed value, a - b), e.g.
"the GAN is less stable than the VAE", with a paired permutation test (each
seed's two values swapped or not, every way; supported or contradicted at
one-sided p <= 0.025, the level of the intervals' tails);
`change={"variant": ("natural", "rotated")}` compares *changes* instead of
values: each condition's value becomes, per seed and size, its value on the
second variant minus its value on the first (or the absolute change, with
`absolute=True`), e.g. "rotating the features costs the trees more accuracy
than the MLP". The column may be `metric`: `change={"metric": ("init/x",
"trained/x")}` compares two measurements of the same runs (what training
changed, or a deep layer against a shallow one). When *a* and *b* name two
different datasets, the claim compares across them (one verdict, "A vs B"),
pairing seed with seed and the k-th smallest size of one with the k-th of
the other, e.g. "the code gains more over the pixels on digits than on
noise".

Verdicts are per dataset, and over several datasets as `suite.aggregation`
says (a dataset whose models are below their gates or whose data leave no
room counts for nothing: `ClaimResult.counts`). A verdict comparing a model
below its competence gate (`suite.adequacy.Gate`, declared by the study) is
*undecidable* ("MODEL not competent (value < gate)"); over several models
(`each`) that model's pair is left out and the others decide
(`competent_pairs`), per seed the pair least favourable to the claim tested
for it and each pair's own differences against it (`pairwise_p_values`).
*Undecidable* also where the data could not decide the claim whatever the
effect (`suite.decidable`). A *control* (`control=True`) checks the
machinery (a fixed permutation cannot change an MLP's accuracy): never
undecidable, it passes ("supported") or is *control failed*.

Claims are plain data (JSON round-trip), so they are stored in the results
database and the report can be rebuilt from the database alone.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from typing import Mapping

import numpy as np

from suite.adequacy import checked_note, gate_checks, learned_nothing, longer_training, qualifiers
from suite.aggregation import AGGREGATION, CONTROL_FAILED, decide_control
from suite.conditions import select_sizes
from suite.decidable import DATA_LIMITS, competent_pairs, pairwise_p_values, test_split_size, undecidable
from suite.differences import room_to_perfect, spread_difference, weakest_difference
from suite.metrics import higher_is_better
from suite.sequential import PROCEDURE, SPENDING, repeat_codes, repeat_share, repeated_interval, sequential_test
from suite.statistics import ONE_SIDED, TESTS, decision_p_values, verdict_of

INTERVAL = PROCEDURE
TOST = f"group-sequential two one-sided t-tests (TOST) over seeds ({SPENDING})"
SPREAD_TEST = "paired permutation test over seeds"
STATISTICS = ("mean", "slope", "spread", "scaling")
VERDICTS = ("supported", "contradicted", "inconclusive", "undecidable", CONTROL_FAILED)


@dataclasses.dataclass(frozen=True)
class Claim:
    """One testable statement of a study.

    Args:
      text: the claim in words, shown with its verdict.
      a, b: conditions, mapping a run column (arch, variant, dataset...) to a
        value, or to a tuple of values: then the claim must hold against each
        of them, so the weakest of them (per seed and size) is used.
      test: one of TESTS (see the module docstring).
      sizes: "all", "smallest:K", "largest:K", or a tuple of sizes.
      margin: tolerance for "negligible" and "not_better", in metric units.
      metric: the metric compared.
      higher_is_better: whether a higher value counts as better for a; None (the default): the
        compared metric's declared direction (`suite.metrics`), see `prefers_higher`.
      reference: the constant *a* is compared with when *b* is empty.
      each: {column: (values...)}: the claim must hold for each value (the
        value is added to both conditions); the weakest difference counts.
      datasets: only these datasets (None: every dataset of the study).
      statistic: "mean" (over the selected sizes), "slope" (log-log slope
        against the `length` column: sequence length), "scaling" (the
        exponent alpha of error ~ n^-alpha over the training-set sizes, the
        metric an accuracy) or "spread" (the
        standard deviation over seeds; `higher_is_better` then says whether
        more spread counts as "better" for a).
      change: {column: (base, other)}: compare the change from base to other
        (other - base, per seed and size) instead of the values.
      absolute: with `change`, compare |other - base| (e.g. how much an
        arbitrary column order moves the result, in either direction).
      control: a check of the machinery whose outcome is known in advance
        (shown as a control, not as evidence; exempt from the zero-variance rule).
      cell: (bias, data) where the claim sits on the report's bias map, e.g.
        ("locality", "images: natural"); None: not on the map.
      device: a device the claim is about (e.g. "GPU": parallelism shows in
        step time only there); on runs from other devices its verdict is
        undecidable, its numbers still shown.
      gated: whose competence gates the verdict rests on: "both" sides (the
        default: a claim that a beats a broken b says nothing) or only "a",
        where b's failing is what the claim is about (chrono initialisation
        against the default one that cannot learn the task), or "none" for a
        claim on the models as initialised (an `init/` metric): training plays
        no part in it, so neither its gates nor how its runs ended do.
    """

    text: str
    a: Mapping
    b: Mapping
    test: str = "better"
    sizes: object = "all"
    margin: float = 0.0
    metric: str = "test/accuracy"
    higher_is_better: bool | None = None
    reference: float = 0.0
    each: Mapping | None = None
    datasets: tuple | None = None
    statistic: str = "mean"
    change: Mapping | None = None
    absolute: bool = False
    control: bool = False
    cell: tuple | None = None
    device: str | None = None
    gated: str = "both"

    def __post_init__(self):
        if self.gated not in ("both", "a", "none"):
            raise ValueError(f"gated must be 'both', 'a' or 'none'. Received: gated={self.gated!r}")
        compared = (self.metric, *(self.change or {}).get("metric", ()))
        if self.gated == "none" and not all(m.startswith("init/") for m in compared):
            raise ValueError("gated='none' is for claims on the models as initialised (init/ metrics only): "
                             f"a trained model's verdict rests on its training. Received: metrics {compared}")
        if self.test not in TESTS:
            raise ValueError(f"unknown claim test {self.test!r}; valid tests: {', '.join(TESTS)}")
        if self.statistic not in STATISTICS:
            raise ValueError(
                f"unknown claim statistic {self.statistic!r}; valid statistics: {', '.join(STATISTICS)}"
            )
        if self.statistic == "scaling" and (self.change or self.metric.split("/")[-1] != "accuracy"):
            raise ValueError(f"statistic 'scaling' reads the error 1 - accuracy over training-set sizes: its "
                             f"metric must be an accuracy and it does not combine with change. Received: "
                             f"metric={self.metric!r}, change={self.change!r}")
        if self.statistic == "spread" and (self.each or self.change or not self.b):
            raise ValueError("statistic 'spread' compares two conditions a and b directly: "
                             "it does not combine with each, change or an empty b")
        if self.test == "negligible" and self.each:
            # the per-seed difference farthest from 0 is no sound test of "every pair within the band" (one
            # pair outside it passed 43 of 60 random draws): one claim per pair says what is meant
            raise ValueError(f"test 'negligible' does not combine with each: declare one claim per value of "
                             f"{', '.join(self.each)}. Received: each={dict(self.each)}")

    @property
    def prefers_higher(self) -> bool:
        """Whether a higher value counts as better for a: `higher_is_better` where the claim sets it,
        else the direction its metric declares (with `change` across metrics, the second one's)."""
        if self.higher_is_better is not None:
            return self.higher_is_better
        metric = self.change["metric"][1] if self.change and "metric" in self.change else self.metric
        return higher_is_better(metric)

    def to_json(self) -> str:
        d = dataclasses.asdict(self)
        d["a"], d["b"] = dict(self.a), dict(self.b)
        for field in ("each", "change"):
            d[field] = None if getattr(self, field) is None else dict(getattr(self, field))
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Claim":
        d = json.loads(text)
        for side in ("a", "b", "each", "change"):
            if d.get(side) is not None:
                d[side] = {k: tuple(v) if isinstance(v, list) else v for k, v in d[side].items()}
        for field in ("sizes", "datasets", "cell"):
            if isinstance(d.get(field), list):
                d[field] = tuple(d[field])
        return cls(**d)

    def rule(self) -> str:
        """The verdict rule in words, in terms of the a - b shown beside it."""
        m = f"{self.margin:g}"
        d = "(a - b)" if self.b else f"(a - {self.reference:g})"
        if self.prefers_higher:
            rule = {
                "better": f"supported if the 95% interval of {d} lies above 0; contradicted if it lies below 0",
                "not_better": f"supported if the upper end of the 95% interval of {d} is at most {m}; "
                f"contradicted if its lower end exceeds {m}",
            }.get(self.test)
        else:
            rule = {
                "better": f"lower is better: supported if the 95% interval of {d} lies below 0; "
                "contradicted if it lies above 0",
                "not_better": f"lower is better: supported if the lower end of the 95% interval of {d} "
                f"is at least -{m}; contradicted if its upper end is below -{m}",
            }.get(self.test)
        if self.test == "negligible":
            rule = (f"two one-sided t-tests (TOST) at +-{m}, one-sided p <= 0.025 each: supported if both reject "
                    f"(the 95% interval of {d} within [-{m}, {m}]); contradicted if the interval lies wholly outside")
        if self.statistic == "slope":
            rule = "a and b are log-log slopes of the metric against sequence length; " + rule
        if self.statistic == "scaling":
            rule = ("a and b are scaling exponents, minus the log-log slope of the error (1 - accuracy) against "
                    "the training-set size, per seed over the sizes (error ~ n^-alpha); " + rule)
        if self.statistic == "spread":
            more, less = ("larger", "smaller") if self.prefers_higher else ("smaller", "larger")
            rule = (f"a and b are standard deviations over seeds; instead of an interval, a paired permutation "
                    f"test: supported if a's spread is the {more} at one-sided p <= 0.025, contradicted if it is "
                    f"the {less} at p <= 0.025")
        if self.change:
            (column, (base, other)), = self.change.items()
            what = "|change|" if self.absolute else "change"
            if column == "metric":  # two measurements of the same runs
                rule = f"a and b are each condition's {what} from {base} to {other} (the same runs); " + rule
            else:
                rule = f"a and b are each condition's {what} in the metric from {column} {base} to {other}; " + rule
        if self.each:
            (column, values), = self.each.items()
            rule += (f"; for each {column} in {', '.join(map(str, values))}: the weakest counts for it, one "
                     f"{column}'s own difference against it")
        if self.control:
            return (rule + "; a control: it passes where supported and is 'control failed' otherwise (its "
                    "outcome is known in advance, so it is never undecidable)")
        if not self.b:
            return rule + "; per dataset, over several datasets: " + AGGREGATION
        pairs = " (over several models, its pair is left out where others can decide)" if self.each else ""
        if self.gated == "none":  # training plays no part
            return rule + "; on the models as initialised: no gate counts; per dataset, over several: " + AGGREGATION
        if self.gated == "a":
            return rule + ("; undecidable where a's model is below its competence gate" + pairs + " (b's failing "
                           "is the claim's subject, so b's gate does not count); per dataset, over several "
                           "datasets: " + AGGREGATION)
        return rule + ("; undecidable where a compared model is below its competence gate" + pairs + "; per "
                       "dataset, over several datasets: " + AGGREGATION)


@dataclasses.dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    dataset: str
    verdict: str
    estimate: float | None
    low: float | None
    high: float | None
    n_seeds: int  # the seeds the verdict rests on: those of its deciding look, else of its last look
    sizes: tuple
    note: str = ""
    method: str = ""  # how the interval or test was computed (INTERVAL, TOST, SPREAD_TEST)
    qualifier: str = ""  # e.g. "under-trained: arch=lstm (3 of 3 runs still improving at the step budget)"
    # the one-sided p-value of the verdict's test (`suite.statistics.decision_p_values`: the smaller of the
    # two, for it or against it); None where no test was made
    p_value: float | None = None
    gates: tuple = ()  # the competence gates it rests on, measured (`suite.adequacy.GateCheck`)
    looks: tuple = ()  # the seed counts the procedure looks at (`suite.sequential.looks_for`); one: fixed
    level: float | None = None  # the one-sided nominal level of the look the verdict rests on
    # no look decided and the last is not reached yet: more seeds may decide it (the rounds draw them)
    pending: bool = False
    # undecidable here whatever more seeds would show: both models at the ceiling, a margin below one test
    # example, a difference fixed by construction, a device the claim is not about (`DATA_LIMITS`)
    data_limited: bool = False
    # the values of a claim over several models whose pairs could not decide it here ("arch=ft_transformer")
    left_out: tuple = ()
    repeats: tuple = dataclasses.field(default=(), repr=False)  # `suite.sequential.repeat_codes`'s draws

    @property
    def repeat(self) -> float | None:
        """The estimated chance that a second set of seeds decides the same (`suite.sequential.repeat_share`)."""
        return repeat_share(self.repeats, self.verdict)

    @property
    def competent(self) -> bool:
        """Whether every model the verdict compares passes its competence gate."""
        return all(check.passed for check in self.gates)

    @property
    def counts(self) -> bool:
        """Whether this dataset can decide the claim over its datasets (`suite.aggregation`): its models
        pass their gates and its data are not what leaves it undecidable. An interval too wide for its
        band is no such limit (more seeds narrow it): that dataset counts, and does not support."""
        return self.competent and not self.data_limited


def evaluate_claim(claim: Claim, runs, gates=(), checks=None, planned: int | None = None,
                   repeats: bool = True) -> list[ClaimResult]:
    """Verdicts of one claim, one per dataset (one in all for slopes), from a tidy frame of ok runs.

    `runs` needs the columns dataset, seed, n_train, metric, value, the
    columns the claim's conditions name, and `length` for slopes (and
    `matched` for the qualifiers and gates). `gates`: the study's
    competence gates (`suite.adequacy.Gate`); a verdict comparing a model
    below its gate is undecidable. `checks`: the tidy rows of the runs
    trained again at a longer budget (`suite.training.checks`), which decide
    whether an "under-trained" qualifier stays (`longer_training`).
    `planned`: the seeds planned for the study, the sequential procedure's
    last look (`suite.sequential`); None: every seed the runs hold. A verdict
    reads the seeds in order, and only those up to the look it rests on
    (its gates and qualifiers too): seeds beyond it never change it.
    `repeats`: whether to estimate each verdict's chance of repeating (`ClaimResult.repeats`).
    """
    compared = {claim.metric}
    if claim.change and "metric" in claim.change:  # two measurements of the same runs
        compared = set(claim.change["metric"])
    everything = runs
    frame = runs[runs["metric"].isin(compared)]
    if claim.datasets is not None:
        frame = frame[frame["dataset"].isin(claim.datasets)]
    across = across_datasets(claim)
    if claim.statistic == "slope":
        lengths = sorted(frame["length"].unique()) if len(frame) else []
        label = f"lengths {int(lengths[0])}-{int(lengths[-1])}" if lengths else "no lengths"
        groups = [(label, frame)]
    elif across:  # sizes paired by rank: "full" is another number on each dataset
        frame = frame.assign(n_train=frame.groupby("dataset")["n_train"].rank(method="dense").astype(int))
        groups = [(" vs ".join(across), frame)] if frame["dataset"].isin(across).any() else []
    else:
        groups = sorted(frame.groupby("dataset"), key=lambda kv: kv[0])
    results, used = [], []  # used: per result, the seeds it read
    for dataset, sub in groups:
        if claim.statistic == "spread":
            # a fixed design, on the first `planned` seeds: a spread over seeds is no mean whose t statistics
            # grow with the seeds, and its permutation test cannot reach an early look's level at 3 seeds
            # (its smallest p-value is 1/8)
            seeds = sorted(sub["seed"].unique())[:planned]
            estimate, p_more, p_less, n, sizes = spread_difference(claim, sub[sub["seed"].isin(seeds)])
            sizes = tuple(int(x) for x in sizes)
            used.append(seeds)
            fixed = dict(method=SPREAD_TEST, looks=(planned or n,), pending=n < (planned or n))
            if p_more is None:
                results.append(ClaimResult(claim, dataset, "inconclusive", estimate, None, None, n, sizes,
                                           note="fewer than 3 seeds with both conditions: no test of a spread",
                                           **fixed))
                continue
            # "better" for a: more spread where higher is better, less where lower is
            p_for, p_against = (p_more, p_less) if claim.prefers_higher else (p_less, p_more)
            results.append(ClaimResult(claim, dataset, verdict_of(p_for, p_against), estimate, None, None, n,
                                       sizes, note=f"one-sided p = {min(p_for, p_against):.3f}",
                                       p_value=min(p_for, p_against), level=ONE_SIDED, **fixed))
            continue
        diff = weakest_difference(claim, sub)
        if claim.statistic in ("slope", "scaling"):  # one value per seed over the sizes (or lengths)
            per_seed, sizes = diff, ()
        else:
            diff = diff.reset_index(name="diff")
            sizes = select_sizes(claim.sizes, diff["n_train"].unique().tolist())
            per_seed = diff[diff["n_train"].isin(sizes)].groupby("seed")["diff"].mean()
        sizes = tuple(int(s) for s in sizes)
        per_seed = per_seed.sort_index()  # the seeds in order: look k reads the first n_k
        # the verdict's tests at the looks of the sequential procedure; at the look it rests on, they reject
        # exactly where its repeated interval's rule (`suite.statistics.decide`) says, but for a claim over
        # several pairs, whose contradiction needs one pair against it (`pairwise_p_values`)
        p_values, pairs = pairwise_p_values(claim, sub, sizes, per_seed.index, per_seed.to_numpy())
        decision = sequential_test(claim.test, per_seed.to_numpy(), claim.margin, planned, p_values)
        plain = decision if p_values is None else sequential_test(claim.test, per_seed.to_numpy(), claim.margin,
                                                                  planned)
        values = per_seed.to_numpy()[: decision.n_seeds]
        used.append(list(per_seed.index[: decision.n_seeds]))
        sequential = dict(looks=decision.looks, level=decision.level, pending=decision.pending,
                          method=TOST if claim.test == "negligible" else INTERVAL)
        if len(values) < 2:
            sign = 1.0 if claim.prefers_higher else -1.0
            results.append(
                ClaimResult(claim, dataset, "inconclusive", None if per_seed.empty else sign * float(values.mean()),
                            None, None, len(values), sizes,
                            note="fewer than 2 seeds with both conditions: no interval", **sequential)
            )
            continue
        estimate, low, high = repeated_interval(values, decision)
        verdict = decision.verdict
        by_pair = ""
        if verdict == "contradicted" and len(pairs) > 1:
            # contradicted by one pair's own differences (`pairwise_p_values`): its interval, at the level it
            # was tested at, is the one that lies against the claim
            name, pair = min(pairs.items(), key=lambda kv: decision_p_values(
                claim.test, kv[1][: decision.n_seeds], claim.margin)[1])
            estimate, low, high = repeated_interval(pair, dataclasses.replace(decision, level=decision.level / len(pairs)))
            by_pair = f"contradicted by {name} (its own difference, at the look's level / {len(pairs)})"
        if len(pairs) > 1:  # the estimate is the per-seed weakest pair's: each pair's own mean beside it
            sign = 1.0 if claim.prefers_higher else -1.0
            by_pair = "; ".join(filter(None, (by_pair, "per pair, a - b: " + ", ".join(
                f"{name} {sign * float(np.mean(pair[: decision.n_seeds])):+.3f}" for name, pair in pairs.items()))))
        room = room_to_perfect(claim, sub, sizes, per_seed.index[: decision.n_seeds])
        reason = undecidable(claim, values, low, high, test_split_size(everything, dataset), decision.pending,
                             room)
        # a contradiction stands against the interval rules (the data did decide it), not against a constant
        # difference or two saturated models (either sign is then an artifact)
        limited = False
        if reason and (verdict != "contradicted" or reason.startswith(("the same", "at the ceiling"))):
            verdict, note, limited = "undecidable", reason, reason.startswith(DATA_LIMITS)
        else:
            note = ""
        note = "; ".join(filter(None, (by_pair, note)))
        if plain.verdict == "contradicted" and decision.verdict != "contradicted":
            note = "; ".join(filter(None, (f"the weakest of the pairs per seed is against the claim, but no one "
                                           f"pair is (each tested at the look's level / {len(pairs)}): the noise "
                                           f"of a minimum over pairs, not a contradiction", note)))
        if decision.pending:
            note = "; ".join(filter(None, (f"no decision yet at {decision.n_seeds} of {decision.looks[-1]} "
                                           f"planned seeds", note)))
        if claim.test == "negligible" and decision.p_for is not None:
            note = "; ".join(filter(None, (f"TOST p = {decision.p_for:.3g}", note)))
        # shown as plain a - b (the sign flip for lower-is-better metrics is internal)
        if not claim.prefers_higher:
            estimate, low, high = -estimate, -high, -low
        drawn = repeat_codes(claim.test, per_seed.to_numpy(), claim.margin, decision.looks[-1], p_values,
                             decision.n_seeds, seed=zlib.crc32(str(dataset).encode())) if repeats else ()
        results.append(ClaimResult(claim, dataset, verdict, estimate, low, high, len(values), sizes,
                                   note=note, p_value=decision.p_value, data_limited=limited, repeats=drawn,
                                   **sequential))
    if claim.device and "device" in everything.columns:
        devices = sorted(everything["device"].dropna().unique())
        if not any(claim.device in d for d in devices):
            note = f"not testable on {', '.join(devices) or 'this device'}: the claim is about a {claim.device}"
            results = [dataclasses.replace(r, verdict="undecidable", note="; ".join(filter(None, (r.note, note))),
                                           data_limited=True) for r in results]
    if "dataset" in everything.columns:
        for i, r in enumerate(results):
            data = everything if claim.statistic == "slope" or across else everything[everything["dataset"] == r.dataset]
            data = data[data["seed"].isin(used[i])] if "seed" in data.columns else data
            if claim.datasets is not None:
                data = data[data["dataset"].isin(claim.datasets)]
            gated = tuple(gate_checks(claim, data, gates))
            failed = [c.text() for c in gated if not c.passed]
            # sizes across datasets are ranks, not sizes: every size counts
            sizes = () if across else r.sizes
            nothing = learned_nothing(claim, data, sizes) if claim.gated != "none" else ""
            without = competent_pairs(claim, data, gates, sizes) if (failed or nothing) and not across else None
            if without:  # the pairs that can decide do; the others are named, with why
                reduced, left_out = without
                (inner,) = [x for x in evaluate_claim(reduced, everything[everything["dataset"] == r.dataset],
                                                      gates, checks, planned, repeats) if x.dataset == r.dataset]
                (column, values), = claim.each.items()
                dropped = tuple(f"{column}={v}" for v in values if v not in reduced.each[column])
                results[i] = dataclasses.replace(inner, claim=claim, left_out=dropped + inner.left_out,
                                                 note="; ".join(filter(None, (left_out, inner.note))))
                continue
            blind = list(dict.fromkeys(c.limit() for c in gated if c.uninformative))
            blind += list(filter(None, [nothing]))
            # never supported or contradicted on a model below its gate, or where a gate cannot tell
            verdict, note = (("undecidable", "; ".join([*blind, *failed, r.note])) if failed or blind
                             else (r.verdict, r.note))
            moved = {} if checks is None or claim.gated == "none" else longer_training(claim, data, checks, r, across)
            note = "; ".join(filter(None, (note.strip("; "), checked_note(moved))))
            results[i] = dataclasses.replace(r, verdict=verdict, note=note, gates=gated,
                                             data_limited=r.data_limited or bool(blind),
                                             qualifier=qualifiers(claim, data, sizes, moved)
                                             if claim.gated != "none" else "")
    return [decide_control(r) for r in results] if claim.control else results


def across_datasets(claim: Claim) -> tuple | None:
    """(a's dataset, b's dataset) when the two conditions name different datasets, else None."""
    names = tuple(c.get("dataset") for c in (claim.a, claim.b))
    if all(isinstance(n, str) for n in names) and names[0] != names[1]:
        return names
    return None

"""Whether a verdict's runs were trained well enough to say something about the bias.

A verdict can measure the training rather than the bias: a model still
improving when its step budget ran out, runs that ended at the trivial
baseline, a classifier that does not fit its own training data. Two kinds
of check, both read from the stored runs alone:

- *Competence gates* (`Gate`): a study declares, per compared model, the
  level it must reach on its matched task (from the literature where it
  gives one, cited beside it; else relative to a baseline on the same data).
  A verdict comparing a model below its gate is *undecidable*, never
  supported or contradicted (`gate_checks`, applied by `suite.claims`).
- *Qualifiers* (`qualifiers`): shown beside the verdict (the report shows
  them in red); they never change the verdict itself. "Under-trained" is
  decided from evidence: runs still improving on the claim's metric when
  their budget ended are trained again at a longer budget
  (`suite.training.checks`), and the qualifier stays only where that moves
  the claim's difference by more than half its interval (`longer_training`).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Mapping

import pandas as pd

from suite.conditions import compared_pairs, select_sizes, selects
from suite.differences import per_seed
from suite.metrics import higher_is_better

SKILL = "test/skill"
IMPROVING = "train/improving_on_metric"  # suite.training.objectives.metric_convergence
TRAIN_ACCURACY, BASELINE = "train/final_accuracy", "test/baseline_accuracy"
SATURATED = 0.99  # a mean test skill this close to 1: nothing left to learn, whatever the loss still does
FITS = 0.5  # a classifier fits its own training data to at least this skill over the majority class
# A gate where no source gives a level and no baseline model runs on the same data: above the trivial
# baseline by a margin, half-way from it to perfect (test skill 0.5; the level at which `qualifiers`
# counts a classifier as fitting its training data). Ours, not the literature's: the gates say so.
FLOOR = FITS
FLOOR_SOURCE = ("no source gives a level for this task at these sizes: test skill at least 0.5, half-way "
                "from the trivial baseline to perfect (a floor of this suite's, not a published level)")
# a run whose test skill is at most this ended at its trivial baseline (the training mean, the commonest
# label): it learned nothing the baseline does not know, however long it trained or wherever it stopped
AT_BASELINE = 0.02


@dataclasses.dataclass(frozen=True)
class Gate:
    """The level a compared model must reach on its matched task before a verdict comparing it counts.

    Args:
      model: a condition naming the model (`suite.conditions.selects`), e.g. {"arch": "lstm",
        "setting": "budget x4"}. The gate concerns every condition of a claim that selects some of its
        runs (on any variant: a CNN unable to learn natural images says nothing on permuted ones), and
        is measured on its runs on matched data (`runs.matched`), narrowed by `on`.
      metric: the metric measured, e.g. "test/skill"; its direction is the metric's own (`suite.metrics`).
      level: the level the mean over its runs must reach (at least it where higher is better, at most it
        where lower is); with `relative_to`, added to that model's mean on the same data and sizes
        (-0.03: at most 3 points below it).
      source: where the level comes from, in words: a publication, or why the gate is relative.
      sizes: the training-set sizes it is measured at ("largest:K", "smallest:K", "all", or sizes:
        `suite.conditions.select_sizes`), among the model's own.
      datasets: the datasets it applies on (None: every dataset where the model has matched runs).
      relative_to: a baseline model's condition, e.g. {"arch": "logreg"}: the level is relative to it.
      on: more of the condition the level is measured on, e.g. {"variant": "natural"} where several
        variants of a study match the bias.
      name: the model's name in the verdict's note (default: the values of `model`, e.g. "lstm@budget x4").
    """

    model: Mapping
    metric: str
    level: float
    source: str
    sizes: object = "largest:1"
    datasets: tuple | None = None
    relative_to: Mapping | None = None
    on: Mapping | None = None
    name: str = ""

    def __post_init__(self):
        if not self.model:
            raise ValueError(f"a gate names its model: a condition such as {{'arch': 'lstm'}}. Received: "
                             f"model={dict(self.model)}")
        if not self.source:
            raise ValueError(f"the gate on {dict(self.model)} states the source of its level "
                             f"({self.level:g} on {self.metric})")

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        values = ["/".join(map(str, v)) if isinstance(v, tuple) else str(v) for v in self.model.values()]
        return values[0] + "".join(f"@{v}" for v in values[1:])

    def rule(self) -> str:
        """The gate in words, e.g. "test/accuracy at least logreg's - 0.03 (largest:1 sizes)"."""
        at = "at least" if higher_is_better(self.metric) else "at most"
        if self.relative_to:
            base = "/".join(str(v) for v in self.relative_to.values())
            level = f"{base}'s mean {'-' if self.level < 0 else '+'} {abs(self.level):g}"
        else:
            level = f"{self.level:g}"
        where = f" on {', '.join(self.datasets)}" if self.datasets else ""
        if self.relative_to and self.metric == "test/accuracy" and self.level:  # `_trivial_bar`
            level += f"; cannot decide where that is within {abs(self.level):g} of the commonest label"
        return f"{self.metric} {at} {level} ({self.sizes} sizes{where})"

    def to_json(self) -> str:
        d = dataclasses.asdict(self)
        for field in ("model", "relative_to", "on"):
            d[field] = None if getattr(self, field) is None else dict(getattr(self, field))
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Gate":
        d = json.loads(text)
        for field in ("model", "relative_to", "on"):
            if d.get(field) is not None:
                d[field] = {k: tuple(v) if isinstance(v, list) else v for k, v in d[field].items()}
        for field in ("sizes", "datasets"):
            if isinstance(d.get(field), list):
                d[field] = tuple(d[field])
        return cls(**d)


@dataclasses.dataclass(frozen=True)
class GateCheck:
    """A gate measured on one dataset: the model's mean, the level it had to reach, whether it did."""

    gate: Gate
    dataset: str
    value: float
    threshold: float
    reference: float | None  # the baseline model's mean, for a relative gate
    n_runs: int
    # the commonest test label's accuracy, where a relative gate's threshold is too close to it to tell a
    # competent model from one that answers that label (`uninformative`)
    trivial: float | None = None

    @property
    def uninformative(self) -> bool:
        """Whether the gate cannot tell competence here: its threshold within its own tolerance of the
        commonest label (`_trivial_bar`). Not a model's failing: the data's (the verdict is undecidable,
        and the dataset counts for nothing over several)."""
        return self.trivial is not None

    def limit(self) -> str:
        """Why an uninformative gate cannot decide, in words (the same for every model on the dataset)."""
        base = "/".join(str(v) for v in self.gate.relative_to.values())
        plus = "-" if self.gate.level < 0 else "+"
        return (f"on {self.dataset} the gates' bar {self.threshold:.3g} ({base} {self.reference:.3g} {plus} "
                f"{abs(self.gate.level):g}) is within {abs(self.gate.level):g} of the commonest label's "
                f"{self.trivial:.3g}: it cannot tell a competent model from one that always answers that label")

    @property
    def passed(self) -> bool:
        return self.value >= self.threshold if higher_is_better(self.gate.metric) else self.value <= self.threshold

    def text(self) -> str:
        """"lstm@budget x4 not competent (0.412 < 0.9)" where it failed, else what it reached."""
        sign = ("<" if higher_is_better(self.gate.metric) else ">") if not self.passed else \
            (">=" if higher_is_better(self.gate.metric) else "<=")
        threshold = f"{self.threshold:.3g}"
        if self.reference is not None:
            base = "/".join(str(v) for v in self.gate.relative_to.values())
            plus = "-" if self.gate.level < 0 else "+"
            threshold += f" = {base} {self.reference:.3g} {plus} {abs(self.gate.level):g}"
        what = "not competent" if not self.passed else "competent"
        if self.uninformative:
            what = f"cannot tell (the bar is within {abs(self.gate.level):g} of the commonest label {self.trivial:.3g})"
        return f"{self.gate.label} {what} ({self.value:.3g} {sign} {threshold})"


def _has_columns(frame, *conditions) -> bool:
    return all(column in frame.columns for c in conditions if c for column in c)


def measure(gate: Gate, runs, dataset: str) -> GateCheck | None:
    """The gate on `dataset`'s runs in `runs` (a tidy frame: dataset, n_train, metric, value, matched and
    the columns the gate names); None where it does not apply there or has nothing to measure."""
    if gate.datasets is not None and dataset not in gate.datasets:
        return None
    if not _has_columns(runs, gate.model, gate.on, gate.relative_to):
        return None
    data = _where_measured(gate, runs, dataset, gate.metric)
    own = data[selects(data, gate.model)]
    if own.empty:
        return None
    sizes = select_sizes(gate.sizes, own["n_train"].unique().tolist())
    own = own[own["n_train"].isin(sizes)]
    reference, trivial = None, None
    threshold = gate.level
    if gate.relative_to:
        base = data[selects(data, gate.relative_to) & data["n_train"].isin(sizes).to_numpy()]
        if base.empty:
            return None
        reference = float(base["value"].mean())
        threshold = reference + gate.level
        trivial = _trivial_bar(gate, runs, dataset, sizes, threshold)
    return GateCheck(gate, dataset, float(own["value"].mean()), float(threshold), reference, len(own), trivial)


def _where_measured(gate: Gate, runs, dataset: str, metric: str):
    """`dataset`'s rows of `metric` on matched data, narrowed by the gate's `on`."""
    data = runs[(runs["dataset"] == dataset) & (runs["metric"] == metric)]
    if "matched" in data.columns:
        data = data[data["matched"] == 1]
    return data[selects(data, gate.on or {})]


def _trivial_bar(gate: Gate, runs, dataset: str, sizes, threshold: float) -> float | None:
    """The commonest test label's accuracy where a relative accuracy gate's threshold is within the gate's
    tolerance of it, else None. "Within 3 points of logistic regression" tells a competent model from
    the trivial predictor only where that bar leads the predictor by the same 3 points; on `fair`
    (logistic regression 0.708 over its two sizes, bar 0.678, commonest label 0.677) a model that
    always answers the commonest label would pass, and raising the bar would make "within 3 points"
    mean "as good as logistic regression". So the gate says it cannot tell (`GateCheck.uninformative`).
    The label's accuracy is read on the model's own runs (`BASELINE`: the same test labels)."""
    if gate.metric != "test/accuracy":
        return None
    labels = _where_measured(gate, runs, dataset, BASELINE)
    labels = labels[selects(labels, gate.model) & labels["n_train"].isin(sizes).to_numpy()]
    if labels.empty:
        return None
    trivial = float(labels["value"].mean())
    return trivial if threshold - trivial < abs(gate.level) else None


def gate_checks(claim, runs, gates) -> list[GateCheck]:
    """Every gate a claim's verdict rests on, measured on `runs` (the verdict's data: one dataset's, or
    the claim's datasets together where it compares across them): those whose model's runs some
    condition of the claim selects, on each dataset where it applies. A control checks the machinery
    whatever the models learned, and a claim on one model's level against a constant is about that
    level itself: neither rests on a gate."""
    if claim.control or not claim.b or not gates or "dataset" not in runs.columns:
        return []
    checks = []
    for dataset in sorted(runs["dataset"].unique()):
        here = runs[runs["dataset"] == dataset]
        for gate in gates:
            if not _has_columns(here, gate.model) or not any(
                    _has_columns(here, c) and (selects(here, c) & selects(here, gate.model)).any()
                    for c in gated_conditions(claim)):
                continue
            check = measure(gate, runs, dataset)
            if check is not None:
                checks.append(check)
    return checks


def gated_conditions(claim) -> list[Mapping]:
    """The conditions whose models must pass their gates: every condition of the claim, or a's alone
    where the claim says b's failing is its subject, none for a claim on the models as initialised
    (`Claim.gated`)."""
    if claim.gated == "none":
        return []
    if claim.gated == "a":
        return [c for c, _ in compared_pairs(claim.a, claim.b, claim.each) if c]
    return claim_conditions(claim)


def claim_conditions(claim) -> list[Mapping]:
    """The conditions whose runs a claim's evidence rests on: every a, then every non-empty b, of the
    pairs it compares (`suite.conditions.compared_pairs`), each once."""
    pairs = compared_pairs(claim.a, claim.b, claim.each)
    sides = [a for a, _ in pairs if a] + [b for _, b in pairs if b]
    return list({json.dumps(c, sort_keys=True, default=list): c for c in sides}.values())


def _training_skill(runs) -> float | None:
    """Mean over runs of the training accuracy's skill over the majority class (None: no classifier)."""
    pivot = runs[runs["metric"].isin((TRAIN_ACCURACY, BASELINE))].pivot_table(
        index="run_key" if "run_key" in runs.columns else ["seed", "n_train"], columns="metric", values="value")
    if TRAIN_ACCURACY not in pivot or BASELINE not in pivot or pivot.dropna().empty:
        return None
    pivot = pivot.dropna()
    return float(((pivot[TRAIN_ACCURACY] - pivot[BASELINE]) / (1 - pivot[BASELINE]).clip(lower=1e-12)).mean())


def condition_name(condition: Mapping) -> str:
    """A condition in words: "arch=lstm, variant=natural" (a tuple's values joined by "/")."""
    return ", ".join(f"{k}={'/'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in condition.items())


def at_baseline(runs):
    """The rows of `runs` (a tidy frame) whose run ended at its trivial baseline: test skill at most
    `AT_BASELINE`, whether it stopped early or used its whole budget (one row per run, its skill)."""
    rows = runs[(runs["metric"] == SKILL) & (runs["value"] <= AT_BASELINE)]
    return rows.drop_duplicates("run_key") if "run_key" in rows.columns else rows


def shifted_accuracies(claim) -> tuple[str, ...]:
    """The accuracies a claim reads on a test set other than the matched one (digits shifted, strings
    longer than trained): where a model that learned its own test set can still sit at chance."""
    read = claim.change["metric"] if claim.change and "metric" in claim.change else (claim.metric,)
    return tuple(m for m in read if m.split("/")[-1] == "accuracy" and m != "test/accuracy")


def at_chance(runs, metric) -> tuple[int, int, float]:
    """(runs at chance on `metric`, runs, mean value): at chance where the accuracy's skill over the
    commonest test label (`BASELINE`: the same labels, shifted or lengthened) is at most AT_BASELINE."""
    pivot = runs[runs["metric"].isin((metric, BASELINE))].pivot_table(
        index="run_key" if "run_key" in runs.columns else ["seed", "n_train"], columns="metric", values="value")
    if metric not in pivot or BASELINE not in pivot or pivot.dropna().empty:
        return 0, 0, float("nan")
    pivot = pivot.dropna()
    skill = (pivot[metric] - pivot[BASELINE]) / (1 - pivot[BASELINE]).clip(lower=1e-12)
    return int((skill <= AT_BASELINE).sum()), len(skill), float(pivot[metric].mean())


def _stuck(runs) -> tuple[int, int, float]:
    """(runs that ended at their trivial baseline, runs, mean test skill) among `runs`' test skills (the
    rule of "at the trivial baseline": test skill at most AT_BASELINE, wherever the run stopped)."""
    skill = runs.loc[runs["metric"] == SKILL, "value"]
    return int((skill <= AT_BASELINE).sum()), len(skill), float(skill.mean()) if len(skill) else float("nan")


def _condition_runs(runs, condition, sizes):
    mask = selects(runs, condition)
    if len(sizes):
        mask &= runs["n_train"].isin(sizes).to_numpy()
    return runs[mask]


def undertrained_conditions(claim, runs, sizes) -> list[tuple[Mapping, int, int]]:
    """The conditions of `claim` whose runs (`runs`: one dataset's tidy rows; at the claim's `sizes`) were
    mostly still improving on the claim's metric when their step budget ended (`IMPROVING`: the
    validation metric rose in the last two checks by more than noise): (condition, runs improving, runs).
    Not where the runs' test skill is at the ceiling (a loss can keep falling at a perfect score).
    These are the conditions a longer budget is tried on (`suite.training.checks`)."""
    out = []
    for condition in claim_conditions(claim):
        sub = _condition_runs(runs, condition, sizes)
        improving = sub.loc[sub["metric"] == IMPROVING, "value"]
        perfect = sub.loc[sub["metric"] == SKILL, "value"]
        if len(improving) and improving.mean() >= 0.5 and not (len(perfect) and perfect.mean() >= SATURATED):
            out.append((condition, int(improving.sum()), len(improving)))
    return out


def qualifiers(claim, runs, sizes, moved: dict | None = None) -> str:
    """Why a verdict may measure training rather than the bias, from how its runs ended: a condition
    whose runs were mostly still improving on the claim's metric when their budget ended
    (`undertrained_conditions`), unless the same runs at a longer budget (`moved`: condition name ->
    (how much the claim's difference moves, half the interval's width, seeds), from
    `longer_training`) leave the difference within half the interval's width
    ("under-trained", with both numbers, or "not checked at a longer budget"); half or more of whose
    runs ended at their trivial baseline, on any data and wherever they stopped ("at the trivial
    baseline": `at_baseline`); half or more of whose runs, having learned their own test set, are at
    chance on the shifted or longer test set the claim reads ("at chance on ...": `at_chance`); or
    whose classifiers do not fit their own matched training data ("underfit": training skill below
    FITS). The last three only where the claim compares two conditions (a claim on one model's level
    against a constant, such as "the RNN fails beyond 20 steps", is about that level itself). "" when none applies."""
    notes = []
    if "matched" not in runs.columns:
        return ""
    moved = moved or {}
    for condition, improving, n in undertrained_conditions(claim, runs, sizes):
        name = condition_name(condition)
        what = f"{improving} of {n} runs still improving on the metric when their step budget ended"
        if name not in moved:
            notes.append(f"under-trained: {name} ({what}; not checked at a longer budget)")
        elif abs(moved[name][0]) > moved[name][1]:
            delta, half, seeds = moved[name]
            notes.append(f"under-trained: {name} ({what}; at a longer budget the difference moves by {delta:+.3f} "
                         f"on {seeds} seeds, more than the interval's half-width {half:.3f})")
    for condition in claim_conditions(claim):
        sub = _condition_runs(runs, condition, sizes)
        name = condition_name(condition)
        stuck, n, mean = _stuck(sub)
        if claim.b and n and stuck >= n / 2:
            notes.append(f"at the trivial baseline: {name} ({stuck} of {n} runs end with test skill "
                         f"<= {AT_BASELINE:g}; mean {mean:+.2f})")
        else:
            # a model that learned its own test set and is at chance on the shifted or longer one (the
            # strided CNN under a 2-pixel shift, the MLP on pixels never lit in training): a comparison with
            # it asks only whether the other model stays above chance, so the verdict says so
            for metric in shifted_accuracies(claim):
                low, n, mean = at_chance(sub, metric)
                if claim.b and n and low >= n / 2:
                    notes.append(f"at chance on {metric}: {name} ({low} of {n} runs within {AT_BASELINE:g} skill "
                                 f"of the commonest label; mean {mean:.2f}), so the claim tests only whether "
                                 "the other side stays above chance")
        fit = _training_skill(sub[sub["matched"] == 1])  # on mismatched data, not fitting may be the effect
        if claim.b and fit is not None and fit < FITS:
            notes.append(f"underfit: {name} does not fit its own training data (training skill "
                         f"{fit:+.2f} < {FITS:g})")
    return "; ".join(dict.fromkeys(notes))


def learned_nothing(claim, runs, sizes) -> str:
    """Why a "better" claim compares two models that both learned nothing it could read ("" where not):
    some pair of its conditions whose a side ended at its trivial baseline in half or more of its runs
    (test skill at most AT_BASELINE on its own test set) and whose b side did too, or is at chance on
    the shifted or longer test set the claim reads (`at_chance`). A lead between two such models is one
    between two ways of learning nothing (the MLP trained on random placements, 0.13 against the MLP
    trained in the corner, 0.08, over shifts of digits it never learned), not a difference in what
    they learned: the verdict is undecidable either way. Where only b learned nothing the claim still
    tests whether a learned something (the "at chance" and "at the trivial baseline" qualifiers say so)."""
    if claim.test != "better" or not claim.b or "matched" not in runs.columns:
        return ""

    for a, b in compared_pairs(claim.a, claim.b, claim.each):
        low_a, n_a, _ = _stuck(_condition_runs(runs, a, sizes))
        if not (n_a and low_a >= n_a / 2):
            continue
        low_b, n_b, _ = _stuck(_condition_runs(runs, b, sizes))
        if n_b and low_b >= n_b / 2:
            why_b = f"{condition_name(b)} too ({low_b} of {n_b})"
        else:
            chance = [(m, *at_chance(_condition_runs(runs, b, sizes), m)) for m in shifted_accuracies(claim)]
            chance = [(m, low, n) for m, low, n, _ in chance if n and low >= n / 2]
            if not chance:
                continue
            metric, low_b, n_b = chance[0]
            why_b = f"{condition_name(b)} at chance on {metric} ({low_b} of {n_b} runs)"
        return (f"neither side learned what the claim reads: {condition_name(a)} at its trivial baseline "
                f"({low_a} of {n_a} runs with test skill <= {AT_BASELINE:g}), {why_b}")
    return ""


def longer_training(claim, runs, checks, result, across: tuple | None = None) -> dict:
    """What training at a longer budget does to a claim's difference: for each condition whose runs were
    still improving (`suite.adequacy.undertrained_conditions`) and have check runs (the same runs at a
    longer budget, `suite.training.checks`): condition name -> (how much the difference moves, on the
    checked seeds, with the check runs in place of the condition's; half the width of the claim's
    interval; the seeds checked). Empty where nothing was flagged or checked, or the claim has no interval.
    `across`: the datasets of a claim that compares across them (`suite.claims.across_datasets`): its
    sizes are ranks within each dataset, as its verdict pairs them, and its checks come from all of them."""
    if result.low is None or result.high is None or claim.statistic != "mean" or not len(checks):
        return {}
    compared = set(claim.change["metric"]) if claim.change and "metric" in claim.change else {claim.metric}
    if across:
        runs = _size_ranks(runs, across)
        checks = _size_ranks(checks, across, runs)
        later = checks[checks["metric"].isin(compared)]
    else:
        later = checks[checks["metric"].isin(compared) & (checks["dataset"] == result.dataset)]
    frame = runs[runs["metric"].isin(compared)]
    sizes = list(result.sizes)
    moved = {}
    for condition, _, _ in undertrained_conditions(claim, runs, sizes):
        longer = later[selects(later, condition) & later["n_train"].isin(sizes).to_numpy()]
        seeds = sorted(set(longer["seed"]))
        if not seeds:
            continue
        slot = ["task", "n_train", "seed"]  # the check of a run has its task, size and seed
        replaced = frame.merge(longer[slot].drop_duplicates(), on=slot, how="left", indicator=True)["_merge"]
        substituted = pd.concat([frame[(replaced == "left_only").to_numpy()], longer[frame.columns]])
        before = per_seed(claim, frame[frame["seed"].isin(seeds)], sizes)
        after = per_seed(claim, substituted[substituted["seed"].isin(seeds)], sizes)
        both = before.index.intersection(after.index)
        if len(both):
            sign = 1.0 if claim.prefers_higher else -1.0  # shown as plain a - b, as the estimate is
            moved[condition_name(condition)] = (sign * float((after[both] - before[both]).mean()),
                                                (result.high - result.low) / 2, len(both))
    return moved


def _size_ranks(frame, datasets, ranked=None):
    """`frame`'s rows of `datasets` with each training-set size replaced by its rank within its dataset
    (1 = the smallest), the ranks read from `ranked` (a frame already ranked this way, whose sizes a
    check run repeats) or from `frame` itself."""
    frame = frame[frame["dataset"].isin(datasets)]
    if ranked is None:
        sizes = frame[["dataset", "n_train"]].drop_duplicates()
        sizes["rank"] = sizes.groupby("dataset")["n_train"].rank(method="dense").astype(int)
    else:
        sizes = ranked[["dataset", "n_train", "original"]].drop_duplicates().rename(
            columns={"n_train": "rank", "original": "n_train"})
    out = frame.merge(sizes, on=["dataset", "n_train"], how="inner")
    return out.assign(original=out["n_train"], n_train=out.pop("rank"))


def checked_note(moved: dict) -> str:
    """The longer-training checks that leave a verdict standing, in words (those that do not are
    qualifiers: `suite.adequacy.qualifiers`)."""
    return "; ".join(f"{name} checked at a longer budget: the difference moves by {delta:+.3f} on {n} seeds, within "
                     f"the interval's half-width {half:.3f}" for name, (delta, half, n) in moved.items()
                     if abs(delta) <= half)

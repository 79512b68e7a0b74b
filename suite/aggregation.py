"""A claim's verdict over its datasets, and the run's verdicts after Holm's adjustment.

`suite.claims` gives one verdict per dataset; here they become the claim's:
contradicted where contradicted on any dataset that can decide it,
supported only where every such dataset supports it. A dataset cannot
decide a claim where a compared model is below its competence gate
(`suite.adequacy.Gate`) or where its verdict there is undecidable for what
the data allow (both models at the ceiling, a margin below one test
example, a constant difference: `suite.decidable.DATA_LIMITS`): such a
dataset counts for nothing either way, as a measurement that could not
have gone the other way is no evidence. The verdict then says which
datasets decided it (`coverage`), and the per-dataset rows stay on the
page. A control passes only where it passes on every dataset. Across the
run, every evidential verdict's p-value (controls aside) is adjusted by
Holm's method, and the adjusted verdicts are shown beside the unadjusted.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from suite.sequential import CODES, DECIDED
from suite.statistics import ONE_SIDED, holm

CONTROL_FAILED = "control failed"
AGGREGATION = ("contradicted if contradicted on any dataset that can decide it (its models pass their gates and "
               "its data leave room for either outcome), supported only if every such dataset supports it")


def decide_control(result):
    """A control's result (`suite.claims.ClaimResult`) decided or failed, never undecidable (its outcome is
    known): it stands where supported and is `CONTROL_FAILED` otherwise, the note saying where its
    interval lies against its band. A control that the seeds so far leave undecided while more seeds
    may decide it (`pending`: a time budget's first look) is not failed yet: it stays inconclusive, its
    note saying no decision yet."""
    if result.verdict == "supported" or (result.pending and result.verdict == "inconclusive"):
        return result
    claim = result.claim
    if result.data_limited:  # its note says why no interval could decide it (a band below one test example)
        why = "the data cannot check the machinery here"
    elif result.low is None:
        why = "no interval to check the machinery with"
    else:
        interval = f"the interval [{result.low:+.3f}, {result.high:+.3f}]"
        why = (f"{interval} leaves the band [-{claim.margin:g}, {claim.margin:g}]" if claim.test == "negligible"
               else f"{interval} does not support what the control expects")
    return dataclasses.replace(result, verdict=CONTROL_FAILED, note="; ".join(filter(None, (why, result.note))))


def overall_verdict(verdicts: list[str], counts: list[bool] | None = None, control: bool = False) -> str:
    """A claim's verdict over its datasets' verdicts (`counts`: per dataset, whether it can decide the
    claim, `suite.claims.ClaimResult.counts`; all by default): contradicted where contradicted on any
    dataset that counts; supported where every such dataset supports it; undecidable where none counts
    or every one that does is undecidable; else inconclusive. A dataset below its gates, or undecidable
    there for what its data allow (a ceiling, the test set's resolution), counts for nothing either way:
    treating the two alike keeps a claim supported on copy and at the ceiling on adding from reading as
    weaker evidence than one whose adding runs fell below a gate. A dataset undecidable because its
    interval is too wide for a band counts, and does not support (more seeds may narrow it). A control fails where it fails on any dataset, and is inconclusive
    where a dataset has no decision yet (`decide_control`). None: inconclusive."""
    if not verdicts:
        return "inconclusive"
    if control:
        if all(v == "supported" for v in verdicts):
            return "supported"
        return "inconclusive" if all(v in ("supported", "inconclusive") for v in verdicts) else CONTROL_FAILED
    counts = [True] * len(verdicts) if counts is None else counts
    decided = [v for v, ok in zip(verdicts, counts) if ok]
    if "contradicted" in decided:
        return "contradicted"
    if not decided or all(v == "undecidable" for v in decided):
        return "undecidable"
    return "supported" if all(v == "supported" for v in decided) else "inconclusive"


def claim_verdict(results: list, verdicts: list[str] | None = None) -> str:
    """`overall_verdict` of one claim's per-dataset results (`suite.claims.ClaimResult`; `verdicts`: others
    of theirs in their place, e.g. the Holm-adjusted ones)."""
    verdicts = [r.verdict for r in results] if verdicts is None else verdicts
    return overall_verdict(verdicts, [r.counts for r in results],
                           control=bool(results) and results[0].claim.control)


def claim_repeat(results: list) -> float | None:
    """The estimated chance that a second set of seeds gives the claim's decision over its datasets
    (`claim_verdict`): per draw of `suite.sequential.repeat_codes`, each dataset's verdict from that draw
    (each dataset's draws its own: their runs are independent), the others' as found (a verdict no test
    made: below a gate, at the ceiling), and the share of draws whose verdict over the datasets is the one
    found. None for a control, for a claim that no dataset's test decided, or one that is no decision."""
    found = claim_verdict(results) if results else None
    drawn = [r for r in results if r.repeats and r.verdict in CODES]
    if found not in DECIDED or not drawn or results[0].claim.control:
        return None
    names = {code: verdict for verdict, code in CODES.items()}
    draws = zip(*[r.repeats if r.repeats and r.verdict in CODES else [r.verdict] * len(drawn[0].repeats)
                  for r in results])
    return float(np.mean([claim_verdict(results, [names.get(v, v) for v in draw]) == found for draw in draws]))


def coverage(results: list) -> str:
    """Which datasets decided a claim's verdict over several, where some could not, with what the others
    measured, so that a direction left out is in sight: "on adding_T50 only; copy_T50 (a - b = -0.883)
    cannot decide it"; and the models of a claim over several left out where they decided (`left_out`):
    "without arch=ft_transformer on breast_cancer, synth_irregular (...)". "" where nothing was left out."""
    if not results or results[0].claim.control:
        return ""  # a control fails where it fails on any dataset: none counts for nothing
    counted = [r.dataset for r in results if r.counts]
    out = []
    if len(results) > 1 and 0 < len(counted) < len(results):
        left = [f"{r.dataset} ({'' if r.estimate is None else f'a - b = {r.estimate:+.3f}: '}{_why_not(r)})"
                for r in results if not r.counts]
        out.append(f"on {', '.join(counted)} only; {', '.join(left)} cannot decide it")
    # a claim over several models whose pair with one of them could not decide on some datasets
    dropped = {}
    for r in results:
        if r.counts:
            for value in r.left_out:
                dropped.setdefault(value, []).append(r.dataset)
    out += [f"without {value} on {', '.join(datasets)} (below its gate or learned nothing there)"
            for value, datasets in dropped.items()]
    return "; ".join(out)


def _why_not(result) -> str:
    """Why a dataset counts for nothing, in a few words: a model's failing (below its gate: a recipe or a
    budget may be at fault, and more training could change it) is told apart from the data's (at the
    ceiling, a margin below one example, a gate that cannot tell: no training changes it)."""
    failed = [check.gate.label for check in result.gates if not check.passed and not check.uninformative]
    if failed:
        return f"{', '.join(failed)} below {'its gate' if len(failed) == 1 else 'their gates'}"
    if any(check.uninformative for check in result.gates):
        return "its gate cannot tell a competent model there"
    for words, why in LIMITS:  # the first clause of the note `suite.decidable.undecidable` wrote
        if words in result.note:
            return why
    return "neither side learned what the claim reads" if "neither side learned" in result.note else "its data"


# (words in an undecidable dataset's note, what a coverage line says of it), in the order they are tried
LIMITS = (("at the ceiling", "at the ceiling"), ("for every seed: fixed by construction", "the same difference on "
          "every seed"), ("below one example", "a margin below one test example"), ("not testable on", "not testable on "
          "this device"))


def holm_verdicts(results: list, level: float = ONE_SIDED) -> list[tuple[str, float | None]]:
    """(verdict, Holm-adjusted p) of each result, adjusted across all of them: every evidential decision
    with a p-value (supported, contradicted or inconclusive; controls and undecidable verdicts are
    not in the family) has its p-value adjusted by Holm's method (`suite.statistics.holm`) and keeps a
    supported or contradicted verdict only where the adjusted p is at most `level` (the one-sided level
    of every test), inconclusive otherwise. The others keep their verdict, with no adjusted p.

    A sequential verdict (`suite.sequential`) tests at its look's nominal level, below `level`; its
    p-value is the look's, scaled by `level` / that nominal level (`suite.sequential.Decision.p_value`),
    so that every p-value here is read against the same `level`: an approximation (the scaled p is not
    the chance of the whole procedure rejecting), exact in that it is at most `level` exactly where the
    verdict's own look rejects."""
    family = [i for i, r in enumerate(results) if not r.claim.control and r.p_value is not None
              and r.verdict in ("supported", "contradicted", "inconclusive")]
    adjusted = dict(zip(family, holm([results[i].p_value for i in family])))
    out = []
    for i, r in enumerate(results):
        if i not in adjusted:
            out.append((r.verdict, None))
        else:
            p = float(adjusted[i])
            out.append((r.verdict if p <= level else "inconclusive", p))
    return out

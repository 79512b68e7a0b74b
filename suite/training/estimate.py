"""`--plan`: what a run would train and how long it would take, without training.

The estimate uses the cost model of the progress bar's ETA (`workers.Eta`):
a unit (a population, or one run) costs its members' budgeted optimizer
steps times the seconds per member-step measured on its model group
(dataset, architecture, hyperparameters), here read from the runs already
in the database, per device those runs trained on. Model groups never measured on a device are
estimated at that device's average rate (said in the output), so the figure
is only as good as the runs behind it: a quick run on this machine first
makes the full profile's estimate honest for its models.
"""

from __future__ import annotations

import json
from collections import defaultdict

from suite.text import format_duration


def measured_rates(store) -> dict:
    """device -> {model group: seconds per member-step}, from the successful runs in `store`; a group
    trained without steps (a scikit-learn baseline) gets ("run", seconds per run) instead. The
    average of a device (for groups never measured there) is under the key None: its total
    seconds over its total steps, as the ETA averages.

    A population's run holds its share of the population's time (its time
    over its members); steps are each run's budgeted steps, so a group's
    rate is seconds per budgeted member-step, as the ETA counts it (measured
    on the evaluation runs of a fresh default run against the rates of its
    tuning phase: 1.19x their time; per population step it was 0.29x)."""
    rows = store.con.execute(
        "SELECT device, dataset, arch, hparams_json, train_seconds, steps, "
        "json_extract(config_json, '$.budget.max_steps') FROM runs "
        "WHERE status = 'ok' AND train_seconds IS NOT NULL")
    seconds, steps, runs = defaultdict(float), defaultdict(float), defaultdict(int)
    for device, dataset, arch, hparams, train_seconds, n_steps, max_steps in rows:
        group = (dataset, arch, json.dumps(json.loads(hparams or "{}"), sort_keys=True))
        seconds[(device, group)] += train_seconds
        # budgeted steps, as the ETA counts a unit (early stopping ends some sooner: the rate absorbs it)
        steps[(device, group)] += (max_steps or n_steps) if n_steps else 0
        runs[(device, group)] += 1
    rates: dict = defaultdict(dict)
    totals = defaultdict(lambda: [0.0, 0.0])
    for (device, group), total in seconds.items():
        if steps[(device, group)]:
            rates[device][group] = total / steps[(device, group)]
            totals[device][0] += total
            totals[device][1] += steps[(device, group)]
        else:
            rates[device][group] = ("run", total / runs[(device, group)])
    for device, (total, n) in totals.items():
        rates[device][None] = total / n if n else 0.0
    return dict(rates)


def unit_seconds(unit, rates: dict) -> tuple[float, bool]:
    """A unit's estimated training seconds on a device with `rates`, and whether its model was measured."""
    from suite.training.workers import Eta, model_group

    rate = rates.get(model_group(unit[0]))
    if isinstance(rate, tuple):  # seconds per run (no optimizer steps)
        return rate[1] * len(unit), True
    if rate is None:
        from suite.architectures import get_architecture

        if get_architecture(unit[0].task.arch).framework != "keras":
            return 0.0, False  # a classical baseline never measured: seconds at most, left out
        return rates.get(None, 0.0) * Eta.steps(unit), False
    return rate * Eta.steps(unit), True


def describe_plan(specs, store, device: str, workers: int) -> list[str]:
    """Lines for the user: the runs by study and kind, and the estimated time on each measured device."""
    from suite.training.workers import execution_order, units_of

    units = units_of(execution_order(specs))
    by_study: dict = defaultdict(lambda: [0, 0])
    for spec in specs:
        by_study[spec.task.study][spec.kind != "eval"] += 1
    tuning = sum(t for _, t in by_study.values())
    lines = [f"{len(specs):,} runs ({tuning:,} of them tuning learning rates or their sensitivity) in "
             f"{len(units):,} units of work (populations and single runs)"]
    rates = measured_rates(store) if store is not None else {}
    estimates = {}
    for where, groups in sorted(rates.items(), key=lambda kv: kv[0] != device):
        seconds = defaultdict(float)
        known = 0
        for unit in units:
            cost, measured = unit_seconds(unit, groups)
            known += measured
            seconds[unit[0].task.study] += cost
        parallel = workers if where == device else 1
        estimates[where] = seconds
        lines.append(f"estimated on {where} with {parallel} worker{'s' if parallel > 1 else ''}: "
                     f"{format_duration(sum(seconds.values()) / parallel)} of training, more in all (loading, "
                     f"evaluation, probes) ({known} of {len(units)} units from step times measured for their "
                     f"models there, the rest at that device's average)")
    if not rates:
        lines.append("no estimate: the database holds no runs to measure step times from (run the quick "
                     "profile first, or pass --output where earlier results are)")
    for study, (evaluation, tune) in by_study.items():
        times = ", ".join(f"{format_duration(s[study])} on {w.split(' (')[0]}" for w, s in estimates.items())
        lines.append(f"  {study}: {evaluation:,} runs + {tune:,} tuning" + (f" ({times}, one worker)" if times else ""))
    return lines

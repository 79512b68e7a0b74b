"""The cost model: what a unit of work costs, for the progress bar's ETA (`Eta`) and for `--plan`.

A unit (a population, or one run; `suite.training.units`) costs its
members' budgeted optimizer steps (`member_steps`) times the seconds per
member-step measured on its model group (dataset, architecture,
hyperparameters). Per member, because a population's step costs in
proportion to its members where they step one by one (convolutions on a
CPU); priced per population step instead, the tuning's small populations
would put the large evaluation populations after them at a fraction of
their time (bench/README.md has the measured error of both models).

The ETA measures the rates as the run goes (a group not yet measured takes
the rate the database holds for it on this device, else the run's average);
`--plan` reads them from the runs already in the database, per device those
runs trained on, and prices groups never measured on a device at that
device's average rate (said in the output), so its figure is only as good as
the runs behind it: a quick run on this machine first makes the full
profile's estimate honest for its models. Devices the database has never
trained on are priced from `STEP_TIMES`, rates measured on other machines
and recorded with their source (`record_rates`: `bench/step_times.py`, which
`bench/gpu_check.sh` runs on a GPU machine), so `--plan` can say what a
profile costs on a GPU before this machine has one, or that none was
measured.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

from suite.text import format_duration
from suite.training.units import group_key, model_group, units_of


def member_steps(unit) -> int:
    """A unit's member-steps: every member's step budget."""
    return unit[0].budget.max_steps * len(unit)


def measured_rates(store) -> dict:
    """device -> {model group: seconds per member-step}, from the successful runs in `store`; a group
    trained without steps (a scikit-learn baseline) gets ("run", seconds per run) instead. The
    average of a device (for groups never measured there) is under the key None: its total
    seconds over its total steps, as the ETA averages.

    A population's run holds its share of the population's time (its time
    over its members); steps are each run's budgeted steps, so a group's
    rate is seconds per budgeted member-step, as the ETA counts it."""
    rows = store.run_times()
    seconds, steps, runs = defaultdict(float), defaultdict(float), defaultdict(int)
    for device, dataset, arch, hparams, train_seconds, n_steps, max_steps in rows:
        group = group_key(dataset, arch, hparams)
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


# step times measured on other machines: {"devices": {device: {"source": how, "groups": {json of a model
# group: seconds per member-step, or ["run", seconds per run]}, "average": seconds per member-step}}}
STEP_TIMES = Path(__file__).with_name("step_times.json")


def recorded_rates(path: Path = STEP_TIMES) -> dict:
    """device -> (source, rates as `measured_rates` gives them), from a step-times file; {} without one."""
    if not Path(path).exists():
        return {}
    devices = json.loads(Path(path).read_text()).get("devices", {})
    out = {}
    for device, entry in devices.items():
        rates = {tuple(json.loads(group)): tuple(rate) if isinstance(rate, list) else rate
                 for group, rate in entry["groups"].items()}
        rates[None] = entry["average"]
        out[device] = (entry["source"], rates)
    return out


def record_rates(store, source: str, path: Path = STEP_TIMES) -> list[str]:
    """Adds the rates of every device `store`'s runs trained on to the step-times file at `path` (a
    device already there is replaced: one measurement per device, the latest); returns the devices."""
    data = json.loads(Path(path).read_text()) if Path(path).exists() else {"devices": {}}
    for device, rates in measured_rates(store).items():
        data["devices"][device] = {
            "source": source, "average": rates.get(None, 0.0),
            "groups": {json.dumps(list(group)): list(rate) if isinstance(rate, tuple) else rate
                       for group, rate in sorted(rates.items(), key=lambda kv: str(kv[0])) if group is not None}}
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return sorted(measured_rates(store))


def unit_seconds(unit, rates: dict) -> tuple[float, bool]:
    """A unit's estimated training seconds on a device with `rates`, and whether its model was measured."""
    rate = rates.get(model_group(unit[0]))
    if isinstance(rate, tuple):  # seconds per run (no optimizer steps)
        return rate[1] * len(unit), True
    if rate is None:
        from suite.architectures import get_architecture

        if get_architecture(unit[0].task.arch).framework != "keras":
            return 0.0, False  # a classical baseline never measured: seconds at most, left out
        return rates.get(None, 0.0) * member_steps(unit), False
    return rate * member_steps(unit), True


def describe_plan(specs, store, device: str, workers: int, elsewhere: dict | None = None) -> list[str]:
    """Lines for the user: the runs by study and kind, and the estimated time on each measured device:
    those `store`'s runs trained on, then those of `elsewhere` (`recorded_rates`: measured on other
    machines) it has not, and whether any of them is a GPU."""
    units = units_of(specs)
    by_study: dict = defaultdict(lambda: [0, 0])
    for spec in specs:
        by_study[spec.task.study][spec.kind != "eval"] += 1
    tuning = sum(t for _, t in by_study.values())
    lines = [f"{len(specs):,} runs ({tuning:,} of them tuning learning rates or their sensitivity) in "
             f"{len(units):,} units of work (populations and single runs)"]
    rates = measured_rates(store) if store is not None else {}
    sources = {where: "this database" for where in rates}
    for where, (source, groups) in (elsewhere or {}).items():
        if where not in rates:
            rates[where], sources[where] = groups, source
    estimates = {}
    for where, groups in sorted(rates.items(), key=lambda kv: (kv[0] != device, kv[0])):
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
                     f"models there, the rest at that device's average)"
                     + (f"; step times measured elsewhere: {sources[where]}" if sources[where] != "this database"
                        else ""))
    if not rates:
        lines.append("no estimate: the database holds no runs to measure step times from (run the quick "
                     "profile first, or pass --output where earlier results are)")
    if not any(where.startswith("GPU") for where in rates):
        lines.append("on a GPU: no estimate, no GPU has been measured (bench/gpu_check.sh on a machine with an "
                     "NVIDIA GPU measures one and records its step times for --plan)")
    for study, (evaluation, tune) in by_study.items():
        times = ", ".join(f"{format_duration(s[study])} on {w.split(' (')[0]}" for w, s in estimates.items())
        lines.append(f"  {study}: {evaluation:,} runs + {tune:,} tuning" + (f" ({times}, one worker)" if times else ""))
    return lines


class Eta:
    """Time left, from each unit's expected cost (see the module docstring): its member-steps times
    the seconds per member-step measured on its model group in this run, else its prior rate, else
    the average of all groups so far. Vectorised members cost less than members that step one by
    one, so their estimate errs long, then corrects as their group's own units finish. The elapsed
    time scales it, so time outside training (start-up, evaluation, probes) is spread in
    proportion: the estimate does not swing between a group of quick runs and a group of slow
    ones as a plain runs-per-second rate does."""

    def __init__(self, units, prior: dict | None = None):
        """`prior`: model group -> seconds per member-step measured before on this device (the database's runs,
        e.g. this plan's learning-rate tuning, which trains every model group of the plan first); a group
        this run has not measured yet takes its prior rate before the average of the others."""
        self.pending = {id(u): u for u in units}
        self.done_steps: dict = {}  # group -> steps finished
        self.done_seconds: dict = {}  # group -> training seconds they took
        self.prior = {g: r for g, r in (prior or {}).items() if isinstance(r, float)}
        self.start = time.perf_counter()

    def _rate(self, group) -> float:
        if self.done_steps.get(group):
            return self.done_seconds[group] / self.done_steps[group]
        if group in self.prior:
            return self.prior[group]
        total = sum(self.done_steps.values())
        return sum(self.done_seconds.values()) / total if total else 1.0

    def finished(self, unit, results) -> None:
        self.pending.pop(id(unit), None)
        group = model_group(unit[0])
        seconds = sum(r.record.train_seconds or 0.0 for r in results)
        self.done_steps[group] = self.done_steps.get(group, 0) + member_steps(unit)
        self.done_seconds[group] = self.done_seconds.get(group, 0.0) + seconds

    def seconds_left(self) -> float | None:
        done = sum(self._rate(g) * n for g, n in self.done_steps.items())
        if not done:
            return None
        left = sum(self._rate(model_group(u[0])) * member_steps(u) for u in self.pending.values())
        return (time.perf_counter() - self.start) * left / done


def format_eta(seconds: float | None) -> str:
    return "ETA after the first runs" if seconds is None else f"ETA {format_duration(seconds)}"

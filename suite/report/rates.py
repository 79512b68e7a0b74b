"""The learning rates of a study: the validation grid each model's rate was chosen from, and how the
results of models kept at their recipe's rate move with the rate (`suite.training.tuning`). Read from
the database."""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.report.frames import kind, model_label, study_rows


def _rate(value: float) -> str:
    return f"{value:.0e}".replace("e-0", "e-")


def rate_section(data: dict, study: pd.Series) -> dict | None:
    """{"caption", "html", "frame"} for the study page, or None when the study's runs carry no rates. A
    study whose tasks are set both ways (the generation study: the VAE and the diffusion model tuned, the
    GANs swept) gets both tables, the grid's first ("frames" holds each)."""
    from suite.selection import tuning_frame

    runs = study_rows(data["runs"], study)
    runs = runs[runs["status"].isin(["ok", "failed"])]
    if "learning_rate" not in runs or runs["learning_rate"].isna().all():
        return None
    kinds = kind(runs)
    evaluated = runs[(kinds == "eval") & (runs["status"] == "ok")]
    tune = tuning_frame(runs, data["metrics"])
    parts = []
    if len(tune):
        parts.append(_grid(tune, evaluated))
    if (kinds == "sensitivity").any():
        swept = _sensitivity(runs[runs["status"] == "ok"], data["metrics"])
        if swept is not None:
            parts.append(swept)
    if parts:
        return {"caption": " ".join(p["caption"] for p in parts), "html": "".join(p["html"] for p in parts),
                "frame": parts[0]["frame"], "frames": [p["frame"] for p in parts]}
    rates = evaluated.assign(model=model_label(evaluated)).dropna(subset=["learning_rate"])
    used = rates.groupby("model")["learning_rate"].agg(lambda v: ", ".join(_rate(r) for r in sorted(set(v))))
    if used.empty:
        return None
    text = "; ".join(f"{model} {rate}" for model, rate in used.items())
    why = ("the study fixes them: its measurement does not depend on the rate"
           if study.get("tuning") == "fixed" else
           "its objective has no validation split to choose on, its tasks pin a rate, or the run asked for no "
           "tuning (--learning-rates none)")
    return {"caption": f"Learning rates were not chosen on validation here ({why}): {text}.", "html": "",
            "frame": None}


def _cell(row) -> str:
    if row["failed"]:
        return "diverged"
    if row.get("halted", False):
        return "stopped early by halving"
    return f"{row['mean']:.4g} ± {row['se']:.2g}"


def _grid(tune: pd.DataFrame, evaluated: pd.DataFrame) -> dict:
    """Per rate group (the task tuned for it, its natural variant): the mean score and its standard error at
    each rate tried, the rate chosen, whether the grid grew or stopped at a bound, and the variants whose
    evaluation runs train at it."""
    from suite.selection import BOUNDS, SCORE, best, choice_repeat, choose_rates, extension, score_table

    table = score_table(tune)
    chosen, leading = choose_rates(tune), choose_rates(tune, rule=best)
    grid = sorted(table["learning_rate"].unique())
    evaluated = evaluated.assign(setting=evaluated["setting"].fillna(""))
    rows = []
    for task, scores in table.groupby("task"):
        first = tune[tune["task"] == task].iloc[0]
        rate = chosen.get(task)
        tried = sorted(scores["learning_rate"])
        cells = {r["learning_rate"]: _cell(r) for _, r in scores.iterrows()}
        added = sorted(tune.loc[(tune["task"] == task) & (tune["extension"] > 0), "learning_rate"].unique())
        grew, bound = bool(added), extension(tried, rate, leading.get(task))[1]
        edge = rate is not None and len(tried) > 1 and rate in (tried[0], tried[-1]) and not bound
        note = "; ".join(filter(None, [
            f"extended ({', '.join(_rate(r) for r in added)})" if grew else "",
            "at the bound" if bound else "", "at the grid's edge" if edge else "",
            "every rate failed" if rate is None else ""]))
        setting = first["setting"] if isinstance(first["setting"], str) else ""
        group = evaluated[(evaluated["arch"] == first["arch"]) & (evaluated["dataset"] == first["dataset"])
                          & (evaluated["setting"] == setting)]
        at = group.groupby("variant")["learning_rate"].agg(lambda v: sorted(set(v)))
        sharing = [v for v, r in at.items() if rate is not None and r == [rate]]
        apart = [f"{v} at {', '.join(_rate(x) for x in r)}" for v, r in at.items() if v not in sharing]
        rows.append({
            "dataset": first["dataset"], "model": model_label(first.to_frame().T).iloc[0],
            "tuned on": first["variant"],
            **{_rate(lr): cells.get(lr, "") for lr in grid},
            "chosen": "" if rate is None else _rate(rate), "grid": note,
            "chosen again": _again(choice_repeat(tune[tune["task"] == task], scores), rate),
            "variants at the chosen rate": ", ".join(sharing) or "none",
            **({"evaluated apart": "; ".join(apart)} if apart else {}),
        })
    frame = pd.DataFrame(rows).sort_values(["dataset", "model"]).fillna("")
    seeds = int(table["seeds"].max())
    sizes = ", ".join(str(n) for n in sorted(tune["n_train"].unique()))
    caption = (f"Learning rates, chosen on the validation split: each model trained at every rate of the grid on "
               f"{seeds} seed{'s' if seeds > 1 else ''} of its own (not the evaluation seeds), at n = {sizes}, on "
               f"its natural variant. A cell is the mean score over those seeds ± its standard error ({SCORE}: the "
               f"validation value of the metric the claims read at the weights the run ends with, higher is "
               f"better: accuracy for classifiers, minus the loss otherwise, e.g. minus the mean squared error, "
               f"minus a VAE's negative ELBO or a diffusion model's denoising loss; 'diverged' where a run's "
               f"loss became infinite or the run failed, on any seed). The chosen rate is the smallest whose mean "
               f"is within one standard error of the best mean (the one-standard-error rule: rates the seeds "
               f"cannot tell apart resolve to the smaller). Where it was the smallest or largest rate tried, the "
               f"grid was extended by a half-decade step beyond it and the choice made again ('extended'), "
               f"until it was interior or the next step would leave [{_rate(BOUNDS[0])}, {_rate(BOUNDS[1])}] "
               f"('at the bound'). Every variant of the model on that dataset trains at the rate chosen on its "
               f"natural variant, so a control compares the same recipe.")
    caption += (" 'Chosen again': the share of 400 redraws of the tuning seeds (drawn with replacement, the "
                "same seeds at every rate, in two stages as a verdict's are) in which the rule chooses the same "
                "rate, and the others chosen instead: how likely a second set of tuning seeds is to choose another "
                "rate. A "
                "low share between neighbouring rates whose scores the seeds cannot tell apart (a flat optimum) "
                "moves the rate, not necessarily the results; it matters where the scores differ.")
    halted = int(table["halted"].astype(bool).sum())
    if halted:
        caption += (f" Successive halving stopped {halted} of the {len(table)} rates tried early ('stopped early by "
                    f"halving'): after a few checks they were clearly behind the best rate of their grid, and a rate "
                    f"stopped early is never chosen.")
    grown = sum(frame["grid"].str.contains("extended"))
    bounded = sum(frame["grid"].str.contains("at the bound"))
    edges = sum(frame["grid"].str.contains("grid's edge"))
    if grown or bounded:
        caption += f" The grid grew for {grown} of {len(frame)}; {bounded} stopped at a bound."
    if edges:
        caption += (f" {edges} of {len(frame)} chose a rate at the edge of the rates tried without extending it "
                    f"(runs from an interrupted or earlier tuning): a wider grid might find a better one there.")
    return {"caption": caption, "html": frame.to_html(index=False, classes="num", border=0), "frame": frame}


def _again(shares: dict, rate: float | None) -> str:
    """"0.68 (1e-3: 0.32)": the share of redraws choosing `rate`, then the others'."""
    if rate is None or not shares:
        return ""
    others = ", ".join(f"{_rate(r)}: {p:.2f}" for r, p in shares.items() if r != rate)
    return f"{shares.get(rate, 0.0):.2f}" + (f" ({others})" if others else "")


def _sensitivity(runs: pd.DataFrame, metrics: pd.DataFrame) -> dict | None:
    """Per model and rate: the primary metric on each seed the rate was swept on, and their mean."""
    swept = runs[kind(runs) == "sensitivity"]
    seeds = sorted(swept["seed"].unique())
    # the swept tasks only (a study may tune its other tasks on validation: the grid above)
    shown = runs[runs["seed"].isin(seeds) & kind(runs).isin(["eval", "sensitivity"])
                 & runs["task"].isin(swept["task"])]
    values = shown.merge(metrics[["run_key", "metric", "value"]], left_on=["run_key", "metric"],
                         right_on=["run_key", "metric"])
    if values.empty:
        return None
    values = values.assign(model=model_label(values))
    recipe = shown[kind(shown) == "eval"].groupby("task")["learning_rate"].first()
    rows = []
    for (dataset, model, task, rate), group in values.groupby(["dataset", "model", "task", "learning_rate"]):
        by_seed = group.set_index("seed")["value"]
        factor = rate / recipe.get(task, np.nan)
        rows.append({"dataset": dataset, "model": model, "metric": group["metric"].iloc[0],
                     "rate": f"{_rate(rate)} ({'evaluated' if np.isclose(factor, 1) else f'x{factor:g}'})",
                     **{f"seed {s}": f"{by_seed[s]:.3g}" if s in by_seed else "" for s in seeds},
                     "mean": f"{by_seed.mean():.3g}"})
    frame = pd.DataFrame(rows)
    caption = ("Sensitivity to the learning rate: the evaluation runs train at each model's own rate (a "
               f"published recipe's, or the study's); the runs of seeds {', '.join(map(str, seeds))} were repeated "
               "at other multiples of it. A row is a rate, a column a seed (the task's primary metric): how much a "
               "result moves along a row is its sensitivity to the seed, down a column its sensitivity to the "
               "rate. Only the evaluated rows enter the verdicts.")
    return {"caption": caption, "html": frame.to_html(index=False, classes="num", border=0), "frame": frame}

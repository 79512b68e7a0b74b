"""The learning rates of a study: the validation grid each task's rate was chosen from, or how a
"sensitivity" study's results move with the rate (`suite.training.tuning`). Read from the database."""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.report.frames import kind, model_label, study_rows


def _rate(value: float) -> str:
    return f"{value:.0e}".replace("e-0", "e-")


def rate_section(data: dict, study: pd.Series) -> dict | None:
    """{"caption", "html", "frame"} for the study page, or None when the study's runs carry no rates."""
    from suite.selection import SCORE, choose_rates, tuning_frame

    runs = study_rows(data["runs"], study)
    runs = runs[runs["status"].isin(["ok", "failed"])]
    if "learning_rate" not in runs or runs["learning_rate"].isna().all():
        return None
    kinds = kind(runs)
    evaluated = runs[(kinds == "eval") & (runs["status"] == "ok")]
    tune = tuning_frame(runs, data["metrics"])
    if len(tune):
        return _grid(tune, evaluated, choose_rates(tune), SCORE)
    if (kinds == "sensitivity").any():
        return _sensitivity(runs[runs["status"] == "ok"], data["metrics"])
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


def _grid(tune: pd.DataFrame, evaluated: pd.DataFrame, chosen: dict, score: str) -> dict:
    """Per task: the mean best validation loss at each rate of the grid, and the rate it was evaluated at."""
    from suite.selection import score_table

    table = score_table(tune)
    grid = sorted(table.columns)
    used = evaluated.groupby("task")["learning_rate"].agg(lambda v: sorted(set(v)))
    rows = []
    for task, row in table.iterrows():
        first = tune[tune["task"] == task].iloc[0]
        rate = chosen.get(task)
        edge = rate is not None and len(grid) > 1 and rate in (grid[0], grid[-1])
        at = used.get(task, [])
        rows.append({
            "dataset": first["dataset"], "variant": first["variant"], "model": model_label(first.to_frame().T).iloc[0],
            **{_rate(lr): ("diverged" if not np.isfinite(row[lr]) else f"{row[lr]:.4g}") for lr in grid},
            "chosen": "" if rate is None else _rate(rate) + (" (grid edge)" if edge else ""),
            "evaluated at": ", ".join(_rate(r) for r in at) or "not run",
        })
    frame = pd.DataFrame(rows).sort_values(["dataset", "variant", "model"])
    seeds = tune.groupby("task")["seed"].nunique().max()
    sizes = ", ".join(str(n) for n in sorted(tune["n_train"].unique()))
    edges = sum("(grid edge)" in c for c in frame["chosen"])
    caption = (f"Learning rates, chosen on the validation split: each task trained at every rate of the grid on "
               f"{seeds} seed{'s' if seeds > 1 else ''} of its own (not the evaluation seeds), at n = {sizes}; a "
               f"cell is the lowest validation loss reached ({score}, mean over those seeds; 'diverged' where a "
               f"run's loss became infinite or the run failed). The rate with the lowest value is chosen, and the "
               f"task's evaluation runs train at it.")
    if edges:
        caption += (f" {edges} of {len(frame)} chose a rate at the edge of the grid: a wider grid might find a "
                    f"better one there.")
    return {"caption": caption, "html": frame.to_html(index=False, classes="num", border=0), "frame": frame}


def _sensitivity(runs: pd.DataFrame, metrics: pd.DataFrame) -> dict | None:
    """Per model and rate: the primary metric on each seed the rate was swept on, and their mean."""
    swept = runs[kind(runs) == "sensitivity"]
    seeds = sorted(swept["seed"].unique())
    shown = runs[runs["seed"].isin(seeds) & kind(runs).isin(["eval", "sensitivity"])]
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

"""The classical baselines' tuned hyperparameters: what each run chose on the validation split."""

from __future__ import annotations

import pandas as pd

from suite.report.frames import dataset_order
from suite.report.figures.registry import FIGURES

TUNED = "tuned/"  # metrics `tuned/<parameter>`: a baseline's chosen value (suite.training.trainer.fit_tuned)


def tuned_values(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per baseline, dataset, variant, size and parameter: the chosen values over seeds, most
    often chosen first ("5 x7, 20 x3"), and the number of runs."""
    frame = tidy[tidy["baseline"] & tidy["metric"].str.startswith(TUNED)]
    rows = []
    for (model, dataset, variant, n, metric), g in frame.groupby(["model", "dataset", "variant", "n_train",
                                                                 "metric"]):
        counts = g["value"].value_counts()
        # the most often chosen first; equal counts in the order of the values
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        rows.append({"model": model, "dataset": dataset, "variant": variant, "n_train": int(n),
                     "parameter": metric[len(TUNED):], "runs": int(counts.sum()),
                     "chosen": ", ".join(f"{value:g} x{count}" for value, count in ordered)})
    return pd.DataFrame(rows, columns=["model", "dataset", "variant", "n_train", "parameter", "runs", "chosen"])


@FIGURES.decorator("tuned_baselines")
def _figure_tuned_baselines(tidy, data, study) -> list[dict]:
    values = tuned_values(tidy)
    figures = []
    for model, frame in values.groupby("model", sort=True):
        table = frame.pivot(index=["dataset", "variant", "parameter"], columns="n_train", values="chosen")
        table.columns = [f"n={c}" for c in table.columns]
        table = table.reset_index()
        order = sorted(range(len(table)), key=lambda i: (dataset_order(table.loc[i, "dataset"]),
                                                           table.loc[i, "variant"], table.loc[i, "parameter"]))
        seeds = "/".join(str(r) for r in sorted(frame["runs"].unique()))
        figures.append({
            "title": f"Tuned hyperparameters: {model}",
            "svg": "",
            "caption": f"The values {model} chose in each run ({seeds} per cell), most often chosen first: "
                       "'5 x7' is 5 in seven runs. Each run fits every point of its grid on the run's training "
                       "subset and keeps the most accurate on the validation split the networks stop on; of "
                       "equally accurate points the one of lowest validation cross-entropy, then the simplest "
                       "(the grids and their sources: docs/architectures.md).",
            "table": table.iloc[order].to_html(index=False, border=0, na_rep=""),
        })
    return figures

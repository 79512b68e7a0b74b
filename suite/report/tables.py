"""The report's tables: numbers with their 95% intervals over seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.report.frames import dataset_order
from suite.statistics import mean_ci


def format_interval(mean, low, high, digits=3) -> str:
    """`mean [low, high]` at `digits` decimals; the mean alone where there is no interval (one seed)."""
    if np.isnan(low):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def summary_table(tidy: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean and 95% Student-t interval over seeds, sizes as columns."""
    rows = []
    for (dataset, variant, model, n), g in tidy[(tidy["metric"] == metric) & (tidy["primary_metric"] == metric)].groupby(
        ["dataset", "variant", "model", "n_train"]
    ):
        mean, low, high = mean_ci(g["value"].to_numpy())
        rows.append({"dataset": dataset, "variant": variant, "model": model, "n_train": int(n),
                     "cell": f"{format_interval(mean, low, high)} (k={len(g)})"})
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).pivot(index=["dataset", "variant", "model"], columns="n_train", values="cell")
    table.columns = [f"n={c}" for c in table.columns]
    table = table.reset_index()
    order = sorted(range(len(table)), key=lambda i: (dataset_order(table.loc[i, "dataset"]),
                                                       table.loc[i, "variant"], table.loc[i, "model"]))
    return table.iloc[order]


def params_table(study_frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Parameter counts per (dataset, arch), and a warning where they differ > 2x."""
    counts = study_frame.groupby(["dataset", "model"])["params"].max().unstack("model")
    warnings = []
    for dataset, row in counts.iterrows():
        row = row.dropna()
        if len(row) > 1 and row.max() > 2 * row.min():
            warnings.append(f"{dataset}: parameter counts differ by more than 2x "
                            f"({int(row.min())} to {int(row.max())})")
    return counts.reset_index(), warnings


def slopes_table(points: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Per model: log-log slope of step time against length, mean [95% CI] over seeds."""
    from suite.differences import loglog_slopes

    def seed_slopes(frame):
        return loglog_slopes(frame, ["seed"])["value"].tolist()

    rows, means = [], {}
    for model, g in points.groupby("model"):
        per_seed = seed_slopes(g)
        if not per_seed:
            continue
        mean, low, high = mean_ci(per_seed)
        means[model] = mean
        longest = g[g["length"] >= g["length"].median()]
        tail = seed_slopes(longest)
        by_length = g.groupby("length")["value"].median()
        rows.append({"model": model, "slope (log-log)": format_interval(mean, low, high, 2),
                     f"slope from {int(longest['length'].min())} steps":
                         format_interval(*mean_ci(tail), 2) if tail else "",
                     "seeds": len(per_seed),
                     f"ms at {int(by_length.index[0])}": f"{by_length.iloc[0]:.1f}",
                     f"ms at {int(by_length.index[-1])}": f"{by_length.iloc[-1]:.1f}"})
    return pd.DataFrame(rows), means

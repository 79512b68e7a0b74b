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


# a metric bounded by 1 (perfect) whose test value moves by one test example's share: accuracy, skill
PROPORTIONS = ("accuracy",)


def decision_table(tidy: pd.DataFrame, claims) -> pd.DataFrame:
    """Whether each dataset can decide its claims: its test set's size, whether it was drawn per seed (or
    is the source's own, kept for every seed: `test/canonical_split`), what one test example is worth
    on an accuracy (its resolution), the best model's mean on its natural variant at the largest size (the
    ceiling, and the room left to perfect), and the smallest margin a claim on it tests. A margin below
    one example cannot be resolved (such a verdict is undecidable, `suite.decidable.undecidable`); a ceiling
    with less room than that margin leaves "no model beats another by more" true whatever the models."""
    from suite.differences import BOUNDED

    rows = []
    natural = tidy[tidy["variant"] == "natural"] if "natural" in set(tidy["variant"]) else tidy
    for dataset in sorted(tidy["dataset"].unique(), key=dataset_order):
        here = natural[natural["dataset"] == dataset]
        metric = here["primary_metric"].iloc[0] if len(here) else None
        values = here[(here["metric"] == metric) & (here["n_train"] == here["n_train"].max())]
        if values.empty:
            continue
        higher = bool(values["higher_is_better"].iloc[0])
        means = values.groupby("model")["value"].mean()
        best = means.idxmax() if higher else means.idxmin()
        examples = tidy.loc[(tidy["dataset"] == dataset) & (tidy["metric"] == "test/examples"), "value"]
        n = int(examples.min()) if len(examples) else None
        canonical = tidy.loc[(tidy["dataset"] == dataset) & (tidy["metric"] == "test/canonical_split"), "value"]
        split = ("" if canonical.empty else "drawn per seed" if canonical.max() == 0 else
                 "the source's, for every seed" if canonical.min() == 1 else "mixed")
        proportion = metric.split("/")[-1] in PROPORTIONS
        margins = [c.margin for c in claims if c.margin > 0 and c.metric == metric
                   and (c.datasets is None or dataset in c.datasets)]
        one = 1 / n if n and proportion else None
        notes = []
        if one and margins and min(margins) < one:
            notes.append(f"margin {min(margins):g} below one test example")
        room = 1 - means[best] if proportion and higher else None
        if room is not None and margins and room < min(margins):
            notes.append(f"at the ceiling: {room:.3f} left to perfect, below the margin {min(margins):g}")
        # claims comparing two models on another metric bounded by 1 (skill): the room the best model leaves
        # on it (a claim against a constant, "skill at most 0.1", is not bounded by what the others reach)
        here_claims = [c for c in claims if c.margin > 0 and c.b and not c.control
                       and (c.datasets is None or dataset in c.datasets)]
        for other in sorted({c.metric for c in here_claims if c.metric != metric and c.metric.split("/")[-1] in BOUNDED}):
            scores = natural[(natural["dataset"] == dataset) & (natural["metric"] == other)]
            scores = scores[scores["n_train"] == scores["n_train"].max()]
            least = min(c.margin for c in here_claims if c.metric == other)
            left = 1 - scores.groupby("model")["value"].mean().max() if len(scores) else None
            if left is not None and left < least:
                notes.append(f"at the ceiling on {other}: {left:.3f} left to perfect, below the margin {least:g}")
        rows.append({"dataset": dataset, "metric": metric, "test examples": "" if n is None else f"{n:,}",
                     "test split": split,
                     "one example": "" if one is None else f"{one:.4f}",
                     "best model (natural, largest size)": best, "its mean": f"{means[best]:.3f}",
                     "left to perfect": "" if room is None else f"{room:.3f}",
                     "smallest claim margin": f"{min(margins):g}" if margins else "",
                     "can it decide?": "; ".join(notes) or ("yes" if proportion else "not checked: not an accuracy")})
    return pd.DataFrame(rows)

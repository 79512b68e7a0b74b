"""Tables of features: each model's sensitivity to each perturbation of the table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.report.figures.common import setup_matplotlib, to_svg, model_styles
from suite.report.figures.registry import FIGURES
from suite.report.tables import format_interval
from suite.statistics import mean_ci


def sensitivity(tidy: pd.DataFrame) -> pd.DataFrame:
    """Change in each model's primary test metric from the matched variant to each other variant.

    Tidy: dataset, model, perturbation, n_train, seed, value (perturbed -
    natural, paired on the same training subset).
    """
    from suite.differences import paired_change

    frame = tidy[tidy["metric"] == tidy["primary_metric"]]
    matched = sorted(frame.loc[frame["matched"] == 1, "variant"].unique())
    if len(matched) != 1:
        return pd.DataFrame()
    base = matched[0]
    parts = [paired_change(frame, "variant", base, v).assign(perturbation=v)
             for v in sorted(frame["variant"].unique()) if v != base]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def sensitivity_figure(cells: pd.DataFrame, order: list, metric: str, title: str) -> str:
    """Heatmap: model x perturbation, the mean change in the test metric, annotated."""
    setup_matplotlib(f"sens-{title}")
    import matplotlib.pyplot as plt
    import seaborn as sns

    table = cells.pivot(index="model", columns="perturbation", values="mean").reindex(order)
    limit = max(1e-9, float(np.nanmax(np.abs(table.to_numpy()))))
    fig, ax = plt.subplots(figsize=(1.6 + 1.5 * table.shape[1], 0.9 + 0.42 * table.shape[0]))
    sns.heatmap(table, annot=True, fmt="+.3f", cmap="RdBu", vmin=-limit, vmax=limit, center=0,
                linewidths=0.5, cbar_kws={"label": f"change in {metric}"}, ax=ax)
    ax.set_xlabel("perturbation (against the natural table)")
    ax.set_ylabel("")
    ax.set_title(title)
    return to_svg(fig)


@FIGURES.decorator("sensitivity")
def _figure_sensitivity(tidy, data, study) -> list[dict]:
    changes = sensitivity(tidy)
    if changes.empty:
        return []
    metric = changes["metric"].iloc[0]
    cells, rows = [], []
    for (model, perturbation), g in changes.groupby(["model", "perturbation"]):
        per_seed = g.groupby("seed")["value"].mean()  # over datasets and sizes
        mean, low, high = mean_ci(per_seed.to_numpy())
        cells.append({"model": model, "perturbation": perturbation, "mean": mean})
        rows.append({"model": model, "perturbation": perturbation,
                     "cell": f"{format_interval(mean, low, high)} (k={len(per_seed)})"})
    order, _, _ = model_styles(tidy)
    overall = pd.DataFrame(rows).pivot(index="model", columns="perturbation", values="cell").reindex(order)
    by_dataset = changes.groupby(["dataset", "perturbation", "model"])["value"].mean().unstack("model")
    by_dataset = by_dataset[[m for m in order if m in by_dataset.columns]]
    return [{
        "title": "Sensitivity to each perturbation",
        "svg": sensitivity_figure(pd.DataFrame(cells), order, metric,
                                  f"{study['name']}: change in {metric} against the natural table"),
        "caption": f"Change in {metric} when the table is perturbed (perturbed minus natural, on the same "
                   "training subset and seed), averaged over tables, training-set sizes and seeds. "
                   "reordered: the columns in a random order; rotated: the standardised features "
                   "rotated at random; uninformative: as many noise columns again. Each seed draws its "
                   "own order, rotation and noise. Below: the same with 95% Student-t intervals over "
                   "seeds, then per table.",
        "table": overall.reset_index().to_html(index=False, classes="num", border=0, na_rep="")
                 + by_dataset.reset_index().to_html(index=False, classes="num", border=0, na_rep="",
                                                    float_format=lambda v: f"{v:+.3f}"),
    }]

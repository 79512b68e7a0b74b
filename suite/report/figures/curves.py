"""Curves over training-set size and sequence length: learning curves, error against length,
gradient norms, step time, and models side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.report.figures.common import log_axis, setup_matplotlib, to_svg, model_styles, t_interval
from suite.report.figures.registry import FIGURES, draws_every_task
from suite.report.frames import at_largest_size, dataset_order, dataset_family
from suite.report.tables import slopes_table


def learning_curve_figure(tidy: pd.DataFrame, metric: str, title: str) -> str:
    """Test metric against training-set size (log axis), mean and 95% CI over seeds.

    One panel per (dataset, variant), matched and mismatched side by side,
    one line per architecture.
    """
    setup_matplotlib(f"lc-{title}")  # before pyplot is imported (by seaborn)
    import seaborn as sns

    frame = tidy[(tidy["metric"] == metric) & (tidy["primary_metric"] == metric)].copy()
    frame["data"] = np.where(frame["matched"] == 1, frame["variant"] + " (matched)",
                             frame["variant"] + " (mismatched)")
    col_order = sorted(frame["data"].unique(), key=lambda v: ("mismatched" in v, v))
    models, palette, dashes = model_styles(frame)
    grid = sns.relplot(
        data=frame, x="n_train", y="value", hue="model", style="model", kind="line",
        row="dataset", col="data", col_order=col_order, markers=True, dashes=dashes,
        errorbar=t_interval, height=3.0 if len(col_order) <= 2 else 2.5, aspect=1.25 if len(col_order) <= 2 else 1.05,
        palette=palette,
        facet_kws={"sharey": "row", "sharex": "row", "margin_titles": True},
        hue_order=models, style_order=models, err_kws={"alpha": 0.15},
    )
    grid.set(xscale="log")
    grid.set_axis_labels("training examples (log scale)", metric)
    grid.set_titles(row_template="{row_name}", col_template="{col_name}")
    for (dataset, _), ax in grid.axes_dict.items():
        log_axis(ax, sorted(frame.loc[frame["dataset"] == dataset, "n_train"].unique()))
    grid.figure.suptitle(title, y=1.02)
    return to_svg(grid.figure)


def metric_vs_length_figure(tidy: pd.DataFrame, title: str) -> str:
    """Each task family's metric against sequence length, trivial baseline dashed.

    One panel per family (e.g. adding, copy), one line per model, mean and
    95% CI over seeds (the largest training set when several were run).
    """
    setup_matplotlib(f"vl-{title}")
    import matplotlib.pyplot as plt
    import seaborn as sns

    frame = tidy.copy()
    frame["family"] = frame["dataset"].map(dataset_family)
    frame = at_largest_size(frame)
    families = sorted(frame["family"].unique())
    fig, axes = plt.subplots(1, len(families), figsize=(4.6 * len(families), 3.4), squeeze=False)
    models = sorted(frame["model"].unique())
    for ax, family in zip(axes[0], families):
        sub = frame[frame["family"] == family]
        metric = sub["primary_metric"].iloc[0]
        points = sub[sub["metric"] == metric]
        sns.lineplot(data=points, x="length", y="value", hue="model", hue_order=models, style="model",
                     style_order=models, markers=True, dashes=False, errorbar=t_interval, ax=ax,
                     err_kws={"alpha": 0.15})
        base = sub[sub["metric"] == metric.replace("test/", "test/baseline_")]
        if not base.empty:
            line = base.groupby("length")["value"].mean()
            ax.plot(line.index, line.to_numpy(), "k--", lw=1, label="trivial baseline")
            ax.legend(fontsize=8)
        log_axis(ax, sorted(points["length"].unique()))
        ax.set_title(family)
        ax.set_xlabel("sequence length T (log scale)")
        ax.set_ylabel(metric)
    fig.suptitle(title, y=1.02)
    return to_svg(fig)


def gradient_norm_figure(series: pd.DataFrame, title: str) -> str:
    """Input-gradient norm per time step against distance from the end (log y)."""
    setup_matplotlib(f"gn-{title}")
    import seaborn as sns

    grid = sns.relplot(
        data=series, x="x", y="value", hue="model", style="when", kind="line", col="dataset",
        col_wrap=min(3, series["dataset"].nunique()), errorbar=None, height=3.0, aspect=1.3,
        facet_kws={"sharex": False, "sharey": False}, hue_order=sorted(series["model"].unique()),
        style_order=["init", "trained"],
    )
    grid.set(yscale="log")
    grid.set_axis_labels("distance from the last step (steps)", "|d loss / d x_t| (mean over examples)")
    for ax in grid.axes.flat:
        ax.grid(True, alpha=0.3)
    grid.figure.suptitle(title, y=1.03)
    return to_svg(grid.figure)


def step_time_figure(points: pd.DataFrame, slopes: dict, title: str) -> str:
    """Training-step time against sequence length, log-log, fitted slopes in the legend."""
    setup_matplotlib(f"st-{title}")
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    models = sorted(points["model"].unique())
    sns.lineplot(data=points, x="length", y="value", hue="model", hue_order=models, style="model",
                 style_order=models, markers=True, dashes=False, errorbar=t_interval, ax=ax,
                 err_kws={"alpha": 0.15})
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [f"{m} (slope {slopes[m]:.2f})" if m in slopes else m for m in labels], fontsize=8)
    ax.set_yscale("log")
    log_axis(ax, sorted(points["length"].unique()))
    ax.set_xlabel("sequence length (log scale)")
    ax.set_ylabel("training step time, ms (log scale)")
    ax.set_title(title)
    return to_svg(fig)


@FIGURES.decorator("learning_curves")
def _figure_learning_curves(tidy, data, study) -> list[dict]:
    return [{
        "title": f"Learning curves: {metric}",
        "svg": learning_curve_figure(tidy, metric, f"{study['name']}: {metric}"),
        "caption": "Test metric against training-set size. Lines: mean over seeds; bands: 95% "
                   "Student-t interval over seeds."
                   + (" Matched data on the left, mismatched on the right." if tidy["matched"].nunique() > 1 else ""),
    } for metric in sorted(tidy["primary_metric"].unique())]


@FIGURES.decorator("vs_length", wrap=draws_every_task)
def _figure_vs_length(tidy, data, study) -> list[dict]:
    return [{
        "title": "Error against dependency length",
        "svg": metric_vs_length_figure(tidy, f"{study['name']}: test metric against sequence length"),
        "caption": "Each task's test metric against the distance the model must carry information "
                   "(mean and 95% interval over seeds). Dashed: the trivial baseline (predicting the "
                   "mean for the adding problem, the commonest symbol for copy); a model on the "
                   "dashed line has learned nothing.",
    }]


@FIGURES.decorator("gradient_norms", wrap=draws_every_task)
def _figure_gradient_norms(tidy, data, study) -> list[dict]:
    runs = tidy.drop_duplicates("run_key")[["run_key", "model", "dataset", "n_train", "seed"]]
    series = data["series"].merge(runs, on="run_key")
    series = series[series["name"].str.startswith("input_gradients/")]
    if series.empty:
        return []
    series = series.assign(when=series["name"].str.split("/").str[-1])
    # one curve per (model, when): the mean over seeds of the per-step norm
    series = series.groupby(["dataset", "model", "when", "x"], as_index=False)["value"].mean()
    series["dataset"] = pd.Categorical(series["dataset"], sorted(series["dataset"].unique(), key=dataset_order))
    return [{
        "title": "Gradient norm against distance from the end",
        "svg": gradient_norm_figure(series, f"{study['name']}: where the gradient reaches"),
        "caption": "The norm of the gradient of the loss with respect to the input at each time step "
                   "(mean over 256 validation sequences and over seeds), at initialisation (solid) and "
                   "after training (dashed). A straight falling line on this log axis is an "
                   "exponentially vanishing gradient: the early steps cannot teach the model.",
    }]


@FIGURES.decorator("step_time", wrap=draws_every_task)
def _figure_step_time(tidy, data, study) -> list[dict]:
    points = tidy[tidy["metric"] == "train/step_ms"]
    if points.empty:
        return []
    table, slopes = slopes_table(points)
    devices = ", ".join(sorted(points["device"].unique()))
    return [{
        "title": "Training-step time against sequence length",
        "svg": step_time_figure(points, slopes, f"{study['name']}: step time on {devices}"),
        "caption": f"Median time of one optimizer step after warm-up (mean and 95% interval over seeds), "
                   f"measured on {devices}. The slope of a line on these log-log axes is the exponent of "
                   f"the growth: 1 is linear in length, 0 flat, 2 quadratic.",
        "table": table.to_html(index=False, classes="num", border=0),
    }]


def comparison_figure(points: pd.DataFrame, metric: str, title: str) -> str:
    """One point per model (mean, 95% CI over seeds) per dataset, with its parameter count."""
    setup_matplotlib(f"cmp-{title}")
    import seaborn as sns

    models = sorted(points["model"].unique())
    grid = sns.catplot(data=points, y="model", x="value", col="dataset", kind="point", order=models,
                       errorbar=t_interval, linestyle="none", height=2.6, aspect=1.6, sharex=False,
                       col_wrap=min(3, points["dataset"].nunique()))
    for dataset, ax in grid.axes_dict.items():
        params = points[points["dataset"] == dataset].groupby("model")["params"].max()
        ax.set_yticks(range(len(models)), [f"{m} ({int(params.get(m, 0)):,} params)" for m in models],
                      fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    grid.set_axis_labels(metric, "")
    grid.figure.suptitle(title, y=1.03)
    return to_svg(grid.figure)


@FIGURES.decorator("comparison")
def _figure_comparison(tidy, data, study) -> list[dict]:
    points = tidy[tidy["metric"] == "test/skill"]
    points = at_largest_size(points)
    if points.empty:
        return []
    return [{
        "title": "Models side by side",
        "svg": comparison_figure(points, "test/skill", f"{study['name']}: skill over the trivial baseline"),
        "caption": "test/skill at the largest training set (0 = the trivial baseline, 1 = perfect): "
                   "mean and 95% interval over seeds, with each model's parameter count.",
    }]

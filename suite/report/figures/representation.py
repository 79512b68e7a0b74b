"""Learned representations: linear probes on the code, reconstructions, the code as a 2-D map."""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.report.figures.common import log_axis, setup_matplotlib, to_svg, image_grid_figure, t_interval
from suite.report.figures.registry import FIGURES, draws_every_task
from suite.report.frames import at_largest_size, final_runs, code_width, run_arrays
from suite.report.tables import format_interval
from suite.statistics import mean_ci


def code_probe_figure(points: pd.DataFrame, title: str) -> str:
    """Linear-probe accuracy against code width: the code, PCA of that width, and the raw input."""
    setup_matplotlib(f"cp-{title}")
    import seaborn as sns

    grid = sns.relplot(
        data=points, x="width", y="value", hue="space", style="space", kind="line", row="dataset", col="labels",
        markers=True, errorbar=t_interval, height=2.6, aspect=1.3, err_kws={"alpha": 0.15},
        hue_order=sorted(points["space"].unique()), style_order=sorted(points["space"].unique()),
        facet_kws={"sharey": "row", "sharex": "row", "margin_titles": True},
    )
    grid.set(xscale="log")
    grid.set_axis_labels("code width (log scale)", "linear-probe test accuracy")
    grid.set_titles(row_template="{row_name}", col_template="{col_name}")
    for (dataset, _), ax in grid.axes_dict.items():
        log_axis(ax, sorted(points.loc[points["dataset"] == dataset, "width"].unique()))
        ax.grid(True, alpha=0.3)
    grid.figure.suptitle(title, y=1.02)
    return to_svg(grid.figure)


@FIGURES.decorator("code_probes", wrap=draws_every_task)
def _figure_code_probes(tidy, data, study) -> list[dict]:
    frame = at_largest_size(tidy).copy()
    frame["width"] = code_width(frame)
    parsed = frame["metric"].str.extract(r"^trained/probe_(code|pca|pixels)_(\d+)$")
    points = frame[parsed[0].notna()].assign(space=parsed[0], labels=parsed[1].astype(float))
    if points.empty:
        return []
    # one line per architecture's code; PCA and the raw input do not depend on the architecture
    points["space"] = np.where(points["space"] == "code", points["arch"] + " code", points["space"])
    points = points.assign(labels=points["labels"].astype(int).astype(str) + " labels per class")
    rows = []
    for (dataset, model, width), g in frame.groupby(["dataset", "model", "width"]):
        row = {"dataset": dataset, "model": model, "code width": int(width)}
        for metric, label in (("trained/reconstruction_mse", "reconstruction MSE"),
                              ("trained/probe_code_10", "code, 10/class"), ("trained/probe_pca_10", "PCA, 10/class"),
                              ("trained/probe_pixels_10", "raw, 10/class"), ("trained/probe_code_100", "code, 100/class"),
                              ("trained/probe_pixels_100", "raw, 100/class")):
            values = g.loc[g["metric"] == metric, "value"].to_numpy()
            if len(values):
                row[label] = format_interval(*mean_ci(values), digits=4 if "MSE" in label else 3)
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["dataset", "code width", "model"])
    return [{
        "title": "Linear probes on the code, with few labels",
        "svg": code_probe_figure(points, f"{study['name']}: what the code keeps"),
        "caption": "Test accuracy of a logistic regression trained on the codes of 10 (or 100) labelled examples "
                   "per class, against the code's width (the widest point is the over-complete autoencoder, "
                   "no bottleneck), beside the same probe on PCA codes of the same width (fitted to the whole "
                   "training pool without labels, at most the input's size) and on the raw input (flat: it has "
                   "no width). Mean and 95% interval over seeds. Below: the numbers, with the reconstruction "
                   "error on the test split.",
        "table": table.to_html(index=False, classes="num", border=0, na_rep=""),
    }]


@FIGURES.decorator("reconstructions", wrap=draws_every_task)
def _figure_reconstructions(tidy, data, study) -> list[dict]:
    figures = []
    runs = final_runs(tidy).copy()
    runs["width"] = code_width(runs)
    for dataset, group in runs.groupby("dataset"):
        group = group[group["seed"] == group["seed"].min()].sort_values(["arch", "width"])
        grids = {}
        for _, run in group.iterrows():
            arrays = run_arrays(data, run["run_key"])
            pair = arrays.get("reconstructions/trained")
            if pair is None or pair.ndim != 5:  # images only: (2, n, H, W, C)
                continue
            grids.setdefault("original", pair[0])
            grids[run["model"]] = np.clip(pair[1], 0, 1)
        if len(grids) > 1:
            figures.append({
                "title": f"Reconstructions: {dataset}",
                "svg": image_grid_figure(grids, f"{study['name']}: {dataset}, test images and their reconstructions"),
                "caption": "Top row: test images; below, each autoencoder's reconstruction of them (first seed), "
                           "from the narrowest code to the over-complete one.",
            })
    return figures


def code_map_figure(codes: np.ndarray, labels: np.ndarray, title: str, axis: str) -> str:
    setup_matplotlib(f"cm-{title}")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.0), layout="constrained")
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=5, alpha=0.7, rasterized=True)
    fig.colorbar(points, ax=ax, label="class", ticks=np.unique(labels))
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.set_title(title, fontsize=9)
    return to_svg(fig)


@FIGURES.decorator("code_map", wrap=draws_every_task)
def _figure_code_map(tidy, data, study) -> list[dict]:
    figures = []
    runs = final_runs(tidy).copy()
    runs["width"] = code_width(runs)
    for dataset, group in runs.groupby("dataset"):
        narrowest = group.sort_values(["width", "seed"]).iloc[0]
        arrays = run_arrays(data, narrowest["run_key"])
        if "code_map/trained" not in arrays:
            continue
        code_map = arrays["code_map/trained"]
        axis = "code" if narrowest["width"] <= 2 else "principal component of the code"
        figures.append({
            "title": f"The code as a map: {dataset}",
            "svg": code_map_figure(code_map[:, :2], code_map[:, 2].astype(int),
                                   f"{study['name']}: {dataset}, {narrowest['setting']} (seed {int(narrowest['seed'])})",
                                   axis),
            "caption": "The test examples placed by their code (the 2-wide autoencoder's code itself), coloured by "
                       "their class, which the autoencoder never saw: similar inputs land near each other when the "
                       "code has found the data's structure.",
        })
    return figures


INTERPOLATION_METRICS = (("trained/interp_kept", "confidence kept along the path"),
                         ("trained/interp_confidence", "confidence inside the path"),
                         ("trained/interp_ends", "confidence at the ends"),
                         ("trained/interp_kept_pixels", "kept by a pixel cross-fade"))


@FIGURES.decorator("interpolations", wrap=draws_every_task)
def _figure_interpolations(tidy, data, study) -> list[dict]:
    figures = []
    runs = final_runs(tidy)
    for dataset, group in runs.groupby("dataset"):
        first = group[group["seed"] == group["seed"].min()].sort_values(["arch", "setting"])
        grids = {}
        for _, run in first.iterrows():
            path = run_arrays(data, run["run_key"]).get("interpolation/trained")
            if path is not None and path.ndim == 4:  # images: (points, H, W, C)
                grids[run["model"]] = np.clip(path, 0, 1)
        if not grids:
            continue
        frame = tidy[(tidy["dataset"] == dataset) & tidy["metric"].isin([m for m, _ in INTERPOLATION_METRICS])]
        rows = []
        for model, g in frame.groupby("model"):
            row = {"model": model}
            for metric, label in INTERPOLATION_METRICS:
                values = g.loc[g["metric"] == metric, "value"].to_numpy()
                if len(values):
                    row[label] = format_interval(*mean_ci(values), digits=3)
            rows.append(row)
        figures.append({
            "title": f"Decoded interpolations: {dataset}",
            "svg": image_grid_figure(grids, f"{study['name']}: {dataset}, from one test image's code to another's"),
            "caption": "Each row decodes 9 points of the straight path between the codes of two test images of "
                       "different classes (first seed, first pair; ends: the two reconstructions). Below, over all "
                       f"seeds (100 pairs each): a logistic regression on the pixels judges each decoded image; its "
                       "confidence (largest class probability) inside the path, at the ends, and the share of the "
                       "ends' confidence the path keeps inside; for scale, the share a cross-fade of the two images "
                       "in pixel space keeps. A smooth code space keeps more: the images between the ends still "
                       "look like digits to the judge.",
            "table": pd.DataFrame(rows).to_html(index=False, classes="num", border=0, na_rep=""),
        })
    return figures

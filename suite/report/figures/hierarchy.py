"""Hierarchy of features: first-layer filters, the patches each layer responds to, linear probes by layer."""

from __future__ import annotations

import numpy as np
import pandas as pd

from suite.report.figures.common import draw_image, setup_matplotlib, to_svg, t_interval
from suite.report.figures.registry import FIGURES
from suite.report.frames import at_largest_size, run_arrays, shown_runs
from suite.report.tables import format_interval
from suite.statistics import mean_ci


def filters_figure(kernels: dict, title: str) -> str:
    """A convolution layer's filters as pictures, one row per kernel (e.g. at initialisation, trained).

    `kernels` maps a row label to a Conv2D kernel (k, k, in, out); each
    filter (out) is one picture (its input channels as colours when there
    are three).
    """
    setup_matplotlib(f"fi-{title}")
    import matplotlib.pyplot as plt

    count = max(k.shape[-1] for k in kernels.values())
    fig, axes = plt.subplots(len(kernels), count, figsize=(0.55 * count + 1.0, 0.6 * len(kernels) + 0.4),
                             squeeze=False, layout="constrained")
    for row, (label, kernel) in zip(axes, kernels.items()):
        for i, ax in enumerate(row):
            if i < kernel.shape[-1]:
                draw_image(ax, kernel[..., i] if kernel.shape[2] in (1, 3) else kernel[..., :1, i], diverging=True)
            else:
                ax.axis("off")
        row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=9)
    return to_svg(fig)


def top_patches_figure(layers: dict, title: str) -> str:
    """Per layer, the input patches that most activate a few of its channels: one row per channel.

    `layers` maps a layer label to (patches (channels, top, side, side, in),
    channel indices, (receptive field size, margin)): the field is outlined
    inside the margin of context around it.
    """
    setup_matplotlib(f"tp-{title}")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rows = [(label, ch, p, field) for label, (patches, channels, field) in layers.items()
            for ch, p in zip(channels, patches)]
    top = max(p.shape[0] for _, _, p, _ in rows)
    fig, axes = plt.subplots(len(rows), top, figsize=(0.7 * top + 1.2, 0.7 * len(rows) + 0.4), squeeze=False,
                             layout="constrained")
    for axrow, (label, channel, patches, (size, margin)) in zip(axes, rows):
        for ax, patch in zip(axrow, patches):
            draw_image(ax, patch, diverging=False)
            if margin:
                ax.add_patch(Rectangle((margin - 0.5, margin - 0.5), size, size, fill=False, edgecolor="tab:red",
                                       linewidth=1.2))
        axrow[0].set_ylabel(f"{label}\nchannel {int(channel)}\nfield {size}x{size} px",
                            rotation=0, ha="right", va="center", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return to_svg(fig)


def _layer(name: str) -> int:
    return int(name.rsplit("layer", 1)[1])


@FIGURES.decorator("filters")
def _figure_filters(tidy, data, study) -> list[dict]:
    figures = []
    for _, run in shown_runs(tidy).iterrows():
        arrays = run_arrays(data, run["run_key"])
        if "filters/trained" not in arrays:
            continue
        values = tidy[tidy["run_key"] == run["run_key"]].set_index("metric")["value"]
        kernels = {f"{when}\nedge-likeness {values.get(f'{when}/edge_likeness', np.nan):.2f}":
                   arrays[f"filters/{when}"] for when in ("init", "trained") if f"filters/{when}" in arrays}
        k = arrays["filters/trained"].shape[0]
        # what random k x k filters score, stored by the probe beside the filters
        random = float(arrays.get("random_edge_likeness/trained", np.nan))
        rows = []
        for when in ("init", "trained"):
            v = at_largest_size(tidy)
            v = v[(v["dataset"] == run["dataset"]) & (v["metric"] == f"{when}/edge_likeness")]["value"]
            rows.append({"filters": when, "edge-likeness (mean [95% CI] over seeds)": format_interval(*mean_ci(v)),
                         "seeds": len(v)})
        rows.append({"filters": f"random (expected, {k}x{k})",
                     "edge-likeness (mean [95% CI] over seeds)": f"{random:.3f}", "seeds": ""})
        figures.append({
            "title": f"First-layer filters: {run['dataset']}",
            "svg": filters_figure(kernels, f"{study['name']}: {run['dataset']}, first-layer filters "
                                  f"(n={int(run['n_train'])}, seed {int(run['seed'])})"),
            "caption": "Each picture is one filter of the first convolution layer (red positive, blue "
                       "negative weights), at initialisation and after training. Edge-likeness is the "
                       "share of a filter's energy (its mean removed) that lies in the span of oriented "
                       "edge detectors (x and y derivatives of a Gaussian): 1 for a pure edge, "
                       f"{random:.2f} expected for random {k}x{k} filters. Below: its mean "
                       "over seeds at the largest training set.",
            "table": pd.DataFrame(rows).to_html(index=False, classes="num", border=0),
        })
    return figures


@FIGURES.decorator("top_patches")
def _figure_top_patches(tidy, data, study) -> list[dict]:
    figures = []
    for _, run in shown_runs(tidy).iterrows():
        arrays = run_arrays(data, run["run_key"])
        names = sorted((n for n in arrays if n.startswith("top_patches_layer") and n.endswith("/trained")),
                       key=lambda n: _layer(n.split("/")[0]))
        if not names:
            continue
        layers = {}
        for name in names:
            layer = name.split("/")[0].replace("top_patches_", "")
            layers[layer.replace("layer", "layer ")] = (arrays[name], arrays[f"top_channels_{layer}/trained"],
                                                        tuple(arrays[f"receptive_field_{layer}/trained"]))
        figures.append({
            "title": f"What each layer responds to: {run['dataset']}",
            "svg": top_patches_figure(layers, f"{study['name']}: {run['dataset']}, top-activating patches "
                                      f"(n={int(run['n_train'])}, seed {int(run['seed'])})"),
            "caption": "For each convolution layer of the trained network, the channels with the strongest "
                       "activations (one row each) and the test-image patches that activate them most "
                       "(one per image), cropped to the layer's receptive field (outlined in red where a margin "
                       "of the image around it is shown): a few pixels for the first layer, larger parts of "
                       "digits deeper down.",
        })
    return figures


def layer_probe_figure(points: pd.DataFrame, title: str) -> str:
    """Linear-probe accuracy against layer depth, trained against untrained, one panel per dataset."""
    setup_matplotlib(f"lp-{title}")
    import seaborn as sns

    grid = sns.relplot(
        data=points, x="layer", y="value", hue="network", style="network", kind="line", col="dataset",
        markers=True, errorbar=t_interval, height=2.8, aspect=1.2, err_kws={"alpha": 0.15},
        hue_order=["trained", "untrained (init)"], style_order=["trained", "untrained (init)"],
        col_wrap=min(3, points["dataset"].nunique()),
    )
    grid.set_axis_labels("convolution layer", "linear-probe test accuracy")
    grid.set_titles(col_template="{col_name}")
    for ax in grid.axes.flat:
        ax.set_xticks(sorted(points["layer"].unique()))
        ax.grid(True, alpha=0.3)
    grid.figure.suptitle(title, y=1.03)
    return to_svg(grid.figure)


PROBES = (  # (metric name before the layer number, title, what the figure's caption says it measures)
    ("probe_accuracy_layer", "Linear probes by layer",
     "how well each layer's features separate the classes",
     "Test accuracy of a logistic regression trained on each convolution layer's globally average-pooled "
     "activations (what the layer detects, not where), on the labels the network was trained on"),
    ("held_out_layer", "Linear probes by layer, on a labelling the network never saw",
     "what each layer's features give a new task",
     "Test accuracy of the same probe on a labelling the network was not trained on (its classes split into "
     "two fixed halves), each layer's pooled activations projected to the first layer's width by a fixed "
     "random projection (the same number of features at every depth); what the claims read"),
)


@FIGURES.decorator("layer_probes")
def _figure_layer_probes(tidy, data, study) -> list[dict]:
    frame = at_largest_size(tidy)
    figures = []
    for name, title, subtitle, what in PROBES:
        parsed = frame["metric"].str.extract(rf"^(init|trained)/{name}(\d+)$").dropna()
        if parsed.empty:
            continue
        points = frame.loc[parsed.index].assign(
            network=parsed[0].map({"trained": "trained", "init": "untrained (init)"}), layer=parsed[1].astype(int))
        rows = []
        for (dataset, layer), g in points.groupby(["dataset", "layer"]):
            row = {"dataset": dataset, "layer": layer}
            for network in ("untrained (init)", "trained"):
                row[network] = format_interval(*mean_ci(g.loc[g["network"] == network, "value"].to_numpy()))
            rows.append(row)
        figures.append({
            "title": title,
            "svg": layer_probe_figure(points, f"{study['name']}: {subtitle}"),
            "caption": f"{what}, for the trained network and for the same network at initialisation (mean and "
                       "95% interval over seeds, at the largest training set). The untrained curve is what the "
                       "architecture gives without learning.",
            "table": pd.DataFrame(rows).to_html(index=False, classes="num", border=0),
        })
    return figures

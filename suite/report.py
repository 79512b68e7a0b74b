"""The HTML report, built from the results database alone.

One self-contained file: figures are inline SVG (matplotlib/seaborn), text
goes through Jinja2 with autoescape, so no task name, description or error
text reaches the page unescaped. Verdicts come from `suite.claims`.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from suite.claims import Claim, bootstrap_ci, evaluate_claim, overall_verdict

TEMPLATE_DIR = Path(__file__).parent / "templates"


# --- reading -----------------------------------------------------------------------

def load_results(store) -> dict:
    """Everything the report needs, as pandas frames."""
    studies = store.read_frame("SELECT * FROM studies ORDER BY name")
    runs = store.read_frame("SELECT * FROM runs")
    metrics = store.read_frame(
        "SELECT r.run_key, r.study, r.profile, m.metric, m.value FROM metrics m JOIN runs r USING (run_key)"
    )
    skipped = store.read_frame("SELECT * FROM skipped ORDER BY study, task")
    sessions = store.read_frame("SELECT * FROM sessions ORDER BY id")
    series = store.read_frame("SELECT run_key, name, x, value FROM series")
    arrays = store.read_frame("SELECT run_key, name, npy FROM arrays")
    history = store.read_frame("SELECT run_key, epoch, metric, value FROM history")
    return {"studies": studies, "runs": runs, "metrics": metrics, "skipped": skipped,
            "sessions": sessions, "series": series, "arrays": arrays, "history": history}


def study_runs(data: dict, study: pd.Series) -> pd.DataFrame:
    """Tidy frame (one row per ok run and metric) of a study's latest profile.

    Adds `model` (the architecture, with its setting when there is one, e.g.
    "gru@equal params"), `length` (the input's first dimension: time steps
    for sequences) and `primary_metric` (the task's metric).
    """
    runs = data["runs"]
    runs = runs[(runs["study"] == study["name"]) & (runs["profile"] == study["profile"]) & (runs["status"] == "ok")]
    tidy = runs.merge(data["metrics"][["run_key", "metric", "value"]], on="run_key")
    configs = [json.loads(c) for c in tidy["config_json"]]
    tidy["primary_metric"] = [c.get("metric", "test/accuracy") for c in configs]
    tidy["length"] = [(c.get("input_shape") or [np.nan])[0] for c in configs]
    tidy["setting"] = tidy["setting"].fillna("")
    tidy["model"] = np.where(tidy["setting"] == "", tidy["arch"], tidy["arch"] + "@" + tidy["setting"])
    # classical baselines (scikit-learn) are drawn as reference lines
    tidy["baseline"] = [c.get("framework") == "sklearn" for c in configs]
    return tidy


# --- figures -------------------------------------------------------------------------

def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue: the SVG is inlined


def _setup_matplotlib(salt: str):
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (and stays escaped)
    matplotlib.rcParams["svg.hashsalt"] = salt  # unique ids per inline figure


def learning_curve_figure(tidy: pd.DataFrame, metric: str, title: str) -> str:
    """Test metric against training-set size (log axis), mean and 95% CI over seeds.

    One panel per (dataset, variant), matched and mismatched side by side,
    one line per architecture.
    """
    _setup_matplotlib(f"lc-{title}")  # before pyplot is imported (by seaborn)
    import seaborn as sns

    frame = tidy[(tidy["metric"] == metric) & (tidy["primary_metric"] == metric)].copy()
    frame["data"] = np.where(frame["matched"] == 1, frame["variant"] + " (matched)",
                             frame["variant"] + " (mismatched)")
    col_order = sorted(frame["data"].unique(), key=lambda v: ("mismatched" in v, v))
    models, palette, dashes = model_styles(frame)
    grid = sns.relplot(
        data=frame, x="n_train", y="value", hue="model", style="model", kind="line",
        row="dataset", col="data", col_order=col_order, markers=True, dashes=dashes,
        errorbar=("ci", 95), height=3.0 if len(col_order) <= 2 else 2.5, aspect=1.25 if len(col_order) <= 2 else 1.05,
        palette=palette,
        facet_kws={"sharey": "row", "sharex": "row", "margin_titles": True},
        hue_order=models, style_order=models, err_kws={"alpha": 0.15},
    )
    grid.set(xscale="log")
    grid.set_axis_labels("training examples (log scale)", metric)
    grid.set_titles(row_template="{row_name}", col_template="{col_name}")
    for (dataset, _), ax in grid.axes_dict.items():
        _log_axis(ax, sorted(frame.loc[frame["dataset"] == dataset, "n_train"].unique()))
    grid.figure.suptitle(title, y=1.02)
    return _svg(grid.figure)


def model_styles(frame: pd.DataFrame):
    """Models in order (networks, then baselines), a colour each, solid lines
    for networks and dashed grey ones for the classical baselines."""
    import seaborn as sns

    flags = frame.groupby("model")["baseline"].max() if "baseline" in frame else pd.Series(dtype=bool)
    networks = sorted(m for m in frame["model"].unique() if not flags.get(m, False))
    baselines = sorted(m for m in frame["model"].unique() if flags.get(m, False))
    colours = sns.color_palette(n_colors=max(1, len(networks)))
    greys = sns.color_palette("Greys_d", n_colors=max(1, len(baselines)))
    palette = {**dict(zip(networks, colours)), **dict(zip(baselines, greys))}
    dashes = {**{m: "" for m in networks}, **{m: (4, 2) for m in baselines}}
    return networks + baselines, palette, dashes


def _at_largest_size(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of each dataset's largest training-set size."""
    return frame[frame["n_train"] == frame.groupby("dataset")["n_train"].transform("max")]


def _family(dataset: str) -> str:
    """A dataset's family: its name without the length suffix (adding_T50 -> adding)."""
    import re

    return re.sub(r"_T\d+$", "", dataset)


def _dataset_order(dataset: str):
    """Sort key: by family, then by length (adding_T32 before adding_T128)."""
    suffix = dataset[len(_family(dataset)) + 2:]
    return (_family(dataset), int(suffix) if suffix.isdigit() else 0, dataset)


def _log_axis(ax, values):
    """A log x axis labelled with exactly the values run (sizes, lengths), nothing else."""
    from matplotlib import ticker

    ax.set_xscale("log")
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xticks(values, [f"{int(v):,}" for v in values])
    ax.grid(True, alpha=0.3)


def metric_vs_length_figure(tidy: pd.DataFrame, title: str) -> str:
    """Each task family's metric against sequence length, trivial baseline dashed.

    One panel per family (e.g. adding, copy), one line per model, mean and
    95% CI over seeds (the largest training set when several were run).
    """
    _setup_matplotlib(f"vl-{title}")
    import matplotlib.pyplot as plt
    import seaborn as sns

    frame = tidy.copy()
    frame["family"] = frame["dataset"].map(_family)
    frame = _at_largest_size(frame)
    families = sorted(frame["family"].unique())
    fig, axes = plt.subplots(1, len(families), figsize=(4.6 * len(families), 3.4), squeeze=False)
    models = sorted(frame["model"].unique())
    for ax, family in zip(axes[0], families):
        sub = frame[frame["family"] == family]
        metric = sub["primary_metric"].iloc[0]
        points = sub[sub["metric"] == metric]
        sns.lineplot(data=points, x="length", y="value", hue="model", hue_order=models, style="model",
                     style_order=models, markers=True, dashes=False, errorbar=("ci", 95), ax=ax,
                     err_kws={"alpha": 0.15})
        base = sub[sub["metric"] == metric.replace("test/", "test/baseline_")]
        if not base.empty:
            line = base.groupby("length")["value"].mean()
            ax.plot(line.index, line.to_numpy(), "k--", lw=1, label="trivial baseline")
            ax.legend(fontsize=8)
        _log_axis(ax, sorted(points["length"].unique()))
        ax.set_title(family)
        ax.set_xlabel("sequence length T (log scale)")
        ax.set_ylabel(metric)
    fig.suptitle(title, y=1.02)
    return _svg(fig)


def gradient_norm_figure(series: pd.DataFrame, title: str) -> str:
    """Input-gradient norm per time step against distance from the end (log y)."""
    _setup_matplotlib(f"gn-{title}")
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
    return _svg(grid.figure)


def step_time_figure(points: pd.DataFrame, slopes: dict, title: str) -> str:
    """Training-step time against sequence length, log-log, fitted slopes in the legend."""
    _setup_matplotlib(f"st-{title}")
    import matplotlib.pyplot as plt
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    models = sorted(points["model"].unique())
    sns.lineplot(data=points, x="length", y="value", hue="model", hue_order=models, style="model",
                 style_order=models, markers=True, dashes=False, errorbar=("ci", 95), ax=ax,
                 err_kws={"alpha": 0.15})
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [f"{m} (slope {slopes[m]:.2f})" if m in slopes else m for m in labels], fontsize=8)
    ax.set_yscale("log")
    _log_axis(ax, sorted(points["length"].unique()))
    ax.set_xlabel("sequence length (log scale)")
    ax.set_ylabel("training step time, ms (log scale)")
    ax.set_title(title)
    return _svg(fig)


def _figure_learning_curves(tidy, data, study) -> list[dict]:
    return [{
        "title": f"Learning curves: {metric}",
        "svg": learning_curve_figure(tidy, metric, f"{study['name']}: {metric}"),
        "caption": "Test metric against training-set size. Lines: mean over seeds; bands: 95% "
                   "bootstrap interval (seaborn). Matched data on the left, mismatched on the right.",
    } for metric in sorted(tidy["primary_metric"].unique())]


def _figure_vs_length(tidy, data, study) -> list[dict]:
    return [{
        "title": "Error against dependency length",
        "svg": metric_vs_length_figure(tidy, f"{study['name']}: test metric against sequence length"),
        "caption": "Each task's test metric against the distance the model must carry information "
                   "(mean and 95% interval over seeds). Dashed: the trivial baseline (predicting the "
                   "mean for the adding problem, the commonest symbol for copy); a model on the "
                   "dashed line has learned nothing.",
    }]


def _figure_gradient_norms(tidy, data, study) -> list[dict]:
    runs = tidy.drop_duplicates("run_key")[["run_key", "model", "dataset", "n_train", "seed"]]
    series = data["series"].merge(runs, on="run_key")
    series = series[series["name"].str.startswith("input_gradients/")]
    if series.empty:
        return []
    series = series.assign(when=series["name"].str.split("/").str[-1])
    # one curve per (model, when): the mean over seeds of the per-step norm
    series = series.groupby(["dataset", "model", "when", "x"], as_index=False)["value"].mean()
    series["dataset"] = pd.Categorical(series["dataset"], sorted(series["dataset"].unique(), key=_dataset_order))
    return [{
        "title": "Gradient norm against distance from the end",
        "svg": gradient_norm_figure(series, f"{study['name']}: where the gradient reaches"),
        "caption": "The norm of the gradient of the loss with respect to the input at each time step "
                   "(mean over 256 validation sequences and over seeds), at initialisation (solid) and "
                   "after training (dashed). A straight falling line on this log axis is an "
                   "exponentially vanishing gradient: the early steps cannot teach the model.",
    }]


def slopes_table(points: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Per model: log-log slope of step time against length, mean [95% CI] over seeds."""
    from suite.claims import loglog_slopes

    def seed_slopes(frame):
        return loglog_slopes(frame, ["seed"])["value"].tolist()

    rows, means = [], {}
    for model, g in points.groupby("model"):
        per_seed = seed_slopes(g)
        if not per_seed:
            continue
        mean, low, high = bootstrap_ci(per_seed)
        means[model] = mean
        longest = g[g["length"] >= g["length"].median()]
        tail = seed_slopes(longest)
        by_length = g.groupby("length")["value"].median()
        rows.append({"model": model, "slope (log-log)": _fmt(mean, low, high, 2),
                     f"slope from {int(longest['length'].min())} steps": _fmt(*bootstrap_ci(tail), 2) if tail else "",
                     "seeds": len(per_seed),
                     f"ms at {int(by_length.index[0])}": f"{by_length.iloc[0]:.1f}",
                     f"ms at {int(by_length.index[-1])}": f"{by_length.iloc[-1]:.1f}"})
    return pd.DataFrame(rows), means


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
    _setup_matplotlib(f"cmp-{title}")
    import seaborn as sns

    models = sorted(points["model"].unique())
    grid = sns.catplot(data=points, y="model", x="value", col="dataset", kind="point", order=models,
                       errorbar=("ci", 95), linestyle="none", height=2.6, aspect=1.6, sharex=False,
                       col_wrap=min(3, points["dataset"].nunique()))
    for dataset, ax in grid.axes_dict.items():
        params = points[points["dataset"] == dataset].groupby("model")["params"].max()
        ax.set_yticks(range(len(models)), [f"{m} ({int(params.get(m, 0)):,} params)" for m in models],
                      fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    grid.set_axis_labels(metric, "")
    grid.figure.suptitle(title, y=1.03)
    return _svg(grid.figure)


def _figure_comparison(tidy, data, study) -> list[dict]:
    points = tidy[tidy["metric"] == "test/skill"]
    points = _at_largest_size(points)
    if points.empty:
        return []
    return [{
        "title": "Models side by side",
        "svg": comparison_figure(points, "test/skill", f"{study['name']}: skill over the trivial baseline"),
        "caption": "test/skill at the largest training set (0 = the trivial baseline, 1 = perfect): "
                   "mean and 95% interval over seeds, with each model's parameter count.",
    }]


def sensitivity(tidy: pd.DataFrame) -> pd.DataFrame:
    """Change in each model's primary test metric from the matched variant to each other variant.

    Tidy: dataset, model, perturbation, n_train, seed, value (perturbed -
    natural, paired on the same training subset).
    """
    from suite.claims import paired_change

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
    _setup_matplotlib(f"sens-{title}")
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
    return _svg(fig)


def _figure_sensitivity(tidy, data, study) -> list[dict]:
    changes = sensitivity(tidy)
    if changes.empty:
        return []
    metric = changes["metric"].iloc[0]
    cells, rows = [], []
    for (model, perturbation), g in changes.groupby(["model", "perturbation"]):
        per_seed = g.groupby("seed")["value"].mean()  # over datasets and sizes
        mean, low, high = bootstrap_ci(per_seed.to_numpy())
        cells.append({"model": model, "perturbation": perturbation, "mean": mean})
        rows.append({"model": model, "perturbation": perturbation, "cell": f"{_fmt(mean, low, high)} (k={len(per_seed)})"})
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
                   "own order, rotation and noise. Below: the same with 95% bootstrap intervals over "
                   "seeds, then per table.",
        "table": overall.reset_index().to_html(index=False, classes="num", border=0, na_rep="")
                 + by_dataset.reset_index().to_html(index=False, classes="num", border=0, na_rep="",
                                                    float_format=lambda v: f"{v:+.3f}"),
    }]


def shift_points(tidy: pd.DataFrame) -> pd.DataFrame:
    """Accuracy against shift in pixels (0 = the test split), one row per run and shift.

    Read from the `test_shift<k>/accuracy` metrics of datasets with shifted
    test sets, at each dataset's largest training-set size.
    """
    frame = _at_largest_size(tidy)
    shifted = frame["metric"].str.extract(r"^test_shift(\d+)/accuracy$")[0]
    points = frame[shifted.notna() | (frame["metric"] == "test/accuracy")].copy()
    points["shift"] = shifted[points.index].fillna(0).astype(int)
    has_shifts = points.groupby("dataset")["shift"].transform("max") > 0
    return points[has_shifts]


def shift_figure(points: pd.DataFrame, title: str) -> str:
    """Test accuracy against the shift of the test digits, one panel per (dataset, variant)."""
    _setup_matplotlib(f"sh-{title}")
    import seaborn as sns

    models, palette, dashes = model_styles(points)
    grid = sns.relplot(
        data=points, x="shift", y="value", hue="model", style="model", kind="line", row="dataset",
        col="variant", markers=True, dashes=dashes, palette=palette, hue_order=models, style_order=models,
        errorbar=("ci", 95), height=2.8, aspect=1.3, err_kws={"alpha": 0.15},
        facet_kws={"sharex": "row", "margin_titles": True},
    )
    grid.set_axis_labels("test shift (pixels, down and right)", "test accuracy")
    grid.set_titles(row_template="{row_name}", col_template="trained: {col_name}")
    for ax in grid.axes.flat:
        ax.grid(True, alpha=0.3)
    grid.figure.suptitle(title, y=1.02)
    return _svg(grid.figure)


def _figure_vs_shift(tidy, data, study) -> list[dict]:
    points = shift_points(tidy)
    if points.empty:
        return []
    largest = _at_largest_size(tidy)
    rows = []
    for (dataset, variant, model), g in largest.groupby(["dataset", "variant", "model"]):
        row = {"dataset": dataset, "trained": variant, "model": model,
               "params": f"{g['params'].max():,.0f}" if g["params"].notna().any() else ""}
        flops = g.loc[g["metric"] == "model/flops", "value"]
        row["FLOPs / example"] = f"{flops.max():,.0f}" if len(flops) else ""
        for metric, label in (("test/accuracy", "shift 0"), ("test_far/accuracy", "largest shift"),
                              ("test_random/accuracy", "random placement")):
            values = g.loc[g["metric"] == metric, "value"].to_numpy()
            row[label] = _fmt(*bootstrap_ci(values)) if len(values) else ""
        rows.append(row)
    return [{
        "title": "Accuracy against shift",
        "svg": shift_figure(points, f"{study['name']}: test accuracy against shift"),
        "caption": "Test accuracy on the test images shifted by each offset (mean and 95% interval over "
                   "seeds, at the largest training set), for models trained with the images where the "
                   "test split has them (natural) and, where run, trained on random placements. Below: "
                   "parameters, FLOPs per example (convolution and dense layers, counted from the model) "
                   "and accuracy with intervals at shift 0, at the largest shift and at random positions.",
        "table": pd.DataFrame(rows).to_html(index=False, classes="num", border=0),
    }]


def _final_runs(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per run at each dataset's largest size, ordered by dataset, model, seed."""
    return _at_largest_size(tidy).drop_duplicates("run_key").sort_values(["dataset", "model", "seed"])


def shown_runs(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per dataset, the run whose pictures are drawn: the largest training set, the lowest seed."""
    return _final_runs(tidy).sort_values(["dataset", "seed"], kind="stable").drop_duplicates("dataset")


def run_arrays(data: dict, run_key: str) -> dict:
    """A run's stored arrays (`suite.probes`) by name."""
    from suite.store import from_npy

    rows = data["arrays"][data["arrays"]["run_key"] == run_key]
    return {name: from_npy(blob) for name, blob in zip(rows["name"], rows["npy"])}


def _image(ax, image, diverging: bool):
    """One small picture without axes: diverging colours around 0 for weights, grey ink for data."""
    image = np.asarray(image, dtype=float)
    if image.shape[-1] == 3:  # colour: weights rescaled to [0, 1], pixels clipped
        if diverging:
            scale = np.abs(image).max() or 1.0
            image = 0.5 + 0.5 * image / scale
        ax.imshow(np.clip(image, 0, 1), interpolation="nearest")
    elif diverging:
        scale = np.abs(image).max() or 1.0
        ax.imshow(image[..., 0], cmap="RdBu_r", vmin=-scale, vmax=scale, interpolation="nearest")
    else:
        ax.imshow(image[..., 0], cmap="gray_r", vmin=0, vmax=max(1.0, image.max()), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def filters_figure(kernels: dict, title: str) -> str:
    """A convolution layer's filters as pictures, one row per kernel (e.g. at initialisation, trained).

    `kernels` maps a row label to a Conv2D kernel (k, k, in, out); each
    filter (out) is one picture (its input channels as colours when there
    are three).
    """
    _setup_matplotlib(f"fi-{title}")
    import matplotlib.pyplot as plt

    count = max(k.shape[-1] for k in kernels.values())
    fig, axes = plt.subplots(len(kernels), count, figsize=(0.55 * count + 1.0, 0.6 * len(kernels) + 0.4),
                             squeeze=False, layout="constrained")
    for row, (label, kernel) in zip(axes, kernels.items()):
        for i, ax in enumerate(row):
            if i < kernel.shape[-1]:
                _image(ax, kernel[..., i] if kernel.shape[2] in (1, 3) else kernel[..., :1, i], diverging=True)
            else:
                ax.axis("off")
        row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=9)
    return _svg(fig)


def top_patches_figure(layers: dict, title: str) -> str:
    """Per layer, the input patches that most activate a few of its channels: one row per channel.

    `layers` maps a layer label to (patches (channels, top, side, side, in),
    channel indices, (receptive field size, margin)): the field is outlined
    inside the margin of context around it.
    """
    _setup_matplotlib(f"tp-{title}")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rows = [(label, ch, p, field) for label, (patches, channels, field) in layers.items()
            for ch, p in zip(channels, patches)]
    top = max(p.shape[0] for _, _, p, _ in rows)
    fig, axes = plt.subplots(len(rows), top, figsize=(0.7 * top + 1.2, 0.7 * len(rows) + 0.4), squeeze=False,
                             layout="constrained")
    for axrow, (label, channel, patches, (size, margin)) in zip(axes, rows):
        for ax, patch in zip(axrow, patches):
            _image(ax, patch, diverging=False)
            if margin:
                ax.add_patch(Rectangle((margin - 0.5, margin - 0.5), size, size, fill=False, edgecolor="tab:red",
                                       linewidth=1.2))
        axrow[0].set_ylabel(f"{label}\nchannel {int(channel)}\nfield {size}x{size} px",
                            rotation=0, ha="right", va="center", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _svg(fig)


def _layer(name: str) -> int:
    return int(name.rsplit("layer", 1)[1])


def _figure_filters(tidy, data, study) -> list[dict]:
    from suite.probes import random_edge_likeness

    figures = []
    for _, run in shown_runs(tidy).iterrows():
        arrays = run_arrays(data, run["run_key"])
        if "filters/trained" not in arrays:
            continue
        values = tidy[tidy["run_key"] == run["run_key"]].set_index("metric")["value"]
        kernels = {f"{when}\nedge-likeness {values.get(f'{when}/edge_likeness', np.nan):.2f}":
                   arrays[f"filters/{when}"] for when in ("init", "trained") if f"filters/{when}" in arrays}
        k = arrays["filters/trained"].shape[0]
        rows = []
        for when in ("init", "trained"):
            v = _at_largest_size(tidy)
            v = v[(v["dataset"] == run["dataset"]) & (v["metric"] == f"{when}/edge_likeness")]["value"]
            rows.append({"filters": when, "edge-likeness (mean [95% CI] over seeds)": _fmt(*bootstrap_ci(v)),
                         "seeds": len(v)})
        rows.append({"filters": f"random (expected, {k}x{k})",
                     "edge-likeness (mean [95% CI] over seeds)": f"{random_edge_likeness(k):.3f}", "seeds": ""})
        figures.append({
            "title": f"First-layer filters: {run['dataset']}",
            "svg": filters_figure(kernels, f"{study['name']}: {run['dataset']}, first-layer filters "
                                  f"(n={int(run['n_train'])}, seed {int(run['seed'])})"),
            "caption": "Each picture is one filter of the first convolution layer (red positive, blue "
                       "negative weights), at initialisation and after training. Edge-likeness is the "
                       "share of a filter's energy (its mean removed) that lies in the span of oriented "
                       "edge detectors (x and y derivatives of a Gaussian): 1 for a pure edge, "
                       f"{random_edge_likeness(k):.2f} expected for random {k}x{k} filters. Below: its mean "
                       "over seeds at the largest training set.",
            "table": pd.DataFrame(rows).to_html(index=False, classes="num", border=0),
        })
    return figures


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
    _setup_matplotlib(f"lp-{title}")
    import seaborn as sns

    grid = sns.relplot(
        data=points, x="layer", y="value", hue="network", style="network", kind="line", col="dataset",
        markers=True, errorbar=("ci", 95), height=2.8, aspect=1.2, err_kws={"alpha": 0.15},
        hue_order=["trained", "untrained (init)"], style_order=["trained", "untrained (init)"],
        col_wrap=min(3, points["dataset"].nunique()),
    )
    grid.set_axis_labels("convolution layer", "linear-probe test accuracy")
    grid.set_titles(col_template="{col_name}")
    for ax in grid.axes.flat:
        ax.set_xticks(sorted(points["layer"].unique()))
        ax.grid(True, alpha=0.3)
    grid.figure.suptitle(title, y=1.03)
    return _svg(grid.figure)


def _figure_layer_probes(tidy, data, study) -> list[dict]:
    frame = _at_largest_size(tidy)
    parsed = frame["metric"].str.extract(r"^(init|trained)/probe_accuracy_layer(\d+)$").dropna()
    if parsed.empty:
        return []
    points = frame.loc[parsed.index].assign(
        network=parsed[0].map({"trained": "trained", "init": "untrained (init)"}), layer=parsed[1].astype(int))
    rows = []
    for (dataset, layer), g in points.groupby(["dataset", "layer"]):
        row = {"dataset": dataset, "layer": layer}
        for network in ("untrained (init)", "trained"):
            row[network] = _fmt(*bootstrap_ci(g.loc[g["network"] == network, "value"].to_numpy()))
        rows.append(row)
    return [{
        "title": "Linear probes by layer",
        "svg": layer_probe_figure(points, f"{study['name']}: how well each layer's features separate the classes"),
        "caption": "Test accuracy of a logistic regression trained on each convolution layer's globally "
                   "average-pooled activations (what the layer detects, not where), for the trained "
                   "network and for the same network at initialisation (mean and 95% interval over seeds, "
                   "at the largest training set). The untrained curve is what the architecture gives "
                   "without learning.",
        "table": pd.DataFrame(rows).to_html(index=False, classes="num", border=0),
    }]


# --- generation ---------------------------------------------------------------------

def sample_scatter_figure(panels: dict, centres, title: str) -> str:
    """Generated 2-D points, one panel per (model, seed), over the true modes (red crosses).

    `panels` maps (row label, column label) -> (n, 2) points; rows are
    models, columns seeds. Points are rasterised (thousands per panel).
    """
    _setup_matplotlib(f"sc-{title}")
    import matplotlib.pyplot as plt

    rows = list(dict.fromkeys(r for r, _ in panels))
    cols = list(dict.fromkeys(c for _, c in panels))
    limit = np.abs(centres).max() * 1.5
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(1.6 * len(cols) + 0.8, 1.6 * len(rows) + 0.4),
                             squeeze=False, layout="constrained")
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            ax = axes[i, j]
            points = panels.get((row, col))
            if points is None:  # e.g. the real data, drawn once
                ax.axis("off")
                continue
            ax.scatter(points[:, 0], points[:, 1], s=1.5, alpha=0.4, color="tab:blue", rasterized=True)
            ax.scatter(centres[:, 0], centres[:, 1], s=12, marker="x", color="tab:red", linewidths=0.8)
            ax.set_xlim(-limit, limit)
            ax.set_ylim(-limit, limit)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            if all(panels.get((above, col)) is None for above in rows[:i]):  # the top panel of its column
                ax.set_title(col, fontsize=8)
            if j == 0:
                ax.set_ylabel(row, fontsize=8)
    fig.suptitle(title, fontsize=9)
    return _svg(fig)


def image_grid_figure(grids: dict, title: str) -> str:
    """Rows of small images: `grids` maps a row label to (n, H, W, C) images in [0, 1]."""
    _setup_matplotlib(f"ig-{title}")
    import matplotlib.pyplot as plt

    count = max(len(g) for g in grids.values())
    fig, axes = plt.subplots(len(grids), count, figsize=(0.45 * count + 1.0, 0.5 * len(grids) + 0.4),
                             squeeze=False, layout="constrained")
    for axrow, (label, images) in zip(axes, grids.items()):
        for i, ax in enumerate(axrow):
            if i < len(images):
                _image(ax, images[i], diverging=False)
            else:
                ax.axis("off")
        axrow[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _svg(fig)


def _figure_sample_scatter(tidy, data, study) -> list[dict]:
    from suite.data import MIXTURES

    figures = []
    runs = _final_runs(tidy)
    for dataset, group in runs.groupby("dataset"):
        if dataset not in MIXTURES:
            continue
        mixture = MIXTURES[dataset]
        panels = {}
        for _, run in group.iterrows():
            arrays = run_arrays(data, run["run_key"])
            if "samples/trained" in arrays:
                panels[(run["model"], f"seed {int(run['seed'])}")] = arrays["samples/trained"]
        if not panels:
            continue
        first_column = next(iter(panels))[1]  # the real distribution, once, in the first row
        panels = {("real data", first_column): mixture.sample(1000, seed=0)[0], **panels}
        figures.append({
            "title": f"Samples on {dataset}",
            "svg": sample_scatter_figure(panels, mixture.centres, f"{study['name']}: {dataset}, 1,000 samples "
                                         "per trained model and seed"),
            "caption": f"Each panel: 1,000 points generated by one trained model (one row per model, one column "
                       f"per seed), over the {len(mixture.centres)} true modes (red crosses, std "
                       f"{mixture.std:g}). Mode collapse shows as points piled on a few crosses; a blurry model "
                       "spreads points between them. Top left: the real distribution.",
        })
    return figures


def _figure_sample_grid(tidy, data, study) -> list[dict]:
    from suite.data import MIXTURES

    figures = []
    for dataset, group in _final_runs(tidy).groupby("dataset"):
        if dataset in MIXTURES:
            continue
        grids = {}
        for _, run in group[group["seed"] == group["seed"].min()].iterrows():
            arrays = run_arrays(data, run["run_key"])
            if "samples/trained" in arrays:
                grids[f"{run['model']}\nseed {int(run['seed'])}"] = arrays["samples/trained"][:18]
        if not grids:
            continue
        figures.append({
            "title": f"Samples on {dataset}",
            "svg": image_grid_figure(grids, f"{study['name']}: {dataset}, generated images"),
            "caption": "Images generated by each trained model (first seed), ink dark. The Frechet distance and "
                       "the classes covered in the table below come from 1,000 such samples per run.",
        })
    return figures


# (metric, label, digits) shown in the generation table, where a study's runs have them
GENERATION_METRICS = (
    ("trained/modes", "modes covered", 1), ("trained/high_quality", "high-quality share", 3),
    ("trained/frechet_distance", "Frechet distance", 2), ("trained/classes", "classes covered", 1),
    ("train/oscillation_loss", "loss oscillation", 3), ("train/oscillation_g_loss", "generator-loss oscillation", 3),
)


def _figure_generation_table(tidy, data, study) -> list[dict]:
    frame = _at_largest_size(tidy)
    rows = []
    for (dataset, model), g in frame.groupby(["dataset", "model"]):
        row = {"dataset": dataset, "model": model, "seeds": g["seed"].nunique()}
        for metric, label, digits in GENERATION_METRICS:
            values = g.loc[g["metric"] == metric, "value"].to_numpy()
            if len(values):
                row[label] = f"{_fmt(*bootstrap_ci(values), digits=digits)} sd {values.std(ddof=1) if len(values) > 1 else 0:.{digits}f}"
        rows.append(row)
    if not rows:
        return []
    table = pd.DataFrame(rows)
    return [{
        "title": "Coverage, quality and stability over seeds",
        "svg": "",
        "caption": "Per dataset and model: mean [95% interval] over seeds and the standard deviation over seeds "
                   "(sd: the seed-to-seed spread, the instability the lesson names). Modes covered: modes with at "
                   "least 1% of 2,500 samples within 3 std; high-quality share: samples within 3 std of their "
                   "nearest mode. On images, the Frechet distance to the test images in the feature space of a "
                   "CNN the suite trains on the same data, and the classes given at least 2% of 1,000 samples by "
                   "it. Oscillation: the per-epoch loss's standard deviation over its mean, in the second half of "
                   "training.",
        "table": table.to_html(index=False, classes="num", border=0, na_rep=""),
    }]


def loss_curve_figure(history: pd.DataFrame, title: str) -> str:
    """Per-epoch training losses, one panel per (dataset, model), one thin line per seed and loss."""
    _setup_matplotlib(f"lcv-{title}")
    import seaborn as sns

    grid = sns.relplot(
        data=history, x="epoch", y="value", hue="metric", units="seed", estimator=None, kind="line",
        row="dataset", col="model", height=2.0, aspect=1.3, linewidth=0.8, alpha=0.7,
        facet_kws={"sharey": False, "margin_titles": True},
    )
    grid.set_axis_labels("epoch (a fixed number of steps)", "loss")
    grid.set_titles(row_template="{row_name}", col_template="{col_name}")
    grid.figure.suptitle(title, y=1.02)
    return _svg(grid.figure)


def _figure_loss_curves(tidy, data, study) -> list[dict]:
    runs = _final_runs(tidy)[["run_key", "dataset", "model", "seed"]]
    history = data["history"].merge(runs, on="run_key")
    if history.empty:
        return []
    parts = {
        "gan": "for a GAN the discriminator's and the generator's losses, which chase each other instead of "
               "settling", "vae": "for the VAE its two terms (reconstruction and KL)",
        "diffusion": "for the diffusion model the noise-prediction error",
        "ae": "for an autoencoder the reconstruction error"}
    archs = set(history["model"].str.split("@").str[0])
    shown = [text for key, text in parts.items() if any(a == key or a.startswith(key + "_") or
                                                         (key == "ae" and a.endswith("_ae")) for a in archs)]
    return [{
        "title": "Training losses",
        "svg": loss_curve_figure(history, f"{study['name']}: losses over training"),
        "caption": "Each run's losses per epoch (one line per seed and loss; an epoch is a fixed number of "
                   "steps): " + "; ".join(shown) + ".",
    }]


# --- representation ---------------------------------------------------------------

def _code_width(tidy: pd.DataFrame) -> pd.Series:
    """Per row, the code width its setting names ("code 8" -> 8; "over-complete" -> its hparams' latent)."""
    return pd.Series([json.loads(c).get("hparams", {}).get("latent", np.nan) for c in tidy["config_json"]],
                     index=tidy.index, dtype=float)


def code_probe_figure(points: pd.DataFrame, title: str) -> str:
    """Linear-probe accuracy against code width: the code, PCA of that width, and the raw input."""
    _setup_matplotlib(f"cp-{title}")
    import seaborn as sns

    grid = sns.relplot(
        data=points, x="width", y="value", hue="space", style="space", kind="line", row="dataset", col="labels",
        markers=True, errorbar=("ci", 95), height=2.6, aspect=1.3, err_kws={"alpha": 0.15},
        hue_order=sorted(points["space"].unique()), style_order=sorted(points["space"].unique()),
        facet_kws={"sharey": "row", "sharex": "row", "margin_titles": True},
    )
    grid.set(xscale="log")
    grid.set_axis_labels("code width (log scale)", "linear-probe test accuracy")
    grid.set_titles(row_template="{row_name}", col_template="{col_name}")
    for (dataset, _), ax in grid.axes_dict.items():
        _log_axis(ax, sorted(points.loc[points["dataset"] == dataset, "width"].unique()))
        ax.grid(True, alpha=0.3)
    grid.figure.suptitle(title, y=1.02)
    return _svg(grid.figure)


def _figure_code_probes(tidy, data, study) -> list[dict]:
    frame = _at_largest_size(tidy).copy()
    frame["width"] = _code_width(frame)
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
                row[label] = _fmt(*bootstrap_ci(values), digits=4 if "MSE" in label else 3)
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


def _figure_reconstructions(tidy, data, study) -> list[dict]:
    figures = []
    runs = _final_runs(tidy).copy()
    runs["width"] = _code_width(runs)
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
    _setup_matplotlib(f"cm-{title}")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.0), layout="constrained")
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=5, alpha=0.7, rasterized=True)
    fig.colorbar(points, ax=ax, label="class", ticks=np.unique(labels))
    ax.set_xlabel(f"{axis} 1")
    ax.set_ylabel(f"{axis} 2")
    ax.set_title(title, fontsize=9)
    return _svg(fig)


def _figure_code_map(tidy, data, study) -> list[dict]:
    figures = []
    runs = _final_runs(tidy).copy()
    runs["width"] = _code_width(runs)
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


# figure name (Study.figures) -> fn(tidy, data, study row) -> [{title, svg, caption[, table]}]
FIGURES = {
    "learning_curves": _figure_learning_curves,
    "vs_length": _figure_vs_length,
    "gradient_norms": _figure_gradient_norms,
    "step_time": _figure_step_time,
    "comparison": _figure_comparison,
    "sensitivity": _figure_sensitivity,
    "vs_shift": _figure_vs_shift,
    "filters": _figure_filters,
    "top_patches": _figure_top_patches,
    "layer_probes": _figure_layer_probes,
    "sample_scatter": _figure_sample_scatter,
    "sample_grid": _figure_sample_grid,
    "generation_table": _figure_generation_table,
    "loss_curves": _figure_loss_curves,
    "code_probes": _figure_code_probes,
    "reconstructions": _figure_reconstructions,
    "code_map": _figure_code_map,
}


# --- tables --------------------------------------------------------------------------

def _fmt(mean, low, high, digits=3) -> str:
    if np.isnan(low):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def summary_table(tidy: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean and 95% bootstrap interval over seeds, sizes as columns."""
    rows = []
    for (dataset, variant, model, n), g in tidy[(tidy["metric"] == metric) & (tidy["primary_metric"] == metric)].groupby(
        ["dataset", "variant", "model", "n_train"]
    ):
        mean, low, high = bootstrap_ci(g["value"].to_numpy())
        rows.append({"dataset": dataset, "variant": variant, "model": model, "n_train": int(n),
                     "cell": f"{_fmt(mean, low, high)} (k={len(g)})"})
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).pivot(index=["dataset", "variant", "model"], columns="n_train", values="cell")
    table.columns = [f"n={c}" for c in table.columns]
    table = table.reset_index()
    order = sorted(range(len(table)), key=lambda i: (_dataset_order(table.loc[i, "dataset"]),
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


# --- assembly ------------------------------------------------------------------------


def study_section(data: dict, study: pd.Series) -> dict:
    tidy = study_runs(data, study)
    claims = [Claim.from_json(json.dumps(c)) for c in json.loads(study["claims_json"] or "[]")]
    section = {
        "name": study["name"], "question": study["question"], "claim": study["claim"],
        "expected": study["expected"], "profile": study["profile"],
        "budget": json.loads(study["budget_json"] or "{}"), "n_runs": int(tidy["run_key"].nunique()),
        "references": _json_field(study, "references_json", []),
        "figures": [], "tables": [], "verdicts": [], "params": None, "param_warnings": [],
    }
    if tidy.empty:
        return section
    for name in _json_field(study, "figures_json", ["learning_curves"]):
        if name not in FIGURES:
            section["figures"].append({"title": name, "svg": "", "table": "", "caption":
                                       f"unknown figure {name!r}; valid figures: {', '.join(sorted(FIGURES))}"})
            continue
        section["figures"].extend(FIGURES[name](tidy, data, study))
    for metric in sorted(tidy["primary_metric"].unique()):
        section["tables"].append({"metric": metric, "html": summary_table(tidy, metric).to_html(
            index=False, classes="num", border=0, na_rep="")})
    per_run = tidy.drop_duplicates("run_key")
    params, section["param_warnings"] = params_table(per_run)
    section["params"] = params.to_html(index=False, border=0, na_rep="", float_format=lambda v: f"{v:,.0f}")
    for claim in claims:
        results = evaluate_claim(claim, tidy)
        section["verdicts"].append({
            "text": claim.text, "rule": claim.rule(), "metric": claim.metric,
            "a": _describe(claim.a, each=claim.each),
            "b": _describe(claim.b, claim.reference, claim.each), "sizes": claim.sizes,
            # no run the claim can use (e.g. its datasets were not run in this profile)
            "verdict": overall_verdict([r.verdict for r in results]) if results else "no data",
            "rows": [{
                "dataset": r.dataset, "verdict": r.verdict, "n_seeds": r.n_seeds,
                "sizes": ", ".join(map(str, r.sizes)),
                "estimate": "" if r.estimate is None else _signed(r.estimate),
                "interval": "" if r.low is None else f"[{_signed(r.low)}, {_signed(r.high)}]",
                "note": r.note,
            } for r in results],
        })
    return section


def _signed(value: float) -> str:
    """+0.123 for metrics; +5,428,416 for counts such as FLOPs or parameters."""
    return f"{value:+,.0f}" if abs(value) >= 1000 else f"{value:+.3f}"


def _json_field(row: pd.Series, key: str, default):
    """A JSON column of a row; `default` where it is missing (databases made before it existed)."""
    value = row.get(key)
    return json.loads(value) if isinstance(value, str) and value else default


def _describe(condition: dict, reference: float | None = None, each: dict | None = None) -> str:
    """A condition in words; `each` values fill in the column it does not name itself."""
    if not condition and reference is not None:
        return f"the constant {reference:g}"
    parts = []
    for k, v in {**dict.fromkeys(each or {}, None), **condition}.items():
        if v is None:
            v = f"each of {', '.join(each[k])}"
        parts.append(f"{k} = {' and '.join(v) if isinstance(v, tuple) else v}")
    return ", ".join(parts)


def environment(data: dict) -> dict:
    runs = data["runs"]
    env = {"backends": sorted(runs["backend"].dropna().unique()), "devices": sorted(runs["device"].dropna().unique())}
    versions = {}
    for text in runs["versions_json"].dropna().unique():
        for k, v in json.loads(text).items():
            versions.setdefault(k, set()).add(v)
    env["versions"] = {k: ", ".join(sorted(v)) for k, v in sorted(versions.items())}
    env["train_seconds"] = float(runs["train_seconds"].fillna(0).sum())
    sessions = data["sessions"]
    env["wall_seconds"] = float(sessions["wall_seconds"].fillna(0).sum())
    env["sessions"] = len(sessions)
    return env


def render(data: dict) -> str:
    import jinja2

    jenv = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )
    sections = [study_section(data, s) for _, s in data["studies"].iterrows()]
    runs = data["runs"]
    failed = runs[runs["status"] == "failed"][["study", "task", "n_train", "seed", "error"]]
    return jenv.get_template("report.html.j2").render(
        sections=sections,
        failed=failed.to_dict("records"),
        skipped=data["skipped"].to_dict("records"),
        env=environment(data),
        generated=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        n_runs=len(runs), n_ok=int((runs["status"] == "ok").sum()),
    )


def write_report(store, path) -> Path:
    """Writes the report for everything in `store` to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = render(load_results(store))
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)  # never leave a half-written report behind
    return path

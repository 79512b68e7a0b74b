"""What every figure shares: inline SVG output, model colours, log axes, small pictures."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd


def t_interval(values) -> tuple:
    """Seaborn's `errorbar` for every figure: the claims' 95% Student-t interval of the mean over
    seeds (seaborn's own ("ci", 95) is a bootstrap: at 3 seeds, the range of the values)."""
    from suite.statistics import mean_ci

    _, low, high = mean_ci(values)
    return low, high


def to_svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prologue: the SVG is inlined


def setup_matplotlib(salt: str):
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (and stays escaped)
    matplotlib.rcParams["svg.hashsalt"] = salt  # unique ids per inline figure


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


def log_axis(ax, values):
    """A log x axis labelled with exactly the values run (sizes, lengths), nothing else."""
    from matplotlib import ticker

    ax.set_xscale("log")
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    ax.set_xticks(values, [f"{int(v):,}" for v in values])
    ax.grid(True, alpha=0.3)


def draw_image(ax, image, diverging: bool):
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


def image_grid_figure(grids: dict, title: str) -> str:
    """Rows of small images: `grids` maps a row label to (n, H, W, C) images in [0, 1]."""
    setup_matplotlib(f"ig-{title}")
    import matplotlib.pyplot as plt

    count = max(len(g) for g in grids.values())
    fig, axes = plt.subplots(len(grids), count, figsize=(0.45 * count + 1.0, 0.5 * len(grids) + 0.4),
                             squeeze=False, layout="constrained")
    for axrow, (label, images) in zip(axes, grids.items()):
        for i, ax in enumerate(axrow):
            if i < len(images):
                draw_image(ax, images[i], diverging=False)
            else:
                ax.axis("off")
        axrow[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=7)
    fig.suptitle(title, fontsize=9)
    return to_svg(fig)

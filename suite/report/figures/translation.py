"""Translation: test accuracy against the shift of the test images."""

from __future__ import annotations

import pandas as pd

from suite.report.figures.common import setup_matplotlib, to_svg, model_styles, t_interval
from suite.report.figures.registry import FIGURES
from suite.report.frames import at_largest_size
from suite.report.tables import format_interval
from suite.statistics import mean_ci


def shift_points(tidy: pd.DataFrame) -> pd.DataFrame:
    """Accuracy against shift in pixels (0 = the test split), one row per run and shift.

    Read from the `test_shift<k>/accuracy` metrics of datasets with shifted
    test sets, at each dataset's largest training-set size.
    """
    frame = at_largest_size(tidy)
    shifted = frame["metric"].str.extract(r"^test_shift(\d+)/accuracy$")[0]
    points = frame[shifted.notna() | (frame["metric"] == "test/accuracy")].copy()
    points["shift"] = shifted[points.index].fillna(0).astype(int)
    has_shifts = points.groupby("dataset")["shift"].transform("max") > 0
    return points[has_shifts]


def shift_figure(points: pd.DataFrame, title: str) -> str:
    """Test accuracy against the shift of the test digits, one panel per (dataset, variant)."""
    setup_matplotlib(f"sh-{title}")
    import seaborn as sns

    models, palette, dashes = model_styles(points)
    grid = sns.relplot(
        data=points, x="shift", y="value", hue="model", style="model", kind="line", row="dataset",
        col="variant", markers=True, dashes=dashes, palette=palette, hue_order=models, style_order=models,
        errorbar=t_interval, height=2.8, aspect=1.3, err_kws={"alpha": 0.15},
        facet_kws={"sharex": "row", "margin_titles": True},
    )
    grid.set_axis_labels("test shift (pixels, down and right)", "test accuracy")
    grid.set_titles(row_template="{row_name}", col_template="trained: {col_name}")
    for ax in grid.axes.flat:
        ax.grid(True, alpha=0.3)
    grid.figure.suptitle(title, y=1.02)
    return to_svg(grid.figure)


@FIGURES.decorator("vs_shift")
def _figure_vs_shift(tidy, data, study) -> list[dict]:
    points = shift_points(tidy)
    if points.empty:
        return []
    largest = at_largest_size(tidy)
    rows = []
    for (dataset, variant, model), g in largest.groupby(["dataset", "variant", "model"]):
        row = {"dataset": dataset, "trained": variant, "model": model,
               "params": f"{g['params'].max():,.0f}" if g["params"].notna().any() else ""}
        flops = g.loc[g["metric"] == "model/flops", "value"]
        row["FLOPs / example"] = f"{flops.max():,.0f}" if len(flops) else ""
        for metric, label in (("test/accuracy", "shift 0"), ("test_shifts/accuracy", "mean over shifts"),
                              ("test_far/accuracy", "largest shift"), ("test_random/accuracy", "random placement")):
            values = g.loc[g["metric"] == metric, "value"].to_numpy()
            row[label] = format_interval(*mean_ci(values)) if len(values) else ""
        rows.append(row)
    return [{
        "title": "Accuracy against shift",
        "svg": shift_figure(points, f"{study['name']}: test accuracy against shift"),
        "caption": "Test accuracy on the test images shifted by each offset (mean and 95% interval over "
                   "seeds, at the largest training set), for models trained with the images where the "
                   "test split has them (natural) and, where run, trained on random placements. Below: "
                   "parameters, FLOPs per example (convolution and dense layers, counted from the model) "
                   "and accuracy with intervals at shift 0, averaged over the shifted test sets (what the claims "
                   "compare), at the largest shift and at random positions.",
        "table": pd.DataFrame(rows).to_html(index=False, classes="num", border=0),
    }]

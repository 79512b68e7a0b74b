"""Length generalisation: test accuracy at the training lengths and at two and four times them."""

from __future__ import annotations

import pandas as pd

from suite.report.figures.common import model_styles, setup_matplotlib, t_interval, to_svg
from suite.report.figures.registry import FIGURES, draws_every_task
from suite.report.frames import at_largest_size
from suite.report.tables import format_interval
from suite.statistics import mean_ci

# the test sets of a length dataset (suite.data.sequences.longer_tests): metric -> times the training length
LENGTH_TESTS = {"test/accuracy": 1, "test_len2x/accuracy": 2, "test_len4x/accuracy": 4}


def length_points(tidy: pd.DataFrame) -> pd.DataFrame:
    """Accuracy against the test strings' length (1 = the training lengths, 2 and 4 times them), one row
    per run and test set, at each dataset's largest training-set size, on datasets with longer test sets."""
    frame = at_largest_size(tidy)
    points = frame[frame["metric"].isin(LENGTH_TESTS)].copy()
    points["times"] = points["metric"].map(LENGTH_TESTS)
    longer = points.groupby("dataset")["times"].transform("max") > 1
    return points[longer]


# every model of the study is drawn (the vanilla RNN, which no claim reads, too: `--all-tasks` trains it)
@FIGURES.decorator("vs_string_length", wrap=draws_every_task)
def _figure_vs_string_length(tidy, data, study) -> list[dict]:
    points = length_points(tidy)
    if points.empty:
        return []
    setup_matplotlib(f"len-{study['name']}")
    import seaborn as sns

    models, palette, dashes = model_styles(points)
    grid = sns.relplot(data=points, x="times", y="value", hue="model", style="model", kind="line", col="dataset",
                       markers=True, dashes=dashes, palette=palette, hue_order=models, style_order=models,
                       errorbar=t_interval, height=2.8, aspect=1.3, err_kws={"alpha": 0.15})
    grid.set_axis_labels("test strings' length (times the longest trained on)", "test accuracy")
    for ax in grid.axes.flat:
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 2, 4], ["x1 (trained)", "x2", "x4"])
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")
        ax.grid(True, alpha=0.3)
    grid.figure.suptitle(f"{study['name']}: test accuracy against string length", y=1.02)
    rows = []
    for (dataset, model), g in points.groupby(["dataset", "model"]):
        row = {"dataset": dataset, "model": model}
        for times in sorted(LENGTH_TESTS.values()):
            values = g.loc[g["times"] == times, "value"].to_numpy()
            row[f"x{times}"] = format_interval(*mean_ci(values)) if len(values) else ""
        rows.append(row)
    return [{
        "title": "Accuracy against string length",
        "svg": to_svg(grid.figure),
        "caption": "Test accuracy on strings of the training lengths (x1) and on strings up to two and four "
                   "times longer than any trained on (mean and 95% interval over seeds; dotted: chance). A model "
                   "that learned the rule keeps its accuracy; one that learned where the string's symbols sit "
                   "falls to chance. Below: the same numbers.",
        "table": pd.DataFrame(rows).to_html(index=False, classes="num", border=0),
    }]

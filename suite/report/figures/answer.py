"""The answer for a study of a user's own data (`suite.userdata`): which model to use at each
training-set size, where the lead changes hands, and what the structure-destroying variants say
about the data. Every interval is the verdicts' own: a Student-t interval over seeds of paired
differences (same training subset), from `suite.statistics.mean_ci`."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from suite.report.figures.registry import FIGURES, draws_every_task
from suite.report.figures.tabular import sensitivity
from suite.report.index import crossover
from suite.report.tables import format_interval
from suite.statistics import mean_ci

# (kind of data, variant) -> (what the variant does, what a change beyond noise says, what none says: an
# interval that includes 0 is no sign of an effect, not proof of none)
READINGS = {
    ("image", "permuted"): ("permuting the pixels", "your images have spatial structure the {model} uses",
                            "no sign that the {model} uses the images' spatial structure (or that they have any)"),
    ("sequence", "permuted"): ("permuting the time steps",
                               "the order of your sequences carries information the {model} uses",
                               "no sign that the {model} uses the order of the time steps"),
    ("table", "reordered"): ("reordering the columns",
                             "the {model} depends on an arbitrary column order, a bias that does not fit a table",
                             "no sign that the {model} depends on the column order"),
    ("table", "rotated"): ("rotating the features", "your columns mean something one at a time, and the {model} "
                           "uses that", "no sign that the {model} uses the columns one at a time"),
    ("table", "uninformative"): ("adding as many noise columns", "irrelevant columns distract the {model}",
                                 "no sign that irrelevant columns distract the {model}"),
}


NEAR = "within noise of the best (difference [95% interval])"


def _ci(values) -> str:
    mean, low, high = mean_ci(values)
    return f"{mean:+.3f}" if np.isnan(low) else f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def recommendations(frame: pd.DataFrame, lower: bool) -> pd.DataFrame:
    """Per dataset and size, on the natural data: the best model by mean, the models whose paired
    difference from it has a 95% interval that includes 0 (within noise), and the rest (behind)."""
    rows = []
    for (dataset, n), g in frame[frame["matched"] == 1].groupby(["dataset", "n_train"]):
        per_seed = g.pivot_table(index="seed", columns="model", values="value", aggfunc="mean")
        means = per_seed.mean()
        best = means.idxmin() if lower else means.idxmax()
        near, behind = [], []
        for model in means.sort_values(ascending=lower).index.drop(best):
            diff = (per_seed[model] - per_seed[best]).dropna().to_numpy()
            _, low, high = mean_ci(diff)
            (near if np.isnan(low) or low <= 0 <= high else behind).append(f"{model} ({_ci(diff)})")
        rows.append({"dataset": dataset, "n": int(n),
                     "best": f"{best}: {format_interval(*mean_ci(per_seed[best].dropna()))}",
                     NEAR: "; ".join(near) or "none",
                     "behind": "; ".join(behind) or "none"})
    return pd.DataFrame(rows)


def variant_readings(tidy: pd.DataFrame, kind: str, lower: bool) -> pd.DataFrame:
    """Per model and variant: the paired change from the natural data (mean over sizes per seed, 95%
    interval over seeds) and what it says about the data."""
    changes = sensitivity(tidy)
    rows = []
    if changes.empty:
        return pd.DataFrame(rows)
    for (model, variant), g in changes.groupby(["model", "perturbation"]):
        per_seed = g.groupby("seed")["value"].mean().to_numpy()
        mean, low, high = mean_ci(per_seed)
        what, moved, unmoved = READINGS.get((kind, variant), (f"the variant {variant!r}",
                                                              "the {model} uses what it destroys",
                                                              "no sign that the {model} uses what it destroys"))
        if np.isnan(low) or low <= 0 <= high:
            reading = unmoved
        elif (mean > 0) == lower:  # worse without the structure
            reading = moved
        else:
            reading = "the {model} does better without it (unexpected: check with more seeds)"
        rows.append({"model": model, "variant": variant, "change from natural [95% interval]": _ci(per_seed),
                     "reading": reading.format(model=model), "moved": reading == moved,
                     "sentence": f"{what} changes the {model}'s {g['metric'].iloc[0]} by {_ci(per_seed)}: "
                                 f"{reading.format(model=model)}"})
    return pd.DataFrame(rows)


@FIGURES.decorator("answer", wrap=draws_every_task)  # every variant of the user's data
def _figure_answer(tidy, data, study) -> list[dict]:
    info = json.loads(study.get("data_json") or "null") or {}
    frame = tidy[tidy["metric"] == tidy["primary_metric"]]
    if frame.empty:
        return []
    metric = frame["primary_metric"].iloc[0]
    lower = not frame["higher_is_better"].iloc[0]
    about = (f"Your data: {info['file']} (SHA-256 {info['sha256'][:12]}..., shape "
             f"{' x '.join(map(str, info['shape']))}, {info['kind']}, {info['task']}). " if info else "")
    table = recommendations(frame, lower)
    lines = [f"at n = {r['n']:,}, best: {r['best']}; within noise: "
             f"{', '.join(m.split(' (')[0] for m in r[NEAR].split('; '))}"
             for r in table.to_dict("records")]
    figures = [{
        "title": "Your answer: the model to use at each training-set size",
        "svg": "", "caption": about + f"On your natural data ({metric}, {'lower' if lower else 'higher'} is better): "
        + "; ".join(lines) + ". Within noise: the 95% interval of the paired difference from the best model (same "
        "training examples, per seed) includes 0; more seeds (--seeds) narrow it.",
        "table": table.to_html(index=False, border=0, classes="num"),
    }]
    # against the study's reference model, or another where that one was left out (--archs)
    models = sorted(frame["model"].unique())
    reference = (json.loads(study.get("crossover_json") or "null") or ["mlp"])[0]
    reference = reference if reference in models else "mlp" if "mlp" in models else models[0]
    natural = sorted(frame.loc[frame["matched"] == 1, "variant"].unique())
    row = study.copy()
    row["crossover_json"] = json.dumps([reference, natural])
    cross_svg, cross_table = crossover([(row, tidy)])
    if len(cross_table):
        figures.append({"title": "Where the lead changes: crossover sizes", "svg": cross_svg,
                        "caption": "Each model's metric minus the reference model's against training-set size, "
                                   "on your natural data (positive: better than the reference), mean and 95% "
                                   "interval over seeds; the table gives the size where each curve crosses zero.",
                        "table": cross_table.to_html(index=False, border=0, classes="num")})
    readings = variant_readings(tidy, info.get("kind", ""), lower)
    if len(readings):
        moved = readings.loc[readings["moved"], "sentence"].tolist()
        figures.append({"title": "What the structure-destroying variants say about your data", "svg": "",
                        "caption": ("; ".join(moved) + "." if moved else "No variant moved any model beyond "
                                    "noise.") + " Each variant destroys one structure of the data and keeps "
                        "everything else; a model that loses by it was using that structure.",
                        "table": readings.drop(columns=["moved", "sentence"]).to_html(index=False, border=0,
                                                                                     classes="num")})
    return figures

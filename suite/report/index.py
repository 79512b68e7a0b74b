"""The index page: failed controls, the bias map, the data-size crossover, every claim in one table.

A failed control comes first: it says the machinery is broken, which matters
more than any verdict. The bias map places each claim where it says it
belongs (`Claim.cell`: a bias of the lesson, a kind of data), so a reader sees
at a glance where a bias helped, where it did not and where the data could
not say; it shows the Holm-adjusted verdicts (`suite.claims.holm_verdicts`),
those that hold across the run's many tests. The
crossover shows, per study that names a reference model (`Study.crossover`),
each architecture's metric minus the reference's against training-set size:
where a curve crosses zero is where a bias starts or stops paying.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from suite.report.figures.common import log_axis, setup_matplotlib, t_interval, to_svg
from suite.statistics import mean_ci

# colours of the verdicts on the map (the page's verdict badges use the same hues)
VERDICT_COLOURS = {"supported": "#7bc47f", "contradicted": "#e57373", "inconclusive": "#ffd966",
                   "undecidable": "#c8c8c8", "mixed": "#b39ddb", "no data": "#ffffff"}
MAP_VERDICTS = "Holm-adjusted"  # which verdicts the map colours (the table beside it has both)


def claim_rows(sections: list[dict]) -> list[dict]:
    """Every claim of every study, in the lesson's order, flat: what the index's table and map show."""
    rows = []
    for section in sections:
        for v in section["verdicts"]:
            first = v["rows"][0] if v["rows"] else {}
            rows.append({
                "study": section["name"], "text": v["text"], "verdict": v["verdict"], "holm": v["holm"],
                "qualifier": v["qualifier"], "coverage": v["coverage"], "repeat": v.get("repeat", ""),
                "per_dataset": [{"dataset": r["dataset"], "verdict": r["verdict"], "holm": r["holm"]}
                                for r in v["rows"]],
                "control": v["control"], "cell": v["cell"], "seeds": v["seeds"], "smoke": section["profile"] == "smoke",
                "effect": "; ".join(f"{r['dataset']}: {r['estimate']} {r['interval']}".strip()
                                    for r in v["rows"] if r["estimate"]),
                "short": f"{first.get('estimate', '')} {first.get('interval', '')}".strip(),
                "datasets": len(v["rows"]),
            })
    return rows


def failed_controls(rows: list[dict]) -> list[dict]:
    """The claim rows of controls that failed: where the machinery is broken (`suite.claims.CONTROL_FAILED`)."""
    from suite.aggregation import CONTROL_FAILED

    return [r for r in rows if r["control"] and r["verdict"] == CONTROL_FAILED]


def bias_map(rows: list[dict]) -> tuple[str, pd.DataFrame]:
    """The map as an SVG heatmap (rows: biases, columns: kinds of data, in order of first mention) and
    as a table: one row per claim on the map."""
    placed = [r for r in rows if r["cell"] and not r["control"]]
    if not placed:
        return "", pd.DataFrame()
    biases = list(dict.fromkeys(r["cell"][0] for r in placed))
    kinds = list(dict.fromkeys(r["cell"][1] for r in placed))
    cells: dict = {}
    for r in placed:
        cells.setdefault(tuple(r["cell"]), []).append(r)

    setup_matplotlib("bias-map")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    fig, ax = plt.subplots(figsize=(1.1 * len(kinds) + 2.4, 0.5 * len(biases) + 1.4))
    for i, bias in enumerate(biases):
        for j, kind in enumerate(kinds):
            claims = cells.get((bias, kind), [])
            verdicts = {c["holm"] for c in claims}
            verdict = ("no data" if not claims else verdicts.pop() if len(verdicts) == 1 else "mixed")
            ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor=VERDICT_COLOURS.get(verdict, "#ffffff"),
                                       edgecolor="white", linewidth=2))
            if not claims:
                continue
            if len(claims) == 1 and claims[0]["datasets"] == 1 and claims[0]["short"]:
                label = claims[0]["short"].replace(" [", "\n[")
            else:
                label = f"{len(claims)} claim{'s' * (len(claims) > 1)}"
            if any(c["qualifier"] for c in claims):
                label += " *"
            if any(c["coverage"] for c in claims):  # decided by some of its datasets or models only
                label += " \u2020"
            ax.text(j + 0.5, i + 0.5, label, ha="center", va="center", fontsize=7.5)
    ax.set_xlim(0, len(kinds))
    ax.set_ylim(len(biases), 0)
    ax.set_xticks(np.arange(len(kinds)) + 0.5, kinds, rotation=30, ha="right", fontsize=9)
    ax.set_yticks(np.arange(len(biases)) + 0.5, biases, fontsize=9)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    shown = [v for v in VERDICT_COLOURS if v != "no data"]
    ax.legend(handles=[Patch(facecolor=VERDICT_COLOURS[v], label=v) for v in shown], loc="upper left",
              bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    ax.set_title(f"Where each bias helps (supported), fails (contradicted), or the data cannot say\n"
                 f"({MAP_VERDICTS} verdicts, across the run's claims)", fontsize=10)
    table = pd.DataFrame([{"bias": r["cell"][0], "data": r["cell"][1], "study": r["study"], "claim": r["text"],
                           f"verdict ({MAP_VERDICTS})": r["holm"], "verdict (unadjusted)": r["verdict"],
                           "effect: a - b [95% interval]": r["effect"], "decided": r["coverage"],
                           "qualifier": r["qualifier"], "repeats (the unadjusted verdict)": r.get("repeat", "")} for r in placed])
    return to_svg(fig), table


def _paired_gap(tidy: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Per (dataset, variant, model, size, seed): the primary metric minus the reference model's
    (sign-flipped where its run says lower is better: positive means better than the reference)."""
    frame = tidy[tidy["metric"] == tidy["primary_metric"]]
    keys = ["dataset", "variant", "n_train", "seed"]
    ref = frame[frame["model"] == reference].groupby(keys)["value"].mean().rename("reference")
    others = frame[frame["model"] != reference].merge(ref.reset_index(), on=keys)
    others["gap"] = np.where(others["higher_is_better"], 1.0, -1.0) * (others["value"] - others["reference"])
    return others[[*keys, "model", "metric", "gap"]]


def crossover_size(sizes, gaps) -> str:
    """Every size where the mean gap changes sign, interpolated on log size between the two sizes around
    it; a gap of exactly 0 (both at the same value, e.g. both perfect) is a tie, not a side."""
    sizes, gaps = np.asarray(sizes, float), np.asarray(gaps, float)
    sides = np.sign(gaps)
    changes, last = [], None  # last: (size, gap, side) of the last size not tied
    for n, g, side in zip(sizes, gaps, sides):
        if side == 0:
            continue
        if last is not None and side != last[2]:
            n1, g1, _ = last
            t = g1 / (g1 - g)
            at = np.exp(np.log(n1) + t * (np.log(n) - np.log(n1)))
            changes.append(f"{at:,.0f} ({'gains' if side > 0 else 'loses'} the lead)")
        last = (n, g, side)
    ties = [f"{n:,.0f}" for n, side in zip(sizes, sides) if side == 0]
    tied = f"; tied at {', '.join(ties)}" if ties else ""
    if changes:
        return ", ".join(changes) + tied
    if last is None:
        return f"none: tied at every size from {sizes[0]:,.0f} to {sizes[-1]:,.0f}"
    return f"none from {sizes[0]:,.0f} to {sizes[-1]:,.0f}: {'ahead' if last[2] > 0 else 'behind'}{tied}"


def crossover(studies: list[tuple[pd.Series, pd.DataFrame]]) -> tuple[str, pd.DataFrame]:
    """The crossover figure (one panel per study, dataset and variant; log x) and its table."""
    panels, rows = [], []
    for study, tidy in studies:
        spec = json.loads(study.get("crossover_json") or "null")
        if not spec or tidy.empty or tidy["n_train"].nunique() < 2:
            continue
        reference, variants = spec
        gaps = _paired_gap(tidy[tidy["variant"].isin(variants)], reference)
        for (dataset, variant), g in gaps.groupby(["dataset", "variant"], sort=False):
            g = g.assign(panel=f"{study['name']}: {dataset}, {variant}\n(minus {reference})")
            panels.append(g)
            for model, m in g.groupby("model"):
                per_size = m.groupby("n_train")["gap"]
                means = per_size.mean()
                low_high = [mean_ci(v.to_numpy())[1:] for _, v in per_size]
                rows.append({"study": study["name"], "dataset": dataset, "variant": variant, "model": model,
                             "reference": reference, "metric": m["metric"].iloc[0],
                             "gap at the smallest size": f"{means.iloc[0]:+.3f} [{low_high[0][0]:+.3f}, "
                                                         f"{low_high[0][1]:+.3f}]",
                             "gap at the largest size": f"{means.iloc[-1]:+.3f} [{low_high[-1][0]:+.3f}, "
                                                        f"{low_high[-1][1]:+.3f}]",
                             "crosses zero at n =": crossover_size(means.index, means.to_numpy())})
    if not panels:
        return "", pd.DataFrame()
    frame = pd.concat(panels)
    setup_matplotlib("crossover")
    import seaborn as sns

    order = list(dict.fromkeys(frame["panel"]))
    grid = sns.relplot(data=frame, x="n_train", y="gap", hue="model", col="panel", col_order=order, col_wrap=4,
                       kind="line", marker="o", errorbar=t_interval, height=2.3, aspect=1.25,
                       facet_kws={"sharey": False, "sharex": False}, err_kws={"alpha": 0.15})
    for ax in grid.axes.flat:
        ax.axhline(0, color="black", lw=0.8)
        sizes = sorted(frame.loc[frame["panel"] == ax.get_title().removeprefix("panel = "), "n_train"].unique())
        log_axis(ax, sizes)
    grid.set_titles("{col_name}", size=8)
    grid.set_axis_labels("training-set size (log scale)", "metric minus reference")
    return to_svg(grid.figure), pd.DataFrame(rows)

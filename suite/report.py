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
    return {"studies": studies, "runs": runs, "metrics": metrics, "skipped": skipped, "sessions": sessions}


def study_runs(data: dict, study: pd.Series) -> pd.DataFrame:
    """Tidy frame (one row per ok run and metric) of a study's latest profile."""
    runs = data["runs"]
    runs = runs[(runs["study"] == study["name"]) & (runs["profile"] == study["profile"]) & (runs["status"] == "ok")]
    tidy = runs.merge(data["metrics"][["run_key", "metric", "value"]], on="run_key")
    tidy["primary_metric"] = [json.loads(c).get("metric", "test/accuracy") for c in tidy["config_json"]]
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
    from matplotlib import ticker

    frame = tidy[tidy["metric"] == metric].copy()
    frame["data"] = np.where(frame["matched"] == 1, frame["variant"] + " (matched)",
                             frame["variant"] + " (mismatched)")
    col_order = sorted(frame["data"].unique(), key=lambda v: ("mismatched" in v, v))
    grid = sns.relplot(
        data=frame, x="n_train", y="value", hue="arch", style="arch", kind="line",
        row="dataset", col="data", col_order=col_order, markers=True, dashes=False,
        errorbar=("ci", 95), height=3.0, aspect=1.25,
        facet_kws={"sharey": "row", "sharex": "row", "margin_titles": True},
        hue_order=sorted(frame["arch"].unique()), style_order=sorted(frame["arch"].unique()),
        err_kws={"alpha": 0.15},
    )
    grid.set(xscale="log")
    grid.set_axis_labels("training examples (log scale)", metric)
    grid.set_titles(row_template="{row_name}", col_template="{col_name}")
    for (dataset, _), ax in grid.axes_dict.items():
        sizes = sorted(frame.loc[frame["dataset"] == dataset, "n_train"].unique())
        ax.xaxis.set_minor_locator(ticker.NullLocator())  # label the sizes run, nothing else
        ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
        ax.grid(True, alpha=0.3)
    grid.figure.suptitle(title, y=1.02)
    return _svg(grid.figure)


# --- tables --------------------------------------------------------------------------

def _fmt(mean, low, high, digits=3) -> str:
    if np.isnan(low):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def summary_table(tidy: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean and 95% bootstrap interval over seeds, sizes as columns."""
    rows = []
    for (dataset, variant, arch, n), g in tidy[tidy["metric"] == metric].groupby(
        ["dataset", "variant", "arch", "n_train"]
    ):
        mean, low, high = bootstrap_ci(g["value"].to_numpy())
        rows.append({"dataset": dataset, "variant": variant, "arch": arch, "n_train": int(n),
                     "cell": f"{_fmt(mean, low, high)} (k={len(g)})"})
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).pivot(index=["dataset", "variant", "arch"], columns="n_train", values="cell")
    table.columns = [f"n={c}" for c in table.columns]
    return table.reset_index()


def params_table(study_frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Parameter counts per (dataset, arch), and a warning where they differ > 2x."""
    counts = study_frame.groupby(["dataset", "arch"])["params"].max().unstack("arch")
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
        "figures": [], "tables": [], "verdicts": [], "params": None, "param_warnings": [],
    }
    if tidy.empty:
        return section
    for metric in sorted(tidy["primary_metric"].unique()):
        section["figures"].append(learning_curve_figure(tidy, metric, f"{study['name']}: {metric}"))
        section["tables"].append({"metric": metric, "html": summary_table(tidy, metric).to_html(
            index=False, classes="num", border=0, na_rep="")})
    per_run = tidy.drop_duplicates("run_key")
    params, section["param_warnings"] = params_table(per_run)
    section["params"] = params.to_html(index=False, border=0, na_rep="", float_format=lambda v: f"{v:,.0f}")
    for claim in claims:
        results = evaluate_claim(claim, tidy)
        section["verdicts"].append({
            "text": claim.text, "rule": claim.rule(), "metric": claim.metric,
            "a": _describe(claim.a), "b": _describe(claim.b), "sizes": claim.sizes,
            "verdict": overall_verdict([r.verdict for r in results]),
            "rows": [{
                "dataset": r.dataset, "verdict": r.verdict, "n_seeds": r.n_seeds,
                "sizes": ", ".join(map(str, r.sizes)),
                "estimate": "" if r.estimate is None else f"{r.estimate:+.3f}",
                "interval": "" if r.low is None else f"[{r.low:+.3f}, {r.high:+.3f}]",
                "note": r.note,
            } for r in results],
        })
    return section


def _describe(condition: dict) -> str:
    parts = []
    for k, v in condition.items():
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

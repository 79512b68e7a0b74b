"""The page: one section per study (figures, tables, verdicts) rendered through Jinja2.

Text goes through Jinja2 with autoescape, so no task name, description or
error text reaches the page unescaped. Verdicts come from `suite.claims`.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pandas as pd

from suite import UsageError
from suite.claims import Claim, evaluate_claim, overall_verdict
from suite.report.figures import FIGURES
from suite.report.frames import kind, study_runs
from suite.report.rates import rate_section
from suite.report.tables import params_table, summary_table

TEMPLATE_DIR = Path(__file__).parent / "templates"


def study_section(data: dict, study: pd.Series) -> dict:
    tidy = study_runs(data, study)
    checks = study_runs(data, study, "check")  # longer-budget runs of conditions still improving
    claims = [Claim.from_json(json.dumps(c)) for c in json.loads(study["claims_json"] or "[]")]
    budget = json.loads(study["budget_json"] or "{}")  # the study's, and where its tasks' differ ("by_task")
    section = {
        "name": study["name"], "question": study["question"], "claim": study["claim"],
        "expected": study["expected"], "profile": study["profile"],
        "budget": budget, "budget_by_task": budget.pop("by_task", []), "n_runs": int(tidy["run_key"].nunique()),
        "references": _json_field(study, "references_json", []),
        "figures": [], "tables": [], "verdicts": [], "params": None, "param_warnings": [], "rates": None,
    }
    if tidy.empty:
        return section
    for name in _json_field(study, "figures_json", ["learning_curves"]):
        try:
            figure = FIGURES[name]
        except UsageError as error:  # a figure this version no longer draws (an old database)
            section["figures"].append({"title": name, "svg": "", "table": "", "caption": str(error)})
            continue
        section["figures"].extend(figure(tidy, data, study))
    for metric in sorted(tidy["primary_metric"].unique()):
        section["tables"].append({"metric": metric, "html": summary_table(tidy, metric).to_html(
            index=False, classes="num", border=0, na_rep="")})
    per_run = tidy.drop_duplicates("run_key")
    params, section["param_warnings"] = params_table(per_run)
    section["params"] = params.to_html(index=False, border=0, na_rep="", float_format=lambda v: f"{v:,.0f}")
    section["verdicts"] = claim_verdicts(claims, tidy, checks)
    section["rates"] = rate_section(data, study)
    return section


def claim_verdicts(claims: list, tidy: pd.DataFrame, checks: pd.DataFrame | None = None) -> list[dict]:
    """Each claim's verdict over its datasets and the rows behind it (one per dataset), for the page."""
    verdicts = []
    for claim in claims:
        results = evaluate_claim(claim, tidy, checks)
        verdicts.append({
            "text": claim.text, "rule": claim.rule(), "metric": claim.metric, "control": claim.control,
            "cell": claim.cell,
            "a": _describe(claim.a, each=claim.each),
            "b": _describe(claim.b, claim.reference, claim.each), "sizes": claim.sizes,
            # no run the claim can use (e.g. its datasets were not run in this profile)
            "verdict": overall_verdict([r.verdict for r in results]) if results else "no data",
            "seeds": "/".join(dict.fromkeys(str(r.n_seeds) for r in results)),  # per dataset, where they differ
            # what may make the verdict measure training rather than the bias (suite.claims.qualifiers)
            "qualifier": "; ".join(dict.fromkeys(f"{r.dataset}: {r.qualifier}" for r in results if r.qualifier)),
            "rows": [{
                "dataset": r.dataset, "verdict": r.verdict, "n_seeds": r.n_seeds,
                "sizes": ", ".join(map(str, r.sizes)),
                "estimate": "" if r.estimate is None else _signed(r.estimate),
                "interval": "" if r.low is None else f"[{_signed(r.low)}, {_signed(r.high)}]",
                "method": r.method,
                "note": "; ".join(n for n in (r.note, r.qualifier) if n),
            } for r in results],
        })
    return verdicts


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


def page_name(study: str) -> str:
    """A study's page file: its name with anything but letters, digits, '.', '-' and '_' replaced."""
    name = re.sub(r"[^\w.-]", "_", study)
    return f"study_{name}.html" if name == "index" else f"{name}.html"  # never the index's own file


def render(data: dict, single_page: bool = False) -> dict[str, str]:
    """The report's pages by file name: `index.html` (the bias map, the crossover, every claim) and one
    page per study in the lesson's order; with `single_page`, `index.html` alone, holding every study."""
    import jinja2

    from suite.claims import VERDICTS
    from suite.report.index import bias_map, claim_rows, crossover

    jenv = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )
    studies = data["studies"]
    if "position" in studies and studies["position"].notna().any():  # the lesson's order
        studies = studies.sort_values("position", na_position="last", kind="stable")
    ordered = [s for _, s in studies.iterrows()]
    sections = [study_section(data, s) for s in ordered]
    runs = data["runs"]
    failed = runs[runs["status"] == "failed"][["study", "task", "n_train", "seed", "error"]]
    links = {s["name"]: f"#study-{s['name']}" if single_page else page_name(s["name"]) for s in sections}
    claims = claim_rows(sections)
    map_svg, map_table = bias_map(claims)
    cross_svg, cross_table = crossover([(s, study_runs(data, s)) for s in ordered])
    env = environment(data)
    ok = runs["status"] == "ok"
    common = {"generated": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "n_runs": len(runs), "n_ok": int(ok.sum()),
              "n_failed": int((runs["status"] == "failed").sum()),
              "n_superseded": int((runs["status"] == "superseded").sum()),
              "n_tuning": int((ok & kind(runs).isin(["tune", "sensitivity"])).sum()),
              "n_checks": int((ok & (kind(runs) == "check")).sum())}
    pages = {"index.html": jenv.get_template("index.html.j2").render(
        sections=sections, claims=claims, links=links, single_page=single_page,
        verdict_names=[*VERDICTS, "no data"],
        bias_map={"svg": map_svg, "table": map_table.to_html(index=False, border=0) if len(map_table) else ""},
        crossover={"svg": cross_svg,
                   "table": cross_table.to_html(index=False, classes="num", border=0) if len(cross_table) else ""},
        facts={"profiles": ", ".join(sorted({s["profile"] for s in sections})) or "none",
               "smoke": any(s["profile"] == "smoke" for s in sections)},
        failed=failed.to_dict("records"), skipped=data["skipped"].to_dict("records"), env=env, **common)}
    if not single_page:
        template = jenv.get_template("study.html.j2")
        for i, section in enumerate(sections):
            around = [None if not 0 <= j < len(sections) else
                      {"name": sections[j]["name"], "link": links[sections[j]["name"]]} for j in (i - 1, i + 1)]
            pages[links[section["name"]]] = template.render(s=section, previous=around[0], next=around[1])
    return pages

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
from suite.adequacy import AT_BASELINE, Gate, at_baseline, measure
from suite.aggregation import claim_repeat, claim_verdict, coverage, holm_verdicts
from suite.claims import Claim, evaluate_claim
from suite.report.figures import FIGURES
from suite.report.frames import kind, study_runs
from suite.report.rates import rate_section
from suite.report.tables import decision_table, params_table, summary_table
from suite.sequential import REPEATABLE

TEMPLATE_DIR = Path(__file__).parent / "templates"


def study_section(data: dict, study: pd.Series) -> dict:
    tidy = study_runs(data, study)
    claims = study_claims(study)
    gates = stored_gates(study)
    budget = json.loads(study["budget_json"] or "{}")  # the study's, and where its tasks' differ ("by_task")
    section = {
        "name": study["name"], "question": study["question"], "claim": study["claim"],
        "expected": study["expected"], "profile": study["profile"],
        "budget": budget, "budget_by_task": budget.pop("by_task", []), "n_runs": int(tidy["run_key"].nunique()),
        "references": _json_field(study, "references_json", []),
        "figures": [], "tables": [], "verdicts": [], "params": None, "param_warnings": [], "rates": None,
        "gates": [], "at_baseline": None, "decision": "",
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
    section["verdicts"] = study_verdicts(data, study, tidy)
    section["rates"] = rate_section(data, study)
    section["gates"] = gate_table(gates, tidy)
    section["at_baseline"] = baseline_table(tidy)
    decision = decision_table(tidy, claims)
    section["decision"] = decision.to_html(index=False, classes="num", border=0) if len(decision) else ""
    return section


def study_claims(study: pd.Series) -> list:
    """A study's claims as its row stores them."""
    return [Claim.from_json(json.dumps(c)) for c in json.loads(study["claims_json"] or "[]")]


def study_verdicts(data: dict, study: pd.Series, tidy: pd.DataFrame | None = None) -> list[dict]:
    """A study's claims' verdicts (`claim_verdicts`) as the report gives them: on its evaluation runs (`tidy`,
    else read), its stored gates, its longer-budget checks and its planned seeds. The study page, the
    index and docs/findings.py all read verdicts through it, so they cannot differ."""
    tidy = study_runs(data, study) if tidy is None else tidy
    return claim_verdicts(study_claims(study), tidy, stored_gates(study), study_runs(data, study, "check"),
                          planned_seeds(study))


def stored_gates(study: pd.Series) -> tuple:
    """A study's competence gates as its row stores them (none in a database made before gates)."""
    return tuple(Gate.from_json(json.dumps(g)) for g in _json_field(study, "gates_json", []))


def planned_seeds(study: pd.Series) -> int | None:
    """The seeds a study's row says were planned (its verdicts' last look, `suite.sequential`); None in a
    database made before it was stored: then every seed there is the last look."""
    seeds = study.get("seeds")
    return None if seeds is None or pd.isna(seeds) else int(seeds)


def claim_verdicts(claims: list, tidy: pd.DataFrame, gates=(), checks: pd.DataFrame | None = None,
                   planned: int | None = None) -> list[dict]:
    """Each claim's verdict over its datasets and the rows behind it (one per dataset), for the page. Each
    also holds its `results` (`suite.claims.ClaimResult`), which `add_holm` adjusts across the run.
    `checks`: the tidy rows of the runs trained again at a longer budget (`suite.training.checks`);
    `planned`: the seeds planned, the sequential verdicts' last look (`suite.claims.evaluate_claim`)."""
    verdicts = []
    for claim in claims:
        results = evaluate_claim(claim, tidy, gates, checks, planned)
        verdicts.append({
            "text": claim.text, "rule": claim.rule(), "metric": claim.metric, "control": claim.control,
            "cell": claim.cell,
            "a": _describe(claim.a, each=claim.each),
            "b": _describe(claim.b, claim.reference, claim.each), "sizes": claim.sizes,
            # no run the claim can use (e.g. its datasets were not run in this profile)
            "verdict": claim_verdict(results) if results else "no data",
            "holm": claim_verdict(results) if results else "no data",  # until add_holm adjusts it
            "coverage": coverage(results),  # the datasets that decided it, where some could not
            # the chance that a second set of seeds decides the same (`suite.sequential.repeat_codes`)
            "repeat": repeat_text(claim_repeat(results)),
            "seeds": "/".join(dict.fromkeys(str(r.n_seeds) for r in results)),  # per dataset, where they differ
            # what may make the verdict measure training rather than the bias (suite.claims.qualifiers)
            "qualifier": "; ".join(dict.fromkeys(f"{r.dataset}: {r.qualifier}" for r in results if r.qualifier)),
            "results": results,
            "rows": [{
                "dataset": r.dataset, "verdict": r.verdict, "holm": r.verdict, "p": _p(r.p_value), "p_holm": "",
                "n_seeds": seeds_used(r), "repeat": repeat_text(r.repeat),
                "sizes": ", ".join(map(str, r.sizes)),
                "estimate": "" if r.estimate is None else _signed(r.estimate),
                "interval": "" if r.low is None else f"[{_signed(r.low)}, {_signed(r.high)}]",
                "method": r.method,
                "gates": "; ".join(check.text() for check in r.gates),
                # a failed gate is in the note too (for the command line); here its own column shows it
                "note": "; ".join(n for n in (*r.note.split("; "), r.qualifier)
                                  if n and n not in {c.text() for c in r.gates}),
            } for r in results],
        })
    return verdicts


def repeat_text(share: float | None) -> str:
    """The estimated chance that a second set of seeds repeats a decision, for the page: "0.95", or "0.45: may
    not repeat" below `REPEATABLE`; "" where the verdict is no decision."""
    if share is None:
        return ""
    return f"{share:.2f}" + (": may not repeat" if share < REPEATABLE else "")


def seeds_used(result) -> str:
    """The seeds a verdict rests on, with the looks of its procedure where it has several (`suite.sequential`):
    "5 (looks 3/5/10)"; "3 of 10 planned: no decision yet" while more seeds may decide it."""
    looks = tuple(result.looks)
    if result.pending:
        return f"{result.n_seeds} of {looks[-1]} planned: no decision yet"
    return f"{result.n_seeds} (looks {'/'.join(map(str, looks))})" if len(looks) > 1 else str(result.n_seeds)


def run_verdicts(data: dict) -> list[tuple[str, list[dict]]]:
    """(study name, its claims' verdicts: `claim_verdicts`, Holm-adjusted across the run) for every study
    with runs, in the lesson's order: what the report shows, without its figures."""
    studies = data["studies"]
    if "position" in studies and studies["position"].notna().any():
        studies = studies.sort_values("position", na_position="last", kind="stable")
    found = []
    for _, study in studies.iterrows():
        tidy = study_runs(data, study)
        if not tidy.empty:
            found.append((study["name"], study_verdicts(data, study, tidy)))
    add_holm([verdicts for _, verdicts in found])
    return found


def add_holm(verdict_lists: list[list[dict]]) -> None:
    """Fills in every claim's Holm-adjusted verdicts (`suite.claims.holm_verdicts`), adjusted across all
    the claims of all the lists (the run's: every study's), per dataset and over its datasets."""
    results = [r for verdicts in verdict_lists for v in verdicts for r in v["results"]]
    adjusted = iter(holm_verdicts(results))
    for verdicts in verdict_lists:
        for v in verdicts:
            holm = [next(adjusted) for _ in v["results"]]
            for row, (verdict, p) in zip(v["rows"], holm):
                row["holm"], row["p_holm"] = verdict, _p(p)
            if v["results"]:
                v["holm"] = claim_verdict(v["results"], [verdict for verdict, _ in holm])


def gate_table(gates, tidy: pd.DataFrame) -> list[dict]:
    """Each competence gate measured on each dataset of the study's runs, for the page."""
    rows = []
    for gate in gates:
        for dataset in sorted(tidy["dataset"].unique()):
            check = measure(gate, tidy, dataset)
            if check is not None:
                rows.append({"model": gate.label, "dataset": dataset, "level": gate.rule(),
                             "value": f"{check.value:.3f}", "threshold": f"{check.threshold:.3f}",
                             "passed": check.passed, "runs": check.n_runs, "source": gate.source})
    return rows


def baseline_table(tidy: pd.DataFrame) -> dict:
    """The runs that ended at their trivial baseline (`suite.adequacy.at_baseline`), however they
    stopped, as an HTML table with their count."""
    stuck = at_baseline(tidy)
    if stuck.empty:
        return {"count": 0, "html": "", "limit": AT_BASELINE}
    ending = tidy[tidy["run_key"].isin(stuck["run_key"]) & tidy["metric"].isin(
        ("train/stopped_early", "train/still_improving"))].pivot_table(index="run_key", columns="metric",
                                                                          values="value")
    table = stuck.set_index("run_key")[["dataset", "variant", "model", "n_train", "seed", "value", "steps"]]
    table = table.join(ending).rename(columns={"value": "test skill", "n_train": "n",
                                               "train/stopped_early": "stopped early",
                                               "train/still_improving": "still improving"})
    for column in ("stopped early", "still improving"):
        if column in table:
            table[column] = table[column].map({1.0: "yes", 0.0: "no"}).fillna("")
    table = table.sort_values(["dataset", "variant", "model", "n", "seed"])
    return {"count": len(table), "limit": AT_BASELINE,
            "html": table.to_html(index=False, classes="num", border=0, na_rep="", float_format=lambda v: f"{v:+.3f}")}


def _p(p: float | None) -> str:
    return "" if p is None else f"{p:.2g}" if p >= 0.001 else "< 0.001"


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
    env["time_budget"] = time_budget(sessions)
    return env


def time_budget(sessions) -> str | None:
    """The `--time-budget` of the database's latest session (e.g. "15m"), None where it had none: its verdicts
    are then a first look, and the index says what a longer run adds."""
    if sessions.empty or "argv" not in sessions:
        return None
    argv = json.loads(sessions["argv"].iloc[-1] or "[]")
    for i, arg in enumerate(argv):
        if arg.startswith("--time-budget="):
            return arg.split("=", 1)[1]
        if arg == "--time-budget" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def prose(text: str):
    """The Markdown of the lesson's table (`code`, *emphasis*) as HTML, everything else escaped."""
    import re

    from markupsafe import Markup, escape

    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text)))
    return Markup(re.sub(r"\*([^*]+)\*", r"<em>\1</em>", html))


def page_name(study: str) -> str:
    """A study's page file: its name with anything but letters, digits, '.', '-' and '_' replaced."""
    name = re.sub(r"[^\w.-]", "_", study)
    return f"study_{name}.html" if name == "index" else f"{name}.html"  # never the index's own file


def render(data: dict, single_page: bool = False) -> dict[str, str]:
    """The report's pages by file name: `index.html` (the bias map, the crossover, every claim) and one
    page per study in the lesson's order; with `single_page`, `index.html` alone, holding every study."""
    import jinja2

    from suite.claims import VERDICTS
    from suite.lesson import coverage
    from suite.report.index import bias_map, claim_rows, crossover, failed_controls

    jenv = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )
    jenv.filters["prose"] = prose
    studies = data["studies"]
    if "position" in studies and studies["position"].notna().any():  # the lesson's order
        studies = studies.sort_values("position", na_position="last", kind="stable")
    ordered = [s for _, s in studies.iterrows()]
    sections = [study_section(data, s) for s in ordered]
    add_holm([s["verdicts"] for s in sections])  # across the run's claims
    runs = data["runs"]
    failed = runs[runs["status"] == "failed"][["study", "task", "n_train", "seed", "error"]]
    links = {s["name"]: f"#study-{s['name']}" if single_page else page_name(s["name"]) for s in sections}
    claims = claim_rows(sections)
    lesson = coverage([(s["name"], s["verdicts"]) for s in sections])
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
        sections=sections, claims=claims, links=links, single_page=single_page, lesson=lesson,
        verdict_names=[*VERDICTS, "no data"], failed_controls=failed_controls(claims),
        bias_map={"svg": map_svg, "table": map_table.to_html(index=False, border=0) if len(map_table) else ""},
        crossover={"svg": cross_svg,
                   "table": cross_table.to_html(index=False, classes="num", border=0) if len(cross_table) else ""},
        facts={"profiles": ", ".join(sorted({s["profile"] for s in sections})) or "none",
               "smoke": any(s["profile"] == "smoke" for s in sections),
               "pending": sum(not v["results"] or any(r.pending for r in v["results"])
                          for s in sections for v in s["verdicts"])},
        failed=failed.to_dict("records"), skipped=data["skipped"].to_dict("records"), env=env, **common)}
    if not single_page:
        template = jenv.get_template("study.html.j2")
        for i, section in enumerate(sections):
            around = [None if not 0 <= j < len(sections) else
                      {"name": sections[j]["name"], "link": links[sections[j]["name"]]} for j in (i - 1, i + 1)]
            pages[links[section["name"]]] = template.render(s=section, previous=around[0], next=around[1])
    return pages

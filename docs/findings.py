"""Prints every claim's verdict in a results database as a Markdown table (docs/studies.md's findings).

    python docs/findings.py reports/results.sqlite           # every claim
    python docs/findings.py reports/results.sqlite --counts  # per study (README's findings table)
    python docs/findings.py reports/results.sqlite --lesson  # the lesson's statements (docs/lesson.md)
    python docs/findings.py reports/results.sqlite --decisive  # where the data cannot decide, and why
    python docs/findings.py reports/results.sqlite --write     # all of them, into the docs and README

One row per claim, in the lesson's order: the study, the claim, its verdict,
its Holm-adjusted verdict and, per dataset, the verdict, the mean difference
a - b with its 95% interval (or the permutation test's p-value, or why it is
undecidable) and the number of seeds; beside the verdict, the estimated chance that a second set of seeds
repeats it. With --counts, one row per study: its verdicts counted, controls apart. It reads the database alone, as the report does, with the same claim
evaluation. With --lesson, the lesson-coverage tables (`suite.lesson`): each statement of the lesson
beside the verdicts of the claims that measure it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def verdicts(path: str):
    """(study name, claim verdict dicts) in the lesson's order, as the report computes them (competence
    gates applied, Holm-adjusted across the database's claims)."""
    from suite.report.frames import load_results
    from suite.report.html import run_verdicts
    from suite.store.read import Reader

    with Reader(path) as store:
        data = load_results(store)
    return run_verdicts(data)


def why(row: dict) -> str:
    """A verdict row's note with its failed competence gates first (the page shows gates in a column of
    their own; here they would be lost)."""
    failed = [g for g in row["gates"].split("; ") if "not competent" in g]
    return "; ".join(filter(None, (*failed, row["note"])))


def short(quote: str, words: int = 5) -> str:
    """The first words of a claim's quote: enough to tell the claims of one statement apart."""
    parts = quote.split()
    return " ".join(parts[:words]) + (" ..." if len(parts) > words else "")


def lesson_tables(found) -> None:
    """The lesson-coverage tables in Markdown, one per section of the lesson, then the suite's own claims."""
    from suite.lesson import ADDED, STATEMENTS, coverage

    section = None
    for r in coverage(found, STATEMENTS + ADDED):
        if r["section"] != section:
            section = r["section"]
            print(f"\n## {section}\n\n| the lesson says | verdict (default run) | how the suite measures it |")
            print("| --- | --- | --- |")
        said = "<br>".join(f"`{c['study']}` \"{short(c['quote'])}\": {c['verdict']}"
                           + (" (control)" if c["control"] else "")
                           + (f" (Holm: {c['holm']})" if c["holm"] and c["holm"] != c["verdict"]
                              and not c["control"] else "") for c in r["claims"]) or f"*{r['status']}*"
        print(f"| {r['says']} | {said} | {r['how']} |")


def decisive(path: str) -> None:
    """Where the data cannot decide: per study, each dataset whose "Can the data decide?" row names a
    problem (a claim's margin below one test example, the best model at the ceiling), then every
    per-dataset verdict that is undecidable, with its reason (resolution, ceiling, gates, a CPU)."""
    from suite.report.frames import load_results, study_runs
    from suite.report.html import run_verdicts, study_claims
    from suite.report.tables import decision_table
    from suite.store.read import Reader

    with Reader(path) as store:
        data = load_results(store)
    print("| study | dataset | why the data cannot decide |")
    print("| --- | --- | --- |")
    for _, study in data["studies"].iterrows():
        tidy = study_runs(data, study)
        if tidy.empty:
            continue
        table = decision_table(tidy, study_claims(study))
        for _, row in table.iterrows():
            if row["can it decide?"] not in ("yes",) and not row["can it decide?"].startswith("not checked"):
                print(f"| {study['name']} | {row['dataset']} | {row['can it decide?']} (best: "
                      f"{row['best model (natural, largest size)']} {row['its mean']}; one example "
                      f"{row['one example']}) |")
    for name, vs in run_verdicts(data):
        for v in vs:
            for r in v["rows"]:
                if r["verdict"] == "undecidable":
                    print(f"| {name} | {r['dataset']} | \"{v['text'][:60]}...\": {why(r)} |".replace("  ", " "))


def main(path: str, counts: bool = False, lesson: bool = False) -> None:
    found = list(verdicts(path))  # the database is read (or refused) before any line is printed
    if lesson:
        return lesson_tables(found)
    if counts:
        print("| study | supported / contradicted / inconclusive / undecidable (qualified; may not repeat; "
              "controls) |")
        print("| --- | --- |")
        for name, vs in found:
            claims = [v for v in vs if not v["control"]]
            n = [sum(v["verdict"] == k for v in claims) for k in ("supported", "contradicted", "inconclusive",
                                                                  "undecidable")]
            fragile = sum("may not" in v["repeat"] for v in claims)
            print(f"| `{name}` | {' / '.join(map(str, n))} ({sum(bool(v['qualifier']) for v in claims)}; "
                  f"{fragile}; {len(vs) - len(claims)}) |")
        return
    print("| study | claim | verdict | Holm-adjusted | per dataset: verdict, a - b [95% interval] (seeds) |")
    print("| --- | --- | --- | --- | --- |")
    for name, vs in found:
        for v in vs:
            rows = "; ".join(f"{r['dataset']}: {r['verdict']}, {r['estimate']} {r['interval'] or ''} {why(r)} "
                             f"({r['n_seeds']})".replace("  ", " ") for r in v["rows"])
            text = ("control: " if v["control"] else "") + v["text"].replace("|", "/")
            verdict = (f"**{v['verdict']}**" + (f" {v['coverage']}" if v["coverage"] else "")
                       + (f" ({v['qualifier']})" if v["qualifier"] else "")
                       + (f" (repeats {v['repeat']})" if v["repeat"] else ""))
            holm = "" if v["control"] else v["holm"]
            print(f"| {name} | {text} | {verdict} | {holm} | {rows} |")


def printed(fn, *args, **kwargs) -> list[str]:
    """The lines `fn` prints."""
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn(*args, **kwargs)
    return out.getvalue().strip("\n").splitlines()


def splice(lines: list[str], after: str, table: list[str]) -> list[str]:
    """`lines` with the first Markdown table after the line starting with `after` replaced by `table`."""
    start = next(i for i, line in enumerate(lines) if line.startswith(after))
    first = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("|"))
    end = next((i for i in range(first, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[:first] + table + lines[end:]


def write(path: str, root: Path = Path(__file__).resolve().parents[1]) -> None:
    """Rewrites, from the database at `path`, the tables the docs quote from a default run: every verdict
    and where the data cannot decide (docs/studies.md), the lesson's statements (docs/lesson.md, from its
    first section on) and the verdicts counted per study (README.md, keeping each study's question). The
    prose around them (which run, its date and time) is the writer's to update."""
    studies, lesson, readme = root / "docs/studies.md", root / "docs/lesson.md", root / "README.md"
    lines = studies.read_text().splitlines()
    lines = splice(lines, "## Every verdict of the default run", printed(main, path))
    lines = splice(lines, "### Where the data cannot decide", printed(decisive, path))
    studies.write_text("\n".join(lines) + "\n")
    lines = lesson.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("## "))
    lesson.write_text("\n".join(lines[:first] + printed(main, path, lesson=True)) + "\n")
    lines = readme.read_text().splitlines()
    counted = printed(main, path, counts=True)
    header = "| study | question | " + counted[0].split(" | ", 1)[1]
    start = next(i for i, line in enumerate(lines) if line.startswith("| study | question | "))
    questions = {line.split(" | ")[0].strip("| "): line.split(" | ")[1] for line in lines[start + 2:]
                 if line.startswith("| `")}
    rows = [f"| {name} | {questions.get(name, '')} | {counted}" for name, counted in
            (line[2:].split(" | ", 1) for line in counted[2:])]
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    readme.write_text("\n".join(lines[:start] + [header, "| --- | --- | --- |", *rows] + lines[end:]) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python docs/findings.py", description=__doc__.splitlines()[0])
    parser.add_argument("results", metavar="RESULTS.sqlite", help="a results database (run_suite.py's output)")
    parser.add_argument("--counts", action="store_true", help="one row per study: its verdicts counted")
    parser.add_argument("--lesson", action="store_true", help="the lesson's statements beside their verdicts")
    parser.add_argument("--decisive", action="store_true",
                        help="where the data cannot decide: margins below one test example, ceilings, undecidable "
                        "verdicts with their reasons")
    parser.add_argument("--write", action="store_true",
                        help="rewrite the tables of docs/studies.md, docs/lesson.md and README.md from the database")
    args = parser.parse_args()
    from suite import UsageError

    try:
        if args.write:
            write(args.results)
        else:
            decisive(args.results) if args.decisive else main(args.results, counts=args.counts, lesson=args.lesson)
    except UsageError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")

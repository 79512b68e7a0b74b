"""Prints every claim's verdict in a results database as a Markdown table (docs/studies.md's findings).

    python docs/findings.py reports/results.sqlite           # every claim
    python docs/findings.py reports/results.sqlite --counts  # per study (README's findings table)
    python docs/findings.py reports/results.sqlite --lesson  # the lesson's statements (docs/lesson.md)

One row per claim, in the lesson's order: the study, the claim, its verdict,
its Holm-adjusted verdict and, per dataset, the verdict, the mean difference
a - b with its 95% interval (or the permutation test's p-value, or why it is
undecidable) and the number of seeds. With --counts, one row per study: its verdicts counted, controls
apart. It reads the database alone, as the report does, with the same claim
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


def main(path: str, counts: bool = False, lesson: bool = False) -> None:
    found = list(verdicts(path))  # the database is read (or refused) before any line is printed
    if lesson:
        return lesson_tables(found)
    if counts:
        print("| study | supported / contradicted / inconclusive / undecidable (qualified; controls) |")
        print("| --- | --- |")
        for name, vs in found:
            claims = [v for v in vs if not v["control"]]
            n = [sum(v["verdict"] == k for v in claims) for k in ("supported", "contradicted", "inconclusive",
                                                                  "undecidable")]
            print(f"| `{name}` | {' / '.join(map(str, n))} ({sum(bool(v['qualifier']) for v in claims)}; "
                  f"{len(vs) - len(claims)}) |")
        return
    print("| study | claim | verdict | Holm-adjusted | per dataset: verdict, a - b [95% interval] (seeds) |")
    print("| --- | --- | --- | --- | --- |")
    for name, vs in found:
        for v in vs:
            rows = "; ".join(f"{r['dataset']}: {r['verdict']}, {r['estimate']} {r['interval'] or ''} {r['note']} "
                             f"({r['n_seeds']})".replace("  ", " ") for r in v["rows"])
            text = ("control: " if v["control"] else "") + v["text"].replace("|", "/")
            verdict = f"**{v['verdict']}**" + (f" ({v['qualifier']})" if v["qualifier"] else "")
            holm = "" if v["control"] else v["holm"]
            print(f"| {name} | {text} | {verdict} | {holm} | {rows} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python docs/findings.py", description=__doc__.splitlines()[0])
    parser.add_argument("results", metavar="RESULTS.sqlite", help="a results database (run_suite.py's output)")
    parser.add_argument("--counts", action="store_true", help="one row per study: its verdicts counted")
    parser.add_argument("--lesson", action="store_true", help="the lesson's statements beside their verdicts")
    args = parser.parse_args()
    from suite import UsageError

    try:
        main(args.results, counts=args.counts, lesson=args.lesson)
    except UsageError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")

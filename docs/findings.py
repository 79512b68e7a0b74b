"""Prints every claim's verdict in a results database as a Markdown table (docs/studies.md's findings).

    python docs/findings.py reports/results.sqlite

One row per claim, in the studies' order: the study, the claim, its verdict
and, per dataset, the mean difference a - b with its 95% interval (or the
permutation test's p-value) and the number of seeds. It reads the database
alone, as the report does, with the same claim evaluation.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(path: str) -> None:
    from suite.claims import Claim
    from suite.report.frames import load_results, study_runs
    from suite.report.html import claim_verdicts
    from suite.store import Store

    with Store(Path(path)) as store:
        data = load_results(store)
    print("| study | claim | verdict | per dataset: a - b [95% interval] (seeds) |")
    print("| --- | --- | --- | --- |")
    for _, study in data["studies"].iterrows():
        claims = [Claim.from_json(json.dumps(c)) for c in json.loads(study["claims_json"] or "[]")]
        tidy = study_runs(data, study)
        if tidy.empty:
            continue
        for v in claim_verdicts(claims, tidy):
            rows = "; ".join(f"{r['dataset']}: {r['estimate']} {r['interval'] or r['note']} ({r['n_seeds']})"
                             for r in v["rows"])
            text = v["text"].replace("|", "/")
            verdict = f"**{v['verdict']}**" + (f" ({v['qualifier']})" if v["qualifier"] else "")
            print(f"| {study['name']} | {text} | {verdict} | {rows} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python docs/findings.py RESULTS.sqlite")
    main(sys.argv[1])

"""Every claim's verdict on a results database, and whether another version of the code gives the same.

    python bench/verdicts.py DB [DB ...] --against OTHER_CHECKOUT [--tolerance 1e-9]

For every study stored in each database, computes each claim's result per
dataset (verdict, estimate, interval, seeds, sizes, note, qualifier,
method) and over its datasets (a row whose dataset is "(overall)") with this
checkout's code, twice: the claims (and competence gates, where the code
has them) as the database stores them, and as this checkout's studies
declare them (where a claim's direction now defaults to its metric's). With `--against`, the
same with the other checkout's code on the stored claims (in a subprocess
started there), and prints every difference: verdicts, seeds, sizes, notes
and qualifiers must be equal, estimates and intervals within the tolerance.
Exits 1 when any differs. Used to show that a refactoring of the statistics
or the claims changes no verdict (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ("verdict", "estimate", "low", "high", "n_seeds", "sizes", "note", "qualifier", "method")
NUMBERS = ("estimate", "low", "high")


def results(db: str, declared: bool) -> list[dict]:
    """One row per claim and dataset: the stored claims, or (`declared`) the registered studies' own."""
    import inspect

    from suite import claims as verdicts
    from suite.claims import Claim, evaluate_claim

    try:  # where a claim's verdicts over its datasets are made (a checkout before competence gates: claims)
        from suite import aggregation as verdicts
    except ImportError:
        pass
    from suite.report.frames import load_results, study_runs
    try:
        from suite.store.read import Reader as Store
    except ImportError:  # a checkout from before the store's split into schema, write and read
        from suite.store import Store

    registered, registered_gates = {}, {}
    if declared:
        from suite.studies import REGISTRY, load_builtin_studies

        load_builtin_studies()
        registered = {(s.name, c.text): c for s in REGISTRY.studies() for c in s.claims}
        registered_gates = {s.name: tuple(getattr(s, "gates", ())) for s in REGISTRY.studies()}
    gated = "gates" in inspect.signature(evaluate_claim).parameters  # a checkout with competence gates
    if gated:
        from suite.report.html import stored_gates
    # a checkout with sequential verdicts: the seeds planned, as the study's row stores them, are the last look
    sequential = "planned" in inspect.signature(evaluate_claim).parameters
    if sequential:
        from suite.report.html import planned_seeds
    with Store(db) as store:
        data = load_results(store)
    rows = []
    for _, study in data["studies"].iterrows():
        tidy = study_runs(data, study)
        gates = () if not gated else registered_gates.get(study["name"], ()) if declared else stored_gates(study)
        for stored in json.loads(study["claims_json"] or "[]"):
            claim = Claim.from_json(json.dumps(stored))
            if declared:
                claim = registered.get((study["name"], claim.text))
                if claim is None:  # a study this checkout does not declare (a user's data)
                    continue
                claim = Claim.from_json(claim.to_json())  # as a run stores it (conditions' keys sorted)
            extra = {"planned": planned_seeds(study)} if sequential else {}
            found = (evaluate_claim(claim, tidy, gates, **extra) if gated else evaluate_claim(claim, tidy)) if len(tidy) else []
            for r in found:
                rows.append({"study": study["name"], "claim": claim.text, "dataset": r.dataset,
                             **{f: list(getattr(r, f)) if f == "sizes" else getattr(r, f, None) for f in FIELDS},
                             "repeat": getattr(r, "repeat", None)})  # not compared: a checkout may not have it
            if found:  # over the datasets, by the checkout's own rule
                overall = (verdicts.claim_verdict(found) if hasattr(verdicts, "claim_verdict")
                           else verdicts.overall_verdict([r.verdict for r in found]))
                rows.append({"study": study["name"], "claim": claim.text, "dataset": "(overall)",
                             **dict.fromkeys(FIELDS), "verdict": overall,
                             "repeat": verdicts.claim_repeat(found) if hasattr(verdicts, "claim_repeat") else None})
    return rows


def differences(before: list[dict], after: list[dict], tolerance: float) -> tuple[list[str], float]:
    """Lines naming each difference, and the largest difference of an estimate or interval end."""
    key = lambda r: (r["study"], r["claim"], r["dataset"])  # noqa: E731
    old, new = {key(r): r for r in before}, {key(r): r for r in after}
    lines = [f"only before: {k}" for k in old.keys() - new.keys()]
    lines += [f"only after: {k}" for k in new.keys() - old.keys()]
    largest = 0.0
    for k in sorted(old.keys() & new.keys()):
        for field in FIELDS:
            a, b = old[k][field], new[k][field]
            if field in NUMBERS and a is not None and b is not None:
                both_nan = math.isnan(a) and math.isnan(b)
                largest = largest if both_nan else max(largest, abs(a - b))
                same = both_nan or abs(a - b) <= tolerance
            else:
                same = a == b
            if not same:
                lines.append(f"{k[0]}: {k[1][:60]!r} ({k[2]}): {field} {a!r} -> {b!r}")
    return lines, largest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("databases", nargs="+")
    parser.add_argument("--against", help="another checkout whose code computes the same verdicts")
    parser.add_argument("--tolerance", type=float, default=1e-9)
    parser.add_argument("--json", action="store_true", help="print the rows of --root's code as JSON (one database)")
    parser.add_argument("--root", default=str(ROOT), help="the checkout whose code computes (default: this one)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(args.root).resolve()))
    if args.json:
        print(json.dumps(results(args.databases[0], declared=False)))
        return 0
    failed = False
    for db in args.databases:
        stored, declared = results(db, declared=False), results(db, declared=True)
        verdicts = {}
        for r in stored:
            verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
        print(f"{db}: {len(stored)} results of {len({(r['study'], r['claim']) for r in stored})} claims "
              f"({', '.join(f'{n} {v}' for v, n in sorted(verdicts.items()))})")
        comparisons = [("stored claims vs the declared ones (directions by default)", stored, declared)]
        if args.against:
            # this file, importing the other checkout's code (from there: its relative paths are its own)
            out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--json", "--root", args.against,
                                  str(Path(db).resolve())], cwd=args.against, capture_output=True, text=True,
                                 check=True)
            comparisons.insert(0, (f"{args.against} vs this checkout, stored claims", json.loads(out.stdout), stored))
        for what, before, after in comparisons:
            lines, largest = differences(before, after, args.tolerance)
            failed |= bool(lines)
            print(f"  {what}: {len(before)} vs {len(after)} results, {len(lines)} differences, "
                  f"largest |difference| of an estimate or interval end {largest:.3g}")
            for line in lines:
                print(f"    {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

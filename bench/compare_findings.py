"""Two runs' verdicts side by side, claim by claim, from their findings tables.

    python docs/findings.py OLD/results.sqlite > old.md   # with the OLD clone's docs/findings.py
    python docs/findings.py NEW/results.sqlite > new.md   # with this checkout's
    python bench/compare_findings.py old.md new.md

Each table is read as its own code printed it (study | claim | verdict | ... | per dataset), so
two commits whose claims, columns or reader differ can still be compared: a claim is matched
within its study to the other table's most similar claim text (difflib ratio >= 0.6, each claim
used once), because claims get reworded between commits. Prints how many claims were matched,
how many were decided (supported or contradicted) in both runs, and every matched claim whose
verdict moved, the opposite decisions first: the performance issue's "every verdict decided in
both runs has the same sign" is the count of those. Exits 0 whatever it finds: it prints figures.
"""

from __future__ import annotations

import argparse
import difflib
import re

DECIDED = ("supported", "contradicted")
MATCH = 0.6  # below it two claim texts are different claims, not one reworded


def claims(path: str) -> list[tuple[str, str, str]]:
    """(study, claim, overall verdict) per row of a findings table; the verdict is its bold word
    without the parenthesised qualifiers."""
    rows = []
    for line in open(path, encoding="utf-8"):
        if not line.startswith("| ") or line.startswith(("| study", "| ---")):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        rows.append((cells[0], cells[1], re.sub(r"\*\*|\s*\(.*", "", cells[2]).strip()))
    return rows


def matched(old: list, new: list) -> list[tuple[tuple, tuple]]:
    """Pairs (old row, new row): each new claim with the most similar unused old claim of its study."""
    used, pairs = set(), []
    for row in new:
        scores = [(difflib.SequenceMatcher(None, row[1][:200], o[1][:200]).ratio(), i)
                  for i, o in enumerate(old) if o[0] == row[0] and i not in used]
        score, best = max(scores, default=(0.0, None))
        if score >= MATCH:
            used.add(best)
            pairs.append((old[best], row))
    return pairs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", help="findings table of the first run (docs/findings.py output)")
    parser.add_argument("new", help="findings table of the second run")
    args = parser.parse_args(argv)
    old, new = claims(args.old), claims(args.new)
    pairs = matched(old, new)
    both = [(o, n) for o, n in pairs if o[2] in DECIDED and n[2] in DECIDED]
    opposite = [(o, n) for o, n in both if o[2] != n[2]]
    print(f"claims: {len(old)} in the first run, {len(new)} in the second, {len(pairs)} matched; "
          f"decided in both: {len(both)}, opposite: {len(opposite)}")
    moved = opposite + [(o, n) for o, n in pairs if o[2] != n[2] and (o, n) not in opposite]
    for o, n in moved:
        tag = "OPPOSITE" if (o, n) in opposite else "moved"
        print(f"{tag:8} {n[0]:14} {o[2]} -> {n[2]}: {n[1][:100]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What a run's learning-rate tuning cost and chose, from its results database alone.

    python bench/tuning.py RESULTS.sqlite [--study locality]

Reads any version's database (before and after the tuning rules of
suite/selection.py): the tuning runs (kind 'tune') and their training
seconds, the tuning phase's wall time (from the session's start to the last
tuning run's end: planning included), and, per model, the rates tried and
the rate its evaluation runs trained at (whatever rule chose it), marked
"edge" where that is the smallest or largest rate tried for it. A model is
(architecture, dataset, setting, variant): before variants shared a rate,
each variant was tuned on its own.
"""

from __future__ import annotations

import argparse
import sqlite3
from collections import defaultdict


def rate(value: float) -> str:
    return f"{value:.0e}".replace("e-0", "e-")


def summary(path: str, study: str | None = None) -> list[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    where = "status = 'ok'" + (" AND study = ?" if study else "")
    params = (study,) if study else ()
    runs = con.execute(f"SELECT kind, task, arch, dataset, setting, variant, learning_rate, train_seconds, finished_at "
                       f"FROM runs WHERE {where}", params).fetchall()
    started = con.execute("SELECT MIN(started_at), MAX(finished_at) FROM sessions").fetchone()
    tune = [r for r in runs if r[0] == "tune"]
    lines = [f"{path}: {len(tune)} tuning runs, {sum(r[7] or 0 for r in tune):.0f} training seconds summed "
             f"over workers; {len([r for r in runs if r[0] == 'eval'])} evaluation runs"]
    if tune and started[0]:
        whole = f"{started[1] - started[0]:.0f} s" if started[1] else "still running"
        lines.append(f"tuning phase: {max(r[8] for r in tune) - started[0]:.0f} s of wall time from the session's "
                     f"start; the whole session {whole}")
    tried: dict = defaultdict(set)  # (arch, dataset, setting) -> variant tuned -> rates
    for _, task, arch, dataset, setting, variant, lr, *_ in tune:
        tried[(arch, dataset, setting or "", variant)].add(lr)
    used: dict = defaultdict(set)
    for kind, task, arch, dataset, setting, variant, lr, *_ in runs:
        if kind == "eval" and lr is not None:
            used[(arch, dataset, setting or "", variant)].add(lr)
    edges = 0
    rows = []
    for (arch, dataset, setting, variant), rates in sorted(used.items()):
        # the rates tried for this variant, else (variants sharing a rate) for the variant tuned for the model
        own = tried.get((arch, dataset, setting, variant)) or next(
            (r for (a, d, s, _), r in tried.items() if (a, d, s) == (arch, dataset, setting)), None)
        if not own:
            continue
        grid = sorted(own)
        at_edge = len(grid) > 1 and any(r in (grid[0], grid[-1]) for r in rates)
        edges += at_edge
        rows.append(f"  {dataset:<14} {arch + ('@' + setting if setting else ''):<22} {variant:<12} tried "
                    f"{','.join(rate(r) for r in grid):<36} evaluated at {','.join(rate(r) for r in sorted(rates))}"
                    f"{'  edge' if at_edge else ''}")
    lines.append(f"{len(rows)} tuned tasks (model x variant), {edges} evaluated at an edge of the rates tried:")
    return lines + rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db")
    parser.add_argument("--study")
    args = parser.parse_args()
    print("\n".join(summary(args.db, args.study)))


if __name__ == "__main__":
    main()

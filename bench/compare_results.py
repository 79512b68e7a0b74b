"""Compares two results databases run by run: are the results identical?

    python bench/compare_results.py BEFORE.sqlite AFTER.sqlite [--tolerance 0]

Runs are matched by run key (a hash of everything that determines a result,
so equal keys also show that the configurations are the same). For every
run in both, the metrics, the per-epoch history, the series and the arrays
must be equal, except quantities of time (`train/step_ms`, seconds), which
no two runs share. Prints a summary and each difference; exits 1 when any
result differs or a run is missing on one side, 0 otherwise.

Used to show that a change of layout preserves behaviour: run the smoke
profile with the old code and with the new (same machine, same worker
count), then compare (see bench/README.md).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

import numpy as np

TIME_METRICS = ("train/step_ms",)


def _rows(con, sql):
    return con.execute(sql).fetchall()


def load(path: Path) -> dict:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    runs = {key: (task, n, seed, status) for key, task, n, seed, status in
            _rows(con, "SELECT run_key, task, n_train, seed, status FROM runs")}
    out = {"runs": runs, "metrics": {}, "history": {}, "series": {}, "arrays": {}}
    for key, name, value in _rows(con, "SELECT run_key, metric, value FROM metrics"):
        if name not in TIME_METRICS:
            out["metrics"][(key, name)] = value
    for key, epoch, name, value in _rows(con, "SELECT run_key, epoch, metric, value FROM history"):
        out["history"][(key, name, epoch)] = value
    for key, name, x, value in _rows(con, "SELECT run_key, name, x, value FROM series"):
        out["series"][(key, name, x)] = value
    from io import BytesIO

    for key, name, blob in _rows(con, "SELECT run_key, name, npy FROM arrays"):
        out["arrays"][(key, name)] = np.load(BytesIO(blob), allow_pickle=False)
    con.close()
    return out


def _equal(a, b, tolerance: float) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and bool(np.all((a == b) | (np.abs(a - b) <= tolerance) | (np.isnan(a) & np.isnan(b))))
    if a is None or b is None:
        return a is b
    return a == b or abs(a - b) <= tolerance or (np.isnan(a) and np.isnan(b))


def compare(before: dict, after: dict, tolerance: float = 0.0, new_arrays=(), array_tolerance: float = 0.0) -> list[str]:
    """Differences between two loaded databases, one line each (empty: identical)."""
    problems = []
    keys_b, keys_a = set(before["runs"]), set(after["runs"])
    for key in sorted(keys_b - keys_a):
        problems.append(f"run missing after: {before['runs'][key]}")
    for key in sorted(keys_a - keys_b):
        problems.append(f"run new after: {after['runs'][key]}")
    common = keys_b & keys_a
    for key in sorted(common):
        if before["runs"][key][3] != after["runs"][key][3]:
            problems.append(f"status differs: {before['runs'][key]} -> {after['runs'][key][3]}")
    for table in ("metrics", "history", "series", "arrays"):
        old = {k: v for k, v in before[table].items() if k[0] in common}
        new = {k: v for k, v in after[table].items() if k[0] in common}
        if table == "arrays":  # arrays a new version adds on purpose (listed) are not differences
            new = {k: v for k, v in new.items() if not (k not in old and k[1].split("/")[0] in new_arrays)}
        for k in sorted(set(old) - set(new), key=str):
            problems.append(f"{table} missing after: {after['runs'].get(k[0], before['runs'][k[0]])[:3]} {k[1:]}")
        for k in sorted(set(new) - set(old), key=str):
            problems.append(f"{table} new after: {after['runs'][k[0]][:3]} {k[1:]}")
        for k in sorted(set(old) & set(new), key=str):
            if not _equal(old[k], new[k], array_tolerance if table == "arrays" else tolerance):
                shown = "(arrays differ)" if table == "arrays" else f"{old[k]!r} -> {new[k]!r}"
                problems.append(f"{table} differs: {before['runs'][k[0]][:3]} {k[1:]}: {shown}")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.0, help="absolute tolerance (default 0: identical)")
    parser.add_argument("--array-tolerance", type=float, default=0.0,
                        help="absolute tolerance for the stored arrays (pictures for the report) only")
    parser.add_argument("--new-arrays", default="", metavar="A,B",
                        help="array names the new version adds on purpose (not counted as differences)")
    args = parser.parse_args(argv)
    before, after = load(args.before), load(args.after)
    problems = compare(before, after, args.tolerance, tuple(filter(None, args.new_arrays.split(","))),
                       args.array_tolerance)
    common = set(before["runs"]) & set(after["runs"])
    print(f"runs: {len(before['runs'])} before, {len(after['runs'])} after, {len(common)} in both")
    for table in ("metrics", "history", "series", "arrays"):
        print(f"{table}: {sum(k[0] in common for k in before[table])} values compared")
    for line in problems:
        print(line)
    print("identical" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Sequential verdicts (suite/sequential.py): their error rate and power by simulation, and their verdicts
against the fixed design's on real runs.

    python bench/sequential.py simulate [--studies 1000000]
    python bench/sequential.py signs FIXED_DB SEQUENTIAL_DB --fixed-code CHECKOUT

`simulate`: normal per-seed differences, 10 seeds planned (looks 3/5/10): the
rate at which a "better" claim is supported under no effect, and its power
at the effect where the fixed design's one-sided t-test over 10 seeds has
power 0.8, for the suite's levels (the level spent since the last look) and
for the usual joint-normal levels of the same spending function
(`scipy.stats.multivariate_normal`, correlation sqrt(n_i / n_j)), with the
mean seeds used; and the same for other exponents rho of the spending
function.

`signs`: every claim's verdict per dataset with the fixed design (the
checkout at --fixed-code, on FIXED_DB, where every task has every seed) and
with the sequential one (this checkout, on SEQUENTIAL_DB, trained in
rounds), through bench/verdicts.py: how many are decided in both, whether any
decided in both has opposite signs (supported in one, contradicted in the
other), and the seeds each used. Exits 1 on an opposite sign.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def joint_normal_levels(looks, rho):
    """The nominal levels of the spending function 0.025 t^rho from the joint normal law of the looks'
    z statistics (the usual group-sequential boundaries), for comparison."""
    from scipy import optimize, stats

    n = np.asarray(looks, dtype=float)
    corr = np.sqrt(np.minimum.outer(n, n) / np.maximum.outer(n, n))
    cumulative = 0.025 * (n / n[-1]) ** rho
    bounds = [stats.norm.isf(cumulative[0])]
    for k in range(1, len(n)):
        def excess(c, k=k):
            return stats.multivariate_normal.cdf(np.array([*bounds, c]), cov=corr[: k + 1, : k + 1], abseps=1e-7,
                                                 releps=1e-6, rng=0) - (1 - cumulative[k])
        bounds.append(optimize.brentq(excess, stats.norm.isf(cumulative[k]),
                                      stats.norm.isf(cumulative[k] - cumulative[k - 1]), xtol=1e-7))
    return tuple(float(stats.norm.sf(c)) for c in bounds)


def simulate(studies: int) -> None:
    from scipy import optimize, stats

    from suite.sequential import first_rejection, looks_for, nominal_levels

    planned = 10
    looks = looks_for(planned)
    critical = stats.t.isf(0.025, planned - 1)
    effect = optimize.brentq(lambda d: stats.nct.sf(critical, planned - 1, d * np.sqrt(planned)) - 0.8, 0.01, 10)
    rng = np.random.default_rng(0)

    def p_values(values):
        return np.array([stats.ttest_1samp(values[:, :n], 0.0, axis=1, alternative="greater").pvalue for n in looks])

    null = p_values(rng.standard_normal((studies, planned)))
    alternative_values = rng.standard_normal((studies // 5, planned)) + effect
    alternative = p_values(alternative_values)
    fixed = np.mean(alternative[-1] <= 0.025)
    se = np.sqrt(0.025 * 0.975 / studies)
    print(f"looks {'/'.join(map(str, looks))}; {studies:,} null studies (standard error of a rate of 0.025: "
          f"{se:.5f}); power at effect {effect:.3f} sd per seed, where the fixed design's is {fixed:.3f}")
    print("| levels | rho | nominal levels | supported under no effect | power | mean seeds (power case) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rho in (1.0, 2.0, 3.0, 4.0):
        for name, levels in (("spent since the last look", nominal_levels(looks, rho=rho)),
                             ("joint normal", joint_normal_levels(looks, rho))):
            verdict, _ = first_rejection(null, 1 - null, levels)
            power, look = first_rejection(alternative, 1 - alternative, levels)
            print(f"| {name} | {rho:g} | {', '.join(f'{x:.5f}' for x in levels)} | {np.mean(verdict == 1):.4f} | "
                  f"{np.mean(power == 1):.3f} | {np.mean(np.asarray(looks)[look]):.2f} |")


def verdict_rows(db: str, code: Path) -> list[dict]:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "verdicts.py"), "--json", "--root", str(code),
                          str(Path(db).resolve())], cwd=code, capture_output=True, text=True, check=True)
    return [r for r in json.loads(out.stdout) if r["dataset"] != "(overall)"]


def signs(fixed_db: str, sequential_db: str, fixed_code: str) -> int:
    fixed = {(r["study"], r["claim"], r["dataset"]): r for r in verdict_rows(fixed_db, Path(fixed_code).resolve())}
    sequential = {(r["study"], r["claim"], r["dataset"]): r for r in verdict_rows(sequential_db, ROOT)}
    decided = ("supported", "contradicted")
    both = [k for k in fixed.keys() & sequential.keys()
            if fixed[k]["verdict"] in decided and sequential[k]["verdict"] in decided]
    opposite = [k for k in both if fixed[k]["verdict"] != sequential[k]["verdict"]]
    changed = [k for k in fixed.keys() & sequential.keys() if fixed[k]["verdict"] != sequential[k]["verdict"]]
    print(f"{len(fixed.keys() & sequential.keys())} results in both; decided in both: {len(both)}; "
          f"opposite signs: {len(opposite)}")
    seeds = {}
    for k in sequential:
        seeds[sequential[k]["n_seeds"]] = seeds.get(sequential[k]["n_seeds"], 0) + 1
    print(f"seeds the sequential verdicts rest on: {', '.join(f'{n}: {c}' for n, c in sorted(seeds.items()))}")
    for k in sorted(changed):
        print(f"  {k[0]}: {k[1][:70]!r} ({k[2]}): {fixed[k]['verdict']} ({fixed[k]['n_seeds']} seeds) -> "
              f"{sequential[k]['verdict']} ({sequential[k]['n_seeds']} seeds)")
    return 1 if opposite else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate")
    sim.add_argument("--studies", type=int, default=1_000_000)
    compare = sub.add_parser("signs")
    compare.add_argument("fixed_db")
    compare.add_argument("sequential_db")
    compare.add_argument("--fixed-code", required=True, help="a checkout with the fixed design")
    args = parser.parse_args(argv)
    if args.command == "simulate":
        simulate(args.studies)
        return 0
    return signs(args.fixed_db, args.sequential_db, args.fixed_code)


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark scripts' own logic, on synthetic databases (the scripts themselves train; tests do not)."""

import importlib.util

from conftest import ROOT
from suite.claims import Claim
from suite.store.write import Writer
from suite.studies import Task
from test_report import fill, study


def load_script(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_backends_tabulates_each_claim_side_by_side_and_flags_a_different_verdict(tmp_path):
    backends = load_script("backends")
    steady = Claim(text="cnn beats mlp", a={"arch": "cnn"}, b={"arch": "mlp"})
    fragile = Claim(text="cnn beats logreg", a={"arch": "cnn"}, b={"arch": "logreg"})
    tasks = [Task(name=f"s/{a}", study="s", dataset="digits", arch=a) for a in ("cnn", "mlp", "logreg")]
    # on "b", logreg matches the cnn up to noise: the fragile claim loses its support there
    scores = {"a": {"cnn": 0.9, "mlp": 0.5, "logreg": 0.6}, "b": {"cnn": 0.9, "mlp": 0.5, "logreg": 0.9}}
    noise = {0: 0.01, 1: -0.02, 2: 0.015}  # per seed, so no difference is the same on every seed
    weight = {"cnn": 0.0, "mlp": 1.0, "logreg": -1.0}
    for label in scores:
        with Writer(tmp_path / f"{label}.sqlite") as store:
            fill(store, tasks, study("s", (steady, fragile)),
                 score=lambda task, n, seed: scores[label][task.arch] + noise[seed] * weight[task.arch])
    table = backends.side_by_side({"a": tmp_path / "a.sqlite", "b": tmp_path / "b.sqlite"})
    by_claim = {row["claim"]: row for row in table if row["dataset"] == "digits"}  # not the "(overall)" rows
    assert set(by_claim) == {"cnn beats mlp", "cnn beats logreg"}
    assert by_claim["cnn beats mlp"]["same verdict"] and by_claim["cnn beats mlp"]["a"]["verdict"] == "supported"
    fragile_row = by_claim["cnn beats logreg"]
    assert fragile_row["a"]["verdict"] == "supported" and fragile_row["b"]["verdict"] != "supported"
    assert not fragile_row["same verdict"]
    assert abs(fragile_row["a"]["estimate"] - 0.3) < 0.02 and abs(fragile_row["b"]["estimate"]) < 0.02
    text = backends.markdown(table, ["a", "b"])
    assert text.count("\n") == 1 + len(table) and "**no**" in text
    assert backends.summary(table).startswith("1 of 2 results") and "1 of 2 claims' overall" in backends.summary(table)
    # each decision's estimated chance of repeating is beside it (an inconclusive verdict has none): "a"'s
    # support at +0.3 is far from its test's edge, so this difference (the data differ, not the seeds' draw)
    # is not one the report foresaw
    assert fragile_row["a"]["repeat"] >= 0.95 and fragile_row["b"]["repeat"] is None and not fragile_row["flagged"]
    assert "repeats 1.00" in text and "Of the 2 that differ, 0 are flagged" in backends.summary(table)

    # a result that one database lacks (its study has no such claim) is a difference, never the same
    with Writer(tmp_path / "c.sqlite") as store:
        fill(store, tasks, study("s", (steady,)),
             score=lambda task, n, seed: scores["a"][task.arch] + noise[seed] * weight[task.arch])
    table = backends.side_by_side({"a": tmp_path / "a.sqlite", "c": tmp_path / "c.sqlite"})
    missing = [row for row in table if row["c"]["verdict"] is None]
    assert {row["claim"] for row in missing} == {"cnn beats logreg"} and not any(r["same verdict"] for r in missing)
    assert {row["dataset"] for row in missing} == {"digits", "(overall)"}
    assert "(no result)" in backends.markdown(table, ["a", "c"])


def test_halving_replays_a_full_grid_s_histories_exactly():
    """bench/halving.py --replay: a rate clearly behind from the first check stops there (its checks after
    it are not counted) and the choice stays; a small rate that catches up late is stopped too, and the
    replay says the choice moved."""
    from suite.training import OBJECTIVES
    from suite.training.halving import Halving

    halving = load_script("halving")

    def history(curve):
        return {"loss": [1.0] * len(curve), "val_loss": [1 - a for a in curve], "val_accuracy": list(curve)}

    def grid(slow):
        return ("t", OBJECTIVES["classification"], 8,
                [(1e-2, history([0.80 + 0.01 * i + 0.001 * s for i in range(8)])) for s in range(3)]
                + [(1e-3, history(slow(s))) for s in range(3)])

    behind = grid(lambda s: [0.30 + 0.001 * s] * 8)
    full, halved, chosen_full, chosen_halved, near = halving.replay(behind, Halving((), eta=2, first=1))
    assert (full, halved) == (48, 24 + 3) and chosen_full == chosen_halved == 1e-2 and near
    catching_up = grid(lambda s: [0.30 + 0.1 * i + 0.001 * s for i in range(8)])  # 1.0 at the last check
    full, halved, chosen_full, chosen_halved, near = halving.replay(catching_up, Halving((), eta=2, first=1))
    assert chosen_full == 1e-3 and chosen_halved == 1e-2 and not near and halved < full

"""A metric's direction is declared once (suite.metrics) and every reader takes it from there or from the run."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from suite.claims import Claim, evaluate_claim
from suite.conditions import compared_pairs, selects
from suite.metrics import FIRST_WORD, LAST_WORD, higher_is_better

SPLITS = ("test", "test_shift2", "trained", "init", "train", "val")


def test_a_name_has_one_direction_whatever_its_split_and_qualifier():
    for word, higher in LAST_WORD.items():
        for split in SPLITS:
            for name in (word, f"final_{word}", f"baseline_{word}", f"best_{word}"):
                assert higher_is_better(f"{split}/{name}") is higher, (split, name)
    for word, higher in FIRST_WORD.items():  # what is measured of a loss or an accuracy decides
        for last in ("loss", "accuracy", "code_10"):
            assert higher_is_better(f"train/{word}_{last}") is higher


def test_a_name_the_table_does_not_know_counts_higher_as_better():
    assert higher_is_better("model/params") and higher_is_better("test/examples")
    assert higher_is_better("trained/my_probe")  # a user's probe: "a is larger than b"


def test_a_claim_takes_its_metrics_direction_unless_it_says_otherwise():
    step_time = Claim(text="t", a={"arch": "tcn"}, b={"arch": "lstm"}, metric="train/step_ms")
    assert step_time.higher_is_better is None and step_time.prefers_higher is False
    assert dataclasses.replace(step_time, higher_is_better=True).prefers_higher is True
    assert dataclasses.replace(step_time, metric="test/accuracy").prefers_higher is True
    # two measurements of the same runs: their direction
    moved = Claim(text="t", a={"arch": "gan"}, b={}, change={"metric": ("init/collapse", "trained/collapse")})
    assert moved.prefers_higher is False
    # stored as null, read back as the same claim; a claim stored before the default (an explicit
    # direction) keeps its own
    assert Claim.from_json(step_time.to_json()) == step_time
    assert json.loads(step_time.to_json())["higher_is_better"] is None
    old = json.loads(step_time.to_json()) | {"higher_is_better": True}
    assert Claim.from_json(json.dumps(old)).prefers_higher is True


def slope_frame():
    rows = []
    for arch, power in (("lstm", 1.0), ("tcn", 0.5)):
        for length in (64, 128, 256):
            for s in range(3):
                rows.append({"dataset": f"adding_T{length}", "length": length, "arch": arch, "n_train": 32,
                             "seed": s, "metric": "train/step_ms", "value": (1 + 0.05 * s) * length ** power})
    return pd.DataFrame(rows)


def test_the_default_direction_gives_the_verdicts_of_the_declared_one():
    frame = slope_frame()
    for test in ("better", "not_better", "negligible"):
        declared = Claim(text="t", a={"arch": "tcn"}, b={"arch": "lstm"}, test=test, margin=0.2,
                         metric="train/step_ms", statistic="slope")
        explicit = dataclasses.replace(declared, higher_is_better=False)
        assert evaluate_claim(declared, frame) == [dataclasses.replace(r, claim=declared)
                                                   for r in evaluate_claim(explicit, frame)]
    assert "lower is better" in dataclasses.replace(declared, test="better").rule()


def test_the_run_stores_its_primary_metrics_direction():
    from suite.studies import Task
    from suite.training import BUDGETS, RunSpec
    from suite.training.results import run_record

    for metric in ("test/loss", "test/accuracy", "train/step_ms", "trained/frechet_distance"):
        task = Task(name="t/x", study="t", dataset="adding_T10", arch="gru", metric=metric)
        spec = RunSpec(task, 100, 0, {"width": 8}, BUDGETS["smoke"], "smoke", "jax")
        record = run_record(spec, "failed", "x", "jax", "cpu", {})
        assert record.higher_is_better == int(higher_is_better(metric))


def test_the_report_reads_the_stored_direction_and_the_declared_one_for_older_runs():
    from suite.report.frames import study_runs
    from suite.report.index import crossover

    runs, metrics = [], []
    for i, (arch, stored, ms) in enumerate([("ref", 0, 10.0), ("fast", 0, 5.0), ("old", None, 6.0)] * 4):
        key = f"k{i}"
        runs.append({"run_key": key, "study": "s", "profile": "smoke", "status": "ok", "kind": "eval",
                     "arch": arch, "setting": "", "dataset": "d", "variant": "natural", "matched": 1,
                     "n_train": (50, 100)[i % 2], "seed": i // 6, "metric": "train/step_ms",
                     "higher_is_better": stored, "length": 32})
        metrics.append({"run_key": key, "metric": "train/step_ms", "value": ms + 0.01 * i})
    study = pd.Series({"name": "s", "profile": "smoke", "crossover_json": json.dumps(["ref", ["natural"]])})
    tidy = study_runs({"runs": pd.DataFrame(runs), "metrics": pd.DataFrame(metrics)}, study)
    assert not tidy["higher_is_better"].any()  # stored 0, and NULL (a run stored before) from the metric
    _, table = crossover([(study, tidy)])
    # faster than the reference is better: ahead at every size
    assert table["crosses zero at n ="].str.contains("ahead").all() and len(table) == 2


def test_one_rule_selects_a_conditions_runs_and_fills_in_each():
    frame = pd.DataFrame({"arch": ["cnn", "mlp", "tree", "cnn"],
                          "variant": ["natural", "natural", "natural", "permuted"]})
    assert selects(frame, {}).all()
    assert selects(frame, {"arch": "cnn"}).tolist() == [True, False, False, True]
    assert selects(frame, {"arch": ("cnn", "mlp"), "variant": "natural"}).tolist() == [True, True, False, False]
    # each value goes into both conditions, except into one that names the column; never into an empty b
    assert compared_pairs({"variant": "natural"}, {"variant": "permuted"}, {"arch": ("cnn", "mlp")}) == [
        ({"arch": "cnn", "variant": "natural"}, {"arch": "cnn", "variant": "permuted"}),
        ({"arch": "mlp", "variant": "natural"}, {"arch": "mlp", "variant": "permuted"})]
    assert compared_pairs({}, {"arch": "tree"}, {"arch": ("cnn", "mlp")}) == [
        ({"arch": "cnn"}, {"arch": "tree"}), ({"arch": "mlp"}, {"arch": "tree"})]
    assert compared_pairs({}, {}, {"arch": ("cnn",)}) == [({"arch": "cnn"}, {})]
    assert compared_pairs({"arch": "cnn"}, {"arch": "mlp"}, None) == [({"arch": "cnn"}, {"arch": "mlp"})]


@pytest.mark.parametrize("higher", [True, False])
def test_the_weakest_of_a_tuple_follows_the_direction(higher):
    """A condition on a tuple must hold for each value: the weakest of them counts, by the direction."""
    rows = [{"dataset": "d", "arch": arch, "n_train": 10, "seed": s, "metric": "test/x", "value": v + 0.01 * s}
            for arch, v in (("a1", 1.0), ("a2", 0.8), ("b", 0.5)) for s in range(3)]
    claim = Claim(text="t", a={"arch": ("a1", "a2")}, b={"arch": "b"}, metric="test/x", higher_is_better=higher)
    [result] = evaluate_claim(claim, pd.DataFrame(rows))
    assert result.estimate == pytest.approx(0.3 if higher else 0.5)  # a - b as shown, a at its weakest
    assert np.isfinite(result.low)

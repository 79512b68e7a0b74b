import dataclasses

import numpy as np
import pandas as pd
import pytest

from suite.adequacy import Gate
from suite.aggregation import CONTROL_FAILED, claim_repeat, claim_verdict, coverage, holm_verdicts, overall_verdict
from suite.claims import Claim, ClaimResult, evaluate_claim
from suite.statistics import decide, holm, mean_ci, spread_permutation_test, decision_p_values, tost, verdict_of


def frame(values_by_arch, sizes=(100, 400), seeds=(0, 1, 2), dataset="d"):
    rows = []
    for arch, fn in values_by_arch.items():
        for n in sizes:
            for s in seeds:
                rows.append({"dataset": dataset, "arch": arch, "variant": "natural", "n_train": n,
                             "seed": s, "metric": "test/accuracy", "value": fn(n, s)})
    return pd.DataFrame(rows)


CLAIM = Claim(text="a beats b", a={"arch": "a"}, b={"arch": "b"}, test="better")


def test_better_supported_contradicted_inconclusive():
    up = frame({"a": lambda n, s: 0.9 + 0.01 * s, "b": lambda n, s: 0.8})
    assert evaluate_claim(CLAIM, up)[0].verdict == "supported"
    down = frame({"a": lambda n, s: 0.7, "b": lambda n, s: 0.8 + 0.01 * s})
    assert evaluate_claim(CLAIM, down)[0].verdict == "contradicted"
    mixed = frame({"a": lambda n, s: 0.8 + (0.05 if s == 0 else -0.05), "b": lambda n, s: 0.8})
    result = evaluate_claim(CLAIM, mixed)[0]
    assert result.verdict == "inconclusive"
    assert result.low < 0 < result.high and result.n_seeds == 3


def test_lower_is_better_metrics_flip_the_sign():
    claim = Claim(text="a lower loss", a={"arch": "a"}, b={"arch": "b"}, metric="test/loss",
                  higher_is_better=False)
    f = frame({"a": lambda n, s: 0.1, "b": lambda n, s: 0.5 + 0.01 * s}).assign(metric="test/loss")
    assert evaluate_claim(claim, f)[0].verdict == "supported"


def test_sizes_selection_uses_only_the_smallest():
    # a wins only at the smallest size
    f = frame({"a": lambda n, s: 0.9 if n == 100 else 0.5, "b": lambda n, s: 0.7 + 0.001 * s})
    small = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, sizes="smallest:1")
    assert evaluate_claim(small, f)[0].sizes == (100,)
    assert evaluate_claim(small, f)[0].verdict == "supported"
    large = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, sizes="largest:1")
    assert evaluate_claim(large, f)[0].verdict == "contradicted"


def test_tuple_condition_must_hold_against_each():
    f = frame({"a": lambda n, s: 0.9, "c": lambda n, s: 0.6, "b": lambda n, s: 0.7 + 0.01 * s})
    claim = Claim(text="", a={"arch": ("a", "c")}, b={"arch": "b"})
    assert evaluate_claim(claim, f)[0].verdict == "contradicted"  # c is below b


def test_negligible_and_not_better():
    assert decide("negligible", -0.01, 0.01, 0.02) == "supported"
    assert decide("negligible", 0.03, 0.05, 0.02) == "contradicted"
    assert decide("negligible", -0.01, 0.05, 0.02) == "inconclusive"
    assert decide("not_better", -0.05, 0.0, 0.0) == "supported"
    assert decide("not_better", 0.01, 0.05, 0.0) == "contradicted"


def test_single_seed_is_inconclusive_with_a_note():
    f = frame({"a": lambda n, s: 0.9, "b": lambda n, s: 0.1}, seeds=(0,))
    r = evaluate_claim(CLAIM, f)[0]
    assert r.verdict == "inconclusive" and "fewer than 2 seeds" in r.note


def test_the_interval_contains_the_mean_and_covers_95_percent_at_few_seeds():
    mean, low, high = mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert mean == 2.5 and low < 1.0 and high > 4.0  # t with 3 df: wider than the values' range
    assert np.isnan(mean_ci([1.0])[1])
    assert mean_ci([0.2, 0.2, 0.2])[1:] == pytest.approx((0.2, 0.2))  # a constant difference: no width
    # coverage on simulated paired differences with a known mean, at 3 and at 10 seeds
    rng = np.random.default_rng(0)
    for seeds in (3, 10):
        hits = [low <= 0.1 <= high for low, high in
                (mean_ci(rng.normal(0.1, 0.05, seeds))[1:] for _ in range(2000))]
        assert 0.93 <= np.mean(hits) <= 0.97, (seeds, np.mean(hits))
    # the percentile bootstrap it replaces covers far less at 3 seeds: its interval is within the range
    values = rng.normal(0.1, 0.05, (2000, 3))
    assert np.mean((values.min(axis=1) <= 0.1) & (0.1 <= values.max(axis=1))) < 0.8


def test_the_spread_permutation_test_is_exact_and_holds_its_level():
    estimate, p_more, p_less = spread_permutation_test([0, 8, 0, 8, 0, 8, 0, 8, 0, 8], [4] * 10)
    assert estimate > 0 and p_more <= 1 / 512 + 1e-9 and p_less == 1.0
    # under no difference in spread it rejects (one-sided, 0.025) about 2.5% of the time or less
    rng = np.random.default_rng(1)
    rejections = [spread_permutation_test(rng.normal(size=10), rng.normal(size=10))[1] <= 0.025
                  for _ in range(400)]
    assert np.mean(rejections) <= 0.05


def test_overall_verdict_contradicted_on_any_deciding_dataset_supported_only_on_all():
    assert overall_verdict(["supported", "supported"]) == "supported"
    assert overall_verdict(["supported", "contradicted"]) == "contradicted"
    assert overall_verdict(["supported", "inconclusive"]) == "inconclusive"
    assert overall_verdict(["supported", "undecidable"]) == "inconclusive"  # a dataset that counts did not support it
    assert overall_verdict(["undecidable", "undecidable"]) == "undecidable"
    assert overall_verdict([]) == "inconclusive"
    # a dataset that cannot decide the claim (below its gates, or at the ceiling) counts for nothing, either way
    assert overall_verdict(["supported", "undecidable"], counts=[True, False]) == "supported"
    assert overall_verdict(["contradicted", "undecidable"], counts=[True, False]) == "contradicted"
    assert overall_verdict(["undecidable", "undecidable"], counts=[False, False]) == "undecidable"
    # a control passes only where it passes everywhere
    assert overall_verdict(["supported", "supported"], control=True) == "supported"
    assert overall_verdict(["supported", CONTROL_FAILED], control=True) == CONTROL_FAILED


def test_a_claim_repeats_where_its_datasets_draws_together_give_its_verdict():
    """`claim_repeat`: per draw, each dataset's drawn verdict, those no test made as found; a dataset that
    counts for nothing cannot move it. Supported on two datasets, one always repeating and one half the
    time: the claim repeats half the time."""
    claim = Claim(text="", a={"arch": "a"}, b={"arch": "b"})
    sure = ClaimResult(claim, "one", "supported", 0.1, 0.05, 0.15, 10, (), repeats=(1,) * 4)
    coin = ClaimResult(claim, "two", "supported", 0.1, 0.01, 0.2, 10, (), repeats=(1, 0, 1, 0))
    limited = ClaimResult(claim, "three", "undecidable", 0.0, 0.0, 0.0, 10, (), data_limited=True,
                          repeats=(-1,) * 4)
    assert sure.repeat == 1.0 and coin.repeat == 0.5 and limited.repeat is None
    assert claim_repeat([sure, coin, limited]) == 0.5
    assert claim_repeat([sure, limited]) == 1.0
    # a dataset inconclusive makes the claim inconclusive: no decision, no chance given; its draws still
    # count where another dataset decides the claim (a draw that contradicts there contradicts the claim)
    unsure = dataclasses.replace(coin, verdict="inconclusive", repeats=(0, -1, 0, 0))
    against = dataclasses.replace(sure, verdict="contradicted", repeats=(-1,) * 4)
    assert claim_repeat([sure, unsure]) is None and unsure.repeat is None
    assert claim_repeat([against, unsure]) == 1.0
    assert claim_repeat([limited]) is None
    # a control is decided or failed, never a finding: no chance given
    control = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, test="negligible", margin=0.1, control=True)
    assert claim_repeat([dataclasses.replace(sure, claim=control)]) is None


def test_the_chance_of_repeating_redraws_the_seeds_planned_and_each_dataset_its_own():
    """A verdict decided at an early look is redrawn at the seeds planned, also where the frame holds no
    more seeds than its look (planned=None reads every seed there as planned); two datasets with the same
    values draw apart (their runs are independent)."""
    values = {"a": lambda n, s: 0.9 + 0.01 * (s % 3), "b": lambda n, s: 0.5 + 0.01 * ((s * 7) % 5)}
    ten = evaluate_claim(CLAIM, frame(values, seeds=range(10)), planned=10)[0]
    assert ten.n_seeds < 10 and ten.repeat is not None
    edge = {"a": lambda n, s: 0.55 + 0.1 * np.random.default_rng(s).normal(), "b": lambda n, s: 0.5}
    one, two = evaluate_claim(CLAIM, pd.concat([frame(edge, seeds=range(10), dataset=d) for d in ("x", "y")]),
                              planned=10)
    assert len(set(one.repeats)) > 1 and one.repeats != two.repeats
    assert evaluate_claim(CLAIM, frame(values, seeds=range(10)), planned=10, repeats=False)[0].repeats == ()
    # a dataset with no test (one seed) before one with ten: the second still draws
    few, many = evaluate_claim(CLAIM, pd.concat([frame(values, seeds=[0], dataset="a_one"),
                                                 frame(values, seeds=range(10), dataset="b_ten")]), planned=10)
    assert few.repeats == () and len(many.repeats) > 0


def test_a_dataset_at_the_ceiling_counts_for_nothing_and_the_verdict_says_which_decided():
    """Both models above 0.99 on one dataset (no number of seeds can tell them apart there): the other
    dataset decides, and the verdict names it. An interval too wide for a band is no such limit: that
    dataset counts, and does not support."""
    better = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, test="better", metric="test/skill")
    room = frame({"a": lambda n, s: 0.9 + 0.01 * s, "b": lambda n, s: 0.5}, dataset="copy")
    top = frame({"a": lambda n, s: 0.999, "b": lambda n, s: 0.995 + 0.001 * s}, dataset="adding")
    results = evaluate_claim(better, pd.concat([room, top]).assign(metric="test/skill"))
    assert [(r.dataset, r.verdict, r.counts) for r in results] == [("adding", "undecidable", False),
                                                                  ("copy", "supported", True)]
    assert claim_verdict(results) == "supported"
    assert coverage(results) == "on copy only; adding (a - b = +0.003: at the ceiling) cannot decide it"
    # a model below its gate is its failing, not the data's: the line says which, apart from a data limit
    from suite.adequacy import Gate, GateCheck

    gate = Gate(model={"arch": "a"}, metric="test/skill", level=0.95, source="a test")
    failing = [dataclasses.replace(results[0], data_limited=False, note="",
                                   gates=(GateCheck(gate, "adding", 0.5, 0.95, None, 3),)), results[1]]
    assert not failing[0].counts
    assert coverage(failing) == "on copy only; adding (a - b = +0.003: a below its gate) cannot decide it"
    # a band narrower than the interval: undecidable there, but more seeds may decide it, so it counts
    band = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, test="negligible", margin=0.01)
    tight = frame({"a": lambda n, s: 0.8 + 0.001 * s, "b": lambda n, s: 0.8}, dataset="one")
    wide = frame({"a": lambda n, s: 0.7 + 0.1 * (s % 2), "b": lambda n, s: 0.75}, dataset="two", seeds=range(10))
    results = evaluate_claim(band, pd.concat([tight, wide]))
    assert [r.verdict for r in results] == ["supported", "undecidable"] and results[1].counts
    assert "wider than the band" in results[1].note
    assert claim_verdict(results) == "inconclusive" and coverage(results) == ""
    # a control fails where it fails on any dataset: no dataset counts for nothing, so no coverage line
    control = dataclasses.replace(better, control=True)
    assert coverage([dataclasses.replace(r, claim=control, data_limited=True) for r in results]) == ""


def test_a_contradiction_of_an_each_claim_needs_one_pair_against_it():
    """Four models, each ahead on most seeds and behind on one in turn: the per-seed minimum over the pairs
    is below 0 on every seed, though no model is behind on the whole. That is the noise of a minimum, not
    a contradiction; where one model is behind on every seed, the contradiction stands."""
    archs = ("w", "x", "y", "z")
    claim = Claim(text="order helps every model", a={"variant": "natural"}, b={"variant": "permuted"},
                  each={"arch": archs}, test="better")

    def runs(behind):
        rows = []
        for k, arch in enumerate(archs):
            for s in range(10):
                gain = behind(k, s)
                for variant, value in (("natural", 0.5 + gain), ("permuted", 0.5)):
                    rows.append({"dataset": "d", "arch": arch, "variant": variant, "n_train": 100, "seed": s,
                                 "metric": "test/accuracy", "value": value})
        return pd.DataFrame(rows)

    (turns,) = evaluate_claim(claim, runs(lambda k, s: -0.03 - 0.001 * s if s % 4 == k else 0.02 + 0.001 * s))
    assert turns.estimate < 0 and turns.high < 0  # the minimum's interval is below 0 ...
    assert turns.verdict == "inconclusive" and "no one pair is" in turns.note  # ... but no model is behind
    assert "per pair, a - b: arch=w +0." in turns.note  # each model's own mean beside the weakest's
    (one,) = evaluate_claim(claim, runs(lambda k, s: -0.03 - 0.001 * s if k == 0 else 0.02 + 0.001 * s))
    assert one.verdict == "contradicted" and "no one pair" not in one.note
    # the interval shown is the contradicting pair's, at the level it was tested at: it lies against the claim
    assert "contradicted by arch=w" in one.note and one.high < 0
    with pytest.raises(ValueError, match="test 'negligible' does not combine with each"):
        Claim(text="", a={"variant": "natural"}, b={"variant": "permuted"}, each={"arch": archs},
              test="negligible", margin=0.01)


def test_unknown_test_is_rejected():
    with pytest.raises(ValueError, match="unknown claim test 'bigger'"):
        Claim(text="", a={}, b={}, test="bigger")


def test_empty_b_compares_a_with_the_reference():
    f = frame({"rnn": lambda n, s: 0.02 + 0.01 * s})
    at_most = Claim(text="rnn skill at most 0.1", a={"arch": "rnn"}, b={}, test="not_better", margin=0.1)
    assert evaluate_claim(at_most, f)[0].verdict == "supported"
    above = Claim(text="rnn skill above 0.5", a={"arch": "rnn"}, b={}, test="better", reference=0.5)
    assert evaluate_claim(above, f)[0].verdict == "contradicted"
    assert "(a - 0.5)" in above.rule()


def test_each_takes_the_weakest_per_value_difference():
    rows = []
    for arch, gap in (("lstm", 0.2), ("tcn", 0.1), ("mlp", -0.05)):
        for variant, bonus in (("natural", gap), ("permuted", 0.0)):
            for s in range(3):
                rows.append({"dataset": "d", "arch": arch, "variant": variant, "n_train": 50, "seed": s,
                             "metric": "test/accuracy", "value": 0.5 + bonus + 0.001 * s * (variant == "natural")})
    f = pd.DataFrame(rows)
    claim = Claim(text="order helps", a={"variant": "natural"}, b={"variant": "permuted"},
                  each={"arch": ("lstm", "tcn")})
    result = evaluate_claim(claim, f)[0]
    assert result.verdict == "supported" and result.estimate == pytest.approx(0.1, abs=0.002)
    with_mlp = dataclasses.replace(claim, each={"arch": ("lstm", "tcn", "mlp")})
    assert evaluate_claim(with_mlp, f)[0].verdict == "contradicted"
    assert Claim.from_json(with_mlp.to_json()) == with_mlp


def test_slope_statistic_fits_log_log_growth_per_seed():
    rows = []
    for arch, power in (("lstm", 1.0), ("tcn", 0.5)):
        for length in (64, 128, 256, 512):
            for s in range(3):
                rows.append({"dataset": f"adding_T{length}", "length": length, "arch": arch, "n_train": 32,
                             "seed": s, "metric": "train/step_ms",
                             "value": (1 + 0.05 * s) * length ** (power + 0.01 * s * (arch == "lstm"))})
    f = pd.DataFrame(rows)
    linear = Claim(text="lstm linear", a={"arch": "lstm"}, b={}, reference=1.0, test="negligible",
                   margin=0.1, metric="train/step_ms", higher_is_better=False, statistic="slope")
    [result] = evaluate_claim(linear, f)
    assert result.verdict == "supported" and result.estimate == pytest.approx(0.01, abs=1e-6)
    assert result.dataset == "lengths 64-512"
    slower = Claim(text="tcn grows slower", a={"arch": "tcn"}, b={"arch": "lstm"}, test="better",
                   metric="train/step_ms", higher_is_better=False, statistic="slope",
                   datasets=("adding_T256", "adding_T512"))
    [result] = evaluate_claim(slower, f)
    assert result.verdict == "supported" and result.estimate == pytest.approx(-0.51)  # a - b, as shown
    assert result.low <= result.estimate <= result.high
    assert result.dataset == "lengths 256-512"
    assert "lower is better: supported if the 95% interval of (a - b) lies below 0" in slower.rule()
    with pytest.raises(ValueError, match="valid statistics: mean, slope"):
        Claim(text="x", a={}, b={}, statistic="median")


def test_scaling_statistic_reads_the_exponent_of_a_power_law_learning_curve():
    """error = c n^-alpha per seed: the claim compares the alphas, per dataset, whatever the accuracy
    levels (a model far below another can still scale faster), and fails where the alphas say so."""
    sizes = (100, 400, 1600)
    # "low" starts far worse (error 0.5 at n = 100) and falls as n^-0.6; "high" starts near the ceiling
    # (error 0.05) and falls as n^-0.3: higher accuracy at every size, smaller exponent
    curves = {"low": lambda n, s: 1 - 0.5 * (n / 100) ** -(0.6 + 0.01 * s),
              "high": lambda n, s: 1 - 0.05 * (n / 100) ** -(0.3 + 0.02 * s)}
    f = pd.concat([frame(curves, sizes=sizes, dataset=d) for d in ("d1", "d2")])
    faster = Claim(text="low scales better", a={"arch": "low"}, b={"arch": "high"}, statistic="scaling")
    results = evaluate_claim(faster, f)
    assert [r.dataset for r in results] == ["d1", "d2"]  # per dataset, unlike slopes against length
    for r in results:
        assert r.verdict == "supported" and r.estimate == pytest.approx(0.3 - 0.01, abs=1e-9)
        assert r.sizes == ()
    # the mean accuracy says the opposite: the scaling statistic is not the accuracy in disguise
    [plain] = evaluate_claim(dataclasses.replace(faster, statistic="mean"), f[f["dataset"] == "d1"])
    assert plain.verdict == "contradicted"
    [against] = evaluate_claim(Claim(text="high scales better", a={"arch": "high"}, b={"arch": "low"},
                                     statistic="scaling"), f[f["dataset"] == "d1"])
    assert against.verdict == "contradicted"
    assert "scaling exponents" in faster.rule()
    with pytest.raises(ValueError, match="must be an accuracy"):
        Claim(text="x", a={"arch": "a"}, b={"arch": "b"}, metric="test/mse", statistic="scaling")


def test_datasets_limit_a_claim():
    f = pd.concat([frame({"a": lambda n, s: 0.9, "b": lambda n, s: 0.8 - 0.01 * s}, dataset="long"),
                   frame({"a": lambda n, s: 0.5, "b": lambda n, s: 0.8 + 0.01 * s}, dataset="short")])
    claim = dataclasses.replace(CLAIM, datasets=("long",))
    results = evaluate_claim(claim, f)
    assert [r.dataset for r in results] == ["long"] and results[0].verdict == "supported"


def _variant_frame(changes):
    """arch -> fn(seed) giving the value on the 'other' variant; 'natural' is 0.9 for all."""
    rows = []
    for arch, fn in changes.items():
        for s in (0, 1, 2):
            for variant, value in (("natural", 0.9), ("other", 0.9 + fn(s))):
                rows.append({"dataset": "d", "arch": arch, "variant": variant, "n_train": 50, "seed": s,
                             "metric": "test/accuracy", "value": value})
    return pd.DataFrame(rows)


def test_change_claims_compare_paired_changes_signed_and_absolute():
    # "rotation costs the trees more than the MLP": the MLP's change (-0.01) minus the trees' (-0.1)
    f = _variant_frame({"mlp": lambda s: -0.01, "hgb": lambda s: -0.1 - 0.01 * s})
    claim = Claim(text="t", a={"arch": "mlp"}, b={"arch": "hgb"}, change={"variant": ("natural", "other")})
    result = evaluate_claim(claim, f)[0]
    assert result.verdict == "supported" and result.estimate == pytest.approx(0.1, abs=0.011)
    # absolute: a change of +-0.05 in alternating directions still "moves" the CNN more than 0
    f = _variant_frame({"cnn": lambda s: (0.05 + 0.01 * s) * (-1) ** s, "mlp": lambda s: 0.0})
    moved = Claim(text="t", a={"arch": "cnn"}, b={"arch": "mlp"}, change={"variant": ("natural", "other")},
                  absolute=True)
    assert evaluate_claim(moved, f)[0].verdict == "supported"
    signed = dataclasses.replace(moved, absolute=False)
    assert evaluate_claim(signed, f)[0].verdict == "inconclusive"
    assert Claim.from_json(moved.to_json()) == moved
    assert "|change| in the metric from variant natural to other" in moved.rule()


def test_each_fills_only_the_conditions_that_do_not_name_the_column():
    # "the trees match or beat every network": the best network decides (not_better takes the max)
    f = frame({"hgb": lambda n, s: 0.90, "mlp": lambda n, s: 0.85 - 0.001 * s, "cnn": lambda n, s: 0.95 + 0.001 * s})
    claim = Claim(text="t", a={}, b={"arch": "hgb"}, each={"arch": ("mlp", "cnn")}, test="not_better",
                  margin=0.01)
    result = evaluate_claim(claim, f)[0]
    assert result.verdict == "contradicted" and result.estimate == pytest.approx(0.051, abs=0.002)
    beaten = frame({"hgb": lambda n, s: 0.96, "mlp": lambda n, s: 0.85, "cnn": lambda n, s: 0.95 + 0.001 * s})
    assert evaluate_claim(claim, beaten)[0].verdict == "supported"
    # "better": every network must beat the trees, so the weakest (min) difference decides
    better = dataclasses.replace(claim, test="better")
    assert evaluate_claim(better, f)[0].verdict == "contradicted"  # the MLP is 0.05 below


def test_change_between_two_metrics_of_the_same_runs():
    # "training makes the filters edge-like": trained - init, paired run by run
    rows = []
    for s in (0, 1, 2):
        for metric, value in (("init/edge", 0.25 + 0.01 * s), ("trained/edge", 0.5 + 0.02 * s),
                              ("test/accuracy", 0.1)):
            rows.append({"dataset": "d", "arch": "cnn", "variant": "natural", "n_train": 50, "seed": s,
                         "metric": metric, "value": value})
    f = pd.DataFrame(rows)
    claim = Claim(text="t", a={"arch": "cnn"}, b={}, metric="trained/edge",
                  change={"metric": ("init/edge", "trained/edge")})
    result = evaluate_claim(claim, f)[0]
    assert result.verdict == "supported" and result.n_seeds == 3
    assert result.estimate == pytest.approx(0.26)  # mean of 0.25, 0.26, 0.27; other metrics ignored
    backwards = dataclasses.replace(claim, change={"metric": ("trained/edge", "init/edge")})
    assert evaluate_claim(backwards, f)[0].verdict == "contradicted"


def test_spread_claims_compare_seed_to_seed_variation():
    rows = []
    gan = [0, 6, 0, 5, 1, 7, 0, 6, 1, 7]
    for s in range(10):
        for arch, value in (("gan", gan[s]), ("vae", 8 - 0.1 * (s % 2))):
            rows.append({"dataset": "ring", "arch": arch, "variant": "natural", "n_train": 100, "seed": s,
                         "metric": "modes", "value": value})
    f = pd.DataFrame(rows)
    claim = Claim(text="the GAN varies more", a={"arch": "gan"}, b={"arch": "vae"}, metric="modes",
                  statistic="spread")
    result = evaluate_claim(claim, f)[0]
    expected = np.std(gan, ddof=1) - np.std([8, 7.9] * 5, ddof=1)
    assert result.verdict == "supported" and result.estimate == pytest.approx(expected)
    assert result.n_seeds == 10 and result.method == "paired permutation test over seeds" and "p = " in result.note
    reverse = dataclasses.replace(claim, a={"arch": "vae"}, b={"arch": "gan"})
    assert evaluate_claim(reverse, f)[0].verdict == "contradicted"
    assert "standard deviations over seeds" in claim.rule() and "permutation" in claim.rule()
    with pytest.raises(ValueError, match="spread"):
        Claim(text="t", a={"arch": "gan"}, b={}, statistic="spread")
    assert Claim.from_json(claim.to_json()) == claim


def test_a_verdict_on_runs_still_improving_at_the_budget_or_at_the_baseline_is_qualified():
    f = frame({"a": lambda n, s: 0.9 + 0.01 * s, "b": lambda n, s: 0.8})
    f["matched"] = 1
    flags = f.assign(metric="train/improving_on_metric", value=f["arch"].map({"a": 0.0, "b": 1.0}))
    skill = f.assign(metric="test/skill", value=f["arch"].map({"a": 0.7, "b": 0.0}))
    result = evaluate_claim(CLAIM, pd.concat([f, flags]))[0]
    assert result.verdict == "supported"
    assert result.qualifier == ("under-trained: arch=b (6 of 6 runs still improving on the metric when their step "
                                "budget ended; not checked at a longer budget)")
    result = evaluate_claim(CLAIM, pd.concat([f, skill]))[0]
    assert result.qualifier.startswith("at the trivial baseline: arch=b (6 of 6 runs end with test skill <= 0.02")
    # runs at the baseline are flagged on data their bias does not match too, wherever they stopped
    stopped = pd.concat([f.assign(matched=0), skill.assign(matched=0),
                         flags.assign(metric="train/stopped_early", value=1.0, matched=0)])
    assert "at the trivial baseline: arch=b" in evaluate_claim(CLAIM, stopped)[0].qualifier
    trained = pd.concat([f, flags.assign(value=0.0), skill.assign(value=0.5)])
    assert evaluate_claim(CLAIM, trained)[0].qualifier == ""
    # a loss still falling at a perfect score is not a model short of training
    perfect = pd.concat([f, flags, skill.assign(value=1.0)])
    assert evaluate_claim(CLAIM, perfect)[0].qualifier == ""
    # with `each` and an empty a ("each of a, c beats b"), every model a stands for is checked
    g = frame({"a": lambda n, s: 0.9 + 0.01 * s, "c": lambda n, s: 0.95 + 0.01 * s, "b": lambda n, s: 0.8})
    g["matched"] = 1
    flags = g.assign(metric="train/improving_on_metric", value=g["arch"].map({"a": 0.0, "b": 0.0, "c": 1.0}))
    each = Claim(text="", a={}, b={"arch": "b"}, each={"arch": ("a", "c")})
    assert evaluate_claim(each, pd.concat([g, flags]))[0].qualifier.startswith("under-trained: arch=c (6 of 6")
    # a classifier that does not fit its own training data is not a competent representative of its family
    runs = f.assign(run_key=f["arch"] + f["n_train"].astype(str) + f["seed"].astype(str))
    fitted = runs.assign(metric="train/final_accuracy", value=runs["arch"].map({"a": 0.98, "b": 0.35}))
    base = runs.assign(metric="test/baseline_accuracy", value=0.1)
    result = evaluate_claim(CLAIM, pd.concat([runs, fitted, base]))[0]
    assert result.qualifier == "underfit: arch=b does not fit its own training data (training skill +0.28 < 0.5)"
    fitted = fitted.assign(value=0.9)
    assert evaluate_claim(CLAIM, pd.concat([runs, fitted, base]))[0].qualifier == ""


def test_a_comparator_at_chance_on_the_shifted_test_set_is_named_in_the_verdict():
    """The strided CNN learned its own test set (skill 0.96) and is at chance under the shift the claim
    reads: the verdict says the claim tests only the other side; not where the comparator keeps some
    accuracy, nor on the matched test set (the trivial-baseline rule's case)."""
    claim = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, metric="test_shift2/accuracy")
    f = frame({"a": lambda n, s: 0.5 + 0.01 * s, "b": lambda n, s: 0.1 + 0.005 * (s % 2)})
    f["metric"], f["matched"] = "test_shift2/accuracy", 1
    f["run_key"] = f["arch"] + f["n_train"].astype(str) + f["seed"].astype(str)
    extra = pd.concat([f.assign(metric="test/baseline_accuracy", value=0.1),
                       f.assign(metric="test/skill", value=0.96)])
    r = evaluate_claim(claim, pd.concat([f, extra]))[0]
    assert r.verdict == "supported"
    assert r.qualifier.startswith("at chance on test_shift2/accuracy: arch=b (6 of 6 runs within 0.02 skill")
    assert "arch=a" not in r.qualifier
    kept = f.assign(value=np.where(f["arch"] == "b", 0.3, f["value"]))
    assert evaluate_claim(claim, pd.concat([kept, extra]))[0].qualifier == ""
    # the change between two test sets reads the longer one too (the Transformer on unseen lengths)
    lengths = pd.concat([f, f.assign(metric="test/accuracy", value=0.95), extra])
    loses = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, change={"metric": ("test/accuracy", "test_shift2/accuracy")})
    assert "at chance on test_shift2/accuracy: arch=b" in evaluate_claim(loses, lengths)[0].qualifier


def test_longer_training_keeps_the_qualifier_only_where_it_moves_the_difference():
    """A condition still improving when its budget ended is trained again at a longer budget on a few
    seeds (kind "check"); the qualifier stays only where, with those runs in its place, the claim's
    difference moves by more than half the interval's width; otherwise the note gives both numbers."""
    f = frame({"a": lambda n, s: 0.9 + 0.01 * s, "b": lambda n, s: 0.8}, seeds=(0, 1, 2, 3))
    f["matched"] = 1
    f["task"] = "t/" + f["arch"]
    flags = f.assign(metric="train/improving_on_metric", value=f["arch"].map({"a": 0.0, "b": 1.0}))
    runs = pd.concat([f, flags])
    half = (lambda r: (r.high - r.low) / 2)(evaluate_claim(CLAIM, runs)[0])

    def checked(gain):  # b's runs on seeds 0-2 at a longer budget, `gain` more accurate
        later = f[(f["arch"] == "b") & (f["seed"] < 3)].assign(value=lambda x: x["value"] + gain)
        return evaluate_claim(CLAIM, runs, checks=later)[0]

    little = checked(0.2 * half)  # b gains a fifth of the half-width: a verdict the budget did not decide
    assert little.qualifier == "" and little.verdict == "supported"
    assert f"arch=b checked at a longer budget: the difference moves by {-0.2 * half:+.3f} on 3 seeds" in little.note
    much = checked(2 * half)
    # the verdict rests on its first look (3 seeds), and so does the qualifier: b's 6 runs there
    assert much.qualifier.startswith("under-trained: arch=b (6 of 6 runs") and much.n_seeds == 3
    assert f"the difference moves by {-2 * half:+.3f} on 3 seeds, more than the interval's half-width" in much.qualifier
    # the verdict itself is the evaluation runs': checks only qualify it
    assert (much.verdict, much.estimate) == (little.verdict, little.estimate)


def test_improving_on_the_metric_is_judged_on_the_metric_beyond_noise():
    from suite.training.objectives import IMPROVING, LATE_GAIN, metric_convergence

    # the validation accuracy flat at 1.0 while the loss still creeps down: not improving on the metric
    flat = {"val_accuracy": [0.9, 1.0, 1.0, 1.0], "val_loss": [0.3, 0.0125, 0.008, 0.0061]}
    assert metric_convergence(flat, "test/accuracy", "val_loss", 100, stopped_early=False)[IMPROVING] == 0.0
    rising = {"val_accuracy": [0.5, 0.6, 0.7, 0.8], "val_loss": [1.0, 0.9, 0.8, 0.7]}
    out = metric_convergence(rising, "test/accuracy", "val_loss", 100, stopped_early=False)
    assert out[IMPROVING] == 1.0 and out[LATE_GAIN] == pytest.approx(0.2)
    # one validation example is noise: 0.01 on 100 examples does not count, on 1,000 it does
    tiny = {"val_accuracy": [0.5, 0.8, 0.8, 0.81], "val_loss": [1.0, 0.5, 0.5, 0.5]}
    assert metric_convergence(tiny, "test/accuracy", "val_loss", 100, False)[IMPROVING] == 0.0
    assert metric_convergence(tiny, "test/accuracy", "val_loss", 1000, False)[IMPROVING] == 1.0
    # stopped early: a plateau, whatever came before; a loss metric reads the validation loss (lower is better)
    assert metric_convergence(rising, "test/accuracy", "val_loss", 100, stopped_early=True)[IMPROVING] == 0.0
    assert metric_convergence(rising, "test/skill", "val_loss", 100, stopped_early=False)[IMPROVING] == 1.0
    assert metric_convergence({"val_loss": [1.0, 0.5]}, "test/loss", "val_loss", 100, False) == {}


def test_convergence_labels_on_constructed_histories():
    from suite.training.objectives import convergence_metrics

    still_falling = {"val_loss": [1.0, 0.8, 0.6, 0.5]}
    assert convergence_metrics(still_falling, "val_loss", stopped_early=False) == {
        "train/stopped_early": 0.0, "train/still_improving": 1.0, "val/best_loss": 0.5}
    plateau = {"val_loss": [1.0, 0.5, 0.6, 0.6, 0.7]}
    assert convergence_metrics(plateau, "val_loss", stopped_early=True)["train/still_improving"] == 0.0
    assert convergence_metrics(plateau, "val_loss", stopped_early=False)["train/still_improving"] == 0.0
    assert convergence_metrics({"loss": [3.0, 2.0, 1.0]}, "loss", stopped_early=False)["train/still_improving"] == 1.0
    # too few checks, or a loss that was not finite: no label; the best validation loss all the same
    assert convergence_metrics({"val_loss": [1.0, float("nan"), 0.5]}, "val_loss", False) == {"val/best_loss": 0.5}
    assert convergence_metrics({"val_loss": [1.0, 0.5]}, "val_loss", False) == {"val/best_loss": 0.5}
    assert convergence_metrics({"val_loss": [float("nan")] * 3}, "val_loss", False) == {"val/best_loss": float("inf")}
    assert "val/best_loss" not in convergence_metrics({"loss": [3.0, 2.0, 1.0]}, "loss", False)


def test_undecidable_where_the_data_cannot_decide_whatever_the_effect():
    # the same difference for every seed: nothing was measured (a control is exempt)
    constant = frame({"a": lambda n, s: 0.9, "b": lambda n, s: 0.8})
    r = evaluate_claim(CLAIM, constant)[0]
    assert r.verdict == "undecidable" and "every seed" in r.note
    assert evaluate_claim(dataclasses.replace(CLAIM, control=True), constant)[0].verdict == "supported"
    # a margin below one test example: 40 examples move an accuracy in steps of 0.025
    close = frame({"a": lambda n, s: 0.80 + 0.001 * s, "b": lambda n, s: 0.80})
    examples = close.assign(metric="test/examples", value=40.0)
    tight = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, test="negligible", margin=0.02)
    r = evaluate_claim(tight, pd.concat([close, examples]))[0]
    assert r.verdict == "undecidable" and "40-example test set" in r.note
    assert evaluate_claim(tight, close)[0].verdict == "supported"  # without the test set's size: no such rule
    assert evaluate_claim(dataclasses.replace(tight, margin=0.03), pd.concat([close, examples]))[0].verdict == \
        "supported"
    # an interval wider than the whole band: "negligible" could never be supported at these seeds
    noisy = frame({"a": lambda n, s: 0.8 + 0.05 * (s - 1), "b": lambda n, s: 0.8})
    r = evaluate_claim(tight, noisy)[0]
    assert r.verdict == "undecidable" and "wider than the band" in r.note
    # a decided contradiction stands
    far = frame({"a": lambda n, s: 0.5 + 0.001 * s, "b": lambda n, s: 0.8})
    assert evaluate_claim(tight, pd.concat([far, examples]))[0].verdict == "contradicted"
    assert overall_verdict(["undecidable", "undecidable"]) == "undecidable"


def test_no_more_than_a_margin_better_than_a_model_at_the_ceiling_cannot_fail():
    """b at 0.99 leaves 0.01 to perfect: "a is at most 0.03 better" holds whatever a does (undecidable);
    b at 0.90 leaves room, and the same claim is decided on the same differences."""
    claim = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, test="not_better", margin=0.03)
    top = frame({"a": lambda n, s: 0.995 + 0.001 * s, "b": lambda n, s: 0.99 + 0.001 * (s % 2)})
    r = evaluate_claim(claim, top)[0]
    assert r.verdict == "undecidable" and "at the ceiling" in r.note and "leaves 0.010" in r.note
    room = frame({"a": lambda n, s: 0.905 + 0.001 * s, "b": lambda n, s: 0.90 + 0.001 * (s % 2)})
    assert evaluate_claim(claim, room)[0].verdict == "supported"
    # the ceiling is read at the claim's sizes: the smallest, where b is far from perfect, decides
    low_then_top = frame({"a": lambda n, s: (0.905 if n == 100 else 0.995) + 0.001 * s,
                          "b": lambda n, s: (0.90 if n == 100 else 0.99) + 0.001 * (s % 2)})
    assert evaluate_claim(dataclasses.replace(claim, sizes="smallest:1"), low_then_top)[0].verdict == "supported"
    assert evaluate_claim(dataclasses.replace(claim, sizes="largest:1"), low_then_top)[0].verdict == "undecidable"
    # a bound's rule reads b alone: whatever a does, b at the ceiling leaves it no room to fail
    assert "at the ceiling" in evaluate_claim(claim, top.assign(value=np.where(top["arch"] == "a", 0.5, top["value"])))[0].note


def test_a_bound_between_two_metrics_of_the_same_runs_at_the_ceiling_cannot_fail():
    """"The code's trustworthiness is at least PCA's less 0.01" with the code at 0.993: PCA cannot lead it by
    0.01 whatever it does (undecidable); with the code at 0.90 the same claim is decided."""
    claim = Claim(text="", a={"arch": "ae"}, b={}, test="not_better", margin=0.01, reference=0.0,
                  metric="trained/trust_code", change={"metric": ("trained/trust_code", "trained/trust_pca")})

    def runs(code):
        rows = []
        for s in range(5):
            base = {"dataset": "d", "arch": "ae", "variant": "natural", "n_train": 100, "seed": s}
            rows += [{**base, "metric": "trained/trust_code", "value": code + 0.001 * s},
                     {**base, "metric": "trained/trust_pca", "value": code - 0.003 + 0.0005 * s}]
        return pd.DataFrame(rows)

    (top,) = evaluate_claim(claim, runs(0.993))
    assert top.verdict == "undecidable" and "at the ceiling: b leaves 0.006" in top.note and not top.counts
    (room,) = evaluate_claim(claim, runs(0.90))
    assert room.verdict == "supported"


def test_a_better_claim_between_two_saturated_models_is_undecidable_whichever_leads():
    """Both above 0.99 (skill or accuracy): a lead of 0.001 either way is not a difference in what they
    learned (the LSTM's two initialisations at skill 0.998 and 0.999 on adding at T = 50), so neither
    supported nor contradicted; with one model below 0.99 the same claim is decided, on either side."""
    better = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, test="better", metric="test/skill")
    top = frame({"a": lambda n, s: 0.999 - 0.0001 * s, "b": lambda n, s: 0.998 - 0.0002 * (s % 2)})
    top["metric"] = "test/skill"
    r = evaluate_claim(better, top)[0]
    assert r.verdict == "undecidable" and "at the ceiling: a and b each leave at most 0.002" in r.note
    swapped = top.assign(arch=top["arch"].map({"a": "b", "b": "a"}))
    assert evaluate_claim(better, swapped)[0].verdict == "undecidable"  # a contradiction there too
    for low in ("a", "b"):  # one model with room: the claim can fail, and is decided
        room = top.assign(value=np.where(top["arch"] == low, top["value"] - 0.05, top["value"]))
        assert evaluate_claim(better, room)[0].verdict == ("contradicted" if low == "a" else "supported")
    # a loss is not bounded by 1; a control checks machinery; a claim against a constant reads one level
    assert "ceiling" not in evaluate_claim(dataclasses.replace(better, metric="test/loss"),
                                           top.assign(metric="test/loss"))[0].note
    assert evaluate_claim(dataclasses.replace(better, control=True), top)[0].verdict != "undecidable"
    alone = dataclasses.replace(better, b={}, reference=0.5)
    assert evaluate_claim(alone, top)[0].verdict == "supported"


def test_two_models_both_within_the_margin_of_perfect_cannot_fail_a_band():
    """"Within 0.05 of each other" holds by the ceiling where both leave less than 0.05 to perfect
    (undecidable); where one leaves room the same band is decided; a control at the ceiling still passes
    (it checks machinery, which works there too); skill is bounded by 1 as accuracy is."""
    band = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, test="negligible", margin=0.05, metric="test/skill")
    top = frame({"a": lambda n, s: 0.985 + 0.001 * s, "b": lambda n, s: 0.98 + 0.002 * (s % 2)})
    top["metric"] = "test/skill"
    r = evaluate_claim(band, top)[0]
    assert r.verdict == "undecidable" and "at the ceiling: a and b each leave at most 0.019" in r.note
    room = top.assign(value=top["value"] - 0.2)
    assert evaluate_claim(band, room)[0].verdict == "supported"
    one_low = top.assign(value=np.where(top["arch"] == "b", top["value"] - 0.2, top["value"]))
    assert evaluate_claim(band, one_low)[0].verdict == "contradicted"  # one far below: the band can fail
    control = dataclasses.replace(band, control=True)
    assert evaluate_claim(control, top)[0].verdict == "supported"
    loss = dataclasses.replace(band, metric="test/loss")  # not bounded by 1: no such rule
    assert "ceiling" not in evaluate_claim(loss, top.assign(metric="test/loss"))[0].note


def test_a_claim_about_a_gpu_is_undecidable_on_runs_from_a_cpu():
    f = frame({"a": lambda n, s: 0.9 + 0.01 * s, "b": lambda n, s: 0.8})
    gpu_claim = dataclasses.replace(CLAIM, device="GPU")
    on_cpu = evaluate_claim(gpu_claim, f.assign(device="CPU (AMD EPYC)"))[0]
    assert on_cpu.verdict == "undecidable" and "not testable on CPU (AMD EPYC)" in on_cpu.note
    assert on_cpu.estimate == pytest.approx(0.11)  # the numbers are still shown
    assert evaluate_claim(gpu_claim, f.assign(device="GPU (NVIDIA H200)"))[0].verdict == "supported"
    assert Claim.from_json(gpu_claim.to_json()) == gpu_claim


def test_conditions_on_two_datasets_compare_across_them_pairing_sizes_by_rank():
    """"The code gains more over the pixels on digits than on noise": one verdict across the two datasets,
    each's k-th size paired with the other's ("full" is another number on each)."""
    rows = []
    for dataset, size, gain in (("digits", 1437, 0.10), ("noise", 900, 0.0)):
        for s in range(5):
            for metric, value in (("probe_raw", 0.5), ("probe_code", 0.5 + gain + 0.01 * (s % (2 + (gain > 0))))):
                rows.append({"dataset": dataset, "arch": "ae", "n_train": size, "seed": s, "metric": metric,
                             "value": value, "variant": "natural"})
    f = pd.DataFrame(rows)
    claim = Claim(text="t", a={"arch": "ae", "dataset": "digits"}, b={"arch": "ae", "dataset": "noise"},
                  metric="probe_code", change={"metric": ("probe_raw", "probe_code")})
    (result,) = evaluate_claim(claim, f)
    assert result.dataset == "digits vs noise" and result.looks == (3, 5) and result.n_seeds == 3  # decided at 3
    assert result.verdict == "supported" and result.estimate == pytest.approx(0.10, abs=0.01)
    flipped = dataclasses.replace(claim, a=claim.b, b=claim.a)
    assert evaluate_claim(flipped, f)[0].verdict == "contradicted"
    assert evaluate_claim(claim, f[f["dataset"] == "other"]) == []


def test_a_claim_across_two_datasets_is_checked_at_a_longer_budget_too():
    """A condition of a claim across datasets still improving when its budget ended has its check runs
    read as for any claim: the sizes paired by rank, the check runs of its own dataset in its place."""
    rows = []
    for dataset, size, gain in (("digits", 1437, 0.10), ("noise", 900, 0.0)):
        for s in range(5):
            code = 0.5 + gain + 0.01 * (s % 3 if gain else (s + 1) % 2)
            for metric, value in (("probe_raw", 0.5), ("probe_code", code), ("train/improving_on_metric", 1.0)):
                rows.append({"dataset": dataset, "arch": "ae", "n_train": size, "seed": s, "metric": metric,
                             "value": value, "variant": "natural", "matched": 1, "task": f"r/{dataset}/ae"})
    f = pd.DataFrame(rows)
    claim = Claim(text="t", a={"arch": "ae", "dataset": "digits"}, b={"arch": "ae", "dataset": "noise"},
                  metric="probe_code", change={"metric": ("probe_raw", "probe_code")})
    unchecked = evaluate_claim(claim, f)[0]
    assert "not checked at a longer budget" in unchecked.qualifier

    def checked(gain):  # the noise runs of seeds 0-2 at a longer budget, their code `gain` better
        later = f[(f["dataset"] == "noise") & (f["seed"] < 3) & (f["metric"] != "train/improving_on_metric")]
        return evaluate_claim(claim, f, checks=later.assign(
            value=np.where(later["metric"] == "probe_code", later["value"] + gain, later["value"])))[0]

    little = checked(0.001)
    assert "dataset=noise" in little.note and "checked at a longer budget: the difference moves by -0.001" in \
        little.note
    assert "dataset=noise" not in little.qualifier and "dataset=digits" in little.qualifier  # digits unchecked
    assert "more than the interval's half-width" in checked(0.2).qualifier


def test_one_condition_at_the_same_value_on_every_seed_against_a_constant_is_a_measurement():
    """An RNN at skill 1.0 on every seed does learn: "above 0" is supported, not undecidable (the rule
    against a constant difference is about two conditions)."""
    perfect = frame({"rnn": lambda n, s: 1.0}).assign(metric="test/skill")
    claim = Claim(text="t", a={"arch": "rnn"}, b={}, metric="test/skill")
    assert evaluate_claim(claim, perfect)[0].verdict == "supported"


def _gated_frame(skill_on, datasets=("one", "two"), seeds=(0, 1, 2, 3)):
    """On each dataset: a beats b by +0.1 (or loses by 0.1 on `skill_on`'s "lose" datasets), a's test skill
    on matched data as `skill_on` gives it (the gate's metric), and a logistic regression at 0.8."""
    rows = []
    for dataset in datasets:
        sign = -1 if skill_on.get(dataset, {}).get("lose") else 1
        for s in seeds:
            for arch, value in (("a", 0.7 + sign * (0.1 + 0.005 * s)), ("b", 0.7), ("logreg", 0.8)):
                base = {"dataset": dataset, "arch": arch, "variant": "natural", "matched": 1, "n_train": 100,
                        "seed": s, "run_key": f"{dataset}-{arch}-{s}"}
                rows.append({**base, "metric": "test/accuracy", "value": value})
                skill = skill_on.get(dataset, {}).get("skill", 0.9) if arch == "a" else 0.9
                rows.append({**base, "metric": "test/skill", "value": skill})
    return pd.DataFrame(rows)


GATE = Gate(model={"arch": "a"}, metric="test/skill", level=0.5, source="a test's level")


def test_a_contradiction_on_one_competent_dataset_contradicts_the_claim():
    """Over several datasets: contradicted where contradicted on any dataset whose models pass their gates;
    a contradiction on a dataset below its gate counts for nothing (undecidable there, with the value)."""
    competent = _gated_frame({"two": {"lose": True}})
    results = evaluate_claim(CLAIM, competent, (GATE,))
    assert [r.verdict for r in results] == ["supported", "contradicted"]
    assert claim_verdict(results) == "contradicted"
    incompetent = _gated_frame({"two": {"lose": True, "skill": 0.2}})
    results = evaluate_claim(CLAIM, incompetent, (GATE,))
    assert [r.verdict for r in results] == ["supported", "undecidable"]
    assert "a not competent (0.2 < 0.5)" in results[1].note and not results[1].competent
    assert results[1].estimate == pytest.approx(-0.105)  # the numbers (its first look's, 3 seeds) are still shown
    assert claim_verdict(results) == "supported"  # every competent dataset supports it
    assert "contradicted if contradicted on any dataset that can decide it (its models pass their gates" in CLAIM.rule()


def test_a_model_below_its_gate_makes_the_verdict_undecidable_with_the_value_in_the_note():
    frame = _gated_frame({"one": {"skill": 0.3}}, datasets=("one",))
    (result,) = evaluate_claim(CLAIM, frame, (GATE,))
    assert result.verdict == "undecidable" and result.note == "a not competent (0.3 < 0.5)"
    (passed,) = evaluate_claim(CLAIM, _gated_frame({}, datasets=("one",)), (GATE,))
    assert passed.verdict == "supported" and passed.gates[0].passed and passed.gates[0].value == pytest.approx(0.9)
    # relative to a baseline model on the same data: a at 0.8 + 0.1 against logistic regression's 0.8 - 0.03
    relative = Gate(model={"arch": "b"}, metric="test/accuracy", level=-0.03, relative_to={"arch": "logreg"},
                    source="within 3 points of logistic regression")
    (result,) = evaluate_claim(CLAIM, _gated_frame({}, datasets=("one",)), (relative,))
    assert result.verdict == "undecidable" and "b not competent (0.7 < 0.77 = logreg 0.8 - 0.03)" in result.note
    # a gate on other datasets, a claim on one model's level against a constant and a control: not gated
    elsewhere = dataclasses.replace(GATE, datasets=("two",))
    assert evaluate_claim(CLAIM, frame, (elsewhere,))[0].verdict == "supported"
    level = Claim(text="a above 0.5", a={"arch": "a"}, b={}, reference=0.5)
    assert evaluate_claim(level, frame, (GATE,))[0].verdict == "supported"
    assert Gate.from_json(relative.to_json()) == relative


def test_a_relative_gate_within_its_tolerance_of_the_commonest_label_cannot_decide():
    """`fair`: logistic regression 0.708 against a commonest label of 0.677, so "within 3 points of logistic
    regression" (0.678) would pass a model answering the commonest label: the gate cannot tell, and the
    dataset is undecidable for its data (it counts for nothing over several). Where logistic regression
    leads the label by more, nothing changes."""
    relative = Gate(model={"arch": "b"}, metric="test/accuracy", level=-0.03, relative_to={"arch": "logreg"},
                    source="within 3 points of logistic regression")

    def tables(commonest):
        frame = _gated_frame({}, datasets=("one",))  # a 0.8-0.815, b 0.7, logreg 0.8
        frame["value"] = np.where(frame["metric"] == "test/accuracy",
                                  frame["value"] - np.where(frame["arch"] == "logreg", 0.09, 0.0), frame["value"])
        labels = frame[frame["metric"] == "test/accuracy"].assign(metric="test/baseline_accuracy", value=commonest)
        return pd.concat([frame, labels])

    (near,) = evaluate_claim(CLAIM, tables(commonest=0.69), (relative,))  # logreg 0.71, bar 0.68: 0.01 off it
    assert near.verdict == "undecidable" and near.data_limited and not near.counts
    assert near.gates[0].passed  # b's 0.7 clears the bar; the bar says nothing
    assert ("on one the gates' bar 0.68 (logreg 0.71 - 0.03) is within 0.03 of the commonest label's 0.69: it "
            "cannot tell a competent model") in near.note
    (far,) = evaluate_claim(CLAIM, tables(commonest=0.5), (relative,))  # logreg 0.21 above the label
    assert far.verdict == "supported" and far.gates[0].threshold == pytest.approx(0.68)
    assert not far.gates[0].uninformative and far.counts
    assert "commonest label" in relative.rule()


def test_a_lead_between_two_models_that_learned_nothing_is_undecidable():
    """The MLP trained on random placements ends at its trivial baseline on its own test set, the MLP trained
    in the corner is at chance on the shifted digits: 0.13 against 0.08 there is a lead between two ways
    of learning nothing. Where a learned its own test set, the same lead decides the claim."""
    claim = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, test="better", metric="test_shift/accuracy")

    def runs(skill_a):
        rows = []
        for s in range(5):
            for arch, skill, shifted in (("a", skill_a, 0.13 + 0.002 * s), ("b", 0.9, 0.08)):
                base = {"dataset": "d", "arch": arch, "variant": "natural", "matched": 1, "n_train": 100,
                        "seed": s, "run_key": f"{arch}-{s}"}
                rows += [{**base, "metric": m, "value": v} for m, v in
                         (("test/skill", skill), ("test_shift/accuracy", shifted), ("test/baseline_accuracy", 0.1))]
        return pd.DataFrame(rows)

    (nothing,) = evaluate_claim(claim, runs(skill_a=0.0))
    assert nothing.verdict == "undecidable" and not nothing.counts
    assert ("neither side learned what the claim reads: arch=a at its trivial baseline (3 of 3 runs with test skill "
            "<= 0.02), arch=b at chance on test_shift/accuracy (3 of 3 runs)") in nothing.note  # the seeds of its first look
    (learned,) = evaluate_claim(claim, runs(skill_a=0.5))
    assert learned.verdict == "supported" and "at chance on test_shift/accuracy: arch=b" in learned.qualifier


def test_a_model_below_its_gate_leaves_the_other_pairs_of_an_each_claim_to_decide():
    """"No network beats the trees by more than 1 point": the network q is below its gate, so its pair cannot
    decide; the claim stands or falls on p, and the verdict names q as left out. With both below their
    gates the claim is undecidable there."""
    claim = Claim(text="trees match every network", a={"variant": "natural"}, b={"arch": "trees"},
                  each={"arch": ("p", "q")}, test="not_better", margin=0.01)
    gates = tuple(Gate(model={"arch": arch}, metric="test/skill", level=0.5, source="a test's level")
                  for arch in ("p", "q"))

    def runs(skill_p, skill_q):
        rows = []
        for s in range(5):
            for arch, value, skill in (("p", 0.78 + 0.001 * s, skill_p), ("q", 0.9 + 0.002 * s, skill_q),
                                       ("trees", 0.8, 0.9)):
                base = {"dataset": "d", "arch": arch, "variant": "natural", "matched": 1, "n_train": 100,
                        "seed": s, "run_key": f"{arch}-{s}"}
                rows += [{**base, "metric": "test/accuracy", "value": value},
                         {**base, "metric": "test/skill", "value": skill}]
        return pd.DataFrame(rows)

    (r,) = evaluate_claim(claim, runs(0.9, 0.2), gates)
    assert r.verdict == "supported" and r.counts and r.estimate == pytest.approx(-0.019)
    assert r.note.startswith("without arch=q: q not competent (0.2 < 0.5)")
    assert r.left_out == ("arch=q",) and coverage([r]).startswith("without arch=q on d")  # named beside the verdict
    (both,) = evaluate_claim(claim, runs(0.2, 0.2), gates)
    assert both.verdict == "undecidable" and not both.counts
    (all_pass,) = evaluate_claim(claim, runs(0.9, 0.9), gates)
    assert all_pass.verdict == "contradicted"  # q, competent, is 10 points ahead of the trees


def test_a_gate_concerns_the_model_on_every_variant_and_is_measured_on_its_matched_data():
    """A CNN unable to learn natural images says nothing on permuted ones: the gate on "arch=a" concerns a
    claim about a's permuted runs, and is measured on its natural (matched) runs."""
    frame = _gated_frame({"one": {"skill": 0.3}}, datasets=("one",))
    permuted = frame.assign(variant="permuted", matched=0, run_key=frame["run_key"] + "-p",
                            value=np.where(frame["metric"] == "test/skill", 0.9, frame["value"]))
    claim = Claim(text="t", a={"arch": "a", "variant": "permuted"}, b={"arch": "b", "variant": "permuted"})
    (result,) = evaluate_claim(claim, pd.concat([frame, permuted]), (GATE,))
    assert result.verdict == "undecidable" and "a not competent (0.3 < 0.5)" in result.note


def test_a_control_is_decided_or_failed_never_undecidable():
    control = Claim(text="c", a={"arch": "a"}, b={"arch": "b"}, test="negligible", margin=0.02, control=True)
    inside = frame({"a": lambda n, s: 0.8 + 0.001 * s, "b": lambda n, s: 0.8})
    assert evaluate_claim(control, inside)[0].verdict == "supported"
    # an interval wider than the band would make a claim undecidable: a control fails
    noisy = frame({"a": lambda n, s: 0.8 + 0.05 * (s - 1), "b": lambda n, s: 0.8})
    failed = evaluate_claim(control, noisy)[0]
    assert failed.verdict == CONTROL_FAILED and "leaves the band [-0.02, 0.02]" in failed.note
    assert evaluate_claim(control, frame({"a": lambda n, s: 0.9, "b": lambda n, s: 0.8}, seeds=(0,)))[0].verdict \
        == CONTROL_FAILED  # no interval: nothing shows the machinery works
    # a control rests on no gate: its outcome is known whatever the models learned
    assert evaluate_claim(control, inside.assign(matched=1), (GATE,))[0].verdict == "supported"
    # a first look (10 seeds planned, the noisy 3 stored): no decision yet, not a failed control; at its last
    # look the same seeds fail it
    early = evaluate_claim(control, noisy, planned=10)[0]
    assert early.pending and early.verdict == "inconclusive" and "no decision yet" in early.note
    assert claim_verdict([early]) == "inconclusive"
    assert overall_verdict(["supported", "inconclusive"], control=True) == "inconclusive"
    assert overall_verdict(["inconclusive", CONTROL_FAILED], control=True) == CONTROL_FAILED


def test_tost_and_the_one_sided_tests_decide_as_the_interval_does_on_random_inputs():
    rng = np.random.default_rng(7)
    for _ in range(600):
        seeds = int(rng.integers(2, 12))
        values = rng.normal(rng.normal(0, 0.03), rng.uniform(0.001, 0.05), seeds)
        margin = float(rng.uniform(0.005, 0.05))
        _, low, high = mean_ci(values)
        for test in ("better", "not_better", "negligible"):
            assert verdict_of(*decision_p_values(test, values, margin)) == decide(test, low, high, margin), \
                (test, values, margin)
        # TOST rejects at 0.025 exactly where the 95% interval lies within the band
        assert (tost(values, margin) <= 0.025) == (-margin <= low and high <= margin)


def test_negligible_claims_name_tost_and_show_its_p_value():
    claim = Claim(text="t", a={"arch": "a"}, b={"arch": "b"}, test="negligible", margin=0.02)
    (result,) = evaluate_claim(claim, frame({"a": lambda n, s: 0.8 + 0.001 * s, "b": lambda n, s: 0.8}))
    assert result.verdict == "supported" and "two one-sided t-tests (TOST)" in result.method
    assert result.note.startswith("TOST p = ") and result.p_value <= 0.025
    assert "two one-sided t-tests (TOST)" in claim.rule()


def test_holm_on_a_hand_worked_example():
    # p sorted: 0.005 (x4), 0.01 (x3), 0.03 (x2), 0.04 (x1): 0.02, 0.03, 0.06, then max(0.06, 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5]) == pytest.approx([0.5]) and len(holm([])) == 0
    assert holm([0.3, 0.4, 0.5]) == pytest.approx([0.9, 0.9, 0.9])  # capped by the running maximum, at most 1
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])


def test_holm_verdicts_adjust_the_evidential_decisions_alone():
    """Three evidential tests at p = 0.01, 0.02 and 0.5 (worked by hand: adjusted 3 x 0.01 = 0.03, 2 x 0.02 =
    0.04, 0.5; none at most 0.025, so both supported verdicts read inconclusive); a control and an undecidable
    verdict keep theirs and do not count in the family."""
    def result(verdict, p, control=False):
        return ClaimResult(dataclasses.replace(CLAIM, control=control), "d", verdict, 0.1, 0.0, 0.2, 3, (100,),
                           p_value=p)
    results = [result("supported", 0.01), result("supported", 0.02), result("inconclusive", 0.5),
               result("supported", 0.0001, control=True), result("undecidable", 0.0001)]
    adjusted = holm_verdicts(results)
    assert [v for v, _ in adjusted] == ["inconclusive", "inconclusive", "inconclusive", "supported", "undecidable"]
    assert [p for _, p in adjusted][:3] == pytest.approx([0.03, 0.04, 0.5]) and adjusted[3][1] is None
    # with the two supported ones alone, the first survives: 2 x 0.01 = 0.02
    assert holm_verdicts(results[:2])[0] == ("supported", pytest.approx(0.02))


def test_a_claim_about_b_failing_rests_on_a_s_gate_alone():
    """gated="a": the comparator's failing is the claim's subject (chrono against default initialisation),
    so b below its gate leaves the verdict decided; a below its gate still makes it undecidable."""
    f = frame({"a": lambda n, s: 0.9 + 0.01 * s, "b": lambda n, s: 0.2 + 0.01 * s})
    f["matched"] = 1
    gates = (Gate(model={"arch": "a"}, metric="test/accuracy", level=0.5, source="test"),
             Gate(model={"arch": "b"}, metric="test/accuracy", level=0.5, source="test"))
    both = Claim(text="a beats a failing b", a={"arch": "a"}, b={"arch": "b"})
    [r] = evaluate_claim(both, f, gates=gates)
    assert r.verdict == "undecidable" and "b not competent" in r.note
    [r] = evaluate_claim(dataclasses.replace(both, gated="a"), f, gates=gates)
    assert r.verdict == "supported" and [c.gate.model for c in r.gates] == [{"arch": "a"}]
    weak_a = frame({"a": lambda n, s: 0.4 + 0.01 * s, "b": lambda n, s: 0.2 + 0.01 * s}).assign(matched=1)
    [r] = evaluate_claim(dataclasses.replace(both, gated="a"), weak_a, gates=gates)
    assert r.verdict == "undecidable"
    assert "b's gate does not count" in dataclasses.replace(both, gated="a").rule()
    with pytest.raises(ValueError, match="gated must be"):
        Claim(text="x", a={"arch": "a"}, b={"arch": "b"}, gated="b")


def test_each_limit_of_the_data_is_named_in_the_coverage_line():
    """`coverage` names why a dataset cannot decide from the words of `suite.decidable.undecidable`'s notes:
    each of its reasons, as it writes them today, is recognised (a rewording would otherwise fall back to
    "its data" unnoticed)."""
    from suite.aggregation import LIMITS, _why_not
    from suite.decidable import undecidable

    better = Claim(text="", a={"arch": "a"}, b={"arch": "b"}, test="better")
    notes = [
        undecidable(better, np.array([0.1, 0.1, 0.1]), 0.1, 0.1, None),
        undecidable(dataclasses.replace(better, margin=0.001), np.array([0.0, 0.01, 0.02]), -0.1, 0.1, 100),
        undecidable(better, np.array([0.0, 0.001, 0.002]), -0.1, 0.1, None, room=0.001),
        undecidable(dataclasses.replace(better, test="negligible", margin=0.01), np.array([0.0, 0.001, 0.002]),
                    -0.1, 0.1, None, room=0.001),
        undecidable(dataclasses.replace(better, test="not_better", margin=0.01), np.array([0.0, 0.001, 0.002]),
                    -0.1, 0.1, None, room=0.001),
    ]
    device = evaluate_claim(dataclasses.replace(better, device="GPU"),
                            frame({"a": lambda n, s: 0.9, "b": lambda n, s: 0.8 + 0.01 * s}).assign(device="CPU"))
    notes.append(device[0].note)
    result = evaluate_claim(better, frame({"a": lambda n, s: 0.9 + 0.01 * s, "b": lambda n, s: 0.8}))[0]
    why = [_why_not(dataclasses.replace(result, note=note, data_limited=True)) for note in notes]
    assert all(notes) and "its data" not in why, list(zip(notes, why))
    assert set(why) == {w for _, w in LIMITS}  # every entry of the table is reached


def test_a_claim_on_the_models_as_initialised_rests_on_no_gate():
    """gated="none": a claim on an init/ metric compares the models before any training, so a model that
    later fails to learn leaves it decided (the memory mechanism at Keras's default initialisation on copy,
    where the default LSTM never learns the task); only init/ metrics may say so."""
    weights = frame({"a": lambda n, s: 2.0 + 0.1 * s, "b": lambda n, s: 1.0 + 0.1 * s}).assign(
        matched=1, metric="init/gradient_reach")
    learned = frame({"a": lambda n, s: 0.1, "b": lambda n, s: 0.9 + 0.01 * s}).assign(matched=1)
    runs = pd.concat([weights, learned])
    gates = (Gate(model={"arch": "a"}, metric="test/accuracy", level=0.5, source="test"),)
    at_init = Claim(text="a's gradient reaches further at initialisation", a={"arch": "a"}, b={"arch": "b"},
                    metric="init/gradient_reach")
    [r] = evaluate_claim(at_init, runs, gates=gates)
    assert r.verdict == "undecidable" and "a not competent" in r.note  # gated as trained models are by default
    [r] = evaluate_claim(dataclasses.replace(at_init, gated="none"), runs, gates=gates)
    assert r.verdict == "supported" and r.gates == () and r.qualifier == ""
    assert "no gate counts" in dataclasses.replace(at_init, gated="none").rule()
    with pytest.raises(ValueError, match="init/ metrics only"):
        Claim(text="x", a={"arch": "a"}, b={"arch": "b"}, metric="test/accuracy", gated="none")
    with pytest.raises(ValueError, match="init/ metrics only"):  # a change from init to trained reads training
        Claim(text="x", a={"arch": "a"}, b={}, metric="init/x", change={"metric": ("init/x", "trained/x")},
              gated="none")

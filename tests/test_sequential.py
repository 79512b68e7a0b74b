"""The sequential verdicts' procedure (`suite.sequential`), checked by simulation on normal per-seed differences.

Each simulation draws many studies at once (one row each) and runs the
procedure's decision rule (`first_rejection` on the looks' t-test p-values at
`nominal_levels`) on all of them together; `sequential_test`, which the
verdicts call, is checked to decide as that rule does.
"""

import numpy as np
import pytest
from scipy import optimize, stats

from suite.sequential import (LOOKS, REPEATABLE, first_rejection, looks_for, nominal_levels, reached_looks,
                              repeat_codes, repeat_share, repeated_interval, sequential_test)
from suite.statistics import ONE_SIDED, decide, decision_p_values

PLANNED = 10  # the seeds a study plans in the quick and full profiles


def look_p_values(values, looks, popmean=0.0, alternative="greater"):
    """(looks, studies) one-sided t-test p-values over the first n_k values of each row."""
    return np.array([stats.ttest_1samp(values[:, :n], popmean, axis=1, alternative=alternative).pvalue
                     for n in looks])


def simulate(values, looks):
    """(verdict, look) of the "better" test on every row: 1 supported, -1 contradicted, 0 inconclusive."""
    p_for = look_p_values(values, looks)
    return first_rejection(p_for, 1 - p_for, nominal_levels(looks))


def effect_for_power(n: int, power: float) -> float:
    """The standardised per-seed effect at which the fixed design's one-sided t-test at ONE_SIDED over n
    seeds has `power` (noncentral t)."""
    critical = stats.t.isf(ONE_SIDED, n - 1)
    return optimize.brentq(lambda d: stats.nct.sf(critical, n - 1, d * np.sqrt(n)) - power, 0.01, 10)


def test_the_schedule_spends_the_whole_level_over_its_looks():
    assert looks_for(10) == (3, 5, 10) and looks_for(20) == (3, 5, 10, 20) and looks_for(2) == (2,)
    for planned in (2, 3, 7, 10, 20, 50):
        looks = looks_for(planned)
        levels = nominal_levels(looks)
        assert looks[-1] == planned and set(looks[:-1]) <= set(LOOKS)
        assert np.isclose(sum(levels), ONE_SIDED) and all(0 < level < ONE_SIDED for level in levels[:-1])
    assert nominal_levels((3,)) == pytest.approx((ONE_SIDED,))  # one look: the fixed design
    # a short last look (a failed seed) spends the rest; the looks before keep their levels
    assert nominal_levels((3, 5, 9), 10)[:2] == nominal_levels((3, 5, 10))[:2]
    assert reached_looks((3, 5, 10), 9) == (3, 5, 9) and reached_looks((3, 5, 10), 7) == (3, 5, 7)
    assert reached_looks((3, 5, 10), 4) == (3,) and reached_looks((3, 5, 10), 12) == (3, 5, 10)


@pytest.mark.parametrize("planned", [PLANNED, 20])
def test_under_no_effect_a_better_claim_is_supported_at_most_at_its_level(planned):
    # 250,000 studies (100,000 at 20 seeds): the Monte-Carlo standard error of a rate of 0.025 is 0.0003
    # (0.0005); the tolerance is 3 standard errors
    studies = 250_000 if planned == PLANNED else 100_000
    tolerance = 3 * np.sqrt(ONE_SIDED * (1 - ONE_SIDED) / studies)
    values = np.random.default_rng(planned).standard_normal((studies, planned))
    verdict, _ = simulate(values, looks_for(planned))
    assert np.mean(verdict == 1) <= ONE_SIDED + tolerance
    assert np.mean(verdict == -1) <= ONE_SIDED + tolerance  # and contradicted at most at its own


def test_at_the_margin_not_better_and_negligible_hold_their_level():
    # a true difference exactly at the margin: "not better than the margin" and "within the band" are
    # false, so supported is an error; 100,000 studies, tolerance 3 standard errors
    studies, margin = 100_000, 0.5
    tolerance = 3 * np.sqrt(ONE_SIDED * (1 - ONE_SIDED) / studies)
    looks = looks_for(PLANNED)
    values = np.random.default_rng(5).standard_normal((studies, PLANNED)) + margin
    below = look_p_values(values, looks, margin, "less")
    verdict, _ = first_rejection(below, 1 - below, nominal_levels(looks))
    assert np.mean(verdict == 1) <= ONE_SIDED + tolerance
    # TOST: the larger of the two one-sided p-values
    within = np.maximum(below, look_p_values(values, looks, -margin, "greater"))
    verdict, _ = first_rejection(within, np.ones_like(within), nominal_levels(looks))
    assert np.mean(verdict == 1) <= ONE_SIDED + tolerance


def test_power_at_the_last_look_is_within_five_points_of_the_fixed_design():
    looks = looks_for(PLANNED)
    effect = effect_for_power(PLANNED, 0.8)
    values = np.random.default_rng(2).standard_normal((40_000, PLANNED)) + effect
    verdict, look = simulate(values, looks)
    fixed = np.mean(look_p_values(values, looks[-1:])[0] <= ONE_SIDED)
    assert fixed == pytest.approx(0.8, abs=0.015)  # the effect is the one intended
    sequential = np.mean(verdict == 1)
    assert sequential >= fixed - 0.05
    assert np.mean(look[verdict == 1] < len(looks) - 1) > 0.05  # and some decide before the last look


def test_a_decisive_effect_stops_at_the_first_look():
    # a per-seed effect of 60 standard deviations: translation's equivariance gain over the MLP is about that
    values = np.random.default_rng(3).standard_normal((10_000, PLANNED)) + 60
    verdict, look = simulate(values, looks_for(PLANNED))
    assert np.all(verdict == 1) and np.mean(look == 0) > 0.999
    verdict, look = simulate(-values, looks_for(PLANNED))
    assert np.all(verdict == -1) and np.mean(look == 0) > 0.999


@pytest.mark.parametrize("test,margin", [("better", 0.0), ("not_better", 0.3), ("negligible", 0.3)])
def test_sequential_test_decides_as_the_rule_and_ignores_seeds_beyond_its_look(test, margin):
    rng = np.random.default_rng(4)
    looks = looks_for(PLANNED)
    for effect in (-2.0, -0.3, 0.0, 0.1, 0.3, 2.0, 20.0):
        values = rng.normal(effect, 0.5, PLANNED)
        decision = sequential_test(test, values, margin, PLANNED)
        p = [decision_p_values(test, values[:n], margin) for n in looks]
        verdict, look = first_rejection([q[0] for q in p], [q[1] for q in p], nominal_levels(looks))
        assert decision.verdict == {1: "supported", -1: "contradicted", 0: "inconclusive"}[int(verdict)]
        assert decision.n_seeds == looks[int(look)] and not decision.pending
        # the repeated interval decides as the look's tests do
        _, low, high = repeated_interval(values, decision)
        assert decide(test, low, high, margin) == decision.verdict
        # what the database holds beyond the deciding look never changes the verdict
        if decision.verdict != "inconclusive":
            for extra in (values[: decision.n_seeds], np.r_[values, rng.normal(-effect, 5, 10)]):
                again = sequential_test(test, extra, margin, PLANNED)
                assert (again.verdict, again.n_seeds, again.p_value) == (decision.verdict, decision.n_seeds,
                                                                          decision.p_value)


def test_an_undecided_verdict_stays_open_until_the_last_look():
    values = np.random.default_rng(6).normal(0.0, 1.0, PLANNED)
    assert sequential_test("better", values[:2], 0.0, PLANNED).pending  # no look reached
    assert sequential_test("better", values[:5], 0.0, PLANNED).pending
    final = sequential_test("better", values, 0.0, PLANNED)
    assert final.verdict == "inconclusive" and not final.pending and final.n_seeds == PLANNED
    # no planned count: every seed there is the last look
    assert sequential_test("better", values[:7], 0.0).looks == (3, 5, 7)


def test_a_look_whose_seeds_all_agree_waits_for_more_seeds():
    """8, 8, 8 modes at 3 seeds has no spread for a t statistic: the verdict waits for the next look,
    where a 5 among the seeds is read; seeds that agree up to the last look decide there."""
    modes = np.array([8.0, 8, 8, 5, 8, 8, 8, 8, 8, 8])
    early = sequential_test("better", modes[:3] - 7.5, 0.0, PLANNED)
    assert early.verdict == "inconclusive" and early.pending
    read = sequential_test("better", modes - 7.5, 0.0, PLANNED)
    assert read.n_seeds == PLANNED and read.verdict == "inconclusive"  # mean 7.7: not beyond 7.5
    perfect = sequential_test("better", np.ones(PLANNED), 0.0, PLANNED)
    assert perfect.verdict == "supported" and perfect.n_seeds == PLANNED
    spread = sequential_test("better", np.array([1.0, 1.01, 0.99]), 0.0, PLANNED)  # some spread: decided early
    assert spread.verdict == "supported" and spread.n_seeds == 3


def test_the_p_value_is_at_most_the_level_exactly_where_a_look_rejects():
    rng = np.random.default_rng(8)
    for effect in np.linspace(0, 3, 25):
        decision = sequential_test("better", rng.normal(effect, 1.0, PLANNED), 0.0, PLANNED)
        assert (decision.p_value <= ONE_SIDED) == (decision.verdict != "inconclusive")


def _runs(gain_by_seed, seeds, dataset="d"):
    """Tidy rows: arch a at 0.5 + gain(seed), b at 0.5, at two sizes, with a's skill for a gate."""
    import pandas as pd

    rows = []
    for seed in seeds:
        for n in (100, 400):
            for arch, value in (("a", 0.5 + gain_by_seed(seed)), ("b", 0.5)):
                base = {"dataset": dataset, "arch": arch, "variant": "natural", "matched": 1, "n_train": n,
                        "seed": seed, "run_key": f"{arch}-{n}-{seed}"}
                rows += [{**base, "metric": "test/accuracy", "value": value},
                         {**base, "metric": "test/skill", "value": 0.9 if seed < 5 else 0.1}]
    return pd.DataFrame(rows)


def test_a_verdict_is_the_same_whatever_seeds_beyond_its_deciding_look_the_database_holds():
    from suite.adequacy import Gate
    from suite.claims import Claim, evaluate_claim

    claim = Claim(text="a beats b", a={"arch": "a"}, b={"arch": "b"})
    gate = Gate(model={"arch": "a"}, metric="test/skill", level=0.5, source="a test's level")
    decisive = lambda seed: 0.2 + 0.001 * (seed % 3) if seed < 5 else -0.3  # noqa: E731: later seeds lose
    fields = ("verdict", "estimate", "low", "high", "n_seeds", "p_value", "level", "gates", "note", "looks")
    first = evaluate_claim(claim, _runs(decisive, range(3)), (gate,), planned=PLANNED)[0]
    assert first.verdict == "supported" and first.n_seeds == 3 and first.looks == (3, 5, 10)
    assert first.method.startswith("group-sequential") and not first.pending
    for held in (range(5), range(10), range(20)):  # the later seeds' runs also fail the gate
        again = evaluate_claim(claim, _runs(decisive, held), (gate,), planned=PLANNED)[0]
        assert [getattr(again, f) for f in fields] == [getattr(first, f) for f in fields]
    # the interval is the first look's repeated one: wider than the plain 95% interval of the same seeds
    from suite.statistics import mean_ci

    plain = mean_ci([0.2, 0.201, 0.202])
    assert first.low < plain[1] and first.high > plain[2]


def test_an_undecided_verdict_is_pending_until_its_last_look_and_a_spread_waits_for_every_seed():
    from suite.claims import Claim, evaluate_claim

    noisy = lambda seed: (-1) ** seed * 0.05 + 0.001 * seed  # noqa: E731
    claim = Claim(text="a beats b", a={"arch": "a"}, b={"arch": "b"})
    early = evaluate_claim(claim, _runs(noisy, range(5)), planned=PLANNED)[0]
    assert early.pending and early.n_seeds == 5 and "no decision yet at 5 of 10" in early.note
    last = evaluate_claim(claim, _runs(noisy, range(10)), planned=PLANNED)[0]
    assert last.verdict == "inconclusive" and not last.pending and last.n_seeds == 10
    assert last.p_value > ONE_SIDED and last.level == pytest.approx(nominal_levels((3, 5, 10))[-1])
    spread = Claim(text="a varies more", a={"arch": "a"}, b={"arch": "b"}, statistic="spread")
    for held, pending in ((range(5), True), (range(10), False), (range(12), False)):
        result = evaluate_claim(spread, _runs(noisy, held), planned=PLANNED)[0]
        assert result.pending == pending and result.looks == (PLANNED,) and result.n_seeds == min(len(held), PLANNED)


def test_a_decisive_verdict_repeats_and_one_at_the_edge_of_its_test_is_a_coin():
    """The chance that a second set of seeds repeats a verdict (`repeat_codes`): near 1 far from the test's
    edge, near one half on it (Shao and Chow 2002), so such a verdict is flagged (below REPEATABLE)."""
    rng = np.random.default_rng(3)
    far = rng.normal(3.0, 1.0, PLANNED)
    decision = sequential_test("better", far, 0.0, PLANNED)
    assert decision.verdict == "supported"
    assert repeat_share(repeat_codes("better", far, 0.0, PLANNED, n=decision.n_seeds), "supported") >= 0.95
    # values whose t statistic at the last look sits exactly on that look's critical value
    z = rng.normal(size=PLANNED)
    z = (z - z.mean()) / z.std(ddof=1)
    critical = stats.t.isf(nominal_levels(looks_for(PLANNED))[-1], PLANNED - 1)
    edge = z + critical / np.sqrt(PLANNED)
    codes = np.asarray(repeat_codes("better", edge, 0.0, PLANNED))
    supported = repeat_share(codes, "supported")
    assert 0.3 <= supported <= 0.7 and supported < REPEATABLE
    assert supported + np.mean(codes == 0) == pytest.approx(1.0)  # never contradicted there
    # an inconclusive verdict claims nothing: no chance of repeating is given for it
    assert repeat_share(codes, "inconclusive") is None


def test_repeat_codes_read_the_seeds_a_verdict_rests_on_alone_and_are_the_same_on_every_call():
    """Seeds beyond the deciding look change nothing (as they change nothing in the verdict), and a fixed
    generator gives the same draws on every call and machine; no test, no draws."""
    rng = np.random.default_rng(4)
    values = rng.normal(0.5, 1.0, PLANNED)
    other = values.copy()
    other[5:] = 100.0
    assert repeat_codes("better", values, 0.0, PLANNED, n=5) == repeat_codes("better", other, 0.0, PLANNED, n=5)
    assert repeat_codes("negligible", values, 0.3, PLANNED) == repeat_codes("negligible", values, 0.3, PLANNED)
    assert repeat_codes("better", values[:1], 0.0, PLANNED) == ()
    assert repeat_share((), "supported") is None and repeat_share((1, 0), "undecidable") is None


def test_the_decisions_it_flags_repeat_less_often_than_those_it_does_not():
    """Over studies whose true effects spread from none to clear (normal seeds, 10 planned), an independent
    second study agrees with the decisions flagged (estimate below REPEATABLE) less often than with the
    others. (It cannot know a lucky draw: on a weak effect it is far too hopeful, bench/repeat.py.)"""
    rng = np.random.default_rng(5)
    estimates, agree = [], []
    for effect in np.linspace(0.0, 2.0, 300):
        first, second = (rng.normal(effect, 1.0, PLANNED) for _ in range(2))
        a, b = (sequential_test("better", v, 0.0, PLANNED) for v in (first, second))
        share = repeat_share(repeat_codes("better", first, 0.0, PLANNED, n=a.n_seeds, draws=300), a.verdict)
        if share is not None:  # a decision
            estimates.append(share), agree.append(a.verdict == b.verdict)
    estimates, agree = np.array(estimates), np.array(agree)
    assert (estimates < REPEATABLE).sum() >= 20 and (estimates >= REPEATABLE).sum() >= 20
    assert agree[estimates >= REPEATABLE].mean() > agree[estimates < REPEATABLE].mean() + 0.2


@pytest.mark.parametrize("test, margin, shift", [("better", 0.0, 0.4), ("not_better", 0.3, 0.0),
                                                 ("negligible", 0.5, 0.1)])
def test_on_the_seeds_themselves_the_redraw_decides_as_the_verdict_did(monkeypatch, test, margin, shift):
    """`repeat_codes` runs the procedure of `sequential_test`, looks, levels and the early looks' rule
    included: with its redraw replaced by the seeds themselves, every draw gives the verdict found."""
    import suite.sequential as sequential

    monkeypatch.setattr(sequential, "redraw", lambda n, size, draws, rng, stages: np.tile(np.arange(size), (draws, 1)))
    rng = np.random.default_rng(6)
    for _ in range(40):
        values = rng.normal(shift, 1.0, PLANNED)
        values[:3] = np.round(values[:3], 0) if rng.random() < 0.2 else values[:3]  # some flat early looks
        found = sequential_test(test, values, margin, PLANNED)
        codes = repeat_codes(test, values, margin, PLANNED, draws=4)
        assert set(codes) == {sequential.CODES[found.verdict]}, (values, found)

import json
import pytest

from suite import UsageError
from suite.claims import Claim
from suite.studies import PROFILES, REGISTRY, StudyRegistry, Study, Task, load_builtin_studies


def make_study(name="s"):
    every = {p: () for p in PROFILES}
    return Study(name=name, question="q", claim="c", expected="e",
                 sizes={p: (10,) for p in PROFILES}, seeds={p: 1 for p in PROFILES}, datasets=every)


def test_duplicate_study_rejected():
    reg = StudyRegistry()
    reg.add_study(make_study("a"))
    with pytest.raises(UsageError, match="study .a. is already registered"):
        reg.add_study(make_study("a"))


def test_duplicate_task_rejected():
    reg = StudyRegistry()
    reg.add_study(make_study("a"))
    reg.add_task(Task(name="a/t", study="a", dataset="digits", arch="mlp"))
    with pytest.raises(UsageError, match="task .a/t. is already registered"):
        reg.add_task(Task(name="a/t", study="a", dataset="digits", arch="cnn"))


def test_unknown_study_lists_valid_names_sorted():
    reg = StudyRegistry()
    for name in ("zeta", "alpha", "mid"):
        reg.add_study(make_study(name))
    with pytest.raises(UsageError) as err:
        reg.study("nope")
    assert str(err.value) == "unknown study 'nope'; valid studies: alpha, mid, zeta"


def test_task_needs_a_registered_study():
    reg = StudyRegistry()
    reg.add_study(make_study("b"))
    reg.add_study(make_study("a"))
    with pytest.raises(UsageError, match="unknown study 'x'; valid studies: a, b"):
        reg.add_task(Task(name="x/t", study="x", dataset="digits", arch="mlp"))


def test_study_must_cover_every_profile():
    with pytest.raises(ValueError, match="lacks profiles"):
        Study(name="s", question="q", claim="c", expected="e", sizes={"quick": (1,)},
              seeds={p: 1 for p in PROFILES}, datasets={p: () for p in PROFILES})


def test_grid_registers_every_pair_with_its_match_flag():
    reg = StudyRegistry()
    reg.add_study(make_study("g"))
    tasks = reg.add_grid("g", datasets=("digits",), variants={"natural": True, "permuted": False},
                         archs=("mlp", "cnn"), bias="b")
    assert sorted(t.name for t in tasks) == sorted(
        ["g/digits/natural/mlp", "g/digits/natural/cnn", "g/digits/permuted/mlp", "g/digits/permuted/cnn"])
    assert {t.variant: t.matched for t in tasks} == {"natural": True, "permuted": False}


def test_builtin_locality_study_is_registered_with_claims():
    load_builtin_studies()
    load_builtin_studies()  # importing twice must not register twice
    study = REGISTRY.study("locality")
    assert len(study.claims) >= 3
    archs = {t.arch for t in REGISTRY.tasks("locality")}
    assert {"mlp", "cnn", "vit"} <= archs  # the networks the claims compare
    assert set(study.archs["quick"]) <= archs  # a profile's selection names registered tasks' archs
    for claim in study.claims:  # claims survive the trip through the database
        assert Claim.from_json(claim.to_json()) == claim


def test_every_claim_is_judged_on_at_least_ten_seeds_outside_smoke():
    """t-intervals are valid at any seed count, but at 3 seeds they are too wide to decide anything and a
    bootstrap is not valid below 10: every built-in study with claims runs 10+ seeds in quick and full."""
    load_builtin_studies()
    few = {(s.name, p): s.seeds[p] for s in REGISTRY.studies() if s.claims for p in ("quick", "full")
           if s.seeds[p] < 10}
    assert not few


def test_every_borrow_names_runs_its_lender_trains():
    """A study that reads another's runs (`Study.borrows`) names a registered study, one of its settings,
    and datasets and architectures it has tasks for in that setting; planning it alone plans those runs,
    under the lender's keys, once."""
    from suite.training import plan_runs

    load_builtin_studies()
    borrowers = [s for s in REGISTRY.studies() if s.borrows]
    assert borrowers
    for study in borrowers:
        for borrow in study.borrows:
            lent = {(t.dataset, t.arch) for t in REGISTRY.tasks(borrow.study) if t.setting == borrow.setting}
            assert {(d, a) for d in borrow.datasets for a in borrow.archs} <= lent, (study.name, borrow)
            own = {(t.dataset, t.arch) for t in REGISTRY.tasks(study.name) if t.setting == borrow.as_setting}
            assert not own & lent, "the borrower trains the same pairs again under its own keys"
        alone = plan_runs(REGISTRY, [study], "smoke", "jax")
        lenders = [REGISTRY.study(b.study) for b in study.borrows]
        together = plan_runs(REGISTRY, [study, *lenders], "smoke", "jax")
        borrowed = {r.key for r in alone.runs if r.task.study != study.name}
        assert borrowed and borrowed <= {r.key for r in together.runs}
        assert len({r.key for r in together.runs}) == len(together.runs)  # planned twice, run once
        assert {s.name for s in alone.studies} == {study.name} | {b.study for b in study.borrows}


def test_the_budget_line_names_where_a_study_s_tasks_train_on_another_budget():
    """The report's "Budget" line: the study's budget, then each group of tasks whose budget differs
    (found by the attribute that separates them), borrowed runs under the borrower's setting."""
    from suite.training import plan_runs, study_budget

    load_builtin_studies()
    memory, gating = REGISTRY.study("memory"), REGISTRY.study("gating")
    plan = plan_runs(REGISTRY, [memory, gating], "quick", "jax")
    import dataclasses

    from suite.training import budget_for

    def differs(study, task):  # what a task's budget changes in its study's
        base = dataclasses.asdict(budget_for(study, "quick"))
        return {k: v for k, v in dataclasses.asdict(budget_for(study, "quick", task)).items() if v != base[k]}

    by_task = {o["where"]: o["budget"] for o in study_budget(memory, "quick", plan.runs)["by_task"]}
    # settings on the same budget are named together
    groups: dict = {}
    for s in sorted({t.setting for t in REGISTRY.tasks("memory")}):
        budget = differs(memory, next(t for t in REGISTRY.tasks("memory") if t.setting == s))
        groups.setdefault(json.dumps(budget, sort_keys=True), []).append(s)
    expected = {f"setting = {', '.join(names)}": json.loads(budget) for budget, names in groups.items()}
    assert by_task == {k: v for k, v in expected.items() if v} and by_task
    # gating reads some of memory's runs under its own setting label (in full: quick's gating data are the
    # MNIST rows alone): their budget is named by what separates them
    full = plan_runs(REGISTRY, [memory, gating], "full", "jax")
    gated = study_budget(gating, "full", full.runs)
    assert gated["max_steps"] == budget_for(gating, "full").max_steps
    lent = {t.dataset for b in gating.borrows for t in REGISTRY.tasks(b.study)
            if b.lends(t) and t.dataset in gating.datasets["full"]}
    assert lent and [o["where"] for o in gated["by_task"]] == [f"dataset = {', '.join(sorted(lent))}"]


def test_a_not_better_claim_with_margin_0_is_refused_at_registration():
    """"Not better by more than 0" can never support a difference of exactly 0: one line naming the claim and
    the valid choices."""
    import dataclasses

    reg = StudyRegistry()
    claim = Claim(text="the CNN gains nothing", a={"arch": "cnn"}, b={"arch": "mlp"}, test="not_better")
    with pytest.raises(UsageError, match="the claim 'the CNN gains nothing' is not_better with margin 0.*valid "
                                         "choices: test='negligible' .* or test='better'") as err:
        reg.add_study(dataclasses.replace(make_study(), claims=(claim,)))
    assert "\n" not in str(err.value)
    reg.add_study(dataclasses.replace(make_study(), claims=(dataclasses.replace(claim, margin=0.01),)))


def test_every_gate_of_a_registered_study_names_models_it_runs_and_its_source():
    """A gate on a model the study does not train (or a baseline it does not run) would never apply: every
    built-in gate's model and baseline select tasks of its study (or runs it borrows), and it states a source."""
    from suite.adequacy import Gate

    load_builtin_studies()
    for study in REGISTRY.studies():
        tasks = [{"arch": t.arch, "setting": t.setting, "variant": t.variant, "dataset": t.dataset}
                 for t in REGISTRY.tasks(study.name)]
        tasks += [{"arch": a, "setting": b.as_setting, "variant": "natural", "dataset": d}
                  for b in study.borrows for a in b.archs for d in b.datasets]
        for gate in study.gates:
            assert Gate.from_json(gate.to_json()) == gate and gate.source
            for condition in filter(None, (gate.model, gate.relative_to)):
                assert any(all(task.get(k) in (v if isinstance(v, tuple) else (v,)) for k, v in condition.items())
                           for task in tasks), (study.name, condition)

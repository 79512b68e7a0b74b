"""The sequence studies, end to end on the smoke profile."""

import json


from suite.claims import Claim
from suite.data import DATASETS
from suite.studies import REGISTRY, load_builtin_studies

SEQUENCE_STUDIES = ("memory", "order", "length", "gating", "bottleneck")


def test_studies_are_registered_with_claims_over_known_data():
    load_builtin_studies()
    for name in SEQUENCE_STUDIES:
        study = REGISTRY.study(name)
        assert study.claims, name
        tasks = REGISTRY.tasks(name)
        assert tasks and all(t.dataset in DATASETS for t in tasks)
        for profile, datasets in study.datasets.items():
            assert set(datasets) <= {t.dataset for t in tasks}, (name, profile)
        for claim in study.claims:
            assert Claim.from_json(claim.to_json()) == claim
            assert claim.datasets is None or set(claim.datasets) <= set(DATASETS)
    # the memory study probes gradients; the bottleneck study only times steps
    assert all(t.probes == ("input_gradients",) for t in REGISTRY.tasks("memory"))
    assert {t.objective for t in REGISTRY.tasks("bottleneck")} == {"step_time"}
    assert {t.setting for t in REGISTRY.tasks("gating")} == {"equal width", "equal params"}
    # the length study scores every run beyond its training lengths too
    from suite.data import load_dataset

    for dataset in REGISTRY.study("length").datasets["quick"]:
        assert set(load_dataset(dataset).extra_tests) == {"len2x", "len4x"}
    assert {t.hparams.get("positions") for t in REGISTRY.tasks("length") if t.arch == "transformer"} == {
        "learned", "sinusoidal"}


def test_sequence_studies_write_their_sections_figures_and_verdicts(smoke_run):
    html, query = smoke_run.html, smoke_run.query
    for name in SEQUENCE_STUDIES:
        assert f'id="study-{name}"' in html
    for title in ("Error against dependency length", "Gradient norm against distance from the end",
                  "Training-step time against sequence length", "Learning curves: test/accuracy",
                  "Published reference points", "slope (log-log)", "Accuracy against string length"):
        assert title in html, title
    # every bottleneck run times its steps; every memory run is scored against the baseline and
    # probes its gradients along the sequence
    for study, metric in (("bottleneck", "train/step_ms"), ("memory", "test/skill")):
        runs, measured, low = query("SELECT COUNT(*), COUNT(m.value), MIN(m.value) FROM runs r LEFT JOIN metrics m "
                                    "ON m.run_key = r.run_key AND m.metric = ? WHERE r.study = ? AND r.status = 'ok'",
                                    (metric, study))[0]
        assert runs > 0 and measured == runs, (study, metric)
        assert study != "bottleneck" or low > 0
    # every length run is scored at the training lengths and beyond them
    for metric in ("test/accuracy", "test_len2x/accuracy", "test_len4x/accuracy"):
        runs, measured = query("SELECT COUNT(*), COUNT(m.value) FROM runs r LEFT JOIN metrics m ON m.run_key = "
                               "r.run_key AND m.metric = ? WHERE r.study = 'length' AND r.status = 'ok'", (metric,))[0]
        assert runs > 0 and measured == runs, metric
    memory_runs = query("SELECT COUNT(*) FROM runs WHERE study = 'memory' AND status = 'ok'")[0][0]
    with_series = query("SELECT COUNT(DISTINCT s.run_key) FROM series s JOIN runs r USING (run_key) "
                        "WHERE r.study = 'memory'")[0][0]
    assert with_series == memory_runs
    # the memory study's budget axis: its runs at budget x4 may take more steps than those at x1
    load_builtin_studies()
    budgets = dict(query("SELECT setting, MAX(steps) FROM runs WHERE study = 'memory' AND kind = 'eval' "
                         "GROUP BY setting"))
    memory = REGISTRY.study("memory")
    assert set(budgets) == {t.setting for t in REGISTRY.tasks("memory")
                            if t.dataset in memory.datasets["smoke"]}  # chrono: beyond 20 steps, not in smoke
    assert budgets["budget x4"] > budgets["budget x1"]
    # on the memory task, at equal parameters, gating reads memory's runs instead of training its own
    load_builtin_studies()
    gating = REGISTRY.study("gating")
    borrowed = {b.as_setting for b in gating.borrows}
    assert borrowed and not {s for (s,) in query("SELECT DISTINCT setting FROM runs WHERE study = 'gating'")} & borrowed
    from suite.report.frames import load_results, study_rows
    from suite.store.read import Reader

    with Reader(smoke_run.db) as store:
        data = load_results(store)
    rows = study_rows(data["runs"], data["studies"].query("name == 'gating'").iloc[0])
    for borrow in gating.borrows:
        lent = rows[rows["setting"] == borrow.as_setting]
        runs = data["runs"]
        lender = runs[(runs["study"] == borrow.study) & (runs["setting"] == borrow.setting)
                      & runs["arch"].isin(borrow.archs) & runs["dataset"].isin(borrow.datasets)
                      & runs["dataset"].isin(gating.datasets["smoke"])]
        assert len(lent) and set(lent["run_key"]) == set(lender["run_key"])
        assert f"{borrow.archs[0]}@{borrow.as_setting}" in html  # its claim and figure show them
    claims = json.loads(query("SELECT claims_json FROM studies WHERE name = 'bottleneck'")[0][0])
    assert any(c["statistic"] == "slope" for c in claims)


def test_conditions_still_improving_are_checked_at_a_longer_budget(smoke_run):
    """Every check run is an evaluation run of the smoke run again at a longer budget, on the first
    seed (smoke), and the report reads it: a verdict of a checked condition says what it moved."""
    from suite.training.checks import CHECK_FACTOR, CHECK_SEEDS

    query = smoke_run.query
    checks = query("SELECT c.task, c.n_train, c.seed, c.steps, c.config_json, e.config_json, e.steps FROM runs c "
                   "JOIN runs e ON e.task = c.task AND e.n_train = c.n_train AND e.seed = c.seed "
                   "AND e.kind = 'eval' WHERE c.kind = 'check' AND c.status = 'ok'")
    assert checks  # smoke-sized runs are still improving when their 24 steps end
    first = {s for (s,) in query("SELECT DISTINCT seed FROM runs WHERE kind = 'eval' ORDER BY seed "
                                 f"LIMIT {CHECK_SEEDS['smoke']}")}
    for task, n, seed, steps, config, eval_config, eval_steps in checks:
        check, run = json.loads(config)["budget"], json.loads(eval_config)["budget"]
        assert check == {**run, "max_steps": CHECK_FACTOR * run["max_steps"]}, task
        assert seed in first
    assert "checked at a longer budget" in smoke_run.html or "at a longer budget the difference moves" in smoke_run.html

"""The four sequence studies of issue 3, end to end on the smoke profile."""

import json
import sqlite3

import pytest

from suite.claims import Claim
from suite.data import DATASETS
from suite.studies import REGISTRY, load_builtin_studies
from conftest import read_report, unmeasured_claims

SEQUENCE_STUDIES = ("memory", "order", "gating", "bottleneck")


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


def test_old_databases_gain_the_new_columns(tmp_path):
    from suite.store import Store

    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE TABLE studies (name TEXT PRIMARY KEY, question TEXT, claim TEXT, expected TEXT,
                              claims_json TEXT, profile TEXT, budget_json TEXT, updated_at REAL);
        CREATE TABLE runs (run_key TEXT PRIMARY KEY, study TEXT, task TEXT, arch TEXT, dataset TEXT,
            variant TEXT, matched INTEGER, bias TEXT, profile TEXT, n_train INTEGER, seed INTEGER,
            status TEXT, error TEXT, epochs INTEGER, steps INTEGER, train_seconds REAL, params INTEGER,
            backend TEXT, device TEXT, versions_json TEXT, config_json TEXT, finished_at REAL);
        INSERT INTO runs (run_key, study, status) VALUES ('k', 'locality', 'ok');
    """)
    con.commit()
    con.close()
    with Store(path) as store:
        runs = store.read_frame("SELECT * FROM runs")
        view = store.read_frame("SELECT * FROM results")
        studies = store.read_frame("SELECT * FROM studies")
    assert "setting" in runs and runs.loc[0, "run_key"] == "k"  # kept, with the new column
    assert "setting" in view and {"figures_json", "references_json"} <= set(studies)


def test_sequence_studies_write_their_sections_figures_and_verdicts(cli, tmp_path):
    result = cli("--studies", ",".join(SEQUENCE_STUDIES), "--profile", "smoke", "--output", tmp_path,
                 "--no-progress")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not unmeasured_claims(tmp_path / "results.sqlite")
    html = read_report(tmp_path / "index.html")
    for name in SEQUENCE_STUDIES:
        assert f'id="study-{name}"' in html
    for title in ("Error against dependency length", "Gradient norm against distance from the end",
                  "Training-step time against sequence length", "Learning curves: test/accuracy",
                  "Published reference points", "slope (log-log)"):
        assert title in html, title
    assert html.count("<svg") >= 5
    con = sqlite3.connect(tmp_path / "results.sqlite")
    studies = {s for (s,) in con.execute("SELECT DISTINCT study FROM results WHERE status = 'ok'")}
    assert studies == set(SEQUENCE_STUDIES)
    step_ms = con.execute("SELECT COUNT(*), MIN(value) FROM results WHERE study = 'bottleneck' "
                          "AND metric = 'train/step_ms'").fetchone()
    assert step_ms[0] == 2 * 4 * 2 and step_ms[1] > 0  # lengths x archs x seeds
    skill = con.execute("SELECT COUNT(*) FROM results WHERE study = 'memory' AND metric = 'test/skill'").fetchone()
    assert skill[0] == 3 * 2 * 2  # archs x budgets x seeds (one dataset in smoke)
    budgets = dict(con.execute("SELECT setting, MAX(steps) FROM runs WHERE study = 'memory' GROUP BY setting"))
    assert budgets == {"budget x1": 40, "budget x4": 80}  # the memory study's budget axis
    n_series = con.execute("SELECT COUNT(DISTINCT run_key) FROM series").fetchone()[0]
    assert n_series == 3 * 2 * 2
    settings = {s for (s,) in con.execute("SELECT DISTINCT setting FROM results WHERE study = 'gating'")}
    assert settings == {"equal width"}  # on the memory task, at equal parameters, gating reads memory's runs
    from suite.report.frames import load_results, study_rows
    from suite.store import Store

    with Store(tmp_path / "results.sqlite") as store:
        data = load_results(store)
    gating = study_rows(data["runs"], data["studies"].query("name == 'gating'").iloc[0])
    lent = gating[gating["setting"] == "equal params"]
    memory = data["runs"][(data["runs"]["study"] == "memory") & (data["runs"]["setting"] == "budget x4")]
    assert len(lent) == 2 * 2 and set(lent["run_key"]) == set(memory.loc[memory["arch"] != "rnn", "run_key"])
    assert "gru@equal params" in html and html.count("equal params") > 2  # its claim and figure have them
    claims = json.loads(con.execute("SELECT claims_json FROM studies WHERE name = 'bottleneck'").fetchone()[0])
    assert any(c["statistic"] == "slope" for c in claims)

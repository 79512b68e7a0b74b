"""The four sequence studies of issue 3, end to end on the smoke profile."""

import json

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
    from suite.report.frames import load_results, study_rows
    from suite.store.read import Reader

    with Reader(tmp_path / "results.sqlite") as store:
        data, results = load_results(store), store.results()
    assert set(results.loc[results["status"] == "ok", "study"]) == set(SEQUENCE_STUDIES)
    step_ms = results.loc[(results["study"] == "bottleneck") & (results["metric"] == "train/step_ms"), "value"]
    assert len(step_ms) == 2 * 4 * 2 and step_ms.min() > 0  # lengths x archs x seeds
    skill = (results["study"] == "memory") & (results["metric"] == "test/skill")
    assert skill.sum() == 3 * 2 * 2  # archs x budgets x seeds (one dataset in smoke)
    runs = data["runs"]
    budgets = runs[runs["study"] == "memory"].groupby("setting")["steps"].max().to_dict()
    assert budgets == {"budget x1": 40, "budget x4": 80}  # the memory study's budget axis
    assert data["series"]["run_key"].nunique() == 3 * 2 * 2
    settings = set(results.loc[results["study"] == "gating", "setting"])
    assert settings == {"equal width"}  # on the memory task, at equal parameters, gating reads memory's runs
    gating = study_rows(data["runs"], data["studies"].query("name == 'gating'").iloc[0])
    lent = gating[gating["setting"] == "equal params"]
    memory = data["runs"][(data["runs"]["study"] == "memory") & (data["runs"]["setting"] == "budget x4")]
    assert len(lent) == 2 * 2 and set(lent["run_key"]) == set(memory.loc[memory["arch"] != "rnn", "run_key"])
    assert "gru@equal params" in html and html.count("equal params") > 2  # its claim and figure have them
    claims = json.loads(data["studies"].set_index("name").loc["bottleneck", "claims_json"])
    assert any(c["statistic"] == "slope" for c in claims)

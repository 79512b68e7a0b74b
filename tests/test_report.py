"""The report: built from the database alone, figures inline, text escaped."""

import json
import sqlite3

import numpy as np
import pandas as pd

from suite.claims import Claim
from suite.registry import PROFILES, Study, Task
from suite.report import write_report
from suite.store import Store

HOSTILE = "<script>alert(1)</script>"


def fill(store, tasks, study, profile="smoke", seeds=(0, 1, 2), sizes=(50, 100), score=None):
    """Synthetic finished runs, written through the same store API as the runner's."""
    store.record_study(study, profile, {"max_steps": 1})
    rng = np.random.default_rng(0)
    for task in tasks:
        for n in sizes:
            for seed in seeds:
                key = f"{task.name}-{n}-{seed}"
                row = {"run_key": key, "study": task.study, "task": task.name, "arch": task.arch,
                       "dataset": task.dataset, "variant": task.variant, "matched": int(task.matched),
                       "profile": profile, "n_train": n, "seed": seed, "status": "ok", "epochs": 3,
                       "steps": 30, "train_seconds": 0.5, "params": 1000, "backend": "tensorflow",
                       "device": "CPU (test)", "versions_json": json.dumps({"keras": "3"}),
                       "config_json": json.dumps({"metric": "test/accuracy"}), "finished_at": 0.0}
                value = score(task, n, seed) if score else rng.random()
                store.record_run(row, {"test/accuracy": value, "test/loss": 1 - value},
                                 {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})


def study(name, claims=()):
    return Study(name=name, question=f"Question of {name}?", claim=f"Claim of {name}.",
                 expected="expected", claims=claims,
                 sizes={p: (50,) for p in PROFILES}, seeds={p: 2 for p in PROFILES},
                 datasets={p: ("digits",) for p in PROFILES})


def test_results_view_is_tidy(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        s = study("s")
        fill(store, [Task(name="s/a", study="s", dataset="digits", arch="mlp")], s)
    con = sqlite3.connect(tmp_path / "r.sqlite")
    frame = pd.read_sql("select * from results", con)
    for column in ("study", "task", "arch", "dataset", "variant", "matched", "n_train", "seed",
                   "metric", "value", "status", "train_seconds", "params"):
        assert column in frame.columns
    assert len(frame) == 2 * 3 * 2  # sizes x seeds x metrics: one row per run and metric
    assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert con.execute("select count(*) from history").fetchone()[0] == 2 * 3 * 2 * 2


def test_report_renders_figures_verdicts_and_escapes_hostile_text(tmp_path):
    claim = Claim(text=f"cnn beats mlp {HOSTILE}", a={"arch": "cnn"}, b={"arch": "mlp"})
    s = Study(name="loc", question=f"Q {HOSTILE}", claim="C", expected="E", claims=(claim,),
              sizes={p: (50,) for p in PROFILES}, seeds={p: 3 for p in PROFILES},
              datasets={p: ("digits",) for p in PROFILES})
    tasks = [Task(name=HOSTILE, study="loc", dataset="digits", arch="cnn"),
             Task(name="loc/mlp", study="loc", dataset="digits", arch="mlp"),
             Task(name="loc/mlp-perm", study="loc", dataset="digits", arch="mlp", variant="permuted",
                  matched=False),
             # hostile names inside the figures too (legend, panel titles)
             Task(name="loc/evil", study="loc", dataset=HOSTILE, arch=HOSTILE)]
    with Store(tmp_path / "r.sqlite") as store:
        fill(store, tasks, s, score=lambda t, n, seed: {"cnn": 0.9}.get(t.arch, 0.5) + 0.01 * seed)
        store.record_skip(Task(name="loc/skip", study="loc", dataset="digits", arch="vit"), HOSTILE)
        bad = {"run_key": "bad", "study": "loc", "task": HOSTILE, "arch": "cnn", "dataset": "digits",
               "variant": "natural", "matched": 1, "profile": "smoke", "n_train": 50, "seed": 9,
               "status": "failed", "error": f"ValueError: {HOSTILE}"}
        store.record_run(bad, {}, {})
        path = write_report(store, tmp_path / "index.html")
    html = path.read_text()
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<svg") >= 1 and "test/accuracy" in html
    assert "supported" in html  # cnn is 0.4 above mlp on every seed
    assert "Q &lt;script&gt;" in html
    assert "natural (matched)" in html and "permuted (mismatched)" in html
    assert "CPU (test)" in html


def test_report_uses_the_latest_profile_of_a_study(tmp_path):
    s = study("s")
    task = Task(name="s/a", study="s", dataset="digits", arch="mlp")
    with Store(tmp_path / "r.sqlite") as store:
        fill(store, [task], s, profile="quick", sizes=(999,))
        fill(store, [task], s, profile="smoke", sizes=(50,))
        html = write_report(store, tmp_path / "index.html").read_text()
    assert "n=50" in html and "n=999" not in html

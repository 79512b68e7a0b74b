"""The report: built from the database alone, figures inline, text escaped."""

import dataclasses
import json

import pandas as pd
import re
import subprocess
import sys

import numpy as np

from suite.claims import Claim
from suite.report import FIGURES, load_results, study_runs, write_report
from suite.store.read import Reader
from suite.store.schema import RunRecord, RunResult
from suite.store.write import Writer
from suite.studies import PROFILES, Study, Task
from conftest import read_report, unmeasured_claims

HOSTILE = "<script>alert(1)</script>"


def fill(store, tasks, study, profile="smoke", seeds=(0, 1, 2), sizes=(50, 100), score=None, columns=None,
         arrays=None):
    """Synthetic finished runs, written through the same store API as the runner's.

    `columns(task)` overrides columns of a task's runs; `arrays(task, n, seed)` gives a run's arrays.
    """
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
                       "config_json": json.dumps({"metric": "test/accuracy"}), "finished_at": 0.0,
                       # what the report reads: columns of their own, not the config
                       "objective": "classification", "metric": "test/accuracy", "framework": "keras",
                       "length": 64, "hparams_json": json.dumps({}), **(columns(task) if columns else {})}
                value = score(task, n, seed) if score else rng.random()
                store.record_run(RunResult(RunRecord(**row), {"test/accuracy": value, "test/loss": 1 - value},
                                           {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]},
                                           arrays=arrays(task, n, seed) if arrays else {}))


def study(name, claims=()):
    return Study(name=name, question=f"Question of {name}?", claim=f"Claim of {name}.",
                 expected="expected", claims=claims,
                 sizes={p: (50,) for p in PROFILES}, seeds={p: 2 for p in PROFILES},
                 datasets={p: ("digits",) for p in PROFILES})


def test_results_view_is_tidy(tmp_path):
    with Writer(tmp_path / "r.sqlite") as store:
        s = study("s")
        fill(store, [Task(name="s/a", study="s", dataset="digits", arch="mlp")], s)
    with Reader(tmp_path / "r.sqlite") as store:
        frame, history = store.results(), store.history()
    for column in ("study", "task", "arch", "dataset", "variant", "matched", "n_train", "seed",
                   "metric", "value", "status", "train_seconds", "params"):
        assert column in frame.columns
    assert len(frame) == 2 * 3 * 2  # sizes x seeds x metrics: one row per run and metric
    assert len(history) == 2 * 3 * 2 * 2


def test_report_renders_figures_verdicts_and_escapes_hostile_text(tmp_path):
    claim = Claim(text=f"cnn beats mlp {HOSTILE}", a={"arch": "cnn"}, b={"arch": "mlp", "variant": "natural"},
                  datasets=("digits",))  # the hostile dataset has neither model
    s = Study(name="loc", question=f"Q {HOSTILE}", claim="C", expected="E", claims=(claim,),
              sizes={p: (50,) for p in PROFILES}, seeds={p: 3 for p in PROFILES},
              datasets={p: ("digits",) for p in PROFILES})
    tasks = [Task(name=HOSTILE, study="loc", dataset="digits", arch="cnn"),
             Task(name="loc/mlp", study="loc", dataset="digits", arch="mlp"),
             Task(name="loc/mlp-perm", study="loc", dataset="digits", arch="mlp", variant="permuted",
                  matched=False),
             # hostile names inside the figures too (legend, panel titles)
             Task(name="loc/evil", study="loc", dataset=HOSTILE, arch=HOSTILE)]
    with Writer(tmp_path / "r.sqlite") as store:
        fill(store, tasks, s, score=lambda t, n, seed: {"cnn": 0.9 + 0.01 * seed}.get(t.arch, 0.5 + 0.02 * seed))
        store.record_skip(Task(name="loc/skip", study="loc", dataset="digits", arch="vit"), HOSTILE)
        bad = {"run_key": "bad", "study": "loc", "task": HOSTILE, "arch": "cnn", "dataset": "digits",
               "variant": "natural", "matched": 1, "profile": "smoke", "n_train": 50, "seed": 9,
               "status": "failed", "error": f"ValueError: {HOSTILE}"}
        store.record_run(RunResult(RunRecord(**bad)))
        path = write_report(store, tmp_path / "index.html")
    html = read_report(path)
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<svg") >= 1 and "test/accuracy" in html
    # cnn is 0.38-0.40 above mlp on every seed: the claim's row in the index says so
    rows = re.findall(r'<tr data-verdict="(\w+)"[^>]*>.*?cnn beats mlp', html)
    assert rows == ["supported"], rows
    # so clear that a second set of seeds would decide it the same: said beside it, and not flagged
    assert float(re.search(r"repeats it with probability (\d\.\d\d)", html).group(1)) >= 0.95
    assert not re.search(r"probability \d\.\d\d: may not repeat", html)
    assert "Q &lt;script&gt;" in html
    assert "natural (matched)" in html and "permuted (mismatched)" in html
    assert "CPU (test)" in html


def test_report_uses_the_latest_profile_of_a_study(tmp_path):
    s = study("s")
    task = Task(name="s/a", study="s", dataset="digits", arch="mlp")
    with Writer(tmp_path / "r.sqlite") as store:
        fill(store, [task], s, profile="quick", sizes=(999,))
        fill(store, [task], s, profile="smoke", sizes=(50,))
        html = read_report(write_report(store, tmp_path / "index.html"))
    assert "n=50" in html and "n=999" not in html


def test_report_reads_the_run_columns_not_the_config(tmp_path):
    s = study("s")
    tasks = [Task(name="s/ae", study="s", dataset="digits", arch="ae"),
             Task(name="s/gbt", study="s", dataset="digits", arch="gbt")]
    columns = {"ae": {"metric": "test/loss", "length": 8, "hparams_json": json.dumps({"latent": 4})},
               "gbt": {"framework": "sklearn", "length": None, "hparams_json": None}}
    with Writer(tmp_path / "r.sqlite") as store:
        # the config says otherwise: the report must not read it
        fill(store, tasks, s, sizes=(50,), columns=lambda t: {**columns[t.arch], "config_json": json.dumps(
            {"metric": "test/nonsense", "framework": "other", "input_shape": [99], "hparams": {"latent": 99}})})
        data = load_results(store)
    from suite.report.frames import code_width

    tidy = study_runs(data, data["studies"].iloc[0])
    by_arch = tidy[tidy["seed"] == 0].drop_duplicates("run_key").set_index("arch")
    assert by_arch.loc["ae", "primary_metric"] == "test/loss" and by_arch.loc["gbt", "primary_metric"] == "test/accuracy"
    assert by_arch["baseline"].to_dict() == {"ae": False, "gbt": True}
    assert by_arch.loc["ae", "length"] == 8 and np.isnan(by_arch.loc["gbt", "length"])
    widths = code_width(by_arch).tolist()
    assert widths[0] == 4.0 and np.isnan(widths[1])


def test_mixture_figure_reads_stored_arrays_and_unknown_figures_are_captioned(tmp_path):
    s = study("gen")
    task = Task(name="gen/gan", study="gen", dataset="ring8", arch="gan")
    rng = np.random.default_rng(0)
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    arrays = {"samples/trained": rng.normal(size=(1000, 2)), "mixture_centres/trained": centres,
              "mixture_std/trained": np.asarray(0.02), "real_samples/trained": rng.normal(size=(1000, 2))}
    # a database written by a version that drew a figure this one does not know
    s = dataclasses.replace(s, figures=("sample_scatter", "sample_grid", "no_such_figure"))
    with Writer(tmp_path / "r.sqlite") as store:
        fill(store, [task], s, sizes=(50,), seeds=(0, 1), arrays=lambda t, n, seed: arrays)
        html = read_report(write_report(store, tmp_path / "index.html"))
    assert "Samples on ring8" in html and "over the 8 true modes (red crosses, std 0.02)" in html
    assert html.count("<svg") == 1  # the scatter; the image grid skips 2-D mixtures
    assert "unknown figure &#39;no_such_figure&#39;; valid figures: " + ", ".join(FIGURES.names()) in html


def test_figure_registry_is_cheap_to_import():
    code = ("import sys, suite.report.figures as f; assert 'learning_curves' in f.FIGURES; "
            "heavy = [m for m in ('keras', 'suite.data', 'suite.probes', 'suite.studies', 'matplotlib') "
            "if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_unmeasured_claim_detector_finds_constant_and_shared_conditions(tmp_path):
    """What the smoke tests assert of every built-in claim (conftest.unmeasured_claims) fails where it should:
    a claim whose conditions differ by the same nonzero amount on every seed, one whose conditions read the same
    runs (a tuple of one value slips past registration's a == b check), and passes a measured claim."""
    measured = Claim(text="cnn beats mlp", a={"arch": "cnn"}, b={"arch": "mlp"})
    fixed = Claim(text="cnn beats logreg", a={"arch": "cnn"}, b={"arch": "logreg"})
    itself = Claim(text="mlp beats itself", a={"arch": ("mlp",)}, b={"arch": "mlp"})
    tasks = [Task(name=f"s/{a}", study="s", dataset="digits", arch=a) for a in ("cnn", "mlp", "logreg")]
    scores = {"cnn": lambda n, seed: 0.9 + 0.01 * seed, "mlp": lambda n, seed: 0.8 + 0.03 * seed,
              "logreg": lambda n, seed: 0.7 + 0.01 * seed}  # cnn - logreg = 0.2 on every seed
    for claims, expected in (((measured,), []), ((fixed,), ["cnn beats logreg (digits): the same difference"]),
                             ((itself,), ["mlp beats itself: a and b share 6 runs"])):
        path = tmp_path / f"{claims[0].text}.sqlite"
        with Writer(path) as store:
            fill(store, tasks, study("s", claims), score=lambda task, n, seed: scores[task.arch](n, seed))
        found = unmeasured_claims(path)
        assert bool(found) == bool(expected) and all(any(e in f for f in found) for e in expected), found


def test_no_claim_of_a_registered_study_is_unmeasured_on_the_smoke_run(smoke_run):
    """The detector above, on the smoke run of every registered study: no claim's two conditions are
    fixed by construction or read the same runs (a study added later is checked too)."""
    assert not unmeasured_claims(smoke_run.db)
    planned = re.search(r"planning (.+) \(smoke profile", smoke_run.result.stderr).group(1).split(", ")
    with_runs = {s for (s,) in smoke_run.query("SELECT DISTINCT study FROM runs WHERE status = 'ok'")}
    assert set(planned) == {s for (s,) in smoke_run.query("SELECT name FROM studies")} <= with_runs


def test_a_borrowed_run_is_read_as_the_borrower_s_under_its_setting(tmp_path):
    """`Study.borrows`: the lender's runs in one setting, on the named datasets and architectures, are the
    borrower's runs in its setting (the same run keys); the lender's other runs are not."""
    from suite.studies import Borrow

    lender = study("lender")
    lent = [Task(name=f"lender/{ds}/{a}@long", study="lender", dataset=ds, arch=a, setting="long")
            for ds in ("digits", "adding_T10") for a in ("lstm", "rnn")]
    borrower = dataclasses.replace(study("borrower"), datasets={p: ("digits",) for p in PROFILES},
                                   borrows=(Borrow("lender", "long", "equal params", ("digits",), ("lstm",)),))
    own = [Task(name="borrower/digits/lstm@equal width", study="borrower", dataset="digits", arch="lstm",
                setting="equal width")]
    with Writer(tmp_path / "r.sqlite") as store:
        fill(store, lent, lender, columns=lambda task: {"setting": task.setting})
        fill(store, own, borrower, columns=lambda task: {"setting": task.setting})
        data = load_results(store)
    row = data["studies"].query("name == 'borrower'").iloc[0]
    tidy = study_runs(data, row)
    assert set(tidy["model"]) == {"lstm@equal width", "lstm@equal params"}
    lent_keys = set(tidy.loc[tidy["setting"] == "equal params", "run_key"])
    assert lent_keys == {f"lender/digits/lstm@long-{n}-{s}" for n in (50, 100) for s in (0, 1, 2)}
    assert (tidy["study"] == "borrower").all()
    lender_row = data["studies"].query("name == 'lender'").iloc[0]
    assert set(study_runs(data, lender_row)["setting"]) == {"long"}  # the lender's own page is unchanged


def test_the_crossover_names_every_sign_change_and_calls_a_zero_gap_a_tie():
    from suite.report.index import crossover_size

    assert crossover_size([100, 400, 3500], [0.0003, -0.0144, 0.0182]) == "103 (loses the lead), 1,043 (gains the lead)"
    assert crossover_size([50, 233], [0.04, 0.0]) == "none from 50 to 233: ahead; tied at 233"  # both perfect
    assert crossover_size([100, 400], [-0.1, -0.2]) == "none from 100 to 400: behind"
    assert crossover_size([100, 400], [0.0, 0.0]) == "none: tied at every size from 100 to 400"
    assert crossover_size([100, 1600], [-0.1, 0.1]) == "400 (gains the lead)"  # on log size


def _verdict_row(html, text):
    """The index's row of the claim `text`: (verdict, Holm-adjusted verdict, per-dataset cell text)."""
    row = re.search(r'<tr data-verdict="([\w ]+)"[^>]*>(?:(?!</tr>).)*?' + re.escape(text) + r'.*?</tr>', html, re.S)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), re.S)
    verdicts = re.findall(r'<span class="verdict [\w-]+">([\w ]+)</span>', cells[4])
    return row.group(1), verdicts[0] if verdicts else "", re.sub(r"<[^>]+>", " ", cells[5])


def test_gates_are_stored_with_the_study_and_decide_which_datasets_count(tmp_path):
    """A contradiction on a dataset whose model is below its competence gate counts for nothing (the verdict
    there is undecidable, the value on the page); on a dataset that passes, it contradicts the claim. The
    gates are in the database's studies table, so the report is rebuilt from the database alone."""
    from suite.adequacy import Gate

    claim = Claim(text="cnn beats mlp", a={"arch": "cnn"}, b={"arch": "mlp"})
    tasks = [Task(name=f"g/{ds}/{arch}", study="g", dataset=ds, arch=arch) for ds in ("one", "two")
             for arch in ("cnn", "mlp")]
    scores = {("one", "cnn"): 0.9, ("one", "mlp"): 0.7, ("two", "cnn"): 0.3, ("two", "mlp"): 0.5}
    for level, overall, two in ((0.6, "supported", "undecidable"), (0.2, "contradicted", "contradicted")):
        gate = Gate(model={"arch": "cnn"}, metric="test/accuracy", level=level, source="a test's level")
        s = dataclasses.replace(study("g", (claim,)), gates=(gate,))
        path = tmp_path / f"{level}.sqlite"
        with Writer(path) as store:
            fill(store, tasks, s, score=lambda t, n, seed: scores[t.dataset, t.arch] + 0.01 * seed * (t.arch == "cnn"))
            html = read_report(write_report(store, tmp_path / f"{level}" / "index.html"))
        with Reader(path) as store:
            assert [Gate.from_json(json.dumps(g)) for g in json.loads(store.studies()["gates_json"][0])] == [gate]
        verdict, _, per_dataset = _verdict_row(html, "cnn beats mlp")
        assert verdict == overall and re.search(rf"one:\s+supported.*two:\s+{two}", per_dataset, re.S), per_dataset
        assert "Competence gates" in html and "a test&#39;s level" in html
        assert ("cnn not competent (0.31 &lt; 0.6)" in html) == (level == 0.6)


def test_a_failed_control_is_shown_at_the_top_of_the_index_and_holm_beside_every_verdict(tmp_path):
    control = Claim(text="Control: the MLP ignores the permutation", a={"arch": "mlp", "variant": "natural"},
                    b={"arch": "mlp", "variant": "permuted"}, test="negligible", margin=0.01, control=True)
    evidence = Claim(text="cnn beats mlp", a={"arch": "cnn"}, b={"arch": "mlp", "variant": "natural"})
    tasks = [Task(name="c/cnn", study="c", dataset="digits", arch="cnn"),
             Task(name="c/mlp", study="c", dataset="digits", arch="mlp"),
             Task(name="c/mlp-p", study="c", dataset="digits", arch="mlp", variant="permuted", matched=False)]
    scores = {("cnn", "natural"): 0.9, ("mlp", "natural"): 0.8, ("mlp", "permuted"): 0.6}  # the machinery is broken
    with Writer(tmp_path / "r.sqlite") as store:
        fill(store, tasks, study("c", (control, evidence)),
             score=lambda t, n, seed: scores[t.arch, t.variant] + 0.01 * seed * (t.arch == "cnn"))
        index = (tmp_path / "out").joinpath("index.html")
        write_report(store, index)
    html = index.read_text()
    banner = html.index('id="failed-controls"')
    assert banner < html.index('id="bias-map"') and banner < html.index('id="claims"')
    assert "Control: the MLP ignores the permutation" in html[banner:html.index('id="bias-map"')]
    assert _verdict_row(html, "Control: the MLP ignores")[0] == "control failed"
    assert "the interval [+0.200, +0.200] leaves the band [-0.01, 0.01]" in read_report(index)
    verdict, holm, _ = _verdict_row(html, "cnn beats mlp")
    assert verdict == "supported" and holm == "supported"  # the one evidential test: nothing to adjust
    # a passing control: no banner
    scores[("mlp", "permuted")] = 0.8
    with Writer(tmp_path / "r2.sqlite") as store:
        fill(store, tasks, study("c", (control, evidence)), score=lambda t, n, seed: scores[t.arch, t.variant])
        assert 'id="failed-controls"' not in write_report(store, tmp_path / "out2" / "index.html").read_text()


def test_the_time_budget_of_the_latest_session_is_read_from_its_command():
    from suite.report.html import time_budget

    def sessions(*argvs):
        return pd.DataFrame({"argv": [json.dumps(a) for a in argvs]})

    assert time_budget(sessions(["run_suite.py", "--time-budget", "15m"])) == "15m"
    assert time_budget(sessions(["run_suite.py", "--time-budget=1h"])) == "1h"
    # the latest session decides: a run without the budget completes the first look
    assert time_budget(sessions(["run_suite.py", "--time-budget", "15m"], ["run_suite.py"])) is None
    assert time_budget(pd.DataFrame({"argv": []})) is None


def test_the_decision_table_states_resolution_and_ceiling():
    """One test example of 40 is 0.025 of accuracy: a margin of 0.01 cannot be resolved; a best model at
    0.995 leaves less than a margin of 0.01 to perfect."""
    from suite.claims import Claim
    from suite.report.tables import decision_table

    rows = []
    for dataset, examples, best in (("small", 40, 0.995), ("large", 1000, 0.80)):
        for model, value in (("a", best), ("b", best - 0.1)):
            for seed in range(3):
                key = f"{dataset}/{model}/{seed}"
                base = {"dataset": dataset, "variant": "natural", "model": model, "n_train": 100, "seed": seed,
                        "run_key": key, "primary_metric": "test/accuracy", "higher_is_better": True}
                rows += [{**base, "metric": "test/accuracy", "value": value},
                         {**base, "metric": "test/examples", "value": examples}]
    tidy = pd.DataFrame(rows)
    claims = [Claim(text="no gain", a={"model": "b"}, b={"model": "a"}, test="not_better", margin=0.03),
              Claim(text="tiny", a={"model": "b"}, b={"model": "a"}, test="not_better", margin=0.01,
                    datasets=("small",))]
    table = decision_table(tidy, claims).set_index("dataset")
    assert table.loc["small", "one example"] == "0.0250" and table.loc["large", "test examples"] == "1,000"
    assert "margin 0.01 below one test example" in table.loc["small", "can it decide?"]
    assert "at the ceiling" in table.loc["small", "can it decide?"]
    assert table.loc["large", "can it decide?"] == "yes" and table.loc["large", "smallest claim margin"] == "0.03"
    # a comparison on skill (bounded by 1 too) is checked on skill, a claim against a constant is not
    skill = tidy[tidy["metric"] == "test/accuracy"].assign(metric="test/skill")
    on_skill = [Claim(text="band", a={"model": "b"}, b={"model": "a"}, test="negligible", margin=0.03,
                      metric="test/skill")]
    table = decision_table(pd.concat([tidy, skill]), on_skill).set_index("dataset")
    assert "at the ceiling on test/skill: 0.005 left" in table.loc["small", "can it decide?"]
    assert table.loc["large", "can it decide?"] == "yes"
    constant = [Claim(text="level", a={"model": "b"}, b={}, test="not_better", margin=0.03, reference=0.5,
                      metric="test/skill")]
    assert "ceiling" not in decision_table(pd.concat([tidy, skill]), constant).set_index("dataset").loc[
        "small", "can it decide?"]


def test_the_bias_map_marks_a_verdict_decided_by_some_of_its_datasets_only():
    """A claim supported on one dataset of two (the other unable to decide it) is green on the map like one
    supported on both: the map marks it, and its table says which dataset decided and what the other measured."""
    from suite.report.index import bias_map

    row = {"cell": ("locality", "images"), "control": False, "holm": "supported", "verdict": "supported",
           "datasets": 2, "short": "", "qualifier": "", "study": "s", "text": "t", "effect": "",
           "coverage": "on x only; y (a - b = -0.100) cannot decide it"}
    svg, table = bias_map([row])
    assert "\u2020" in svg and table["decided"].tolist() == [row["coverage"]]
    svg, table = bias_map([{**row, "coverage": ""}])
    assert "\u2020" not in svg

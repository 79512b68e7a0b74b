"""One registry mechanism: names checked when something is registered, errors that list the valid names."""

import dataclasses

import pytest

from suite import UsageError
from suite.registry import Registry
from suite.studies import PROFILES, REGISTRY, Study, StudyRegistry, Task, load_builtin_studies

pytest.importorskip("keras")

from suite.architectures import ARCHITECTURES  # noqa: E402
from suite.data import DATASETS, TRANSFORMS  # noqa: E402
from suite.probes import PROBES  # noqa: E402
from suite.report.figures import FIGURES  # noqa: E402
from suite.training import OBJECTIVES  # noqa: E402
from conftest import read_report  # noqa: E402


def test_registry_rejects_duplicates_and_lists_valid_names_sorted():
    reg = Registry("widget")
    reg.register("b", 2)
    reg.decorator("a")(lambda: 1)
    with pytest.raises(UsageError, match="widget 'b' is already registered"):
        reg.register("b", 3)
    with pytest.raises(UsageError) as err:
        reg["c"]
    assert str(err.value) == "unknown widget 'c'; valid widgets: a, b"
    assert reg.names() == ["a", "b"] and "a" in reg and reg["b"] == 2 and len(reg) == 2


def study(name="s", **kwargs):
    return Study(name=name, question="q", claim="c", expected="e", sizes={p: (10,) for p in PROFILES},
                 seeds={p: 1 for p in PROFILES}, datasets={p: ("digits",) for p in PROFILES}, **kwargs)


@pytest.mark.parametrize("field, value, registry", [
    ("arch", "mpl", ARCHITECTURES), ("dataset", "digit", DATASETS), ("variant", "shuffled", TRANSFORMS),
    ("objective", "classify", OBJECTIVES), ("probes", ("hierarchie",), PROBES),
])
def test_a_task_naming_something_unknown_fails_when_registered(field, value, registry):
    reg = StudyRegistry()
    reg.add_study(study())
    task = Task(name="s/t", study="s", **{"dataset": "digits", "arch": "mlp", field: value})
    with pytest.raises(UsageError) as err:
        reg.add_task(task)
    message = str(err.value)
    assert "\n" not in message and message.startswith("task 's/t': unknown ")
    bad = value[0] if isinstance(value, tuple) else value
    assert f"{bad!r}; valid " in message and ", ".join(registry.names()) in message
    assert reg.tasks() == []  # nothing half-registered


def test_a_study_naming_an_unknown_figure_fails_when_registered():
    with pytest.raises(UsageError, match="study 's': unknown figure 'learning_curve'; valid figures: ") as err:
        StudyRegistry().add_study(study(figures=("learning_curve",)))
    assert ", ".join(FIGURES.names()) in str(err.value)


@pytest.mark.parametrize("fields, message", [
    ({"arch": "cnn", "dataset": "wine"}, "architecture 'cnn' takes image inputs, not the table dataset 'wine'"),
    ({"arch": "lstm", "dataset": "digits"}, "architecture 'lstm' takes sequence inputs"),
    ({"arch": "mlp", "dataset": "digits", "variant": "rotated"}, "variant 'rotated' applies to table data"),
    ({"arch": "logreg", "dataset": "adding_T10", "objective": "regression"},
     "the scikit-learn baseline 'logreg' cannot be trained on objective 'regression'"),
])
def test_a_task_whose_parts_do_not_fit_together_fails_when_registered(fields, message):
    reg = StudyRegistry()
    reg.add_study(study())
    with pytest.raises(UsageError, match=message):
        reg.add_task(Task(name="s/t", study="s", **fields))


def test_a_task_module_with_a_typo_is_exit_2_before_any_run(cli, tmp_path):
    module = tmp_path / "typo.py"
    module.write_text(
        "from suite.studies import PROFILES, Study, Task, register_study, register_task\n"
        "register_study(Study(name='typo', question='q', claim='c', expected='e',\n"
        "    sizes={p: (10,) for p in PROFILES}, seeds={p: 1 for p in PROFILES},\n"
        "    datasets={p: ('digits',) for p in PROFILES}))\n"
        "register_task(Task(name='typo/t', study='typo', dataset='digits', arch='mlp', probes=('sample',)))\n")
    out = tmp_path / "out"
    result = cli("--tasks-module", module, "--studies", "typo", "--profile", "smoke", "--output", out)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "task 'typo/t': unknown probe 'sample'; valid probes: " in lines[0]
    assert not out.exists()  # nothing ran, nothing was written


def test_an_output_that_cannot_be_created_is_one_line(run_main):
    code, _, err = run_main("--studies", "locality", "--profile", "smoke", "--output", "/proc/no/such/place")
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip() and "planning" not in line]
    assert len(lines) == 1 and "cannot create the output folder '/proc/no/such/place'" in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("report_only", [False, True])
def test_a_damaged_database_is_one_line_and_left_as_it_is(run_main, tmp_path, report_only):
    damaged = tmp_path / "results.sqlite"
    damaged.write_bytes(b"these are not the runs you are looking for" * 100)
    before = damaged.read_bytes()
    args = ["--report-only"] if report_only else ["--studies", "locality", "--profile", "smoke"]
    code, _, err = run_main(*args, "--output", tmp_path, "--no-progress")
    assert code == 2 and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip() and "planning" not in line]
    assert len(lines) == 1 and f"{str(damaged)!r} is not a usable results database" in lines[0]
    assert damaged.read_bytes() == before  # never overwritten or deleted


def test_the_documented_example_of_every_addition_runs_end_to_end(cli, tmp_path):
    """docs/examples/my_plugins.py, as README shows it: one file, every kind of addition."""
    from conftest import ROOT
    from suite.store.read import Reader

    example = ROOT / "docs" / "examples" / "my_plugins.py"
    out = tmp_path / "out"
    result = cli("--tasks-module", example, "--studies", "moons", "--profile", "smoke", "--output", out,
                 "--no-progress", "--workers", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    with Reader(out / "results.sqlite") as db:
        runs, measured = db.runs(columns=("arch", "variant", "status")), db.metrics()
    rows = list(runs.itertuples(index=False, name=None))
    assert {(a, v) for a, v, _ in rows} == {(a, v) for a in ("mlp", "linear") for v in ("natural", "noise_features")}
    assert all(status == "ok" for *_, status in rows)
    metrics = set(measured["metric"])
    assert {"init/weight_norm", "trained/weight_norm", "test/accuracy"} <= metrics
    html = read_report(out / "index.html")
    assert "Weight norms" in html and "The MLP beats the linear model on the moons." in html


def test_a_claim_that_cannot_fail_is_refused_when_registered():
    """A claim on what the architecture fixes before training (its parameters, its FLOPs) holds or
    fails by construction: registering it is a one-line error that says to state it as a fact."""
    from suite.claims import Claim

    registry = StudyRegistry()
    fixed = Claim(text="the GRU is smaller", a={"arch": "gru"}, b={"arch": "lstm"}, metric="model/params",
                  higher_is_better=False)
    constant = study("constant", claims=(fixed,))
    with pytest.raises(UsageError, match="model/params.*cannot fail"):
        registry.add_study(constant)
    learned = dataclasses.replace(fixed, metric="test/accuracy", higher_is_better=True)
    registry.add_study(dataclasses.replace(constant, claims=(learned,)))
    # a claim whose two conditions are the same runs (here once `each` fills in the architecture)
    itself = Claim(text="order helps itself", a={"variant": "natural"}, b={"variant": "natural"},
                   each={"arch": ("lstm", "gru")})
    with pytest.raises(UsageError, match="the same runs.*cannot fail"):
        registry.add_study(study("itself", claims=(itself,)))
    registry.add_study(study("differs", claims=(dataclasses.replace(itself, b={"variant": "permuted"}),)))
    # `each` that fills in no condition: a names the column and b is empty, so a is compared with the
    # constant 0, not with each value (how "the GAN collapses more than each of the VAE, diffusion" went wrong)
    idle = Claim(text="the gan collapses more", a={"arch": "gan"}, b={}, each={"arch": ("vae", "diffusion")})
    with pytest.raises(UsageError, match="each changes nothing"):
        registry.add_study(study("idle", claims=(idle,)))
    load_builtin_studies()  # and none of the suite's own claims is one
    assert not any(c.metric.startswith("model/") for s in REGISTRY.studies() for c in s.claims)

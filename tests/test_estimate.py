"""--plan's estimates on devices this machine is not: step times recorded from another machine's runs."""

import json

from test_report import fill

from suite.store.write import Writer
from suite.studies import Task
from suite.text import format_duration
from suite.training.estimate import describe_plan, measured_rates, record_rates, recorded_rates
from suite.training.plan import Budget, RunSpec

TASK = Task(name="s/mlp", study="s", dataset="digits", arch="mlp")


def spec(seed: int) -> RunSpec:
    return RunSpec(task=TASK, profile="quick", n_train=50, seed=seed, budget=Budget(max_steps=1000),
                   hparams={}, backend="jax")


def gpu_database(path, seconds: float):
    from test_report import study

    with Writer(path) as store:
        fill(store, [TASK], study("s"), columns=lambda task: {"device": "GPU (NVIDIA H200)", "train_seconds": seconds,
                                                              "steps": 30})
    return path


def test_a_gpu_measured_elsewhere_prices_the_plan_and_says_where_it_was_measured(tmp_path):
    step_times = tmp_path / "step_times.json"
    with Writer(gpu_database(tmp_path / "gpu.sqlite", 0.5)) as store:
        assert record_rates(store, "gpu_check on box, today", step_times) == ["GPU (NVIDIA H200)"]
        measured = measured_rates(store)["GPU (NVIDIA H200)"]
    elsewhere = recorded_rates(step_times)
    source, rates = elsewhere["GPU (NVIDIA H200)"]
    assert source == "gpu_check on box, today" and rates == measured  # the file keeps the rates as measured
    specs = [spec(s) for s in range(4)]
    lines = describe_plan(specs, None, "CPU (test)", 2, elsewhere)
    gpu = [line for line in lines if line.startswith("estimated on GPU (NVIDIA H200) with 1 worker")]
    assert len(gpu) == 1 and "measured elsewhere: gpu_check on box, today" in gpu[0], lines
    assert not any(line.startswith("on a GPU: no estimate") for line in lines)
    # priced at the recorded rate: 4 runs x 1000 budgeted steps at the measured seconds per member-step
    expected = 4 * 1000 * rates[("digits", "mlp", json.dumps({}))]
    assert f"{format_duration(expected)} of training" in gpu[0], (expected, gpu[0])


def test_without_a_measured_gpu_the_plan_says_so(tmp_path):
    assert recorded_rates(tmp_path / "none.json") == {}
    lines = describe_plan([spec(0)], None, "CPU (test)", 2, {})
    assert any(line.startswith("on a GPU: no estimate, no GPU has been measured") for line in lines), lines


def test_a_device_measured_again_replaces_its_entry(tmp_path):
    step_times = tmp_path / "step_times.json"
    averages = []
    for seconds in (0.5, 2.0):
        with Writer(gpu_database(tmp_path / f"gpu{seconds}.sqlite", seconds)) as store:
            record_rates(store, f"run {seconds}", step_times)
        (source, rates), = recorded_rates(step_times).values()  # one entry: the device's latest
        averages.append(rates[None])
    assert source == "run 2.0" and averages[1] == 4 * averages[0] > 0


def test_the_bench_script_records_a_database_for_the_plan(tmp_path, capsys):
    from test_bench import load_script

    step_times = tmp_path / "step_times.json"
    db = gpu_database(tmp_path / "gpu.sqlite", 0.5)
    assert load_script("step_times").main([str(db), "--source", "a GPU box", "--file", str(step_times)]) == 0
    assert "GPU (NVIDIA H200) recorded" in capsys.readouterr().out
    assert [source for source, _ in recorded_rates(step_times).values()] == ["a GPU box"]

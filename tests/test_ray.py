"""`--executor ray`: the same runs as the local executor, a dead worker's unit retried, a rerun reusing all.

Ray starts its own local instance here (2 CPUs): no cluster is needed in CI.
"""

import pytest

from conftest import run_cli
from suite.store.read import Reader
from test_cli import USER_MODULE

pytest.importorskip("ray")

# a unit whose worker is killed the first time (as the OOM killer would): Ray runs it again elsewhere
MORTAL_MODULE = USER_MODULE + '''
import os

@register_architecture("user_mortal", "kills its own process the first time it is built")
def build_mortal(input_shape, num_classes, width=8):
    if not os.path.exists(MARKER):
        open(MARKER, "w").close()
        os._exit(9)
    return build_linear(input_shape, num_classes)

register_task(Task(name="mine/mortal", study="mine", dataset="digits", arch="user_mortal", hparams={"width": 8}))

# a dataset whose loader notes every process that loads it: on Ray only the driver should
from suite.data import DatasetSpec, register_dataset

def load_counted(data_dir):
    with open(LOADS, "a") as log:
        log.write(f"{os.getpid()}\\n")
    from sklearn.datasets import make_moons
    return make_moons(n_samples=300, noise=0.2, random_state=0), None

register_dataset(DatasetSpec("counted", load_counted, kind="table", source="generated"))
register_study(Study(name="counted", question="q", claim="c", expected="e",
                     sizes={p: (60,) for p in ("smoke", "quick", "full")}, seeds={p: 2 for p in ("smoke", "quick", "full")},
                     datasets={p: ("counted",) for p in ("smoke", "quick", "full")}))
register_task(Task(name="counted/mlp", study="counted", dataset="counted", arch="mlp", hparams={"width": 8}))
'''


def _runs(path):
    with Reader(path) as db:
        stored, measured = db.runs(columns=("run_key", "status")), db.metrics()
    runs = dict(zip(stored["run_key"], stored["status"]))
    metrics = {(k, m): v for k, m, v in zip(measured["run_key"], measured["metric"], measured["value"])
               if not m.endswith("step_ms")}  # timings differ from run to run
    return runs, metrics


@pytest.mark.slow
def test_ray_trains_the_runs_the_local_executor_does_retries_a_dead_worker_and_reuses_on_rerun(tmp_path):
    marker = tmp_path / "died_once"
    module = tmp_path / "mortal_study.py"
    loads = tmp_path / "loads.txt"
    module.write_text(MORTAL_MODULE.replace("MARKER", repr(str(marker))).replace("LOADS", repr(str(loads))))
    # two studies: one with the mortal model, one on the counted dataset
    args = ("--tasks-module", module, "--studies", "mine,counted", "--archs", "mlp,user_linear,user_mortal",
            "--profile", "smoke", "--no-progress", "--all-tasks")  # the mortal task is read by no claim
    on_ray = run_cli(*args, "--executor", "ray", "--output", tmp_path / "ray", cwd=tmp_path)
    assert on_ray.returncode == 0, on_ray.stderr[-3000:]
    assert marker.exists()  # a worker did die
    ray_runs, ray_metrics = _runs(tmp_path / "ray" / "results.sqlite")
    assert ray_runs and set(ray_runs.values()) == {"ok"}  # the mortal unit was retried, not recorded failed
    assert {k for k, _ in ray_metrics} == set(ray_runs)  # one row per run: nothing written twice
    # the driver loaded the dataset once and the workers took it from the object store
    assert len(loads.read_text().split()) == 1

    again = run_cli(*args, "--executor", "ray", "--output", tmp_path / "ray", cwd=tmp_path)
    assert again.returncode == 0 and "0 to run" in again.stderr, again.stderr[-2000:]
    assert _runs(tmp_path / "ray" / "results.sqlite")[0] == ray_runs

    local = run_cli(*args, "--workers", "1", "--output", tmp_path / "local", cwd=tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    local_runs, local_metrics = _runs(tmp_path / "local" / "results.sqlite")
    assert local_runs == ray_runs  # the same run keys, all ok
    assert local_metrics.keys() == ray_metrics.keys()
    for key, value in local_metrics.items():
        assert ray_metrics[key] == pytest.approx(value, rel=1e-4, abs=1e-5), key

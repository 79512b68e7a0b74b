"""The same models on another Keras backend, without TensorFlow.

jax is optional (not in requirements.txt): these tests run where it is
installed and are skipped elsewhere.
"""

import subprocess
import sys

import pytest

from conftest import ROOT, run_cli

pytest.importorskip("jax")


def test_jax_backend_never_imports_tensorflow():
    code = (
        "import os, sys; os.environ['KERAS_BACKEND'] = 'jax'; sys.path.insert(0, %r)\n"
        "from suite import cli, data, models, report, runner, store\n"
        "from suite.runner import Trainer, RunSpec, BUDGETS\n"
        "from suite.registry import Task\n"
        "t = Task(name='t', study='t', dataset='digits', arch='cnn')\n"
        "row, metrics, _ = Trainer('cpu').run(RunSpec(t, 40, 0, {'width': 4}, BUDGETS['smoke'], 'smoke', 'jax'))\n"
        "assert row['backend'] == 'jax' and 0 <= metrics['test/accuracy'] <= 1\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
        "print('ok')\n" % str(ROOT)
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def test_cli_runs_on_jax(tmp_path):
    result = run_cli("--backend", "jax", "--studies", "locality", "--archs", "mlp,vit", "--sizes", "40",
                     "--seeds", "2", "--profile", "smoke", "--output", tmp_path, "--no-progress")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "8 runs" in result.stdout and "(8 ok" in result.stdout

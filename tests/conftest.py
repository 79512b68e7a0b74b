"""Shared fixtures. Tests run offline on a CPU, on the smoke profile."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def run_cli(*args, cwd=ROOT, timeout=600, **kwargs):
    """Runs `python run_suite.py ARGS` in a subprocess; returns CompletedProcess."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "run_suite.py"), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env, **kwargs,
    )


def read_report(index) -> str:
    """The report's index and every study page beside it, as one text (what `--single-page` holds)."""
    index = Path(index)
    pages = sorted(p for p in index.parent.glob("*.html") if p != index)
    return "\n".join(p.read_text() for p in [index, *pages])


@pytest.fixture
def cli():
    return run_cli

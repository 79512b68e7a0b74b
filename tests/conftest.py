"""Shared fixtures. Tests run offline on a CPU, on the smoke profile."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One JAX compilation cache for the whole session: the command-line runs of different tests compile the
# same small models (the command line keeps its cache beside each output folder otherwise); a warm cache
# halves a smoke run. Compiled programs are the same programs, so no result changes.
if "JAX_COMPILATION_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="suite-jax-cache-")
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = _cache
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


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

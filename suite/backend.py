"""Loading Keras: the backend is chosen (KERAS_BACKEND) before the first import, which this module makes quiet.

Imports nothing heavy itself, so the command line and the worker processes
can call it before anything else touches Keras.
"""

from __future__ import annotations

import importlib.util
import os
import sys


def import_keras_quietly():
    """Imports Keras, its backend and TensorFlow (where installed), with the C++ start-up lines kept
    off the terminal; every process that trains calls it before its first run.

    TensorFlow's native libraries write their start-up lines (`port.cc ... oneDNN custom operations`,
    `cudart_stub.cc ... Could not find cuda drivers`) to the process's stderr as they load, through
    absl logging before anything has initialised it: absl then writes every message, whatever
    TF_CPP_MIN_LOG_LEVEL says (they come twice in each process that loads TensorFlow). Only the place
    they are written to can stop them: file descriptor 2 points at a temporary file while the
    libraries load, and what it caught is shown only if the import fails.

    TensorFlow is imported here even where Keras is already loaded, on every backend: a spawned worker
    imports Keras (jax) with the modules it unpickles, before its initialiser calls this, and
    keras.utils.set_random_seed, which seeds every run, imports TensorFlow at the first run otherwise,
    loudly. TF_CPP_MIN_LOG_LEVEL=3 (unless set) quiets what TensorFlow logs once loaded.
    """
    import tempfile

    if "keras" in sys.modules and ("tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None):
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras

            if importlib.util.find_spec("tensorflow") is not None:
                import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return keras

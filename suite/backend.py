"""Loading Keras: the backend is chosen (KERAS_BACKEND) before the first import, which this module makes quiet.

Imports nothing heavy itself, so the command line and the worker processes
can call it before anything else touches Keras.
"""

from __future__ import annotations

import importlib.util
import os
import sys


def import_keras_quietly():
    """Imports Keras (and its backend) with the C++ start-up chatter kept off the terminal.

    TensorFlow's runtime writes half a dozen lines to the process's stderr
    as it loads (oneDNN, CUDA probes, CPU instructions), before any setting
    can silence them; they bury the suite's own one-line messages. They are
    captured while importing and shown only if the import fails.
    """
    import tempfile

    if "keras" in sys.modules:
        return sys.modules["keras"]
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras

            # TensorFlow is loaded on every backend where it is installed: keras.utils.set_random_seed,
            # which seeds every run, imports it to seed it too (2 s, and its start-up lines, at the
            # first run otherwise)
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

"""Loading Keras: the backend is chosen (KERAS_BACKEND) before the first import, which this module makes quiet.

Imports nothing heavy itself, so the command line and the worker processes
can call it before anything else touches Keras.
"""

from __future__ import annotations

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

            if keras.backend.backend() == "tensorflow":
                import tensorflow  # noqa: F401  (its runtime prints on load)
        except BaseException:
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    return keras

"""The device a run trains on, and the library versions recorded with it."""

from __future__ import annotations

import os
import platform
import sys

import numpy as np

from suite import __version__


def configure_device() -> str:
    """Uses the GPU when one is visible (memory growth on); names the device."""
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            for gpu in gpus:
                try:
                    tf.config.experimental.set_memory_growth(gpu, True)
                except RuntimeError:  # already initialised: growth cannot change now
                    pass
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return f"GPU ({details.get('device_name', gpus[0].name)})"
        elif backend == "jax":
            import jax

            device = jax.devices()[0]
            if device.platform != "cpu":
                return f"GPU ({device.device_kind})"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"GPU ({torch.cuda.get_device_name(0)})"
    except Exception as e:  # a broken driver should not stop a CPU run
        print(f"note: GPU detection failed ({e}); using the CPU", file=sys.stderr)
    return f"CPU ({cpu_name()})"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def library_versions() -> dict:
    import keras
    import sklearn

    versions = {
        "python": platform.python_version(), "suite": __version__,
        "keras": keras.__version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__,
    }
    backend = keras.backend.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    if module:
        versions[module] = sys.modules[module].__version__ if module in sys.modules else __import__(module).__version__
    return versions



def default_workers(device: str) -> int:
    """One process per core on a CPU (measured faster: see bench/); one on a GPU."""
    if not device.startswith("CPU"):
        return 1
    return max(1, min(2, os.cpu_count() or 1))



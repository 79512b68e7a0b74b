"""The anti-aliased CNN on JAX: Keras's stride-1 pooling and depthwise blur against the suite's slices.

    python bench/pooling_speed.py [--steps 200] [--repeats 5] [--batch 64]

Builds `pooling`'s CNNs as the runner does (digits_margin's 14x14 images,
widths fitted to 20k parameters, global-average head) on the jax backend and
times training steps (`train_on_batch`, compiled, after a warm-up) of
the anti-aliased CNN (`pool="blurmax"`) built three ways: as the code before
(Keras's stride-1 `MaxPooling2D`, `lax.reduce_window`, then a fixed
`DepthwiseConv2D` blur), with only the pooling replaced (the suite's
`MaxPooling2D`: the maximum of four shifted slices), and as the code now
(that pooling and `BinomialBlurPool`: the blur as strided slices); and the
plain max-pooled CNN for scale. The variants alternate within each repeat,
so the ratios are measured side by side on one machine; the median over
repeats is printed. Checks first that the three give the CNN the same
outputs (within float round-off). Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="timed steps per variant and repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    from suite.architectures import build_model, resolve_hparams
    from suite.architectures import layers
    from suite.architectures.layers import MaxPooling2D

    shape, classes = (14, 14, 1), 10
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, *shape)).astype("float32")
    y = rng.integers(0, classes, size=args.batch)

    def keras_blur(x):  # the code before: a fixed depthwise convolution with the binomial kernel
        kernel = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0
        fixed = lambda shape, dtype=None: np.broadcast_to(kernel[:, :, None, None], shape).astype("float32")  # noqa: E731
        return keras.layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False, trainable=False,
                                            depthwise_initializer=fixed)(x)  # draws no random numbers

    def model(pool, keras_pooling=False, depthwise=False):
        hparams = resolve_hparams("cnn", shape, classes, 20_000, {"head": "gap", "pool": pool})
        original, blur = MaxPooling2D._shifted_max, layers.BinomialBlurPool.__call__
        if keras_pooling:  # Keras's stride-1 pooling, reduce_window on jax
            MaxPooling2D._shifted_max = lambda self, inputs: keras.layers.MaxPooling2D.call(self, inputs)
        if depthwise:
            layers.BinomialBlurPool.__call__ = lambda self, x: keras_blur(x)
        try:
            keras.utils.set_random_seed(0)
            m = build_model("cnn", shape, classes, **hparams)
            m.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
            out = np.asarray(m(x))
            m.train_on_batch(x, y)  # compile outside the timing
        finally:
            MaxPooling2D._shifted_max, layers.BinomialBlurPool.__call__ = original, blur
        return m, out

    variants = {
        "before: Keras reduce_window + depthwise blur": model("blurmax", True, True),
        "shifted-slice pooling + depthwise blur": model("blurmax", False, True),
        "now: shifted-slice pooling + sliced blur": model("blurmax"),
        "plain max-pool (for scale)": model("max"),
    }
    outs = [out for _, out in list(variants.values())[:3]]
    print("outputs of the three blurred CNNs (same seed): max |difference| from the first = "
          + ", ".join(f"{np.abs(o - outs[0]).max():.1e}" for o in outs[1:]))
    times = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (m, _) in variants.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                m.train_on_batch(x, y)
            times[name].append((time.perf_counter() - start) / args.steps * 1e3)
    print(f"ms per training step (batch {args.batch}, median of {args.repeats} x {args.steps} steps, "
          f"jax {__import__('jax').__version__}, keras {keras.__version__}):")
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, ms in medians.items():
        print(f"  {name:50s} {ms:7.2f}")
    names = list(medians)
    print(f"before / now: {medians[names[0]] / medians[names[2]]:.2f}x (the pooling alone: "
          f"{medians[names[0]] / medians[names[1]]:.2f}x); now / plain max-pool: "
          f"{medians[names[2]] / medians[names[3]]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

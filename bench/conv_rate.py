"""Convolutions on a CPU against the machine's matrix-product rate: is im2col worth it?

    taskset -c 0 python bench/conv_rate.py [--repeats 200]

On the jax backend, for the 3x3 convolutions of the suite's CNNs (batch 64:
MNIST's 28x28x1 -> 16 filters and the second block's 14x14x16 -> 32; digits'
8x8x1 -> 16 and 4x4x16 -> 32), times a training step's share of each layer
(forward and both gradients, jitted) computed two ways: XLA's convolution
(`lax.conv_general_dilated`, what `keras.layers.Conv2D` runs) and im2col
(the 9 shifted copies of the input side by side, then one matrix product
with the kernel), one model at a time and for a population of 8 members
under `vmap` (how the population trainer would batch them). Prints
milliseconds and GFLOP/s (3 x the forward FLOPs, 2 per multiply-add) beside
the rate of a float32 matrix product (1024 x 1024, jitted) measured in the
same run, so the ratio does not depend on the machine. Pin it to one core
for figures per core. Prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

SHAPES = ((64, 28, 1, 16), (64, 14, 16, 32), (64, 8, 1, 16), (64, 4, 16, 32))  # batch, side, in, out
MEMBERS = 8


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args(argv)

    import jax
    import jax.numpy as jnp
    import numpy as np

    def timed(fn, *inputs, repeats):
        jax.block_until_ready(fn(*inputs))
        start = time.perf_counter()
        for _ in range(repeats):
            jax.block_until_ready(fn(*inputs))
        return (time.perf_counter() - start) / repeats

    def conv(x, w):
        return jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    def im2col(x, w):
        k, (h, wd) = w.shape[0], x.shape[1:3]
        padded = jnp.pad(x, ((0, 0), (k // 2, k // 2), (k // 2, k // 2), (0, 0)))
        columns = jnp.concatenate([padded[:, i:i + h, j:j + wd, :] for i in range(k) for j in range(k)], axis=-1)
        return columns @ w.reshape(-1, w.shape[-1])

    rng = np.random.default_rng(0)
    a = jnp.asarray(rng.normal(size=(1024, 1024)), jnp.float32)
    matmul = jax.jit(lambda u, v: u @ v)
    sgemm = 2 * 1024 ** 3 / timed(matmul, a, a, repeats=20) / 1e9
    print(f"float32 matrix product (1024 x 1024, jitted): {sgemm:.1f} GFLOP/s")
    print("| layer (batch, side, in, out) | XLA conv ms | im2col ms | XLA conv GFLOP/s (of sgemm) | "
          f"im2col GFLOP/s | {MEMBERS} members vmapped: XLA conv ms | im2col ms | one by one, XLA conv ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for batch, side, cin, cout in SHAPES:
        x = jnp.asarray(rng.normal(size=(batch, side, side, cin)), jnp.float32)
        w = jnp.asarray(rng.normal(size=(3, 3, cin, cout)), jnp.float32)
        assert float(jnp.abs(conv(x, w) - im2col(x, w)).max()) < 1e-3  # the same function
        flops = 3 * 2 * batch * side * side * 9 * cin * cout
        single, population = {}, {}
        for name, f in (("conv", conv), ("im2col", im2col)):
            step = jax.grad(lambda u, v, f=f: (f(u, v) ** 2).sum(), argnums=(0, 1))
            single[name] = timed(jax.jit(step), x, w, repeats=args.repeats)
            xs, ws = jnp.stack([x] * MEMBERS), jnp.stack([w] * MEMBERS)
            population[name] = timed(jax.jit(jax.vmap(step)), xs, ws, repeats=max(5, args.repeats // MEMBERS))
        rate = {k: flops / v / 1e9 for k, v in single.items()}
        print(f"| {batch}, {side}, {cin}, {cout} | {single['conv'] * 1e3:.2f} | {single['im2col'] * 1e3:.2f} | "
              f"{rate['conv']:.1f} ({rate['conv'] / sgemm:.2f}) | {rate['im2col']:.1f} | "
              f"{population['conv'] * 1e3:.1f} | {population['im2col'] * 1e3:.1f} | "
              f"{MEMBERS * single['conv'] * 1e3:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

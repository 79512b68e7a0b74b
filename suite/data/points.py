"""Points in the plane from mixtures whose modes are known: the mode-collapse benchmarks of generation."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from suite.data.core import DatasetSpec, register_dataset


@dataclasses.dataclass(frozen=True)
class Mixture:
    """Equal-weight isotropic Gaussians in the plane, the mode-collapse benchmarks.

    Args:
      centres: (modes, 2) the means.
      std: the standard deviation of every component.
    """

    centres: np.ndarray
    std: float

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """`n` points (float32 (n, 2)) and the mode each came from (int64 (n,))."""
        rng = np.random.default_rng(seed)
        modes = rng.integers(0, len(self.centres), n)
        points = self.centres[modes] + self.std * rng.normal(size=(n, 2))
        return points.astype(np.float32), modes.astype(np.int64)


def ring_mixture(modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    """`modes` Gaussians evenly spaced on a circle (Metz et al. 2017; Srivastava et al. 2017)."""
    angles = 2 * np.pi * np.arange(modes) / modes
    return Mixture(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)


def grid_mixture(side: int = 5, spacing: float = 2.0, std: float = 0.02) -> Mixture:
    """side x side Gaussians on a square grid centred at 0 (Srivastava et al. 2017)."""
    ticks = spacing * (np.arange(side) - (side - 1) / 2)
    return Mixture(np.stack(np.meshgrid(ticks, ticks, indexing="ij"), axis=-1).reshape(-1, 2), std)


MIXTURES = {"ring8": ring_mixture(), "grid25": grid_mixture()}


def _mixture_loader(name: str, n: int = 5000):
    def load(data_dir):
        return MIXTURES[name].sample(n, seed=zlib.crc32(name.encode())), None

    return load


for _name, _desc in (("ring8", "5,000 points from 8 Gaussians (std 0.02) on a circle of radius 2"),
                     ("grid25", "5,000 points from 25 Gaussians (std 0.02) on a 5x5 grid, spacing 2")):
    register_dataset(DatasetSpec(_name, _mixture_loader(_name), "points", "generated", _desc))

"""Measures of generated samples: mode coverage and the Frechet distance.

Mode coverage follows the mode-collapse literature (Metz et al. 2017,
Unrolled GANs; Srivastava et al. 2017, VEEGAN; Lin et al. 2018, PacGAN) on
mixtures whose modes are known (`suite.data.MIXTURES`): a sample is *high
quality* when it lies within 3 standard deviations of its nearest mode, and
a mode is *covered* when enough samples are high quality around it.
*Collapse* is measured apart from failing to train: of the high-quality
samples, the share on the quarter of the modes that hold the most (0.25 for
an even spread, 1 for a generator that puts every good sample on a quarter
of the modes or fewer); a generator whose samples miss every mode has no
collapse and a high-quality share near 0. The
Frechet distance (Heusel et al. 2017) compares two sets of feature vectors
through the means and covariances of Gaussians fitted to each.
"""

from __future__ import annotations

import numpy as np


def mode_coverage(samples, centres, std: float, min_share: float = 0.01) -> dict:
    """How many of a mixture's modes the samples cover, and how good they are.

    Args:
      samples: (n, 2) generated points.
      centres: (modes, 2) the mixture's means; std: its components' std.
      min_share: a mode counts as covered when at least this share of all
        samples are high quality around it (1% of 2,500 samples is 25; an
        even spread over 25 modes gives 4% each).

    Returns:
      {"modes": covered modes (int), "high_quality": share of samples within
      3 std of their nearest mode, "collapse": share of the high-quality
      samples on the ceil(modes / 4) modes that hold the most (0 when there
      are none), "per_mode": high-quality count per mode}.
    """
    samples = np.asarray(samples, dtype=float)
    centres = np.asarray(centres, dtype=float)
    if len(samples) == 0:
        return {"modes": 0, "high_quality": 0.0, "collapse": 0.0, "per_mode": np.zeros(len(centres), dtype=int)}
    distance = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=-1)
    nearest = distance.argmin(axis=1)
    good = distance[np.arange(len(samples)), nearest] <= 3 * std
    per_mode = np.bincount(nearest[good], minlength=len(centres))
    covered = int(np.sum(per_mode >= max(1, min_share * len(samples))))
    favoured = np.sort(per_mode)[::-1][:-(-len(centres) // 4)].sum()
    collapse = float(favoured / per_mode.sum()) if per_mode.sum() else 0.0
    return {"modes": covered, "high_quality": float(good.mean()), "collapse": collapse, "per_mode": per_mode}


def frechet_distance(a, b) -> float:
    """Frechet distance between Gaussians fitted to two sets of feature vectors (rows).

    ||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)): 0 for identical
    sets, growing as their means and spreads move apart. The matrix square
    root's tiny imaginary part (round-off) is dropped.
    """
    from scipy import linalg

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"frechet_distance needs two (n, d) arrays of the same d. "
                         f"Received: shapes {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = linalg.sqrtm(cov_a @ cov_b)
    if not np.all(np.isfinite(root)):  # singular product: regularise, as Heusel et al.'s code does
        eps = 1e-6 * np.eye(len(cov_a))
        root = linalg.sqrtm((cov_a + eps) @ (cov_b + eps))
    value = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a + cov_b - 2 * np.real(root))
    return float(max(value, 0.0))

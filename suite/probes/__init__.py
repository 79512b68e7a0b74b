"""Probes: measurements of a model itself, at initialisation and after training (see `core`).

One module per family, each registering its probes into `PROBES` when
imported (all imported here, explicitly): `gradients` (input_gradients),
`hierarchy`, `samples`, `codes`; `measures` holds the measures they share
with tests (mode coverage, Frechet distance).
"""

from suite.probes import codes, gradients, hierarchy, samples  # noqa: F401  (register their probes)
from suite.probes.codes import labelled_subset
from suite.probes.core import PROBES, Measured, batched, dataset_fingerprint, probe_accuracy, register_probe
from suite.probes.gradients import input_gradient_norms
from suite.probes.hierarchy import (context_margin, edge_basis, edge_likeness, layer_summaries, random_edge_likeness,
                                    receptive_field, top_patches)
from suite.probes.measures import frechet_distance, mode_coverage

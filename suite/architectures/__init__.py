"""Architectures: Keras 3 builders returning uncompiled `keras.Model`s, and classical baselines.

Written with `keras.layers` and `keras.ops` only, so the same code runs on
the tensorflow, jax and torch backends. One module per family, each
registering its builders into `ARCHITECTURES` when imported (all of them
are imported here, explicitly):

- `core`: the registry, `build_model`, width fitting (`fit_width`) and FLOP counts;
- `layers`: layers and blocks the builders share; `optimizers`: the GANs' AlternatingAdam;
- `vision` (mlp, cnn, vit), `sequence` (rnn, lstm, gru, tcn, transformer),
  `tabular` (grid_cnn, column_lstm, ft_transformer), `baselines` (hgb,
  logreg, knn), `generative` (autoencoders, VAE, GANs, diffusion), `graph` (gnn).
"""

from suite.architectures import baselines, generative, graph, sequence, tabular, vision  # noqa: F401  (register)
from suite.architectures.core import (ARCHITECTURES, INPUTS, Architecture, build_model, build_uninitialised,
                                      count_flops, fit_width,
                                      get_architecture, keras_architectures, register_architecture,
                                      resolve_hparams)
from suite.architectures.layers import default_patch_size, grid_side

"""The report's figures, one registered function each.

`FIGURES[name]` is `fn(tidy, data, study_row) -> list[dict]`, each dict a
figure with `title`, `svg` (inline, "" for a table alone), `caption` and
optionally `table` (HTML). A study names its figures (`Study.figures`), in
order. Every family module is imported here explicitly and registers what
it defines; matplotlib and seaborn are imported only when a figure is drawn.
"""

from __future__ import annotations

from suite.report.figures.common import setup_matplotlib, to_svg
from suite.report.figures.registry import FIGURES, draws_every_task

register_figure = FIGURES.decorator  # @register_figure("name"[, wrap=draws_every_task]) on fn(tidy, data, study_row)

# the families, in the order their figures were first written; each registers its own
from suite.report.figures import curves  # noqa: E402,F401  learning_curves, vs_length, gradient_norms, step_time, comparison
from suite.report.figures import tabular  # noqa: E402,F401  sensitivity
from suite.report.figures import translation  # noqa: E402,F401  vs_shift
from suite.report.figures import hierarchy  # noqa: E402,F401  filters, top_patches, layer_probes
from suite.report.figures import generation  # noqa: E402,F401  sample_scatter, sample_grid, generation_table, loss_curves
from suite.report.figures import representation  # noqa: E402,F401  code_probes, reconstructions, code_map
from suite.report.figures import answer  # noqa: E402,F401  answer (a study of a user's own data)
from suite.report.figures import baselines  # noqa: E402,F401  tuned_baselines
from suite.report.figures import length  # noqa: E402,F401  vs_string_length

__all__ = ["FIGURES", "draws_every_task", "register_figure", "setup_matplotlib", "to_svg"]

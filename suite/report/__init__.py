"""The HTML report, built from the results database alone.

An index (the bias map, the data-size crossover, every claim) and one page
per study, each self-contained: figures are inline SVG (matplotlib/seaborn),
text goes through Jinja2 with autoescape; `single_page` puts it all in one file. The report reads only the database
(`suite.store`), judges claims with `suite.claims` (their competence gates:
`suite.adequacy`; over datasets and across the run: `suite.aggregation`), and draws the figures
registered in `suite.report.figures.FIGURES`:

  frames   database -> tidy pandas frames
  tables   summary and parameter tables
  figures  one registered function per figure, by family
  index    the index's failed controls, bias map, crossover and claims table
  html     the pages, rendered through templates/ (index, study, shared macros)
"""

from __future__ import annotations

from pathlib import Path

from suite.report.figures import FIGURES
from suite.report.figures.common import image_grid_figure
from suite.report.figures.hierarchy import filters_figure, top_patches_figure
from suite.report.frames import load_results, study_runs
from suite.report.html import TEMPLATE_DIR, environment, render, study_section
from suite.report.tables import params_table, summary_table


def write_report(store, path, single_page: bool = False) -> Path:
    """Writes the report for everything in `store`: `path` (the index) and, beside it, one page per
    study (`single_page`: everything in `path`). Returns `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, html in render(load_results(store), single_page).items():
        target = path if name == "index.html" else path.parent / name
        tmp = target.with_suffix(".html.tmp")
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(target)  # never leave a half-written page behind
    return path


__all__ = [
    "FIGURES", "TEMPLATE_DIR", "environment", "filters_figure", "image_grid_figure", "load_results",
    "params_table", "render", "study_section", "study_runs", "summary_table", "top_patches_figure",
    "write_report",
]

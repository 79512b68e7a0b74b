"""The HTML report, built from the results database alone.

One self-contained file: figures are inline SVG (matplotlib/seaborn), text
goes through Jinja2 with autoescape. The report reads only the database
(`suite.store`), judges claims with `suite.claims`, and draws the figures
registered in `suite.report.figures.FIGURES`:

  frames   database -> tidy pandas frames
  tables   summary and parameter tables
  figures  one registered function per figure, by family
  html     a section per study, rendered through templates/report.html.j2
"""

from __future__ import annotations

from pathlib import Path

from suite.report.figures import FIGURES
from suite.report.figures.common import image_grid_figure
from suite.report.figures.hierarchy import filters_figure, top_patches_figure
from suite.report.frames import load_results, study_runs
from suite.report.html import TEMPLATE_DIR, environment, render, study_section
from suite.report.tables import params_table, summary_table


def write_report(store, path) -> Path:
    """Writes the report for everything in `store` to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    html = render(load_results(store))
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)  # never leave a half-written report behind
    return path


__all__ = [
    "FIGURES", "TEMPLATE_DIR", "environment", "filters_figure", "image_grid_figure", "load_results",
    "params_table", "render", "study_section", "study_runs", "summary_table", "top_patches_figure",
    "write_report",
]

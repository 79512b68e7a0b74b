"""The figure registry, alone so that the family modules can register into it without an import circle."""

from __future__ import annotations

from suite.registry import Registry

# figure name (Study.figures) -> fn(tidy, data, study row) -> [{title, svg, caption[, table]}]
FIGURES = Registry("figure")


def draws_every_task(fn):
    """`FIGURES.decorator(name, wrap=draws_every_task)`: the figure draws every task of its study, whether a
    claim reads it or not (a curve over lengths or code widths, say), so planning trains them all
    (`suite.reads`). A figure without it draws the tasks the study's claims read."""
    fn.reads = ({},)
    return fn

"""The figure registry, alone so that the family modules can register into it without an import circle."""

from __future__ import annotations

from suite.registry import Registry

# figure name (Study.figures) -> fn(tidy, data, study row) -> [{title, svg, caption[, table]}]
FIGURES = Registry("figure")

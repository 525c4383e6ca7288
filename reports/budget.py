"""Output budgets: how much of a city the files for people hold, in one place.

``layers.gpkg`` and the served map (``firereach serve``) always hold every feature. The files
meant to be opened by a person — ``map.html``, ``report.xlsx``, ``report.pdf`` — stay readable
whatever the city: a layer within its budget is written whole (a small area looks as it always
did), a larger one worst first up to the budget, and the file says how many rows it left out and
where the full detail is.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geo.errors import ConfigError

# map.html: features per layer (a GeoJSON feature costs ~0.3-1 kB with its popup fields)
MAP_MAX_LINES = 5_000
"""Street pieces, basemap streets and ranked gaps drawn per layer; above it worst/major first."""
MAP_MAX_POLYGONS = 3_000
"""Buildings drawn per layer (basemap footprints, high-rises, buildings short of water)."""
MAP_MAX_POINTS = 3_000
"""Hydrants, blockages and proposed hydrants drawn per layer."""
MAP_REDUCED_SIMPLIFY_M = 5.0
"""Simplification tolerance (metres, working CRS) of lines and polygons on a reduced map."""
XLSX_MAX_ROWS = 50_000
"""Data rows per XLSX sheet (Excel's own limit is 1,048,576); above it worst first."""
PDF_MAX_DISTRICT_ROWS = 60
"""District rows in the PDF table (worst graded first); the rest are in the XLSX."""


@dataclass(frozen=True)
class OutputBudget:
    """The budgets of the files for people (defaults: the module constants)."""

    map_max_lines: int = MAP_MAX_LINES
    map_max_polygons: int = MAP_MAX_POLYGONS
    map_max_points: int = MAP_MAX_POINTS
    map_reduced_simplify_m: float = MAP_REDUCED_SIMPLIFY_M
    xlsx_max_rows: int = XLSX_MAX_ROWS
    pdf_max_district_rows: int = PDF_MAX_DISTRICT_ROWS


def capped(frame: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, int]:
    """The first ``limit`` rows of ``frame`` (already sorted worst first) and how many were left out."""
    if limit < 0:
        raise ConfigError(f"a row budget must be 0 or more, got {limit}: give a count of rows")
    if len(frame) <= limit:
        return frame, 0
    return frame.iloc[:limit], len(frame) - limit

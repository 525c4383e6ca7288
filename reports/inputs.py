"""What the report files are made from: one :class:`ReportInputs` for the XLSX and the PDF.

:func:`reports.build.build_reports` assembles it from an analysed workspace (every table with its
report unit in a ``district`` column); the writers only present it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd


@dataclass(frozen=True)
class MapInputs:
    """The layers drawn on the report maps (working CRS, metres).

    Attributes
    ----------
    roads
        Street edges (``roads_analysis``).
    pieces
        ``coverage_pieces`` (``covered`` flag per piece): the coverage-gap map.
    hydrants
        Hydrant points with ``status``.
    stations
        Fire stations (optional, on the coverage map).
    """

    roads: gpd.GeoDataFrame
    pieces: gpd.GeoDataFrame
    hydrants: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame | None = None


@dataclass(frozen=True)
class ReportInputs:
    """The tables, summary and map layers of one report (the XLSX and the PDF show the same).

    Attributes
    ----------
    summary
        The ``summary.json`` sections (``coverage``, ``hydrants``, ``buildings``, ``stations``,
        ``analysis``, ``quality`` …).
    districts
        The district summary (:func:`reports.districts.aggregate_districts`).
    underserved
        ``underserved_segments`` (with a ``district`` column when known).
    buildings
        ``buildings_analysis``.
    findings
        The findings table.
    blockages
        Blockage points with ``status`` and an impact column (optional: their map, table and
        sheet).
    proposed
        Proposed hydrants with a cost column (optional: their map, table and sheet).
    budget_curve
        Cost/coverage steps (optional: the budget chart and sheet).
    maps
        The map layers (the PDF needs them; the XLSX does not).
    area_name
        The area's name on the title page.
    """

    summary: Mapping[str, Any]
    districts: pd.DataFrame
    underserved: pd.DataFrame
    buildings: pd.DataFrame
    findings: pd.DataFrame
    blockages: gpd.GeoDataFrame | None = None
    proposed: gpd.GeoDataFrame | None = None
    budget_curve: pd.DataFrame | None = None
    maps: MapInputs | None = None
    area_name: str = ""

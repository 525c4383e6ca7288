"""One district's reports: the city's tables cut to one report unit, with that unit's own figures.

:func:`reports.build.build_reports` with ``district=`` calls :func:`one_district`: the report units
and their grades are computed on the whole area (so a district is graded and named exactly as in
the city's report), then every listed table keeps the rows that
:func:`reports.districts.district_of` places in that unit, and the summary is made from the unit's
own row. City-wide figures that cannot be cut to one district (the station count, the findings
totals) are left out of the district's summary rather than printed for the whole city.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.catalog import LayerName, feature_ids
from geo.errors import NotFoundError
from reports.districts import OUTSIDE_ID, grade_counts


@dataclasses.dataclass(frozen=True)
class DistrictTables:
    """What the XLSX and the PDF list, cut to one report unit (see :func:`one_district`)."""

    name: str
    summary: dict[str, Any]
    districts: pd.DataFrame
    underserved: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    findings: pd.DataFrame
    blockages: gpd.GeoDataFrame | None
    proposed: gpd.GeoDataFrame | None
    budget_curve: pd.DataFrame | None


def find_district(districts: pd.DataFrame, name: str) -> pd.Series:
    """The row of the report unit called ``name`` (or with that ``district_id``).

    Raises
    ------
    NotFoundError
        No unit has that name; the message lists the valid names.
    """
    real = districts.loc[districts["district_id"].astype(str) != OUTSIDE_ID]
    hit = real.loc[(real["name"].astype(str) == name) | (real["district_id"].astype(str) == name)]
    if len(hit) == 0:
        known = sorted(set(real["name"].astype(str)))
        more = " ..." if len(known) > 60 else ""
        raise NotFoundError(f"no district {name!r}; districts: {', '.join(known[:60])}{more}")
    return hit.iloc[0]


def _in(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """The rows of a frame with a ``district`` column that lie in the unit ``name``."""
    return frame.loc[frame["district"].astype(str) == name]


def _maybe_in(frame: gpd.GeoDataFrame | None, name: str) -> gpd.GeoDataFrame | None:
    return None if frame is None else _in(frame, name)


def _curve(
    curve: pd.DataFrame | None, proposed: pd.DataFrame | None, street_gap_m: float
) -> pd.DataFrame | None:
    """The budget curve of the district's own proposed hydrants, in the same build order, with
    cumulative metres (never more than the district's uncovered street) and cost recounted."""
    if curve is None or proposed is None or "candidate_id" not in proposed or "candidate_id" not in curve:
        return None
    keep = curve.loc[curve["candidate_id"].isin(proposed["candidate_id"])].copy()
    keep["order"] = np.arange(1, len(keep) + 1, dtype=np.int64)
    if "marginal_m" in keep:
        keep["cumulative_m"] = np.minimum(np.cumsum(keep["marginal_m"].to_numpy(dtype=np.float64)),
                                          street_gap_m)
    if "marginal_weight" in keep:
        keep["cumulative_weight"] = np.cumsum(keep["marginal_weight"].to_numpy(dtype=np.float64))
    if "cost_cny" in keep:
        keep["cumulative_cost_cny"] = np.cumsum(keep["cost_cny"].to_numpy(dtype=np.float64))
    return keep.reset_index(drop=True)


def _figure(row: pd.Series, column: str, digits: int | None = None) -> float | int | None:
    """A figure of the unit's row: None when the column is absent or not computed (NaN)."""
    if column not in row.index or pd.isna(row[column]):
        return None
    value = float(row[column])
    return round(value, digits) if digits is not None else int(value)


def district_summary_section(
    row: pd.Series, city: Mapping[str, Any], *, buildings: pd.DataFrame, underserved: pd.DataFrame
) -> dict[str, Any]:
    """The summary of one report unit, from its row of the district table (``None``: not computed).

    Rules (radius, time limit) and the description of the inputs (``source``, ``quality``) are the
    city's; every count and share is the unit's own.
    """
    coverage = city.get("coverage", {})
    stations = city.get("stations", {})
    deficit = buildings.get("flow_deficit_lps")
    in_range = buildings.get("hydrants_in_range")
    cls = buildings.get("high_rise_class")
    out: dict[str, Any] = {
        "coverage": {
            "radius_m": coverage.get("radius_m"),
            "road_km": _figure(row, "street_km", 3),
            "covered_km": _figure(row, "covered_km", 3),
            "uncovered_km": _figure(row, "uncovered_km", 3),
            "covered_pct": _figure(row, "covered_pct", 2),
            "underserved_segments": len(underserved),
        },
        "hydrants": {
            "total": _figure(row, "hydrants_total"),
            **{s: _figure(row, f"hydrants_{s}") for s in ("in_service", "out_of_service", "low_pressure",
                                                         "unknown")},
        },
        "buildings": {
            "total": len(buildings),
            "high_rise": None if cls is None else int(cls.astype(str).isin(("class1", "class2")).sum()),
            "high_rise_class1": _figure(row, "high_rise_class1"),
            "high_rise_class2": _figure(row, "high_rise_class2"),
            "without_hydrant_in_range": None if in_range is None else int((in_range == 0).sum()),
            "flow_deficit": None if deficit is None
            else int((pd.to_numeric(deficit, errors="coerce").fillna(0) > 0).sum()),
        },
        "high_rises": {"noncompliant_access": _figure(row, "high_rise_access_noncompliant")},
        "stations": {
            "limit_s": stations.get("limit_s"),
            "roads_within_limit_pct": _figure(row, "response_within_pct", 2),
        },
    }
    for section in ("source", "quality"):
        if section in city:
            out[section] = city[section]
    return out


def _finding_ids(
    buildings: pd.DataFrame, underserved: pd.DataFrame, blockages: pd.DataFrame | None, spacing_in: np.ndarray
) -> dict[str, set[str]]:
    """Feature ids, by findings layer, of the features inside the unit."""
    building_ids = set(buildings["building_id"].astype(str))
    return {
        "buildings": building_ids,
        LayerName.HIGH_RISE_ACCESS: building_ids,
        LayerName.UNDERSERVED_SEGMENTS: set(feature_ids(LayerName.UNDERSERVED_SEGMENTS, underserved))
        if "rank" in underserved else set(),
        # a gap is named by its row in the whole spacing table
        LayerName.SPACING_GAPS: set(
            feature_ids(LayerName.SPACING_GAPS, pd.DataFrame(index=range(len(spacing_in))))[spacing_in]
        ),
        "blockages": set() if blockages is None or "blockage_id" not in blockages
        else set(blockages["blockage_id"].astype(str)),
    }


def one_district(
    name: str,
    *,
    summary: Mapping[str, Any],
    districts: pd.DataFrame,
    tables: Mapping[str, gpd.GeoDataFrame | None],
    spacing_districts: np.ndarray,
    findings: pd.DataFrame,
    budget_curve: pd.DataFrame | None,
) -> DistrictTables:
    """Cut the city's report tables to the unit ``name``.

    Parameters
    ----------
    name
        A unit's name or ``district_id`` (:func:`find_district`).
    summary
        The city's summary (rules and input descriptions are kept from it).
    districts
        The graded district table of the whole area.
    tables
        ``underserved`` and ``buildings``, and optionally ``blockages`` and ``proposed``: frames
        with a ``district`` column (:func:`reports.districts.district_of`).
    spacing_districts
        For each row of the ``spacing_gaps`` layer: the name of the unit it lies in.
    findings
        The findings table; a finding is kept when its feature is inside the unit (buildings,
        high-rise access, underserved stretches, spacing gaps, blockages).
    budget_curve
        The proposal's budget curve; the district keeps its own hydrants' rows.

    Raises
    ------
    NotFoundError
        No unit has that name.
    """
    row = find_district(districts, name)
    unit = str(row["name"])
    underserved, buildings = tables["underserved"], tables["buildings"]
    if underserved is None or buildings is None:
        raise ValueError("one_district needs the underserved and buildings tables")
    underserved, buildings = _in(underserved, unit), _in(buildings, unit)
    blockages = _maybe_in(tables.get("blockages"), unit)
    proposed = _maybe_in(tables.get("proposed"), unit)
    ids = _finding_ids(buildings, underserved, blockages, np.asarray(spacing_districts, dtype=object) == unit)
    keep = np.zeros(len(findings), dtype=bool)
    for layer, layer_ids in ids.items():
        keep |= (findings["layer"].astype(str) == layer).to_numpy() & findings["feature_id"].astype(
            str).isin(layer_ids).to_numpy()
    one = districts.loc[districts["district_id"].astype(str) == str(row["district_id"])]
    section = district_summary_section(row, summary, buildings=buildings, underserved=underserved)
    section["districts"] = grade_counts(one)
    gap_m = float(row["uncovered_km"]) * 1000.0 if pd.notna(row.get("uncovered_km")) else np.inf
    return DistrictTables(
        name=unit, summary=section, districts=one,
        underserved=underserved, buildings=buildings, findings=findings.loc[keep],
        blockages=blockages, proposed=proposed, budget_curve=_curve(budget_curve, proposed, gap_m),
    )

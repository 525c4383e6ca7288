"""District summaries: every result aggregated by district, and a water-shortage grade per district.

Finance offices budget by district (区/街道), not by road edge. This module picks the report units,
adds up every result in each of them and grades each for water shortage.

Report units
------------
1. **Administrative districts** from ``layers.districts`` (OSM ``boundary=administrative`` or a
   user polygon file). OSM gives every admin level at once: the finest level (highest
   ``admin_level``, at least :attr:`DistrictOptions.min_admin_level`, 6 = 区/县 in China) whose
   polygons hold at least :attr:`DistrictOptions.min_share` (95 %) of the street length is used.
   A user file (``admin_level`` NaN) is one level. Street length and features outside every
   district go to one extra row, ``district_id = "outside"``, so the rows always add up to the
   totals of ``summary.json``.
2. **A square grid** as the last resort, when there are no districts or no level covers the
   area: cells of :attr:`DistrictOptions.cell_m` (default **1 km**) aligned on multiples of the cell
   size in the working CRS, named like map squares (``A1`` is the north-west cell, letters run west
   to east, numbers north to south). Only cells holding a street or a feature are kept.

Measures
--------
Lines are split at district boundaries by exact intersection and measured by length (a street
that runs along a shared boundary is shared equally, never counted twice); points are counted by
containment (a point on a shared boundary counts once); buildings by a point on their footprint.
Per district: street km, uncovered km and coverage % (from the coverage pieces; streets are the
roads that need hydrants, motorways left out by the preset's ``[coverage]``), hydrants by
status, high-rises by GB 50016 class, high-rises with a fire-flow deficit and without a usable
hydrant in range, high-rises with non-compliant access (``compliant_access`` of
:mod:`routing.access`, when the analysis has it), response compliance (% of street length whose
first truck arrives within the preset limit), and the optional inputs: blockages by status and
impact, proposed hydrants with their cost and the street length they newly cover.

Optional input columns (first match wins), as :mod:`routing.blockages` and :mod:`routing.siting`
name them: blockages ``status`` (reported / assigned / rectified / verified / closed), ``open``,
``high_rises_cut`` and an impact (:data:`IMPACT_COLUMNS`, ``score``); proposed hydrants a cost
(:data:`COST_COLUMNS`, ``cost_cny``) and the street length each newly covers
(:data:`GAIN_COLUMNS`, ``marginal_m``).

Water-shortage grade (:class:`GradeThresholds`)
-----------------------------------------------
- **严重 (severe)**: at least 50 % of the street length uncovered (only in districts with at least
  0.5 km of streets, so a sliver of a road at the edge of the area grades nothing), or any class 1
  high-rise without a usable hydrant in range (5–150 m hose-lay, GB 50974 6.1.5).
- **较重 (significant)**: at least 20 % uncovered (same minimum street length), or any high-rise
  with a fire-flow deficit or without a usable hydrant in range.
- **一般 (general)**: every other district (a district with less street, or none, is graded on
  its buildings only).

The reports print :meth:`GradeThresholds.describe`, written from the same fields that
:func:`grade_districts` reads.

Without any hydrant in the data (missing data: OSM in China maps almost none) nothing is graded:
``grade`` is ``not_computed`` (:data:`NOT_GRADED`) and the grade counts of ``summary.json`` are
null, with ``districts.not_computed`` the number of districts; coverage and building-water
columns are NaN.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from geo import vocabulary
from geo.catalog import LayerName
from geo.layers import Layers
from routing.analysis import Analysis

log = logging.getLogger(__name__)

GRADES: tuple[str, ...] = vocabulary.DISTRICT_GRADES
#: The grade of every district when the data holds no hydrant (see :func:`grade_districts`).
NOT_GRADED = "not_computed"
OUTSIDE_ID = "outside"
HYDRANT_STATUSES: tuple[str, ...] = vocabulary.HYDRANT_STATUSES
#: Ledger statuses counted per district (rejected and duplicate reports are not blockages).
BLOCKAGE_STATUSES: tuple[str, ...] = ("reported", "assigned", "rectified", "verified", "closed")
OPEN_BLOCKAGE_STATUSES: tuple[str, ...] = vocabulary.LEDGER_OPEN_STATUSES
#: Blockage impact (``score`` of :func:`routing.blockages.blockage_impact`, first match wins).
IMPACT_COLUMNS: tuple[str, ...] = ("score", "impact", "impact_score")
#: Cost of a proposed hydrant in yuan (``cost_cny`` of :func:`routing.siting.site_hydrants`).
COST_COLUMNS: tuple[str, ...] = ("cost_cny", "cost_yuan", "cost")
#: Street metres a proposed hydrant newly covers (``marginal_m`` of ``routing.siting``).
GAIN_COLUMNS: tuple[str, ...] = ("marginal_m", "gain_m", "covered_gain_m")
#: High-rise access compliance (``compliant_access`` of :func:`routing.access.high_rise_access`).
ACCESS_COLUMNS: tuple[str, ...] = ("compliant_access", "access_compliant")

UNIT_COLUMNS = ["district_id", "name", "unit", "admin_level", "area_km2"]
DISTRICT_COLUMNS = [
    *UNIT_COLUMNS,
    "street_km", "covered_km", "uncovered_km", "covered_pct", "uncovered_pct",
    "hydrants_total", *(f"hydrants_{s}" for s in HYDRANT_STATUSES),
    "high_rise_class1", "high_rise_class2", "high_rise_flow_deficit", "high_rise_no_water",
    "class1_no_water", "high_rise_access_noncompliant",
    "response_within_km", "response_within_pct",
    "blockages_total", "blockages_open", *(f"blockages_{s}" for s in BLOCKAGE_STATUSES),
    "blockage_impact", "blockages_high_rise_cut",
    "proposed_hydrants", "proposed_cost_yuan", "proposed_gain_km", "gain_m_per_10k_yuan",
    "covered_pct_after",
    "grade", "grade_basis",
]


@dataclass(frozen=True)
class GradeThresholds:
    """The water-shortage grading rule (see the module docstring).

    Attributes
    ----------
    severe_uncovered_pct
        Uncovered share of street length (%) from which a district is severe (严重).
    significant_uncovered_pct
        Uncovered share (%) from which a district is significant (较重).
    min_street_km
        Districts with less street than this are graded on their buildings only.
    class1_without_water_is_severe
        A class 1 high-rise without a usable hydrant in range makes the district severe.
    high_rise_water_is_significant
        A high-rise with a fire-flow deficit or without a usable hydrant makes it significant.
    """

    severe_uncovered_pct: float = 50.0
    significant_uncovered_pct: float = 20.0
    min_street_km: float = 0.5
    class1_without_water_is_severe: bool = True
    high_rise_water_is_significant: bool = True

    def describe(self, lang: str = "zh") -> str:
        """The rule in words (``"zh"`` or ``"en"``), as the reports print it: every threshold and
        switch that :func:`grade_districts` applies, and nothing else."""
        zh = lang != "en"
        km, sev = f"{self.min_street_km:g}", f"{self.severe_uncovered_pct:g}"
        sig = f"{self.significant_uncovered_pct:g}"
        if zh:
            severe = [f"道路不少于 {km} km 且道路未覆盖率≥{sev}%"]
            significant = [f"道路不少于 {km} km 且未覆盖率≥{sig}%"]
            if self.class1_without_water_is_severe:
                severe.append("有一类高层在计数范围内无可用消火栓")
            if self.high_rise_water_is_significant:
                significant.append("有高层建筑室外消防流量不足或计数范围内无可用消火栓")
            return (
                f"严重：{'，或'.join(severe)}；较重：{'，或'.join(significant)}；"
                f"一般：其余分区（道路少于 {km} km 或无道路的分区只按建筑分级）。"
            )
        severe = [f"at least {km} km of streets with at least {sev}% of the street length uncovered"]
        significant = [f"at least {km} km of streets with at least {sig}% uncovered"]
        if self.class1_without_water_is_severe:
            severe.append("a class 1 high-rise without a usable hydrant in range")
        if self.high_rise_water_is_significant:
            significant.append("a high-rise with a fire-flow deficit or without a usable hydrant in range")
        return (
            f"Severe: {', or '.join(severe)}. Significant: {', or '.join(significant)}. "
            f"General: every other district (a district with less than {km} km of streets, or none, "
            "is graded on its buildings only)."
        )


@dataclass(frozen=True)
class DistrictOptions:
    """How report units are chosen and graded.

    Attributes
    ----------
    cell_m
        Grid cell size (m) when there are no usable districts.
    min_share
        Share of the street length an admin level must hold to be used (else the grid).
    min_admin_level
        Coarser OSM levels (country, province, prefecture) are never report units.
    thresholds
        The grading rule.
    """

    cell_m: float = 1000.0
    min_share: float = 0.95
    min_admin_level: int = 6
    thresholds: GradeThresholds = field(default_factory=GradeThresholds)


@dataclass(frozen=True)
class DistrictInputs:
    """The result tables that :func:`aggregate_districts` adds up, all in one projected CRS.

    Attributes
    ----------
    roads
        ``roads_analysis``: street edges with ``uncovered_m`` and ``response_s`` (and
        ``needs_hydrants``: roads without it, motorways by default, are left out of the street
        and coverage lengths; every road counts when the column is absent).
    hydrants
        Hydrant points with ``status``.
    buildings
        ``buildings_analysis``: ``high_rise_class``, ``hydrants_in_range``, ``flow_deficit_lps``
        and, when the access analysis ran, ``compliant_access`` (False counts as non-compliant).
    pieces
        ``coverage_pieces`` (``covered`` and ``needs_hydrants`` flags per piece): exact uncovered
        lengths. Without it the uncovered share of each edge is spread evenly along the edge.
    response_limit_s
        Station response limit; ``None`` when there was no station (compliance is then NaN).
    blockages
        Optional blockage points: ``status`` and an impact column (:data:`IMPACT_COLUMNS`).
    proposed
        Optional proposed hydrants: a cost column (:data:`COST_COLUMNS`) and a gain column
        (:data:`GAIN_COLUMNS`, street metres newly covered).
    hydrant_data
        False when the data holds no hydrant at all (missing data, not proof that none exist):
        coverage and building-water columns are then NaN and no district is graded
        (``grade`` ``not_computed``, basis ``no_hydrant_data``).
    """

    roads: gpd.GeoDataFrame
    hydrants: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    pieces: gpd.GeoDataFrame | None = None
    response_limit_s: float | None = None
    blockages: gpd.GeoDataFrame | None = None
    proposed: gpd.GeoDataFrame | None = None
    hydrant_data: bool = True

    @classmethod
    def from_analysis(
        cls,
        analysis: Analysis,
        *,
        blockages: gpd.GeoDataFrame | None = None,
        proposed: gpd.GeoDataFrame | None = None,
    ) -> DistrictInputs:
        """The inputs from an :class:`routing.analysis.Analysis` plus the optional tables."""
        limit = analysis.summary.get("stations", {}).get("limit_s")
        return cls(
            roads=analysis.layers[LayerName.ROADS_ANALYSIS],
            hydrants=analysis.layers[LayerName.HYDRANTS_ANALYSIS],
            buildings=_with_access(
                analysis.layers[LayerName.BUILDINGS_ANALYSIS], analysis.layers.get(LayerName.HIGH_RISE_ACCESS)
            ),
            pieces=analysis.layers.get(LayerName.COVERAGE_PIECES),
            response_limit_s=float(limit) if analysis.response is not None and limit else None,
            blockages=blockages,
            proposed=proposed,
            hydrant_data=analysis.summary.get("coverage", {}).get("covered_share", 0.0) is not None,
        )


def _with_access(buildings: gpd.GeoDataFrame, access: pd.DataFrame | None) -> gpd.GeoDataFrame:
    """Buildings with ``compliant_access`` from the high-rise access layer (a copy; NA elsewhere)."""
    if access is None or "compliant_access" not in access.columns or find_column(buildings, ACCESS_COLUMNS):
        return buildings
    flags = access.drop_duplicates("building_id").set_index("building_id")["compliant_access"]
    out = buildings.copy()
    out["compliant_access"] = out["building_id"].map(flags).astype("boolean")
    return out


def find_column(frame: pd.DataFrame | None, candidates: Sequence[str]) -> str | None:
    """The first of ``candidates`` that is a column of ``frame`` (``None`` if none or no frame)."""
    if frame is None:
        return None
    return next((c for c in candidates if c in frame.columns), None)


def ranked_blockages(blockages: pd.DataFrame) -> pd.DataFrame:
    """Blockages worst first: by ``rank`` (1 = worst, unranked last), else by impact, else as given."""
    if "rank" in blockages.columns:
        return blockages.sort_values("rank", na_position="last", kind="stable")
    impact = find_column(blockages, IMPACT_COLUMNS)
    if impact is not None:
        return blockages.sort_values(impact, ascending=False, na_position="last", kind="stable")
    return blockages


def ordered_proposals(proposed: pd.DataFrame) -> pd.DataFrame:
    """Proposed hydrants in building order (``order``, 1 = first), else as given."""
    if "order" in proposed.columns:
        return proposed.sort_values("order", na_position="last", kind="stable")
    return proposed


# ---------------------------------------------------------------------------------------------
# Report units


def grid_name(col: int, row: int) -> str:
    """Map-square name of a grid cell: column letters (A..Z, AA..) and a 1-based row number."""
    letters = ""
    n = col + 1
    while n > 0:
        n, rem = divmod(n - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return f"{letters}{row + 1}"


def square_grid(
    bounds: tuple[float, float, float, float], *, cell_m: float = 1000.0, crs: pyproj.CRS | str | None
) -> gpd.GeoDataFrame:
    """Square cells covering ``bounds``, aligned on multiples of ``cell_m``.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in the (projected) CRS.
    cell_m
        Cell size in metres.
    crs
        The CRS of the cells.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`UNIT_COLUMNS` and the cell squares; ``A1`` is the north-west cell.
    """
    if not cell_m > 0:
        raise ValueError(f"grid cell size must be positive, got {cell_m!r} m")
    minx, miny, maxx, maxy = bounds
    x0 = math.floor(minx / cell_m) * cell_m
    y_top = math.ceil(maxy / cell_m) * cell_m
    ncol = max(math.ceil((maxx - x0) / cell_m), 1)
    nrow = max(math.ceil((y_top - miny) / cell_m), 1)
    if y_top == maxy and maxy == miny:  # a single horizontal line on a grid line
        y_top += cell_m
    col_grid, row_grid = np.meshgrid(np.arange(ncol), np.arange(nrow))
    cols, rows = col_grid.ravel(), row_grid.ravel()
    left = x0 + cols * cell_m
    top = y_top - rows * cell_m
    geoms = shapely.box(left, top - cell_m, left + cell_m, top)
    names = [grid_name(int(c), int(r)) for c, r in zip(cols, rows, strict=True)]
    return gpd.GeoDataFrame(
        {
            "district_id": [f"grid/{cell_m:g}m/{n}" for n in names],
            "name": names,
            "unit": "grid",
            "admin_level": np.nan,
            "area_km2": cell_m * cell_m / 1e6,
        },
        geometry=geoms,
        crs=crs,
    )


def _geoms(frame: gpd.GeoDataFrame | gpd.GeoSeries | None) -> npt.NDArray[np.object_]:
    if frame is None or len(frame) == 0:
        return np.empty(0, dtype=object)
    geom = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    return np.asarray(geom.to_numpy(), dtype=object)


def _inside_share(lines: npt.NDArray[np.object_], polygons: npt.NDArray[np.object_]) -> float:
    total = float(shapely.length(lines).sum())
    if total <= 0 or len(polygons) == 0:
        return 0.0
    per_line, _ = _split_lines(lines, polygons)
    return float(per_line.sum()) / total


def report_units(
    districts: gpd.GeoDataFrame | None,
    *,
    roads: gpd.GeoDataFrame,
    points: Sequence[gpd.GeoDataFrame | None] = (),
    options: DistrictOptions | None = None,
) -> gpd.GeoDataFrame:
    """The report units: the finest admin level that covers the streets, else a square grid.

    Parameters
    ----------
    districts
        The districts layer (may be empty or ``None``).
    roads
        Street edges (the extent and the measure of "covers").
    points
        Other layers whose extent the grid must cover too (hydrants, buildings, ...).
    options
        Cell size, minimum share and level.

    Returns
    -------
    geopandas.GeoDataFrame
        :data:`UNIT_COLUMNS` (``unit`` is ``osm``, ``file`` or ``grid``) and polygons.
    """
    options = options or DistrictOptions()
    lines = _geoms(roads)
    if districts is not None and len(districts):
        d = districts.loc[~(districts.geometry.isna() | districts.geometry.is_empty)]
        level = d["admin_level"].astype("float64") if "admin_level" in d else pd.Series(np.nan, index=d.index)
        user = level.isna()
        candidates: list[tuple[str, pd.Series]] = []
        if user.any():
            candidates.append(("file", user))
        for lvl in sorted(level.dropna().unique(), reverse=True):
            if lvl >= options.min_admin_level:
                candidates.append(("osm", level == lvl))
        for kind, mask in candidates:
            chosen = d.loc[mask.to_numpy()]
            share = _inside_share(lines, _geoms(chosen))
            log.debug("districts %s level %s: %d polygons hold %.1f%% of the streets", kind,
                     chosen["admin_level"].iloc[0] if kind == "osm" else "file", len(chosen), 100 * share)
            if share >= options.min_share:
                out = gpd.GeoDataFrame(
                    {
                        "district_id": chosen["district_id"].astype(str).to_numpy(),
                        "name": chosen["name"].fillna("").astype(str).to_numpy(),
                        "unit": kind,
                        "admin_level": chosen["admin_level"].astype("float64").to_numpy(),
                        "area_km2": chosen.geometry.area.to_numpy() / 1e6,
                    },
                    geometry=chosen.geometry.to_numpy(),
                    crs=districts.crs,
                )
                log.info("report units: %d districts (%s)", len(out), kind)
                return out
        log.warning(
            "no district level holds %.0f%% of the streets: reporting on a %g m grid instead",
            100 * options.min_share, options.cell_m,
        )
    extent = [g for g in (lines, *(_geoms(p) for p in points)) if len(g)]
    if not extent:
        return gpd.GeoDataFrame(
            {c: [] for c in UNIT_COLUMNS}, geometry=gpd.GeoSeries([], crs=roads.crs), crs=roads.crs
        )
    bounds = shapely.total_bounds(np.concatenate(extent))
    grid = square_grid(tuple(float(b) for b in bounds), cell_m=options.cell_m, crs=roads.crs)  # type: ignore[arg-type]
    cells = _geoms(grid)
    used = np.zeros(len(grid), dtype=bool)
    if len(lines):
        _, (_, unit_idx, length) = _split_lines(lines, cells)
        used[unit_idx[length > 0]] = True  # a street only touching a cell's corner does not count
    for g in extent[1:]:
        idx = _assign_points(g, cells)
        used[idx[idx >= 0]] = True
    grid = grid.loc[used].reset_index(drop=True)
    log.info("report units: %d grid cells of %g m", len(grid), options.cell_m)
    return grid


# ---------------------------------------------------------------------------------------------
# Measures


_Pieces = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]


def _split_lines(
    lines: npt.NDArray[np.object_], polygons: npt.NDArray[np.object_]
) -> tuple[npt.NDArray[np.float64], _Pieces]:
    """Length of each line inside the polygons, and the (line, polygon, length) pieces.

    A line on a shared boundary intersects both polygons: its pieces are scaled so that no line
    counts for more than its own length. A line inside a polygon (most streets of a district)
    counts whole; only lines crossing a boundary are cut, against the prepared polygon.
    """
    n = len(lines)
    if n == 0 or len(polygons) == 0:
        empty_i = np.empty(0, dtype=np.int64)
        return np.zeros(n), (empty_i, empty_i, np.empty(0))
    li, pi = shapely.STRtree(polygons).query(lines, predicate="intersects")
    li, pi = li.astype(np.int64), pi.astype(np.int64)
    own = shapely.length(lines)
    shapely.prepare(polygons)
    whole = shapely.contains_properly(polygons[pi], lines[li])
    length = own[li].copy()
    cut = np.flatnonzero(~whole)
    length[cut] = shapely.length(shapely.intersection(lines[li[cut]], polygons[pi[cut]]))
    per_line = np.bincount(li, weights=length, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(per_line > own, own / per_line, 1.0)
    length = length * scale[li]
    return np.minimum(per_line, own), (li, pi, length)


def _assign_points(
    points: npt.NDArray[np.object_], polygons: npt.NDArray[np.object_]
) -> npt.NDArray[np.int64]:
    """Index of the polygon holding each point (the first one on a shared boundary), -1 if none.

    Polygons and lines are represented by a point on their surface / their midpoint.
    """
    out = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(polygons) == 0:
        return out
    pts = _representative(points)
    ok = ~shapely.is_missing(pts) & ~shapely.is_empty(pts)
    idx = np.flatnonzero(ok)
    pi, ui = shapely.STRtree(polygons).query(pts[idx], predicate="intersects")
    order = np.lexsort((ui, pi))
    pi, ui = pi[order], ui[order]
    first = np.unique(pi, return_index=True)[1]
    out[idx[pi[first]]] = ui[first]
    return out


def _representative(geoms: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
    """Points stay; lines become their midpoint; polygons a point on their surface."""
    kind = shapely.get_type_id(geoms)
    out = np.array(geoms, dtype=object)
    lines = np.isin(kind, (1, 2, 5))
    if lines.any():
        out[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    polys = np.isin(kind, (3, 6, 7))
    if polys.any():
        out[polys] = shapely.point_on_surface(geoms[polys])
    return out


def district_of(frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> pd.Series:
    """The name of the report unit holding each feature (midpoint for lines, a point on polygons).

    Parameters
    ----------
    frame
        Any features in the units' CRS.
    units
        Report units (:func:`report_units`).

    Returns
    -------
    pandas.Series
        Unit names aligned with ``frame``; ``""`` outside every unit.
    """
    idx = _assign_points(_geoms(frame), _geoms(units))
    names = np.append(units["name"].astype(str).to_numpy(dtype=object), "")
    return pd.Series(names[idx], index=frame.index, name="district", dtype=object)


def _count(idx: npt.NDArray[np.int64], n: int, mask: npt.NDArray[np.bool_] | None = None,
           weights: npt.NDArray[np.float64] | None = None) -> npt.NDArray[np.float64]:
    """Sums per unit; index ``n`` (the last) collects what is outside every unit."""
    slot = np.where(idx >= 0, idx, n)
    w = np.ones(len(idx)) if weights is None else np.nan_to_num(np.asarray(weights, dtype=np.float64))
    if mask is not None:
        w = w * mask
    return np.bincount(slot, weights=w, minlength=n + 1).astype(np.float64)


@dataclass(frozen=True)
class _LineSums:
    """Lines cut once by the units, summed per unit for any value per metre."""

    n_units: int
    own: npt.NDArray[np.float64]
    inside: npt.NDArray[np.float64]
    pieces: _Pieces

    @classmethod
    def of(cls, lines: npt.NDArray[np.object_], polygons: npt.NDArray[np.object_]) -> _LineSums:
        inside, pieces = _split_lines(lines, polygons)
        return cls(len(polygons), shapely.length(lines) if len(lines) else np.zeros(0), inside, pieces)

    def __call__(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Per unit (plus 'outside' last): sum over line pieces of piece length × value per metre."""
        n = self.n_units
        li, pi, length = self.pieces
        out = np.bincount(pi, weights=length * values[li], minlength=n) if n else np.zeros(0)
        outside = float(((self.own - self.inside) * values).sum()) if len(self.own) else 0.0
        return np.append(out, max(outside, 0.0))


def _needs_hydrants(frame: pd.DataFrame) -> npt.NDArray[np.float64]:
    """1.0 per row of a roads or pieces table that needs hydrants (column ``needs_hydrants``,
    :func:`routing.coverage.roads_needing_hydrants`), 0.0 otherwise; all 1.0 without it."""
    if "needs_hydrants" not in frame.columns:
        return np.ones(len(frame))
    return frame["needs_hydrants"].to_numpy(dtype=bool).astype(np.float64)


def aggregate_districts(
    units: gpd.GeoDataFrame,
    inputs: DistrictInputs,
    *,
    thresholds: GradeThresholds | None = None,
) -> gpd.GeoDataFrame:
    """Add up every result per report unit and grade each unit for water shortage.

    Parameters
    ----------
    units
        Report units (:func:`report_units`).
    inputs
        The result tables (:class:`DistrictInputs`).
    thresholds
        The grading rule.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per unit with :data:`DISTRICT_COLUMNS`, plus an ``outside`` row (no geometry)
        when some street length or feature lies outside every administrative district.
        Percentages are in percent (0–100); money in yuan; lengths in km.
    """
    polys = _geoms(units)
    n = len(polys)
    cols, street, uncovered = _street_columns(polys, inputs)
    cols.update(_hydrant_columns(polys, inputs.hydrants))
    cols.update(_building_columns(polys, inputs.buildings))
    if not inputs.hydrant_data:  # no hydrant in the data: nothing measured against hydrants
        for c in ("covered_km", "uncovered_km", "covered_pct", "uncovered_pct",
                  "high_rise_flow_deficit", "high_rise_no_water", "class1_no_water"):
            cols[c] = np.full(n + 1, np.nan)
    _blockage_columns(cols, inputs.blockages, polys)
    _proposed_columns(cols, inputs.proposed, polys, street, uncovered)
    out = _district_frame(
        units, polys, pd.DataFrame(cols), street_outside_m=float(street[n]), inputs=inputs,
        thresholds=thresholds,
    )
    log.info(
        "district summary: %d units, %s", len(out),
        ", ".join(f"{g} {int((out['grade'] == g).sum())}" for g in GRADES),
    )
    return out


def _street_columns(
    polys: npt.NDArray[np.object_], inputs: DistrictInputs
) -> tuple[dict[str, Any], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Street length, hydrant coverage and response per unit (plus 'outside' last); also the
    street and uncovered metres (for the proposal columns)."""
    n = len(polys)
    roads = inputs.roads
    road_lines = _geoms(roads)
    by_road = _LineSums.of(road_lines, polys)
    if inputs.pieces is not None and len(inputs.pieces):
        by_piece = _LineSums.of(_geoms(inputs.pieces), polys)
        needs = _needs_hydrants(inputs.pieces)
        street = by_piece(needs)
        uncovered = by_piece(needs * ~inputs.pieces["covered"].to_numpy(dtype=bool))
    else:
        needs = _needs_hydrants(roads)
        street = by_road(needs)
        own = by_road.own
        frac = np.divide(
            roads["uncovered_m"].to_numpy(dtype=np.float64), own, out=np.zeros(len(own)), where=own > 0
        ) if len(road_lines) else np.zeros(0)
        uncovered = by_road(frac * needs)
    cols: dict[str, Any] = {}
    cols["street_km"] = street / 1000.0
    cols["uncovered_km"] = uncovered / 1000.0
    cols["covered_km"] = (street - uncovered) / 1000.0
    safe = np.where(street > 0, street, 1.0)
    cols["covered_pct"] = np.where(street > 0, 100.0 * (street - uncovered) / safe, np.nan)
    cols["uncovered_pct"] = np.where(street > 0, 100.0 * uncovered / safe, np.nan)
    if inputs.response_limit_s is not None and len(road_lines):
        ok = (roads["response_s"].to_numpy(dtype=np.float64) <= inputs.response_limit_s).astype(np.float64)
        road_total = by_road(np.ones(len(road_lines)))
        within = by_road(ok)
        safe_total = np.where(road_total > 0, road_total, 1.0)
        cols["response_within_km"] = within / 1000.0
        cols["response_within_pct"] = np.where(road_total > 0, 100.0 * within / safe_total, np.nan)
    else:
        cols["response_within_km"] = np.full(n + 1, np.nan)
        cols["response_within_pct"] = np.full(n + 1, np.nan)
    return cols, street, uncovered


def _hydrant_columns(polys: npt.NDArray[np.object_], h: gpd.GeoDataFrame) -> dict[str, Any]:
    """Hydrants per unit, in all and by status."""
    n = len(polys)
    h_idx = _assign_points(_geoms(h), polys)
    status = h["status"].fillna("unknown").astype(str).to_numpy() if len(h) else np.empty(0, dtype=object)
    cols: dict[str, Any] = {"hydrants_total": _count(h_idx, n)}
    for s in HYDRANT_STATUSES:
        cols[f"hydrants_{s}"] = _count(h_idx, n, status == s)
    return cols


def _building_columns(polys: npt.NDArray[np.object_], b: gpd.GeoDataFrame) -> dict[str, Any]:
    """High-rises per unit: by class, short of water or flow, and with non-compliant access."""
    n = len(polys)
    b_idx = _assign_points(_geoms(b), polys)
    cls = b["high_rise_class"].astype(str).to_numpy() if len(b) else np.empty(0, dtype=object)
    high = np.isin(cls, ("class1", "class2"))
    no_water = (b["hydrants_in_range"].to_numpy() == 0) if len(b) else np.zeros(0, dtype=bool)
    deficit = np.nan_to_num(b["flow_deficit_lps"].to_numpy(dtype=np.float64)) > 0 if len(b) else no_water
    cols: dict[str, Any] = {}
    cols["high_rise_class1"] = _count(b_idx, n, cls == "class1")
    cols["high_rise_class2"] = _count(b_idx, n, cls == "class2")
    cols["high_rise_flow_deficit"] = _count(b_idx, n, high & deficit)
    cols["high_rise_no_water"] = _count(b_idx, n, high & no_water)
    cols["class1_no_water"] = _count(b_idx, n, (cls == "class1") & no_water)
    access = find_column(b, ACCESS_COLUMNS)
    if access is not None:
        bad = ~b[access].astype("boolean").fillna(True).to_numpy(dtype=bool)
        cols["high_rise_access_noncompliant"] = _count(b_idx, n, high & bad)
    else:
        cols["high_rise_access_noncompliant"] = np.full(n + 1, np.nan)
    return cols


def _district_frame(
    units: gpd.GeoDataFrame,
    polys: npt.NDArray[np.object_],
    table: pd.DataFrame,
    *,
    street_outside_m: float,
    inputs: DistrictInputs,
    thresholds: GradeThresholds | None,
) -> gpd.GeoDataFrame:
    """The units with their columns and grades; the 'outside' row kept only when something
    (street length, hydrants, high-rises, blockages, proposals) lies outside every unit."""
    n = len(polys)
    counts = [c for c in table.columns if c.startswith(("hydrants_", "high_rise_", "class1_", "blockages_"))
              or c == "proposed_hydrants"]
    base = pd.DataFrame(units[UNIT_COLUMNS]).reset_index(drop=True)
    outside = pd.DataFrame(
        {"district_id": [OUTSIDE_ID], "name": [""], "unit": ["outside"], "admin_level": [np.nan],
         "area_km2": [np.nan]}
    )
    frame = pd.concat([base, outside], ignore_index=True)
    for c in table.columns:
        frame[c] = table[c].to_numpy()
    for c in counts:
        if frame[c].notna().all():
            frame[c] = frame[c].round().astype(np.int64)
    frame = grade_districts(frame, thresholds=thresholds, hydrant_data=inputs.hydrant_data)
    geometry = np.concatenate([polys, np.array([None], dtype=object)])
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=units.crs), crs=units.crs)
    has_outside = (street_outside_m > 0.5) or any(
        out.loc[n, c] > 0 for c in ("hydrants_total", "high_rise_class1", "high_rise_class2",
                                      "blockages_total", "proposed_hydrants")
        if pd.notna(out.loc[n, c])
    )
    if not has_outside:
        out = out.iloc[:n]
    return out[[*DISTRICT_COLUMNS, "geometry"]].reset_index(drop=True)


def _blockage_columns(
    cols: dict[str, Any], blockages: gpd.GeoDataFrame | None, polys: npt.NDArray[np.object_]
) -> None:
    n = len(polys)
    if blockages is None:
        for c in ("blockages_total", "blockages_open", *(f"blockages_{s}" for s in BLOCKAGE_STATUSES),
                  "blockage_impact", "blockages_high_rise_cut"):
            cols[c] = np.full(n + 1, np.nan)
        return
    idx = _assign_points(_geoms(blockages), polys)
    status = (
        blockages["status"].fillna("reported").astype(str).to_numpy()
        if "status" in blockages else np.full(len(blockages), "reported", dtype=object)
    )
    cols["blockages_total"] = _count(idx, n)
    is_open = (
        blockages["open"].fillna(False).to_numpy(dtype=bool) if "open" in blockages
        else np.isin(status, OPEN_BLOCKAGE_STATUSES)
    )
    cols["blockages_open"] = _count(idx, n, is_open)
    for s in BLOCKAGE_STATUSES:
        cols[f"blockages_{s}"] = _count(idx, n, status == s)
    impact = find_column(blockages, IMPACT_COLUMNS)
    cols["blockage_impact"] = (
        _count(idx, n, weights=blockages[impact].to_numpy(dtype=np.float64))
        if impact is not None else np.full(n + 1, np.nan)
    )
    cols["blockages_high_rise_cut"] = (
        _count(idx, n, np.nan_to_num(blockages["high_rises_cut"].to_numpy(dtype=np.float64)) > 0)
        if "high_rises_cut" in blockages else np.full(n + 1, np.nan)
    )


def _proposed_columns(
    cols: dict[str, Any],
    proposed: gpd.GeoDataFrame | None,
    polys: npt.NDArray[np.object_],
    street: npt.NDArray[np.float64],
    uncovered: npt.NDArray[np.float64],
) -> None:
    n = len(polys)
    nan = np.full(n + 1, np.nan)
    if proposed is None:
        for c in ("proposed_hydrants", "proposed_cost_yuan", "proposed_gain_km", "gain_m_per_10k_yuan",
                  "covered_pct_after"):
            cols[c] = nan.copy()
        return
    idx = _assign_points(_geoms(proposed), polys)
    cols["proposed_hydrants"] = _count(idx, n)
    cost_col = find_column(proposed, COST_COLUMNS)
    gain_col = find_column(proposed, GAIN_COLUMNS)
    cost = (
        _count(idx, n, weights=proposed[cost_col].to_numpy(dtype=np.float64))
        if cost_col is not None else nan.copy()
    )
    cols["proposed_cost_yuan"] = cost
    if gain_col is None:
        cols["proposed_gain_km"] = nan.copy()
        cols["gain_m_per_10k_yuan"] = nan.copy()
        cols["covered_pct_after"] = nan.copy()
        return
    gain = _count(idx, n, weights=proposed[gain_col].to_numpy(dtype=np.float64))
    gain = np.minimum(gain, uncovered)  # a gain credited to a unit never exceeds its gap
    cols["proposed_gain_km"] = gain / 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["gain_m_per_10k_yuan"] = np.where(cost > 0, gain / cost * 10_000.0, np.nan)
        cols["covered_pct_after"] = np.where(street > 0, 100.0 * (street - uncovered + gain) / street, np.nan)


# ---------------------------------------------------------------------------------------------
# Grades


def grade_districts(
    table: pd.DataFrame, *, thresholds: GradeThresholds | None = None, hydrant_data: bool = True
) -> pd.DataFrame:
    """Grade each district 严重 / 较重 / 一般 (``severe`` / ``significant`` / ``general``).

    Parameters
    ----------
    table
        Needs ``street_km``, ``uncovered_pct``, ``class1_no_water``, ``high_rise_flow_deficit`` and
        ``high_rise_no_water``.
    thresholds
        The rule (see the module docstring); default :class:`GradeThresholds`.
    hydrant_data
        False when the data holds no hydrant: no district is graded (``not_computed``, basis
        ``no_hydrant_data``), since every street would look uncovered for want of data.

    Returns
    -------
    pandas.DataFrame
        A copy with ``grade`` and ``grade_basis`` (the reasons that decided the grade, ``;``-separated:
        ``uncovered_severe``, ``class1_no_water``, ``uncovered_significant``,
        ``high_rise_water``, or ``none``).
    """
    t = thresholds or GradeThresholds()
    out = table.copy()
    long_enough = out["street_km"].fillna(0).to_numpy() >= t.min_street_km
    unc = out["uncovered_pct"].fillna(0).to_numpy()
    class1 = (out["class1_no_water"].fillna(0).to_numpy() > 0) & t.class1_without_water_is_severe
    hr = (
        (out["high_rise_flow_deficit"].fillna(0).to_numpy() > 0)
        | (out["high_rise_no_water"].fillna(0).to_numpy() > 0)
    ) & t.high_rise_water_is_significant
    sev_unc = long_enough & (unc >= t.severe_uncovered_pct)
    sig_unc = long_enough & (unc >= t.significant_uncovered_pct)
    severe = sev_unc | class1
    significant = ~severe & (sig_unc | hr)
    grade = np.where(severe, "severe", np.where(significant, "significant", "general"))
    basis = []
    for i in range(len(out)):
        if severe[i]:
            pairs = (("uncovered_severe", sev_unc[i]), ("class1_no_water", class1[i]))
            reasons = [r for r, on in pairs if on]
        elif significant[i]:
            pairs = (("uncovered_significant", sig_unc[i]), ("high_rise_water", hr[i]))
            reasons = [r for r, on in pairs if on]
        else:
            reasons = ["none"]
        basis.append(";".join(reasons))
    out["grade"] = grade.astype(object)
    out["grade_basis"] = basis
    if not hydrant_data:
        out["grade"] = NOT_GRADED
        out["grade_basis"] = "no_hydrant_data"
    return out


def grade_counts(table: pd.DataFrame) -> dict[str, Any]:
    """The ``districts`` section of ``summary.json``: units and how many of each grade.

    The ``outside`` row is not a district: it is not counted, and its street length is given as
    ``outside_street_km`` when present.
    """
    real = table.loc[table["district_id"] != OUTSIDE_ID]
    out: dict[str, Any] = {"total": len(real)}
    for g in GRADES:
        out[g] = int((real["grade"] == g).sum())
    if (table["grade"] == NOT_GRADED).any():
        # not graded (no hydrant data): the grade counts are not computed, never 0
        out.update({g: None for g in GRADES})
        out[NOT_GRADED] = len(real)
    units = sorted(set(real["unit"].astype(str)))
    out["unit"] = units[0] if len(units) == 1 else ",".join(units)
    outside = table.loc[table["district_id"] == OUTSIDE_ID]
    if len(outside):
        out["outside_street_km"] = round(float(outside["street_km"].iloc[0]), 3)
    return out


def district_summary(
    layers: Layers,
    analysis: Analysis,
    *,
    blockages: gpd.GeoDataFrame | None = None,
    proposed: gpd.GeoDataFrame | None = None,
    options: DistrictOptions | None = None,
) -> gpd.GeoDataFrame:
    """Report units for a workspace and every result added up and graded per unit.

    Parameters
    ----------
    layers
        The workspace layers (for ``districts`` and the extent).
    analysis
        The network analysis (:func:`routing.analysis.analyze`).
    blockages, proposed
        Optional blockage points and proposed hydrants, in the working CRS.
    options
        Grid size, admin-level choice and grading rule.

    Returns
    -------
    geopandas.GeoDataFrame
        See :func:`aggregate_districts`.
    """
    options = options or DistrictOptions()
    inputs = DistrictInputs.from_analysis(analysis, blockages=blockages, proposed=proposed)
    units = report_units(
        layers.districts, roads=inputs.roads,
        points=(inputs.hydrants, inputs.buildings, blockages, proposed), options=options,
    )
    return aggregate_districts(units, inputs, thresholds=options.thresholds)

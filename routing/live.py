"""Live hydrant updates: the analysis recomputed for the affected area, equal to a full run.

When an inspector reports a hydrant in or out of service, only the streets and buildings that
hydrant can reach change. :func:`recompute_area` finds them and recomputes exactly those with the
functions of :mod:`routing.coverage` and :mod:`routing.water`:

* **Affected edges**: edges with a point within the protection radius ``R`` of a changed hydrant
  (hose-lay distance: one bounded Dijkstra from the changed hydrants; straight-line method: an
  STRtree query).
* **Relevant hydrants**: the hydrants whose reach overlaps the affected edges (one bounded
  Dijkstra from the affected edges' nodes). Any hose path to a point of an affected edge enters
  the edge through an end node or starts on the edge, so no other hydrant covers any of it; the
  coverage of the affected edges from the relevant in-service hydrants alone is therefore the
  coverage a full run gives them. Node distances change only at nodes of affected edges.
* **Affected buildings**: buildings whose access point lies within the counting band (GB 50974
  6.1.5: 150 m hose-lay) of a changed hydrant; their hydrants, credited flow and deficit are
  recomputed against every hydrant with :func:`routing.water.building_water`.

The covered metres, intervals, node distances, coverage pieces (on a subgraph of the affected
edges) and building water are spliced into copies of the analysis (the inputs are not modified).
Underserved stretches and spacing gaps are merged street by street, so only the
streets through the affected edges (stretches) or of the changed hydrants (gaps) are recomputed
and spliced in, then re-ranked by one sort (:func:`splice_underserved`, :func:`splice_spacing`);
the affected buildings' water findings and ``flags`` are derived again and spliced in full-run
order, and the street findings and pump connectors re-derived
(:func:`refresh_water_findings` with ``buildings_changed``). The siting
proposal (the slow step) is not recomputed with the update: ``summary['live']['stale']`` says so
(:func:`stale_parts`) until the caller recomputes it (the served workspace does so in the
background: :class:`api.live.SitingRefresh`).

Each re-derivation shares its formula with the full run (:func:`routing.analysis.with_road_coverage`,
:func:`routing.analysis.flow_deficit`, :func:`routing.analysis.coverage_figures`,
:func:`routing.coverage.uncovered_stretches`, :func:`routing.coverage.rank_stretches`, ...), so that
the result equals what :func:`routing.analysis.analyze` gives on the new state, row for row.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.catalog import LayerName
from geo.layers import Layers
from geo.presets import Preset
from routing.analysis import (
    SITING_LAYERS,
    Analysis,
    AnalysisOptions,
    building_flags,
    building_water_figures,
    building_water_findings,
    building_water_options,
    coverage_figures,
    findings_summary,
    flow_deficit,
    hydrant_credit,
    street_water_findings,
    with_road_coverage,
    with_rule,
)
from routing.building_systems import (
    CONNECTOR_RESULT_COLUMNS,
    connector_findings,
    connector_summary,
    connector_water,
)
from routing.coverage import (
    _UNDERSERVED_COLUMNS,
    CoverageResult,
    _empty_underserved,
    coverage_pieces,
    hydrant_coverage,
    multi_source_distance,
    rank_stretches,
    splice_coverage,
    street_keys,
    uncovered_stretches,
)
from routing.findings import concat_findings
from routing.graph import StreetGraph
from routing.quality import with_hydrant_quality
from routing.snap import SnapResult
from routing.spacing import _COLUMNS as _SPACING_COLUMNS
from routing.spacing import spacing_gaps
from routing.water import AccessPoints, building_water

log = logging.getLogger(__name__)


def edge_subgraph(graph: StreetGraph, rows: np.ndarray) -> StreetGraph:
    """The edges ``rows`` (sorted) of ``graph`` as a graph of their own (per-edge outputs only)."""
    return dataclasses.replace(
        graph,
        u_idx=graph.u_idx[rows], v_idx=graph.v_idx[rows], length_m=graph.length_m[rows],
        edge_id=graph.edge_id[rows], geometry=graph.geometry[rows],
        roads=graph.roads.iloc[rows], tree=shapely.STRtree(graph.geometry[rows]),
    )


def _name_codes(names: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's code among the distinct names (one hashing pass), the codes whose stripped
    name is empty and the stripped distinct names."""
    codes, distinct = pd.factorize(pd.Series(np.asarray(names, dtype=object)), use_na_sentinel=False)
    stripped = pd.Series(distinct, dtype=object).fillna("").astype(str).str.strip().to_numpy()
    return codes, np.flatnonzero(stripped == ""), stripped


def _street_rows(pieces: gpd.GeoDataFrame, keys: set[str]) -> np.ndarray:
    """Positions of the rows of ``pieces`` whose street key is in ``keys``.

    Strips only the distinct names (a few thousand) rather than every row.
    """
    codes, blank, stripped = _name_codes(pieces["name"].to_numpy(dtype=object))
    named = {k[5:] for k in keys if k.startswith("name/")}
    ways = [int(k[4:]) for k in keys if k.startswith("way/")]
    hit = np.isin(codes, np.flatnonzero(np.isin(stripped, list(named))))
    if ways:
        unnamed = np.isin(codes, blank)
        hit = hit | unnamed & np.isin(pieces["way_id"].to_numpy(dtype=np.int64), ways)
    return np.flatnonzero(hit)


class _EdgeStreets:
    """Each edge's street (:func:`routing.coverage.street_keys`: its stripped name, or its way
    when unnamed) as an integer code, made once per graph: a live update then finds a street's
    edges (or coverage pieces) with integer compares instead of hashing a million names."""

    def __init__(self, roads: pd.DataFrame, edge_id: np.ndarray | None = None) -> None:
        name_code, blank, stripped = _name_codes(roads["name"].to_numpy(dtype=object))
        named_code, self.names = pd.factorize(stripped)  # one code per distinct stripped name
        code = named_code[name_code]
        unnamed = np.isin(name_code, blank)
        way_code, self.ways = pd.factorize(roads["way_id"].to_numpy(dtype=np.int64)[unnamed])
        code[unnamed] = len(self.names) + way_code
        self.code = code
        self.name_index = pd.Index(self.names)
        self.way_index = pd.Index(self.ways)
        #: The graph's edge ids ascending (as built): a piece's edge row is a binary search away.
        self.ids_sorted = (edge_id is not None and len(edge_id) > 0
                           and bool((np.diff(edge_id) > 0).all()))

    def codes_of(self, keys: set[str]) -> np.ndarray:
        """The codes of street ``keys`` (``name/…`` or ``way/…``; unknown keys are left out)."""
        named = [k[5:] for k in keys if k.startswith("name/")]
        ways = [int(k[4:]) for k in keys if k.startswith("way/")]
        a = self.name_index.get_indexer(pd.Index(named, dtype=object))
        b = self.way_index.get_indexer(np.asarray(ways, dtype=np.int64))
        return np.concatenate([a[a >= 0], len(self.names) + b[b >= 0]])

    def rows(self, keys: set[str]) -> np.ndarray:
        """Roads rows of the streets ``keys``."""
        return np.flatnonzero(np.isin(self.code, self.codes_of(keys)))


_EDGE_STREETS: weakref.WeakKeyDictionary[StreetGraph, _EdgeStreets] = weakref.WeakKeyDictionary()
_EDGE_STREETS_LOCK = threading.Lock()


def edge_streets(graph: StreetGraph) -> _EdgeStreets:
    """The street codes of ``graph``'s edges (made on first use, kept while the graph lives)."""
    with _EDGE_STREETS_LOCK:
        found = _EDGE_STREETS.get(graph)
        if found is None:
            found = _EDGE_STREETS[graph] = _EdgeStreets(graph.roads, graph.edge_id)
        return found


def _piece_rows(graph: StreetGraph, pieces: pd.DataFrame, keys: set[str]) -> np.ndarray:
    """Positions of the coverage pieces on the streets ``keys``, through their edges' codes."""
    streets = edge_streets(graph)
    if not streets.ids_sorted:
        return _street_rows(pieces, keys)  # ids not sorted: by the pieces' own names
    edge_id = graph.edge_id
    piece_edge = pieces["edge_id"].to_numpy(dtype=np.int64)
    pos = np.minimum(np.searchsorted(edge_id, piece_edge), len(edge_id) - 1)
    if not bool((edge_id[pos] == piece_edge).all()):
        return _street_rows(pieces, keys)
    return np.flatnonzero(np.isin(streets.code[pos], streets.codes_of(keys)))


def _stretch_keys(frame: pd.DataFrame) -> np.ndarray:
    """Street key of each stretch of an underserved layer (name, or its one way when unnamed)."""
    first_way = pd.Series(
        [w[0] if len(w) else -1 for w in frame["way_ids"]], dtype=np.int64
    )
    return street_keys(pd.Series(frame["name"].to_numpy(dtype=object)), first_way)


def _on_streets(frame: pd.DataFrame, keys: set[str]) -> np.ndarray:
    """Which stretches of an underserved layer lie on the streets ``keys``.

    Only the unnamed stretches' ways are looked at (a named stretch's key is its name).
    """
    codes, blank, stripped = _name_codes(frame["name"].to_numpy(dtype=object))
    named = {k[5:] for k in keys if k.startswith("name/")}
    hit = np.isin(codes, np.flatnonzero(np.isin(stripped, list(named))))
    unnamed = np.flatnonzero(np.isin(codes, blank))
    if len(unnamed):
        hit[unnamed] = np.isin(_stretch_keys(frame.iloc[unnamed]), list(keys))
    return hit


def _first_uncovered(pieces: gpd.GeoDataFrame, keys: np.ndarray) -> np.ndarray:
    """Position in ``pieces`` of the first uncovered piece of each street key in ``keys``."""
    rows = _street_rows(pieces, set(keys.tolist()))
    sub = pieces.iloc[rows]
    unc = ~sub["covered"].to_numpy(dtype=bool)
    if "needs_hydrants" in sub.columns:
        unc &= sub["needs_hydrants"].to_numpy(dtype=bool)
    rows, sub = rows[unc], sub.loc[unc]
    first = pd.Series(rows).groupby(street_keys(sub["name"], sub["way_id"])).min()
    return first.reindex(keys).to_numpy(dtype=np.int64)


def splice_underserved(
    underserved: gpd.GeoDataFrame,
    pieces: gpd.GeoDataFrame,
    edge_ids: np.ndarray,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    frontage_m: float = 30.0,
    graph: StreetGraph | None = None,
) -> gpd.GeoDataFrame:
    """Underserved stretches after the pieces of ``edge_ids`` changed, recomputed street by street.

    Parameters
    ----------
    underserved
        The current layer (:func:`routing.coverage.underserved_segments` of the old pieces;
        extra columns such as the rule's are dropped).
    pieces
        The new coverage pieces (sorted as :func:`routing.coverage.coverage_pieces` gives them).
    edge_ids
        Ids of the edges whose pieces changed.
    buildings, frontage_m
        As for :func:`routing.coverage.underserved_segments`.
    graph
        The street graph the pieces were cut from: its edges' street codes find the streets'
        pieces (the same rows as by the pieces' names, faster on a big network).

    Returns
    -------
    geopandas.GeoDataFrame
        Equal, row for row, to ``underserved_segments(pieces, buildings=..., frontage_m=...)``:
        only the streets (same name, or same way when unnamed) through the changed edges are
        merged again, and the whole layer is re-ranked by one sort.
    """
    changed = pieces.iloc[np.flatnonzero(np.isin(pieces["edge_id"].to_numpy(), edge_ids))]
    keys = set(street_keys(changed["name"], changed["way_id"]).tolist())
    old = underserved[[*_UNDERSERVED_COLUMNS, "geometry"]]
    if len(old):
        old = old.iloc[np.flatnonzero(~_on_streets(old, keys))]
    rows = _street_rows(pieces, keys) if graph is None else _piece_rows(graph, pieces, keys)
    found = uncovered_stretches(pieces.iloc[rows], buildings=buildings, frontage_m=frontage_m)
    if found is None:
        fresh, fresh_first = _empty_underserved(pieces.crs), np.empty(0, dtype=np.int64)
    else:
        fresh, street, first_local = found
        fresh_first = rows[first_local][street]
    log.info(
        "underserved: %d street(s) recomputed, %d stretch(es) kept",
        len(keys), len(old),
    )
    if len(fresh) == 0 and len(old) == 0:
        return _empty_underserved(pieces.crs)
    if len(fresh) == 0:
        return rank_stretches(old.reset_index(drop=True), np.arange(len(old)))
    if len(old) == 0:
        return rank_stretches(fresh, np.arange(len(fresh)))

    # A full run breaks ties in (length, high-rises) by street (first uncovered piece), then
    # merge order. Kept stretches keep their relative order; only those tied with a fresh one
    # need their street's position.
    first = np.concatenate([np.zeros(len(old), dtype=np.int64), fresh_first])
    pair_old = pd.MultiIndex.from_arrays([old["length_m"], old["n_high_rises"]])
    pair_new = pd.MultiIndex.from_arrays([fresh["length_m"], fresh["n_high_rises"]])
    tied = np.flatnonzero(pair_old.isin(pair_new))
    if len(tied):
        first[tied] = _first_uncovered(pieces, _stretch_keys(old.iloc[tied]))
    within = np.concatenate([np.arange(len(old)), np.arange(len(fresh))])
    frame = pd.concat([old, fresh], ignore_index=True)
    frame = gpd.GeoDataFrame(frame, geometry="geometry", crs=pieces.crs)
    tie = np.lexsort((within, first))
    key = np.empty(len(tie), dtype=np.int64)
    key[tie] = np.arange(len(tie))
    return rank_stretches(frame, key)


def splice_spacing(
    gaps: gpd.GeoDataFrame,
    graph: StreetGraph,
    hydrant_snaps: SnapResult,
    changed: np.ndarray,
    *,
    max_spacing_m: float = 120.0,
    in_service: np.ndarray | None = None,
    needs_hydrants: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Spacing gaps after the hydrants ``changed`` changed status, recomputed street by street.

    Parameters
    ----------
    gaps
        The current layer (:func:`routing.spacing.spacing_gaps` before the change; extra columns
        such as the rule's are dropped).
    graph, hydrant_snaps, max_spacing_m, in_service, needs_hydrants
        As for :func:`routing.spacing.spacing_gaps`, describing the new state.
    changed
        Rows of ``hydrant_snaps`` whose status changed.

    Returns
    -------
    geopandas.GeoDataFrame
        Equal, row for row, to ``spacing_gaps(graph, hydrant_snaps, ...)`` on the new state: gaps
        are measured along each street (same name, or same way when unnamed) on its own, so only
        the streets of the changed hydrants are measured again.
    """
    old = gaps[[*_SPACING_COLUMNS, "geometry"]]
    changed = np.asarray(changed, dtype=np.int64)
    edges = hydrant_snaps.edge[changed]
    edges = np.unique(edges[edges >= 0])
    if len(edges) == 0:
        return old.reset_index(drop=True)
    streets = edge_streets(graph)  # the changed hydrants' streets, by their edges' codes
    codes = np.unique(streets.code[edges])
    rows = np.flatnonzero(np.isin(streets.code, codes))
    local = np.full(graph.n_edges, -1, dtype=np.int64)
    local[rows] = np.arange(len(rows))
    # Every hydrant keeps its index; those off the streets measured again take no part.
    h_edge = np.where(hydrant_snaps.snapped, local[np.maximum(hydrant_snaps.edge, 0)], -1)
    sub_snaps = dataclasses.replace(hydrant_snaps, edge=h_edge)
    fresh = spacing_gaps(
        edge_subgraph(graph, rows), sub_snaps, max_spacing_m=max_spacing_m,
        in_service=in_service,
        needs_hydrants=None if needs_hydrants is None else np.asarray(needs_hydrants)[rows],
    )
    if len(old):
        from_edge = hydrant_snaps.edge[old["from_hydrant"].to_numpy(dtype=np.int64)]
        old = old.iloc[np.flatnonzero(local[from_edge] < 0)]
    log.info("spacing: %d street(s) measured again, %d gap(s) kept", len(codes), len(old))
    if len(old) == 0:
        return fresh
    if len(fresh) == 0:
        return old.reset_index(drop=True)
    frame = pd.concat([old, fresh], ignore_index=True)
    order = np.lexsort((frame["from_hydrant"].to_numpy(dtype=np.int64),
                        -frame["gap_m"].to_numpy(dtype=float)))
    out = frame.iloc[order].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=graph.crs)


# --------------------------------------------------------------------------------------------
# the recompute

#: Result layers a live update recomputes.
RECOMPUTED = frozenset({
    LayerName.ROADS_ANALYSIS, LayerName.COVERAGE_PIECES, LayerName.UNDERSERVED_SEGMENTS,
    LayerName.SPACING_GAPS, LayerName.BUILDINGS_ANALYSIS, LayerName.BUILDING_HYDRANTS,
    LayerName.HYDRANTS_ANALYSIS, LayerName.PUMP_CONNECTORS_ANALYSIS,
})
#: Result layers that do not depend on hydrant status (the blockage ranking counts hydrants
#: trucks can no longer reach whatever their status).
STATUS_INDEPENDENT = frozenset({
    LayerName.STATION_AREAS, LayerName.HIGH_RISE_ACCESS, LayerName.DEAD_END_LANES,
    LayerName.BLOCKAGES_RANKED, LayerName.CRITICAL_LANES, LayerName.NO_PARKING_ZONES,
})

@dataclass(frozen=True, eq=False)
class AreaUpdate:
    """What :func:`recompute_area` recomputed.

    Attributes
    ----------
    hydrants
        Rows of the hydrants whose record changed (status or pressure).
    status_changed
        Rows of the hydrants whose status changed (the ones that drive the recomputation).
    edges
        Roads rows of the affected edges.
    buildings
        Buildings rows of the affected buildings.
    relevant_hydrants
        Number of hydrants whose reach overlaps the affected edges.
    """

    hydrants: np.ndarray
    status_changed: np.ndarray
    edges: np.ndarray
    buildings: np.ndarray
    relevant_hydrants: int



# --------------------------------------------------------------------------------------------
# the affected area


def _edge_reach(
    graph: StreetGraph, snaps: SnapResult, rows: np.ndarray, *, limit_m: float
) -> np.ndarray:
    """Hose-lay distance from the hydrants ``rows`` (snapped ones) to every node."""
    rows = rows[snaps.edge[rows] >= 0]
    e = snaps.edge[rows]
    pos, off = snaps.position_m[rows], snaps.offset_m[rows]
    seeds = np.concatenate([graph.u_idx[e], graph.v_idx[e]])
    initial = np.concatenate([off + pos, off + graph.length_m[e] - pos])
    return multi_source_distance(graph, seeds, initial, limit_m=limit_m)


def _valid_points(points: np.ndarray) -> np.ndarray:
    valid = ~shapely.is_missing(points)
    valid[valid] = ~shapely.is_empty(points[valid])
    return valid


def affected_edges(
    graph: StreetGraph,
    snaps: SnapResult,
    rows: np.ndarray,
    *,
    radius_m: float,
    method: str,
    points: np.ndarray,
) -> np.ndarray:
    """Bool per edge: a point of the edge lies within ``radius_m`` of a hydrant in ``rows``.

    ``network``: hose-lay distance (snap offset plus street distance); ``straight``: straight-line
    distance from the hydrant points.
    """
    mask = np.zeros(graph.n_edges, dtype=bool)
    if len(rows) == 0:
        return mask
    if method == "straight":
        rows = rows[_valid_points(points[rows])]
        _, edges = graph.tree.query(points[rows], predicate="dwithin", distance=radius_m)
        mask[edges] = True
        return mask
    dist = _edge_reach(graph, snaps, rows, limit_m=radius_m)
    mask |= (dist[graph.u_idx] <= radius_m) | (dist[graph.v_idx] <= radius_m)
    on = rows[(snaps.edge[rows] >= 0) & (snaps.offset_m[rows] <= radius_m)]
    mask[snaps.edge[on]] = True
    return mask


def relevant_hydrants(
    graph: StreetGraph,
    snaps: SnapResult,
    edges: np.ndarray,
    *,
    radius_m: float,
    method: str,
    points: np.ndarray,
) -> np.ndarray:
    """Bool per hydrant: its reach (``radius_m``) overlaps one of the edges in the mask."""
    n = len(snaps)
    rows = np.flatnonzero(edges)
    if len(rows) == 0:
        return np.zeros(n, dtype=bool)
    if method == "straight":
        valid = np.flatnonzero(_valid_points(points))
        tree = shapely.STRtree(graph.geometry[rows])
        hits, _ = tree.query(points[valid], predicate="dwithin", distance=radius_m)
        out = np.zeros(n, dtype=bool)
        out[valid[hits]] = True
        return out
    seeds = np.concatenate([graph.u_idx[rows], graph.v_idx[rows]])
    dist = multi_source_distance(graph, seeds, np.zeros(len(seeds)), limit_m=radius_m)
    snapped = snaps.edge >= 0
    e = np.where(snapped, snaps.edge, 0)
    L = graph.length_m[e]
    via_nodes = snaps.offset_m + np.minimum(
        dist[graph.u_idx[e]] + snaps.position_m, dist[graph.v_idx[e]] + L - snaps.position_m
    )
    return snapped & ((via_nodes <= radius_m) | edges[e])


def affected_buildings(
    graph: StreetGraph,
    snaps: SnapResult,
    rows: np.ndarray,
    buildings: pd.DataFrame,
    *,
    radius_m: float,
) -> np.ndarray:
    """Rows of the buildings whose access point is within ``radius_m`` (hose-lay) of a hydrant in
    ``rows``: the buildings for which those hydrants may count (GB 50974 6.1.5)."""
    rows = rows[snaps.edge[rows] >= 0]
    if len(rows) == 0:
        return np.empty(0, dtype=np.int64)
    dist = _edge_reach(graph, snaps, rows, limit_m=radius_m)
    edge = buildings["access_edge"].to_numpy(dtype=np.int64)
    ok = edge >= 0
    e = np.where(ok, edge, 0)
    pos = buildings["access_position_m"].to_numpy(dtype=np.float64)
    off = np.nan_to_num(buildings["access_offset_m"].to_numpy(dtype=np.float64), nan=0.0)
    via_nodes = off + np.minimum(
        dist[graph.u_idx[e]] + pos, dist[graph.v_idx[e]] + graph.length_m[e] - pos
    )
    same_edge = np.isin(e, snaps.edge[rows])
    return np.flatnonzero(ok & ((via_nodes <= radius_m) | same_edge))


# --------------------------------------------------------------------------------------------
# splicing


def sort_pieces(pieces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Coverage pieces in the full run's order (by edge id, then start)."""
    order = np.lexsort((pieces["start_m"].to_numpy(), pieces["edge_id"].to_numpy()))
    return pieces.iloc[order].reset_index(drop=True)


def splice_runs(
    old: pd.DataFrame, old_keys: np.ndarray, fresh: pd.DataFrame, fresh_keys: np.ndarray,
    replaced: np.ndarray,
) -> pd.DataFrame:
    """``old`` with the rows of the keys ``replaced`` taken out and ``fresh`` put in their place.

    ``old_keys`` (one per row of ``old``) and ``fresh_keys`` must be non-decreasing, and every
    fresh key must be among ``replaced``; the result is in key order, each key's rows in their
    own order. Built from slices in one copy (no sort of the whole table), so it costs one pass
    over ``old`` whatever the number of keys replaced.
    """
    replaced = np.unique(np.asarray(replaced))
    lo = np.searchsorted(old_keys, replaced, side="left")
    hi = np.searchsorted(old_keys, replaced, side="right")
    f_lo = np.searchsorted(fresh_keys, replaced, side="left")
    f_hi = np.searchsorted(fresh_keys, replaced, side="right")
    parts: list[pd.DataFrame] = []
    start = 0
    for a, b, fa, fb in zip(lo.tolist(), hi.tolist(), f_lo.tolist(), f_hi.tolist(), strict=True):
        if a > start:
            parts.append(old.iloc[start:a])
        if fb > fa:
            parts.append(fresh.iloc[fa:fb])
        start = b
    if start < len(old) or not parts:
        parts.append(old.iloc[start:])
    return pd.concat(parts, ignore_index=True)


def _splice_pieces(
    graph: StreetGraph, old: gpd.GeoDataFrame, coverage: CoverageResult, rows: np.ndarray
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Coverage pieces with those of the edges ``rows`` rebuilt; also the rebuilt pieces alone."""
    sub = edge_subgraph(graph, rows)
    in_rows = np.zeros(graph.n_edges, dtype=bool)
    in_rows[rows] = True
    take = in_rows[coverage.interval_edge]
    local = np.searchsorted(rows, coverage.interval_edge[take])
    sub_cov = CoverageResult.from_intervals(
        radius_m=coverage.radius_m, method=coverage.method, length_m=sub.length_m,
        covered_m=coverage.covered_m[rows],
        intervals=(local, coverage.interval_start[take], coverage.interval_end[take]),
        n_hydrants=coverage.n_hydrants, needs_hydrants=coverage.counted[rows],
    )
    fresh = sort_pieces(coverage_pieces(sub, sub_cov))
    spliced = splice_runs(
        old, old["edge_id"].to_numpy(), fresh, fresh["edge_id"].to_numpy(), graph.edge_id[rows]
    )
    return gpd.GeoDataFrame(spliced, geometry="geometry", crs=old.crs), fresh


def _branch_groups(analysis: Analysis) -> np.ndarray | None:
    """Each hydrant's branch group as the analysis found it on its mains (None without mains),
    so that a live update keeps the branch rule of GB 50974 6.1.5(3)."""
    hyd = analysis.layers.get(LayerName.HYDRANTS_ANALYSIS)
    if hyd is None or "branch_group" not in hyd.columns:
        return None
    return hyd["branch_group"].to_numpy(dtype=np.int64)


def _splice_water(
    layers: Layers,
    analysis: Analysis,
    hydrants: gpd.GeoDataFrame,
    rows: np.ndarray,
    *,
    preset: Preset,
    options: AnalysisOptions,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Buildings' water and the building–hydrant pairs with the buildings ``rows`` recomputed."""
    old = analysis.layers[LayerName.BUILDINGS_ANALYSIS]
    old_pairs = analysis.layers[LayerName.BUILDING_HYDRANTS]
    if len(rows) == 0:
        return old, old_pairs
    per, pairs = building_water(
        analysis.graph, layers.buildings.geometry.iloc[rows],
        AccessPoints.from_columns(old.iloc[rows], max_access_m=options.access_distance_m),
        analysis.hydrant_snaps,
        hydrants.geometry, credited_lps=hydrant_credit(preset, hydrants),
        options=building_water_options(preset, options), branch_groups=_branch_groups(analysis),
    )
    out = old.copy(deep=False)  # copy on write: the unchanged columns stay shared
    for col in ("hydrants_in_range", "credited_flow_lps", "nearest_hydrant_m"):
        values = out[col].to_numpy().copy()
        values[rows] = per[col].to_numpy()
        out[col] = values
    out["flow_deficit_lps"] = flow_deficit(
        out["required_flow_lps"].to_numpy(dtype=np.float64),
        out["credited_flow_lps"].to_numpy(dtype=np.float64),
    )

    # The pairs are in building order, then hydrant order: the changed buildings' runs are
    # replaced in place (one copy, no sort of the whole layer).
    b_ids = layers.buildings["building_id"].astype(str).to_numpy(dtype=object)
    building_row = rows[pairs["building"].to_numpy(dtype=np.int64)]
    hydrant_row = pairs["hydrant"].to_numpy(dtype=np.int64)
    order = np.lexsort((hydrant_row, building_row))
    building_row, hydrant_row = building_row[order], hydrant_row[order]
    fresh = pd.DataFrame({
        "building_id": b_ids[building_row],
        "hydrant_id": hydrants["hydrant_id"].iloc[hydrant_row].astype(str).to_numpy(dtype=object),
        "distance_m": pairs["distance_m"].to_numpy(dtype=np.float64)[order],
        "credited_lps": pairs["credited_lps"].to_numpy(dtype=np.float64)[order],
    })
    for column in ("branch_group", "branch_capped", "uncapped_lps"):  # as a full run has them
        if column in pairs.columns and column in old_pairs.columns:
            fresh[column] = pairs[column].to_numpy()[order]
    old_rows = pd.Index(b_ids).get_indexer(old_pairs["building_id"].to_numpy(dtype=object))
    spliced = splice_runs(old_pairs, old_rows, fresh, building_row, rows)
    if len(spliced) == 0:  # no pair left: typed as a full run types an empty layer
        spliced = fresh
    return out, spliced


def _live_summary(
    summary: dict[str, Any],
    coverage: CoverageResult,
    buildings: pd.DataFrame,
    underserved: pd.DataFrame,
    spacing: pd.DataFrame,
    *,
    stale: list[str],
) -> dict[str, Any]:
    out = copy.deepcopy(summary)
    out["coverage"].update(coverage_figures(coverage, underserved, spacing))
    out["buildings"].update(building_water_figures(buildings))
    out["live"] = {"stale": stale}
    return out


#: The stale entry of the siting summary (see :func:`stale_parts`).
STALE_SITING = "summary.siting"


def stale_parts(layers: Mapping[str, object]) -> list[str]:
    """What a live update leaves as it was: the result layers it does not recompute that may
    depend on hydrant status (the siting proposal), and the siting summary with them.
    :class:`SitingRefresh` brings them up to date in the background."""
    others = sorted(set(layers) - RECOMPUTED - STATUS_INDEPENDENT)
    return [*others, STALE_SITING] if any(n in layers for n in SITING_LAYERS) else others


def recompute_area(
    layers: Layers,
    analysis: Analysis,
    hydrants: gpd.GeoDataFrame,
    *,
    preset: Preset,
    options: AnalysisOptions,
    changed: np.ndarray,
) -> tuple[Layers, Analysis, AreaUpdate]:
    """The layers and analysis with a new hydrants table, recomputed where it matters.

    Parameters
    ----------
    layers, analysis
        The current state (not modified).
    hydrants
        The new hydrants table (same rows and order as ``layers.hydrants``).
    preset, options
        What ``analysis`` was computed with.
    changed
        Rows of ``hydrants`` whose record differs from ``layers.hydrants``.

    Returns
    -------
    layers, analysis, update
        New :class:`~geo.layers.Layers` and :class:`~routing.analysis.Analysis` (sharing every
        unchanged object with the inputs) and what was recomputed.
    """
    graph, snaps = analysis.graph, analysis.hydrant_snaps
    changed = np.asarray(changed, dtype=np.int64)
    old_status = layers.hydrants["status"].to_numpy(dtype=object)
    new_status = hydrants["status"].to_numpy(dtype=object)
    moved = changed[old_status[changed] != new_status[changed]]
    new_layers = dataclasses.replace(layers, hydrants=hydrants)
    hyd_layer = analysis.layers[LayerName.HYDRANTS_ANALYSIS].copy(deep=False)  # copy on write
    for col in ("status", "pressure_mpa", "status_source"):
        if col in hydrants:
            hyd_layer[col] = hydrants[col].to_numpy()
    result_layers = {**analysis.layers, LayerName.HYDRANTS_ANALYSIS: hyd_layer}
    if len(moved) == 0:
        update = AreaUpdate(changed, moved, np.empty(0, np.int64), np.empty(0, np.int64), 0)
        return new_layers, dataclasses.replace(analysis, layers=result_layers), update

    in_service = new_status == "in_service"
    coverage, edge_rows, relevant = _splice_hydrant_coverage(
        graph, snaps, analysis.coverage, hydrants, moved, in_service=in_service
    )
    roads, pieces, underserved, spacing = _splice_streets(
        layers, analysis, coverage, edge_rows, moved, in_service=in_service, preset=preset
    )

    band = preset.rule("hydrant_count_band").value("max_m")
    b_rows = affected_buildings(graph, snaps, moved, analysis.layers[LayerName.BUILDINGS_ANALYSIS],
                                radius_m=band)
    buildings, pairs = _splice_water(
        layers, analysis, hydrants, b_rows, preset=preset, options=options
    )
    result_layers.update(
        {
            LayerName.ROADS_ANALYSIS: roads,
            LayerName.COVERAGE_PIECES: pieces,
            LayerName.UNDERSERVED_SEGMENTS: underserved,
            LayerName.SPACING_GAPS: spacing,
            LayerName.BUILDINGS_ANALYSIS: buildings,
            LayerName.BUILDING_HYDRANTS: pairs,
        }
    )
    summary = _live_summary(
        analysis.summary, coverage, buildings, underserved, spacing,
        stale=stale_parts(result_layers),
    )
    new_analysis = refresh_water_findings(
        dataclasses.replace(analysis, coverage=coverage, layers=result_layers, summary=summary),
        new_layers, preset=preset, options=options, buildings_changed=b_rows,
        hydrants_changed=moved,
    )
    update = AreaUpdate(
        hydrants=changed, status_changed=moved, edges=edge_rows, buildings=b_rows,
        relevant_hydrants=int(relevant.sum()),
    )
    log.info(
        "live update: %d hydrant(s) changed status; %d of %d edges, %d of %d buildings recomputed "
        "(%d hydrants in reach)",
        len(moved), len(edge_rows), graph.n_edges, len(b_rows), len(buildings),
        update.relevant_hydrants,
    )
    return new_layers, new_analysis, update


def _splice_hydrant_coverage(
    graph: StreetGraph,
    snaps: SnapResult,
    current: CoverageResult,
    hydrants: gpd.GeoDataFrame,
    moved: np.ndarray,
    *,
    in_service: np.ndarray,
) -> tuple[CoverageResult, np.ndarray, np.ndarray]:
    """Coverage with the ``moved`` hydrants' new status: recomputed on the edges they can reach
    from the hydrants that can reach those edges; ``(coverage, edge rows, relevant hydrants)``."""
    radius, method = current.radius_m, current.method
    points = np.asarray(hydrants.geometry.array, dtype=object)
    edges = affected_edges(graph, snaps, moved, radius_m=radius, method=method, points=points)
    relevant = relevant_hydrants(graph, snaps, edges, radius_m=radius, method=method, points=points)
    part = hydrant_coverage(
        graph, snaps, radius_m=radius, in_service=in_service & relevant,
        method="straight" if method == "straight" else "network",
        hydrant_points=hydrants.geometry if method == "straight" else None,
        needs_hydrants=current.needs_hydrants,
    )
    usable = _valid_points(points) if method == "straight" else snaps.snapped
    coverage = splice_coverage(
        graph, current, part, edges, n_hydrants=int((in_service & usable).sum())
    )
    return coverage, np.flatnonzero(edges), relevant


def _splice_streets(
    layers: Layers,
    analysis: Analysis,
    coverage: CoverageResult,
    edge_rows: np.ndarray,
    moved: np.ndarray,
    *,
    in_service: np.ndarray,
    preset: Preset,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads, coverage pieces, underserved stretches and spacing gaps with the new coverage,
    recomputed on ``edge_rows`` (and the spacing around the ``moved`` hydrants) only."""
    graph, snaps = analysis.graph, analysis.hydrant_snaps
    roads = with_road_coverage(analysis.layers[LayerName.ROADS_ANALYSIS], coverage)
    pieces = analysis.layers[LayerName.COVERAGE_PIECES]
    if len(edge_rows):
        pieces, _ = _splice_pieces(graph, pieces, coverage, edge_rows)
    underserved = with_rule(
        splice_underserved(
            analysis.layers[LayerName.UNDERSERVED_SEGMENTS], pieces, graph.edge_id[edge_rows],
            buildings=layers.buildings, graph=graph,
        ),
        preset.rule("hydrant_radius"),
    )
    spacing_rule = preset.rule("hydrant_spacing")
    spacing = with_rule(
        splice_spacing(
            analysis.layers[LayerName.SPACING_GAPS], graph, snaps, moved,
            max_spacing_m=spacing_rule.value("value_m"), in_service=in_service,
            needs_hydrants=coverage.needs_hydrants,
        ),
        spacing_rule,
    )
    return roads, pieces, underserved, spacing


def refresh_water_findings(
    analysis: Analysis,
    layers: Layers,
    *,
    preset: Preset,
    options: AnalysisOptions,
    buildings_changed: np.ndarray | None = None,
    hydrants_changed: np.ndarray | None = None,
) -> Analysis:
    """The analysis with everything derived from hydrant status that is cheap re-derived.

    For live hydrant updates, after ``buildings_analysis``, ``underserved_segments`` and
    ``spacing_gaps`` have been brought to the new statuses in ``layers.hydrants``: the water
    findings (:func:`routing.analysis.water_findings`) are derived again from those layers,
    the pump connectors' hydrants recomputed (:func:`routing.building_systems.connector_water`), the
    buildings' ``flags`` and the ``findings`` and ``pump_connectors`` summary figures follow.
    The findings keep the order of a full run. The siting proposal is not recomputed (the slow
    step).

    With ``buildings_changed`` (rows of ``buildings_analysis`` whose water changed; no other
    building's did), the buildings' water findings and flags are derived again for those rows
    only and spliced in the order of a full run. With ``hydrants_changed`` (rows of
    ``layers.hydrants`` whose status changed; no other's did), only the pump connectors within
    the connector band of those hydrants are recomputed.
    """
    buildings = analysis.layers[LayerName.BUILDINGS_ANALYSIS].copy(deep=False)  # copy on write
    old = analysis.findings
    in_water = _water_rows(old, preset)
    old_water = old.loc[in_water] if len(old) else old
    streets = street_water_findings(
        preset, analysis.layers[LayerName.UNDERSERVED_SEGMENTS], analysis.layers[LayerName.SPACING_GAPS],
        known=old_water,
    )
    index = pd.Index(buildings["building_id"].astype(str).to_numpy(dtype=object))
    rules = _building_water_rules(preset)
    if buildings_changed is None or not index.is_unique or len(set(rules)) < len(rules):
        buildings_changed = None
        water = concat_findings([*building_water_findings(preset, buildings), *streets])
    else:
        water = concat_findings([
            *_splice_building_findings(old_water, preset, buildings, buildings_changed,
                                       index=index),
            *streets,
        ])
    connectors, connector_found = _refresh_connectors(
        analysis, layers, preset, options, hydrants_changed=hydrants_changed
    )
    if len(old):
        is_connector = (old["layer"] == "pump_connectors").to_numpy()
        is_blockage = (old["layer"] == "blockages").to_numpy()
        middle = old.loc[~in_water & ~is_connector & ~is_blockage]
        tail = old.loc[is_blockage]
    else:
        middle = tail = old
    found = concat_findings([water, middle, connector_found, tail]).reset_index(drop=True)
    if buildings_changed is None:
        buildings["flags"] = building_flags(buildings, found)
    else:
        rows = np.asarray(buildings_changed, dtype=np.int64)
        ids = index[rows]
        mine = found.loc[found["feature_id"].isin(ids) & (found["layer"] == "buildings")]
        flags = buildings["flags"].to_numpy(dtype=object).copy()
        flags[rows] = building_flags(buildings.iloc[rows], mine).to_numpy(dtype=object)
        buildings["flags"] = pd.Series(flags, index=buildings.index, dtype=object)
    summary = {k: dict(v) if isinstance(v, dict) else v for k, v in analysis.summary.items()}
    summary["findings"] = findings_summary(found)
    summary["pump_connectors"] = {
        **connector_summary(connectors),
        "missing_for_high_rise": summary.get("pump_connectors", {}).get("missing_for_high_rise"),
    }
    summary["quality"] = with_hydrant_quality(summary.get("quality"), layers)
    result_layers = {
        **analysis.layers, LayerName.BUILDINGS_ANALYSIS: buildings,
        LayerName.PUMP_CONNECTORS_ANALYSIS: connectors,
    }
    return dataclasses.replace(analysis, layers=result_layers, findings=found, summary=summary)


def _refresh_connectors(
    analysis: Analysis,
    layers: Layers,
    preset: Preset,
    options: AnalysisOptions,
    *,
    hydrants_changed: np.ndarray | None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """:func:`routing.building_systems.connector_water` after a status change, recomputed near the
    changed hydrants only.

    A hose lay is never shorter than the straight line, so a connector farther than the band's
    ``max_m`` in a straight line from every changed hydrant keeps its hydrants in range and its
    nearest one (both counted within the band).
    """
    old = analysis.layers.get(LayerName.PUMP_CONNECTORS_ANALYSIS)
    if (hydrants_changed is None or old is None or len(old) != len(layers.pump_connectors)
            or "pump_connector_hydrant_band" not in preset.rules or len(old) == 0):
        return connector_water(layers, analysis.graph, analysis.hydrant_snaps, preset,
                               access_distance_m=options.access_distance_m)
    band = preset.rule("pump_connector_hydrant_band")
    points = np.asarray(layers.hydrants.geometry.array, dtype=object)[
        np.asarray(hydrants_changed, dtype=np.int64)]
    points = points[~shapely.is_missing(points)]
    tree = shapely.STRtree(np.asarray(old.geometry.array, dtype=object))
    reach = max(band.value("max_m"), *(
        [preset.rule("pump_connector_hydrant_distance").value("max_m")]
        if "pump_connector_hydrant_distance" in preset.rules else []))
    _, near = tree.query(points, predicate="dwithin", distance=reach)
    near = np.unique(near)
    out = old.copy(deep=False)  # copy on write
    if len(near):
        sub = dataclasses.replace(layers, pump_connectors=layers.pump_connectors.iloc[near])
        fresh, _ = connector_water(sub, analysis.graph, analysis.hydrant_snaps, preset,
                                   access_distance_m=options.access_distance_m)
        for col in CONNECTOR_RESULT_COLUMNS:
            values = out[col].array.copy()
            values[near] = fresh[col].array
            out[col] = values
    return out, connector_findings(out, preset)


#: Layers whose findings all come from :func:`routing.analysis.water_findings`.
_WATER_LAYERS = frozenset({"underserved_segments", LayerName.SPACING_GAPS})


def _water_rows(found: pd.DataFrame, preset: Preset) -> np.ndarray:
    """Which rows of ``found`` come from :func:`routing.analysis.water_findings`."""
    if len(found) == 0:
        return np.zeros(0, dtype=bool)
    layer = found["layer"].astype(str)
    rule = found["rule_id"].astype(str)
    return ((layer.isin(list(_WATER_LAYERS)))
            | ((layer == "buildings") & rule.isin(_building_water_rules(preset)))).to_numpy(dtype=bool)


def _splice_building_findings(
    old: pd.DataFrame, preset: Preset, buildings: pd.DataFrame, rows: np.ndarray,
    *, index: pd.Index,
) -> list[pd.DataFrame]:
    """The buildings' water findings, one frame per rule, with those of ``rows`` derived again.

    ``old`` holds the current water findings; ``index`` the buildings' ids (unique), whose order
    is the order of a full run within each rule.
    """
    rows = np.asarray(rows, dtype=np.int64)
    fresh = building_water_findings(preset, buildings.iloc[rows])
    is_building = (old["layer"] == "buildings").to_numpy()
    changed = old["feature_id"].isin(index[rows]).to_numpy()
    out: list[pd.DataFrame] = []
    for frame, rule_id in zip(fresh, _building_water_rules(preset), strict=True):
        kept = old.loc[is_building & ~changed & (old["rule_id"] == rule_id).to_numpy()]
        both = concat_findings([kept, frame])
        order = np.argsort(index.get_indexer(pd.Index(both["feature_id"])), kind="stable")
        out.append(both.iloc[order].reset_index(drop=True))
    return out


def _building_water_rules(preset: Preset) -> list[str]:
    """Rule ids of :func:`routing.analysis.building_water_findings`' frames, in its order."""
    names = ("hydrant_count_band", "hydrants_firefighting_side", "hydrant_credit")
    return [preset.rule(n).id for n in names if n in preset.rules]

"""Live state of a served workspace: hydrant status changes recomputed for the affected area.

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
edges) and building water are spliced into copies of the analysis, which are swapped in under the
workspace lock. Underserved stretches and spacing gaps are merged street by street, so only the
streets through the affected edges (stretches) or of the changed hydrants (gaps) are recomputed
and spliced in, then re-ranked by one sort (:func:`routing.live.splice_underserved`,
:func:`routing.live.splice_spacing`); the affected buildings' water findings and ``flags`` are
derived again and spliced in full-run order, and the street findings and pump connectors
re-derived (:func:`routing.analysis.refresh_water_findings` with ``buildings_changed``). The
siting proposal (the slow step) is not recomputed with the update: ``summary['live']['stale']``
says so until :class:`SitingRefresh` recomputes it in the background (every ``siting_refresh_s``
seconds while it is stale).

The blockage ledger drives the blockage ranking: after every ledger write :func:`ledger_write`
ranks the workspace's own reports and the ledger's active items afresh
(:func:`routing.analysis.blockage_ranking`, milliseconds on a district, seconds for 10,000
reports on a million edges; outside the workspace lock, so readers do not wait), so a new
report shows its rank and a rectified one stops counting at once.

At start-up :func:`live_state` opens the store and loads the workspace with each hydrant's latest
stored observation applied and the ledger's active items among the reports, before the one full
analysis: after a restart every result (findings and siting included) is that of the current
state. A workspace handed in already loaded is brought to it by :func:`replay_events`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from fastapi import Depends, FastAPI, HTTPException, Request

from api.auth import KeyRing, bootstrap_admin
from api.settings import Settings
from api.store import (
    Actor,
    Blockage,
    HydrantEvent,
    HydrantObservation,
    HydrantState,
    LedgerQuery,
    Store,
    add_hydrant_event,
    hydrant_states,
    list_blockages,
    open_store,
    to_text,
    utc_now,
)
from api.workspace import (
    ACTIVE_LEDGER_STATUSES,
    LEDGER_PREFIX,
    Workspace,
    hydrants_with_states,
    load_workspace,
    served_reports,
)
from geo.errors import InputFileError, LayerValidationError, NotFoundError
from geo.layers import Layers
from geo.presets import Preset, credited_flow
from routing.analysis import (
    BLOCKAGE_LAYERS,
    SITING_LAYERS,
    Analysis,
    AnalysisOptions,
    blockage_ranking,
    pct,
    refresh_siting,
    refresh_water_findings,
    with_ranking,
    with_rule,
)
from routing.coverage import (
    CoverageResult,
    coverage_pieces,
    hydrant_coverage,
    multi_source_distance,
    splice_coverage,
)
from routing.graph import StreetGraph
from routing.live import edge_subgraph, splice_spacing, splice_underserved
from routing.snap import SnapResult
from routing.water import AccessPoints, WaterOptions, building_water

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Result layers a live update recomputes.
RECOMPUTED = frozenset({
    "roads_analysis", "coverage_pieces", "underserved_segments", "spacing_gaps",
    "buildings_analysis", "building_hydrants", "hydrants_analysis", "pump_connectors_analysis",
})
#: Result layers that do not depend on hydrant status (the blockage ranking counts hydrants
#: trucks can no longer reach whatever their status).
STATUS_INDEPENDENT = frozenset({
    "station_areas", "high_rise_access", "dead_end_lanes", "blockages_ranked", "critical_lanes",
})
#: Reported positions farther than this outside the workspace's roads are rejected (m).
EXTENT_MARGIN_M = 2000.0


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


@dataclass(frozen=True)
class LiveResult:
    """What applying hydrant states to a workspace did (for responses and logs)."""

    applied: bool
    hydrants: tuple[str, ...]
    edges: int
    buildings: int
    seconds: float
    unknown: tuple[str, ...] = ()


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


def _sort_pieces(pieces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    order = np.lexsort((pieces["start_m"].to_numpy(), pieces["edge_id"].to_numpy()))
    return pieces.iloc[order].reset_index(drop=True)


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
    fresh = coverage_pieces(sub, sub_cov)
    keep = ~np.isin(old["edge_id"].to_numpy(), graph.edge_id[rows])
    spliced = pd.concat([old.iloc[np.flatnonzero(keep)], fresh], ignore_index=True)
    return _sort_pieces(gpd.GeoDataFrame(spliced, geometry="geometry", crs=old.crs)), fresh


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
    old = analysis.layers["buildings_analysis"]
    old_pairs = analysis.layers["building_hydrants"]
    if len(rows) == 0:
        return old, old_pairs
    band = preset.rule("hydrant_count_band")
    status = hydrants["status"].to_numpy(dtype=object)
    flow = hydrants["flow_lps"].to_numpy(dtype=np.float64)

    def credit(hyd: np.ndarray, dist: np.ndarray) -> np.ndarray:
        return credited_flow(preset, status[hyd], flow[hyd], distance_m=dist)

    per, pairs = building_water(
        analysis.graph, layers.buildings.geometry.iloc[rows],
        AccessPoints.from_columns(old.iloc[rows], max_access_m=options.access_distance_m),
        analysis.hydrant_snaps,
        hydrants.geometry, credited_lps=credit,
        options=WaterOptions(
            radius_m=band.value("max_m"), min_distance_m=band.value("min_m"),
            max_access_m=options.access_distance_m,
        ),
    )
    out = old.copy()
    for col in ("hydrants_in_range", "credited_flow_lps", "nearest_hydrant_m"):
        values = out[col].to_numpy().copy()
        values[rows] = per[col].to_numpy()
        out[col] = values
    required = out["required_flow_lps"].to_numpy(dtype=np.float64)
    credited = out["credited_flow_lps"].to_numpy(dtype=np.float64)
    out["flow_deficit_lps"] = np.where(
        np.isnan(required), np.nan, np.maximum(required - credited, 0.0)
    )

    b_ids = layers.buildings["building_id"].astype(str).to_numpy(dtype=object)
    h_ids = hydrants["hydrant_id"].astype(str).to_numpy(dtype=object)
    keep = ~old_pairs["building_id"].isin(b_ids[rows]).to_numpy()
    # built from object arrays like the full run's pairs layer, so the dtypes match
    building = np.concatenate([
        old_pairs["building_id"].to_numpy(dtype=object)[keep],
        b_ids[rows[pairs["building"].to_numpy(dtype=np.int64)]],
    ])
    hydrant = np.concatenate([
        old_pairs["hydrant_id"].to_numpy(dtype=object)[keep],
        h_ids[pairs["hydrant"].to_numpy(dtype=np.int64)],
    ])
    distance = np.concatenate([
        old_pairs["distance_m"].to_numpy(dtype=np.float64)[keep],
        pairs["distance_m"].to_numpy(dtype=np.float64),
    ])
    credit_lps = np.concatenate([
        old_pairs["credited_lps"].to_numpy(dtype=np.float64)[keep],
        pairs["credited_lps"].to_numpy(dtype=np.float64),
    ])
    order = np.lexsort((
        pd.Index(h_ids).get_indexer(hydrant), pd.Index(b_ids).get_indexer(building)
    ))
    spliced = pd.DataFrame({
        "building_id": building[order], "hydrant_id": hydrant[order],
        "distance_m": distance[order], "credited_lps": credit_lps[order],
    })
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
    road, covered = coverage.road_m, coverage.total_covered_m
    out["coverage"].update(
        {
            "covered_km": round(covered / 1000.0, 3),
            "uncovered_km": round((road - covered) / 1000.0, 3),
            "covered_pct": pct(covered, road),
            "hydrants_used": int(coverage.n_hydrants),
            "underserved_segments": len(underserved),
            "spacing_gaps": len(spacing),
        }
    )
    out["buildings"].update(
        {
            "without_hydrant_in_range": int((buildings["hydrants_in_range"] == 0).sum()),
            "flow_deficit": int((np.nan_to_num(buildings["flow_deficit_lps"]) > 0).sum()),
        }
    )
    out["live"] = {"updated_at": to_text(utc_now()), "stale": stale}
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
    hyd_layer = analysis.layers["hydrants_analysis"].copy()
    for col in ("status", "pressure_mpa", "status_source"):
        if col in hydrants:
            hyd_layer[col] = hydrants[col].to_numpy()
    result_layers = {**analysis.layers, "hydrants_analysis": hyd_layer}
    if len(moved) == 0:
        update = AreaUpdate(changed, moved, np.empty(0, np.int64), np.empty(0, np.int64), 0)
        return new_layers, dataclasses.replace(analysis, layers=result_layers), update

    radius = analysis.coverage.radius_m
    method = analysis.coverage.method
    points = np.asarray(hydrants.geometry.array, dtype=object)
    edges = affected_edges(graph, snaps, moved, radius_m=radius, method=method, points=points)
    relevant = relevant_hydrants(graph, snaps, edges, radius_m=radius, method=method, points=points)
    in_service = new_status == "in_service"
    part = hydrant_coverage(
        graph, snaps, radius_m=radius, in_service=in_service & relevant,
        method="straight" if method == "straight" else "network",
        hydrant_points=hydrants.geometry if method == "straight" else None,
        needs_hydrants=analysis.coverage.needs_hydrants,
    )
    usable = _valid_points(points) if method == "straight" else snaps.snapped
    coverage = splice_coverage(
        graph, analysis.coverage, part, edges, n_hydrants=int((in_service & usable).sum())
    )
    edge_rows = np.flatnonzero(edges)

    roads = analysis.layers["roads_analysis"].copy()
    length = roads["length_m"].to_numpy()
    roads["covered_m"] = coverage.covered_m
    roads["uncovered_m"] = coverage.uncovered_m
    roads["covered_pct"] = np.where(length > 0, 100.0 * coverage.covered_m / length, 0.0)
    pieces = analysis.layers["coverage_pieces"]
    if len(edge_rows):
        pieces, _ = _splice_pieces(graph, pieces, coverage, edge_rows)
    underserved = with_rule(
        splice_underserved(
            analysis.layers["underserved_segments"], pieces, graph.edge_id[edge_rows],
            buildings=layers.buildings,
        ),
        preset.rule("hydrant_radius"),
    )
    spacing_rule = preset.rule("hydrant_spacing")
    spacing = with_rule(
        splice_spacing(
            analysis.layers["spacing_gaps"], graph, snaps, moved,
            max_spacing_m=spacing_rule.value("value_m"), in_service=in_service,
            needs_hydrants=coverage.needs_hydrants,
        ),
        spacing_rule,
    )

    band = preset.rule("hydrant_count_band").value("max_m")
    b_rows = affected_buildings(graph, snaps, moved, analysis.layers["buildings_analysis"],
                                radius_m=band)
    buildings, pairs = _splice_water(
        layers, analysis, hydrants, b_rows, preset=preset, options=options
    )
    result_layers.update(
        {
            "roads_analysis": roads,
            "coverage_pieces": pieces,
            "underserved_segments": underserved,
            "spacing_gaps": spacing,
            "buildings_analysis": buildings,
            "building_hydrants": pairs,
        }
    )
    summary = _live_summary(
        analysis.summary, coverage, buildings, underserved, spacing,
        stale=stale_parts(result_layers),
    )
    new_analysis = refresh_water_findings(
        dataclasses.replace(analysis, coverage=coverage, layers=result_layers, summary=summary),
        new_layers, preset=preset, options=options, buildings_changed=b_rows,
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


# --------------------------------------------------------------------------------------------
# the served workspace


def _set_rows(frame: gpd.GeoDataFrame, source: pd.DataFrame, rows: np.ndarray,
              columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    """A copy of ``frame`` with ``columns`` at ``rows`` taken from ``source`` (same rows)."""
    out = frame.copy()
    for col in columns:
        if col in out and col in source:
            values = out[col].to_numpy().copy()
            values[rows] = source[col].to_numpy()[rows]
            out[col] = values
    return out


def _refresh_collections(
    collections: dict[str, gpd.GeoDataFrame],
    layers: Layers,
    analysis: Analysis,
    update: AreaUpdate,
) -> dict[str, gpd.GeoDataFrame]:
    """WGS84 collections after an update: changed attributes copied, new geometries reprojected."""
    out = dict(collections)
    res = analysis.layers
    hyd_cols = ("status", "pressure_mpa", "status_source")
    for name, source in (("hydrants", layers.hydrants), ("hydrants_analysis", res["hydrants_analysis"])):
        if name in out:
            out[name] = _set_rows(out[name], source, update.hydrants, hyd_cols)
    if len(update.status_changed) == 0:
        return out
    if "roads_analysis" in out:
        out["roads_analysis"] = _set_rows(
            out["roads_analysis"], res["roads_analysis"], update.edges,
            ("covered_m", "uncovered_m", "covered_pct"),
        )
    if "buildings_analysis" in out:
        out["buildings_analysis"] = _set_rows(
            out["buildings_analysis"], res["buildings_analysis"], update.buildings,
            ("hydrants_in_range", "credited_flow_lps", "nearest_hydrant_m", "flow_deficit_lps",
             "flags"),
        )
    if "coverage_pieces" in out:
        ids = analysis.graph.edge_id[update.edges]
        old = out["coverage_pieces"]
        new = res["coverage_pieces"]
        fresh = new.loc[np.isin(new["edge_id"].to_numpy(), ids)].to_crs("EPSG:4326")
        kept = old.loc[~np.isin(old["edge_id"].to_numpy(), ids)]
        out["coverage_pieces"] = _sort_pieces(
            gpd.GeoDataFrame(pd.concat([kept, fresh], ignore_index=True), geometry="geometry",
                             crs="EPSG:4326")
        )
    for name in ("underserved_segments", "spacing_gaps", "pump_connectors_analysis"):
        if name in out:
            out[name] = res[name].to_crs("EPSG:4326")
    return out


def apply_states(ws: Workspace, states: Mapping[str, HydrantState]) -> LiveResult:
    """Apply current hydrant states to the served workspace.

    Under the workspace's write lock (one writer at a time): reads the current state, computes
    the new one without holding the read lock (readers keep being served) and swaps ``layers``,
    ``analysis`` and ``collections`` together; readers see the old or the new state, never a mix
    of one object. Unknown hydrant ids are skipped (returned in ``unknown``).
    """
    start = time.perf_counter()
    with ws.write_lock:
        with ws.lock:
            base_layers, base_analysis, base_collections = ws.layers, ws.analysis, ws.collections
        hydrants, rows, unknown = hydrants_with_states(base_layers.hydrants, states)
        if unknown:
            log.warning("hydrant events for %d hydrant(s) not in the workspace: %s",
                        len(unknown), ", ".join(unknown[:10]))
        if len(rows) == 0:
            return LiveResult(False, (), 0, 0, time.perf_counter() - start, unknown)
        layers, analysis, update = recompute_area(
            base_layers, base_analysis, hydrants, preset=ws.preset, options=ws.options, changed=rows
        )
        collections = _refresh_collections(base_collections, layers, analysis, update)
        ws.swap(layers=layers, analysis=analysis, collections=collections)
    ids = hydrants["hydrant_id"].astype(str).to_numpy(dtype=object)[rows]
    return LiveResult(
        applied=True, hydrants=tuple(str(i) for i in ids), edges=len(update.edges),
        buildings=len(update.buildings), seconds=time.perf_counter() - start, unknown=unknown,
    )


def record_inspection(
    ws: Workspace,
    store: Store,
    hydrant_id: str,
    observation: HydrantObservation,
    *,
    actor: Actor,
    now: datetime,
) -> tuple[HydrantEvent, LiveResult, str | None]:
    """Store an inspection event, then bring the workspace to the hydrant's current state.

    The event is committed (durable) first; then the hydrant's latest observation is applied
    with :func:`apply_states`. Both happen under the workspace's write lock, so the state
    follows the events in the order they were stored. A failed recomputation does not undo the
    stored event (a restart replays it): it is logged and returned as the third value.

    Raises
    ------
    NotFoundError
        If the hydrant is not in the workspace.
    """
    hydrant_row(ws, hydrant_id)
    with ws.write_lock:
        with store.write() as conn:
            event = add_hydrant_event(conn, hydrant_id, observation, actor=actor, now=now)
        with store.read() as conn:
            state = hydrant_states(conn, [hydrant_id])[hydrant_id]
        try:
            return event, apply_states(ws, {hydrant_id: state}), None
        except Exception as exc:  # the event is stored either way
            log.exception("live recomputation after hydrant event %d failed", event.event_id)
            return event, LiveResult(False, (), 0, 0, 0.0), f"{type(exc).__name__}: {exc}"


def replay_events(ws: Workspace, store: Store) -> LiveResult:
    """Apply every hydrant's stored current state to a workspace loaded without it.

    :func:`live_state` loads the workspace with the stored states applied before the analysis;
    this is for a workspace handed to the app already loaded (tests, embedding), where the
    live recomputation brings it to the stored state.
    """
    with store.read() as conn:
        states = hydrant_states(conn)
    result = apply_states(ws, states)
    log.info("replayed stored status of %d hydrant(s): %d changed, %d edges, %d buildings",
             len(states), len(result.hydrants), result.edges, result.buildings)
    return result


# --------------------------------------------------------------------------------------------
# the siting proposal


def _stale(analysis: Analysis) -> list[str]:
    live = analysis.summary.get("live")
    return list(live.get("stale", [])) if isinstance(live, dict) else []


def refresh_stale_siting(ws: Workspace) -> bool:
    """Recompute the siting proposal if live updates left it stale; True when one was swapped in.

    The proposal is computed outside the workspace lock from the analysis of that moment, and
    swapped in only if the hydrants did not change meanwhile (the coverage object is the same);
    otherwise it is dropped and the next call computes it again.
    """
    with ws.lock:
        base = ws.analysis
    if STALE_SITING not in _stale(base):
        return False
    start = time.perf_counter()
    fresh = refresh_siting(base, options=ws.options)
    with ws.write_lock, ws.lock:  # no writer is between its snapshot and its swap
        current = ws.analysis
        if current.coverage is not base.coverage:
            return False
        layers = {k: v for k, v in current.layers.items() if k not in SITING_LAYERS}
        layers.update({k: fresh.layers[k] for k in SITING_LAYERS if k in fresh.layers})
        summary = {**current.summary, "siting": fresh.summary["siting"]}
        done = {STALE_SITING, *SITING_LAYERS}
        summary["live"] = {**summary["live"], "stale": [p for p in _stale(current) if p not in done]}
        collections = dict(ws.collections)
        for name in SITING_LAYERS:
            frame = layers.get(name)
            if isinstance(frame, gpd.GeoDataFrame):
                collections[name] = frame.to_crs("EPSG:4326")
            else:
                collections.pop(name, None)
        ws.swap(analysis=dataclasses.replace(current, layers=layers, summary=summary),
                collections=collections)
    log.info("siting proposal refreshed after live updates in %.2f s", time.perf_counter() - start)
    return True


class SitingRefresh:
    """A background thread that runs :func:`refresh_stale_siting` every ``interval_s``."""

    def __init__(self, ws: Workspace, *, interval_s: float) -> None:
        self._ws = ws
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="firereach-siting", daemon=True)

    def start(self) -> None:
        if self._interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                refresh_stale_siting(self._ws)
            except Exception:  # keep serving; the next round tries again
                log.exception("background siting refresh failed")


# --------------------------------------------------------------------------------------------
# the blockage ledger


@dataclass(frozen=True)
class RankingResult:
    """What re-ranking the blockage reports did (for responses and logs)."""

    reports: int
    ledger_items: int
    ranked: bool
    seconds: float


def active_ledger(store: Store) -> list[Blockage]:
    """The ledger items in :data:`~api.workspace.ACTIVE_LEDGER_STATUSES`, by id."""
    with store.read() as conn:
        items, _ = list_blockages(
            conn, LedgerQuery(status=ACTIVE_LEDGER_STATUSES), sla_days={}, now=utc_now(), page=False
        )
    return items


def rerank_blockages(ws: Workspace, ledger: Sequence[Blockage]) -> RankingResult:
    """Rank the workspace's own reports and these ledger items afresh and swap the result in.

    :func:`routing.analysis.blockage_ranking` on the served analysis (its truck graph and
    station response) runs outside the workspace lock, so readers are not kept waiting; the
    result replaces ``blockages_ranked``, ``critical_lanes``, the blockage findings and the
    ``blockages`` summary of the analysis current at that moment (a hydrant update in between
    is kept: the ranking does not depend on hydrant status), with their WGS84 collections.
    """
    start = time.perf_counter()
    with ws.write_lock:
        with ws.lock:
            base, stored, crs = ws.analysis, ws.reports, ws.layers.crs
        reports = served_reports(stored, ledger, crs)
        ranking = blockage_ranking(base, reports, preset=ws.preset)
        frames = {} if ranking is None else {
            "blockages_ranked": ranking.blockages.to_crs("EPSG:4326"),
            "critical_lanes": ranking.critical_lanes.to_crs("EPSG:4326"),
        }
        with ws.lock:
            analysis = with_ranking(ws.analysis, ranking, reports)
            collections = dict(ws.collections)  # keeps the order of the collections
            for name in BLOCKAGE_LAYERS:
                if name in frames:
                    collections[name] = frames[name]
                else:
                    collections.pop(name, None)
            ws.swap(analysis=analysis, collections=collections)
    result = RankingResult(
        reports=0 if reports is None else len(reports), ledger_items=len(ledger),
        ranked=ranking is not None, seconds=time.perf_counter() - start,
    )
    log.info("blockages re-ranked: %d reports (%d from the ledger) in %.3f s",
             result.reports, result.ledger_items, result.seconds)
    return result


def ledger_write(
    ws: Workspace, store: Store, write: Callable[[sqlite3.Connection], T]
) -> tuple[T, str | None]:
    """Run a ledger write, then re-rank the blockages with the ledger's active items.

    The write is committed (durable) first; both happen under the workspace's write lock,
    so the ranking follows the ledger in the order of its writes. A failed ranking does not
    undo the write (a restart ranks again): it is logged and returned as the second value.
    """
    with ws.write_lock:
        with store.write() as conn:
            out = write(conn)
        try:
            rerank_blockages(ws, active_ledger(store))
        except Exception as exc:  # the write is stored either way
            log.exception("blockage ranking after a ledger write failed")
            return out, f"{type(exc).__name__}: {exc}"
    return out, None


def ledger_impact(ws: Workspace, blockage_id: int) -> dict[str, Any] | None:
    """The served ranking row of a ledger item (None when it is not among the ranked reports)."""
    with ws.lock:
        ranked = ws.analysis.layers.get("blockages_ranked")
    if ranked is None or len(ranked) == 0:
        return None
    hit = ranked.loc[ranked["blockage_id"].astype(str) == f"{LEDGER_PREFIX}{blockage_id}"]
    if len(hit) == 0:
        return None
    row = hit.iloc[0]

    def num(col: str) -> float | None:
        value = float(row[col]) if col in row and pd.notna(row[col]) else None
        return value if value is None or np.isfinite(value) else None

    def text(col: str) -> str | None:
        return str(row[col]) or None if col in row and pd.notna(row[col]) else None

    return {
        "effect": str(row["effect"]),
        "reason": text("reason"),
        "rank": None if num("rank") is None else int(row["rank"]),
        "score": num("score"),
        "edge_id": int(row["edge_id"]) if int(row["edge_id"]) >= 0 else None,
        "road_name": text("road_name"),
        "edge_width_m": num("edge_width_m"),
        "remaining_width_m": num("remaining_width_m"),
        "width_basis": text("width_basis"),
        "buildings_cut": int(row["buildings_cut"]),
        "high_rises_cut": int(row["high_rises_cut"]),
        "buildings_delayed": int(row["buildings_delayed"]),
        "hydrants_unreachable": int(row["hydrants_unreachable"]),
        "max_delay_s": num("max_delay_s"),
        "rule_ids": text("rule_ids"),
    }


def hydrant_row(ws: Workspace, hydrant_id: str) -> int:
    """Row of a hydrant in the workspace; :class:`NotFoundError` when unknown."""
    ids = ws.layers.hydrants["hydrant_id"].astype(str).to_numpy(dtype=object)
    hits = np.flatnonzero(ids == hydrant_id)
    if len(hits) == 0:
        raise NotFoundError(f"hydrant {hydrant_id!r} is not in this workspace")
    return int(hits[0])


def locate(ws: Workspace, lon: float, lat: float) -> str:
    """The district name at a WGS84 position ('' when the workspace has no district there).

    Raises
    ------
    LayerValidationError
        If the position is more than :data:`EXTENT_MARGIN_M` outside the workspace's roads
        (often swapped longitude and latitude, or GCJ-02/BD-09 coordinates far off).
    """
    layers = ws.layers
    to_work = pyproj.Transformer.from_crs("EPSG:4326", layers.crs, always_xy=True)
    x, y = to_work.transform(lon, lat)
    west, south, east, north = layers.roads.total_bounds
    dx = max(west - x, x - east, 0.0)
    dy = max(south - y, y - north, 0.0)
    outside = float(np.hypot(dx, dy)) if np.isfinite(x) and np.isfinite(y) else np.inf
    if outside > EXTENT_MARGIN_M:
        raise LayerValidationError(
            f"position lon={lon}, lat={lat} is {outside / 1000:.1f} km outside the served area; "
            "check the order (longitude first) and that the coordinates are WGS84"
        )
    districts = layers.districts
    if len(districts) == 0:
        return ""
    inside = np.flatnonzero(shapely.contains_xy(np.asarray(districts.geometry.array), x, y))
    if len(inside) == 0:
        return ""
    level = districts["admin_level"].to_numpy(dtype=np.float64)[inside]
    area = districts["area_km2"].to_numpy(dtype=np.float64)[inside]
    finest = inside[np.lexsort((area, -np.nan_to_num(level, nan=-1.0)))[0]]
    return str(districts["name"].iloc[finest])


def check_district(ws: Workspace, name: str) -> str:
    """``name`` if the workspace has a district of that name.

    Raises
    ------
    LayerValidationError
        When the workspace has no districts or none of that name (the message lists some).
    """
    names = sorted(set(ws.layers.districts["name"].astype(str)))
    if not names:
        raise LayerValidationError(
            "this workspace has no districts; build it with --districts FILE to filter by district"
        )
    if name not in names:
        shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
        raise LayerValidationError(f"no district named {name!r}; districts: {shown}")
    return name


# --------------------------------------------------------------------------------------------
# app wiring


@asynccontextmanager
async def live_state(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan: open the store, store the bootstrap admin key, load the workspace in its
    current state.

    The workspace is loaded with the stored hydrant states and the ledger's active items
    (:func:`api.workspace.load_workspace`), so findings, siting and the blockage ranking are
    those of a full analysis of the current state. A workspace handed to the app already
    loaded is brought to that state by the live recomputation instead. Idempotent: when the
    store is already open, it does nothing. :func:`api.app.create_app` owns it (routers declare none).
    """
    if getattr(app.state, "store", None) is not None:
        yield
        return
    settings: Settings = app.state.settings
    loaded: Workspace | None = getattr(app.state, "workspace", None)
    folder = loaded.path if loaded is not None else _workspace_folder(settings)
    store = open_store(folder)
    try:
        secret = settings.bootstrap_admin_key
        bootstrap_admin(store, None if secret is None else secret.get_secret_value())
        if loaded is None:
            app.state.workspace = _load_current(settings, store)
        else:
            replay_events(loaded, store)
            ledger = active_ledger(store)
            if ledger or _ranks_ledger_items(loaded):
                rerank_blockages(loaded, ledger)
        app.state.store = store
        app.state.keyring = KeyRing(store)
        siting = SitingRefresh(app.state.workspace, interval_s=settings.siting_refresh_s)
        siting.start()
        try:
            yield
        finally:
            siting.stop()
    finally:
        app.state.store = None
        app.state.keyring = None
        store.close()


def open_workspace(settings: Settings) -> Workspace:
    """The workspace in its current state: :func:`~api.workspace.load_workspace` with the
    store's hydrant states and active ledger items (what the app's start-up does; for the CLI,
    which loads before serving so that a bad workspace fails with a clear message)."""
    store = open_store(_workspace_folder(settings))
    try:
        return _load_current(settings, store)
    finally:
        store.close()


def _workspace_folder(settings: Settings) -> Path:
    folder = Path(settings.workspace)
    if not (folder / "layers.gpkg").is_file():
        raise InputFileError(
            f"{str(folder)!r} is not a workspace (no layers.gpkg): build one with "
            "'firereach analyze' or set FIREREACH_WORKSPACE"
        )
    return folder


def _load_current(settings: Settings, store: Store) -> Workspace:
    with store.read() as conn:
        states = hydrant_states(conn)
    return load_workspace(settings, hydrant_states=states, ledger=active_ledger(store))


def _ranks_ledger_items(ws: Workspace) -> bool:
    ranked = ws.analysis.layers.get("blockages_ranked")
    if ranked is None or len(ranked) == 0:
        return False
    return bool(ranked["blockage_id"].astype(str).str.startswith(LEDGER_PREFIX).any())


def get_store(request: Request) -> Store:
    """The workspace's store, opened at start-up by :func:`live_state`."""
    store: Store | None = getattr(request.app.state, "store", None)
    if store is None:
        raise HTTPException(status_code=503, detail="the store is not open (start-up did not run)")
    return store


StoreDep = Annotated[Store, Depends(get_store)]

"""Incremental re-derivations for live hydrant updates, equal to a full run.

A hydrant status change alters the coverage of a few edges. The layers derived from coverage
over the whole network are recomputed here only where those edges can change them, and spliced
into the current layers so that the result equals what :func:`routing.analysis.analyze` gives
on the new state, row for row. Each function shares its formula with the full run
(:func:`routing.coverage.uncovered_stretches`, :func:`routing.coverage.rank_stretches`).
"""

from __future__ import annotations

import dataclasses
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from routing.coverage import (
    _UNDERSERVED_COLUMNS,
    _empty_underserved,
    rank_stretches,
    street_keys,
    uncovered_stretches,
)
from routing.graph import StreetGraph
from routing.snap import SnapResult
from routing.spacing import _COLUMNS as _SPACING_COLUMNS
from routing.spacing import spacing_gaps

log = logging.getLogger(__name__)


def edge_subgraph(graph: StreetGraph, rows: np.ndarray) -> StreetGraph:
    """The edges ``rows`` (sorted) of ``graph`` as a graph of their own (per-edge outputs only)."""
    return dataclasses.replace(
        graph,
        u_idx=graph.u_idx[rows], v_idx=graph.v_idx[rows], length_m=graph.length_m[rows],
        edge_id=graph.edge_id[rows], geometry=graph.geometry[rows],
        roads=graph.roads.iloc[rows], tree=shapely.STRtree(graph.geometry[rows]),
    )


def _street_rows(pieces: gpd.GeoDataFrame, keys: set[str]) -> np.ndarray:
    """Positions of the rows of ``pieces`` whose street key is in ``keys``.

    Strips only the distinct names (a few thousand) rather than every row.
    """
    names = pd.Series(pieces["name"].to_numpy(dtype=object))
    distinct = pd.Series(pd.unique(names), dtype=object)
    stripped = distinct.fillna("").astype(str).str.strip()
    named = {k[5:] for k in keys if k.startswith("name/")}
    ways = [int(k[4:]) for k in keys if k.startswith("way/")]
    hit = names.isin(distinct[stripped.isin(named).to_numpy()]).to_numpy()
    if ways:
        unnamed = names.isin(distinct[(stripped == "").to_numpy()]).to_numpy()
        hit = hit | unnamed & np.isin(pieces["way_id"].to_numpy(dtype=np.int64), ways)
    return np.flatnonzero(hit)


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
    names = pd.Series(frame["name"].to_numpy(dtype=object))
    distinct = pd.Series(pd.unique(names), dtype=object)
    stripped = distinct.fillna("").astype(str).str.strip()
    named = {k[5:] for k in keys if k.startswith("name/")}
    hit = names.isin(distinct[stripped.isin(named).to_numpy()]).to_numpy().copy()
    unnamed = np.flatnonzero(names.isin(distinct[(stripped == "").to_numpy()]).to_numpy())
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
    rows = _street_rows(pieces, keys)
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
    roads = graph.roads
    keys = set(street_keys(roads["name"].iloc[edges], roads["way_id"].iloc[edges]).tolist())
    rows = _street_rows(roads, keys)
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
    log.info("spacing: %d street(s) measured again, %d gap(s) kept", len(keys), len(old))
    if len(old) == 0:
        return fresh
    if len(fresh) == 0:
        return old.reset_index(drop=True)
    frame = pd.concat([old, fresh], ignore_index=True)
    order = np.lexsort((frame["from_hydrant"].to_numpy(dtype=np.int64),
                        -frame["gap_m"].to_numpy(dtype=float)))
    out = frame.iloc[order].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=graph.crs)

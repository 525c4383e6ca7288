"""Hydrant spacing along streets (GB 50974 7.2.5: at most 120 m between hydrants on a road).

Each street (edges grouped by name; unnamed edges by OSM way) is joined into lines with
:func:`shapely.line_merge`. The hydrants snapped to the street's edges are placed on those lines by
linear reference, sorted, and every stretch between two consecutive hydrants longer than the
maximum spacing is a gap.

Stretches before the first and after the last hydrant of a line are *not* spacing gaps: nothing
bounds them on one side, and whether they are served is a coverage question
(:func:`routing.coverage.hydrant_coverage`). A closed street (a ring) also has the stretch from its
last hydrant round to its first. A street that forks (three or more of its edges meeting at a
node), or whose two carriageways are mapped separately, gives several lines that are analysed
separately; hydrants on one carriageway do not count for the other.

Roads that do not need hydrants (``needs_hydrants``, :func:`routing.coverage.roads_needing_hydrants`:
motorways by default) are left out: no gap is measured along them and hydrants snapped to them
do not bound a gap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.errors import ConfigError
from routing.coverage import (
    _counted,
    _service_mask,
    lists_by_group,
    merge_streets,
    street_keys,
)
from routing.graph import StreetGraph
from routing.snap import SnapResult, line_substrings

log = logging.getLogger(__name__)

_COLUMNS = ["name", "way_ids", "from_hydrant", "to_hydrant", "gap_m"]
#: A point this close (m) to a merged line lies on it.
_ON_LINE_M = 1e-6


def _edge_measures(
    graph: StreetGraph, edges: np.ndarray, parts: np.ndarray, part_street: np.ndarray,
    street: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Part of each edge, measure of its start on that part, and whether it runs along it.

    Only ``edges`` (whose street codes are ``street``) are placed; others get part -1. The
    edge's midpoint locates it on its street's merged line (unambiguous even on rings); the point
    at a quarter of its length tells its direction.
    """
    geoms = graph.geometry[edges]
    mid = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    k, part_i = shapely.STRtree(parts).query(mid, predicate="dwithin", distance=_ON_LINE_M)
    same = part_street[part_i] == street[k]
    k, part_i = k[same], part_i[same]
    order = np.lexsort((part_i, k))
    k, part_i = k[order], part_i[order]
    first = np.ones(len(k), dtype=bool)
    first[1:] = k[1:] != k[:-1]
    k, part_i = k[first], part_i[first]

    lines = parts[part_i]
    m_mid = shapely.line_locate_point(lines, mid[k])
    quarter = shapely.line_interpolate_point(geoms[k], 0.25, normalized=True)
    fwd = shapely.line_locate_point(lines, quarter) <= m_mid
    half = graph.length_m[edges[k]] / 2
    part = np.full(graph.n_edges, -1, dtype=np.int64)
    start = np.full(graph.n_edges, np.nan)
    along = np.ones(graph.n_edges, dtype=bool)
    part[edges[k]] = part_i
    start[edges[k]] = np.where(fwd, m_mid - half, m_mid + half)
    along[edges[k]] = fwd
    return part, start, along


@dataclass(frozen=True, eq=False)
class _Gaps:
    """Gaps between consecutive hydrants: hydrants, street line, measures along it, geometry."""

    from_h: np.ndarray
    to_h: np.ndarray
    part: np.ndarray
    m0: np.ndarray
    m1: np.ndarray
    gap_m: np.ndarray
    geom: np.ndarray

    def concat(self, other: _Gaps) -> _Gaps:
        """These gaps followed by ``other``."""
        return _Gaps(**{f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                        for f in fields(self)})


def _ring_gaps(
    parts: np.ndarray,
    h: np.ndarray,
    hp: np.ndarray,
    measure: np.ndarray,
    same: np.ndarray,
    *,
    max_spacing_m: float,
) -> _Gaps | None:
    """On closed street lines, the stretch from the last hydrant round the closure to the first
    one, where it is longer than ``max_spacing_m`` (None when there is none).

    ``h``, ``hp``, ``measure``: hydrants sorted by line and measure; ``same``: consecutive
    hydrants on one line.
    """
    lengths = shapely.length(parts)
    last = np.append(~same, True)
    firsts = np.flatnonzero(np.insert(~same, 0, True))
    lasts = np.flatnonzero(last)
    ring = shapely.is_closed(parts[hp[lasts]]) & (lasts > firsts)
    wrap_gap = lengths[hp[lasts]] - measure[lasts] + measure[firsts]
    wrap = ring & (wrap_gap > max_spacing_m)
    if not wrap.any():
        return None
    wl, wf = lasts[wrap], firsts[wrap]
    wp = hp[wl]
    tail = line_substrings(parts, measure[wl], lengths[wp], line_index=wp)
    head = line_substrings(parts, np.zeros(len(wf)), measure[wf], line_index=wp)
    joined = shapely.line_merge(
        shapely.multilinestrings(
            np.stack([tail, head], axis=1).ravel(), indices=np.repeat(np.arange(len(wl)), 2)
        )
    )
    return _Gaps(from_h=h[wl], to_h=h[wf], part=wp, m0=measure[wl],
                 m1=measure[wf] + lengths[wp], gap_m=wrap_gap[wrap], geom=np.asarray(joined))


def _gap_ways(
    graph: StreetGraph,
    gaps: _Gaps,
    parts: np.ndarray,
    *,
    part: np.ndarray,
    start: np.ndarray,
    along: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per gap: the sorted OSM ways along it and the street name ('' when unnamed).

    The ways are those of the edges of its line whose extent overlaps the stretch (on rings,
    also shifted by one ring length for the wrap-round stretch).
    """
    roads = graph.roads
    names = roads["name"].fillna("").astype(str).to_numpy(dtype=object)
    way_of_edge = roads["way_id"].to_numpy(dtype=np.int64)
    lengths = shapely.length(parts)
    n_gaps = len(gaps.gap_m)
    edges_on = np.flatnonzero(part >= 0)
    length_on = graph.length_m[edges_on]
    lo = np.where(along[edges_on], start[edges_on], start[edges_on] - length_on)
    edge_frame = pd.DataFrame(
        {"part": part[edges_on], "lo": lo, "hi": lo + length_on,
         "way_id": way_of_edge[edges_on], "name": names[edges_on]}
    )
    gap_frame = pd.DataFrame(
        {"gap": np.arange(n_gaps), "part": gaps.part, "m0": gaps.m0, "m1": gaps.m1}
    )
    pairs = gap_frame.merge(edge_frame, on="part")
    ring_len = lengths[pairs["part"].to_numpy()]
    overlap = np.maximum(
        np.minimum(pairs["hi"], pairs["m1"]) - np.maximum(pairs["lo"], pairs["m0"]),
        np.minimum(pairs["hi"] + ring_len, pairs["m1"]) - np.maximum(pairs["lo"] + ring_len,
                                                                     pairs["m0"]),
    )
    pairs = pairs.loc[overlap > _ON_LINE_M]
    way_ids = lists_by_group(
        pairs["gap"].to_numpy(dtype=np.int64), pairs["way_id"].to_numpy(dtype=np.int64), n_gaps,
    )
    street_name = pairs.groupby("gap")["name"].first()
    return way_ids, street_name.reindex(np.arange(n_gaps)).fillna("").to_numpy(dtype=object)


def _hydrant_measures(
    hydrant_snaps: SnapResult,
    h: np.ndarray,
    *,
    part: np.ndarray,
    start: np.ndarray,
    along: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hydrants ``h`` placed on their street lines: hydrant, line and measure along it, sorted
    by line then measure (hydrants whose edge is on no line are left out)."""
    e = hydrant_snaps.edge[h]
    ok = part[e] >= 0
    if not ok.all():
        log.info("spacing: %d hydrants could not be placed on their street line", int((~ok).sum()))
    h, e = h[ok], e[ok]
    pos = hydrant_snaps.position_m[h]
    measure = np.where(along[e], start[e] + pos, start[e] - pos)
    hp = part[e]
    order = np.lexsort((h, measure, hp))
    return h[order], hp[order], measure[order]


def spacing_gaps(
    graph: StreetGraph,
    hydrant_snaps: SnapResult,
    *,
    max_spacing_m: float = 120.0,
    in_service: np.ndarray | None = None,
    needs_hydrants: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Stretches of street between consecutive hydrants longer than the maximum spacing.

    Parameters
    ----------
    graph
        The street graph.
    hydrant_snaps
        Hydrants snapped with :func:`routing.snap.snap_points`; unsnapped ones take no part.
    max_spacing_m
        Maximum spacing along a street (GB 50974 7.2.5: 120 m).
    in_service
        Optional bool per hydrant: only these hydrants count.
    needs_hydrants
        Optional bool per edge: only these streets are measured (the others, and hydrants
        snapped to them, take no part).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per gap: ``name`` (street name, '' when unnamed), ``way_ids`` (sorted list of the
        OSM ways the stretch runs along), ``from_hydrant`` and ``to_hydrant`` (indices into
        ``hydrant_snaps``, in the order of the merged line), ``gap_m`` (distance along the street)
        and the stretch geometry; sorted by ``gap_m``, longest first.
    """
    if not max_spacing_m > 0:
        raise ConfigError(f"max_spacing_m must be > 0, got {max_spacing_m}")
    active = _service_mask(in_service, len(hydrant_snaps)) & hydrant_snaps.snapped
    counted = _counted(needs_hydrants, graph.n_edges)
    active[active] = counted[hydrant_snaps.edge[active]]
    roads = graph.roads
    street, _ = pd.factorize(pd.Series(street_keys(roads["name"], roads["way_id"])))
    street = np.asarray(street, dtype=np.int64)

    h = np.flatnonzero(active)
    used = np.unique(street[hydrant_snaps.edge[h]])
    in_used = np.isin(street, used) & counted
    empty = gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in _COLUMNS},
        geometry=gpd.GeoSeries([], crs=graph.crs),
        crs=graph.crs,
    )
    if len(h) < 2:
        log.info("spacing: fewer than two hydrants, no gaps")
        return empty
    # Merge only the streets that carry hydrants (renumbered 0..k-1).
    sub_edges = np.flatnonzero(in_used)
    sub_code = np.searchsorted(used, street[sub_edges])
    parts, part_sub = merge_streets(graph.geometry[sub_edges], sub_code)
    part_street = used[part_sub]
    part, start, along = _edge_measures(graph, sub_edges, parts, part_street, street[sub_edges])

    h, hp, measure = _hydrant_measures(hydrant_snaps, h, part=part, start=start, along=along)
    same = hp[1:] == hp[:-1]
    gaps = np.flatnonzero(same & (measure[1:] - measure[:-1] > max_spacing_m))
    m0, m1 = measure[gaps], measure[gaps + 1]
    found = _Gaps(from_h=h[gaps], to_h=h[gaps + 1], part=hp[gaps], m0=m0, m1=m1, gap_m=m1 - m0,
                  geom=line_substrings(parts, m0, m1, line_index=hp[gaps]))
    wrap = _ring_gaps(parts, h, hp, measure, same, max_spacing_m=max_spacing_m)
    if wrap is not None:
        found = found.concat(wrap)

    if len(found.gap_m) == 0:
        log.info("spacing: no gaps over %g m between %d hydrants", max_spacing_m, len(h))
        return empty

    way_ids, street_name = _gap_ways(graph, found, parts, part=part, start=start, along=along)
    out = gpd.GeoDataFrame(
        {
            "name": street_name,
            "way_ids": way_ids,
            "from_hydrant": found.from_h.astype(np.int64),
            "to_hydrant": found.to_h.astype(np.int64),
            "gap_m": found.gap_m,
        },
        geometry=gpd.GeoSeries(found.geom, crs=graph.crs),
        crs=graph.crs,
    )
    out = out.sort_values(["gap_m", "from_hydrant"], ascending=[False, True]).reset_index(
        drop=True
    )
    log.info(
        "spacing: %d gaps over %g m between %d hydrants on %d street lines",
        len(out), max_spacing_m, len(h), len(np.unique(hp)),
    )
    return out

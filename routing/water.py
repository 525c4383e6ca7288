"""Water for each building: the hydrants that count toward it, their credited flow, the deficit.

A building's access point is the point of the nearest passable road closest to its footprint. The
distance from a building to a hydrant is measured along the hose-laying path: footprint to
access point (straight), along the streets (undirected hose-lay graph), road to hydrant
(straight). A hydrant counts toward the building when that distance is within the counting
radius (GB 50974 6.1.5: 150 m) and the hydrant stands at least the minimum distance from the
footprint (5 m, straight line: a hydrant against the wall is unusable in a fire).

All building–hydrant pairs within the radius come from bounded searches that touch only the
streets within the radius (:func:`routing.bounded.bounded_pairs`), joined with pandas; no Python
loop over buildings or hydrants, and the cost grows linearly with the city.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.threads import map_chunks
from routing.bounded import bounded_pairs
from routing.graph import StreetGraph
from routing.mains import cap_branch_credit
from routing.snap import SnapResult, snap_points

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class WaterOptions:
    """Distances for counting hydrants toward a building.

    Attributes
    ----------
    radius_m
        Maximum hose-lay distance (GB 50974 6.1.5: 150 m).
    min_distance_m
        Minimum straight distance from the footprint (GB 50974 6.1.5: 5 m).
    max_access_m
        A building farther than this from any passable road has no access point.
    """

    radius_m: float = 150.0
    min_distance_m: float = 5.0
    max_access_m: float = 60.0


@dataclass(frozen=True, eq=False)
class AccessPoints:
    """Each building's access point on the road graph (arrays aligned with the buildings)."""

    snaps: SnapResult
    offset_m: np.ndarray
    reason: np.ndarray

    @classmethod
    def from_columns(cls, buildings: pd.DataFrame, *, max_access_m: float = 60.0) -> AccessPoints:
        """The access points stored in a buildings result (``access_edge``,
        ``access_position_m``, ``access_offset_m``, ``access_reason`` columns)."""
        offset = buildings["access_offset_m"].to_numpy(dtype=np.float64)
        reason = buildings["access_reason"].astype(str).to_numpy(dtype=object)
        snaps = SnapResult(
            edge=buildings["access_edge"].to_numpy(dtype=np.int64),
            position_m=buildings["access_position_m"].to_numpy(dtype=np.float64),
            offset_m=offset, point=np.full(len(buildings), None, dtype=object), reason=reason,
            max_distance_m=max_access_m,
        )
        return cls(snaps=snaps, offset_m=offset, reason=reason)


def building_access(
    graph: StreetGraph,
    footprints: gpd.GeoSeries | np.ndarray,
    *,
    edge_mask: np.ndarray | None = None,
    max_access_m: float = 60.0,
) -> AccessPoints:
    """The point on the nearest (passable) road closest to each footprint.

    ``offset_m`` is the straight distance from the footprint to that point (0 when the road
    touches the building); ``reason`` says why a building has no access point.
    """
    geoms = np.asarray(footprints.to_numpy() if isinstance(footprints, gpd.GeoSeries) else footprints)
    n = len(geoms)
    mask = np.ones(graph.n_edges, dtype=bool) if edge_mask is None else np.asarray(edge_mask, bool)
    candidates = np.flatnonzero(mask)
    tree = shapely.STRtree(graph.geometry[candidates])

    def nearest(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        (q, t), dist = tree.query_nearest(
            geoms[start:stop], max_distance=max_access_m, return_distance=True, all_matches=False
        )
        return q + start, t, dist

    edge_of = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    for _, (q, t, dist) in map_chunks(nearest, n):  # GEOS without the GIL: one chunk per core
        edge_of[q] = candidates[t]
        offset[q] = dist
    access = np.full(n, None, dtype=object)
    found = edge_of >= 0
    lines = shapely.shortest_line(geoms[found], graph.geometry[edge_of[found]])
    access[found] = shapely.get_point(lines, 1)
    # snap the access points onto their edge (distance ~0) to get edge positions
    point_snaps = snap_points(graph, access[found], max_distance_m=1.0, edge_mask=mask)
    edge = np.full(n, -1, dtype=np.int64)
    pos = np.full(n, np.nan)
    pts = np.full(n, None, dtype=object)
    edge[found] = point_snaps.edge
    pos[found] = point_snaps.position_m
    pts[found] = point_snaps.point
    reason = np.full(n, "", dtype=object)
    reason[~found] = f"no passable road within {max_access_m:.0f} m"
    snaps = SnapResult(
        edge=edge, position_m=pos, offset_m=offset, point=pts, reason=reason,
        max_distance_m=max_access_m,
    )
    return AccessPoints(snaps=snaps, offset_m=offset, reason=reason)


def _ends(graph: StreetGraph, snaps: SnapResult, extra_m: np.ndarray) -> pd.DataFrame:
    """Rows (item, node, dist): distance from each snapped item to both ends of its edge."""
    ok = np.flatnonzero(snaps.edge >= 0)
    e = snaps.edge[ok]
    pos = snaps.position_m[ok]
    base = extra_m[ok]
    return pd.DataFrame(
        {
            "item": np.concatenate([ok, ok]),
            "node": np.concatenate([graph.u_idx[e], graph.v_idx[e]]),
            "dist": np.concatenate([base + pos, base + graph.length_m[e] - pos]),
        }
    )


def hydrant_pairs(
    graph: StreetGraph,
    access: AccessPoints,
    hydrant_snaps: SnapResult,
    *,
    radius_m: float,
) -> pd.DataFrame:
    """Every (building, hydrant) pair within ``radius_m`` by hose-lay distance.

    Returns columns ``building``, ``hydrant``, ``distance_m`` (footprint offset + street +
    hydrant offset), one row per pair with the shortest distance.
    """
    b_off = np.nan_to_num(access.offset_m, nan=0.0)
    h_off = np.nan_to_num(hydrant_snaps.offset_m, nan=0.0)
    b_ends = _ends(graph, access.snaps, b_off)
    h_ends = _ends(graph, hydrant_snaps, h_off)
    b_ends = b_ends.loc[b_ends["dist"] <= radius_m]
    h_ends = h_ends.loc[h_ends["dist"] <= radius_m]
    node_pairs = bounded_pairs(
        graph, np.unique(b_ends["node"].to_numpy()), np.unique(h_ends["node"].to_numpy()), radius_m
    )
    joined = b_ends.rename(columns={"item": "building", "node": "s", "dist": "db"}).merge(
        node_pairs, on="s"
    ).merge(h_ends.rename(columns={"item": "hydrant", "node": "t", "dist": "dh"}), on="t")
    joined["distance_m"] = joined["db"] + joined["d"] + joined["dh"]
    via_nodes = joined[["building", "hydrant", "distance_m"]]
    # a building and a hydrant on the same edge: straight along the edge
    b_ok = np.flatnonzero(access.snaps.edge >= 0)
    h_ok = np.flatnonzero(hydrant_snaps.edge >= 0)
    same = pd.DataFrame({"building": b_ok, "edge": access.snaps.edge[b_ok],
                         "pb": access.snaps.position_m[b_ok]}).merge(
        pd.DataFrame({"hydrant": h_ok, "edge": hydrant_snaps.edge[h_ok],
                      "ph": hydrant_snaps.position_m[h_ok]}), on="edge")
    same["distance_m"] = (
        (same["pb"] - same["ph"]).abs() + b_off[same["building"]] + h_off[same["hydrant"]]
    )
    pairs = pd.concat([via_nodes, same[["building", "hydrant", "distance_m"]]], ignore_index=True)
    pairs = pairs.loc[pairs["distance_m"] <= radius_m + 1e-9]
    best = pairs.groupby(["building", "hydrant"], as_index=False).agg(distance_m=("distance_m", "min"))
    return best.astype({"building": np.int64, "hydrant": np.int64})


def building_water(
    graph: StreetGraph,
    footprints: gpd.GeoSeries,
    access: AccessPoints,
    hydrant_snaps: SnapResult,
    hydrant_points: gpd.GeoSeries,
    *,
    credited_lps: np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray],
    options: WaterOptions | None = None,
    branch_groups: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hydrants counting toward each building and their summed credited flow.

    Parameters
    ----------
    graph
        The street graph (hose-lay distances).
    footprints
        Building footprints (working CRS).
    access
        Access points from :func:`building_access`.
    hydrant_snaps, hydrant_points
        Hydrants snapped to the graph, and their positions (for the 5 m wall rule).
    credited_lps
        Flow credited to each hydrant (0 for hydrants that do not count at all), or a function
        ``(hydrant indices, distances) -> credits`` for credits that depend on distance.
    options
        Radius and distances.
    branch_groups
        Each hydrant's branch group (:func:`routing.mains.hydrant_groups`; -1: credited alone):
        the hydrants of one group count at most one hydrant's flow toward a building
        (GB 50974 6.1.5(3)). None: every hydrant alone.

    Returns
    -------
    per_building, pairs
        ``per_building`` (aligned with ``footprints``): ``hydrants_in_range``, ``credited_flow_lps``,
        ``nearest_hydrant_m`` (NaN if none in range); ``pairs``: every counted
        (building, hydrant, distance_m).
    """
    options = options or WaterOptions()
    pairs = hydrant_pairs(graph, access, hydrant_snaps, radius_m=options.radius_m)
    hyd = pairs["hydrant"].to_numpy()
    if callable(credited_lps):
        credit = np.asarray(credited_lps(hyd, pairs["distance_m"].to_numpy()), dtype=np.float64)
    else:
        credit = np.asarray(credited_lps, dtype=np.float64)[hyd]
    pairs["credited_lps"] = credit
    pairs = pairs.loc[credit > 0]
    fp = np.asarray(footprints.to_numpy())
    hp = np.asarray(hydrant_points.to_numpy())
    wall = shapely.distance(fp[pairs["building"].to_numpy()], hp[pairs["hydrant"].to_numpy()])
    pairs = pairs.loc[wall >= options.min_distance_m].reset_index(drop=True)
    if branch_groups is not None:
        pairs = cap_branch_credit(pairs, branch_groups)
    grouped = pairs.groupby("building").agg(
        hydrants_in_range=("hydrant", "size"),
        credited_flow_lps=("credited_lps", "sum"),
        nearest_hydrant_m=("distance_m", "min"),
    )
    per_building = grouped.reindex(np.arange(len(fp)))
    per_building["hydrants_in_range"] = per_building["hydrants_in_range"].fillna(0).astype(np.int64)
    per_building["credited_flow_lps"] = per_building["credited_flow_lps"].fillna(0.0)
    log.info(
        "building water: %d buildings, %d with an access point, %d with a hydrant in range",
        len(fp), int(access.snaps.snapped.sum()), int((per_building["hydrants_in_range"] > 0).sum()),
    )
    return per_building.reset_index(drop=True), pairs

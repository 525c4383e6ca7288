"""Station response: travel time from the fire stations to every node, edge and point.

Time = turnout time + drive time along the truck graph. Stations are snapped to the nearest
passable edge and leave it in whichever direction the truck graph allows; the drive time along a
partial edge is proportional to the part driven. One multi-source Dijkstra (scipy, with one
virtual node per station so that the first-due station of every node comes back with it) gives
all node times; edges and points on edges are then closed-form.

The response time of an edge is the time to reach its midpoint; of a point on an edge (a
building's access point), the time to reach that point.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.errors import AnalysisError
from routing.graph import TruckGraph
from routing.snap import SnapResult, snap_points

log = logging.getLogger(__name__)

_MIN_WEIGHT = 1e-9  # sparse graphs drop explicit zeros: keep seed weights strictly positive


@dataclass(frozen=True, eq=False)
class ResponseResult:
    """Response times from the stations.

    Attributes
    ----------
    node_time_s
        Turnout + drive time to every graph node (inf where no station can reach it).
    node_station
        First-due station (index into the stations) of every node, -1 where unreachable.
    edge_time_s
        Time to reach the midpoint of every roads row (inf where unreachable). An impassable edge
        is reached at its nearer reachable end.
    edge_station
        First-due station of every roads row, -1 where unreachable.
    station_snaps
        Where each station joined the truck graph.
    turnout_s
        Turnout time used.
    """

    node_time_s: np.ndarray
    node_station: np.ndarray
    edge_time_s: np.ndarray
    edge_station: np.ndarray
    station_snaps: SnapResult = field(repr=False)
    turnout_s: float


def edge_directions(truck: TruckGraph) -> tuple[np.ndarray, np.ndarray]:
    """(forward, backward): whether a truck may drive each roads row u→v and v→u."""
    graph = truck.graph
    forward = truck.edge_passable & (graph.u_idx != graph.v_idx)
    oneway = graph.roads["oneway"].fillna(False).to_numpy(dtype=bool)
    backward = forward & ~(oneway & truck.options.respect_oneway)
    return forward, backward


def station_response(
    truck: TruckGraph,
    stations: gpd.GeoSeries | np.ndarray,
    *,
    turnout_s: float = 60.0,
    max_snap_m: float = 500.0,
) -> ResponseResult:
    """Travel times from every station to every node and edge of the truck graph.

    Parameters
    ----------
    truck
        The truck graph (:func:`routing.graph.truck_graph`).
    stations
        Station points in the working CRS.
    turnout_s
        Time from the alarm to leaving the station (GB 51080: about 60 s).
    max_snap_m
        A station farther than this from any passable road is left out (with its reason in
        ``station_snaps.reason``); station yards are often far from the street centre line.

    Returns
    -------
    ResponseResult
    """
    snaps = snap_points(truck.graph, stations, max_distance_m=max_snap_m,
                        edge_mask=truck.edge_passable)
    if not snaps.snapped.any():
        raise AnalysisError(
            "no fire station lies within "
            f"{max_snap_m:.0f} m of a passable road; check the stations layer and its CRS"
        )
    result = _response(truck, snaps, turnout_s=turnout_s)
    log.info(
        "station response: %d of %d stations on the truck graph, %d of %d nodes reachable",
        int(snaps.snapped.sum()), len(snaps), int(np.isfinite(result.node_time_s).sum()),
        truck.graph.n_nodes,
    )
    return result


#: Highway classes of the main road network (OSM ``highway``): the reference for blockages and
#: critical lanes when there is no fire station (:func:`main_road_reach`).
MAIN_ROAD_HIGHWAYS = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link",
    }
)


def main_road_reach(
    truck: TruckGraph, *, highways: frozenset[str] = MAIN_ROAD_HIGHWAYS
) -> ResponseResult | None:
    """Drive times from the main road network, for when there is no fire station.

    A truck is assumed on every passable main-road edge (a seed at its midpoint, no turnout),
    so the times say how far a point lies from the main roads, and a point that no seed
    reaches is cut off from them. The "stations" of the result are those seeds, one per main
    road edge (``station_snaps``). None when the graph has no ``highway`` column or no
    passable edge of those classes.
    """
    graph = truck.graph
    if "highway" not in graph.roads.columns:
        return None
    highway = graph.roads["highway"].fillna("").astype(str).to_numpy(dtype=object)
    edges = np.flatnonzero(np.isin(highway, list(highways)) & truck.edge_passable)
    if len(edges) == 0:
        return None
    half = graph.length_m[edges] / 2
    snaps = SnapResult(
        edge=edges.astype(np.int64), position_m=half, offset_m=np.zeros(len(edges)),
        point=shapely.line_interpolate_point(
            np.asarray(graph.roads.geometry.array)[edges], half),
        reason=np.full(len(edges), "", dtype=object), max_distance_m=0.0,
    )
    result = _response(truck, snaps, turnout_s=0.0)
    log.info("main roads: %d main-road edges as the reference, %d of %d nodes reachable",
             len(edges), int(np.isfinite(result.node_time_s).sum()), graph.n_nodes)
    return result


def _response(truck: TruckGraph, snaps: SnapResult, *, turnout_s: float) -> ResponseResult:
    """The times from the snapped ``snaps`` (one virtual node each) to every node and edge."""
    graph = truck.graph
    n = graph.n_nodes
    ok = np.flatnonzero(snaps.snapped)
    forward, backward = edge_directions(truck)
    e = snaps.edge[ok]
    frac = snaps.position_m[ok] / graph.length_m[e]
    t_edge = truck.edge_time_s[e]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    data: list[np.ndarray] = []
    virtual = n + ok  # one virtual node per (snapped) station, numbered by station index
    fw = forward[e]
    rows.append(virtual[fw])
    cols.append(graph.v_idx[e[fw]])
    data.append(turnout_s + (1 - frac[fw]) * t_edge[fw])
    bw = backward[e]
    rows.append(virtual[bw])
    cols.append(graph.u_idx[e[bw]])
    data.append(turnout_s + frac[bw] * t_edge[bw])
    seed_rows, seed_cols = np.concatenate(rows), np.concatenate(cols)
    seed_data = np.maximum(np.concatenate(data), _MIN_WEIGHT)
    size = n + len(snaps)
    base = truck.csr.tocoo()
    aug = sp.csr_array(
        (
            np.concatenate([np.maximum(base.data, _MIN_WEIGHT), seed_data]),
            (np.concatenate([base.row, seed_rows]), np.concatenate([base.col, seed_cols])),
        ),
        shape=(size, size),
    )
    dist, _, sources = dijkstra(
        aug, directed=True, indices=virtual, min_only=True, return_predecessors=True
    )
    node_time = dist[:n]
    node_station = np.where(sources[:n] >= 0, sources[:n] - n, -1)
    node_station[~np.isfinite(node_time)] = -1

    mid_time, mid_station = point_times(
        truck, node_time, node_station, np.arange(graph.n_edges), graph.length_m / 2,
        station_snaps=snaps, turnout_s=turnout_s,
    )
    # impassable edges: reached at their nearer reachable end (the truck stops there)
    blocked = ~truck.edge_passable
    tu, tv = node_time[graph.u_idx[blocked]], node_time[graph.v_idx[blocked]]
    su, sv = node_station[graph.u_idx[blocked]], node_station[graph.v_idx[blocked]]
    mid_time[blocked] = np.minimum(tu, tv)
    mid_station[blocked] = np.where(tu <= tv, su, sv)
    mid_station[~np.isfinite(mid_time)] = -1
    return ResponseResult(
        node_time_s=node_time,
        node_station=node_station,
        edge_time_s=mid_time,
        edge_station=mid_station,
        station_snaps=snaps,
        turnout_s=turnout_s,
    )


def point_times(
    truck: TruckGraph,
    node_time: np.ndarray,
    node_station: np.ndarray,
    edge: np.ndarray,
    position_m: np.ndarray,
    *,
    station_snaps: SnapResult,
    turnout_s: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Time (and first-due station) to reach points at ``position_m`` along roads rows ``edge``.

    A point is reached from ``u`` (if the edge may be driven u→v), from ``v`` (if v→u), or
    directly by a station snapped to the same edge. ``edge == -1`` gives inf and -1.
    """
    graph = truck.graph
    forward, backward = edge_directions(truck)
    valid = edge >= 0
    e = np.where(valid, edge, 0)
    length = graph.length_m[e]
    frac = np.clip(position_m / length, 0.0, 1.0)
    t_edge = truck.edge_time_s[e]
    via_u = np.where(forward[e], node_time[graph.u_idx[e]] + frac * t_edge, np.inf)
    via_v = np.where(backward[e], node_time[graph.v_idx[e]] + (1 - frac) * t_edge, np.inf)
    time = np.minimum(via_u, via_v)
    station = np.where(via_u <= via_v, node_station[graph.u_idx[e]], node_station[graph.v_idx[e]])
    # stations on the same edge as the point
    s_ok = np.flatnonzero(station_snaps.snapped)
    if len(s_ok):
        s_edge = station_snaps.edge[s_ok]
        order = np.argsort(s_edge, kind="stable")
        s_edge, s_idx = s_edge[order], s_ok[order]
        lo = np.searchsorted(s_edge, e, side="left")
        hi = np.searchsorted(s_edge, e, side="right")
        has = valid & (hi > lo)
        for p in np.flatnonzero(has):  # few points share an edge with a station
            for k in range(lo[p], hi[p]):
                s = s_idx[k]
                s_frac = station_snaps.position_m[s] / length[p]
                ahead = frac[p] >= s_frac
                allowed = forward[e[p]] if ahead else backward[e[p]]
                if not allowed:
                    continue
                direct = turnout_s + abs(frac[p] - s_frac) * t_edge[p]
                if direct < time[p]:
                    time[p], station[p] = direct, s
    time = np.where(valid, time, np.inf)
    station = np.where(valid & np.isfinite(time), station, -1)
    return time, station


def first_due_areas(
    truck: TruckGraph, response: ResponseResult, *, n_stations: int
) -> gpd.GeoDataFrame:
    """Each station's first-due area: Voronoi cells of the road nodes, dissolved by station.

    Space is shared out by nearest road node, so the cells partition the network's convex hull.
    Nodes on one spot share one cell, which goes to the first of them (by node index).
    Columns: ``station`` (index), ``area_km2``, ``nodes``.
    """
    graph = truck.graph
    reach = response.node_station >= 0
    # one cell per distinct spot, in the order of the spots (voronoi_polygons' ``ordered``
    # refuses repeated points), so no spatial match of cells to nodes is needed
    spots, first = np.unique(graph.node_xy[reach], axis=0, return_index=True)
    if len(spots) < 3:
        return gpd.GeoDataFrame(
            {"station": [], "area_km2": [], "nodes": []}, geometry=[], crs=graph.crs
        )
    hull = shapely.convex_hull(shapely.multipoints(graph.node_xy))
    diagram = shapely.voronoi_polygons(shapely.multipoints(spots), extend_to=hull, ordered=True)
    owner = response.node_station[reach][first]
    # cells grouped by station in one sort (kept in their order within a station), not one
    # scan of all cells per station; each station's cells are taken out of the diagram on
    # their own, so the cells are never all copied at once (+1 GB at 900,000 nodes)
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(n_stations + 1))
    nodes = np.bincount(response.node_station[reach], minlength=n_stations)
    rows = []
    for s in range(n_stations):
        if bounds[s] == bounds[s + 1]:
            continue
        mine = shapely.get_geometry(diagram, order[bounds[s] : bounds[s + 1]])
        # Voronoi cells are a coverage (no overlaps, shared edges vertex for vertex): their
        # coverage union only drops the shared edges, 15x faster than an overlay union.
        area = shapely.intersection(shapely.coverage_union_all(mine), hull)
        rows.append({"station": s, "area_km2": shapely.area(area) / 1e6,
                     "nodes": int(nodes[s]), "geometry": area})
    return gpd.GeoDataFrame(rows, columns=["station", "area_km2", "nodes", "geometry"],
                            geometry="geometry", crs=graph.crs)

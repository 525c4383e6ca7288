"""The street network as graphs: the hose-lay graph and the fire-truck view.

:func:`build_graph` turns the roads layer (:data:`geo.schema.ROADS`, one row per edge) into a
:class:`StreetGraph`, built once and never edited afterwards. It holds

* the nodes (OSM node ids, sorted) and their coordinates,
* per-edge arrays aligned with the roads rows (end-node indices, length, ``edge_id``, geometry),
* the **hose-lay graph**: an undirected ``scipy.sparse`` CSR matrix of edge lengths in metres.
  Hoses are laid on foot along any street in either direction, so one-way rules, widths and
  barriers do not apply. Of parallel edges the shortest is kept; self-loops are left out.

:func:`truck_graph` derives a :class:`TruckGraph`, the **fire-truck view**: a directed CSR matrix
of travel times in seconds over the edges a fire truck can pass (width, clearance height,
barriers, optional one-way rules, plus scenario masks). A scenario (a blocked lane, a locked gate)
is a new :class:`TruckGraph` built from masks; the :class:`StreetGraph` is never mutated.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from numpy.typing import ArrayLike

from geo._validate import bool_mask, require_columns
from geo.errors import AnalysisError, ConfigError, LayerValidationError, NotFoundError
from geo.schema import BARRIERS, ROADS, require_projected, same_crs

log = logging.getLogger(__name__)

#: Travel speed (km/h) of a fire truck by OSM highway class, urban defaults. ``*_link`` classes
#: not listed run 5 km/h below their parent class; any other class runs at ``default_speed_kmh``.
DEFAULT_SPEEDS_KMH: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 60.0,
        "trunk": 50.0,
        "primary": 45.0,
        "secondary": 40.0,
        "tertiary": 35.0,
        "unclassified": 30.0,
        "residential": 25.0,
        "living_street": 10.0,
        "service": 15.0,
        "motorway_link": 55.0,
        "trunk_link": 45.0,
        "primary_link": 40.0,
        "secondary_link": 35.0,
        "tertiary_link": 30.0,
    }
)

#: Barriers that stop a fire truck outright (``barrier=*`` values). Their node is removed from
#: the truck graph. Kerbs and cattle grids are crossable and not listed; ``wicket_gate`` is a
#: pedestrian gate, too narrow for a truck.
DEFAULT_BLOCKING_BARRIERS: frozenset[str] = frozenset(
    {
        "bollard", "block", "bar", "chain", "rope", "jersey_barrier", "log", "debris", "planter",
        "fence", "wall", "hedge", "spikes", "turnstile", "full-height_turnstile", "kissing_gate",
        "stile", "cycle_barrier", "motorcycle_barrier", "horse_stile", "wicket_gate",
    }
)

#: Gates: passable unless ``locked=yes``, ``access`` is ``private`` or ``no`` on the barrier, or
#: :attr:`TruckOptions.gates_locked` is set. ``barrier=yes`` (type not stated) is treated as a gate.
DEFAULT_GATE_BARRIERS: frozenset[str] = frozenset(
    {"gate", "lift_gate", "swing_gate", "sliding_gate", "hampshire_gate", "yes"}
)

_CLOSED_GATE_ACCESS = frozenset({"private", "no"})
_TAGGED_WIDTH_SOURCES = frozenset({"width", "maxwidth"})
#: Tolerance (m) between an edge's geometry ends and the coordinates of its u and v nodes.
_NODE_TOLERANCE_M = 0.01

#: Reasons an edge is not passable for a truck, in order of precedence (one reason per edge).
REASONS: tuple[str, ...] = ("width", "height", "barrier", "scenario")


@dataclass(frozen=True, eq=False)
class StreetGraph:
    """The street network, built once by :func:`build_graph`.

    Attributes
    ----------
    node_ids
        OSM node ids, sorted ascending (int64); the position is the node index.
    node_xy
        ``(n_nodes, 2)`` coordinates of the nodes in the working CRS (metres).
    u_idx, v_idx
        Node index of each edge's start and end, aligned with the rows of ``roads``.
    length_m
        Length of each edge's geometry (metres). Snap positions refer to this length.
    edge_id
        The roads ``edge_id`` of each row.
    geometry
        Numpy array of the edges' shapely LineStrings (running from u to v).
    roads
        The roads GeoDataFrame the graph was built from (not copied; never modified).
    crs
        The working CRS (projected, metres).
    hose
        Undirected hose-lay graph, ``(n_nodes, n_nodes)`` CSR of lengths in metres, stored
        symmetric; parallel edges keep the minimum length, self-loops are left out.
    tree
        A shapely STRtree over ``geometry`` for snapping.
    vertex_xy, vertex_offset, vertex_m
        All edges' vertices ``(n_vertices, 2)``, column-major; edge ``i`` owns rows
        ``vertex_offset[i]:vertex_offset[i + 1]``; ``vertex_m`` is each vertex's distance from
        its edge's start along the edge.
    barriers
        The barriers GeoDataFrame given to :func:`build_graph`, or ``None``.
    barrier_node
        Node index of each barriers row (-1 when the node is not in the graph).
    """

    node_ids: np.ndarray
    node_xy: np.ndarray
    u_idx: np.ndarray
    v_idx: np.ndarray
    length_m: np.ndarray
    edge_id: np.ndarray
    geometry: np.ndarray = field(repr=False)
    roads: gpd.GeoDataFrame = field(repr=False)
    crs: pyproj.CRS
    hose: sp.csr_array = field(repr=False)
    tree: shapely.STRtree = field(repr=False)
    vertex_xy: np.ndarray = field(repr=False)
    vertex_offset: np.ndarray = field(repr=False)
    vertex_m: np.ndarray = field(repr=False)
    barriers: gpd.GeoDataFrame | None = field(default=None, repr=False)
    barrier_node: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of edges (rows of ``roads``)."""
        return len(self.length_m)

    @functools.cached_property
    def node_x_order(self) -> np.ndarray:
        """Node indices sorted by x (stable): windows of nodes by x with two binary searches.

        Sorted once per graph; live updates ask for a few small windows each.
        """
        return np.argsort(self.node_xy[:, 0], kind="stable")

    def node_index(self, ids: ArrayLike) -> np.ndarray:
        """Return the node indices of OSM node ids.

        Raises
        ------
        NotFoundError
            If an id is not a node of the graph.
        """
        ids_arr = np.atleast_1d(np.asarray(ids, dtype=np.int64))
        pos = np.searchsorted(self.node_ids, ids_arr)
        pos = np.minimum(pos, len(self.node_ids) - 1)
        missing = self.node_ids[pos] != ids_arr
        if missing.any():
            bad = ids_arr[missing][:5].tolist()
            raise NotFoundError(f"node ids {bad} are not nodes of the street graph")
        return pos.astype(np.int64)


@dataclass(frozen=True, eq=False)
class TruckOptions:
    """What a fire truck can pass and how fast it drives.

    Attributes
    ----------
    min_width_m
        Minimum clear carriageway width (GB 55037 3.4.5: 4.0 m).
    min_height_m
        Minimum clear height (GB 55037 3.4.5: 4.0 m); edges with a signed ``maxheight`` below it
        are not passable; edges without one are.
    respect_oneway
        False (default): emergency vehicles may drive one-way streets against the flow, so every
        passable edge is usable in both directions. True: one-way edges only from u to v.
    gates_locked
        Pessimistic scenario: every gate counts as locked, whatever its tags say.
    speeds_kmh
        Travel speed by highway class (km/h). Missing ``*_link`` classes use the parent's speed
        minus 5 km/h; other missing classes use ``default_speed_kmh``.
    default_speed_kmh
        Speed of classes not in ``speeds_kmh``.
    block_on_estimated_width
        False (default): an estimated width (``width_source='estimated'``) never blocks; only a
        tagged ``width``/``maxwidth`` below ``min_width_m`` does. True: estimated widths block too.
    blocking_barriers
        ``barrier=*`` values that always block their node.
    gate_barriers
        ``barrier=*`` values that block their node only when closed: ``locked=yes``, ``access``
        ``private``/``no``, or ``gates_locked``. Other barrier values never block.
    """

    min_width_m: float = 4.0
    min_height_m: float = 4.0
    respect_oneway: bool = False
    gates_locked: bool = False
    speeds_kmh: Mapping[str, float] = field(default_factory=lambda: DEFAULT_SPEEDS_KMH)
    default_speed_kmh: float = 20.0
    block_on_estimated_width: bool = False
    blocking_barriers: frozenset[str] = DEFAULT_BLOCKING_BARRIERS
    gate_barriers: frozenset[str] = DEFAULT_GATE_BARRIERS

    def __post_init__(self) -> None:
        if not (self.min_width_m >= 0 and self.min_height_m >= 0):
            raise ConfigError(
                f"TruckOptions: min_width_m ({self.min_width_m}) and min_height_m "
                f"({self.min_height_m}) must be >= 0"
            )
        bad = {k: v for k, v in self.speeds_kmh.items() if not v > 0}
        if bad or not self.default_speed_kmh > 0:
            raise ConfigError(
                f"TruckOptions: speeds must be > 0 km/h; got {bad or self.default_speed_kmh}"
            )

    def speed_kmh(self, highway: str) -> float:
        """Speed (km/h) used for one highway class."""
        if highway in self.speeds_kmh:
            return float(self.speeds_kmh[highway])
        parent = highway.removesuffix("_link")
        if parent != highway and parent in self.speeds_kmh:
            return max(float(self.speeds_kmh[parent]) - 5.0, 5.0)
        return float(self.default_speed_kmh)


@dataclass(frozen=True, eq=False)
class TruckGraph:
    """The fire-truck view of a :class:`StreetGraph` (see :func:`truck_graph`).

    Attributes
    ----------
    graph
        The street graph it was derived from.
    options
        The truck options used.
    csr
        Directed ``(n_nodes, n_nodes)`` CSR of travel times in seconds over passable edges; of
        parallel edges the fastest is kept.
    csr_edge
        Roads row of each stored CSR entry (aligned with ``csr.data``): the edge a path uses.
    edge_time_s
        Travel time of each edge (seconds), also for impassable edges.
    edge_passable
        True where the edge is in the truck graph.
    edge_reason
        ``''`` for passable edges, else the first of ``'width'``, ``'height'``, ``'barrier'``
        (a blocking barrier or closed gate at one of its nodes), ``'scenario'`` (blocked by a
        mask passed to :func:`truck_graph`) that applies.
    node_blocked
        True for nodes removed from the truck graph (blocking barrier, closed gate or scenario).
    """

    graph: StreetGraph = field(repr=False)
    options: TruckOptions
    csr: sp.csr_array = field(repr=False)
    csr_edge: np.ndarray = field(repr=False)
    edge_time_s: np.ndarray = field(repr=False)
    edge_passable: np.ndarray = field(repr=False)
    edge_reason: np.ndarray = field(repr=False)
    node_blocked: np.ndarray = field(repr=False)

    def edge_of(self, from_node: ArrayLike, to_node: ArrayLike) -> np.ndarray:
        """Roads row used by the truck graph from ``from_node`` to ``to_node`` (node indices).

        Returns -1 where there is no such truck edge.
        """
        a = np.atleast_1d(np.asarray(from_node, dtype=np.int64))
        b = np.atleast_1d(np.asarray(to_node, dtype=np.int64))
        n = self.graph.n_nodes
        # CSR entries are sorted by (row, column): one sorted key per entry.
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.csr.indptr))
        flat = rows * n + self.csr.indices
        key = a * n + b
        pos = np.minimum(np.searchsorted(flat, key), max(len(flat) - 1, 0))
        out = np.full(len(a), -1, dtype=np.int64)
        if len(flat):
            ok = flat[pos] == key
            out[ok] = self.csr_edge[pos[ok]]
        return out


def _check_roads(roads: gpd.GeoDataFrame) -> None:
    require_projected(roads, name="roads")
    require_columns(roads, [c.name for c in ROADS], layer="roads")
    if len(roads) == 0:
        raise AnalysisError("the roads layer is empty: no street graph can be built")
    geoms = np.asarray(roads.geometry.array)
    types = shapely.get_type_id(geoms)
    bad = (types != shapely.GeometryType.LINESTRING) | shapely.is_empty(geoms)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LayerValidationError(
            f"layer 'roads': {int(bad.sum())} rows have no LineString geometry (first: edge_id "
            f"{roads['edge_id'].iloc[i]}, {shapely.get_type_id(geoms[i])!r}); every edge must be "
            "a non-empty LineString from u to v"
        )


def _csr_from_entries(
    rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int
) -> tuple[sp.csr_array, np.ndarray]:
    """CSR from entries already free of duplicates; also the entry order used for ``data``."""
    order = np.lexsort((cols, rows))
    counts = np.bincount(rows, minlength=n)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    index_dtype = np.int32 if len(rows) < np.iinfo(np.int32).max else np.int64
    csr = sp.csr_array(
        (data[order], cols[order].astype(index_dtype), indptr.astype(index_dtype)), shape=(n, n)
    )
    return csr, order


def _first_of_pairs(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Positions of the minimum-weight entry of each distinct (a, b) pair (ties: lowest row)."""
    order = np.lexsort((np.arange(len(a)), weight, b, a))
    sa, sb = a[order], b[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1])
    return order[first]


def build_graph(
    roads: gpd.GeoDataFrame, *, barriers: gpd.GeoDataFrame | None = None
) -> StreetGraph:
    """Build the street graph from the roads layer.

    Parameters
    ----------
    roads
        Roads layer following :data:`geo.schema.ROADS` in a projected CRS (metres); each row is
        an edge whose LineString runs from node ``u`` to node ``v``.
    barriers
        Optional barriers layer following :data:`geo.schema.BARRIERS` (same CRS); used by
        :func:`truck_graph`. Barriers on nodes that are not in the graph are ignored (logged).

    Returns
    -------
    StreetGraph

    Raises
    ------
    CRSError
        If ``roads`` (or ``barriers``) is not in a projected CRS in metres, or they differ.
    LayerValidationError
        If columns are missing, geometries are not LineStrings, or an edge's geometry does not
        start at ``u`` and end at ``v``.
    AnalysisError
        If ``roads`` is empty.
    """
    _check_roads(roads)
    geoms = np.asarray(roads.geometry.array)
    u = roads["u"].to_numpy(dtype=np.int64)
    v = roads["v"].to_numpy(dtype=np.int64)
    node_ids, inverse = np.unique(np.concatenate([u, v]), return_inverse=True)
    n_edges = len(roads)
    u_idx = inverse[:n_edges].astype(np.int64)
    v_idx = inverse[n_edges:].astype(np.int64)

    coords, offsets = shapely.get_coordinates(geoms), np.zeros(n_edges + 1, dtype=np.int64)
    np.cumsum(shapely.get_num_coordinates(geoms), out=offsets[1:])
    ends_xy = np.concatenate([coords[offsets[:-1]], coords[offsets[1:] - 1]])
    node_xy = np.empty((len(node_ids), 2), dtype=np.float64)
    node_xy[inverse[::-1]] = ends_xy[::-1]  # first occurrence wins
    deviation = np.hypot(*(ends_xy - node_xy[inverse]).T)
    if (deviation > _NODE_TOLERANCE_M).any():
        raise LayerValidationError(_node_mismatch(roads, inverse, ends_xy, deviation, node_ids))

    length = shapely.length(geoms).astype(np.float64)
    vertex_m = _vertex_measures(coords, offsets)
    keep = _first_of_pairs(*_undirected(u_idx, v_idx), length)
    keep = keep[u_idx[keep] != v_idx[keep]]
    a, b = np.minimum(u_idx, v_idx)[keep], np.maximum(u_idx, v_idx)[keep]
    hose, _ = _csr_from_entries(
        np.concatenate([a, b]), np.concatenate([b, a]), np.tile(length[keep], 2), len(node_ids)
    )

    barrier_node = np.empty(0, dtype=np.int64)
    if barriers is not None:
        barrier_node = _barrier_nodes(barriers, roads, node_ids)

    graph = StreetGraph(
        node_ids=node_ids,
        node_xy=node_xy,
        u_idx=u_idx,
        v_idx=v_idx,
        length_m=length,
        edge_id=roads["edge_id"].to_numpy(dtype=np.int64),
        geometry=geoms,
        roads=roads,
        crs=pyproj.CRS.from_user_input(roads.crs),
        hose=hose,
        tree=shapely.STRtree(geoms),
        vertex_xy=np.asfortranarray(coords),
        vertex_offset=offsets,
        vertex_m=vertex_m,
        barriers=barriers,
        barrier_node=barrier_node,
    )
    log.info(
        "street graph: %d nodes, %d edges (%.1f km), %d hose-lay links, %d barriers",
        graph.n_nodes, n_edges, length.sum() / 1000, hose.nnz // 2, int((barrier_node >= 0).sum()),
    )
    return graph


def _vertex_measures(coords: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Distance of every vertex from the start of its line, along the line."""
    seg = np.hypot(*np.diff(coords, axis=0).T) if len(coords) > 1 else np.empty(0)
    seg[offsets[1:-1] - 1] = 0.0  # no segment from one line's last vertex to the next line
    odometer = np.concatenate([[0.0], np.cumsum(seg)])
    counts = np.diff(offsets)
    return odometer - np.repeat(odometer[offsets[:-1]], counts)


def _node_mismatch(
    roads: gpd.GeoDataFrame,
    inverse: np.ndarray,
    ends_xy: np.ndarray,
    deviation: np.ndarray,
    node_ids: np.ndarray,
) -> str:
    n_edges = len(roads)
    bad = int(np.argmax(deviation))
    first = int(np.argmax(inverse == inverse[bad]))

    def where(k: int) -> str:
        end = "starts" if k < n_edges else "ends"
        x, y = ends_xy[k]
        return f"edge_id {roads['edge_id'].iloc[k % n_edges]} {end} at ({x:.2f}, {y:.2f})"

    return (
        f"layer 'roads': edges disagree on where node {node_ids[inverse[bad]]} is: {where(first)} "
        f"but {where(bad)}, {deviation[bad]:.3f} m apart; each geometry must run from its u to "
        "its v node"
    )


def _undirected(u_idx: np.ndarray, v_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.minimum(u_idx, v_idx), np.maximum(u_idx, v_idx)


def _barrier_nodes(
    barriers: gpd.GeoDataFrame, roads: gpd.GeoDataFrame, node_ids: np.ndarray
) -> np.ndarray:
    require_projected(barriers, name="barriers")
    same_crs(("roads", roads), ("barriers", barriers))
    require_columns(barriers, [c.name for c in BARRIERS], layer="barriers")
    ids = barriers["node_id"].to_numpy(dtype=np.int64)
    pos = np.minimum(np.searchsorted(node_ids, ids), len(node_ids) - 1)
    found = node_ids[pos] == ids
    if not found.all():
        log.info("ignored %d barriers whose node is not in the roads graph", int((~found).sum()))
    return np.where(found, pos, -1).astype(np.int64)


def _str_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)


def barrier_blocks(graph: StreetGraph, *, options: TruckOptions) -> np.ndarray:
    """Which barriers rows block a fire truck under ``options`` (bool per row).

    A blocking barrier (:attr:`TruckOptions.blocking_barriers`) always blocks; a gate
    (:attr:`TruckOptions.gate_barriers`) blocks when ``locked='yes'``, when its ``access`` is
    ``private`` or ``no``, or when ``options.gates_locked``; other barriers never block.
    """
    if graph.barriers is None or len(graph.barriers) == 0:
        return np.zeros(0, dtype=bool)
    kind = _str_column(graph.barriers, "barrier")
    locked = _str_column(graph.barriers, "locked")
    access = _str_column(graph.barriers, "access")
    blocking = np.isin(kind, list(options.blocking_barriers))
    gate = np.isin(kind, list(options.gate_barriers))
    closed = (locked == "yes") | np.isin(access, list(_CLOSED_GATE_ACCESS)) | options.gates_locked
    return blocking | (gate & closed)


def truck_graph(
    graph: StreetGraph,
    *,
    options: TruckOptions | None = None,
    blocked_edges: np.ndarray | None = None,
    blocked_nodes: np.ndarray | None = None,
) -> TruckGraph:
    """Derive the fire-truck view of ``graph``.

    Parameters
    ----------
    graph
        The street graph (not modified).
    options
        Truck dimensions, speeds, one-way and barrier rules; ``TruckOptions()`` by default.
    blocked_edges
        Scenario mask (bool per roads row): edges closed in this scenario (reason ``'scenario'``).
    blocked_nodes
        Scenario mask (bool per node): nodes closed in this scenario; every edge touching them
        is removed.

    Returns
    -------
    TruckGraph
    """
    options = options if options is not None else TruckOptions()
    roads = graph.roads
    n_edges, n_nodes = graph.n_edges, graph.n_nodes
    extra_edges = bool_mask(blocked_edges, n_edges, what="blocked_edges")
    extra_nodes = bool_mask(blocked_nodes, n_nodes, what="blocked_nodes")

    width = roads["width_m"].to_numpy(dtype=np.float64)
    tagged = np.isin(_str_column(roads, "width_source"), list(_TAGGED_WIDTH_SOURCES))
    width_counts = tagged | options.block_on_estimated_width
    narrow = width_counts & (width < options.min_width_m)  # NaN never blocks
    low = roads["maxheight_m"].to_numpy(dtype=np.float64) < options.min_height_m

    barrier_node_blocked = np.zeros(n_nodes, dtype=bool)
    blocks = barrier_blocks(graph, options=options)
    if len(blocks):
        nodes = graph.barrier_node[blocks & (graph.barrier_node >= 0)]
        barrier_node_blocked[nodes] = True
    at_barrier = barrier_node_blocked[graph.u_idx] | barrier_node_blocked[graph.v_idx]
    scenario = extra_edges | extra_nodes[graph.u_idx] | extra_nodes[graph.v_idx]

    reason = np.full(n_edges, "", dtype=object)
    for name, mask in zip(REASONS, (narrow, low, at_barrier, scenario), strict=True):
        reason[(reason == "") & mask] = name
    passable = reason == ""

    highway = roads["highway"].fillna("").astype(str).to_numpy(dtype=object)
    classes, class_idx = np.unique(highway, return_inverse=True)
    speed_ms = np.array([options.speed_kmh(c) for c in classes], dtype=np.float64)[class_idx] / 3.6
    time_s = graph.length_m / speed_ms

    oneway = roads["oneway"].fillna(False).to_numpy(dtype=bool)
    forward = passable & (graph.u_idx != graph.v_idx)
    backward = forward & ~(oneway & options.respect_oneway)
    fwd, bwd = np.flatnonzero(forward), np.flatnonzero(backward)
    rows = np.concatenate([graph.u_idx[fwd], graph.v_idx[bwd]])
    cols = np.concatenate([graph.v_idx[fwd], graph.u_idx[bwd]])
    edge = np.concatenate([fwd, bwd])
    keep = _first_of_pairs(rows, cols, time_s[edge])
    csr, order = _csr_from_entries(rows[keep], cols[keep], time_s[edge[keep]], n_nodes)

    node_blocked = barrier_node_blocked | extra_nodes
    log.info(
        "truck graph: %d of %d edges passable (width %d, height %d, barrier %d, scenario %d), "
        "%d blocked nodes, one-way %s",
        int(passable.sum()), n_edges, int((reason == "width").sum()),
        int((reason == "height").sum()), int((reason == "barrier").sum()),
        int((reason == "scenario").sum()), int(node_blocked.sum()),
        "respected" if options.respect_oneway else "ignored",
    )
    return TruckGraph(
        graph=graph,
        options=options,
        csr=csr,
        csr_edge=edge[keep][order],
        edge_time_s=time_s,
        edge_passable=passable,
        edge_reason=reason,
        node_blocked=node_blocked,
    )

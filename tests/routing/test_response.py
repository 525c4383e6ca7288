"""Station response: hand-drawn graphs worked out on paper, and a networkx reference."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.graph import TruckOptions, build_graph, truck_graph
from routing.response import first_due_areas, station_response

CRS = "EPSG:32650"
FAST = TruckOptions(speeds_kmh={"residential": 36.0})  # 10 m/s: times are metres / 10


def make_roads(edges: list[tuple[int, int, list[tuple[float, float]]]], **attrs: object) -> gpd.GeoDataFrame:
    """Roads rows following geo.schema.ROADS from (u, v, coordinates)."""
    n = len(edges)
    geoms = [shapely.LineString(c) for _, _, c in edges]
    frame = pd.DataFrame(
        {
            "edge_id": np.arange(n), "u": [e[0] for e in edges], "v": [e[1] for e in edges],
            "way_id": np.arange(n) + 100, "highway": "residential", "name": "",
            "oneway": False, "lanes": np.nan, "width_m": 6.0, "width_source": "estimated",
            "maxheight_m": np.nan, "access": "", "service": "", "surface": "", "bridge": False,
            "tunnel": False, "emergency": "", "motorroad": False, "length_m": [g.length for g in geoms],
        }
    )
    for key, value in attrs.items():
        frame[key] = value
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=CRS)


def _paper_graph(oneway_bc: bool = False) -> gpd.GeoDataFrame:
    # A(0,0) --1000-- B(1000,0) --500-- C(1000,500);  A --300-- D(0,-300)
    roads = make_roads([(1, 2, [(0, 0), (1000, 0)]), (2, 3, [(1000, 0), (1000, 500)]),
                        (1, 4, [(0, 0), (0, -300)])])
    roads.loc[1, "oneway"] = oneway_bc
    return roads


def test_one_station_mid_edge() -> None:
    truck = truck_graph(build_graph(_paper_graph()), options=FAST)
    res = station_response(truck, gpd.GeoSeries([shapely.Point(100, 5)], crs=CRS), turnout_s=60)
    idx = truck.graph.node_index(np.array([1, 2, 3, 4]))
    # A: 60 + 10 (100 m back to A); B: 60 + 90; C: B + 50; D: A + 30
    np.testing.assert_allclose(res.node_time_s[idx], [70, 150, 200, 100], atol=1e-6)
    assert (res.node_station[idx] == 0).all()
    # edge midpoints: A-B straight from the station (60 + 40), B-C 150 + 25, A-D 70 + 15
    np.testing.assert_allclose(res.edge_time_s, [100, 175, 85], atol=1e-6)


def test_two_stations_first_due_and_oneway() -> None:
    stations = gpd.GeoSeries([shapely.Point(100, 5), shapely.Point(1000, 500)], crs=CRS)
    truck = truck_graph(build_graph(_paper_graph()), options=FAST)
    res = station_response(truck, stations, turnout_s=60)
    idx = truck.graph.node_index(np.array([1, 2, 3]))
    # S2 stands at C: C = 60, B = 60 + 50 = 110 (beats S1's 150)
    np.testing.assert_allclose(res.node_time_s[idx], [70, 110, 60], atol=1e-6)
    assert list(res.node_station[idx]) == [0, 1, 1]
    np.testing.assert_allclose(res.edge_time_s[1], 85, atol=1e-6)  # S2 drives back 250 m
    # B->C one-way, respected: S2 cannot drive back towards B
    opts = TruckOptions(speeds_kmh={"residential": 36.0}, respect_oneway=True)
    truck1 = truck_graph(build_graph(_paper_graph(oneway_bc=True)), options=opts)
    res1 = station_response(truck1, stations, turnout_s=60)
    np.testing.assert_allclose(res1.node_time_s[idx], [70, 150, 60], atol=1e-6)
    assert list(res1.node_station[idx]) == [0, 0, 1]
    np.testing.assert_allclose(res1.edge_time_s[1], 175, atol=1e-6)  # from B, S1's


def test_blocked_node_is_unreachable() -> None:
    truck = truck_graph(build_graph(_paper_graph()), options=FAST,
                        blocked_nodes=np.isin(build_graph(_paper_graph()).node_ids, [2]))
    res = station_response(truck, gpd.GeoSeries([shapely.Point(0, -250)], crs=CRS), turnout_s=0)
    idx = truck.graph.node_index(np.array([1, 2, 3, 4]))
    assert np.isinf(res.node_time_s[idx[1]]) and np.isinf(res.node_time_s[idx[2]])
    assert res.node_station[idx[2]] == -1
    np.testing.assert_allclose(res.node_time_s[idx[[0, 3]]], [25, 5], atol=1e-6)
    # edge A-B is impassable (its node B is blocked): reached at A
    np.testing.assert_allclose(res.edge_time_s[0], 25, atol=1e-6)
    assert np.isinf(res.edge_time_s[1]) and res.edge_station[1] == -1


def test_station_far_from_roads_is_an_error() -> None:
    from geo.errors import AnalysisError

    truck = truck_graph(build_graph(_paper_graph()), options=FAST)
    with pytest.raises(AnalysisError, match="within"):
        station_response(truck, gpd.GeoSeries([shapely.Point(5000, 5000)], crs=CRS), max_snap_m=100)


def test_first_due_areas_partition_the_hull() -> None:
    xs, ys = np.meshgrid(np.arange(0, 1001, 100.0), np.arange(0, 1001, 100.0))
    edges = []
    nid = lambda i, j: i * 11 + j  # noqa: E731
    for i in range(11):
        for j in range(11):
            if j < 10:
                edges.append((nid(i, j), nid(i, j + 1), [(xs[i, j], ys[i, j]), (xs[i, j + 1], ys[i, j + 1])]))
            if i < 10:
                edges.append((nid(i, j), nid(i + 1, j), [(xs[i, j], ys[i, j]), (xs[i + 1, j], ys[i + 1, j])]))
    truck = truck_graph(build_graph(make_roads(edges)), options=FAST)
    stations = gpd.GeoSeries([shapely.Point(0, 0), shapely.Point(1000, 1000)], crs=CRS)
    res = station_response(truck, stations, turnout_s=60)
    areas = first_due_areas(truck, res, n_stations=2)
    assert list(areas["station"]) == [0, 1]
    assert areas["area_km2"].sum() == pytest.approx(1.0, rel=1e-9)  # the 1 km x 1 km hull


@st.composite
def random_network(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, list[tuple[float, float]], bool]:
    n = draw(st.integers(4, 14))
    pts = draw(st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 2000)), min_size=n,
                        max_size=n, unique=True))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=n,
                          max_size=3 * n))
    edges = [(a, b, [pts[a], pts[b]]) for a, b in pairs if a != b]
    if not edges:
        edges = [(0, 1, [pts[0], pts[1]])]
    roads = make_roads(edges)
    roads["oneway"] = draw(st.lists(st.booleans(), min_size=len(edges), max_size=len(edges)))
    roads["highway"] = draw(st.lists(st.sampled_from(["residential", "primary", "service"]),
                                     min_size=len(edges), max_size=len(edges)))
    stations = draw(st.lists(st.tuples(st.floats(0, 2000), st.floats(0, 2000)), min_size=1, max_size=3))
    return roads, stations, draw(st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_network())
def test_matches_networkx_reference(case: tuple[gpd.GeoDataFrame, list[tuple[float, float]], bool]) -> None:
    roads, station_xy, respect = case
    options = TruckOptions(respect_oneway=respect)
    graph = build_graph(roads)
    truck = truck_graph(graph, options=options)
    turnout = 60.0
    res = station_response(truck, gpd.GeoSeries(shapely.points(station_xy), crs=CRS),
                           turnout_s=turnout, max_snap_m=1e6)
    # reference: brute-force snapping and networkx Dijkstra straight from the roads rows
    G = nx.DiGraph()
    speed = {h: options.speed_kmh(h) / 3.6 for h in roads["highway"].unique()}

    def add(a: object, b: object, w: float) -> None:
        if not G.has_edge(a, b) or G[a][b]["weight"] > w:
            G.add_edge(a, b, weight=w)

    for row in roads.itertuples():
        t = row.length_m / speed[row.highway]
        add(row.u, row.v, t)
        if not (row.oneway and respect):
            add(row.v, row.u, t)
    for s, (x, y) in enumerate(station_xy):
        p = shapely.Point(x, y)
        dists = [p.distance(g) for g in roads.geometry]
        nearest = min(dists)
        tied = [k for k in range(len(roads)) if dists[k] <= nearest + 1e-9]
        # streets equally near (one drawn twice, once one-way): any is right; take the one
        # station_response took, after checking it is among them
        chosen = int(res.station_snaps.edge[s])
        assert chosen in tied
        row = roads.iloc[chosen]
        frac = row.geometry.project(p) / row.length_m
        t = row.length_m / speed[row.highway]
        add(("s", s), row.v, turnout + (1 - frac) * t)
        if not (row.oneway and respect):
            add(("s", s), row.u, turnout + frac * t)
    sources = [("s", s) for s in range(len(station_xy)) if ("s", s) in G]
    dist, paths = nx.multi_source_dijkstra(G, sources)
    each = {s: nx.single_source_dijkstra_path_length(G, s) for s in sources}
    for k, node in enumerate(int(i) for i in graph.node_ids):
        if node in dist:
            assert res.node_time_s[k] == pytest.approx(dist[node], abs=1e-6)
            ties = [s for s in sources if each[s].get(node, np.inf) <= dist[node] + 1e-6]
            if len(ties) == 1:
                assert res.node_station[k] == paths[node][0][1]
        else:
            assert np.isinf(res.node_time_s[k]) and res.node_station[k] == -1


def _first_due_areas_by_scan(
    truck: object, response: object, n_stations: int
) -> list[tuple[int, float, int, bytes]]:
    """The former first_due_areas loop: one scan of all cells per station (O(stations x cells)),
    each station's cells dissolved by an overlay union."""
    graph = truck.graph  # type: ignore[attr-defined]
    node_station = response.node_station  # type: ignore[attr-defined]
    reach = node_station >= 0
    pts = np.asarray(shapely.points(graph.node_xy[reach]), dtype=object)
    hull = shapely.convex_hull(shapely.multipoints(graph.node_xy))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=hull))
    cell_idx, node_idx = shapely.STRtree(pts).query(cells, predicate="contains")
    owner = np.full(len(cells), -1, dtype=np.int64)
    owner[cell_idx] = node_station[reach][node_idx]
    rows = []
    for s in range(n_stations):
        mine = cells[owner == s]
        if len(mine):
            area = shapely.intersection(shapely.union_all(mine), hull)
            rows.append((s, shapely.area(area) / 1e6, int((node_station == s).sum()),
                         shapely.to_wkb(area)))
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_first_due_areas_equal_the_per_station_scan(seed: int) -> None:
    # Random 12 x 12 grids with some streets removed and 1-9 stations (some unreachable, some
    # sharing a node): the grouped cells give the very same areas, node counts and polygons.
    # (Checks the coverage union of the cells against the overlay union, too.)
    rng = np.random.default_rng(seed)
    nid = lambda i, j: i * 12 + j  # noqa: E731
    edges = []
    for i in range(12):
        for j in range(12):
            x, y = i * 100.0, j * 100.0
            if j < 11 and rng.random() < 0.85:
                edges.append((nid(i, j), nid(i, j + 1), [(x, y), (x, y + 100)]))
            if i < 11 and rng.random() < 0.85:
                edges.append((nid(i, j), nid(i + 1, j), [(x, y), (x + 100, y)]))
    truck = truck_graph(build_graph(make_roads(edges)), options=FAST)
    n = int(rng.integers(1, 10))
    xy = rng.uniform(-50, 1150, size=(n, 2))
    xy[0] = xy[-1]  # two stations on the same spot
    stations = gpd.GeoSeries(shapely.points(xy), crs=CRS)
    res = station_response(truck, stations, turnout_s=60)
    areas = first_due_areas(truck, res, n_stations=n)
    got = list(zip(areas["station"], areas["area_km2"], areas["nodes"], areas.geometry, strict=True))
    want = _first_due_areas_by_scan(truck, res, n)
    assert [(int(s), int(k)) for s, _, k, _ in got] == [(s, k) for s, _, k, _ in want]
    for (_, area, _, geom), (_, want_area, _, want_wkb) in zip(got, want, strict=True):
        # the coverage union keeps collinear vertices an overlay union drops: same polygon
        assert area == pytest.approx(want_area, rel=1e-12)
        assert shapely.equals(geom, shapely.from_wkb(want_wkb))

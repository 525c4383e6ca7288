"""Water for each building: hand-drawn case worked out on paper, and a networkx reference."""

from __future__ import annotations

import itertools

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.graph import build_graph
from routing.snap import snap_points
from routing.water import WaterOptions, building_access, building_water, hydrant_pairs
from tests.routing.test_response import CRS, make_roads


def diamond(x: float, y_bottom: float) -> shapely.Polygon:
    """A footprint whose lowest point is (x, y_bottom): its access point is right below it."""
    return shapely.Polygon([(x, y_bottom), (x + 10, y_bottom + 10), (x, y_bottom + 20),
                            (x - 10, y_bottom + 10)])


def test_counting_band_on_paper() -> None:
    # A(0,0) --400-- B(400,0) --300-- C(400,300)
    graph = build_graph(make_roads([(1, 2, [(0, 0), (400, 0)]), (2, 3, [(400, 0), (400, 300)])]))
    fp = gpd.GeoSeries([diamond(200, 10), diamond(380, 10)], crs=CRS)
    hyd = gpd.GeoSeries(shapely.points([(250, -5), (203, 9), (360, 0), (80, 3), (405, 30)]), crs=CRS)
    access = building_access(graph, fp)
    np.testing.assert_allclose(access.offset_m, [10, 10])
    np.testing.assert_allclose(access.snaps.position_m, [200, 380])
    snaps = snap_points(graph, hyd)
    per, pairs = building_water(graph, fp, access, snaps, hyd, credited_lps=np.full(5, 15.0))
    cols = pairs[["building", "hydrant", "distance_m"]]
    got = {(int(b), int(h)): d for b, h, d in cols.itertuples(index=False)}
    # building 0 (access at 200, offset 10): H0 10+50+5 = 65; H1 is 23 m away by hose but
    # stands < 5 m from the wall; H2 10+160 = 170 > 150; H3 10+120+3 = 133; H4 10+200+30+5 = 245
    # building 1 (access at 380): H0 10+130+5 = 145; H2 10+20 = 30; H4 10+20+30+5 = 65
    assert got == pytest.approx({(0, 0): 65, (0, 3): 133, (1, 0): 145, (1, 2): 30, (1, 4): 65})
    assert list(per["hydrants_in_range"]) == [2, 3]
    assert list(per["credited_flow_lps"]) == [30, 45]
    assert list(per["nearest_hydrant_m"]) == pytest.approx([65, 30])
    # a hydrant credited 0 (out of service) does not count
    per0, _ = building_water(graph, fp, access, snaps, hyd,
                             credited_lps=np.array([0, 15, 15, 15, 15.0]))
    assert list(per0["hydrants_in_range"]) == [1, 2]
    # a shorter radius
    per40, _ = building_water(graph, fp, access, snaps, hyd, credited_lps=np.full(5, 15.0),
                              options=WaterOptions(radius_m=40))
    assert list(per40["hydrants_in_range"]) == [0, 1]


def test_building_without_road() -> None:
    graph = build_graph(make_roads([(1, 2, [(0, 0), (400, 0)])]))
    fp = gpd.GeoSeries([diamond(200, 100)], crs=CRS)
    access = building_access(graph, fp, max_access_m=60)
    assert access.snaps.edge[0] == -1 and "60 m" in access.reason[0]
    snaps = snap_points(graph, gpd.GeoSeries([shapely.Point(200, 0)], crs=CRS))
    per, _ = building_water(graph, fp, access, snaps, gpd.GeoSeries([shapely.Point(200, 0)], crs=CRS),
                            credited_lps=np.array([15.0]))
    assert per["hydrants_in_range"].iloc[0] == 0 and np.isnan(per["nearest_hydrant_m"].iloc[0])


@st.composite
def case(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, list[tuple[float, float]], list[tuple[float, float]]]:
    n = draw(st.integers(3, 10))
    pts = draw(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 400)), min_size=n, max_size=n,
                        unique=True))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=n,
                          max_size=2 * n))
    edges = [(a, b, [pts[a], pts[b]]) for a, b in pairs if a != b] or [(0, 1, [pts[0], pts[1]])]
    xy = st.tuples(st.floats(0, 400), st.floats(0, 400))
    return (make_roads(edges), draw(st.lists(xy, min_size=1, max_size=4)),
            draw(st.lists(xy, min_size=1, max_size=6)))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case())
def test_pairs_match_networkx(data: tuple[gpd.GeoDataFrame, list, list]) -> None:
    roads, bxy, hxy = data
    graph = build_graph(roads)
    b_pts = gpd.GeoSeries(shapely.points(bxy), crs=CRS)
    h_pts = gpd.GeoSeries(shapely.points(hxy), crs=CRS)
    access = building_access(graph, b_pts, max_access_m=1e6)
    hsnap = snap_points(graph, h_pts, max_distance_m=1e6)
    radius = 250.0
    pairs = hydrant_pairs(graph, access, hsnap, radius_m=radius)
    got = {(int(b), int(h)): d for b, h, d in pairs.itertuples(index=False)}
    # reference: split every edge at the snapped points, networkx shortest paths
    G = nx.Graph()
    cuts: dict[int, list[tuple[float, object]]] = {}
    for kind, snaps, offs in (("b", access.snaps, access.offset_m), ("h", hsnap, hsnap.offset_m)):
        for i in range(len(snaps)):
            cuts.setdefault(int(snaps.edge[i]), []).append((float(snaps.position_m[i]), (kind, i)))
            G.add_edge((kind, i), (kind, i, "road"), weight=float(offs[i]))
    for k, row in enumerate(roads.itertuples()):
        inner = sorted((p, (kd, i, "road")) for p, (kd, i) in cuts.get(k, []))
        stops = [(0.0, int(row.u)), *inner, (row.length_m, int(row.v))]
        for (p0, a), (p1, b) in itertools.pairwise(stops):
            w = p1 - p0
            if not G.has_edge(a, b) or G[a][b]["weight"] > w:
                G.add_edge(a, b, weight=w)
    expected = {}
    for i in range(len(bxy)):
        lengths = nx.single_source_dijkstra_path_length(G, ("b", i), cutoff=radius + 1e-6)
        for j in range(len(hxy)):
            if ("h", j) in lengths and lengths[("h", j)] <= radius:
                expected[(i, j)] = lengths[("h", j)]
    assert got.keys() >= {k for k, v in expected.items() if v <= radius - 1e-6}
    for key, value in got.items():
        assert value == pytest.approx(expected[key], abs=1e-6)

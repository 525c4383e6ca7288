"""Hydrant siting: hand-drawn streets worked out on paper, brute force on tiny random instances,
the coverage matrix against routing.coverage, determinism and the placement rules."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from scipy.optimize import LinearConstraint, OptimizeResult

import routing.siting as siting_module
import routing.siting_matrix as siting_matrix
from geo.errors import AnalysisError, ConfigError, CRSError, LayerValidationError
from geo.presets import load_preset
from routing.coverage import hydrant_coverage
from routing.graph import StreetGraph, build_graph
from routing.siting import (
    GREEDY_FACTOR,
    CandidateOptions,
    CostModel,
    DemandWeights,
    SolverOptions,
    budget_curve,
    cover_all,
    coverage_matrix,
    demand_segments,
    site_hydrants,
    siting_candidates,
)
from tests.routing._graphs import CRS, X0, Y0, E, grid_roads, roads_frame, single_edge, snaps

R = 150.0


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A footprint in local metres."""
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def local_xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(frame.geometry.to_numpy()) - [X0, Y0]


def street_600(**kw: object):  # type: ignore[no-untyped-def]
    """A 600 m street (width 6 m unless given) with one hydrant at its west end: [0, 150] covered."""
    graph = build_graph(single_edge(600.0, **kw))
    return graph, hydrant_coverage(graph, snaps([0], [0.0]), radius_m=R)


def no_hydrants():  # type: ignore[no-untyped-def]
    return snaps(np.empty(0, np.int64), np.empty(0))


# --- paper: a 600 m street with one hydrant at one end --------------------------------------------


def test_candidates_on_paper() -> None:
    graph, cov = street_600()
    cand = siting_candidates(graph, cov)
    # uncovered [150, 600]: ceil(450 / 50) = 9 sites, 50 m apart, the first 25 m in
    assert cand["position_m"].tolist() == pytest.approx([175 + 50 * i for i in range(9)])
    assert cand["candidate_id"].tolist() == list(range(9))
    # kerb side: 6 / 2 + 1.0 m from the centreline; no buildings: the right-hand side (y < 0)
    assert (cand["side"] == "right").all()
    assert cand["offset_m"].tolist() == pytest.approx([4.0] * 9)
    np.testing.assert_allclose(local_xy(cand), [[175 + 50 * i, -4] for i in range(9)], atol=1e-9)
    assert cand["pipe_m"].tolist() == [0.0] * 9 and cand["wall_distance_m"].isna().all()
    assert cand.crs == graph.crs
    # a 2 m kerb distance (GB 50974 7.2.6 maximum)
    wide_kerb = siting_candidates(graph, cov, options=CandidateOptions(kerb_offset_m=2.0))
    np.testing.assert_allclose(local_xy(wide_kerb)[:, 1], -5.0)


def test_spacing_holds_across_short_edges() -> None:
    # the same 600 m street cut into 20 edges of 30 m: the same 9 sites
    nodes = {i: (30.0 * i, 0.0) for i in range(21)}
    graph = build_graph(roads_frame(nodes, [E(i, i + 1) for i in range(20)]))
    cov = hydrant_coverage(graph, snaps([0], [0.0]), radius_m=R)
    cand = siting_candidates(graph, cov)
    np.testing.assert_allclose(local_xy(cand), [[175 + 50 * i, -4] for i in range(9)], atol=1e-9)
    rows = pd.Index(graph.edge_id).get_indexer(cand["edge_id"])
    assert (rows * 30 + cand["position_m"].to_numpy()).tolist() == pytest.approx(
        [175 + 50 * i for i in range(9)]
    )


def test_demand_on_paper() -> None:
    graph, cov = street_600()
    dem = demand_segments(graph, cov)
    assert len(dem) == 18  # 450 m in 25 m segments
    assert dem["start_m"].tolist() == pytest.approx([150 + 25 * i for i in range(18)])
    assert dem["length_m"].tolist() == pytest.approx([25.0] * 18)
    assert dem["weight"].tolist() == pytest.approx([25.0] * 18)
    assert (dem["kind"] == "uncovered").all() and (dem["offset_m"] == 0).all()
    assert shapely.length(dem.geometry.to_numpy()) == pytest.approx([25.0] * 18)
    # 100 m segments: 450 m -> 5 segments of 90 m
    assert demand_segments(graph, cov, max_segment_m=100)["length_m"].tolist() == pytest.approx(
        [90.0] * 5
    )


def test_matrix_on_paper() -> None:
    graph, cov = street_600()
    cand, dem = siting_candidates(graph, cov), demand_segments(graph, cov)
    m = coverage_matrix(graph, cand, dem, radius_m=R).toarray()
    # a site at t (offset 4) reaches [t - 146, t + 146]; segment j is [150 + 25 j, 175 + 25 j]
    for i, t in enumerate(175 + 50 * np.arange(9)):
        expected = [(150 + 25 * j >= t - 146) and (175 + 25 * j <= t + 146) for j in range(18)]
        assert m[i].tolist() == expected, i
    assert m[2].sum() == 10  # 275 m: [129, 421] holds segments 150..400


@pytest.mark.parametrize("method", ["mip", "greedy"])
def test_one_new_hydrant_on_paper(method: str) -> None:
    graph, cov = street_600()
    cand, dem = siting_candidates(graph, cov), demand_segments(graph, cov)
    m = coverage_matrix(graph, cand, dem, radius_m=R)
    res = site_hydrants(cand, dem, m, k=1, method=method)
    # 275, 325, 375, 425, 475 m each cover 10 segments (250 m): the lowest id wins
    assert res.chosen["candidate_id"].tolist() == [2]
    assert res.chosen["position_m"].tolist() == pytest.approx([275.0])
    assert res.covered_m == pytest.approx(250.0) and res.objective == pytest.approx(250.0)
    assert res.cost_cny == 15_000 and res.n_hydrants == 1
    assert res.lp_bound == pytest.approx(250.0) and res.gap == pytest.approx(0.0)
    assert res.demand["covered"].sum() == 10
    assert set(res.demand.loc[res.demand["covered"], "covered_by"]) == {2}
    # the exact coverage agrees: the new hydrant reaches [129, 421] continuously (292 m uncovered
    # metres gained >= the 250 m counted by whole segments)
    both = hydrant_coverage(graph, snaps([0, 0], [0.0, 275.0], [0.0, 4.0]), radius_m=R)
    assert both.total_covered_m == pytest.approx(150 + 421 - 150)


@pytest.mark.parametrize("method", ["mip", "greedy"])
def test_two_hydrants_and_cover_all_on_paper(method: str) -> None:
    graph, cov = street_600()
    cand, dem = siting_candidates(graph, cov), demand_segments(graph, cov)
    m = coverage_matrix(graph, cand, dem, radius_m=R)
    two = site_hydrants(cand, dem, m, k=2, method=method)
    assert two.covered_m == pytest.approx(450.0)
    assert two.demand["covered"].all()
    # k = 3 adds nothing: the third hydrant is left out
    three = site_hydrants(cand, dem, m, k=3, method=method)
    assert three.n_hydrants == 2 and three.covered_m == pytest.approx(450.0)
    cover = cover_all(cand, dem, m, method=method)
    assert cover.objective == 2 and cover.n_hydrants == 2 and len(cover.uncoverable) == 0
    if method == "greedy":
        # 275 m first (250 m), then 475 m and 525 m both add 200 m: the lower id
        assert two.chosen["candidate_id"].tolist() == [2, 6]
        assert two.guarantee == pytest.approx(1 - 1 / math.e)
        assert two.online_bound is not None and two.online_bound >= 450 - 1e-9
    else:
        # of the optimal pairs ({225, 475}, {275, 475}, {275, 525}) the smallest ids: 1 and 6,
        # listed by gain per yuan: 475 m (250 m) then 225 m (200 m)
        assert two.chosen["candidate_id"].tolist() == [6, 1]
        assert cover.chosen["candidate_id"].tolist() == [6, 1]
        assert two.status == "optimal" and two.mip_gap is not None


@pytest.mark.parametrize("method", ["mip", "greedy"])
def test_budget_on_paper(method: str) -> None:
    graph, cov = street_600()
    cand, dem = siting_candidates(graph, cov), demand_segments(graph, cov)
    m = coverage_matrix(graph, cand, dem, radius_m=R)
    assert site_hydrants(cand, dem, m, budget_cny=14_999, method=method).n_hydrants == 0
    assert site_hydrants(cand, dem, m, budget_cny=29_999, method=method).covered_m == 250
    res = site_hydrants(cand, dem, m, budget_cny=30_000, method=method)
    assert res.covered_m == pytest.approx(450.0) and res.cost_cny <= 30_000
    # a dearer hydrant
    dear = site_hydrants(cand, dem, m, budget_cny=30_000, cost=CostModel(hydrant_cny=20_000),
                         method=method)
    assert dear.n_hydrants == 1 and dear.cost_cny == 20_000


def test_budget_curve_on_paper() -> None:
    graph, cov = street_600()
    cand, dem = siting_candidates(graph, cov), demand_segments(graph, cov)
    m = coverage_matrix(graph, cand, dem, radius_m=R)
    curve = budget_curve(cand, dem, m)
    assert curve["candidate_id"].tolist() == [2, 6]
    assert curve["marginal_m"].tolist() == pytest.approx([250.0, 200.0])
    assert curve["cumulative_m"].tolist() == pytest.approx([250.0, 450.0])
    assert curve["cumulative_cost_cny"].tolist() == [15_000, 30_000]
    assert curve["cny_per_m"].tolist() == pytest.approx([60.0, 75.0])
    assert len(budget_curve(cand, dem, m, max_hydrants=1)) == 1
    res = site_hydrants(cand, dem, m, k=2, method="greedy")
    pd.testing.assert_frame_equal(res.budget_curve, curve)


def test_network_distance_not_straight_line() -> None:
    # a hairpin: 1 (0,0) -- 2 (500,0) -- 3 (500,40) -- 4 (0,40); no hydrants at all
    nodes = {1: (0.0, 0.0), 2: (500.0, 0.0), 3: (500.0, 40.0), 4: (0.0, 40.0)}
    graph = build_graph(roads_frame(nodes, [E(1, 2), E(2, 3), E(3, 4)]))
    cov = hydrant_coverage(graph, no_hydrants(), radius_m=R)
    cand = siting_candidates(graph, cov, options=CandidateOptions(spacing_m=100))
    dem = demand_segments(graph, cov)
    m = coverage_matrix(graph, cand, dem, radius_m=R)
    # one 1040 m stretch: 11 sites 94.5 m apart, the first 47.3 m along the south street
    assert len(cand) == 11 and cand["position_m"].iloc[0] == pytest.approx(1040 / 22)
    covered = dem.loc[m[[0]].toarray()[0]]
    # 4 m off the street, it covers [0, 193] of it by hose (146 m reach; segments of 25 m);
    # the north street is 44 m away in a straight line but over 900 m by hose: not covered
    assert set(covered["edge_id"]) == {0}
    assert covered["end_m"].max() == pytest.approx(175.0)
    assert covered["start_m"].min() == pytest.approx(0.0)


# --- the matrix against routing.coverage ----------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_matrix_matches_exact_coverage(seed: int) -> None:
    rng = np.random.default_rng(seed)
    graph = build_graph(grid_roads(5, 4, seed=seed, drop=0.15))
    radius = float(rng.uniform(80, 220))
    n_h = 2
    edge = rng.integers(0, graph.n_edges, n_h)
    hyd = snaps(edge, rng.random(n_h) * graph.length_m[edge], rng.uniform(0, 10, n_h))
    cov = hydrant_coverage(graph, hyd, radius_m=radius)
    cand = siting_candidates(graph, cov, options=CandidateOptions(spacing_m=60))
    dem = demand_segments(graph, cov, max_segment_m=20)
    m = coverage_matrix(graph, cand, dem, radius_m=radius).toarray()
    rows = pd.Index(graph.edge_id).get_indexer(dem["edge_id"])
    a, b = dem["start_m"].to_numpy(), dem["end_m"].to_numpy()
    crow = pd.Index(graph.edge_id).get_indexer(cand["edge_id"])
    for i in range(len(cand)):
        one = hydrant_coverage(
            graph, snaps([crow[i]], [cand["position_m"].iloc[i]], [cand["offset_m"].iloc[i]]),
            radius_m=radius,
        )
        ie, is_, it = one.interval_edge, one.interval_start, one.interval_end
        inside = (ie[None, :] == rows[:, None]) & (is_[None, :] <= a[:, None] + 1e-6) & (
            it[None, :] >= b[:, None] - 1e-6
        )
        assert (inside.any(axis=1) == m[i]).all(), (seed, i)
    assert m.any()


# --- buildings: walls, high-rise frontage, flow deficit -------------------------------------------


def test_wall_distance_side_and_shift() -> None:
    graph, cov = street_600()
    fps = [
        box(165, -12, 185, -7),  # 3 m from the right site at 175: it goes left
        box(320, 7, 330, 12), box(320, -12, 330, -7),  # both sides at 325: shifted to 335
        box(410, 7, 440, 20), box(410, -20, 440, -7),  # both sides at 425, 10 m shift no help
        box(515, -10, 535, -3),  # the right site at 525 would stand inside it
    ]
    b = gpd.GeoDataFrame({"building_id": [f"b{i}" for i in range(len(fps))]},
                         geometry=gpd.GeoSeries(fps, crs=CRS), crs=CRS)
    cand = siting_candidates(graph, cov, buildings=b)
    got = list(zip(cand["position_m"].round(6), cand["side"], strict=True))
    assert got == [(175, "left"), (225, "right"), (275, "right"), (335, "right"),
                   (375, "right"), (475, "right"), (525, "left"), (575, "right")]
    assert cand.loc[cand["position_m"] == 335, "shift_m"].tolist() == [10.0]
    # every site keeps 5 m from every wall
    dist = shapely.distance(cand.geometry.to_numpy()[:, None], np.asarray(fps)[None, :])
    assert (dist >= 5.0 - 1e-9).all()
    assert cand["wall_distance_m"].min() >= 5.0 - 1e-9
    assert cand.loc[cand["position_m"] == 335, "wall_distance_m"].tolist() == pytest.approx(
        [math.hypot(5, 3)]
    )
    # a 30 m wall distance (beyond the 20 m clearance query): no site within 30 m of a wall
    far = siting_candidates(graph, cov, buildings=b, options=CandidateOptions(wall_distance_m=30))
    far_dist = shapely.distance(far.geometry.to_numpy()[:, None], np.asarray(fps)[None, :])
    assert len(far) > 0 and (far_dist >= 30 - 1e-9).all()
    # no shifting: the site at 325 is dropped too
    fixed = siting_candidates(graph, cov, buildings=b, options=CandidateOptions(max_shift_m=0))
    assert 335 not in fixed["position_m"].tolist() and len(fixed) == 7


def test_both_sides_of_wide_roads() -> None:
    graph, cov = street_600(width_m=70.0)
    cand = siting_candidates(graph, cov)
    left, right = cand[cand["side"] == "left"], cand[cand["side"] == "right"]
    # 9 steps of 50 m on [150, 600]; left a quarter step in, right three quarters: staggered
    assert left["position_m"].tolist() == pytest.approx([162.5 + 50 * i for i in range(9)])
    assert right["position_m"].tolist() == pytest.approx([187.5 + 50 * i for i in range(9)])
    np.testing.assert_allclose(local_xy(left)[:, 1], 36.0)  # 70 / 2 + 1
    np.testing.assert_allclose(local_xy(right)[:, 1], -36.0)
    assert cand["offset_m"].tolist() == pytest.approx([36.0] * 18)
    # 60 m is not wider than 60 m: one side
    graph60, cov60 = street_600(width_m=60.0)
    assert len(siting_candidates(graph60, cov60)) == 9


def test_not_on_another_carriageway() -> None:
    # a T: the stem 2-4 runs north from the middle of a 30 m wide road 1-3
    nodes = {1: (0.0, 0.0), 2: (300.0, 0.0), 3: (600.0, 0.0), 4: (300.0, 12.0)}
    graph = build_graph(roads_frame(nodes, [E(1, 2, width_m=30.0), E(2, 3, width_m=30.0),
                                            E(2, 4, width_m=6.0)]))
    cov = hydrant_coverage(graph, no_hydrants(), radius_m=R)
    cand = siting_candidates(graph, cov, options=CandidateOptions(spacing_m=100))
    # the stem's only site (6 m up, 4 m aside) stands on the wide road's carriageway (16 m)
    assert (cand["edge_id"] != 2).all()
    xy = local_xy(cand)
    assert (np.abs(xy[:, 1]) >= 16.0 - 1e-9).all()


def test_flow_deficit_and_high_rise_demand_on_paper() -> None:
    graph, cov = street_600()
    b = gpd.GeoDataFrame(
        {
            "building_id": ["tower"],
            "high_rise_class": ["class1"],
            "flow_deficit_lps": [20.0],
            "access_edge": [0],
            "access_position_m": [500.0],
            "access_offset_m": [8.0],
        },
        geometry=gpd.GeoSeries([box(490, -28, 510, -8)], crs=CRS),
        crs=CRS,
    )
    dem = demand_segments(graph, cov, buildings=b, weights=DemandWeights(per_lps=10.0))
    street = dem[dem["kind"] == "uncovered"]
    # the tower (8 m off the street) fronts the segments within 30 m: x in [461.1, 538.9]
    fronting = street.loc[street["high_rise_m"] > 0, "start_m"].tolist()
    assert fronting == pytest.approx([450, 475, 500, 525])
    assert street.loc[street["high_rise_m"] > 0, "weight"].tolist() == pytest.approx([50.0] * 4)
    tower = dem[dem["kind"] == "flow_deficit"]
    assert len(tower) == 1 and tower["weight"].iloc[0] == pytest.approx(200.0)
    assert tower["start_m"].iloc[0] == 500 and tower["offset_m"].iloc[0] == 8.0
    assert tower["building_id"].iloc[0] == "tower"
    assert dem["demand_id"].tolist() == list(range(19))

    # the under-supplied edge gets sites along all of it: 12 sites at 25, 75, ..., 575
    cand = siting_candidates(graph, cov, buildings=b)
    assert cand["position_m"].tolist() == pytest.approx([25 + 50 * i for i in range(12)])
    m = coverage_matrix(graph, cand, dem, radius_m=R).toarray()
    # the tower is covered when |t - 500| + 4 + 8 <= 150: t in [362, 638]
    col = int(tower.index[0])
    assert cand.loc[m[:, col], "position_m"].tolist() == pytest.approx([375, 425, 475, 525, 575])
    # one new hydrant (reach 146 m): 375 m -> 10 segments, 2 fronting, tower: 250 + 50 + 200;
    # 425 m -> [279, 571]: 10 segments, 4 fronting, tower: 250 + 100 + 200 = 550; 475 m -> [329,
    # 621]: the same 550; 525 m -> 8 segments: 200 + 100 + 200. 425 m (id 8) wins the tie.
    for method in ("mip", "greedy"):
        res = site_hydrants(cand, dem, m, k=1, method=method)
        assert res.chosen["candidate_id"].tolist() == [8], method
        assert res.objective == pytest.approx(550.0) and res.covered_m == pytest.approx(250.0)
        assert res.demand.loc[col, "covered_by"] == 8


# --- mains ----------------------------------------------------------------------------------------


def mains_frame(y: float, dn: float) -> gpd.GeoDataFrame:
    line = shapely.LineString([(X0, Y0 + y), (X0 + 600, Y0 + y)])
    return gpd.GeoDataFrame({"diameter_mm": [dn]}, geometry=gpd.GeoSeries([line], crs=CRS), crs=CRS)


def test_mains_rule() -> None:
    graph, cov = street_600()
    opts = CandidateOptions(main_distance_m=20.0)
    south = siting_candidates(graph, cov, mains=mains_frame(-20, 150), options=opts)
    assert len(south) == 9 and (south["side"] == "right").all()
    assert south["main_distance_m"].tolist() == pytest.approx([16.0] * 9)
    # a main north of the street: the sites move to the north side (16 m) rather than 24 m
    north = siting_candidates(graph, cov, mains=mains_frame(20, 150), options=opts)
    assert (north["side"] == "left").all() and len(north) == 9
    # a DN80 main does not count: nothing left
    assert len(siting_candidates(graph, cov, mains=mains_frame(-5, 80), options=opts)) == 0
    # pipe: a main 100 m south, 96 m of new main per site, costed
    piped = siting_candidates(graph, cov, mains=mains_frame(-100, 200),
                              options=CandidateOptions(beyond_main="pipe"))
    assert piped["pipe_m"].tolist() == pytest.approx([96.0] * 9)
    cost = CostModel()
    assert cost.cost_of(piped).tolist() == pytest.approx([15_000 + 800 * 96] * 9)
    dem = demand_segments(graph, cov)
    m = coverage_matrix(graph, piped, dem, radius_m=R)
    res = site_hydrants(piped, dem, m, budget_cny=100_000, method="mip")
    assert res.n_hydrants == 1 and res.cost_cny == pytest.approx(91_800)
    with pytest.raises(LayerValidationError, match="diameter_mm"):
        siting_candidates(graph, cov, mains=mains_frame(-5, 150).drop(columns="diameter_mm"))


def test_options_from_preset() -> None:
    opts = CandidateOptions.from_preset(load_preset("cn-gb"), spacing_m=40.0)
    assert (opts.wall_distance_m, opts.both_sides_width_m, opts.kerb_offset_m) == (5.0, 60.0, 1.0)
    assert opts.spacing_m == 40.0


# --- brute force on tiny random instances ---------------------------------------------------------


def tiny_instance(seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, sp.csr_array]:
    """Random candidates x demand with a random coverage matrix (frames carry what is read)."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(5, 10)), int(rng.integers(6, 16))
    a = rng.random((n, m)) < rng.uniform(0.15, 0.5)
    a[:, rng.random(m) < 0.1] = False  # some uncoverable demand
    if rng.random() < 0.5:
        a[1] = a[0]  # duplicate candidates
    pts = gpd.GeoSeries(shapely.points(rng.random((n, 2)) * 100 + [X0, Y0]), crs=CRS)
    cand = gpd.GeoDataFrame(
        {"candidate_id": np.arange(n), "edge_id": 0, "position_m": 0.0, "offset_m": 4.0,
         "pipe_m": np.round(rng.choice([0.0, 0.0, 5.0, 20.0], n), 1)},
        geometry=pts, crs=CRS,
    )
    length = np.round(rng.uniform(1, 25, m), 2)
    dem = gpd.GeoDataFrame(
        {"demand_id": np.arange(m), "kind": "uncovered", "edge_id": 0, "start_m": 0.0,
         "end_m": length, "length_m": length, "offset_m": 0.0,
         "weight": length * rng.choice([1.0, 2.0], m)},
        geometry=gpd.GeoSeries(shapely.points(rng.random((m, 2)) * 100 + [X0, Y0]), crs=CRS),
        crs=CRS,
    )
    return cand, dem, sp.csr_array(a)


def subsets(n: int, max_size: int):  # type: ignore[no-untyped-def]
    for size in range(max_size + 1):
        yield from itertools.combinations(range(n), size)


@pytest.mark.parametrize("seed", range(30))
def test_max_coverage_against_brute_force(seed: int) -> None:
    cand, dem, a = tiny_instance(seed)
    dense = a.toarray()
    w = dem["weight"].to_numpy()
    cost = CostModel().cost_of(cand)
    n = len(cand)
    k = 1 + seed % 3

    def value(s: tuple[int, ...]) -> float:
        return float(w[dense[list(s)].any(axis=0)].sum()) if s else 0.0

    best_k = max(value(s) for s in subsets(n, k))
    mip = site_hydrants(cand, dem, a, k=k, method="mip")
    greedy = site_hydrants(cand, dem, a, k=k, method="greedy")
    assert mip.objective == pytest.approx(best_k)
    assert mip.n_hydrants <= k and greedy.n_hydrants <= k
    assert greedy.objective <= mip.objective + 1e-9
    assert greedy.objective >= GREEDY_FACTOR * mip.objective - 1e-9
    assert mip.lp_bound is not None and mip.lp_bound >= best_k - 1e-6
    assert greedy.online_bound is not None and greedy.online_bound >= best_k - 1e-9
    assert greedy.gap == pytest.approx((greedy.lp_bound - greedy.objective) / greedy.lp_bound
                                       if greedy.lp_bound else 0.0)
    assert value(tuple(mip.chosen["candidate_id"].tolist())) == pytest.approx(mip.objective)

    budget = float(cost.min() * (1 + seed % 3) + 1000)
    best_b = max(value(s) for s in subsets(n, n) if cost[list(s)].sum() <= budget)
    mip_b = site_hydrants(cand, dem, a, budget_cny=budget, method="mip")
    greedy_b = site_hydrants(cand, dem, a, budget_cny=budget, method="greedy")
    assert mip_b.objective == pytest.approx(best_b)
    assert mip_b.cost_cny <= budget and greedy_b.cost_cny <= budget
    assert greedy_b.objective <= mip_b.objective + 1e-9
    assert greedy_b.objective >= GREEDY_FACTOR / 2 * mip_b.objective - 1e-9
    # uncoverable demand is reported
    assert mip.uncoverable.tolist() == np.flatnonzero(~dense.any(axis=0)).tolist()


@pytest.mark.parametrize("seed", range(30))
def test_cover_all_against_brute_force(seed: int) -> None:
    cand, dem, a = tiny_instance(100 + seed)
    dense = a.toarray()
    rng = np.random.default_rng(seed)
    target = rng.random(len(dem)) < 0.8
    need = target & dense.any(axis=0)
    n = len(cand)
    fewest = min(len(s) for s in subsets(n, n) if dense[list(s)][:, need].any(axis=0).all()
                 or not need.any())
    mip = cover_all(cand, dem, a, target=target, method="mip")
    greedy = cover_all(cand, dem, a, target=target, method="greedy")
    assert mip.objective == fewest and mip.n_hydrants == fewest
    assert greedy.n_hydrants >= fewest
    assert greedy.guarantee is not None and greedy.n_hydrants <= greedy.guarantee * fewest + 1e-9
    for res in (mip, greedy):
        assert res.demand.loc[need, "covered"].all()
        assert res.uncoverable.tolist() == np.flatnonzero(target & ~dense.any(axis=0)).tolist()
        assert res.lp_bound is not None and res.lp_bound <= res.n_hydrants + 1e-6
    # cheapest cover: never dearer than the fewest
    cheap = cover_all(cand, dem, a, target=target, objective="cost", method="mip")
    cost = CostModel().cost_of(cand)
    dearest_ok = min(cost[list(s)].sum() for s in subsets(n, n)
                     if dense[list(s)][:, need].any(axis=0).all() or not need.any())
    assert cheap.objective == pytest.approx(dearest_ok) and cheap.cost_cny <= mip.cost_cny + 1e-6


# --- determinism, inputs, errors ------------------------------------------------------------------


def pipeline(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    graph = build_graph(grid_roads(6, 5, seed=seed, drop=0.1))
    edge = rng.integers(0, graph.n_edges, 3)
    cov = hydrant_coverage(graph, snaps(edge, rng.random(3) * graph.length_m[edge]), radius_m=R)
    centres = rng.random((8, 2)) * 500 + [X0 + 20, Y0 + 20]
    b = gpd.GeoDataFrame(
        {"building_id": [f"b{i}" for i in range(8)],
         "high_rise_class": rng.choice(["class1", "class2", "not_high_rise"], 8)},
        geometry=gpd.GeoSeries(shapely.buffer(shapely.points(centres), 12, quad_segs=2), crs=CRS),
        crs=CRS,
    )
    cand = siting_candidates(graph, cov, buildings=b)
    dem = demand_segments(graph, cov, buildings=b)
    return graph, cov, b, cand, dem, coverage_matrix(graph, cand, dem, radius_m=R)


def test_determinism_and_inputs_untouched() -> None:
    graph, _, b, cand, dem, m = pipeline(3)
    b0, cand0, dem0 = b.copy(), cand.copy(), dem.copy()
    roads0 = graph.roads.copy()
    _, _, _, cand2, dem2, m2 = pipeline(3)
    pd.testing.assert_frame_equal(cand, cand2)
    pd.testing.assert_frame_equal(dem, dem2)
    assert (m != m2).nnz == 0
    for method in ("mip", "greedy"):
        r1 = site_hydrants(cand, dem, m, k=4, method=method)
        r2 = site_hydrants(cand2, dem2, m2, k=4, method=method)
        pd.testing.assert_frame_equal(r1.chosen, r2.chosen)
        pd.testing.assert_frame_equal(r1.demand, r2.demand)
        pd.testing.assert_frame_equal(r1.budget_curve, r2.budget_curve)
        c1 = cover_all(cand, dem, m, method=method)
        c2 = cover_all(cand2, dem2, m2, method=method)
        pd.testing.assert_frame_equal(c1.chosen, c2.chosen)
        assert c1.demand.loc[c1.demand["coverable"], "covered"].all()
    pd.testing.assert_frame_equal(b, b0)
    pd.testing.assert_frame_equal(cand, cand0)
    pd.testing.assert_frame_equal(dem, dem0)
    pd.testing.assert_frame_equal(graph.roads, roads0)
    assert len(cand) > 20 and m.nnz > 0
    assert cand["wall_distance_m"].fillna(np.inf).min() >= 5.0 - 1e-9


def test_auto_method_and_empty() -> None:
    _, _, _, cand, dem, m = pipeline(1)
    assert site_hydrants(cand, dem, m, k=3).method == "mip"
    small = SolverOptions(auto_max_candidates=1)
    res = site_hydrants(cand, dem, m, k=3, options=small)
    assert res.method == "greedy" and res.status == "heuristic"
    assert res.lp_bound is not None and res.gap is not None and 0 <= res.gap < 1
    # everything covered already: nothing to site
    graph = build_graph(single_edge(200.0))
    cov = hydrant_coverage(graph, snaps([0], [100.0]), radius_m=R)
    cand0, dem0 = siting_candidates(graph, cov), demand_segments(graph, cov)
    assert len(cand0) == 0 and len(dem0) == 0
    m0 = coverage_matrix(graph, cand0, dem0, radius_m=R)
    assert m0.shape == (0, 0)
    assert site_hydrants(cand0, dem0, m0, k=2).n_hydrants == 0
    assert cover_all(cand0, dem0, m0).n_hydrants == 0


def test_errors() -> None:
    graph, cov = street_600()
    cand, dem = siting_candidates(graph, cov), demand_segments(graph, cov)
    m = coverage_matrix(graph, cand, dem, radius_m=R)
    with pytest.raises(ConfigError, match=r"k .*budget_cny"):
        site_hydrants(cand, dem, m)
    with pytest.raises(ConfigError, match="method"):
        site_hydrants(cand, dem, m, k=1, method="exact")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="matrix is"):
        site_hydrants(cand, dem.iloc[:3], m, k=1)
    with pytest.raises(ConfigError, match="target"):
        cover_all(cand, dem, m, target=np.ones(3, dtype=bool))
    with pytest.raises(ConfigError):
        CandidateOptions(spacing_m=0)
    with pytest.raises(ConfigError):
        CostModel(hydrant_cny=0)
    other = gpd.GeoDataFrame(geometry=gpd.GeoSeries([box(0, 10, 5, 20)], crs=CRS), crs=CRS)
    with pytest.raises(CRSError):
        siting_candidates(graph, cov, buildings=other.to_crs("EPSG:32651"))
    with pytest.raises(LayerValidationError, match="position_m"):
        coverage_matrix(graph, cand.drop(columns="position_m"), dem, radius_m=R)


def test_solver_status_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    graph, cov = street_600()
    cand, dem = siting_candidates(graph, cov), demand_segments(graph, cov)
    m = coverage_matrix(graph, cand, dem, radius_m=R)

    def failing(*args: object, **kwargs: object) -> OptimizeResult:
        return OptimizeResult(status=2, x=None, message="The problem is infeasible.")

    monkeypatch.setattr(siting_module, "milp", failing)
    with pytest.raises(AnalysisError, match="status 2"):
        site_hydrants(cand, dem, m, k=1, method="mip")

    def timeout(*args: object, **kwargs: object) -> OptimizeResult:
        return OptimizeResult(status=1, x=None, message="Time limit reached.")

    monkeypatch.setattr(siting_module, "milp", timeout)
    with pytest.raises(AnalysisError, match="time_limit_s"):
        cover_all(cand, dem, m, method="mip", options=SolverOptions(lp_bound=False))


def _celf_restamp_all(
    A: sp.csr_array, weight: np.ndarray, *, rows: np.ndarray, per: np.ndarray, k: int,
    cost: np.ndarray | None = None, budget: float | None = None,
) -> tuple[list[int], list[float]]:
    """The former lazy greedy: every gain popped after any later pick is recomputed."""
    import heapq

    indptr, indices = A.indptr, A.indices
    w = weight.astype(np.float64, copy=True)

    def gain(i: int) -> float:
        return float(np.sum(w[indices[indptr[i] : indptr[i + 1]]]))

    spent = 0.0
    heap = []
    for i in rows.tolist():
        g = gain(i)
        if g > 0 and (budget is None or cost is None or cost[i] <= budget + 1e-9):
            heap.append((-g / per[i], i, 0, g))
    heapq.heapify(heap)
    picks: list[int] = []
    gains: list[float] = []
    while heap and len(picks) < k:
        _, i, stamp, g = heapq.heappop(heap)
        if budget is not None and cost is not None and spent + cost[i] > budget + 1e-9:
            continue
        if stamp != len(picks):
            g = gain(i)
            if g > 0:
                heapq.heappush(heap, (-g / per[i], i, len(picks), g))
            continue
        picks.append(i)
        gains.append(g)
        w[indices[indptr[i] : indptr[i + 1]]] = 0.0
        if cost is not None:
            spent += float(cost[i])
    return picks, gains


@pytest.mark.parametrize("seed", range(40))
def test_lazy_greedy_equals_recomputing_every_stale_gain(seed: int) -> None:
    # Random sparse instances with many ties (small integer weights and costs, copies of the
    # same rows as in a tiled city), some zero weights, a subset of rows, with and without a
    # budget: recomputing only the gains a pick touched gives the same picks and gains.
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 60)), int(rng.integers(1, 80))
    dense = rng.random((n, m)) < rng.uniform(0.02, 0.3)
    if seed % 3 == 0:  # duplicated blocks: equal gains everywhere
        dense = np.vstack([dense, dense])
        n = 2 * n
    A = sp.csr_array(dense)
    weight = rng.integers(0, 4, size=m).astype(np.float64)
    per = rng.integers(1, 4, size=n).astype(np.float64)
    rows = np.sort(rng.choice(n, size=int(rng.integers(1, n + 1)), replace=False))
    k = int(rng.integers(1, n + 2))
    kw: dict[str, object] = {}
    if seed % 2:
        kw = {"cost": per, "budget": float(rng.integers(1, 30))}
    got = siting_module._lazy_greedy(A, weight, rows=rows, per=per, k=k, **kw)  # type: ignore[arg-type]
    assert got == _celf_restamp_all(A, weight, rows=rows, per=per, k=k, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("block_nnz", [1, 7, 10**6])
@pytest.mark.parametrize("seed", range(8))
def test_cover_lp_bound_by_blocks_equals_one_lp(
    seed: int, block_nnz: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Random covers made of several independent blocks (rows and columns shuffled so that the
    # blocks interleave), solved in batches of 1 entry (every block alone), 7 entries, or all
    # at once: the sum of the blocks' LP optima equals the LP of the whole, as one HiGHS run
    # (the former bound) gives it.
    rng = np.random.default_rng(seed)
    blocks = [rng.random((int(rng.integers(1, 8)), int(rng.integers(1, 8)))) < 0.5
              for _ in range(int(rng.integers(1, 6)))]
    blocks = [b | (np.arange(b.shape[0])[:, None] == rng.integers(0, b.shape[0], b.shape[1]))
              for b in blocks]  # every column coverable
    dense = np.zeros((sum(b.shape[0] for b in blocks), sum(b.shape[1] for b in blocks)), bool)
    r = q = 0
    for b in blocks:
        dense[r : r + b.shape[0], q : q + b.shape[1]] = b
        r, q = r + b.shape[0], q + b.shape[1]
    dense = dense[rng.permutation(dense.shape[0])][:, rng.permutation(dense.shape[1])]
    A = sp.csr_array(dense)
    c = rng.integers(1, 5, size=A.shape[0]).astype(np.float64)
    options = SolverOptions()
    whole = siting_module._lp_bound(
        c, [LinearConstraint(A.T.astype(np.float64).tocsr(), 1.0, np.inf)], options, "test"
    )
    monkeypatch.setattr(siting_module, "_LP_BLOCK_NNZ", block_nnz)
    got = siting_module._cover_lp_bound(c, A, options, "test")
    assert whole is not None and got == pytest.approx(whole, rel=1e-9, abs=1e-9)


# --- the matrix against a brute-force construction ------------------------------------------------


def _brute_matrix(
    graph: StreetGraph, cand: gpd.GeoDataFrame, dem: gpd.GeoDataFrame, radius: float
) -> np.ndarray:
    """Every candidate against every demand segment, with all-pairs distances over the graph."""
    from scipy.sparse.csgraph import dijkstra

    dist = dijkstra(graph.hose, directed=True)
    L = graph.length_m
    ce = pd.Index(graph.edge_id).get_indexer(cand["edge_id"])
    de = pd.Index(graph.edge_id).get_indexer(dem["edge_id"])
    out = np.zeros((len(cand), len(dem)), dtype=bool)
    for i in range(len(cand)):
        t, off = cand["position_m"].iloc[i], cand["offset_m"].iloc[i]
        # the candidate's two ends: its edge's u at off + t, its v at off + L - t
        ends = [(s, d0) for s, d0 in ((graph.u_idx[ce[i]], off + t), (graph.v_idx[ce[i]], off + L[ce[i]] - t))
                if d0 <= radius]
        for j in range(len(dem)):
            e = de[j]
            near = [[d0 + dist[s, n] for s, d0 in ends if d0 + dist[s, n] <= radius]
                    for n in (graph.u_idx[e], graph.v_idx[e])]
            du, dv = (min(d, default=np.inf) for d in near)
            r = radius - np.nan_to_num(dem["offset_m"].iloc[j], nan=0.0)
            own = t if ce[i] == e else np.nan
            out[i, j] = siting_matrix._covers(
                np.array([L[e]]), np.array([dem["start_m"].iloc[j]]), np.array([dem["end_m"].iloc[j]]),
                np.array([r]), np.array([du]), np.array([dv]), np.array([own]), np.array([r - off]),
            )[0]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_matrix_equals_brute_force(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(100 + seed)
    graph = build_graph(grid_roads(4, 4, seed=seed, drop=0.2))
    radius = float(rng.uniform(60, 260))
    edge = rng.integers(0, graph.n_edges, 1)
    cov = hydrant_coverage(graph, snaps(edge, rng.random(1) * graph.length_m[edge], [3.0]), radius_m=radius)
    cand = siting_candidates(graph, cov, options=CandidateOptions(spacing_m=float(rng.uniform(30, 90))))
    dem = demand_segments(graph, cov, max_segment_m=float(rng.uniform(10, 40)))
    expected = _brute_matrix(graph, cand, dem, radius)
    m = coverage_matrix(graph, cand, dem, radius_m=radius)
    assert (m.toarray() == expected).all()
    # in chunks of (about) one candidate each, the same matrix
    monkeypatch.setattr(siting_matrix, "_MATRIX_CHUNK", 1)
    small = coverage_matrix(graph, cand, dem, radius_m=radius)
    assert (small.toarray() == expected).all()
    assert expected.any() and not expected.all()

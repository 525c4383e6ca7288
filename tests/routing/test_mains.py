"""Hydrants on their mains and the branch rule (GB 50974 6.1.5(3)), worked out on paper."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
import wntr

from geo.mains import MAINS_COLUMNS, SUPPLY_COLUMNS, Mains
from geo.mains_inp import read_inp
from routing.graph import build_graph
from routing.mains import (
    branch_groups,
    cap_branch_credit,
    hydrant_groups,
    link_hydrants,
    water_summary,
)
from routing.snap import snap_points
from routing.water import building_access, building_water
from tests.routing.test_response import CRS, make_roads
from tests.routing.test_water import diamond


def mains_of(pipes: list[tuple[str, tuple[float, float], tuple[float, float]]],
             status: dict[str, str] | None = None) -> Mains:
    """Pipes (id, start, end) of DN150; nodes named by their coordinates."""
    rows = [
        {"pipe_id": pid, "from_node": f"{a}", "to_node": f"{b}", "kind": "pipe",
         "diameter_mm": 150.0, "material": "", "roughness": 100.0,
         "status": (status or {}).get(pid, "open"), "length_m": float(np.hypot(b[0] - a[0], b[1] - a[1]))}
        for pid, a, b in pipes
    ]
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(MAINS_COLUMNS)),
                             geometry=[shapely.LineString([a, b]) for _, a, b in pipes], crs=CRS)
    supply = gpd.GeoDataFrame({c: [] for c in SUPPLY_COLUMNS}, geometry=[], crs=CRS)
    return Mains(mains=frame, supply=supply, source="test")


# the loop: (100,-3) - (300,-3) - (300,-60) - (100,-60) - back
LOOP = [("L1", (100, -3), (300, -3)), ("L2", (300, -3), (300, -60)),
        ("L3", (300, -60), (100, -60)), ("L4", (100, -60), (100, -3))]
# a branch off the loop's corner (300,-3): two pipes in a row
BRANCH = [("B1", (300, -3), (350, -3)), ("B2", (350, -3), (400, -3))]


def credited(mains: Mains | None, hydrant_xy: list[tuple[float, float]],
             credits: list[float]) -> float:
    """Credited flow of one building (footprint bottom at (250, 10), road y=0 from 0 to 400)."""
    graph = build_graph(make_roads([(1, 2, [(0, 0), (400, 0)])]))
    fp = gpd.GeoSeries([diamond(250, 10)], crs=CRS)
    hyd = gpd.GeoDataFrame(geometry=shapely.points(hydrant_xy), crs=CRS)
    access = building_access(graph, fp)
    groups = None
    if mains is not None:
        groups = hydrant_groups(link_hydrants(hyd, mains), mains)
    per, _ = building_water(graph, fp, access, snap_points(graph, hyd.geometry), hyd.geometry,
                            credited_lps=np.array(credits), branch_groups=groups)
    return float(per["credited_flow_lps"].iloc[0])


def test_one_pipe_two_hydrants_one_credit() -> None:
    # one pipe (a tree on its own): H (150,-5) hose 10+100+5 = 115 m, H (250,-5) 10+0+5 = 15 m,
    # both in range; points: 15 + 15 = 30; branch rule: one hydrant's flow, 15
    mains = mains_of([("P1", (0, -3), (400, -3))])
    xy = [(150, -5), (250, -5)]
    assert credited(None, xy, [15, 15]) == 30
    assert credited(mains, xy, [15, 15]) == 15
    assert list(branch_groups(mains)) == [0]


def test_loop_two_hydrants_two_credits() -> None:
    # both hydrants on L1 (part of the loop): each counts, 15 + 15 = 30
    mains = mains_of(LOOP)
    assert list(branch_groups(mains)) == [-1, -1, -1, -1]
    assert credited(mains, [(150, -5), (250, -5)], [15, 15]) == 30


def test_loop_with_branch() -> None:
    # H0 (150,-5), H1 (250,-5) on the loop: 15 + 15; H2 (310,-5) on B1 (2 m away; the loop's L2
    # is 10 m away) credited 10, H3 (370,-5) on B2 credited 15: one branch group, the largest
    # single credit counts: 15. Hose: H2 10+60+5 = 75, H3 10+120+5 = 135, all within 150.
    # Points: 15+15+10+15 = 55; branch rule: 15+15+15 = 45
    mains = mains_of(LOOP + BRANCH)
    groups = branch_groups(mains)
    assert list(groups[:4]) == [-1] * 4 and groups[4] == groups[5] >= 0
    xy = [(150, -5), (250, -5), (310, -5), (370, -5)]
    assert credited(None, xy, [15, 15, 10, 15]) == 55
    assert credited(mains, xy, [15, 15, 10, 15]) == 45


def test_closed_pipe_breaks_the_loop() -> None:
    # L4 closed: L1, L2, L3 are a tree (one group), L4 its own group
    groups = branch_groups(mains_of(LOOP, status={"L4": "closed"}))
    assert groups[0] == groups[1] == groups[2] >= 0 and groups[3] not in (-1, groups[0])


def test_two_trees_off_one_core_node_are_two_groups() -> None:
    other = [("C1", (300, -3), (300, 40))]
    groups = branch_groups(mains_of(LOOP + BRANCH + other))
    assert groups[4] == groups[5] and groups[6] >= 0 and groups[6] != groups[4]


def test_link_by_id_then_nearest_then_none() -> None:
    mains = mains_of(LOOP + BRANCH)
    hyd = gpd.GeoDataFrame(
        {"管线编号": ["L3", "", "nope", ""]},
        geometry=shapely.points([(150, -5), (310, -5), (500, 500), (340, -40)]), crs=CRS,
    )
    links = link_hydrants(hyd, mains, tolerance_m=30)
    # row 0 named L3 (57 m away: the file wins over the distance); row 1 nearest B1 at 2 m;
    # row 2 names no pipe and is 100+ m from all; row 3 nearest L2 at 40 m > 30: unlinked
    assert list(links["main_id"][:2]) == ["L3", "B1"] and links["main_id"][2:].isna().all()
    assert list(links["main_link"]) == ["id", "nearest", "none", "none"]
    np.testing.assert_allclose(links["main_distance_m"].to_numpy(), [55, 2, np.nan, np.nan])
    np.testing.assert_allclose(links["main_dn_mm"].to_numpy(), [150, 150, np.nan, np.nan])
    groups = hydrant_groups(links, mains)
    assert groups[0] == -1 and groups[1] >= 0 and groups[2] == groups[3] == -1
    water = water_summary(mains, links, groups)
    assert water["model"] == "branch_rule"
    assert water["mains"]["hydrants_linked"] == 2 and water["mains"]["hydrants_unlinked"] == 2
    assert water_summary(None, None, None) == {"model": "points", "mains": None}


def test_cap_keeps_the_rows_in_range() -> None:
    pairs = pd.DataFrame({"building": [0, 0, 0, 1], "hydrant": [0, 1, 2, 1],
                          "credited_lps": [10.0, 15.0, 15.0, 10.0]})
    out = cap_branch_credit(pairs, np.array([3, 3, -1]))
    # building 0: hydrants 0 and 1 share group 3 -> only the 15 counts; 2 alone; building 1: one
    assert list(out["credited_lps"]) == [0, 15, 15, 10]
    assert list(out["branch_capped"]) == [True, False, False, False]
    assert out["credited_lps"].sum() == pytest.approx(40)


def test_net1_branches() -> None:
    # EPANET's Net1: a 3x3 grid of loops fed by pump 9 -> node 10 -> pipe 10 -> node 11 (one
    # tree: pump 9 and pipe 10 share node 10, off the core) and by tank 2 through pipe 110
    # (its own tree); all 10 other pipes lie on loops
    path = Path(wntr.__file__).parent / "library" / "networks" / "Net1.inp"
    mains = read_inp(path, crs="EPSG:32651", working_crs=pyproj.CRS.from_epsg(32651))
    groups = dict(zip(mains.mains["pipe_id"], branch_groups(mains), strict=True))
    assert groups["9"] == groups["10"] >= 0 and groups["110"] >= 0 and groups["110"] != groups["10"]
    assert sum(g == -1 for g in groups.values()) == 10


def test_hydrants_on_a_main_below_dn100() -> None:
    """GB 50974 8.1.4: West St's pipe is DN80 (H1 on it), East St's DN150 (H2): one finding,
    H1's, naming pipe W."""
    from geo.presets import load_preset
    from routing.analysis import AnalysisOptions, analyze
    from tests.routing._graphs import xy
    from tests.routing.test_scenario import tiny_layers

    mains = mains_of([("W", xy(0, -3), xy(300, -3)), ("E", xy(300, -3), xy(600, -3))])
    mains.mains.loc[mains.mains["pipe_id"] == "W", "diameter_mm"] = 80.0
    result = analyze(tiny_layers(), preset=load_preset("cn-gb"),
                     options=AnalysisOptions(siting=False), mains=mains)
    f = result.findings.loc[result.findings["rule_id"] == "fire_main_min_dn"]
    assert f["feature_id"].tolist() == ["H1"] and f["layer"].tolist() == ["hydrants"]
    assert f["value"].tolist() == [80.0] and f["limit"].tolist() == [100.0]
    assert f["message"].iloc[0] == ("hydrant on a DN80 main; fire mains must be at least DN100 "
                                    "(pipe W)")
    assert f["clause"].iloc[0] == "GB 50974-2014 8.1.4"
    assert result.summary["water"]["mains"]["hydrants_below_min_dn"] == 1
    # without mains nothing is judged
    bare = analyze(tiny_layers(), preset=load_preset("cn-gb"), options=AnalysisOptions(siting=False))
    assert not (bare.findings["rule_id"] == "fire_main_min_dn").any()
    assert bare.summary["water"]["mains"] is None

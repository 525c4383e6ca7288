"""No-parking zones (GB 55037 12.0.1; 道路交通安全法实施条例 第63条), worked on paper."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.presets import load_preset
from routing.graph import build_graph
from routing.no_parking import BESIDE_ROAD_M, no_parking_zones, parked_in_zones, public_roads
from routing.snap import snap_points
from tests.routing.test_response import CRS, make_roads

CN = load_preset("cn-gb")
US = load_preset("us")


def _graph():  # type: ignore[no-untyped-def]
    # A(0,0) --200-- B(200,0) (residential), then B --100-- C(300,0) a compound lane (service)
    roads = make_roads([(1, 2, [(0, 0), (200, 0)]), (2, 3, [(200, 0), (300, 0)])])
    roads.loc[1, "highway"] = "service"
    return build_graph(roads)


def _snap(graph, xy, max_m=500.0):  # type: ignore[no-untyped-def]
    return snap_points(graph, gpd.GeoSeries(shapely.points(xy), crs=CRS), max_distance_m=max_m)


def _pieces(zones: gpd.GeoDataFrame, rule: str) -> list[tuple[int, float, float]]:
    z = zones.loc[zones["rule_id"] == rule]
    return [(int(e), round(float(s), 6), round(float(t), 6))
            for e, s, t in zip(z["edge_id"], z["start_m"], z["end_m"], strict=True)]


def test_zones_run_along_the_road_from_the_snapped_point() -> None:
    graph = _graph()
    # hydrant 3 m off the road at x = 100: 5 m each side -> [95, 105]; 30 m -> [70, 130]
    # (its 3 m offset is not counted: the distance is along the road)
    # hydrant 40 m off at x = 50: farther than BESIDE_ROAD_M (15 m), beside no road: no zone
    hydrants = _snap(graph, [(100, 3), (50, 40)], max_m=60)
    assert BESIDE_ROAD_M < 40
    zones = no_parking_zones(graph, {"hydrants": hydrants}, preset=CN)
    assert _pieces(zones, "hydrant_no_parking") == [(0, 95.0, 105.0)]
    assert _pieces(zones, "law_no_parking_public_road") == [(0, 70.0, 130.0)]
    assert zones["length_m"].sum() == pytest.approx(10 + 60)
    assert set(zones["clause"]) == {"GB 55037-2022 12.0.1",
                                    "道路交通安全法实施条例 第六十三条 (Road Traffic Safety Law "
                                    "Implementing Regulations Art. 63)"}
    # the pieces are the road's own line
    assert zones.geometry.iloc[0].equals(shapely.LineString([(95, 0), (105, 0)]))


def test_zones_turn_corners_and_the_law_keeps_to_public_roads() -> None:
    graph = _graph()
    assert list(public_roads(graph)) == [True, False]
    # a pump connector at x = 198 (2 m off): 5 m -> [193, 200] on AB and [0, 3] on the lane BC
    # a station whose yard is 50 m deep at x = 190: its gate opens at x = 190: 30 m -> [160, 200]
    # on AB, and 20 m into the lane BC, which is no public road (left out)
    zones = no_parking_zones(
        graph,
        {"pump_connectors": _snap(graph, [(198, 2)]), "stations": _snap(graph, [(190, -50)])},
        preset=CN,
    )
    assert _pieces(zones, "hydrant_no_parking") == [(0, 193.0, 200.0), (1, 0.0, 3.0)]
    assert _pieces(zones, "law_no_parking_public_road") == [(0, 160.0, 200.0)]


def test_a_preset_without_the_law_makes_only_its_own_zones() -> None:
    graph = _graph()
    zones = no_parking_zones(graph, {"hydrants": _snap(graph, [(100, 3)])}, preset=US)
    # US preset: 15 ft = 4.572 m each side
    assert _pieces(zones, "hydrant_no_parking") == [(0, 95.428, 104.572)]
    assert set(zones["rule_id"]) == {"hydrant_no_parking"}
    empty = no_parking_zones(graph, {}, preset=CN)
    assert len(empty) == 0 and list(empty.columns)[:3] == ["rule_id", "clause", "distance_m"]


def test_parked_reports_inside_a_zone() -> None:
    graph = _graph()
    zones = no_parking_zones(graph, {"hydrants": _snap(graph, [(100, 3)])}, preset=CN)
    # positions on edge 0: 104 (in both), 105 (the 5 m zone's end: inside), 106 (30 m only),
    # 131 (none); a gate at 100 is no parking; a report not snapped (-1) is in no zone
    edge = np.array([0, 0, 0, 0, 0, -1])
    pos = np.array([104.0, 105.0, 106.0, 131.0, 100.0, 100.0])
    parked = np.array([True, True, True, True, False, True])
    inside = parked_in_zones(zones, edge, pos, parked)
    assert list(inside["hydrant_no_parking"]) == [True, True, False, False, False, False]
    assert list(inside["law_no_parking_public_road"]) == [True, True, True, False, False, False]

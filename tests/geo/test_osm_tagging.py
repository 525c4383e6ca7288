"""OSM as it is really tagged: building:part heights, stations mapped twice, hydrants on ways.

The fixture data/fixtures/osm_tagging.osm is hand-made (invented coordinates near 11.0 E, 50.0 N;
at 50 N, 0.0001 deg of latitude is 11.1 m and 0.0001 deg of longitude 7.15 m).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely

from geo.buildings import osm_buildings_and_parts
from geo.hydrants import osm_hydrants
from geo.layers import build_layers, layer_counts
from geo.notes import Note
from geo.osm import read_osm
from geo.roads import build_roads
from geo.stations import merge_duplicate_stations, osm_stations
from geo.water import osm_water_sources
from tests.conftest import FIXTURES, shared_file

UTM32 = pyproj.CRS.from_epsg(32632)
TAGGING = FIXTURES / "osm_tagging.osm"


def _utm(lon: float, lat: float) -> shapely.Point:
    return gpd.GeoSeries([shapely.Point(lon, lat)], crs="EPSG:4326").to_crs(UTM32).iloc[0]


@pytest.fixture(scope="module")
def buildings() -> tuple[gpd.GeoDataFrame, int]:
    return osm_buildings_and_parts(read_osm(TAGGING), crs=UTM32)


def test_tower_with_only_parts_tagged_takes_the_tallest_part(
    buildings: tuple[gpd.GeoDataFrame, int],
) -> None:
    b = buildings[0].set_index("building_id")
    tower = b.loc["osm/w100"]
    # outline: no height; parts 540 m and "60 m" inside -> max(540, 60) = 540 m
    assert tower["height_m"] == 540.0
    assert tower["height_source"] == "building:part"
    # use unknown -> public thresholds: 540 > 50 m -> class 1
    assert tower["high_rise_class"] == "class1"


def test_parts_with_levels_only(buildings: tuple[gpd.GeoDataFrame, int]) -> None:
    block = buildings[0].set_index("building_id").loc["osm/w110"]
    # outline 3 levels (9 m); parts 13 and 5 levels -> 13 x 3.0 = 39 m, 5 x 3.0 = 15 m
    assert block["height_m"] == 39.0
    assert block["levels"] == 13.0
    assert block["height_source"] == "building:part"
    # residential 39 m: 27 < 39 <= 54 -> class 2
    assert block["high_rise_class"] == "class2"


def test_own_height_wins_over_a_lower_part(buildings: tuple[gpd.GeoDataFrame, int]) -> None:
    office = buildings[0].set_index("building_id").loc["osm/w130"]
    # own 20 m, part 12 m, building:part=no (99 m) ignored -> 20 m from its own tag
    assert office["height_m"] == 20.0
    assert office["height_source"] == "height"
    assert office["high_rise_class"] == "not_high_rise"  # public, 20 <= 24 m


def test_part_outside_every_outline_is_a_building_of_its_own(
    buildings: tuple[gpd.GeoDataFrame, int],
) -> None:
    b, lone = buildings
    assert lone == 1
    part = b.set_index("building_id").loc["osm/w120"]
    assert part["height_m"] == 30.0 and part["height_source"] == "height"
    assert part["high_rise_class"] == "class2"  # use unknown: 24 < 30 <= 50 m
    # outlines 100, 110, 130, 140 (station building) + part 120; the other parts are inside
    assert sorted(b["building_id"]) == [
        "osm/w100", "osm/w110", "osm/w120", "osm/w130", "osm/w140"
    ]


def test_station_node_and_area_8_m_apart_are_one_station() -> None:
    stations = osm_stations(read_osm(TAGGING), crs=UTM32)
    assert len(stations) == 3
    area = stations.set_index("station_id").geometry
    # node 200 at lat 50.009978, area centre at 50.01005: 0.000072 deg x 111.2 km = 8.0 m
    assert area["osm/n200"].distance(area["osm/w140"]) == pytest.approx(8.0, abs=0.1)
    merged, count = merge_duplicate_stations(stations)
    assert count == 1
    # the named area is kept; the station 2 km away (0.018 deg lat) stays
    assert sorted(merged["station_id"]) == ["osm/n201", "osm/w140"]
    assert set(merged["name"]) == {"Feuerwache Nord", "Feuerwache Sued"}


def test_station_merge_rule_by_distance_and_name() -> None:
    pts = [shapely.Point(0, 0), shapely.Point(90, 0), shapely.Point(0, 2000),
           shapely.Point(200, 2000), shapely.Point(5000, 0), shapely.Point(5050, 0)]
    st = gpd.GeoDataFrame(
        {"station_id": [f"osm/n{i}" for i in range(6)],
         "name": ["", "A", "B", "B", "C", "D"], "source": "osm"},
        geometry=pts, crs=UTM32,
    )
    merged, count = merge_duplicate_stations(st)
    # 0+1: 90 m <= 100 m, one unnamed -> one; 2+3: 200 m <= 250 m, same name -> one;
    # 4+5: 50 m apart but named differently -> two
    assert count == 2
    assert sorted(merged["station_id"]) == ["osm/n1", "osm/n2", "osm/n4", "osm/n5"]


def test_two_distinct_stations_2_km_apart_stay_two() -> None:
    st = gpd.GeoDataFrame(
        {"station_id": ["osm/n1", "osm/n2"], "name": ["", ""], "source": "osm"},
        geometry=[shapely.Point(0, 0), shapely.Point(0, 2000)], crs=UTM32,
    )
    merged, count = merge_duplicate_stations(st)
    assert (len(merged), count) == (2, 0)


def test_hydrants_on_ways_and_areas() -> None:
    osm = read_osm(TAGGING)
    h = osm_hydrants(osm, crs=UTM32).set_index("hydrant_id")
    assert sorted(h.index) == ["osm/210", "osm/r300", "osm/w150", "osm/w170"]
    # closed way 150: a 1.4 x 2.2 m square around (11.0200, 50.0000) -> a point inside it
    assert h.geometry["osm/w150"].distance(_utm(11.0200, 50.0)) < 1.5
    assert h.loc["osm/w150", "kind"] == "pillar"
    # multipolygon relation 300 around (11.0250, 50.0000)
    assert h.geometry["osm/r300"].distance(_utm(11.0250, 50.0)) < 1.5
    assert h.loc["osm/r300", "ref"] == "H-300"
    # open way 170 from lon 11.0300 to 11.0302 -> its midpoint at 11.0301
    assert h.geometry["osm/w170"].distance(_utm(11.0301, 50.0)) < 0.5
    water = osm_water_sources(osm, crs=UTM32)
    assert list(water["source_id"]) == ["osm/w180"]  # suction point drawn as an open way
    # the fence (an open barrier way) does not become a barrier point
    assert len(build_roads(osm, crs=UTM32)[1]) == 0


def test_layers_count_merged_stations_and_note_them() -> None:
    layers = build_layers(read_osm(TAGGING))
    counts = layer_counts(layers)
    assert counts["stations"] == {"total": 2, "merged_duplicates": 1}
    assert layers.osm_notes["building_parts_without_outline"] == 1
    inputs = {n.input: n for n in layers.notes}
    assert isinstance(inputs["stations"], Note) and inputs["stations"].count == 1
    assert inputs["buildings"].count == 1 and inputs["buildings"].level == "warning"


@pytest.mark.shared
def test_bayreuth_stations_are_seven_distinct() -> None:
    # 7 stations, nearest pair 1.6 km apart: nothing to merge
    stations = osm_stations(read_osm(shared_file("osm/bayreuth-north.osm.gz")), crs=UTM32)
    merged, count = merge_duplicate_stations(stations)
    assert (len(merged), count) == (7, 0)


@pytest.mark.shared
def test_nanjing_heights_from_building_parts() -> None:
    osm = read_osm(shared_file("osm/nanjing-xinjiekou.osm"))
    b, lone = osm_buildings_and_parts(osm, crs=pyproj.CRS.from_epsg(32650))
    from_parts = b.loc[b["height_source"] == "building:part"]
    assert len(from_parts) == 6 and lone == 1
    assert (from_parts["high_rise_class"] == "class1").all()
    assert from_parts["height_m"].max() == 250.0


def _cut_by_walking(node_ids: list[list[int]], barriers: set[int]) -> list[tuple[int, int, int, int, int]]:
    """Reference: walk each way, cutting at shared nodes (counted over every way), barriers and
    its end: ``(way, u, v, first index, last index)`` per edge."""
    from collections import Counter

    usage: Counter[int] = Counter(n for ids in node_ids for n in ids)
    split = {n for n, c in usage.items() if c > 1} | (barriers & set(usage))
    edges = []
    for w, ids in enumerate(node_ids):
        start = 0
        for i in range(1, len(ids)):
            if i == len(ids) - 1 or ids[i] in split:
                edges.append((w, ids[start], ids[i], start, i))
                start = i
    return edges


@pytest.mark.parametrize("seed", range(8))
def test_ways_cut_into_edges_as_by_walking_them(seed: int) -> None:
    """Random ways over a small pool of nodes (shared nodes, self-crossings, loops, one-node
    and empty ways, barriers): the vectorised cut equals walking each way."""
    from geo.roads import _cut_ways

    rng = np.random.default_rng(seed)
    pool = rng.choice(10_000, size=60, replace=False)
    ways = [list(rng.choice(pool, size=int(rng.integers(0, 9)))) for _ in range(40)]
    ways[0] = [ways[0][0], *ways[0][1:], ways[0][0]] if ways[0] else ways[0]  # a closed way
    barriers = set(rng.choice(pool, size=5).tolist())
    xy = {int(n): (float(n) * 1e-4, float(n) * 2e-4) for n in pool}
    lon = [np.array([xy[int(n)][0] for n in w]) for w in ways]
    lat = [np.array([xy[int(n)][1] for n in w]) for w in ways]
    way, u, v, geoms = _cut_ways(
        np.asarray([n for w in ways for n in w], dtype=np.int64),
        np.column_stack([np.concatenate(lon), np.concatenate(lat)]),
        np.asarray([len(w) for w in ways], dtype=np.int64),
        np.array(sorted(barriers), dtype=np.int64),
    )

    want = _cut_by_walking([[int(n) for n in w] for w in ways], barriers)
    assert list(zip(way.tolist(), u.tolist(), v.tolist(), strict=True)) == [e[:3] for e in want]
    for g, (w, _, _, s, t) in zip(geoms, want, strict=True):
        assert np.array_equal(np.asarray(g.coords), np.column_stack([lon[w], lat[w]])[s : t + 1])

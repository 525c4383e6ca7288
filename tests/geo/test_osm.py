"""The OSM reader and the roads/barriers/hydrants/stations/water layers on hand-made and real data."""

from __future__ import annotations

import bz2
import gzip
import math
import shutil
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pyproj
import pytest

from geo.errors import InputFileError
from geo.hydrants import osm_hydrants
from geo.osm import OsmData, is_drivable, read_osm
from geo.roads import build_roads
from geo.stations import osm_stations
from geo.water import osm_water_sources
from tests.conftest import FIXTURES, shared_file

UTM51 = pyproj.CRS.from_epsg(32651)
TINY = FIXTURES / "tiny_compound.osm"


def test_drivable_filter_keeps_fire_lanes_and_private_roads() -> None:
    assert is_drivable({"highway": "service", "access": "private"})
    assert is_drivable({"highway": "service", "service": "emergency_access"})
    assert is_drivable({"highway": "footway", "emergency": "yes"})
    assert is_drivable({"highway": "living_street"})
    assert not is_drivable({"highway": "footway"})
    assert not is_drivable({"highway": "pedestrian", "area": "yes"})
    assert not is_drivable({"highway": "construction"})
    assert not is_drivable({"building": "yes"})


def test_tiny_extract_keeps_parts_inside_a_cut_way() -> None:
    osm = read_osm(TINY)
    # way 12 references node 99 that is not in the file: two parts survive
    parts = osm.ways.loc[osm.ways["way_id"] == 12]
    assert list(parts["part"]) == [0, 1]
    assert [osm.part_nodes(int(i)).tolist() for i in np.flatnonzero(osm.ways["way_id"] == 12)] == [
        [4, 8], [9, 10]]
    # the parts' nodes end to end, with their positions
    assert len(osm.way_nodes) == len(osm.way_lonlat) == int(osm.ways["n_nodes"].sum())
    assert osm.way_nodes_missing == 1
    # the plain footway (way 13) is not a road; the emergency footway (14) is
    assert set(osm.ways["way_id"]) == {10, 11, 12, 14, 15}


def test_tiny_roads_split_at_junctions_and_barriers() -> None:
    roads, barriers, turnarounds = build_roads(read_osm(TINY), crs=UTM51)
    assert list(turnarounds["node_id"]) == [13] and list(turnarounds["kind"]) == ["turning_circle"]
    pairs = sorted(zip(roads["u"], roads["v"], strict=True))
    # way 10: 1-2, 2-3 (node 7 is not shared); way 11 split at the gate 5; way 12 reversed
    # (oneway=-1) and cut in two; way 14 one edge; way 15 split at the bollard 12
    assert pairs == sorted([(1, 2), (2, 3), (2, 5), (5, 4), (8, 4), (10, 9), (3, 11), (3, 12), (12, 13)])
    assert list(roads["edge_id"]) == list(range(9))
    lane = roads.loc[roads["way_id"] == 11].iloc[0]
    assert lane["service"] == "emergency_access" and lane["access"] == "private"
    res = roads.loc[roads["way_id"] == 12].iloc[0]
    assert bool(res["oneway"]) is True
    assert res["width_m"] == pytest.approx(3.5) and res["width_source"] == "width"
    assert res["maxheight_m"] == pytest.approx(12 * 0.3048)
    primary = roads.loc[roads["way_id"] == 10].iloc[0]
    assert primary["width_source"] == "estimated" and primary["width_m"] == pytest.approx(4 * 3.25)
    assert primary["name"] == "四平路"
    # lengths in metres: 1-2 is 0.002 deg of longitude at 31.28 N
    e12 = roads.loc[(roads["u"] == 1) & (roads["v"] == 2)].iloc[0]
    assert e12["length_m"] == pytest.approx(0.002 * 111_320 * math.cos(math.radians(31.28)), rel=3e-3)
    assert sorted(barriers["node_id"]) == [5, 12]
    gate = barriers.set_index("node_id").loc[5]
    assert gate["barrier"] == "gate" and gate["locked"] == "yes" and gate["access"] == "private"
    assert gate["road_name"] == "消防通道"
    assert barriers.set_index("node_id").loc[12, "locked"] == "unknown"


def test_tiny_point_layers() -> None:
    osm = read_osm(TINY)
    hydrants = osm_hydrants(osm, crs=UTM51).set_index("osm_id")
    assert hydrants.loc[6, "status"] == "in_service"
    assert hydrants.loc[6, "status_source"] == "assumed"
    assert hydrants.loc[6, "kind"] == "underground"
    assert hydrants.loc[6, "diameter_mm"] == 100
    assert hydrants.loc[6, "ref"] == "YP-001"
    assert hydrants.loc[42, "status"] == "out_of_service"
    stations = osm_stations(osm, crs=UTM51)
    assert list(stations["name"]) == ["杨浦消防救援站"]
    water = osm_water_sources(osm, crs=UTM51)
    assert list(water["kind"]) == ["water_tank"] and water["volume_m3"].iloc[0] == 200


@pytest.mark.parametrize("opener", ["gz", "bz2"])
def test_compressed_xml(tmp_path: Path, opener: str) -> None:
    target = tmp_path / f"tiny.osm.{opener}"
    with open(TINY, "rb") as src, (gzip.open if opener == "gz" else bz2.open)(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert len(read_osm(target).ways) == len(read_osm(TINY).ways)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        read_osm(tmp_path / "missing.osm")
    bad = tmp_path / "broken.osm"
    bad.write_text("<osm><node id='1' lat='x'", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"broken\.osm"):
        read_osm(bad)
    wrong = tmp_path / "roads.csv"
    wrong.write_text("a,b\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="extension"):
        read_osm(wrong)


def test_helsinki_pbf_cut_at_bbox(helsinki_pbf: Path) -> None:
    osm = read_osm(helsinki_pbf)
    assert osm.way_nodes_missing > 0  # the extract is cut at its bounding box
    roads, barriers, _ = build_roads(osm, crs=pyproj.CRS.from_epsg(32635))
    assert len(roads) > 1000
    assert 25 <= roads["length_m"].sum() / 1000 <= 45
    assert set(barriers["barrier"]) >= {"gate", "lift_gate", "block"}
    hydrants = osm_hydrants(osm, crs=pyproj.CRS.from_epsg(32635))
    assert len(hydrants) == 37
    assert (hydrants["kind"] == "underground").all()
    assert hydrants["diameter_mm"].notna().sum() == 33
    assert len(osm_stations(osm, crs=pyproj.CRS.from_epsg(32635))) == 1


@pytest.mark.shared
def test_yangpu_gates_on_compound_roads() -> None:
    osm = read_osm(shared_file("osm/shanghai-yangpu-tongji.osm"))
    roads, barriers, _ = build_roads(osm, crs=UTM51)
    gates = barriers.loc[barriers["barrier"] == "gate"]
    assert len(gates) >= 10
    # every barrier is a node of the graph
    nodes = set(roads["u"]) | set(roads["v"])
    assert set(barriers["node_id"]) <= nodes
    assert (roads["highway"] == "service").sum() >= 77


@pytest.mark.shared
def test_shanghai_central_osmnx_xml() -> None:
    osm = read_osm(shared_file("osm/shanghai-central-roads.osm"))
    roads, _, _ = build_roads(osm, crs=UTM51)
    assert len(osm.ways["way_id"].unique()) == 796
    assert roads["name"].str.contains("路").sum() > 500


@pytest.mark.shared
def test_bayreuth_gz_hydrants_and_stations() -> None:
    osm = read_osm(shared_file("osm/bayreuth-north.osm.gz"))
    crs = pyproj.CRS.from_epsg(32632)
    assert len(osm_hydrants(osm, crs=crs)) == 20
    assert len(osm_stations(osm, crs=crs)) == 7


_BUILDINGS_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
<node id="1" lat="60.0" lon="24.0"/><node id="2" lat="60.0" lon="24.001"/>
<node id="3" lat="60.001" lon="24.001"/>
<node id="5" lat="60.0" lon="24.01"/><node id="6" lat="60.0" lon="24.011"/>
<node id="7" lat="60.001" lon="24.011"/>
<node id="8" lat="60.0" lon="24.02"/><node id="9" lat="60.0" lon="24.021"/>
<node id="20" lat="60.002" lon="24.02"><tag k="building" v="yes"/><tag k="name" v="Kiosk"/></node>
<way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/>
  <tag k="building" v="yes"/><tag k="name" v="Cut"/></way>
<way id="11"><nd ref="5"/><nd ref="6"/><nd ref="7"/><nd ref="5"/><tag k="building" v="yes"/></way>
<way id="12"><nd ref="8"/><nd ref="9"/><nd ref="3"/><tag k="building" v="yes"/></way>
<way id="13"><nd ref="1"/><nd ref="4"/><nd ref="5"/><tag k="building" v="yes"/></way>
</osm>
"""


def test_buildings_without_a_footprint_are_named_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "buildings.osm"
    path.write_text(_BUILDINGS_OSM, encoding="utf-8")
    osm = read_osm(path)
    assert osm.areas["osm_id"].tolist() == [11]  # the one complete outline
    reasons = dict(zip(osm.unusable["feature_id"], osm.unusable["reason"], strict=True))
    assert set(reasons) == {"osm/n20", "osm/w10", "osm/w12", "osm/w13"}
    assert "single node" in reasons["osm/n20"]
    assert "cut by the extract boundary" in reasons["osm/w10"]  # closed, a node outside the file
    assert "not closed" in reasons["osm/w12"]  # open, every node inside
    assert "cut by the extract boundary" in reasons["osm/w13"]  # open and cut
    names = dict(zip(osm.unusable["feature_id"], osm.unusable["name"], strict=True))
    assert names["osm/w10"] == "Cut" and names["osm/n20"] == "Kiosk"


class _Recording(dict[str, str]):
    """A tag dict that records every key looked up."""

    seen: ClassVar[set[str]] = set()

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        _Recording.seen.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        _Recording.seen.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> str:
        _Recording.seen.add(key)
        return super().__getitem__(key)


def test_the_reader_copies_every_road_tag_the_road_layer_reads(
    helsinki_pbf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    import geo.roads
    from geo.osm import ROAD_TAG_KEYS

    osm = read_osm(helsinki_pbf)
    assert all(set(t) <= set(ROAD_TAG_KEYS) for t in osm.ways["tags"])
    ways = osm.ways.copy()
    # every way's tags offered whole (names included), recording what is looked up
    ways["tags"] = pd.Series([_Recording(t) for t in osm.ways["tags"]], index=ways.index, dtype=object)
    _Recording.seen = set()
    way_row = geo.roads._way_row
    monkeypatch.setattr(geo.roads, "_way_row", lambda i, tags: way_row(i, _Recording(tags)))
    build_roads(replace(osm, ways=ways), crs=pyproj.CRS.from_epsg(32635))
    assert _Recording.seen, "build_roads read no road tag"
    assert _Recording.seen <= set(ROAD_TAG_KEYS), _Recording.seen - set(ROAD_TAG_KEYS)


def test_reader_tells_what_it_has_kept_as_it_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    import geo.osm

    monkeypatch.setattr(geo.osm, "PROGRESS_EVERY", 10)
    told: list[str] = []
    osm = read_osm(TINY, progress=told.append)
    assert len(told) >= 2  # along the way, and once at the end
    counts = [int(t.split(" objects")[0].replace(",", "")) for t in told]
    assert counts[:-1] == sorted(counts[:-1]) and all(c % 10 == 0 for c in counts[:-1])
    assert told[-1].endswith(
        f"{len(osm.ways):,} road parts, {len(osm.points):,} points, {len(osm.areas):,} areas"
    )


def test_string_columns_use_python_storage() -> None:
    """geo sets pandas' string storage (geo/_pandas_options.py): Arrow-backed str columns made
    row takes copy string bytes (a quarter of a live update at 300k edges)."""
    import pandas as pd

    import geo  # noqa: F401

    assert pd.get_option("mode.string_storage") == "python"
    assert pd.DataFrame({"a": ["x", None]})["a"].array.dtype.storage == "python"


def _same_osm(a: OsmData, b: OsmData) -> None:
    for name in ("ways", "points", "areas", "unusable"):
        x, y = getattr(a, name), getattr(b, name)
        if "geometry" in x:
            assert [g.wkb for g in x["geometry"]] == [g.wkb for g in y["geometry"]], name
            x, y = x.drop(columns="geometry"), y.drop(columns="geometry")
        pd.testing.assert_frame_equal(x, y, obj=name)
    assert (a.bounds, a.way_nodes_missing, a.ways_dropped) == (b.bounds, b.way_nodes_missing, b.ways_dropped)
    np.testing.assert_array_equal(a.way_nodes, b.way_nodes)
    np.testing.assert_array_equal(a.way_lonlat, b.way_lonlat)


@pytest.mark.parametrize(
    "name", ["helsinki", "tiny_compound.osm", "osm/bayreuth-north.osm.gz", "osm/nanjing-xinjiekou.osm"]
)
def test_two_readers_read_what_one_reads(name: str, helsinki_pbf: Path) -> None:
    """Roads in this process, nodes, building ways and areas in a second one: the same tables,
    rows in the same order (nodes before ways, as in the file), the same notes and counts."""
    path = (helsinki_pbf if name == "helsinki" else FIXTURES / name if name.endswith(".osm")
            and "/" not in name else shared_file(name))
    _same_osm(read_osm(path, workers=1), read_osm(path, workers=2))


def test_failed_second_reader_falls_back_to_this_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When the second process cannot run, its part is read here: same result, and a warning."""
    path = FIXTURES / "tiny_compound.osm"
    one = read_osm(path, workers=1)
    monkeypatch.setattr(sys, "executable", shutil.which("false") or "/bin/false")
    with caplog.at_level("WARNING", logger="geo.osm"):
        two = read_osm(path, workers=2)
    _same_osm(one, two)
    assert "second OSM reader failed" in caplog.text


def test_bad_file_with_two_readers(tmp_path: Path) -> None:
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0dnot a pbf at all" * 100)
    with pytest.raises(InputFileError, match="cannot read OSM file"):
        read_osm(bad, workers=2)


def test_no_temporary_folder_reads_in_one_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import geo.osm

    def no_tmp(*_: object, **__: object) -> None:
        raise OSError("No space left on device")

    path = FIXTURES / "tiny_compound.osm"
    one = read_osm(path, workers=1)
    monkeypatch.setattr(geo.osm.tempfile, "TemporaryDirectory", no_tmp)
    with caplog.at_level("WARNING", logger="geo.osm"):
        _same_osm(one, read_osm(path, workers=2))
    assert "in one process: No space left on device" in caplog.text

"""Reading water mains: GIS layers with Chinese or English headers, units, rejects, EPANET."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import pyproj
import pytest
import shapely
import wntr

from geo.errors import InputFileError
from geo.mains import hydrant_pipe_ids, parse_dn_mm, read_mains, read_supply
from geo.mains_inp import read_inp

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures"
UTM51 = pyproj.CRS.from_epsg(32651)  # tiny_compound.osm lies in Shanghai (121.5 E)
NETWORKS = Path(wntr.__file__).parent / "library" / "networks"


@pytest.mark.parametrize(("value", "mm"), [
    ("DN150", 150), ("dn 150", 150), ("150", 150), (150, 150), ("φ100", 100), ("150mm", 150),
    ("0.15 m", 150), ("0.15", 150), ("6 in", 152.4), ('6"', 152.4), ("１５０", 150), ("15 cm", 150),
])
def test_diameter_variants(value: object, mm: float) -> None:
    got, reason = parse_dn_mm(value)
    assert reason is None and got == pytest.approx(mm)


def test_diameter_header_unit_and_failures() -> None:
    assert parse_dn_mm("6", header_unit="in")[0] == pytest.approx(152.4)  # 管径(in)
    for value, words in (("", "no diameter"), (None, "no diameter"), ("big", "cannot read"),
                         ("150 furlongs", "unknown diameter unit"), ("0", "not positive")):
        got, reason = parse_dn_mm(value)
        assert math.isnan(got) and reason is not None and words in reason


def test_tiny_mains_keep_good_rows_and_reject_each_bad_kind() -> None:
    mains = read_mains(FIXTURES / "mains_tiny.csv", working_crs=UTM51,
                       supply=FIXTURES / "supply_tiny.csv")
    assert list(mains.mains["pipe_id"]) == ["M1"]
    m1 = mains.mains.iloc[0]
    assert m1["diameter_mm"] == 150 and m1["material"] == "球墨铸铁" and m1["roughness"] == 110
    assert m1["status"] == "open"
    # 0.003 degrees of longitude at 31.28 N: 0.003 * 111.32 km * cos(31.28) = 285.4 m
    assert m1["length_m"] == pytest.approx(285.4, abs=1.0)
    reasons = {r.feature_id: (r.row, r.reason) for r in mains.rejects}
    assert set(reasons) == {"M2", "M3", "M4", "M5", "M6"}
    assert "no diameter" in reasons["M2"][1] and reasons["M2"][0] == 2
    assert "unknown diameter unit" in reasons["M3"][1]
    assert "zero length" in reasons["M4"][1]
    assert "not a single line" in reasons["M5"][1]
    assert "no supply point feeds" in reasons["M6"][1]  # 0.1 m = DN100, but an island
    assert mains.counts()["rejected_pipes"] == 5
    s = mains.supply.iloc[0]
    assert s["kind"] == "booster" and s["pressure_mpa"] == pytest.approx(0.28) and s["node"] != ""


def test_english_geojson_in_a_projected_crs(tmp_path: Path) -> None:
    # three pipes in EPSG:32651 metres: a (0) - b (100 m) - c (250 m), and a closed stub
    lines = [shapely.LineString([(350000, 3460000), (350100, 3460000)]),
             shapely.LineString([(350100, 3460000), (350250, 3460000)]),
             shapely.LineString([(350250, 3460000), (350250, 3460040)])]
    frame = gpd.GeoDataFrame({"ID": ["a", "b", "c"], "Diameter_mm": [200, "8 in", "DN100"],
                              "Material": ["DI", "PVC", "PE"], "Roughness": [130, 150, 140],
                              "Status": ["open", "Open", "closed"]}, geometry=lines, crs=32651)
    path = tmp_path / "pipes.geojson"
    frame.to_file(path)
    mains = read_mains(path, working_crs=UTM51)
    assert list(mains.mains["pipe_id"]) == ["a", "b", "c"]
    assert list(mains.mains["diameter_mm"]) == pytest.approx([200, 203.2, 100])
    assert list(mains.mains["length_m"]) == pytest.approx([100, 150, 40])
    assert list(mains.mains["status"]) == ["open", "open", "closed"]
    # a and b share their end node; no supply given: nothing rejected, a note says why
    assert mains.mains["to_node"].iat[0] == mains.mains["from_node"].iat[1]
    assert not mains.rejects and any("--supply" in n.message for n in mains.notes)


def test_unreadable_files_stop_clearly(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        read_mains(tmp_path / "nope.gpkg", working_crs=UTM51)
    bare = tmp_path / "bare.csv"
    bare.write_text("管径,材质\nDN100,PE\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no geometry"):
        read_mains(bare, working_crs=UTM51)
    bad = tmp_path / "bad.inp"
    bad.write_text("[PIPES]\n this is not epanet\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="EPANET"):
        read_inp(bad, crs="EPSG:32651", working_crs=UTM51)


def test_supply_with_chinese_headers_and_head(tmp_path: Path) -> None:
    path = tmp_path / "supply.csv"
    path.write_text("名称,类型,经度,纬度,水头\n一水厂,自来水厂,121.5,31.28,45\n水塔,水塔,,31.28,30\n",
                    encoding="utf-8")
    supply, rejects = read_supply(path, working_crs=UTM51)
    assert list(supply["kind"]) == ["plant"] and list(supply["head_m"]) == [45]
    assert len(rejects) == 1 and rejects[0].row == 2 and "longitude" in rejects[0].reason


def test_hydrant_file_pipe_column() -> None:
    assert hydrant_pipe_ids(FIXTURES / "hydrants_on_mains.csv") == {"H1": "M1"}
    assert hydrant_pipe_ids(FIXTURES / "hydrants_ids_only.csv") == {}


@pytest.mark.parametrize(("name", "links", "pipes", "supply"), [
    ("Net1.inp", 13, 12, {"9": "reservoir", "2": "tank"}),
    ("Net3.inp", 119, 117, {"River": "reservoir", "Lake": "reservoir", "1": "tank", "2": "tank",
                             "3": "tank"}),
])
def test_epanet_examples(name: str, links: int, pipes: int, supply: dict[str, str]) -> None:
    # the example models' coordinates are plain numbers; read as if they were EPSG:32651 metres
    mains = read_inp(NETWORKS / name, crs="EPSG:32651", working_crs=UTM51)
    assert len(mains.mains) == links and mains.counts()["pipes"] == pipes
    assert dict(zip(mains.supply["supply_id"], mains.supply["kind"], strict=True)) == supply
    assert mains.wntr is not None and mains.source.startswith("epanet:")
    if name == "Net1.inp":
        # Net1 is in US units (GPM): pipe 10 is 18 in and 10,530 ft -> 457.2 mm, 3,209.5 m
        p10 = mains.mains.set_index("pipe_id").loc["10"]
        assert p10["diameter_mm"] == pytest.approx(457.2)
        assert p10["length_m"] == pytest.approx(3209.5, abs=0.1)
        # reservoir 9 has a head of 800 ft = 243.84 m
        assert mains.supply.set_index("supply_id").loc["9", "head_m"] == pytest.approx(243.84)

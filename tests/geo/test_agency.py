"""Tests of geo.agency: agency hydrant/station/blockage tables and district files."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest
from shapely.geometry import LineString, Point, Polygon, box

from geo import crs as gc
from geo.agency import (
    BLOCKAGE_COLUMNS,
    HYDRANT_COLUMNS,
    STATION_COLUMNS,
    parse_coordinate,
    read_agency_table,
    read_districts_file,
)
from geo.errors import ConfigError, InputFileError
from geo.schema import validate_layer

CN_HEADER = "编号,经度,纬度,类型,状态,压力(MPa),出水量(L/s),口径"
CN_ROWS = [
    "H001,118.7801,32.0402,地上式,在用,0.35,15,DN100",
    "H002,118.7812,32.0411,地下式,停用,0.20,10,DN150",
    "H003,118.7823,32.0420,墙壁式,水压不足,0.10,5,DN65",
]


def _csv(tmp_path: Path, lines: list[str], *, name: str = "h.csv", encoding: str = "gbk") -> Path:
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _xy(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    return gdf.geometry.x.to_numpy(), gdf.geometry.y.to_numpy()


# --- formats -------------------------------------------------------------------------------------


def test_gbk_csv_with_chinese_headers(tmp_path: Path) -> None:
    path = _csv(tmp_path, [CN_HEADER, *CN_ROWS])
    read = read_agency_table(path, layer="hydrants")
    pts = read.points
    assert read.rejects == []
    assert list(pts.columns) == [*HYDRANT_COLUMNS, "geometry"]
    assert pts.crs.to_epsg() == 4326
    assert list(pts["hydrant_id"]) == ["H001", "H002", "H003"]
    assert list(pts["kind"]) == ["pillar", "underground", "wall"]
    assert list(pts["status"]) == ["in_service", "out_of_service", "low_pressure"]
    assert list(pts["pressure_mpa"]) == [0.35, 0.20, 0.10]
    assert list(pts["flow_lps"]) == [15.0, 10.0, 5.0]
    assert list(pts["diameter_mm"]) == [100.0, 150.0, 65.0]
    assert list(pts["source_row"]) == [1, 2, 3]
    assert set(pts["source_crs"]) == {"EPSG:4326"} and set(pts["source"]) == {"agency"}
    assert set(pts["source_file"]) == {str(path)}
    x, y = _xy(pts)
    assert x[0] == pytest.approx(118.7801) and y[0] == pytest.approx(32.0402)


def test_utf8_bom_csv(tmp_path: Path) -> None:
    path = _csv(tmp_path, [CN_HEADER, *CN_ROWS], encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    read = read_agency_table(path, layer="hydrants")
    assert list(read.points["hydrant_id"]) == ["H001", "H002", "H003"]


def test_gb18030_only_characters_and_semicolons(tmp_path: Path) -> None:
    lines = ["编号;经度;纬度;名称", "H1;118.78;32.04;𠀾路消火栓"]  # 𠀾 is outside GBK
    path = _csv(tmp_path, lines, encoding="gb18030")
    read = read_agency_table(path, layer="hydrants")
    assert read.points["name"].iloc[0] == "𠀾路消火栓"


def test_xlsx_with_title_row_and_best_sheet(tmp_path: Path) -> None:
    path = tmp_path / "hydrants.xlsx"
    wb = openpyxl.Workbook()
    notes = wb.active
    assert notes is not None
    notes.title = "说明"
    notes.append(["本表为新街口片区消火栓台账"])
    ws = wb.create_sheet("台账")
    ws.append(["新街口片区消火栓台账（2024年）"])  # a title row above the header
    ws.append(["序号", "消火栓编号", "经度", "纬度", "类型", "状态", "压力(kPa)", "出水量(m³/h)"])
    ws.append([1, "XJK-1", 118.7801, 32.0402, "地上", "正常", 350, 54])
    ws.append([2, "XJK-2", 118.7812, 32.0411, "地下", "在用", 280, 36])
    wb.save(path)
    read = read_agency_table(path, layer="hydrants")
    pts = read.points
    assert read.rejects == []
    assert list(pts["hydrant_id"]) == ["XJK-1", "XJK-2"]  # 消火栓编号 beats 序号
    assert list(pts["pressure_mpa"]) == pytest.approx([0.35, 0.28])  # kPa header converted
    assert list(pts["flow_lps"]) == pytest.approx([15.0, 10.0])  # m³/h header converted
    assert list(pts["source_row"]) == [1, 2]


def test_geojson_points(tmp_path: Path) -> None:
    path = tmp_path / "h.geojson"
    gdf = gpd.GeoDataFrame(
        {"编号": ["G1", "G2"], "状态": ["在用", "停用"], "type": ["pillar", "wall"]},
        geometry=[Point(24.94, 60.17), Point(24.95, 60.168)],
        crs="EPSG:4326",
    )
    gdf.to_file(path, driver="GeoJSON")
    read = read_agency_table(path, layer="hydrants")
    assert list(read.points["hydrant_id"]) == ["G1", "G2"]
    assert list(read.points["status"]) == ["in_service", "out_of_service"]
    assert list(read.points["kind"]) == ["pillar", "wall"]
    assert set(read.points["source_crs"]) == {"EPSG:4326"}
    x, _ = _xy(read.points)
    assert x == pytest.approx([24.94, 24.95])


def test_geopackage_in_cgcs2000_gauss_kruger(tmp_path: Path) -> None:
    path = tmp_path / "h.gpkg"
    lon, lat = np.array([118.7801, 118.7812]), np.array([32.0402, 32.0411])
    fwd = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    x, y = fwd.transform(lon, lat)
    gdf = gpd.GeoDataFrame(
        {"id": ["P1", "P2"], "status": ["ok", "broken"]},
        geometry=gpd.points_from_xy(x, y),
        crs="EPSG:4549",
    )
    gdf.to_file(path, layer="hydrants", driver="GPKG")
    read = read_agency_table(path, layer="hydrants")
    assert read.rejects == []
    assert set(read.points["source_crs"]) == {"EPSG:4549"}
    rx, ry = _xy(read.points)
    assert rx == pytest.approx(lon, abs=1e-8) and ry == pytest.approx(lat, abs=1e-8)


def test_shapefile_gbk_without_cpg(tmp_path: Path) -> None:
    path = tmp_path / "stations.shp"
    gdf = gpd.GeoDataFrame(
        {"编号": ["S1"], "站名": ["新街口消防站"]},
        geometry=[Point(118.78, 32.04)],
        crs="EPSG:4326",
    )
    gdf.to_file(path, encoding="gbk")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    read = read_agency_table(path, layer="stations")
    assert list(read.points.columns) == [*STATION_COLUMNS, "geometry"]
    assert read.points["name"].iloc[0] == "新街口消防站"
    assert read.points["station_id"].iloc[0] == "S1"


def test_vector_file_with_coordinates_from_a_web_map(tmp_path: Path) -> None:
    path = tmp_path / "h.geojson"
    glon, glat = gc.wgs84_to_gcj02(np.array([118.78]), np.array([32.04]))
    gpd.GeoDataFrame(
        {"id": ["W1"]}, geometry=gpd.points_from_xy(glon, glat), crs="EPSG:4326"
    ).to_file(path, driver="GeoJSON")
    read = read_agency_table(path, layer="hydrants", source_crs="amap")
    assert set(read.points["source_crs"]) == {"gcj02"}
    x, y = _xy(read.points)
    assert x[0] == pytest.approx(118.78, abs=1e-9) and y[0] == pytest.approx(32.04, abs=1e-9)


# --- coordinates and CRSs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "inverse"),
    [("gcj02", gc.gcj02_to_wgs84), ("bd09", gc.bd09_to_wgs84), ("baidu", gc.bd09_to_wgs84)],
)
def test_gcj02_and_bd09_inputs_are_converted(tmp_path: Path, spec: str, inverse: object) -> None:
    path = _csv(tmp_path, [CN_HEADER, *CN_ROWS])
    read = read_agency_table(path, layer="hydrants", source_crs=spec)
    raw_lon = np.array([118.7801, 118.7812, 118.7823])
    raw_lat = np.array([32.0402, 32.0411, 32.0420])
    assert callable(inverse)
    want_lon, want_lat = inverse(raw_lon, raw_lat)
    x, y = _xy(read.points)
    assert x == pytest.approx(want_lon, abs=1e-10) and y == pytest.approx(want_lat, abs=1e-10)
    assert set(read.points["source_crs"]) == {gc.parse_crs(spec).name}
    moved = np.hypot((x - raw_lon) * 94_000, (y - raw_lat) * 111_000)
    assert np.all(moved > 100)  # the web-map offset is hundreds of metres


def test_projected_table_with_x_and_y_swapped_chinese_style(tmp_path: Path) -> None:
    fwd = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    e, n = fwd.transform([118.78, 118.79], [32.04, 32.05])
    lines = [
        "编号,X,Y",
        f"A,{e[0]:.3f},{n[0]:.3f}",  # easting in X: fine
        f"B,{n[1]:.3f},{e[1]:.3f}",  # surveyors' X = northing: swapped
    ]
    read = read_agency_table(_csv(tmp_path, lines), layer="hydrants", source_crs="EPSG:4549")
    assert list(read.points["hydrant_id"]) == ["A"]
    assert len(read.rejects) == 1
    rej = read.rejects[0]
    assert (rej.row, rej.column, rej.feature_id) == (2, "X", "B")
    assert "swapped" in rej.reason


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("118.78", 118.78),
        (" 118.78 ", 118.78),
        ("118.78°", 118.78),
        ("１１８．７８", 118.78),
        ("118,78", 118.78),
        ("E118.78", 118.78),
        ("118.78E", 118.78),
        ("东经118.78", 118.78),
        ("118°47'30\"", 118 + 47 / 60 + 30 / 3600),
        ("118°47′30″", 118 + 47 / 60 + 30 / 3600),
        ("118°47’30”E", 118 + 47 / 60 + 30 / 3600),
        ("118度47分30秒", 118 + 47 / 60 + 30 / 3600),
        ("32°2'", 32 + 2 / 60),
        ("W73°59'", -(73 + 59 / 60)),
        ("-33.87", -33.87),
        (118.78, 118.78),
    ],
)
def test_parse_coordinate_forms(text: object, value: float) -> None:
    assert parse_coordinate(text) == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("text", ["", "  ", "abc", "118°75'", "118°47'61\"", None, "1.2.3"])
def test_parse_coordinate_unreadable(text: object) -> None:
    assert math.isnan(parse_coordinate(text))


def test_coordinate_strings_in_a_table(tmp_path: Path) -> None:
    lines = [
        "编号,经度,纬度",
        "A,118.78°,32.04°",
        "B,１１８．７９,３２．０５",
        'C,"118°47\'30""","32°2\'30"""',
        "D,东经118.785,北纬32.045",
    ]
    read = read_agency_table(_csv(tmp_path, lines, encoding="utf-8"), layer="hydrants")
    assert read.rejects == []
    x, y = _xy(read.points)
    assert x == pytest.approx([118.78, 118.79, 118 + 47 / 60 + 30 / 3600, 118.785])
    assert y == pytest.approx([32.04, 32.05, 32 + 2 / 60 + 30 / 3600, 32.045])


def test_combined_lonlat_column(tmp_path: Path) -> None:
    lines = ["编号,经纬度,状态", 'A,"118.78,32.04",在用', "B,118.79 32.05,在用", "C,118.79,在用"]
    read = read_agency_table(_csv(tmp_path, lines, encoding="utf-8"), layer="hydrants")
    assert list(read.points["hydrant_id"]) == ["A", "B"]
    assert len(read.rejects) == 1 and read.rejects[0].row == 3
    assert read.rejects[0].column == "经纬度"


# --- bad rows ------------------------------------------------------------------------------------

BAD_ROW_CASES = [
    # (bad row, column, words in the reason)
    ("HX,,32.0430,地上,在用,,,", "经度", "missing longitude"),
    ("HX,118.7834,,地上,在用,,,", "纬度", "missing latitude"),
    ("HX,abc,32.0430,地上,在用,,,", "经度", "cannot read longitude"),
    ("HX,118.7834,95.5,地上,在用,,,", "纬度", "latitude out of range"),
    ("HX,181.2,32.0430,地上,在用,,,", "经度", "longitude out of range"),
    ("HX,32.0430,118.7834,地上,在用,,,", "纬度", "swapped"),
    ("H001,118.78012,32.0402,地上,在用,,,", "编号", "duplicate id 'H001' at the same place as row 1"),
]


@pytest.mark.parametrize(("bad", "column", "reason"), BAD_ROW_CASES)
def test_each_bad_row_gives_one_reject_and_keeps_good_rows(
    tmp_path: Path, bad: str, column: str, reason: str
) -> None:
    path = _csv(tmp_path, [CN_HEADER, CN_ROWS[0], CN_ROWS[1], bad, CN_ROWS[2]])
    read = read_agency_table(path, layer="hydrants")
    assert list(read.points["hydrant_id"]) == ["H001", "H002", "H003"]
    assert list(read.points["source_row"]) == [1, 2, 4]
    assert len(read.rejects) == 1
    rej = read.rejects[0]
    assert (rej.layer, rej.file, rej.row, rej.column) == ("hydrants", str(path), 3, column)
    assert rej.feature_id == bad.split(",")[0]
    assert reason in rej.reason


def test_unknown_status_is_kept_as_unknown_with_a_warning(tmp_path: Path) -> None:
    bad = "HX,118.7834,32.0430,地上,待查,,,"
    read = read_agency_table(_csv(tmp_path, [CN_HEADER, *CN_ROWS, bad]), layer="hydrants")
    assert read.rejects == [] and list(read.points["status"])[-1] == "unknown"
    (note,) = read.notes
    assert (note.level, note.count, note.column) == ("warning", 1, "状态")
    assert "'待查' (1)" in note.message and "--hydrant-codes" in note.message


def test_swapped_detected_when_latitude_exceeds_90_anywhere(tmp_path: Path) -> None:
    lines = ["id,lon,lat", "A,24.94,60.17", "B,-33.87,151.21"]  # Sydney swapped
    read = read_agency_table(_csv(tmp_path, lines, encoding="utf-8"), layer="hydrants")
    assert [r.row for r in read.rejects] == [2]
    assert "swapped" in read.rejects[0].reason


def test_swapped_geometry_in_a_vector_file(tmp_path: Path) -> None:
    path = tmp_path / "h.geojson"
    gpd.GeoDataFrame(
        {"id": ["A", "B"]}, geometry=[Point(118.78, 32.04), Point(32.05, 118.79)], crs=4326
    ).to_file(path, driver="GeoJSON")
    read = read_agency_table(path, layer="hydrants")
    assert list(read.points["hydrant_id"]) == ["A"]
    assert [(r.row, r.column) for r in read.rejects] == [(2, "geometry")]


def test_non_point_and_missing_geometries_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "h.gpkg"
    gpd.GeoDataFrame(
        {"id": ["A", "B", "C"]},
        geometry=[Point(24.94, 60.17), LineString([(24.9, 60.1), (24.95, 60.2)]), None],
        crs=4326,
    ).to_file(path, driver="GPKG")
    read = read_agency_table(path, layer="hydrants")
    assert list(read.points["hydrant_id"]) == ["A"]
    reasons = {r.row: r.reason for r in read.rejects}
    assert "not a point" in reasons[2] and "no geometry" in reasons[3]


def test_outside_study_area(tmp_path: Path) -> None:
    far = "H009,118.9000,32.1000,地上,在用,,,"
    path = _csv(tmp_path, [CN_HEADER, *CN_ROWS, far])
    area = box(118.77, 32.035, 118.79, 32.05)
    read = read_agency_table(path, layer="hydrants", study_area=area)
    assert len(read.points) == 3
    assert [(r.row, r.feature_id) for r in read.rejects] == [(4, "H009")]
    assert "outside the study area" in read.rejects[0].reason


def test_study_area_is_tested_after_conversion_to_wgs84(tmp_path: Path) -> None:
    glon, glat = gc.wgs84_to_gcj02(118.7800, 32.0400)
    lines = ["编号,经度,纬度", f"A,{float(glon):.7f},{float(glat):.7f}"]
    tight = Point(118.7800, 32.0400).buffer(0.0005)  # ~50 m around the WGS84 position
    path = _csv(tmp_path, lines)
    with pytest.raises(InputFileError, match="none of its 1 usable rows lies in the study area"):
        read_agency_table(path, layer="hydrants", study_area=tight)
    read = read_agency_table(path, layer="hydrants", source_crs="gcj02", study_area=tight)
    assert read.rejects == [] and len(read.points) == 1


def test_duplicate_of_a_rejected_row_is_kept(tmp_path: Path) -> None:
    lines = [CN_HEADER, "H001,118.78,,地上,在用,,,", "H001,118.78,32.04,地上,在用,,,"]
    read = read_agency_table(_csv(tmp_path, lines), layer="hydrants")
    assert list(read.points["source_row"]) == [2]
    assert [r.row for r in read.rejects] == [1]


def test_blank_rows_are_skipped_and_numbering_kept(tmp_path: Path) -> None:
    lines = [CN_HEADER, CN_ROWS[0], ",,,,,,,", CN_ROWS[1], ""]
    read = read_agency_table(_csv(tmp_path, lines), layer="hydrants")
    assert list(read.points["source_row"]) == [1, 3]
    assert read.rejects == []


def test_values_and_units(tmp_path: Path) -> None:
    lines = [
        "id,lng,lat,kind,status,pressure_kpa,flow(m3/h),DN,address",
        "A,24.94,60.17,SS100/65,In Service,300,36,DN100/65,Senaatintori",
        "B,24.95,60.16,Underground,out of service,0.25MPa,12 L/s,Φ150,",
        "C,24.93,60.165,flush,Low-Pressure,,,,",
        "D,24.935,60.168,,,,,,",
    ]
    read = read_agency_table(_csv(tmp_path, lines, encoding="utf-8"), layer="hydrants")
    pts = read.points
    assert read.rejects == []
    assert list(pts["kind"]) == ["pillar", "underground", "underground", "unknown"]
    # D's status cell is blank: not stated (geo.layers gives it the preset's status, assumed)
    assert list(pts["status"]) == ["in_service", "out_of_service", "low_pressure", "not_stated"]
    assert list(pts["pressure_mpa"][:2]) == pytest.approx([0.3, 0.25])
    assert list(pts["flow_lps"][:2]) == pytest.approx([10.0, 12.0])
    assert list(pts["diameter_mm"][:2]) == [100.0, 150.0]
    assert pts["name"].iloc[0] == "Senaatintori" and pts["name"].iloc[1] == ""
    assert math.isnan(pts["pressure_mpa"].iloc[2])


def test_ids_are_made_up_when_the_file_has_none(tmp_path: Path) -> None:
    lines = ["经度,纬度", "118.78,32.04", "118.79,32.05"]
    read = read_agency_table(_csv(tmp_path, lines, name="list.csv"), layer="hydrants")
    assert list(read.points["hydrant_id"]) == ["list/1", "list/2"]


def test_explicit_column_mapping(tmp_path: Path) -> None:
    lines = ["栓号,E_coord,N_coord,经度", "A1,118.78,32.04,bogus", "A2,118.79,32.05,bogus"]
    path = _csv(tmp_path, lines)
    columns = {"id": "栓号", "lon": "E_coord", "lat": "N_coord"}
    read = read_agency_table(path, layer="hydrants", columns=columns)
    assert read.rejects == []
    assert list(read.points["hydrant_id"]) == ["A1", "A2"]
    x, _ = _xy(read.points)
    assert x == pytest.approx([118.78, 118.79])
    with pytest.raises(InputFileError, match="E_coordinate"):
        read_agency_table(path, layer="hydrants", columns={"lon": "E_coordinate", "lat": "N"})
    with pytest.raises(ConfigError, match="elevation"):
        read_agency_table(path, layer="hydrants", columns={"elevation": "E_coord"})


def test_missing_coordinate_columns_lists_headers_and_how_to_map(tmp_path: Path) -> None:
    path = _csv(tmp_path, ["编号,东坐标,北坐标", "A,118.78,32.04"], name="台账.csv")
    with pytest.raises(InputFileError) as info:
        read_agency_table(path, layer="hydrants")
    message = str(info.value)
    assert "台账.csv" in message and "东坐标" in message and "--hydrant-columns x=" in message


def test_hydrants_pass_the_layer_schema_once_projected(tmp_path: Path) -> None:
    read = read_agency_table(_csv(tmp_path, [CN_HEADER, *CN_ROWS]), layer="hydrants")
    pts = read.points
    working = gc.to_working(pts, gc.working_crs(pts.geometry.x, pts.geometry.y))
    validate_layer(working, name="hydrants")


# --- other layers --------------------------------------------------------------------------------


def test_stations_layer(tmp_path: Path) -> None:
    lines = ["编号,站名,经度,纬度", "S1,新街口消防站,118.78,32.04", "S2,鼓楼消防站,118.77,32.06"]
    read = read_agency_table(_csv(tmp_path, lines), layer="stations")
    assert list(read.points.columns) == [*STATION_COLUMNS, "geometry"]
    assert list(read.points["name"]) == ["新街口消防站", "鼓楼消防站"]


def test_blockages_layer(tmp_path: Path) -> None:
    lines = [
        "编号,类型,上报时间,上报人,照片,剩余宽度,状态,地址,经度,纬度",
        "B1,车辆占用,2024-05-03 14:30,张三,p1.jpg,2.8米,待整改,中山路1号,118.78,32.04",
        "B2,道闸,2024年5月4日,李四,,3.5,已派单,汉中路,118.781,32.041",
        "B3,违建,2024/05/05,,,,已整改,,118.782,32.042",
        "B4,堆物,,,,350cm,已复核,,118.783,32.043",
        "B5,摊贩,,,,,已销号,,118.784,32.044",
        "B6,其他,,,,,,,118.785,32.045",
        "B7,门口,,,,,搁置,,118.786,32.046",
        "B8,停车,,,,,不属实,,118.787,32.047",
        "B9,停车,,,,,重复上报,,118.788,32.048",
    ]
    read = read_agency_table(_csv(tmp_path, lines), layer="blockages")
    pts = read.points
    assert list(pts.columns) == [*BLOCKAGE_COLUMNS, "geometry"]
    assert list(pts["kind"]) == [
        "parked_vehicle", "gate", "structure", "goods", "stall", "other", "parked_vehicle",
        "parked_vehicle",
    ]  # fmt: skip
    assert list(pts["status"]) == [
        "reported", "assigned", "rectified", "verified", "closed", "reported", "rejected", "duplicate"
    ]  # fmt: skip
    assert pts["reported_at"].iloc[0] == pd.Timestamp("2024-05-03 14:30")
    assert pts["reported_at"].iloc[1] == pd.Timestamp("2024-05-04")
    assert pd.isna(pts["reported_at"].iloc[3])
    assert list(pts["remaining_width_m"][:2]) == [2.8, 3.5]
    assert pts["remaining_width_m"].iloc[3] == pytest.approx(3.5)
    assert list(pts["reporter"][:2]) == ["张三", "李四"] and pts["photo"].iloc[0] == "p1.jpg"
    assert [(r.row, r.column) for r in read.rejects] == [(7, "状态")]
    assert "unknown status word '搁置'" in read.rejects[0].reason


def test_unknown_layer() -> None:
    with pytest.raises(ConfigError, match="unknown layer"):
        read_agency_table("x.csv", layer="roads")  # type: ignore[arg-type]


# --- whole-file errors ---------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"nope\.csv.*not found"):
        read_agency_table(tmp_path / "nope.csv", layer="hydrants")


def test_undecodable_file_says_save_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "binary.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputFileError, match=r"binary\.csv") as info:
        read_agency_table(path, layer="hydrants")
    assert "UTF-8" in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\r\n  \r\n", "empty"),
        ("header_only.csv", "编号,经度,纬度\r\n".encode("gbk"), "no data rows"),
        ("old.xls", b"\xd0\xcf\x11\xe0", ".xlsx"),
        ("hydrants.docx", b"PK", "unsupported"),
        ("broken.xlsx", b"not a zip", "Excel"),
        ("broken.geojson", b"{not json", "cannot be opened"),
    ],
)
def test_bad_files(tmp_path: Path, name: str, content: bytes, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=name.replace(".", r"\.")) as info:
        read_agency_table(path, layer="hydrants")
    assert words in str(info.value)


def test_unknown_source_crs_is_a_file_error(tmp_path: Path) -> None:
    path = _csv(tmp_path, [CN_HEADER, *CN_ROWS])
    with pytest.raises(InputFileError, match=r"h\.csv.*accepted forms"):
        read_agency_table(path, layer="hydrants", source_crs="mars-2000")


def test_vector_file_without_geometry_or_coordinates(tmp_path: Path) -> None:
    path = tmp_path / "attrs.gpkg"
    gpd.GeoDataFrame({"id": ["A"]}, geometry=[None], crs=4326).to_file(path, driver="GPKG")
    with pytest.raises(InputFileError, match=r"attrs\.gpkg.*no longitude/latitude"):
        read_agency_table(path, layer="hydrants")


# --- districts -----------------------------------------------------------------------------------


def test_read_districts_file(tmp_path: Path) -> None:
    path = tmp_path / "d.geojson"
    gpd.GeoDataFrame(
        {"名称": ["玄武区", "秦淮区"], "代码": ["320102", "320104"]},
        geometry=[box(118.78, 32.04, 118.80, 32.06), box(118.77, 32.02, 118.79, 32.04)],
        crs=4326,
    ).to_file(path, driver="GeoJSON")
    out = read_districts_file(path)
    assert list(out.columns) == ["district_id", "name", "admin_level", "source_file", "geometry"]
    assert list(out["name"]) == ["玄武区", "秦淮区"]
    assert list(out["district_id"]) == ["320102", "320104"]
    assert out["admin_level"].isna().all() and out.crs.to_epsg() == 4326


def test_read_districts_file_converts_gcj02_and_named_column(tmp_path: Path) -> None:
    path = tmp_path / "d.gpkg"
    ring = [(118.78, 32.04), (118.80, 32.04), (118.80, 32.06), (118.78, 32.04)]
    glon, glat = gc.wgs84_to_gcj02(np.array([p[0] for p in ring]), np.array([p[1] for p in ring]))
    gpd.GeoDataFrame(
        {"zone": ["A"]}, geometry=[Polygon(zip(glon, glat, strict=True))], crs=4326
    ).to_file(path, driver="GPKG")
    out = read_districts_file(path, source_crs="gcj02", name_column="zone")
    xs, ys = out.geometry.iloc[0].exterior.xy
    assert list(xs) == pytest.approx([p[0] for p in ring], abs=1e-9)
    assert list(ys) == pytest.approx([p[1] for p in ring], abs=1e-9)
    assert out["district_id"].iloc[0] == "d/1"
    with pytest.raises(InputFileError, match=r"d\.gpkg.*not_there"):
        read_districts_file(path, name_column="not_there")


def test_read_districts_file_rejects_points(tmp_path: Path) -> None:
    path = tmp_path / "pts.geojson"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(1, 1)], crs=4326).to_file(path)
    with pytest.raises(InputFileError, match=r"pts\.geojson.*polygons"):
        read_districts_file(path)


def test_read_districts_file_without_crs(tmp_path: Path) -> None:
    path = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[box(118.7, 32.0, 118.8, 32.1)], crs=4326).to_file(
        path
    )
    path.with_suffix(".prj").unlink()
    out = read_districts_file(path)  # no .prj but plain degrees: taken as EPSG:4326
    assert out.crs.to_epsg() == 4326 and out["name"].iloc[0] == "A"
    metres = tmp_path / "gk.shp"
    gpd.GeoDataFrame(
        {"name": ["A"]}, geometry=[box(380_000, 3_546_000, 381_000, 3_547_000)], crs=4549
    ).to_file(metres)
    metres.with_suffix(".prj").unlink()
    with pytest.raises(InputFileError, match=r"gk\.shp.*no CRS"):
        read_districts_file(metres)
    out = read_districts_file(metres, source_crs="EPSG:4549")
    assert out.geometry.iloc[0].bounds[0] == pytest.approx(118.7, abs=0.1)


# --- shipped fixtures ----------------------------------------------------------------------------


def test_fixture_nanjing_gcj02(fixtures_dir: Path) -> None:
    path = fixtures_dir / "hydrants_nanjing_gcj02.csv"
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really GBK
    read = read_agency_table(path, layer="hydrants", source_crs="gcj02")
    assert len(read.points) == 11  # 12 rows, one swapped on its own row
    assert [(r.row, r.column, r.feature_id) for r in read.rejects] == [(11, "纬度", "XJK-011")]
    assert read.points.set_index("hydrant_id").loc["XJK-010", "status"] == "unknown"
    assert any("'待检修' (1)" in n.message for n in read.notes)
    x, y = _xy(read.points)
    assert np.all((x > 118.76) & (x < 118.79) & (y > 32.03) & (y < 32.055))
    assert set(read.points["status"]) == {
        "in_service", "out_of_service", "low_pressure", "unknown"
    }  # fmt: skip


def test_fixture_helsinki(fixtures_dir: Path) -> None:
    path = fixtures_dir / "hydrants_helsinki.csv"
    read = read_agency_table(path, layer="hydrants", study_area=box(24.92, 60.16, 24.96, 60.175))
    assert len(read.points) == 7
    assert [(r.row, r.column, r.feature_id) for r in read.rejects] == [(7, "id", "HEL-004")]
    assert "same place as row 4" in read.rejects[0].reason
    assert set(read.points["status"]) == {"in_service", "out_of_service", "low_pressure"}
    raw = pd.read_csv(path)
    kept = raw.drop(index=6)
    x, y = _xy(read.points)
    assert x == pytest.approx(kept["lon"].to_numpy()) and y == pytest.approx(kept["lat"])

"""Agency tables as they really come (issue 10): unnamed columns, metres without a CRS, swapped
axes, units without a name, coded statuses, placeholder ids, merged Excel headers, files for
another place. Every file here is invented; each test checks the message and that no good row
is lost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pyproj
import pytest
from shapely.geometry import box

from geo.agency import parse_column_spec, parse_units_spec, read_agency_table, read_status_codes
from geo.errors import ConfigError, InputFileError
from geo.layers import LayerOptions, build_layers
from geo.osm import read_osm
from tests.conftest import FIXTURES

SHANGHAI = box(121.49, 31.27, 121.52, 31.29)  # around data/fixtures/tiny_compound.osm
WASHINGTON = box(-77.05, 38.88, -77.00, 38.92)
SURVEY = FIXTURES / "hydrants_shanghai_survey.csv"
CODES = FIXTURES / "hydrant_codes.csv"
SPOTS = [(121.5002, 31.2801), (121.5021, 31.2799), (121.5040, 31.2802)]


def _write(tmp_path: Path, lines: list[str], name: str = "h.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _projected(epsg: int) -> list[tuple[float, float]]:
    fwd = pyproj.Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
    out = []
    for lon, lat in SPOTS:
        e, n = fwd.transform(lon, lat)
        out.append((e, n))
    return out


# --- 1. column mapping ---------------------------------------------------------------------------


def test_column_spec_with_aliases() -> None:
    spec = parse_column_spec("id=栓号牌, x=东向 ,y=北向,status=现状", layer="hydrants")
    assert spec == {"id": "栓号牌", "lon": "东向", "lat": "北向", "status": "现状"}
    assert parse_column_spec(None, layer="stations") == {}


def test_column_spec_without_equals_names_the_option() -> None:
    with pytest.raises(ConfigError, match=r"--blockage-columns .*'id编号' is not FIELD=HEADER"):
        parse_column_spec("id编号,x=X", layer="blockages")


def test_mapped_columns_are_read(tmp_path: Path) -> None:
    path = _write(tmp_path, ["栓号牌,东向,北向,现状", "A1,121.5002,31.2801,停用", "A2,121.5021,31.2799,在用"])
    read = read_agency_table(path, layer="hydrants", columns=parse_column_spec(
        "id=栓号牌,x=东向,y=北向,status=现状", layer="hydrants"))
    assert list(read.points["hydrant_id"]) == ["A1", "A2"]
    assert list(read.points["status"]) == ["out_of_service", "in_service"]
    assert read.points.geometry.x.to_numpy() == pytest.approx([121.5002, 121.5021])


def test_unknown_field_names_file_field_and_headers(tmp_path: Path) -> None:
    path = _write(tmp_path, ["站号,经度,纬度", "S1,121.5,31.28"], name="stations.csv")
    with pytest.raises(ConfigError) as info:
        read_agency_table(path, layer="stations", columns={"status": "站号"})  # stations have none
    message = str(info.value)
    assert "stations.csv" in message and "'status'" in message and "--station-columns" in message
    assert "站号, 经度, 纬度" in message


def test_header_not_in_file_names_file_field_and_headers(tmp_path: Path) -> None:
    path = _write(tmp_path, ["编号,东向,北向", "A,121.5,31.28"], name="台账.csv")
    with pytest.raises(InputFileError) as info:
        read_agency_table(path, layer="hydrants", columns={"x": "东坐标", "y": "北向"})
    message = str(info.value)
    assert "台账.csv" in message and "'lon'" in message and "'东坐标'" in message
    assert "--hydrant-columns" in message and "编号, 东向, 北向" in message


# --- 2. projected metres and swapped axes --------------------------------------------------------


def test_gauss_kruger_with_zone_prefix_suggests_4513_range(tmp_path: Path) -> None:
    # Shanghai 121.5E lies in 3-degree zone 40 (CM 120E): EPSG = 4513 + (40 - 25) = 4528,
    # and the easting is written 40,6xx,xxx
    fwd = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4528", always_xy=True)
    rows = [f"H{i},{fwd.transform(lon, lat)[0]:.2f},{fwd.transform(lon, lat)[1]:.2f}"
            for i, (lon, lat) in enumerate(SPOTS)]
    path = _write(tmp_path, ["编号,X坐标,Y坐标", *rows])
    with pytest.raises(InputFileError) as info:
        read_agency_table(path, layer="hydrants", study_area=SHANGHAI)
    message = str(info.value)
    assert "projected metres" in message and "zone 40" in message and "EPSG:4528" in message
    assert "3 of 3 rows fall inside the study area" in message
    assert "--hydrant-crs EPSG:4528" in message
    read = read_agency_table(path, layer="hydrants", source_crs="EPSG:4528", study_area=SHANGHAI)
    assert read.points.geometry.x.to_numpy() == pytest.approx([s[0] for s in SPOTS], abs=1e-6)


def test_six_digit_eastings_use_the_study_areas_zone(tmp_path: Path) -> None:
    # no zone number: CM = 3 * round(121.505 / 3) = 120, EPSG = 4534 + (120 - 75) / 3 = 4549
    rows = [f"H{i},{e:.2f},{n:.2f}" for i, (e, n) in enumerate(_projected(4549))]
    path = _write(tmp_path, ["id,x,y", *rows], name="gk.csv")
    with pytest.raises(InputFileError, match=r"EPSG:4549.*3 of 3 rows fall inside"):
        read_agency_table(path, layer="stations", study_area=SHANGHAI)
    with pytest.raises(InputFileError) as info:  # no study area: the rule, not a guess
        read_agency_table(path, layer="stations")
    assert "4534 + (CM − 75)/3" in str(info.value) and "--station-crs EPSG:<code>" in str(info.value)


def test_survey_file_with_northing_in_x_is_explained_then_read_swapped() -> None:
    with pytest.raises(InputFileError) as info:
        read_agency_table(SURVEY, layer="hydrants", study_area=SHANGHAI)
    message = str(info.value)
    assert "X holds the northings and Y the eastings" in message
    assert "EPSG:4549" in message and "8 of 8 rows fall inside" in message
    read = read_agency_table(SURVEY, layer="hydrants", source_crs="EPSG:4549", study_area=SHANGHAI)
    assert len(read.points) == 8 and read.rejects == []  # no row lost
    swap = [n for n in read.notes if "read swapped" in n.message]
    assert len(swap) == 1 and swap[0].count == 8 and swap[0].level == "warning"
    assert read.points.geometry.x.iloc[0] == pytest.approx(121.5002, abs=1e-6)


def test_latitude_in_the_longitude_column_everywhere_is_swapped_back(tmp_path: Path) -> None:
    path = _write(tmp_path, ["id,lon,lat", "A,32.04,118.78", "B,32.05,118.79", "C,,"])
    read = read_agency_table(path, layer="hydrants")
    assert list(read.points["hydrant_id"]) == ["A", "B"]
    assert read.points.geometry.x.to_numpy() == pytest.approx([118.78, 118.79])
    (note,) = read.notes
    assert "lon holds the latitudes and lat the longitudes" in note.message and note.count == 2
    assert [r.row for r in read.rejects] == [3]  # the empty row stays a reject


def test_swap_decided_by_the_study_area_when_both_readings_are_degrees(tmp_path: Path) -> None:
    # Helsinki swapped: 60.17 and 24.94 are both valid longitudes and latitudes
    path = _write(tmp_path, ["id,lon,lat", "A,60.1692,24.9446", "B,60.1687,24.9412"])
    read = read_agency_table(path, layer="hydrants", study_area=box(24.92, 60.16, 24.96, 60.175))
    assert read.points.geometry.y.to_numpy() == pytest.approx([60.1692, 60.1687])
    assert "study area" in read.notes[0].message


# --- 3. units by plausibility --------------------------------------------------------------------

US_ROWS = [
    "FACILITYID,POINT_X,POINT_Y,CONDITION,STATIC_PRE,FLOW",
    "H-1,-77.0301,38.9001,Good,55,1000",
    "H-2,-77.0302,38.9011,Fair,60,1100",
    "0-0,-77.0303,38.9021,Good,65,1200",
    "0-0,-77.0304,38.9031,Out of Service,60,1100",
    "0-0,-77.0305,38.9041,Poor,70,93099",
]


def test_us_table_flow_in_gpm_and_pressure_in_psi(tmp_path: Path) -> None:
    read = read_agency_table(_write(tmp_path, US_ROWS), layer="hydrants", study_area=WASHINGTON)
    pts = read.points
    assert len(pts) == 5 and read.rejects == []
    # 1100 gpm * 3.785411784 L / 60 s = 69.399 L/s; 60 psi * 0.006894757 = 0.41369 MPa
    assert pts["flow_lps"].iloc[1] == pytest.approx(69.399, abs=1e-3)
    assert pts["pressure_mpa"].iloc[1] == pytest.approx(0.41369, abs=1e-5)
    # 93,099 gpm = 5,873 L/s: no hydrant gives that; not known, row kept
    assert np.isnan(pts["flow_lps"].iloc[4]) and pts["hydrant_id"].iloc[4] == "h/row5"
    text = " | ".join(n.message for n in read.notes)
    assert "'FLOW' gives no flow unit and its median 1,100 is implausible as L/s" in text
    assert "read as gpm" in text and "L/min would also fit" in text
    assert "--hydrant-units flow=<unit>" in text
    assert "read as psi" in text and "above 500 L/s" in text
    assert list(pts["status"]) == ["in_service", "unknown", "in_service", "out_of_service", "unknown"]


def test_units_override_wins(tmp_path: Path) -> None:
    units = parse_units_spec("flow=l/min, pressure=PSI")
    assert units == {"flow": "L/min", "pressure": "psi"}
    read = read_agency_table(_write(tmp_path, US_ROWS), layer="hydrants", units=units)
    assert read.points["flow_lps"].iloc[1] == pytest.approx(1100 / 60)  # 18.333 L/s
    assert not any("implausible" in n.message for n in read.notes)


@pytest.mark.parametrize(
    ("spec", "words"),
    [("flow", "QUANTITY=UNIT"), ("speed=kmh", "unknown quantity 'speed'"), ("flow=gal", "unknown flow unit")],
)
def test_bad_units_spec(spec: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        parse_units_spec(spec)


def test_pressure_in_kpa_without_a_unit_outside_the_americas(tmp_path: Path) -> None:
    lines = ["编号,经度,纬度,静压", "A,121.5002,31.2801,280", "B,121.5021,31.2799,350",
             "C,121.504,31.28,0.3MPa"]
    read = read_agency_table(_write(tmp_path, lines), layer="hydrants")
    # median of the bare values (280, 350) = 315 -> kPa 0.315 MPa; the cell with its unit stays
    assert read.points["pressure_mpa"].to_numpy() == pytest.approx([0.28, 0.35, 0.3])
    assert any("read as kPa" in n.message for n in read.notes)


def test_plausible_values_give_no_warning(tmp_path: Path) -> None:
    lines = ["编号,经度,纬度,压力,流量", "A,121.5002,31.2801,0.35,15", "B,121.5021,31.2799,0.3,10"]
    read = read_agency_table(_write(tmp_path, lines), layer="hydrants")
    assert read.notes == [] and list(read.points["flow_lps"]) == [15, 10]


# --- 4. coded statuses ---------------------------------------------------------------------------


def test_status_codes_without_a_table_keep_the_rows_as_unknown() -> None:
    cols = {"id": "栓号牌", "status": "现状"}
    read = read_agency_table(SURVEY, layer="hydrants", source_crs="EPSG:4549", columns=cols)
    assert len(read.points) == 8 and set(read.points["status"]) == {"unknown"}
    note = next(n for n in read.notes if n.column == "现状")
    assert note.count == 8 and "'1' (5)" in note.message and "--hydrant-codes" in note.message


def test_status_code_table_maps_codes() -> None:
    codes = read_status_codes(CODES)
    assert codes == {"1": "in_service", "2": "low_pressure", "3": "out_of_service"}
    cols = {"id": "栓号牌", "status": "现状"}
    read = read_agency_table(
        SURVEY, layer="hydrants", source_crs="EPSG:4549", columns=cols, status_codes=codes
    )
    by_row = dict(zip(read.points["source_row"], read.points["status"], strict=True))
    assert by_row == {1: "in_service", 2: "in_service", 3: "low_pressure", 4: "in_service",
                      5: "out_of_service", 6: "in_service", 7: "unknown", 8: "in_service"}
    note = next(n for n in read.notes if n.column == "现状")
    assert note.count == 1 and "'9' (1)" in note.message


def test_bad_status_code_table(tmp_path: Path) -> None:
    path = _write(tmp_path, ["code,status", "1,in_service", "2,maybe"], name="codes.csv")
    with pytest.raises(InputFileError, match=r"codes\.csv: line 3 .*'2,maybe'"):
        read_status_codes(path)


# --- 5. placeholder ids --------------------------------------------------------------------------


def test_placeholder_ids_are_kept_with_generated_ids(tmp_path: Path) -> None:
    lines = [
        "编号,经度,纬度",
        "0-0,121.5000,31.2800",
        "0-0,121.5010,31.2800",
        "-,121.5020,31.2800",
        "N/A,121.5030,31.2800",
        ",121.5040,31.2800",
        "无,121.5050,31.2800",
        "T1,121.5000,31.2810",  # one id at three places: a template, not an id
        "T1,121.5010,31.2810",
        "T1,121.5020,31.2810",
        "R1,121.5000,31.2820",  # one id at two places: the later row gets a generated id
        "R1,121.5030,31.2820",
        "D1,121.5000,31.2830",  # a true duplicate: same id, 1.1 m away -> rejected
        "D1,121.50001,31.2830",
    ]
    read = read_agency_table(_write(tmp_path, lines, name="list.csv"), layer="hydrants")
    ids = list(read.points["hydrant_id"])
    assert len(ids) == 12 and len(set(ids)) == 12  # 13 rows, one true duplicate
    assert ids[:6] == [f"list/row{i}" for i in range(1, 7)]
    assert ids[6:9] == ["list/row7", "list/row8", "list/row9"]
    assert ids[9:] == ["R1", "list/row11", "D1"]
    (dup,) = read.rejects
    assert dup.row == 13 and "same place as row 12" in dup.reason
    placeholder = next(n for n in read.notes if "without a usable id" in n.message)
    assert placeholder.count == 9 and "'0-0' (2)" in placeholder.message
    reused = next(n for n in read.notes if "an id already given" in n.message)
    assert reused.count == 1 and "'R1'" in reused.message


# --- 6. merged header cells ----------------------------------------------------------------------


def test_excel_with_title_row_and_merged_header_cells(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["某区消火栓台账（2024年）"])
    ws.merge_cells("A1:E1")
    ws.append(["编号", "位置", "坐标", None, "状态"])
    ws.append([None, None, "经度", "纬度", None])
    for cell in ("A2:A3", "B2:B3", "C2:D2", "E2:E3"):
        ws.merge_cells(cell)
    ws.append(["XH-01", "中山路口", 121.5002, 31.2801, "在用"])
    ws.append(["XH-02", "西门", 121.5021, 31.2799, "停用"])
    path = tmp_path / "merged.xlsx"
    book.save(path)
    read = read_agency_table(path, layer="hydrants")
    assert read.rejects == []
    assert list(read.points["hydrant_id"]) == ["XH-01", "XH-02"]
    assert list(read.points["name"]) == ["中山路口", "西门"]
    assert list(read.points["status"]) == ["in_service", "out_of_service"]
    assert read.points.geometry.y.to_numpy() == pytest.approx([31.2801, 31.2799])


# --- 7. a file for another place -----------------------------------------------------------------


def test_file_with_no_row_in_the_study_area_stops_and_says_where_it_is(tmp_path: Path) -> None:
    lines = ["编号,经度,纬度", "A,118.7801,32.0402", "B,118.7823,32.0420"]
    with pytest.raises(InputFileError) as info:
        read_agency_table(_write(tmp_path, lines), layer="hydrants", study_area=SHANGHAI)
    message = str(info.value)
    assert "none of its 2 usable rows lies in the study area" in message
    assert "longitude 118.7801 to 118.7823, latitude 32.0402 to 32.0420" in message
    assert "longitude 121.4900 to 121.5200, latitude 31.2700 to 31.2900" in message


# --- 8. notes reach the layers -------------------------------------------------------------------


def test_build_layers_collects_the_notes() -> None:
    options = LayerOptions(
        hydrants_file=SURVEY, hydrant_crs="EPSG:4549", hydrant_codes=CODES,
        hydrant_columns={"id": "栓号牌", "status": "现状"},
    )
    layers = build_layers(read_osm(FIXTURES / "tiny_compound.osm"), options=options)
    agency = layers.hydrants.loc[layers.hydrants["source"] == "agency"]
    assert len(agency) == 8
    notes = [n.as_dict() for n in layers.notes]
    assert {n["input"] for n in notes} == {str(SURVEY)}
    assert all(set(n) == {"input", "level", "message", "count", "column"} for n in notes)
    messages = " | ".join(str(n["message"]) for n in notes)
    assert "read swapped" in messages and "read as kPa" in messages and "without a usable id" in messages

"""The firereach CLI, run as a user would: real files in, GeoPackage/CSV/JSON out, read back."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from api.cli import app
from api.pipeline import LayersRequest, run_analyze, run_layers
from api.settings import Settings
from geo.errors import ConfigError
from routing.analysis import AnalysisOptions
from tests.conftest import FIXTURES, shared_file

runner = CliRunner()
LAYER_KEYS = ["roads.edges", "roads.km", "hydrants.total", "hydrants.in_service", "buildings.total",
              "buildings.high_rise", "buildings.high_rise_class1", "stations.total", "barriers.total",
              "rejects.total"]
ANALYSIS_KEYS = ["coverage.radius_m", "coverage.road_km", "coverage.covered_km",
                 "coverage.uncovered_km", "coverage.covered_pct", "buildings.without_hydrant_in_range",
                 "buildings.flow_deficit", "stations.limit_s", "stations.roads_within_limit_pct",
                 "stations.buildings_within_limit_pct", "blockages.total", "blockages.snapped",
                 "blockages.rejected", "blockages.high_rises_cut_off", "lanes.critical",
                 "high_rises.noncompliant_access", "siting.proposed", "siting.cost_cny",
                 "siting.added_covered_km", "districts.total"]


def _get(summary: dict, dotted: str) -> object:
    value: object = summary
    for part in dotted.split("."):
        assert isinstance(value, dict) and part in value, f"summary.json lacks {dotted}"
        value = value[part]
    return value


def test_layers_on_tiny_fixture(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    result = runner.invoke(app, ["layers", "--osm", str(FIXTURES / "tiny_compound.osm"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in LAYER_KEYS:
        _get(summary, key)
    assert summary["roads"]["edges"] == 9
    assert summary["barriers"]["total"] == 2
    assert summary["hydrants"]["total"] == 2 and summary["hydrants"]["in_service"] == 1
    assert summary["buildings"]["high_rise_class1"] == 1  # 80 m apartments
    assert summary["source"]["crs"] == "EPSG:32651"
    assert summary["quality"]["hydrants"]["held"]["total"] == 2  # layers-only runs say it too
    layers = dict(pyogrio.list_layers(out / "layers.gpkg"))
    assert {"roads", "barriers", "hydrants", "buildings", "stations", "water_sources"} <= set(layers)
    roads = pyogrio.read_dataframe(out / "layers.gpkg", layer="roads")
    assert len(roads) == 9 and "消防通道" in set(roads["name"])


def test_layers_with_agency_file_and_given_crs(tmp_path: Path) -> None:
    # a survey file in EPSG:4549 metres with northing in X, ids and statuses the CLI maps
    out = tmp_path / "sh"
    result = runner.invoke(app, [
        "layers", "--osm", str(FIXTURES / "tiny_compound.osm"),
        "--hydrants", str(FIXTURES / "hydrants_shanghai_survey.csv"), "--hydrant-crs", "EPSG:4549",
        "--hydrant-columns", "id=栓号牌,status=现状", "--hydrant-codes", str(FIXTURES / "hydrant_codes.csv"),
        "--crs", "EPSG:4549", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["source"]["crs"] == "EPSG:4549"
    assert summary["hydrants"]["from_agency"] == 8 and summary["rejects"]["total"] == 0  # none lost
    hydrants = pyogrio.read_dataframe(out / "layers.gpkg", layer="hydrants")
    agency = hydrants.loc[hydrants["source"] == "agency"]
    # codes 1 -> in_service (5 rows), 2 -> low_pressure, 3 -> out_of_service, 9 unmapped -> unknown
    assert agency["status"].value_counts().to_dict() == {
        "in_service": 5, "low_pressure": 1, "out_of_service": 1, "unknown": 1
    }
    assert set(agency["hydrant_id"]) >= {"SH-001", "hydrants_shanghai_survey/row3"}
    said = " ".join(result.output.split())
    assert "read swapped" in said and "read as kPa" in said and "without a usable id" in said


def test_metres_without_crs_stop_with_the_epsg_to_use(tmp_path: Path) -> None:
    result = runner.invoke(app, [
        "layers", "--osm", str(FIXTURES / "tiny_compound.osm"),
        "--hydrants", str(FIXTURES / "hydrants_shanghai_survey.csv"), "--out", str(tmp_path / "x"),
    ])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "projected metres" in said and "--hydrant-crs EPSG:4549" in said
    assert "8 of 8 rows fall inside the study area" in said


def test_agency_file_for_another_city_stops(tmp_path: Path) -> None:
    # Nanjing hydrants with a Shanghai extract: no row in the area -> exit 2, both boxes named
    result = runner.invoke(app, [
        "layers", "--osm", str(FIXTURES / "tiny_compound.osm"),
        "--hydrants", str(FIXTURES / "hydrants_nanjing_gcj02.csv"), "--hydrant-crs", "gcj02",
        "--out", str(tmp_path / "x"),
    ])
    said = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "none of its 11 usable rows lies in the study area" in said
    assert "longitude 118.7" in said and "longitude 121.4" in said


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--hydrant-columns", "id编号"], "--hydrant-columns 'id编号': item 'id编号' is not FIELD=HEADER"),
        (["--hydrant-columns", "height=高度"], "names the field 'height'"),
        (["--hydrant-columns", "x=东坐标,y=Y"], "maps 'lon' to column '东坐标'"),
        (["--units", "flow=furlongs"], "unknown flow unit 'furlongs'"),
        (["--station-columns", "id=站号"], "--station-columns was given without --stations FILE"),
    ],
)
def test_bad_column_or_unit_spec_is_one_line_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    result = runner.invoke(app, [
        "layers", "--osm", str(FIXTURES / "tiny_compound.osm"),
        "--hydrants", str(FIXTURES / "hydrants_shanghai_survey.csv"), "--hydrant-crs", "EPSG:4549",
        *args, "--out", str(tmp_path / "x"),
    ])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert words in said


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--osm", "nope.osm"], "not found"),
        (["--hydrants", "missing.csv"], "missing.csv"),
        (["--crs", "EPSG:4326"], "metres"),
    ],
)
def test_bad_input_exit_code_2_no_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    base = ["layers", "--out", str(tmp_path / "o")]
    if "--osm" not in args:
        base += ["--osm", str(FIXTURES / "tiny_compound.osm")]
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", *base, *args], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert message in proc.stderr.replace("\n", "")


@pytest.mark.parametrize("command", [["layers", "--osm", "missing.osm"], ["analyze", "--osm", "missing.osm"],
                                     ["demo"]])
def test_out_checked_before_any_work(tmp_path: Path, command: list[str]) -> None:
    """A file where a folder is needed, or a parent that is a file or cannot be created: exit 2
    with one line on stderr, before any reading (the missing OSM file is never reached)."""
    blocker = tmp_path / "plain"
    blocker.write_text("x", encoding="utf-8")
    cases = [(blocker, "this is a file, and a folder is needed"),
             (blocker / "out", "is a file, so the folder")]
    if Path("/proc/self").is_dir():  # a parent that cannot be created, even by root
        cases.append((Path("/proc/firereach-test/out"), "cannot write in"))
    for out, message in cases:
        result = runner.invoke(app, [*command, "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert message in result.stderr and f"--out {out}" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
    assert blocker.read_text(encoding="utf-8") == "x"


def test_analyze_writes_every_key(tmp_path: Path, helsinki_pbf: Path) -> None:
    out = tmp_path / "a"
    result = runner.invoke(app, [
        "analyze", "--osm", str(helsinki_pbf), "--blockages", str(FIXTURES / "blockages_helsinki.csv"),
        "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    # the answer on stdout; each step, its seconds and where the time went on stderr
    assert "analysis written to" in result.stdout and "time:" not in result.stdout
    assert "analysis written to" not in result.stderr
    for step in ("reading:", "analysis: street graph:", "analysis: hydrant coverage:",
                 "analysis: building water:", "analysis: siting:", "writing:"):
        assert step in result.stderr, step
    # a step's line carries the counts it last showed (the live bar shows them as they grow)
    assert re.search(r"analysis: hydrant coverage: \d+\.\d s \(\d[\d,]* hydrants\)", result.stderr)
    assert re.search(r"writing: \d+\.\d s \(2 of 2 writers done: (layers\.gpkg|reports), "
                     r"(layers\.gpkg|reports)\)", result.stderr), result.stderr
    timing = [line for line in result.stderr.splitlines() if line.startswith("time: ")]
    assert len(timing) == 1
    # the writers ran at once: their own seconds (those over a second) in brackets after "writing"
    assert re.fullmatch(r"time: reading \d+\.\d s · analysis \d+\.\d s( \(.*\))? · writing "
                        r"\d+\.\d s( \((layers\.gpkg|reports) \d+\.\d s"
                        r"(, (layers\.gpkg|reports) \d+\.\d s)?\))?"
                        r" · total \d+\.\d s", timing[0]), timing[0]
    for name in ("layers.gpkg", "summary.json", "findings.csv", "rejects.csv", "report.xlsx",
                 "report.pdf", "districts.gpkg", "map.html"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in LAYER_KEYS + ANALYSIS_KEYS:
        _get(summary, key)
    cov = summary["coverage"]
    assert cov["covered_km"] + cov["uncovered_km"] == pytest.approx(cov["road_km"], abs=2e-3)
    pieces = pyogrio.read_dataframe(out / "layers.gpkg", layer="coverage_pieces")
    covered_km = pieces.loc[pieces["covered"] == 1, "length_m"].sum() / 1000
    assert covered_km == pytest.approx(cov["covered_km"], abs=2e-3)
    findings = pyogrio.read_dataframe(out / "layers.gpkg", layer="findings")
    assert {"rule_id", "clause", "severity", "confidence"} <= set(findings.columns)
    assert set(findings["severity"]) <= {"shall", "should"}
    # the US preset uses ISO's 1,000 ft hose-lay radius
    out_us = tmp_path / "us"
    args = ["analyze", "--osm", str(helsinki_pbf), "--preset", "us", "--no-reports", "--no-siting",
            "--out", str(out_us)]
    assert runner.invoke(app, args).exit_code == 0
    us = json.loads((out_us / "summary.json").read_text(encoding="utf-8"))
    assert us["coverage"]["radius_m"] == pytest.approx(304.8)
    assert us["coverage"]["covered_pct"] > cov["covered_pct"]


@pytest.mark.shared
def test_nanjing_with_gcj02_hydrants(tmp_path: Path) -> None:
    out = tmp_path / "nj"
    result = runner.invoke(app, [
        "analyze", "--osm", str(shared_file("osm/nanjing-xinjiekou.osm")),
        "--hydrants", str(FIXTURES / "hydrants_nanjing_gcj02.csv"), "--hydrant-crs", "gcj02",
        "--crs", "EPSG:4548", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["hydrants"]["total"] == 11 and summary["rejects"]["total"] >= 1
    assert summary["buildings"]["high_rise"] >= 40
    assert 0 < summary["coverage"]["covered_pct"] < 100
    buildings = pyogrio.read_dataframe(out / "layers.gpkg", layer="buildings")
    tallest = buildings.sort_values("height_m", ascending=False).iloc[0]
    assert tallest["height_m"] >= 200 and tallest["high_rise_class"] == "class1"


def test_reports_agree_with_summary(tmp_path: Path, helsinki_pbf: Path) -> None:
    out = tmp_path / "r"
    args = ["analyze", "--osm", str(helsinki_pbf), "--new-hydrants", "5", "--lang", "en",
            "--blockages", str(FIXTURES / "blockages_helsinki.csv"), "--out", str(out)]
    assert runner.invoke(app, args).exit_code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["siting"]["proposed"] == 5
    proposed = pyogrio.read_dataframe(out / "layers.gpkg", layer="proposed_hydrants")
    assert len(proposed) == 5
    assert proposed["cost_cny"].sum() == pytest.approx(summary["siting"]["cost_cny"])
    sheets = pd.read_excel(out / "report.xlsx", sheet_name=None)
    assert len(sheets) >= 6
    ranked = pyogrio.read_dataframe(out / "layers.gpkg", layer="blockages_ranked")
    assert len(ranked) == summary["blockages"]["total"] == 13
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "<script src=\"http" not in html and "leaflet" in html.lower()


def test_create_key_is_stored_hashed(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "create-key", "--workspace", str(tmp_path),
         "--role", "inspector", "--name", "网格员 3"], capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    key = proc.stdout.strip().splitlines()[-1]
    assert len(key) > 30
    db = b"".join(p.read_bytes() for p in tmp_path.glob("firereach.db*"))
    assert key.encode() not in db
    bad = subprocess.run(
        [sys.executable, "-m", "api.cli", "create-key", "--workspace", str(tmp_path),
         "--role", "boss", "--name", "x"], capture_output=True, text=True, check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_analyze_without_hydrants_or_stations_says_not_computed(tmp_path: Path) -> None:
    # OSM as it usually is in China: streets and buildings, no hydrant, no station
    out = tmp_path / "none"
    result = runner.invoke(app, [
        "analyze", "--osm", str(FIXTURES / "tiny_no_hydrants.osm"), "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps long lines
    assert "street coverage not computed" in text and "station response not computed" in text
    assert "0.0%" not in text and "0% of" not in text
    assert "数据说明 / Data quality" in text
    assert "研究区域内没有任何消火栓数据" in text  # the loud warning, in the report language
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["coverage"]["covered_pct"] is None
    assert summary["stations"]["roads_within_limit_pct"] is None
    assert summary["quality"]["hydrants"]["level"] == "missing"
    assert [w["code"] for w in summary["quality"]["warnings"]][:1] == ["no_hydrants"]
    first = PdfReader(out / "report.pdf").pages[0].extract_text() or ""
    assert "数据警示" in first and "研究区域内没有任何消火栓数据" in first


def test_jobs_check_out_before_reading(tmp_path: Path) -> None:
    """run_analyze and run_layers stop on a bad ``out`` before they look at the (missing) OSM file."""
    plain = tmp_path / "plain"
    plain.write_text("x", encoding="utf-8")
    request = LayersRequest(osm=tmp_path / "missing.osm")
    settings = Settings(_env_file=None)
    with pytest.raises(ConfigError, match="a folder is needed"):
        run_layers(request, out=plain, settings=settings)
    with pytest.raises(ConfigError, match="a folder is needed"):
        run_analyze(request, out=plain, settings=settings, options=AnalysisOptions())

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
    layers = dict(pyogrio.list_layers(out / "layers.gpkg"))
    assert {"roads", "barriers", "hydrants", "buildings", "stations", "water_sources"} <= set(layers)
    roads = pyogrio.read_dataframe(out / "layers.gpkg", layer="roads")
    assert len(roads) == 9 and "消防通道" in set(roads["name"])


def test_layers_with_agency_file_and_given_crs(tmp_path: Path) -> None:
    out = tmp_path / "hel"
    result = runner.invoke(app, [
        "layers", "--osm", str(FIXTURES / "tiny_compound.osm"),
        "--hydrants", str(FIXTURES / "hydrants_nanjing_gcj02.csv"), "--hydrant-crs", "gcj02",
        "--crs", "EPSG:4549", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["source"]["crs"] == "EPSG:4549"
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig")
    # Nanjing hydrants are far outside a Shanghai extract: every row is rejected with a reason
    agency = rejects.loc[rejects["layer"] == "hydrants"]
    assert len(agency) == 12 and agency["reason"].str.len().min() > 10
    assert set(agency["file"]) == {str(FIXTURES / "hydrants_nanjing_gcj02.csv")}


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
                 "analysis: building water:", "analysis: siting:", "GeoPackage:", "reports:"):
        assert step in result.stderr, step
    timing = [line for line in result.stderr.splitlines() if line.startswith("time: ")]
    assert len(timing) == 1
    assert re.fullmatch(r"time: reading \d+\.\d s · analysis \d+\.\d s( \(.*\))? · GeoPackage "
                        r"\d+\.\d s · reports \d+\.\d s · total \d+\.\d s", timing[0]), timing[0]
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
    assert summary["hydrants"]["total"] == 10 and summary["rejects"]["total"] >= 2
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

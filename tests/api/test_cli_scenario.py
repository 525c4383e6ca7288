"""``firereach scenario`` and ``firereach site``: on the hand-drawn workspace of
tests/routing/test_scenario.py (answers on paper) and on the Helsinki workspace, where the CLI
must give the same answer as the API for the same request."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyogrio
import pyproj
import pytest
import shapely
from typer.testing import CliRunner

from api.app import create_app
from api.auth import create_key
from api.cli import app
from api.pipeline import write_layer_outputs
from api.settings import Settings
from api.store import Actor, HydrantObservation, add_hydrant_event, open_store, utc_now
from api.workspace import Workspace
from tests.api.server import asgi_client
from tests.routing._graphs import CRS, xy
from tests.routing.test_scenario import lonlat, tiny_layers

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def _fails(args: list[str]) -> str:
    """The CLI must end with exit code 2 and one message (no exception escapes)."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.output.replace("\n", "")


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-drawn workspace written as ``firereach analyze`` would (layers.gpkg)."""
    out = tmp_path_factory.mktemp("tiny_ws")
    write_layer_outputs(tiny_layers(), out=out)
    return out


# --- scenario on the hand-drawn workspace ----------------------------------------------------------


def test_scenario_hydrant_alone_covering_a_street(tiny_ws: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    printed = _ok(["scenario", str(tiny_ws), "--out-of-service", "H2", "--out", str(out)])
    doc = json.loads(out.read_text(encoding="utf-8"))
    cov = doc["coverage"]
    # H2 alone covers East St: 300 m less covered street, as worked out on paper
    assert (cov["covered_km_before"], cov["covered_km_after"], cov["change_km"]) == (0.55, 0.25, -0.3)
    assert [e["name"] for e in cov["edges"]] == ["East St"]
    assert doc["water"]["buildings_losing_water"] == 1
    assert doc["water"]["buildings"][0]["building_id"] == "osm/w2"
    assert "0.550 → 0.250 km" in printed and "-0.300 km" in printed


def test_scenario_ids_from_a_file(tiny_ws: Path, tmp_path: Path) -> None:
    listed = tmp_path / "ids.txt"
    listed.write_text("H2\n\nH1\n", encoding="utf-8")
    table = tmp_path / "ids.csv"
    table.write_text("\ufeffhydrant_id,reason\nH1,frozen\nH2,repairs\n", encoding="utf-8")
    answers = []
    for path in (listed, table):
        out = tmp_path / f"{path.suffix[1:]}.json"
        _ok(["scenario", str(tiny_ws), "--out-of-service-file", str(path), "--out", str(out)])
        answers.append(json.loads(out.read_text(encoding="utf-8")))
    assert answers[0]["hydrants_out_of_service"] == ["H2", "H1"]
    assert answers[1]["hydrants_out_of_service"] == ["H1", "H2"]
    assert answers[0]["coverage"]["covered_km_after"] == answers[1]["coverage"]["covered_km_after"] == 0.0
    # --out-of-service and the file add up
    out = tmp_path / "both.json"
    _ok(["scenario", str(tiny_ws), "--out-of-service", "H1", "--out-of-service-file", str(listed),
         "--out", str(out)])
    assert json.loads(out.read_text(encoding="utf-8"))["hydrants_out_of_service"] == ["H1", "H2"]


def test_scenario_blockage_file_in_metres(tiny_ws: Path, tmp_path: Path) -> None:
    # a gate on East St, given in the working CRS with an agency's Chinese spelling of the kind
    x, y = xy(400, 0)
    reports = tmp_path / "blocked.csv"
    reports.write_text(f"编号,x,y,类型\nG1,{x!r},{y!r},门\n", encoding="utf-8")
    out = tmp_path / "b.json"
    _ok(["scenario", str(tiny_ws), "--blockages", str(reports), "--blockage-crs", CRS, "--out", str(out)])
    doc = json.loads(out.read_text(encoding="utf-8"))
    gate = doc["blockages"][0]
    assert gate["blockage_id"] == "G1" and gate["kind"] == "gate" and gate["road_name"] == "East St"
    lon, lat = lonlat(400, 0)
    assert (gate["lon"], gate["lat"]) == pytest.approx((lon, lat), abs=1e-7)
    # round the loop: 60 + 935 m × 0.18 s/m = 228.3 s instead of 143.7 s
    assert doc["response"]["buildings"] == [{
        "building_id": "osm/w2", "high_rise_class": "not_high_rise", "response_s_before": 143.7,
        "response_s_after": 228.3, "cut_off": False, "delay_s": 84.6,
    }]


def test_scenario_blockage_file_with_named_columns(tiny_ws: Path, tmp_path: Path) -> None:
    # the same gate under headers FireReach does not know, named with --blockage-columns
    x, y = xy(400, 0)
    reports = tmp_path / "巡查.csv"
    reports.write_text(f"单号,东,北,障碍\nG1,{x!r},{y!r},门\n", encoding="utf-8")
    out = tmp_path / "b.json"
    _ok(["scenario", str(tiny_ws), "--blockages", str(reports), "--blockage-crs", CRS,
         "--blockage-columns", "id=单号,x=东,y=北,kind=障碍", "--out", str(out)])
    gate = json.loads(out.read_text(encoding="utf-8"))["blockages"][0]
    assert gate["blockage_id"] == "G1" and gate["kind"] == "gate" and gate["road_name"] == "East St"
    assert "names the field 'floor'" in _fails(
        ["scenario", str(tiny_ws), "--blockages", str(reports), "--blockage-crs", CRS,
         "--blockage-columns", "id=单号,x=东,y=北,floor=障碍"]
    )


def test_unknown_hydrants_exit_2_no_traceback(tiny_ws: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "scenario", str(tiny_ws), "--out-of-service", "H1",
         "--out-of-service", "X-9", "--out-of-service", "X-10"],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "2 hydrant id(s) not in the workspace: X-9, X-10" in proc.stderr.replace("\n", "")


def test_scenario_bad_input(tiny_ws: Path, tmp_path: Path) -> None:
    assert "not found" in _fails(["scenario", str(tmp_path / "nowhere")])
    assert "ids.txt" in _fails(["scenario", str(tiny_ws), "--out-of-service-file", str(tmp_path / "ids.txt")])
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\nH1,x\n", encoding="utf-8")
    assert "no hydrant_id column" in _fails(["scenario", str(tiny_ws), "--out-of-service-file", str(bad)])
    assert "missing.csv" in _fails(["scenario", str(tiny_ws), "--blockages", str(tmp_path / "missing.csv")])


@pytest.mark.anyio
async def test_stored_inspections_count_as_in_the_api(tiny_ws: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(tiny_ws, folder)
    assert not (folder / "firereach.db").exists()  # scenario and site never create a store
    store = open_store(folder)
    try:
        with store.write() as conn:
            add_hydrant_event(conn, "H2", HydrantObservation(status="out_of_service", inspector="test",
                                                             observed_at=utc_now()),
                              actor=Actor("test"), now=utc_now())
    finally:
        store.close()
    out = tmp_path / "s.json"
    _ok(["scenario", str(folder), "--out-of-service", "H1", "--out", str(out)])
    cli = json.loads(out.read_text(encoding="utf-8"))
    # H2 was inspected out of service: only H1's 250 m are covered, and taking H1 out loses them
    cov = cli["coverage"]
    assert (cov["covered_km_before"], cov["covered_km_after"], cov["change_km"]) == (0.25, 0.0, -0.25)
    served = create_app(Settings(workspace=folder, _env_file=None))
    async with asgi_client(served) as c:
        key = create_key(served.state.store, "planner", "cli agreement tests")
        r = await c.post("/analysis/scenario", json={"hydrants_out_of_service": ["H1"]},
                         headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    assert r.json() == cli


# --- site on the hand-drawn workspace --------------------------------------------------------------


def test_site_writes_geopackage_geojson_json(tiny_ws: Path, tmp_path: Path) -> None:
    loop = shapely.MultiLineString([[xy(300, 0), xy(300, 100), xy(600, 100), xy(600, 0)]])
    gpkg, geojson, doc_path = tmp_path / "s.gpkg", tmp_path / "s.geojson", tmp_path / "s.json"
    for out in (gpkg, geojson, doc_path):
        printed = _ok(["site", str(tiny_ws), "--k", "2", "--out", str(out)])
        assert "2 new hydrant(s)" in printed
    sites = pyogrio.read_dataframe(gpkg)
    assert len(sites) == 2 and sites.crs == pyproj.CRS(CRS)
    assert (sites.distance(loop) <= sites["offset_m"] + 0.01).all()  # by the loop nothing covers
    wgs84 = pyogrio.read_dataframe(geojson)
    assert wgs84.crs == pyproj.CRS("EPSG:4326")
    np.testing.assert_allclose(shapely.get_coordinates(wgs84.to_crs(CRS).geometry.array),
                               shapely.get_coordinates(sites.geometry.array), atol=1e-3)
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    assert doc["n_hydrants"] == 2 and [s["candidate_id"] for s in doc["sites"]] == list(sites["candidate_id"])
    assert doc["covered_km_after"] == pytest.approx(0.55 + doc["covered_km_added"], abs=1e-3)
    out = tmp_path / "budget.json"
    _ok(["site", str(tiny_ws), "--budget", "20000", "--method", "greedy", "--out", str(out)])
    cheap = json.loads(out.read_text(encoding="utf-8"))
    assert cheap["n_hydrants"] == 1 and cheap["method"] == "greedy" and cheap["cost_cny"] == 15_000


def test_site_bad_input(tiny_ws: Path, tmp_path: Path) -> None:
    assert "give --k N" in _fails(["site", str(tiny_ws)])
    assert "auto, mip or greedy" in _fails(["site", str(tiny_ws), "--k", "1", "--method", "best"])
    assert ".gpkg, .geojson or .json" in _fails(["site", str(tiny_ws), "--k", "1", "--out",
                                                 str(tmp_path / "s.shp")])
    _fails(["site", str(tiny_ws), "--k", "0"])


def test_answers_on_stdout_logs_on_stderr(tiny_ws: Path) -> None:
    """``firereach scenario ... > answer.txt`` keeps the answer: it is on stdout, while the steps
    and their timing line are on stderr."""
    result = runner.invoke(app, ["scenario", str(tiny_ws), "--out-of-service", "H2"])
    assert result.exit_code == 0, result.output
    assert "0.550 → 0.250 km" in result.stdout and "scenario" in result.stdout
    assert "0.550" not in result.stderr
    assert "time: reading" in result.stderr and "analysis: hydrant coverage" in result.stderr
    assert "time:" not in result.stdout and "reading" not in result.stdout
    result = runner.invoke(app, ["site", str(tiny_ws), "--k", "2"])
    assert result.exit_code == 0, result.output
    assert "2 new hydrant(s)" in result.stdout and "2 new hydrant(s)" not in result.stderr
    assert "siting: choosing sites" in result.stderr and "time: " in result.stderr
    assert "time:" not in result.stdout


@pytest.mark.parametrize("command", [["scenario", "--out-of-service", "H2"], ["site", "--k", "1"]])
def test_out_file_checked_before_any_work(tiny_ws: Path, tmp_path: Path, command: list[str]) -> None:
    """A folder where a file is needed, or a parent that is a file: exit 2 with one line, before
    the workspace is even read (a missing workspace would otherwise be the error)."""
    folder = tmp_path / "answer.json"
    folder.mkdir()
    blocker = tmp_path / "plain"
    blocker.write_text("x", encoding="utf-8")
    missing = tmp_path / "no-such-workspace"
    for out, message in ((folder, "this is a folder, and a file is needed"),
                         (blocker / "answer.json", "is a file, so the folder")):
        result = runner.invoke(app, [command[0], str(missing), *command[1:], "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert message in result.stderr and str(out) in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
        assert "reading" not in result.stderr


# --- the CLI and the API agree on the Helsinki workspace -------------------------------------------


@pytest.fixture(scope="module")
async def client(ws: Workspace, helsinki_workspace: Path) -> AsyncIterator[httpx.AsyncClient]:
    api = create_app(Settings(workspace=helsinki_workspace, _env_file=None), workspace=ws)
    async with asgi_client(api) as c:
        c.headers["X-API-Key"] = create_key(api.state.store, "planner", "cli agreement tests")
        yield c


def _on_edge(ws: Workspace, row: int) -> tuple[float, float]:
    p = shapely.line_interpolate_point(ws.analysis.graph.geometry[row], 0.5, normalized=True)
    lon, lat = pyproj.Transformer.from_crs(ws.layers.crs, 4326, always_xy=True).transform(p.x, p.y)
    return float(lon), float(lat)


@pytest.mark.anyio
async def test_cli_and_api_agree(
    client: httpx.AsyncClient, ws: Workspace, helsinki_workspace: Path, tmp_path: Path
) -> None:
    a = ws.analysis
    out_ids = a.layers["building_hydrants"]["hydrant_id"].value_counts().index[:3].tolist()
    b = a.layers["buildings_analysis"]
    busiest = b.loc[b["access_edge"] >= 0, "access_edge"].value_counts().index
    (lon1, lat1), (lon2, lat2) = _on_edge(ws, int(busiest[0])), _on_edge(ws, int(busiest[1]))
    blockages: list[dict[str, Any]] = [
        {"lon": lon1, "lat": lat1, "kind": "gate", "remaining_width_m": None},
        {"lon": lon2, "lat": lat2, "kind": "parked_vehicle", "remaining_width_m": 2.5},
        {"lon": lon1 + 0.2, "lat": lat1, "kind": "stall", "remaining_width_m": None},  # 11 km east
    ]
    body = {"hydrants_out_of_service": out_ids, "blockages": blockages, "max_rows": 200}
    r = await client.post("/analysis/scenario", json=body)
    assert r.status_code == 200, r.text
    served = r.json()

    reports = tmp_path / "blocked.csv"
    reports.write_text("id,lon,lat,type,remaining_width_m\n" + "".join(
        f"R{i},{x['lon']!r},{x['lat']!r},{x['kind']},{x['remaining_width_m'] or ''}\n"
        for i, x in enumerate(blockages)
    ), encoding="utf-8")
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(out_ids), encoding="utf-8")
    out = tmp_path / "scenario.json"
    _ok(["scenario", str(helsinki_workspace), "--out-of-service-file", str(ids), "--blockages",
         str(reports), "--max-rows", "200", "--out", str(out)])
    cli = json.loads(out.read_text(encoding="utf-8"))

    assert served["response"]["blocked_edges"] >= 1 and served["coverage"]["change_km"] < 0
    for key in ("hydrants_out_of_service", "coverage", "water", "response"):
        assert cli[key] == served[key], key
    assert [r["blockage_id"] for r in cli["blockages"]] == ["R0", "R1", "R2"]
    assert [r["effect"] for r in cli["blockages"]] == ["full", "full", "rejected"]
    for mine, theirs in zip(cli["blockages"], served["blockages"], strict=True):
        assert mine.pop("blockage_id")
        assert (mine.pop("lon"), mine.pop("lat")) == pytest.approx((theirs.pop("lon"), theirs.pop("lat")),
                                                                   abs=1e-7)
        assert mine == theirs

    r = await client.post("/analysis/siting", json={"k": 3})
    assert r.status_code == 200, r.text
    served_sites = r.json()
    out = tmp_path / "sites.json"
    _ok(["site", str(helsinki_workspace), "--k", "3", "--out", str(out)])
    cli_sites = json.loads(out.read_text(encoding="utf-8"))
    for doc in (served_sites, cli_sites):
        assert doc.pop("solve_s") >= 0  # wall time: the one figure that may differ
    assert cli_sites == served_sites and cli_sites["n_hydrants"] == 3

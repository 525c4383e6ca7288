"""Analysis and download endpoints through HTTP, against the Helsinki workspace.

Answers are recomputed independently where that is cheap (coverage with a smaller in-service
mask, counted hydrants per building, blockage impact), and the loaded workspace is checked to be
untouched after every what-if.
"""

from __future__ import annotations

import io
import json
import typing
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from pypdf import PdfReader

from api.app import create_app
from api.auth import create_key
from api.documents import building_document
from api.routers.analysis import BlockageKind
from api.settings import Settings
from api.workspace import Workspace
from reports.present import present_scenario
from routing.blockage_rules import BLOCKAGE_KINDS
from routing.coverage import hydrant_coverage
from routing.scenario import scenario_impact
from tests.api.server import asgi_client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def client(ws: Workspace, helsinki_workspace: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(workspace=helsinki_workspace, _env_file=None), workspace=ws)
    async with asgi_client(app) as c:
        planner = create_key(app.state.store, "planner", "analysis tests")
        c.headers["X-API-Key"] = planner
        c.app = app  # type: ignore[attr-defined]
        yield c


def _snapshot(ws: Workspace) -> dict[str, Any]:
    a = ws.analysis
    return {
        "summary": json.dumps(a.summary, sort_keys=True, default=str),
        "status": ws.layers.hydrants["status"].tolist(),
        "passable": a.truck.edge_passable.copy(),
        "covered": a.coverage.covered_m.copy(),
        "in_range": a.layers["buildings_analysis"]["hydrants_in_range"].tolist(),
        "collections": {k: id(v) for k, v in ws.collections.items()},
        "objects": (id(ws.layers), id(ws.analysis), id(a.truck), id(a.graph)),
    }


def _same(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return all(
        np.array_equal(v, after[k]) if isinstance(v, np.ndarray) else v == after[k] for k, v in before.items()
    )


# --- summary, districts, one building ---------------------------------------------------------------


async def test_summary_is_summary_json(client: httpx.AsyncClient, helsinki_workspace: Path) -> None:
    r = await client.get("/analysis/summary", headers={"X-API-Key": ""})
    assert r.status_code == 200  # public reads here: an empty key is no key, not a bad one
    r = await client.get("/analysis/summary")
    assert r.status_code == 200
    served = r.json()
    written = json.loads((helsinki_workspace / "summary.json").read_text(encoding="utf-8"))
    for section in ("roads", "hydrants", "buildings", "coverage", "stations", "findings"):
        for key, value in written[section].items():
            assert served[section][key] == pytest.approx(value), (section, key)
    # the response model passes every section and figure through (open sections keep new keys)
    assert set(served) == set(written)
    for section, values in written.items():
        if isinstance(values, dict):
            assert set(served[section]) == set(values), section
    # the data-quality section is served too, as analyze wrote it
    for name, entry in written["quality"].items():
        if name != "warnings":
            assert served["quality"][name]["level"] == entry["level"], name
            assert served["quality"][name]["assumed"] == entry["assumed"], name
    assert [w["code"] for w in served["quality"]["warnings"]] == [
        w["code"] for w in written["quality"]["warnings"]
    ]


async def test_districts_use_the_report_units(client: httpx.AsyncClient, ws: Workspace) -> None:
    doc = (await client.get("/analysis/districts")).json()
    assert doc["units"] == ["grid"] and "grid" in doc["note"]  # Helsinki demo: no districts layer
    rows = doc["districts"]
    assert doc["count"] == len(rows) > 1
    road_km = ws.analysis.summary["coverage"]["road_m"] / 1000
    assert sum(r["street_km"] for r in rows) == pytest.approx(road_km, abs=0.01)
    assert sum(r["uncovered_km"] for r in rows) == pytest.approx(
        ws.analysis.summary["coverage"]["uncovered_m"] / 1000, abs=0.01
    )
    assert {r["grade"] for r in rows} <= {"severe", "significant", "general"}
    assert all(r["bbox"] is None or len(r["bbox"]) == 4 for r in rows)


async def test_one_building(client: httpx.AsyncClient, ws: Workspace) -> None:
    pairs = ws.analysis.layers["building_hydrants"]
    bid = pairs["building_id"].value_counts().index[0]  # the building with the most hydrants
    r = await client.get(f"/analysis/buildings/{bid}")
    assert r.status_code == 200
    doc = r.json()
    row = ws.analysis.layers["buildings_analysis"].set_index("building_id").loc[bid]
    water = doc["water"]
    assert water["hydrants_in_range"] == int(row["hydrants_in_range"]) > 1
    mine = pairs.loc[pairs["building_id"] == bid]
    assert {h["hydrant_id"] for h in water["hydrants"]} == set(mine["hydrant_id"])
    assert sum(h["credited_lps"] for h in water["hydrants"]) == pytest.approx(water["credited_flow_lps"])
    distances = [h["distance_m"] for h in water["hydrants"]]
    assert distances == sorted(distances)
    access = doc["access"]
    assert access["response_s"] == pytest.approx(float(row["response_s"]), abs=0.05)
    assert access["first_due_station"] == row["first_due_station"]
    found = ws.analysis.findings
    assert len(doc["findings"]) == int(((found["feature_id"] == bid) & found["layer"].isin(
        ["buildings", "high_rise_access"])).sum())


async def test_building_with_findings_and_high_rise(client: httpx.AsyncClient, ws: Workspace) -> None:
    high = ws.analysis.layers["high_rise_access"]
    bid = high["building_id"].iloc[0]
    doc = (await client.get(f"/analysis/buildings/{bid}")).json()
    assert doc["high_rise_access"]["building_id"] == bid
    assert doc["findings"] and all(f["feature_id"] == bid for f in doc["findings"])
    rules = {f["rule_id"] for f in doc["findings"]}
    flags = set(doc["flags"])
    assert flags <= rules


async def test_unknown_building_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get("/analysis/buildings/osm/w0")
    assert r.status_code == 404 and "osm/w0" in r.json()["error"]


# --- scenario -------------------------------------------------------------------------------------


async def test_empty_scenario_changes_nothing(client: httpx.AsyncClient, ws: Workspace) -> None:
    doc = (await client.post("/analysis/scenario", json={})).json()
    assert doc["coverage"]["change_km"] == 0 and doc["coverage"]["edges_losing_coverage"] == 0
    assert doc["water"]["buildings_losing_water"] == 0 and doc["response"]["buildings_cut_off"] == 0


async def test_served_documents_are_the_documents(client: httpx.AsyncClient, ws: Workspace) -> None:
    """The response models check the answers and drop nothing: the served scenario and building
    are the documents the CLI writes."""
    out = ws.analysis.layers["building_hydrants"]["hydrant_id"].value_counts().index[:2].tolist()
    served = (await client.post("/analysis/scenario", json={"hydrants_out_of_service": out})).json()
    direct = present_scenario(scenario_impact(ws.layers, ws.analysis, preset=ws.preset, options=ws.options,
                                              out_of_service=out))
    assert served == direct
    bid = str(ws.analysis.layers["buildings_analysis"]["building_id"].iloc[0])
    assert (await client.get(f"/analysis/buildings/{bid}")).json() == building_document(ws.analysis, bid)
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert {"SummaryOut", "ScenarioOut", "SitingOut", "BuildingOut", "DistrictsOut"} <= set(schemas)
    covered = schemas["CoverageOut"]["properties"]["covered_pct"]  # null: not computed
    assert {"type": "null"} in covered["anyOf"]


async def test_hydrants_out_of_service(client: httpx.AsyncClient, ws: Workspace) -> None:
    before = _snapshot(ws)
    pairs = ws.analysis.layers["building_hydrants"]
    out = pairs["hydrant_id"].value_counts().index[:3].tolist()  # the busiest hydrants
    r = await client.post("/analysis/scenario", json={"hydrants_out_of_service": out, "max_rows": 1000})
    assert r.status_code == 200, r.text
    doc = r.json()
    # coverage, recomputed here with the smaller in-service mask
    hyd = ws.layers.hydrants
    mask = (hyd["status"] == "in_service").to_numpy() & ~hyd["hydrant_id"].isin(out).to_numpy()
    expected = hydrant_coverage(ws.analysis.graph, ws.analysis.hydrant_snaps, radius_m=150.0,
                                in_service=mask, hydrant_points=hyd.geometry)
    cov = doc["coverage"]
    assert cov["covered_km_after"] == pytest.approx(expected.total_covered_m / 1000, abs=1e-3)
    assert cov["covered_km_before"] == pytest.approx(ws.analysis.coverage.total_covered_m / 1000, abs=1e-3)
    assert cov["change_km"] < 0 and cov["hydrants_taken_out"] == 3
    lost = ws.analysis.coverage.covered_m - expected.covered_m
    assert cov["edges_losing_coverage"] == int((lost > 1e-6).sum()) == len(cov["edges"])
    # water: a building loses water when all its counted hydrants are among those taken out
    counted = pairs.groupby("building_id")["hydrant_id"].agg(set)
    losing = {b for b, hs in counted.items() if hs <= set(out)}
    assert doc["water"]["buildings_losing_water"] == len(losing) > 0
    listed = {b["building_id"] for b in doc["water"]["buildings"] if b["hydrants_after"] == 0}
    assert listed == losing
    assert _same(before, _snapshot(ws))  # nothing loaded was modified


def _on_edge(ws: Workspace, edge_id: int, share: float = 0.5) -> tuple[float, float]:
    """WGS84 lon/lat of the point ``share`` of the way along an edge."""
    graph = ws.analysis.graph
    line = graph.geometry[int(np.flatnonzero(graph.edge_id == edge_id)[0])]
    p = shapely.line_interpolate_point(line, share, normalized=True)
    lon, lat = pyproj.Transformer.from_crs(ws.layers.crs, 4326, always_xy=True).transform(p.x, p.y)
    return float(lon), float(lat)


async def test_blockage_cuts_off_buildings_consistently(client: httpx.AsyncClient, ws: Workspace) -> None:
    before = _snapshot(ws)
    b = ws.analysis.layers["buildings_analysis"]
    roads = ws.analysis.graph.roads
    # the access edge that serves the most buildings, blocked in its middle by a gate
    busiest = int(b.loc[b["access_edge"] >= 0, "access_edge"].value_counts().index[0])
    edge_id = int(roads["edge_id"].iloc[busiest])
    lon, lat = _on_edge(ws, edge_id)
    body = {"blockages": [{"lon": lon, "lat": lat, "kind": "gate"},
                          {"lon": lon, "lat": lat, "kind": "parked_vehicle", "remaining_width_m": 5.0},
                          {"lon": 0.0, "lat": 0.0, "kind": "stall"}],
            "max_rows": 1000}
    r = await client.post("/analysis/scenario", json=body)
    assert r.status_code == 200, r.text
    doc = r.json()
    gate, car, far = doc["blockages"]
    assert gate["edge_id"] == edge_id and gate["effect"] == "full" and gate["width_basis"] == "full_block"
    assert car["effect"] == "narrowed" and car["remaining_width_m"] == 5.0
    assert far["effect"] == "rejected" and "outside the served area" in far["reason"]
    resp = doc["response"]
    assert resp["blocked_edges"] == 1 and resp["reports_rejected"] == 1
    assert resp["buildings_cut_off"] == gate["buildings_cut_alone"]
    cut = [x for x in resp["buildings"] if x["cut_off"]]
    assert len(cut) == resp["buildings_cut_off"]
    assert all(x["response_s_after"] is None and x["response_s_before"] is not None for x in cut)
    delayed = [x for x in resp["buildings"] if not x["cut_off"]]
    assert all(x["response_s_after"] >= x["response_s_before"] for x in delayed)
    assert doc["coverage"]["change_km"] == 0  # hoses are laid on foot: a blocked lane takes no water
    assert _same(before, _snapshot(ws))


async def test_scenario_validation(client: httpx.AsyncClient) -> None:
    r = await client.post("/analysis/scenario", json={"hydrants_out_of_service": ["nope-1", "nope-2"]})
    assert r.status_code == 404 and "nope-1" in r.json()["error"] and "nope-2" in r.json()["error"]
    bad = [
        {"hydrants_out_of_service": ["x"] * 1001},
        {"blockages": [{"lon": 200, "lat": 0, "kind": "gate"}]},
        {"blockages": [{"lon": 0, "lat": -91, "kind": "gate"}]},
        {"blockages": [{"lon": 0, "lat": 0, "kind": "tank"}]},
        {"blockages": [{"lon": 0, "lat": 0}]},
        {"blockages": [{"lon": "0", "lat": 0, "kind": "gate"}]},
        {"blockages": [{"lon": 0, "lat": 0, "kind": "gate", "remaining_width_m": -1}]},
        {"blockages": [{"lon": 0, "lat": 0, "kind": "gate"}] * 501},
        {"max_rows": 1001},
        {"max_rows": True},
        {"colour": "red"},
        {"hydrants_out_of_service": [""]},
    ]
    for body in bad:
        r = await client.post("/analysis/scenario", json=body)
        assert r.status_code == 422, body
        assert r.json()["status"] == 422
    r = await client.post("/analysis/scenario", content=b"{not json",
                          headers={"Content-Type": "application/json"})
    assert r.status_code == 422


async def test_whatifs_need_a_planner_key(client: httpx.AsyncClient) -> None:
    app = client.app  # type: ignore[attr-defined]
    inspector = create_key(app.state.store, "inspector", "analysis tests inspector")
    for url, body in (("/analysis/scenario", {}), ("/analysis/siting", {"k": 1})):
        assert (await client.post(url, json=body, headers={"X-API-Key": inspector})).status_code == 403
        r = await client.post(url, json=body, headers={"X-API-Key": "frk_nope"})
        assert r.status_code == 401
    # reading needs no key (public_read is on by default)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anon:
        assert (await anon.get("/analysis/summary")).status_code == 200
        assert (await anon.post("/analysis/scenario", json={})).status_code == 401


def test_blockage_kinds_match_routing() -> None:
    assert set(typing.get_args(BlockageKind)) == set(BLOCKAGE_KINDS)


# --- siting ---------------------------------------------------------------------------------------


async def test_siting_with_k_and_budget(client: httpx.AsyncClient, ws: Workspace) -> None:
    before = _snapshot(ws)
    r = await client.post("/analysis/siting", json={"k": 3})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["n_hydrants"] == len(doc["sites"]) == 3 and doc["status"] == "optimal"
    assert doc["covered_km_after"] > doc["covered_km_before"]
    assert [s["order"] for s in doc["sites"]] == [1, 2, 3]
    lon0, lat0, lon1, lat1 = ws.collections["roads_analysis"].total_bounds
    for s in doc["sites"]:
        assert lon0 - 0.01 < s["lon"] < lon1 + 0.01 and lat0 - 0.01 < s["lat"] < lat1 + 0.01
    cheap = (await client.post("/analysis/siting", json={"budget_cny": 40_000, "method": "greedy"})).json()
    assert cheap["cost_cny"] <= 40_000 and cheap["n_hydrants"] == 2
    more = (await client.post("/analysis/siting", json={"k": 6})).json()
    assert more["covered_km_added"] >= doc["covered_km_added"]
    assert _same(before, _snapshot(ws))


async def test_siting_validation(client: httpx.AsyncClient) -> None:
    for body in ({}, {"k": 0}, {"k": 501}, {"budget_cny": 0}, {"k": 1, "method": "best"},
                 {"k": 1, "spacing_m": 1}, {"k": 1, "time_limit_s": 0}, {"k": 1.5}, {"k": True}):
        r = await client.post("/analysis/siting", json=body)
        assert r.status_code == 422, body
    assert (await client.post("/analysis/siting", json={"k": 2.0})).status_code == 200


# --- downloads ------------------------------------------------------------------------------------


async def test_layers_geopackage(client: httpx.AsyncClient, ws: Workspace, tmp_path: Path) -> None:
    r = await client.get("/downloads/layers.gpkg")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "layers.gpkg"
    path.write_bytes(r.content)
    names = {str(n) for n, _ in pyogrio.list_layers(path)}
    assert set(ws.collections) <= names and {"findings", "building_hydrants", "rejects"} <= names
    hyd = pyogrio.read_dataframe(path, layer="hydrants")
    assert len(hyd) == len(ws.layers.hydrants) and hyd.crs == ws.layers.crs


async def test_district_filter(client: httpx.AsyncClient, ws: Workspace, tmp_path: Path) -> None:
    districts = (await client.get("/analysis/districts")).json()["districts"]
    unit = max(districts, key=lambda d: d["street_km"])
    r = await client.get("/downloads/layers.gpkg", params={"district": unit["name"]})
    assert r.status_code == 200
    path = tmp_path / "d.gpkg"
    path.write_bytes(r.content)
    roads = pyogrio.read_dataframe(path, layer="roads_analysis")
    assert 0 < len(roads) < len(ws.layers.roads)
    square = shapely.box(*unit["bbox"])
    wgs = roads.to_crs(4326)
    assert wgs.intersects(square.buffer(1e-6)).all()
    csv = await client.get("/downloads/buildings_analysis.csv", params={"district": unit["name"]})
    table = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    assert 0 < len(table) < len(ws.layers.buildings)
    assert set(table["building_id"]) <= set(ws.collections["buildings_analysis"]["building_id"])
    findings = pd.read_csv(io.BytesIO((await client.get(
        "/downloads/findings.csv", params={"district": unit["name"]})).content), encoding="utf-8-sig")
    assert 0 < len(findings) < len(ws.analysis.findings)
    unknown = await client.get("/downloads/hydrants.csv", params={"district": "Atlantis"})
    assert unknown.status_code == 404 and unit["name"] in unknown.json()["error"]
    assert (await client.get("/downloads/rejects.csv", params={"district": unit["name"]})).status_code == 400


async def test_every_download_honours_district(client: httpx.AsyncClient, ws: Workspace) -> None:
    """report.pdf, report.xlsx, layers.gpkg and {layer}.csv: an unknown district is a 404 naming it
    and the valid ones; a known one gives that unit's own report, not the city's."""
    districts = (await client.get("/analysis/districts")).json()["districts"]
    unit = max(districts, key=lambda d: d["street_km"])
    for path in ("report.pdf", "report.xlsx", "layers.gpkg", "hydrants.csv", "findings.csv"):
        r = await client.get(f"/downloads/{path}", params={"district": "nope"})
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("application/json")
        error = r.json()["error"]
        assert "'nope'" in error and unit["name"] in error, path
    xlsx = await client.get("/downloads/report.xlsx", params={"district": unit["name"]})
    assert xlsx.status_code == 200 and f"report-{unit['name']}.xlsx" in xlsx.headers["content-disposition"]
    sheet = pd.read_excel(io.BytesIO(xlsx.content), sheet_name="分区汇总")
    assert sheet["名称"].tolist()[:-1] == [unit["name"]]  # the unit, then the total row
    overview = pd.read_excel(io.BytesIO(xlsx.content), sheet_name="总览")
    figures = dict(zip(overview.iloc[:, 3], overview.iloc[:, 1], strict=False))
    assert float(figures["coverage.road_km"]) == pytest.approx(unit["street_km"], abs=1e-3)
    assert float(figures["coverage.road_km"]) < ws.analysis.summary["coverage"]["road_m"] / 1000
    assert int(figures["hydrants.total"]) == unit["hydrants_total"] < len(ws.layers.hydrants)
    whole = await client.get("/downloads/report.xlsx")
    city = pd.read_excel(io.BytesIO(whole.content), sheet_name="分区汇总")
    assert len(city) > len(sheet)
    pdf = await client.get("/downloads/report.pdf", params={"district": unit["name"]})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.content != (await client.get("/downloads/report.pdf")).content
    first = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text() or ""
    assert f"· {unit['name']}" in first  # the title page names the unit


async def test_csv_of_a_layer(client: httpx.AsyncClient, ws: Workspace) -> None:
    r = await client.get("/downloads/hydrants.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese text right
    assert 'filename="hydrants.csv"' in r.headers["content-disposition"]
    table = pd.read_csv(io.BytesIO(r.content), encoding="utf-8-sig")
    hyd = ws.collections["hydrants"]
    assert len(table) == len(hyd) and list(table["hydrant_id"]) == list(hyd["hydrant_id"])
    np.testing.assert_allclose(table["lon"], hyd.geometry.x, atol=1e-7)
    roads = pd.read_csv(io.BytesIO((await client.get("/downloads/roads_analysis.csv")).content),
                        encoding="utf-8-sig")
    assert roads["geometry_wkt"].str.startswith("LINESTRING").all()
    assert len(pd.read_csv(io.BytesIO((await client.get("/downloads/findings.csv")).content),
                           encoding="utf-8-sig")) == len(ws.analysis.findings)
    missing = await client.get("/downloads/nope.csv")
    assert missing.status_code == 404 and "hydrants" in missing.json()["error"]


async def test_reports(client: httpx.AsyncClient) -> None:
    xlsx = await client.get("/downloads/report.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "xl/workbook.xml" in zipfile.ZipFile(io.BytesIO(xlsx.content)).namelist()
    pdf = await client.get("/downloads/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


async def test_fireground_is_the_cli_document(client: httpx.AsyncClient, ws: Workspace) -> None:
    """POST /analysis/fireground answers the document ``firereach fireground`` prints (branch
    rule: a served workspace keeps no hydraulic model), and the workspace stays untouched."""
    from api.fireground import fireground_document, fireground_point

    before = _snapshot(ws)
    lon, lat = 24.9526, 60.1644  # central Helsinki, hydrants within 150 m
    r = await client.post("/analysis/fireground", json={"lon": lon, "lat": lat, "trucks": 3})
    assert r.status_code == 200, r.text
    doc = r.json()
    point, _ = fireground_point(ws.analysis, lonlat=(lon, lat), building=None)
    direct = fireground_document(ws.analysis, ws.layers.hydrants, ws.preset, point=point,
                                 required_lps=None, trucks=3, truck_lps=15.0, reach_m=150.0)
    assert doc["assigned"] == direct["assigned"] and len(doc["assigned"]) == 3
    assert doc["model"] == "branch_rule" and doc["supplied_lps"] == 45.0
    assert doc["required_flow_lps"] is None  # a point, not a building: not computed
    assert doc["features"]["type"] == "FeatureCollection" and doc["features"]["features"]
    assert _same(before, _snapshot(ws))
    # a building brings its required flow
    bid = str(ws.analysis.layers["buildings_analysis"]["building_id"].iloc[0])
    b = (await client.post("/analysis/fireground", json={"building_id": bid, "trucks": 2})).json()
    assert b["trucks"] == 2 and "required_flow_lps" in b
    # exactly one fire: a point or a building, not both, not neither; an unknown building is 404
    for body in ({"trucks": 2}, {"lon": lon, "lat": lat, "building_id": bid, "trucks": 2},
                 {"lon": lon, "trucks": 2}, {"lon": lon, "lat": lat, "trucks": 0}):
        assert (await client.post("/analysis/fireground", json=body)).status_code == 422, body
    r = await client.post("/analysis/fireground", json={"building_id": "osm/w0", "trucks": 1})
    assert r.status_code == 404 and "not in the workspace" in r.json()["error"]
    far = await client.post("/analysis/fireground", json={"lon": 0.0, "lat": 0.0, "trucks": 1})
    assert far.status_code == 400 and "from any street" in far.json()["error"]
    anon = await client.post("/analysis/fireground", json={"lon": lon, "lat": lat, "trucks": 1},
                             headers={"X-API-Key": ""})
    assert anon.status_code == 401

"""The served blockage ranking follows the ledger: report, rectify, close, restart.

The tiny fixture (Shanghai, Yangpu) has one fire station on 四平路 and a compound reached by the
消防通道 service lane (4 m, edges 2 and 3) running north from 四平路. A structure (违建) on that
lane blocks it outright; a parked car on the 13 m 四平路 leaves 11 m and only narrows it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import pandas as pd
import pytest
import shapely
from fastapi import FastAPI

from api.app import create_app
from api.live import active_ledger, recompute_area
from api.settings import Settings
from api.store import HydrantState, open_store, utc_now
from api.workspace import (
    LEDGER_PREFIX,
    Workspace,
    hydrants_with_states,
    load_workspace,
    served_reports,
)
from geo.layers import read_layers
from geo.presets import load_preset
from routing.analysis import (
    AnalysisOptions,
    analyze,
    blockage_ranking,
    rank_blockages,
    with_ranking,
)
from tests.api.server import asgi_client, build_workspace, copy_workspace

pytestmark = pytest.mark.anyio

ADMIN_KEY = "ranking-tests-admin-key-0123456789abcdef"
HEAD = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("tiny") / "ws")


@pytest.fixture
def ws(base_ws: Path, tmp_path: Path) -> Path:
    return copy_workspace(base_ws, tmp_path / "ws")


def _on_road(ws: Path, name: str, fraction: float = 0.5) -> tuple[float, float]:
    """A WGS84 point ``fraction`` along the first road edge called ``name``."""
    roads = read_layers(ws / "layers.gpkg").roads
    line = roads.loc[roads["name"] == name].geometry.iloc[0]
    point = gpd_point(line.interpolate(fraction, normalized=True), roads.crs)
    return round(point.x, 7), round(point.y, 7)


def gpd_point(geom: Any, crs: Any) -> Any:
    return gpd.GeoSeries([geom], crs=crs).to_crs("EPSG:4326").iloc[0]


@asynccontextmanager
async def served(ws: Path) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    app = create_app(Settings(workspace=ws, bootstrap_admin_key=ADMIN_KEY, _env_file=None))
    async with asgi_client(app) as client:
        yield client, app


async def _report(c: httpx.AsyncClient, lon: float, lat: float, kind: str) -> dict[str, Any]:
    r = await c.post("/ledger", headers=HEAD, json={"lon": lon, "lat": lat, "kind": kind,
                                                    "reporter": "网格员 张三"})
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


async def _move(c: httpx.AsyncClient, blockage_id: int, to: str) -> dict[str, Any]:
    r = await c.post(f"/ledger/{blockage_id}/transitions", headers=HEAD,
                     json={"to": to, "note": to, "assignee": "城管中队"})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def assert_same_as_full(workspace: Workspace) -> None:
    """The served ranking equals a full analysis with the ledger's active items."""
    store = open_store(workspace.path)
    try:
        ledger = active_ledger(store)
    finally:
        store.close()
    layers = read_layers(workspace.path / "layers.gpkg")
    full = analyze(layers, preset=load_preset("cn-gb"), options=AnalysisOptions(),
                   blockages=served_reports(None, ledger, layers.crs))
    served_ = workspace.analysis
    pd.testing.assert_frame_equal(
        served_.layers["blockages_ranked"].drop(columns="geometry"),
        full.layers["blockages_ranked"].drop(columns="geometry"),
    )
    pd.testing.assert_frame_equal(served_.findings, full.findings)
    assert served_.summary["blockages"] == full.summary["blockages"]
    assert served_.summary["findings"] == full.summary["findings"]


async def test_ledger_items_are_ranked_as_they_move(ws: Path) -> None:
    lane = _on_road(ws, "消防通道", 0.5)
    street = _on_road(ws, "四平路", 0.3)
    async with served(ws) as (c, app):
        workspace: Workspace = app.state.workspace
        version = workspace.version
        wall = await _report(c, *lane, kind="structure")
        impact = wall["impact"]
        assert impact["effect"] == "full" and impact["rank"] == 1
        assert impact["road_name"] == "消防通道" and impact["remaining_width_m"] == 0
        assert "law_fire_lane_obstruction" in impact["rule_ids"]
        assert workspace.version > version
        car = await _report(c, *street, kind="parked_vehicle")
        assert car["impact"]["effect"] == "narrowed"  # 13 m - 2 m: passable
        assert car["impact"]["remaining_width_m"] == pytest.approx(11.0)
        summary = (await c.get("/analysis/summary")).json()["blockages"]
        assert (summary["total"], summary["open"], summary["blocking"]) == (2, 2, 1)
        items = (await c.get("/ogc/collections/blockages_ranked/items")).json()["features"]
        ids = {f["properties"]["blockage_id"] for f in items}
        assert ids == {f"{LEDGER_PREFIX}{wall['blockage_id']}", f"{LEDGER_PREFIX}{car['blockage_id']}"}
        assert_same_as_full(workspace)

        # assigned: still there; rectified: shown, no longer counted; closed: gone
        assert (await _move(c, wall["blockage_id"], "assigned"))["impact"]["effect"] == "full"
        rectified = await _move(c, wall["blockage_id"], "rectified")
        assert rectified["impact"]["effect"] == "none" and rectified["impact"]["rank"] is None
        summary = (await c.get("/analysis/summary")).json()["blockages"]
        assert (summary["total"], summary["blocking"]) == (2, 0)
        assert_same_as_full(workspace)
        await _move(c, wall["blockage_id"], "verified")
        closed = await _move(c, wall["blockage_id"], "closed")
        assert closed["impact"] is None
        assert (await c.get("/analysis/summary")).json()["blockages"]["total"] == 1
        # a rejected report stops counting at once
        rejected = await _move(c, car["blockage_id"], "rejected")
        assert rejected["impact"] is None
        assert (await c.get("/analysis/summary")).json()["blockages"]["total"] == 0
        # reopening a closed item brings it back
        reopened = await _move(c, wall["blockage_id"], "reported")
        assert reopened["impact"]["effect"] == "full" and reopened["impact"]["rank"] == 1
        before = (await c.get("/analysis/summary")).json()

    # a restart analyses the ledger's active items with everything else
    async with served(ws) as (c, app):
        after = (await c.get("/analysis/summary")).json()
        assert after["blockages"] == before["blockages"] and after["findings"] == before["findings"]
        detail = (await c.get(f"/ledger/{wall['blockage_id']}", headers=HEAD)).json()
        assert detail["impact"]["effect"] == "full"
        assert_same_as_full(app.state.workspace)


async def test_preloaded_workspace_is_brought_to_the_ledger(ws: Path) -> None:
    lane = _on_road(ws, "消防通道", 0.5)
    async with served(ws) as (c, _):
        await _report(c, *lane, kind="gate")
    settings = Settings(workspace=ws, _env_file=None)
    loaded = load_workspace(settings)  # without the store's state
    assert loaded.analysis.summary["blockages"]["total"] == 0
    app = create_app(settings, workspace=loaded)
    async with asgi_client(app) as c:
        assert (await c.get("/analysis/summary")).json()["blockages"]["total"] == 1
        assert_same_as_full(loaded)


def test_a_ranking_carries_over_a_hydrant_update(ws: Path) -> None:
    """A ranking computed before a live hydrant update, put on the updated analysis, equals
    ranking the updated analysis (so ledger rankings need not hold the workspace lock)."""
    preset = load_preset("cn-gb")
    layers = read_layers(ws / "layers.gpkg")
    lane = _on_road(ws, "消防通道", 0.5)
    assert served_reports(None, [], layers.crs) is None
    reports = gpd.GeoDataFrame(
        {"blockage_id": ["G1"], "kind": ["gate"], "status": ["reported"], "remaining_width_m": [None]},
        geometry=[shapely.Point(*lane)], crs="EPSG:4326",
    )
    before = analyze(layers, preset=preset, blockages=reports)
    ranking = blockage_ranking(before, reports, preset=preset)
    state = HydrantState(hydrant_id="osm/6", status="out_of_service", observed_at=utc_now(),
                         event_id=1, pressure_mpa=None)
    hydrants, rows, _ = hydrants_with_states(layers.hydrants, {"osm/6": state})
    _, after, update = recompute_area(layers, before, hydrants, preset=preset,
                                      options=AnalysisOptions(), changed=rows)
    assert len(update.status_changed) == 1
    carried = with_ranking(after, ranking, reports)
    fresh = rank_blockages(after, reports, preset=preset)
    pd.testing.assert_frame_equal(carried.findings, fresh.findings)
    assert carried.summary == fresh.summary
    assert carried.summary["coverage"] == after.summary["coverage"] != before.summary["coverage"]
    for name in ("blockages_ranked", "critical_lanes"):
        pd.testing.assert_frame_equal(carried.layers[name], fresh.layers[name])

"""Live hydrant status: the partial recomputation equals a full re-run; HTTP; replay on restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import pandas as pd
import pytest
import shapely

from api.app import create_app
from api.live import (
    RECOMPUTED,
    affected_edges,
    apply_states,
    open_workspace,
    recompute_area,
    refresh_stale_siting,
)
from api.settings import Settings
from api.store import HydrantState, utc_now
from api.workspace import hydrants_with_states, load_workspace
from geo.errors import InputFileError
from geo.layers import Layers, read_layers
from geo.presets import Preset, load_preset
from reports.present import jsonable, present_summary
from routing.analysis import Analysis, AnalysisOptions, analyze
from tests.api.server import (
    HELSINKI_HYDRANTS,
    asgi_client,
    build_workspace,
    copy_workspace,
)
from tests.conftest import REPO

pytestmark = pytest.mark.anyio

ADMIN_KEY = "live-tests-admin-key-0123456789abcdefgh"
STATUSES = ("in_service", "out_of_service", "low_pressure")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def helsinki_ws(tmp_path_factory: pytest.TempPathFactory, helsinki_pbf: Path) -> Path:
    """Central Helsinki with the agency hydrant file (mixed statuses and measured flows)."""
    return build_workspace(tmp_path_factory.mktemp("hel"), osm=helsinki_pbf, hydrants=HELSINKI_HYDRANTS)


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def preset() -> Preset:
    return load_preset("cn-gb")


def _state(hydrant_id: str, status: str, pressure: float | None = None) -> HydrantState:
    return HydrantState(hydrant_id=hydrant_id, status=status, observed_at=utc_now(), event_id=0,
                        pressure_mpa=pressure)


def assert_same_as_full(layers: Layers, part: Analysis, preset: Preset, options: AnalysisOptions) -> None:
    """Every output a live update recomputes equals a full :func:`analyze` of ``layers``."""
    full = analyze(layers, preset=preset, options=options)
    pc, fc = part.coverage, full.coverage
    np.testing.assert_allclose(pc.covered_m, fc.covered_m, rtol=0, atol=1e-9)
    for name in ("interval_edge", "interval_start", "interval_end"):
        np.testing.assert_allclose(getattr(pc, name), getattr(fc, name), rtol=0, atol=1e-9)
    if fc.node_distance_m is not None:
        assert pc.node_distance_m is not None
        np.testing.assert_allclose(pc.node_distance_m, fc.node_distance_m, rtol=0, atol=1e-9)
    assert pc.total_covered_m == pytest.approx(fc.total_covered_m, abs=1e-6)
    assert pc.n_hydrants == fc.n_hydrants
    for name in sorted(RECOMPUTED):
        p, f = part.layers[name], full.layers[name]
        assert len(p) == len(f), name
        cols = [c for c in f.columns if c != "geometry"]
        pd.testing.assert_frame_equal(
            pd.DataFrame(p[cols]).reset_index(drop=True), pd.DataFrame(f[cols]).reset_index(drop=True),
            check_exact=False, rtol=0, atol=1e-9, obj=name,
        )
        if isinstance(f, gpd.GeoDataFrame) and "geometry" in f:
            # line_substrings measures along a running total over all lines: a piece cut from
            # a subgraph may carry a repeated vertex (1e-12 m apart); compare as shapes
            gap = shapely.hausdorff_distance(np.asarray(p.geometry.array), np.asarray(f.geometry.array))
            assert float(np.max(gap, initial=0.0)) < 1e-6, name
    for section in ("coverage", "buildings", "findings", "pump_connectors", "blockages"):
        assert part.summary[section] == full.summary[section], section
    pd.testing.assert_frame_equal(part.findings, full.findings, check_exact=False, rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["network", "straight"], ids=["hose_lay", "straight_line"])
def test_partial_equals_full_rerun(helsinki_ws: Path, preset: Preset, method: str) -> None:
    options = AnalysisOptions(coverage_method=method)  # type: ignore[arg-type]
    layers = read_layers(helsinki_ws / "layers.gpkg")
    analysis = analyze(layers, preset=preset, options=options)
    ids = layers.hydrants["hydrant_id"].astype(str).to_numpy()
    rng = np.random.default_rng(7)
    n_edges = analysis.graph.n_edges
    seen_local = False
    for step in range(10):
        picks = rng.choice(len(ids), size=1 + step % 3, replace=False)
        states = {ids[i]: _state(ids[i], str(rng.choice(STATUSES))) for i in picks}
        hydrants, rows, unknown = hydrants_with_states(layers.hydrants, states)
        assert unknown == ()
        before_roads = analysis.layers["roads_analysis"]["covered_m"].to_numpy()
        layers, analysis, update = recompute_area(
            layers, analysis, hydrants, preset=preset, options=options, changed=rows
        )
        assert_same_as_full(layers, analysis, preset, options)
        untouched = np.setdiff1d(np.arange(n_edges), update.edges)
        after_roads = analysis.layers["roads_analysis"]["covered_m"].to_numpy()
        np.testing.assert_array_equal(after_roads[untouched], before_roads[untouched])
        if len(update.status_changed):
            seen_local = seen_local or 0 < len(update.edges) < n_edges / 4
            assert update.relevant_hydrants < len(ids)
    assert seen_local, "a single hydrant should only touch the streets in its reach"


def test_tiny_hand_checked(tiny_ws: Path, preset: Preset) -> None:
    """The tiny compound: hydrant osm/6 in service covers 297 m; osm/42 is out of service."""
    options = AnalysisOptions()
    layers = read_layers(tiny_ws / "layers.gpkg")
    analysis = analyze(layers, preset=preset, options=options)
    assert analysis.summary["coverage"]["covered_m"] == pytest.approx(296.87, abs=0.01)
    hyd, rows, _ = hydrants_with_states(layers.hydrants, {"osm/6": _state("osm/6", "out_of_service")})
    off_layers, off, update = recompute_area(layers, analysis, hyd, preset=preset, options=options,
                                             changed=rows)
    assert off.summary["coverage"]["covered_m"] == 0.0
    assert 0 < len(update.edges) <= analysis.graph.n_edges and update.relevant_hydrants == 1
    assert off.summary["coverage"]["hydrants_used"] == 0
    assert float(off.coverage.covered_m.sum()) == 0.0
    assert off.layers["coverage_pieces"]["covered"].sum() == 0
    assert_same_as_full(off_layers, off, preset, options)
    # the input analysis is untouched
    assert analysis.summary["coverage"]["covered_m"] == pytest.approx(296.87, abs=0.01)
    assert layers.hydrants.set_index("hydrant_id").loc["osm/6", "status"] == "in_service"
    # the other hydrant back in service
    hyd, rows, _ = hydrants_with_states(off_layers.hydrants, {"osm/42": _state("osm/42", "in_service")})
    on_layers, on, _ = recompute_area(off_layers, off, hyd, preset=preset, options=options, changed=rows)
    assert on.summary["coverage"]["hydrants_used"] == 1
    assert_same_as_full(on_layers, on, preset, options)
    assert on.summary["live"]["stale"] == ["budget_curve", "proposed_hydrants", "summary.siting"]


def test_affected_edges_are_within_reach(tiny_ws: Path, preset: Preset) -> None:
    layers = read_layers(tiny_ws / "layers.gpkg")
    analysis = analyze(layers, preset=preset)
    points = np.asarray(layers.hydrants.geometry.array, dtype=object)
    graph, snaps = analysis.graph, analysis.hydrant_snaps
    none = affected_edges(graph, snaps, np.array([], dtype=np.int64), radius_m=150, method="network",
                          points=points)
    assert not none.any()
    radius = float(snaps.offset_m[0]) + 5.0
    near = affected_edges(graph, snaps, np.array([0]), radius_m=radius, method="network", points=points)
    far = affected_edges(graph, snaps, np.array([0]), radius_m=5000, method="network", points=points)
    assert 0 < near.sum() < far.sum() and (far | near).sum() == far.sum()
    assert near[snaps.edge[0]]


def test_pressure_only_update_recomputes_nothing(tiny_ws: Path, preset: Preset) -> None:
    layers = read_layers(tiny_ws / "layers.gpkg")
    analysis = analyze(layers, preset=preset)
    hyd, rows, _ = hydrants_with_states(layers.hydrants, {"osm/6": _state("osm/6", "in_service", 0.3)})
    new_layers, new, update = recompute_area(layers, analysis, hyd, preset=preset,
                                             options=AnalysisOptions(), changed=rows)
    assert len(update.hydrants) == 1 and len(update.status_changed) == 0 and len(update.edges) == 0
    assert new.coverage is analysis.coverage
    assert new.layers["hydrants_analysis"].set_index("hydrant_id").loc["osm/6", "pressure_mpa"] == 0.3
    assert new_layers.hydrants.set_index("hydrant_id").loc["osm/6", "status_source"] == "inspection"


@asynccontextmanager
async def live_client(ws: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(Settings(workspace=ws, bootstrap_admin_key=ADMIN_KEY))
    async with asgi_client(app) as client:
        yield client, app


async def test_http_status_update_and_history(helsinki_ws: Path, tmp_path: Path, preset: Preset) -> None:
    ws = copy_workspace(helsinki_ws, tmp_path / "ws")
    head = {"X-API-Key": ADMIN_KEY}
    async with live_client(ws) as (c, app):
        workspace = app.state.workspace
        hyd = workspace.analysis.layers["hydrants_analysis"]
        usable = (hyd["status"] == "in_service") & (hyd["snap_edge"] >= 0)
        hid = str(hyd.loc[usable, "hydrant_id"].iloc[3])
        before = (await c.get("/analysis/summary")).json()["coverage"]
        t0 = datetime.now(UTC) - timedelta(hours=3)
        r = await c.post(f"/hydrants/{hid}/status", headers=head, json={
            "status": "out_of_service", "inspector": "巡检员 李四", "observed_at": t0.isoformat(),
            "photo_url": "https://img.example.org/h.jpg", "note": "盖板被埋压",
        })
        assert r.status_code == 201, r.text
        out = r.json()
        assert out["current"]["status"] == "out_of_service"
        assert out["current"]["status_source"] == "inspection"
        assert out["recomputed"]["applied"] and out["recomputed"]["edges"] > 0
        assert out["event"]["note"] == "盖板被埋压" and out["event"]["actor"] == "bootstrap admin"
        after = (await c.get("/analysis/summary")).json()
        assert after["coverage"]["hydrants_used"] == before["hydrants_used"] - 1
        assert after["coverage"]["covered_km"] < before["covered_km"]
        assert "findings" not in after["live"]["stale"] and "summary.siting" in after["live"]["stale"]
        # the served collections follow (WGS84 copies)
        wgs = workspace.collection("roads_analysis")
        np.testing.assert_allclose(wgs["covered_m"].to_numpy(),
                                   workspace.analysis.layers["roads_analysis"]["covered_m"].to_numpy())
        assert workspace.collection("hydrants").set_index("hydrant_id").loc[hid, "status"] == "out_of_service"
        pieces = workspace.collection("coverage_pieces")
        assert pieces.crs.to_epsg() == 4326
        assert len(pieces) == len(workspace.analysis.layers["coverage_pieces"])
        np.testing.assert_allclose(pieces["covered"].sum(),
                                   workspace.analysis.layers["coverage_pieces"]["covered"].sum())
        # an older observation uploaded late is kept in the history but does not win
        r = await c.post(f"/hydrants/{hid}/status", headers=head, json={
            "status": "in_service", "inspector": "王五", "observed_at": (t0 - timedelta(hours=1)).isoformat(),
        })
        assert r.status_code == 201 and r.json()["current"]["status"] == "out_of_service"
        assert r.json()["recomputed"]["applied"] is False
        # low pressure in service: accepted with a warning
        r = await c.post(f"/hydrants/{hid}/status", headers=head, json={
            "status": "in_service", "inspector": "王五", "pressure_mpa": 0.05,
        })
        assert r.status_code == 201 and r.json()["warnings"]
        assert r.json()["current"]["status"] == "in_service" and r.json()["current"]["pressure_mpa"] == 0.05
        hist = (await c.get(f"/hydrants/{hid}/history", headers=head, params={"limit": 2})).json()
        assert hist["total"] == 3 and [e["inspector"] for e in hist["items"]] == ["王五", "巡检员 李四"]
        current = (await c.get(f"/hydrants/{hid}/status")).json()
        assert current["status"] == "in_service" and current["pressure_mpa"] == 0.05
        # bad input
        for path, body in [
            ("/hydrants/nope/status", {"status": "in_service", "inspector": "x"}),
            (f"/hydrants/{hid}/status", {"status": "broken", "inspector": "x"}),
            (f"/hydrants/{hid}/status", {"status": "in_service"}),
            (f"/hydrants/{hid}/status", {"status": "in_service", "inspector": "x", "pressure_mpa": -1}),
            (f"/hydrants/{hid}/status", {"status": "in_service", "inspector": "x",
                                         "observed_at": "2999-01-01T00:00:00Z"}),
            (f"/hydrants/{hid}/status", {"status": "in_service", "inspector": "x", "extra": 1}),
        ]:
            r = await c.post(path, headers=head, json=body)
            assert r.status_code in (404, 422) and r.json()["error"], (path, body, r.text)
        assert (await c.get("/hydrants/nope/history", headers=head)).status_code == 404
        assert (await c.get(f"/hydrants/{hid}/history", headers=head,
                            params={"limit": 0})).status_code == 422
    # the state after a restart equals a full analysis with the stored statuses
    layers = read_layers(ws / "layers.gpkg")
    expected, _, _ = hydrants_with_states(layers.hydrants, {hid: _state(hid, "in_service", 0.05)})
    full = analyze(
        Layers(**{**layers.__dict__, "hydrants": expected}), preset=preset, options=AnalysisOptions()
    )
    async with live_client(ws) as (c, app):
        workspace = app.state.workspace
        assert workspace.layers.hydrants.set_index("hydrant_id").loc[hid, "pressure_mpa"] == 0.05
        np.testing.assert_allclose(workspace.analysis.coverage.covered_m, full.coverage.covered_m,
                                   rtol=0, atol=1e-9)


async def test_replay_on_restart_equals_full_analysis(tiny_ws: Path, tmp_path: Path, preset: Preset) -> None:
    ws = copy_workspace(tiny_ws, tmp_path / "ws")
    head = {"X-API-Key": ADMIN_KEY}
    async with live_client(ws) as (c, _):
        for hid, status in [("osm/6", "out_of_service"), ("osm/42", "in_service"),
                            ("osm/6", "low_pressure")]:
            r = await c.post(f"/hydrants/{hid}/status", headers=head,
                             json={"status": status, "inspector": "x"})
            assert r.status_code == 201
    settings = Settings(workspace=ws)
    loaded = load_workspace(settings)  # the base state from layers.gpkg, before replay
    assert loaded.layers.hydrants.set_index("hydrant_id")["status"].to_dict() == {
        "osm/6": "in_service", "osm/42": "out_of_service"}
    app = create_app(settings, workspace=loaded)
    async with asgi_client(app) as c:
        status = {h: (await c.get(f"/hydrants/{h}/status")).json()["status"] for h in ("osm/6", "osm/42")}
        assert status == {"osm/6": "low_pressure", "osm/42": "in_service"}
        assert_same_as_full(loaded.layers, loaded.analysis, preset, loaded.options)


async def test_restart_analyses_the_stored_statuses(
    helsinki_ws: Path, tmp_path: Path, preset: Preset
) -> None:
    """After a restart, everything (findings, siting, flags, summary) is a full analysis of the
    stored statuses: nothing is left stale."""
    ws = copy_workspace(helsinki_ws, tmp_path / "ws")
    head = {"X-API-Key": ADMIN_KEY}
    async with live_client(ws) as (c, app):
        hyd = app.state.workspace.analysis.layers["hydrants_analysis"]
        usable = (hyd["status"] == "in_service") & (hyd["snap_edge"] >= 0)
        taken = [str(h) for h in hyd.loc[usable, "hydrant_id"].iloc[:3]]
        used = app.state.workspace.analysis.summary["coverage"]["hydrants_used"]
        for hid in taken:
            r = await c.post(f"/hydrants/{hid}/status", headers=head,
                             json={"status": "out_of_service", "inspector": "x"})
            assert r.status_code == 201
        assert app.state.workspace.analysis.summary["live"]["stale"]
    layers = read_layers(ws / "layers.gpkg")
    states = {h: _state(h, "out_of_service") for h in taken}
    expected, _, _ = hydrants_with_states(layers.hydrants, states)
    full = analyze(Layers(**{**layers.__dict__, "hydrants": expected}), preset=preset,
                   options=AnalysisOptions())
    async with live_client(ws) as (c, app):
        served = app.state.workspace.analysis
        assert "live" not in served.summary
        assert served.summary == full.summary
        pd.testing.assert_frame_equal(served.findings, full.findings)
        for name in ("buildings_analysis", "proposed_hydrants", "underserved_segments"):
            pd.testing.assert_frame_equal(served.layers[name], full.layers[name])
        summary = (await c.get("/analysis/summary")).json()
        assert summary["coverage"]["hydrants_used"] == used - 3


def test_stale_siting_refreshed_equals_full(tiny_ws: Path, preset: Preset) -> None:
    """After a live update the siting proposal is stale; the refresh makes it a full run's."""
    options = AnalysisOptions()
    layers = read_layers(tiny_ws / "layers.gpkg")
    loaded = load_workspace(Settings(workspace=tiny_ws, _env_file=None))
    assert not refresh_stale_siting(loaded)  # nothing stale yet
    version = loaded.version
    hyd, _, _ = hydrants_with_states(layers.hydrants, {"osm/6": _state("osm/6", "out_of_service")})
    apply_states(loaded, {"osm/6": _state("osm/6", "out_of_service")})
    stale = loaded.analysis.summary["live"]["stale"]
    assert stale == ["budget_curve", "proposed_hydrants", "summary.siting"]
    full = analyze(Layers(**{**layers.__dict__, "hydrants": hyd}), preset=preset, options=options)
    assert loaded.analysis.summary["siting"] != full.summary["siting"]  # really stale
    assert refresh_stale_siting(loaded)
    assert loaded.version > version + 1
    served = loaded.analysis
    assert served.summary["live"]["stale"] == []
    assert served.summary["siting"] == full.summary["siting"]
    for name in ("proposed_hydrants", "budget_curve"):
        pd.testing.assert_frame_equal(served.layers[name], full.layers[name])
    assert_same_as_full(loaded.layers, served, preset, options)
    assert len(loaded.collection("proposed_hydrants")) == len(full.layers["proposed_hydrants"])
    assert not refresh_stale_siting(loaded)  # done


async def test_siting_refreshed_in_the_background(tiny_ws: Path, tmp_path: Path) -> None:
    ws = copy_workspace(tiny_ws, tmp_path / "ws")
    app = create_app(Settings(workspace=ws, bootstrap_admin_key=ADMIN_KEY, siting_refresh_s=0.05))
    async with asgi_client(app) as c:
        before = (await c.get("/analysis/summary")).json()["siting"]
        r = await c.post("/hydrants/osm/6/status", headers={"X-API-Key": ADMIN_KEY},
                         json={"status": "out_of_service", "inspector": "x"})
        assert r.status_code == 201
        for _ in range(200):
            live = (await c.get("/analysis/summary")).json()["live"]
            if not live["stale"]:
                break
            await asyncio.sleep(0.05)
        assert live["stale"] == []
        siting = (await c.get("/analysis/summary")).json()["siting"]
    layers = read_layers(ws / "layers.gpkg")
    hyd, _, _ = hydrants_with_states(layers.hydrants, {"osm/6": _state("osm/6", "out_of_service")})
    full = analyze(Layers(**{**layers.__dict__, "hydrants": hyd}), preset=load_preset("cn-gb"))
    # osm/6 covered the compound's street: more street is left for new hydrants to cover
    assert siting == jsonable(present_summary(full.summary)["siting"])
    assert siting["added_covered_km"] > before["added_covered_km"]


async def test_serve_loads_the_current_state(tiny_ws: Path, tmp_path: Path) -> None:
    """``firereach serve`` loads before serving (open_workspace): with the stored state, so the
    served analysis is a full one (no live patching, nothing stale)."""
    ws = copy_workspace(tiny_ws, tmp_path / "ws")
    async with live_client(ws) as (c, _):
        r = await c.post("/hydrants/osm/6/status", headers={"X-API-Key": ADMIN_KEY},
                         json={"status": "out_of_service", "inspector": "x"})
        assert r.status_code == 201
    settings = Settings(workspace=ws, bootstrap_admin_key=ADMIN_KEY)
    loaded = open_workspace(settings)
    assert loaded.layers.hydrants.set_index("hydrant_id").loc["osm/6", "status"] == "out_of_service"
    assert "live" not in loaded.analysis.summary
    async with asgi_client(create_app(settings, workspace=loaded)) as c:
        summary = (await c.get("/analysis/summary")).json()
        assert "live" not in summary and summary["coverage"]["hydrants_used"] == 0
    with pytest.raises(InputFileError, match="not a workspace"):
        open_workspace(Settings(workspace=tmp_path))
    assert not (tmp_path / "firereach.db").exists()


def test_readers_do_not_wait_for_a_live_computation(tiny_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While a hydrant update computes, the read lock is free; a second writer waits."""
    import threading

    import api.live as live

    loaded = load_workspace(Settings(workspace=tiny_ws, _env_file=None))
    computing, release = threading.Event(), threading.Event()
    real = live.recompute_area

    def slow(*args: Any, **kwargs: Any) -> Any:
        computing.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(live, "recompute_area", slow)
    writer = threading.Thread(
        target=apply_states, args=(loaded, {"osm/6": _state("osm/6", "out_of_service")})
    )
    writer.start()
    try:
        assert computing.wait(30)
        assert loaded.lock.acquire(timeout=1.0)  # a reader gets in during the computation
        loaded.lock.release()
        assert not loaded.write_lock.acquire(timeout=0.2)  # another writer does not
        assert loaded.analysis.summary["coverage"]["hydrants_used"] == 1  # still the old state
    finally:
        release.set()
        writer.join(30)
    assert loaded.analysis.summary["coverage"]["hydrants_used"] == 0


def test_no_hydrant_module_reads_settings() -> None:
    """Live recomputation takes explicit arguments (settings are read at the entry points)."""
    text = (REPO / "api" / "live.py").read_text(encoding="utf-8")
    body = text.split("# app wiring")[0]
    assert "Settings(" not in body and "settings." not in body

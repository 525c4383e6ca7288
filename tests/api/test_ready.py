"""Liveness (/health) says only "alive"; readiness (/ready) checks the store and the workspace;
a locked or read-only store is a JSON 503 with Retry-After, and ``serve`` on a locked store ends
with one line and exit code 2."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from api.settings import Settings
from api.store import DB_NAME, open_store
from tests.api.server import asgi_client, build_workspace

pytestmark = pytest.mark.anyio
ADMIN_KEY = "ready-tests-admin-key-0123456789abcdef"


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = build_workspace(tmp_path_factory.mktemp("tiny"))
    open_store(ws).close()  # the store exists before a test locks it
    return ws


@pytest.mark.parametrize("public_read", [True, False])
async def test_health_says_only_alive(tiny_ws: Path, public_read: bool) -> None:
    app = create_app(Settings(workspace=tiny_ws, public_read=public_read, _env_file=None))
    async with asgi_client(app) as c:
        r = await c.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert str(tiny_ws) not in r.text and "summary" not in r.text


async def test_ready_when_the_store_and_workspace_are(tiny_ws: Path) -> None:
    app = create_app(Settings(workspace=tiny_ws, _env_file=None))
    async with asgi_client(app) as c:
        r = await c.get("/ready")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"store": "ok", "workspace": "ok"}}


async def test_not_ready_before_start_up(tiny_ws: Path) -> None:
    import httpx

    app = create_app(Settings(workspace=tiny_ws, _env_file=None))  # lifespan not run: no store
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.get("/ready")
        assert (await c.get("/health")).status_code == 200  # alive all the same
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["detail"] == {"store": "not open (starting or stopping)", "workspace": "not loaded"}


async def test_locked_store_is_not_ready_and_writes_503(tiny_ws: Path) -> None:
    settings = Settings(workspace=tiny_ws, bootstrap_admin_key=ADMIN_KEY, store_busy_timeout_s=0.2,
                        _env_file=None)
    app = create_app(settings)
    async with asgi_client(app) as c:
        other = sqlite3.connect(tiny_ws / DB_NAME, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the store
        try:
            t0 = time.perf_counter()
            r = await c.get("/ready")
            w = await c.post("/hydrants/osm/6/status", headers={"X-API-Key": ADMIN_KEY},
                             json={"status": "out_of_service", "inspector": "x"})
            waited = time.perf_counter() - t0
            alive = await c.get("/health")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        doc = r.json()
        assert doc["status"] == 503 and doc["detail"]["workspace"] == "ok"
        assert doc["detail"]["store"].startswith("unavailable")
        assert str(tiny_ws) not in r.text  # the reason, never the path
        assert w.status_code == 503 and w.headers["retry-after"] == "5" and w.json()["status"] == 503
        assert waited < 3.0  # two 0.2 s busy waits, not 30 s
        assert alive.status_code == 200  # liveness is not readiness
        assert (await c.get("/ready")).status_code == 200  # the lock released


async def test_read_only_store_is_not_ready(tiny_ws: Path) -> None:
    app = create_app(Settings(workspace=tiny_ws, _env_file=None))
    async with asgi_client(app) as c:
        # as a read-only file does (the tests run as root, for whom chmod changes nothing)
        app.state.store._writer.execute("PRAGMA query_only = ON")
        r = await c.get("/ready")
        app.state.store._writer.execute("PRAGMA query_only = OFF")
    assert r.status_code == 503 and r.json()["detail"]["store"].startswith("unavailable")


def test_serve_on_a_locked_store_ends_with_one_line(tiny_ws: Path) -> None:
    other = sqlite3.connect(tiny_ws / DB_NAME, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        result = CliRunner().invoke(
            cli, ["serve", "--workspace", str(tiny_ws)],
            env={"FIREREACH_STORE_BUSY_TIMEOUT_S": "0.2"},
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "unavailable" in errors[0] and "try again" in errors[0]

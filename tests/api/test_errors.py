"""The one error table at the API edge, the store-unavailable error, and the one lifespan."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.auth import AuthenticationError, PermissionDeniedError
from api.errors import STATUS, install_error_handlers, status_for
from api.ogc import QueryParameterError
from api.routers import ROUTERS
from api.settings import Settings
from api.store import (
    DB_NAME,
    ConflictError,
    IdempotencyKeyReuseError,
    StoreUnavailableError,
    TransitionError,
    open_store,
)
from api.throttle import TooManyRequestsError
from geo.errors import (
    AnalysisError,
    ConfigError,
    CRSError,
    FireReachError,
    InputFileError,
    LayerValidationError,
    NetworkUnavailableError,
    NotFoundError,
    OutputWriteError,
)
from tests.api.server import asgi_client

pytestmark = pytest.mark.anyio
ADMIN_KEY = "errors-tests-admin-key-0123456789abcdef"

# Written out here, not read from api.errors: what a client must get for each error.
EXPECTED: dict[type[FireReachError], int] = {
    FireReachError: 400,
    InputFileError: 422,
    LayerValidationError: 422,
    CRSError: 422,
    ConfigError: 400,
    QueryParameterError: 400,
    AnalysisError: 409,
    NotFoundError: 404,
    NetworkUnavailableError: 503,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    TooManyRequestsError: 429,
    ConflictError: 409,
    IdempotencyKeyReuseError: 422,  # the IETF draft: a key reused for another request
    TransitionError: 409,
    StoreUnavailableError: 503,
    OutputWriteError: 500,
}


def _all_subclasses(cls: type) -> set[type]:
    out = {cls}
    for sub in type.__subclasses__(cls):
        out |= _all_subclasses(sub)
    return out


def test_every_error_class_has_its_status_once() -> None:
    classes = {c for c in _all_subclasses(FireReachError) if c.__module__.split(".")[0] in
               ("geo", "routing", "reports", "api")}
    # a new error class must be added to EXPECTED (deciding its status) before it ships
    assert classes == set(EXPECTED), classes ^ set(EXPECTED)
    for cls, code in EXPECTED.items():
        assert status_for(cls("x")) == code, cls.__name__
    table = [cls for cls, _ in STATUS]
    assert len(table) == len(set(table))  # one entry per error


async def test_locked_store_answers_503_json_quickly(tiny_ws: Path) -> None:
    app = create_app(Settings(workspace=tiny_ws, bootstrap_admin_key=ADMIN_KEY, store_busy_timeout_s=0.2,
                              _env_file=None))
    head = {"X-API-Key": ADMIN_KEY}
    body = {"status": "out_of_service", "inspector": "x"}
    async with asgi_client(app) as c:
        other = sqlite3.connect(tiny_ws / DB_NAME, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            t0 = time.perf_counter()
            r = await c.post("/hydrants/osm/6/status", headers=head, json=body)
            waited = time.perf_counter() - t0
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/json"
        assert r.headers["retry-after"] == "5"
        doc = r.json()
        assert doc["status"] == 503 and "unavailable" in doc["error"] and DB_NAME in doc["error"]
        assert "try again" in doc["error"]
        assert waited < 3.0  # 0.2 s busy wait, not 30 s
        # the lock released, the same request goes through
        r = await c.post("/hydrants/osm/6/status", headers=head, json=body)
        assert r.status_code == 201


def test_read_only_store_is_unavailable(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        with store.write() as conn:
            conn.execute("PRAGMA query_only = ON")  # as a read-only file would: writes refused
        with pytest.raises(StoreUnavailableError, match="read-only"), store.write() as conn:
            conn.execute("CREATE TABLE t (x)")
    finally:
        store.close()
    # an SQL mistake is a bug, not an unavailable store: not disguised as a 503
    (tmp_path / "b").mkdir()
    store = open_store(tmp_path / "b")
    try:
        with pytest.raises(sqlite3.OperationalError, match="no such table"), store.write() as conn:
            conn.execute("SELECT * FROM no_such_table")
    finally:
        store.close()


async def test_unexpected_error_is_json_500() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"status": 500, "error": "internal error; the server log has the details"}


async def test_routers_bring_no_lifespan_of_their_own() -> None:
    # create_app owns the start-up; a router alone starts nothing (no settings, no store needed)
    for router in ROUTERS:
        app = FastAPI()
        app.include_router(router)
        async with app.router.lifespan_context(app):
            assert getattr(app.state, "store", None) is None

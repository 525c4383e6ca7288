"""API keys and roles, through HTTP: hashing, shown once, 401/403 matrix, revoke, bootstrap."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.auth import PERMISSIONS, create_key
from api.settings import Settings
from api.store import DB_NAME, ROLES, open_store
from geo.errors import ConfigError
from tests.api.server import asgi_client, build_workspace, copy_workspace

pytestmark = pytest.mark.anyio

ADMIN_KEY = "bootstrap-admin-key-for-tests-0123456789"
HYDRANT = "osm/6"


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("tiny"))


@asynccontextmanager
async def app_client(ws: Path, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(workspace=ws, **settings))
    async with asgi_client(app) as client:
        yield client


async def make_key(client: httpx.AsyncClient, role: str, name: str | None = None) -> str:
    r = await client.post("/keys", json={"role": role, "name": name or f"{role} user"},
                          headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code == 201, r.text
    key: str = r.json()["key"]
    return key


def _h(key: str | None) -> dict[str, str]:
    return {} if key is None else {"X-API-Key": key}


async def test_key_shown_once_and_stored_hashed(base_ws: Path, tmp_path: Path) -> None:
    ws = copy_workspace(base_ws, tmp_path / "ws")
    async with app_client(ws, bootstrap_admin_key=ADMIN_KEY) as c:
        r = await c.post("/keys", json={"role": "inspector", "name": "巡检员 王五"},
                         headers=_h(ADMIN_KEY))
        assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
        created = r.json()
        key = created["key"]
        assert key.startswith("frk_") and len(key) > 40
        assert created["role"] == "inspector" and created["created_by"] == "bootstrap admin"
        other = await make_key(c, "inspector", "second")
        listed = (await c.get("/keys", headers=_h(ADMIN_KEY))).json()
        assert {k["name"] for k in listed} == {"bootstrap admin", "巡检员 王五", "second"}
        assert all(set(k) == {"key_id", "public_id", "name", "role", "created_at", "created_by",
                              "revoked_at", "expires_at"} for k in listed)
        assert key not in (await c.get("/keys", headers=_h(ADMIN_KEY))).text
        # the key works
        r = await c.post(f"/hydrants/{HYDRANT}/status", headers=_h(key),
                         json={"status": "in_service", "inspector": "王五"})
        assert r.status_code == 201, r.text
    # nowhere in the database files: neither the keys nor their secret parts
    blobs = b"".join(p.read_bytes() for p in ws.glob(f"{DB_NAME}*"))
    for secret in (key, other, ADMIN_KEY, key.split("_", 2)[2], other.split("_", 2)[2]):
        assert secret.encode() not in blobs
    with sqlite3.connect(ws / DB_NAME) as conn:
        rows = conn.execute("SELECT public_id, kdf, salt, digest FROM api_keys").fetchall()
        text = " ".join(str(v) for row in conn.execute("SELECT * FROM api_keys") for v in row)
    conn.close()
    assert key not in text and ADMIN_KEY not in text
    assert len(rows) == 3
    assert len({r[2] for r in rows}) == 3, "salts must differ per key"
    assert all(r[1].startswith("scrypt$") and len(r[2]) == 16 and len(r[3]) == 32 for r in rows)


WRITE_ENDPOINTS: list[tuple[str, str, str, dict[str, Any] | None]] = [
    # (permission, method, path, json body)
    ("report", "POST", "/ledger", {"lon": 121.503, "lat": 31.2805, "kind": "goods", "reporter": "x"}),
    ("report", "POST", f"/hydrants/{HYDRANT}/status", {"status": "in_service", "inspector": "x"}),
    ("transition", "POST", "/ledger/1/transitions", {"to": "assigned", "assignee": "物业"}),
    ("manage_keys", "POST", "/keys", {"role": "viewer", "name": "v"}),
    ("manage_keys", "GET", "/keys", None),
    ("records", "GET", "/ledger", None),
    ("records", "GET", "/ledger/1", None),
    ("records", "GET", "/ledger/export.csv", None),
    ("records", "GET", f"/hydrants/{HYDRANT}/history", None),
    ("read", "GET", f"/hydrants/{HYDRANT}/status", None),
]


async def test_role_matrix(base_ws: Path, tmp_path: Path) -> None:
    ws = copy_workspace(base_ws, tmp_path / "ws")
    async with app_client(ws, bootstrap_admin_key=ADMIN_KEY) as c:
        keys = {role: await make_key(c, role) for role in ROLES if role != "admin"}
        keys["admin"] = ADMIN_KEY
        # an item to read and transition
        r = await c.post("/ledger", headers=_h(ADMIN_KEY), json=WRITE_ENDPOINTS[0][3])
        assert r.status_code == 201
        wrong: list[str] = []
        for permission, method, path, body in WRITE_ENDPOINTS:
            for role, key in keys.items():
                r = await c.request(method, path, headers=_h(key), json=body)
                allowed = role in PERMISSIONS[permission]
                # allowed: past the key check (a 409 from the ledger state is fine here)
                ok = r.status_code not in (401, 403) if allowed else r.status_code == 403
                if not ok:
                    wrong.append(f"{role} {method} {path}: {r.status_code} {r.text[:200]}")
                if not allowed:
                    assert r.json()["status"] == 403 and "needs one of" in r.json()["error"]
            # no key: 401 (except public reads)
            r = await c.request(method, path, json=body)
            expected = 200 if permission == "read" else 401
            if r.status_code != expected:
                wrong.append(f"anonymous {method} {path}: {r.status_code}")
            if expected == 401:
                assert r.headers["www-authenticate"].startswith("ApiKey")
                assert r.json() == {"status": 401, "error": r.json()["error"]}
        assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "bad_key",
    ["nonsense", "frk_000000000000_wrong", "frk_", "x" * 300, ADMIN_KEY + "x", ""],
)
async def test_invalid_keys_are_401(base_ws: Path, tmp_path: Path, bad_key: str) -> None:
    ws = copy_workspace(base_ws, tmp_path / "ws")
    async with app_client(ws, bootstrap_admin_key=ADMIN_KEY) as c:
        real = await make_key(c, "planner")
        for key in (bad_key, real[:-2] + "zz"):
            r = await c.get("/ledger", headers={"X-API-Key": key})
            assert r.status_code == 401, (key, r.text)
            assert "error" in r.json()


async def test_public_read_setting(base_ws: Path, tmp_path: Path) -> None:
    ws = copy_workspace(base_ws, tmp_path / "ws")
    async with app_client(ws, bootstrap_admin_key=ADMIN_KEY, public_read=False) as c:
        assert (await c.get(f"/hydrants/{HYDRANT}/status")).status_code == 401
        viewer = await make_key(c, "viewer")
        r = await c.get(f"/hydrants/{HYDRANT}/status", headers=_h(viewer))
        assert r.status_code == 200 and r.json()["status"] == "in_service"
    async with app_client(ws, public_read=True) as c:
        assert (await c.get(f"/hydrants/{HYDRANT}/status")).status_code == 200
        assert (await c.get("/ledger")).status_code == 401  # records always need a key


async def test_revoke(base_ws: Path, tmp_path: Path) -> None:
    ws = copy_workspace(base_ws, tmp_path / "ws")
    async with app_client(ws, bootstrap_admin_key=ADMIN_KEY) as c:
        planner = await make_key(c, "planner")
        assert (await c.get("/ledger", headers=_h(planner))).status_code == 200  # now cached
        listed = (await c.get("/keys", headers=_h(ADMIN_KEY))).json()
        pid = next(k["key_id"] for k in listed if k["role"] == "planner")
        admin_id = next(k["key_id"] for k in listed if k["role"] == "admin")
        r = await c.delete(f"/keys/{pid}", headers=_h(ADMIN_KEY))
        assert r.status_code == 200 and r.json()["revoked_at"] is not None
        r = await c.get("/ledger", headers=_h(planner))
        assert r.status_code == 401 and "revoked" in r.json()["error"]
        assert (await c.delete(f"/keys/{pid}", headers=_h(ADMIN_KEY))).status_code == 409
        r = await c.delete(f"/keys/{admin_id}", headers=_h(ADMIN_KEY))
        assert r.status_code == 409 and "last active admin" in r.json()["error"]
        assert (await c.delete("/keys/999", headers=_h(ADMIN_KEY))).status_code == 404
        assert (await c.delete("/keys/0", headers=_h(ADMIN_KEY))).status_code == 422
        assert (await c.delete("/keys/abc", headers=_h(ADMIN_KEY))).status_code == 422
        # a second admin may revoke the first
        admin2 = await make_key(c, "admin", "second admin")
        assert (await c.delete(f"/keys/{admin_id}", headers=_h(admin2))).status_code == 200
        assert (await c.get("/keys", headers=_h(ADMIN_KEY))).status_code == 401


@pytest.mark.parametrize(
    "body",
    [{"role": "root", "name": "x"}, {"role": "viewer"}, {"role": "viewer", "name": ""},
     {"role": "viewer", "name": "x", "extra": 1}, {"role": "viewer", "name": "x" * 201}],
)
async def test_key_body_validated(base_ws: Path, tmp_path: Path, body: dict[str, Any]) -> None:
    ws = copy_workspace(base_ws, tmp_path / "ws")
    async with app_client(ws, bootstrap_admin_key=ADMIN_KEY) as c:
        r = await c.post("/keys", json=body, headers=_h(ADMIN_KEY))
        assert r.status_code == 422 and r.json()["error"] == "invalid request"


async def test_bootstrap_only_without_admin(base_ws: Path, tmp_path: Path) -> None:
    ws = copy_workspace(base_ws, tmp_path / "ws")
    async with app_client(ws) as c:  # no bootstrap key: nobody can write
        assert (await c.get("/keys", headers=_h(ADMIN_KEY))).status_code == 401
    async with app_client(ws, bootstrap_admin_key=ADMIN_KEY) as c:
        assert (await c.get("/keys", headers=_h(ADMIN_KEY))).status_code == 200
    other = "another-bootstrap-key-0123456789abcdef"
    async with app_client(ws, bootstrap_admin_key=other) as c:  # an admin exists: ignored
        assert (await c.get("/keys", headers=_h(other))).status_code == 401
        listed = (await c.get("/keys", headers=_h(ADMIN_KEY))).json()
        assert [k["role"] for k in listed] == ["admin"]
    with pytest.raises(ConfigError, match="24"):
        async with app_client(copy_workspace(base_ws, tmp_path / "ws2"), bootstrap_admin_key="short"):
            pass


async def test_create_key_function_for_the_cli(base_ws: Path, tmp_path: Path) -> None:
    ws = copy_workspace(base_ws, tmp_path / "ws")
    store = open_store(ws)
    try:
        key = create_key(store, "admin", "ops")
        with pytest.raises(Exception, match="role"):
            create_key(store, "superuser", "x")
    finally:
        store.close()
    async with app_client(ws) as c:
        r = await c.get("/keys", headers=_h(key))
        assert r.status_code == 200 and r.json()[0]["created_by"] == "cli"


@pytest.mark.parametrize("public_read", [True, False])
async def test_openapi_says_who_may_call(base_ws: Path, tmp_path: Path, public_read: bool) -> None:
    """The document's security and roles match what the server does: every GET without
    required parameters answers an anonymous call with 401 exactly when the document lists no
    empty (optional) requirement; the roles of the write operations are those enforced."""
    ws = copy_workspace(base_ws, tmp_path / "ws")
    async with app_client(ws, bootstrap_admin_key=ADMIN_KEY, public_read=public_read) as c:
        doc = (await c.get("/openapi.json")).json()
        assert set(doc["components"]["securitySchemes"]) == {"APIKeyHeader"}
        checked = 0
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                security = op.get("security")
                if security is None:
                    continue
                assert {"APIKeyHeader": []} in security and op["x-firereach-roles"]
                assert "Access:" in op["description"]
                required = [p for p in op.get("parameters", []) if p.get("required")]
                if method != "get" or required or "{" in path:
                    continue
                r = await c.get(path)
                optional = {} in security
                assert (r.status_code == 401) == (not optional), (path, r.status_code, security)
                checked += 1
        assert checked >= 8
        public = {p for p, ops in doc["paths"].items() for op in ops.values() if {} in op.get("security", [])}
        assert ("/ogc/collections" in public) == public_read and (public_read or not public)
        for permission, method, path, _ in WRITE_ENDPOINTS:
            template = path if path in doc["paths"] else next(
                t for t in doc["paths"]
                if re.fullmatch(re.sub(r"\{[^}]+\}", ".+", t), path) and method.lower() in doc["paths"][t]
            )
            roles = doc["paths"][template][method.lower()]["x-firereach-roles"]
            assert set(roles) == PERMISSIONS[permission], (method, path)
        # the OGC API definition (OpenAPI 3.0) says the same
        ogc = (await c.get("/ogc/api", headers=_h(ADMIN_KEY))).json()
        items = ogc["paths"]["/ogc/collections/{collection_id}/items"]["get"]
        assert ({} in items["security"]) == public_read


async def test_keys_expire_and_rotate(base_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a key made to live 1 day works today and answers 401 "expired" two days later; rotating it
    # gives a new key of the same role and name, with the old one revoked in the same write
    import api.auth

    ws = copy_workspace(base_ws, tmp_path / "ws")
    async with app_client(ws, bootstrap_admin_key=ADMIN_KEY) as c:
        r = await c.post("/keys", json={"role": "viewer", "name": "临时", "expires_in_days": 1},
                         headers=_h(ADMIN_KEY))
        assert r.status_code == 201 and r.json()["expires_at"] is not None
        old, old_id = r.json()["key"], r.json()["key_id"]
        assert (await c.get("/ledger", headers=_h(old))).status_code == 200
        later = api.auth.utc_now() + timedelta(days=2)
        monkeypatch.setattr(api.auth, "utc_now", lambda: later)
        r = await c.get("/ledger", headers=_h(old))
        assert r.status_code == 401 and "expired" in r.json()["error"]
        monkeypatch.undo()
        r = await c.post(f"/keys/{old_id}/rotate", json={"expires_in_days": 30},
                         headers=_h(ADMIN_KEY))
        assert r.status_code == 201, r.text
        new = r.json()
        assert (new["role"], new["name"]) == ("viewer", "临时") and new["key"] != old
        assert (await c.get("/ledger", headers=_h(new["key"]))).status_code == 200
        assert (await c.get("/ledger", headers=_h(old))).status_code == 401  # revoked
        listed = {k["key_id"]: k for k in (await c.get("/keys", headers=_h(ADMIN_KEY))).json()}
        assert listed[old_id]["revoked_at"] is not None and listed[new["key_id"]]["revoked_at"] is None
        assert (await c.post("/keys/999999/rotate", headers=_h(ADMIN_KEY))).status_code == 404

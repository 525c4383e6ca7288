"""The service's edge (api.guard, api.throttle): body limits before reading, authentication before
parsing, header and path bounds, rate limits and failed-key throttling, security headers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, HTTPException

import api.auth
from api.app import create_app
from api.auth import KeyRing, bootstrap_admin, create_key
from api.guard import EdgeLimits
from api.routers.web import WEB_DIR, _file
from api.settings import Settings
from api.store import open_store
from api.throttle import FailureThrottle, TokenBuckets
from tests.api.server import asgi_client

pytestmark = pytest.mark.anyio
ADMIN_KEY = "guard-tests-admin-key-0123456789abcdef"
MB = 1_048_576
REPORT = {"lon": 121.503, "lat": 31.2805, "kind": "goods", "reporter": "x"}


@dataclass
class Answer:
    """What a raw ASGI call got back, and how much of the body the app pulled."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks_read: int = 0
    bytes_read: int = 0

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: FastAPI, method: str, path: str, *, headers: dict[str, str] | None = None,
    chunks: int = 0, chunk_bytes: int = 65_536, client: str = "127.0.0.1",
) -> Answer:
    """One request straight through ASGI: the body is ``chunks`` chunks made only when the app
    asks for them (a 200 MB body costs nothing unless it is read)."""
    answer = Answer()
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": raw, "client": (client, 50000), "server": ("t", 80),
             "state": {}}

    async def receive() -> dict[str, Any]:
        if answer.chunks_read >= chunks:
            return {"type": "http.disconnect"}
        answer.chunks_read += 1
        answer.bytes_read += chunk_bytes
        return {"type": "http.request", "body": b" " * chunk_bytes,
                "more_body": answer.chunks_read < chunks}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await app(scope, receive, send)
    return answer


async def started(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def app(tiny_ws: Path) -> AsyncIterator[FastAPI]:
    async for a in started(Settings(workspace=tiny_ws, bootstrap_admin_key=ADMIN_KEY,
                                    max_body_bytes=100_000, _env_file=None)):
        yield a


# --- bodies ----------------------------------------------------------------------------------


async def test_declared_large_body_is_413_before_reading(app: FastAPI) -> None:
    # 200 MB announced, with a valid key: refused on the header, not one chunk pulled
    head = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json",
            "Content-Length": str(200 * MB)}
    got = await call(app, "POST", "/ledger", headers=head, chunks=3200)
    assert got.status == 413 and got.chunks_read == 0
    assert got.json()["status"] == 413 and "100000 bytes" in got.json()["error"]
    assert got.headers["content-type"] == "application/json"


async def test_chunked_body_is_cut_at_the_limit(app: FastAPI) -> None:
    # no Content-Length, 64 KiB chunks: 65,536 < 100,000 < 131,072, so the second chunk is the last read
    head = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"}
    got = await call(app, "POST", "/ledger", headers=head, chunks=3200)
    assert got.status == 413 and got.chunks_read == 2, (got.status, got.chunks_read, got.body)
    assert got.json()["status"] == 413


@pytest.mark.parametrize("key", [None, "not-a-key", "frk_000000000000_wrong", "viewer"])
async def test_write_without_a_valid_key_never_reads_the_body(app: FastAPI, key: str | None) -> None:
    if key == "viewer":
        key = create_key(app.state.store, "viewer", "read only")
    head = {"Content-Type": "application/json", **({} if key is None else {"X-API-Key": key})}
    # a 200 MB chunked body (3,200 x 64 KiB): the key is refused before one chunk is pulled
    got = await call(app, "POST", "/ledger", headers=head, chunks=3200)
    assert got.status == (403 if key and key.startswith("frk_") and "wrong" not in key else 401)
    assert got.chunks_read == 0 and got.bytes_read == 0
    assert got.json()["status"] == got.status
    # under the limit, announced: the same, nothing read
    got = await call(app, "POST", "/ledger", headers={**head, "Content-Length": "65536"}, chunks=1)
    assert got.status in (401, 403) and got.chunks_read == 0


async def test_a_valid_key_then_reads_and_parses_the_body(app: FastAPI) -> None:
    async with _client(app) as c:
        r = await c.post("/ledger", json=REPORT, headers={"X-API-Key": ADMIN_KEY})
    assert r.status_code in (201, 422), r.text  # the body was parsed (the position may be off the map)


def _client(app: FastAPI) -> Any:
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_body_limit_by_path_prefix() -> None:
    limits = EdgeLimits.from_settings(Settings(
        max_body_bytes=2_048, _env_file=None,
        max_body_bytes_by_path={"/imports": 50 * MB, "/imports/photos": 10 * MB},
    ))
    assert limits.body_limit("/ledger") == 2_048
    assert limits.body_limit("/imports") == 50 * MB
    assert limits.body_limit("/imports/roads") == 50 * MB
    assert limits.body_limit("/imports/photos/1") == 10 * MB  # the longest prefix wins
    assert limits.body_limit("/importsx") == 2_048  # a prefix is a whole segment
    with pytest.raises(ValueError, match="starting with /"):
        Settings(max_body_bytes_by_path={"imports": 5_000}, _env_file=None)


async def test_per_path_limit_applies(tiny_ws: Path) -> None:
    settings = Settings(workspace=tiny_ws, bootstrap_admin_key=ADMIN_KEY, _env_file=None,
                        max_body_bytes_by_path={"/ledger": 2_048})
    async for a in started(settings):
        head = {"X-API-Key": ADMIN_KEY, "Content-Type": "application/json", "Content-Length": "3000"}
        assert (await call(a, "POST", "/ledger", headers=head, chunks=1, chunk_bytes=3000)).status == 413
        # the default (1 MiB) elsewhere: 3,000 bytes of spaces reach the route (an invalid body)
        got = await call(a, "POST", "/hydrants/osm/6/status", headers=head, chunks=1, chunk_bytes=3000)
        assert got.status == 422 and got.chunks_read == 1


# --- request line and headers ----------------------------------------------------------------------


async def test_nul_byte_in_a_static_path_is_a_client_error(app: FastAPI) -> None:
    async with _client(app) as c:
        for path in ("/static/web/%00", "/static/leaflet/a%00.js", "/static/web/app.js%0a",
                     "/static/docs/redoc/%00.js"):
            r = await c.get(path)
            assert r.status_code == 404, (path, r.status_code)
            assert r.json()["status"] == 404 and "control character" in r.json()["error"]
    # and the file helper itself, reached some other way: 404, never a 500
    with pytest.raises(HTTPException) as info:
        _file(WEB_DIR, "app\x00.js")
    assert info.value.status_code == 404


async def test_long_ids_and_targets_are_refused_without_echo(app: FastAPI) -> None:
    long_id = "x" * 300  # > 256 characters (max_id_chars)
    async with _client(app) as c:
        r = await c.get(f"/ledger/{long_id}", headers={"X-API-Key": ADMIN_KEY})
        assert r.status_code == 404 and long_id not in r.text and "256 characters" in r.text
        r = await c.get("/ogc/collections?" + "q=" + "y" * 9000)  # > 8,192 (max_path_chars)
        assert r.status_code == 414 and "y" * 100 not in r.text
        r = await c.get("/ogc", headers={f"X-H{i}": "1" for i in range(120)})
        assert r.status_code == 431 and "100 headers" in r.text
        r = await c.get("/ogc", headers={"X-Big": "z" * 20_000})
        assert r.status_code == 431 and "z" * 100 not in r.text
        r = await c.get("/ogc/collections/" + "c" * 200)  # under the bound: the route answers
        assert r.status_code == 404


async def test_security_headers_on_every_response(app: FastAPI) -> None:
    async with _client(app) as c:
        for path in ("/", "/ogc", "/health", "/no/such/page", "/static/web/%00"):
            r = await c.get(path)
            assert r.headers["x-content-type-options"] == "nosniff", path
            assert r.headers["referrer-policy"] == "no-referrer"
            assert r.headers["x-frame-options"] == "DENY"
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
            scripts = csp.split("script-src")[1].split(";")[0]
            assert "unsafe-eval" not in csp and "'unsafe-inline'" not in scripts


# --- keys and rate limits --------------------------------------------------------------------------


def test_token_buckets() -> None:
    buckets = TokenBuckets(2.0, 3)
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]  # the burst
    assert buckets.take("a", now=0.0) == pytest.approx(0.5)  # 1 token / 2 per s
    assert buckets.take("b", now=0.0) == 0.0  # another name has its own bucket
    assert buckets.take("a", now=0.5) == 0.0  # 0.5 s x 2/s = 1 token back
    assert buckets.take("a", now=0.75) == pytest.approx(0.25)  # 0.5 token back, half a token short
    small = TokenBuckets(1.0, 1, max_names=2)
    small.take("a", now=0.0)
    small.take("b", now=0.0)
    small.take("c", now=0.0)  # "a" is forgotten: a full bucket again
    assert small.take("a", now=0.0) == 0.0 and small.take("c", now=0.0) == pytest.approx(1.0)


def test_failure_throttle_backs_off_exponentially() -> None:
    throttle = FailureThrottle(allowed=2, max_wait_s=10.0)
    for _ in range(3):
        assert throttle.wait("a", now=0.0) == 0.0
        throttle.failed("a", now=0.0)
    assert throttle.wait("a", now=0.0) == pytest.approx(1.0)  # 1 over: 2**0 s
    assert throttle.wait("a", now=0.4) == pytest.approx(0.6)
    assert throttle.wait("b", now=0.4) == 0.0
    throttle.failed("a", now=1.0)  # 2 over: 2**1 s from t = 1
    assert throttle.wait("a", now=1.5) == pytest.approx(1.5)
    for t in range(2, 10):
        throttle.failed("a", now=float(t))  # 10 over at t = 9: 2**9 s, capped at 10
    assert throttle.wait("a", now=9.0) == pytest.approx(10.0)
    assert throttle.wait("a", now=19.5) == 0.0  # quiet for longer than 10 s: forgotten


def test_no_scrypt_for_strings_that_cannot_be_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(tmp_path)
    try:
        bootstrap_admin(store, ADMIN_KEY)
        keyring = KeyRing(store)
        calls: list[str] = []
        real = api.auth._hash

        def counting(key: str, salt: bytes, kdf: str) -> bytes:
            calls.append(key)
            return real(key, salt, kdf)

        monkeypatch.setattr(api.auth, "_hash", counting)
        for wrong in ("short", " padded-but-long-enough-0123456789 ", "frk_unknownid123_secret"):
            with pytest.raises(api.auth.AuthenticationError):
                keyring.check(wrong)
        assert calls == []  # too short, surrounding spaces, an unknown public id: nothing hashed
        shaped = "y" * 30  # could be a bootstrap key: hashed once against the one bootstrap key
        for _ in range(3):
            with pytest.raises(api.auth.AuthenticationError):
                keyring.check(shaped)
        assert calls == [shaped]  # then remembered as wrong
        assert keyring.check(ADMIN_KEY).role == "admin" and keyring.check(ADMIN_KEY).role == "admin"
        assert calls == [shaped, ADMIN_KEY] and keyring.recognises(ADMIN_KEY)
    finally:
        store.close()


async def test_wrong_keys_from_one_address_get_429(tiny_ws: Path) -> None:
    settings = Settings(workspace=tiny_ws, bootstrap_admin_key=ADMIN_KEY, auth_failures_allowed=2,
                        _env_file=None)
    async for a in started(settings):
        head = {"Content-Type": "application/json"}
        got = [await call(a, "POST", "/ledger", headers={**head, "X-API-Key": f"wrong-key-{i}"})
               for i in range(4)]
        # failures 1-3 are checked (401); the third is one over 2, so the fourth waits 2**0 = 1 s
        assert [g.status for g in got] == [401, 401, 401, 429]
        assert got[3].headers["retry-after"] == "1" and got[3].json()["status"] == 429
        # reads too (the key is checked in the route's dependency there)
        r = await call(a, "GET", "/ledger", headers={"X-API-Key": "wrong-key-x"})
        assert r.status == 429
        # another address is not held up, nor is a key already known from this one
        assert (await call(a, "GET", "/ledger", headers={"X-API-Key": "wrong-key-y"},
                           client="10.0.0.2")).status == 401
        ok = await call(a, "GET", "/ledger", headers={"X-API-Key": ADMIN_KEY}, client="10.0.0.3")
        assert ok.status == 200
        assert (await call(a, "GET", "/ledger", headers={"X-API-Key": ADMIN_KEY})).status == 200


async def test_rate_limit_per_address_and_per_key(tiny_ws: Path) -> None:
    settings = Settings(workspace=tiny_ws, bootstrap_admin_key=ADMIN_KEY, rate_limit_per_s=0.5,
                        rate_limit_burst=3, _env_file=None)
    async for a in started(settings):
        got = [await call(a, "GET", "/web/vocabulary.json") for _ in range(4)]
        assert [g.status for g in got] == [200, 200, 200, 429]  # a burst of 3
        assert got[3].headers["retry-after"] == "2"  # one token at 0.5/s: 2 s
        assert got[3].json() == {"status": 429, "error": "too many requests from this address; wait 2 s"}
        assert (await call(a, "GET", "/health")).status == 200  # probes are never limited
        # one key from three fresh addresses: the key's own bucket runs out
        key = {"X-API-Key": ADMIN_KEY}
        statuses = [(await call(a, "GET", "/ledger", headers=key, client=f"10.0.1.{i}")).status
                    for i in range(4)]
        assert statuses == [200, 200, 200, 429]
        last = await call(a, "GET", "/ledger", headers=key, client="10.0.1.9")
        assert "this API key" in last.json()["error"]


async def test_no_rate_limit_when_off(tiny_ws: Path) -> None:
    settings = Settings(workspace=tiny_ws, rate_limit_per_s=0, rate_limit_burst=1, _env_file=None)
    async for a in started(settings):
        assert {(await call(a, "GET", "/web/vocabulary.json")).status for _ in range(5)} == {200}


async def test_asgi_client_still_works(tiny_ws: Path) -> None:
    # the usual in-process client: the guard does not get in the way of an ordinary write
    app = create_app(Settings(workspace=tiny_ws, bootstrap_admin_key=ADMIN_KEY, _env_file=None))
    async with asgi_client(app) as c:
        r = await c.post("/hydrants/osm/6/status", headers={"X-API-Key": ADMIN_KEY},
                         json={"status": "in_service", "inspector": "x"})
        assert r.status_code == 201, r.text


def test_openapi_lists_the_edge_answers() -> None:
    doc = create_app(Settings(_env_file=None)).openapi()
    report = doc["paths"]["/ledger"]["post"]["responses"]
    assert {"413", "414", "429", "431"} <= set(report)
    assert report["429"]["content"]["application/json"]["schema"]["required"] == ["status", "error"]
    listing = doc["paths"]["/ledger"]["get"]["responses"]
    assert "413" not in listing and "429" in listing  # no body, no 413
    assert "429" not in doc["paths"]["/health"]["get"]["responses"]  # probes are not limited
    assert doc.get("x-firereach-access")  # the access notes are still there

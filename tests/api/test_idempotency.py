"""Idempotency-Key on the field writes: a retried report or inspection is stored once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.store import open_store
from tests.api.server import copy_workspace
from tests.api.test_ledger import WEST_POINT, Client, base_ws, ledger  # noqa: F401  (fixture)

pytestmark = pytest.mark.anyio

BODY = {"lon": WEST_POINT[0], "lat": WEST_POINT[1], "kind": "parked_vehicle", "reporter": "网格员 张三"}


@pytest.fixture
def ws(base_ws: Path, tmp_path: Path) -> Path:  # noqa: F811
    return copy_workspace(base_ws, tmp_path / "ws")


async def _post(c: Client, path: str, role: str, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> httpx.Response:
    return await c.http.post(path, json=body, headers={"X-API-Key": c.keys[role], **(headers or {})})


def _count(ws: Path, table: str) -> int:
    store = open_store(ws)
    try:
        with store.read() as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    finally:
        store.close()


async def test_a_retried_report_is_stored_once(ws: Path) -> None:
    async with ledger(ws) as c:
        key = {"Idempotency-Key": "phone-7f3a-0001"}
        first = await _post(c, "/ledger", "inspector", BODY, key)
        again = await _post(c, "/ledger", "inspector", BODY, key)
        assert first.status_code == again.status_code == 201
        assert "Idempotent-Replayed" not in first.headers
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["blockage_id"] == first.json()["blockage_id"]
        assert again.headers["Location"] == first.headers["Location"]
        # two copies racing each other: still one item
        race = {"Idempotency-Key": "phone-7f3a-0002"}
        both = await asyncio.gather(*(_post(c, "/ledger", "inspector", BODY, race) for _ in range(2)))
        assert len({r.json()["blockage_id"] for r in both}) == 1
        # the same key for another report is refused, and nothing is stored for it
        other = await _post(c, "/ledger", "inspector", {**BODY, "kind": "gate"}, key)
        assert other.status_code == 422 and "different request" in other.json()["error"]
        # without a key (or with a new one) every request is a new report
        plain = await _post(c, "/ledger", "inspector", BODY)
        assert plain.status_code == 201 and plain.json()["blockage_id"] != first.json()["blockage_id"]
        # a key is the caller's own: another key's same Idempotency-Key is a new report
        mine = await _post(c, "/ledger", "planner", BODY, key)
        assert mine.status_code == 201 and "Idempotent-Replayed" not in mine.headers
    assert _count(ws, "blockages") == 4  # first, race, plain, planner's


async def test_a_retried_inspection_is_stored_once(ws: Path) -> None:
    async with ledger(ws) as c:
        key = {"Idempotency-Key": "insp-0001"}
        body = {"status": "out_of_service", "inspector": "巡查员 李四"}
        first = await _post(c, "/hydrants/osm/6/status", "inspector", body, key)
        again = await _post(c, "/hydrants/osm/6/status", "inspector", body, key)
        assert first.status_code == again.status_code == 201, first.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["event"] == first.json()["event"]
        assert again.json()["recomputed"]["applied"] is False  # nothing applied twice
        # the same key on another hydrant's route is another request
        r = await _post(c, "/hydrants/osm/42/status", "inspector", body, key)
        assert r.status_code == 422
        too_long = {"Idempotency-Key": "x" * 256}
        r = await _post(c, "/hydrants/osm/6/status", "inspector", body, too_long)
        assert r.status_code in (400, 422)
    assert _count(ws, "hydrant_events") == 1


async def test_a_retried_transition_is_made_once(ws: Path) -> None:
    async with ledger(ws) as c:
        item = await c.report()
        bid = item["blockage_id"]
        path = f"/ledger/{bid}/transitions"
        body = {"to": "assigned", "assignee": "五角场街道城管中队", "note": "派单"}
        key = {"Idempotency-Key": "desk-0001"}
        first = await _post(c, path, "planner", body, key)
        # the answer was lost: the same move again would be a 409 (assigned -> assigned); with
        # the key it is a replay that changes nothing
        again = await _post(c, path, "planner", body, key)
        assert first.status_code == again.status_code == 200, first.text
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert again.json()["status"] == "assigned"
        assert len(again.json()["audit"]) == len(first.json()["audit"])  # one audit entry
        # without the key the repeat is refused as a move not allowed from 'assigned'
        plain = await _post(c, path, "planner", body)
        assert plain.status_code == 409
        # the same key for another move, or on another item, is another request
        r = await _post(c, path, "planner", {**body, "note": "改派"}, key)
        assert r.status_code == 422 and "different request" in r.json()["error"]
        other = await c.report()
        r = await _post(c, f"/ledger/{other['blockage_id']}/transitions", "planner", body, key)
        assert r.status_code == 422
        # two copies racing each other: one move, one audit entry
        race = {"Idempotency-Key": "desk-0002"}
        fix = {"to": "rectified", "note": "已整改"}
        both = await asyncio.gather(*(_post(c, path, "planner", fix, race) for _ in range(2)))
        assert sorted(r.status_code for r in both) == [200, 200], [r.text for r in both]
    store = open_store(ws)
    try:
        with store.read() as conn:
            moves = conn.execute("SELECT COUNT(*) FROM blockage_audit WHERE blockage_id = ? "
                                 "AND action != ?",
                                 (bid, "report")).fetchone()[0]
    finally:
        store.close()
    assert moves == 2  # assigned once, rectified once


async def test_a_retried_key_creation_or_rotation_makes_one_key(ws: Path) -> None:
    async with ledger(ws) as c:
        body = {"role": "inspector", "name": "网格员 手机 12"}
        key = {"Idempotency-Key": "admin-keys-0001"}
        first = await _post(c, "/keys", "admin", body, key)
        again = await _post(c, "/keys", "admin", body, key)
        assert first.status_code == again.status_code == 201, first.text
        assert first.json()["key"].startswith("frk_") and "Idempotent-Replayed" not in first.headers
        # the replay names the same key, without its text (shown once, never stored)
        assert again.json()["key"] is None and again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["key_id"] == first.json()["key_id"]
        assert again.headers["Cache-Control"] == "no-store"
        # the first answer's key works
        r = await c.http.get("/ledger", headers={"X-API-Key": first.json()["key"]})
        assert r.status_code == 200
        # another body with the key is refused
        r = await _post(c, "/keys", "admin", {**body, "name": "other"}, key)
        assert r.status_code == 422
        # a rotation retried: one new key, the old one revoked once
        kid = first.json()["key_id"]
        rot = {"Idempotency-Key": "admin-rotate-0001"}
        r1 = await _post(c, f"/keys/{kid}/rotate", "admin", {}, rot)
        r2 = await _post(c, f"/keys/{kid}/rotate", "admin", {}, rot)
        assert r1.status_code == r2.status_code == 201, r2.text
        assert r2.json()["key_id"] == r1.json()["key_id"] and r2.json()["key"] is None
    n_keys = _count(ws, "api_keys")
    # the bootstrap admin, viewer, inspector, planner (the fixture), the created key, the rotation
    assert n_keys == 6, n_keys

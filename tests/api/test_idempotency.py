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

"""The blockage ledger through HTTP: state machine, audit trail, filters, export, validation."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.settings import Settings
from api.store import (
    LEDGER_STATUSES,
    TRANSITIONS,
    Actor,
    LedgerQuery,
    Transition,
    list_blockages,
    open_store,
    transition_blockage,
    utc_now,
)
from geo.agency import read_agency_table
from tests.api.server import asgi_client, build_workspace, copy_workspace

pytestmark = pytest.mark.anyio

ADMIN_KEY = "ledger-tests-admin-key-0123456789abcdef"
SLA = {"reported": 2.0, "assigned": 7.0, "rectified": 3.0, "verified": 3.0}
# The tiny fixture lies at 121.500-121.506 E, 31.279-31.282 N (Shanghai, Yangpu).
WEST_POINT = (121.501, 31.2805)
EAST_POINT = (121.505, 31.2805)
#: How to bring a new item (status 'reported') to each status.
#: The state machine as the README and the field's practice state it, written out here and never
#: taken from the code under test: report → assign → rectify → verify → close (整改、对账销号);
#: a report may be rejected (驳回) or marked a duplicate; a failed verification (复核不通过) sends
#: the item back; a closed item is reopened explicitly. (from, to) -> audited action.
EXPECTED: dict[tuple[str, str], str] = {
    ("reported", "assigned"): "assign",
    ("reported", "rejected"): "reject",
    ("reported", "duplicate"): "mark_duplicate",
    ("assigned", "rectified"): "rectify",
    ("rectified", "verified"): "verify",
    ("rectified", "assigned"): "send_back",
    ("verified", "closed"): "close",
    ("closed", "reported"): "reopen",
    ("duplicate", "reported"): "restore",
}
#: Moves that must give their reason: reject, reopen, send back (复核不通过: what failed) and
#: restore (why it is no duplicate).
NEEDS_NOTE = frozenset({("reported", "rejected"), ("closed", "reported"), ("rectified", "assigned"),
                        ("duplicate", "reported")})

PATH_TO: dict[str, list[str]] = {
    "reported": [],
    "assigned": ["assigned"],
    "rectified": ["assigned", "rectified"],
    "verified": ["assigned", "rectified", "verified"],
    "closed": ["assigned", "rectified", "verified", "closed"],
    "rejected": ["rejected"],
    "duplicate": ["duplicate"],
}


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    districts = folder / "districts.geojson"
    features = [
        {"type": "Feature", "properties": {"name": name},
         "geometry": {"type": "Polygon", "coordinates": [[
             [w, 31.27], [e, 31.27], [e, 31.29], [w, 31.29], [w, 31.27]]]}}
        for name, w, e in (("五角场街道", 121.49, 121.503), ("四平路街道", 121.503, 121.52))
    ]
    districts.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                         encoding="utf-8")
    return build_workspace(folder / "ws", districts=districts)


@dataclass
class Client:
    """A client with one key per role."""

    http: httpx.AsyncClient
    keys: dict[str, str]

    async def request(self, method: str, path: str, *, role: str = "planner", **kw: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={"X-API-Key": self.keys[role]}, **kw)

    async def report(self, **fields: Any) -> dict[str, Any]:
        body = {"lon": WEST_POINT[0], "lat": WEST_POINT[1], "kind": "parked_vehicle",
                "reporter": "网格员 张三", **fields}
        r = await self.request("POST", "/ledger", role="inspector", json=body)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    async def move(self, blockage_id: int, to: str, **fields: Any) -> httpx.Response:
        body = {"to": to, "note": f"to {to}", "assignee": "五角场街道城管中队", **fields}
        return await self.request("POST", f"/ledger/{blockage_id}/transitions", json=body)


@asynccontextmanager
async def ledger(ws: Path, **settings: Any) -> AsyncIterator[Client]:
    app = create_app(Settings(workspace=ws, bootstrap_admin_key=ADMIN_KEY,
                              ledger_sla_days=settings.pop("ledger_sla_days", SLA), **settings))
    async with asgi_client(app) as http:
        keys = {"admin": ADMIN_KEY}
        for role in ("viewer", "inspector", "planner"):
            r = await http.post("/keys", json={"role": role, "name": f"{role} 1"},
                                headers={"X-API-Key": ADMIN_KEY})
            keys[role] = r.json()["key"]
        yield Client(http, keys)


@pytest.fixture
def ws(base_ws: Path, tmp_path: Path) -> Path:
    return copy_workspace(base_ws, tmp_path / "ws")


async def test_report_and_read_back(ws: Path) -> None:
    async with ledger(ws) as c:
        item = await c.report(photo_url="https://img.example.org/a.jpg", remaining_width_m=2.5,
                              note="占用消防车道", kind="goods")
        assert item["status"] == "reported" and item["district"] == "五角场街道"
        assert item["photo_url"] == "https://img.example.org/a.jpg"
        assert item["remaining_width_m"] == 2.5 and item["overdue"] is False
        assert item["audit"] == [{**item["audit"][0], "action": "report", "from_status": None,
                                  "to_status": "reported", "actor": "inspector 1",
                                  "note": "占用消防车道"}]
        east = await c.report(lon=EAST_POINT[0], lat=EAST_POINT[1])
        assert east["district"] == "四平路街道"
        r = await c.request("GET", f"/ledger/{item['blockage_id']}", role="viewer")
        assert r.status_code == 200 and r.json() == item


async def test_every_transition(ws: Path) -> None:
    """All 7 x 7 (from, to) pairs: allowed ones succeed and are audited, the rest are 409."""
    async with ledger(ws) as c:
        other = (await c.report())["blockage_id"]
        wrong: list[str] = []
        for frm in LEDGER_STATUSES:
            for to in LEDGER_STATUSES:
                bid = (await c.report())["blockage_id"]
                for step in PATH_TO[frm]:
                    r = await c.move(bid, step, duplicate_of=other)
                    assert r.status_code == 200, (frm, step, r.text)
                assert (await c.request("GET", f"/ledger/{bid}")).json()["status"] == frm
                r = await c.move(bid, to, duplicate_of=other)
                detail = (await c.request("GET", f"/ledger/{bid}")).json()
                if (frm, to) in EXPECTED:
                    last = detail["audit"][-1]
                    if not (r.status_code == 200 and detail["status"] == to
                            and (last["from_status"], last["to_status"]) == (frm, to)
                            and last["action"] == EXPECTED[(frm, to)]
                            and last["actor"] == "planner 1"):
                        wrong.append(f"{frm}->{to} should pass: {r.status_code} {r.text[:200]}")
                else:
                    error = r.json().get("error", "")
                    listed = all(t in error for (f, t) in EXPECTED if f == frm)
                    if not (r.status_code == 409 and detail["status"] == frm and listed
                            and len(detail["audit"]) == 1 + len(PATH_TO[frm])):
                        wrong.append(f"{frm}->{to} should be 409: {r.status_code} {error}")
        assert not wrong, "\n".join(wrong)
        assert TRANSITIONS == EXPECTED


async def test_a_report_found_more_than_a_week_ago_is_refused(ws: Path) -> None:
    # 8 days back would start the SLA clock 8 days ago (overdue at once in the district tables):
    # 422 saying what to do; 6 days back is a late report, kept with its time
    async with ledger(ws) as c:
        r = await c.request("POST", "/ledger", role="inspector", json={
            "lon": WEST_POINT[0], "lat": WEST_POINT[1], "kind": "goods", "reporter": "x",
            "reported_at": (datetime.now(UTC) - timedelta(days=8)).isoformat()})
        assert r.status_code == 422 and "7 days" in r.text
        six = datetime.now(UTC) - timedelta(days=6)
        item = await c.report(reported_at=six.isoformat())
        assert abs(datetime.fromisoformat(item["reported_at"]) - six) < timedelta(seconds=1)


async def test_duplicates_point_at_an_original_and_can_be_restored(ws: Path) -> None:
    """A marked a duplicate of B: B cannot then be marked a duplicate of A (nor of any duplicate:
    409 naming the original), so no two items are duplicates of each other; A is restored to a
    report of its own with a reason, its duplicate_of cleared and the move audited."""
    async with ledger(ws) as c:
        a, b, d = [(await c.report())["blockage_id"] for _ in range(3)]
        assert (await c.move(a, "duplicate", duplicate_of=b)).status_code == 200
        r = await c.move(b, "duplicate", duplicate_of=a)
        assert r.status_code == 409 and f"duplicate of {b}" in r.json()["error"], r.text
        assert (await c.request("GET", f"/ledger/{b}")).json()["status"] == "reported"
        r = await c.move(d, "duplicate", duplicate_of=a)  # a chain: refused as well
        assert r.status_code == 409
        assert (await c.move(a, "reported", note=None)).status_code == 422  # a reason is needed
        r = await c.move(a, "reported", note="不同位置，非重复")
        item = (await c.request("GET", f"/ledger/{a}")).json()
        assert r.status_code == 200 and item["status"] == "reported" and item["duplicate_of"] is None
        assert item["audit"][-1]["action"] == "restore"
        # every changed field is in the audit, with the acting key's unique id
        mark, restore = item["audit"][-2:]
        assert mark["changes"] == {"status": ["reported", "duplicate"], "duplicate_of": [None, b]}
        assert restore["changes"] == {"status": ["duplicate", "reported"], "duplicate_of": [b, None]}
        assert isinstance(mark["key_id"], int) and mark["key_id"] == restore["key_id"]
        assert item["audit"][0]["key_id"] != mark["key_id"]  # reported by the inspector's key
        # now B may be marked a duplicate of A
        assert (await c.move(b, "duplicate", duplicate_of=a)).status_code == 200


async def test_reject_and_reopen_need_a_note(ws: Path) -> None:
    """Every allowed move without a note: reject, reopen and send back are refused (status
    unchanged, not audited); every other move passes."""
    async with ledger(ws) as c:
        other = (await c.report())["blockage_id"]
        for frm, to in EXPECTED:
            bid = (await c.report())["blockage_id"]
            for step in PATH_TO[frm]:
                assert (await c.move(bid, step, duplicate_of=other)).status_code == 200
            r = await c.move(bid, to, duplicate_of=other, note=None)
            detail = (await c.request("GET", f"/ledger/{bid}")).json()
            if (frm, to) in NEEDS_NOTE:
                assert r.status_code == 422 and "note" in r.text, (frm, to, r.text)
                assert detail["status"] == frm and len(detail["audit"]) == 1 + len(PATH_TO[frm])
                r = await c.move(bid, to, duplicate_of=other, note="   ")
                assert r.status_code == 422, (frm, to, "a blank note is no reason")
            else:
                assert r.status_code == 200 and detail["status"] == to, (frm, to, r.text)


async def test_audit_trail_is_complete(ws: Path) -> None:
    async with ledger(ws) as c:
        bid = (await c.report(note="发现"))["blockage_id"]
        steps = [("assigned", {}), ("rectified", {}), ("assigned", {"note": "复核不通过"}),
                 ("rectified", {}), ("verified", {}), ("closed", {}), ("reported", {"note": "复发"}),
                 ("rejected", {"note": "重复上报"})]
        # failed attempts leave no trace
        assert (await c.move(bid, "closed")).status_code == 409
        assert (await c.request("POST", f"/ledger/{bid}/transitions", role="inspector",
                                json={"to": "assigned", "assignee": "x"})).status_code == 403
        assert (await c.request("POST", f"/ledger/{bid}/transitions",
                                json={"to": "assigned"})).status_code == 422
        for to, extra in steps:
            r = await c.move(bid, to, **extra)
            assert r.status_code == 200, r.text
        detail = (await c.request("GET", f"/ledger/{bid}", role="viewer")).json()
    audit = detail["audit"]
    assert [a["to_status"] for a in audit] == ["reported"] + [s for s, _ in steps]
    assert [a["from_status"] for a in audit] == [None] + [a["to_status"] for a in audit[:-1]]
    assert [a["action"] for a in audit] == [
        "report", "assign", "rectify", "send_back", "rectify", "verify", "close", "reopen", "reject"
    ]
    assert [a["note"] for a in audit][3] == "复核不通过"
    times = [a["at"] for a in audit]
    assert times == sorted(times)
    assert {a["actor"] for a in audit[1:]} == {"planner 1"}
    assert detail["status"] == "rejected" and detail["status_since"] == audit[-1]["at"]
    assert detail["assignee"] == "五角场街道城管中队"


async def test_transition_details(ws: Path) -> None:
    async with ledger(ws) as c:
        a = (await c.report())["blockage_id"]
        b = (await c.report())["blockage_id"]
        r = await c.move(b, "duplicate", duplicate_of=b)
        assert r.status_code == 422 and "itself" in r.json()["error"]
        r = await c.move(b, "duplicate", duplicate_of=999_999)
        assert r.status_code == 404
        r = await c.move(b, "duplicate", duplicate_of=a)
        assert r.status_code == 200 and r.json()["duplicate_of"] == a
        r = await c.move(a, "assigned", expected_from="assigned")
        assert r.status_code == 409 and "not 'assigned' as expected" in r.json()["error"]
        r = await c.move(a, "assigned", expected_from="reported")
        assert r.status_code == 200
        # send back from rectified needs a note
        assert (await c.move(a, "rectified")).status_code == 200
        r = await c.move(a, "assigned", note=None)
        assert r.status_code == 422 and "reason" in r.json()["error"]
        assert (await c.move(999_999, "assigned")).status_code == 404


async def test_filters_and_paging(ws: Path) -> None:
    old = (datetime.now(UTC) - timedelta(days=5)).isoformat()
    async with ledger(ws) as c:
        ids = [(await c.report(reported_at=old))["blockage_id"] for _ in range(3)]
        ids += [(await c.report(lon=EAST_POINT[0], lat=EAST_POINT[1]))["blockage_id"] for _ in range(4)]
        assert (await c.move(ids[3], "assigned")).status_code == 200

        async def get(**params: Any) -> dict[str, Any]:
            r = await c.request("GET", "/ledger", role="viewer", params=params)
            assert r.status_code == 200, r.text
            out: dict[str, Any] = r.json()
            return out

        def got(page: dict[str, Any]) -> list[int]:
            return [i["blockage_id"] for i in page["items"]]

        assert got(await get()) == ids
        assert got(await get(status="assigned")) == [ids[3]]
        assert got(await get(status=["assigned", "reported"])) == ids
        assert got(await get(district="五角场街道")) == ids[:3]
        assert got(await get(district="四平路街道", status="reported")) == ids[4:]
        page = await get(overdue="true")
        assert got(page) == ids[:3] and all(i["overdue"] for i in page["items"])
        assert got(await get(overdue="false")) == ids[3:]
        assert got(await get(bbox="121.503,31.27,121.52,31.29")) == ids[3:]
        assert got(await get(bbox="121.0,31.0,121.4,31.1")) == []
        page = await get(limit=2, offset=1)
        assert got(page) == ids[1:3] and page["total"] == len(ids) and page["limit"] == 2
        assert got(await get(limit=5, offset=5)) == ids[5:]
        assert got(await get(offset=100)) == [] and (await get(offset=100))["total"] == len(ids)


def test_overdue_follows_each_status_sla(ws: Path) -> None:
    store = open_store(ws)
    try:
        from api.store import BlockageReport, report_blockage

        t0 = utc_now()
        who = Actor("t")
        with store.write() as conn:
            for _ in range(2):
                report_blockage(conn, BlockageReport(121.5, 31.28, "stall", t0, "r"), district="",
                                actor=who, now=t0, sla_days=SLA)
            transition_blockage(conn, 2, Transition(to="assigned", assignee="x"), actor=who,
                                now=t0, sla_days=SLA)
        with store.read() as conn:
            def overdue_at(days: float) -> list[int]:
                items, _ = list_blockages(conn, LedgerQuery(overdue=True), sla_days=SLA,
                                          now=t0 + timedelta(days=days))
                assert all(i.overdue for i in items)
                return [i.blockage_id for i in items]

            assert overdue_at(1) == []
            assert overdue_at(2.5) == [1]  # reported: 2 days
            assert overdue_at(7.5) == [1, 2]  # assigned: 7 days
            items, _ = list_blockages(conn, LedgerQuery(), sla_days={}, now=t0 + timedelta(days=99))
            assert not any(i.overdue for i in items) and all(i.due_at is None for i in items)
    finally:
        store.close()


async def test_export_csv(ws: Path) -> None:
    async with ledger(ws) as c:
        await c.report(note="=HYPERLINK(\"http://evil\")", reporter="王五")
        await c.report(lon=EAST_POINT[0], lat=EAST_POINT[1], kind="gate", remaining_width_m=3.2,
                       photo_url="https://img.example.org/b.jpg")
        assert (await c.move(1, "assigned")).status_code == 200
        r = await c.request("GET", "/ledger/export.csv", role="viewer")
        filtered = await c.request("GET", "/ledger/export.csv", role="viewer",
                                   params={"status": "assigned"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["blockage_id"] for row in rows] == ["1", "2"]
    assert rows[0]["reporter"] == "王五" and rows[0]["note"].startswith("'=")
    assert rows[0]["district"] == "五角场街道" and rows[0]["status"] == "assigned"
    assert rows[1]["remaining_width"] == "3.2" and rows[1]["kind"] == "gate"
    assert len(list(csv.DictReader(io.StringIO(filtered.content.decode("utf-8-sig"))))) == 1
    # the export reads back as an agency blockage ledger
    path = ws / "ledger.csv"
    path.write_bytes(r.content)
    read = read_agency_table(path, layer="blockages")
    points = read.points
    assert len(points) == 2 and not read.rejects
    assert list(points["status"]) == ["assigned", "reported"]
    assert list(points["kind"]) == ["parked_vehicle", "gate"]


BAD_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/ledger", {"json": {"lon": 200, "lat": 31.28, "kind": "goods", "reporter": "x"}}),
    ("POST", "/ledger", {"json": {"lon": 121.5, "lat": -91, "kind": "goods", "reporter": "x"}}),
    ("POST", "/ledger", {"json": {"lon": "east", "lat": 31.28, "kind": "goods", "reporter": "x"}}),
    ("POST", "/ledger", {"content": b'{"lon": NaN, "lat": 31.28, "kind": "goods", "reporter": "x"}',
                         "headers": {"content-type": "application/json"}}),
    ("POST", "/ledger", {"json": {"lon": 121.5, "lat": 31.28, "kind": "goods"}}),
    ("POST", "/ledger", {"json": {"lon": 121.5, "lat": 31.28, "kind": "tank", "reporter": "x"}}),
    ("POST", "/ledger", {"json": {"lon": 121.5, "lat": 31.28, "kind": "goods", "reporter": "x",
                                  "colour": "red"}}),
    ("POST", "/ledger", {"json": {"lon": 121.5, "lat": 31.28, "kind": "goods", "reporter": "x",
                                  "reported_at": "2024-05-01T10:00:00"}}),
    ("POST", "/ledger", {"json": {"lon": 121.5, "lat": 31.28, "kind": "goods", "reporter": "x",
                                  "reported_at": "2999-05-01T10:00:00Z"}}),
    ("POST", "/ledger", {"json": {"lon": 121.5, "lat": 31.28, "kind": "goods", "reporter": "x",
                                  "remaining_width_m": -1}}),
    ("POST", "/ledger", {"json": {"lon": 121.5, "lat": 31.28, "kind": "goods", "reporter": "x",
                                  "photo_url": "not a url"}}),
    ("POST", "/ledger", {"json": {"lon": 121.5, "lat": 31.28, "kind": "goods", "reporter": "x",
                                  "note": "x" * 2001}}),
    ("POST", "/ledger", {"json": {"lon": 31.28, "lat": 121.5, "kind": "goods", "reporter": "x"}}),
    ("POST", "/ledger", {"json": {"lon": 118.78, "lat": 32.04, "kind": "goods", "reporter": "x"}}),
    ("POST", "/ledger", {"content": b"not json", "headers": {"content-type": "application/json"}}),
    ("POST", "/ledger", {"json": [1, 2]}),
    ("GET", "/ledger/0", {}),
    ("GET", "/ledger/-3", {}),
    ("GET", "/ledger/abc", {}),
    ("GET", f"/ledger/{2**63}", {}),
    ("GET", "/ledger/1.5", {}),
    ("GET", "/ledger", {"params": {"bbox": "121.52,31.27,121.49,31.29"}}),
    ("GET", "/ledger", {"params": {"bbox": "121.49,31.29,121.52,31.27"}}),
    ("GET", "/ledger", {"params": {"bbox": "1,2,3"}}),
    ("GET", "/ledger", {"params": {"bbox": "a,b,c,d"}}),
    ("GET", "/ledger", {"params": {"bbox": "0,0,0,nan"}}),
    ("GET", "/ledger", {"params": {"bbox": "-190,0,10,10"}}),
    ("GET", "/ledger", {"params": {"status": "open"}}),
    ("GET", "/ledger", {"params": {"overdue": "maybe"}}),
    ("GET", "/ledger", {"params": {"limit": 0}}),
    ("GET", "/ledger", {"params": {"limit": 100_000}}),
    ("GET", "/ledger", {"params": {"offset": -1}}),
    ("GET", "/ledger", {"params": {"limit": "ten"}}),
    ("GET", "/ledger", {"params": {"district": "朝阳区"}}),
    ("GET", "/ledger/export.csv", {"params": {"bbox": "1,2"}}),
    ("POST", "/ledger/1/transitions", {"json": {"to": "done"}}),
    ("POST", "/ledger/1/transitions", {"json": {"to": "duplicate"}}),
    ("POST", "/ledger/1/transitions", {"json": {"to": "rejected"}}),
    ("POST", "/ledger/1/transitions", {"json": {"to": "assigned", "assignee": "x", "duplicate_of": 0}}),
    ("POST", "/ledger/1/transitions", {"json": {"to": "assigned", "assignee": "x", "by": "me"}}),
    ("POST", "/ledger/abc/transitions", {"json": {"to": "assigned", "assignee": "x"}}),
]


async def test_bad_input_is_4xx_json(ws: Path) -> None:
    async with ledger(ws) as c:
        await c.report()
        wrong: list[str] = []
        for method, path, kw in BAD_REQUESTS:
            headers = {"X-API-Key": c.keys["admin"], **kw.pop("headers", {})}
            r = await c.http.request(method, path, headers=headers, **kw)
            body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
            if not (400 <= r.status_code < 500 and body.get("status") == r.status_code
                    and body.get("error")):
                wrong.append(f"{method} {path} {kw}: {r.status_code} {r.text[:200]}")
        # nothing was added or changed by the bad requests
        page = (await c.request("GET", "/ledger")).json()
        assert page["total"] == 1 and page["items"][0]["status"] == "reported"
        assert len((await c.request("GET", "/ledger/1")).json()["audit"]) == 1
    assert not wrong, "\n".join(wrong)


async def test_unknown_district_and_no_districts(ws: Path, tmp_path: Path) -> None:
    async with ledger(ws) as c:
        r = await c.request("GET", "/ledger", params={"district": "朝阳区"})
        assert r.status_code == 422 and "五角场街道" in r.json()["error"]
    plain = copy_workspace(build_workspace(tmp_path / "plain"), tmp_path / "plain2")
    async with ledger(plain) as c:
        item = await c.report()
        assert item["district"] == ""
        r = await c.request("GET", "/ledger", params={"district": "五角场街道"})
        assert r.status_code == 422 and "no districts" in r.json()["error"]


async def test_state_survives_restart(ws: Path) -> None:
    async with ledger(ws) as c:
        bid = (await c.report())["blockage_id"]
        assert (await c.move(bid, "assigned")).status_code == 200
        before = (await c.request("GET", f"/ledger/{bid}")).json()
        planner = c.keys["planner"]
    app = create_app(Settings(workspace=ws, ledger_sla_days=SLA))
    async with asgi_client(app) as http:
        r = await http.get(f"/ledger/{bid}", headers={"X-API-Key": planner})
        assert r.status_code == 200
        after = r.json()
    assert after == {**before, "overdue": after["overdue"]}


def test_generated_requests_never_500(ws: Path) -> None:
    """Requests generated from the OpenAPI schema of the ledger, hydrant and key endpoints
    (schemathesis, with an admin key): no server error, whatever the input."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    app = create_app(Settings(workspace=ws, bootstrap_admin_key=ADMIN_KEY, _env_file=None))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    mine = re.compile(r"^/(ledger|hydrants|keys)")
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if mine.match(op.path)]
    assert len(operations) >= 10
    failures: list[str] = []
    loop = asyncio.new_event_loop()
    lifespan = app.router.lifespan_context(app)
    loop.run_until_complete(lifespan.__aenter__())
    try:
        for op in operations:

            @given(case=op.as_strategy())
            @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck),
                      database=None)
            def call(case: Any) -> None:
                case.headers = {**(case.headers or {}), "X-API-Key": ADMIN_KEY}
                r = case.call()
                if r.status_code >= 500:
                    failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body!r}: "
                                    f"{r.status_code} {r.text[:200]}")

            call()
    finally:
        loop.run_until_complete(lifespan.__aexit__(None, None, None))
        loop.close()
    assert not failures, "\n".join(failures[:10])

"""An acknowledged write survives SIGKILL: a real server, concurrent writers, kill mid-burst.

The server (``firereach serve``, a real uvicorn process on 127.0.0.1) gets ledger reports and
hydrant status events from several threads, each tagged with a unique token in its note. When
enough writes have been acknowledged (2xx), the process is killed with SIGKILL while requests are
still in flight. Then: the database passes ``PRAGMA integrity_check``; every acknowledged write is
in it; the restarted server serves every acknowledged write and the replayed hydrant status.
Writes that were in flight may or may not be there; they are counted, not required.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.store import DB_NAME, HydrantState, from_text, hydrant_states, open_store
from tests.api.server import build_workspace, copy_workspace, running_server, start_server

log = logging.getLogger(__name__)

pytestmark = pytest.mark.slow

ADMIN_KEY = "crash-test-admin-key-0123456789abcdefgh"
HYDRANTS = ("osm/6", "osm/42")
STATUSES = ("out_of_service", "in_service", "low_pressure")
N_THREADS = 8
MAX_PER_THREAD = 400
KILL_AFTER_ACKS = 150
DEADLINE_S = 120.0


@dataclass
class Burst:
    """What the writer threads saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: int = 0
    in_flight: int = 0
    acked: dict[str, tuple[str, int]] = field(default_factory=dict)  # token -> (kind, id)
    failed: list[str] = field(default_factory=list)
    refused: list[tuple[str, int]] = field(default_factory=list)
    killed: threading.Event = field(default_factory=threading.Event)


def _writer(url: str, thread: int, burst: Burst) -> None:
    headers = {"X-API-Key": ADMIN_KEY}
    with httpx.Client(base_url=url, headers=headers, timeout=30.0) as client:
        for i in range(MAX_PER_THREAD):
            if burst.killed.is_set():
                return
            token = f"t{thread}-{i}"
            if thread % 4 == 3:  # two of eight threads: hydrant status (with live recomputation)
                kind = "hydrant"
                hid = HYDRANTS[i % 2]
                path = f"/hydrants/{hid}/status"
                body: dict[str, Any] = {"status": STATUSES[(thread + i) % 3], "inspector": "crash",
                                        "note": token}
            else:
                kind = "ledger"
                path = "/ledger"
                body = {"lon": 121.501 + 0.0001 * (i % 40), "lat": 31.2805, "kind": "goods",
                        "reporter": f"thread {thread}", "note": token}
            with burst.lock:
                burst.sent += 1
                burst.in_flight += 1
            try:
                r = client.post(path, json=body)
            except httpx.TransportError:
                with burst.lock:
                    burst.failed.append(token)
                if burst.killed.is_set():
                    return
                continue
            finally:
                with burst.lock:
                    burst.in_flight -= 1
            if 200 <= r.status_code < 300:
                data = r.json()
                ident = data["event"]["event_id"] if kind == "hydrant" else data["blockage_id"]
                with burst.lock:
                    burst.acked[token] = (kind, int(ident))
            else:
                with burst.lock:
                    burst.refused.append((token, r.status_code))


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("tiny"))


def test_acknowledged_writes_survive_sigkill(
    base_ws: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    ws = copy_workspace(base_ws, tmp_path / "ws")
    env = {"FIREREACH_BOOTSTRAP_ADMIN_KEY": ADMIN_KEY}
    server = start_server(ws, env=env)
    burst = Burst()
    threads = [threading.Thread(target=_writer, args=(server.url, t, burst), daemon=True)
               for t in range(N_THREADS)]
    try:
        for t in threads:
            t.start()
        reached = _wait(lambda: len(burst.acked) >= KILL_AFTER_ACKS, DEADLINE_S)
        with burst.lock:
            in_flight_at_kill = burst.in_flight
            acked_before_kill = len(burst.acked)
        server.process.send_signal(signal.SIGKILL)
        burst.killed.set()
    finally:
        burst.killed.set()
        server.kill()
        for t in threads:
            t.join(timeout=60)
    assert reached, f"only {len(burst.acked)} writes acknowledged in {DEADLINE_S} s:\n{server.log()[-3000:]}"
    assert not any(t.is_alive() for t in threads)
    assert not burst.refused, burst.refused[:5]
    assert in_flight_at_kill > 0, "the kill should land while requests are in flight"

    # 1. the database as the kill left it: intact, every acknowledged write present
    with sqlite3.connect(ws / DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ledger = {r[0]: r[1] for r in conn.execute("SELECT note, blockage_id FROM blockages")}
        events = {r[0]: r[1] for r in conn.execute("SELECT note, event_id FROM hydrant_events")}
        audits = conn.execute("SELECT COUNT(*) FROM blockage_audit").fetchone()[0]
    conn.close()
    lost = [tok for tok, (kind, ident) in burst.acked.items()
            if (ledger if kind == "ledger" else events).get(tok) != ident]
    stored = set(ledger) | set(events)
    unacked_present = len(stored - set(burst.acked))
    assert audits == len(ledger), "every stored report has its audit row"

    measured = {
        "sent": burst.sent,
        "acknowledged": len(burst.acked),
        "acknowledged_hydrant_events": sum(k == "hydrant" for k, _ in burst.acked.values()),
        "acknowledged_at_kill": acked_before_kill,
        "in_flight_at_kill": in_flight_at_kill,
        "failed_requests": len(burst.failed),
        "stored": len(stored),
        "stored_not_acknowledged": unacked_present,
        "lost": len(lost),
    }
    request.node.user_properties.extend(measured.items())
    log.info("crash test: %s", measured)
    assert not lost, f"acknowledged writes lost: {lost[:10]} ({measured})"
    assert len(stored) <= burst.sent

    # 2. the restarted server serves every acknowledged write and the replayed status
    store = open_store(ws)
    try:
        with store.read() as conn:
            expected: dict[str, HydrantState] = hydrant_states(conn)
    finally:
        store.close()
    with running_server(ws, env=env) as again, httpx.Client(
        base_url=again.url, headers={"X-API-Key": ADMIN_KEY}, timeout=30.0
    ) as client:
        served: dict[str, int] = {}
        for offset in range(0, 100_000, 1000):
            page = client.get("/ledger", params={"limit": 1000, "offset": offset}).json()
            served.update({item["note"]: item["blockage_id"] for item in page["items"]})
            if offset + 1000 >= page["total"]:
                break
        history: dict[str, int] = {}
        for hid in HYDRANTS:
            for offset in range(0, 100_000, 1000):
                page = client.get(f"/hydrants/{hid}/history",
                                  params={"limit": 1000, "offset": offset}).json()
                history.update({e["note"]: e["event_id"] for e in page["items"]})
                if offset + 1000 >= page["total"]:
                    break
            current = client.get(f"/hydrants/{hid}/status").json()
            if hid in expected:
                assert current["status"] == expected[hid].status
                assert current["status_source"] == "inspection"
                last = client.get(f"/hydrants/{hid}/history", params={"limit": 1}).json()["items"][0]
                assert from_text(last["observed_at"].replace("+00:00", "Z")) == expected[hid].observed_at
        with sqlite3.connect(ws / DB_NAME) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    for tok, (kind, ident) in burst.acked.items():
        assert (served if kind == "ledger" else history).get(tok) == ident, tok

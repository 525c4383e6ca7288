"""The embedded store: WAL and synchronous=FULL, migrations, append-only audit, threads."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from api.store import (
    DB_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    Actor,
    BlockageReport,
    HydrantObservation,
    LedgerQuery,
    Transition,
    add_hydrant_event,
    blockage_audit,
    from_text,
    hydrant_history,
    hydrant_states,
    list_blockages,
    open_store,
    report_blockage,
    to_text,
    transition_blockage,
    utc_now,
)
from geo.errors import ConfigError, LayerValidationError

SLA = {"reported": 2.0, "assigned": 7.0}
WHO = Actor(name="tester", key_id=None)


def _report(**kw: object) -> BlockageReport:
    base: dict[str, object] = {
        "lon": 121.5, "lat": 31.28, "kind": "parked_vehicle", "reported_at": utc_now(),
        "reporter": "网格员 张三",
    }
    base.update(kw)
    return BlockageReport(**base)  # type: ignore[arg-type]


def test_pragmas_and_version(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        with store.write() as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        with store.read() as conn:
            versions = [r[0] for r in conn.execute("SELECT version FROM schema_version")]
        assert versions == list(range(1, SCHEMA_VERSION + 1)) and len(MIGRATIONS) == SCHEMA_VERSION
    finally:
        store.close()
    assert (tmp_path / DB_NAME).is_file()


def test_reopen_is_idempotent_and_keeps_data(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    with store.write() as conn:
        report_blockage(conn, _report(), district="", actor=WHO, now=utc_now(), sla_days=SLA)
    store.close()
    store = open_store(tmp_path)
    try:
        with store.read() as conn:
            items, total = list_blockages(conn, LedgerQuery(), sla_days=SLA, now=utc_now())
            assert total == 1 and items[0].reporter == "网格员 张三"
            assert conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        store.close()


def test_newer_schema_refused(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, ?)", (SCHEMA_VERSION + 1, "x"))
    conn.close()
    with pytest.raises(ConfigError, match=r"newer|upgrade"):
        open_store(tmp_path)


def test_missing_folder_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        open_store(tmp_path / "nope")


def test_audit_and_events_are_append_only(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        now = utc_now()
        with store.write() as conn:
            b = report_blockage(conn, _report(), district="", actor=WHO, now=now, sla_days=SLA)
            add_hydrant_event(
                conn, "H-1", HydrantObservation("out_of_service", "李四", now), actor=WHO, now=now
            )
        for sql in (
            "UPDATE blockage_audit SET note = 'x'",
            "DELETE FROM blockage_audit",
            "UPDATE hydrant_events SET status = 'in_service'",
            "DELETE FROM hydrant_events",
        ):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"), store.write() as conn:
                conn.execute(sql)
        with store.read() as conn:
            assert conn.execute("SELECT COUNT(*) FROM blockage_audit").fetchone()[0] == 1
            assert conn.execute("SELECT COUNT(*) FROM hydrant_events").fetchone()[0] == 1
        assert b.status == "reported"
    finally:
        store.close()


def test_failed_write_rolls_back(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        with pytest.raises(LayerValidationError), store.write() as conn:
            report_blockage(conn, _report(), district="", actor=WHO, now=utc_now(), sla_days=SLA)
            transition_blockage(conn, 1, Transition(to="assigned"), actor=WHO, now=utc_now(),
                                sla_days=SLA)  # no assignee: the whole transaction goes
        with store.read() as conn:
            assert conn.execute("SELECT COUNT(*) FROM blockages").fetchone()[0] == 0
            assert conn.execute("SELECT COUNT(*) FROM blockage_audit").fetchone()[0] == 0
        with store.write() as conn:  # the writer is usable again
            report_blockage(conn, _report(), district="", actor=WHO, now=utc_now(), sla_days=SLA)
    finally:
        store.close()


def test_concurrent_writers_and_readers(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    n_threads, per_thread = 8, 25
    errors: list[BaseException] = []
    seen: list[int] = []

    def writer(t: int) -> None:
        try:
            for i in range(per_thread):
                with store.write() as conn:
                    report_blockage(conn, _report(note=f"{t}/{i}"), district="", actor=WHO,
                                    now=utc_now(), sla_days=SLA)
                with store.read() as conn:
                    seen.append(int(conn.execute("SELECT COUNT(*) FROM blockages").fetchone()[0]))
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert not errors, errors
        with store.read() as conn:
            notes = {r[0] for r in conn.execute("SELECT note FROM blockages")}
            audits = conn.execute("SELECT COUNT(*) FROM blockage_audit").fetchone()[0]
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert notes == {f"{t}/{i}" for t in range(n_threads) for i in range(per_thread)}
        assert audits == n_threads * per_thread
        assert max(seen) == n_threads * per_thread
    finally:
        store.close()


def test_hydrant_state_latest_observation_wins(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        t0 = utc_now() - timedelta(hours=5)
        with store.write() as conn:
            add_hydrant_event(conn, "H-1", HydrantObservation("low_pressure", "a", t0, 0.08),
                              actor=WHO, now=utc_now())
            add_hydrant_event(conn, "H-1", HydrantObservation("out_of_service", "b", t0 + timedelta(hours=2)),
                              actor=WHO, now=utc_now())
            # uploaded late, observed earlier: history keeps it, the state does not take it
            add_hydrant_event(conn, "H-1", HydrantObservation("in_service", "c", t0 + timedelta(hours=1)),
                              actor=WHO, now=utc_now())
            add_hydrant_event(conn, "H-2", HydrantObservation("in_service", "d", t0), actor=WHO,
                              now=utc_now())
        with store.read() as conn:
            states = hydrant_states(conn)
            only = hydrant_states(conn, ["H-2"])
            history, total = hydrant_history(conn, "H-1", limit=2, offset=0)
        assert states["H-1"].status == "out_of_service"
        assert states["H-1"].pressure_mpa == pytest.approx(0.08)  # latest measured pressure
        assert states["H-2"].status == "in_service" and states["H-2"].pressure_mpa is None
        assert set(only) == {"H-2"}
        assert total == 3 and [e.inspector for e in history] == ["b", "c"]
    finally:
        store.close()


def test_client_clocks_ahead_never_outrank_later_reports(tmp_path: Path) -> None:
    # an inspection received at t1 claiming t1 + 9 min (within the accepted clock skew) is stored
    # at t1, so the real inspection received at t1 + 1 min wins; a blockage found "in the future"
    # starts its SLA clock when the server got it
    store = open_store(tmp_path)
    try:
        t1 = utc_now() - timedelta(hours=1)
        with store.write() as conn:
            ahead = add_hydrant_event(
                conn, "H-1", HydrantObservation("out_of_service", "fast clock", t1 + timedelta(minutes=9)),
                actor=WHO, now=t1)
            later = t1 + timedelta(minutes=1)
            add_hydrant_event(conn, "H-1", HydrantObservation("in_service", "real", later),
                              actor=WHO, now=later)
            item = report_blockage(conn, _report(reported_at=t1 + timedelta(minutes=9)),
                                   district="", actor=WHO, now=t1, sla_days=SLA)
        with store.read() as conn:
            states = hydrant_states(conn)
        assert ahead.observed_at == t1 and states["H-1"].status == "in_service"
        assert item.reported_at == t1 and item.status_since == t1
    finally:
        store.close()


def test_audit_rows_of_schema_1_survive_the_changes_column(tmp_path: Path) -> None:
    # a store written at schema version 1 (audit rows without the changes column): opened by
    # this FireReach it is migrated, its rows read back with no changes, new moves record theirs
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00.000000Z')")
    now = to_text(utc_now())
    conn.execute(
        "INSERT INTO blockages (lon, lat, kind, status, reported_at, reporter, district, "
        "status_since, created_at, updated_at) VALUES (121.5, 31.28, 'goods', 'reported', ?, "
        "'old', '', ?, ?, ?)", (now, now, now, now))
    conn.execute("INSERT INTO blockage_audit (blockage_id, at, actor, action, to_status) "
                 "VALUES (1, ?, 'old actor', 'report', 'reported')", (now,))
    conn.commit()
    conn.close()
    store = open_store(tmp_path)
    try:
        with store.write() as conn2:
            transition_blockage(conn2, 1, Transition(to="assigned", assignee="城管中队"),
                                actor=Actor(name="planner 1", key_id=7), now=utc_now(), sla_days=SLA)
        with store.read() as conn2:
            trail = blockage_audit(conn2, 1)
        assert [(a.actor, a.key_id, a.changes) for a in trail] == [
            ("old actor", None, {}),
            ("planner 1", 7, {"status": ["reported", "assigned"], "assignee": [None, "城管中队"]}),
        ]
    finally:
        store.close()


def test_time_text_round_trip_and_sorts() -> None:
    a = utc_now()
    b = a + timedelta(microseconds=1)
    assert from_text(to_text(a)) == a
    assert to_text(a) < to_text(b)
    with pytest.raises(LayerValidationError, match="timezone"):
        to_text(a.replace(tzinfo=None))


def test_closed_store_refuses(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(ConfigError, match="closed"), store.write():
        pass

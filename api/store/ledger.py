"""The 生命通道 blockage ledger (隐患台账) with its append-only audit trail.

The ledger's state machine (:data:`TRANSITIONS`) is enforced in :func:`transition_blockage`: every
change, the first report included, appends one row (who, when, from, to, note) to
``blockage_audit``, which triggers keep append-only.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from api.store.base import (
    Actor,
    ConflictError,
    TransitionError,
    from_text,
    to_text,
)
from geo import vocabulary
from geo.errors import LayerValidationError, NotFoundError
from reports.export import spreadsheet_text

#: The codes live in :mod:`geo.vocabulary`; the Literals spell them for the type checker and the
#: request models (``tests/api/test_web_vocabulary.py`` checks that the two agree).
LedgerStatus = Literal[
    "reported", "assigned", "rectified", "verified", "closed", "rejected", "duplicate"
]
LEDGER_STATUSES: tuple[str, ...] = vocabulary.LEDGER_STATUSES
#: Blockage kinds, the same words :func:`geo.agency.read_agency_table` gives agency ledgers.
BlockageKind = Literal["parked_vehicle", "gate", "structure", "goods", "stall", "other"]
BLOCKAGE_KINDS: tuple[str, ...] = vocabulary.BLOCKAGE_KINDS

#: The ledger's state machine: (from, to) -> action. Report → assign → rectify → verify → close
#: (整改、对账销号); a report can be rejected or marked a duplicate; a failed verification
#: (复核不通过) sends the item back to the assignee; a closed item is reopened explicitly, and an
#: item wrongly marked a duplicate is restored (with the reason) to a report of its own.
TRANSITIONS: dict[tuple[str, str], str] = {
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

#: How long before it reaches the server a blockage may have been found: older reports would
#: start their SLA clock in the past and count overdue at once in the district tables.
MAX_BACKDATE = timedelta(days=7)


def allowed_targets(status: str) -> list[str]:
    """Statuses a blockage in ``status`` may move to, in table order."""
    return [to for (frm, to) in TRANSITIONS if frm == status]




@dataclass(frozen=True)
class BlockageReport:
    """A new 生命通道 blockage as reported (validated by the router; WGS84 degrees)."""

    lon: float
    lat: float
    kind: str
    reported_at: datetime
    reporter: str
    photo_url: str | None = None
    remaining_width_m: float | None = None
    note: str | None = None


@dataclass(frozen=True)
class Blockage:
    """One ledger item. ``due_at`` and ``overdue`` follow the SLA of its current status."""

    blockage_id: int
    lon: float
    lat: float
    kind: str
    status: str
    reported_at: datetime
    reporter: str
    photo_url: str | None
    remaining_width_m: float | None
    note: str | None
    district: str
    assignee: str | None
    duplicate_of: int | None
    status_since: datetime
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None = None
    overdue: bool = False


@dataclass(frozen=True)
class AuditEntry:
    """One row of a blockage's audit trail."""

    audit_id: int
    blockage_id: int
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    note: str | None
    key_id: int | None = None  # the acting key (unique; names are not), None for the CLI
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field -> [old, new]


@dataclass(frozen=True)
class LedgerQuery:
    """Filters and paging of :func:`list_blockages` (all optional).

    ``bbox`` is ``(west, south, east, north)`` in degrees; ``overdue`` keeps items past the SLA
    of their status (True) or within it (False).
    """

    status: tuple[str, ...] = ()
    district: str | None = None
    overdue: bool | None = None
    bbox: tuple[float, float, float, float] | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class Transition:
    """A requested ledger transition."""

    to: str
    note: str | None = None
    assignee: str | None = None
    duplicate_of: int | None = None
    expected_from: str | None = None


def _blockage(row: sqlite3.Row, sla_days: Mapping[str, float], now: datetime) -> Blockage:
    since = from_text(row["status_since"])
    days = sla_days.get(row["status"])
    due = since + timedelta(days=days) if days is not None else None
    return Blockage(
        blockage_id=row["blockage_id"], lon=row["lon"], lat=row["lat"], kind=row["kind"],
        status=row["status"], reported_at=from_text(row["reported_at"]), reporter=row["reporter"],
        photo_url=row["photo_url"], remaining_width_m=row["remaining_width_m"], note=row["note"],
        district=row["district"], assignee=row["assignee"], duplicate_of=row["duplicate_of"],
        status_since=since, created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]), due_at=due, overdue=due is not None and now > due,
    )


def _audit(
    conn: sqlite3.Connection, blockage_id: int, *, actor: Actor, now: datetime, action: str,
    from_status: str | None, to_status: str, note: str | None,
    changes: Mapping[str, tuple[Any, Any]] | None = None,
) -> None:
    """Append one audit row; ``changes``: every field the move changed, old and new value."""
    changed = None if not changes else json.dumps(
        {k: [old, new] for k, (old, new) in changes.items()}, ensure_ascii=False
    )
    conn.execute(
        "INSERT INTO blockage_audit (blockage_id, at, actor, key_id, action, from_status, "
        "to_status, note, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (blockage_id, to_text(now), actor.name, actor.key_id, action, from_status, to_status, note,
         changed),
    )


def report_blockage(
    conn: sqlite3.Connection,
    report: BlockageReport,
    *,
    district: str,
    actor: Actor,
    now: datetime,
    sla_days: Mapping[str, float],
) -> Blockage:
    """Add a blockage in status ``reported`` and its first audit row (inside a write).

    The SLA clock of the ``reported`` status starts at ``reported_at`` (the time it was found),
    bounded by ``now`` (the server's receive time): a client clock ahead cannot start the clock
    late; how far back it may lie is bounded by the request model (:data:`MAX_BACKDATE`).
    """
    if report.kind not in BLOCKAGE_KINDS:
        raise LayerValidationError(
            f"blockage kind {report.kind!r}; expected one of {', '.join(BLOCKAGE_KINDS)}"
        )
    stamp = to_text(now)
    found = to_text(min(report.reported_at, now))
    cur = conn.execute(
        "INSERT INTO blockages (lon, lat, kind, status, reported_at, reporter, photo_url, "
        "remaining_width_m, note, district, status_since, created_at, updated_at) "
        "VALUES (?, ?, ?, 'reported', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            report.lon, report.lat, report.kind, found, report.reporter,
            report.photo_url, report.remaining_width_m, report.note, district, found, stamp, stamp,
        ),
    )
    blockage_id = int(cur.lastrowid or 0)
    _audit(conn, blockage_id, actor=actor, now=now, action="report", from_status=None,
           to_status="reported", note=report.note)
    row = conn.execute("SELECT * FROM blockages WHERE blockage_id = ?", (blockage_id,)).fetchone()
    return _blockage(row, sla_days, now)


def get_blockage(
    conn: sqlite3.Connection, blockage_id: int, *, sla_days: Mapping[str, float], now: datetime
) -> Blockage:
    """One blockage; :class:`NotFoundError` when there is none with that id."""
    row = conn.execute("SELECT * FROM blockages WHERE blockage_id = ?", (blockage_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"blockage {blockage_id} not found in the ledger")
    return _blockage(row, sla_days, now)


def blockage_audit(conn: sqlite3.Connection, blockage_id: int) -> list[AuditEntry]:
    """The audit trail of a blockage, oldest first."""
    rows = conn.execute(
        "SELECT * FROM blockage_audit WHERE blockage_id = ? ORDER BY audit_id", (blockage_id,)
    ).fetchall()
    return [
        AuditEntry(
            audit_id=r["audit_id"], blockage_id=r["blockage_id"], at=from_text(r["at"]),
            actor=r["actor"], action=r["action"], from_status=r["from_status"],
            to_status=r["to_status"], note=r["note"], key_id=r["key_id"],
            changes=json.loads(r["changes"]) if r["changes"] else {},
        )
        for r in rows
    ]


def transition_blockage(
    conn: sqlite3.Connection,
    blockage_id: int,
    transition: Transition,
    *,
    actor: Actor,
    now: datetime,
    sla_days: Mapping[str, float],
) -> Blockage:
    """Move a blockage along :data:`TRANSITIONS` and audit it (inside a write transaction).

    Raises
    ------
    NotFoundError
        No such blockage (or no such ``duplicate_of`` item).
    TransitionError
        The transition is not allowed from the current status, or the item is no longer in
        ``expected_from``; the message lists the allowed targets.
    LayerValidationError
        A transition's required field is missing (assignee, duplicate_of, note).
    """
    current = get_blockage(conn, blockage_id, sla_days=sla_days, now=now)
    frm, to = current.status, transition.to
    if transition.expected_from is not None and transition.expected_from != frm:
        raise TransitionError(
            f"blockage {blockage_id} is {frm!r}, not {transition.expected_from!r} as expected; "
            "reload it and try again"
        )
    action = TRANSITIONS.get((frm, to))
    if action is None:
        allowed = allowed_targets(frm)
        listed = ", ".join(f"{t} ({TRANSITIONS[(frm, t)]})" for t in allowed) or "none"
        raise TransitionError(
            f"blockage {blockage_id} is {frm!r}: it cannot go to {to!r}; allowed from {frm!r}: "
            f"{listed}"
        )
    assignee = current.assignee
    duplicate_of = current.duplicate_of
    if to == "assigned":
        if not transition.assignee:
            raise LayerValidationError("give the assignee (责任单位) when assigning a blockage")
        assignee = transition.assignee
    if to == "duplicate":
        if transition.duplicate_of is None:
            raise LayerValidationError("give duplicate_of (the id of the item this one repeats)")
        if transition.duplicate_of == blockage_id:
            raise LayerValidationError(f"blockage {blockage_id} cannot be a duplicate of itself")
        original = get_blockage(conn, transition.duplicate_of, sla_days=sla_days, now=now)
        if original.status == "duplicate":
            # a duplicate points at an original, never at another duplicate: no chain, no cycle
            raise ConflictError(
                f"blockage {original.blockage_id} is itself a duplicate of "
                f"{original.duplicate_of}; mark {blockage_id} a duplicate of "
                f"{original.duplicate_of} instead"
            )
        duplicate_of = transition.duplicate_of
    if action == "restore":
        duplicate_of = None
    if action in ("reject", "send_back", "reopen", "restore") and not (transition.note or "").strip():
        raise LayerValidationError(f"give a note saying why ({action} needs a reason)")
    stamp = to_text(now)
    conn.execute(
        "UPDATE blockages SET status = ?, status_since = ?, updated_at = ?, assignee = ?, "
        "duplicate_of = ? WHERE blockage_id = ?",
        (to, stamp, stamp, assignee, duplicate_of, blockage_id),
    )
    changes = {name: (old, new) for name, old, new in (
        ("status", frm, to), ("assignee", current.assignee, assignee),
        ("duplicate_of", current.duplicate_of, duplicate_of),
    ) if old != new}
    _audit(conn, blockage_id, actor=actor, now=now, action=action, from_status=frm,
           to_status=to, note=transition.note, changes=changes)
    return get_blockage(conn, blockage_id, sla_days=sla_days, now=now)


def _ledger_where(
    query: LedgerQuery, *, sla_days: Mapping[str, float], now: datetime
) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.status:
        clauses.append(f"status IN ({', '.join('?' * len(query.status))})")
        params.extend(query.status)
    if query.district is not None:
        clauses.append("district = ?")
        params.append(query.district)
    if query.bbox is not None:
        west, south, east, north = query.bbox
        clauses.append("lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?")
        params.extend([west, east, south, north])
    if query.overdue is not None:
        late: list[str] = []
        for status, days in sla_days.items():
            late.append("(status = ? AND status_since < ?)")
            params.extend([status, to_text(now - timedelta(days=days))])
        expr = " OR ".join(late) if late else "0"
        clauses.append(f"({expr})" if query.overdue else f"NOT ({expr})")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def list_blockages(
    conn: sqlite3.Connection,
    query: LedgerQuery,
    *,
    sla_days: Mapping[str, float],
    now: datetime,
    page: bool = True,
) -> tuple[list[Blockage], int]:
    """Blockages matching ``query`` by id, one page of them (all when ``page`` is False), and
    the total number that match."""
    where, params = _ledger_where(query, sla_days=sla_days, now=now)
    total = int(conn.execute(f"SELECT COUNT(*) FROM blockages{where}", params).fetchone()[0])
    sql = f"SELECT * FROM blockages{where} ORDER BY blockage_id"
    if page:
        sql += " LIMIT ? OFFSET ?"
        params = [*params, query.limit, query.offset]
    rows = conn.execute(sql, params).fetchall()
    return [_blockage(r, sla_days, now) for r in rows], total




#: Columns of the ledger CSV export; the names read back with
#: :func:`geo.agency.read_agency_table` (``layer='blockages'``).
CSV_COLUMNS = (
    "blockage_id", "lon", "lat", "kind", "status", "reported_at", "reporter", "photo",
    "remaining_width", "note", "district", "assignee", "duplicate_of", "status_since", "due_at",
    "overdue", "created_at", "updated_at",
)


def ledger_csv(blockages: list[Blockage]) -> bytes:
    """The ledger as CSV, UTF-8 with a byte-order mark (Excel opens Chinese text correctly).

    Times are ISO 8601 UTC; free text that would start a spreadsheet formula is prefixed
    with ``'``.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for b in blockages:
        writer.writerow([
            b.blockage_id, f"{b.lon:.7f}", f"{b.lat:.7f}", b.kind, b.status, to_text(b.reported_at),
            spreadsheet_text(b.reporter), spreadsheet_text(b.photo_url),
            "" if b.remaining_width_m is None else f"{b.remaining_width_m:g}", spreadsheet_text(b.note),
            spreadsheet_text(b.district), spreadsheet_text(b.assignee),
            "" if b.duplicate_of is None else b.duplicate_of, to_text(b.status_since),
            "" if b.due_at is None else to_text(b.due_at), "yes" if b.overdue else "no",
            to_text(b.created_at), to_text(b.updated_at),
        ])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")

"""The embedded store of a served workspace: ``firereach.db`` (SQLite) next to ``layers.gpkg``.

What lives here is the state that changes while the API runs: hydrant status events from
inspections, the 生命通道 blockage ledger (隐患台账) with its append-only audit trail, and API keys
(hashed). The layers themselves stay read-only in the GeoPackage.

Durability: the database runs in WAL mode with ``synchronous=FULL``, so a transaction is on disk
when its ``COMMIT`` returns; the API acknowledges a write only after that. All writes go through
one connection behind a lock (a serialized writer, ``BEGIN IMMEDIATE`` ... ``COMMIT``); reads use
pooled read-only connections and see a consistent snapshot. The schema evolves by numbered
migrations recorded in the ``schema_version`` table.

The ledger's state machine (:data:`TRANSITIONS`) is enforced in :func:`transition_blockage`: every
change, the first report included, appends one row (who, when, from, to, note) to
``blockage_audit``, which triggers keep append-only.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

from geo import vocabulary
from geo.errors import ConfigError, FireReachError, LayerValidationError, NotFoundError
from reports.export import spreadsheet_text

log = logging.getLogger(__name__)

#: File name of the store inside the workspace folder.
DB_NAME = "firereach.db"

#: The codes live in :mod:`geo.vocabulary`; these Literals spell them for the type checker and
#: the request models (``tests/api/test_vocabulary.py`` checks that the two agree).
HydrantStatus = Literal["in_service", "out_of_service", "low_pressure"]
HYDRANT_STATUSES: tuple[str, ...] = vocabulary.OBSERVED_HYDRANT_STATUSES
LedgerStatus = Literal[
    "reported", "assigned", "rectified", "verified", "closed", "rejected", "duplicate"
]
LEDGER_STATUSES: tuple[str, ...] = vocabulary.LEDGER_STATUSES
#: Blockage kinds, the same words :func:`geo.agency.read_agency_table` gives agency ledgers.
BlockageKind = Literal["parked_vehicle", "gate", "structure", "goods", "stall", "other"]
BLOCKAGE_KINDS: tuple[str, ...] = vocabulary.BLOCKAGE_KINDS
Role = Literal["viewer", "inspector", "planner", "admin"]
ROLES: tuple[str, ...] = get_args(Role)

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

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
#: How long before it reaches the server a blockage may have been found: older reports would
#: start their SLA clock in the past and count overdue at once in the district tables.
MAX_BACKDATE = timedelta(days=7)


class ConflictError(FireReachError, ValueError):
    """The request conflicts with the stored state (HTTP 409)."""


class TransitionError(ConflictError):
    """A ledger transition that the state machine does not allow from the current status."""


class StoreUnavailableError(FireReachError, ConnectionError):
    """The store cannot be written or read now: locked by another process, read-only, disk full
    or gone (HTTP 503: try again later)."""


#: Seconds a statement waits for another process's lock before the store is "unavailable"
#: (the default of :func:`open_store`; the API passes its ``store_busy_timeout_s`` setting).
BUSY_TIMEOUT_S = 5.0

# SQLite primary result codes that mean "the store, not the request": PERM, BUSY, LOCKED,
# READONLY, IOERR, FULL, CANTOPEN (https://www.sqlite.org/rescode.html).
_UNAVAILABLE_CODES = frozenset({3, 5, 6, 8, 10, 13, 14})


@contextmanager
def _available(path: Path) -> Iterator[None]:
    """Turn SQLite's lock, read-only and disk errors into :class:`StoreUnavailableError`."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if code is None or code & 0xFF not in _UNAVAILABLE_CODES:
            raise
        raise StoreUnavailableError(
            f"store {path} is unavailable ({exc}): another process may hold its lock, or the file "
            "or its folder is read-only or the disk full; try again shortly, and if it persists "
            "check the workspace folder's permissions and free space and stop other writers"
        ) from exc


def allowed_targets(status: str) -> list[str]:
    """Statuses a blockage in ``status`` may move to, in table order."""
    return [to for (frm, to) in TRANSITIONS if frm == status]


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    """A timezone-aware datetime as the store's sortable UTC text (``...T..:..:...ffffffZ``)."""
    if moment.tzinfo is None:
        raise LayerValidationError(
            f"datetime {moment.isoformat()} has no timezone; give UTC or an offset"
        )
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def from_text(text: str) -> datetime:
    """Inverse of :func:`to_text`."""
    return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------
# schema

#: Numbered migrations: migration ``k`` (1-based) brings the schema from version ``k - 1`` to
#: ``k``. Each is a tuple of statements run in one transaction. Never edit a released one;
#: append a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE hydrant_events (
            event_id INTEGER PRIMARY KEY AUTOINCREMENT,
            hydrant_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('in_service', 'out_of_service', 'low_pressure')),
            pressure_mpa REAL CHECK (pressure_mpa IS NULL OR pressure_mpa >= 0),
            inspector TEXT NOT NULL,
            observed_at TEXT NOT NULL,
            photo_url TEXT,
            note TEXT,
            recorded_at TEXT NOT NULL,
            actor TEXT NOT NULL,
            key_id INTEGER
        )""",
        "CREATE INDEX hydrant_events_latest ON hydrant_events (hydrant_id, observed_at, event_id)",
        """CREATE TABLE blockages (
            blockage_id INTEGER PRIMARY KEY AUTOINCREMENT,
            lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
            lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
            kind TEXT NOT NULL,
            status TEXT NOT NULL,
            reported_at TEXT NOT NULL,
            reporter TEXT NOT NULL,
            photo_url TEXT,
            remaining_width_m REAL,
            note TEXT,
            district TEXT NOT NULL DEFAULT '',
            assignee TEXT,
            duplicate_of INTEGER REFERENCES blockages (blockage_id),
            status_since TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX blockages_status ON blockages (status, status_since)",
        "CREATE INDEX blockages_district ON blockages (district)",
        "CREATE INDEX blockages_lon_lat ON blockages (lon, lat)",
        """CREATE TABLE blockage_audit (
            audit_id INTEGER PRIMARY KEY AUTOINCREMENT,
            blockage_id INTEGER NOT NULL REFERENCES blockages (blockage_id),
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            key_id INTEGER,
            action TEXT NOT NULL,
            from_status TEXT,
            to_status TEXT NOT NULL,
            note TEXT
        )""",
        "CREATE INDEX blockage_audit_item ON blockage_audit (blockage_id, audit_id)",
        """CREATE TABLE api_keys (
            key_id INTEGER PRIMARY KEY AUTOINCREMENT,
            public_id TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('viewer', 'inspector', 'planner', 'admin')),
            kdf TEXT NOT NULL,
            salt BLOB NOT NULL,
            digest BLOB NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            revoked_at TEXT
        )""",
        *(
            f"""CREATE TRIGGER {table}_append_only_{op.lower()} BEFORE {op} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
            for table in ("hydrant_events", "blockage_audit")
            for op in ("UPDATE", "DELETE")
        ),
    ),
    # 2: every field a ledger move changes, old and new value (JSON ``{field: [old, new]}``);
    # rows written before it keep NULL (nothing of them is lost)
    ("ALTER TABLE blockage_audit ADD COLUMN changes TEXT",),
    # 3: a key may expire (NULL: it does not)
    ("ALTER TABLE api_keys ADD COLUMN expires_at TEXT",),
)

SCHEMA_VERSION = len(MIGRATIONS)


def _connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_s
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {round(busy_timeout_s * 1000)}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to :data:`SCHEMA_VERSION`; return the version found before.

    Each migration runs in one ``BEGIN IMMEDIATE`` transaction together with its row in
    ``schema_version``, so a crash leaves the schema at a whole version.

    Raises
    ------
    ConfigError
        If the database was written by a newer FireReach (a higher schema version).
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version "
        "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
    )
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])
        if found > SCHEMA_VERSION:
            raise ConfigError(
                f"the store's schema version is {found} but this FireReach knows up to "
                f"{SCHEMA_VERSION}; upgrade FireReach (do not downgrade a served workspace)"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version, to_text(utc_now())),
            )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if found < SCHEMA_VERSION:
        log.info("store schema migrated from version %d to %d", found, SCHEMA_VERSION)
    return found


class Store:
    """The SQLite store of one workspace; open it with :func:`open_store`.

    Writes go through :meth:`write` (one serialized connection, one transaction per call, on
    disk when the call returns); reads through :meth:`read` (pooled read-only connections).
    """

    def __init__(
        self, path: Path, writer: sqlite3.Connection, *, busy_timeout_s: float = BUSY_TIMEOUT_S
    ) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._writer = writer
        self._write_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``); committed, and durable, on exit.

        Raises :class:`StoreUnavailableError` when the database is locked by another process
        (after ``busy_timeout_s``), read-only or on a full disk.
        """
        with self._write_lock, _available(self.path):
            if self._closed:
                raise ConfigError(f"store {self.path} is closed")
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _reader(self) -> sqlite3.Connection:
        with self._readers_lock:
            if self._closed:
                raise ConfigError(f"store {self.path} is closed")
            if self._idle:
                return self._idle.pop()
        conn = _connect(self.path, self.busy_timeout_s)
        conn.execute("PRAGMA query_only = ON")
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: one consistent snapshot, on a pooled read-only connection.

        The pool holds as many connections as there were concurrent reads at the peak.
        """
        with _available(self.path):
            conn = self._reader()
            conn.execute("BEGIN")
        try:
            with _available(self.path):
                yield conn
        finally:
            conn.execute("COMMIT")
            with self._readers_lock:
                if self._closed:
                    conn.close()
                else:
                    self._idle.append(conn)

    def probe(self) -> None:
        """Read and write the store once (for readiness): rewrites the database header's
        ``user_version`` with its own value, a durable no-op.

        Raises :class:`StoreUnavailableError` when the store is locked by another process,
        read-only or on a full disk, and :class:`~geo.errors.ConfigError` when it is closed.
        """
        with self.read() as conn:
            conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()
        with self.write() as conn:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            conn.execute(f"PRAGMA user_version = {version}")

    def close(self) -> None:
        """Close every connection (checkpointing the WAL into the database file)."""
        with self._write_lock, self._readers_lock:
            if self._closed:
                return
            self._closed = True
            for conn in self._idle:
                conn.close()
            self._idle.clear()
            self._writer.close()
        log.info("store %s closed", self.path)


def open_store(folder: Path, *, busy_timeout_s: float | None = None) -> Store:
    """Open (creating and migrating as needed) ``folder / firereach.db``.

    Parameters
    ----------
    folder
        The workspace folder.
    busy_timeout_s
        Seconds a statement waits for another process's lock before
        :class:`StoreUnavailableError`; None = :data:`BUSY_TIMEOUT_S`.

    Returns
    -------
    Store
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"workspace folder {str(folder)!r} does not exist")
    path = folder / DB_NAME
    with _available(path):
        timeout = BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s
        writer = _connect(path, timeout)
        mode = writer.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        writer.close()
        raise ConfigError(f"store {path} cannot use WAL mode (got {mode!r}); use a local disk")
    writer.execute("PRAGMA synchronous = FULL")
    try:
        with _available(path):
            migrate(writer)
    except BaseException:
        writer.close()
        raise
    log.info("store %s open (schema version %d)", path, SCHEMA_VERSION)
    return Store(path, writer, busy_timeout_s=timeout)


def _opt_time(text: str | None) -> datetime | None:
    return None if text is None else from_text(text)


# --------------------------------------------------------------------------------------------
# hydrant status events


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the API key's name and id (``key_id`` None for the CLI or start-up)."""

    name: str
    key_id: int | None = None


@dataclass(frozen=True)
class HydrantEvent:
    """One stored hydrant status observation."""

    event_id: int
    hydrant_id: str
    status: str
    pressure_mpa: float | None
    inspector: str
    observed_at: datetime
    photo_url: str | None
    note: str | None
    recorded_at: datetime
    actor: str


@dataclass(frozen=True)
class HydrantObservation:
    """What an inspector reports for one hydrant (validated by the router)."""

    status: str
    inspector: str
    observed_at: datetime
    pressure_mpa: float | None = None
    photo_url: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class HydrantState:
    """A hydrant's current state from its events: the latest observation wins.

    ``status`` and ``observed_at`` come from the latest event (by observation time, then
    event id); ``pressure_mpa`` from the latest event that measured a pressure (None if none).
    """

    hydrant_id: str
    status: str
    observed_at: datetime
    event_id: int
    pressure_mpa: float | None


def _event(row: sqlite3.Row) -> HydrantEvent:
    return HydrantEvent(
        event_id=row["event_id"], hydrant_id=row["hydrant_id"], status=row["status"],
        pressure_mpa=row["pressure_mpa"], inspector=row["inspector"],
        observed_at=from_text(row["observed_at"]), photo_url=row["photo_url"], note=row["note"],
        recorded_at=from_text(row["recorded_at"]), actor=row["actor"],
    )


def add_hydrant_event(
    conn: sqlite3.Connection,
    hydrant_id: str,
    observation: HydrantObservation,
    *,
    actor: Actor,
    now: datetime,
) -> HydrantEvent:
    """Append one status event (inside a :meth:`Store.write` transaction).

    The observation time is bounded by ``now`` (the server's receive time): a client clock ahead
    (within the accepted skew) can never make its observation outrank one received later.
    """
    if observation.status not in HYDRANT_STATUSES:
        raise LayerValidationError(
            f"hydrant status {observation.status!r}; expected one of {', '.join(HYDRANT_STATUSES)}"
        )
    cur = conn.execute(
        "INSERT INTO hydrant_events (hydrant_id, status, pressure_mpa, inspector, observed_at, "
        "photo_url, note, recorded_at, actor, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            hydrant_id, observation.status, observation.pressure_mpa, observation.inspector,
            to_text(min(observation.observed_at, now)), observation.photo_url, observation.note,
            to_text(now), actor.name, actor.key_id,
        ),
    )
    row = conn.execute(
        "SELECT * FROM hydrant_events WHERE event_id = ?", (cur.lastrowid,)
    ).fetchone()
    return _event(row)


def hydrant_history(
    conn: sqlite3.Connection, hydrant_id: str, *, limit: int, offset: int
) -> tuple[list[HydrantEvent], int]:
    """A hydrant's events, newest observation first, and their total count."""
    total = int(conn.execute(
        "SELECT COUNT(*) FROM hydrant_events WHERE hydrant_id = ?", (hydrant_id,)
    ).fetchone()[0])
    rows = conn.execute(
        "SELECT * FROM hydrant_events WHERE hydrant_id = ? "
        "ORDER BY observed_at DESC, event_id DESC LIMIT ? OFFSET ?",
        (hydrant_id, limit, offset),
    ).fetchall()
    return [_event(r) for r in rows], total


def hydrant_states(
    conn: sqlite3.Connection, hydrant_ids: list[str] | None = None
) -> dict[str, HydrantState]:
    """The current state of every hydrant with events (or of the given ones)."""
    where = ""
    params: tuple[str, ...] = ()
    if hydrant_ids is not None:
        if not hydrant_ids:
            return {}
        where = f"WHERE hydrant_id IN ({', '.join('?' * len(hydrant_ids))})"
        params = tuple(hydrant_ids)
    latest = conn.execute(
        f"""SELECT hydrant_id, status, observed_at, event_id FROM (
                SELECT *, ROW_NUMBER() OVER (PARTITION BY hydrant_id
                    ORDER BY observed_at DESC, event_id DESC) AS rn
                FROM hydrant_events {where}) WHERE rn = 1""",
        params,
    ).fetchall()
    pressure_where = f"{where} AND" if where else "WHERE"
    pressures = dict(conn.execute(
        f"""SELECT hydrant_id, pressure_mpa FROM (
                SELECT *, ROW_NUMBER() OVER (PARTITION BY hydrant_id
                    ORDER BY observed_at DESC, event_id DESC) AS rn
                FROM hydrant_events {pressure_where} pressure_mpa IS NOT NULL) WHERE rn = 1""",
        params,
    ).fetchall())
    return {
        r["hydrant_id"]: HydrantState(
            hydrant_id=r["hydrant_id"], status=r["status"], observed_at=from_text(r["observed_at"]),
            event_id=r["event_id"], pressure_mpa=pressures.get(r["hydrant_id"]),
        )
        for r in latest
    }


# --------------------------------------------------------------------------------------------
# the blockage ledger


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


# --------------------------------------------------------------------------------------------
# API key rows (hashing and roles live in api.auth)


@dataclass(frozen=True)
class KeyRecord:
    """A stored API key: never the key itself, only its salted hash."""

    key_id: int
    public_id: str
    name: str
    role: str
    kdf: str
    salt: bytes = field(repr=False)
    digest: bytes = field(repr=False)
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    expires_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def expired(self, now: datetime) -> bool:
        """Past its expiry (a key without one never expires)."""
        return self.expires_at is not None and self.expires_at <= now


def _key(row: sqlite3.Row) -> KeyRecord:
    return KeyRecord(
        key_id=row["key_id"], public_id=row["public_id"], name=row["name"], role=row["role"],
        kdf=row["kdf"], salt=bytes(row["salt"]), digest=bytes(row["digest"]),
        created_at=from_text(row["created_at"]), created_by=row["created_by"],
        revoked_at=_opt_time(row["revoked_at"]),
        expires_at=_opt_time(row["expires_at"]),
    )


def insert_key(
    conn: sqlite3.Connection,
    *,
    public_id: str,
    name: str,
    role: str,
    kdf: str,
    salt: bytes,
    digest: bytes,
    created_by: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> KeyRecord:
    """Store a hashed key (inside a write transaction); ``expires_at`` None: it never expires."""
    if role not in ROLES:
        raise LayerValidationError(f"role {role!r}; expected one of {', '.join(ROLES)}")
    cur = conn.execute(
        "INSERT INTO api_keys (public_id, name, role, kdf, salt, digest, created_at, created_by, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (public_id, name, role, kdf, salt, digest, to_text(now), created_by,
         None if expires_at is None else to_text(expires_at)),
    )
    row = conn.execute("SELECT * FROM api_keys WHERE key_id = ?", (cur.lastrowid,)).fetchone()
    return _key(row)


def key_by_public_id(conn: sqlite3.Connection, public_id: str) -> KeyRecord | None:
    """The key with this public id, revoked or not."""
    row = conn.execute("SELECT * FROM api_keys WHERE public_id = ?", (public_id,)).fetchone()
    return None if row is None else _key(row)


def active_keys_with_prefix(conn: sqlite3.Connection, prefix: str) -> list[KeyRecord]:
    """Active keys whose public id starts with ``prefix`` (bootstrap keys)."""
    rows = conn.execute(
        "SELECT * FROM api_keys WHERE revoked_at IS NULL AND substr(public_id, 1, ?) = ? "
        "ORDER BY key_id",
        (len(prefix), prefix),
    ).fetchall()
    return [_key(r) for r in rows]


def list_keys(conn: sqlite3.Connection) -> list[KeyRecord]:
    """Every key, revoked ones included, by id."""
    return [_key(r) for r in conn.execute("SELECT * FROM api_keys ORDER BY key_id").fetchall()]


def count_active_admins(conn: sqlite3.Connection) -> int:
    """Number of active admin keys."""
    return int(conn.execute(
        "SELECT COUNT(*) FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL"
    ).fetchone()[0])


def revoke_key(conn: sqlite3.Connection, key_id: int, *, now: datetime) -> KeyRecord:
    """Revoke a key (inside a write transaction); the last active admin key stays.

    Raises
    ------
    NotFoundError
        No such key.
    ConflictError
        The key is already revoked, or it is the last active admin key.
    """
    row = conn.execute("SELECT * FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"API key {key_id} not found")
    key = _key(row)
    if not key.active:
        raise ConflictError(f"API key {key_id} was already revoked at {row['revoked_at']}")
    if key.role == "admin" and count_active_admins(conn) <= 1:
        raise ConflictError(
            f"API key {key_id} is the last active admin key; create another admin key first"
        )
    conn.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", (to_text(now), key_id))
    row = conn.execute("SELECT * FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    return _key(row)


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

"""The store's connection, schema and times: ``firereach.db`` (SQLite) next to ``layers.gpkg``.

Durability: the database runs in WAL mode with ``synchronous=FULL``, so a transaction is on disk
when its ``COMMIT`` returns; the API acknowledges a write only after that. All writes go through
one connection behind a lock (a serialized writer, ``BEGIN IMMEDIATE`` ... ``COMMIT``); reads use
pooled read-only connections and see a consistent snapshot. The schema evolves by numbered
migrations recorded in the ``schema_version`` table (:data:`MIGRATIONS`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from geo.errors import ConfigError, FireReachError, LayerValidationError

log = logging.getLogger(__name__)

#: File name of the store inside the workspace folder.
DB_NAME = "firereach.db"

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


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
    # 4: Idempotency-Key claims of field writes (api.store.idempotency), kept a day
    (
        """CREATE TABLE idempotency (
            scope TEXT NOT NULL,
            idem_key TEXT NOT NULL,
            route TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            resource_id INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (scope, idem_key)
        )""",
    ),
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


def optional_time(text: str | None) -> datetime | None:
    """:func:`from_text` of a nullable column."""
    return None if text is None else from_text(text)


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the API key's name and id (``key_id`` None for the CLI or start-up)."""

    name: str
    key_id: int | None = None



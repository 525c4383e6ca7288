"""API key rows: stored hashed, with role, expiry and revocation (hashing and the checks of a
presented key live in :mod:`api.auth`)."""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, get_args

from api.store.base import (
    ConflictError,
    from_text,
    optional_time,
    to_text,
)
from geo.errors import LayerValidationError, NotFoundError

Role = Literal["viewer", "inspector", "planner", "admin"]
ROLES: tuple[str, ...] = get_args(Role)


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
        revoked_at=optional_time(row["revoked_at"]),
        expires_at=optional_time(row["expires_at"]),
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
    return _key(conn.execute("SELECT * FROM api_keys WHERE key_id = ?", (cur.lastrowid,)).fetchone())


def key_by_id(conn: sqlite3.Connection, key_id: int) -> KeyRecord | None:
    """The key with this id, revoked or not."""
    row = conn.execute("SELECT * FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    return None if row is None else _key(row)


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
    key = key_by_id(conn, key_id)
    if key is None:
        raise NotFoundError(f"API key {key_id} not found")
    if key.revoked_at is not None:
        raise ConflictError(f"API key {key_id} was already revoked at {to_text(key.revoked_at)}")
    if key.role == "admin" and count_active_admins(conn) <= 1:
        raise ConflictError(
            f"API key {key_id} is the last active admin key; create another admin key first"
        )
    conn.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", (to_text(now), key_id))
    return dataclasses.replace(key, revoked_at=now)

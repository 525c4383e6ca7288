"""Idempotency keys (the IETF ``Idempotency-Key`` header) for the writes made in the field.

An inspector's phone on a weak network sends a report, loses the answer and sends it again. With
the same ``Idempotency-Key`` the second request creates nothing: it gets the item the first one
created (with ``Idempotent-Replayed: true``). The key is remembered per caller (the API key,
else the name given) and per route, with a fingerprint of the request body; reusing it for a
different request is refused (HTTP 422). The claim is checked and recorded inside the write's own
transaction, so two copies racing each other still create one item. Keys are kept
:data:`RETENTION` and then forgotten.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.store.base import Actor, to_text
from geo.errors import FireReachError

#: How long a key is remembered (a retry comes within minutes; a day covers a phone offline
#: for a shift).
RETENTION = timedelta(hours=24)

class IdempotencyKeyReuseError(FireReachError):
    """An ``Idempotency-Key`` sent again with a different request (HTTP 422)."""


@dataclass(frozen=True)
class IdempotencyKey:
    """One request's claim: who, which key, which route, and the fingerprint of its body."""

    scope: str
    key: str
    route: str
    fingerprint: str

    @classmethod
    def of(cls, key: str | None, *, actor: Actor, route: str, body: bytes) -> IdempotencyKey | None:
        """The claim of a request (None without the header)."""
        if key is None:
            return None
        scope = f"key:{actor.key_id}" if actor.key_id is not None else f"name:{actor.name}"
        return cls(scope, key, route, hashlib.sha256(body).hexdigest())


def claimed(conn: sqlite3.Connection, claim: IdempotencyKey, *, now: datetime) -> int | None:
    """The id of what this key already created (None: nothing yet, go ahead).

    Raises
    ------
    IdempotencyKeyReuseError
        The key was used for another route or another body.
    """
    row = conn.execute(
        "SELECT route, fingerprint, resource_id FROM idempotency WHERE scope = ? AND idem_key = ? "
        "AND created_at >= ?",
        (claim.scope, claim.key, to_text(now - RETENTION)),
    ).fetchone()
    if row is None:
        return None
    if row["route"] != claim.route or row["fingerprint"] != claim.fingerprint:
        raise IdempotencyKeyReuseError(
            f"Idempotency-Key {claim.key!r} was used for a different request "
            f"({row['route']}); send a new key for a new request"
        )
    return int(row["resource_id"])


def remember(conn: sqlite3.Connection, claim: IdempotencyKey, resource_id: int, *, now: datetime) -> None:
    """Record what this key created (inside the write's transaction); forget expired keys."""
    conn.execute("DELETE FROM idempotency WHERE created_at < ?", (to_text(now - RETENTION),))
    conn.execute(
        "INSERT OR REPLACE INTO idempotency (scope, idem_key, route, fingerprint, resource_id, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (claim.scope, claim.key, claim.route, claim.fingerprint, resource_id, to_text(now)),
    )

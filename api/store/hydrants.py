"""Hydrant status events from inspections: append-only, the latest observation per hydrant wins."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from api.store.base import (
    Actor,
    from_text,
    to_text,
)
from geo import vocabulary
from geo.errors import LayerValidationError

#: The codes live in :mod:`geo.vocabulary`; the Literal spells them for the type checker and the
#: request models (``tests/api/test_web_vocabulary.py`` checks that the two agree).
HydrantStatus = Literal["in_service", "out_of_service", "low_pressure"]
HYDRANT_STATUSES: tuple[str, ...] = vocabulary.OBSERVED_HYDRANT_STATUSES


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


def hydrant_event(conn: sqlite3.Connection, event_id: int) -> HydrantEvent:
    """One stored event by its id (it exists: ids come from this store)."""
    return _event(conn.execute("SELECT * FROM hydrant_events WHERE event_id = ?", (event_id,)).fetchone())


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



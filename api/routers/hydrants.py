"""Hydrant status from inspections: report a status, read the history and the current state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, field_validator

from api.auth import ReadAccess, RecordsAccess, ReportAccess
from api.deps import IdempotencyHeader, WorkspaceDep
from api.live import StoreDep, hydrant_row, record_inspection
from api.store import (
    HydrantEvent,
    HydrantObservation,
    HydrantStatus,
    IdempotencyKey,
    hydrant_history,
    utc_now,
)

router = APIRouter(prefix="/hydrants", tags=["hydrants"])

#: Pressure below which a hydrant reported in service is flagged (GB 55036 3.0.3: 0.10 MPa).
MIN_FIREFIGHTING_PRESSURE_MPA = 0.10
_CLOCK_SKEW = timedelta(minutes=10)
_EARLIEST = datetime.fromisoformat("2000-01-01T00:00:00+00:00")

HydrantId = Annotated[str, Path(min_length=1, max_length=200, description="hydrant_id, e.g. osm/612037371")]


def check_moment(value: datetime | None) -> datetime | None:
    """A reported time must not lie in the future (beyond clock skew) or before 2000."""
    if value is None:
        return None
    if value > utc_now() + _CLOCK_SKEW:
        raise ValueError("lies in the future; give the time of the observation with its UTC offset")
    if value < _EARLIEST:
        raise ValueError("lies before 2000-01-01")
    return value


class StatusIn(BaseModel):
    """An inspection of one hydrant (网格巡检)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: HydrantStatus
    pressure_mpa: float | None = Field(default=None, ge=0, le=10, allow_inf_nan=False)
    inspector: str = Field(min_length=1, max_length=200)
    observed_at: AwareDatetime | None = Field(default=None, description="default: now")
    photo_url: HttpUrl | None = None
    note: str | None = Field(default=None, max_length=2000)

    _moment = field_validator("observed_at")(check_moment)


class EventOut(BaseModel):
    """A stored status event."""

    model_config = ConfigDict(from_attributes=True)

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


class CurrentOut(BaseModel):
    """A hydrant's current state in the served workspace."""

    hydrant_id: str
    status: str
    status_source: str
    pressure_mpa: float | None
    last_event: EventOut | None = None


class RecomputedOut(BaseModel):
    """What the live recomputation did."""

    applied: bool
    edges: int
    buildings: int
    seconds: float
    error: str | None = None


class StatusOut(BaseModel):
    """Answer to a status report."""

    event: EventOut
    current: CurrentOut
    recomputed: RecomputedOut
    warnings: list[str]


class HistoryOut(BaseModel):
    """A page of a hydrant's events, newest observation first."""

    hydrant_id: str
    total: int
    limit: int
    offset: int
    items: list[EventOut]


def _current(ws: Any, hydrant_id: str, last: HydrantEvent | None) -> CurrentOut:
    row = hydrant_row(ws, hydrant_id)
    rec = ws.layers.hydrants.iloc[row]
    pressure = rec["pressure_mpa"]
    return CurrentOut(
        hydrant_id=hydrant_id, status=str(rec["status"]),
        status_source=str(rec.get("status_source", "")),
        pressure_mpa=None if pressure != pressure else float(pressure),
        last_event=None if last is None else EventOut.model_validate(last),
    )


def _warnings(body: StatusIn) -> list[str]:
    out: list[str] = []
    if (
        body.status == "in_service" and body.pressure_mpa is not None
        and body.pressure_mpa < MIN_FIREFIGHTING_PRESSURE_MPA
    ):
        out.append(
            f"pressure {body.pressure_mpa} MPa is below {MIN_FIREFIGHTING_PRESSURE_MPA} MPa "
            "(GB 55036 3.0.3); consider status low_pressure"
        )
    return out


@router.post("/{hydrant_id:path}/status", status_code=201)
def report_status(
    hydrant_id: HydrantId, body: StatusIn, ws: WorkspaceDep, store: StoreDep, who: ReportAccess,
    response: Response, idempotency_key: IdempotencyHeader = None,
) -> StatusOut:
    """Record an inspection; the hydrant's coverage and building water are recomputed nearby.

    The event is stored (durably) before the answer; the latest observation of the hydrant
    becomes its status. The recomputation covers only the streets and buildings in its reach.
    With an ``Idempotency-Key``, a retry stores nothing and answers with the first copy's event.
    """
    claim = IdempotencyKey.of(idempotency_key, actor=who.actor, route=f"POST /hydrants/{hydrant_id}/status",
                              body=body.model_dump_json().encode())
    observation = HydrantObservation(
        status=body.status, inspector=body.inspector, observed_at=body.observed_at or utc_now(),
        pressure_mpa=body.pressure_mpa, photo_url=None if body.photo_url is None else str(body.photo_url),
        note=body.note,
    )
    event, result, error = record_inspection(
        ws, store, hydrant_id, observation, actor=who.actor, now=utc_now(), claim=claim
    )
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    current = _current(ws, hydrant_id, event)
    return StatusOut(
        event=EventOut.model_validate(event),
        current=current,
        recomputed=RecomputedOut(
            applied=result.applied, edges=result.edges, buildings=result.buildings,
            seconds=round(result.seconds, 4), error=error,
        ),
        warnings=_warnings(body),
    )


@router.get("/{hydrant_id:path}/status")
def current_status(hydrant_id: HydrantId, ws: WorkspaceDep, who: ReadAccess) -> CurrentOut:
    """The hydrant's status in the served workspace (public when ``public_read`` is on)."""
    return _current(ws, hydrant_id, None)


@router.get("/{hydrant_id:path}/history")
def history(
    hydrant_id: HydrantId,
    ws: WorkspaceDep,
    store: StoreDep,
    who: RecordsAccess,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> HistoryOut:
    """Every status event of the hydrant, newest observation first (needs a key)."""
    hydrant_row(ws, hydrant_id)
    with store.read() as conn:
        events, total = hydrant_history(conn, hydrant_id, limit=limit, offset=offset)
    return HistoryOut(
        hydrant_id=hydrant_id, total=total, limit=limit, offset=offset,
        items=[EventOut.model_validate(e) for e in events],
    )

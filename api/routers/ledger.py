"""The 生命通道 blockage ledger (隐患台账): report, move through 整改 → 复核 → 销号, query, export."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)

from api import ogc
from api.auth import RecordsAccess, ReportAccess, TransitionAccess
from api.deps import IdempotencyHeader, SettingsDep, WorkspaceDep
from api.live import StoreDep, check_district, ledger_impact, ledger_write, locate
from api.routers.hydrants import check_moment
from api.store import (
    MAX_BACKDATE,
    BlockageKind,
    BlockageReport,
    IdempotencyKey,
    LedgerQuery,
    LedgerStatus,
    Transition,
    blockage_audit,
    claimed,
    get_blockage,
    ledger_csv,
    list_blockages,
    remember,
    report_blockage,
    transition_blockage,
    utc_now,
)
from geo.bbox import BBox, parse_bbox

router = APIRouter(prefix="/ledger", tags=["ledger"])

#: Largest id SQLite can hold.
MAX_ID = 2**63 - 1
BlockageId = Annotated[int, Path(ge=1, le=MAX_ID, description="blockage id")]


class LedgerFilter(BaseModel):
    """Filters of the ledger list and export."""

    status: list[LedgerStatus] = Field(default_factory=list, description="repeat for several")
    district: str | None = Field(default=None, min_length=1, max_length=200)
    overdue: bool | None = Field(default=None, description="past the SLA of its status")
    bbox: str | None = Field(
        default=None, max_length=200, description="west,south,east,north in degrees (WGS84)",
        examples=["121.49,31.27,121.52,31.29"],
    )

    @field_validator("bbox")
    @classmethod
    def _bbox(cls, value: str | None) -> str | None:
        if value is not None:
            parse_bbox(value)  # ConfigError is a ValueError: a 422 naming the broken rule
        return value

    def box(self) -> BBox | None:
        """The bbox as numbers (:func:`geo.bbox.parse_bbox`; no box across the antimeridian)."""
        return None if self.bbox is None else parse_bbox(self.bbox)


class LedgerPage(LedgerFilter):
    """Filters plus paging."""

    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=1_000_000_000)


class BlockageIn(BaseModel):
    """A blockage of a fire lane as found (position in WGS84 degrees)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    kind: BlockageKind
    reported_at: AwareDatetime | None = Field(
        default=None, description="when found (at most 7 days before now); default now"
    )
    reporter: str = Field(min_length=1, max_length=200)
    photo_url: HttpUrl | None = None
    remaining_width_m: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    note: str | None = Field(default=None, max_length=2000)

    _moment = field_validator("reported_at")(check_moment)

    @field_validator("reported_at")
    @classmethod
    def _recent(cls, value: datetime | None) -> datetime | None:
        if value is not None and value < utc_now() - MAX_BACKDATE:
            raise ValueError(
                f"lies more than {MAX_BACKDATE.days} days before now: the SLA clock would start "
                "in the past; report it with today's time and say when it was found in the note"
            )
        return value


class TransitionIn(BaseModel):
    """A move along the ledger's state machine (see ``api.store.TRANSITIONS``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    to: LedgerStatus
    note: str | None = Field(default=None, max_length=2000)
    assignee: str | None = Field(default=None, min_length=1, max_length=200)
    duplicate_of: int | None = Field(default=None, ge=1, le=MAX_ID)
    expected_from: LedgerStatus | None = Field(
        default=None, description="fail with 409 unless the item is still in this status"
    )

    @model_validator(mode="after")
    def _required(self) -> TransitionIn:
        if self.to == "assigned" and not self.assignee:
            raise ValueError("assigning needs the assignee (责任单位)")
        if self.to == "duplicate" and self.duplicate_of is None:
            raise ValueError("marking a duplicate needs duplicate_of")
        return self


class BlockageOut(BaseModel):
    """A ledger item."""

    model_config = ConfigDict(from_attributes=True)

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
    due_at: datetime | None
    overdue: bool
    created_at: datetime
    updated_at: datetime


class AuditOut(BaseModel):
    """One audit row: who (the key's name and its unique id) moved the item from which status to
    which, when and why, and every field the move changed (``{field: [old, new]}``)."""

    model_config = ConfigDict(from_attributes=True)

    audit_id: int
    at: datetime
    actor: str
    key_id: int | None
    action: str
    from_status: str | None
    to_status: str
    note: str | None
    changes: dict[str, list[Any]]


class ImpactOut(BaseModel):
    """What the item costs fire trucks as the served analysis ranks it (open items only rank).

    ``effect``: ``full`` (the lane is blocked for the apparatus), ``narrowed`` (passable),
    ``none`` (not counted: rectified/verified), ``rejected`` (no lane within the snap distance).
    """

    effect: str
    reason: str | None
    rank: int | None = Field(description="1 = the worst open blockage of the workspace")
    score: float | None
    edge_id: int | None
    road_name: str | None
    edge_width_m: float | None
    remaining_width_m: float | None
    width_basis: str | None
    buildings_cut: int
    high_rises_cut: int
    buildings_delayed: int
    hydrants_unreachable: int
    max_delay_s: float | None
    rule_ids: str | None


class BlockageDetail(BlockageOut):
    """A ledger item with its audit trail (oldest first) and its ranked impact."""

    audit: list[AuditOut]
    impact: ImpactOut | None = Field(
        default=None,
        description="the item's row of the blockage ranking (null when closed, rejected or a "
        "duplicate, or when the workspace has no fire station to rank against)",
    )
    ranking_error: str | None = Field(
        default=None, description="why the ranking was not refreshed after this write, if it failed"
    )


class LedgerPageOut(BaseModel):
    """A page of ledger items by id."""

    total: int
    limit: int
    offset: int
    items: list[BlockageOut]


def _query(f: LedgerFilter, ws: WorkspaceDep, *, limit: int = 100, offset: int = 0) -> LedgerQuery:
    district = None if f.district is None else check_district(ws, f.district)
    return LedgerQuery(
        status=tuple(f.status), district=district, overdue=f.overdue, bbox=f.box(),
        limit=limit, offset=offset,
    )


def _detail(
    ws: WorkspaceDep, store: StoreDep, blockage_id: int, sla: dict[str, float],
    ranking_error: str | None = None,
) -> BlockageDetail:
    with store.read() as conn:
        item = get_blockage(conn, blockage_id, sla_days=sla, now=utc_now())
        audit = blockage_audit(conn, blockage_id)
    impact = ledger_impact(ws, blockage_id)
    return BlockageDetail(
        **BlockageOut.model_validate(item).model_dump(),
        audit=[AuditOut.model_validate(a) for a in audit],
        impact=None if impact is None else ImpactOut(**impact),
        ranking_error=ranking_error,
    )


@router.post("", status_code=201)
def report(
    body: BlockageIn, ws: WorkspaceDep, store: StoreDep, settings: SettingsDep, who: ReportAccess,
    response: Response, idempotency_key: IdempotencyHeader = None,
) -> BlockageDetail:
    """Report a blockage: it enters the ledger as ``reported`` (district found from the map).

    With an ``Idempotency-Key``, a retry of the same report creates nothing and answers with the
    item the first copy created."""
    district = locate(ws, body.lon, body.lat)
    claim = IdempotencyKey.of(idempotency_key, actor=who.actor, route="POST /ledger",
                              body=body.model_dump_json().encode())
    item = BlockageReport(
        lon=body.lon, lat=body.lat, kind=body.kind, reported_at=body.reported_at or utc_now(),
        reporter=body.reporter, photo_url=None if body.photo_url is None else str(body.photo_url),
        remaining_width_m=body.remaining_width_m, note=body.note,
    )
    def write(conn: sqlite3.Connection) -> tuple[int, bool]:
        now = utc_now()
        done = None if claim is None else claimed(conn, claim, now=now)
        if done is not None:  # a retry: answer with what the first copy created
            return done, True
        added = report_blockage(conn, item, district=district, actor=who.actor, now=now,
                                sla_days=settings.ledger_sla_days)
        if claim is not None:
            remember(conn, claim, added.blockage_id, now=now)
        return added.blockage_id, False

    (blockage_id, replayed), error = ledger_write(ws, store, write)
    response.headers["Location"] = f"/ledger/{blockage_id}"
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _detail(ws, store, blockage_id, settings.ledger_sla_days, error)


@router.get("")
def list_ledger(
    f: Annotated[LedgerPage, Query()], ws: WorkspaceDep, store: StoreDep, settings: SettingsDep,
    who: RecordsAccess,
) -> LedgerPageOut:
    """Ledger items by id, filtered by status, district, overdue and bbox, one page at a time."""
    query = _query(f, ws, limit=f.limit, offset=f.offset)
    with store.read() as conn:
        items, total = list_blockages(conn, query, sla_days=settings.ledger_sla_days, now=utc_now())
    return LedgerPageOut(
        total=total, limit=f.limit, offset=f.offset,
        items=[BlockageOut.model_validate(b) for b in items],
    )


@router.get("/export.csv", response_class=Response)
def export_csv(
    f: Annotated[LedgerFilter, Query()], ws: WorkspaceDep, store: StoreDep, settings: SettingsDep,
    who: RecordsAccess,
) -> Response:
    """Every item matching the filters as CSV (UTF-8 with BOM, for Excel)."""
    query = _query(f, ws)
    with store.read() as conn:
        items, _ = list_blockages(
            conn, query, sla_days=settings.ledger_sla_days, now=utc_now(), page=False
        )
    return Response(
        content=ledger_csv(items), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="ledger.csv"'},
    )


@router.get("/{blockage_id}")
def get_item(
    blockage_id: BlockageId, ws: WorkspaceDep, store: StoreDep, settings: SettingsDep,
    who: RecordsAccess,
) -> BlockageDetail:
    """One ledger item with its audit trail and its ranked impact."""
    return _detail(ws, store, blockage_id, settings.ledger_sla_days)


_MOVE_REFUSED: dict[int | str, dict[str, Any]] = {409: {
    "description": "The move is not allowed from the item's status, or the item is no longer in "
                   "expected_from (the allowed moves are listed)",
    "content": {ogc.JSON: {"schema": ogc.ERROR_SCHEMA}},
}}


@router.post("/{blockage_id}/transitions", responses=_MOVE_REFUSED)
def transition(
    blockage_id: BlockageId, body: TransitionIn, ws: WorkspaceDep, store: StoreDep,
    settings: SettingsDep, who: TransitionAccess, response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> BlockageDetail:
    """Move an item along the state machine; 409 (with the allowed moves) when not allowed.
    The blockage ranking of the served analysis follows (a rectified item stops counting).

    With an ``Idempotency-Key``, a retry of the same move changes nothing (no second audit
    entry, no 409 for a move already made) and answers with the item as it is now."""
    move = Transition(
        to=body.to, note=body.note, assignee=body.assignee, duplicate_of=body.duplicate_of,
        expected_from=body.expected_from,
    )
    claim = IdempotencyKey.of(idempotency_key, actor=who.actor,
                              route=f"POST /ledger/{blockage_id}/transitions",
                              body=body.model_dump_json().encode())

    def write(conn: sqlite3.Connection) -> bool:
        now = utc_now()
        if claim is not None and claimed(conn, claim, now=now) is not None:
            return True  # a retry: the move was made by the first copy
        transition_blockage(conn, blockage_id, move, actor=who.actor, now=now,
                            sla_days=settings.ledger_sla_days)
        if claim is not None:
            remember(conn, claim, blockage_id, now=now)
        return False

    replayed, error = ledger_write(ws, store, write)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return _detail(ws, store, blockage_id, settings.ledger_sla_days, error)

"""API keys (admin only): create (the key is shown once, with an optional expiry), list, rotate,
revoke."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api import ogc
from api.auth import AdminAccess, new_key
from api.deps import IdempotencyHeader
from api.live import StoreDep
from api.store import IdempotencyKey, KeyRecord, Role, key_by_id, list_keys, revoke_key, utc_now
from geo.errors import NotFoundError

router = APIRouter(prefix="/keys", tags=["keys"])


class KeyIn(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    role: Role
    name: str = Field(min_length=1, max_length=200, description="who or what uses the key")
    expires_in_days: float | None = Field(
        default=None, gt=0, le=3650, description="the key stops working after this; none: never"
    )


class RotateIn(BaseModel):
    """How long the new key of a rotation lives."""

    model_config = ConfigDict(extra="forbid")

    expires_in_days: float | None = Field(
        default=None, gt=0, le=3650, description="none: as long as the old key had left, or never"
    )


def _expiry(days: float | None) -> datetime | None:
    return None if days is None else utc_now() + timedelta(days=days)


class KeyOut(BaseModel):
    """A stored key: never the key itself."""

    model_config = ConfigDict(from_attributes=True)

    key_id: int
    public_id: str
    name: str
    role: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    expires_at: datetime | None


class NewKeyOut(KeyOut):
    """A new key, with the key text: shown this once, store it now."""

    key: str | None = Field(description="the key text, shown this once; null on an idempotent "
                                        "replay (Idempotent-Replayed: true): the first answer had it")


def _answer(record: KeyRecord, key: str | None, response: Response) -> NewKeyOut:
    response.headers["Cache-Control"] = "no-store"
    if key is None:
        response.headers["Idempotent-Replayed"] = "true"
    return NewKeyOut(**KeyOut.model_validate(record).model_dump(), key=key)


@router.post("", status_code=201)
def create(
    body: KeyIn, store: StoreDep, who: AdminAccess, response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> NewKeyOut:
    """Create a key; the answer is the only time the key is shown. With an
    ``Idempotency-Key``, a retry creates no second key (its answer has ``key`` null)."""
    claim = IdempotencyKey.of(idempotency_key, actor=who.actor, route="POST /keys",
                              body=body.model_dump_json().encode())
    record, key = new_key(store, body.role, body.name, created_by=who.name,
                          expires_at=_expiry(body.expires_in_days), claim=claim)
    return _answer(record, key, response)


KeyIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]


_ROTATE_REFUSED: dict[int | str, dict[str, Any]] = {409: {
    "description": "The key was already revoked (or rotated)",
    "content": {ogc.JSON: {"schema": ogc.ERROR_SCHEMA}},
}}


@router.post("/{key_id}/rotate", status_code=201, responses=_ROTATE_REFUSED)
def rotate(
    key_id: KeyIdPath, store: StoreDep, who: AdminAccess, response: Response,
    body: RotateIn | None = None, idempotency_key: IdempotencyHeader = None,
) -> NewKeyOut:
    """A new key for the same role and name, and the old one revoked, in one write (a leaked or
    expiring key replaced); the answer is the only time the new key is shown. With an
    ``Idempotency-Key``, a retry makes no second key (its answer has ``key`` null)."""
    claim = IdempotencyKey.of(idempotency_key, actor=who.actor, route=f"POST /keys/{key_id}/rotate",
                              body=b"" if body is None else body.model_dump_json().encode())
    with store.read() as conn:
        old = key_by_id(conn, key_id)
    if old is None:
        raise NotFoundError(f"no API key {key_id}")
    days = body.expires_in_days if body is not None else None
    expires = _expiry(days) if days is not None else old.expires_at
    record, key = new_key(store, old.role, old.name, created_by=who.name, expires_at=expires,
                          replaces=key_id, claim=claim)
    return _answer(record, key, response)


@router.get("")
def list_all(store: StoreDep, who: AdminAccess) -> list[KeyOut]:
    """Every key, revoked ones included (no secrets)."""
    with store.read() as conn:
        return [KeyOut.model_validate(k) for k in list_keys(conn)]


@router.delete("/{key_id}")
def revoke(key_id: KeyIdPath, store: StoreDep, who: AdminAccess) -> KeyOut:
    """Revoke a key at once (the last active admin key cannot be revoked)."""
    with store.write() as conn:
        return KeyOut.model_validate(revoke_key(conn, key_id, now=utc_now()))

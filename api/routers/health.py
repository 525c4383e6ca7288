"""Liveness (``/health``) and readiness (``/ready``).

``/health`` says only that the process answers: no summary, no path, nothing about the data, for
anyone. ``/ready`` says whether the service can do its work: the store opens, reads and takes a
write, and the workspace is analysed; when not, a 503 with ``Retry-After`` and the reason (never
a path or an error's text).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.errors import RETRY_AFTER_S, error_body
from api.store import Store, StoreUnavailableError
from geo.errors import ConfigError

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

_ALIVE = {"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}}
_READY = {
    "type": "object",
    "properties": {"status": {"type": "string", "enum": ["ready"]},
                   "checks": {"type": "object", "additionalProperties": {"type": "string"}}},
}
_NOT_READY = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {"status": {"type": "integer"}, "error": {"type": "string"},
                   "detail": {"type": "object", "additionalProperties": {"type": "string"}}},
}


@router.get(
    "/health", summary="Liveness: the process answers",
    responses={200: {"content": {"application/json": {"schema": _ALIVE}}}},
)
def health() -> dict[str, str]:
    """Liveness only: ``{"status": "ok"}`` while the process answers (see ``/ready``)."""
    return {"status": "ok"}


def _store_check(store: Store | None) -> str:
    if store is None:
        return "not open (starting or stopping)"
    try:
        store.probe()
    except StoreUnavailableError as exc:
        log.warning("readiness: %s", exc)
        return "unavailable (locked by another process, read-only or disk full)"
    except ConfigError:
        return "closed"
    return "ok"


@router.get(
    "/ready", summary="Readiness: the store is writable and the workspace analysed",
    responses={
        200: {"content": {"application/json": {"schema": _READY}}},
        503: {"description": "Not ready; ``Retry-After`` says when to ask again",
              "content": {"application/json": {"schema": _NOT_READY}}},
    },
)
def ready(request: Request) -> Any:
    """Ready when the store opens, reads and takes a write, and the workspace is analysed;
    else 503 with ``Retry-After`` and which check failed."""
    state = request.app.state
    ws = getattr(state, "workspace", None)
    checks = {
        "store": _store_check(getattr(state, "store", None)),
        "workspace": "ok" if ws is not None and getattr(ws, "analysis", None) is not None
        else "not loaded",
    }
    if all(v == "ok" for v in checks.values()):
        return {"status": "ready", "checks": checks}
    failed = ", ".join(f"{k} {v}" for k, v in checks.items() if v != "ok")
    return JSONResponse(error_body(503, f"not ready: {failed}", detail=checks), status_code=503,
                        headers={"Retry-After": str(RETRY_AFTER_S)})

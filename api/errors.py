"""HTTP error mapping: one table from FireReach errors to status codes, JSON bodies everywhere."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.auth import HEADER, AuthenticationError, PermissionDeniedError
from api.store import ConflictError, IdempotencyKeyReuseError, StoreUnavailableError
from api.throttle import TooManyRequestsError
from geo.errors import (
    AnalysisError,
    ConfigError,
    CRSError,
    FireReachError,
    InputFileError,
    LayerValidationError,
    NetworkUnavailableError,
    NotFoundError,
    OutputWriteError,
)

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait (``Retry-After``) when a 503 says "try again later".
RETRY_AFTER_S = 5

#: The one table of status codes (most specific class first).
STATUS: tuple[tuple[type[FireReachError], int], ...] = (
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (TooManyRequestsError, 429),
    (ConflictError, 409),
    (IdempotencyKeyReuseError, 422),
    (NotFoundError, 404),
    (InputFileError, 422),
    (LayerValidationError, 422),
    (CRSError, 422),
    (ConfigError, 400),
    (AnalysisError, 409),
    (NetworkUnavailableError, 503),
    (StoreUnavailableError, 503),
    (OutputWriteError, 500),
    (FireReachError, 400),
)


def status_for(exc: FireReachError) -> int:
    """HTTP status for a FireReach error."""
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 400


#: An absolute POSIX path in a message (two components at least, not inside a URL).
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.~-])(/[^\s'\"/,;:()<>]+(?:/[^\s'\"/,;:()<>]+)+)")


def relative_names(message: str) -> str:
    """``message`` with every absolute path of this server's file system cut to its file name.

    A path counts when its first folder exists on this machine (``/srv/ws/roads.csv`` →
    ``roads.csv``); route paths such as ``/ledger/export.csv`` stay as they are.
    """

    def name(m: re.Match[str]) -> str:
        path = Path(m.group(1))
        return path.name if Path("/", path.parts[1]).is_dir() else m.group(1)

    return _ABSOLUTE_PATH.sub(name, message)


def error_body(status: int, message: str, *, detail: object = None) -> dict[str, object]:
    """The JSON error body every endpoint returns (absolute server paths cut to file names)."""
    body: dict[str, object] = {"status": status, "error": relative_names(message)}
    if detail is not None:
        body["detail"] = detail
    return body


def error_response(exc: FireReachError) -> JSONResponse:
    """The JSON response for a FireReach error: its status from :data:`STATUS`, with
    ``WWW-Authenticate`` on a 401 and ``Retry-After`` on a 429 or 503."""
    code = status_for(exc)
    headers = None
    if code == 401:
        headers = {"WWW-Authenticate": f'ApiKey header="{HEADER}"'}
    elif isinstance(exc, TooManyRequestsError):
        headers = {"Retry-After": str(exc.retry_after)}
    elif code == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse(error_body(code, str(exc)), status_code=code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map FireReach errors, validation errors and HTTP errors to JSON bodies."""

    @app.exception_handler(FireReachError)
    async def _firereach(_: Request, exc: FireReachError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "what": e.get("msg", "")}
            for e in exc.errors()
        ]
        return JSONResponse(error_body(422, "invalid request", detail=errors), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # a bug, not a request error: logged with its traceback; the client gets JSON, not text
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(error_body(500, "internal error; the server log has the details"),
                            status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

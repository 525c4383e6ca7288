"""The service's edge: what every HTTP request passes before a router sees it (pure ASGI).

:class:`EdgeGuard`, in this order:

1. security headers on every response (:func:`security_headers`; a response that sets its own
   ``Content-Security-Policy``, such as ``/docs``, keeps it);
2. the request line and headers: a control character (NUL, newline ...) in the path, or a path
   segment (an id) longer than ``max_id_chars``, is a 404 (no such resource can exist), a target
   longer than ``max_path_chars`` a 414, more than ``max_headers`` headers or
   ``max_header_bytes`` of them a 431; the error never repeats the offending value;
3. the rate limit, per client address and per API key (:class:`api.throttle.TokenBuckets`; 429
   with ``Retry-After``; ``/health`` and ``/ready`` are exempt);
4. a declared body larger than the path's limit (``max_body_bytes``, or the longest prefix of
   ``max_body_bytes_by_path``) is a 413 before anything is read;
5. authentication before parsing: when a route that needs a permission (:func:`api.auth.require`)
   first asks for its body, the key is checked here, before one byte is handed over (401/403/429
   at once, the body never read); the route's dependency reuses the result;
6. the body is counted while it streams (chunked uploads included) and cut at the limit (413).

All refusals are the JSON error bodies of :mod:`api.errors`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import AUTHORIZED_STATE, HEADER, authorize
from api.errors import error_body, error_response
from api.settings import Settings
from api.throttle import TokenBuckets
from geo.errors import FireReachError

log = logging.getLogger(__name__)

#: Paths never rate limited (a probe must always get its answer).
_PROBES = frozenset({"/health", "/ready"})
_CONTROL = frozenset(chr(c) for c in (*range(32), 127))


@dataclass(frozen=True)
class EdgeLimits:
    """Size limits of a request (see the settings of the same names)."""

    max_body_bytes: int
    body_bytes_by_path: tuple[tuple[str, int], ...]
    max_header_bytes: int
    max_headers: int
    max_path_chars: int
    max_segment_chars: int

    @classmethod
    def from_settings(cls, settings: Settings) -> EdgeLimits:
        """The limits the settings give."""
        by_path = sorted(settings.max_body_bytes_by_path.items(), key=lambda kv: -len(kv[0]))
        return cls(
            max_body_bytes=settings.max_body_bytes, body_bytes_by_path=tuple(by_path),
            max_header_bytes=settings.max_header_bytes, max_headers=settings.max_headers,
            max_path_chars=settings.max_path_chars, max_segment_chars=settings.max_id_chars,
        )

    def body_limit(self, path: str) -> int:
        """The body limit of ``path``: its longest configured prefix's, else the default."""
        for prefix, limit in self.body_bytes_by_path:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                return limit
        return self.max_body_bytes


def content_security_policy(settings: Settings) -> str:
    """The CSP of every page but the API docs: scripts and styles from this server only (the
    web map's are vendored); images also from ``https:`` tile servers (``?tiles=`` on the page)
    and the ``basemap_url`` setting's origin; no framing, no plugins."""
    images = ["'self'", "data:", "blob:", "https:"]
    if settings.basemap_url and settings.basemap_url.startswith("http://"):
        parts = urlsplit(settings.basemap_url)
        images.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'",
        f"img-src {' '.join(images)}", "connect-src 'self'", "worker-src 'self' blob:",
        "font-src 'self' data:", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers added to every response (one the response sets itself is kept)."""
    return {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Content-Security-Policy": content_security_policy(settings),
    }


_ERROR_SCHEMA = {
    "type": "object", "required": ["status", "error"],
    "properties": {"status": {"type": "integer"}, "error": {"type": "string"}},
}
#: What the edge may answer on any operation (413 only where there is a body, 429 not on probes).
_EDGE_RESPONSES = {
    "413": "Request body larger than this path's limit (refused before it is read)",
    "414": "Request target too long",
    "429": "Too many requests from this address or key, or too many wrong keys; see Retry-After",
    "431": "Too many request headers, or too large",
}


def _error_response(text: str) -> dict[str, Any]:
    return {"description": text, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}


def _document_errors(path: str, op: dict[str, Any]) -> None:
    """The answers every route may give besides its own: a path naming a resource may be 404;
    a request with parameters or a body may be refused (400 bad value, 422 invalid) — all with
    the one JSON error body (:func:`api.errors.error_body`), FastAPI's own 422 schema replaced."""
    responses = op["responses"]
    if "{" in path:
        responses.setdefault("404", _error_response("No such resource"))
    if op.get("parameters") or "requestBody" in op:
        responses.setdefault("400", _error_response("A parameter or field has a bad value"))
        responses["422"] = _error_response("The request does not follow the schema")


def document_edge(app: FastAPI) -> None:
    """Make the OpenAPI document list the edge's answers (:data:`_EDGE_RESPONSES`, JSON error
    bodies) on every operation, next to the operation's own."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None and app.openapi_schema.get("x-firereach-edge"):
            return app.openapi_schema
        doc = build()
        for path, ops in doc.get("paths", {}).items():
            for op in ops.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                for code, text in _EDGE_RESPONSES.items():
                    if (code == "413" and "requestBody" not in op) or (code == "429" and path in _PROBES):
                        continue
                    op["responses"].setdefault(code, _error_response(text))
                _document_errors(path, op)
        doc["x-firereach-edge"] = True
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


class RefusedError(HTTPException):
    """A request refused while its body is asked for (FastAPI passes an HTTPException raised
    by the body's reader on to the error handlers unchanged)."""


class BodyTooLargeError(RefusedError):
    """A streamed body went past its limit (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            status_code=413,
            detail=f"the request body is larger than this path's limit of {limit} bytes",
        )


def _segments(path: str) -> Iterator[str]:
    return (s for s in path.split("/") if s)


_Refusal = tuple[int, str, dict[str, str] | None]


def _refusal(scope: Scope, limits: EdgeLimits) -> _Refusal | None:
    """Status and message for a request refused on its line and headers alone, else None."""
    path: str = scope.get("path", "")
    if any(c in _CONTROL for c in path):
        return 404, "no path with a control character (NUL, newline ...) is served", None
    target = len(scope.get("raw_path") or path.encode()) + len(scope.get("query_string", b""))
    if target > limits.max_path_chars:
        return 414, f"the request target is longer than {limits.max_path_chars} characters", None
    if any(len(s) > limits.max_segment_chars for s in _segments(path)):
        return 404, f"no path segment (id) is longer than {limits.max_segment_chars} characters", None
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    if len(headers) > limits.max_headers:
        return 431, f"the request has more than {limits.max_headers} headers", None
    if sum(len(k) + len(v) + 4 for k, v in headers) > limits.max_header_bytes:
        return 431, f"the request headers are larger than {limits.max_header_bytes} bytes", None
    declared = Headers(scope=scope).get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            return 400, "the Content-Length header is not a number of bytes", None
        limit = limits.body_limit(path)
        if int(declared) > limit:
            return 413, f"the request body is larger than this path's limit of {limit} bytes", None
    return None


def _permission(scope: Scope) -> str | None:
    """The permission the route ``scope`` was routed to requires (:func:`api.auth.require`)."""
    stack = list(getattr(getattr(scope.get("route"), "dependant", None), "dependencies", []))
    while stack:
        dep = stack.pop()
        permission = getattr(dep.call, "permission", None)
        if isinstance(permission, str):
            return permission
        stack.extend(dep.dependencies)
    return None


class EdgeGuard:
    """Pure ASGI middleware: limits, rate limit, authentication before parsing, security headers.

    Parameters
    ----------
    app
        The ASGI app it guards (the FastAPI app's inner stack).
    settings
        The app's settings (limits, rate limit, basemap origin for the CSP).
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.limits = EdgeLimits.from_settings(settings)
        self.headers = security_headers(settings)
        self.buckets: TokenBuckets | None = None
        if settings.rate_limit_per_s > 0:
            self.buckets = TokenBuckets(settings.rate_limit_per_s, settings.rate_limit_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Guard one HTTP request (other scopes pass through)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        refused = _refusal(scope, self.limits) or self._rate_limited(scope)
        if refused is not None:
            status, message, extra = refused
            await JSONResponse(error_body(status, message), status_code=status, headers=extra)(
                scope, receive, send_secured)
            return
        limit = self.limits.body_limit(scope.get("path", ""))
        received = 0
        authorized = False

        async def receive_limited() -> Message:
            nonlocal received, authorized
            if not authorized:
                await self._authorize(scope)  # raises RefusedError: nothing read
                authorized = True
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        try:
            await self.app(scope, receive_limited, send_secured)
        except RefusedError as exc:  # read outside a FastAPI route (which answers itself)
            if started:
                raise
            await JSONResponse(error_body(exc.status_code, str(exc.detail)),
                               status_code=exc.status_code, headers=exc.headers)(
                scope, receive, send_secured)

    def _rate_limited(self, scope: Scope) -> _Refusal | None:
        if self.buckets is None or scope.get("path") in _PROBES:
            return None
        client = scope.get("client")
        names = [f"address {client[0] if client else ''}"]
        key = Headers(scope=scope).get(HEADER)
        if key is not None:
            names.append("key " + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest())
        for name in names:
            wait = self.buckets.take(name)
            if wait > 0:
                who = "this API key" if name.startswith("key ") else "this address"
                seconds = max(1, int(wait + 0.999))
                return (429, f"too many requests from {who}; wait {seconds} s",
                        {"Retry-After": str(seconds)})
        return None

    async def _authorize(self, scope: Scope) -> None:
        """Authorize the request before its body is read; raise :class:`RefusedError` if not."""
        app: Any = scope.get("app")
        keyring = getattr(getattr(app, "state", None), "keyring", None)
        permission = _permission(scope)
        if not isinstance(app, FastAPI) or keyring is None or permission is None:
            return  # not started (the route answers 503), or a route anyone may call
        client = scope.get("client")
        key = Headers(scope=scope).get(HEADER)
        try:
            principal = await anyio.to_thread.run_sync(lambda: authorize(
                keyring, key, permission, public_read=app.state.settings.public_read,
                throttle=getattr(app.state, "auth_throttle", None),
                client=client[0] if client else "",
            ))
        except FireReachError as exc:
            refusal = error_response(exc)
            raise RefusedError(status_code=refusal.status_code, detail=str(exc),
                               headers={k: v for k, v in refusal.headers.items()
                                        if k in ("www-authenticate", "retry-after")}) from None
        scope.setdefault("state", {})[AUTHORIZED_STATE] = (permission, principal)

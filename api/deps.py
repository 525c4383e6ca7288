"""Annotated dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from starlette.datastructures import URL

from api.settings import Settings
from api.workspace import Workspace


def get_workspace(request: Request) -> Workspace:
    """The workspace loaded at start-up."""
    ws: Workspace = request.app.state.workspace
    return ws


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def public_url(request: Request, url: URL | str) -> URL:
    """``url`` (made from the request) as callers may see it: on the configured
    ``public_base_url``, else a path on this server. The Host header never reaches a link."""
    u = URL(str(url))
    path = u.path + (f"?{u.query}" if u.query else "")
    base: str | None = request.app.state.settings.public_base_url
    return URL(path if base is None else base + path)


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
#: The IETF ``Idempotency-Key`` header of a field write (:mod:`api.store.idempotency`).
IdempotencyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", min_length=1, max_length=255,
    description="Send the same key when retrying the same request: it is stored once, and the "
                "retry answers with what the first created (header Idempotent-Replayed: true). "
                "Remembered for 24 h per API key.",
)]

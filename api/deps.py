"""Annotated dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
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

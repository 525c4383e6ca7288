"""The FastAPI application factory: ``create_app(settings)``; nothing is built at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.auth import document_access
from api.errors import install_error_handlers
from api.guard import EdgeGuard, document_edge
from api.live import live_state
from api.routers import ROUTERS
from api.settings import Settings
from api.throttle import FailureThrottle
from api.workspace import Workspace

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, workspace: Workspace | None = None) -> FastAPI:
    """Build the app. The store is opened and the workspace loaded in its current state at
    start-up (:func:`api.live.live_state`); a workspace passed in (tests) is brought to it.
    Every request passes :class:`api.guard.EdgeGuard` first (limits, rate limit,
    authentication before the body is read, security headers)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with live_state(app):
            yield

    app = FastAPI(
        title="FireReach",
        description="Fire water supply and fire-truck access: hydrant coverage, 生命通道, siting.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc: api.routers.docs, with the vendored assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.workspace = workspace
    app.state.auth_throttle = FailureThrottle(
        allowed=settings.auth_failures_allowed, max_wait_s=settings.auth_backoff_max_s
    )
    app.add_middleware(EdgeGuard, settings=settings)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    document_access(app, public_read=settings.public_read)
    document_edge(app)
    return app

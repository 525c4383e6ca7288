"""The FastAPI application factory: ``create_app(settings)``; nothing is built at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routers import ROUTERS
from api.settings import Settings
from api.workspace import Workspace, load_workspace

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, workspace: Workspace | None = None) -> FastAPI:
    """Build the app. The workspace is loaded at start-up (or passed in, e.g. by tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "workspace", None) is None:
            app.state.workspace = load_workspace(settings)
        yield

    app = FastAPI(
        title="FireReach",
        description="Fire water supply and fire-truck access: hydrant coverage, 生命通道, siting.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.workspace = workspace
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app

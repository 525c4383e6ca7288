"""Health and workspace summary."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import WorkspaceDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(ws: WorkspaceDep) -> dict[str, Any]:
    """Liveness plus what is loaded."""
    return {
        "status": "ok",
        "workspace": str(ws.path),
        "preset": ws.preset.name,
        "collections": sorted(ws.collections),
        "summary": ws.analysis.summary,
    }

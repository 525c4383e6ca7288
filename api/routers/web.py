"""The web map at ``/``: a static page (``api/web/``) with the vendored Leaflet, nothing from a CDN.

The page draws the workspace's own layers from ``/ogc/collections/{id}/items`` (bbox-limited to
the view, following the ``next`` links page by page), and a big collection (over 20,000 features:
a city's roads, buildings, hydrants) from the vector tiles of ``/tiles`` with the vendored
Leaflet.VectorGrid, sending the API key as a header. Its basemap is, in order: a tile URL given
as ``?tiles=`` (``{z}/{x}/{y}`` template), the ``basemap_url`` setting (served to the page by
``/web/config.json``), or the project's own roads and buildings. With neither set, the page never
leaves the server. The words and colours of the coded values (hydrant statuses, high-rise
classes ...) come from ``/web/vocabulary.json``, :mod:`geo.vocabulary` as JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, JSONResponse

from api.deps import SettingsDep
from geo.vocabulary import vocabulary_document

WEB_DIR = Path(__file__).resolve().parents[1] / "web"
LEAFLET_DIR = Path(__file__).resolve().parents[2] / "reports" / "static" / "leaflet"
VECTORGRID_DIR = LEAFLET_DIR.parent / "vectorgrid"
_MEDIA = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}

router = APIRouter(tags=["web map"], include_in_schema=False)


def _file(root: Path, name: str) -> FileResponse:
    try:
        path = (root / name).resolve()
    except (ValueError, OSError):  # a NUL byte or a name the file system refuses: no such file
        raise HTTPException(status_code=404, detail="not found") from None
    if not path.is_file() or not path.is_relative_to(root.resolve()) or path.suffix not in _MEDIA:
        raise HTTPException(status_code=404, detail="not found")
    return FileResponse(path, media_type=_MEDIA[path.suffix], headers={"Cache-Control": "no-cache"})


@router.get("/")
def index() -> FileResponse:
    """The web map page."""
    return _file(WEB_DIR, "index.html")


@router.get("/web/config.json")
def web_config(settings: SettingsDep) -> JSONResponse:
    """What the page needs from the settings: the basemap tile template and its credit, or null."""
    basemap: dict[str, Any] | None = None
    if settings.basemap_url:
        basemap = {"url": settings.basemap_url, "attribution": settings.basemap_attribution}
    return JSONResponse({"basemap": basemap}, headers={"Cache-Control": "no-cache"})


@router.get("/web/vocabulary.json")
def web_vocabulary() -> JSONResponse:
    """Every coded value's Chinese and English label and legend colour (:mod:`geo.vocabulary`)."""
    return JSONResponse(vocabulary_document(), headers={"Cache-Control": "no-cache"})


@router.get("/static/web/{name}")
def web_asset(name: str) -> FileResponse:
    """The page's own script and style."""
    return _file(WEB_DIR, name)


@router.get("/static/leaflet/{name:path}")
def leaflet_asset(name: str) -> FileResponse:
    """Vendored Leaflet 1.9.4 (BSD-2-Clause), its style and images."""
    return _file(LEAFLET_DIR, name)


@router.get("/static/vectorgrid/{name}")
def vectorgrid_asset(name: str) -> FileResponse:
    """Vendored Leaflet.VectorGrid 1.3.0 (Beerware; bundles pbf and vector-tile, BSD-3-Clause)."""
    return _file(VECTORGRID_DIR, name)

"""Vector tiles (MVT, Web Mercator XYZ) and TileJSON of the workspace collections.

``/tiles/{layer}/{z}/{x}/{y}.mvt`` answers 204 where the layer has nothing (outside its extent,
below its minimum zoom), 404 for an unknown layer and 422 for a tile outside the grid. Tiles are
encoded by :mod:`api.mvt` and kept in an in-memory LRU keyed by the workspace version.
"""

from __future__ import annotations

from typing import Annotated, Any

import geopandas as gpd
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError

from api import mvt, ogc, visibility
from api.auth import Principal
from api.deps import WorkspaceDep, public_url
from api.workspace import Workspace
from geo.errors import NotFoundError

router = APIRouter(
    prefix="/tiles", tags=["tiles"], dependencies=[Depends(visibility.READER)],
    responses=ogc.error_responses(401, 403),
)

ReaderDep = Annotated[Principal, Depends(visibility.READER)]
LayerPath = Annotated[
    str, Path(description="collection name, e.g. roads_analysis", pattern=r"^[A-Za-z0-9_\-]+$")
]


def _frame(ws: Workspace, layer: str) -> tuple[gpd.GeoDataFrame, int]:
    # No lock: the collections dict is replaced whole by live updates, and a frame read with a
    # version of a neighbouring state only costs a cache miss (keys hold the frame's identity).
    collections, version = ws.collections, ogc.workspace_version(ws)
    frame = collections.get(layer)
    if frame is None:
        raise NotFoundError(f"no layer {layer!r}; layers: {', '.join(sorted(collections))}")
    return frame, version


def _sources(request: Request) -> ogc.FrameCache[mvt.TileSource]:
    cache: ogc.FrameCache[mvt.TileSource] = ogc.app_cache(request.app.state, "tile_sources", ogc.FrameCache)
    return cache


def _source(ws: Workspace, request: Request, layer: str, who: Principal) -> tuple[mvt.TileSource, int]:
    frame, version = _frame(ws, layer)
    seen = visibility.visible_frame(request.app.state, layer, frame, version, who)
    return _sources(request).get(layer, seen, version, lambda: mvt.tile_source(layer, seen)), version


@router.get(
    "/{layer}.json", name="tilejson", summary="TileJSON of a layer",
    responses={200: {"content": {ogc.JSON: {"schema": {"type": "object"}}}}, **ogc.error_responses(404, 422)},
)
def tilejson(ws: WorkspaceDep, request: Request, who: ReaderDep, layer: LayerPath) -> dict[str, Any]:
    """TileJSON 3.0.0: tile URL template, zoom range, bounds and the layer's fields."""
    source, _ = _source(ws, request, layer, who)
    template = str(public_url(request, request.url_for("tile", layer=layer, z="0", x="0", y="0")))
    template = template.removesuffix("/0/0/0.mvt") + "/{z}/{x}/{y}.mvt"
    return mvt.tilejson(source, tiles_url=template)


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt", name="tile", summary="One vector tile",
    response_class=Response,
    responses={
        200: {"content": {mvt.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}}},
        204: {"description": "no feature of the layer in this tile"},
        304: {"description": "not modified (If-None-Match)"},
        **ogc.error_responses(404, 422),
    },
)
async def tile(
    request: Request,
    who: ReaderDep,
    layer: LayerPath,
    z: Annotated[int, Path(ge=0, le=mvt.MAX_ZOOM, description="zoom")],
    x: Annotated[int, Path(ge=0, description="column, 0 .. 2^z - 1")],
    y: Annotated[int, Path(ge=0, description="row from the north, 0 .. 2^z - 1")],
) -> Response:
    """The layer's features in tile z/x/y as a Mapbox Vector Tile (one layer named ``layer``).

    A cached tile is answered on the event loop; preparing a layer and rendering a tile run in
    the thread pool.
    """
    if not mvt.tile_in_range(z, x, y):
        n = 1 << z
        raise RequestValidationError(
            [{"loc": ("path", "x" if x >= n else "y"), "msg": f"at zoom {z} x and y run from 0 to {n - 1}",
              "type": "value_error"}]
        )
    ws: Workspace = request.app.state.workspace
    frame, version = _frame(ws, layer)
    seen = visibility.visible_frame(request.app.state, layer, frame, version, who)
    ready = _sources(request).peek(layer, seen, version)
    if ready is None:
        source, version = await run_in_threadpool(_source, ws, request, layer, who)
    else:
        source = ready
    # each audience has its own source (and serial), so its own tiles and ETags
    key = (layer, z, x, y, version, source.serial)
    etag = f'"{version}-{source.serial}-{z}-{x}-{y}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    cache: mvt.TileCache = ogc.app_cache(request.app.state, "tile_cache", mvt.TileCache)
    cached = cache.get(key)
    if cached is None:
        data = await run_in_threadpool(mvt.render_tile, source, z, x, y)
        cache.put(key, data)
    else:
        data = cached
    if not data:
        return Response(status_code=204, headers=headers)
    return Response(data, media_type=mvt.MEDIA_TYPE, headers=headers)

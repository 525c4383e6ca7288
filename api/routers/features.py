"""OGC API – Features Part 1 (Core, GeoJSON, OAS30) under ``/ogc``: every workspace collection.

The landing page of the OGC API is ``/ogc`` (``/`` is the web map). Documents are built by
:mod:`api.ogc`; this router only reads the request and picks the collection.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

import geopandas as gpd
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from api import ogc, visibility
from api.auth import Principal
from api.deps import WorkspaceDep, public_url
from api.errors import error_body
from api.workspace import Workspace
from geo.errors import NotFoundError


class OGCRoute(APIRoute):
    """OGC API – Features answers an invalid query parameter with 400 (not FastAPI's 422)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """FastAPI's handler with request validation errors answered as OGC 400s."""
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                errors = [
                    {"where": ".".join(str(p) for p in e.get("loc", ())), "what": e.get("msg", "")}
                    for e in exc.errors()
                ]
                return JSONResponse(error_body(400, "invalid request", detail=errors), status_code=400)

        return route_handler


_ERRORS = ogc.error_responses(400, 401, 403, 404, 422)
_DOC = {"type": "object", "properties": {"links": {"type": "array", "items": {"type": "object"}}}}
_FC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "features"],
    "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"type": "object"}},
        "numberMatched": {"type": "integer", "minimum": 0},
        "numberReturned": {"type": "integer", "minimum": 0},
        "timeStamp": {"type": "string"},
        "links": {"type": "array", "items": {"type": "object"}},
    },
}
_FEATURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "geometry", "properties"],
    "properties": {"type": {"type": "string", "enum": ["Feature"]}},
}

router = APIRouter(
    prefix="/ogc", tags=["OGC API - Features"], route_class=OGCRoute, responses=_ERRORS,
    dependencies=[Depends(visibility.READER)],
)
ReaderDep = Annotated[Principal, Depends(visibility.READER)]

FormatQuery = Annotated[Literal["json"] | None, Query(alias="f", description="json (the only format)")]
GeoFormatQuery = Annotated[
    Literal["json", "geojson"] | None, Query(alias="f", description="geojson (or json): GeoJSON")
]
CollectionPath = Annotated[str, Path(description="collection id, see /ogc/collections")]


def _json(doc: dict[str, Any], media_type: str = ogc.JSON) -> Response:
    return Response(ogc.json_bytes(doc), media_type=media_type)


def _collection(
    ws: Workspace, request: Request, name: str, who: Principal
) -> tuple[gpd.GeoDataFrame, ogc.CollectionIndex]:
    # No lock: live updates replace the collections dict whole, so a read never waits for a
    # recomputation; the prepared index is keyed by the frame itself (the one ``who`` may see).
    collections, version = ws.collections, ogc.workspace_version(ws)
    frame = collections.get(name)
    if frame is None:
        raise NotFoundError(f"no collection {name!r}; collections: {', '.join(sorted(collections))}")
    frame = visibility.visible_frame(request.app.state, name, frame, version, who)
    cache: ogc.FrameCache[ogc.CollectionIndex] = ogc.app_cache(
        request.app.state, "ogc_indexes", ogc.FrameCache
    )
    return frame, cache.get(name, frame, version, lambda: ogc.collection_index(name, frame))


def _link(request: Request, name: str | None = None, **params: str) -> str:
    """The route ``name`` (None: this request's URL) as a link callers may follow (never on the
    Host header: :func:`api.deps.public_url`)."""
    return str(public_url(request, request.url if name is None else request.url_for(name, **params)))


def _base(request: Request) -> str:
    return _link(request, "ogc_landing").rstrip("/")


@router.get(
    "", name="ogc_landing", summary="OGC API landing page",
    responses={200: {"content": {ogc.JSON: {"schema": _DOC}}}},
)
def landing(request: Request, f: FormatQuery = None) -> Response:
    """Links to the API definition, the conformance declaration and the collections."""
    ogc.check_format(f, ogc.JSON_FORMATS)
    app_docs = request.app.docs_url
    doc = ogc.landing_page(
        base=_base(request), openapi_url=_link(request, "ogc_openapi"),
        docs_url=str(public_url(request, request.scope.get("root_path", "") + (app_docs or "/docs"))),
    )
    return _json(doc)


@router.get(
    "/conformance", name="ogc_conformance", summary="Conformance classes",
    responses={200: {"content": {ogc.JSON: {"schema": {
        "type": "object", "required": ["conformsTo"],
        "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
    }}}}},
)
def conformance(f: FormatQuery = None) -> Response:
    """OGC API – Features Part 1: Core, GeoJSON and OpenAPI 3.0."""
    ogc.check_format(f, ogc.JSON_FORMATS)
    return _json(ogc.conformance())


@router.get(
    "/api", name="ogc_openapi", summary="API definition (OpenAPI 3.0)",
    responses={200: {"content": {ogc.OPENAPI_JSON_30: {"schema": {"type": "object"}}}}},
)
def api_definition(request: Request, f: FormatQuery = None) -> Response:
    """The whole API described in OpenAPI 3.0.3 (``/openapi.json`` is the same in 3.1)."""
    ogc.check_format(f, ogc.JSON_FORMATS)
    return _json(ogc.openapi_30(request.app.openapi()), ogc.OPENAPI_JSON_30)


@router.get(
    "/collections", name="ogc_collections", summary="Feature collections",
    responses={200: {"content": {ogc.JSON: {"schema": _DOC}}}},
)
def collections(ws: WorkspaceDep, request: Request, who: ReaderDep, f: FormatQuery = None) -> Response:
    """Every collection of the workspace: layers and analysis results."""
    ogc.check_format(f, ogc.JSON_FORMATS)
    names = list(ws.collections)
    indexes = [_collection(ws, request, name, who)[1] for name in names]
    return _json(ogc.collections_document(indexes, base=_link(request, "ogc_collections")))


@router.get(
    "/collections/{collection_id}", name="ogc_collection", summary="One feature collection",
    responses={200: {"content": {ogc.JSON: {"schema": _DOC}}}},
)
def collection(
    ws: WorkspaceDep, request: Request, who: ReaderDep, collection_id: CollectionPath,
    f: FormatQuery = None,
) -> Response:
    """A collection's description: title, extent (WGS84), links to its items."""
    ogc.check_format(f, ogc.JSON_FORMATS)
    _, index = _collection(ws, request, collection_id, who)
    return _json(ogc.collection_document(index, base=_link(request, "ogc_collections")))


@router.get(
    "/collections/{collection_id}/schema", name="ogc_schema", summary="JSON schema of a collection",
    responses={200: {"content": {ogc.JSON_SCHEMA: {"schema": {"type": "object"}}}}},
)
def schema(
    ws: WorkspaceDep, request: Request, who: ReaderDep, collection_id: CollectionPath,
    f: FormatQuery = None,
) -> Response:
    """The JSON schema of the collection's features: property names and types."""
    ogc.check_format(f, ogc.JSON_FORMATS)
    frame, index = _collection(ws, request, collection_id, who)
    return _json(ogc.collection_schema(frame, index, url=_link(request)), ogc.JSON_SCHEMA)


@router.get(
    "/collections/{collection_id}/schema.xsd", name="ogc_xsd", summary="GML application schema",
    responses={200: {"content": {ogc.XML: {"schema": {"type": "string"}}}}},
)
def xsd(ws: WorkspaceDep, request: Request, who: ReaderDep, collection_id: CollectionPath) -> Response:
    """The collection's property names and types as a GML 3.2 application schema (for GDAL/QGIS)."""
    frame, index = _collection(ws, request, collection_id, who)
    return Response(ogc.collection_xsd(frame, index), media_type=ogc.XML)


@router.get(
    "/collections/{collection_id}/items", name="ogc_items", summary="Features of a collection",
    responses={200: {"content": {ogc.GEOJSON: {"schema": _FC_SCHEMA}}}},
)
def items(
    ws: WorkspaceDep,
    request: Request,
    who: ReaderDep,
    collection_id: CollectionPath,
    limit: Annotated[int, Query(ge=1, le=ogc.MAX_LIMIT, description="features per page")] = ogc.DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10**9, description="features to skip")] = 0,
    bbox: Annotated[
        str | None,
        Query(description="minlon,minlat,maxlon,maxlat in WGS84 degrees",
              examples=["24.93,60.16,24.95,60.17"]),
    ] = None,
    bbox_crs: Annotated[
        Literal["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] | None,
        Query(alias="bbox-crs", description="CRS of bbox: only CRS84 (WGS84 lon/lat)"),
    ] = None,
    crs: Annotated[
        Literal["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] | None,
        Query(description="CRS of the response: only CRS84 (WGS84 lon/lat)"),
    ] = None,
    datetime: Annotated[
        str | None,
        Query(pattern=ogc.DATETIME_PATTERN, description="RFC 3339 instant or interval (.. for open "
              "ends); the collections have no time, so a valid value keeps every feature"),
    ] = None,
    f: GeoFormatQuery = None,
) -> Response:
    """GeoJSON features (WGS84), paged by ``limit``/``offset``, filtered by ``bbox`` and by any
    property of the collection given as a query parameter (``?status=in_service``)."""
    ogc.check_format(f, ogc.GEOJSON_FORMATS)
    frame, index = _collection(ws, request, collection_id, who)
    box = ogc.parse_bbox(bbox)
    filters = ogc.parse_filters(request.query_params.multi_items(), index)
    rows = ogc.select_rows(frame, index, bbox=box, filters=filters)
    body = ogc.feature_collection(
        frame, index, rows, url=public_url(request, request.url), offset=offset, limit=limit,
        collection_url=_link(request, "ogc_collection", collection_id=collection_id),
    )
    return Response(body, media_type=ogc.GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id:path}", name="ogc_feature", summary="One feature",
    responses={200: {"content": {ogc.GEOJSON: {"schema": _FEATURE_SCHEMA}}}},
)
def item(
    ws: WorkspaceDep,
    request: Request,
    who: ReaderDep,
    collection_id: CollectionPath,
    feature_id: Annotated[str, Path(description="feature id (e.g. osm/123 or 42)")],
    f: GeoFormatQuery = None,
) -> Response:
    """One GeoJSON feature by its stable id."""
    ogc.check_format(f, ogc.GEOJSON_FORMATS)
    frame, index = _collection(ws, request, collection_id, who)
    doc = ogc.feature(
        frame, index, feature_id, url=_link(request),
        collection_url=_link(request, "ogc_collection", collection_id=collection_id),
    )
    if doc is None:
        raise NotFoundError(f"collection {collection_id!r} has no feature {feature_id!r}")
    return _json(doc, ogc.GEOJSON)

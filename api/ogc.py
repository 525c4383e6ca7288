"""OGC API – Features Part 1 helpers: feature ids, bbox and property filters, paging, links, GeoJSON.

The routers in :mod:`api.routers.features` are thin; everything an OGC request needs is here as
plain functions over a collection (a WGS84 GeoDataFrame of :attr:`api.workspace.Workspace.collections`):

* :func:`collection_index` prepares a collection once per workspace version: its stable feature
  ids (the layer's own id column: ``hydrant_id``, ``building_id``, ``edge_id`` ...), an id lookup,
  the WGS84 extent and an STRtree for ``bbox`` queries. :class:`FrameCache` keeps prepared objects
  keyed by the identity of the frame and the workspace version, so a live update that swaps a
  collection or bumps ``Workspace.version`` is picked up without a restart.
* :func:`parse_bbox`, :func:`parse_filters` and :func:`select_rows` turn query parameters into
  row positions; every invalid value raises :class:`QueryParameterError` (HTTP 400 through the one
  error table of :mod:`api.errors`, as OGC API – Features requires).
* :func:`feature_collection`, :func:`feature`, :func:`paging_links` build the GeoJSON documents.
* :func:`openapi_30` turns the app's OpenAPI 3.1 document into the OpenAPI 3.0 document that the
  OAS30 conformance class asks for (served at ``/ogc/api``).
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Generic, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from starlette.datastructures import URL

from geo.bbox import BBox
from geo.bbox import parse_bbox as geo_parse_bbox
from geo.catalog import CATALOG
from geo.catalog import feature_ids as catalog_feature_ids
from geo.errors import ConfigError

log = logging.getLogger(__name__)

T = TypeVar("T")

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
JSON = "application/json"
JSON_SCHEMA = "application/schema+json"
XML = "application/xml"
#: Link relation of a collection's schema (OGC API – Features Part 5); ``describedby`` is what GDAL reads.
REL_SCHEMA = "http://www.opengis.net/def/rel/ogc/1.0/schema"
OPENAPI_JSON_30 = "application/vnd.oai.openapi+json;version=3.0"
HTML = "text/html"

#: Conformance classes of OGC API – Features – Part 1: Core (OGC 17-069r4) that the API meets.
CONFORMANCE_CLASSES: tuple[str, ...] = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
#: Query parameters of ``/items`` that are not property filters.
RESERVED_PARAMS: frozenset[str] = frozenset({"limit", "offset", "bbox", "bbox-crs", "datetime", "f", "crs"})
#: ``datetime``: an RFC 3339 instant or an interval with ``..`` for an open end (OGC 17-069r4 7.15.4).
_INSTANT = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?"
DATETIME_PATTERN = rf"^({_INSTANT}|(\.\.|{_INSTANT})/(\.\.|{_INSTANT}))$"
#: Values of ``f`` accepted for JSON documents and for GeoJSON feature documents.
JSON_FORMATS: frozenset[str] = frozenset({"json"})
GEOJSON_FORMATS: frozenset[str] = frozenset({"json", "geojson"})
#: Coordinates are written with this many decimals (1e-7 degree is about 1 cm).
COORDINATE_DECIMALS = 7

#: The id column of each known collection (a column holding one unique value per feature).
ID_COLUMNS: Mapping[str, str] = {
    name: info.id_column for name, info in CATALOG.items() if info.id_column is not None
}
#: Human titles of the collections (:data:`geo.catalog.CATALOG`; others are titled by their name).
TITLES: Mapping[str, str] = {name: info.en for name, info in CATALOG.items()}


#: The JSON body of every error (:func:`api.errors.error_body`), for the OpenAPI document.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "error"],
    "properties": {"status": {"type": "integer"}, "error": {"type": "string"}, "detail": {}},
}
_ERROR_TEXT = {
    400: "Invalid parameter", 401: "No or invalid API key", 403: "Not allowed", 404: "Not found",
    409: "The analysis cannot run on these inputs", 422: "Invalid request",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the JSON error body for ``codes``.

    Declaring 422 replaces FastAPI's default ``HTTPValidationError`` schema, which is not the
    body :mod:`api.errors` sends.
    """
    return {
        code: {"description": _ERROR_TEXT.get(code, "Error"), "content": {JSON: {"schema": ERROR_SCHEMA}}}
        for code in codes
    }


class QueryParameterError(ConfigError):
    """A query parameter has an invalid value or is not known (HTTP 400 via ``ConfigError``)."""


def workspace_version(workspace: object) -> int:
    """The workspace's version number (``Workspace.version``; 0 when it has none).

    Live updates bump it; every cache of the serving side keys on it.
    """
    return int(getattr(workspace, "version", 0) or 0)


def app_cache(state: object, name: str, factory: Callable[[], T]) -> T:
    """The object stored as ``state.<name>``, created by ``factory`` on first use (thread-safe)."""
    found = getattr(state, name, None)
    if found is not None:
        return found
    with _APP_CACHE_LOCK:
        found = getattr(state, name, None)
        if found is None:
            found = factory()
            setattr(state, name, found)
    return found


_APP_CACHE_LOCK = threading.Lock()


class FrameCache(Generic[T]):
    """Objects prepared from a frame (or an analysis), keyed by its identity and the workspace version.

    The cache holds a weak reference to each source object and checks it on every hit, so a frame
    that was replaced by a live update (and whose ``id`` was reused) is never mistaken for the old
    one. At most ``max_entries`` objects are kept, least recently used first out. Concurrent
    requests for a cold entry build it once (a lock per entry); lookups never wait for a build
    of another entry, so :meth:`peek` may be called from the event loop.
    """

    def __init__(self, max_entries: int = 64) -> None:
        self._items: OrderedDict[tuple[str, int, int], tuple[weakref.ref[Any], T]] = OrderedDict()
        self._building: dict[tuple[str, int, int], threading.Lock] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def _hit(self, key: tuple[str, int, int], frame: object) -> T | None:
        hit = self._items.get(key)
        if hit is not None and hit[0]() is frame:
            self._items.move_to_end(key)
            return hit[1]
        return None

    def peek(self, name: str, frame: object, version: int) -> T | None:
        """The object prepared from ``frame`` if it is ready, else None (never builds)."""
        with self._lock:
            return self._hit((name, id(frame), version), frame)

    def get(self, name: str, frame: object, version: int, build: Callable[[], T]) -> T:
        """The object prepared from ``frame``; ``build()`` it when absent or stale."""
        key = (name, id(frame), version)
        with self._lock:
            found = self._hit(key, frame)
            if found is not None:
                return found
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                found = self._hit(key, frame)
            if found is not None:
                return found
            value = build()
            with self._lock:
                self._items[key] = (weakref.ref(frame), value)
                self._items.move_to_end(key)
                self._building.pop(key, None)
                while len(self._items) > self._max:
                    self._items.popitem(last=False)
            return value


# --- collections --------------------------------------------------------------------------------


def feature_ids(name: str, frame: pd.DataFrame) -> tuple[np.ndarray, str | None]:
    """Stable feature ids of a collection and the column they come from.

    Parameters
    ----------
    name
        Collection name (selects the id column, see :data:`ID_COLUMNS`).
    frame
        The collection.

    Returns
    -------
    ids, column
        One id per row: int64 for integer id columns, else str; ``column`` is None when the ids
        are composed (``underserved/3``, ``gap/0``, ``<edge_id>-<k>``) or, as a last resort, the
        row number (``<name>/<row>``) because the id column is missing or not unique.
    """
    column = ID_COLUMNS.get(name)
    if column is not None and column in frame.columns:
        values = frame[column]
        if values.notna().all() and values.is_unique:
            if pd.api.types.is_integer_dtype(values.dtype):
                return values.to_numpy(dtype=np.int64), column
            return values.astype(str).to_numpy(dtype=object), column
        log.warning("collection %s: column %s is not a unique id; using row numbers", name, column)
    if column is None:
        try:
            ids = catalog_feature_ids(name, frame)
        except KeyError:  # neither an id column nor composed ids
            ids = None
        if ids is not None and len(set(ids.tolist())) == len(ids):
            return ids, None
    return np.array([f"{name}/{i}" for i in range(len(frame))], dtype=object), None


@dataclass(frozen=True, eq=False)
class CollectionIndex:
    """A collection prepared for serving (see :func:`collection_index`).

    Attributes
    ----------
    name
        Collection name.
    ids
        Feature id of each row (int64 or str).
    id_column
        Column the ids come from (None for composed ids).
    lookup
        Row position of each id, keyed by the id as text (built on first use).
    properties
        The property columns (every column but the geometry).
    kinds
        Kind of each property column: ``bool``, ``int``, ``float``, ``str`` or ``other``.
    bbox
        WGS84 extent ``(min lon, min lat, max lon, max lat)``, None when the collection is empty.
    geometry
        The WGS84 geometries (numpy object array).
    tree
        STRtree over ``geometry`` for ``bbox`` queries.
    """

    name: str
    ids: np.ndarray
    id_column: str | None
    properties: tuple[str, ...]
    kinds: dict[str, str]
    bbox: tuple[float, float, float, float] | None
    geometry: np.ndarray
    tree: shapely.STRtree

    def __len__(self) -> int:
        return len(self.ids)

    @cached_property
    def lookup(self) -> dict[str, int]:
        """Row position of each feature id (as text)."""
        return {str(v): i for i, v in enumerate(self.ids.tolist())}


def column_kind(dtype: Any) -> str:
    """``bool``, ``int``, ``float``, ``str`` or ``other`` for a pandas dtype."""
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    if pd.api.types.is_string_dtype(dtype):
        return "str"
    return "other"


def collection_index(name: str, frame: gpd.GeoDataFrame) -> CollectionIndex:
    """Prepare a WGS84 collection for serving: ids, id lookup, extent, spatial index."""
    ids, column = feature_ids(name, frame)
    geometry = np.asarray(frame.geometry.array, dtype=object)
    bbox: tuple[float, float, float, float] | None = None
    present = ~(shapely.is_missing(geometry) | shapely.is_empty(geometry)) if len(geometry) else None
    if present is not None and present.any():
        b = shapely.total_bounds(geometry[present])
        bbox = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
    geom_col = frame.geometry.name
    props = tuple(str(c) for c in frame.columns if c != geom_col)
    kinds = {c: column_kind(frame[c].dtype) for c in props}
    return CollectionIndex(
        name=name, ids=ids, id_column=column, properties=props, kinds=kinds,
        bbox=bbox, geometry=geometry, tree=shapely.STRtree(geometry),
    )


# --- query parameters ---------------------------------------------------------------------------


def check_format(value: str | None, allowed: frozenset[str]) -> None:
    """Raise :class:`QueryParameterError` unless ``f`` is absent or one of ``allowed``."""
    if value is not None and value.lower() not in allowed:
        raise QueryParameterError(
            f"f={value!r} is not offered; use one of {sorted(allowed)} (or leave f out)"
        )


def parse_bbox(text: str | None) -> BBox | None:
    """Parse ``bbox=minlon,minlat,maxlon,maxlat`` (WGS84 degrees) by :func:`geo.bbox.parse_bbox`.

    ``minlon > maxlon`` is a box across the antimeridian (OGC API – Features 7.15.3).

    Raises
    ------
    QueryParameterError
        A rule of :mod:`geo.bbox` broken (the message names it).
    """
    if text is None:
        return None
    try:
        return geo_parse_bbox(text, antimeridian=True)
    except ConfigError as exc:
        raise QueryParameterError(str(exc)) from None


_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def _filter_mask(values: pd.Series, kind: str, wanted: Sequence[str], name: str) -> np.ndarray:
    if kind == "bool":
        flags: set[bool] = set()
        for w in wanted:
            low = w.strip().lower()
            if low not in _TRUE | _FALSE:
                raise QueryParameterError(f"{name}={w!r}: {name} is true or false")
            flags.add(low in _TRUE)
        arr = values.to_numpy(dtype=object)
        return np.isin(arr, list(flags)) & values.notna().to_numpy()
    if kind in ("int", "float"):
        numbers: list[float] = []
        for w in wanted:
            try:
                numbers.append(float(w))
            except ValueError:
                raise QueryParameterError(f"{name}={w!r}: {name} is a number") from None
            if kind == "int" and not float(numbers[-1]).is_integer():
                raise QueryParameterError(f"{name}={w!r}: {name} is an integer")
        arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        return np.isin(arr, np.asarray(numbers, dtype=np.float64))
    text = values.astype(str).to_numpy(dtype=object)
    return np.isin(text, list(wanted)) & values.notna().to_numpy()


def parse_filters(
    params: Iterable[tuple[str, str]], index: CollectionIndex
) -> dict[str, list[str]]:
    """Property filters from the query parameters (every parameter not in :data:`RESERVED_PARAMS`).

    ``?status=in_service`` keeps features whose ``status`` equals the value; a property given
    more than once keeps features equal to any of the values; different properties all apply.

    Raises
    ------
    QueryParameterError
        A parameter is neither reserved nor a property of the collection.
    """
    filters: dict[str, list[str]] = {}
    for key, value in params:
        if key in RESERVED_PARAMS:
            continue
        if key not in index.kinds:
            shown = ", ".join(sorted(index.kinds)[:40])
            raise QueryParameterError(
                f"unknown query parameter {key!r}: collection {index.name!r} has no such property "
                f"(properties: {shown}; other parameters: {', '.join(sorted(RESERVED_PARAMS))})"
            )
        filters.setdefault(key, []).append(value)
    return filters


def select_rows(
    frame: pd.DataFrame,
    index: CollectionIndex,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
) -> np.ndarray:
    """Row positions (ascending) of the features that meet the ``bbox`` and property filters."""
    keep = np.ones(len(index), dtype=bool)
    if bbox is not None:
        minx, miny, maxx, maxy = bbox
        boxes = (
            [shapely.box(minx, miny, maxx, maxy)] if minx <= maxx
            else [shapely.box(minx, miny, 180.0, maxy), shapely.box(-180.0, miny, maxx, maxy)]
        )
        hit = np.zeros(len(index), dtype=bool)
        for box in boxes:
            hit[index.tree.query(box, predicate="intersects")] = True
        keep &= hit
    for name, wanted in (filters or {}).items():
        keep &= _filter_mask(frame[name], index.kinds[name], wanted, name)
    return np.flatnonzero(keep)


# --- GeoJSON ------------------------------------------------------------------------------------


def _json_id(value: object) -> int | str:
    return int(value) if isinstance(value, int | np.integer) else str(value)


def _geometries(geoms: np.ndarray) -> list[Any]:
    if len(geoms) == 0:
        return []
    rounded = shapely.transform(geoms, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    text = shapely.to_geojson(rounded)
    return list(json.loads("[" + ",".join("null" if t is None else t for t in text) + "]"))


def _json_default(value: Any) -> Any:
    """JSON for what the encoder does not know: numpy scalars and arrays, timestamps, others as text."""
    if isinstance(value, np.generic):
        item = value.item()
        return None if isinstance(item, float) and not np.isfinite(item) else item
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _cells(values: pd.Series, rows: np.ndarray) -> list[Any]:
    """Plain Python values of ``values[rows]``; missing, NaN and infinite values are None."""
    kind = column_kind(values.dtype)
    if kind == "float":
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)[rows]
        cells: list[Any] = arr.tolist()
        for i in np.flatnonzero(~np.isfinite(arr)).tolist():
            cells[i] = None
        return cells
    if kind in ("int", "bool") and not values.hasnans:
        return list(values.to_numpy()[rows].tolist())
    taken = values.array[rows]
    return list(taken.to_numpy(dtype=object, na_value=None).tolist())


def _properties(frame: pd.DataFrame, rows: np.ndarray, columns: Sequence[str]) -> list[dict[str, Any]]:
    """The properties of ``rows`` as dicts of plain values (column by column, no per-cell pandas)."""
    if len(rows) == 0:
        return []
    lists = [_cells(frame[c], rows) for c in columns]
    return [dict(zip(columns, vals, strict=True)) for vals in zip(*lists, strict=True)]


def _geometry_texts(geoms: np.ndarray) -> list[str]:
    """GeoJSON text of each geometry (``null`` for missing), coordinates rounded."""
    if len(geoms) == 0:
        return []
    rounded = shapely.transform(geoms, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    return ["null" if t is None else str(t) for t in shapely.to_geojson(rounded)]


def features_json(frame: gpd.GeoDataFrame, index: CollectionIndex, rows: np.ndarray) -> str:
    """The GeoJSON features of ``rows`` as a JSON array (text).

    Geometries go from GEOS straight into the text (no Python objects per coordinate); only
    the properties pass through Python objects, where NaN and infinities become null.
    """
    geoms = _geometry_texts(index.geometry[rows])
    props = _properties(frame, rows, index.properties)
    ids = index.ids[rows].tolist()
    dumps = json.JSONEncoder(
        ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default
    ).encode
    parts = [
        f'{{"type":"Feature","id":{dumps(_json_id(i))},"geometry":{g},"properties":{dumps(p)}}}'
        for i, g, p in zip(ids, geoms, props, strict=True)
    ]
    return "[" + ",".join(parts) + "]"


def features(
    frame: gpd.GeoDataFrame, index: CollectionIndex, rows: np.ndarray
) -> list[dict[str, Any]]:
    """GeoJSON features (WGS84) of the given rows; NaN and infinite values become null."""
    geoms = _geometries(index.geometry[rows])
    props = _properties(frame, rows, index.properties)
    ids = index.ids[rows].tolist()
    return [
        {"type": "Feature", "id": _json_id(i), "geometry": g, "properties": p}
        for i, g, p in zip(ids, geoms, props, strict=True)
    ]


def json_bytes(doc: Any) -> bytes:
    """Compact UTF-8 JSON (non-ASCII kept as is; NaN is not JSON and raises)."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default)
    return text.encode("utf-8")


def link(href: str, rel: str, media_type: str, title: str | None = None) -> dict[str, str]:
    """One link object."""
    out = {"href": href, "rel": rel, "type": media_type}
    if title:
        out["title"] = title
    return out


def paging_links(
    url: URL, *, offset: int, limit: int, matched: int, returned: int
) -> list[dict[str, str]]:
    """``self``, ``next`` (when more features match) and ``prev`` (when offset > 0) links.

    The other query parameters (``bbox``, property filters) are kept in ``next`` and ``prev``.
    """
    links = [link(str(url), "self", GEOJSON, "this document")]
    if offset + returned < matched:
        nxt = url.include_query_params(offset=offset + returned, limit=limit)
        links.append(link(str(nxt), "next", GEOJSON, "next page"))
    if offset > 0:
        prev = url.include_query_params(offset=max(offset - limit, 0), limit=limit)
        links.append(link(str(prev), "prev", GEOJSON, "previous page"))
    return links


def timestamp() -> str:
    """Now, UTC, RFC 3339."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feature_collection(
    frame: gpd.GeoDataFrame,
    index: CollectionIndex,
    rows: np.ndarray,
    *,
    url: URL,
    collection_url: str,
    offset: int,
    limit: int,
) -> bytes:
    """The ``/items`` document (JSON bytes): one page of ``rows`` with counts and links.

    Parameters
    ----------
    frame, index
        The collection and its :func:`collection_index`.
    rows
        Every matching row (ascending); the page is ``rows[offset:offset + limit]``.
    url
        The request URL (``self``; ``next``/``prev`` change its ``offset``).
    collection_url
        URL of the collection document.
    offset, limit
        Paging.
    """
    page = rows[offset : offset + limit]
    links = paging_links(url, offset=offset, limit=limit, matched=len(rows), returned=len(page))
    links.append(link(collection_url, "collection", JSON, "the collection document"))
    head = json_bytes({"type": "FeatureCollection", "features": None})
    tail = json_bytes({
        "numberMatched": len(rows),
        "numberReturned": len(page),
        "timeStamp": timestamp(),
        "links": links,
    })
    body = features_json(frame, index, page).encode("utf-8")
    # {"type":"FeatureCollection","features":<body>,"numberMatched":...}
    return head[: -len(b"null}")] + body + b"," + tail[1:]


def feature(
    frame: gpd.GeoDataFrame, index: CollectionIndex, feature_id: str, *, url: str, collection_url: str
) -> dict[str, Any] | None:
    """The ``/items/{featureId}`` document, or None when no feature has that id."""
    row = index.lookup.get(feature_id)
    if row is None:
        return None
    out = features(frame, index, np.array([row], dtype=np.int64))[0]
    out["links"] = [
        link(url, "self", GEOJSON, "this document"),
        link(collection_url, "collection", JSON, "the collection document"),
    ]
    return out


# --- landing, conformance, collections ----------------------------------------------------------


def landing_page(*, base: str, openapi_url: str, docs_url: str) -> dict[str, Any]:
    """The landing page document (``base`` is the URL of the landing page itself)."""
    return {
        "title": "FireReach OGC API – Features",
        "description": "Hydrants, streets, buildings and the fire water and access analysis, in WGS84.",
        "links": [
            link(base, "self", JSON, "this document"),
            link(openapi_url, "service-desc", OPENAPI_JSON_30, "the API definition (OpenAPI 3.0)"),
            link(docs_url, "service-doc", HTML, "the API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "conformance classes"),
            link(f"{base}/collections", "data", JSON, "the feature collections"),
        ],
    }


def conformance() -> dict[str, Any]:
    """The conformance declaration."""
    return {"conformsTo": list(CONFORMANCE_CLASSES)}


def collection_document(index: CollectionIndex, *, base: str) -> dict[str, Any]:
    """One collection's description (``base`` is the URL of ``/collections``)."""
    href = f"{base}/{index.name}"
    doc: dict[str, Any] = {
        "id": index.name,
        "title": TITLES.get(index.name, index.name.replace("_", " ")),
        "description": (
            f"{len(index)} features; feature ids from "
            f"{index.id_column or 'a composed key'}; filter with ?<property>=<value> on: "
            + ", ".join(c for c in index.properties if index.kinds[c] != "other")
        ),
        "itemType": "feature",
        "itemCount": len(index),
        "crs": [CRS84],
        "links": [
            link(href, "self", JSON, "this collection"),
            link(f"{href}/items", "items", GEOJSON, "the features"),
            link(f"{href}/schema", REL_SCHEMA, JSON_SCHEMA, "JSON schema of the features"),
            link(f"{href}/schema.xsd", "describedby", XML, "GML application schema (field types)"),
        ],
    }
    if index.bbox is not None:
        doc["extent"] = {"spatial": {"bbox": [list(index.bbox)], "crs": CRS84}}
    return doc


_JSON_TYPES: Mapping[str, dict[str, str]] = {
    "bool": {"type": "boolean"},
    "int": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "double"},
    "str": {"type": "string"},
}


def _property_schema(values: pd.Series, kind: str) -> dict[str, Any]:
    if kind in _JSON_TYPES:
        return dict(_JSON_TYPES[kind])
    sample = values.dropna()
    first = sample.iloc[0] if len(sample) else None
    if isinstance(first, list | tuple | np.ndarray):
        items = [v for v in first if v is not None]
        item_kind = "int" if items and all(isinstance(v, int | np.integer) for v in items) else "str"
        return {"type": "array", "items": dict(_JSON_TYPES[item_kind])}
    return {"type": "string"}


def collection_schema(frame: pd.DataFrame, index: CollectionIndex, *, url: str) -> dict[str, Any]:
    """JSON Schema of the collection's GeoJSON features (its property names and types).

    Integer properties are ``integer`` with ``format: int64`` (OSM ids exceed 32 bits).
    """
    props = {c: _property_schema(frame[c], index.kinds[c]) for c in index.properties}
    id_schema = {"type": "integer"} if index.ids.dtype.kind in "iu" else {"type": "string"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": url,
        "title": TITLES.get(index.name, index.name),
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": id_schema,
            "geometry": {"type": ["object", "null"]},
            "properties": {"type": "object", "properties": props},
        },
    }


_XSD_TYPES: Mapping[str, str] = {"bool": "xs:boolean", "int": "xs:long", "float": "xs:double"}
_GML_GEOMETRY: Mapping[str, str] = {
    "Point": "gml:PointPropertyType", "MultiPoint": "gml:MultiPointPropertyType",
    "LineString": "gml:CurvePropertyType", "MultiLineString": "gml:MultiCurvePropertyType",
    "Polygon": "gml:SurfacePropertyType", "MultiPolygon": "gml:MultiSurfacePropertyType",
}


def collection_xsd(frame: gpd.GeoDataFrame, index: CollectionIndex) -> str:
    """A GML 3.2 application schema of the collection: property names and types.

    OGC API – Features clients that build a fixed schema (GDAL's OAPIF driver, hence QGIS) read
    it from the ``describedby`` link; without it they guess types from the first page and
    truncate 64-bit integers such as OSM ids. Integers are ``xs:long``.
    """
    from xml.sax.saxutils import quoteattr

    kinds = {str(t) for t in frame.geom_type.dropna().unique()}
    geometry = _GML_GEOMETRY[kinds.pop()] if len(kinds) == 1 and next(iter(kinds)) in _GML_GEOMETRY \
        else "gml:GeometryPropertyType"
    rows = [f'<xs:element name="geometry" type="{geometry}" minOccurs="0"/>']
    for c in index.properties:
        rows.append(
            f'<xs:element name={quoteattr(c)} type="{_XSD_TYPES.get(index.kinds[c], "xs:string")}" '
            'minOccurs="0" nillable="true"/>'
        )
    name = quoteattr(index.name)
    type_name = quoteattr(f"fr:{index.name}Type")
    body = "\n          ".join(rows)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:gml="http://www.opengis.net/gml/3.2"
    xmlns:fr="urn:firereach" targetNamespace="urn:firereach" elementFormDefault="qualified" version="1.0">
  <xs:import namespace="http://www.opengis.net/gml/3.2" schemaLocation="http://schemas.opengis.net/gml/3.2.1/gml.xsd"/>
  <xs:element name={name} type={type_name} substitutionGroup="gml:AbstractFeature"/>
  <xs:complexType name={quoteattr(f"{index.name}Type")}>
    <xs:complexContent>
      <xs:extension base="gml:AbstractFeatureType">
        <xs:sequence>
          {body}
        </xs:sequence>
      </xs:extension>
    </xs:complexContent>
  </xs:complexType>
</xs:schema>
"""


def collections_document(indexes: Iterable[CollectionIndex], *, base: str) -> dict[str, Any]:
    """The ``/collections`` document."""
    return {
        "links": [link(base, "self", JSON, "this document")],
        "collections": [collection_document(ix, base=base) for ix in indexes],
    }


# --- OpenAPI 3.0 ----------------------------------------------------------------------------------


def _schema_30(node: Any) -> Any:
    """One JSON-schema node rewritten from OpenAPI 3.1 (JSON Schema 2020-12) to OpenAPI 3.0."""
    if isinstance(node, list):
        return [_schema_30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = _nullable_30({k: _schema_30(v) for k, v in node.items()})
    for key, op in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[op] = value
            out[key] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    examples = out.get("examples")
    if isinstance(examples, list) and "schema" not in out:
        # JSON-schema examples (a list) become the 3.0 singular example
        out.pop("examples")
        if examples:
            out.setdefault("example", examples[0])
    for key in ("$schema", "contentMediaType", "contentEncoding", "prefixItems", "unevaluatedProperties"):
        out.pop(key, None)
    return out


def _nullable_30(out: dict[str, Any]) -> dict[str, Any]:
    """``anyOf``/``oneOf`` with a null option and ``type: [X, "null"]`` as 3.0's ``nullable``."""
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and any(o == {"type": "null"} for o in options):
            rest = [o for o in options if o != {"type": "null"}]
            del out[key]
            if len(rest) == 1 and isinstance(rest[0], dict):
                out = {**rest[0], **out}
            else:
                out[key] = rest
            out["nullable"] = True
    kind = out.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) < len(kind):
            out["nullable"] = True
        out["type"] = kinds[0] if len(kinds) == 1 else "string"
    return out


def openapi_30(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The app's OpenAPI 3.1 document rewritten as OpenAPI 3.0.3 (for the OAS30 conformance class).

    Rewrites the JSON Schema 2020-12 forms FastAPI emits: ``anyOf [X, null]`` becomes
    ``X, nullable: true``; ``type: [X, null]`` likewise; numeric ``exclusiveMinimum/Maximum``
    become the boolean form; ``const`` becomes a one-value ``enum``; schema ``examples`` becomes
    ``example``.
    """
    out = json.loads(json.dumps(doc))
    out["openapi"] = "3.0.3"
    for path in out.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for param in operation.get("parameters", []):
                if "schema" in param:
                    param["schema"] = _schema_30(param["schema"])
            body = operation.get("requestBody", {})
            for media in body.get("content", {}).values():
                if "schema" in media:
                    media["schema"] = _schema_30(media["schema"])
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    if "schema" in media:
                        media["schema"] = _schema_30(media["schema"])
    schemas = out.get("components", {}).get("schemas", {})
    for name, schema in list(schemas.items()):
        schemas[name] = _schema_30(schema)
    out.pop("webhooks", None)
    out.pop("jsonSchemaDialect", None)
    return out

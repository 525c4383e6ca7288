"""Online OSM download (optional): by place name, bounding box or polygon, cached on disk.

The place name is geocoded with osmnx (Nominatim, osmnx's own cache); the data is fetched from
the Overpass API as raw OSM XML and saved in the cache directory, then read with the same
pyosmium reader as any file (:func:`geo.osm.read_osm`), so online and offline data go through
one code path. Nothing else in FireReach touches the network.
"""

from __future__ import annotations

import hashlib
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import shapely

from geo.bbox import BBox
from geo.errors import ConfigError, InputFileError, NetworkUnavailableError

log = logging.getLogger(__name__)

#: ``fetch(url, query) -> bytes``; injectable so the download logic is testable offline.
Fetcher = Callable[[str, str], bytes]

DEFAULT_OVERPASS_URL = "https://overpass-api.de/api"

_QUERY = """[out:xml][timeout:{timeout}];
(
  way["highway"]({bbox});
  way["building"]({bbox});
  relation["building"]({bbox});
  node["emergency"]({bbox});
  way["emergency"]({bbox});
  node["amenity"~"^(fire_station|fire_hydrant)$"]({bbox});
  way["amenity"="fire_station"]({bbox});
  node["barrier"]({bbox});
  node["entrance"]({bbox});
  relation["boundary"="administrative"]({bbox});
);
(._;>;);
out body;
"""


def overpass_query(bbox: tuple[float, float, float, float], *, timeout_s: int = 180) -> str:
    """The Overpass QL query for everything FireReach reads, in ``(west, south, east, north)``."""
    west, south, east, north = BBox.of(bbox)  # checked: geo.bbox's rules, no antimeridian
    return _QUERY.format(timeout=timeout_s, bbox=f"{south},{west},{north},{east}")


def _urllib_fetch(url: str, query: str) -> bytes:
    data = urllib.parse.urlencode({"data": query}).encode()
    request = urllib.request.Request(
        url, data=data, headers={"User-Agent": "FireReach (OSM fire access analysis)"}
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            body: bytes = response.read()
            return body
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise NetworkUnavailableError(
            f"cannot reach the Overpass API at {url}: {exc}. Download an extract by other means "
            "and pass it with --osm FILE"
        ) from exc


def place_bbox(place: str) -> tuple[float, float, float, float]:
    """Geocode a place name with osmnx and return its polygon's bounds (west, south, east, north)."""
    import osmnx as ox  # imported here: osmnx is only needed online

    try:
        gdf = ox.geocode_to_gdf(place)
    except Exception as exc:  # osmnx raises several types for network and lookup failures
        raise NetworkUnavailableError(
            f"cannot geocode place {place!r}: {exc}. Check the name and the network, or pass "
            "--bbox or --osm FILE"
        ) from exc
    west, south, east, north = (float(v) for v in gdf.total_bounds)
    return west, south, east, north


def download_osm(
    *,
    place: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    polygon: shapely.Polygon | shapely.MultiPolygon | None = None,
    cache_dir: Path,
    overpass_url: str = DEFAULT_OVERPASS_URL,
    fetch: Fetcher | None = None,
) -> Path:
    """Download OSM data for a place, bbox or polygon (WGS84) and return the cached file path.

    Exactly one of ``place``, ``bbox`` and ``polygon`` is given. A second call with the same
    area reads the cache and does not touch the network.
    """
    given = [x is not None for x in (place, bbox, polygon)]
    if sum(given) != 1:
        raise ConfigError("give exactly one of place, bbox or polygon for an online download")
    if place is not None:
        area = place_bbox(place)
    elif polygon is not None:
        west, south, east, north = (float(v) for v in polygon.bounds)
        area = (west, south, east, north)
    elif bbox is not None:
        area = bbox
    query = overpass_query(area)
    key = hashlib.sha256(f"{overpass_url}\n{query}".encode()).hexdigest()[:20]
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"overpass-{key}.osm"
    if path.exists() and path.stat().st_size > 0:
        log.info("online OSM: cache hit %s", path.name)
        return path
    log.info("online OSM: downloading bbox %s from %s", area, overpass_url)
    body = (fetch or _urllib_fetch)(f"{overpass_url.rstrip('/')}/interpreter", query)
    if b"<osm" not in body[:2000]:
        raise InputFileError(
            f"the Overpass API answered without OSM data ({body[:200]!r}); try again later or "
            "with a smaller area"
        )
    tmp = path.with_suffix(".part")
    tmp.write_bytes(body)
    tmp.replace(path)
    log.info("online OSM: saved %d bytes to %s", len(body), path)
    return path

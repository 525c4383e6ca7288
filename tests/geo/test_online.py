"""Online OSM download: query, cache and errors (offline with a fake fetcher; one real test)."""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from geo.errors import ConfigError, InputFileError, NetworkUnavailableError
from geo.online import download_osm, overpass_query
from geo.osm import read_osm
from tests.conftest import FIXTURES


class FakeOverpass:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.calls: list[tuple[str, str]] = []

    def __call__(self, url: str, query: str) -> bytes:
        self.calls.append((url, query))
        return self.body


def test_query_reads_every_layer_and_orders_bbox_south_west_north_east() -> None:
    q = overpass_query((121.49, 31.28, 121.50, 31.29))
    assert "(31.28,121.49,31.29,121.5)" in q
    for key in ('way["highway"]', 'way["building"]', 'node["emergency"]', 'node["barrier"]',
                'relation["boundary"="administrative"]', "fire_station"):
        assert key in q


def test_bad_bbox() -> None:
    with pytest.raises(ConfigError, match=r"west \(121.5\) must be less than east"):
        overpass_query((121.5, 31.28, 121.49, 31.29))


def test_download_is_cached(tmp_path: Path) -> None:
    fake = FakeOverpass((FIXTURES / "tiny_compound.osm").read_bytes())
    bbox = (121.499, 31.278, 121.507, 31.283)
    path = download_osm(bbox=bbox, cache_dir=tmp_path, fetch=fake)
    again = download_osm(bbox=bbox, cache_dir=tmp_path, fetch=fake)
    assert path == again and len(fake.calls) == 1
    assert fake.calls[0][0].endswith("/interpreter")
    assert read_osm(path).ways["way_id"].nunique() == 5
    poly = shapely.box(*bbox)
    assert download_osm(polygon=poly, cache_dir=tmp_path, fetch=fake) == path


def test_download_needs_exactly_one_area(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        download_osm(cache_dir=tmp_path)
    with pytest.raises(ConfigError):
        download_osm(bbox=(0, 0, 1, 1), place="Yangpu", cache_dir=tmp_path)


def test_overpass_error_page_is_not_cached(tmp_path: Path) -> None:
    fake = FakeOverpass(b"<html>rate limited</html>")
    with pytest.raises(InputFileError, match="without OSM data"):
        download_osm(bbox=(24.9, 60.1, 25.0, 60.2), cache_dir=tmp_path, fetch=fake)
    assert not list(tmp_path.glob("*.osm"))


def test_unreachable_network_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NetworkUnavailableError, match="--osm FILE"):
        download_osm(bbox=(24.9, 60.1, 25.0, 60.2), cache_dir=tmp_path,
                     overpass_url="http://127.0.0.1:9/api")


@pytest.mark.network
def test_real_download_small_bbox(tmp_path: Path) -> None:
    path = download_osm(bbox=(24.94, 60.168, 24.945, 60.171), cache_dir=tmp_path)
    assert len(read_osm(path).ways) > 0

"""The web map's settings: ``basemap_url`` / ``basemap_attribution`` and ``/web/config.json``.

In-process (no server, no browser): the validator and the JSON the page reads at start-up.
"""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from api.app import create_app
from api.settings import Settings


@pytest.mark.parametrize("url", [
    "https://tiles.example.gov.cn/{z}/{x}/{y}.png",
    "http://10.0.0.5:8080/osm/{z}/{x}/{y}.png?style=grey",
    "https://{s}.tiles.example.org/{z}/{x}/{y}@2x.png",
    "/basemap/{z}/{x}/{y}.png",
    "basemap/{z}/{y}/{x}.png",
])
def test_basemap_url_accepts_tile_templates(url: str) -> None:
    assert Settings(basemap_url=url, _env_file=None).basemap_url == url


@pytest.mark.parametrize(("url", "words"), [
    ("https://tiles.example.org/{z}/{x}.png", "lacks {y}"),
    ("https://tiles.example.org/tile.png", "lacks {z}, {x}, {y}"),
    ("ftp://tiles.example.org/{z}/{x}/{y}.png", "http(s) URL or a path"),
    ("javascript:alert('{z}{x}{y}')", "http(s) URL or a path"),
    ("data:image/png;base64,{z}{x}{y}", "http(s) URL or a path"),
    ("//tiles.example.org/{z}/{x}/{y}.png", "http(s) URL or a path"),
    ("https:///{z}/{x}/{y}.png", "http(s) URL or a path"),
    ('/tiles/{z}/{x}/{y}.png" onerror="x', "without spaces or quotes"),
])
def test_basemap_url_rejects_other_values(url: str, words: str) -> None:
    with pytest.raises(ValidationError, match="basemap_url") as info:
        Settings(basemap_url=url, _env_file=None)
    assert words in str(info.value)


def test_basemap_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREREACH_BASEMAP_URL", "https://tiles.example.org/{z}/{x}/{y}.png")
    monkeypatch.setenv("FIREREACH_BASEMAP_ATTRIBUTION", "© 某市测绘院")
    settings = Settings(_env_file=None)
    assert settings.basemap_url == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert settings.basemap_attribution == "© 某市测绘院"
    monkeypatch.setenv("FIREREACH_BASEMAP_URL", "")
    assert Settings(_env_file=None).basemap_url is None
    monkeypatch.delenv("FIREREACH_BASEMAP_URL")
    monkeypatch.delenv("FIREREACH_BASEMAP_ATTRIBUTION")
    settings = Settings(_env_file=None)
    assert settings.basemap_url is None and settings.basemap_attribution == ""


async def _get(settings: Settings, path: str) -> httpx.Response:
    # The web router needs no workspace: no lifespan runs here.
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


@pytest.mark.anyio
async def test_config_json_serves_the_basemap_or_null() -> None:
    r = await _get(Settings(_env_file=None), "/web/config.json")
    assert r.status_code == 200 and r.json() == {"basemap": None}
    assert r.headers["cache-control"] == "no-cache"

    settings = Settings(basemap_url="/basemap/{z}/{x}/{y}.png", basemap_attribution="测试底图",
                        public_read=False, _env_file=None)
    r = await _get(settings, "/web/config.json")
    # public: the page reads it before it knows any key
    assert r.status_code == 200
    assert r.json() == {"basemap": {"url": "/basemap/{z}/{x}/{y}.png", "attribution": "测试底图"}}

"""The web page's words for coded values: ``/web/vocabulary.json`` is :mod:`geo.vocabulary`, and
the page's scripts keep no table of their own (in-process, no browser)."""

from __future__ import annotations

import importlib
import json
import re
from typing import get_args

import httpx
import pytest

from api import store
from api.app import create_app
from api.routers.web import WEB_DIR
from api.settings import Settings
from geo import vocabulary


async def _get(settings: Settings, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(path)


@pytest.mark.anyio
async def test_vocabulary_json_is_the_module() -> None:
    # public like config.json: the page reads it before it knows any key
    r = await _get(Settings(public_read=False, _env_file=None), "/web/vocabulary.json")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    doc = r.json()
    assert doc == json.loads(json.dumps(vocabulary.vocabulary_document()))
    status = doc["vocabularies"]["hydrant_status"]["terms"]
    assert [t["code"] for t in status] == ["in_service", "out_of_service", "low_pressure", "unknown"]
    assert all(t["colour"] for t in status)  # every status has its legend swatch


def _js() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(WEB_DIR.glob("*.js"))}


def test_scripts_keep_no_label_table() -> None:
    """No coded value's label is spelled in the page's scripts: they read /web/vocabulary.json."""
    scripts = _js()
    assert set(scripts) == {"app.js", "fields.js"}
    for name, text in scripts.items():
        literals = set(re.findall(r'"([^"\\]*)"', text))
        for vocab in vocabulary.VOCABULARIES.values():
            for term in vocab.terms:
                # the Chinese words anywhere; the English ones as a string of their own
                if re.search(r"[\u4e00-\u9fff]", term.zh):
                    assert term.zh not in literals, (name, vocab.name, term.zh)
                assert term.en not in literals or term.en == term.code, (name, vocab.name, term.en)
        # the words the old tables used for statuses nothing else calls them by
        for word in ("停用/损坏", "故障", "faulty", "FR_VALUES", "水压不足", "一类高层", "二类高层"):
            assert word not in text, (name, word)


def test_app_js_takes_legend_colours_from_the_vocabulary() -> None:
    app = _js()["app.js"]
    assert "/web/vocabulary.json" in app
    # no hand-kept colour per status or class
    assert not re.search(r"in_service\s*:", app) and not re.search(r"class1\s*:", app)


def test_api_literals_agree_with_the_vocabulary() -> None:
    """The request models spell the codes as Literals for the type checker: the same codes."""
    assert get_args(store.HydrantStatus) == vocabulary.OBSERVED_HYDRANT_STATUSES
    assert set(get_args(store.LedgerStatus)) == set(vocabulary.LEDGER_STATUSES)
    assert get_args(store.BlockageKind) == vocabulary.BLOCKAGE_KINDS
    analysis_router = importlib.import_module("api.routers.analysis")
    assert get_args(analysis_router.BlockageKind) == vocabulary.BLOCKAGE_KINDS
    assert store.HYDRANT_STATUSES == vocabulary.OBSERVED_HYDRANT_STATUSES

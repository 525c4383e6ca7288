"""The field-level policy through every channel: items, single items, CSV, GeoPackage, tiles.

One ledger item carries marker strings in every personal field (reporter, photo URL with its
token, note); an anonymous caller (``public_read`` on, the default) must meet none of them in any
collection, download or tile, and every keyed role (the roles that read ``GET /ledger/{id}``) meets
them where the ledger's layers carry them. The collections come from the server's own
``/ogc/collections``, so a new layer is covered without touching this file.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import geopandas as gpd
import httpx
import pandas as pd
import pytest

from api import visibility
from api.app import create_app
from api.settings import Settings
from api.store import ROLES
from geo.catalog import CATALOG
from tests.api.server import asgi_client, build_workspace, copy_workspace

pytestmark = pytest.mark.anyio

ADMIN_KEY = "visibility-tests-admin-key-0123456789abcdef"
# The tiny fixture lies at 121.500-121.506 E, 31.279-31.282 N (Shanghai, Yangpu).
POINT = (121.501, 31.2805)
REPORTER = "SECRETREPORTER 13800000000"
TOKEN = "SECRETTOKEN42"
NOTE = "SECRETNOTE"
MARKERS = (b"SECRETREPORTER", TOKEN.encode(), NOTE.encode())
#: Column names of the personal fields as the served ledger layers carry them.
LEDGER_PERSONAL = ("reporter", "photo", "name")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("tiny") / "ws")


@asynccontextmanager
async def served(ws: Path) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str | None, dict[str, str]]]]:
    """A server with one reported item and a header set per audience (None: anonymous)."""
    app = create_app(Settings(workspace=ws, bootstrap_admin_key=ADMIN_KEY, _env_file=None))
    async with asgi_client(app) as http:
        heads: dict[str | None, dict[str, str]] = {None: {}, "admin": {"X-API-Key": ADMIN_KEY}}
        for role in ROLES:
            if role != "admin":
                r = await http.post("/keys", json={"role": role, "name": f"{role} 1"},
                                    headers=heads["admin"])
                heads[role] = {"X-API-Key": r.json()["key"]}
        r = await http.post("/ledger", headers=heads["admin"], json={
            "lon": POINT[0], "lat": POINT[1], "kind": "parked_vehicle", "reporter": REPORTER,
            "photo_url": f"https://photos.example/p1.jpg?token={TOKEN}", "note": NOTE,
        })
        assert r.status_code == 201, r.text
        yield http, heads


@pytest.fixture
def ws(base_ws: Path, tmp_path: Path) -> Path:
    return copy_workspace(base_ws, tmp_path / "ws")


def test_every_catalog_layer_has_a_policy() -> None:
    missing = sorted(set(CATALOG) - set(visibility.POLICY))
    assert not missing, f"layers without a visibility policy: {missing}"
    # every policy is an allow-list, and a layer's feature id is public (OGC ids, tiles' lookup)
    for name, info in CATALOG.items():
        rule = visibility.POLICY[name]
        assert isinstance(rule.public, frozenset), name
        assert not {c for c in rule.public if visibility.hidden_columns(name, [c], None)}, name
        for col in (info.id_column, info.find_by):
            assert col is None or col in rule.public, (name, col)


def test_policy_hides_personal_columns_from_anonymous_only() -> None:
    cols = ["blockage_id", "reporter", "photo", "name", "rank", "reporter_phone", "brand_new", "geometry"]
    # anonymous: personal (reporter, photo, *_phone), the ledger's note column (name) and the
    # column no policy lists (brand_new) are hidden; the geometry never is
    assert visibility.hidden_columns("blockages_ranked", cols, None, geometry="geometry") == [
        "reporter", "photo", "name", "reporter_phone", "brand_new"]
    for role in ROLES:
        assert visibility.hidden_columns("blockages_ranked", cols, role, geometry="geometry") == []
    # a derived layer shows its listed columns; a column no list names yet (new code) is hidden
    # from anonymous callers, and shown to every key; a table with no policy shows nothing
    assert visibility.hidden_columns("roads", ["name", "phone", "brand_new"], None) == ["phone", "brand_new"]
    for role in ROLES:
        assert visibility.hidden_columns("roads", ["name", "phone", "brand_new"], role) == []
    assert visibility.hidden_columns("no_such_table", ["name"], None) == ["name"]


def test_columns_nobody_listed_are_for_keys_only() -> None:
    # an agency file's own extra columns (kept by the reader) and a column some later code adds
    # are not public until listed in api.public_columns; a key sees them
    cols = ["hydrant_id", "status", "管理单位联系电话", "maintenance_contract", "geometry"]
    assert visibility.hidden_columns("hydrants", cols, None, geometry="geometry") == [
        "管理单位联系电话", "maintenance_contract"]
    assert visibility.hidden_columns("hydrants", cols, "viewer", geometry="geometry") == []
    # a personal column stays hidden from the public even where it is listed nowhere
    assert visibility.hidden_columns("buildings_analysis", ["building_id", "owner_phone"], None) == [
        "owner_phone"]
    # every result layer has an allow-list
    from api.public_columns import PUBLIC_COLUMNS
    from geo.catalog import RESULT_LAYERS

    unlisted = [n for n in RESULT_LAYERS if n not in PUBLIC_COLUMNS and n != "blockages_ranked"]
    assert not unlisted, unlisted


def test_redact_gives_file_names_and_keeps_the_frame_when_nothing_changes() -> None:
    frame = pd.DataFrame({"hydrant_id": ["h1"], "source_file": ["/srv/data/城区/hydrants.csv"]})
    out = visibility.redact("hydrants", frame, "viewer")
    assert out["source_file"].tolist() == ["hydrants.csv"]
    rejects = pd.DataFrame({"file": ["C:\\data\\blockages.xlsx"], "reason": ["no lon"], "value": ["x"]})
    assert visibility.redact("rejects", rejects, None).to_dict("list") == {
        "file": ["blockages.xlsx"], "reason": ["no lon"]}
    clean = pd.DataFrame({"hydrant_id": ["h1"], "source_file": ["hydrants.csv"]})
    assert visibility.redact("hydrants", clean, None) is clean


def _has_markers(data: bytes) -> bool:
    return any(m in data for m in MARKERS)


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


async def test_every_channel_for_every_audience(ws: Path, tmp_path: Path) -> None:
    async with served(ws) as (http, heads):
        names = [c["id"] for c in (await http.get("/ogc/collections")).json()["collections"]]
        assert "blockages_ranked" in names
        assert not sorted(set(names) - set(visibility.POLICY)), "a served collection has no policy"
        for role, head in heads.items():
            keyed = role is not None
            seen_markers = False
            for name in names:
                r = await http.get(f"/ogc/collections/{name}/items", params={"limit": 10000}, headers=head)
                assert r.status_code == 200, (name, role, r.text)
                feats = r.json()["features"]
                props: set[str] = set().union(*(f["properties"] for f in feats)) if feats else set()
                if not keyed:
                    assert not props & visibility.PERSONAL, (name, props)
                    assert not _has_markers(r.content), name
                    rule = visibility.policy(name)  # the layer's allow-list, nothing beyond
                    assert rule is not None and rule.public is not None, name
                    assert props <= rule.public, (name, sorted(props - rule.public))
                seen_markers |= _has_markers(r.content)
                if name == "blockages_ranked":
                    assert feats, "the reported item is ranked"
                    assert set(LEDGER_PERSONAL) <= props if keyed else not props & set(LEDGER_PERSONAL)
                    fid = feats[0]["id"]
                    one = await http.get(f"/ogc/collections/{name}/items/{fid}", headers=head)
                    assert one.status_code == 200
                    assert (REPORTER in one.json()["properties"].values()) is keyed
                csv_r = await http.get(f"/downloads/{name}.csv", headers=head)
                assert csv_r.status_code == 200, (name, role)
                header = next(csv.reader(io.StringIO(csv_r.content.decode("utf-8-sig"))), [])
                assert _has_markers(csv_r.content) is (keyed and name.startswith("blockages")), name
                if not keyed:
                    assert not set(header) & visibility.PERSONAL, (name, header)
            assert seen_markers is keyed, role
            if not keyed:
                await _anonymous_sees_only_the_allow_lists(http, names, tmp_path)
            # the GeoPackage: one file per audience
            gpkg = await http.get("/downloads/layers.gpkg", headers=head)
            assert gpkg.status_code == 200
            assert _has_markers(gpkg.content) is keyed, role
            path = tmp_path / f"{role}.gpkg"
            path.write_bytes(gpkg.content)
            ranked = gpd.read_file(path, layer="blockages_ranked")
            assert (set(LEDGER_PERSONAL) <= set(ranked.columns)) is keyed
            # the tiles and TileJSON of the ranked layer at the item's tile
            for z in (12, 16):
                x, y = _tile_of(*POINT, z)
                t = await http.get(f"/tiles/blockages_ranked/{z}/{x}/{y}.mvt", headers=head)
                assert t.status_code == 200, (z, t.status_code)
                assert _has_markers(t.content) is keyed, (role, z)
            tj = (await http.get("/tiles/blockages_ranked.json", headers=head)).json()
            fields = set(tj["vector_layers"][0]["fields"])
            assert bool(fields & set(LEDGER_PERSONAL)) is keyed, fields


def _allowed(name: str) -> set[str]:
    return set(visibility.POLICY[name].public)


async def _anonymous_sees_only_the_allow_lists(
    http: httpx.AsyncClient, names: list[str], tmp_path: Path
) -> None:
    """Every column an anonymous caller meets, in every collection and channel, is on its layer's
    allow-list (so a column no list names, e.g. one new code adds, reaches no anonymous caller)."""
    gpkg = tmp_path / "anonymous-allow.gpkg"
    gpkg.write_bytes((await http.get("/downloads/layers.gpkg")).content)
    import pyogrio

    for name, _ in pyogrio.list_layers(gpkg):
        cols = set(pyogrio.read_info(gpkg, layer=name)["fields"])
        assert cols <= _allowed(name), (name, sorted(cols - _allowed(name)))
    for name in names:
        feats = (await http.get(f"/ogc/collections/{name}/items", params={"limit": 10000})).json()["features"]
        props: set[str] = set().union(*(f["properties"] for f in feats)) if feats else set()
        assert props <= _allowed(name), (name, sorted(props - _allowed(name)))
        schema = (await http.get(f"/ogc/collections/{name}/schema")).json()
        named = set(schema["properties"]["properties"]["properties"])  # the Feature's properties
        assert named <= _allowed(name), (name, "schema", sorted(named - _allowed(name)))
        header = next(csv.reader(io.StringIO(
            (await http.get(f"/downloads/{name}.csv")).content.decode("utf-8-sig"))), [])
        extra = {"lon", "lat", "geometry_wkt"}
        assert set(header) - extra <= _allowed(name), (name, sorted(set(header) - extra - _allowed(name)))
        tj = await http.get(f"/tiles/{name}.json")
        if tj.status_code != 200:
            continue
        fields = set(tj.json()["vector_layers"][0]["fields"])
        assert fields <= _allowed(name), (name, "tilejson", sorted(fields - _allowed(name)))
        for z in (14, 16):
            x, y = _tile_of(*POINT, z)
            t = await http.get(f"/tiles/{name}/{z}/{x}/{y}.mvt")
            assert t.status_code in (200, 204), (name, z, t.status_code)
            if t.status_code == 200 and t.content:
                import mapbox_vector_tile

                for layer in mapbox_vector_tile.decode(t.content).values():
                    for feat in layer["features"]:
                        extra_props = set(feat["properties"]) - _allowed(name)
                        assert not extra_props, (name, z, sorted(extra_props))


async def test_public_csv_neutralises_formulas(ws: Path) -> None:
    async with served(ws) as (http, heads):
        r = await http.post("/ledger", headers=heads["admin"], json={
            "lon": POINT[0], "lat": POINT[1], "kind": "parked_vehicle", "reporter": "=HYPERLINK(1)",
            "note": "@SUM(A1)"})
        assert r.status_code == 201
        got = await http.get("/downloads/blockages_ranked.csv", headers=heads["viewer"])
        rows = list(csv.DictReader(io.StringIO(got.content.decode("utf-8-sig"))))
        assert "'=HYPERLINK(1)" in {row["reporter"] for row in rows}
        assert "'@SUM(A1)" in {row["name"] for row in rows}
        # numbers stay numbers: no quote before a number, negative or not
        assert all(not row["rank"].startswith("'") for row in rows)
        assert all(float(row["lon"]) > 0 for row in rows)


def _hrefs(doc: object) -> list[str]:
    if isinstance(doc, dict):
        return [v for k, v in doc.items() if k == "href" and isinstance(v, str)] + [
            h for v in doc.values() for h in _hrefs(v)]
    if isinstance(doc, list):
        return [h for v in doc for h in _hrefs(v)]
    return []


@pytest.mark.parametrize("base", [None, "https://fire.example.org/fr"])
async def test_links_never_copy_the_host_header(ws: Path, base: str | None) -> None:
    app = create_app(Settings(workspace=ws, public_base_url=base, _env_file=None))
    forged = {"Host": "evil.example"}
    async with asgi_client(app) as http:
        paths = ["/ogc", "/ogc/collections", "/ogc/collections/roads",
                 "/ogc/collections/roads/items?limit=1", "/ogc/collections/roads/schema"]
        docs = [(await http.get(p, headers=forged)).json() for p in paths]
        tilejson = (await http.get("/tiles/roads.json", headers=forged)).json()
    links = [h for d in docs for h in _hrefs(d)] + tilejson["tiles"] + [docs[-1]["$id"]]
    assert len(links) > 10
    assert not [h for h in links if "evil.example" in h]
    # without a base: paths on this server; with one: every link on it
    prefix = "/" if base is None else base + "/"
    assert all(h.startswith(prefix) and not h.startswith("//") for h in links), links


def test_public_base_url_must_be_an_http_address() -> None:
    assert Settings(public_base_url="https://x.example/", _env_file=None).public_base_url == "https://x.example"
    for bad in ("evil.example", "ftp://x.example", "https://x.example/?a=1", "javascript:alert(1)"):
        with pytest.raises(ValueError, match="public_base_url"):
            Settings(public_base_url=bad, _env_file=None)


def test_error_bodies_name_files_not_server_paths(tmp_path: Path) -> None:
    from api.errors import error_body

    where = tmp_path / "城区" / "hydrants.csv"
    body = error_body(422, f"cannot read {str(where)!r}, row 3; see /ledger/export.csv or https://x.example/a/b")
    # the file is named, its folder on this server is not; a route and a URL stay as they are
    assert body["error"] == "cannot read 'hydrants.csv', row 3; see /ledger/export.csv or https://x.example/a/b"


async def test_report_workbook_for_the_public_has_no_personal_fields(ws: Path) -> None:
    import zipfile

    async with served(ws) as (http, heads):
        for role in (None, "viewer"):
            r = await http.get("/downloads/report.xlsx", headers=heads[role])
            assert r.status_code == 200, r.text
            with zipfile.ZipFile(io.BytesIO(r.content)) as book:
                text = b"".join(book.read(n) for n in book.namelist() if n.endswith(".xml"))
            assert _has_markers(text) is (role is not None), role

"""geo.catalog: every table a workspace holds is named once, with its titles and id columns, and
the OGC collections, the tiles and the web page take them from there."""

from __future__ import annotations

import re
from pathlib import Path

import pyogrio
import pytest

from api import ogc
from api.routers.web import WEB_DIR
from api.workspace import Workspace
from geo.catalog import CATALOG, RESULT_LAYERS, LayerName, catalog_document
from geo.vocabulary import vocabulary_document


def test_every_entry_has_two_titles_and_a_known_kind() -> None:
    assert set(CATALOG) == {n.value for n in LayerName}
    for name, info in CATALOG.items():
        assert info.name == name and info.kind in ("input", "result", "ledger")
        assert re.search(r"[\u4e00-\u9fff]", info.zh) and info.en.strip(), name
    assert len({i.zh for i in CATALOG.values()}) == len(CATALOG)  # no two tables read the same
    assert len({i.en for i in CATALOG.values()}) == len(CATALOG)


def test_every_table_of_an_analysed_workspace_is_in_the_catalog(
    helsinki_workspace: Path, ws: Workspace
) -> None:
    stored = [str(n) for n, _ in pyogrio.list_layers(helsinki_workspace / "layers.gpkg")]
    assert stored and set(stored) <= set(CATALOG), set(stored) - set(CATALOG)
    assert set(ws.analysis.layers) <= set(RESULT_LAYERS)
    for name in stored:
        info = CATALOG[name]
        frame = pyogrio.read_dataframe(helsinki_workspace / "layers.gpkg", layer=name,
                                       read_geometry=False)
        for column in (info.id_column, info.find_by):
            if column is not None and len(frame):
                assert column in frame.columns, (name, column)
        if info.id_column is not None and len(frame):
            assert frame[info.id_column].is_unique, name  # an OGC feature id


def test_every_finding_names_a_table_of_the_catalog(ws: Workspace) -> None:
    layers = set(ws.analysis.findings["layer"].astype(str))
    assert layers and layers <= set(CATALOG), layers - set(CATALOG)


def test_every_finding_names_a_feature_its_table_serves(
    helsinki_workspace: Path, ws: Workspace
) -> None:
    # a finding's feature_id is the id the OGC API serves its feature under (the id column's
    # value or the composed id): each one is looked up in its table, for every findings layer
    found = ws.analysis.findings
    for layer, rows in found.groupby(found["layer"].astype(str)):
        table = ws.analysis.layers.get(layer)
        if table is None:
            table = pyogrio.read_dataframe(helsinki_workspace / "layers.gpkg", layer=layer,
                                           read_geometry=False)
        ids, _ = ogc.feature_ids(layer, table)
        served = {str(i) for i in ids}
        missing = set(rows["feature_id"].astype(str)) - served
        assert not missing, (layer, sorted(missing)[:3], sorted(served)[:3])


def test_ogc_takes_ids_and_titles_from_the_catalog() -> None:
    assert dict(ogc.ID_COLUMNS) == {
        n: i.id_column for n, i in CATALOG.items() if i.id_column is not None
    }
    assert ogc.TITLES["underserved_segments"] == CATALOG["underserved_segments"].en
    # the ones with neither an id nor a composed one are numbered: none of the tiled layers
    assert "coverage_pieces" not in ogc.ID_COLUMNS


@pytest.mark.parametrize("name", ["roads_analysis", "underserved_segments", "blockages_ranked"])
def test_web_page_finds_features_by_the_served_catalog(name: str) -> None:
    doc = vocabulary_document()
    assert doc["layers"] == catalog_document()
    assert doc["layers"][name]["find_by"] == CATALOG[name].find_by is not None
    app = (WEB_DIR / "app.js").read_text(encoding="utf-8")
    # no hand-kept table of collection -> id property in the page's script
    assert not re.search(rf'\b{name}\s*:\s*"{CATALOG[name].find_by}"', app)
    assert "FIND_BY[name] = layers[name].find_by" in app

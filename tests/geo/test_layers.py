"""Workspace layers: build, write to GeoPackage, read back with the schema's dtypes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo.errors import InputFileError
from geo.layers import LAYER_NAMES, LayerOptions, build_layers, layer_counts, read_layers
from geo.osm import read_osm
from geo.presets import load_preset
from geo.schema import SCHEMAS
from reports.export import write_geopackage
from routing.analysis import analyze
from tests.conftest import FIXTURES


def test_roundtrip_keeps_schema_and_results(tmp_path: Path, helsinki_pbf: Path) -> None:
    layers = build_layers(read_osm(helsinki_pbf))
    path = write_geopackage({**layers.as_dict(), "rejects": layers.rejects}, tmp_path / "w.gpkg")
    back = read_layers(path)
    built = layer_counts(layers)
    # what OSM's tagging needed (merged stations) is known only right after reading OSM
    assert built["stations"].pop("merged_duplicates") == 0
    assert layer_counts(back) == built
    for name in LAYER_NAMES:
        a, b = getattr(layers, name), getattr(back, name)
        assert {c.name for c in SCHEMAS[name]} <= set(b.columns)
        assert len(a) == len(b)
        assert b.crs == layers.crs
    assert back.roads["oneway"].dtype == bool
    pd.testing.assert_series_equal(back.roads["length_m"], layers.roads["length_m"], check_names=False)
    preset = load_preset("cn-gb")
    assert analyze(back, preset=preset).summary == analyze(layers, preset=preset).summary


def test_agency_hydrants_merge_and_rejects(tmp_path: Path) -> None:
    # Helsinki fixture: 8 rows, one duplicate id -> 7 hydrants; merged with nothing (tiny area)
    layers = build_layers(
        read_osm(FIXTURES / "tiny_compound.osm"),
        options=LayerOptions(hydrants_file=FIXTURES / "hydrants_helsinki.csv", study_area_margin_m=1e7),
    )
    agency = layers.hydrants.loc[layers.hydrants["source"] == "agency"]
    assert len(agency) == 7
    assert set(agency["status"]) <= {"in_service", "out_of_service", "low_pressure", "unknown"}
    dup = layers.rejects.loc[layers.rejects["reason"].str.contains("duplicate")]
    assert len(dup) == 1 and int(dup["row"].iloc[0]) == 7


def test_missing_workspace(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="firereach analyze"):
        read_layers(tmp_path / "none.gpkg")

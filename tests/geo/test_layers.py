"""Workspace layers: build, write to GeoPackage, read back with the schema's dtypes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo.errors import ConfigError, InputFileError
from geo.layers import LAYER_NAMES, LayerOptions, build_layers, layer_counts, read_layers
from geo.osm import read_osm
from geo.presets import load_preset
from geo.schema import SCHEMAS
from reports.export import write_geopackage
from routing.analysis import analyze
from tests.conftest import FIXTURES


def test_roundtrip_keeps_schema_and_results(tmp_path: Path, helsinki_pbf: Path) -> None:
    layers = build_layers(read_osm(helsinki_pbf))
    path = write_geopackage(layers.tables(), tmp_path / "w.gpkg")
    back = read_layers(path)
    built = layer_counts(layers)
    # what OSM's tagging needed (merged stations) and the readers' notes come back too
    assert built["stations"]["merged_duplicates"] == 0
    assert layer_counts(back) == built
    assert back.notes == layers.notes and back.osm_notes == layers.osm_notes
    assert any(n.label == "lone_building_parts" for n in back.notes)  # the key to translate it by
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


# --- one rule for hydrant status (issue 10) ----------------------------------------------------

_TINY = FIXTURES / "tiny_compound.osm"


def _strict_preset(tmp_path: Path) -> Path:
    path = tmp_path / "strict.toml"
    path.write_text(
        'extends = "cn-gb"\nname = "strict"\n[hydrant_status]\nmissing = "unknown"\n'
        'reason = "count only hydrants with a recorded status"\n',
        encoding="utf-8",
    )
    return path


def test_agency_list_without_status_is_assumed_in_service() -> None:
    """id,lon,lat only: the three rows are assumed in service (not unknown) and they cover."""
    osm = read_osm(_TINY)
    layers = build_layers(osm, options=LayerOptions(hydrants_file=FIXTURES / "hydrants_ids_only.csv"))
    agency = layers.hydrants.loc[layers.hydrants["source"] == "agency"]
    assert len(agency) == 3
    assert set(agency["status"]) == {"in_service"} and set(agency["status_source"]) == {"assumed"}
    counts = layer_counts(layers)["hydrants"]
    # 3 agency rows + OSM node 6 (no tag) assumed; node 42 is tagged disused
    assert counts["status_assumed"] == 4 and counts["status_tagged"] == 1
    assert counts["status_from_agency"] == 0 and counts["in_service"] == 4
    preset = load_preset("cn-gb")
    with_list = analyze(layers, preset=preset).summary["coverage"]
    osm_only = analyze(build_layers(osm), preset=preset).summary["coverage"]
    assert with_list["covered_share"] > osm_only["covered_share"] > 0
    assert with_list["hydrants_used"] == osm_only["hydrants_used"] + 3


def test_blank_status_is_assumed_and_explicit_unknown_stays() -> None:
    layers = build_layers(
        read_osm(_TINY), options=LayerOptions(hydrants_file=FIXTURES / "hydrants_status_blank.csv")
    )
    h = layers.hydrants.set_index("hydrant_id")
    assert h.loc["YP-B01", ["status", "status_source"]].tolist() == ["in_service", "agency"]
    assert h.loc["YP-B02", ["status", "status_source"]].tolist() == ["in_service", "assumed"]
    assert h.loc["YP-B03", ["status", "status_source"]].tolist() == ["unknown", "agency"]
    counts = layer_counts(layers)["hydrants"]
    assert counts["status_from_agency"] == 2 and counts["unknown"] == 1


def test_preset_missing_unknown_counts_nothing(tmp_path: Path) -> None:
    """[hydrant_status] missing = "unknown": every unstated hydrant is unknown, nothing covers."""
    preset = load_preset(_strict_preset(tmp_path))
    layers = build_layers(
        read_osm(_TINY),
        options=LayerOptions(hydrants_file=FIXTURES / "hydrants_ids_only.csv",
                             missing_status=preset.hydrant_status.missing),
    )
    counts = layer_counts(layers)["hydrants"]
    assert counts["unknown"] == 4 and counts["status_assumed"] == 4
    assert counts["in_service"] == 0 and counts["out_of_service"] == 1
    cov = analyze(layers, preset=preset).summary["coverage"]
    assert cov["covered_m"] == 0.0 and cov["covered_share"] == 0.0 and cov["hydrants_used"] == 0
    # the workspace read back keeps the statuses as written (the rule is not applied again)
    path = write_geopackage(layers.tables(), tmp_path / "w.gpkg")
    back = read_layers(path).hydrants
    assert back["status"].tolist() == layers.hydrants["status"].tolist()
    assert back["status_source"].tolist() == layers.hydrants["status_source"].tolist()


def test_bad_missing_status() -> None:
    with pytest.raises(ConfigError, match="'broken'; expected one of"):
        build_layers(read_osm(_TINY), options=LayerOptions(missing_status="broken"))


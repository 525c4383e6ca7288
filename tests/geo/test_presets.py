"""Rule presets: every DOMAIN.md number with its clause, the fire-flow tables cell by cell,
hydrant flow credit, user overrides with ``extends`` and bad preset files."""

from __future__ import annotations

import csv
import importlib.resources
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geo.errors import ConfigError, LayerValidationError
from geo.preset_lookup import (
    credit_flags,
    credited_flow,
    fire_flow_lookup,
    required_fire_flow,
    truck_speed_kmh,
)
from geo.presets import (
    APPARATUS_KINDS,
    BUILTIN_PRESETS,
    CORE_RULES,
    Preset,
    load_preset,
)

FT = 0.3048
IN = 0.0254
GPM = 0.0630902
M3H = 1 / 3.6
PRESET_DIR = Path(str(importlib.resources.files("geo") / "presets"))


@pytest.fixture(scope="module")
def presets() -> dict[str, Preset]:
    return {name: load_preset(name) for name in BUILTIN_PRESETS}


# ------------------------------------------------------------------------------ loading


@pytest.mark.parametrize("name", BUILTIN_PRESETS)
def test_builtin_preset_loads(name: str, presets: dict[str, Preset]) -> None:
    preset = presets[name]
    assert preset.name == name
    assert set(CORE_RULES) <= set(preset.rules)
    assert set(APPARATUS_KINDS) <= set(preset.apparatus)
    assert "default" in preset.speeds_kmh
    assert preset.speeds_confidence == "unverified"
    assert "assumption, configurable" in preset.speeds_note.lower()
    assert preset.rule("hydrant_radius").measure == "network"
    for rule in preset.rules.values():
        assert rule.severity in ("shall", "should")
        assert rule.confidence in ("verified", "secondary", "unverified")
        assert rule.clause and rule.title_en and rule.title_zh
        assert all(v >= 0 for v in rule.values.values())
        assert rule.source.startswith(f"geo/presets/{name}.toml")
    assert preset.fire_flow.confidence == "unverified"
    assert len(preset.rules_frame()) == len(preset.rules)


def test_load_by_path_equals_builtin(presets: dict[str, Preset]) -> None:
    by_path = load_preset(PRESET_DIR / "cn-gb.toml")
    assert by_path.rules["hydrant_radius"].values == presets["cn-gb"].rules["hydrant_radius"].values


# ------------------------------------------------------------------------------ DOMAIN.md numbers

# (preset, rule id, key, value, clause contains, severity, confidence)
RULE_VALUES = [
    # hydrants, GB 50974-2014 / GB 55036-2022 / GB 55037-2022
    ("cn-gb", "hydrant_radius", "value_m", 150.0, "GB 50974-2014 7.2.5", "shall", "verified"),
    ("cn-gb", "hydrant_spacing", "value_m", 120.0, "GB 50974-2014 7.2.5", "shall", "verified"),
    ("cn-gb", "hydrant_both_sides_road_width", "value_m", 60.0, "GB 50974-2014 7.2.3", "shall",
     "verified"),
    ("cn-gb", "hydrant_kerb_distance_min", "value_m", 0.5, "GB 50974-2014 7.2.6", "should",
     "verified"),
    ("cn-gb", "hydrant_kerb_distance_max", "value_m", 2.0, "GB 50974-2014 7.2.6", "shall",
     "verified"),
    ("cn-gb", "hydrant_wall_distance", "value_m", 5.0, "GB 50974-2014 7.2.6", "should", "verified"),
    ("cn-gb", "hydrant_worst_point", "flow_lps", 15.0, "GB 55036-2022 3.0.3", "shall", "verified"),
    ("cn-gb", "hydrant_worst_point", "pressure_mpa", 0.10, "GB 55036-2022 3.0.3", "shall",
     "verified"),
    ("cn-gb", "hydrant_main_pressure", "value_mpa", 0.14, "GB 55036-2022 3.0.3", "shall",
     "verified"),
    ("cn-gb", "hydrant_credit", "min_lps", 10.0, "GB 50974-2014 7.3.2", "shall", "verified"),
    ("cn-gb", "hydrant_credit", "max_lps", 15.0, "GB 50974-2014 7.3.2", "shall", "verified"),
    ("cn-gb", "hydrant_credit", "default_lps", 15.0, "GB 50974-2014 7.3.2", "shall", "verified"),
    ("cn-gb", "hydrant_count_band", "min_m", 5.0, "GB 50974-2014 6.1.5", "shall", "verified"),
    ("cn-gb", "hydrant_count_band", "max_m", 150.0, "GB 50974-2014 6.1.5", "shall", "verified"),
    ("cn-gb", "pump_connector_hydrant_band", "min_m", 5.0, "GB 50974-2014 6.1.5", "shall",
     "verified"),
    ("cn-gb", "pump_connector_hydrant_band", "max_m", 40.0, "GB 50974-2014 6.1.5", "shall",
     "verified"),
    ("cn-gb", "hydrants_firefighting_side", "min_count", 2.0, "GB 50974-2014 7.3.3", "should",
     "verified"),
    ("cn-gb", "hydrant_no_parking", "value_m", 5.0, "GB 55037-2022 12.0.1", "shall", "verified"),
    ("cn-gb", "fire_duration", "civil_h", 2.0, "GB 50974-2014 3.6.2", "shall", "unverified"),
    ("cn-gb", "fire_duration", "important_h", 3.0, "GB 50974-2014 3.6.2", "shall", "unverified"),
    # buildings, GB 50016-2014 5.1.1
    ("cn-gb", "high_rise_residential", "value_m", 27.0, "GB 50016-2014 (2018 ed.) 5.1.1", "shall",
     "verified"),
    ("cn-gb", "high_rise_residential_class1", "value_m", 54.0, "GB 50016-2014 (2018 ed.) 5.1.1",
     "shall", "verified"),
    ("cn-gb", "high_rise_public", "value_m", 24.0, "GB 50016-2014 (2018 ed.) 5.1.1", "shall",
     "verified"),
    ("cn-gb", "high_rise_public_class1", "value_m", 50.0, "GB 50016-2014 (2018 ed.) 5.1.1",
     "shall", "verified"),
    ("cn-gb", "building_metres_per_level", "value_m", 3.0, "FireReach setting", "should",
     "unverified"),
    # fire lanes, GB 50016 7.1.x / GB 55037 3.4.x
    ("cn-gb", "fire_lane_width", "value_m", 4.0, "GB 55037-2022 3.4.5", "shall", "verified"),
    ("cn-gb", "fire_lane_height", "value_m", 4.0, "GB 50016-2014 7.1.8", "shall", "verified"),
    ("cn-gb", "fire_lane_slope", "value_pct", 10.0, "GB 55037-2022 3.4.5", "shall", "secondary"),
    ("cn-gb", "fire_lane_slope_should", "value_pct", 8.0, "GB 50016-2014 7.1.8", "should",
     "secondary"),
    ("cn-gb", "fire_lane_wall_distance", "value_m", 5.0, "GB 50016-2014 7.1.8", "should",
     "verified"),
    ("cn-gb", "fire_lane_dead_end", "value_m", 40.0, "GB 55037-2022 3.4.5", "shall", "secondary"),
    ("cn-gb", "fire_lane_turnaround", "standard_m", 12.0, "GB 50016-2014 7.1.9", "shall",
     "verified"),
    ("cn-gb", "fire_lane_turnaround", "high_rise_m", 15.0, "GB 50016-2014 7.1.9", "shall",
     "verified"),
    ("cn-gb", "fire_lane_turnaround", "heavy_m", 18.0, "GB 50016-2014 7.1.9", "shall", "verified"),
    ("cn-gb", "fire_lane_ring_connections", "min_count", 2.0, "GB 50016-2014 7.1.9", "shall",
     "verified"),
    ("cn-gb", "fire_lane_turning_radius", "pumper_m", 9.0, "条文说明", "should", "secondary"),
    ("cn-gb", "fire_lane_turning_radius", "aerial_m", 12.0, "条文说明", "should", "secondary"),
    ("cn-gb", "fire_lane_turning_radius", "heavy_m", 16.0, "条文说明", "should", "secondary"),
    ("cn-gb", "fire_lane_turning_radius", "heavy_max_m", 20.0, "条文说明", "should", "secondary"),
    # aerial operating site, GB 50016 7.2.1-7.2.2 / GB 55037 3.4.6-3.4.7
    ("cn-gb", "aerial_site_extent", "perimeter_frac", 0.25, "GB 50016-2014 7.2.1", "shall",
     "verified"),
    ("cn-gb", "aerial_site_podium_depth", "value_m", 4.0, "GB 50016-2014 7.2.1", "shall",
     "verified"),
    ("cn-gb", "aerial_site_gap", "value_m", 30.0, "GB 50016-2014 7.2.1", "should", "verified"),
    ("cn-gb", "aerial_site_gap", "max_height_m", 50.0, "GB 50016-2014 7.2.1", "should",
     "verified"),
    ("cn-gb", "aerial_site_size", "length_m", 15.0, "GB 50016-2014 7.2.2", "shall", "verified"),
    ("cn-gb", "aerial_site_size", "width_m", 10.0, "GB 50016-2014 7.2.2", "shall", "verified"),
    ("cn-gb", "aerial_site_size_tall", "length_m", 20.0, "GB 50016-2014 7.2.2", "shall",
     "verified"),
    ("cn-gb", "aerial_site_size_tall", "width_m", 10.0, "GB 50016-2014 7.2.2", "shall",
     "verified"),
    ("cn-gb", "aerial_site_size_tall", "above_height_m", 50.0, "GB 55037-2022 3.4.7", "shall",
     "verified"),
    ("cn-gb", "aerial_site_facade_min", "value_m", 5.0, "GB 50016-2014 7.2.2", "should",
     "verified"),
    ("cn-gb", "aerial_site_facade_max", "value_m", 10.0, "GB 50016-2014 7.2.2", "shall",
     "verified"),
    ("cn-gb", "aerial_site_slope", "value_pct", 3.0, "GB 50016-2014 7.2.2", "should", "verified"),
    # stations, GB 51080-2015 / 建标152-2017
    ("cn-gb", "station_turnout", "value_s", 60.0, "GB 51080-2015 4.1.3", "shall", "verified"),
    ("cn-gb", "station_travel", "value_s", 240.0, "GB 51080-2015 4.1.3", "shall", "verified"),
    ("cn-gb", "station_response", "value_s", 300.0, "GB 51080-2015 4.1.3", "shall", "verified"),
    ("cn-gb", "station_district_area", "class1_km2", 7.0, "建标152-2017", "should", "verified"),
    ("cn-gb", "station_district_area", "class2_km2", 4.0, "建标152-2017", "should", "verified"),
    ("cn-gb", "station_district_area", "small_km2", 2.0, "建标152-2017", "should", "verified"),
    ("cn-gb", "station_district_area", "suburban_km2", 15.0, "建标152-2017", "should", "verified"),
    # law, 消防法 Art. 60
    ("cn-gb", "law_fines", "unit_min_cny", 5000.0, "第六十条", "shall", "verified"),
    ("cn-gb", "law_fines", "unit_max_cny", 50000.0, "第六十条", "shall", "verified"),
    ("cn-gb", "law_fines", "individual_max_cny", 500.0, "第六十条", "shall", "verified"),
    ("cn-gb", "law_no_parking_public_road", "value_m", 30.0, "第六十三条", "shall", "verified"),
    # US: ISO / IFC / NFPA
    ("us", "hydrant_radius", "value_m", 1000 * FT, "ISO", "should", "secondary"),
    ("us", "hydrant_count_band", "max_m", 1000 * FT, "ISO", "should", "secondary"),
    ("us", "iso_hydrant_credit", "band1_max_m", 300 * FT, "ISO", "should", "secondary"),
    ("us", "iso_hydrant_credit", "band1_lps", 1000 * GPM, "ISO", "should", "secondary"),
    ("us", "iso_hydrant_credit", "band2_max_m", 600 * FT, "ISO", "should", "secondary"),
    ("us", "iso_hydrant_credit", "band2_lps", 670 * GPM, "ISO", "should", "secondary"),
    ("us", "iso_hydrant_credit", "band3_max_m", 1000 * FT, "ISO", "should", "secondary"),
    ("us", "iso_hydrant_credit", "band3_lps", 250 * GPM, "ISO", "should", "secondary"),
    ("us", "hydrant_credit", "min_lps", 250 * GPM, "ISO", "should", "secondary"),
    ("us", "hydrant_credit", "max_lps", 1000 * GPM, "ISO", "should", "secondary"),
    ("us", "ifc_hydrant_distance", "value_m", 400 * FT, "IFC 507.5.1", "shall", "verified"),
    ("us", "ifc_hydrant_distance", "sprinklered_m", 600 * FT, "IFC 507.5.1", "shall", "verified"),
    ("us", "fire_lane_width", "value_m", 20 * FT, "IFC 503.2.1", "shall", "verified"),
    ("us", "fire_lane_height", "value_m", 13 * FT + 6 * IN, "IFC 503.2.1", "shall", "verified"),
    ("us", "fire_lane_dead_end", "value_m", 150 * FT, "IFC 503.2.5", "shall", "verified"),
    ("us", "station_travel", "value_s", 240.0, "NFPA 1710", "shall", "verified"),
    ("us", "station_turnout", "value_s", 80.0, "NFPA 1710", "shall", "secondary"),
    ("us", "station_response", "value_s", 320.0, "NFPA 1710", "shall", "secondary"),
    ("us", "hydrant_spacing", "value_m", 500 * FT, "IFC Appendix C", "should", "unverified"),
    # Germany: DVGW W 405 / W 331, DIN 14090
    ("de", "basic_fire_water", "small_lps", 48 * M3H, "DVGW W 405", "should", "secondary"),
    ("de", "basic_fire_water", "medium_lps", 96 * M3H, "DVGW W 405", "should", "secondary"),
    ("de", "basic_fire_water", "large_lps", 192 * M3H, "DVGW W 405", "should", "secondary"),
    ("de", "basic_fire_water", "duration_h", 2.0, "DVGW W 405", "should", "secondary"),
    ("de", "basic_fire_water", "radius_m", 300.0, "DVGW W 405", "should", "secondary"),
    ("de", "hydrant_radius", "value_m", 300.0, "DVGW W 405", "should", "secondary"),
    ("de", "hydrant_spacing", "value_m", 150.0, "DVGW W 331", "should", "secondary"),
    ("de", "first_water_source", "value_m", 75.0, "DVGW W 405", "should", "secondary"),
    ("de", "fire_duration", "civil_h", 2.0, "DVGW W 405", "should", "secondary"),
    ("de", "fire_lane_width", "value_m", 3.0, "DIN 14090", "shall", "secondary"),
    ("de", "fire_lane_height", "value_m", 3.5, "DIN 14090", "shall", "secondary"),
]


@pytest.mark.parametrize(
    ("preset_name", "rule_id", "key", "value", "clause", "severity", "confidence"),
    RULE_VALUES,
    ids=[f"{r[0]}:{r[1]}.{r[2]}" for r in RULE_VALUES],
)
def test_rule_value(
    presets: dict[str, Preset], preset_name: str, rule_id: str, key: str, value: float,
    clause: str, severity: str, confidence: str,
) -> None:
    rule = presets[preset_name].rule(rule_id)
    assert rule.value(key) == pytest.approx(value, rel=1e-5)
    assert clause in rule.clause
    assert rule.severity == severity
    assert rule.confidence == confidence


@pytest.mark.parametrize(
    ("rule_id", "clause"),
    [
        ("fire_lane_layout", "GB 55037-2022 3.4.3"),
        ("law_fire_lane_obstruction", "第二十八条"),
    ],
)
def test_text_rules(presets: dict[str, Preset], rule_id: str, clause: str) -> None:
    rule = presets["cn-gb"].rule(rule_id)
    assert clause in rule.clause and rule.severity == "shall" and rule.confidence == "verified"


def test_rules_that_fill_gaps_say_why(presets: dict[str, Preset]) -> None:
    """Values a country's source does not give are documented in a note."""
    for name in ("us", "de"):
        for rule in presets[name].rules.values():
            if rule.confidence == "unverified":
                assert rule.note, f"{name}:{rule.id} is unverified but has no note"
    assert "300 m" in presets["de"].rule("hydrant_radius").note


@pytest.mark.parametrize(
    ("preset_name", "kind", "width", "height", "radius", "turnaround"),
    [
        ("cn-gb", "pumper", 4.0, 4.0, 9.0, 12.0),
        ("cn-gb", "aerial", 4.0, 4.0, 12.0, 15.0),
        ("cn-gb", "heavy", 4.0, 4.0, 16.0, 18.0),
        ("us", "pumper", 20 * FT, 13 * FT + 6 * IN, 48 * FT, 96 * FT),
        ("us", "heavy", 20 * FT, 13 * FT + 6 * IN, 50 * FT, 96 * FT),
        ("de", "pumper", 3.0, 3.5, 10.5, 21.0),
    ],
)
def test_apparatus_profile(
    presets: dict[str, Preset], preset_name: str, kind: str, width: float, height: float,
    radius: float, turnaround: float,
) -> None:
    prof = presets[preset_name].profile(kind)
    assert prof.min_width_m == pytest.approx(width, rel=1e-5)
    assert prof.min_height_m == pytest.approx(height, rel=1e-5)
    assert prof.turning_radius_m == pytest.approx(radius, rel=1e-4)
    assert prof.turnaround_m == pytest.approx(turnaround, rel=1e-4)


def test_de_apparatus_is_not_claimed_verified(presets: dict[str, Preset]) -> None:
    for prof in presets["de"].apparatus.values():
        assert prof.confidence in ("secondary", "unverified")
        assert "DIN 14090" in prof.clause


def test_turnaround_apparatus_matches_lane_rule(presets: dict[str, Preset]) -> None:
    cn = presets["cn-gb"]
    lane = cn.rule("fire_lane_turnaround")
    assert cn.profile("pumper").turnaround_m == lane.value("standard_m")
    assert cn.profile("aerial").turnaround_m == lane.value("high_rise_m")
    assert cn.profile("heavy").turnaround_m == lane.value("heavy_m")


def test_us_iso_bands_match_flow_credit(presets: dict[str, Preset]) -> None:
    us = presets["us"]
    iso = us.rule("iso_hydrant_credit")
    expected = tuple(
        (lo, iso.value(f"band{i}_max_m"), iso.value(f"band{i}_lps"))
        for i, lo in zip((1, 2, 3), (0.0, iso.value("band1_max_m"), iso.value("band2_max_m")),
                         strict=True)
    )
    assert us.flow_credit.bands == expected


# ------------------------------------------------------------------------------ fire-flow tables

_BANDS = [(0, 1500), (1500, 3000), (3000, 5000), (5000, 20000), (20000, 50000), (50000, math.inf)]
_N = math.nan
# GB 50974-2014 Table 3.3.2 as widely quoted (unverified): (grade, group) -> flow per volume band.
CN_TABLE: dict[tuple[str, str], list[float]] = {
    ("1-2", "industrial_A_B"): [15, 15, 20, 25, 30, 35],
    ("1-2", "industrial_C"): [15, 15, 20, 25, 30, 40],
    ("1-2", "industrial_D_E"): [15, 15, 15, 15, 15, 20],
    ("1-2", "warehouse_A_B"): [15, 15, 25, 25, _N, _N],
    ("1-2", "warehouse_C"): [15, 15, 25, 25, 35, 45],
    ("1-2", "warehouse_D_E"): [15, 15, 15, 15, 15, 20],
    ("1-2", "civil_residential"): [15, 15, 15, 15, 15, 15],
    ("1-2", "civil_public_single_multi"): [15, 15, 15, 25, 30, 40],
    ("1-2", "civil_public_high_rise"): [_N, _N, _N, 25, 30, 40],
    ("1-2", "underground"): [15, 15, 15, 20, 25, 30],
    ("1-2", "garage"): [15, 15, 15, 15, 15, 15],
    ("3", "industrial_B_C"): [15, 20, 30, 40, 45, _N],
    ("3", "industrial_D_E"): [15, 15, 15, 20, 25, 35],
    ("3", "civil_single_multi"): [15, 15, 20, 25, 30, _N],
    ("4", "industrial_D_E"): [15, 15, 20, 25, _N, _N],
    ("4", "civil_single_multi"): [15, 15, 20, 25, _N, _N],
}
CN_EXPECTED = {
    (grade, group, float(lo), float(hi)): float(v)
    for (grade, group), values in CN_TABLE.items()
    for (lo, hi), v in zip(_BANDS, values, strict=True)
}
US_EXPECTED = {
    ("any", "one_two_family", 0.0, 3600 * FT * FT): 1000 * GPM,
    ("any", "one_two_family", 3600 * FT * FT, math.inf): 1500 * GPM,
    ("any", "other", 0.0, math.inf): 1500 * GPM,
}
_DE_M3H = {
    ("residential_area", 0, 3): (48, 96, 96),
    ("residential_area", 3, math.inf): (96, 96, 192),
    ("commercial_area", 0, 3): (96, 96, 192),
    ("commercial_area", 3, math.inf): (192, 192, 192),
    ("industrial_area", 0, math.inf): (96, 192, 192),
}
DE_EXPECTED = {
    (risk, group, float(lo), float(hi)): flows[i] * M3H
    for (group, lo, hi), flows in _DE_M3H.items()
    for i, risk in enumerate(("small", "medium", "large"))
}


def _csv_rows(filename: str) -> list[dict[str, str]]:
    with (PRESET_DIR / filename).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _band(row: dict[str, str], lo: str, hi: str) -> tuple[float, float]:
    return float(row[lo]), float(row[hi]) if row[hi] else math.inf


def _flow(row: dict[str, str]) -> float:
    return float(row["flow_lps"]) if row["flow_lps"] else math.nan


CN_ROWS = _csv_rows("cn-gb_fire_flow.csv")
US_ROWS = _csv_rows("us_fire_flow.csv")
DE_ROWS = _csv_rows("de_fire_flow.csv")


def _cell_id(row: dict[str, str], lo: str) -> str:
    return f"{row['fire_resistance_grade']}/{row['building_group']}/{row[lo]}"


@pytest.mark.parametrize("row", CN_ROWS, ids=[_cell_id(r, "volume_min_m3") for r in CN_ROWS])
def test_cn_fire_flow_cell(row: dict[str, str]) -> None:
    lo, hi = _band(row, "volume_min_m3", "volume_max_m3")
    expected = CN_EXPECTED[(row["fire_resistance_grade"], row["building_group"], lo, hi)]
    assert _flow(row) == pytest.approx(expected, nan_ok=True)
    assert row["confidence"] == "unverified"
    assert "GB 50974-2014 Table 3.3.2" in row["note"]


def test_cn_fire_flow_table_is_complete() -> None:
    cells = {
        (r["fire_resistance_grade"], r["building_group"],
         *_band(r, "volume_min_m3", "volume_max_m3"))
        for r in CN_ROWS
    }
    assert cells == set(CN_EXPECTED)


@pytest.mark.parametrize("row", US_ROWS, ids=[_cell_id(r, "floor_area_min_m2") for r in US_ROWS])
def test_us_fire_flow_cell(row: dict[str, str]) -> None:
    lo, hi = _band(row, "floor_area_min_m2", "floor_area_max_m2")
    key = (row["fire_resistance_grade"], row["building_group"], lo, hi)
    match = [v for k, v in US_EXPECTED.items()
             if k[:2] == key[:2] and k[2] == pytest.approx(lo, rel=1e-5)
             and k[3] == pytest.approx(hi, rel=1e-5)]
    assert len(match) == 1
    assert _flow(row) == pytest.approx(match[0], rel=1e-5)
    assert row["confidence"] == "unverified"


@pytest.mark.parametrize("row", DE_ROWS, ids=[_cell_id(r, "levels_min") for r in DE_ROWS])
def test_de_fire_flow_cell(row: dict[str, str]) -> None:
    lo, hi = _band(row, "levels_min", "levels_max")
    expected = DE_EXPECTED[(row["fire_resistance_grade"], row["building_group"], lo, hi)]
    assert _flow(row) == pytest.approx(expected, rel=1e-4)
    assert row["confidence"] == "unverified"


@pytest.mark.parametrize("name", BUILTIN_PRESETS)
def test_loaded_table_matches_csv(presets: dict[str, Preset], name: str) -> None:
    rows = {"cn-gb": CN_ROWS, "us": US_ROWS, "de": DE_ROWS}[name]
    table = presets[name].fire_flow
    assert len(table.rows) == len(rows)
    assert np.allclose([r.flow_lps for r in table.rows], [_flow(r) for r in rows], equal_nan=True)
    assert len(table.frame()) == len(rows)


def _buildings(**cols: list[object]) -> pd.DataFrame:
    return pd.DataFrame(cols)


def test_required_fire_flow_cn(presets: dict[str, Preset]) -> None:
    b = _buildings(
        use=["residential", "public", "public", "public", "public", "industrial", "industrial",
             "unknown", "public", "public"],
        high_rise_class=["class1", "not_high_rise", "not_high_rise", "not_high_rise", "class1",
                         "not_high_rise", "class2", "not_high_rise", "class2", "not_high_rise"],
        building=["apartments", "yes", "yes", "school", "office", "warehouse", "industrial", "yes",
                  "yes", "yes"],
        volume_m3=[80000.0, 5000.0, 5000.1, 1500.0, 60000.0, 60000.0, 10000.0, 25000.0, 4000.0,
                   math.nan],
    )
    flow = required_fire_flow(presets["cn-gb"], b)
    expected = [15, 15, 25, 15, 40, 45, 25, 30, math.nan, math.nan]
    assert flow.to_numpy() == pytest.approx(np.array(expected, dtype=float), nan_ok=True)
    basis = fire_flow_lookup(presets["cn-gb"], b)
    assert basis.loc[0, "fire_flow_group"] == "civil_residential"
    assert basis.loc[5, "fire_flow_group"] == "warehouse_C"
    assert "unverified" in basis.loc[0, "fire_flow_basis"]
    assert "'—'" in basis.loc[8, "fire_flow_basis"]
    assert "unknown" in basis.loc[9, "fire_flow_basis"]


def test_required_fire_flow_grade(presets: dict[str, Preset]) -> None:
    b = _buildings(use=["public", "public"], volume_m3=[4000.0, 60000.0],
                   fire_resistance_grade=["3", None])
    assert required_fire_flow(presets["cn-gb"], b).tolist() == [20.0, 40.0]
    assert required_fire_flow(presets["cn-gb"], b.drop(columns="fire_resistance_grade"),
                              grade="4").iloc[0] == 20.0
    with pytest.raises(ConfigError, match="grade '9'"):
        required_fire_flow(presets["cn-gb"], b, grade="9")


def test_required_fire_flow_us_and_de(presets: dict[str, Preset]) -> None:
    b = _buildings(use=["residential", "residential", "public", "public"],
                   building=["house", "house", "yes", "yes"],
                   footprint_m2=[150.0, 150.0, 500.0, 500.0], levels=[2.0, 3.0, math.nan, 4.0])
    us = required_fire_flow(presets["us"], b).to_numpy()
    # 300 m2 <= 3,600 ft2 (334.45 m2); 450 m2 above; 'other' covers every area, even unknown
    assert us == pytest.approx(np.array([1000, 1500, 1500, 1500]) * GPM, rel=1e-5)
    de = required_fire_flow(presets["de"], b).to_numpy()
    assert de == pytest.approx(np.array([96, 96, math.nan, 192]) * M3H, rel=1e-4, nan_ok=True)


def test_required_fire_flow_bad_use(presets: dict[str, Preset]) -> None:
    with pytest.raises(LayerValidationError, match="office"):
        required_fire_flow(presets["cn-gb"], _buildings(use=["office"], volume_m3=[1.0]))
    with pytest.raises(LayerValidationError, match="volume_m3"):
        required_fire_flow(presets["cn-gb"], _buildings(use=["public"]))


# ------------------------------------------------------------------------------ flow credit


def test_credited_flow_by_status(presets: dict[str, Preset]) -> None:
    cn = presets["cn-gb"]
    status = ["in_service", "in_service", "in_service", "low_pressure", "out_of_service",
              "unknown", None]
    flow = [math.nan, 12.0, 30.0, math.nan, 20.0, math.nan, 8.0]
    got = credited_flow(cn, status, flow)
    assert got.tolist() == [15.0, 12.0, 15.0, 5.0, 0.0, 10.0, 8.0]
    assert credit_flags(cn, status).tolist() == [False, False, False, True, False, True, True]


def test_credited_flow_distance_band_cn(presets: dict[str, Preset]) -> None:
    d = [4.9, 5.0, 100.0, 150.0, 150.1]
    got = credited_flow(presets["cn-gb"], ["in_service"] * 5, [math.nan] * 5, distance_m=d)
    assert got.tolist() == [0.0, 15.0, 15.0, 15.0, 0.0]


def test_credited_flow_distance_band_us(presets: dict[str, Preset]) -> None:
    d = np.array([0.0, 300.0, 300.5, 600.0, 601.0, 1000.0, 1000.5]) * FT
    got = credited_flow(presets["us"], ["in_service"] * 7, [math.nan] * 7, distance_m=d)
    assert got == pytest.approx(np.array([1000, 1000, 670, 670, 250, 250, 0]) * GPM, rel=1e-5)


def test_credited_flow_errors(presets: dict[str, Preset]) -> None:
    with pytest.raises(LayerValidationError, match="broken"):
        credited_flow(presets["cn-gb"], ["broken"], [1.0])
    with pytest.raises(LayerValidationError, match="negative"):
        credited_flow(presets["cn-gb"], ["in_service"], [-1.0])
    with pytest.raises(LayerValidationError, match="values"):
        credited_flow(presets["cn-gb"], ["in_service", "unknown"], [1.0])


def test_truck_speed_kmh(presets: dict[str, Preset]) -> None:
    got = truck_speed_kmh(presets["cn-gb"], pd.Series(["primary", "no_such_class", None]))
    default = presets["cn-gb"].speeds_kmh["default"]
    assert got.tolist() == [presets["cn-gb"].speeds_kmh["primary"], default, default]


def test_rule_lookup_errors(presets: dict[str, Preset]) -> None:
    with pytest.raises(ConfigError, match=r"known rule ids: .*hydrant_radius"):
        presets["cn-gb"].rule("no_such_rule")
    with pytest.raises(ConfigError, match="min_lps"):
        presets["cn-gb"].rule("hydrant_credit").value()
    assert presets["cn-gb"].rule("hydrant_radius").value() == 150.0
    with pytest.raises(ConfigError, match="no value 'max_m'"):
        presets["cn-gb"].rule("hydrant_radius").value("max_m")


# ------------------------------------------------------------------------------ user files


_HEADER = (
    "fire_resistance_grade,building_group,volume_min_m3,volume_max_m3,flow_lps,confidence,note\n"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_user_override_extends(tmp_path: Path, presets: dict[str, Preset]) -> None:
    user = _write(tmp_path / "yangpu.toml", """
extends = "cn-gb"
name = "yangpu"

[rules.hydrant_radius]
value_m = 120.0
measure = "straight_line"
note = "district practice"

[rules.district_hydrant_target]
min_count = 3.0
clause = "district plan 2025"
severity = "should"
confidence = "unverified"
title_en = "Hydrants per road section"
title_zh = "每路段消火栓数量"

[flow_credit]
low_pressure_lps = 0.0

[speeds]
residential_kmh = 15.0
""")
    preset = load_preset(user)
    assert preset.name == "yangpu"
    radius = preset.rule("hydrant_radius")
    assert radius.value("value_m") == 120.0 and radius.measure == "straight_line"
    assert radius.clause == "GB 50974-2014 7.2.5"  # kept from cn-gb
    assert radius.source == str(user)
    assert preset.rule("hydrant_spacing").value() == 120.0
    assert preset.rule("hydrant_spacing").source.startswith("geo/presets/cn-gb.toml")
    assert preset.rule("district_hydrant_target").value("min_count") == 3.0
    assert preset.flow_credit.low_pressure_lps == 0.0
    assert preset.flow_credit.in_service_lps == 15.0
    assert preset.speeds_kmh["residential"] == 15.0
    assert preset.speeds_kmh["primary"] == presets["cn-gb"].speeds_kmh["primary"]
    assert preset.files == (str(user), "geo/presets/cn-gb.toml (built-in)")
    assert len(preset.fire_flow.rows) == len(presets["cn-gb"].fire_flow.rows)


def test_user_credit_default_follows_rule(tmp_path: Path) -> None:
    user = _write(tmp_path / "u.toml", """
extends = "cn-gb"
name = "u"
[rules.hydrant_credit]
default_lps = 10.0
""")
    preset = load_preset(user)
    assert preset.flow_credit.in_service_lps == 10.0
    assert credited_flow(preset, ["in_service"], [math.nan]).tolist() == [10.0]


def test_user_chain_and_own_table(tmp_path: Path) -> None:
    _write(tmp_path / "flows.csv", _HEADER + "1-2,all,0,,20,unverified,one value for everything\n")
    _write(tmp_path / "base.toml", """
extends = "us"
name = "base"
[fire_flow]
csv = "flows.csv"
default_grade = "1-2"
[fire_flow.groups]
residential = "all"
public = "all"
industrial = "all"
unknown = "all"
""")
    sub = tmp_path / "sub"
    sub.mkdir()
    top = _write(sub / "top.toml", 'extends = "../base.toml"\nname = "top"\n')
    preset = load_preset(top)
    assert preset.name == "top"
    assert preset.rule("fire_lane_width").value() == pytest.approx(20 * FT)
    assert preset.fire_flow.source == str(tmp_path / "flows.csv")
    b = pd.DataFrame({"use": ["residential"], "volume_m3": [math.nan]})
    assert required_fire_flow(preset, b).tolist() == [20.0]
    assert len(preset.files) == 3


# ------------------------------------------------------------------------------ bad files


def test_unknown_preset_name() -> None:
    with pytest.raises(ConfigError, match="not one of the built-in presets"):
        load_preset("fr")


BAD_FILES = [
    ("negative", '[rules.hydrant_radius]\nvalue_m = -5.0\n',
     r"rules\.hydrant_radius\.value_m is -5.*0 or more"),
    ("foreign unit", '[rules.hydrant_radius]\nvalue_ft = 500.0\n',
     r"rules\.hydrant_radius\.value_ft: wrong unit 'ft'.*0\.3048"),
    ("wrong unit for rule", '[rules.hydrant_radius]\nvalue_lps = 15.0\n',
     r"rules\.hydrant_radius\.value_lps: wrong unit 'lps'; this rule expects value_m"),
    ("unknown unit", '[rules.hydrant_radius]\nvalue_furlong = 1.0\n', r"unknown unit 'furlong'"),
    ("no unit", '[rules.x]\nvalue = 1.0\n', r"rules\.x\.value: a numeric key must end in its unit"),
    ("text as number", '[rules.hydrant_radius]\nvalue_m = "150"\n',
     r"rules\.hydrant_radius\.value_m is '150' \(text\); write the number without quotes"),
    ("bad severity", '[rules.hydrant_radius]\nseverity = "must"\n',
     r"rules\.hydrant_radius\.severity is 'must'; expected one of shall, should"),
    ("bad measure", '[rules.hydrant_radius]\nmeasure = "euclid"\n', r"measure is 'euclid'"),
    ("unknown top key", 'colour = "red"\n', r"unknown top-level key 'colour'"),
    ("new rule without clause",
     '[rules.extra]\nvalue_m = 1.0\nseverity = "shall"\nconfidence = "verified"\n'
     'title_en = "x"\ntitle_zh = "x"\n', r"rules\.extra is missing key 'clause'"),
    ("apparatus zero width", '[apparatus.pumper]\nmin_width_m = 0.0\n',
     r"apparatus\.pumper\.min_width_m is 0.*greater than 0"),
    ("apparatus feet", '[apparatus.pumper]\nmin_width_ft = 20.0\n', r"wrong unit 'ft'"),
    ("speed zero", '[speeds]\nprimary_kmh = 0.0\n', r"speeds\.primary_kmh is 0"),
    ("speed mph", '[speeds]\nprimary_mph = 30.0\n', r"wrong unit 'mph'"),
    ("credit bool", '[flow_credit]\nflag_unknown = "yes"\n',
     r"flag_unknown is 'yes'; expected true"),
    ("credit bands", '[flow_credit]\nband_min_m = [0.0]\n',
     r"band_min_m, band_max_m and band_lps must all be given"),
    ("credit range", '[rules.hydrant_credit]\ndefault_lps = 20.0\n',
     r"default_lps \(20\) must lie between"),
    ("band order", '[rules.hydrant_count_band]\nmin_m = 200.0\n', r"min_m \(200\) is greater"),
    ("missing csv", '[fire_flow]\ncsv = "nowhere.csv"\n', r"csv 'nowhere.csv'.*no such file"),
    ("bad group key", '[fire_flow.groups."1-2"]\nshed = "x"\n', r"unknown building kind 'shed'"),
    ("group not in table", '[fire_flow.groups."1-2"]\nresidential = "castle"\n'
     'public = "x"\nindustrial = "x"\nunknown = "x"\n', r"maps 'residential' to 'castle'"),
    ("default grade", '[fire_flow]\ndefault_grade = "5"\n', r"default_grade '5' is not a grade"),
    ("not toml", "[rules\n", r"is not valid TOML"),
]


@pytest.mark.parametrize(("body", "message"), [b[1:] for b in BAD_FILES],
                         ids=[b[0] for b in BAD_FILES])
def test_bad_user_file(tmp_path: Path, body: str, message: str) -> None:
    path = _write(tmp_path / "bad.toml", 'extends = "cn-gb"\nname = "bad"\n' + body)
    with pytest.raises(ConfigError, match=message) as info:
        load_preset(path)
    assert "bad.toml" in str(info.value)


def test_missing_core_rules_without_extends(tmp_path: Path) -> None:
    path = _write(tmp_path / "alone.toml",
                  'name = "alone"\n[rules.hydrant_radius]\nvalue_m = 1.0\n')
    with pytest.raises(ConfigError, match=r"alone\.toml.*missing rules .*rules\.hydrant_spacing"):
        load_preset(path)


def test_missing_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "noname.toml", 'extends = "cn-gb"\n')
    with pytest.raises(ConfigError, match=r"noname\.toml.*missing key 'name'"):
        load_preset(path)


def test_missing_rule_key_after_merge(tmp_path: Path) -> None:
    """A full copy of a built-in file without one required key."""
    text = (PRESET_DIR / "cn-gb.toml").read_text(encoding="utf-8")
    broken = text.replace("[rules.hydrant_spacing]\nvalue_m = 120.0\n", "[rules.hydrant_spacing]\n")
    assert broken != text
    path = _write(tmp_path / "copy.toml", broken)
    _write(tmp_path / "cn-gb_fire_flow.csv",
           (PRESET_DIR / "cn-gb_fire_flow.csv").read_text(encoding="utf-8"))
    message = r"copy\.toml: rules\.hydrant_spacing is missing key 'value_m'"
    with pytest.raises(ConfigError, match=message):
        load_preset(path)


def test_extends_cycle(tmp_path: Path) -> None:
    _write(tmp_path / "a.toml", 'extends = "b.toml"\nname = "a"\n')
    _write(tmp_path / "b.toml", 'extends = "a.toml"\nname = "b"\n')
    with pytest.raises(ConfigError, match="loops back"):
        load_preset(tmp_path / "a.toml")


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        (_HEADER + "1-2,all,0,,-20,unverified,x\n", r"line 2, column flow_lps: -20 is negative"),
        (_HEADER + "1-2,all,0,,lots,unverified,x\n",
         r"line 2, column flow_lps: 'lots' is not a number"),
        ("fire_resistance_grade,building_group,volume_min_m3,volume_max_m3,flow_lps,note\n"
         "1-2,all,0,,20,x\n", r"missing columns confidence"),
        ("fire_resistance_grade,building_group,flow_lps,confidence,note\n1-2,all,20,unverified,x\n",
         r"needs exactly one pair of band columns"),
        (_HEADER + "1-2,all,0,,20,sure,x\n", r"column confidence is 'sure'"),
    ],
)
def test_bad_fire_flow_csv(tmp_path: Path, csv_text: str, message: str) -> None:
    _write(tmp_path / "t.csv", csv_text)
    path = _write(tmp_path / "p.toml", """
extends = "cn-gb"
name = "p"
[fire_flow]
csv = "t.csv"
default_grade = "1-2"
[fire_flow.groups]
residential = "all"
public = "all"
industrial = "all"
unknown = "all"
""")
    with pytest.raises(ConfigError, match=message) as info:
        load_preset(path)
    assert "t.csv" in str(info.value)


# ------------------------------------------------------------------------------ status and roads


@pytest.mark.parametrize("name", ["cn-gb", "us", "de"])
def test_builtin_status_rule_and_coverage_roads(name: str, presets: dict[str, Preset]) -> None:
    p = presets[name]
    assert p.hydrant_status.missing == "in_service" and p.hydrant_status.reason
    assert p.coverage_roads.exclude_highway == ("motorway", "motorway_link")
    assert p.coverage_roads.exclude_motorroad is True and p.coverage_roads.reason


def test_user_status_rule_and_coverage_roads(tmp_path: Path) -> None:
    user = _write(tmp_path / "strict.toml", """
extends = "cn-gb"
name = "strict"
[hydrant_status]
missing = "unknown"
reason = "count only hydrants with a recorded status"
[coverage]
exclude_highway = []
""")
    p = load_preset(user)
    assert p.hydrant_status.missing == "unknown"
    assert p.hydrant_status.reason == "count only hydrants with a recorded status"
    assert p.coverage_roads.exclude_highway == ()
    assert p.coverage_roads.exclude_motorroad is True  # kept from cn-gb


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[hydrant_status]\nmissing = "broken"', r"hydrant_status\.missing is 'broken'; expected one of"),
        ('[hydrant_status]\nmissing = 1', r"hydrant_status\.missing is 1"),
        ('[hydrant_status]\ndefault = "in_service"', r"hydrant_status\.default: unknown key"),
        ('[coverage]\nexclude_motorroad = "yes"', r"coverage\.exclude_motorroad is 'yes'; expected true"),
        ('[coverage]\nexclude_highway = "motorway"', r"coverage\.exclude_highway must be a list"),
        ('[coverage]\nreason = 3', r"coverage\.reason must be text"),
        ('hydrant_status = "in_service"', r"hydrant_status must be a table"),
    ],
)
def test_bad_status_rule_or_coverage_roads(tmp_path: Path, text: str, match: str) -> None:
    user = _write(tmp_path / "bad.toml", f'extends = "cn-gb"\nname = "bad"\n{text}\n')
    with pytest.raises(ConfigError, match=match):
        load_preset(user)

"""The summary as people read it (:mod:`reports.summary`): raw quantities in, rounded figures out."""

from __future__ import annotations

from reports.summary import PRESENTED, present_summary


def test_raw_figures_become_km_and_percent_in_place() -> None:
    raw = {
        "coverage": {"radius_m": 150.0, "road_m": 1300.0, "covered_m": 900.0, "uncovered_m": 400.0,
                     "covered_share": 900.0 / 1300.0, "excluded_m": 0.0, "hydrants_used": 3},
        "stations": {"limit_s": 300.0, "roads_within_limit_share": 1.0 / 3.0,
                     "buildings_within_limit_share": None},
        "siting": {"proposed": 2, "cost_cny": 24_999.996, "added_covered_m": 1234.5678},
        "findings": {"total": 4},
    }
    shown = present_summary(raw)
    cov = shown["coverage"]
    # 1,300 m = 1.3 km; 900 / 1,300 = 69.2307… % -> 69.23; positions kept, other keys untouched
    assert list(cov) == ["radius_m", "road_km", "covered_km", "uncovered_km", "covered_pct",
                         "excluded_km", "hydrants_used"]
    assert (cov["road_km"], cov["covered_km"], cov["uncovered_km"]) == (1.3, 0.9, 0.4)
    assert cov["covered_pct"] == 69.23 and cov["excluded_km"] == 0.0 and cov["hydrants_used"] == 3
    st = shown["stations"]
    assert st["roads_within_limit_pct"] == 33.33  # 1/3 = 33.333… %
    assert st["buildings_within_limit_pct"] is None  # not computed stays not computed, never 0
    assert shown["siting"] == {"proposed": 2, "cost_cny": 25_000.0, "added_covered_km": 1.235}
    assert shown["findings"] == {"total": 4}
    assert raw["coverage"]["covered_m"] == 900.0  # the analysis' own summary is not changed


def test_every_presented_name_is_distinct_per_section() -> None:
    for section, rules in PRESENTED.items():
        names = [name for name, _, _ in rules.values()]
        assert len(names) == len(set(names)), section

"""The summary as people read it (:mod:`reports.present`): raw quantities in, rounded figures out."""

from __future__ import annotations

import numpy as np

from reports.present import PRESENTED, present_scenario, present_summary


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


def test_a_scenario_is_presented_by_place_in_the_answer() -> None:
    raw = {
        "coverage": {"road_m": 1100.0, "covered_m_before": 550.0, "covered_m_after": 250.0,
                     "change_m": -300.0, "covered_share_before": 0.5, "covered_share_after": 250 / 1100,
                     "edges": [{"edge_id": 7, "length_m": 300.04, "covered_m_before": 250.06,
                                "covered_m_after": float("nan")}]},
        "blockages": [{"index": 0, "lon": 121.473701234, "lat": 31.23, "offset_m": 3.14159,
                       "edge_width_m": float("nan"), "remaining_width_m": 4.0}],
        "response": {"limit_s": 300.0, "max_delay_s": 12.345, "median_delay_s": 0.0,
                     "buildings": [{"building_id": "b1", "delay_s": None, "response_s_after": np.inf}]},
    }
    doc = present_scenario(raw)
    cov = doc["coverage"]
    # the totals in km (550 m = 0.55 km), the shares in % (250 / 1,100 = 22.727… % -> 22.73) …
    assert (cov["road_km"], cov["covered_km_before"], cov["covered_km_after"]) == (1.1, 0.55, 0.25)
    assert cov["change_km"] == -0.3 and cov["covered_pct_before"] == 50.0
    assert cov["covered_pct_after"] == 22.73
    # … while an edge's own lengths stay in metres under the same names, to the decimetre
    assert cov["edges"] == [{"edge_id": 7, "length_m": 300.0, "covered_m_before": 250.1,
                             "covered_m_after": None}]
    report = doc["blockages"][0]
    assert report["lon"] == 121.4737012 and report["offset_m"] == 3.14 and report["edge_width_m"] is None
    assert doc["response"]["max_delay_s"] == 12.3 and doc["response"]["limit_s"] == 300.0
    assert doc["response"]["buildings"] == [{"building_id": "b1", "delay_s": None, "response_s_after": None}]

"""The whole analysis on the embedded default and the real extracts in ../shared/data."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import connected_components

from geo.layers import LayerOptions, build_layers
from geo.osm import read_osm
from geo.presets import load_preset
from routing.analysis import BLOCKAGE_LAYERS, AnalysisOptions, analyze, rank_blockages
from tests.conftest import FIXTURES, shared_file

CN = load_preset("cn-gb")


@pytest.fixture(scope="module")
def helsinki(helsinki_pbf: Path):  # type: ignore[no-untyped-def]
    return build_layers(read_osm(helsinki_pbf))


def test_helsinki_default(helsinki) -> None:  # type: ignore[no-untyped-def]
    result = analyze(helsinki, preset=CN)
    s = result.summary
    assert s["coverage"]["hydrants_used"] == 37
    assert 0.2 < s["coverage"]["covered_share"] < 0.8
    roads = result.layers["roads_analysis"]
    assert roads["covered_m"].sum() == pytest.approx(s["coverage"]["covered_m"], abs=1e-6)
    # every finding names its rule, clause, severity and confidence
    f = result.findings
    assert len(f) > 0 and f[["rule_id", "clause", "severity", "confidence"]].notna().all().all()
    # one station: every reachable road has it as first due
    first = roads.loc[np.isfinite(roads["response_s"]), "first_due_station"]
    assert set(first) == set(helsinki.stations["station_id"])


def test_hydrant_out_of_service_only_removes_its_own_coverage(helsinki) -> None:  # type: ignore[no-untyped-def]
    base = analyze(helsinki, preset=CN)
    hyd = helsinki.hydrants.copy()
    hyd.loc[0, "status"] = "out_of_service"
    changed = analyze(helsinki.__class__(**{**helsinki.__dict__, "hydrants": hyd}), preset=CN)
    before = base.layers["roads_analysis"]["covered_m"].to_numpy()
    after = changed.layers["roads_analysis"]["covered_m"].to_numpy()
    assert (after <= before + 1e-9).all()
    lost = before - after
    assert lost.sum() > 0
    # only edges within the radius of that hydrant can lose coverage
    h = helsinki.hydrants.geometry.iloc[0]
    far = helsinki.roads.geometry.distance(h).to_numpy() > CN.rule("hydrant_radius").value("value_m")
    assert np.all(lost[far] < 1e-9)


def test_straight_line_covers_at_least_network(helsinki) -> None:  # type: ignore[no-untyped-def]
    net = analyze(helsinki, preset=CN).summary["coverage"]["covered_m"]
    straight = analyze(helsinki, preset=CN, options=AnalysisOptions(coverage_method="straight"))
    assert straight.summary["coverage"]["covered_m"] >= net - 1e-3


def test_tiny_fixture_locked_gate_cuts_trucks_not_hoses() -> None:
    layers = build_layers(read_osm(FIXTURES / "tiny_compound.osm"))
    result = analyze(layers, preset=CN)
    roads = result.layers["roads_analysis"].set_index(["u", "v"])
    # the locked private gate (node 5) closes both halves of the compound fire lane
    assert roads.loc[(2, 5), "truck_blocked_by"] == "barrier"
    assert roads.loc[(5, 4), "truck_blocked_by"] == "barrier"
    # the bollard (node 12) closes the service road on both sides
    assert roads.loc[(3, 12), "truck_blocked_by"] == "barrier"
    # hose-lay coverage ignores the truck barrier: the hydrant on 四平路 still covers the start
    # of the fire lane (closed to trucks) from node 2
    assert roads.loc[(2, 5), "covered_m"] > 0
    assert not roads.loc[(2, 5), "truck_passable"]


@pytest.mark.shared
def test_bayreuth_seven_stations_first_due() -> None:
    layers = build_layers(read_osm(shared_file("osm/bayreuth-north.osm.gz")))
    result = analyze(layers, preset=load_preset("de"))
    s = result.summary["stations"]
    # the extract maps 7 fire stations, 1.6 km apart at the closest: none merged, every one
    # snapped to a passable road, each first due somewhere, one first-due area each
    assert len(layers.stations) == 7 and s["used"] == 7
    roads = result.layers["roads_analysis"]
    assert roads["first_due_station"].replace("", np.nan).dropna().nunique() == 7
    areas = result.layers["station_areas"]
    assert len(areas) == 7 and sorted(areas["station_id"]) == sorted(layers.stations["station_id"])
    assert areas["area_km2"].sum() > 10  # a large rural area shared out between stations
    assert 0 < s["roads_within_limit_share"] <= 1


@pytest.mark.shared
def test_yangpu_gates_locked_scenario() -> None:
    layers = build_layers(read_osm(shared_file("osm/shanghai-yangpu-tongji.osm")),
                          options=LayerOptions(crs="EPSG:4549"))
    normal = analyze(layers, preset=CN)
    locked = analyze(layers, preset=CN, options=AnalysisOptions(gates_locked=True))
    n_ok = normal.layers["roads_analysis"]["truck_passable"].sum()
    n_locked = locked.layers["roads_analysis"]["truck_passable"].sum()
    assert n_locked < n_ok  # locking the campus gates closes compound roads
    # no hydrants are mapped in the extract: the hydrant data is missing, so coverage is not
    # computed (null, never a confident 0 %), no water finding is raised, nothing is sited
    s = normal.summary
    assert len(layers.hydrants) == 0
    assert s["coverage"]["covered_share"] is None and s["coverage"]["basis"] == "no_hydrant_data"
    assert s["buildings"]["without_hydrant_in_range"] is None
    assert s["siting"]["proposed"] is None
    assert s["quality"]["hydrants"]["level"] == "missing"
    assert [w["code"] for w in s["quality"]["warnings"]][:1] == ["no_hydrants"]
    assert not normal.findings["layer"].isin(["underserved_segments", "spacing_gaps"]).any()


@pytest.mark.shared
def test_shanghai_central_fragmented() -> None:
    layers = build_layers(read_osm(shared_file("osm/shanghai-central-roads.osm")))
    result = analyze(layers, preset=CN)
    # osmnx's drive graph of this extract: largest weak component 563 of 777 nodes. Ours keeps
    # service roads and compound lanes: 782 nodes in 76 pieces, the largest 631 nodes
    n, labels = connected_components(result.graph.hose, directed=False)
    assert (result.graph.n_nodes, n, int(np.bincount(labels).max())) == (782, 76, 631)
    assert result.summary["coverage"]["road_m"] == pytest.approx(101_952.0, abs=1.0)


def test_blockage_reports_ranked_with_rules(helsinki) -> None:  # type: ignore[no-untyped-def]
    from geo.agency import read_agency_table

    read = read_agency_table(FIXTURES / "blockages_helsinki.csv", layer="blockages")
    reports = read.points.to_crs(helsinki.crs)
    result = analyze(helsinki, preset=CN, blockages=reports)
    ranked = result.layers["blockages_ranked"]
    assert len(ranked) == 13 and result.summary["blockages"]["total"] == 13
    assert ranked.set_index("blockage_id").loc["HEL-B099", "effect"] == "rejected"
    open_ = ranked.loc[ranked["open"] & (ranked["effect"] != "rejected")]
    assert open_["rank"].notna().all() and sorted(open_["rank"]) == list(range(1, len(open_) + 1))
    assert open_["rule_ids"].str.contains("law_fire_lane_obstruction").all()
    closed = ranked.loc[~ranked["open"]]
    assert closed["rank"].isna().all()
    # US rules have no 消防法: only the width rule is cited, for blocking reports
    us = analyze(helsinki, preset=load_preset("us"), blockages=reports).layers["blockages_ranked"]
    assert not us["rule_ids"].str.contains("law_").any()
    assert (us.loc[us["effect"] == "full", "rule_ids"] == "fire_lane_width").all()


def test_ranking_again_equals_a_full_run(helsinki) -> None:  # type: ignore[no-untyped-def]
    """rank_blockages on a run without reports gives what analyze with the reports gives."""
    from geo.agency import read_agency_table

    reports = read_agency_table(FIXTURES / "blockages_helsinki.csv", layer="blockages").points
    full = analyze(helsinki, preset=CN, options=AnalysisOptions(siting=False), blockages=reports)
    bare = analyze(helsinki, preset=CN, options=AnalysisOptions(siting=False))
    again = rank_blockages(bare, reports, preset=CN)
    assert list(again.layers) == list(full.layers)
    for name in BLOCKAGE_LAYERS:
        pd.testing.assert_frame_equal(again.layers[name], full.layers[name])
    pd.testing.assert_frame_equal(again.findings, full.findings)
    assert again.summary == full.summary
    assert bare.summary["blockages"]["total"] == 0 and full.summary["blockages"]["total"] == 13
    assert again.summary["findings"]["total"] > bare.summary["findings"]["total"]
    # the input is not modified; ranking no reports again gives the bare run back
    assert "HEL-B001" not in set(bare.findings["feature_id"])
    back = rank_blockages(full, None, preset=CN)
    pd.testing.assert_frame_equal(back.findings, bare.findings)
    assert back.summary == bare.summary


def test_siting_budget_and_k(helsinki) -> None:  # type: ignore[no-untyped-def]
    k3 = analyze(helsinki, preset=CN, options=AnalysisOptions(new_hydrants=3)).summary["siting"]
    k6 = analyze(helsinki, preset=CN, options=AnalysisOptions(new_hydrants=6)).summary["siting"]
    assert k3["proposed"] == 3 and k6["proposed"] == 6
    assert k3["added_covered_m"] < k6["added_covered_m"]
    budget = analyze(helsinki, preset=CN, options=AnalysisOptions(budget_cny=50_000)).summary["siting"]
    assert budget["cost_cny"] <= 50_000


def test_pump_connector_band_on_tiny_fixture() -> None:
    layers = build_layers(read_osm(FIXTURES / "tiny_compound.osm"))
    conn = layers.pump_connectors
    assert list(conn["name"]) == ["SBJHQ-1"] and conn["building_id"].iloc[0] == "osm/w20"
    result = analyze(layers, preset=CN, options=AnalysisOptions(siting=False))
    row = result.layers["pump_connectors_analysis"].iloc[0]
    # connector ~67 m north of 四平路; the only hydrant (node 6) stands 11 m south of it:
    # hose-lay ~ 67 + 9 + 11 m > 40 m, so no hydrant feeds the connector (GB 50974 6.1.5)
    assert row["hydrants_in_range"] == 0
    f = result.findings
    hit = f.loc[(f["layer"] == "pump_connectors") & (f["rule_id"] == "pump_connector_hydrant_band")]
    assert len(hit) == 1 and hit["clause"].iloc[0].startswith("GB 50974")
    # nor any 15–40 m away (GB 50974 5.4.7); that finding is not raised on top of 6.1.5's
    assert row["hydrants_15_40m"] == 0
    assert not (f["rule_id"] == "pump_connector_hydrant_distance").any()
    # the 80 m tower (osm/w20) has the connector; the 10-storey block (30 m, use unknown, held
    # to the public rule: class 2) has none: GB 50974 5.4.1
    b = result.layers["buildings_analysis"].set_index("building_id")
    assert b.loc["osm/w20", "pump_connectors"] == 1 and b.loc["osm/w21", "pump_connectors"] == 0
    miss = f.loc[f["rule_id"] == "pump_connector_required"]
    assert miss["feature_id"].tolist() == ["osm/w21"] and miss["layer"].tolist() == ["buildings"]
    assert result.summary["pump_connectors"] == {
        "total": 1, "without_hydrant_in_band": 1, "hydrant_distance_not_met": 1,
        "missing_for_high_rise": 1}
    # GB 50016 8.2.1: the 80 m apartments need indoor hydrants; the block's use is not known
    assert b.loc["osm/w20", "indoor_hydrants_required"] is True
    assert b.loc["osm/w21", "indoor_hydrants_required"] is None
    assert result.summary["buildings"]["over_21m_residential"] == 1
    assert result.summary["buildings"]["indoor_system_missing"] is None  # no registry


def test_flags_when_no_building_has_a_finding() -> None:
    """No building finding at all must not trip pandas' fill-value warning (errors here)."""
    from routing.analysis import building_flags
    from routing.findings import FINDING_COLUMNS

    buildings = pd.DataFrame({"building_id": ["osm/w1", "osm/w2"]})
    none = pd.DataFrame(columns=FINDING_COLUMNS)
    assert building_flags(buildings, none).tolist() == ["", ""]
    found = pd.DataFrame({"layer": ["buildings", "buildings", "roads"], "feature_id": ["osm/w1"] * 3,
                          "rule_id": ["b", "a", "c"]})
    assert building_flags(buildings, found).tolist() == ["a;b", ""]


def test_budget_curve_is_the_proposal_on_paper() -> None:
    """The 600 m street of test_siting.py with one hydrant at 0 m (radius 150 m): 450 m uncovered,
    counted in 50 m demand segments wholly within reach. Covering all of it takes two new hydrants;
    the cover MIP picks the sites at 475 m (id 6: segments 350..600, 5 x 50 = 250 m) and 225 m
    (id 1: 150..350, 4 x 50 = 200 m). A greedy over every site would start at 275 m (id 2) instead:
    another plan. The curve must be the proposal, built in order of gain per yuan: 250 m, then 200 m."""
    from routing.analysis import _siting
    from tests.routing.test_siting import R, street_600

    graph, cov = street_600()
    siting = _siting(graph, cov, None, AnalysisOptions(), R)  # type: ignore[arg-type]
    assert siting is not None
    result, curve = siting
    assert result.chosen["candidate_id"].tolist() == [6, 1] == curve["candidate_id"].tolist()
    assert result.chosen["order"].tolist() == [1, 2] == curve["order"].tolist()
    assert curve["marginal_m"].tolist() == pytest.approx([250.0, 200.0])
    assert curve["cumulative_m"].tolist() == pytest.approx([250.0, 450.0])  # 250 + 200
    assert curve["cumulative_cost_cny"].tolist() == [15_000, 30_000]  # CNY 15,000 a hydrant
    assert curve["cny_per_m"].tolist() == pytest.approx([60.0, 75.0])  # 15,000 / 250, 15,000 / 200


@pytest.mark.parametrize("options", [AnalysisOptions(), AnalysisOptions(new_hydrants=12)],
                         ids=["cover_all", "k12"])
def test_budget_curve_is_the_proposal(helsinki, options: AnalysisOptions) -> None:  # type: ignore[no-untyped-def]
    """One plan: the curve's rows are the proposed hydrants, same ids in the same build order, each
    adding no more per yuan than the one before (greedy order over a submodular gain)."""
    result = analyze(helsinki, preset=CN, options=options)
    proposed, curve = result.layers["proposed_hydrants"], result.layers["budget_curve"]
    assert len(curve) == result.summary["siting"]["proposed"] == len(proposed) > 1
    assert curve["candidate_id"].tolist() == proposed["candidate_id"].tolist()
    assert curve["order"].tolist() == proposed["order"].tolist() == list(range(1, len(curve) + 1))
    per_yuan = (curve["marginal_weight"] / curve["cost_cny"]).to_numpy()
    assert (np.diff(per_yuan) <= 1e-9).all()
    np.testing.assert_allclose(curve["cumulative_m"], np.cumsum(curve["marginal_m"]))
    np.testing.assert_allclose(curve["cumulative_cost_cny"], np.cumsum(proposed["cost_cny"]))
    assert curve["cumulative_m"].iloc[-1] == pytest.approx(
        result.summary["siting"]["added_covered_m"], abs=1e-6)


def test_no_building_is_not_zero_percent_within_the_limit() -> None:
    # the tiny compound with its fire station and without its buildings: the share of buildings
    # reached within the limit has no denominator, so it is not computed (None), not 0 %
    layers = build_layers(read_osm(FIXTURES / "tiny_compound.osm"))
    assert len(layers.stations) >= 1
    layers = dataclasses.replace(layers, buildings=layers.buildings.iloc[:0])
    s = analyze(layers, preset=CN).summary["stations"]
    assert s["used"] >= 1 and s["buildings_within_limit_share"] is None
    assert s["roads_within_limit_share"] is not None and 0 < s["roads_within_limit_share"] <= 1

"""firereach analyze with water mains: the branch rule end to end on the tiny fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
import wntr
from typer.testing import CliRunner

from api.cli import app
from api.settings import Settings
from api.store import HydrantState, utc_now
from api.workspace import hydrants_with_states, load_workspace
from geo.mains import read_stored_mains
from reports.xlsx import overview_frame
from routing.live import recompute_area

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures"
runner = CliRunner()


def _run(out: Path, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, [
        "analyze", "--osm", str(FIXTURES / "tiny_compound.osm"),
        "--hydrants", str(FIXTURES / "hydrants_on_mains.csv"), "--no-siting", "--no-reports",
        "--quiet", "--out", str(out), *extra,
    ])
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return summary


def test_branch_rule_end_to_end(tmp_path: Path) -> None:
    points = _run(tmp_path / "points")
    mains = _run(tmp_path / "mains", "--mains", str(FIXTURES / "mains_tiny.csv"),
                 "--supply", str(FIXTURES / "supply_tiny.csv"))
    assert points["water"] == {"model": "points", "mains": None}
    water = mains["water"]
    assert isinstance(water, dict) and water["model"] == "branch_rule"
    # M1 only: 285 m; 5 bad pipes rejected; H1 (by 管线编号), H2 and osm/6 (nearest, 2 m and
    # 14 m) on M1, osm/42 (about 200 m away) unlinked
    assert water["mains"]["pipes"] == 1 and water["mains"]["km"] == pytest.approx(0.285, abs=0.002)
    assert water["mains"]["rejected_pipes"] == 5 and water["mains"]["supply_points"] == 1
    assert water["mains"]["hydrants_linked"] == 3 and water["mains"]["hydrants_unlinked"] == 1
    assert "1 hydrant(s) stand on no known main" in water["note"]

    def credited(out: Path) -> dict[str, float]:
        b = pyogrio.read_dataframe(out / "layers.gpkg", layer="buildings_analysis")
        return dict(zip(b["building_id"], b["credited_flow_lps"], strict=True))

    # osm/w20 has H1 and H2 in range (15 L/s each): points 30, the branch rule one hydrant: 15
    assert credited(tmp_path / "points")["osm/w20"] == 30
    assert credited(tmp_path / "mains")["osm/w20"] == 15
    gpkg = tmp_path / "mains" / "layers.gpkg"
    hyd = pyogrio.read_dataframe(gpkg, layer="hydrants_analysis").set_index("hydrant_id")
    assert hyd.loc["H1", "main_link"] == "id" and hyd.loc["H2", "main_link"] == "nearest"
    assert hyd.loc["H1", "main_dn_mm"] == 150 and hyd.loc["osm/42", "main_link"] == "none"
    assert hyd["main_distance_m"].isna().sum() == 1  # unlinked: not 0
    rejects = (tmp_path / "mains" / "rejects.csv").read_text(encoding="utf-8-sig")
    assert rejects.count("mains_tiny.csv") == 5
    # the workspace keeps the mains: a served analysis uses them
    stored = read_stored_mains(gpkg)
    assert stored is not None and list(stored.mains["pipe_id"]) == ["M1"]
    assert stored.hydrant_pipes == {"H1": "M1"}


def test_network_needs_its_crs(tmp_path: Path) -> None:
    net1 = Path(wntr.__file__).parent / "library" / "networks" / "Net1.inp"
    result = runner.invoke(app, [
        "analyze", "--osm", str(FIXTURES / "tiny_compound.osm"), "--network", str(net1),
        "--no-siting", "--no-reports", "--quiet", "--out", str(tmp_path / "x"),
    ])
    assert result.exit_code == 2 and "--network-crs" in result.output


def test_siting_costs_the_pipe_to_the_mains(tmp_path: Path) -> None:
    out = tmp_path / "sited"
    result = runner.invoke(app, [
        "analyze", "--osm", str(FIXTURES / "tiny_compound.osm"),
        "--hydrants", str(FIXTURES / "hydrants_on_mains.csv"), "--mains",
        str(FIXTURES / "mains_tiny.csv"), "--supply", str(FIXTURES / "supply_tiny.csv"),
        "--new-hydrants", "1", "--no-reports", "--quiet", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    proposed = pyogrio.read_dataframe(out / "layers.gpkg", layer="proposed_hydrants")
    # the proposed site's pipe is its straight distance to M1 (the only main): > 0, finite
    assert len(proposed) == 1
    assert proposed["pipe_m"].iat[0] == pytest.approx(proposed["main_distance_m"].iat[0])
    assert proposed["pipe_m"].iat[0] > 0


def test_overview_names_the_water_model() -> None:
    for model, words in (("points", "each hydrant credited alone"), ("branch_rule", "GB 50974")):
        frame = overview_frame({"water": {"model": model}}, pd.DataFrame(), None, lang="en")
        row = frame.loc[frame["key"] == "water.model"]
        assert len(row) == 1 and words in str(row["value"].iat[0])


def test_demo_shows_the_branch_rule(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert runner.invoke(app, ["demo", "--out", str(out)]).exit_code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    water = summary["water"]
    # the mains are listed among the inputs, flagged as invented (a warning on every report)
    mains = summary["quality"]["mains"]
    assert mains["held"]["total"] == 44 and mains["level"] == "partial"
    assert any("invented" in n for n in mains["notes"])
    assert any(w.get("label") == "mains_invented" for w in summary["quality"]["warnings"])
    # the invented demo pipes join all 37 OSM hydrants of the extract: every one is linked
    assert water["model"] == "branch_rule" and water["mains"]["pipes"] == 44
    assert water["mains"]["hydrants_unlinked"] == 0 and water["mains"]["branch_groups"] > 0
    pairs = pyogrio.read_dataframe(out / "layers.gpkg", layer="building_hydrants", read_geometry=False)
    assert pairs["branch_capped"].any()  # some building lost a second hydrant on one branch


def test_served_workspace_keeps_the_branch_rule(tmp_path: Path) -> None:
    out = tmp_path / "ws"
    _run(out, "--mains", str(FIXTURES / "mains_tiny.csv"), "--supply", str(FIXTURES / "supply_tiny.csv"))
    ws = load_workspace(Settings(workspace=out))
    assert ws.analysis.summary["water"]["model"] == "branch_rule"
    buildings = ws.analysis.layers["buildings_analysis"].set_index("building_id")
    assert buildings.loc["osm/w20", "credited_flow_lps"] == 15  # as analysed: one branch, one credit
    hyd = ws.analysis.layers["hydrants_analysis"].set_index("hydrant_id")
    assert hyd.loc["H1", "main_link"] == "id"  # the file's 管线编号, kept in the workspace


def test_live_update_keeps_the_branch_rule(tmp_path: Path) -> None:
    # H2 goes out of service (osm/w20: H1 alone, 15 L/s), then back in: with the branch rule the
    # recomputed building is credited one hydrant (15), not H1 + H2 (30) as the point model would
    out = tmp_path / "ws"
    _run(out, "--mains", str(FIXTURES / "mains_tiny.csv"), "--supply", str(FIXTURES / "supply_tiny.csv"))
    ws = load_workspace(Settings(workspace=out))
    layers, analysis = ws.layers, ws.analysis
    for event, status in enumerate(("out_of_service", "in_service"), start=1):
        state = HydrantState(hydrant_id="H2", status=status, observed_at=utc_now(), event_id=event,
                             pressure_mpa=None)
        hydrants, rows, _ = hydrants_with_states(layers.hydrants, {"H2": state})
        layers, analysis, update = recompute_area(layers, analysis, hydrants, preset=ws.preset,
                                                  options=ws.options, changed=rows)
        assert len(update.status_changed) == 1
        buildings = analysis.layers["buildings_analysis"].set_index("building_id")
        assert buildings.loc["osm/w20", "credited_flow_lps"] == 15
        # the recomputed pairs keep the branch rule's columns (a what-if re-caps from them)
        pairs = analysis.layers["building_hydrants"]
        for column in ("branch_group", "branch_capped", "uncapped_lps"):
            assert pairs[column].notna().all(), column

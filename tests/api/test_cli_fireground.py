"""``firereach fireground`` on the hand-drawn workspace of tests/routing/test_scenario.py:
West St 0–300 m and East St 300–600 m along y = 0, H1 at x = 100 and H2 at x = 450 (no mains:
the branch rule, every hydrant on the 'core' group -1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.pipeline import write_layer_outputs
from tests.routing.test_scenario import lonlat, tiny_layers

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fg_ws")
    write_layer_outputs(tiny_layers(), out=out)
    return out


def test_fireground_two_trucks_at_the_west_end(tiny_ws: Path, tmp_path: Path) -> None:
    lon, lat = lonlat(0.0, 0.0)
    result = runner.invoke(app, ["fireground", str(tiny_ws), "--at", f"{lon},{lat}", "--trucks", "2",
                                 "--reach-m", "500", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "fireground.json").read_text(encoding="utf-8"))
    # hose lay from x = 0: H1 100 m, H2 450 m, both within 500 m → one truck each, 2 × 15 L/s
    assert doc["assigned"] == ["H1", "H2"] and doc["naive"] == ["H1", "H2"]
    assert doc["model"] == "branch_rule" and doc["supplied_lps"] == 30.0
    assert doc["required_flow_lps"] is None  # a point, not a building: not computed
    layer = json.loads((tmp_path / "fireground.geojson").read_text(encoding="utf-8"))
    hose = {f["properties"]["hydrant_id"]: f["properties"]["hose_m"] for f in layer["features"]}
    assert hose == pytest.approx({"H1": 100.0, "H2": 450.0}, abs=1.0)
    assert "plan  H1" in result.output


def test_fireground_relay_when_nothing_is_in_reach(tiny_ws: Path, tmp_path: Path) -> None:
    lon, lat = lonlat(600.0, 0.0)
    # from x = 600: H2 150 m, H1 500 m; a 100 m reach holds none → relay to H2, 150 − 100 = 50 m
    result = runner.invoke(app, ["fireground", str(tiny_ws), "--at", f"{lon},{lat}", "--trucks", "1",
                                 "--reach-m", "100", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "fireground.json").read_text(encoding="utf-8"))
    assert doc["assigned"] == [] and doc["unassigned"] == 1
    assert doc["relay"][0]["hydrant_id"] == "H2"
    assert doc["relay"][0]["relay_m"] == pytest.approx(50.0, abs=1.0)


def test_fireground_unknown_building_is_one_message(tiny_ws: Path) -> None:
    result = runner.invoke(app, ["fireground", str(tiny_ws), "--building", "nope", "--trucks", "1"])
    assert result.exit_code == 2
    assert "building 'nope' is not in the workspace" in result.output.replace("\n", "")


def test_fireground_at_a_building_gives_its_required_flow(tiny_ws: Path, tmp_path: Path) -> None:
    # osm/w1 is the diamond at (105, 20) over West St: H1 (x = 100) is the nearest hydrant
    result = runner.invoke(app, ["fireground", str(tiny_ws), "--building", "osm/w1", "--trucks", "1",
                                 "--reach-m", "500", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "fireground.json").read_text(encoding="utf-8"))
    assert doc["assigned"] == ["H1"] and doc["naive"] == ["H1"]
    # a 1,200 m³ residential building: GB 50974 3.3.2 gives 15 L/s (the building-water rules)
    assert doc["required_flow_lps"] == 15.0


def test_fireground_with_an_epanet_model(tiny_ws: Path, tmp_path: Path) -> None:
    import wntr

    from tests.routing._graphs import CRS, xy

    # R (head 40 m) —100 m DN150— J1 (by H1) —450 m DN100— J2 (by H2); elevations 0.
    # Both trucks: R–J1 carries 30 L/s, Hazen-Williams C 100: 3.3 m; J1–J2 15 L/s: 29.5 m;
    # J2 ≈ 40 − 3.3 − 29.5 = 7.2 m ≈ 0.07 MPa < 0.10 → the naive pair fails at H2. The plan takes
    # H1 (J1 ≈ 40 − 0.9 = 39.1 m) and cannot add H2 (even alone J2 ≈ 9.6 m): one truck left over.
    wn = wntr.network.WaterNetworkModel()
    wn.add_reservoir("R", base_head=40.0, coordinates=xy(-50, 0))
    wn.add_junction("J1", base_demand=0.0, elevation=0.0, coordinates=xy(100, 5))
    wn.add_junction("J2", base_demand=0.0, elevation=0.0, coordinates=xy(450, 5))
    wn.add_pipe("P1", "R", "J1", length=100.0, diameter=0.15, roughness=100.0)
    wn.add_pipe("P2", "J1", "J2", length=450.0, diameter=0.1, roughness=100.0)
    inp = tmp_path / "net.inp"
    wntr.network.write_inpfile(wn, str(inp))
    lon, lat = lonlat(0.0, 0.0)
    result = runner.invoke(app, ["fireground", str(tiny_ws), "--at", f"{lon},{lat}", "--trucks", "2",
                                 "--reach-m", "500", "--network", str(inp), "--network-crs", CRS,
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "fireground.json").read_text(encoding="utf-8"))
    assert doc["model"] == "hydraulic"
    assert doc["naive"] == ["H1", "H2"] and doc["naive_below_residual"] == ["H2"]
    assert doc["naive_pressures_mpa"]["H2"] == pytest.approx(7.2 * 0.00980665, abs=0.01)
    assert doc["assigned"] == ["H1"] and doc["unassigned"] == 1
    assert doc["pressures_mpa"]["H1"] == pytest.approx(39.1 * 0.00980665, abs=0.01)

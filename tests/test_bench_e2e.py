"""The end-to-end benchmark's pieces: the tiled OSM writer and the analyst's baseline script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from benchmarks.osm_tiles import write_tiled_osm
from geo.layers import LayerOptions, build_layers
from geo.osm import read_osm


@pytest.fixture(scope="module")
def one_tile(helsinki_pbf: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """Counts FireReach reads from one tile (the extract copied once, no connectors)."""
    out = tmp_path_factory.mktemp("tiles") / "t1.osm.pbf"
    info = write_tiled_osm(helsinki_pbf, out, 1)
    assert info.tiles_per_side == 1
    layers = build_layers(read_osm(out), options=LayerOptions())
    return {"edges": len(layers.roads), "hydrants": len(layers.hydrants),
            "buildings": len(layers.buildings), "stations": len(layers.stations)}


def test_one_tile_is_the_extract(helsinki_pbf: Path, one_tile: dict[str, int]) -> None:
    # copying every node, way and relation once must give the extract's own layers
    layers = build_layers(read_osm(helsinki_pbf), options=LayerOptions())
    assert one_tile == {"edges": len(layers.roads), "hydrants": len(layers.hydrants),
                        "buildings": len(layers.buildings), "stations": len(layers.stations)}


def test_two_by_two_tiles(helsinki_pbf: Path, one_tile: dict[str, int], tmp_path: Path) -> None:
    out = tmp_path / "t2.osm.pbf"
    info = write_tiled_osm(helsinki_pbf, out, 2, buildings=False, extra_hydrants=10, stitch_k=3)
    layers = build_layers(read_osm(out), options=LayerOptions())
    # 4 tiles: 4 copies of each point layer, plus 10 added hydrants a tile
    assert len(layers.hydrants) == 4 * one_tile["hydrants"] + 4 * 10 == info.hydrants
    assert len(layers.stations) == 4 * one_tile["stations"] == info.stations
    # buildings left out (the fire station, mapped as a building, is kept as a station)
    assert info.buildings == 0
    # 2 * n * (n - 1) = 4 tile borders, 3 connector ways each: 12 ways of one edge each; a
    # connector ending inside a street of the next tile may split it, so at least 4 * 1 tile + 12
    assert len(layers.roads) >= 4 * one_tile["edges"] + 12
    assert (layers.roads["name"] == "connector").sum() == 12
    # stitched: one connected city, not four islands
    g = nx.Graph()
    g.add_edges_from(zip(layers.roads["u"], layers.roads["v"], strict=True))
    largest = max(nx.connected_components(g), key=len)
    one = nx.Graph()
    single = build_layers(read_osm(helsinki_pbf), options=LayerOptions()).roads
    one.add_edges_from(zip(single["u"], single["v"], strict=True))
    assert len(largest) >= 4 * len(max(nx.connected_components(one), key=len))


def test_analyst_baseline_runs(helsinki_pbf: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.analyst_baseline", str(helsinki_pbf), str(tmp_path / "b.gpkg")],
        capture_output=True, text=True, check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["hydrants"] == 37  # the extract's own hydrants (as FireReach reads them)
    assert 0 < result["covered_nodes"] <= result["nodes"]
    assert (tmp_path / "b.gpkg").stat().st_size > 0


def test_step_times_are_read_from_the_cli_lines() -> None:
    from benchmarks.bench_e2e import _steps

    text = (
        "  reading: 91.2 s (layers from 10 road parts, 2 points, 0 areas)\n"
        "  analysis: hydrant coverage: 9.1 s (103,500 hydrants)\n"
        "  analysis: siting: 4.0 s\n"
        "  writing: 89.5 s (2 of 2 writers done: layers.gpkg, reports)\n"
        "time: reading 91.2 s · analysis 13.1 s (hydrant coverage 9.1 s, siting 4.0 s) · writing "
        "89.5 s (reports 89.5 s, layers.gpkg 31.2 s) · total 193.8 s\n"
    )
    assert _steps(text) == {
        "reading": 91.2, "analysis: hydrant coverage": 9.1, "analysis: siting": 4.0,
        "writing": 89.5, "writing: reports": 89.5, "writing: layers.gpkg": 31.2, "total": 193.8,
    }


def test_step_peaks_take_the_samples_inside_each_step() -> None:
    from benchmarks.bench_e2e import step_peaks

    steps = {"reading": 2.0, "analysis: coverage": 1.0, "writing": 1.0, "writing: reports": 0.9,
             "total": 4.0}
    # the process ran 5 s: 1 s of start-up, then reading [1, 3], coverage [3, 4], writing [4, 5]
    samples = [(0.5, 100.0), (1.5, 300.0), (2.5, 500.0), (3.5, 400.0), (4.5, 200.0)]
    assert step_peaks(steps, samples, 5.0) == {"reading": 500, "analysis: coverage": 400,
                                               "writing": 200}

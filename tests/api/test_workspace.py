"""The served workspace is the analysed one: blockage reports come back at start-up."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pyogrio
import pytest

from api.pipeline import LayersRequest, ReportOptions, run_analyze
from api.settings import Settings
from api.workspace import load_workspace
from routing.analysis import AnalysisOptions
from tests.conftest import FIXTURES


def test_blockage_reports_survive_into_the_served_workspace(
    tmp_path: Path, helsinki_pbf: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "ws"
    request = LayersRequest(osm=helsinki_pbf, blockages=FIXTURES / "blockages_helsinki.csv")
    run_analyze(request, out=out, settings=Settings(), options=AnalysisOptions(siting=False),
                report=ReportOptions(reports=False))
    written = pyogrio.read_dataframe(out / "layers.gpkg", layer="blockages_ranked")
    with caplog.at_level(logging.INFO, logger="api.workspace"):
        ws = load_workspace(Settings(workspace=out))
    served = ws.collections["blockages_ranked"]
    assert len(served) == len(written) == 13
    assert sorted(served["rank"].dropna()) == sorted(written["rank"].dropna())
    assert ws.analysis.summary["blockages"]["total"] == 13
    # start-up says what it did, with counts and seconds, step by step
    lines = [r.getMessage() for r in caplog.records if r.name == "api.workspace"]
    n_roads = len(ws.layers.roads)
    assert any(re.fullmatch(rf"start-up: read .*layers\.gpkg: {n_roads} road edges, \d+ hydrants, \d+ "
                            r"buildings, \d+ stations \(\d+\.\d s\)", m) for m in lines), lines
    assert "start-up: blockage reports: 13" in "\n".join(lines)
    for step in ("street graph", "hydrant coverage", "building water", "siting", "blockage ranking"):
        pattern = rf"start-up: analysis: {step}(: [^()]+)? \(\d+\.\d s\)"
        assert any(re.fullmatch(pattern, m) for m in lines), step
    assert any(re.fullmatch(r"start-up: analysis: hydrant coverage: [\d,]+ hydrants \(\d+\.\d s\)", m)
               for m in lines), lines
    assert re.search(r"loaded: \d+ collections, \d+ findings in \d+\.\d s", lines[-1]), lines[-1]

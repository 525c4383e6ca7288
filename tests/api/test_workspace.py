"""The served workspace is the analysed one: blockage reports come back at start-up."""

from __future__ import annotations

from pathlib import Path

import pyogrio

from api.pipeline import LayersRequest, ReportOptions, run_analyze
from api.settings import Settings
from api.workspace import load_workspace
from routing.analysis import AnalysisOptions
from tests.conftest import FIXTURES


def test_blockage_reports_survive_into_the_served_workspace(tmp_path: Path, helsinki_pbf: Path) -> None:
    out = tmp_path / "ws"
    request = LayersRequest(osm=helsinki_pbf, blockages=FIXTURES / "blockages_helsinki.csv")
    run_analyze(request, out=out, settings=Settings(), options=AnalysisOptions(siting=False),
                report=ReportOptions(reports=False))
    written = pyogrio.read_dataframe(out / "layers.gpkg", layer="blockages_ranked")
    ws = load_workspace(Settings(workspace=out))
    served = ws.collections["blockages_ranked"]
    assert len(served) == len(written) == 13
    assert sorted(served["rank"].dropna()) == sorted(written["rank"].dropna())
    assert ws.analysis.summary["blockages"]["total"] == 13

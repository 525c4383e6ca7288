"""Writing the outputs (issue 11): step lines and the time line, ``--quiet``, writers at once
that keep each other's files when one fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api import pipeline
from api.cli import app
from api.pipeline import LayersRequest, ReportOptions, output_workers, run_analyze
from api.settings import Settings
from geo.errors import OutputWriteError
from routing.analysis import AnalysisOptions
from tests.conftest import FIXTURES

runner = CliRunner()
TINY = FIXTURES / "tiny_compound.osm"


def test_step_lines_when_not_a_terminal_and_quiet(tmp_path: Path) -> None:
    """CliRunner's stderr is no terminal: no live bar, one line per finished step and the time line."""
    result = runner.invoke(app, ["layers", "--osm", str(TINY), "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    # each finished step once, with the counts it last showed
    reading = [line for line in lines if line.startswith("  reading: ")]
    assert len(reading) == 1, lines
    assert re.fullmatch(r"  reading: \d+\.\d s \(layers from \d+ road parts, \d+ points, \d+ areas\)",
                        reading[0]), reading
    writing = [line for line in lines if line.startswith("  writing: ")]
    assert writing == [writing[0]] and re.fullmatch(r"  writing: \d+\.\d s", writing[0]), lines
    timing = [line for line in lines if line.startswith("time: ")]
    assert len(timing) == 1
    assert re.fullmatch(r"time: reading \d+\.\d s · writing \d+\.\d s · total \d+\.\d s", timing[0])
    assert "\r" not in result.stderr and "\x1b" not in result.stderr  # no bar redrawn in a log

    quiet = runner.invoke(app, ["layers", "--osm", str(TINY), "--out", str(tmp_path / "q"), "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert "reading:" not in quiet.stderr and "time:" not in quiet.stderr
    assert "layers written to" in quiet.stdout  # the answer itself is not silenced
    assert (tmp_path / "q" / "layers.gpkg").stat().st_size > 0


def test_output_workers() -> None:
    assert output_workers(1) == 1 and output_workers(3) == 3
    assert output_workers(0) == 1  # never no writer at all
    assert 1 <= output_workers() <= 4  # min(cores, 4)


def _run(out: Path, workers: int) -> dict:
    return run_analyze(
        LayersRequest(osm=TINY), out=out, settings=Settings(_env_file=None),
        options=AnalysisOptions(siting=False), report=ReportOptions(lang="en", workers=workers),
    )


@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_writer_keeps_the_other_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """The reports fail (a full disk, say): layers.gpkg, the CSVs and summary.json are still
    written, and the error names what failed and what was kept."""
    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    out = tmp_path / "reports_fail"
    monkeypatch.setattr(pipeline, "write_report_files", no_space)
    with pytest.raises(OutputWriteError, match=r"could not write reports: OSError.*Kept: .*layers\.gpkg"):
        _run(out, workers)
    for name in ("layers.gpkg", "findings.csv", "rejects.csv", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "coverage" in summary and "severe" not in summary.get("districts", {})  # no grades without reports
    monkeypatch.undo()

    out = tmp_path / "gpkg_fail"
    monkeypatch.setattr(pipeline, "write_geopackage", no_space)
    with pytest.raises(OutputWriteError, match=r"could not write layers\.gpkg: .*Kept: .*report\.xlsx"):
        _run(out, workers)
    assert not (out / "layers.gpkg").exists()
    for name in ("report.xlsx", "report.pdf", "districts.gpkg", "map.html", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "severe" in summary["districts"]  # the grades the reports gave

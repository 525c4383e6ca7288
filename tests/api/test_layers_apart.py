"""api.layers_apart: a large city's layers built in a child process are the layers built here."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd
import pytest

from api import pipeline
from api.layers_apart import load_layers_apart
from api.pipeline import LayersRequest, ReportOptions, load_layers, run_analyze
from api.settings import Settings
from geo.errors import InputFileError
from geo.layers import Layers
from geo.presets import load_preset
from routing.analysis import AnalysisOptions

SETTINGS = Settings(_env_file=None)


def _here(request: LayersRequest) -> Layers:
    return load_layers(request, settings=SETTINGS, preset=load_preset(SETTINGS.preset))


def _same_layers(got: Layers, want: Layers) -> None:
    assert got.crs == want.crs and got.source == want.source
    assert got.notes == want.notes and got.osm_notes == want.osm_notes
    tables, expected = got.tables(), want.tables()
    assert list(tables) == list(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(tables[name], frame, check_exact=True, obj=name)


def test_built_apart_equals_built_here(helsinki_pbf: Path, caplog: pytest.LogCaptureFixture) -> None:
    # the embedded Helsinki extract through the child: every table equal (values, dtypes, order,
    # geometry), the reader's progress told here, its log records replayed under their loggers
    request = LayersRequest(osm=helsinki_pbf)
    told: list[str] = []
    caplog.set_level(logging.INFO)
    apart = load_layers_apart(request, settings=SETTINGS, preset_name=SETTINGS.preset,
                              progress=told.append, here=lambda: pytest.fail("built here"))
    _same_layers(apart, _here(request))
    assert any("road parts" in t for t in told), told
    assert any(r.name == "geo.layers" and "working CRS" in r.getMessage() for r in caplog.records)


def test_an_input_error_comes_back_as_itself(tmp_path: Path) -> None:
    # a file that is no OSM file: the child's InputFileError is raised here, with the message
    # this process would have given
    bad = tmp_path / "city.osm.pbf"
    bad.write_bytes(b"\x00\x00\x00\x0dnot a pbf block" * 64)
    request = LayersRequest(osm=bad)
    with pytest.raises(InputFileError) as here:
        _here(request)
    with pytest.raises(InputFileError) as apart:
        load_layers_apart(request, settings=SETTINGS, preset_name=SETTINGS.preset,
                          here=lambda: pytest.fail("built here"))
    assert str(apart.value) == str(here.value)


def test_a_failed_child_builds_here_with_a_warning(
    helsinki_pbf: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # the child cannot start a Python (an interpreter that exits 1 at once): built here instead
    monkeypatch.setattr(sys, "executable", "/bin/false")
    built: list[Layers] = []

    def here() -> Layers:
        built.append(_here(LayersRequest(osm=helsinki_pbf)))
        return built[0]

    got = load_layers_apart(LayersRequest(osm=helsinki_pbf), settings=SETTINGS,
                            preset_name=SETTINGS.preset, here=here)
    assert built and got is built[0]
    assert any("separate process failed (exit 1" in r.getMessage() for r in caplog.records)


def test_analyze_reads_a_large_file_apart(
    helsinki_pbf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # from APART_MIN_BYTES on (lowered here to the embedded extract's size) `firereach analyze`
    # reads in a child; with one worker asked for, in this process
    calls: list[str] = []
    real = pipeline.load_layers_apart

    def spy(*args: object, **kwargs: object) -> Layers:
        calls.append("apart")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "load_layers_apart", spy)
    monkeypatch.setattr(pipeline, "APART_MIN_BYTES", helsinki_pbf.stat().st_size)
    options = AnalysisOptions(siting=False)
    report = ReportOptions(reports=False)
    summary = run_analyze(LayersRequest(osm=helsinki_pbf), out=tmp_path / "a", settings=SETTINGS,
                          options=options, report=report)
    assert calls == ["apart"]
    one = run_analyze(LayersRequest(osm=helsinki_pbf), out=tmp_path / "b", settings=SETTINGS,
                      options=options, report=ReportOptions(reports=False, workers=1))
    assert calls == ["apart"]  # not again
    assert summary == one

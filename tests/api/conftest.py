"""Fixtures shared by the API tests: the analysed Helsinki workspace, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.pipeline import LayersRequest, run_analyze
from api.settings import Settings
from api.workspace import Workspace, load_workspace
from routing.analysis import AnalysisOptions


@pytest.fixture(scope="session")
def helsinki_workspace(tmp_path_factory: pytest.TempPathFactory, helsinki_pbf: Path) -> Path:
    """The analysed Helsinki workspace (built once per session, shared by the API tests)."""
    out = tmp_path_factory.getbasetemp() / "helsinki_ws"
    if not (out / "layers.gpkg").exists():
        run_analyze(LayersRequest(osm=helsinki_pbf), out=out, settings=Settings(_env_file=None),
                    options=AnalysisOptions())
    return out


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def tiny_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-drawn workspace (:func:`tests.api.server.build_workspace`), one per test module."""
    from tests.api.server import build_workspace

    return build_workspace(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def ws(helsinki_workspace: Path) -> Workspace:
    return load_workspace(Settings(workspace=helsinki_workspace, _env_file=None))

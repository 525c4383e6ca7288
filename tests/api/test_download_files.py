"""Download files are built once each, and different files build at the same time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api.routers.downloads import DownloadFiles


class Analysis:
    """Stands for a served analysis (the owner a file is made from)."""


def test_different_files_build_at_once_and_one_file_once() -> None:
    files, owner = DownloadFiles(), Analysis()
    # two audiences' GeoPackages: each build waits for the other to start; built one after the
    # other (one lock for every build) they would never meet and the barrier would break
    meet = threading.Barrier(2, timeout=5)
    builds: list[str] = []

    def build(name: str) -> Callable[[Path], Path]:
        def make(folder: Path) -> Path:
            builds.append(name)
            meet.wait()
            path = folder / name
            path.write_bytes(b"x")
            return path
        return make

    with ThreadPoolExecutor(2) as pool:
        got = list(pool.map(lambda n: files.get(n, owner, 1, build(n)), ["gpkg:public", "gpkg:viewer"]))
    assert [p.name for p in got] == ["gpkg:public", "gpkg:viewer"]
    # the same file asked for by four callers at once: one build, the others read it
    calls: list[int] = []

    def once(folder: Path) -> Path:
        calls.append(1)
        path = folder / "report.pdf"
        path.write_bytes(b"%PDF")
        return path

    with ThreadPoolExecutor(4) as pool:
        paths = set(pool.map(lambda _: files.get("reports:public", owner, 1, once), range(4)))
    assert len(calls) == 1 and len(paths) == 1
    # a failed build leaves nothing behind: the next caller builds again
    def fail(folder: Path) -> Path:
        raise OSError("disk full")

    with pytest.raises(OSError):
        files.get("gpkg:admin", owner, 1, fail)
    assert files.get("gpkg:admin", owner, 1, once).name == "report.pdf" and len(calls) == 2

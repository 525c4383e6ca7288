"""The served workspace's start-up cache (api.state_cache): right key, never stale, never fatal."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from api import state_cache
from api.settings import Settings
from api.store import HydrantState
from api.workspace import load_workspace


def _key(tmp_path: Path, **change: object) -> str:
    args: dict[str, object] = {
        "files": [tmp_path / "layers.gpkg"],
        "settings": {"preset": "cn-gb", "apparatus": "pumper", "snap_distance_m": 60.0},
        "states": [], "ledger": [],
    }
    args.update(change)
    return state_cache.state_key(**args)  # type: ignore[arg-type]


def test_key_changes_with_every_input(tmp_path: Path) -> None:
    gpkg = tmp_path / "layers.gpkg"
    gpkg.write_bytes(b"one")
    base = _key(tmp_path)
    assert _key(tmp_path) == base  # deterministic
    assert _key(tmp_path, settings={"preset": "us", "apparatus": "pumper", "snap_distance_m": 60.0}) != base
    assert _key(tmp_path, states=[("h1", "out_of_service")]) != base
    assert _key(tmp_path, ledger=["item 1"]) != base
    gpkg.write_bytes(b"two!")  # another size (and time): another key
    assert _key(tmp_path) != base


def test_key_follows_a_toml_preset_content(tmp_path: Path) -> None:
    preset = tmp_path / "mine.toml"
    preset.write_text('extends = "cn-gb"\n', encoding="utf-8")
    settings = {"preset": str(preset), "apparatus": "pumper", "snap_distance_m": 60.0}
    first = _key(tmp_path, settings=settings)
    preset.write_text('extends = "cn-gb"\nname = "mine"\n', encoding="utf-8")
    assert _key(tmp_path, settings=settings) != first


def test_save_load_and_keep_the_newest(tmp_path: Path) -> None:
    for i in range(4):
        assert state_cache.save(tmp_path, f"k{i}", {"i": i}) is not None
        os.utime(tmp_path / state_cache.FOLDER / f"serve-state-k{i}.pickle", (i + 1, i + 1))
    assert state_cache.save(tmp_path, "k9", {"i": 9}) is not None
    kept = sorted(p.name for p in (tmp_path / state_cache.FOLDER).glob("serve-state-*.pickle"))
    assert len(kept) == state_cache.KEEP and "serve-state-k9.pickle" in kept
    assert state_cache.load(tmp_path, "k9") == {"i": 9}
    assert state_cache.load(tmp_path, "absent") is None
    assert not list((tmp_path / state_cache.FOLDER).glob(".tmp-*"))  # nothing half-written left


def test_a_damaged_file_is_rebuilt_not_trusted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    state_cache.save(tmp_path, "k", [1, 2, 3])
    path = tmp_path / state_cache.FOLDER / "serve-state-k.pickle"
    path.write_bytes(path.read_bytes()[:5])  # truncated
    with caplog.at_level(logging.WARNING, logger="api.state_cache"):
        assert state_cache.load(tmp_path, "k") is None
    assert "unreadable" in caplog.text and not path.exists()


def test_switched_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREREACH_STATE_CACHE", "0")
    assert state_cache.save(tmp_path, "k", 1) is None
    assert state_cache.load(tmp_path, "k") is None


def test_restart_reads_the_cached_state(
    helsinki_workspace: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    shutil.copy2(helsinki_workspace / "layers.gpkg", ws_dir / "layers.gpkg")
    settings = Settings(workspace=ws_dir, _env_file=None)
    with caplog.at_level(logging.INFO, logger="api.workspace"):
        first = load_workspace(settings)
        assert "start-up state cached" in caplog.text
        caplog.clear()
        second = load_workspace(settings)
        assert "start-up state read from" in caplog.text
    pd.testing.assert_frame_equal(first.analysis.findings, second.analysis.findings)
    assert first.analysis.summary == second.analysis.summary
    assert set(first.collections) == set(second.collections)
    # a stored hydrant state is another input: analysed afresh, not the cached state
    hydrant = str(first.layers.hydrants["hydrant_id"].iloc[0])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="api.workspace"):
        third = load_workspace(settings, hydrant_states={hydrant: HydrantState(
            hydrant_id=hydrant, status="out_of_service", observed_at=datetime(2026, 12, 1, 8, tzinfo=UTC),
            event_id=1, pressure_mpa=None)})
    assert "start-up state read from" not in caplog.text
    row = third.layers.hydrants.set_index("hydrant_id").loc[hydrant]
    assert row["status"] == "out_of_service"

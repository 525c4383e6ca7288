"""The served workspace's start-up state, cached next to the workspace.

Starting ``firereach serve`` reads ``layers.gpkg``, runs the whole analysis and reprojects every
collection to WGS84: on a city of a million edges that is minutes, most of it the analysis. Its
result depends only on what went in, so it is kept in ``<workspace>/.cache/serve-state-<key>.pickle``
and read back (seconds) when the same inputs come again. The key is a SHA-256 of everything the
state depends on:

* the files read: ``layers.gpkg`` and the stored blockage reports (path, size, modification time);
* the settings the analysis uses: preset (and, for a TOML preset, its content), apparatus and snap
  distance;
* the store's hydrant states and active ledger items applied before the analysis;
* the code: FireReach's version and the size and modification time of every module of its four
  packages, so an upgrade or an edit never serves a stale state.

Any change gives another key, so a cached state is never wrong, only unused; older files for the
workspace are removed when a new one is written (at most :data:`KEEP` are kept). The file is a
pickle: it is only ever read from the workspace's own folder, which the server's user owns, and a
file that does not unpickle (truncated, written by another Python) is ignored and rebuilt. Writing
goes to a temporary file renamed into place, so a crash never leaves half a file under a real key.
Set ``FIREREACH_STATE_CACHE=0`` to turn the cache off.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Cached states kept per workspace (the newest).
KEEP = 2
#: Folder inside the workspace.
FOLDER = ".cache"
_PREFIX = "serve-state-"
_PACKAGES = ("geo", "routing", "reports", "api")


def enabled() -> bool:
    """Whether the cache is on (``FIREREACH_STATE_CACHE`` is not ``0``/``false``/``no``)."""
    return os.environ.get("FIREREACH_STATE_CACHE", "1").strip().lower() not in {"0", "false", "no", "off"}


def _file_stamp(path: Path | None) -> list[Any]:
    if path is None or not path.exists():
        return [str(path), None]
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def _code_stamp() -> list[Any]:
    try:
        version = metadata.version("firereach")
    except metadata.PackageNotFoundError:
        version = "unknown"
    root = Path(__file__).resolve().parent.parent
    files = sorted(p for pkg in _PACKAGES for p in (root / pkg).rglob("*.py"))
    return [version, [[*_file_stamp(p)[1:], p.name] for p in files]]


def state_key(
    *, files: Iterable[Path | None], settings: dict[str, Any], states: Any, ledger: Any,
) -> str:
    """The SHA-256 key of a start-up state (see the module docstring for what goes in)."""
    preset = str(settings.get("preset", ""))
    preset_text = Path(preset).read_text(encoding="utf-8") if preset.endswith(".toml") and Path(
        preset).is_file() else None
    payload = {
        "files": [_file_stamp(p) for p in files],
        "settings": settings,
        "preset_text": preset_text,
        "states": states,
        "ledger": ledger,
        "code": _code_stamp(),
    }
    blob = json.dumps(payload, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:32]


def _path(workspace: Path, key: str) -> Path:
    return workspace / FOLDER / f"{_PREFIX}{key}.pickle"


def load(workspace: Path, key: str) -> Any | None:
    """The state cached under ``key``, or None (absent, unreadable, or the cache is off)."""
    if not enabled():
        return None
    path = _path(workspace, key)
    if not path.is_file():
        return None
    try:
        with path.open("rb") as f:
            return pickle.load(f)
    except Exception as exc:  # a damaged or foreign file is rebuilt, never trusted
        log.warning("start-up cache %s unreadable (%s): rebuilding it", path, exc)
        path.unlink(missing_ok=True)
        return None


def save(workspace: Path, key: str, state: Any) -> Path | None:
    """Write ``state`` under ``key`` (atomically); keep the :data:`KEEP` newest. None if not written."""
    if not enabled():
        return None
    folder = workspace / FOLDER
    try:
        folder.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(state, f, protocol=pickle.HIGHEST_PROTOCOL)
        path = _path(workspace, key)
        os.replace(tmp, path)
    except OSError as exc:  # a read-only workspace serves without a cache
        log.warning("start-up cache not written in %s: %s", folder, exc)
        return None
    old = sorted(folder.glob(f"{_PREFIX}*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in old[KEEP:]:
        stale.unlink(missing_ok=True)
    return path

"""Writing results: GeoPackage layers, rejects CSV and ``summary.json``.

Every file is written to a temporary name beside the target and moved into place only when it is
complete, so an interrupted run never leaves a half-written file where a good one was.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.errors import ConfigError

log = logging.getLogger(__name__)

#: Arrow I/O (``pyogrio.write_dataframe(..., use_arrow=True)``) where pyarrow is installed.
ARROW_IO = importlib.util.find_spec("pyarrow") is not None


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _probe_folder(folder: Path, *, option: str, target: Path) -> None:
    """Create ``folder`` (with its parents) and write and remove a small file in it."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise ConfigError(
            f"{option} {target}: {existing} is a file, so the folder {folder} cannot be created there; "
            "give a path under a folder"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".firereach-write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"{option} {target}: cannot write in {folder} ({reason}); give a folder you can write to"
        ) from None


def check_out_dir(path: Path, *, option: str = "--out") -> Path:
    """Make sure ``path`` is (or can become) a writable folder, before any work is done.

    Creates the folder (and its parents) as the job would, and writes and removes a small file in it.

    Parameters
    ----------
    path
        The output folder.
    option
        How the user gave it (for the message).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ConfigError
        ``path`` is a file, a parent is a file, or the folder cannot be created or written to.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path}: this is a file, and a folder is needed; give a folder path")
    _probe_folder(path, option=option, target=path)
    return path


def check_out_file(path: Path, *, option: str = "--out") -> Path:
    """Make sure the file ``path`` can be written, before any work is done.

    Creates its folder (as the job would) and writes and removes a small file there; an existing
    file at ``path`` is left as it is (it is replaced only when the new one is complete).

    Raises
    ------
    ConfigError
        ``path`` is a folder, a parent is a file, or its folder cannot be created or written to.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path}: this is a folder, and a file is needed; give a file path")
    _probe_folder(path.parent, option=option, target=path)
    return path


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.tmp-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _gpkg_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Make list/dict columns JSON text and object columns text (GeoPackage holds neither)."""
    out = frame.copy(deep=False)  # copy on write: the columns replaced below are new
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for col in out.columns:
        if col == geometry:
            continue
        if out[col].dtype == object:
            sample = out[col].dropna()
            if len(sample) and isinstance(sample.iloc[0], list | dict | tuple | set):
                out[col] = sample.map(json.dumps, na_action="ignore").reindex(out.index)
            else:
                out[col] = out[col].astype("string")
    return out


def write_geopackage(layers: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Write every layer to one GeoPackage (one table per layer), atomically.

    GeoDataFrames become feature tables with a spatial index; plain DataFrames (findings, pairs)
    attribute tables. Each layer is written in one transaction, through Arrow when pyarrow is
    installed (:data:`ARROW_IO`; pyogrio writes a layer in one transaction either way).
    """
    t0 = time.perf_counter()
    with atomic_path(path) as tmp:
        for name, frame in layers.items():
            spatial = isinstance(frame, gpd.GeoDataFrame)
            pyogrio.write_dataframe(
                _gpkg_ready(frame), tmp, layer=str(name), driver="GPKG", use_arrow=ARROW_IO,
                layer_options={"SPATIAL_INDEX": "YES" if spatial else "NO"},
            )
    log.info("wrote %s: %d layers, %d rows in %.1f s (arrow=%s)", path, len(layers),
             sum(len(f) for f in layers.values()), time.perf_counter() - t0, ARROW_IO)
    return path



#: What starts a formula in a spreadsheet cell (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: str | None) -> str:
    """Text for a spreadsheet cell: a leading formula character is quoted with ``'`` (None: "")."""
    if value is None:
        return ""
    return "'" + value if value.startswith(_FORMULA_START) else value


def spreadsheet_safe(frame: pd.DataFrame, *, keep: tuple[str, ...] = ()) -> pd.DataFrame:
    """The table with every text cell that would start a spreadsheet formula quoted with ``'``.

    Only text columns are touched (numbers, negative ones included, stay numbers), and not those
    in ``keep``; a cell such as ``=HYPERLINK(...)`` from an agency file or a report's note reaches
    Excel as text. The given frame is untouched.
    """
    out = frame
    for name in frame.columns:
        col = frame[name]
        if name in keep or not (col.dtype == object or isinstance(col.dtype, pd.StringDtype)):
            continue
        formula = col.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START))
        if formula.any():
            if out is frame:
                out = frame.copy(deep=False)
            out[name] = col.map(lambda v: spreadsheet_text(v) if isinstance(v, str) else v)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a table as UTF-8 CSV with BOM (so Excel shows Chinese text correctly); text that
    would start a spreadsheet formula is quoted (:func:`spreadsheet_safe`)."""
    with atomic_path(path) as tmp:
        spreadsheet_safe(frame).to_csv(tmp, index=False, encoding="utf-8-sig")
    return path


def _merge(base: dict[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def write_summary(sections: Mapping[str, Any], path: Path, *, update: bool = False) -> Path:
    """Write ``summary.json``; with ``update`` merge the sections into an existing file."""
    current: dict[str, Any] = {}
    if update and path.exists():
        current = json.loads(path.read_text(encoding="utf-8"))
    data = _merge(current, sections)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    return path

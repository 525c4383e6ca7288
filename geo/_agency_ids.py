"""Feature ids of agency tables: placeholders, ids reused at other places, true duplicates.

Agency tables hold ids such as ``0-0``, ``-`` or ``无`` for features that have none, and the
same id at several places when a template was copied down a column. Such rows keep their data
under an id made from the file and the row (``<stem>/row<N>``) and a warning; only the same id at
the same place (one feature recorded twice) is rejected as a duplicate.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo._tables import cell_text, nfkc
from geo.notes import NoteList
from geo.rejects import RowRejects


def file_ids(frame: pd.DataFrame, mapping: Mapping[str, str], path: Path) -> list[str]:
    """The id column's text, or ``<stem>/<n>`` for every row when the file has none."""
    n = len(frame)
    fallback = [f"{path.stem}/{i + 1}" for i in range(n)]
    if "id" not in mapping:
        return fallback
    text = cell_text(frame[mapping["id"]])
    return [t or f for t, f in zip(text, fallback, strict=True)]



#: Two rows with one id closer than this are one feature recorded twice (a true duplicate).
SAME_PLACE_M = 5.0
#: An id used at this many different places or more is a placeholder, not an id.
PLACEHOLDER_PLACES = 3
_PLACEHOLDER_WORDS = frozenset(
    {"na", "n/a", "null", "none", "nil", "nan", "无", "空", "暂无", "未知", "未编号", "unknown", "tbd"}
)


def _is_placeholder(ident: str) -> bool:
    t = nfkc(ident).strip().lower()
    return not t or t in _PLACEHOLDER_WORDS or re.fullmatch(r"[0\W_]+", t) is not None


def _places(rows: list[int], lon: NDArray[np.float64], lat: NDArray[np.float64]) -> list[list[int]]:
    """Group rows by place: each row joins the first group whose first row is within SAME_PLACE_M.

    Stops at :data:`PLACEHOLDER_PLACES` groups: the id is a placeholder then, whatever the rest.
    """
    groups: list[list[int]] = []
    for i in rows:
        if len(groups) >= PLACEHOLDER_PLACES:
            break
        for g in groups:
            j = g[0]
            dx = (lon[i] - lon[j]) * 111_320.0 * math.cos(math.radians(lat[j]))
            dy = (lat[i] - lat[j]) * 110_574.0
            if math.hypot(dx, dy) <= SAME_PLACE_M:
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def resolve_ids(
    frame: pd.DataFrame,
    mapping: Mapping[str, str],
    path: Path,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    rej: RowRejects,
    notes: NoteList,
) -> list[str]:
    """Final ids: placeholders and ids reused at another place get ``<stem>/row<N>``.

    A placeholder is a blank, ``0``, ``0-0``, ``-``, ``/``, ``N/A``, ``null``, ``无`` ... or an
    id used at :data:`PLACEHOLDER_PLACES` or more different places. An id used again at the
    same place (within :data:`SAME_PLACE_M`) is a true duplicate and rejected; used again at one
    other place, the later rows keep their data under a generated id. Rows already rejected
    take no part, so the duplicate of a rejected row is kept under its id.
    """
    n = len(frame)
    ids = file_ids(frame, mapping, path)
    if "id" not in mapping:
        return ids
    column = mapping["id"]
    made = [f"{path.stem}/row{rej.row_number(i)}" for i in range(n)]
    active = ~rej.rejected_mask(n) & ~rej.blank
    placeholder = np.array([_is_placeholder(t) for t in cell_text(frame[column])], dtype=bool)
    by_id: dict[str, list[int]] = {}
    for i in np.flatnonzero(active & ~placeholder):
        by_id.setdefault(ids[int(i)], []).append(int(i))
    dup = np.zeros(n, dtype=bool)
    firsts = np.zeros(n, dtype=np.int64)
    reused: list[int] = []
    for rows in by_id.values():
        if len(rows) < 2:
            continue
        groups = _places(rows, lon, lat)
        if len(groups) >= PLACEHOLDER_PLACES:
            placeholder[rows] = True
            continue
        for g in groups:
            dup[g[1:]] = True
            firsts[g[1:]] = g[0]
        for g in groups[1:]:
            reused.extend(g[:1])
    out = list(ids)
    swap = (placeholder & active) | np.isin(np.arange(n), reused)
    for i in np.flatnonzero(swap):
        out[int(i)] = made[int(i)]
    rej.add(
        dup,
        column,
        lambda i: (
            f"duplicate id {ids[i]!r} at the same place as row {rej.row_number(int(firsts[i]))} "
            f"(within {SAME_PLACE_M:g} m): one feature recorded twice; delete one of the rows"
        ),
        ids,
    )
    _note_ids(placeholder & active, reused, frame[column], column, path, notes)
    return out


def _note_ids(
    placeholder: NDArray[np.bool_],
    reused: list[int],
    cells: pd.Series,
    column: str,
    path: Path,
    notes: NoteList,
) -> None:
    if placeholder.any():
        values = cell_text(cells)[placeholder].value_counts()
        shown = ", ".join(f"{v or '(blank)'!r} ({c})" for v, c in values.head(6).items())
        notes.warn(
            f"{int(placeholder.sum())} row(s) without a usable id in column {column!r} (placeholders or "
            f"one id used at {PLACEHOLDER_PLACES}+ different places: {shown}); kept with ids made "
            f"from the file and row ({path.stem}/row<N>). Give them their own ids in the file",
            count=int(placeholder.sum()),
            column=column,
        )
    if reused:
        text = cell_text(cells)
        shown = ", ".join(repr(text.iloc[i]) for i in reused[:6])
        notes.warn(
            f"{len(reused)} row(s) with an id already given to a feature at another place "
            f"({shown}); kept with ids made from the file and row ({path.stem}/row<N>). Check "
            "which of them the id belongs to",
            count=len(reused),
            column=column,
        )

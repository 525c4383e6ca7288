"""The rejects table: every input row or feature that was not used, with where and why.

Good rows are never lost because of a bad one: readers collect :class:`Reject` records and carry
on. The CLI writes them to ``rejects.csv``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import pandas as pd

REJECT_COLUMNS = ["layer", "file", "row", "column", "feature_id", "reason", "value"]


@dataclass(frozen=True)
class Reject:
    """One rejected input row or feature.

    Attributes
    ----------
    layer
        The layer the row was meant for (``hydrants``, ``stations``, ``roads`` ...).
    file
        Source file path or ``osm`` / ``online``.
    row
        1-based data row number in the file (header not counted), or ``None`` for OSM features.
    column
        The offending column, if one can be named.
    feature_id
        The row's id (agency 编号 or OSM id) if known.
    reason
        What was wrong and what to do about it.
    value
        The offending raw value, as text.
    """

    layer: str
    file: str
    row: int | None
    column: str | None
    feature_id: str | None
    reason: str
    value: str | None = None


def rejects_frame(rejects: Iterable[Reject]) -> pd.DataFrame:
    """Return rejects as a DataFrame with the columns in :data:`REJECT_COLUMNS`."""
    rows = [asdict(r) for r in rejects]
    frame = pd.DataFrame(rows, columns=REJECT_COLUMNS)
    return frame.astype({"row": "Int64"})

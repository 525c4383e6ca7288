"""The rejects table: every input row or feature that was not used, with where and why.

Good rows are never lost because of a bad one: readers collect :class:`Reject` records and carry
on. The CLI writes them to ``rejects.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

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
    # plain tuples: dataclasses.asdict deep-copies each field (2.2 s for 75,600 rejects)
    rows = [(r.layer, r.file, r.row, r.column, r.feature_id, r.reason, r.value) for r in rejects]
    frame = pd.DataFrame(rows, columns=REJECT_COLUMNS)
    return frame.astype({"row": "Int64"})


class RowRejects:
    """Collects at most one reject per row: the first problem found wins."""

    def __init__(
        self,
        *,
        layer: str,
        file: str,
        ids: list[str],
        blank: NDArray[np.bool_],
        row_numbers: NDArray[np.int64],
    ) -> None:
        self.layer = layer
        self.file = file
        self.ids = ids
        self.blank = blank
        self.row_numbers = row_numbers
        self._rows: dict[int, tuple[str | None, str, str | None]] = {}

    def add(
        self,
        mask: NDArray[np.bool_],
        column: str | None,
        reason: str | Callable[[int], str],
        values: Sequence[object],
    ) -> None:
        """Reject the rows of ``mask`` (each once: the first reason stays; blank rows never)."""
        for j in np.flatnonzero(mask):
            i = int(j)
            if i in self._rows or self.blank[i]:
                continue
            text = reason(i) if callable(reason) else reason
            value = values[i]
            self._rows[i] = (column, text, None if value is None else str(value))

    def rejected_mask(self, n: int) -> NDArray[np.bool_]:
        """Which of ``n`` rows have been rejected."""
        mask = np.zeros(n, dtype=bool)
        if self._rows:
            mask[list(self._rows)] = True
        return mask

    def row_number(self, i: int) -> int:
        """The row number a user sees in the file for row ``i``."""
        return int(self.row_numbers[i])

    def records(self) -> list[Reject]:
        """The rejects, one per rejected row, in row order."""
        out = []
        for i in sorted(self._rows):
            column, reason, value = self._rows[i]
            out.append(
                Reject(
                    layer=self.layer,
                    file=self.file,
                    row=int(self.row_numbers[i]),
                    column=column,
                    feature_id=self.ids[i] if i < len(self.ids) else None,
                    reason=reason,
                    value=value,
                )
            )
        return out

"""Notes: what a reader noticed, assumed or repaired in an input, for the user to see.

A reject (:mod:`geo.rejects`) is a row that was not used; a note is about a whole input or a
column: coordinates read with their axes swapped, a flow column read as US gpm, 12 placeholder ids
replaced. Readers return their notes with their result and log each one; the reports show them
in the data-quality section.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal

NoteLevel = Literal["info", "warning"]


@dataclass(frozen=True)
class Note:
    """One thing a reader noticed about an input.

    Attributes
    ----------
    input
        The file (or ``osm``) the note is about.
    level
        ``"warning"``: a guess or a repair the user should check; ``"info"``: for the record.
    message
        What was found, what was done, and how to say otherwise (the CLI option).
    count
        How many rows it concerns, when it concerns rows.
    column
        The column concerned, if one can be named.
    label
        A key the reports translate the note by (``qm.<label>`` in :mod:`reports.i18n`, with
        ``{count}``), for notes every run may raise; without one the message is shown as is.
    """

    input: str
    level: NoteLevel
    message: str
    count: int | None = None
    column: str | None = None
    label: str | None = None

    def as_dict(self) -> dict[str, object]:
        """The note as a plain dict (keys ``input``, ``level``, ``message``, ``count``, ``column``,
        and ``label`` when it has one)."""
        out = asdict(self)
        if self.label is None:
            del out["label"]
        return out


class NoteList:
    """Collects the notes of one reader and logs each one as it is added."""

    def __init__(self, input_name: str, logger: logging.Logger) -> None:
        self.input = input_name
        self._logger = logger
        self.notes: list[Note] = []

    def warn(self, message: str, *, count: int | None = None, column: str | None = None) -> None:
        """Add a warning (logged with ``logging.warning``)."""
        self.notes.append(Note(self.input, "warning", message, count, column))
        self._logger.warning("%s: %s", self.input, message)

    def info(self, message: str, *, count: int | None = None, column: str | None = None) -> None:
        """Add an informational note (logged at INFO)."""
        self.notes.append(Note(self.input, "info", message, count, column))
        self._logger.info("%s: %s", self.input, message)

"""The one bounding-box type: :class:`BBox` and its one parser, :func:`parse_bbox`.

A box is always ``west, south, east, north`` in WGS84 degrees (longitude first: the order of
GeoJSON, OGC API ``bbox=`` (CRS84) and ``--bbox``). It is never in metres of the working CRS and
never in GCJ-02 / BD-09 (the coordinates Chinese web maps show are shifted by up to ~700 m:
convert them with :func:`geo.crs.gcj02_to_wgs84` first).

The rules, the same for the CLI, the HTTP API and the online download:

* four numbers separated by commas (spaces around them are fine), all finite;
* longitudes (west, east) in [-180, 180], latitudes (south, north) in [-90, 90];
* south < north; west < east, except where a box across the antimeridian is accepted
  (``antimeridian=True``: then west > east means "from west eastwards across 180°");
  a box of zero width or height is refused.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

from geo.errors import ConfigError

#: What a box's numbers are (said in every error message).
CRS_NOTE = "west,south,east,north in WGS84 degrees (longitude first)"


class BBox(NamedTuple):
    """A bounding box ``(west, south, east, north)`` in WGS84 degrees.

    A tuple, so it unpacks and compares like the 4-tuples it replaces. Build one with
    :func:`parse_bbox` (text) or :meth:`BBox.of` (numbers), which check the rules.
    """

    west: float
    south: float
    east: float
    north: float

    @property
    def crosses_antimeridian(self) -> bool:
        """Whether the box runs from ``west`` eastwards across 180° to ``east`` (west > east)."""
        return self.west > self.east

    @classmethod
    def of(cls, values: Iterable[float], *, where: str = "bbox", antimeridian: bool = False) -> BBox:
        """A checked box from four numbers (``west, south, east, north``).

        Parameters
        ----------
        values
            Four numbers.
        where
            Where the box came from, for the message (``"--bbox"``, ``"bbox query parameter"``).
        antimeridian
            Accept west > east as a box across the antimeridian.

        Raises
        ------
        geo.errors.ConfigError
            A rule of the module docstring is broken; the message says which and what to give.
        """
        numbers = tuple(float(v) for v in values)
        if len(numbers) != 4:
            raise ConfigError(f"{where}: give four numbers {CRS_NOTE}, got {len(numbers)}")
        west, south, east, north = numbers
        if not all(math.isfinite(v) for v in numbers):
            raise ConfigError(f"{where}: every value must be a finite number ({CRS_NOTE})")
        if not (-90 <= south <= 90 and -90 <= north <= 90):
            swapped = -90 <= west <= 90 and -90 <= east <= 90
            hint = "; the order looks like latitude first: give longitude first" if swapped else (
                "; values beyond degrees look like metres of a projected CRS: give WGS84 degrees")
            raise ConfigError(f"{where}: latitudes (south, north) must lie in [-90, 90]{hint} ({CRS_NOTE})")
        if not (-180 <= west <= 180 and -180 <= east <= 180):
            raise ConfigError(
                f"{where}: longitudes (west, east) must lie in [-180, 180]; values beyond degrees "
                f"look like metres of a projected CRS: give WGS84 degrees ({CRS_NOTE})"
            )
        if south >= north:
            raise ConfigError(f"{where}: south ({south:g}) must be below north ({north:g}) ({CRS_NOTE})")
        if west == east or (west > east and not antimeridian):
            across = "" if antimeridian else " (a box across the antimeridian is not supported here)"
            raise ConfigError(
                f"{where}: west ({west:g}) must be less than east ({east:g}){across} ({CRS_NOTE})"
            )
        return cls(west, south, east, north)


def parse_bbox(text: str, *, where: str = "bbox", antimeridian: bool = False) -> BBox:
    """Parse ``"west,south,east,north"`` (WGS84 degrees) into a checked :class:`BBox`.

    Parameters
    ----------
    text
        Four comma-separated numbers.
    where
        Where the text came from, named in the message (``"--bbox"``, ``"bbox query parameter"``).
    antimeridian
        Accept west > east as a box across the antimeridian (OGC API – Features 7.15.3).

    Returns
    -------
    BBox

    Raises
    ------
    geo.errors.ConfigError
        Not four numbers, or a rule of :meth:`BBox.of` broken; the message quotes the text.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise ConfigError(f"{where}={text!r}: give four numbers {CRS_NOTE}, e.g. 24.93,60.16,24.96,60.18")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{where}={text!r}: every value must be a number ({CRS_NOTE})") from None
    return BBox.of(numbers, where=f"{where}={text!r}", antimeridian=antimeridian)

"""Hydrant flow and pressure columns: numbers, units, and units guessed by plausibility.

A unit is taken, in this order, from the user (``--hydrant-units flow=gpm,pressure=psi``), from
the cell (``0.35MPa``, ``15 L/s``), from the header (``压力(kPa)``, ``FLOW_GPM``) and, for a
column whose header and cells carry none, from the values themselves:

============  =========================  =====================  ============================
quantity      default unit, kept when    candidate units         a candidate is chosen when
              the median is within       (in this order)         its median lies within
============  =========================  =====================  ============================
flow          L/s: 2 to 150 L/s          L/min, m³/h, US gpm     5 to 100 L/s
pressure      MPa: 0.05 to 1.6 MPa       kPa, bar, psi           0.1 to 1.0 MPa
============  =========================  =====================  ============================

The windows are those of real hydrants: GB 50974 asks 10–15 L/s per hydrant and at least 0.1 MPa;
NFPA 291 classes run from under 500 to over 1,500 gpm (32–95 L/s); mains run at 0.2–0.8 MPa.
When several candidates fit (a median of 1,100 is 18 L/s as L/min and 69 L/s as gpm), data in
the Americas take US gpm and psi first. Every guess is a warning that names the other readings
and the option that overrides it; converted values beyond any hydrant (flow above 500 L/s,
pressure above 3 MPa) are left empty with a warning, since they would otherwise count as water.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geo._tables import blank_cell, is_missing, nfkc
from geo.errors import ConfigError
from geo.notes import NoteList

Quantity = Literal["flow", "pressure"]

_LPS_PER_GPM = 3.785411784 / 60.0
_MPA_PER_PSI = 0.006894757293168361


@dataclass(frozen=True)
class _Spec:
    base: str  # the unit stored: L/s or MPa
    units: dict[str, float]  # unit name -> factor to the base unit
    aliases: dict[str, str]  # unit text (normalised) -> unit name
    keep: tuple[float, float]  # medians plausible in the default unit
    window: tuple[float, float]  # medians a guessed unit must give
    order: tuple[str, ...]  # candidates, elsewhere
    order_americas: tuple[str, ...]  # candidates, in the Americas
    cap: float  # above this (base unit) a value is no hydrant's


_SPECS: dict[str, _Spec] = {
    "flow": _Spec(
        base="L/s",
        units={"L/s": 1.0, "L/min": 1.0 / 60.0, "m³/h": 1.0 / 3.6, "gpm": _LPS_PER_GPM},
        aliases={
            **dict.fromkeys(["l/s", "lps", "升/秒", "l/sec"], "L/s"),
            **dict.fromkeys(["l/min", "lpm", "lmin", "升/分", "升/分钟"], "L/min"),
            **dict.fromkeys(["m3/h", "m3h", "m3/hr", "cmh", "立方米/小时", "方/小时"], "m³/h"),
            **dict.fromkeys(["gpm", "usgpm", "gal/min", "galmin", "gallons/min"], "gpm"),
        },
        keep=(2.0, 150.0),
        window=(5.0, 100.0),
        order=("L/min", "m³/h", "gpm"),
        order_americas=("gpm", "L/min", "m³/h"),
        cap=500.0,
    ),
    "pressure": _Spec(
        base="MPa",
        units={"MPa": 1.0, "kPa": 0.001, "bar": 0.1, "psi": _MPA_PER_PSI},
        aliases={
            **dict.fromkeys(["mpa", "兆帕"], "MPa"),
            **dict.fromkeys(["kpa", "千帕"], "kPa"),
            "bar": "bar",
            **dict.fromkeys(["psi", "psig", "lb/in2", "磅"], "psi"),
        },
        keep=(0.05, 1.6),
        window=(0.1, 1.0),
        order=("kPa", "bar", "psi"),
        order_americas=("psi", "kPa", "bar"),
        cap=3.0,
    ),
}

_NUMBER = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*(.*)")


def _norm_unit(text: str) -> str:
    return nfkc(text).lower().replace(" ", "").replace("³", "3").replace("^", "")


def unit_in(text: str, quantity: Quantity) -> str | None:
    """The unit named in a header or after a number (``压力(kPa)``, ``flow_gpm``), if any."""
    u = _norm_unit(text)
    # longest aliases first, so "l/min" is not read as "l/s"-like text and "kpa" wins over "pa"
    for alias, unit in sorted(_SPECS[quantity].aliases.items(), key=lambda kv: -len(kv[0])):
        if alias in u:
            return unit
    return None


def parse_units_spec(spec: str | None, *, option: str = "--hydrant-units") -> dict[str, str]:
    """Parse ``flow=gpm,pressure=psi`` into ``{"flow": "gpm", "pressure": "psi"}``.

    Raises
    ------
    ConfigError
        An item without ``=``, a quantity other than flow/pressure, or an unknown unit.
    """
    out: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        name, sep, unit = item.partition("=")
        name = name.strip().lower()
        if not sep:
            raise ConfigError(f"{option} {spec!r}: write each item as QUANTITY=UNIT, e.g. flow=gpm")
        if name not in _SPECS:
            raise ConfigError(f"{option}: unknown quantity {name!r}; use flow or pressure")
        found = _SPECS[name].aliases.get(_norm_unit(unit.strip()))
        if found is None:
            known = ", ".join(_SPECS[name].units)
            raise ConfigError(f"{option}: unknown {name} unit {unit.strip()!r}; use one of {known}")
        out[name] = found
    return out


def _quantity(value: object) -> tuple[float, str]:
    """A number and the unit text written after it; NaN when empty or unreadable."""
    if is_missing(value) or isinstance(value, bool):
        return math.nan, ""
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value), ""
    text = nfkc(str(value)).strip().lower().replace(",", ".")
    m = _NUMBER.fullmatch(text)
    if m is None:
        return math.nan, ""
    return float(m.group(1)), m.group(2).replace(" ", "")


def _guess(median: float, spec: _Spec, americas: bool) -> tuple[str | None, list[str]]:
    """The unit chosen for a column without one, and every unit that would fit."""
    default = next(iter(spec.units))
    if spec.keep[0] <= median <= spec.keep[1]:
        return default, [default]
    order = spec.order_americas if americas else spec.order
    fits = [u for u in order if spec.window[0] <= median * spec.units[u] <= spec.window[1]]
    return (fits[0] if fits else None), fits


def read_quantities(
    series: pd.Series,
    *,
    header: str,
    quantity: Quantity,
    notes: NoteList,
    override: str | None = None,
    americas: bool = False,
) -> NDArray[np.float64]:
    """A flow (L/s) or pressure (MPa) column as numbers in the base unit; NaN when unknown.

    Parameters
    ----------
    series
        The raw cells.
    header
        The column header (may name the unit).
    quantity
        ``"flow"`` or ``"pressure"``.
    notes
        Where the warnings go (values unread, a unit guessed, values beyond any hydrant).
    override
        The unit the user stated; it wins over the header and the guess (a unit written in a
        cell still applies to that cell).
    americas
        The rows lie in the Americas: US gpm and psi are tried first when guessing.
    """
    spec = _SPECS[quantity]
    option = "--hydrant-units"
    numbers = np.full(len(series), np.nan)
    cell_factor = np.full(len(series), np.nan)
    unread = 0
    for i, v in enumerate(series.to_numpy()):
        number, unit_text = _quantity(v)
        if math.isnan(number):
            unread += not blank_cell(v)
            continue
        if unit_text:
            unit = unit_in(unit_text, quantity)
            if unit is None:
                unread += 1
                continue
            cell_factor[i] = spec.units[unit]
        numbers[i] = number
    if unread:
        notes.warn(
            f"{unread} {quantity} values in column {header!r} could not be read; left empty",
            count=unread,
            column=header,
        )
    bare = np.isfinite(numbers) & np.isnan(cell_factor)
    unit = override or unit_in(header, quantity)
    if unit is None and bare.any():
        unit = _guess_unit(numbers[bare], spec, header=header, quantity=quantity, notes=notes,
                           americas=americas, option=option)
    factor = spec.units[unit or next(iter(spec.units))]
    out = numbers * np.where(np.isnan(cell_factor), factor, cell_factor)
    out[out < 0] = np.nan
    beyond = np.isfinite(out) & (out > spec.cap)
    if beyond.any():
        notes.warn(
            f"{int(beyond.sum())} {quantity} values in column {header!r} are above "
            f"{spec.cap:g} {spec.base} once read as {unit or 'written'} (largest "
            f"{np.nanmax(out):,.4g} {spec.base}), more than any hydrant gives; left empty "
            "(not known). Check those rows",
            count=int(beyond.sum()),
            column=header,
        )
        out[beyond] = np.nan
    return out


def _guess_unit(
    bare: NDArray[np.float64],
    spec: _Spec,
    *,
    header: str,
    quantity: str,
    notes: NoteList,
    americas: bool,
    option: str,
) -> str | None:
    default = next(iter(spec.units))
    median = float(np.median(bare))
    chosen, fits = _guess(median, spec, americas)
    if chosen == default:
        return default
    lo, hi = spec.keep
    head = (
        f"column {header!r} gives no {quantity} unit and its median {median:,.4g} is implausible "
        f"as {default} (hydrants give {lo:g}–{hi:g} {spec.base})"
    )
    if chosen is None:
        notes.warn(
            f"{head}, and no other unit fits either; read as {default}. Check the column, or "
            f"state the unit with {option} {quantity}=<unit>",
            count=len(bare),
            column=header,
        )
        return default
    others = [u for u in fits if u != chosen]
    also = (
        f" ({', '.join(others)} would also fit: "
        + ", ".join(f"{median * spec.units[u]:.3g} {spec.base}" for u in others)
        + ")"
        if others
        else ""
    )
    notes.warn(
        f"{head}; read as {chosen} (median {median * spec.units[chosen]:.3g} {spec.base}){also}. "
        f"If that is wrong, state the unit with {option} {quantity}=<unit> "
        f"({', '.join(spec.units)})",
        count=len(bare),
        column=header,
    )
    return chosen


def parse_diameters(series: pd.Series) -> NDArray[np.float64]:
    """Nominal diameters in mm from ``100``, ``DN100``, ``φ100``; NaN when unreadable."""
    out = np.full(len(series), np.nan)
    for i, v in enumerate(series.to_numpy()):
        if is_missing(v):
            continue
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            out[i] = float(v) if v > 0 else math.nan
            continue
        text = nfkc(str(v)).strip().lower()
        m = re.match(r"(?:dn|φ|ϕ|ø|Φ)?\s*(\d+(?:\.\d+)?)", text)
        if m:
            out[i] = float(m.group(1))
    return out


def units_of(units: Mapping[str, str] | None) -> dict[str, str]:
    """Validate a ``units`` mapping given from Python (same names as :func:`parse_units_spec`)."""
    if not units:
        return {}
    return parse_units_spec(",".join(f"{k}={v}" for k, v in units.items()), option="units=")

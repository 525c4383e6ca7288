"""Hydrant flow-test records from a utility's or brigade's file (CSV / XLSX), as a clean table.

A row is one flow test (NFPA 291 / AWWA M17; in China 消火栓出水测试): the hydrant tested, when,
the static pressure before the draw, the residual pressure during it, and the flow — written
directly, or as the pitot (flowing) pressure at the outlet with the outlet's diameter, from which
the flow follows by NFPA 291's formula (below). Headers may be Chinese or English (``消火栓编号``,
``测试日期``, ``静压(MPa)``, ``余压``, ``流量 L/s``, ``pitot_psi``, ``Static PSI``); pressures may be
MPa, kPa, bar or psi and flows L/s, L/min, m³/h or US gpm, named in the header or the cell or,
for a bare column, guessed from the values with a warning (:mod:`geo._quantities`).

A bad row goes to the rejects with its row, column and what to do; good rows are kept.

Flow from a pitot reading (NFPA 291 4.10, in US units): Q [gpm] = 29.84 · c · d² · √p with d the
outlet's inside diameter in inches, p the pitot pressure in psi and c the outlet coefficient
(0.90 for a smooth, rounded outlet, the usual case; pass another with ``outlet_coefficient``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geo._quantities import Quantity, parse_diameters, read_quantities, units_of
from geo._tables import cell_text, find_header, is_missing, nfkc, read_any
from geo.errors import InputFileError
from geo.notes import Note, NoteList
from geo.rejects import Reject, RowRejects

log = logging.getLogger(__name__)

LAYER = "flow_tests"

FLOW_TEST_COLUMNS = [
    "hydrant_id", "tested_at", "static_mpa", "residual_mpa", "pitot_mpa", "flow_lps", "source_file",
    "source_row",
]
"""Columns of :attr:`FlowTestRead.tests`."""

_FIELDS: dict[str, tuple[str, ...]] = {
    "hydrant_id": ("消火栓编号", "编号", "栓号", "设施编号", "hydrantid", "hydrant", "hydrantno",
                   "hydrantnumber", "id", "assetid", "facilityid", "testhydrant", "residualhydrant"),
    "tested_at": ("测试日期", "测试时间", "试验日期", "试验时间", "检测日期", "检测时间", "日期", "时间",
                  "testedat", "testdate", "testtime", "dateoftest", "date", "datetime", "time"),
    "static": ("静压", "静水压力", "静态压力", "静压力", "static", "staticpressure", "staticpres"),
    "residual": ("余压", "剩余压力", "残余压力", "残压", "动压", "测试压力", "residual",
                 "residualpressure", "residualpres"),
    "pitot": ("皮托压力", "皮托管压力", "出口压力", "流动压力", "出流压力", "pitot", "pitotpressure",
              "flowingpressure", "flowpressure"),
    "flow": ("流量", "出水量", "测试流量", "出水流量", "flow", "flowrate", "testflow", "observedflow",
             "totalflow", "q"),
    "outlet_mm": ("出口直径", "出水口直径", "出口口径", "outletdiameter", "outlet", "nozzle",
                  "nozzlediameter"),
}
_NFPA_GPM = 29.84
_LPS_PER_GPM = 3.785411784 / 60.0
_PSI_PER_MPA = 1.0 / 0.006894757293168361


@dataclass(frozen=True)
class FlowTestRead:
    """The result of reading a flow-test file.

    Attributes
    ----------
    tests
        One row per usable test, columns :data:`FLOW_TEST_COLUMNS` (pressures MPa, flow L/s,
        ``tested_at`` a timestamp; ``pitot_mpa`` NaN when not given).
    rejects
        Rows not used, each with its row, column and what to do.
    notes
        Units guessed, values unread (whole-column remarks).
    """

    tests: pd.DataFrame
    rejects: list[Reject]
    notes: list[Note]


def read_flow_tests(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    outlet_coefficient: float = 0.90,
) -> FlowTestRead:
    """Read hydrant flow tests from a CSV or XLSX file.

    Parameters
    ----------
    path
        The file.
    columns
        Field → header for headers that are not recognised, fields ``hydrant_id``, ``tested_at``,
        ``static``, ``residual``, ``pitot``, ``flow``, ``outlet_mm``.
    units
        ``{"pressure": "psi", "flow": "gpm"}`` when the file does not say and the guess is wrong.
    outlet_coefficient
        NFPA 291 outlet coefficient for flows computed from pitot readings.

    Raises
    ------
    InputFileError
        The file cannot be read, or it lacks a column the tests need (hydrant id, date, static
        and residual pressure, and flow or pitot pressure with the outlet diameter).
    """
    path = Path(path)
    fname = str(path)
    raw = read_any(path, fields=_FIELDS, columns=columns)
    mapping = _map(raw.headers, columns, fname)
    notes = NoteList(fname, log)
    frame = raw.frame
    n = len(frame)
    ids = cell_text(frame[mapping["hydrant_id"]]).tolist()
    rejects = RowRejects(layer=LAYER, file=fname, ids=ids, blank=raw.blank, row_numbers=raw.row_numbers)
    override = units_of(units)

    def quantity(field: str, kind: Quantity) -> np.ndarray:
        if field not in mapping:
            return np.full(n, np.nan)
        return read_quantities(frame[mapping[field]], header=mapping[field], quantity=kind,
                               notes=notes, override=override.get(kind))

    static, residual = quantity("static", "pressure"), quantity("residual", "pressure")
    pitot, flow = quantity("pitot", "pressure"), quantity("flow", "flow")
    outlet = parse_diameters(frame[mapping["outlet_mm"]]) if "outlet_mm" in mapping else np.full(n, np.nan)
    from_pitot = np.isnan(flow) & np.isfinite(pitot) & np.isfinite(outlet)
    flow = np.where(from_pitot, pitot_flow_lps(pitot, outlet, coefficient=outlet_coefficient), flow)
    if from_pitot.any():
        notes.info(f"{int(from_pitot.sum())} flows computed from the pitot pressure and outlet diameter "
                   f"(NFPA 291, c = {outlet_coefficient:g})", count=int(from_pitot.sum()))
    tested_at = _dates(frame[mapping["tested_at"]])
    values = {f: frame[h].tolist() for f, h in mapping.items()}
    _reject_rows(rejects, mapping, values, ids=ids, tested_at=tested_at, static=static,
                 residual=residual, flow=flow)
    keep = ~rejects.rejected_mask(n) & ~raw.blank
    tests = pd.DataFrame({
        "hydrant_id": np.array(ids, dtype=object)[keep],
        "tested_at": tested_at[keep],
        "static_mpa": static[keep],
        "residual_mpa": residual[keep],
        "pitot_mpa": pitot[keep],
        "flow_lps": flow[keep],
        "source_file": fname,
        "source_row": raw.row_numbers[keep],
    }, columns=FLOW_TEST_COLUMNS).reset_index(drop=True)
    records = rejects.records()
    log.info("%s: %d flow tests read, %d rows rejected", fname, len(tests), len(records))
    return FlowTestRead(tests, records, notes.notes)


def pitot_flow_lps(pitot_mpa: np.ndarray, outlet_mm: np.ndarray, *, coefficient: float = 0.90) -> np.ndarray:
    """NFPA 291 outlet flow, L/s: 29.84 · c · d² · √p gpm with d in inches and p in psi."""
    with np.errstate(invalid="ignore"):
        gpm = _NFPA_GPM * coefficient * (outlet_mm / 25.4) ** 2 * np.sqrt(pitot_mpa * _PSI_PER_MPA)
    return np.asarray(gpm * _LPS_PER_GPM, dtype=float)


def _map(headers: list[str], columns: Mapping[str, str] | None, fname: str) -> dict[str, str]:
    mapping: dict[str, str] = {}
    by_norm = {nfkc(h).strip(): h for h in headers}
    for field, header in (columns or {}).items():
        if field not in _FIELDS:
            raise InputFileError(f"{fname}: columns names unknown field {field!r}; use {', '.join(_FIELDS)}")
        found = by_norm.get(nfkc(str(header)).strip())
        if found is None:
            raise InputFileError(f"{fname}: columns maps {field!r} to {header!r}, which is not in the file; "
                                 f"its headers: {', '.join(headers)}")
        mapping[field] = found
    for field, names in _FIELDS.items():
        if field not in mapping:
            found = find_header([h for h in headers if h not in mapping.values()], names)
            if found is not None:
                mapping[field] = found
    missing = [f for f in ("hydrant_id", "tested_at", "static", "residual") if f not in mapping]
    if "flow" not in mapping and not {"pitot", "outlet_mm"} <= set(mapping):
        missing.append("flow (or pitot and outlet_mm)")
    if missing:
        raise InputFileError(
            f"{fname}: no column found for {', '.join(missing)}; its headers: {', '.join(headers)}. "
            "Name them e.g. 消火栓编号, 测试日期, 静压(MPa), 余压(MPa), 流量(L/s), or map them with "
            "columns={'static': '<header>', ...}"
        )
    return mapping


def _dates(series: pd.Series) -> pd.Series:
    def clean(v: object) -> object:
        if is_missing(v) or not isinstance(v, str):
            return None if is_missing(v) else v
        t = nfkc(v).strip()
        t = t.replace("年", "-").replace("月", "-").replace("日", " ").replace("/", "-").replace(".", "-")
        return t.strip() or None

    cleaned = pd.Series([clean(v) for v in series.to_numpy()], dtype=object)
    return pd.to_datetime(cleaned, errors="coerce", format="mixed").reset_index(drop=True)


def _reject_rows(
    rejects: RowRejects,
    mapping: Mapping[str, str],
    values: Mapping[str, list[object]],
    *,
    ids: list[str],
    tested_at: pd.Series,
    static: np.ndarray,
    residual: np.ndarray,
    flow: np.ndarray,
) -> None:
    """Reject the rows a test cannot be used from, first problem first."""
    rejects.add(np.array([not i for i in ids]), mapping["hydrant_id"],
                "no hydrant id; write the tested hydrant's id (编号) as in the hydrant layer",
                values["hydrant_id"])
    rejects.add(tested_at.isna().to_numpy(), mapping["tested_at"],
                "no readable test date; write it as 2024-05-01 (or 2024年5月1日)", values["tested_at"])
    rejects.add(np.isnan(static), mapping["static"],
                "no readable static pressure; write it with its unit, e.g. 0.35 MPa or 50 psi",
                values["static"])
    rejects.add(np.isnan(residual), mapping["residual"],
                "no readable residual pressure; write it with its unit, e.g. 0.25 MPa or 35 psi",
                values["residual"])
    with np.errstate(invalid="ignore"):
        rejects.add(residual >= static, mapping["residual"],
                    "residual pressure not below the static pressure: the test shows no drop and cannot be "
                    "extrapolated; check that the static and residual columns are not swapped",
                    values["residual"])
        column = mapping.get("flow", mapping.get("pitot"))
        rejects.add(~(flow > 0), column,
                    "no flow (or pitot pressure with outlet diameter) above 0; write the flow with its unit, "
                    "e.g. 25 L/s or 1000 gpm", values.get("flow", values.get("pitot", [None] * len(ids))))

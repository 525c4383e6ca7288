"""Reading hydrant flow-test files: Chinese and US headers, units, pitot flows, rejects."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from geo.errors import InputFileError
from geo.flow_tests import FLOW_TEST_COLUMNS, pitot_flow_lps, read_flow_tests

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures"
PSI = 0.006894757293168361  # MPa
GPM = 3.785411784 / 60.0  # L/s


def test_chinese_file_with_title_row_units_in_cells_and_bad_rows() -> None:
    read = read_flow_tests(FIXTURES / "flow_tests_zh.csv")
    tests = read.tests
    assert list(tests.columns) == FLOW_TEST_COLUMNS
    # 4 good rows of 8 (row 9 is blank: skipped, not rejected)
    assert tests["hydrant_id"].tolist() == ["XJK-001", "XJK-002", "XJK-003", "XJK-001"]
    assert tests["tested_at"].tolist()[0] == pd.Timestamp("2024-05-12")  # 2024年5月12日
    assert tests["tested_at"].tolist()[2] == pd.Timestamp("2024-06-01")  # 2024/06/01
    # XJK-003: "380 kPa" = 0.38 MPa, "1500 L/min" = 25 L/s (units written in the cells)
    row = tests.iloc[2]
    assert row["static_mpa"] == pytest.approx(0.38) and row["flow_lps"] == pytest.approx(25.0)
    assert tests["source_row"].tolist() == [1, 2, 3, 8]
    by_row = {r.row: r for r in read.rejects}
    assert sorted(by_row) == [4, 5, 6, 7]
    assert by_row[4].column == "消火栓编号" and "hydrant id" in by_row[4].reason
    assert by_row[5].value == "不详" and "2024-05-01" in by_row[5].reason
    assert by_row[6].column == "余压(MPa)" and "swapped" in by_row[6].reason
    assert by_row[7].column == "流量(L/s)" and "flow" in by_row[7].reason
    assert all(r.layer == "flow_tests" for r in read.rejects)


def test_us_file_in_psi_and_gpm_with_a_pitot_row() -> None:
    read = read_flow_tests(FIXTURES / "flow_tests_us.csv")
    tests = read.tests.set_index("hydrant_id")
    assert list(tests.index) == ["H-100", "H-101"]
    # 72 psi = 72 · 0.0068948 = 0.49642 MPa; 1000 gpm = 63.09 L/s (units from the headers)
    assert tests.loc["H-100", "static_mpa"] == pytest.approx(72 * PSI)
    assert tests.loc["H-100", "flow_lps"] == pytest.approx(1000 * GPM)
    # H-101 has no flow: NFPA 291 from the pitot reading, 29.84 · 0.90 · 2.5² · √16 = 671.4 gpm
    assert tests.loc["H-101", "flow_lps"] == pytest.approx(29.84 * 0.9 * 6.25 * 4 * GPM)
    assert tests.loc["H-101", "flow_lps"] == pytest.approx(42.36, abs=0.01)
    reasons = {r.feature_id: r for r in read.rejects}
    assert reasons["H-102"].column == "Residual PSI"  # 60 psi static, 60 psi residual: no drop
    assert reasons["H-103"].column == "Static PSI" and reasons["H-103"].value == "abc"
    assert any("could not be read" in n.message for n in read.notes)


def test_xlsx_with_other_headers_and_stated_units(tmp_path: Path) -> None:
    # the US rows as an Excel sheet, headers without units and the units stated by the caller
    with open(FIXTURES / "flow_tests_us.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[0] = ["hydrant", "date", "static", "residual", "pitot", "outlet", "flow"]
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append([float(c) if c.replace(".", "").isdigit() else c for c in r])
    path = tmp_path / "tests.xlsx"
    wb.save(path)
    read = read_flow_tests(path, units={"pressure": "psi", "flow": "gpm"})
    assert read.tests["hydrant_id"].tolist() == ["H-100", "H-101"]
    assert read.tests["residual_mpa"].iloc[0] == pytest.approx(58 * PSI)


def test_missing_columns_and_explicit_mapping(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("编号,日期,P1,P2,Q\nA,2024-01-01,0.4,0.3,20\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="static, residual"):
        read_flow_tests(path)
    read = read_flow_tests(path, columns={"static": "P1", "residual": "P2", "flow": "Q"})
    assert read.tests["flow_lps"].tolist() == [20.0] and not read.rejects
    with pytest.raises(InputFileError, match="not in the file"):
        read_flow_tests(path, columns={"static": "nope"})


def test_pitot_flow_formula() -> None:
    # 2.5 in outlet (63.5 mm), 10 psi: 29.84 · 0.9 · 6.25 · √10 = 530.8 gpm = 33.49 L/s
    out = pitot_flow_lps(np.array([10 * PSI]), np.array([63.5]))
    assert out[0] == pytest.approx(530.8 * GPM, rel=1e-3)

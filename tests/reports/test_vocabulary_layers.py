"""Every coded value a layer, the findings or a district table can hold has its two labels and,
where a map shows it, a legend entry (geo.vocabulary is the one table of them)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from geo import vocabulary
from geo.agency import read_agency_table
from geo.layers import Layers, build_layers, layer_counts
from geo.osm import read_osm
from geo.presets import load_preset
from reports import map_layers
from reports import map_style as fmap
from reports.districts import district_summary
from reports.i18n import LABELS
from routing.analysis import Analysis, analyze

FIXTURES = Path(__file__).resolve().parents[2] / "data" / "fixtures"

#: Which vocabulary each coded column of each layer holds (``status`` and ``kind`` mean one
#: thing on hydrants, another on blockages). Written here by hand, not read from the module.
CODED: dict[str, dict[str, str]] = {
    "hydrants": {"status": "hydrant_status", "status_source": "status_source",
                 "kind": "hydrant_kind", "source": "feature_source"},
    "buildings": {"high_rise_class": "building_class", "use": "building_use"},
    "roads": {"width_source": "width_source"},
    "stations": {"source": "feature_source"},
    "high_rise_access": {"high_rise_class": "building_class", "use": "building_use",
                         "layout": "lane_layout"},
    "dead_end_lanes": {"verdict": "dead_end_verdict"},
    "blockages_ranked": {"kind": "blockage_kind", "status": "ledger_status",
                         "effect": "blockage_effect", "width_basis": "width_basis"},
    "proposed_hydrants": {"side": "road_side"},
    "findings": {"severity": "severity", "confidence": "confidence"},
    "districts": {"grade": "district_grade"},
}
#: Analysis layers that carry an input layer's columns.
SAME_AS = {"hydrants_analysis": "hydrants", "buildings_analysis": "buildings",
           "roads_analysis": "roads"}


@dataclasses.dataclass(frozen=True)
class Run:
    layers: Layers
    analysis: Analysis


@pytest.fixture(scope="module")
def run(helsinki_pbf: Path) -> Run:
    """The embedded default with every hydrant status and the blockage fixture's 13 reports."""
    layers = build_layers(read_osm(helsinki_pbf))
    hyd = layers.hydrants.copy()
    hyd.loc[0, "status"] = "out_of_service"
    hyd.loc[1:3, "status"] = "low_pressure"
    hyd.loc[4:5, "status"] = "unknown"
    layers = dataclasses.replace(layers, hydrants=hyd)
    reports = read_agency_table(FIXTURES / "blockages_helsinki.csv", layer="blockages").points
    analysis = analyze(layers, preset=load_preset("cn-gb"), blockages=reports.to_crs(layers.crs))
    return Run(layers, analysis)


def _tables(run: Run) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {
        name: getattr(run.layers, name) for name in ("hydrants", "buildings", "roads", "stations")
    }
    tables.update(run.analysis.layers)
    tables["findings"] = run.analysis.findings
    tables["districts"] = district_summary(run.layers, run.analysis)
    return tables


def _values(frame: pd.DataFrame, column: str) -> set[str]:
    col = frame[column]
    return {str(v) for v in col.dropna().tolist() if str(v) != ""}


def test_every_emitted_value_has_labels(run: Run) -> None:
    from geo.catalog import CATALOG

    assert set(CODED) | set(SAME_AS) <= set(CATALOG)  # a misspelt table is never checked
    tables = _tables(run)
    seen: dict[str, set[str]] = {}
    for name, frame in tables.items():
        coded = CODED.get(SAME_AS.get(name, name), {})
        for column, vocab_name in coded.items():
            if column not in frame.columns:
                continue
            vocab = vocabulary.VOCABULARIES[vocab_name]
            values = _values(frame, column)
            if name == "districts":
                values -= {"not_computed"}  # not graded: shown as not computed, never a grade
            unknown = values - set(vocab.codes)
            assert not unknown, f"{name}.{column}: {sorted(unknown)} have no label in {vocab_name}"
            seen.setdefault(vocab_name, set()).update(values)
    # the run reached the vocabularies that matter most, with more than one value each
    assert seen["hydrant_status"] == set(vocabulary.HYDRANT_STATUSES)
    assert {"full", "rejected"} <= seen["blockage_effect"]
    assert len(seen["building_class"]) >= 2 and seen["severity"] == {"shall", "should"}


def test_every_emitted_value_has_a_report_label(run: Run) -> None:
    """The XLSX and PDF translate coded values by their code (reports.i18n.label)."""
    tables = _tables(run)
    for name, column in (("hydrants", "status"), ("buildings", "high_rise_class"),
                         ("findings", "severity"), ("findings", "confidence"),
                         ("blockages_ranked", "kind"), ("blockages_ranked", "effect")):
        for code in _values(tables[name], column) - {"unknown"}:
            zh, en = LABELS[code]
            assert zh != code and en, (name, column, code)


def test_every_emitted_value_has_a_map_legend_entry(run: Run) -> None:
    tables = _tables(run)
    for status in _values(tables["hydrants"], "status"):
        assert fmap._HYDRANT_STYLE[status]["fillColor"]
        for lang in ("zh", "en"):
            label = fmap._TEXT[lang][f"hydrants.{status}"]
            assert vocabulary.HYDRANT_STATUS.label(status, lang) in label
    classes = _values(tables["buildings"], "high_rise_class") & set(vocabulary.HIGH_RISE_CLASSES)
    assert classes
    for cls in classes:
        assert fmap._COLOURS[cls] == vocabulary.BUILDING_CLASS.colour(cls)
        assert fmap._TEXT["zh"][cls] == vocabulary.BUILDING_CLASS.label(cls) + "建筑"
    for grade in vocabulary.DISTRICT_GRADES:
        assert map_layers._GRADE_COLOURS[grade] == vocabulary.DISTRICT_GRADE.colour(grade)


def test_summary_counts_every_status_under_a_labelled_key(run: Run) -> None:
    hydrants = layer_counts(run.layers)["hydrants"]
    # 6 changed above: 1 out of service, 3 low pressure, 2 unknown
    assert hydrants["out_of_service"] == 1 and hydrants["low_pressure"] == 3
    for status in vocabulary.HYDRANT_STATUSES:
        assert status in hydrants, status
        assert f"hydrants.{status}" in LABELS and f"hydrants_{status}" in LABELS


def test_popup_labels_come_from_the_vocabulary() -> None:
    """The folium map's popup words are the vocabulary's, in both languages."""
    for lang in ("zh", "en"):
        text = fmap._TEXT[lang]
        for prefix, vocab in fmap._VALUE_PREFIXES:
            for term in vocab.terms:
                assert text[f"{prefix}.{term.code}"] == term.label(lang)
    assert fmap._TEXT["zh"]["status.out_of_service"] == "停用"
    assert fmap._TEXT["zh"]["effect.narrowed"] == "变窄（可通行）"

"""One call for the reports of an analysed workspace: districts, XLSX and PDF.

:func:`build_reports` is what the CLI and the API call after :func:`routing.analysis.analyze`; it
writes ``districts.gpkg`` (the district summary with geometry), ``report.xlsx`` and ``report.pdf``
into ``out_dir`` and returns the ``districts`` section for ``summary.json``.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geo.catalog import LayerName
from geo.layers import Layers
from reports.budget import OutputBudget
from reports.district_report import one_district
from reports.districts import (
    DistrictInputs,
    DistrictOptions,
    aggregate_districts,
    district_of,
    grade_counts,
    report_units,
)
from reports.export import write_geopackage
from reports.i18n import check_lang, label
from reports.inputs import MapInputs, ReportInputs
from reports.pdf import write_report_pdf
from reports.present import summary_document
from reports.xlsx import write_report_xlsx
from routing.analysis import Analysis

log = logging.getLogger(__name__)

DISTRICTS_FILE = "districts.gpkg"
XLSX_FILE = "report.xlsx"
PDF_FILE = "report.pdf"


def _area_name(layers: Layers) -> str:
    name = Path(layers.source).name
    for suffix in (".gz", ".bz2", ".pbf", ".osm", ".xml"):
        name = name.removesuffix(suffix)
    return name or "FireReach"


def _with_district(frame: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = frame.copy()
    out["district"] = district_of(out, units).to_numpy()
    return out


def _maps_in(maps: MapInputs, units: gpd.GeoDataFrame, name: str) -> MapInputs:
    """The map layers cut to the report unit ``name`` (features placed by :func:`district_of`)."""

    def cut(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
        if frame is None:
            return None
        return frame.loc[(district_of(frame, units) == name).to_numpy()]

    return dataclasses.replace(
        maps, **{f.name: cut(getattr(maps, f.name)) for f in dataclasses.fields(maps)
                 if isinstance(getattr(maps, f.name), gpd.GeoDataFrame)}
    )


def _report_tables(
    layers: Layers,
    analysis: Analysis,
    units: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    *,
    inputs: DistrictInputs,
    blockages: gpd.GeoDataFrame | None,
    proposed: gpd.GeoDataFrame | None,
    budget_curve: pd.DataFrame | None,
    area_name: str,
) -> ReportInputs:
    """The whole area's report tables, each row placed in its report unit."""
    summary = summary_document(layers, analysis)
    blockages_d = _with_district(blockages, units) if blockages is not None else None
    proposed_d = _with_district(proposed, units) if proposed is not None else None
    maps = MapInputs(
        roads=analysis.layers[LayerName.ROADS_ANALYSIS], pieces=analysis.layers[LayerName.COVERAGE_PIECES],
        hydrants=analysis.layers[LayerName.HYDRANTS_ANALYSIS], stations=layers.stations,
    )
    return ReportInputs(
        summary=summary, districts=districts, findings=analysis.findings,
        underserved=_with_district(analysis.layers[LayerName.UNDERSERVED_SEGMENTS], units),
        buildings=_with_district(inputs.buildings, units), blockages=blockages_d,
        proposed=proposed_d, budget_curve=budget_curve, maps=maps, area_name=area_name,
    )


def _one_unit(
    t: ReportInputs, district: str, *, units: gpd.GeoDataFrame, analysis: Analysis
) -> ReportInputs:
    """The tables, maps and name narrowed to one report unit (:func:`one_district`)."""
    one = one_district(
        district, summary=t.summary, districts=t.districts,
        tables={"underserved": t.underserved, "buildings": t.buildings, "blockages": t.blockages,
                "proposed": t.proposed},
        spacing_districts=district_of(analysis.layers[LayerName.SPACING_GAPS], units).to_numpy(),
        findings=t.findings, budget_curve=t.budget_curve,
    )
    return ReportInputs(
        summary=one.summary, districts=one.districts, findings=one.findings,
        underserved=one.underserved, buildings=one.buildings, blockages=one.blockages,
        proposed=one.proposed, budget_curve=one.budget_curve,
        maps=_maps_in(t.maps, units, one.name) if t.maps is not None else None,
        area_name=f"{t.area_name} · {one.name}",
    )


def build_reports(
    layers: Layers,
    analysis: Analysis,
    *,
    out_dir: Path,
    lang: str = "zh",
    blockages: gpd.GeoDataFrame | None = None,
    proposed: gpd.GeoDataFrame | None = None,
    budget_curve: pd.DataFrame | None = None,
    area_name: str | None = None,
    options: DistrictOptions | None = None,
    district: str | None = None,
    budget: OutputBudget | None = None,
) -> dict[str, Any]:
    """Write the district summary, the XLSX and the PDF report of an analysed workspace.

    Parameters
    ----------
    layers
        The workspace layers.
    analysis
        Its network analysis.
    out_dir
        Folder for ``districts.gpkg``, ``report.xlsx`` and ``report.pdf``.
    lang
        ``"zh"`` (default) or ``"en"``.
    blockages
        Optional blockage points (working CRS): ``status`` and an impact column.
    proposed
        Optional proposed hydrants (working CRS): a cost and a gain column.
    budget_curve
        Optional cost/coverage steps (cumulative cost in yuan, coverage in %).
    area_name
        Name on the title page (default: the OSM file's name).
    options
        Report units and grading rule (default :class:`reports.districts.DistrictOptions`).
    district
        Report on this one unit only (its name or ``district_id``): units and grades are those
        of the whole area, every table, map and figure is the unit's own
        (:func:`reports.district_report.one_district`). Raises
        :class:`geo.errors.NotFoundError` naming the valid units when there is no such unit.
    budget
        Rows per XLSX sheet and district rows in the PDF (default
        :class:`reports.budget.OutputBudget`); longer tables keep their worst rows.

    Returns
    -------
    dict
        ``{"districts": {"total", "severe", "significant", "general", "unit", ...},
        "reports": {"districts", "xlsx", "pdf"}}`` (file names relative to ``out_dir``).
    """
    lg = check_lang(lang)
    options = options or DistrictOptions()
    budget = budget or OutputBudget()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    inputs = DistrictInputs.from_analysis(analysis, blockages=blockages, proposed=proposed)
    units = report_units(
        layers.districts, roads=inputs.roads,
        points=(inputs.hydrants, inputs.buildings, blockages, proposed), options=options,
    )
    t = _report_tables(
        layers, analysis, units, aggregate_districts(units, inputs, thresholds=options.thresholds),
        inputs=inputs, blockages=blockages, proposed=proposed, budget_curve=budget_curve,
        area_name=area_name or _area_name(layers),
    )
    if district is not None:
        t = _one_unit(t, district, units=units, analysis=analysis)
    write_geopackage({"district_summary": t.districts}, out_dir / DISTRICTS_FILE)
    counts = grade_counts(t.districts)
    t = dataclasses.replace(t, summary={**t.summary, "districts": counts})
    write_report_xlsx(
        out_dir / XLSX_FILE, t, thresholds=options.thresholds, lang=lg, max_rows=budget.xlsx_max_rows
    )
    write_report_pdf(
        out_dir / PDF_FILE, t, title=label("report_title", lg), generated_at=datetime.now().astimezone(),
        thresholds=options.thresholds, lang=lg, max_district_rows=budget.pdf_max_district_rows,
    )
    log.info("reports in %s: %d districts (%s severe)", out_dir, counts["total"], counts["severe"])
    return {
        "districts": counts,
        "reports": {"districts": DISTRICTS_FILE, "xlsx": XLSX_FILE, "pdf": PDF_FILE},
    }

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

from geo.layers import Layers, layer_counts
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
from reports.pdf import MapInputs, write_report_pdf
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
    districts = aggregate_districts(units, inputs, thresholds=options.thresholds)

    summary: dict[str, Any] = layer_counts(layers)
    summary["source"] = {"osm": layers.source, "crs": layers.crs.to_string()}
    for section, values in analysis.summary.items():
        summary.setdefault(section, {}).update(values)

    underserved = _with_district(analysis.layers["underserved_segments"], units)
    buildings = _with_district(inputs.buildings, units)
    blockages_d = _with_district(blockages, units) if blockages is not None else None
    proposed_d = _with_district(proposed, units) if proposed is not None else None
    findings = analysis.findings
    maps = MapInputs(
        roads=analysis.layers["roads_analysis"], pieces=analysis.layers["coverage_pieces"],
        hydrants=analysis.layers["hydrants_analysis"], stations=layers.stations,
        blockages=blockages_d, proposed=proposed_d,
    )
    if district is not None:
        one = one_district(
            district, summary=summary, districts=districts,
            tables={"underserved": underserved, "buildings": buildings, "blockages": blockages_d,
                    "proposed": proposed_d},
            spacing_districts=district_of(analysis.layers["spacing_gaps"], units).to_numpy(),
            findings=findings, budget_curve=budget_curve,
        )
        summary, districts, findings = one.summary, one.districts, one.findings
        underserved, buildings, budget_curve = one.underserved, one.buildings, one.budget_curve
        blockages_d, proposed_d = one.blockages, one.proposed
        maps = _maps_in(maps, units, one.name)
        area_name = f"{area_name or _area_name(layers)} · {one.name}"
    write_geopackage({"district_summary": districts}, out_dir / DISTRICTS_FILE)
    counts = grade_counts(districts)
    summary["districts"] = counts
    write_report_xlsx(
        out_dir / XLSX_FILE, summary=summary, districts=districts, underserved=underserved,
        buildings=buildings, findings=findings, blockages=blockages_d, proposed=proposed_d,
        budget_curve=budget_curve, thresholds=options.thresholds, lang=lg, max_rows=budget.xlsx_max_rows,
    )
    write_report_pdf(
        out_dir / PDF_FILE,
        title=label("report_title", lg),
        area_name=area_name or _area_name(layers),
        generated_at=datetime.now().astimezone(),
        summary=summary,
        districts=districts,
        maps=maps,
        underserved=underserved,
        budget_curve=budget_curve,
        thresholds=options.thresholds,
        lang=lg,
        max_district_rows=budget.pdf_max_district_rows,
    )
    log.info("reports in %s: %d districts (%s severe)", out_dir, counts["total"], counts["severe"])
    return {
        "districts": counts,
        "reports": {"districts": DISTRICTS_FILE, "xlsx": XLSX_FILE, "pdf": PDF_FILE},
    }

"""reports: district summaries and grading, XLSX / PDF / GeoPackage / CSV exports, the offline map."""

from reports.budget import OutputBudget
from reports.build import build_reports
from reports.districts import DistrictOptions, GradeThresholds, district_summary
from reports.export import (
    atomic_path,
    check_out_dir,
    check_out_file,
    write_csv,
    write_geopackage,
    write_summary,
)
from reports.inputs import MapInputs, ReportInputs
from reports.map import render_map, write_map_html
from reports.pdf import write_report_pdf
from reports.xlsx import write_report_xlsx

__all__ = [
    "DistrictOptions", "GradeThresholds", "MapInputs", "OutputBudget", "ReportInputs", "atomic_path",
    "build_reports",
    "check_out_dir", "check_out_file",
    "district_summary", "render_map", "write_csv", "write_geopackage", "write_map_html",
    "write_report_pdf", "write_report_xlsx", "write_summary",
]

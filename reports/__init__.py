"""reports: district summaries and exports (GeoPackage, CSV, JSON; XLSX/PDF/maps to come)."""

from reports.export import atomic_path, write_csv, write_geopackage, write_summary

__all__ = ["atomic_path", "write_csv", "write_geopackage", "write_summary"]

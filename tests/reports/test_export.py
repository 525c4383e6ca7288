"""Output checks: ``--out`` is checked before any work, in one helper that every command uses."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from geo.errors import ConfigError
from reports.export import check_out_dir, check_out_file, write_csv


def test_check_out_dir(tmp_path: Path) -> None:
    new = tmp_path / "a" / "b"
    assert check_out_dir(new) == new and new.is_dir()  # created with its parents, as the job would
    assert list(new.iterdir()) == []  # the probe file is gone
    assert check_out_dir(new) == new  # an existing folder is fine
    plain = tmp_path / "plain.txt"
    plain.write_text("keep", encoding="utf-8")
    with pytest.raises(ConfigError, match="this is a file, and a folder is needed"):
        check_out_dir(plain)
    with pytest.raises(ConfigError, match=r"plain\.txt is a file, so the folder .* cannot be created"):
        check_out_dir(plain / "sub" / "out")
    assert plain.read_text(encoding="utf-8") == "keep"


def test_check_out_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "answer.json"
    assert check_out_file(target) == target
    assert target.parent.is_dir() and not target.exists()  # the folder is made, the file not yet
    target.write_text("{}", encoding="utf-8")
    assert check_out_file(target) == target and target.read_text(encoding="utf-8") == "{}"
    with pytest.raises(ConfigError, match="this is a folder, and a file is needed"):
        check_out_file(tmp_path / "new")
    with pytest.raises(ConfigError, match=r"--sites .*answer\.json is a file"):
        check_out_file(target / "x.json", option="--sites")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (a folder nobody can write in)")
def test_folder_that_cannot_be_created() -> None:
    with pytest.raises(ConfigError, match="cannot write in /proc/firereach-test"):
        check_out_dir(Path("/proc/firereach-test/out"))


def test_geopackage_through_arrow_reads_back_equal(tmp_path: Path) -> None:
    """``layers.gpkg`` is written through pyogrio's Arrow path and reads back as it was written."""
    import sqlite3

    import geopandas as gpd
    import pandas as pd
    import pyogrio
    from shapely.geometry import LineString, Point

    from reports import export

    assert export.ARROW_IO  # pyarrow is a dependency: the Arrow path is the one taken
    roads = gpd.GeoDataFrame(
        {"edge_id": pd.Series([1, 2, 3], dtype="int64"),
         "length_m": [100.0, float("nan"), 2.5],  # a missing length stays missing, never 0
         "name": ["Main", None, "东路"],
         "oneway": [True, False, True],
         "nodes": [[1, 2], [2, 3], [3, 4]]},  # a list column becomes JSON text
        geometry=[LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 50)]),
                  LineString([(100, 50), (102.5, 50)])],
        crs="EPSG:32635",
    )
    hydrants = gpd.GeoDataFrame({"hydrant_id": ["h1"]}, geometry=[Point(5, 5)], crs="EPSG:32635")
    findings = pd.DataFrame({"rule": ["spacing"], "severity": ["shall"], "value_m": [180.0]})
    path = export.write_geopackage({"roads": roads, "hydrants": hydrants, "findings": findings},
                                   tmp_path / "layers.gpkg")

    back = pyogrio.read_dataframe(path, layer="roads", use_arrow=True)
    assert list(back.columns) == ["edge_id", "length_m", "name", "oneway", "nodes", "geometry"]
    assert back["edge_id"].tolist() == [1, 2, 3] and back["edge_id"].dtype == "int64"
    assert back["length_m"].dtype == "float64" and pd.isna(back["length_m"][1])
    assert back["length_m"][2] == 2.5
    assert back["name"].tolist()[0] == "Main" and pd.isna(back["name"][1]) and back["name"][2] == "东路"
    assert back["oneway"].dtype == bool and back["oneway"].tolist() == [True, False, True]
    assert back["nodes"].tolist() == ["[1, 2]", "[2, 3]", "[3, 4]"]
    assert back.crs is not None and back.crs.to_epsg() == 32635
    assert back.geometry.equals(roads.geometry)
    plain = pyogrio.read_dataframe(path, layer="findings")
    assert "geometry" not in plain.columns and plain["value_m"].tolist() == [180.0]
    with sqlite3.connect(path) as db:  # a spatial index on each feature table, none on attribute tables
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        ext = {r[0] for r in db.execute("SELECT table_name FROM gpkg_extensions "
                                        "WHERE extension_name='gpkg_rtree_index'")}
    assert {"rtree_roads_geom", "rtree_hydrants_geom"} <= tables
    assert ext == {"roads", "hydrants"}


def test_csv_files_quote_spreadsheet_formulas(tmp_path: Path) -> None:
    # a rejects row echoing an agency cell "=HYPERLINK(...)" and a note "+86 138..." reach Excel
    # as text ('-quoted); numbers (a negative one too) stay numbers, other text is unchanged
    frame = pd.DataFrame({
        "value": pd.array(['=HYPERLINK("http://x")', "@SUM(A1)", "ok", None], dtype="str"),
        "note": ["+86 13800138000", "-", "\tx", "plain"],
        "row": [-3, 2, 5, 7],
    })
    path = write_csv(frame, tmp_path / "rejects.csv")
    back = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert back["value"].tolist() == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "ok", ""]
    assert back["note"].tolist() == ["'+86 13800138000", "'-", "'\tx", "plain"]
    assert back["row"].tolist() == [-3, 2, 5, 7]
    assert frame["value"].iloc[0].startswith("=")  # the given frame is untouched

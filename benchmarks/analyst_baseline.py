"""What an analyst writes today for hydrant coverage: pyrosm + osmnx + networkx.

The baseline of the end-to-end benchmark (:mod:`benchmarks.bench_e2e`), written as a competent
analyst would, with each library used the way its documentation shows: pyrosm reads the driving
network and the hydrant points, osmnx builds and projects the graph and snaps the hydrants to
their nearest nodes, networkx runs one multi-source Dijkstra with the protection radius as its
cutoff, and a node is covered when a hydrant lies within the radius along the streets (coverage
by graph nodes only: no partial edges, no building water, no response, no reports). The covered
edges are written to a GeoPackage, as the analyst would hand them on.

Run: ``python -m benchmarks.analyst_baseline FILE.osm.pbf OUT.gpkg [--radius 150]``; prints one
JSON line with the counts and the seconds of each step.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import networkx as nx
import osmnx as ox
from pyrosm import OSM


def coverage(osm_file: Path, out: Path, *, radius_m: float = 150.0) -> dict[str, float | int]:
    """Hydrant coverage of ``osm_file``'s driving network by graph nodes; covered edges to ``out``."""
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    osm = OSM(str(osm_file))
    nodes, edges = osm.get_network(network_type="driving", nodes=True)
    hydrants = osm.get_pois(custom_filter={"emergency": ["fire_hydrant"]})
    seconds["read"] = time.perf_counter() - t

    t = time.perf_counter()
    graph = osm.to_graph(nodes, edges, graph_type="networkx", retain_all=True)
    graph = ox.project_graph(graph)
    crs = graph.graph["crs"]
    points = hydrants.to_crs(crs).geometry.representative_point()
    sources = set(ox.distance.nearest_nodes(graph, points.x.to_numpy(), points.y.to_numpy()))
    seconds["graph"] = time.perf_counter() - t

    t = time.perf_counter()
    reach = nx.multi_source_dijkstra_path_length(graph, sources, cutoff=radius_m, weight="length")
    covered_nodes = set(reach)
    seconds["coverage"] = time.perf_counter() - t

    t = time.perf_counter()
    edge_gdf = ox.convert.graph_to_gdfs(graph, nodes=False)
    u = edge_gdf.index.get_level_values("u")
    v = edge_gdf.index.get_level_values("v")
    covered = edge_gdf[u.isin(covered_nodes) & v.isin(covered_nodes)]
    covered[["length", "geometry"]].reset_index().to_file(out, layer="covered_edges", driver="GPKG")
    seconds["write"] = time.perf_counter() - t
    return {
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "hydrants": len(hydrants),
        "covered_nodes": len(covered_nodes),
        "covered_km": round(float(covered["length"].sum()) / 1000.0, 3),
        **{f"{k}_s": round(v, 2) for k, v in seconds.items()},
    }


def main() -> None:
    """Command line: the OSM file, the output GeoPackage, the radius."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("osm_file", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--radius", type=float, default=150.0)
    args = parser.parse_args()
    print(json.dumps(coverage(args.osm_file, args.out, radius_m=args.radius)))


if __name__ == "__main__":
    main()

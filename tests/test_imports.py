"""The house: imports run one way (geo ← routing ← reports ← api) and no module imports itself back.

Every import in the four packages is read with :mod:`ast` (at module level and inside functions):
a package may import only from itself and the packages below it, ``geo`` and ``routing`` never
import FastAPI, folium or the settings, and the module-level imports between the project's
modules form no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("geo", "routing", "reports", "api")
#: Third-party packages that only the edge (reports, api) may use.
EDGE_ONLY = {"fastapi", "folium", "uvicorn", "starlette", "pydantic_settings"}


def _modules() -> dict[str, Path]:
    out = {}
    for package in LAYERS:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def _imports(path: Path, name: str, *, top_level_only: bool) -> list[tuple[str, int]]:
    """(imported module, line) of every import in ``path``; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in nodes:
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.append((base, node.lineno))
            out += [(f"{base}.{a.name}", node.lineno) for a in node.names]
    return out


def _layer(module: str) -> int | None:
    top = module.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def test_imports_run_one_way() -> None:
    upward = []
    for name, path in _modules().items():
        own = _layer(name)
        assert own is not None
        for target, line in _imports(path, name, top_level_only=False):
            other = _layer(target)
            if other is not None and other > own:
                upward.append(f"{path.relative_to(REPO)}:{line} imports {target}")
            if own <= LAYERS.index("routing") and target.split(".")[0] in EDGE_ONLY:
                upward.append(f"{path.relative_to(REPO)}:{line} imports {target} (edge only)")
            if own <= LAYERS.index("routing") and target.startswith("api.settings"):
                upward.append(f"{path.relative_to(REPO)}:{line} reads the settings")
    assert upward == []


def test_no_import_cycle_between_modules() -> None:
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target, _ in _imports(path, name, top_level_only=True):
            if target in modules and target != name and not name.startswith(target + "."):
                graph.add_edge(name, target)
    # a package's __init__ re-exports its modules: leave those edges out, they are not cycles
    graph.remove_edges_from([(a, b) for a, b in list(graph.edges) if b.startswith(a + ".")])
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], f"import cycles: {cycles[:5]}"


@pytest.mark.parametrize(("source", "expected"), [
    ("from routing.graph import StreetGraph\n", True),  # geo importing routing: upward
    ("import api.settings\n", True),
    ("from geo.errors import ConfigError\n", False),
])
def test_the_checker_sees_an_upward_import(tmp_path: Path, source: str, expected: bool) -> None:
    path = tmp_path / "probe.py"
    path.write_text(source, encoding="utf-8")
    found = [t for t, _ in _imports(path, "geo.probe", top_level_only=False)
             if (_layer(t) or 0) > _layer("geo.probe")]  # type: ignore[operator]
    assert bool(found) == expected

"""The import graph of src/helpers has no cycle, no private name crosses a module, and the core imports no experiment.

The graph is built from the source with `ast`: every import statement counts, at module level or inside a function
(a function-level import is still a dependency; it only hides the cycle from Python's import machinery).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "helpers"


def module_name(path: Path, src: Path = SRC) -> str:
    """`src/helpers/core/store.py` -> `helpers.core.store`; a package's `__init__.py` -> the package."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module an `ImportFrom` names, relative levels resolved against `module`."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, modules: set[str], src: Path = SRC) -> list[tuple[str, str, int]]:
    """(imported module, imported name or "", line) for every import in the file that targets a module of `modules`.

    `from pkg import sub` counts as an import of `pkg.sub` when `pkg.sub` is a module, else of `pkg` (name `sub`).
    """
    module = module_name(path, src)
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "", node.lineno) for alias in node.names if alias.name in modules]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module, is_package)
            for alias in node.names:
                if f"{target}.{alias.name}" in modules:
                    found.append((f"{target}.{alias.name}", "", node.lineno))
                elif target in modules:
                    found.append((target, alias.name, node.lineno))
    return found


def import_graph(src: Path = SRC, package: str = PACKAGE) -> tuple[nx.DiGraph, dict[str, list[tuple[str, str, int]]]]:
    """The graph module -> imported module over every module of `package`, and each module's imports."""
    files = {module_name(p, src): p for p in sorted((src / package).rglob("*.py"))}
    graph = nx.DiGraph()
    graph.add_nodes_from(files)
    edges = {}
    for module, path in files.items():
        edges[module] = imports_of(path, set(files), src)
        graph.add_edges_from((module, target) for target, _, _ in edges[module] if target != module)
    return graph, edges


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    """Every strongly connected component of more than one module (each is at least one cycle), sorted."""
    return sorted(sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1)


def self_imports(edges: dict[str, list[tuple[str, str, int]]]) -> list[str]:
    return [f"{m}:{line}" for m, found in edges.items() for target, _, line in found if target == m]


def private_imports(edges: dict[str, list[tuple[str, str, int]]]) -> list[str]:
    """`module:line imports target._name` for every private name taken from another module."""
    return [
        f"{m}:{line} imports {target}.{name}"
        for m, found in edges.items()
        for target, name, line in found
        if name.startswith("_") and not name.startswith("__") and target != m
    ]


def core_imports_of_experiments(edges: dict[str, list[tuple[str, str, int]]]) -> list[str]:
    """`module:line imports target` for every import of an experiment package from `helpers.core`."""
    core = f"{PACKAGE}.core"
    return [
        f"{m}:{line} imports {target}"
        for m, found in edges.items()
        if m == core or m.startswith(core + ".")
        for target, _, line in found
        if target != PACKAGE and not (target == core or target.startswith(core + "."))
    ]


@pytest.fixture(scope="module")
def helpers_graph():
    return import_graph()


def test_no_import_cycle(helpers_graph):
    graph, _ = helpers_graph
    assert cycles(graph) == []


def test_no_module_imports_itself(helpers_graph):
    _, edges = helpers_graph
    assert self_imports(edges) == []


def test_no_private_name_crosses_a_module(helpers_graph):
    _, edges = helpers_graph
    assert private_imports(edges) == []


def test_core_imports_no_experiment(helpers_graph):
    _, edges = helpers_graph
    assert core_imports_of_experiments(edges) == []


def test_the_checks_can_fail(tmp_path):
    """A made-up package with a cycle through a function-level relative import, a private import, a core->experiment
    import and a self-import: each check reports it."""
    pkg = tmp_path / PACKAGE
    (pkg / "core").mkdir(parents=True)
    (pkg / "exp").mkdir()
    for init in (pkg, pkg / "core", pkg / "exp"):
        (init / "__init__.py").write_text("")
    (pkg / "core" / "a.py").write_text("from . import b\n\ndef f():\n    from helpers.exp import x\n")
    (pkg / "core" / "b.py").write_text("def g():\n    from .a import _hidden\n    from . import b\n")
    (pkg / "exp" / "x.py").write_text("import helpers.core\n")
    graph, edges = import_graph(tmp_path)
    assert cycles(graph) == [["helpers.core.a", "helpers.core.b"]]
    assert self_imports(edges) == ["helpers.core.b:3"]
    assert private_imports(edges) == ["helpers.core.b:2 imports helpers.core.a._hidden"]
    assert core_imports_of_experiments(edges) == ["helpers.core.a:4 imports helpers.exp.x"]

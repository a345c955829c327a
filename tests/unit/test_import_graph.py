"""Fitness tests of the import graph (issue 18): no cycle inside a package, no module registers on
import, commands never reach for a scoring method's class.

The graph is computed from the source (every module of bot, commands, scoring and storage parsed
with ``ast``), not from what a test run happened to import:

* an edge A → B for every ``import``/``from … import`` in A naming B, at module level *and*
  inside functions (a deferred import is still a dependency; it only hides the cycle from the
  interpreter until the day someone moves it to the top). Imports under ``if TYPE_CHECKING:``
  do not count: they never run;
* ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to ``pkg``;
* importing ``pkg.sub.mod`` runs ``pkg/sub/__init__.py`` first, so it is an edge to ``pkg.sub``
  too (to every package of B that does not already contain A);
* storage/migrations are Alembic's scripts, not modules anything imports.

A cycle is printed as the imports that make it, each with its file and line.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "commands", "scoring", "storage")


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: str
    line: int
    deferred: bool

    def __str__(self) -> str:
        how = "inside a function" if self.deferred else "at the top"
        return f"{self.source} -> {self.target}  ({self.path}:{self.line}, {how})"


def _modules(root: Path = ROOT, packages: Sequence[str] = PACKAGES) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(root)
            if "migrations" in rel.parts:
                continue
            name = ".".join(rel.with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import statement that can run, and whether it runs inside a function."""

    def walk(node: ast.AST, deferred: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    yield from walk(ast.Module(body=[other], type_ignores=[]), deferred)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, deferred
            inner = deferred or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            yield from walk(child, inner)

    yield from walk(tree, False)


def import_graph(root: Path = ROOT, packages: Sequence[str] = PACKAGES) -> list[Edge]:
    modules = _modules(root, packages)

    def resolve(name: str) -> str | None:
        while name:
            if name in modules:
                return name
            name = name.rpartition(".")[0]
        return None

    edges: list[Edge] = []
    for mod, path in modules.items():
        is_package = path.name == "__init__.py"
        rel = str(path.relative_to(root))
        for node, deferred in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str | None] = []
            if isinstance(node, ast.Import):
                targets = [resolve(alias.name) for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = mod.split(".") if is_package else mod.split(".")[:-1]
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join([*parts, base] if base else parts)
                targets = [resolve(f"{base}.{alias.name}") or resolve(base) for alias in node.names]
            for target in {t for t in targets if t is not None and t != mod}:
                # importing a.b.c runs a/__init__ and a/b/__init__ first: those are edges too,
                # unless they already contain the importer (they are running, or have run).
                parts = target.split(".")
                packages_of = [".".join(parts[:i]) for i in range(1, len(parts))]
                for name in [*packages_of, target]:
                    if name in modules and not (mod == name or mod.startswith(name + ".")):
                        edges.append(Edge(mod, name, rel, node.lineno, deferred))
    return edges


def cycles(edges: Sequence[Edge]) -> list[list[Edge]]:
    """One shortest cycle through each strongly connected group of modules, as its edges."""
    graph: dict[str, dict[str, Edge]] = {}
    for e in sorted(edges, key=lambda e: (e.deferred, e.path, e.line)):  # prefer top-level imports
        graph.setdefault(e.source, {}).setdefault(e.target, e)
        graph.setdefault(e.target, {})
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def strong(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    out = []
    for group in groups:
        members = set(group)
        start = group[0]
        came: dict[str, Edge] = {}
        queue = deque([start])
        while queue:  # breadth first: the shortest way back to the start
            v = queue.popleft()
            for w, edge in graph[v].items():
                if w not in members:
                    continue
                if w == start:
                    path = [edge]
                    while path[0].source != start:
                        path.insert(0, came[path[0].source])
                    out.append(path)
                    queue.clear()
                    break
                if w not in came:
                    came[w] = edge
                    queue.append(w)
    return out


def _report(found: list[list[Edge]]) -> str:
    return "\n\n".join(
        "import cycle:\n" + "\n".join(f"  {edge}" for edge in cycle) for cycle in found
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_a_package(package: str) -> None:
    inside = [
        e
        for e in import_graph()
        if e.source.split(".")[0] == package and e.target.split(".")[0] == package
    ]
    found = cycles(inside)
    assert not found, _report(found)


def test_no_import_cycle_across_the_packages() -> None:
    found = cycles(import_graph())
    assert not found, _report(found)

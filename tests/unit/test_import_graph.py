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
from functools import cache
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


@cache
def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> tuple[Edge, ...]:
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
    return tuple(edges)


def cycles(edges: Sequence[Edge]) -> list[list[Edge]]:
    """One shortest cycle through each strongly connected group of modules, as its edges."""
    graph: dict[str, dict[str, Edge]] = {}
    for e in sorted(edges, key=lambda e: (e.deferred, e.path, e.line)):  # prefer top-level imports
        graph.setdefault(e.source, {}).setdefault(e.target, e)
        graph.setdefault(e.target, {})
    found = (_shortest_cycle(graph, group) for group in _strong_groups(graph))
    return [cycle for cycle in found if cycle]


def _strong_groups(graph: dict[str, dict[str, Edge]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def strong(v: str) -> None:
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
    return groups


def _shortest_cycle(graph: dict[str, dict[str, Edge]], group: list[str]) -> list[Edge]:
    """The shortest way from the group's first module back to it, breadth first, as edges."""
    members = set(group)
    start = group[0]
    came: dict[str, Edge] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w, edge in graph[v].items():
            if w not in members:
                continue
            if w == start:
                path = [edge]
                while path[0].source != start:
                    path.insert(0, came[path[0].source])
                return path
            if w not in came:
                came[w] = edge
                queue.append(w)
    return []


def _report(found: list[list[Edge]]) -> str:
    return "\n\n".join(
        "import cycle (break it by moving what both need to a module that imports neither):\n"
        + "\n".join(f"  {edge}" for edge in cycle)
        for cycle in found
    )


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_a_package(package: str) -> None:
    inside = [
        e
        for e in import_graph()
        if e.source.split(".")[0] == package and e.target.split(".")[0] == package
    ]
    found = cycles(inside)
    if found:
        pytest.fail(_report(found), pytrace=False)


def test_no_import_cycle_across_the_packages() -> None:
    """The layers (bot -> commands -> scoring/storage) have no arrow back, deferred ones included:
    the graph of the packages themselves, one node each, has no cycle."""
    between = [
        Edge(e.source.split(".")[0], e.target.split(".")[0], e.path, e.line, e.deferred)
        for e in import_graph()
        if e.source.split(".")[0] != e.target.split(".")[0]
    ]
    found = cycles(between)
    if found:
        pytest.fail(_report(found), pytrace=False)


def test_no_module_is_imported_by_a_name_in_a_string() -> None:
    """``importlib.import_module("commands.review")`` is an import the graph above cannot see (the
    form engine found its forms so, hiding engine <-> form modules); tables hold the modules or
    objects themselves. Alembic's migrations (not in the graph) are the exception."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}  {ast.unparse(node)[:80]}"
        for path in _modules().values()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"})
        )
    ]
    assert found == []


def test_the_graph_sees_deferred_imports_and_package_inits_but_not_type_checking(
    tmp_path: Path,
) -> None:
    files = {
        "app/__init__.py": "",
        "app/a.py": "def f():\n    from app import b  # deferred: still an edge\n",
        "app/b.py": "from app.a import f\n",
        "app/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app import d\n",
        "app/d.py": "import app.c\n",
        "app/pkg/__init__.py": "from app.pkg.inner import g\n",
        "app/pkg/inner.py": "def g(): ...\n",
        "app/e.py": "from app.pkg.inner import g  # runs app/pkg/__init__ too\n",
        "app/pkg/other.py": "from app.e import g\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    edges = import_graph(tmp_path, ("app",))
    found = {frozenset(e.source for e in cycle) for cycle in cycles(edges)}
    assert found == {frozenset({"app.a", "app.b"})}
    assert ("app.e", "app.pkg") in {(e.source, e.target) for e in edges}
    assert ("app.c", "app.d") not in {(e.source, e.target) for e in edges}


# -- no module registers on import ----------------------------------------------------------

MUTATORS = frozenset(
    {"append", "appendleft", "extend", "extendleft", "insert", "add", "update", "setdefault",
     "register", "__setitem__"}
)  # fmt: skip
RULE = """\
Importing a module must not change anything another module owns: every registry is one explicit
table in the module that owns it (commands.registry.MODULES, commands.cycle.CYCLE, ...). In
code that runs on import (a module's body, its class bodies, its if/try/with blocks; not function
bodies):
  R1  no statement that only calls a function of ours: `register(handler)`, `setup()`,
      `cycle.STEP_HOOKS.append(hook)` (a call whose result is thrown away is there for its effect);
  R2  no call that fills another module's container: `other.TABLE.append(x)`, `.add`, `.update`,
      `.setdefault`, `.insert`, `.register` ... on a name imported from
      bot/commands/scoring/storage;
  R3  no assignment into another module: `other.TABLE[key] = x`, `other.hook = f`;
  R4  no decorator of ours on a function or class (a decorator filling a registry was the
      bot/sender.py style): decorators come from the standard library or a library (dataclass,
      property, cache, typer's command on the module's own app, SQLAlchemy's listens_for).
Calls on the module's own objects (its own typer app, its own arrays) and on libraries are fine."""


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _runs_on_import(body: Sequence[ast.stmt]) -> Iterator[ast.stmt]:
    for statement in body:
        yield statement
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if isinstance(statement, ast.If) and _is_type_checking(statement.test):
            yield from _runs_on_import(statement.orelse)
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _runs_on_import(getattr(statement, field, []) or [])
        for handler in getattr(statement, "handlers", []) or []:
            yield from _runs_on_import(handler.body)
        for case in getattr(statement, "cases", []) or []:
            yield from _runs_on_import(case.body)


def _expressions(statement: ast.stmt) -> Iterator[ast.AST]:
    """The expressions a statement evaluates itself (not those of nested statements or lambdas)."""
    todo: list[ast.AST] = [
        child for child in ast.iter_child_nodes(statement) if not isinstance(child, ast.stmt)
    ]
    while todo:
        node = todo.pop()
        yield node
        todo += [c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.Lambda | ast.stmt)]


def registrations(source: str, packages: Sequence[str] = PACKAGES) -> list[tuple[int, str, str]]:
    """(line, rule, code) of each place where importing ``source`` registers something."""
    tree = ast.parse(source)
    ours = _our_names(tree, packages)
    functions = {s.name for s in tree.body if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)}
    return [
        (getattr(node, "lineno", 0), rule, ast.unparse(node).splitlines()[0][:100])
        for statement in _runs_on_import(tree.body)
        for node, rule in _registering(statement, ours, functions)
    ]


def _our_names(tree: ast.Module, packages: Sequence[str]) -> set[str]:
    """The names bound by importing one of our modules."""
    ours: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            ours |= {
                (a.asname or a.name).split(".")[0]
                for a in node.names
                if a.name.split(".")[0] in packages
            }
        elif isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").split(".")[0] in packages
        ):
            ours |= {a.asname or a.name for a in node.names}
    return ours


def _registering(
    statement: ast.stmt, ours: set[str], functions: set[str]
) -> list[tuple[ast.AST, str]]:
    """What in one statement that runs on import breaks R1 to R4, in that order."""
    found: list[tuple[ast.AST, str]] = []
    if isinstance(statement, ast.Expr):
        call = statement.value.value if isinstance(statement.value, ast.Await) else statement.value
        if isinstance(call, ast.Call) and _root(call.func) in ours | functions:
            found.append((statement, "R1"))
    for node in _expressions(statement):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in MUTATORS
            and _root(node.func.value) in ours
            and not isinstance(statement, ast.Expr)  # R1 names those
        ):
            found.append((node, "R2"))
    for target in _assigned(statement):
        if isinstance(target, ast.Attribute | ast.Subscript) and _root(target) in ours:
            found.append((statement, "R3"))
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        for decorator in statement.decorator_list:
            if _root(decorator) in ours | functions:
                found.append((decorator, "R4"))
    return found


def _assigned(statement: ast.stmt) -> list[ast.expr]:
    """The targets a statement assigns to or deletes."""
    if isinstance(statement, ast.Assign | ast.Delete):
        return statement.targets
    if isinstance(statement, ast.AugAssign | ast.AnnAssign):
        return [statement.target]
    return []


REGISTERING = {
    "a hook appended to another module's list": (
        "from commands import cycle\ndef hook(ctx): ...\ncycle.STEP_HOOKS.append(hook)\n",
        "R1",
    ),
    "a register call for its effect": (
        "from bot.sender import register\ndef render(m): ...\nregister('chart', render)\n",
        "R1",
    ),
    "a local set-up function called on import": (
        "from commands import cycle\ndef _install():\n    cycle.HOOKS.append(1)\n_install()\n",
        "R1",
    ),
    "an entry added while assigning": (
        "import commands.cycle\nx = commands.cycle.HOOKS.setdefault('daily', [])\n",
        "R2",
    ),
    "an item set in another module's dict": (
        "from bot import sender\ndef r(m): ...\nsender.RENDERERS['chart'] = r\n",
        "R3",
    ),
    "a relative import's table changed": ("from . import table\ntable.ROWS += [1]\n", "R3"),
    "a decorator of ours": (
        "from bot.sender import renderer\n@renderer('chart')\ndef r(m): ...\n",
        "R4",
    ),
    "a decorator defined here": (
        "ROWS = []\ndef row(f):\n    ROWS.append(f)\n    return f\n@row\ndef r(): ...\n",
        "R4",
    ),
    "inside a class body or an if": (
        "from commands import cycle\nif True:\n    class A:\n        cycle.HOOKS.append(1)\n",
        "R1",
    ),
}
NOT_REGISTERING = {
    "a call inside a function": "from commands import cycle\ndef f():\n    cycle.HOOKS.append(1)\n",
    "the module's own table": "ROWS: list[int] = []\nROWS.append(1)\nTABLE = {}\nTABLE['a'] = 1\n",
    "a library's decorator and call": (
        "import typer\nfrom dataclasses import dataclass\nfrom sqlalchemy import event\n"
        "app = typer.Typer()\n@app.command('x')\ndef x(): ...\n@dataclass\nclass A: ...\n"
        "event.listen(A, 'before_update', x)\n"
    ),
    "a table built from other modules": (
        "from commands import me, rank\nMODULES = (me, rank)\nNAMES = [m.__name__ for m in "
        "MODULES]\n"
    ),
    "under TYPE_CHECKING": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from commands import c\n    "
        "c.X.append(1)\n"
    ),
}


@pytest.mark.parametrize("case", REGISTERING)
def test_the_rule_names_each_way_of_registering_on_import(case: str) -> None:
    source, rule = REGISTERING[case]
    assert [r for _, r, _ in registrations(source)] == [rule]


@pytest.mark.parametrize("case", NOT_REGISTERING)
def test_the_rule_leaves_what_does_not_register_alone(case: str) -> None:
    assert registrations(NOT_REGISTERING[case]) == []


def test_no_module_registers_on_import() -> None:
    found = [
        f"  {path.relative_to(ROOT)}:{line}  {rule}  {code}"
        for path in _modules().values()
        for line, rule, code in registrations(path.read_text(encoding="utf-8"))
    ]
    if found:
        pytest.fail(RULE + "\n\nFound:\n" + "\n".join(found), pytrace=False)

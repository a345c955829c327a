"""The one rule of the shape: adapters -> commands -> scoring/storage (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from scoring.methods import METHODS

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_SDKS = ("slack_bolt", "slack_sdk", "telegram")


def _imports(folder: str) -> list[tuple[str, str]]:
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                out += [(str(path.relative_to(ROOT)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.append((str(path.relative_to(ROOT)), node.module))
    return out


def _top(module: str) -> str:
    return module.split(".")[0]


def test_scoring_imports_nothing_from_the_rest_of_kpibot() -> None:
    bad = [(p, m) for p, m in _imports("scoring") if _top(m) in {"bot", "commands", "storage"}]
    assert bad == []


def test_scoring_does_no_io() -> None:
    banned = {"sqlmodel", "sqlalchemy", "httpx", "requests", "socket", "open", "pathlib"}
    bad = [(p, m) for p, m in _imports("scoring") if _top(m) in banned]
    assert bad == []


def test_commands_and_scoring_never_touch_a_platform_sdk() -> None:
    bad = [
        (p, m)
        for folder in ("commands", "scoring", "storage")
        for p, m in _imports(folder)
        if _top(m) in PLATFORM_SDKS
    ]
    assert bad == []


def test_storage_never_imports_the_edges() -> None:
    bad = [(p, m) for p, m in _imports("storage") if _top(m) in {"bot", "commands"}]
    assert bad == []


METHOD_CLASSES = frozenset(cls.__name__ for cls in METHODS.values())
"""Every scoring method's class, from the one registry (a new method is covered without a change
here)."""


@pytest.mark.parametrize("folder", ["commands", "bot"])
def test_commands_and_bot_never_import_a_scoring_method_class(folder: str) -> None:
    """A method says its receipt, rule and targets (scoring.methods, rendered through
    scoring.explained); commands never ask which class it is (issue 18: feedback and /me guessed
    from isinstance chains and detail keys), and neither does bot/ (``kpibot score`` asked
    ``isinstance(method, Tiered)`` for a band). So no module of commands or bot imports
    scoring.methods at all, deferred or not, nor names a method's class in any way (``from
    scoring import methods`` then ``methods.Gate``, ``x.method.__class__ is Tiered``...)."""
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                bad += [(where, a.name) for a in node.names if a.name.startswith("scoring.methods")]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                module = node.module or ""
                if module.startswith("scoring.methods"):
                    bad.append((where, module))
                elif module == "scoring":
                    bad += [(where, a.name) for a in node.names if a.name == "methods"]
                bad += [(where, a.name) for a in node.names if a.name in METHOD_CLASSES]
            elif isinstance(node, ast.Attribute) and node.attr in METHOD_CLASSES:
                bad.append((where, node.attr))
            elif isinstance(node, ast.Name) and node.id in METHOD_CLASSES:
                bad.append((where, node.id))
    assert bad == []


def test_the_method_classes_are_what_the_rule_looks_for() -> None:
    assert {"Tiered", "Deduction", "Ratio", "EitherOr", "Descriptive", "Gate"} <= METHOD_CLASSES

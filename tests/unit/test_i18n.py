"""Every text a person sees exists in Simplified Chinese and English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from commands.i18n import catalog, normalize_lang, translator

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("commands", "bot")
TRANSLATING_NAMES = {"_", "N_", "t"}


def _literal_msgids() -> list[tuple[str, int, str]]:
    """Every string literal passed as the first argument to ``_()`` in commands/ and bot/."""
    found = []
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if name not in TRANSLATING_NAMES:
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.append((str(path.relative_to(ROOT)), node.lineno, first.value))
    return found


def _has_words(msgid: str) -> bool:
    """Whether a message has words to translate (not just placeholders, digits and signs)."""
    return any(ch.isalpha() for ch in re.sub(r"\{[^}]*\}", "", msgid))


def test_every_translated_literal_has_a_chinese_translation() -> None:
    zh = catalog("zh")
    missing = [
        f"{path}:{line}: {msgid!r}"
        for path, line, msgid in _literal_msgids()
        if _has_words(msgid) and zh.gettext(msgid) == msgid
    ]
    assert not missing, "missing zh translations:\n" + "\n".join(missing)


def test_the_code_says_something_through_the_catalogue() -> None:
    assert len(_literal_msgids()) > 0


@pytest.mark.parametrize(
    ("given", "expected"),
    [("zh-CN", "zh"), ("zh_Hans", "zh"), ("en-US", "en"), ("EN", "en"), ("fr", "zh"), (None, "zh")],
)
def test_platform_language_codes_map_onto_a_supported_language(
    given: str | None, expected: str
) -> None:
    assert normalize_lang(given) == expected


def test_english_falls_back_to_the_message_id_and_formats_parameters() -> None:
    _ = translator("en")
    assert _("{n} agents", n=3) == "3 agents"

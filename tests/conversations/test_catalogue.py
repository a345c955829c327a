"""Message ids declared as data (``N_``) in the forms are translated too (the shared i18n test
only sees literal ``_()`` calls)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from commands.i18n import catalog

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted(
    [
        *ROOT.glob("commands/forms/*.py"),
        ROOT / "commands/selfreview.py",
        ROOT / "commands/review.py",
        ROOT / "commands/peer.py",
        ROOT / "commands/router.py",
    ]
)


def _marked(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "N_"
            and node.args
        ):
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
    return found


MSGIDS = sorted({m for path in FILES for m in _marked(path)} - {"{value}", "{value}%", "¥{value}"})


def test_the_forms_declare_their_texts_as_message_ids() -> None:
    assert len(MSGIDS) > 20


@pytest.mark.parametrize("msgid", MSGIDS)
def test_every_declared_text_has_a_chinese_translation(msgid: str) -> None:
    assert catalog("zh").gettext(msgid) != msgid

"""Control characters never reach storage, a terminal or a spreadsheet; CSV cells are quoted
(issue 21 item 9)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from bot.console import repl
from commands.cells import safe
from commands.export import csv_table, to_xlsx
from commands.forms.engine import normalize
from commands.plain import printable
from commands.survey_tokens import clean_ref

ESCAPES = "好\x1b[2J\x07评\x00\x0b\x9b31m\u202e价"


def test_printable_keeps_chinese_newlines_and_tabs_and_drops_every_control_character() -> None:
    assert printable(ESCAPES) == "好[2J评31m价"
    assert printable("一\r\n二\r三\t四") == "一\n二\n三\t四"


def test_a_control_character_in_a_survey_ref_never_breaks_the_xlsx_export() -> None:
    data = to_xlsx(
        {"ratings": [["ref", "stars"], [clean_ref("A-7\x1b[31m\x00") or "", 5], ["B\x0b-8", 4]]}
    )
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["ref", "stars"],
        ["A-7[31m", 5],
        ["B-8", 4],
    ]


def test_a_csv_cell_with_a_separator_is_quoted_and_a_leading_formula_neutralised() -> None:
    text = csv_table([["a;=1+1;b", '=HYPERLINK("x")', 3, 2.5]]).decode("utf-8-sig")
    assert '"a;=1+1;b"' in text
    assert '"\'=HYPERLINK(""x"")"' in text
    assert text.splitlines()[0].endswith(",3,2.5")


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1"])
def test_a_text_that_a_spreadsheet_would_run_gets_a_quote_prefix(value: str) -> None:
    assert safe(value).startswith("'")


def test_a_self_review_answer_is_stored_without_terminal_escapes() -> None:
    assert normalize("  我完成了\x1b]0;owned\x07目标  ") == "我完成了]0;owned目标"


def test_the_terminal_chat_prints_no_control_characters() -> None:
    out = io.StringIO()
    lines = iter(["/me"])

    def read(_prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    # check(): what waited in the outbox for the person, printed after the greeting (issue 17)
    chat = SimpleNamespace(
        answers=lambda line: iter([f"张伟: {ESCAPES}"]), check=lambda: f"📬 {ESCAPES}"
    )
    repl(chat, read=read, out=out)  # type: ignore[arg-type]
    assert (
        "\x1b" not in out.getvalue()
        and "\x07" not in out.getvalue()
        and "好[2J评31m价" in out.getvalue()
    )
    assert "📬 好[2J评31m价" in out.getvalue()

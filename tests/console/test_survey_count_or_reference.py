"""``/survey 1000`` in the terminal chat is refused with the way to ask for one link with the
reference 1000, instead of silently making one link with ref "1000" (issue 17 item 5)."""

from __future__ import annotations

from pathlib import Path

from bot.console import ConsoleChat
from commands.router import Router


def test_a_four_digit_survey_count_is_refused_with_the_reference_form_in_both_languages(
    router: Router, media: Path
) -> None:
    shown = ConsoleChat(router, "李娜", media).send("/survey 1000")
    assert "/s/" not in shown and shown.endswith("请发送 /survey ref 1000。"), shown
    shown = ConsoleChat(router, "Alice", media).send("/survey 1000")
    assert "/s/" not in shown and shown.endswith(
        "For one link with the order or ticket number 1000, send /survey ref 1000."
    ), shown

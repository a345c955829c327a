"""The terminal chat asks the manager-provided indicators of the default scheme in /review (issue
14 item 2)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from bot.console import ConsoleChat
from tests.conversations.test_review_indicators import _router, _values


def test_the_terminal_chat_asks_the_report_indicators_and_takes_a_typed_value(
    engine: Engine, tmp_path: Path
) -> None:
    router = _router(engine, "online_shop.toml")
    chat = ConsoleChat(router, "Mary", tmp_path)
    chat.send("/review Alice")
    for score in ("4", "4"):
        chat.send(score)
    shown = chat.send("4")
    assert (
        "Question 4 of 7: Reports on time: how many points from 0 to 100 do you give this agent?"
        in shown
    )
    assert "Please send a number from 0 to 100." in chat.send("101")
    assert "Question 5 of 7: Report data truthful" in chat.send(
        "3"
    )  # a bare number is the typed answer here
    chat.send("90")
    chat.send("80")
    assert "Reports on time (of 100 points): 3" in chat.send("skip")
    assert "submitted" in chat.send("submit")
    assert _values(router, "london", "Alice")["report_timeliness"][0] == 3

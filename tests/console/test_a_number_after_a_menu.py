"""A number typed for a free-text question right after a menu (issue 17, small wording): it was
taken as the answer although it was most likely meant for the menu (typed twice, or after the
question had moved on). Now kpibot asks first: ``yes`` (or the same number again, or the
button) keeps it, ``back`` returns to the menu, other words are the answer as usual."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.console import ConsoleChat
from commands.router import Router
from storage.db import unit_of_work
from storage.models import Conversation

SCORES = ("4", "3")
"""The two self-review scores of tests/conversations/data/mini_shop.toml, then two text
questions."""


def _answers(router: Router) -> dict[str, object]:
    with unit_of_work(router.engine) as session:
        conv = session.exec(select(Conversation).order_by(Conversation.id.desc())).first()  # type: ignore[union-attr]
        assert conv is not None
        return dict(conv.answers)


def _to_the_first_text_question(chat: ConsoleChat) -> str:
    shown = chat.send("/selfreview")
    for score in SCORES:
        shown = chat.send(score)
    return shown


def test_a_number_for_a_text_question_is_confirmed_first_in_chinese(
    router: Router, media: Path
) -> None:
    chat = ConsoleChat(router, "李娜", media)
    assert "本期做得好的地方是什么？" in _to_the_first_text_question(chat)
    shown = chat.send("5")
    assert shown.startswith("“5”是一个数字，而这道题需要用文字回答。是想回答上一题吗？"), shown
    assert "  #1 保留“5”" in shown and "上一题" in shown
    assert "went_well" not in _answers(router)
    shown = chat.send("上一题")  # it was meant for the last score: answer that one again
    assert "第 2/4 题" in shown, shown
    chat.send("4")
    shown = chat.send("３")  # full-width, on a Chinese keyboard
    assert shown.startswith("“３”是一个数字"), shown
    shown = chat.send("是")
    assert "第 4/4 题" in shown, shown
    assert _answers(router)["went_well"] == "３"


def test_a_number_for_a_text_question_is_confirmed_first_in_english(
    router: Router, media: Path
) -> None:
    chat = ConsoleChat(router, "Alice", media)
    assert "What went well this period?" in _to_the_first_text_question(chat)
    shown = chat.send("5")
    assert shown.startswith("“5” is a number, but this question asks for words."), shown
    assert "  #1 Keep “5”" in shown
    shown = chat.send("5")  # the same number again: keep it
    assert "Question 4 of 4" in shown, shown
    assert _answers(router)["went_well"] == "5"
    chat.send("back")
    shown = chat.send("7")
    assert shown.startswith("“7” is a number"), shown
    shown = chat.send("#1")  # the Keep button
    assert "Question 4 of 4" in shown, shown
    assert _answers(router)["went_well"] == "7"


def test_words_after_the_question_are_the_answer_as_before(router: Router, media: Path) -> None:
    chat = ConsoleChat(router, "Alice", media)
    _to_the_first_text_question(chat)
    chat.send("2")
    shown = chat.send("Answered 30 chats an hour")
    assert "Question 4 of 4" in shown, shown
    answers = _answers(router)
    assert answers["went_well"] == "Answered 30 chats an hour" and "_confirm" not in answers

"""Changing a submitted review in the terminal chat (issue 17 item 5): re-opening it lands on the
summary (an optional comment left out is skipped, not a question to answer again), and cancelling
the change says the version submitted earlier stands; the manager reads 主管评价汇总, not 你的…."""

from __future__ import annotations

from pathlib import Path

from bot.console import ConsoleChat
from commands.router import Router


def _review(chat: ConsoleChat, agent: str, scores: tuple[str, ...], skip: str, submit: str) -> str:
    chat.send(f"/review {agent}")
    for score in scores:
        chat.send(score)
    chat.send(skip)  # the optional comment
    return chat.send(submit)


def test_a_manager_reopens_a_submitted_review_on_its_summary_and_cancels_in_chinese(
    router: Router, media: Path
) -> None:
    wang = ConsoleChat(router, "王经理", media)
    assert "已提交" in _review(wang, "李娜", ("4", "3", "4"), "跳过", "提交")
    shown = wang.send("/review 李娜")
    assert "主管评价汇总：" in shown and "你的主管评价汇总" not in shown
    assert "1. 工作能力：4" in shown and "请提交，或先修改某个回答。" in shown
    shown = wang.send("取消")
    assert shown == "已取消，修改没有保存；之前提交的主管评价仍然有效。"


def test_a_manager_reopens_a_submitted_review_on_its_summary_and_cancels_in_english(
    router: Router, media: Path
) -> None:
    mary = ConsoleChat(router, "Mary", media)
    assert "submitted" in _review(mary, "Alice", ("4", "3", "4"), "skip", "submit")
    shown = mary.send("/review Alice")
    assert "Submit, or change an answer first." in shown and "Question" not in shown
    assert mary.send("cancel") == (
        "Cancelled. Your changes are not saved; the manager review you submitted earlier stands."
    )
    shown = mary.send("/review Bob")
    assert mary.send("cancel") == "Cancelled. Your manager review was not submitted."
    assert "Question 1 of" in shown

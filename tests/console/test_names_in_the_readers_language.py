"""People type names in their own language and read names, never ids (issue 17): ``/simulate``
in the terminal chat, and ``/help``'s examples written the way the reader would type them."""

from __future__ import annotations

import re
from pathlib import Path

from bot.console import ConsoleChat
from commands.router import Router

IDS = re.compile(r"refund_ratio|avg_response_s|manager\.|self\.|\bkpi\b")


def test_an_agent_simulates_by_chinese_names_and_a_beginning_in_the_terminal(
    router: Router, media: Path
) -> None:
    li = ConsoleChat(router, "李娜", media)
    shown = li.send("/simulate")
    assert "例如：/simulate 退款比例=3% 平均响应时间=25" in shown
    assert (
        "可以修改：退款比例、平均响应时间、自评·工作态度、自评·工作任务完成情况、主管评价·工作能力"
        in shown
    )
    assert "你的考核方案中没有速度。" in li.send("/simulate 速度=3")
    assert "工作可能是自评·工作态度、" in li.send("/simulate 工作=4")
    for text in (li.send("/simulate"), li.send("/simulate 速度=3")):
        assert not IDS.search(text), text


def test_an_agent_simulates_by_english_names_in_the_terminal(router: Router, media: Path) -> None:
    alice = ConsoleChat(router, "Alice", media)
    shown = alice.send("/simulate")
    assert "Example: /simulate Refund ratio=3% Average response time=25" in shown
    assert "Refund ratio is a share: write 3% or 0.03." in alice.send("/simulate refund=3")
    assert not IDS.search(alice.send("/simulate speed=2")), alice.send("/simulate speed=2")


def test_the_chinese_help_gives_examples_a_chinese_reader_would_type(
    router: Router, media: Path
) -> None:
    shown = ConsoleChat(router, "李娜", media).send("/help")
    assert (
        "例如：/simulate 退款比例=3%" in shown
        and "例如：/appeal KPI 我的平均响应时间其实是 29 秒" in shown
    )
    assert "Carol" not in shown and "response time" not in shown
    shown = ConsoleChat(router, "王经理", media).send("/help")
    assert "例如：/feedback 王小红" in shown and "例如：/review @王小红 2026-10" in shown
    shown = ConsoleChat(router, "Mary", media).send("/help")
    assert (
        "for example: /feedback Carol" in shown and "for example: /review @Carol 2026-10" in shown
    )
    assert "王小红" not in shown

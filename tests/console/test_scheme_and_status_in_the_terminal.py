"""``/scheme`` and ``/status`` in the terminal chat, in English and in Chinese (issue 17)."""

from __future__ import annotations

from pathlib import Path

from bot.console import ConsoleChat
from commands.router import Router


def test_an_agent_reads_the_scheme_in_the_terminal_in_english_and_in_chinese(
    router: Router, media: Path
) -> None:
    shown = ConsoleChat(router, "Alice", media).send("/scheme")
    assert shown.startswith(
        "Scheme of team london: Mini shop scheme\nScored per month out of 100 points;"
    )
    assert "· Refund ratio (50 points): bands:" in shown and "from the data import" in shown
    shown = ConsoleChat(router, "李娜", media).send("/scheme")
    assert shown.startswith("团队 demo 的考核方案：小网店方案\n按月考核，满分 100 分；")
    assert "· 退款比例（50 分）：分档：" in shown and "来自数据导入" in shown


def test_a_manager_follows_the_month_in_the_terminal_and_presses_remind_by_number(
    router: Router, media: Path
) -> None:
    mary = ConsoleChat(router, "Mary", media)
    shown = mary.send("/status")
    assert "· Alice — Self-review ✗ · Manager review ✗ · KPI data 2/2 ✓" in shown
    assert shown.endswith("  1) Remind them")
    assert mary.send("1").startswith("Reminder sent to Alice, Bob, Carol, Dave.")
    wang = ConsoleChat(router, "王经理", media)
    shown = wang.send("/status")
    assert "· 陈静 — 自评 ✗ · 主管评价 ✗ · KPI 数据 1/2 ✗" in shown
    assert shown.endswith("  1) 提醒他们")

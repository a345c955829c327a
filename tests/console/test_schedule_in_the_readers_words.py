"""``/schedule`` and ``/runstep`` in the terminal chat say steps, counts and who ran them in the
reader's words (issue 17 item 3): never ``remind.1``, ``member:2`` or ``manager_missing 7``."""

from __future__ import annotations

import re
from pathlib import Path

from bot.console import ConsoleChat
from commands.router import Router

INTERNAL = re.compile(r"remind\.\d|member:\d|chat:\d|[a-z]+_[a-z]+ \d|\bqueued \d")


def test_an_admin_runs_a_reminder_and_reads_the_schedule_in_chinese_then_english(
    router: Router, media: Path
) -> None:
    admin = ConsoleChat(router, "周人事", media)
    ran = admin.send("/runstep remind.1 demo 2026-10")
    assert ran.startswith("已为 demo 2026-10 执行“第 1 次提醒”：")
    assert "自评提醒 4 条" in ran and "尚无主管评价的客服 4 位" in ran and "待发送消息" in ran
    shown = admin.send("/schedule demo")
    assert "2026-10 第 1 次提醒（周人事） — 由周人事执行" in shown
    assert re.search(r"\d{4}-\d\d-\d\d 周[一二三四五六日] \d\d:\d\d 20\d\d-\d\d ", shown), shown
    for text in (ran, shown):
        assert not INTERNAL.search(text), text
    admin.send("/lang en")
    ran = admin.send("/runstep remind.1 demo 2026-10")
    assert ran.startswith("Ran reminder 1 for demo 2026-10: ")
    shown = admin.send("/schedule demo")
    assert "2026-10 reminder 1 (周人事) — run by 周人事" in shown
    for text in (ran, shown):
        assert not INTERNAL.search(text), text

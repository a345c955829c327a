# ruff: noqa: F811  (the published fixture is imported from test_consequences and used by name)
"""``/appeal`` takes a component's and an input's name in the reader's language (or an unambiguous
beginning of it) and every reply names them, never the ids ``self``, ``manager``, ``kpi``,
``avg_response_s`` (issue 17): in the terminal chat, in Chinese and in English."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.console import ConsoleChat
from commands.inbox_view import arrivals
from commands.messages import Reply
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.consequences.test_consequences import _mark_all_sent, published  # noqa: F401

IDS = re.compile(r"\b(self|manager|kpi|peer|avg_response_s|refund_ratio|ability|service)\b")


def _console(router: Router, engine: Engine, clock: Clock, name: str, media: Path) -> ConsoleChat:
    with unit_of_work(engine) as session:
        member_id = next(
            m.id for t in repo.list_teams(session=session)
            for m in repo.list_members(session=session, team=t) if m.name == name
        )  # fmt: skip

    def look() -> list[Reply]:
        with unit_of_work(engine) as session:
            return arrivals(session, member_id or 0, clock())

    return ConsoleChat(router, name, media, arrivals=look)


def _number(shown: str) -> str:
    found = re.search(r"#(\d+)", shown)
    assert found, shown
    return found.group(1)


def test_an_agent_appeals_the_manager_review_by_its_chinese_name_and_the_admin_corrects_a_dimension(
    published: Router,
    engine: Engine,
    clock: Clock,
    tmp_path: Path,
) -> None:
    liu = _console(published, engine, clock, "刘洋", tmp_path)
    shown = liu.send("/appeal")
    assert "部分：自评、主管评价、同事互评、考核指标表。" in shown
    shown = liu.send("/appeal 主管 服务性那一项评的是上个月")
    assert shown.startswith("你关于主管评价的申诉 #") and "已提交" in shown
    appeal = _number(shown)
    admin: Callable[[str], str] = _console(published, engine, clock, "周人事", tmp_path).send
    shown = admin("/appeal")
    assert f"· #{appeal} 刘洋（demo）：主管评价 — 服务性那一项评的是上个月" in shown
    assert (
        f"刘洋对 2026-10 的主管评价部分提出申诉：服务性那一项评的是上个月\n请用 /appeal uphold "
        f"{appeal}" in shown
    )
    shown = admin(f"/appeal uphold {appeal} 速度=4 核对后确认")
    assert "只能用 1–5 的整数修改主管评价的评分维度：工作能力、工作协作性、服务性。" in shown
    shown = admin(f"/appeal uphold {appeal} 服务=4 核对后确认")
    assert shown.startswith(f"申诉 #{appeal} 成立；1 个分数有变化。")
    assert "服务性 75" in liu.send("/me")  # 4 of 5 since the appeal
    for text in (liu.send("/appeal"), shown):
        assert not IDS.search(text), text


def test_an_agent_appeals_the_kpi_table_in_english_and_the_manager_corrects_an_indicator_by_name(
    published: Router,
    engine: Engine,
    clock: Clock,
    tmp_path: Path,
) -> None:
    _mark_all_sent(engine)
    dave = _console(published, engine, clock, "Dave", tmp_path)
    assert "Components: Self-review, Manager review, Peer ratings, KPI table." in dave.send(
        "/appeal"
    )
    shown = dave.send("/appeal KPI table my response time was 29 s")
    assert shown.startswith("Your appeal #") and "about KPI table is filed" in shown
    appeal = _number(shown)
    assert "You already have an open appeal about KPI table." in dave.send("/appeal kpi again")
    assert "Give a reason: /appeal Self-review REASON." in dave.send("/appeal self")
    assert "about Peer ratings is filed" in dave.send("/appeal pe too low")
    mary = _console(published, engine, clock, "Mary", tmp_path)
    shown = mary.send(f"/appeal uphold {appeal} speed=29 the shift log confirms it")
    assert "Unknown indicators: speed. Indicators: Refund ratio, Average response time." in shown
    shown = mary.send(f"/appeal uphold {appeal} average=29 the shift log confirms it")
    assert f"Appeal #{appeal} is upheld" in shown
    assert not IDS.search(shown), shown


def test_a_beginning_that_fits_two_dimensions_is_asked_again_in_chinese(
    published: Router,
    engine: Engine,
    clock: Clock,
    tmp_path: Path,
) -> None:
    shown = _console(published, engine, clock, "刘洋", tmp_path).send("/appeal 工作 态度那一项")
    assert shown.startswith(
        "工作不是你的方案中的部分，请使用：自评、主管评价、同事互评、考核指标表。"
    )

"""``/scheme``: an agent reads what scores them (seed 004: transparency), in their language,
with names (never ids), values in their units and points at the scheme's precision."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from commands import permissions as p
from commands.i18n import translator
from commands.router import Router
from scoring import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.conversations.transcript import FakeChat

ROOT = Path(__file__).resolve().parents[2]


def _use(engine: Engine, team_name: str, scheme_file: str) -> str:
    text = (ROOT / "schemes" / scheme_file).read_text(encoding="utf-8")
    parsed = parse_scheme(text)
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name=team_name)
        assert team is not None
        row = repo.get_or_create_scheme(
            session=session,
            key=parsed.id,
            text=text,
            name_zh=parsed.name_zh,
            name_en=parsed.name_en,
            content_hash=parsed.content_hash,
        )
        team.scheme_id = row.id
        for period in repo.list_periods(session=session, team=team):
            period.scheme_id = row.id
    return text


def _ids(text: str) -> set[str]:
    return set(re.findall(r"^\s*id\s*=\s*\"([a-z0-9_]+)\"", text, flags=re.MULTILINE))


def test_an_agent_reads_the_online_shop_scheme_in_chinese(engine: Engine, router: Router) -> None:
    toml = _use(engine, "demo", "online_shop.toml")
    said = FakeChat(router, "李娜").say("/scheme")[0]
    assert said.private
    text = said.text
    for expected in (
        "团队 demo 的考核方案：网店客服绩效考核",
        "自评 30%",
        "店长考核 70%",
        "工作绩效 40%（由考核指标表计算）",
        "必需：缺少时结果为暂定",
        "咨询转化率（15 分）：分档：< 30% → 0 分；≥ 30%，< 40% → 5 分",
        "平均响应时间（15 分）：分档：≤ 30 秒 → 15 分",
        "订单总金额（10 分）：目标 ¥200,000",
        "有效订单比重（5 分）：≥ 95% 得 5 分，否则 0 分",
        "由主管在 /review 中评分",
        "来自数据导入",
        "排名第一：奖励 ¥100.00。",
        "最后一名：从提成中扣除 ¥100.00。",
        "排名最后 2 名需分析原因，并在结果公布后 7 天内提交改进计划（/improve）。",
        "7 天内",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"
    leaked = {
        i
        for i in _ids(toml) | {"online_shop", "conversion_rate", "fraction", "tiered"}
        if i in text
    }
    assert not leaked, leaked
    assert not re.search(
        r"[A-Za-z]{4,}",
        text.replace("demo", "")
        .replace("review", "")
        .replace("improve", "")
        .replace("feedback", "")
        .replace("appeal", ""),
    ), text
    assert "岗位" not in text  # the change-of-post rule is for admins only


def test_an_english_agent_reads_the_call_centre_scheme_with_checklist_stars_and_team_part(
    engine: Engine, router: Router
) -> None:
    _use(engine, "london", "call_centre.toml")
    text = FakeChat(router, "Alice").say("/scheme")[0].text
    for expected in (
        "Scheme of team london: Call centre agents",
        "Call quality sampling 20% — sampled conversations scored on a checklist: 2 conversations "
        "per agent per week",
        "Verified the caller's identity as required 20% (critical: failing it fails the whole "
        "sample)",
        "Customer satisfaction 10% — customers rate the agent through survey links: the average of "
        "the stars",
        "at least 10 ratings, fewer count as 80 points",
        "Team indicators 20% — the indicator table on the team's own values of Answer rate, "
        "Average wait time, Problem resolution rate",
        "Service-quality complaints (15 points): 15 points, minus 5 points for each event, never "
        "below 0",
        "no value counts as the worst result",
        "Accuracy and punctuality (errors) (10 points): 10 points, minus 2 points for each event "
        "over 1, never below 0",
        "Average wait time (10 points): target 20 s: 10 points × target ÷ value, at most 10 points",
        "Star levels: 5-star from 90 points (bonus base ¥1,000.00); 4-star from 80 points (bonus "
        "base ¥800.00)",
        "Rank 1: a reward of ¥300.00.",
    ):
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert "answer_rate" not in text and "change of post" not in text


def test_gates_and_levels_read_as_rules(engine: Engine, router: Router) -> None:
    _use(engine, "london", "after_sales.toml")
    text = FakeChat(router, "Bob").say("/scheme")[0].text
    assert (
        "Team refund rate on target: a gate: the team's value must be ≤ 5%, otherwise Team bonus "
        "counts 0" in text
    )
    assert "levels: No suggestion → 0 points; Made a sound suggestion → 5 points" in text
    assert "Each agent sees only their own place; managers see the whole ranking." in text


def test_the_admin_also_reads_the_change_of_post_rule(engine: Engine, router: Router) -> None:
    _use(engine, "demo", "online_shop.toml")
    text = FakeChat(router, "周人事").say("/scheme demo")[0].text
    assert "连续 3 期排名最后" in text


def test_a_manager_reads_a_team_they_manage_and_nobody_reads_a_foreign_team(
    engine: Engine, router: Router
) -> None:
    assert "Scheme of team london" in FakeChat(router, "Mary").say("/scheme london")[0].text
    refused = FakeChat(router, "Mary").say("/scheme demo")[0]
    assert refused.text == translator("en")(p.SCHEME_OWN_TEAMS)
    assert FakeChat(router, "李娜").say("/scheme london")[0].text == translator("zh")(
        p.SCHEME_OWN_TEAMS
    )
    assert FakeChat(router, "李娜").say("/scheme nowhere")[0].text == "没有名为 nowhere 的团队。"
    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        mary = repo.get_member_by_name(
            session=session, team=repo.get_team_by_name(session=session, name="london"), name="Mary"
        )  # type: ignore[arg-type]
        assert demo is not None and mary is not None
        repo.add_team_manager(session=session, team=demo, member=mary)
    assert "Scheme of team demo" in FakeChat(router, "Mary").say("/scheme demo")[0].text


@pytest.mark.parametrize(
    "scheme_file", ["online_shop.toml", "call_centre.toml", "after_sales.toml"]
)
def test_no_number_is_printed_with_more_than_the_schemes_precision(
    engine: Engine, router: Router, scheme_file: str
) -> None:
    _use(engine, "london", scheme_file)
    text = FakeChat(router, "Alice").say("/scheme")[0].text
    assert not re.search(r"\d\.\d{3,}", text), text
    assert "e+" not in text and "nan" not in text.lower()


@pytest.mark.parametrize(
    ("who", "scheme_file"), [("李娜", "online_shop.toml"), ("Alice", "call_centre.toml")]
)
def test_the_scheme_fits_slack_and_telegram_limits(
    engine: Engine, router: Router, who: str, scheme_file: str
) -> None:
    from bot.slack import render as slack_render
    from bot.telegram import render as telegram_render

    _use(engine, "demo" if who == "李娜" else "london", scheme_file)
    reply = FakeChat(router, who).say("/scheme")[0]
    messages = slack_render.messages(reply)
    assert all(len(m["blocks"]) <= slack_render.MESSAGE_BLOCKS_MAX for m in messages)
    sections = [b["text"]["text"] for m in messages for b in m["blocks"] if b["type"] == "section"]
    assert all(len(t) <= slack_render.SECTION_MAX for t in sections)
    assert slack_render.unescape("".join(sections)).replace("\n", "") == reply.text.replace(
        "\n", ""
    )
    pieces = telegram_render.split_text(telegram_render.message_text(reply))
    assert all(len(p) <= telegram_render.TEXT_LIMIT for p in pieces)


def test_the_scheme_says_how_the_pay_is_made_up_in_both_languages(
    engine: Engine, router: Router
) -> None:
    # seed 001: 月底成交订单总额 × 千分之三 + 售后指标完成奖金 + 基础工资; 003: the star sets the
    # bonus base
    _use(engine, "demo", "online_shop.toml")
    zh = FakeChat(router, "李娜").say("/scheme")[0].text
    for expected in (
        "薪酬构成：",
        "· 基础工资：¥3,000.00",
        "· 成交提成：订单总金额 × 0.3%",
        "· 指标完成奖金：退款比例、顾客投诉比重都拿满分时发 ¥500.00，有一项不达标则全无",
        "· 名次奖罚：按名次的奖励或扣款，见上",
        "薪酬为以上各项之和，每项四舍五入到分",
    ):
        assert expected in zh, f"{expected!r} not in:\n{zh}"
    _use(engine, "london", "call_centre.toml")
    en = FakeChat(router, "Alice").say("/scheme")[0].text
    for expected in (
        "How the pay is made up:",
        "· Base pay: ¥3,500.00",
        "· Star bonus: the bonus base of the agent's star level × total ÷ 100",
        "· Reward or penalty for the place: the reward or the deduction for the place, as above",
        "The pay is the sum of these parts, each rounded to the cent",
    ):
        assert expected in en, f"{expected!r} not in:\n{en}"
    assert "star_bonus" not in en and "reward_penalty" not in en

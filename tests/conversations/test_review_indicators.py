"""Indicators the manager provides (``provider = "manager"``) are asked in ``/review`` (issue 14
item 2).

The shipped default scheme (online_shop.toml) rates three report indicators 0–100 in the manager's
review, 15 of the table's 100 points with ``missing = "worst"``: until the form asked them, every
agent was capped at 85/100. after_sales.toml's innovation is a described level the manager picks;
call_centre.toml's schedule errors are a count with a deduction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.slack import render as slack_render
from bot.telegram import render as telegram_render
from commands.context import AppConfig
from commands.router import Router
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import unit_of_work
from storage.models import AuditLog
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run

SCHEMES = Path(__file__).resolve().parents[2] / "schemes"
PERIOD = "2026-10"
OPENS = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
CLOSES = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)
# Every imported indicator of online_shop.toml at its full points (85 of the table's 100).
PERFECT_IMPORT = {
    "conversion_rate": "0.55",
    "avg_response_s": 20,
    "churn_rate": "0.03",
    "order_amount": 250000,
    "valid_order_share": "0.99",
    "payment_ratio": "0.95",
    "refund_ratio": "0.01",
    "avg_order_value": 400,
    "complaint_share": "0",
    "abnormal_order_share": "0",
}
TEAMS = {"london": ("en", "Mary", "Alice"), "华东": ("zh", "王经理", "李娜")}


def _world(engine: Engine, scheme_file: str) -> None:
    text = (SCHEMES / scheme_file).read_text(encoding="utf-8")
    parsed = parse_scheme(text)
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session, key=parsed.id, text=text, name_zh=parsed.name_zh,
            name_en=parsed.name_en, content_hash=parsed.content_hash,
        )  # fmt: skip
        for team_name, (lang, manager_name, agent_name) in TEAMS.items():
            team = repo.create_team(session=session, name=team_name, lang=lang, scheme=scheme)
            manager = repo.add_member(session=session, team=team, name=manager_name, role="manager")
            period = repo.get_or_create_period(
                session=session,
                team=team,
                key=PERIOD,
                status="open",
                review_opens_at=OPENS,
                review_closes_at=CLOSES,
            )
            agent = repo.add_member(
                session=session, team=team, name=agent_name, role="agent", manager=manager
            )
            if scheme_file == "online_shop.toml":
                for indicator, value in PERFECT_IMPORT.items():
                    repo.set_indicator_value(
                        session=session,
                        period=period,
                        member=agent,
                        indicator=indicator,
                        value=value,
                        source="import",
                        actor="test",
                        reason=None,
                    )
            repo.save_review(
                session=session,
                period=period,
                subject=agent,
                rater=agent,
                kind="self",
                answers={d.id: 5 for d in parsed.self_dimensions},
                comments={"went_well": "everything"},
                actor="test",
                reason=None,
                submitted_at=OPENS,
            )


def _router(engine: Engine, scheme_file: str) -> Router:
    _world(engine, scheme_file)
    return Router(engine, AppConfig(), Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC)))


@pytest.fixture
def shop(engine: Engine) -> Router:
    return _router(engine, "online_shop.toml")


def _values(router: Router, team_name: str, agent: str) -> dict[str, tuple[Decimal | None, str]]:
    with unit_of_work(router.engine) as session:
        team = repo.get_team_by_name(session=session, name=team_name)
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        member = repo.get_member_by_name(session=session, team=team, name=agent)
        assert period is not None and member is not None
        return {
            v.indicator: (v.value, v.source)
            for v in repo.indicator_values(session=session, period=period, member=member)
        }


def _total(router: Router, team_name: str, agent: str) -> float | None:
    from commands import results

    with unit_of_work(router.engine) as session:
        team = repo.get_team_by_name(session=session, name=team_name)
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        assert period is not None
        computed = results.compute(team, period, session=session)
        assert computed is not None
        return next(s for s in computed.scores if s.name == agent).total


FULL_MARKS_EN = [
    ("/review Alice", "Question 1 of 7: Ability"),
    ("5", "Please say why"),
    ("Solves what others cannot", "Collaboration"),
    ("5", "Please say why"),
    ("Helps every newcomer", "Service"),
    ("5", "Please say why"),
    (
        "Customers ask for her",
        [
            "Reports on time: how many points from 0 to 100 do you give this agent?",
            "Worth up to 5 points of the KPI table.",
            "Send a number from 0 to 100.",
        ],
    ),
    ("100", "Report data truthful: how many points from 0 to 100"),
    ("100", "Report quality: how many points from 0 to 100"),
    ("100", "Anything else"),
    (
        "skip",
        [
            "Summary of your manager review",
            "Reports on time (of 100 points): 100",
            "Report quality (of 100 points): 100",
            "Resulting total for Alice: 100.0 / 100",
        ],
    ),
    ("[Submit]", "the review is submitted"),
]


def test_an_agent_reviewed_in_full_reaches_100_in_the_default_scheme(shop: Router) -> None:
    run(FakeChat(shop, "Mary"), FULL_MARKS_EN)
    assert _total(shop, "london", "Alice") == 100.0
    stored = _values(shop, "london", "Alice")
    for indicator in ("report_timeliness", "report_accuracy", "report_quality"):
        assert stored[indicator] == (Decimal(100), "manager")


def test_without_the_manager_indicators_the_default_scheme_caps_a_perfect_agent_at_85(
    shop: Router,
) -> None:
    """What issue 14 saw: the same agent with the three report indicators missing (``missing =
    "worst"``)."""
    script = [*FULL_MARKS_EN[:7], ("/cancel", "Cancelled")]
    run(FakeChat(shop, "Mary"), script)
    with unit_of_work(shop.engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        alice = repo.get_member_by_name(session=session, team=team, name="Alice")
        mary = repo.get_member_by_name(session=session, team=team, name="Mary")
        assert period is not None and alice is not None and mary is not None
        repo.save_review(
            session=session,
            period=period,
            subject=alice,
            rater=mary,
            kind="manager",
            answers={"ability": 5, "collaboration": 5, "service": 5},
            actor="test",
            reason=None,
            submitted_at=OPENS,
        )
    # performance (the KPI table, 40 %) scores 85 of 100; the rest is full: 30 + 70 × (0.4 × 0.85 +
    # 0.6) = 95.8
    assert _total(shop, "london", "Alice") == 95.8


def test_the_manager_indicators_are_asked_in_chinese_with_their_unit_and_range(
    shop: Router,
) -> None:
    run(
        FakeChat(shop, "王经理"),
        [
            ("/review 李娜", "第 1/7 题：工作能力"),
            ("4", "第 2/7 题"),
            ("4", "第 3/7 题"),
            (
                "4",
                [
                    "第 4/7 题：报表上交及时性：你给该客服打多少分（0–100 分）？",
                    "该项在考核指标表中最高 5 分。",
                    "请发送 0 到 100 之间的数字。",
                ],
            ),
            ("一百零一", ["请发送 0 到 100 之间的数字。", "第 4/7 题"]),
            ("90", "第 5/7 题：报表数据真实性"),
            ("95", "第 6/7 题：报表整体质量"),
            ("85", "第 7/7 题"),
            (
                "跳过",
                ["汇总", "报表上交及时性（满分 100 分）：90", "报表整体质量（满分 100 分）：85"],
            ),
            ("提交", "提交"),
        ],
    )
    stored = _values(shop, "华东", "李娜")
    assert stored["report_timeliness"] == (Decimal(90), "manager")
    assert stored["report_accuracy"] == (Decimal(95), "manager")
    assert stored["report_quality"] == (Decimal(85), "manager")


def test_a_bad_indicator_value_gets_a_specific_answer_and_changes_nothing(shop: Router) -> None:
    chat = FakeChat(shop, "Mary")
    run(chat, [("/review Alice", "Question 1"), ("4", "Q"), ("4", "Q"), ("4", "Reports on time")])
    for bad in ("150", "-5", "lots", "inf", "nan"):
        run(
            chat,
            [(bad, ["Please send a number from 0 to 100.", "Question 4 of 7: Reports on time"])],
        )
    run(chat, [("/cancel", "Cancelled")])
    stored = _values(shop, "london", "Alice")
    assert not {"report_timeliness", "report_accuracy", "report_quality"} & set(stored)


def test_the_stored_value_is_audited_as_set_by_the_manager_review(shop: Router) -> None:
    run(FakeChat(shop, "Mary"), FULL_MARKS_EN)
    with unit_of_work(shop.engine) as session:
        entries = list(
            session.exec(
                select(AuditLog).where(
                    AuditLog.action == "indicator_value.set",
                    AuditLog.reason == "asked in the manager review",
                )
            )
        )
    assert len(entries) == 3
    assert {e.after["indicator"] for e in entries if e.after} == {
        "report_timeliness",
        "report_accuracy",
        "report_quality",
    }
    assert all(e.after and e.after["source"] == "manager" for e in entries)


def test_a_re_review_shows_the_current_indicator_values(shop: Router) -> None:
    chat = FakeChat(shop, "Mary")
    run(chat, FULL_MARKS_EN)
    run(
        chat,
        [
            (
                "/review Alice",
                ["Summary of your manager review", "7. Reports on time (of 100 points): 100"],
            ),
        ],
    )
    with unit_of_work(shop.engine) as session:  # an admin corrects one value by hand meanwhile
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        alice = repo.get_member_by_name(session=session, team=team, name="Alice")
        assert period is not None and alice is not None
        repo.set_indicator_value(
            session=session,
            period=period,
            member=alice,
            indicator="report_quality",
            value=70,
            source="admin",
            actor="test",
            reason="corrected",
        )
    run(chat, [("/cancel", "Cancelled"), ("/review Alice", "9. Report quality (of 100 points): 70"),
               ("[Change 9]", ["Report quality", "Current answer: 70"]), ("80", "Summary"),
               ("submit", "submitted")])  # fmt: skip
    assert _values(shop, "london", "Alice")["report_quality"] == (Decimal(80), "manager")


def test_the_slack_modal_asks_the_manager_indicators_with_their_range(shop: Router) -> None:
    chat = FakeChat(shop, "Mary")
    chat.say("/review Alice")
    form = next(r.form for r in chat.last if r.form)
    by_id = {q.field_id: q for q in form}
    block = slack_render.input_block(by_id["indicator.report_timeliness"])
    assert block["element"]["type"] == "number_input"
    assert (block["element"]["min_value"], block["element"]["max_value"]) == ("0", "100")
    assert "Reports on time" in block["label"]["text"]
    first = form[0]
    values = {
        "ability": "4",
        "collaboration": "4",
        "service": "4",
        "indicator.report_timeliness": "120",
        "indicator.report_accuracy": "90",
        "indicator.report_quality": "90",
    }
    replies = chat.send(
        chat._incoming(
            action="form:modal", value=f"{first.conversation_id}:{first.step}:", values=values
        )
    )
    errors = {k: v for r in replies for k, v in r.errors.items()}
    assert errors == {"indicator.report_timeliness": "Please send a number from 0 to 100."}
    values["indicator.report_timeliness"] = "100"
    chat.send(
        chat._incoming(
            action="form:modal", value=f"{first.conversation_id}:{first.step}:", values=values
        )
    )
    run(chat, [("[Submit]", "the review is submitted")])
    assert _values(shop, "london", "Alice")["report_timeliness"] == (Decimal(100), "manager")


def test_a_described_level_is_picked_by_its_name_and_stored_as_its_number(engine: Engine) -> None:
    router = _router(engine, "after_sales.toml")
    chat = FakeChat(router, "Mary")
    chat.say("/review Alice")
    for _dimension in range(3):  # ability, collaboration, service (4 needs no comment)
        chat.say("4")
    assert (
        "Innovation (suggestions, process improvements): which level fits this agent this period?"
        in chat.text
    )
    labels = [b.label for b in chat.buttons()]
    assert "Suggestion adopted (8 points)" in labels
    (asked,) = [r for r in chat.last if r.question is not None]
    rendered = telegram_render.render(asked, telegram_render.CallbackCodec())  # what Telegram shows
    keys = (
        [k.text for row in rendered.keyboard.inline_keyboard for k in row]
        if rendered.keyboard
        else []
    )
    assert (
        "Suggestion adopted (8 points)" in keys
        and "Carried a process improvement through (10 points)" in keys
    )
    run(
        chat,
        [
            (
                "seven",
                "Please choose one of: No suggestion (0 points) / Made a sound suggestion (5 "
                "points)",
            )
        ],
    )
    run(chat, [("[Suggestion adopted (8 points)]", "Question")])
    while "Summary" not in chat.text:
        chat.say("skip")
    assert (
        "Innovation (suggestions, process improvements): Suggestion adopted (8 points)" in chat.text
    )
    run(chat, [("submit", "submitted")])
    assert _values(router, "london", "Alice")["innovation"] == (Decimal(3), "manager")


def test_a_counted_indicator_takes_whole_numbers_of_zero_or_more_in_both_languages(
    engine: Engine,
) -> None:
    """call_centre.toml has no manager component, yet its team leader counts the schedule errors in
    /review."""
    router = _router(engine, "call_centre.toml")
    for name, agent, words in (
        (
            "Mary",
            "Alice",
            (
                "Accuracy and punctuality (errors): how many times this period?",
                "Each one over 1 takes 2 of its 10 points.",
                "Please send a whole number of 0 or more.",
            ),
        ),
        (
            "王经理",
            "李娜",
            (
                "准确性与守时(差错次数)：本期共几次？",
                "超过 1 次后，每多一次扣 2 分（该项满分 10 分）。",
                "请发送不小于 0 的整数。",
            ),
        ),
    ):
        chat = FakeChat(router, name)
        chat.say(f"/review {agent}")
        assert (
            words[0] in chat.text and words[1] in chat.text
        )  # the scheme has no rated dimensions: asked first
        for bad in ("2.5", "-1"):
            run(chat, [(bad, [words[2], words[0]])])
        chat.say("3")
        while "Summary" not in chat.text and "汇总" not in chat.text:
            chat.say("skip")
        chat.say("submit")
        team = "london" if name == "Mary" else "华东"
        assert _values(router, team, agent)["schedule_errors"] == (Decimal(3), "manager")


def test_me_says_a_value_was_given_in_the_manager_review_in_both_languages() -> None:
    from commands.i18n import translator
    from commands.me import source_text

    assert source_text(translator("en"), {"source": "manager"}) == "given in the manager review"
    assert source_text(translator("zh"), {"source": "manager"}) == "由主管在评价中给出"

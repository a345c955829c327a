"""An appeal gets an answer deadline (issue 14 item 11; seed 002 考核结果争议处理:
及时反馈处理结果).

The scheme sets ``apply.appeal_answer_days`` (default 3 working days); the deadline is the end of
that many working days after the filing day, in the team's time zone (the scheme's weekend off).
The agent is told the date when filing, the decider is reminded before it, and the admins are told
when it has passed — through the outbox, once each, by the cycle's daily step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from commands.appeal import answer_deadline, follow_up_deadlines
from commands.cycle import run_step
from commands.router import Router
from scoring import parse_scheme
from scoring.scheme import SchemeError
from storage import consequences as store
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.consequences.test_consequences import APPLY, _publish, _texts, _use_scheme
from tests.conversations.transcript import FakeChat
from tests.conversations.world import SCHEME_TEXT

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKEND = (6, 7)


def _at(text: str, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


# -- the one rule for the date ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filed", "days", "weekend", "due"),
    [
        ("2026-11-06 20:00", 3, WEEKEND, "2026-11-11 23:59:59"),  # Friday evening → Mon, Tue, Wed
        (
            "2026-11-07 10:00",
            3,
            WEEKEND,
            "2026-11-11 23:59:59",
        ),  # Saturday: the weekend does not count
        ("2026-11-09 09:00", 3, WEEKEND, "2026-11-12 23:59:59"),  # Monday → Tue, Wed, Thu
        ("2026-11-09 09:00", 1, WEEKEND, "2026-11-10 23:59:59"),
        ("2026-11-06 20:00", 3, (7,), "2026-11-10 23:59:59"),  # a six-day week: Sat, Mon, Tue
    ],
)
def test_the_answer_deadline_counts_working_days_after_the_filing_day(
    filed: str, days: int, weekend: tuple[int, ...], due: str
) -> None:
    assert answer_deadline(_at(filed).astimezone(UTC), days, "Asia/Shanghai", weekend) == _at(due)


def test_the_answer_deadline_counts_in_the_teams_time_zone() -> None:
    """Sunday 17:00 in London is Monday 01:00 in Shanghai: a Shanghai team's Monday counts as the
    filing day."""
    filed = datetime(2026, 11, 8, 17, 0, tzinfo=UTC)
    assert answer_deadline(filed, 3, "Asia/Shanghai", WEEKEND) == _at("2026-11-12 23:59:59")
    assert answer_deadline(filed, 3, "Europe/London", WEEKEND) == _at(
        "2026-11-11 23:59:59", ZoneInfo("Europe/London")
    )


# -- the scheme setting ----------------------------------------------------------------------------


def test_a_scheme_answers_appeals_within_three_working_days_unless_it_says_otherwise() -> None:
    assert parse_scheme(SCHEME_TEXT).apply.appeal_answer_days == 3
    assert (
        parse_scheme(SCHEME_TEXT + "\n[apply]\nappeal_answer_days = 5\n").apply.appeal_answer_days
        == 5
    )


def test_an_appeal_answer_deadline_of_zero_days_or_a_misspelt_key_is_refused() -> None:
    with pytest.raises(SchemeError) as zero:
        parse_scheme(SCHEME_TEXT + "\n[apply]\nappeal_answer_days = 0\n")
    assert [(p.field, p.code) for p in zero.value.problems] == [
        ("appeal_answer_days", "not_positive")
    ]
    with pytest.raises(SchemeError) as misspelt:
        parse_scheme(SCHEME_TEXT + "\n[apply]\nappeal_answer_day = 5\n")
    (problem,) = misspelt.value.problems
    assert problem.code == "unknown_key_close" and problem.params["close"] == "appeal_answer_days"


# -- through the bot -------------------------------------------------------------------------------


@pytest.fixture
def published(engine: Engine, router: Router, clock: Clock) -> Router:
    """2026-10 published on Friday 2026-11-06 20:00 Shanghai time (the teams' zone)."""
    _use_scheme(engine, SCHEME_TEXT + APPLY)
    FakeChat(router, "周人事").say("/calibrate lock 2026-10")
    _publish(engine, clock)
    return router


DUE = "2026-11-11 23:59"  # filed on Friday evening: Mon, Tue, Wed


def test_the_agent_is_told_the_answer_date_when_filing_and_the_decider_asked_to_answer_by_it(
    engine: Engine, published: Router
) -> None:
    en = FakeChat(published, "Dave").say("/appeal kpi my response time was 29 s")[0].text
    zh = FakeChat(published, "刘洋").say("/appeal kpi 退款数据包含了上月的订单")[0].text
    assert f"The answer is due by {DUE}." in en
    assert f"答复期限：{DUE} 前。" in zh
    asked = _texts(engine, "appeal.open").values()
    assert any(f"Please answer by {DUE}." in t and "Dave" in t for t in asked)
    assert any(f"请在 {DUE} 前答复。" in t and "刘洋" in t for t in asked)


def _follow_up(engine: Engine, when: datetime) -> dict[str, int]:
    with unit_of_work(engine) as s:
        return follow_up_deadlines(s, now=when.astimezone(UTC))


def test_the_decider_is_reminded_once_in_the_last_day_before_the_deadline(
    engine: Engine, published: Router
) -> None:
    FakeChat(published, "Dave").say("/appeal kpi my response time was 29 s")
    FakeChat(published, "刘洋").say("/appeal kpi 退款数据包含了上月的订单")
    assert _follow_up(engine, _at("2026-11-10 09:00")) == {
        "reminded": 0,
        "late": 0,
    }  # due tomorrow night
    assert _follow_up(engine, _at("2026-11-11 09:00")) == {"reminded": 2, "late": 0}
    assert _follow_up(engine, _at("2026-11-11 15:00")) == {"reminded": 0, "late": 0}  # once
    reminders = _texts(engine, "appeal.reminder").values()
    assert any(
        t.startswith("Reminder: appeal #") and f"needs your answer by {DUE}" in t and "Dave" in t
        for t in reminders
    )
    assert any(t.startswith("提醒：刘洋") and f"需要你在 {DUE} 前答复" in t for t in reminders)


def test_the_admin_is_told_once_when_an_appeal_is_not_answered_in_time(
    engine: Engine, published: Router
) -> None:
    FakeChat(published, "Dave").say("/appeal kpi my response time was 29 s")
    filed = FakeChat(published, "Bob").say("/appeal kpi the refund export is wrong")[0].text
    bob_appeal = filed.split("#")[1].split()[0]
    FakeChat(published, "Mary").say(
        f"/appeal reject {bob_appeal} the export matches the shop's records"
    )
    assert _follow_up(engine, _at("2026-11-11 23:59")) == {"reminded": 1, "late": 0}
    assert _follow_up(engine, _at("2026-11-12 00:01")) == {
        "reminded": 0,
        "late": 1,
    }  # one admin, Dave's appeal only
    assert _follow_up(engine, _at("2026-11-13 09:00")) == {"reminded": 0, "late": 0}
    (late,) = _texts(engine, "appeal.late").values()
    assert late.startswith(
        "Dave（london）对 2026-10 的考核指标表提出的申诉 #"
    )  # the admin 周人事 reads Chinese
    assert f"应在 {DUE} 前答复，至今仍未处理" in late


def test_the_late_notice_reads_in_english_for_an_english_admin(
    engine: Engine, published: Router
) -> None:
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        repo.add_member(session=s, team=london, name="Hannah", role="admin")
    FakeChat(published, "Dave").say("/appeal kpi my response time was 29 s")
    assert _follow_up(engine, _at("2026-11-12 08:00")) == {"reminded": 0, "late": 2}
    texts = list(_texts(engine, "appeal.late").values())
    assert any(
        t.startswith("Appeal #")
        and "by Dave (london, KPI table of 2026-10) was due for an answer by "
        f"{DUE} and is still open"
        in t
        for t in texts
    )


def test_the_daily_step_follows_up_the_appeal_deadlines(engine: Engine, published: Router) -> None:
    FakeChat(published, "Dave").say("/appeal kpi my response time was 29 s")
    now = _at("2026-11-12 09:00").astimezone(UTC)
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        outcome = run_step(
            s, team=london, period_key="2026-11-12", step="daily", now=now, worker="test"
        )
        (appeal,) = store.list_appeals(session=s, statuses=["open"])
    assert outcome.counts.get("appeal.late") == 1
    assert (
        appeal.status == "open"
    )  # telling is all the step does; the decision stays with the decider


def test_the_scheme_says_how_many_working_days_an_answer_takes(published: Router) -> None:
    en = FakeChat(published, "Dave").say("/scheme")[0].text
    zh = FakeChat(published, "刘洋").say("/scheme")[0].text
    assert "within 7 days of publication (/appeal). The answer is due within 3 working days." in en
    assert "提出申诉（/appeal）。申诉须在 3 个工作日内得到答复。" in zh

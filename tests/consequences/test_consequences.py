"""Calibration, publication's consequences, improvement plans, appeals and exports, through the
router."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app
from commands import calibration, improve, results
from commands.consequences import apply_results
from commands.export import build_sheets, csv_table, safe, titled
from commands.router import Router
from scoring import parse_scheme
from storage import consequences as store
from storage import outbox as outbox_store
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat
from tests.conversations.world import SCHEME_TEXT

APPLY = """
[apply]
reward = "100"
penalty = "50"
improvement_last = 2
improvement_days = 7
appeal_days = 7
announce_best = true

[calibration]
outlier_k = 2.0
min_reviews = 3
targets = [
  { id = "excellent", name = { zh = "优秀", en = "Excellent" }, min_total = 90, max_share = 0.2 },
]
"""


def _use_scheme(engine: Engine, text: str) -> None:
    parsed = parse_scheme(text)
    with unit_of_work(engine) as s:
        row = repo.get_or_create_scheme(
            session=s,
            key=parsed.id,
            text=text,
            name_zh=parsed.name_zh,
            name_en=parsed.name_en,
            content_hash=parsed.content_hash,
        )
        for team in repo.list_teams(session=s):
            team.scheme_id = row.id
            period = repo.get_period(session=s, team=team, key="2026-10")
            assert period is not None
            period.scheme_id = row.id


def _publish(engine: Engine, clock: Clock) -> None:
    with unit_of_work(engine) as s:
        for team in repo.list_teams(session=s):
            period = repo.get_period(session=s, team=team, key="2026-10")
            assert period is not None
            repo.set_period_status(
                session=s,
                period=period,
                status="published",
                actor="test",
                reason=None,
                now=clock.now,
            )
            apply_results(s, team, period, now=clock.now)


def _mark_all_sent(engine: Engine) -> None:
    with unit_of_work(engine) as s:
        for row in outbox_store.list_messages(session=s, statuses=["pending"]):
            row.status = "sent"
            s.add(row)


def _texts(engine: Engine, kind_prefix: str) -> dict[str, str]:
    with unit_of_work(engine) as s:
        return {
            m.key: m.reply["text"]
            for m in outbox_store.list_messages(session=s)
            if m.kind.startswith(kind_prefix)
        }


# -- calibration -------------------------------------------------------------------------------


def test_a_manager_far_above_the_others_is_flagged_lenient_and_one_below_strict() -> None:
    by_rater = {
        1: [90.0, 95.0, 100.0, 95.0],
        2: [60.0, 65.0, 55.0, 70.0],
        3: [70.0, 75.0, 80.0, 72.0],
    }
    stats = {
        s.rater_id: s
        for s in calibration.rater_stats(by_rater, {1: "a", 2: "b", 3: "c"}, k=2.0, min_reviews=3)
    }
    assert stats[1].flag == calibration.LENIENT
    assert stats[2].flag == calibration.STRICT
    assert stats[3].flag is None


def test_a_manager_with_fewer_reviews_than_the_minimum_is_never_flagged() -> None:
    by_rater = {1: [100.0, 100.0], 2: [50.0, 55.0, 60.0, 52.0]}
    stats = calibration.rater_stats(by_rater, {1: "a", 2: "b"}, k=2.0, min_reviews=3)
    assert next(s for s in stats if s.rater_id == 1).flag is None


def test_a_distribution_target_is_over_when_more_agents_reach_it_than_allowed() -> None:
    target = parse_scheme(SCHEME_TEXT + APPLY).calibration.targets[0]
    (check,) = calibration.check_targets([target], [95.0, 91.0, 80.0, 70.0, 60.0])
    assert (check.count, check.of, check.allowed, check.over) == (2, 5, 1, True)


def test_the_admin_sees_the_calibration_view_adjusts_a_review_with_a_reason_and_locks(
    engine: Engine, router: Router
) -> None:
    _use_scheme(engine, SCHEME_TEXT + APPLY)
    admin = FakeChat(router, "周人事")
    view = admin.say("/calibrate 2026-10")[0]
    assert "Calibration" in view.text or "校准" in view.text
    assert "Mary" in view.text and "王经理" in view.text
    assert [b.action for b in view.buttons] == ["calibrate:lock"]
    reply = admin.say("/calibrate adjust london Alice ability=4 rated above the team's evidence")[0]
    assert "rated above the team's evidence" in reply.text
    with unit_of_work(engine) as s:
        trail = [
            e
            for e in repo.audit_trail(session=s, entity="review")
            if (e.reason or "").startswith("calibration:")
        ]
        assert (
            trail
            and trail[-1].before["answers"]["ability"] == 5
            and trail[-1].after["answers"]["ability"] == 4
        )
    admin.send(admin._incoming(action=view.buttons[0].action, value=view.buttons[0].value))
    with unit_of_work(engine) as s:
        for team in repo.list_teams(session=s):
            period = repo.get_period(session=s, team=team, key="2026-10")
            assert period is not None and period.status == "locked"
            assert all(row.locked for row in repo.list_scores(session=s, period=period))
    refused = admin.say("/calibrate adjust london Bob ability=2 too late")[0]
    assert "locked" in refused.text or "锁定" in refused.text


def test_an_agent_cannot_calibrate(router: Router) -> None:
    reply = FakeChat(router, "Alice").say("/calibrate")[0]
    assert "admin" in reply.text.lower() or "管理员" in reply.text


# -- publication ---------------------------------------------------------------------------------


@pytest.fixture
def published(engine: Engine, router: Router, clock: Clock) -> Router:
    _use_scheme(engine, SCHEME_TEXT + APPLY)
    FakeChat(router, "周人事").say("/calibrate lock 2026-10")
    _publish(engine, clock)
    return router


def test_publication_records_the_reward_and_the_penalty_for_payroll(
    engine: Engine, published: Router
) -> None:
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        period = repo.get_period(session=s, team=london, key="2026-10")
        assert period is not None
        names = {m.id: m.name for m in repo.list_members(session=s, team=london)}
        entries = {
            (names[e.member_id], e.kind): e.amount
            for e in store.list_payroll(session=s, period=period)
        }
    assert entries == {("Alice", "reward"): Decimal("100"), ("Carol", "penalty"): Decimal("50")}


def test_publication_twice_changes_nothing(engine: Engine, published: Router, clock: Clock) -> None:
    before = _texts(engine, "")
    _publish(engine, clock)
    assert _texts(engine, "") == before


def test_the_manager_gets_a_five_part_prompt_per_agent_filled_from_data(
    engine: Engine, published: Router
) -> None:
    prompts = _texts(engine, "feedback.prompt")
    carol = next(t for t in prompts.values() if "with Carol" in t)
    for part in (
        "1. Class: low performer",
        "2. Goal",
        "Refund ratio: from 7% to 6%",
        "3. The four questions",
        "What was the target?",
        "What was achieved?",
        "Why? Refund ratio lost 50 points",
        "Which way to improve?",
        "4. Proposed times",
        "5. Outline",
        "/feedback notes Carol",
    ):
        assert part in carol, part
    assert len(prompts) == 8  # one per scored agent of both teams
    assert sorted(
        n for n in ("Alice", "Bob", "Carol", "Dave") for t in prompts.values() if f"with {n} " in t
    ) == ["Alice", "Bob", "Carol", "Dave"]
    zh = next(t for t in prompts.values() if "刘洋" in t)
    assert "退款比例" in zh


def test_the_best_agent_and_team_are_announced_in_the_channel(
    engine: Engine, published: Router
) -> None:
    best = _texts(engine, "best")
    assert any("Alice" in t for t in best.values())


def test_the_agent_accepts_a_proposed_time_and_the_manager_is_told(
    engine: Engine, published: Router
) -> None:
    carol = FakeChat(published, "Carol")
    offer = carol.say("/feedback")[0]
    assert len(offer.buttons) == 3
    reply = carol.send(
        carol._incoming(action=offer.buttons[1].action, value=offer.buttons[1].value)
    )[0]
    assert "set for" in reply.text
    assert any("Carol accepted" in t for t in _texts(engine, "feedback.time").values())
    again = carol.send(
        carol._incoming(action=offer.buttons[0].action, value=offer.buttons[0].value)
    )[0]
    assert "already set" in again.text


def test_a_counter_proposal_outside_working_hours_is_refused(published: Router) -> None:
    reply = FakeChat(published, "Carol").say("/feedback counter 2026-11-14 15:00")[0]  # a Saturday
    assert "weekday between 09:00 and 18:00" in reply.text


def test_after_the_meeting_a_smart_goal_becomes_next_periods_target_and_the_agent_acknowledges(
    engine: Engine, published: Router
) -> None:
    mary = FakeChat(published, "Mary")
    assert "needs a number" in mary.say("/feedback goal Carol 2026-12-31 faster replies")[0].text
    mary.say("/feedback notes Carol agreed to use quick replies")
    saved = mary.say("/feedback goal Carol avg_response_s=45 2026-11-30 answer within 45 seconds")[
        0
    ]
    assert "personal target for 2026-11" in saved.text
    carol = FakeChat(published, "Carol")
    mine = carol.say("/feedback")[0]
    assert "answer within 45 seconds (Average response time 45 s by 2026-11-30)" in mine.text, (
        "the indicator by its name"
    )
    assert carol.send(carol._incoming(action=mine.buttons[0].action, value=mine.buttons[0].value))[
        0
    ].text.startswith("Thank you")
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        member = repo.get_member_by_name(session=s, team=london, name="Carol")  # type: ignore[arg-type]
        from commands.feedback import personal_targets

        assert personal_targets(s, member, "2026-11", parse_scheme(SCHEME_TEXT + APPLY)) == {
            "avg_response_s": 45.0
        }  # type: ignore[arg-type]


# -- improvement plans --------------------------------------------------------------------------


def test_the_last_two_submit_a_plan_the_manager_returns_then_approves_it(
    engine: Engine, published: Router
) -> None:
    carol = FakeChat(published, "Carol")
    carol.say("/improve")
    carol.say("Slow replies at peak hours")
    carol.say("Quick-reply templates from next week")
    carol.say("A coaching session")
    done = carol.say("submit")
    assert any("sent to your manager" in r.text for r in done)
    assert any(
        "Slow replies at peak hours" in t for t in _texts(engine, "improve.submitted").values()
    )
    mary = FakeChat(published, "Mary")
    assert "COMMENT" in mary.say("/improve return Carol")[0].text
    mary.say("/improve return Carol add a date to each measure")
    assert any(
        "add a date to each measure" in t for t in _texts(engine, "improve.returned").values()
    )
    carol.say("/improve")
    with unit_of_work(engine) as s:
        plans = store.list_plans(session=s, statuses=["returned"])
        assert len(plans) == 1


def test_a_late_plan_is_reminded_once_a_day_then_escalated_once(
    engine: Engine, published: Router, clock: Clock
) -> None:
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        boss = repo.add_member(session=s, team=london, name="Director", role="manager")  # type: ignore[arg-type]
        mary = repo.get_member_by_name(session=s, team=london, name="Mary")  # type: ignore[arg-type]
        assert mary is not None
        mary.manager_id = boss.id
        due = {p.due_at for p in store.list_plans(session=s)}
    assert due == {
        datetime(2026, 11, 13, 15, 59, tzinfo=UTC)
    }  # published 6 Nov + 7 days, 23:59 Shanghai
    day = max(due) - timedelta(hours=30)
    with unit_of_work(engine) as s:
        early = improve.follow_up(s, now=day - timedelta(days=2))
        first = improve.follow_up(s, now=day)
        again = improve.follow_up(s, now=day + timedelta(hours=2))
    assert early["reminded"] == 0  # more than two days ahead
    assert first["reminded"] == 4 and again["reminded"] == 0  # two plans per team, two teams
    with unit_of_work(engine) as s:
        late = improve.follow_up(s, now=max(due) + timedelta(hours=1))
        twice = improve.follow_up(s, now=max(due) + timedelta(days=1))
    assert late["escalated"] == 4 and twice["escalated"] == 0
    escalations = _texts(engine, "improve.escalated")
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        boss = repo.get_member_by_name(session=s, team=london, name="Director")  # type: ignore[arg-type]
        assert boss is not None
        assert sum(1 for k in escalations if f"/{boss.id}/" in k) == 2


# -- appeals ---------------------------------------------------------------------------------------


def test_an_upheld_appeal_changes_the_rank_and_republishes_only_to_those_who_saw_it(
    engine: Engine, published: Router
) -> None:
    _mark_all_sent(engine)
    dave = FakeChat(published, "Dave")
    filed = dave.say(
        "/appeal kpi my response time was 29 s, the export double-counted a night shift"
    )[0]
    assert "#" in filed.text
    appeal_id = filed.text.split("#")[1].split()[0]
    mary = FakeChat(published, "Mary")
    assert "reason" in mary.say(f"/appeal uphold {appeal_id} avg_response_s=29")[0].text
    decided = mary.say(f"/appeal uphold {appeal_id} avg_response_s=29 the shift log confirms it")[0]
    assert "upheld" in decided.text
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        period = repo.get_period(session=s, team=london, key="2026-10")  # type: ignore[arg-type]
        assert period is not None
        ranks = {
            repo.get_member(session=s, member_id=r.member_id).name: r.rank
            for r in repo.list_scores(session=s, period=period)
        }  # type: ignore[union-attr]
        trail = [
            e for e in repo.audit_trail(session=s, entity="score") if e.action == "score.restate"
        ]
        appeal = store.get_appeal(session=s, appeal_id=int(appeal_id))
        assert appeal is not None and appeal.status == "upheld"
        assert appeal.before["rank"] == 3 and appeal.after["rank"] == 2
    assert ranks["Dave"] == 2 and ranks["Bob"] == 3
    assert all(e.actor.startswith("member:") and "shift log" in (e.reason or "") for e in trail)
    assert any(e.before["rank"] == 3 and e.after["rank"] == 2 for e in trail)
    corrected = _texts(engine, "ranking.corrected")
    assert corrected == {}  # nobody was sent a ranking in this test (no broadcast ran)
    told = _texts(engine, "appeal.decided")
    assert any("rank 2" in t for t in told.values())


def test_an_appeal_against_the_managers_own_review_is_decided_by_an_admin(
    published: Router,
) -> None:
    filed = FakeChat(published, "Carol").say(
        "/appeal manager my manager rated service on the wrong month"
    )[0]
    appeal_id = filed.text.split("#")[1].split()[0]
    refused = FakeChat(published, "Mary").say(f"/appeal reject {appeal_id} I stand by it")[0]
    assert "admin" in refused.text
    decided = FakeChat(published, "周人事").say(
        f"/appeal reject {appeal_id} the review matches the month"
    )[0]
    assert "rejected" in decided.text or "驳回" in decided.text


def test_an_appeal_after_the_window_is_refused(published: Router, clock: Clock) -> None:
    clock.advance(days=8)
    reply = FakeChat(published, "Dave").say("/appeal kpi too late")[0]
    assert "closed" in reply.text


# -- exports ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx"])
def test_a_cell_that_starts_like_a_formula_is_kept_as_text(text: str) -> None:
    assert safe(text) == "'" + text
    assert safe("ok =1") == "ok =1" and safe(-3) == -3


def test_the_export_has_every_sheet_and_escapes_a_customer_comment(
    engine: Engine, published: Router
) -> None:
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        period = repo.get_period(session=s, team=london, key="2026-10")
        alice = repo.get_member_by_name(session=s, team=london, name="Alice")
        assert period is not None and alice is not None
        repo.add_customer_rating(
            session=s,
            team=london,
            member=alice,
            period=period,
            token_id="t1",
            stars=5,
            comment='=HYPERLINK("http://x","y")',
        )
        sheets = build_sheets(s, london, period)
    assert set(sheets) == {
        "scores",
        "breakdown",
        "ratings",
        "rewards_penalties",
        "pay",
        "improvement_plans",
        "appeals",
    }
    ratings = list(csv.reader(io.StringIO(csv_table(sheets["ratings"]).decode("utf-8-sig"))))
    assert ratings[1][:3] == ["Alice", "5", '\'=HYPERLINK("http://x","y")']
    assert sheets["rewards_penalties"][1][:2] == ["Alice", "Reward"]
    admin = FakeChat(published, "周人事")
    reply = admin.say("/export london 2026-10")[0]
    assert reply.file is not None and reply.file.filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(reply.file.data))
    assert book.sheetnames == list(titled(sheets, "en"))
    assert book["Scores"]["A2"].value == "Alice"


def test_the_cli_writes_csv_by_extension_and_refuses_bad_input_with_exit_2(
    engine: Engine, published: Router, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    url = str(engine.url)
    runner = CliRunner()
    out = tmp_path / "r.zip"
    ok = runner.invoke(
        build_app(),
        ["export", "--team", "london", "--period", "2026-10", "--out", str(out), "--db", url],
    )
    assert ok.exit_code == 0, ok.output
    with zipfile.ZipFile(out) as book:
        assert book.namelist()[0] == "1-Scores.csv"
    bad = runner.invoke(
        build_app(),
        [
            "export",
            "--team",
            "nowhere",
            "--period",
            "2026-10",
            "--out",
            str(tmp_path / "r.pdf"),
            "--db",
            url,
        ],
    )
    assert bad.exit_code == 2
    assert "Traceback" not in bad.output


# -- stars and training needs ----------------------------------------------------------------


def test_the_hr_export_shows_the_same_star_and_numeric_money_as_the_result(
    engine: Engine, published: Router
) -> None:
    # One star rule (scoring.total.star_levels) for the result message and the HR export alike.
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        period = repo.get_period(session=s, team=london, key="2026-10")
        assert period is not None
        outcome = results.period_results(london, period, session=s, store=False)
        sheets = build_sheets(s, london, period)
    assert outcome is not None
    header, *rows = sheets["scores"]
    by_name = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    for score in outcome.scored:
        assert by_name[score.name]["star"] == score.flags.get("star")
    money = [r[2] for r in sheets["rewards_penalties"][1:]]
    assert money and all(isinstance(m, Decimal) for m in money)
    rewards = [r["reward"] for r in by_name.values() if r["reward"] is not None]
    assert rewards and all(isinstance(m, Decimal) for m in rewards)


def test_training_needs_are_the_teams_weakest_indicators(engine: Engine, published: Router) -> None:
    from commands import results
    from commands.consequences import training_lines, training_needs
    from commands.i18n import translator

    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        period = repo.get_period(session=s, team=london, key="2026-10")
        assert period is not None
        outcome = results.period_results(london, period, session=s, store=False)
        assert outcome is not None
        needs = training_needs(outcome)
        lines = training_lines(translator("zh"), "zh", outcome)
    # response times 20/50/65/31 s earn 50/25/0/25 of 50 (50 %); refunds 2/4/7/3 % earn 50/30/0/30
    # (55 %)
    assert [iid for iid, _share in needs] == ["avg_response_s", "refund_ratio"]
    assert needs[0][1] == pytest.approx(0.5)
    assert lines[0].startswith("培训需求") and "平均响应时间" in lines[1]


def test_the_agent_counters_with_another_time_and_the_manager_accepts_it(
    engine: Engine, published: Router
) -> None:
    carol = FakeChat(published, "Carol")
    sent = carol.say("/feedback counter 2026-11-10 15:30")[0]  # a Tuesday, 15:30 Shanghai
    assert "sent to your manager" in sent.text
    with unit_of_work(engine) as s:
        (row,) = [
            m
            for m in outbox_store.list_messages(session=s)
            if m.kind.startswith("feedback.counter.")
        ]
        button = row.reply["buttons"][0]
    mary = FakeChat(published, "Mary")
    assert (
        "Only the other person"
        in carol.send(carol._incoming(action=button["action"], value=button["value"]))[0].text
    )
    done = mary.send(mary._incoming(action=button["action"], value=button["value"]))[0]
    assert "2026-11-10 15:30" in done.text
    assert any("2026-11-10 15:30" in t for t in _texts(engine, "feedback.time").values())


def test_a_chinese_agent_appeals_and_hears_back_in_chinese(
    engine: Engine, published: Router
) -> None:
    filed = FakeChat(published, "刘洋").say("/appeal kpi 退款数据包含了上月的订单")[0]
    assert "申诉 #" in filed.text
    appeal_id = filed.text.split("#")[1].split()[0]
    decided = FakeChat(published, "王经理").say(f"/appeal reject {appeal_id} 数据核对无误")[0]
    assert "驳回" in decided.text
    assert any(
        "驳回" in t and "数据核对无误" in t for t in _texts(engine, "appeal.decided").values()
    )


def test_the_appeal_window_ends_with_the_named_day_in_the_teams_zone(
    published: Router, clock: Clock
) -> None:
    # published 2026-11-06 12:00 UTC (20:00 in Shanghai) + 7 days → open until 2026-11-13 23:59
    # Shanghai
    clock.now = datetime(2026, 11, 13, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert "#" in FakeChat(published, "Dave").say("/appeal kpi late but in time")[0].text
    clock.now = datetime(2026, 11, 13, 16, 0, tzinfo=UTC)  # 00:00 on the 14th in Shanghai
    assert "closed" in FakeChat(published, "Bob").say("/appeal kpi one minute late")[0].text


def test_the_plan_deadline_is_publication_plus_improvement_days_and_reads_the_same_everywhere(
    engine: Engine, published: Router
) -> None:
    # Seed 004: the plan is due within one week of the results being published (6 Nov 20:00
    # Shanghai): 13 Nov, end of the day in the team's time zone. Not counted from the period's end.
    with unit_of_work(engine) as s:
        assert {p.due_at for p in store.list_plans(session=s)} == {
            datetime(2026, 11, 13, 15, 59, tzinfo=UTC)
        }
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        period = repo.get_period(session=s, team=london, key="2026-10")
        assert period is not None
        sheet = build_sheets(s, london, period)["scores"]
    column = sheet[0].index("improvement_due")
    assert {row[column] for row in sheet[1:] if row[column]} == {date(2026, 11, 13)}
    assert "improvement plan due 2026-11-13" in FakeChat(published, "Carol").say("/me")[0].text
    assert "improvement plan due 2026-11-13" in FakeChat(published, "Mary").say("/rank")[0].text
    assert "须于 2026-11-13 前提交整改方案" in FakeChat(published, "刘洋").say("/me")[0].text
    requests = _texts(engine, "improve.request")
    assert len(requests) == 4 and all("2026-11-13" in t for t in requests.values())
    assert not any("2026-11-08" in t or "2026-11-07" in t for t in requests.values())


def test_the_plan_request_says_the_true_place_and_that_the_scheme_asks_the_last_n(
    engine: Engine, published: Router
) -> None:
    with unit_of_work(engine) as s:
        people = {
            m.id: (m.name, repo.get_team(session=s, team_id=m.team_id).name)  # type: ignore[union-attr]
            for t in repo.list_teams(session=s)
            for m in repo.list_members(session=s, team=t)
        }
        requests = {
            people[m.member_id][0]: m.reply["text"]
            for m in outbox_store.list_messages(session=s)
            if m.kind == "improve.request" and m.member_id is not None
        }
        ranks = {}
        for team in repo.list_teams(session=s):
            period = repo.get_period(session=s, team=team, key="2026-10")
            assert period is not None
            for row in repo.list_scores(session=s, period=period):
                ranks[people[row.member_id][0]] = row.rank
    assert set(requests) == {"Carol", "Dave", "刘洋", "陈静"}  # the last two of each team of four
    for name in ("Carol", "Dave"):
        assert f"number {ranks[name]} of 4 in the team" in requests[name]
        assert "The scheme asks the last 2 for an improvement plan" in requests[name]
    for name in ("刘洋", "陈静"):
        assert f"在团队 4 人中排第 {ranks[name]} 名" in requests[name]
        assert "排名最后 2 位的同事需要提交整改方案" in requests[name]
        assert "末位" not in requests[name]  # only the last one is 末位; the 3rd of 4 is not
    assert {ranks["Carol"], ranks["Dave"]} == {3, 4}

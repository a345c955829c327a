from __future__ import annotations

from sqlmodel import select

from commands.router import Router
from storage.db import unit_of_work
from storage.models import Review
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat, run


def _self_reviews(router: Router) -> list[Review]:
    with unit_of_work(router.engine) as session:
        return list(session.exec(select(Review).where(Review.kind == "self")).all())


def test_an_agent_fills_a_self_review_with_task_completion_first_after_seeing_their_kpis(
    router: Router,
) -> None:
    chat = FakeChat(router, "Alice")
    run(
        chat,
        [
            (
                "/selfreview",
                [
                    "Self-review for 2026-10.",
                    "Please finish by 2026-11-06 18:00",
                    "· Refund ratio: 2%",
                    "· Average response time: 20 s",
                    "Question 1 of 4: Task completion: how do you rate yourself this period?",
                    "How much of this month's targets did you reach?",
                    "[4 · above expectations]",
                ],
            ),
            ("4", "Question 2 of 4: Attitude"),
            ("[5 · outstanding]", "Question 3 of 4: What went well this period?"),
            ("Fewer refunds", "Question 4 of 4: What do you want to improve"),
            (
                "Faster first answers",
                [
                    "Summary of your self-review",
                    "1. Task completion: 4 · above expectations",
                    "3. What went well: Fewer refunds",
                ],
            ),
            ("[Submit]", "your self-review is submitted"),
        ],
    )
    (review,) = _self_reviews(router)
    assert review.answers == {"task_completion": 4, "attitude": 5}
    assert review.comments == {"went_well": "Fewer refunds", "to_improve": "Faster first answers"}
    assert review.subject_id == review.rater_id and review.submitted_at is not None


def test_a_chinese_agent_sees_everything_in_chinese(router: Router) -> None:
    chat = FakeChat(router, "陈静")
    run(
        chat,
        [
            (
                "/selfreview",
                [
                    "2026-10",
                    "· 退款比例：无数据",
                    "· 平均响应时间：28 秒",
                    "第 1/4 题：工作任务完成情况",
                ],
            ),
            ("六", ["请发送 1 到 5 之间的整数。", "第 1/4 题"]),
            ("3", "第 2/4 题：工作态度"),
            ("3", "第 3/4 题"),
            ("还行", "第 4/4 题"),
            ("更快", "汇总"),
            ("提交", "自评已提交"),
        ],
    )
    assert len(_self_reviews(router)) == 1


def test_the_self_review_is_closed_before_the_window_opens_and_after_the_deadline(
    router: Router, clock: Clock
) -> None:
    chat = FakeChat(router, "Alice")
    clock.now = clock.now.replace(month=10, day=20)
    run(chat, [("/selfreview", "The self-review for 2026-10 opens on 2026-11-01 08:00."),
               ("/selfreview 2026-10", "The self-review for 2026-10 opens on 2026-11-01 08:00."),
               ("/selfreview 2031-01", "There is no period 2031-01.")])  # fmt: skip
    clock.now = clock.now.replace(month=11, day=7)
    run(chat, [("/selfreview 2026-10", "The self-review for 2026-10 closed on 2026-11-06 18:00."),
               ("/selfreview", "No self-review is open now.")])  # fmt: skip


def test_a_draft_can_be_submitted_until_the_last_minute(router: Router, clock: Clock) -> None:
    chat = FakeChat(router, "Alice")
    run(
        chat,
        [
            ("/selfreview", "Question 1"),
            ("4", "Question 2"),
            ("4", "Question 3"),
            ("ok", "Question 4"),
            ("ok", "Summary"),
        ],
    )
    submit = chat.button("Submit")
    clock.now = clock.now.replace(day=6, hour=9, minute=59)
    chat.press_button(submit)
    assert "submitted" in chat.text
    assert len(_self_reviews(router)) == 1


def test_the_deadline_passes_while_the_summary_waits(router: Router, clock: Clock) -> None:
    chat = FakeChat(router, "Alice")
    run(
        chat,
        [
            ("/selfreview", "Question 1"),
            ("4", "Question 2"),
            ("4", "Question 3"),
            ("ok", "Question 4"),
            ("ok", "Summary"),
        ],
    )
    submit = chat.button("Submit")
    clock.now = clock.now.replace(day=6, hour=10, minute=0)
    chat.press_button(submit)
    assert "expired" in chat.text
    assert _self_reviews(router) == []


def test_an_agent_abandons_midway_and_resumes_the_next_day(router: Router, clock: Clock) -> None:
    chat = FakeChat(router, "Bob")
    run(chat, [("/selfreview", "Question 1 of 4"), ("3", "Question 2"), ("4", "Question 3")])
    clock.advance(days=1)
    run(chat, [
        ("/selfreview", "You have an unfinished self-review. Continue from question 3?"),
        ("[Continue]", ["Your KPI numbers", "Question 3 of 4: What went well"]),
        ("Teamwork", "Question 4"), ("Speed", "Summary"), ("[Submit]", "submitted"),
    ])  # fmt: skip
    (review,) = _self_reviews(router)
    assert review.answers == {"task_completion": 3, "attitude": 4}


def test_submitting_again_starts_from_the_summary_and_replaces_the_self_review(
    router: Router,
) -> None:
    chat = FakeChat(router, "Alice")
    run(chat, [("/selfreview", "Question 1"), ("2", "Question 2"), ("3", "Question 3"), ("a", "Q"),
               ("b", "Summary"), ("submit", "submitted")])  # fmt: skip
    run(
        chat,
        [
            (
                "/selfreview",
                [
                    "Summary of your self-review",
                    "1. Task completion: 2 · below expectations",
                    "3. What went well: a",
                ],
            ),
            ("[Change 1]", ["Question 1 of 4", "Current answer: 2 · below expectations"]),
            ("5", ["Summary", "1. Task completion: 5 · outstanding"]),
            ("submit", "submitted"),
        ],
    )
    (review,) = _self_reviews(router)
    assert review.answers == {"task_completion": 5, "attitude": 3}
    assert review.comments == {"went_well": "a", "to_improve": "b"}


def test_managers_do_not_self_review(router: Router) -> None:
    run(FakeChat(router, "Mary"), [("/selfreview", "/selfreview is not available to you")])


def test_the_goals_agreed_in_the_feedback_meeting_are_shown_before_the_first_question(
    router: Router, world: dict[str, int]
) -> None:
    from datetime import date

    from storage import consequences, repo

    with unit_of_work(router.engine) as session:
        alice = repo.get_member(session=session, member_id=world["Alice"])
        team = repo.get_team_by_name(session=session, name="london")
        assert alice is not None and team is not None
        consequences.add_goal(session=session, team=team, member=alice, period_key="2026-10",
                              text="Answer faster", due_on=date(2026, 10, 31), created_by="Mary",
                              indicator="avg_response_s", target=25)  # fmt: skip
        consequences.add_goal(
            session=session,
            team=team,
            member=alice,
            period_key="2026-09",
            text="An old goal",
            due_on=date(2026, 9, 30),
            created_by="Mary",
        )
    chat = FakeChat(router, "Alice")
    said = " ".join(r.text for r in chat.say("/selfreview"))
    assert "Your personal goals for 2026-10, agreed in your feedback meeting:" in said
    assert "· Answer faster (Average response time 25 s by 2026-10-31)" in said, (
        "the indicator by its name"
    )
    assert "An old goal" not in said, "only the goals for the period under review"
    assert (
        said.index("· Refund ratio") < said.index("Answer faster") < said.index("Question 1 of 4")
    )
    bob = " ".join(r.text for r in FakeChat(router, "Bob").say("/selfreview"))
    assert "personal goals" not in bob, "no goals, no heading"

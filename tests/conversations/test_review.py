from __future__ import annotations

from sqlmodel import select

from commands.router import Router
from storage.db import unit_of_work
from storage.models import Review
from tests.conversations.transcript import FakeChat, run


def _reviews(router: Router, kind: str = "manager") -> list[Review]:
    with unit_of_work(router.engine) as session:
        return list(session.exec(select(Review).where(Review.kind == kind)).all())


def _self_review(router: Router, name: str) -> None:
    run(
        FakeChat(router, name),
        [
            ("/selfreview", "Question 1"),
            ("4", "Q"),
            ("3", "Q"),
            ("Calm with angry customers", "Q"),
            ("Speed", "Summary"),
            ("submit", "submitted"),
        ],
    )


def test_a_manager_sees_the_kpi_breakdown_and_self_review_then_reviews_with_a_preview(
    router: Router,
) -> None:
    _self_review(router, "Alice")
    chat = FakeChat(router, "Mary")
    run(
        chat,
        [
            (
                "/review @Alice",
                [
                    "Review of Alice for 2026-10.",
                    "KPI breakdown of Alice for 2026-10:",
                    "· Refund ratio: 2% → 50 of 50 points",
                    "· Average response time: 20 s → 50 of 50 points",
                    "Performance (computed from the KPIs, not asked): 100 / 100",
                    "Self-review of Alice:",
                    "· Task completion: 4 · above expectations",
                    "· What went well: Calm with angry customers",
                    "Question 1 of 4: Ability: how do you rate this agent?",
                ],
            ),
            ("4", "Question 2 of 4: Collaboration"),
            (
                "5",
                [
                    "Question 3 of 5: You gave Collaboration a score at the end of the scale. "
                    "Please say why.",
                    "A score of 1 or 5 needs a short reason",
                ],
            ),
            ("skip", ["cannot be skipped", "Please say why"]),
            ("Helps every newcomer", "Question 4 of 5: Service"),
            ("3", "Question 5 of 5: Anything else"),
            (
                "skip",
                [
                    "Summary of your manager review",
                    "1. Ability: 4 · above expectations",
                    "3. Why (Collaboration): Helps every newcomer",
                    "5. Comment: (skipped)",
                    "Resulting total for Alice:",
                ],
            ),
            ("[Submit]", "the review is submitted"),
        ],
    )
    (review,) = _reviews(router)
    assert review.answers == {"ability": 4, "collaboration": 5, "service": 3}
    assert review.comments == {"collaboration": "Helps every newcomer"}


def test_the_preview_total_moves_with_the_answers_and_matches_the_stored_result(
    router: Router,
) -> None:
    from commands import results
    from storage import repo

    _self_review(router, "Bob")
    chat = FakeChat(router, "Mary")
    run(
        chat,
        [
            ("/review Bob", "Question 1"),
            ("2", "Q"),
            ("2", "Q"),
            ("2", "Q"),
            ("skip", "Resulting total"),
        ],
    )
    low = _preview(chat.text)
    run(
        chat,
        [
            ("[Change 1]", "Question 1"),
            ("4", "Summary"),
            ("[Change 2]", "Q"),
            ("4", "Summary"),
            ("[Change 3]", "Q"),
            ("4", "Summary"),
        ],
    )
    high = _preview(chat.text)
    assert high > low
    run(chat, [("submit", "submitted")])
    with unit_of_work(router.engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        period = repo.get_period(session=session, team=team, key="2026-10")
        assert period is not None
        computed = results.compute(team, period, session=session)
        assert computed is not None
        bob = next(s for s in computed.scores if s.name == "Bob")
        assert f"{bob.total:.1f}" == f"{high:.1f}"


def _preview(text: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith("Resulting total for"))
    return float(line.split(": ", 1)[1].split(" / ")[0])


def test_an_agent_cannot_review(router: Router) -> None:
    run(FakeChat(router, "Alice"), [("/review Bob", "/review is not available to you")])
    assert _reviews(router) == []


def test_a_manager_of_another_team_is_refused_without_learning_anything(router: Router) -> None:
    run(FakeChat(router, "Mary"), [("/review 李娜", "There is no member 李娜 in your teams.")])
    run(
        FakeChat(router, "Mary"),
        [("/review demo/李娜", "There is no member demo/李娜 in your teams.")],
    )
    run(FakeChat(router, "王经理"), [("/review Alice", "你的团队中没有成员 Alice。")])


def test_an_admin_may_review_any_agent(router: Router) -> None:
    run(FakeChat(router, "周人事"), [("/review london/Alice", ["Alice", "KPI"])])


def test_without_an_agent_the_manager_picks_from_their_agents(router: Router) -> None:
    chat = FakeChat(router, "Mary")
    run(
        chat,
        [("/review", ["Whom do you want to review?", "[Alice (2026-10)]", "[Dave (2026-10)]"])],
    )
    assert "李娜" not in chat.text
    run(chat, [("[Carol (2026-10)]", "Review of Carol")])


def test_a_score_at_either_end_needs_a_comment_in_chinese_too(router: Router) -> None:
    chat = FakeChat(router, "王经理")
    run(chat, [
        ("/review 刘洋", ["刘洋", "尚未提交", "第 1/4 题：工作能力"]),
        ("1", ["第 2/5 题", "请说明理由"]),
        ("", None),
        ("回复太慢", "第 3/5 题：工作协作性"),
    ])  # fmt: skip


def test_a_locked_period_cannot_be_reviewed(router: Router) -> None:
    from storage import repo

    with unit_of_work(router.engine) as session:
        team = repo.get_team_by_name(session=session, name="london")
        assert team is not None
        period = repo.get_period(session=session, team=team, key="2026-10")
        assert period is not None
        repo.set_period_status(
            session=session, period=period, status="locked", actor="test", reason=None
        )
    run(FakeChat(router, "Mary"), [("/review Alice 2026-10", "Reviews for 2026-10 are closed.")])


def test_reviewing_again_starts_from_the_earlier_review_including_its_comments(
    router: Router,
) -> None:
    chat = FakeChat(router, "Mary")
    run(
        chat,
        [
            ("/review Carol", "Question 1"),
            ("5", "Please say why"),
            ("Mentors others", "Question 3"),
            ("3", "Q"),
            ("3", "Q"),
            ("Keep going", "Summary"),
            ("submit", "submitted"),
        ],
    )
    run(
        chat,
        [
            (
                "/review Carol",
                ["Summary", "2. Why (Ability): Mentors others", "5. Comment: Keep going"],
            ),
            ("[Change 1]", "Question 1"),
            ("4", ["Summary", "1. Ability: 4"]),
            ("submit", "submitted"),
        ],
    )
    (review,) = _reviews(router)
    assert review.answers == {"ability": 4, "collaboration": 3, "service": 3}
    assert review.comments == {"comment": "Keep going"}


def _close_without_dates(router: Router, team_name: str) -> None:
    """A period closed the way the demo and older data closed it: status only, no window dates."""
    from storage import repo

    with unit_of_work(router.engine) as session:
        team = repo.get_team_by_name(session=session, name=team_name)
        assert team is not None
        period = repo.get_period(session=session, team=team, key="2026-10")
        assert period is not None
        period.review_opens_at = period.review_closes_at = None
        session.add(period)
        repo.set_period_status(
            session=session, period=period, status="closed", actor="test", reason=None
        )


def test_a_closed_period_is_closed_wherever_it_came_from(router: Router) -> None:
    _close_without_dates(router, "london")
    _close_without_dates(router, "demo")
    run(
        FakeChat(router, "Mary"),
        [
            ("/review Alice 2026-10", "Reviews for 2026-10 are closed."),
            ("/review Alice", "There is no period to review yet."),
        ],
    )
    run(FakeChat(router, "王经理"), [("/review 李娜 2026-10", "2026-10 的评价已关闭。")])
    run(FakeChat(router, "Alice"), [("/selfreview 2026-10", "closed")])
    assert _reviews(router) == []

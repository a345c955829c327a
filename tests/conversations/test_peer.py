from __future__ import annotations

from sqlmodel import select

from commands.router import Router
from storage.db import unit_of_work
from storage.models import Review
from tests.conversations.transcript import FakeChat, run


def _peer_reviews(router: Router) -> list[Review]:
    with unit_of_work(router.engine) as session:
        return list(session.exec(select(Review).where(Review.kind == "peer")).all())


def _rate(router: Router, rater: str, subject: str, collaboration: str, service: str) -> None:
    run(
        FakeChat(router, rater),
        [
            (
                f"/peer {subject}",
                ["Peer rating of", "Your answers are anonymous", "Question 1 of 2"],
            ),
            (collaboration, "Question 2 of 2"),
            (service, "Summary"),
            ("submit", "anonymous peer rating is saved"),
        ],
    )


def test_an_agent_rates_a_teammate_chosen_from_a_list(router: Router) -> None:
    chat = FakeChat(router, "Alice")
    run(chat, [
        ("/peer", ["Whom do you want to rate?", "[Bob]", "[Carol]", "[Dave]"]),
        ("[Bob]", ["Peer rating of Bob for 2026-10", "How well does Bob work with the team?",
                   "neither the colleague nor the manager will see who answered"]),
        ("4", "How well does Bob serve customers?"), ("5", "Summary"), ("[Submit]", "saved"),
        ("/peer", "[Bob ✓]"),
    ])  # fmt: skip
    assert "Alice" not in chat.buttons()[0].label
    (review,) = _peer_reviews(router)
    assert review.answers == {"collaboration": 4, "service": 5}


def test_fewer_than_three_raters_show_only_not_enough_ratings(router: Router) -> None:
    _rate(router, "Alice", "Dave", "5", "5")
    _rate(router, "Bob", "Dave", "1", "1")
    run(FakeChat(router, "Dave"), [("/peer summary", "Peer rating: not enough ratings.")])
    run(FakeChat(router, "Mary"), [("/review Dave", "Peer rating: not enough ratings.")])


def test_with_three_raters_the_average_is_shown_and_never_who_gave_it(router: Router) -> None:
    _rate(router, "Alice", "Dave", "5", "5")
    _rate(router, "Bob", "Dave", "3", "3")
    _rate(router, "Carol", "Dave", "1", "1")
    dave = FakeChat(router, "Dave")
    run(dave, [("/peer summary", "Peer rating: 50 / 100 from 3 colleagues.")])
    mary = FakeChat(router, "Mary")
    run(mary, [("/review Dave", "Peer rating: 50 / 100 from 3 colleagues.")])
    for text in (dave.dump(), mary.dump()):
        assert "Alice" not in text and "Bob" not in text and "Carol" not in text


def test_nobody_can_ask_who_rated(router: Router) -> None:
    run(FakeChat(router, "Dave"), [("/peer raters", "Peer ratings are anonymous")])
    run(FakeChat(router, "Mary"), [("/peer raters", "not available to you")])


def test_an_agent_cannot_rate_themselves_or_another_team(router: Router) -> None:
    run(
        FakeChat(router, "Alice"),
        [
            ("/peer Alice", "You cannot rate yourself"),
            ("/peer 李娜", "There is no colleague 李娜 in your team."),
        ],
    )
    assert _peer_reviews(router) == []


def test_rating_the_same_colleague_again_starts_from_the_earlier_answers_and_replaces_them(
    router: Router,
) -> None:
    _rate(router, "Alice", "Bob", "2", "2")
    run(FakeChat(router, "Alice"), [
        ("/peer Bob", ["Summary of your peer rating", "1. Collaboration: 2 · below expectations"]),
        ("[Change 1]", ["Question 1 of 2", "Current answer: 2"]), ("4", "Summary"),
        ("[Change 2]", "Question 2 of 2"), ("4", "2. Service: 4"), ("[Submit]", "saved"),
    ])  # fmt: skip
    (review,) = _peer_reviews(router)
    assert review.answers == {"collaboration": 4, "service": 4}


def test_peer_rating_speaks_chinese(router: Router) -> None:
    run(
        FakeChat(router, "李娜"),
        [("/peer", ["你要评价谁", "[张伟]"]), ("[张伟]", ["匿名", "第 1/2 题"])],
    )


def _add_agents(router: Router, colleague_of: str, *names: str) -> None:
    from storage.models import Member

    with unit_of_work(router.engine) as session:
        dave = session.exec(select(Member).where(Member.name == colleague_of)).one()
        for name in names:
            session.add(
                Member(team_id=dave.team_id, name=name, role="agent", manager_id=dave.manager_id)
            )


def test_a_fourth_rater_cannot_be_differenced_out_of_two_peer_figures(router: Router) -> None:
    """Issue 21 item 11: "50 / 100 from 3" then "56 / 100 from 4" gave away the 4th answer
    (75). The figure moves only when three more have rated: 4 and 5 raters still show the
    first three's 50, the sixth brings the figure of six."""
    _add_agents(router, "Dave", "Erin", "Frank", "Grace")
    for rater, answer in (("Alice", "5"), ("Bob", "3"), ("Carol", "1")):
        _rate(router, rater, "Dave", answer, answer)
    dave, mary = FakeChat(router, "Dave"), FakeChat(router, "Mary")
    run(dave, [("/peer summary", "Peer rating: 50 / 100 from 3 colleagues.")])
    _rate(router, "Erin", "Dave", "4", "4")  # 75: would make it 56 from 4
    run(dave, [("/peer summary", "Peer rating: 50 / 100 from 3 colleagues.")])
    run(mary, [("/review Dave", "Peer rating: 50 / 100 from 3 colleagues.")])
    _rate(router, "Frank", "Dave", "4", "4")
    run(dave, [("/peer summary", "Peer rating: 50 / 100 from 3 colleagues.")])
    _rate(router, "Grace", "Dave", "2", "2")  # 25: six raters, (150 + 75 + 75 + 25) / 6 = 54
    run(dave, [("/peer summary", "Peer rating: 54 / 100 from 6 colleagues.")])
    assert "56" not in dave.dump() and "56" not in mary.dump()


def test_the_audit_log_names_a_peer_rater_by_a_pseudonym_per_period(router: Router) -> None:
    """Issue 21 item 11: audit_log held rater, subject and answers in clear."""
    from storage.models import AuditLog, Member

    _rate(router, "Alice", "Dave", "5", "5")
    run(
        FakeChat(router, "Alice"),
        [  # changed: the same pseudonym
            ("/peer Dave", "Summary of your peer rating"),
            ("[Change 1]", "Question 1 of 2"),
            ("2", "Summary"),
            ("[Submit]", "saved"),
        ],
    )
    _rate(router, "Bob", "Dave", "3", "3")
    with unit_of_work(router.engine) as session:
        entries = list(session.exec(select(AuditLog).where(AuditLog.action == "review.peer")).all())
        people = {m.id: m for m in session.exec(select(Member)).all()}
    alice = next(m.id for m in people.values() if m.name == "Alice")
    bob = next(m.id for m in people.values() if m.name == "Bob")
    assert len(entries) == 3
    labels = [e.actor for e in entries]
    assert all(label.startswith("peer:") for label in labels)
    assert labels[0] == labels[1] != labels[2]
    for entry in entries:
        assert entry.actor not in (f"member:{alice}", f"member:{bob}")
        assert entry.after is not None and entry.after["rater_id"] == entry.actor
        assert entry.before is None or entry.before["rater_id"] == entry.actor

"""The quality-sampling rules of commands/permissions.py, on plain people (no database)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from commands import permissions as p


@dataclass
class Person:
    id: int | None
    team_id: int
    role: str
    manager_id: int | None = None
    active: bool = True


QA = Person(1, 10, "qa")
MANAGER = Person(2, 10, "manager")
OTHER_MANAGER = Person(3, 20, "manager")
ADMIN = Person(4, 30, "admin")
AGENT = Person(5, 10, "agent")
BOTH = ("qa", "manager")


@pytest.mark.parametrize(
    ("actor", "team", "agent", "reviewers", "reason"),
    [
        (QA, 10, 5, BOTH, None),
        (QA, 20, 6, BOTH, p.QA_OWN_TEAMS),
        (QA, 10, 1, BOTH, p.QA_OWN_SESSION),
        (MANAGER, 10, 5, BOTH, None),
        (MANAGER, 10, 2, BOTH, p.QA_OWN_SESSION),
        (MANAGER, 10, 5, ("qa",), p.QA_NOT_REVIEWER),
        (OTHER_MANAGER, 10, 5, BOTH, p.QA_OWN_TEAMS),
        (ADMIN, 10, 5, BOTH, p.QA_NOT_REVIEWER),
        (ADMIN, 10, 5, ("qa", "admin"), None),
        (AGENT, 10, 6, BOTH, p.QA_NOT_REVIEWER),
        (Person(7, 10, "qa", active=False), 10, 5, BOTH, p.INACTIVE),
    ],
)
def test_who_may_review_a_sample(
    actor: Person, team: int, agent: int, reviewers: tuple[str, ...], reason: str | None
) -> None:
    decision = p.can_qa_review(actor, team, agent, reviewers, managed=())
    assert bool(decision) is (reason is None)
    assert decision.reason == (reason or "")


def test_nobody_reviews_their_own_conversation_whatever_the_role() -> None:
    for role in ("qa", "manager", "admin", "agent"):
        me = Person(9, 10, role)
        assert (
            p.can_qa_review(me, 10, 9, ("qa", "manager", "admin"), managed=()).reason
            == p.QA_OWN_SESSION
        )


def test_draw_calibrate_and_dispute_rules() -> None:
    assert p.can_draw_qa(MANAGER, Person(10, 10, "agent"), managed=())  # type: ignore[arg-type]
    assert not p.can_draw_qa(OTHER_MANAGER, Person(10, 10, "agent"), managed=())  # type: ignore[arg-type]
    assert not p.can_draw_qa(QA, Person(10, 10, "agent"), managed=())  # type: ignore[arg-type]
    assert p.can_calibrate_qa(ADMIN) and not p.can_calibrate_qa(MANAGER)
    assert p.can_dispute_qa(AGENT, 5) and not p.can_dispute_qa(AGENT, 6)

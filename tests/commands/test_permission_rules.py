"""The permission rules themselves, on plain people (no database): who may do what to whom."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands import permissions as p
from commands import registry
from commands.i18n import catalog, translator


@dataclass
class Person:
    id: int
    team_id: int
    role: str
    manager_id: int | None = None
    active: bool = True


@dataclass
class Team:
    id: int


TEAM_A, TEAM_B = Team(1), Team(2)
admin = Person(1, 1, "admin")
boss_a = Person(2, 1, "manager")
boss_b = Person(3, 2, "manager")
agent_a = Person(10, 1, "agent", manager_id=2)
peer_a = Person(11, 1, "agent", manager_id=2)
agent_b = Person(20, 2, "agent", manager_id=3)
qa = Person(30, 1, "qa")
left = Person(12, 1, "agent", manager_id=2, active=False)


def test_an_agent_trying_to_review_is_refused_and_told_to_use_selfreview() -> None:
    decision = p.can_review(agent_a, peer_a)
    assert not decision
    assert "/selfreview" in decision.explain(translator("en"))


def test_a_manager_of_another_team_cannot_review_and_learns_nothing_about_the_agent() -> None:
    decision = p.can_review(boss_b, agent_a, managed=())
    assert not decision
    assert decision.reason == p.REVIEW_OWN_TEAMS
    assert decision.params == {}


def test_the_direct_manager_and_an_admin_may_review_an_agent() -> None:
    assert p.can_review(boss_a, agent_a, managed=())
    assert p.can_review(admin, agent_b)


def test_a_second_manager_of_the_team_is_not_the_direct_superior() -> None:
    co_manager = Person(4, 1, "manager")
    decision = p.can_review(co_manager, agent_a, managed=())
    assert decision.reason == p.REVIEW_DIRECT_MANAGER


def test_a_manager_reviews_an_agent_without_a_direct_manager_in_a_team_they_manage() -> None:
    orphan = Person(13, 2, "agent", manager_id=None)
    assert p.can_review(boss_a, orphan, managed={2})
    assert not p.can_review(boss_a, orphan, managed=())


def test_nobody_reviews_themselves_or_a_non_agent_or_an_inactive_member() -> None:
    assert p.can_review(admin, admin).reason == p.REVIEW_SELF
    assert p.can_review(admin, boss_a).reason == p.REVIEW_ONLY_AGENTS
    assert p.can_review(boss_a, left, managed=()).reason == p.SUBJECT_INACTIVE


def test_a_peer_trying_to_see_raters_is_refused_whoever_asks() -> None:
    for actor in (agent_a, peer_a, boss_a, admin, qa):
        decision = p.can_see_peer_raters(actor, agent_a)
        assert not decision
        assert decision.reason == p.PEER_ANONYMOUS


def test_peer_rating_is_between_two_agents_of_one_team() -> None:
    assert p.can_peer_rate(agent_a, peer_a)
    assert p.can_peer_rate(agent_a, agent_a).reason == p.PEER_SELF
    assert p.can_peer_rate(agent_a, agent_b).reason == p.PEER_OWN_TEAM
    assert p.can_peer_rate(boss_a, agent_a).reason == p.PEER_ONLY_AGENTS


def test_an_agent_sees_only_their_own_result() -> None:
    assert p.can_view_result(agent_a, agent_a)
    assert p.can_view_result(agent_a, peer_a).reason == p.RESULT_OWN
    assert p.can_view_result(boss_a, agent_a, managed=())
    assert p.can_view_result(boss_b, agent_a, managed=()).reason == p.RESULT_OWN_TEAMS
    assert p.can_view_result(admin, agent_b)


@pytest.mark.parametrize(
    ("actor", "team", "published", "scope"),
    [
        (agent_a, TEAM_A, True, p.RankingScope.FULL),
        (agent_a, TEAM_A, False, p.RankingScope.OWN_PLACE),
        (agent_a, TEAM_B, True, p.RankingScope.NONE),
        (boss_a, TEAM_A, False, p.RankingScope.FULL),
        (boss_a, TEAM_B, False, p.RankingScope.NONE),
        (admin, TEAM_B, False, p.RankingScope.FULL),
        (qa, TEAM_A, True, p.RankingScope.NONE),
    ],
)
def test_how_much_of_a_ranking_each_role_sees(
    actor: Person, team: Team, published: bool, scope: p.RankingScope
) -> None:
    decision = p.ranking_access(actor, team, published=published, managed=())
    assert decision.scope is scope
    assert bool(decision) is (scope is not p.RankingScope.NONE)


def test_only_agents_simulate_and_only_their_own_score() -> None:
    assert p.can_simulate(agent_a)
    assert not p.can_simulate(agent_a, peer_a)
    assert not p.can_simulate(boss_a)


def test_periods_are_opened_by_managers_of_the_team_or_admins() -> None:
    assert p.can_manage_period(boss_a, TEAM_A, managed=())
    assert p.can_manage_period(boss_a, TEAM_B, managed=()).reason == p.PERIOD_OWN_TEAMS
    assert p.can_manage_period(boss_a, TEAM_B, managed={2})
    assert p.can_manage_period(admin, TEAM_B)
    assert p.can_manage_period(agent_a, TEAM_A).reason == p.PERIOD_ONLY_MANAGERS


def test_only_admins_administer() -> None:
    assert p.can_administer(admin)
    for actor in (boss_a, agent_a, qa):
        assert p.can_administer(actor).reason == p.ADMIN_ONLY


DECLARED = [c for c in registry.commands().values() if c.what]  # the ones /help lists


def test_an_inactive_member_may_do_nothing_but_ask_for_help() -> None:
    assert p.allowed_commands(left, DECLARED) == []
    assert p.can_self_review(left).reason == p.INACTIVE


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        (
            agent_a,
            [
                "help",
                "lang",
                "selfreview",
                "peer",
                "me",
                "simulate",
                "scheme",
                "rank",
                "survey",
                "qa",
                "feedback",
                "improve",
                "appeal",
            ],
        ),
        (
            boss_a,
            [
                "help",
                "lang",
                "scheme",
                "rank",
                "review",
                "status",
                "period",
                "survey",
                "qa",
                "feedback",
                "improve",
                "appeal",
                "export",
                "inbox",
            ],
        ),
        (
            admin,
            [
                "help",
                "lang",
                "scheme",
                "rank",
                "review",
                "status",
                "period",
                "team",
                "member",
                "linkcode",
                "import",
                "survey",
                "qa",
                "feedback",
                "improve",
                "appeal",
                "calibrate",
                "export",
                "schedule",
                "runstep",
                "pause",
                "resume",
                "inbox",
            ],
        ),
        (qa, ["help", "lang", "scheme", "qa"]),
    ],
)
def test_each_role_has_its_own_list_of_commands(actor: Person, expected: list[str]) -> None:
    assert p.allowed_commands(actor, DECLARED) == expected


def test_an_unknown_role_gets_the_least_privileges() -> None:
    assert p.role_of(Person(99, 1, "owner")) is p.Role.AGENT


def _marked_msgids() -> list[str]:
    tree = ast.parse(Path(p.__file__).read_text(encoding="utf-8"))
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "N_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


def test_every_refusal_reason_is_listed_and_has_a_chinese_translation() -> None:
    marked = _marked_msgids()
    assert sorted(marked) == sorted(p.REASONS)
    zh = catalog("zh")
    assert [m for m in marked if zh.gettext(m) == m] == []


def test_a_refusal_reply_is_shown_only_to_the_asker_in_their_language() -> None:
    reply = p.refusal(p.can_review(boss_b, agent_a, managed=()), translator("zh"))
    assert reply.ephemeral
    assert reply.text == "你只能评价你所管理团队的成员。"


people = st.builds(
    Person,
    id=st.integers(1, 6),
    team_id=st.integers(1, 3),
    role=st.sampled_from(["agent", "manager", "admin", "qa", "owner"]),
    manager_id=st.one_of(st.none(), st.integers(1, 6)),
    active=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(actor=people, subject=people, managed=st.frozensets(st.integers(1, 3)))
def test_a_review_is_allowed_only_to_an_active_admin_or_the_direct_manager(
    actor: Person, subject: Person, managed: frozenset[int]
) -> None:
    decision = p.can_review(actor, subject, managed=managed)
    if decision:
        assert actor.active and subject.active and actor.id != subject.id
        assert p.role_of(subject) is p.Role.AGENT  # an unknown role counts as the least privileged
        teams = managed | {actor.team_id}
        assert actor.role == "admin" or (
            actor.role == "manager"
            and (
                subject.manager_id == actor.id
                or (subject.manager_id is None and subject.team_id in teams)
            )
        )
    else:
        assert decision.reason in p.REASONS and decision.params == {}


@settings(max_examples=300, deadline=None)
@given(
    actor=people, subject=people, published=st.booleans(), managed=st.frozensets(st.integers(1, 3))
)
def test_nobody_but_the_subject_their_managers_and_admins_sees_a_result(
    actor: Person, subject: Person, published: bool, managed: frozenset[int]
) -> None:
    if p.can_view_result(actor, subject, managed=managed):
        assert actor.active
        assert (
            actor.id == subject.id
            or actor.role == "admin"
            or (actor.role == "manager" and subject.team_id in managed | {actor.team_id})
        )
    access = p.ranking_access(actor, Team(subject.team_id), published=published, managed=managed)
    if access.scope is p.RankingScope.FULL and actor.role not in ("admin", "manager"):
        assert published and actor.team_id == subject.team_id

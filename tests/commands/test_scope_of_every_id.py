"""Every id a client sends is checked against the actor by id, never by name (issue 21 item 6).

The world has two Chinese teams with the same names in them — ``demo`` (王经理: 李娜, 张伟, …)
and ``shanghai`` (赵经理: 李娜, 张伟) — plus ``london``. For EVERY action the router knows
(taken from its registry, not from a list here) and every id position of its value, the
test forges an id of the other team's same-named person or object and checks that the
router refuses it with the answer an unknown id gets, in the asker's language, and that
the database is exactly as before. The same values with the asker's own ids pass the guard,
so the forgery is what is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from commands import permissions, scope
from commands.context import AppConfig, Context
from commands.i18n import translator
from commands.messages import Incoming
from commands.router import Router
from storage import consequences as cstore
from storage import conversations, repo
from storage import qa as qstore
from storage.db import unit_of_work
from tests.commands.conftest import REVIEW_WINDOW_NOW
from tests.conversations.world import CLOSES, OPENS, PERIOD

SHANGHAI = ("赵经理", ["李娜", "张伟"])


@dataclass(frozen=True)
class Objects:
    """Ids of the same kinds of object in ``demo`` (own) and ``shanghai`` (foreign)."""

    own: dict[str, int]
    foreign: dict[str, int]
    names: dict[str, int]


def _objects_for(session: Session, team_name: str, now: datetime) -> dict[str, int]:
    team = repo.get_team_by_name(session=session, name=team_name)
    assert team is not None
    period = repo.get_or_create_period(session=session, team=team, key=PERIOD)
    li = repo.get_member_by_name(session=session, team=team, name="李娜")
    zhang = repo.get_member_by_name(session=session, team=team, name="张伟")
    manager = next(m for m in repo.list_members(session=session, team=team) if m.role == "manager")
    assert li is not None and zhang is not None and li.id and zhang.id and period.id
    conv = conversations.create_conversation(
        session=session,
        member_id=li.id,
        form_id="selfreview",
        period_id=period.id,
        subject_id=li.id,
        platform="test",
        now=now,
        expires_at=now + timedelta(days=3),
    )
    own_plan, _ = cstore.ensure_plan(
        session=session,
        team=team,
        period=period,
        member=li,
        due_at=now + timedelta(days=5),
        now=now,
    )
    plan, _ = cstore.ensure_plan(
        session=session,
        team=team,
        period=period,
        member=zhang,
        due_at=now + timedelta(days=5),
        now=now,
    )
    cstore.update_plan(
        session=session,
        plan=plan,
        actor="test",
        reason=None,
        now=now,
        status="submitted",
        submitted_at=now,
        answers={"cause": "原因", "measures": "措施"},
    )
    meeting, _ = cstore.ensure_meeting(
        session=session, team=team, period=period, member=li, manager=manager, prompt={}, now=now
    )
    slot = cstore.offer_slots(session=session, meeting=meeting, starts=[now + timedelta(days=1)],
                              proposed_by=repo.actor_of(manager), now=now)[0]  # fmt: skip
    qstore.add_sessions(
        session=session,
        team=team,
        period=period,
        rows=[{"member_id": li.id, "ref": f"{team_name}-1", "started_at": now, "day": now.date()}],
    )
    service = qstore.list_sessions(session=session, period=period)[0]
    draw = qstore.add_draw(
        session=session,
        team=team,
        period=period,
        seed=1,
        rule={},
        max_session_id=service.id or 0,
        candidates=1,
        samples=[
            {"session_id": service.id, "member_id": li.id, "stratum": "2026-10-01", "short": False}
        ],
        short=[],
        digest="x",
        actor="test",
        now=now,
    )
    sample = qstore.list_samples(session=session, period=period)[0]
    assert draw.id and sample.id
    review = qstore.assign_review(
        session=session, sample=sample, reviewer=manager, kind="regular", actor="test", now=now
    )
    appeal = cstore.create_appeal(
        session=session,
        team=team,
        period=period,
        member=zhang,
        component="self",
        reason="自评有误",
        before={},
        now=now,
    )
    return {
        "conversation": conv.id or 0,
        "plan.own": own_plan.id or 0,
        "plan.decide": plan.id or 0,
        "meeting.own": meeting.id or 0,
        "slot.party": slot.id or 0,
        "member.review": zhang.id,
        "member.peer": zhang.id,
        "period": period.id,
        "qa_review.own": review.id or 0,
        "appeal.decide": appeal.id or 0,
    }


@pytest.fixture
def objects(engine: Engine, world: dict[str, int]) -> Objects:
    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        assert demo is not None and demo.scheme_id is not None
        scheme = repo.get_scheme(session=session, scheme_id=demo.scheme_id)
        team = repo.create_team(session=session, name="shanghai", lang="zh", scheme=scheme)
        boss = repo.add_member(session=session, team=team, name=SHANGHAI[0], role="manager")
        repo.get_or_create_period(session=session, team=team, key=PERIOD, status="open",
                                  review_opens_at=OPENS, review_closes_at=CLOSES)  # fmt: skip
        for name in SHANGHAI[1]:
            repo.add_member(session=session, team=team, name=name, role="agent", manager=boss)
    with unit_of_work(engine) as session:
        own = _objects_for(session, "demo", REVIEW_WINDOW_NOW)
        foreign = _objects_for(session, "shanghai", REVIEW_WINDOW_NOW)
    return Objects(own, foreign, world)


# Who presses a button that carries an id of each kind (the person the object is for);
# ``period_key.admin`` is an admin's, so its forger is a manager and its "own" asker the admin.
ASKER = {
    "conversation": "李娜", "plan.own": "李娜", "plan.decide": "王经理", "meeting.own": "李娜",
    "slot.party": "李娜", "member.review": "王经理", "member.peer": "李娜", "qa_review.own": "李娜",
    "appeal.decide": "王经理", "period_key.admin": "周人事",
}  # fmt: skip
FORGER = {"period_key.admin": "王经理"}
FILLER = {"step": "0", "text": ""}


def _actions(router: Router) -> list[tuple[str, tuple[str, ...]]]:
    return sorted(router.registry.action_ids.items())


def _asker(kinds: tuple[str, ...]) -> str:
    ids = [k for k in kinds if k not in scope.NOT_AN_ID and k != "period"]
    askers = {ASKER[k] for k in ids}
    assert len(askers) <= 1, f"one asker per action: {kinds}"
    return askers.pop() if askers else "李娜"


def _value(kinds: tuple[str, ...], ids: Objects, *, forged_at: int | None) -> str:
    parts = []
    for position, kind in enumerate(kinds):
        if kind in FILLER:
            parts.append(FILLER[kind])
        elif kind == "period_key.admin":
            parts.append(PERIOD)
        else:
            parts.append(str((ids.foreign if position == forged_at else ids.own)[kind]))
    return ":".join(parts)


def _snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
            for table in SQLModel.metadata.sorted_tables
            if table.name != "processed_event"
        }


def _context(session: Session, name: str) -> Context:
    actor = next(
        m
        for t in repo.list_teams(session=session)
        for m in repo.list_members(session=session, team=t)
        if m.name == name and t.name in ("demo", "london")
    )
    lang = "en" if name == "Mary" else "zh"
    return Context(
        session=session,
        actor=actor,
        lang=lang,
        _=translator(lang),
        now=REVIEW_WINDOW_NOW,
        incoming=Incoming(platform="test", user_id=name),
        config=AppConfig(),
    )


def test_every_action_of_the_registry_declares_its_ids_and_every_kind_has_a_forgery(
    router: Router,
) -> None:
    actions = _actions(router)
    assert {a.split(":")[0] for a, _k in actions} == set(router.registry.actions)
    kinds = {k for _a, ks in actions for k in ks if k not in scope.NOT_AN_ID}
    assert kinds <= set(ASKER) | {"period"}
    assert (
        len(actions) >= 18
    )  # form × 9, review, peer, improve × 2, feedback × 2, qa × 2, calibrate


def test_a_forged_id_of_a_same_named_person_in_another_team_is_refused_by_every_action(
    router: Router, engine: Engine, objects: Objects
) -> None:
    refusal = translator("zh")(permissions.NOT_YOURS)
    checked: list[str] = []
    for action, kinds in _actions(router):
        for position, kind in enumerate(kinds):
            if kind in scope.NOT_AN_ID:
                continue
            asker = FORGER.get(kind) or _asker(kinds)
            value = _value(kinds, objects, forged_at=position)
            before = _snapshot(engine)
            replies = router.handle(
                Incoming(platform="test", user_id=f"demo/{asker}", action=action, value=value)
            )
            said = "\n".join(r.text for r in replies)
            assert said == refusal, f"{action} {value} by {asker}: {said!r}"
            assert _snapshot(engine) == before, f"{action} {value} changed the database"
            with unit_of_work(engine) as session:
                own = _value(kinds, objects, forged_at=None)
                assert scope.check_action(_context(session, _asker(kinds)), kinds, own) is None, (
                    action,
                    own,
                )
            checked.append(f"{action}@{position}")
    assert len(checked) >= len(_actions(router)) - 1  # qa:next carries no id


def test_a_manager_cannot_approve_another_teams_plan_through_a_same_named_agent(
    router: Router, engine: Engine, objects: Objects
) -> None:
    plan_id = objects.foreign["plan.decide"]  # 张伟 of shanghai; 王经理 manages a 张伟 of demo
    replies = router.handle(
        Incoming(
            platform="test", user_id="demo/王经理", action="improve:approve", value=str(plan_id)
        )
    )
    assert "批准" not in "\n".join(r.text for r in replies)
    with unit_of_work(engine) as session:
        plan = cstore.get_plan_by_id(session=session, plan_id=plan_id)
        assert plan is not None and plan.status == "submitted" and plan.decided_by is None
    own = router.handle(Incoming(platform="test", user_id="demo/王经理", action="improve:approve",
                                 value=str(objects.own["plan.decide"])))  # fmt: skip
    assert "张伟" in own[0].text
    with unit_of_work(engine) as session:
        plan = cstore.get_plan_by_id(session=session, plan_id=objects.own["plan.decide"])
        assert plan is not None and plan.status == "approved"


def test_ids_of_two_teams_in_one_value_are_refused_even_for_an_admin(
    router: Router, objects: Objects
) -> None:
    value = f"{objects.own['member.review']}:{objects.foreign['period']}"
    replies = router.handle(
        Incoming(platform="test", user_id="demo/周人事", action="review:pick", value=value)
    )
    assert replies[0].text == translator("zh")(permissions.NOT_YOURS)


def test_an_action_the_registry_does_not_declare_is_refused(
    router: Router, objects: Objects
) -> None:
    replies = router.handle(
        Incoming(
            platform="test",
            user_id="demo/王经理",
            action="improve:return",
            value=str(objects.own["plan.decide"]),
        )
    )
    assert replies[0].text == translator("zh")(permissions.NOT_YOURS)


def test_an_action_module_without_declared_ids_fails_at_start_up(engine: Engine) -> None:
    from types import SimpleNamespace

    module = SimpleNamespace(__name__="m", ACTIONS={"thing": lambda ctx, v: []})
    with pytest.raises(ValueError, match="thing"):
        Router(engine, AppConfig(), modules=[module])  # type: ignore[list-item]


# -- commands that take an id in their text ---------------------------------------------------

IdCommand = Callable[[Objects], tuple[str, str]]
ID_COMMANDS: dict[str, IdCommand] = {
    "/appeal reject": lambda o: ("王经理", f"/appeal reject {o.foreign['appeal.decide']} 理由"),
    "/appeal uphold": lambda o: (
        "王经理",
        f"/appeal uphold {o.foreign['appeal.decide']} attitude=4 理由",
    ),
    "/qa dispute": lambda o: ("李娜", f"/qa dispute {o.foreign['qa_review.own']} 理由"),
    "/improve approve": lambda o: ("王经理", "/improve approve shanghai/张伟"),
}


@pytest.mark.parametrize("name", sorted(ID_COMMANDS))
def test_a_command_with_a_foreign_id_answers_as_if_it_did_not_exist(
    name: str, router: Router, engine: Engine, objects: Objects
) -> None:
    asker, text = ID_COMMANDS[name](objects)
    before = _snapshot(engine)
    said = "\n".join(
        r.text for r in router.handle(Incoming(platform="test", user_id=f"demo/{asker}", text=text))
    )
    assert ("没有" in said or "不" in said) and "赵经理" not in said, said
    assert _snapshot(engine) == before


def test_two_same_named_agents_in_a_managers_teams_are_told_apart_by_team(
    router: Router, engine: Engine, objects: Objects
) -> None:
    with unit_of_work(engine) as session:
        boss = repo.get_member_by_name(
            session=session,
            team=repo.get_team_by_name(session=session, name="demo"),  # type: ignore[arg-type]
            name="王经理",
        )
        shanghai = repo.get_team_by_name(session=session, name="shanghai")
        assert boss is not None and shanghai is not None
        repo.add_team_manager(session=session, team=shanghai, member=boss)
    said = router.handle(
        Incoming(platform="test", user_id="demo/王经理", text="/improve approve 张伟")
    )[0].text
    assert "demo/张伟" in said and "shanghai/张伟" in said
    with unit_of_work(engine) as session:
        assert all(
            p.status == "submitted"
            for p in cstore.list_plans(session=session, statuses=["submitted", "approved"])
        )


# What each command of ID_COMMANDS forges (module of the handler, kind of the id).
ID_COMMAND_KINDS = {
    "/appeal reject": ("commands/appeal.py", "appeal.decide"),
    "/appeal uphold": ("commands/appeal.py", "appeal.decide"),
    "/qa dispute": ("commands/qa/results.py", "qa_review.own"),
    "/improve approve": ("commands/improve.py", "plan.decide"),
}


def test_every_command_that_looks_an_id_up_is_forged_above() -> None:
    """A command that takes an id from its text goes through ``scope.resolve``; every such
    call in commands/ (module, kind) must be one that ID_COMMANDS forges, so a new command
    taking an id fails here until it has its forgery (issue 21 item 6)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    calls: set[tuple[str, str]] = set()
    for path in sorted((root / "commands").rglob("*.py")):
        if path.name == "scope.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "resolve"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "scope"
            ):
                kind = node.args[1]
                assert isinstance(kind, ast.Constant), f"{path}: scope.resolve with a computed kind"
                calls.add((str(path.relative_to(root)), str(kind.value)))
    assert calls, "no command resolves an id: the walk is broken"
    assert set(ID_COMMAND_KINDS) == set(ID_COMMANDS)
    assert calls <= set(ID_COMMAND_KINDS.values()), (
        f"not forged: {sorted(calls - set(ID_COMMAND_KINDS.values()))}"
    )

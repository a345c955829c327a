"""Does the object an id names belong to the actor? The one guard for every id from outside.

A button's value, a modal's ``private_metadata`` and a command's argument carry ids
(a conversation, a plan, a feedback slot, a member, a period, a QA result, an appeal …).
An id is a claim made by the client, so before any handler reads it the object is loaded
**by that id** and checked against the actor with the rule of :mod:`commands.permissions`
(never looked up again by the member's *name*: two agents called 张伟 in two teams are two
people).

Each kind of id is one entry of :data:`KINDS`: how to load it and what relation the actor
must have to it. Actions declare the kinds their value carries, position by position
(``ACTION_IDS`` of each command module, collected by the router), e.g.

    ACTION_IDS = {"review:pick": ("member.review", "period")}   # value "<member_id>:<period_id>"

and the router calls :func:`check_action` before the handler. Commands that take an id in
their text call :func:`resolve`. A refusal for an object outside the teams the actor can see
is the same answer as for an id that does not exist (the forger learns nothing); inside, it
says why (``permissions.Decision``). All ids of one value must belong to one team.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from commands import permissions, results
from commands.context import Context
from commands.messages import Reply
from scoring import Scheme
from storage import consequences as consequence_store
from storage import conversations, repo
from storage import qa as qa_store
from storage.models import Member
from storage.models.consequences import Appeal

NOT_AN_ID = ("step", "text")
"""Positions of a value that are not ids (a form's step, a free argument)."""


@dataclass(frozen=True)
class Found:
    """An object loaded by id: its team, the member it is about, and the object itself."""

    obj: Any
    team_id: int
    member: Member | None


Loader = Callable[[Session, str], Found | None]
Rule = Callable[[Context, Found], permissions.Decision]


@dataclass(frozen=True)
class Kind:
    load: Loader
    rule: Rule


def _int(text: str) -> int | None:
    text = text.strip().lstrip("#")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def _member(session: Session, member_id: int | None) -> Member | None:
    return repo.get_member(session=session, member_id=member_id) if member_id is not None else None


def _by_member(
    session: Session, obj: Any, member_id: int | None, team_id: int | None = None
) -> Found | None:
    if obj is None:
        return None
    member = _member(session, member_id)
    team = team_id if team_id is not None else (member.team_id if member is not None else None)
    return Found(obj, team, member) if team is not None else None


def _load_conversation(session: Session, text: str) -> Found | None:
    cid = _int(text)
    conv = conversations.get_conversation(cid, session=session) if cid is not None else None
    return _by_member(session, conv, conv.member_id if conv else None)


def _load_plan(session: Session, text: str) -> Found | None:
    pid = _int(text)
    plan = (
        consequence_store.get_plan_by_id(session=session, plan_id=pid) if pid is not None else None
    )
    return _by_member(
        session, plan, plan.member_id if plan else None, plan.team_id if plan else None
    )


def _load_meeting(session: Session, text: str) -> Found | None:
    mid = _int(text)
    meeting = (
        consequence_store.get_meeting_by_id(session=session, meeting_id=mid)
        if mid is not None
        else None
    )
    return _by_member(
        session,
        meeting,
        meeting.member_id if meeting else None,
        meeting.team_id if meeting else None,
    )


def _load_slot(session: Session, text: str) -> Found | None:
    sid = _int(text)
    slot = consequence_store.get_slot(session=session, slot_id=sid) if sid is not None else None
    meeting = (
        consequence_store.get_meeting_by_id(session=session, meeting_id=slot.meeting_id)
        if slot
        else None
    )
    if slot is None or meeting is None:
        return None
    return _by_member(session, (slot, meeting), meeting.member_id, meeting.team_id)


def _load_member(session: Session, text: str) -> Found | None:
    member = _member(session, _int(text))
    return Found(member, member.team_id, member) if member is not None else None


def _load_period(session: Session, text: str) -> Found | None:
    pid = _int(text)
    period = repo.get_period_by_id(session=session, period_id=pid) if pid is not None else None
    return Found(period, period.team_id, None) if period is not None else None


def _load_qa_review(session: Session, text: str) -> Found | None:
    rid = _int(text)
    review = qa_store.get_review(session=session, review_id=rid) if rid is not None else None
    sample = qa_store.get_sample(session=session, sample_id=review.sample_id) if review else None
    if review is None or sample is None:
        return None
    return _by_member(session, (review, sample), sample.member_id)


def _load_appeal(session: Session, text: str) -> Found | None:
    aid = _int(text)
    appeal = (
        consequence_store.get_appeal(session=session, appeal_id=aid) if aid is not None else None
    )
    return _by_member(
        session, appeal, appeal.member_id if appeal else None, appeal.team_id if appeal else None
    )


def _load_period_key(session: Session, text: str) -> Found | None:
    return Found(text, 0, None)  # a period key names a month of every team: only an admin's


_REFUSED = permissions.Decision(False, permissions.NOT_YOURS)


def _own(ctx: Context, found: Found) -> permissions.Decision:
    return (
        permissions.ALLOW
        if found.member is not None and found.member.id == ctx.actor.id
        else _REFUSED
    )


def _slot_party(ctx: Context, found: Found) -> permissions.Decision:
    _slot, meeting = found.obj
    return (
        permissions.ALLOW if ctx.actor.id in (meeting.member_id, meeting.manager_id) else _REFUSED
    )


def _qa_result_own(ctx: Context, found: Found) -> permissions.Decision:
    _review, sample = found.obj
    return permissions.can_dispute_qa(ctx.actor, sample.member_id)


def _plan_decider(ctx: Context, found: Found) -> permissions.Decision:
    assert found.member is not None
    return permissions.can_decide_plan(ctx.actor, found.member, escalated_to=found.obj.escalated_to)


def appealable(scheme: Scheme) -> dict[str, str]:
    """Component id → kind; the indicator table is ``kpi`` even when it only feeds a review
    dimension."""
    out = {c.id: c.kind for c in scheme.components}
    if scheme.uses_kpi_table:
        out.setdefault("kpi", "kpi")
    return out


def appeal_component_kind(session: Session, appeal: Appeal) -> str:
    """The kind of the appealed component (``manager`` appeals go to an admin)."""
    team = repo.get_team(session=session, team_id=appeal.team_id)
    period = repo.get_period_by_id(session=session, period_id=appeal.period_id)
    scheme = results.load_scheme(team, period, session=session) if team and period else None
    return (
        appealable(scheme).get(appeal.component, appeal.component) if scheme else appeal.component
    )


def _appeal_decider(ctx: Context, found: Found) -> permissions.Decision:
    assert found.member is not None
    return permissions.can_decide_appeal(
        ctx.actor, found.member, appeal_component_kind(ctx.session, found.obj)
    )


def _reviewable(ctx: Context, found: Found) -> permissions.Decision:
    assert found.member is not None
    return permissions.can_review(ctx.actor, found.member)


def _peer(ctx: Context, found: Found) -> permissions.Decision:
    assert found.member is not None
    return permissions.can_peer_rate(ctx.actor, found.member)


def _period_of_reach(ctx: Context, found: Found) -> permissions.Decision:
    return permissions.ALLOW if permissions.sees_team(ctx.actor, found.team_id) else _REFUSED


def _admin(ctx: Context, found: Found) -> permissions.Decision:
    return permissions.ALLOW if permissions.is_admin(ctx.actor) else _REFUSED


KINDS: Mapping[str, Kind] = {
    "conversation": Kind(_load_conversation, _own),
    "plan.own": Kind(_load_plan, _own),
    "plan.decide": Kind(_load_plan, _plan_decider),
    "meeting.own": Kind(_load_meeting, _own),
    "slot.party": Kind(_load_slot, _slot_party),
    "member.review": Kind(_load_member, _reviewable),
    "member.peer": Kind(_load_member, _peer),
    "period": Kind(_load_period, _period_of_reach),
    "qa_review.own": Kind(_load_qa_review, _qa_result_own),
    "appeal.decide": Kind(_load_appeal, _appeal_decider),
    "period_key.admin": Kind(_load_period_key, _admin),
}
"""Every kind of id a client may send, with its loader and its rule."""


def resolve(ctx: Context, kind: str, text: str) -> tuple[Any, permissions.Decision]:
    """``(object, ALLOW)`` when the id names an object of the actor's scope, else ``(None,
    refusal)``; the refusal's reason is :data:`permissions.NOT_YOURS` when the id is unknown or out
    of sight."""
    found, decision = _check(ctx, KINDS[kind], text)
    if not decision or found is None:
        return None, decision
    return found.obj, decision


def unknown(decision: permissions.Decision) -> bool:
    """The refusal of an id that does not exist for this actor (answer "there is no …")."""
    return not decision and decision.reason == permissions.NOT_YOURS


def _check(ctx: Context, kind: Kind, text: str) -> tuple[Found | None, permissions.Decision]:
    found = kind.load(ctx.session, text)
    if found is None:
        return None, _REFUSED
    decision = kind.rule(ctx, found)
    if not decision and found.team_id and not permissions.sees_team(ctx.actor, found.team_id):
        return found, _REFUSED  # outside what the actor sees: as if it did not exist
    return found, decision


def check_action(ctx: Context, kinds: Sequence[str], value: str) -> Reply | None:
    """The refusal for a button/modal value whose ids are not all the actor's, else ``None``.

    ``kinds`` lists the value's ``:``-separated positions (the last one takes the rest);
    every id must pass its rule, and all of them must belong to one team.
    """
    parts = value.split(":", max(len(kinds) - 1, 0)) if kinds else []
    teams: set[int] = set()
    for position, kind_name in enumerate(kinds):
        if kind_name in NOT_AN_ID:
            continue
        text = parts[position] if position < len(parts) else ""
        found, decision = _check(ctx, KINDS[kind_name], text)
        if not decision:
            return permissions.refusal(decision, ctx._)
        assert found is not None
        if found.team_id:
            teams.add(found.team_id)
    if len(teams) > 1:
        return permissions.refusal(_REFUSED, ctx._)
    return None

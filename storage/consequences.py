"""Repository functions of the consequences tables (:mod:`storage.models.consequences`).

Keyword-only ``session``, never commit; every change a person makes (a plan approved, an
appeal decided, a meeting's notes, a score changed by an appeal) appends an audit entry
with before, after, actor and reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, SQLModel, col, select

from storage.models import Member, Period, Score, Team
from storage.models.consequences import (
    Appeal,
    FeedbackMeeting,
    ImprovementPlan,
    MeetingSlot,
    PayrollEntry,
    PersonalGoal,
    PostChangeFlag,
)
from storage.repo.audit import append_audit, audited_change, snapshot
from storage.repo.common import id_of, now_or_utc
from storage.types import quantize, to_decimal


def _change(
    *,
    session: Session,
    row: SQLModel,
    changes: Mapping[str, Any],
    actor: str,
    action: str,
    reason: str | None,
    now: datetime,
) -> None:
    """Set ``changes`` on ``row`` and audit it when anything changed."""
    before = snapshot(row)
    for key, value in changes.items():
        setattr(row, key, value)
    audited_change(
        session=session, row=row, before=before, actor=actor, action=action, reason=reason, now=now
    )


# --- feedback meetings -----------------------------------------------------------------------


def get_meeting(*, session: Session, period: Period, member: Member) -> FeedbackMeeting | None:
    return session.exec(
        select(FeedbackMeeting).where(
            FeedbackMeeting.period_id == period.id, FeedbackMeeting.member_id == member.id
        )
    ).first()


def get_meeting_by_id(*, session: Session, meeting_id: int) -> FeedbackMeeting | None:
    return session.get(FeedbackMeeting, meeting_id)


def ensure_meeting(
    *,
    session: Session,
    team: Team,
    period: Period,
    member: Member,
    manager: Member | None,
    prompt: Mapping[str, Any],
    now: datetime | None = None,
) -> tuple[FeedbackMeeting, bool]:
    """The agent's meeting of the period, created with ``prompt`` if new; ``(row, created)``."""
    found = get_meeting(session=session, period=period, member=member)
    if found is not None:
        return found, False
    moment = now_or_utc(now)
    row = FeedbackMeeting(
        team_id=id_of(team),
        period_id=id_of(period),
        member_id=id_of(member),
        manager_id=manager.id if manager is not None else None,
        prompt=dict(prompt),
        created_at=moment,
        updated_at=moment,
    )
    session.add(row)
    session.flush()
    return row, True


def update_meeting(
    *,
    session: Session,
    meeting: FeedbackMeeting,
    actor: str,
    reason: str | None,
    now: datetime | None = None,
    **changes: Any,
) -> FeedbackMeeting:
    moment = now_or_utc(now)
    _change(
        session=session,
        row=meeting,
        changes={**changes, "updated_at": moment},
        actor=actor,
        action="meeting.update",
        reason=reason,
        now=moment,
    )
    return meeting


def list_meetings(
    *,
    session: Session,
    period: Period | None = None,
    manager_id: int | None = None,
    member_id: int | None = None,
) -> list[FeedbackMeeting]:
    query = select(FeedbackMeeting)
    if period is not None:
        query = query.where(FeedbackMeeting.period_id == period.id)
    if manager_id is not None:
        query = query.where(FeedbackMeeting.manager_id == manager_id)
    if member_id is not None:
        query = query.where(FeedbackMeeting.member_id == member_id)
    return list(session.exec(query.order_by(col(FeedbackMeeting.id))))


def offer_slots(
    *,
    session: Session,
    meeting: FeedbackMeeting,
    starts: Iterable[datetime],
    proposed_by: str,
    minutes: int = 30,
    now: datetime | None = None,
) -> list[MeetingSlot]:
    """Offer times (an existing slot at the same time is kept as it is)."""
    out: list[MeetingSlot] = []
    known = {s.starts_at: s for s in list_slots(session=session, meeting=meeting)}
    for start in starts:
        slot = known.get(start)
        if slot is None:
            slot = MeetingSlot(
                meeting_id=id_of(meeting),
                starts_at=start,
                minutes=minutes,
                proposed_by=proposed_by,
                created_at=now_or_utc(now),
            )
            session.add(slot)
            session.flush()
        out.append(slot)
    return out


def list_slots(*, session: Session, meeting: FeedbackMeeting) -> list[MeetingSlot]:
    return list(
        session.exec(
            select(MeetingSlot)
            .where(MeetingSlot.meeting_id == meeting.id)
            .order_by(col(MeetingSlot.starts_at))
        )
    )


def get_slot(*, session: Session, slot_id: int) -> MeetingSlot | None:
    return session.get(MeetingSlot, slot_id)


def set_slot_status(*, session: Session, slot: MeetingSlot, status: str) -> MeetingSlot:
    slot.status = status
    session.add(slot)
    session.flush()
    return slot


# --- personal goals --------------------------------------------------------------------------


def add_goal(
    *,
    session: Session,
    team: Team,
    member: Member,
    period_key: str,
    text: str,
    due_on: date,
    created_by: str,
    indicator: str | None = None,
    target: Decimal | float | str | None = None,
    meeting: FeedbackMeeting | None = None,
    now: datetime | None = None,
) -> PersonalGoal:
    row = PersonalGoal(
        team_id=id_of(team),
        member_id=id_of(member),
        period_key=period_key,
        text=text,
        due_on=due_on,
        created_by=created_by,
        indicator=indicator,
        target=quantize(to_decimal(target)) if target is not None else None,
        meeting_id=meeting.id if meeting is not None else None,
        created_at=now_or_utc(now),
    )
    session.add(row)
    session.flush()
    append_audit(
        session=session,
        actor=created_by,
        action="goal.add",
        entity="personal_goal",
        entity_id=id_of(row),
        after=snapshot(row),
        reason="agreed in a feedback meeting",
        at=now_or_utc(now),
    )
    return row


def goals_for(*, session: Session, member: Member, period_key: str) -> list[PersonalGoal]:
    return list(
        session.exec(
            select(PersonalGoal)
            .where(PersonalGoal.member_id == member.id, PersonalGoal.period_key == period_key)
            .order_by(col(PersonalGoal.id))
        )
    )


# --- improvement plans -----------------------------------------------------------------------


def get_plan(*, session: Session, period: Period, member: Member) -> ImprovementPlan | None:
    return session.exec(
        select(ImprovementPlan).where(
            ImprovementPlan.period_id == period.id, ImprovementPlan.member_id == member.id
        )
    ).first()


def get_plan_by_id(*, session: Session, plan_id: int) -> ImprovementPlan | None:
    return session.get(ImprovementPlan, plan_id)


def ensure_plan(
    *,
    session: Session,
    team: Team,
    period: Period,
    member: Member,
    due_at: datetime,
    now: datetime | None = None,
) -> tuple[ImprovementPlan, bool]:
    """Ask for the agent's plan for the period (once); ``(row, created)``."""
    found = get_plan(session=session, period=period, member=member)
    if found is not None:
        return found, False
    row = ImprovementPlan(
        team_id=id_of(team),
        period_id=id_of(period),
        member_id=id_of(member),
        due_at=due_at,
        created_at=now_or_utc(now),
    )
    session.add(row)
    session.flush()
    append_audit(
        session=session,
        actor="system",
        action="plan.request",
        entity="improvement_plan",
        entity_id=id_of(row),
        after=snapshot(row),
        reason="last places of the period",
        at=now_or_utc(now),
    )
    return row, True


def update_plan(
    *,
    session: Session,
    plan: ImprovementPlan,
    actor: str,
    reason: str | None,
    now: datetime | None = None,
    **changes: Any,
) -> ImprovementPlan:
    _change(
        session=session,
        row=plan,
        changes=changes,
        actor=actor,
        action="plan.update",
        reason=reason,
        now=now_or_utc(now),
    )
    return plan


def list_plans(
    *,
    session: Session,
    period: Period | None = None,
    team: Team | None = None,
    statuses: Sequence[str] | None = None,
    member_id: int | None = None,
) -> list[ImprovementPlan]:
    query = select(ImprovementPlan)
    if period is not None:
        query = query.where(ImprovementPlan.period_id == period.id)
    if team is not None:
        query = query.where(ImprovementPlan.team_id == team.id)
    if statuses is not None:
        query = query.where(col(ImprovementPlan.status).in_(list(statuses)))
    if member_id is not None:
        query = query.where(ImprovementPlan.member_id == member_id)
    return list(session.exec(query.order_by(col(ImprovementPlan.id))))


# --- appeals ---------------------------------------------------------------------------------


def create_appeal(
    *,
    session: Session,
    team: Team,
    period: Period,
    member: Member,
    component: str,
    reason: str,
    before: Mapping[str, Any],
    now: datetime | None = None,
) -> Appeal:
    moment = now_or_utc(now)
    row = Appeal(
        team_id=id_of(team),
        period_id=id_of(period),
        member_id=id_of(member),
        component=component,
        reason=reason,
        before=dict(before),
        created_at=moment,
    )
    session.add(row)
    session.flush()
    append_audit(
        session=session,
        actor=f"member:{id_of(member)}",
        action="appeal.open",
        entity="appeal",
        entity_id=id_of(row),
        after=snapshot(row),
        reason=reason,
        at=moment,
    )
    return row


def get_appeal(*, session: Session, appeal_id: int) -> Appeal | None:
    return session.get(Appeal, appeal_id)


def list_appeals(
    *,
    session: Session,
    period: Period | None = None,
    member_id: int | None = None,
    statuses: Sequence[str] | None = None,
    team: Team | None = None,
) -> list[Appeal]:
    query = select(Appeal)
    if period is not None:
        query = query.where(Appeal.period_id == period.id)
    if team is not None:
        query = query.where(Appeal.team_id == team.id)
    if member_id is not None:
        query = query.where(Appeal.member_id == member_id)
    if statuses is not None:
        query = query.where(col(Appeal.status).in_(list(statuses)))
    return list(session.exec(query.order_by(col(Appeal.id))))


def decide_appeal(
    *,
    session: Session,
    appeal: Appeal,
    status: str,
    decider: Member,
    reason: str,
    changes: Mapping[str, Any],
    after: Mapping[str, Any],
    now: datetime | None = None,
) -> Appeal:
    moment = now_or_utc(now)
    _change(
        session=session,
        row=appeal,
        changes={
            "status": status,
            "decider_id": decider.id,
            "decision_reason": reason,
            "changes": dict(changes),
            "after": dict(after),
            "decided_at": moment,
        },
        actor=f"member:{id_of(decider)}",
        action="appeal.decide",
        reason=reason,
        now=moment,
    )
    return appeal


def restate_score(
    *,
    session: Session,
    score: Score,
    total: Decimal | float,
    rank: int | None,
    breakdown: Mapping[str, Any],
    flags: Sequence[str],
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> Score:
    """Change a (possibly locked) score after a decided appeal or a calibration; audited.

    This is the one way a locked score changes: only with an actor and a reason, and the
    audit entry keeps the row before and after.
    """
    moment = now_or_utc(now)
    _change(
        session=session,
        row=score,
        changes={
            "total": quantize(to_decimal(total)),
            "rank": rank,
            "breakdown": dict(breakdown),
            "flags": list(flags),
            "computed_at": moment,
        },
        actor=actor,
        action="score.restate",
        reason=reason,
        now=moment,
    )
    return score


# --- payroll ---------------------------------------------------------------------------------


def replace_payroll(
    *,
    session: Session,
    team: Team,
    period: Period,
    entries: Iterable[tuple[Member, str, Decimal, str]],
    actor: str,
    reason: str | None,
    now: datetime | None = None,
) -> list[PayrollEntry]:
    """Make the period's payroll entries exactly ``entries`` ((member, kind, amount, currency)).

    Unchanged entries stay; a removed or changed one is audited.
    """
    moment = now_or_utc(now)
    wanted = {(id_of(m), kind): (amount, currency) for m, kind, amount, currency in entries}
    current = {(e.member_id, e.kind): e for e in list_payroll(session=session, period=period)}
    for key, row in current.items():
        if key not in wanted or (row.amount, row.currency) != wanted[key]:
            append_audit(
                session=session,
                actor=actor,
                action="payroll.remove",
                entity="payroll_entry",
                entity_id=id_of(row),
                before=snapshot(row),
                reason=reason,
                at=moment,
            )
            session.execute(delete(PayrollEntry).where(col(PayrollEntry.id) == row.id))
    session.expire_all()
    out = []
    for (member_id, kind), (amount, currency) in wanted.items():
        found = session.exec(
            select(PayrollEntry).where(
                PayrollEntry.period_id == period.id,
                PayrollEntry.member_id == member_id,
                PayrollEntry.kind == kind,
            )
        ).first()
        if found is not None:
            row = found
        else:
            row = PayrollEntry(
                team_id=id_of(team),
                period_id=id_of(period),
                member_id=member_id,
                kind=kind,
                amount=quantize(amount),
                currency=currency,
                created_at=moment,
            )
            session.add(row)
            session.flush()
            append_audit(
                session=session,
                actor=actor,
                action="payroll.add",
                entity="payroll_entry",
                entity_id=id_of(row),
                after=snapshot(row),
                reason=reason,
                at=moment,
            )
        out.append(row)
    return out


def list_payroll(*, session: Session, period: Period) -> list[PayrollEntry]:
    return list(
        session.exec(
            select(PayrollEntry)
            .where(PayrollEntry.period_id == period.id)
            .order_by(col(PayrollEntry.id))
        )
    )


# --- post-change flags -----------------------------------------------------------------------


def raise_post_change(
    *,
    session: Session,
    team: Team,
    period: Period,
    member: Member,
    streak: int,
    now: datetime | None = None,
) -> tuple[PostChangeFlag, bool]:
    found = session.exec(
        select(PostChangeFlag).where(
            PostChangeFlag.period_id == period.id, PostChangeFlag.member_id == member.id
        )
    ).first()
    if found is not None:
        return found, False
    row = PostChangeFlag(
        team_id=id_of(team),
        period_id=id_of(period),
        member_id=id_of(member),
        streak=streak,
        raised_at=now_or_utc(now),
    )
    session.add(row)
    session.flush()
    append_audit(
        session=session,
        actor="system",
        action="post_change.raise",
        entity="post_change_flag",
        entity_id=id_of(row),
        after=snapshot(row),
        reason=f"last place {streak} periods in a row",
        at=now_or_utc(now),
    )
    return row, True

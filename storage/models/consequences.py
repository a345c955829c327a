"""Tables of the consequences of a period (issue 9): feedback meetings, goals, improvement plans,
appeals, payroll entries and post-change flags.

Repository functions: :mod:`storage.consequences`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.columns import check_in, json_field, utc_field
from storage.types import ExactDecimal, UTCDateTime

MEETING_STATUS_VALUES = ("prompted", "proposed", "scheduled", "held", "acknowledged", "appealed")
SLOT_STATUS_VALUES = ("offered", "accepted", "declined")
PLAN_STATUS_VALUES = ("requested", "submitted", "approved", "returned")
APPEAL_STATUS_VALUES = ("open", "upheld", "rejected")
PAYROLL_KIND_VALUES = ("reward", "penalty")


class FeedbackMeeting(SQLModel, table=True):
    """One feedback meeting (绩效反馈面谈) per agent and period: the prompt, the slot, the notes."""

    __tablename__ = "feedback_meeting"
    __table_args__ = (
        UniqueConstraint("period_id", "member_id"),
        CheckConstraint(check_in("status", MEETING_STATUS_VALUES), name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    manager_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    status: str = "prompted"
    prompt: dict[str, Any] = json_field()
    slot_at: datetime | None = utc_field(nullable=True, default=False)
    notes: str | None = Field(default=None, sa_type=Text)
    held_at: datetime | None = utc_field(nullable=True, default=False)
    acknowledged_at: datetime | None = utc_field(nullable=True, default=False)
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class MeetingSlot(SQLModel, table=True):
    """A proposed time for a feedback meeting; the agent accepts one or counters with another."""

    __tablename__ = "meeting_slot"
    __table_args__ = (
        UniqueConstraint("meeting_id", "starts_at"),
        CheckConstraint(check_in("status", SLOT_STATUS_VALUES), name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="feedback_meeting.id", ondelete="CASCADE", index=True)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    minutes: int = 30
    proposed_by: str = Field(description="actor label: 'system' or 'member:<id>'")
    status: str = "offered"
    created_at: datetime = utc_field()


class PersonalGoal(SQLModel, table=True):
    """A SMART goal agreed in a feedback meeting: a number and a date, for a later period."""

    __tablename__ = "personal_goal"

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    period_key: str = Field(description="the period the goal is for, e.g. '2026-11'")
    meeting_id: int | None = Field(
        default=None, foreign_key="feedback_meeting.id", ondelete="SET NULL"
    )
    indicator: str | None = None
    target: Decimal | None = Field(default=None, sa_type=ExactDecimal, nullable=True)
    due_on: date
    text: str = Field(sa_type=Text)
    created_by: str
    created_at: datetime = utc_field()


class ImprovementPlan(SQLModel, table=True):
    """整改方案: asked of the last agents, submitted, approved or returned, escalated when late."""

    __tablename__ = "improvement_plan"
    __table_args__ = (
        UniqueConstraint("period_id", "member_id"),
        CheckConstraint(check_in("status", PLAN_STATUS_VALUES), name="status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    status: str = "requested"
    due_at: datetime = Field(sa_type=UTCDateTime)
    answers: dict[str, Any] = json_field()
    submitted_at: datetime | None = utc_field(nullable=True, default=False)
    decided_by: str | None = None
    decided_at: datetime | None = utc_field(nullable=True, default=False)
    decision_comment: str | None = Field(default=None, sa_type=Text)
    reminders: int = 0
    last_reminded_at: datetime | None = utc_field(nullable=True, default=False)
    escalated_at: datetime | None = utc_field(nullable=True, default=False)
    escalated_to: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    created_at: datetime = utc_field()


class Appeal(SQLModel, table=True):
    """考核结果争议: an agent's appeal of one component, and its decision."""

    __table_args__ = (CheckConstraint(check_in("status", APPEAL_STATUS_VALUES), name="status"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    component: str
    reason: str = Field(sa_type=Text)
    status: str = "open"
    decider_id: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    decision_reason: str | None = Field(default=None, sa_type=Text)
    changes: dict[str, Any] = json_field()
    before: dict[str, Any] = json_field()
    after: dict[str, Any] = json_field()
    created_at: datetime = utc_field()
    decided_at: datetime | None = utc_field(nullable=True, default=False)


class PayrollEntry(SQLModel, table=True):
    """A reward or a penalty for payroll (rank 1, last place), in exact money."""

    __tablename__ = "payroll_entry"
    __table_args__ = (
        UniqueConstraint("period_id", "member_id", "kind"),
        CheckConstraint(check_in("kind", PAYROLL_KIND_VALUES), name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    kind: str
    amount: Decimal = Field(sa_type=ExactDecimal)
    currency: str = "CNY"
    created_at: datetime = utc_field()


class PostChangeFlag(SQLModel, table=True):
    """岗位调整: last place K periods in a row, raised to admins only."""

    __tablename__ = "post_change_flag"
    __table_args__ = (UniqueConstraint("period_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    period_id: int = Field(foreign_key="period.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    streak: int
    raised_at: datetime = utc_field()


CONSEQUENCE_TABLES: tuple[type[SQLModel], ...] = (
    FeedbackMeeting,
    MeetingSlot,
    PersonalGoal,
    ImprovementPlan,
    Appeal,
    PayrollEntry,
    PostChangeFlag,
)

"""Tables of the monthly cycle: the outbox of messages kpibot sends on its own, and the
ledger of scheduled steps.

* ``outbox`` — every message kpibot starts (a reminder, a result, a note to a manager) is
  first a row here with a unique ``key`` (team, period, person, kind), then claimed by a
  sender, sent, and marked ``sent`` with the platform's message ref. ``member_id`` NULL
  means the team's own channel (the published ranking).
* ``step_ledger`` — one row per (team, period, step) that was started: the unique key is
  what makes a scheduled step run once across replicas and restarts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.columns import check_in, json_field, utc_field

OUTBOX_STATUS_VALUES = ("pending", "claimed", "sent", "failed", "unreachable", "ambiguous")
"""``ambiguous``: a send was started and its outcome could not be settled (the platform may or
may not have delivered it); never sent again, counted, and the admins are told."""


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(check_in("status", OUTBOX_STATUS_VALUES), name="status"),
        Index(None, "status", "not_before"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    period_id: int | None = Field(
        default=None, foreign_key="period.id", ondelete="CASCADE", index=True
    )
    member_id: int | None = Field(
        default=None,
        foreign_key="member.id",
        ondelete="CASCADE",
        index=True,
        description="the person; NULL: the team's channel",
    )
    kind: str = Field(description="e.g. 'result', 'reminder.self', 'manager.table'")
    key: str = Field(unique=True, description="team/period/person/kind: one message per key")
    reply: dict[str, Any] = json_field()
    platform: str | None = Field(default=None, description="slack | telegram, once known")
    status: str = "pending"
    attempts: int = 0
    claimed_by: str | None = None
    claimed_at: datetime | None = utc_field(nullable=True, default=False)
    sent_at: datetime | None = utc_field(nullable=True, default=False)
    sending_at: datetime | None = utc_field(nullable=True, default=False)
    """Set (by the claimant, durably) just before the request goes to the platform: a row
    taken over with it set may have been delivered and is settled, never simply re-sent."""
    message_ref: str | None = None
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = utc_field()
    not_before: datetime | None = utc_field(nullable=True, default=False)


class StepLedger(SQLModel, table=True):
    __tablename__ = "step_ledger"
    __table_args__ = (UniqueConstraint("team_id", "period_key", "step"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", ondelete="CASCADE", index=True)
    period_key: str
    step: str = Field(description="e.g. 'open', 'remind.1', 'close', 'publish'")
    claimed_by: str
    claimed_at: datetime = utc_field()
    finished_at: datetime | None = utc_field(nullable=True, default=False)
    note: str | None = Field(default=None, sa_type=Text, description="why it ran late, or failed")


CYCLE_TABLES: tuple[type[SQLModel], ...] = (OutboxMessage, StepLedger)

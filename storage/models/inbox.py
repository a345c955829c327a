"""The table of the inbox: requests kpibot acknowledged, stored first (``storage.inbox``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models.columns import check_in, json_field, utc_field

INBOX_STATUS_VALUES = ("claimed", "done", "given_up")


class InboxEvent(SQLModel, table=True):
    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        CheckConstraint(check_in("status", INBOX_STATUS_VALUES), name="status"),
        Index(None, "status", "claimed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(description="telegram | slack")
    event_id: str = Field(description="Telegram's update_id; Slack's trigger id")
    payload: dict[str, Any] = json_field()
    status: str = "claimed"
    attempts: int = 1
    claimed_by: str | None = None
    claimed_at: datetime | None = utc_field(nullable=True, default=False)
    received_at: datetime = utc_field()
    done_at: datetime | None = utc_field(nullable=True, default=False)

"""The table of files sent in chat that wait for what they are (``storage.chat_files``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from storage.models.columns import json_field, utc_field
from storage.types import UTCDateTime


class PendingFile(SQLModel, table=True):
    """An export an admin sent in chat, waiting for the team, period or mapping."""

    __tablename__ = "pending_file"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", unique=True)
    platform: str
    file_name: str
    data: bytes = Field(sa_type=LargeBinary)
    chosen: dict[str, str] = json_field()
    """What the caption already said: ``team``, ``period``, ``mapping``."""
    received_at: datetime = utc_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)

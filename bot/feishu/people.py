"""Who is who on Feishu: a member's open_id, from the identity table (platform ``feishu``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.db import unit_of_work
from storage.models import Member

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

PLATFORM = "feishu"


class FeishuPeople:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def open_id_of(self, member_id: int) -> str | None:
        """The member's open_id, ``None`` when they are not linked on Feishu (or inactive)."""
        with unit_of_work(self.engine) as session:
            member = session.get(Member, member_id)
            if member is None or not member.active:
                return None
            return member.external_id(PLATFORM)

    def lang_of(self, open_id: str) -> str | None:
        """The language of the member behind ``open_id`` (theirs, else their team's)."""
        from storage import conversations

        with unit_of_work(self.engine) as session:
            member = conversations.find_member(PLATFORM, open_id, session=session)
            return conversations.member_lang(member, session=session) if member else None

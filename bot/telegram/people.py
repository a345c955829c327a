"""What the Telegram adapter needs to know about members, through storage (synchronous).

The adapter runs these in a worker thread. A member who blocked the bot is marked
``unreachable`` once and their manager is told; writing to the bot again clears it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from commands.i18n import translator
from commands.people import lang_of, manager_of
from storage import conversations as repo
from storage import repo as members
from storage.db import unit_of_work
from storage.linking import linked_leaders, set_unreachable
from storage.models import Member

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session


@dataclass(frozen=True)
class ManagerNotice:
    manager_chat_id: int
    text: str


class TelegramPeople:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _member(self, session: Session, telegram_user_id: int) -> Member | None:
        return repo.find_member("telegram", str(telegram_user_id), session=session)

    def lang_of(self, telegram_user_id: int) -> str | None:
        with unit_of_work(self.engine) as session:
            member = self._member(session, telegram_user_id)
            return repo.member_lang(member, session=session) if member is not None else None

    def leaders(self) -> list[tuple[int, str, str]]:
        """Active managers and admins linked to Telegram: (chat id, role, language)."""
        with unit_of_work(self.engine) as session:
            return [
                (int(m.telegram_user_id or 0), m.role, repo.member_lang(m, session=session) or "")
                for m in linked_leaders(session=session)
            ]

    def chat_of(self, member_id: int) -> int | None:
        with unit_of_work(self.engine) as session:
            member = members.get_member(session=session, member_id=member_id)
            if member is None or not member.telegram_user_id or not member.active:
                return None
            return int(member.telegram_user_id)

    def mark_reachable(self, telegram_user_id: int) -> None:
        with unit_of_work(self.engine) as session:
            member = self._member(session, telegram_user_id)
            if member is not None:
                set_unreachable(session=session, member=member, unreachable=False)

    def mark_unreachable(self, telegram_user_id: int) -> ManagerNotice | None:
        """Mark the member unreachable; the notice for their manager, the first time only."""
        with unit_of_work(self.engine) as session:
            member = self._member(session, telegram_user_id)
            if member is None or not set_unreachable(
                session=session, member=member, unreachable=True
            ):
                return None
            manager = manager_of(member, session=session)
            if manager is None or not manager.telegram_user_id or manager.unreachable:
                return None
            _ = translator(lang_of(manager, session=session))
            text = _(
                "{name} has blocked kpibot on Telegram, so reminders and results no longer reach "
                "them. Please ask them to open the bot and unblock it.",
                name=member.name,
            )
            return ManagerNotice(int(manager.telegram_user_id), text)

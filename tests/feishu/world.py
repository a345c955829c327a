"""Linking the conversation tests' world to Feishu people.

Until the identity table (member, platform, external id) is on main, a member cannot be
linked on Feishu; :class:`Identities` then stands in for it in front of the real router:
an Incoming from a known open_id is handed on as the tests' platform with the member's
id (``test`` resolves by member id), and the adapter asks it for the member's language.
Once ``Member.set_external_id`` exists the members are linked for real and the router
is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.engine import Engine

from commands.messages import Incoming, Reply
from storage import conversations, repo
from storage.db import unit_of_work
from storage.models import Member

REAL_IDENTITIES = hasattr(Member, "set_external_id")


@dataclass
class Identities:
    router: Any
    engine: Engine
    members: dict[str, int]
    """open_id → member id."""

    def handle(self, incoming: Incoming) -> list[Reply]:
        if REAL_IDENTITIES:
            return list(self.router.handle(incoming))
        member_id = self.members.get(incoming.user_id)
        if member_id is None:
            return list(self.router.handle(incoming))
        return list(self.router.handle(replace(incoming, platform="test", user_id=str(member_id))))

    def draw(self, reply: Reply) -> Reply | None:
        """A chart that follows the text (``Reply.chart``), drawn by the router."""
        drawn: Reply | None = self.router.draw(reply)
        return drawn

    def lang_of(self, open_id: str) -> str | None:
        with unit_of_work(self.engine) as session:
            if REAL_IDENTITIES:
                member = conversations.find_member("feishu", open_id, session=session)
            else:
                member_id = self.members.get(open_id)
                member = (
                    repo.get_member(session=session, member_id=member_id) if member_id else None
                )
            return conversations.member_lang(member, session=session) if member else None

    @property
    def commands(self) -> Any:
        return getattr(self.router, "commands", None)


def link(engine: Engine, router: Any, ids: dict[str, int], open_ids: dict[str, str]) -> Identities:
    """Link each named member to their open_id (for real when the identity table exists)."""
    if REAL_IDENTITIES:
        with unit_of_work(engine) as session:
            for name, open_id in open_ids.items():
                member = repo.get_member(session=session, member_id=ids[name])
                assert member is not None
                repo.link_platform(
                    session=session, member=member, platform="feishu", user_id=open_id, actor="test"
                )  # type: ignore[arg-type]
    return Identities(router, engine, {open_ids[n]: ids[n] for n in open_ids})

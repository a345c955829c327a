"""Linking the conversation tests' world to Feishu people.

Each named member is linked to their open_id in the identity table (member, platform,
external id), as ``kpibot member link --platform feishu`` does; the real router then
resolves them by open_id alone, and the adapter reads their language through
:class:`bot.feishu.people.FeishuPeople`, as the composition root wires it
(``bot/feishu/__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from bot.feishu.people import FeishuPeople
from commands.messages import Incoming, Reply
from storage import repo
from storage.db import unit_of_work


@dataclass
class Linked:
    """The real router, and the members' languages for the adapter (``lang_of``)."""

    router: Any
    people: FeishuPeople

    def handle(self, incoming: Incoming) -> list[Reply]:
        return list(self.router.handle(incoming))

    def draw(self, reply: Reply) -> Reply | None:
        """A chart that follows the text (``Reply.chart``), drawn by the router."""
        drawn: Reply | None = self.router.draw(reply)
        return drawn

    def lang_of(self, open_id: str) -> str | None:
        return self.people.lang_of(open_id)


def link(engine: Engine, router: Any, ids: dict[str, int], open_ids: dict[str, str]) -> Linked:
    """Link each named member (``ids``: name → member id) to their open_id."""
    with unit_of_work(engine) as session:
        for name, open_id in open_ids.items():
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session, member=member, platform="feishu", user_id=open_id, actor="test"
            )
    return Linked(router, FeishuPeople(engine))

"""What the Slack adapter needs to know about members, through storage (synchronous;
the adapter calls it from a worker thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage import conversations as people
from storage import repo
from storage.db import unit_of_work

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class SlackPeople:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def user_of(self, member_id: int) -> tuple[str, str | None] | None:
        """An active member's Slack user id and their team's Slack workspace id, if any."""
        with unit_of_work(self.engine) as session:
            member = repo.get_member(session=session, member_id=member_id)
            if member is None or not member.active or not member.slack_user_id:
                return None
            team = repo.get_team(session=session, team_id=member.team_id)
            return str(member.slack_user_id), (team.slack_team_id if team is not None else None)

    def lang_of(self, slack_user_id: str) -> str | None:
        """The member's kpibot language (their own setting, else their team's)."""
        with unit_of_work(self.engine) as session:
            member = people.find_member("slack", slack_user_id, session=session)
            return people.member_lang(member, session=session) if member is not None else None

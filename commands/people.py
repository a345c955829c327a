"""Who is who and what time it is for a team: the one home of these rules.

    boss = manager_of(agent, session=session)        # None when the team has no manager
    bosses = managers_of(agents, team=team, session=session)   # manager id → their agents
    admins = admins_of(session=session)              # every active admin (team=…: one team's)
    code = lang_of(member, session=session)          # "zh" / "en"
    clock = TeamClock.of(team)
    clock.date(now); clock.text(moment); clock.deadline(end)
    clock.in_working_hours(at); clock.in_quiet_hours(at, rules)

**The manager of** a member is someone who has not left: the direct manager (``manager_id``)
when still active; when they left, the manager's manager (and up the chain) who is still
active; else the first active manager of the member's team (``storage.repo.team_managers``,
id order); never the member themself. :func:`managers_of` groups agents by who is told of
their manager review: an agent with an active direct superior by that one; any other by
every active manager of the team. :func:`escalation_of` is who hears when a manager's work
is late: the manager's own active superior, else every active admin.

**The team clock**: every local date and time of a team comes from :class:`TeamClock`, in
the team's time zone. Zones are checked when they are set (``commands.admin.check_timezone``),
so a zone that cannot be loaded later (a hand-edited row, a server without tzdata) is a
fault of the installation, not of the person asking: the clock then works in UTC and logs a
warning once per zone, rather than failing a scheduled step or a reply halfway. A deadline
is shown one way only, by :meth:`TeamClock.deadline`: the last minute it is open, so a window
closing at midnight reads ``2026-11-13 23:59`` everywhere, never ``2026-11-14 00:00``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from commands.i18n import normalize_lang
from storage import conversations, repo
from storage.models import NAMED_BY_NAME, Member, Team

if TYPE_CHECKING:
    from sqlmodel import Session

    from scoring.cycle_rules import CycleRules

log = logging.getLogger(__name__)

WORK_HOURS = (time(9, 0), time(18, 0))
"""Working hours, local time, on weekdays (Monday to Friday): where meetings go."""
SLOT_MINUTES = 30
"""How long a meeting slot is."""
NO_TIME = "—"


# -- who is who ----------------------------------------------------------------------------


def lang_of(member: Member, *, session: Session) -> str:
    """The member's language, else their team's, else the default (``commands.i18n``)."""
    return normalize_lang(conversations.member_lang(member, session=session))


def superior_of(member: Member, *, session: Session) -> Member | None:
    """The member's direct manager when active; when they left, the first active one up the
    ``manager_id`` chain; None when there is none (or the chain loops back)."""
    seen = {member.id}
    boss_id = member.manager_id
    while boss_id is not None and boss_id not in seen:
        seen.add(boss_id)
        boss = session.get(Member, boss_id)
        if boss is None:
            return None
        if boss.active:
            return boss
        boss_id = boss.manager_id
    return None


def manager_of(member: Member, *, session: Session) -> Member | None:
    """The one rule of "the manager of" (module docstring): never someone who left."""
    boss = superior_of(member, session=session)
    if boss is not None:
        return boss
    team = session.get(Team, member.team_id)
    if team is None:
        return None
    return next((m for m in repo.team_managers(session=session, team=team) if m.id != member.id),
                None)  # fmt: skip


def managers_of(
    agents: Sequence[Member], *, team: Team, session: Session
) -> dict[int, list[Member]]:
    """Manager id → their agents, in the agents' order: an agent's active direct superior,
    else every active manager of ``team`` (who is told about whose manager review)."""
    team_managers = repo.team_managers(session=session, team=team)
    out: dict[int, list[Member]] = {}
    for agent in agents:
        boss = superior_of(agent, session=session)
        for one in [boss] if boss is not None else team_managers:
            if one.id is not None and one.id != agent.id:
                out.setdefault(one.id, []).append(agent)
    return out


def admins_of(*, session: Session, team: Team | None = None) -> list[Member]:
    """The active admins of ``team``, or of every team (in team, then id order)."""
    teams: Iterable[Team] = [team] if team is not None else repo.list_teams(session=session)
    return [m for t in teams for m in repo.list_members(session=session, team=t, roles=["admin"])]


def escalation_of(member: Member, *, session: Session) -> list[Member]:
    """Who hears when ``member``'s manager lets something slip: the manager's own active
    superior, else every active admin."""
    manager = manager_of(member, session=session)
    boss = superior_of(manager, session=session) if manager is not None else None
    if boss is not None and boss.id != member.id:
        return [boss]
    return admins_of(session=session)


def reachable(member: Member) -> bool:
    """Whether a messenger can bring this person a message kpibot sends on its own: linked on
    any of them (Slack, Telegram, Feishu …; the terminal chat and tests are no messenger),
    a Telegram link counting only while it answers (``Member.unreachable``: they blocked the
    bot)."""
    return any(
        platform not in NAMED_BY_NAME and not (platform == "telegram" and member.unreachable)
        for platform in member.linked_ids()
    )


# -- the team clock ------------------------------------------------------------------------


@cache
def zone_of(name: str) -> tzinfo:
    """The time zone called ``name``; UTC, with a warning in the log, when it cannot be loaded."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("time zone %r cannot be loaded: using UTC for it", name)
        return UTC


@dataclass(frozen=True)
class TeamClock:
    """Local dates and times of one team (module docstring)."""

    zone: tzinfo

    @classmethod
    def of(cls, team: Team | str) -> TeamClock:
        """The clock of a team, or of a time zone by name."""
        return cls(zone_of(team if isinstance(team, str) else team.timezone))

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def date(self, moment: datetime) -> date:
        """The calendar day of ``moment`` in the team's zone."""
        return self.local(moment).date()

    def text(self, moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """A moment as the team reads it, ``2026-11-06 18:00``; ``—`` for none."""
        return NO_TIME if moment is None else self.local(moment).strftime(fmt)

    def deadline(self, end: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """The last minute before ``end`` (an exclusive end: a review window, an appeal's answer)
        as the team reads it: an end at midnight is the day before's ``23:59``, never the next
        day's ``00:00``; an end stored at ``23:59`` or ``23:59:59`` reads ``23:59`` as well; any
        other end reads as it is (``18:00``). Every deadline kpibot shows comes from here."""
        return NO_TIME if end is None else self.last_minute(end).strftime(fmt)

    def deadline_date(self, end: datetime) -> dt.date:
        """The day of the deadline ``end`` as the team reads it, where a reply names only the day
        (``improvement plan due 2026-11-13``): the day of :meth:`last_minute`, so an end at
        midnight is the day before, the day :meth:`deadline` shows with its ``23:59``."""
        return self.last_minute(end).date()

    def last_minute(self, end: datetime) -> datetime:
        """The local moment :meth:`deadline` shows for ``end``."""
        local = self.local(end)
        return local - timedelta(minutes=1) if local.time() == time(0) else local

    def at(self, day: dt.date, when: time) -> datetime:
        """``when`` on ``day`` in the team's zone (an aware datetime)."""
        return datetime.combine(day, when, tzinfo=self.zone)

    def day_window(self, day: dt.date) -> tuple[datetime, datetime]:
        """Midnight to midnight of ``day``."""
        return self.at(day, time(0)), self.at(day + timedelta(days=1), time(0))

    def in_working_hours(self, moment: datetime, minutes: int = SLOT_MINUTES) -> bool:
        """Whether ``minutes`` from ``moment`` fit within one weekday's :data:`WORK_HOURS`."""
        local = self.local(moment)
        end = (local + timedelta(minutes=minutes)).time()
        return (
            local.weekday() < 5
            and WORK_HOURS[0] <= local.time()
            and end <= WORK_HOURS[1]
            and end > local.time()
        )

    def in_quiet_hours(self, moment: datetime, rules: CycleRules) -> bool:
        """At night (``quiet_from``–``quiet_until``) or on a weekend day of the scheme's rules."""
        local = self.local(moment)
        if local.isoweekday() in rules.weekend:
            return True
        t = local.time()
        start, end = rules.quiet_from, rules.quiet_until
        if start > end:  # spans midnight, e.g. 20:00–09:00
            return t >= start or t < end
        return start <= t < end

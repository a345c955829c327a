"""Messages kpibot says on its own, for people no platform reaches (no account on any messenger).

Two views of the same outbox rows (``pending`` and due, or ``unreachable``):

* :func:`arrivals` — the terminal chat (``bot/console.py``) shows the person at the console
  their own messages as they would arrive in a DM (results, rankings, meeting slots, plan
  requests, appeal notices …), buttons and charts included, and marks each ``sent`` on the
  platform ``console`` (a sender that took the row first keeps it);
* ``/inbox [NAME]`` — a manager or an admin reads what the others would have received: a
  list of who has what waiting, or one person's messages in full. A manager sees their own
  agents' messages and the channel messages of the teams they manage; an admin everyone's.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from commands import permissions
from commands.context import Command, Context
from commands.i18n import translator
from commands.linking import messengers_named
from commands.messages import Reply
from commands.outbox_charts import resolve_reply
from commands.people import reachable
from commands.permissions import N_
from storage import conversations as people
from storage import outbox as store
from storage import repo
from storage.models import Member, Team
from storage.models.cycle import OutboxMessage

LISTED = 30
"""At most this many messages in ``/inbox``'s list (the rest are counted)."""
PREVIEW = 70


def arrivals(session: Session, member_id: int, now: datetime) -> list[Reply]:
    """The console person's undelivered messages, in order, each headed "kpibot wrote to you",
    marked as shown. Nothing for someone a platform reaches (the sender delivers theirs)."""
    member = repo.get_member(session=session, member_id=member_id)
    if member is None or reachable(member):
        return []
    _ = translator(people.member_lang(member, session=session))
    out = []
    for row in store.undelivered(session=session, member_ids=[member_id], now=now):
        assert row.id is not None
        if not store.mark_shown_in_console(session=session, message_id=row.id, now=now):
            continue
        reply = resolve_reply(session, row.reply)
        period = (
            repo.get_period_by_id(session=session, period_id=row.period_id)
            if row.period_id
            else None
        )
        head = (
            _("📬 kpibot wrote to you ({period}):", period=period.key)
            if period
            else _("📬 kpibot wrote to you:")
        )
        out.append(
            Reply(
                text=f"{head}\n{reply.text}",
                buttons=reply.buttons,
                question=reply.question,
                image=reply.image,
                file=reply.file,
                private=True,
            )
        )
    return out


# -- /inbox ----------------------------------------------------------------------------------


def _visible(
    ctx: Context, rows: list[OutboxMessage]
) -> list[tuple[OutboxMessage, Member | None, Team]]:
    """The rows this leader may read, with their person (None: a team channel) and team."""
    out: list[tuple[OutboxMessage, Member | None, Team]] = []
    members: dict[int, Member | None] = {}
    teams: dict[int, Team | None] = {}
    for row in rows:
        team = teams.setdefault(
            row.team_id, repo.get_team(session=ctx.session, team_id=row.team_id)
        )
        if team is None:
            continue
        if row.member_id is None:
            if permissions.reaches_team(ctx.actor, team.id):
                out.append((row, None, team))
            continue
        member = members.setdefault(
            row.member_id, repo.get_member(session=ctx.session, member_id=row.member_id)
        )
        if (
            member is None or reachable(member) or member.id == ctx.actor.id
        ):  # one's own arrive in the chat
            continue
        if permissions.is_admin(ctx.actor) or permissions.can_see_progress_of(ctx.actor, member):
            out.append((row, member, team))
    return out


def first_line(text: str) -> str:
    """A message's first line, cut at :data:`PREVIEW` characters: how a list names a message."""
    line = next((x.strip() for x in text.splitlines() if x.strip()), "")
    return line if len(line) <= PREVIEW else line[: PREVIEW - 1] + "…"


def _who(ctx: Context, member: Member | None, team: Team) -> str:
    return member.name if member is not None else ctx._("team {team}'s chat", team=team.name)


def inbox(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    rows = _visible(ctx, store.undelivered(session=ctx.session, now=ctx.now))
    name = args.strip().lstrip("@")
    if name:
        mine = [(r, m, t) for r, m, t in rows if m is not None and m.name == name]
        if not mine:
            return [
                Reply(
                    text=_(
                        "Nothing is waiting for {name} among the people you can see.", name=name
                    ),
                    ephemeral=True,
                )
            ]
        lines = [_("Waiting for {name} ({n}):", name=name, n=len(mine))]
        for row, _member, _team in mine:
            lines += ["", str(row.reply.get("text", ""))]
        return [Reply(text="\n".join(lines), private=True)]
    if not rows:
        return [
            Reply(
                text=_(
                    "Nothing is waiting: every message went out on {messengers}.",
                    messengers=messengers_named(ctx.config.messengers, ctx.lang),
                ),
                ephemeral=True,
            )
        ]
    lines = [
        _(
            "Waiting for people with no {messengers} account ({n} messages):",
            messengers=messengers_named(ctx.config.messengers, ctx.lang),
            n=len(rows),
        )
    ]
    for row, member, team in rows[:LISTED]:
        lines.append(
            _(
                "· {name}: {value}",
                name=_who(ctx, member, team),
                value=first_line(str(row.reply.get("text", ""))),
            )
        )
    if len(rows) > LISTED:
        lines.append(_("… and {n} more.", n=len(rows) - LISTED))
    lines += [
        "",
        _(
            "/inbox NAME shows one person's messages in full; in the terminal, kpibot chat --as "
            "NAME shows them to that person as they arrive."
        ),
    ]
    return [Reply(text="\n".join(lines), private=True)]


COMMANDS: tuple[Command, ...] = (
    Command(
        "inbox",
        inbox,
        permissions.LEADERS,
        what=N_(
            "messages waiting for people no messenger reaches: a list, or one person's in full"
        ),
        example="/inbox Carol",
        refusal=N_(
            "The command /inbox is not available to you: it shows managers and admins the messages "
            "kpibot could not deliver to their people."
        ),
    ),
)

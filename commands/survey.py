"""Customer survey links: ``/survey [ref]``, ``/survey 20``, a team's QR codes or link batch.

What a link's token says, and how it is signed and read, is ``commands.survey_tokens``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from commands import permissions, ratings
from commands.cells import safe
from commands.context import Command, Context
from commands.messages import FileAttachment, Image, Reply
from commands.people import TeamClock
from commands.permissions import N_
from commands.survey_tokens import clean_ref, expiry_from, make_token, survey_url
from storage import repo
from storage import survey as prefs
from storage.models import Member, Team

if TYPE_CHECKING:
    from sqlmodel import Session

# ---------------------------------------------------------------- issuing links


MAX_BATCH = 50
TEAM_LINKS_INLINE = 40
"""More team links than this come as a CSV file, not as pages of chat messages."""


@dataclass(frozen=True)
class IssuedLinks:
    """Links issued for one agent: all expire at the same moment."""

    member_id: int
    member_name: str
    urls: tuple[str, ...]
    expires_at: datetime
    period_key: str | None


def issue_links(
    session: Session,
    *,
    member: Member,
    secret: str,
    public_url: str,
    now: datetime,
    count: int = 1,
    ref: str | None = None,
) -> IssuedLinks:
    """``count`` fresh links for ``member``'s customers, for the team's current period.

    The expiry is the scheme's ``link_expiry_days`` (default 7). Without a current
    period the link carries period 0 and the rating goes to the period open on the day
    it is given.
    """
    if not 1 <= count <= MAX_BATCH:
        raise ValueError(f"count must be 1-{MAX_BATCH}")
    team = repo.get_team(session=session, team_id=member.team_id)
    if team is None or member.id is None or team.id is None:
        raise ValueError("the member has no team")
    period = repo.current_period(session=session, team=team, today=TeamClock.of(team).date(now))
    settings = ratings.survey_settings(session, team=team, period=period)
    expires_at = expiry_from(now, settings.link_expiry_days)
    urls = tuple(
        survey_url(
            public_url,
            make_token(
                secret,
                member_id=member.id,
                team_id=team.id,
                period_id=(period.id or 0) if period is not None else 0,
                expires_at=expires_at,
                ref=ref,
            ),
        )
        for _ in range(count)
    )
    return IssuedLinks(
        member.id, member.name, urls, expires_at, period.key if period is not None else None
    )


def qr_png(url: str) -> bytes:
    """A QR code of ``url`` as PNG bytes (error correction M, scannable from a screen or print)."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer)
    return buffer.getvalue()


# ---------------------------------------------------------------- /survey


def _when(ctx: Context, moment: datetime) -> str:
    team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
    return TeamClock.of(team.timezone if team is not None else "UTC").text(moment)


def _usage(ctx: Context) -> list[Reply]:
    _ = ctx._
    if ctx.actor.role == "agent":
        text = _(
            "/survey gives you a link for a customer to rate your service.\n"
            "/survey ORDER-123 — a link tied to a ticket or order reference\n"
            "/survey 20 — twenty links at once (up to {max}), one per line\n"
            "/survey qr — your link as a QR code",
            max=MAX_BATCH,
        )
        text += "\n" + _(
            "/survey digest off — no daily digest of your customers' comments (/survey digest on "
            "to get it again)"
        )
    else:
        text = _(
            "/survey team [TEAM] [N] — N survey links for each agent of a team, to post in a "
            "channel\n/survey qr [TEAM] — a QR code for each agent of a team",
        )
    return [Reply(text=text, ephemeral=True)]


def _parse_agent_args(args: str) -> tuple[int, str | None]:
    """``""`` → (1, None); ``"20"`` → (20, None); ``"ref 20"``, ``"A-7"``, ``"20261023"`` → (1,
    ref).

    A bare number of up to four digits is a count (``/survey 1000`` is refused, with the way to
    ask for one link with the reference 1000); a longer one is an order number.
    """
    text = args.strip()
    if not text:
        return 1, None
    head, _sep, rest = text.partition(" ")
    if head.lower() in ("ref", "ref:") and rest.strip():
        return 1, rest.strip()
    if text.isascii() and text.isdigit() and len(text) <= 4:
        return int(text), None
    return 1, text


def _agent_links(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    count, ref = _parse_agent_args(args)
    if not 1 <= count <= MAX_BATCH:
        text = _("You can get up to {max} links at a time.", max=MAX_BATCH)
        if count > MAX_BATCH:
            text += " " + _(
                "For one link with the order or ticket number {ref}, send /survey ref {ref}.",
                ref=count,
            )
        return [Reply(text=text, ephemeral=True)]
    issued = issue_links(
        ctx.session,
        member=ctx.actor,
        secret=ctx.config.secret,
        public_url=ctx.config.public_url,
        now=ctx.now,
        count=count,
        ref=ref,
    )
    until = _when(ctx, issued.expires_at)
    if count > 1:
        head = _("{n} survey links, one per customer, valid until {until}:", n=count, until=until)
    elif ref:
        head = _(
            "Survey link for {ref}, valid until {until}:", ref=clean_ref(ref) or "", until=until
        )
    else:
        head = _("Your survey link for a customer, valid until {until}:", until=until)
    return [Reply(text=head + "\n" + "\n".join(issued.urls), private=True)]


def _agent_qr(ctx: Context) -> list[Reply]:
    _ = ctx._
    issued = issue_links(
        ctx.session,
        member=ctx.actor,
        secret=ctx.config.secret,
        public_url=ctx.config.public_url,
        now=ctx.now,
    )
    url = issued.urls[0]
    caption = _(
        "Your survey QR code, valid until {until}. Customers scan it to rate your service.",
        until=_when(ctx, issued.expires_at),
    )
    image = Image(filename="survey-qr.png", data=qr_png(url), alt=caption)
    return [Reply(text=caption + "\n" + url, image=image, private=True)]


def _team_for(ctx: Context, name: str) -> tuple[Team | None, list[Reply]]:
    _ = ctx._
    if name:
        team = repo.get_team_by_name(session=ctx.session, name=name)
        if team is None:
            return None, [
                Reply(text=_("There is no team called {team}.", team=name), ephemeral=True)
            ]
    else:
        teams: list[Team] = repo.teams_managed_by(session=ctx.session, member=ctx.actor)
        if not teams:
            own = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
            teams = [own] if own is not None else []
        if len(teams) != 1:
            names = [t.name for t in teams]
            return None, [
                Reply(text=_("Which team? Add its name: {teams}", teams=names), ephemeral=True)
            ]
        team = teams[0]
    if not permissions.reaches_team(ctx.actor, team.id):
        return None, [
            Reply(text=_("You can get survey links only for your own teams."), ephemeral=True)
        ]
    return team, []


def _team_agents(ctx: Context, team: Team) -> list[Member]:
    return repo.list_members(session=ctx.session, team=team, roles=["agent"])


def _team_links(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    words = args.split()
    count = 1
    if words and words[-1].isascii() and words[-1].isdigit():
        count = int(words.pop())
    if not 1 <= count <= MAX_BATCH:
        return [
            Reply(text=_("You can get up to {max} links at a time.", max=MAX_BATCH), ephemeral=True)
        ]
    team, refusal = _team_for(ctx, " ".join(words))
    if team is None:
        return refusal
    agents = _team_agents(ctx, team)
    if not agents:
        return [Reply(text=_("Team {team} has no active agents.", team=team.name), ephemeral=True)]
    rows: list[tuple[str, str]] = []
    until = ""
    for agent in agents:
        issued = issue_links(
            ctx.session,
            member=agent,
            secret=ctx.config.secret,
            public_url=ctx.config.public_url,
            now=ctx.now,
            count=count,
        )
        until = _when(ctx, issued.expires_at)
        rows += [(agent.name, url) for url in issued.urls]
    head = _("Survey links for team {team}, valid until {until}:", team=team.name, until=until)
    # each link is good for one customer's answer: only the one asking sees them (their
    # DM or private chat), never the channel or group the command was typed in
    if len(rows) <= TEAM_LINKS_INLINE:
        lines = [f"{name}: {url}" for name, url in rows]
        return [Reply(text=head + "\n" + "\n".join(lines), private=True)]
    note = _(
        "{count} links for {agents} agents are in the attached file (agent, link).",
        count=len(rows),
        agents=len(agents),
    )
    attachment = FileAttachment(
        filename=f"survey-links-{team.name}.csv", data=_links_csv(rows), mime="text/csv"
    )
    return [Reply(text=head + "\n" + note, file=attachment, private=True)]


def _links_csv(rows: list[tuple[str, str]]) -> bytes:
    """UTF-8 CSV with a BOM (so Excel reads Chinese names); a name is never run as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, quoting=csv.QUOTE_ALL
    )  # 'a;=1+1;b' stays one cell where ; separates
    for name, url in rows:
        writer.writerow([safe(name), url])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _team_qr(ctx: Context, name: str) -> list[Reply]:
    _ = ctx._
    team, refusal = _team_for(ctx, name)
    if team is None:
        return refusal
    agents = _team_agents(ctx, team)
    if not agents:
        return [Reply(text=_("Team {team} has no active agents.", team=team.name), ephemeral=True)]
    replies: list[Reply] = []
    for agent in agents:
        issued = issue_links(
            ctx.session,
            member=agent,
            secret=ctx.config.secret,
            public_url=ctx.config.public_url,
            now=ctx.now,
        )
        caption = _(
            "{agent}: survey QR code, valid until {until}",
            agent=agent.name,
            until=_when(ctx, issued.expires_at),
        )
        image = Image(
            filename=f"survey-qr-{agent.id}.png", data=qr_png(issued.urls[0]), alt=caption
        )
        replies.append(Reply(text=caption, image=image, private=True))  # see _team_links
    return replies


DIGEST_ON = ("on", "开", "开启", "打开")
DIGEST_OFF = ("off", "关", "关闭")


def _digest(ctx: Context, args: str) -> list[Reply]:
    """``/survey digest [on|off]``: the daily digest of customer comments (on by default)."""
    _ = ctx._
    word = args.strip().lower()
    member_id = ctx.actor.id
    assert member_id is not None
    if word in DIGEST_ON or word in DIGEST_OFF:
        prefs.set_digest(session=ctx.session, member_id=member_id, enabled=word in DIGEST_ON,
                         now=ctx.now)  # fmt: skip
    elif word:
        return [Reply(text=_("Use /survey digest on or /survey digest off."), ephemeral=True)]
    if prefs.digest_enabled(session=ctx.session, member_id=member_id):
        text = _(
            "You get a daily digest of the comments your customers leave. "
            "/survey digest off turns it off."
        )
    else:
        text = _(
            "You get no digest of your customers' comments. /survey digest on turns it back on."
        )
    return [Reply(text=text, ephemeral=True)]


def survey_command(ctx: Context, args: str) -> list[Reply]:
    """``/survey [ref | N | qr]`` for agents; ``/survey team …`` and ``/survey qr …`` for leads."""
    _ = ctx._
    text = args.strip()
    head, _sep, rest = text.partition(" ")
    keyword = head.lower()
    if keyword in ("help", "?"):
        return _usage(ctx)
    if keyword == "digest":
        return _digest(ctx, rest)
    if ctx.actor.role == "agent":
        if keyword == "qr" and not rest.strip():
            return _agent_qr(ctx)
        if keyword == "team":
            return [
                Reply(
                    text=_("Team links are for managers; /survey gives you your own link."),
                    ephemeral=True,
                )
            ]
        return _agent_links(ctx, text)
    if keyword == "team":
        return _team_links(ctx, rest)
    if keyword == "qr":
        return _team_qr(ctx, rest.strip())
    return _usage(ctx)


COMMANDS: tuple[Command, ...] = (
    Command(
        "survey",
        survey_command,
        permissions.SCORED_AND_LEADERS,
        what=N_("survey links for your customers (one, a batch, or a QR code)"),
        example="/survey 20",
        refusal=N_(
            "The command /survey is not available to you: survey links are for agents and their "
            "managers."
        ),
        menu=N_("A survey link for your customer"),
        menu_rank=7,
    ),
)

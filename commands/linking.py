"""Linking a Telegram account to a member with a one-time code (never by display name).

An admin creates a code for a member (``/linkcode TEAM NAME`` in chat, or
``kpibot telegram link-code``); the person sends ``/start CODE`` to the bot in a private
chat (or opens ``https://t.me/<bot>?start=CODE``). A code works once, until it expires;
a wrong, used or expired code is refused with a message that names nobody.

    COMMANDS = {"start": ..., "linkcode": ...}     # for linked members
    UNLINKED_COMMANDS = {"start": ...}             # for a person kpibot does not know yet
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import select

from commands import permissions
from commands.context import Context, Handler
from commands.i18n import Translate, normalize_lang, translator
from commands.messages import Reply
from storage import conversations, repo
from storage.models import LinkCode, Member

if TYPE_CHECKING:
    from sqlmodel import Session

    from commands.router import UnlinkedContext, UnlinkedHandler

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
"""No 0/O, 1/I: a code is read aloud or copied by hand."""
CODE_LENGTH = 8
DEFAULT_HOURS = 72


@dataclass(frozen=True)
class LinkResult:
    ok: bool
    reason: str = ""
    """``invalid`` | ``used`` | ``expired`` | ``taken`` when not ok."""
    member: Member | None = None


def normalize_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def create_link_code(
    *, session: Session, member: Member, now: datetime, hours: float = DEFAULT_HOURS
) -> LinkCode:
    """A fresh one-time code for ``member``; earlier unused codes of the member stop working."""
    assert member.id is not None
    for old in session.exec(
        select(LinkCode).where(LinkCode.member_id == member.id, LinkCode.used_at == None)  # noqa: E711
    ):
        old.expires_at = min(old.expires_at, now)
        session.add(old)
    code = LinkCode(
        code=new_code(), member_id=member.id, created_at=now, expires_at=now + timedelta(hours=hours)
    )
    session.add(code)
    session.flush()
    return code


def redeem_link_code(
    *, session: Session, code_text: str, telegram_user_id: str, now: datetime
) -> LinkResult:
    """Use a code: link the Telegram account to the code's member (audited), once."""
    code = normalize_code(code_text)
    if len(code) != CODE_LENGTH:
        return LinkResult(False, "invalid")
    row = session.exec(select(LinkCode).where(LinkCode.code == code).with_for_update()).first()
    if row is None:
        return LinkResult(False, "invalid")
    if row.used_at is not None:
        return LinkResult(False, "used")
    if row.expires_at <= now:
        return LinkResult(False, "expired")
    member = session.get(Member, row.member_id)
    if member is None or not member.active:
        return LinkResult(False, "invalid")
    try:
        repo.link_platform(
            session=session, member=member, platform="telegram", user_id=telegram_user_id,
            actor=f"telegram:{telegram_user_id}", reason="one-time link code", now=now,
        )  # fmt: skip
    except repo.IdentityTaken:
        return LinkResult(False, "taken")
    row.used_at = now
    session.add(row)
    session.flush()
    return LinkResult(True, member=member)


# -- chat commands ----------------------------------------------------------------------


def how_to_link(_: Translate) -> str:
    return _(
        "Hello! To use kpibot, ask your kpibot admin for a link code, then send it to me here: /start CODE"
    )


def start_unlinked(ctx: UnlinkedContext, args: str) -> list[Reply]:
    """``/start`` or ``/start CODE`` from someone kpibot does not know yet."""
    _ = ctx._
    if not args.strip():
        return [Reply(text=how_to_link(_))]
    if ctx.incoming.chat == "group":
        return [Reply(text=_("Send your link code to me in a private chat, not in a group."), ephemeral=True)]
    result = redeem_link_code(
        session=ctx.session, code_text=args, telegram_user_id=ctx.incoming.user_id, now=ctx.now
    )
    if not result.ok:
        return [Reply(text=_refused(result.reason, _))]
    assert result.member is not None
    team = repo.get_team(session=ctx.session, team_id=result.member.team_id)
    said = translator(normalize_lang(conversations.member_lang(result.member, session=ctx.session)))
    return [
        Reply(
            text=said(
                "Your Telegram account is now linked to {name} in team {team}. Send /help to see what you can do.",
                name=result.member.name,
                team=team.name if team is not None else "",
            )
        )
    ]


def _refused(reason: str, _: Translate) -> str:
    if reason == "used":
        return _("This link code was already used. Ask your kpibot admin for a new one.")
    if reason == "expired":
        return _("This link code has expired. Ask your kpibot admin for a new one.")
    if reason == "taken":
        return _("This Telegram account is already linked to another member. Ask your kpibot admin.")
    return _("This link code is not valid. Check it, or ask your kpibot admin for a new one.")


def start_linked(ctx: Context, args: str) -> list[Reply]:
    """``/start`` from a member who is already linked."""
    _ = ctx._
    if args.strip() and ctx.incoming.platform == "telegram":
        return [Reply(text=_("Your Telegram account is already linked to {name}. Send /help to see what you can do.", name=ctx.actor.name))]
    return [Reply(text=_("Welcome back, {name}. Send /help to see what you can do.", name=ctx.actor.name))]


def linkcode(ctx: Context, args: str) -> list[Reply]:
    """``/linkcode TEAM NAME`` (admin): a one-time code for that member, said privately."""
    _ = ctx._
    decision = permissions.can_administer(ctx.actor)
    if not decision:
        return [permissions.refusal(decision, _)]
    team_name, _sep, name = args.replace("/", " ", 1).strip().partition(" ")
    if not team_name or not name.strip():
        return [Reply(text=_("Usage: /linkcode TEAM NAME, for example: /linkcode demo 李娜"), ephemeral=True)]
    team = repo.get_team_by_name(session=ctx.session, name=team_name)
    member = repo.get_member_by_name(session=ctx.session, team=team, name=name) if team else None
    if member is None:
        return [Reply(text=_("There is no member {name} in team {team}.", name=name.strip(), team=team_name), ephemeral=True)]
    hours = float(ctx.config.extra.get("telegram_link_code_hours", DEFAULT_HOURS))
    code = create_link_code(session=ctx.session, member=member, now=ctx.now, hours=hours)
    repo.append_audit(
        session=ctx.session, actor=repo.actor_of(ctx.actor), action="member.link_code",
        entity="member", entity_id=member.id, reason="link code created", at=ctx.now,
    )  # fmt: skip
    return [
        Reply(
            text=_(
                "Link code for {name} ({team}): {code}\nIt works once, for {hours} hours. Ask them to send /start {code} to the kpibot Telegram bot in a private chat.",
                name=member.name, team=team_name, code=code.code, hours=int(hours),
            ),  # fmt: skip
            private=True,
        )
    ]


COMMANDS: dict[str, Handler] = {"start": start_linked, "linkcode": linkcode}
UNLINKED_COMMANDS: dict[str, UnlinkedHandler] = {"start": start_unlinked}

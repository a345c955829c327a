"""Linking a messenger account to a member with a one-time code (never by display name).

An admin creates a code for a member (``/linkcode [MESSENGER] TEAM NAME`` in chat, or
``kpibot telegram link-code``); the person sends ``/start CODE`` to kpibot in a private
chat on any messenger kpibot runs (Telegram: or opens ``https://t.me/<bot>?start=CODE``),
and the account they sent it from is linked: Telegram, Feishu, … (``Incoming.platform``).
A code works once, until it expires; a wrong, used or expired code is refused with a
message that names nobody. The codes themselves are kept by :mod:`storage.linking`.
The messengers' names as people read them come from ``AppConfig.extra["messengers"]``
(platform → name, from ``bot.messengers``), translated by the messenger's catalogue.

    COMMANDS = (Command("linkcode", ...), Command("start", ...))  # for linked members
    UNLINKED_COMMANDS = {"start": ...}             # for a person kpibot does not know yet
"""

from __future__ import annotations

from collections.abc import Mapping

from commands import permissions
from commands.context import AppConfig, Command, Context, UnlinkedContext, UnlinkedHandler
from commands.i18n import Translate, joined, normalize_lang, translator
from commands.messages import Reply
from commands.permissions import N_
from storage import conversations, repo
from storage.linking import DEFAULT_HOURS, create_link_code, redeem_link_code

__all__ = ["COMMANDS", "DEFAULT_HOURS", "UNLINKED_COMMANDS", "create_link_code", "redeem_link_code"]


# -- chat commands ----------------------------------------------------------------------


def messenger_name(config: AppConfig, platform: str, _: Translate) -> str:
    """``feishu`` → 飞书 / Feishu: the messenger's name as people read it."""
    return _(str(config.messengers.get(platform, platform)))


def messengers_named(messengers: Mapping[str, str], lang: str) -> str:
    """Every messenger kpibot speaks, as people read them in a sentence: ``Slack, Telegram or
    Feishu`` / ``Slack、Telegram 或飞书`` (platform → name: ``AppConfig.messengers``, from the
    registry ``bot.messengers``); ``messenger`` / ``聊天平台`` when none is named (tests, tools)."""
    _ = translator(lang)
    shown = [_(str(name)) for name in messengers.values()]
    if not shown:
        return _("messenger")
    if len(shown) == 1:
        return shown[0]
    return _("{first} or {last}", first=joined(shown[:-1], lang), last=shown[-1])


def how_to_link(_: Translate) -> str:
    return _(
        "Hello! To use kpibot, ask your kpibot admin for a link code, then send it to me here: "
        "/start CODE"
    )


def start_unlinked(ctx: UnlinkedContext, args: str) -> list[Reply]:
    """``/start`` or ``/start CODE`` from someone kpibot does not know yet."""
    _ = ctx._
    if not args.strip():
        return [Reply(text=how_to_link(_))]
    if ctx.incoming.chat == "group":
        return [
            Reply(
                text=_("Send your link code to me in a private chat, not in a group."),
                ephemeral=True,
            )
        ]
    platform = ctx.incoming.platform
    result = redeem_link_code(
        session=ctx.session, code_text=args, platform=platform, user_id=ctx.incoming.user_id,
        now=ctx.now,
    )  # fmt: skip
    if not result.ok:
        return [
            Reply(
                text=_refused(result.reason, platform, messenger_name(ctx.config, platform, _), _)
            )
        ]
    assert result.member is not None
    team = repo.get_team(session=ctx.session, team_id=result.member.team_id)
    lang = conversations.member_lang(result.member, session=ctx.session) or ctx.lang
    said = translator(normalize_lang(lang, ctx.config.default_lang))
    team_name = team.name if team is not None else ""
    if platform == "telegram":
        text = said(
            "Your Telegram account is now linked to {name} in team {team}. Send /help to see what "
            "you can do.",
            name=result.member.name,
            team=team_name,
        )
    else:
        text = said(
            "Your {messenger} account is now linked to {name} in team {team}. Send /help to see "
            "what you can do.",
            messenger=messenger_name(ctx.config, platform, said),
            name=result.member.name,
            team=team_name,
        )
    return [Reply(text=text)]


def _refused(reason: str, platform: str, messenger: str, _: Translate) -> str:
    if reason == "used":
        return _("This link code was already used. Ask your kpibot admin for a new one.")
    if reason == "expired":
        return _("This link code has expired. Ask your kpibot admin for a new one.")
    if reason == "taken":
        if platform != "telegram":
            return _(
                "This {messenger} account is already linked to another member. Ask your kpibot "
                "admin.",
                messenger=messenger,
            )
        return _(
            "This Telegram account is already linked to another member. Ask your kpibot admin."
        )
    return _("This link code is not valid. Check it, or ask your kpibot admin for a new one.")


def start_linked(ctx: Context, args: str) -> list[Reply]:
    """``/start`` from a member who is already linked."""
    _ = ctx._
    if args.strip() and ctx.incoming.platform == "telegram":
        return [
            Reply(
                text=_(
                    "Your Telegram account is already linked to {name}. Send /help to see what you "
                    "can do.",
                    name=ctx.actor.name,
                )
            )
        ]
    if args.strip() and ctx.incoming.platform in (ctx.config.extra.get("messengers") or {}):
        return [
            Reply(
                text=_(
                    "Your {messenger} account is already linked to {name}. Send /help to see what "
                    "you can do.",
                    messenger=messenger_name(ctx.config, ctx.incoming.platform, _),
                    name=ctx.actor.name,
                )
            )
        ]
    return [
        Reply(
            text=_("Welcome back, {name}. Send /help to see what you can do.", name=ctx.actor.name)
        )
    ]


def linkcode(ctx: Context, args: str) -> list[Reply]:
    """``/linkcode [MESSENGER] TEAM NAME`` (admin): a one-time code for that member, said
    privately, with where to send it (Telegram unless another messenger is named first; the
    code links whichever messenger it is sent on)."""
    _ = ctx._
    permissions.require(permissions.can_administer(ctx.actor))
    messengers = ctx.config.extra.get("messengers") or {}
    first, _sep, rest = args.strip().partition(" ")
    platform = "telegram"
    if first.lower() in messengers and first.lower() != "telegram" and rest.strip():
        platform, args = first.lower(), rest
    team_name, _sep, name = args.replace("/", " ", 1).strip().partition(" ")
    if not team_name or not name.strip():
        return [
            Reply(
                text=_("Usage: /linkcode TEAM NAME, for example: /linkcode demo 李娜"),
                ephemeral=True,
            )
        ]
    team = repo.get_team_by_name(session=ctx.session, name=team_name)
    member = repo.get_member_by_name(session=ctx.session, team=team, name=name) if team else None
    if member is None:
        return [
            Reply(
                text=_(
                    "There is no member {name} in team {team}.", name=name.strip(), team=team_name
                ),
                ephemeral=True,
            )
        ]
    hours = float(ctx.config.extra.get("telegram_link_code_hours", DEFAULT_HOURS))
    code = create_link_code(session=ctx.session, member=member, now=ctx.now, hours=hours)
    repo.append_audit(
        session=ctx.session, actor=repo.actor_of(ctx.actor), action="member.link_code",
        entity="member", entity_id=member.id, reason="link code created", at=ctx.now,
    )  # fmt: skip
    if platform != "telegram":
        text = _(
            "Link code for {name} ({team}): {code}\nIt works once, for {hours} hours. Ask them to "
            "send /start {code} to kpibot in a private chat on {messenger}.",
            name=member.name,
            team=team_name,
            code=code.code,
            hours=int(hours),
            messenger=messenger_name(ctx.config, platform, _),
        )
        return [Reply(text=text, private=True)]
    return [
        Reply(
            text=_(
                "Link code for {name} ({team}): {code}\nIt works once, for {hours} hours. Ask them "
                "to send /start {code} to the kpibot Telegram bot in a private chat.",
                name=member.name,
                team=team_name,
                code=code.code,
                hours=int(hours),
            ),  # fmt: skip
            private=True,
        )
    ]


COMMANDS: tuple[Command, ...] = (
    Command(
        "linkcode",
        linkcode,
        permissions.ADMINS,
        what=N_("a one-time code that links a member's Telegram account"),
        example="/linkcode demo Carol",
        refusal=N_("The command /linkcode is not available to you: only an admin links accounts."),
    ),
    Command("start", start_linked, permissions.ALL),
)
UNLINKED_COMMANDS: dict[str, UnlinkedHandler] = {"start": start_unlinked}

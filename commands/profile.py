"""``/lang``: the language kpibot speaks to you, set by yourself.

    /lang            which language you get, and how to change it
    /lang en         English from now on (also: english, 英文, 英语)
    /lang zh         Chinese (also: 中文, 汉语, chinese)
    /lang team       follow the team's language again (also: 团队, -)

The setting is the member's own ``lang``; the router reads it before the team's
(``storage.conversations.member_lang``). The answer comes in the new language.
"""

from __future__ import annotations

from commands import permissions
from commands.context import Command, Context
from commands.i18n import language_name, translator
from commands.messages import Reply
from commands.permissions import N_
from storage import repo

LANG_WORDS: dict[str, str | None] = {
    "zh": "zh", "cn": "zh", "chinese": "zh", "中文": "zh", "汉语": "zh", "简体中文": "zh",
    "en": "en", "english": "en", "英文": "en", "英语": "en",
    "team": None, "团队": None, "-": None, "default": None, "默认": None,
}  # fmt: skip


def lang_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    word = args.strip().lower()
    team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
    team_lang = team.lang if team is not None and team.lang else ctx.config.default_lang
    if not word:
        own = ctx.actor.lang
        text = (
            _("You get kpibot in {lang} (your own setting).", lang=language_name(_, own))
            if own
            else _(
                "You get kpibot in {lang}, your team's language.", lang=language_name(_, team_lang)
            )
        )
        return [
            Reply(
                text=text + "\n" + _("Change it: /lang zh · /lang en · /lang team"), ephemeral=True
            )
        ]
    if word not in LANG_WORDS:
        return [
            Reply(
                text=_("Unknown language {lang}: use zh or en.", lang=args.strip()), ephemeral=True
            )
        ]
    lang = LANG_WORDS[word]
    repo.update_member(
        session=ctx.session,
        member=ctx.actor,
        changes={"lang": lang},
        actor=repo.actor_of(ctx.actor),
        reason="own language",
        now=ctx.now,
    )
    shown = lang or team_lang
    t = translator(shown)
    if lang is None:
        return [
            Reply(
                text=t(
                    "From now on you get kpibot in your team's language ({lang}).",
                    lang=language_name(t, shown),
                ),
                ephemeral=True,
            )
        ]
    return [
        Reply(
            text=t("From now on you get kpibot in {lang}.", lang=language_name(t, shown)),
            ephemeral=True,
        )
    ]


COMMANDS: tuple[Command, ...] = (
    Command(
        "lang",
        lang_command,
        permissions.ALL,
        what=N_("the language kpibot speaks to you: Chinese or English"),
        example="/lang en",
    ),
)

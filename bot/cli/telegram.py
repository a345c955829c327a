"""``kpibot telegram …``: link codes for onboarding, and a check of the bot token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import typer

from bot.cli.common import fail
from bot.settings import load_settings
from commands.i18n import translator

telegram_app = typer.Typer(
    help="Telegram: link codes for members, check the bot token.", no_args_is_help=True
)


@telegram_app.command("link-code")
def link_code(
    team: str = typer.Option(..., "--team", help="The member's team."),
    name: str = typer.Option(..., "--name", help="The member's name in that team."),
    hours: float = typer.Option(72, "--hours", min=0.1, help="How long the code works."),
    db: str | None = typer.Option(
        None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL)."
    ),
) -> None:
    """A one-time code a member sends to the bot as /start CODE to link their Telegram account."""
    from commands.linking import create_link_code
    from storage import repo
    from storage.db import current_revision, make_engine, unit_of_work

    settings = load_settings(**({"database_url": db} if db else {}))
    _ = translator(settings.default_lang)
    engine = make_engine(settings.database_url)
    try:
        if current_revision(engine) is None:
            fail(
                _(
                    "The database has no tables yet. Run: kpibot db upgrade (and kpibot demo for "
                    "demo data)."
                )
            )
        with unit_of_work(engine) as session:
            found = repo.get_team_by_name(session=session, name=team)
            member = (
                repo.get_member_by_name(session=session, team=found, name=name) if found else None
            )
            if member is None:
                fail(_("There is no member {name} in team {team}.", name=name, team=team))
            assert member is not None
            now = datetime.now(UTC)
            code = create_link_code(session=session, member=member, now=now, hours=hours)
            repo.append_audit(
                session=session, actor="cli", action="member.link_code", entity="member",
                entity_id=member.id, reason="link code created", at=now,
            )  # fmt: skip
            typer.echo(
                _(
                    "Link code for {name} ({team}): {code}\nIt works once, for {hours} hours. Ask "
                    "them to send /start {code} to the kpibot Telegram bot in a private chat.",
                    name=member.name,
                    team=team,
                    code=code.code,
                    hours=int(hours),
                )  # fmt: skip
            )
    finally:
        engine.dispose()


@telegram_app.command("check")
def check() -> None:
    """Ask Telegram who the bot is (getMe) with TELEGRAM_BOT_TOKEN and TELEGRAM_API_URL."""
    from telegram import Bot
    from telegram.error import TelegramError

    settings = load_settings()
    _ = translator(settings.default_lang)
    if settings.telegram_bot_token is None:
        fail(
            _(
                "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather and put its token in "
                ".env."
            )
        )
    assert settings.telegram_bot_token is not None

    async def ask() -> str:
        bot = Bot(
            settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_url
        )
        async with bot:
            me = await bot.get_me()
            info = await bot.get_webhook_info()
        mode = info.url or "long polling"
        return f"@{me.username} ({me.first_name}) · {mode}"

    try:
        typer.echo(asyncio.run(ask()))
    except TelegramError as err:
        fail(_("Telegram refused the token: {error}", error=err.message))


def register(app: typer.Typer) -> None:
    app.add_typer(telegram_app, name="telegram")

"""``kpibot chat --as NAME``: talk to kpibot in the terminal, as one member."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bot import messengers
from bot.cli.common import fail
from bot.console import ConsoleChat, repl
from bot.settings import load_settings
from commands.i18n import normalize_lang, translator
from commands.messages import Reply


def chat(
    as_: str | None = typer.Option(
        None,
        "--as",
        metavar="NAME",
        help="The member to chat as: a name, team/name or member id. Default: the demo team's "
        "manager.",
    ),
    db: str | None = typer.Option(
        None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL)."
    ),
    media_dir: Path | None = typer.Option(
        None, "--media-dir", help="Where charts and files are saved (default: DATA_DIR/chat)."
    ),
) -> None:
    """Chat with kpibot in the terminal, exactly as on a messenger."""
    from bot.main import app_config
    from bot.secrets import SecretError, resolve_secret
    from commands.router import build_router
    from storage import conversations as repo
    from storage.db import current_revision, make_engine, unit_of_work

    settings = load_settings(**({"database_url": db} if db else {}))
    _ = translator(settings.default_lang)
    try:
        config = app_config(settings, resolve_secret(settings))
    except SecretError as exc:
        fail(str(exc))
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
            if as_ is None:
                member = repo.demo_manager(session=session)
                if member is None:
                    fail(
                        _(
                            "There is no demo team with a manager. Run kpibot demo, or choose a "
                            "member with --as NAME."
                        )
                    )
            else:
                member = repo.find_member("console", as_, session=session)
                if member is None:
                    fail(
                        _(
                            "There is no member {name} (or the name is used in several teams: "
                            "write team/name).",
                            name=as_,
                        )
                    )
            assert member is not None
            lang = normalize_lang(repo.member_lang(member, session=session), settings.default_lang)
            who, role = member.name, member.role
        _ = translator(lang)
        router = build_router(engine, config, platforms=messengers.platforms())
        member_id = member.id or 0

        def arrivals() -> list[Reply]:
            from datetime import UTC, datetime

            from commands.inbox_view import arrivals as waiting

            with unit_of_work(engine) as session:
                return waiting(session, member_id, datetime.now(UTC))

        console = ConsoleChat(
            router,
            user=str(member.id),
            media_dir=media_dir or settings.data_dir / "chat",
            arrivals=arrivals,
        )
        greeting = _(
            "You are chatting with kpibot as {name} ({role}). Send /help to see what you can do, "
            "/quit to leave. Buttons are numbered: send the number to press one.",
            name=who,
            role=_(role),
        )
        repl(console, read=input, out=sys.stdout, greeting=greeting)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)

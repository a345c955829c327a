"""``kpibot run``: everything one replica needs, in one process.

With no platform tokens this is the newcomer's first run: the embedded SQLite
database, the demo team, the survey page, and (on a terminal) the chat as the
demo manager.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime

import typer

from bot.settings import load_settings
from commands.i18n import translator


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code=2)


def run(
    chat: bool = typer.Option(
        True, "--chat/--no-chat", help="With no platform tokens and a terminal: chat as the demo manager."
    ),
) -> None:
    """Run kpibot: web app (Slack, Telegram webhook, survey page, health), platforms, chat."""
    from bot.main import build_service, serve
    from bot.secrets import SecretError
    from commands.demo import load_demo, summary_lines
    from storage import repo
    from storage.db import unit_of_work, upgrade

    settings = load_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    _ = translator(settings.default_lang)
    try:
        service = build_service(settings)
    except SecretError as exc:
        _fail(str(exc))
    upgrade(service.engine)
    if not settings.has_platform_tokens:
        with unit_of_work(service.engine) as session:
            if not repo.list_teams(session=session):
                for line in summary_lines(load_demo(session, now=datetime.now(UTC)), _):
                    typer.echo(line)
    typer.echo(_("kpibot is serving on {url} (survey page, health at /healthz).", url=settings.public_url))

    if settings.has_platform_tokens or not chat or not sys.stdin.isatty():
        serve(service)
        return

    server = threading.Thread(target=serve, args=(service,), kwargs={"install_signal_handlers": False}, daemon=True)
    server.start()
    from bot.cli.chat import chat as chat_command

    chat_command(as_=None, db=settings.database_url, media_dir=None)


def register(app: typer.Typer) -> None:
    app.command("run")(run)

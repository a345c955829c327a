"""``kpibot run``: everything one replica needs, in one process.

With no platform tokens this is the newcomer's first run: the embedded SQLite
database, the demo team, the survey page, and (on a terminal) the chat as the
demo manager.

Before anything starts the configuration is checked (:mod:`bot.config_check`): every
problem is printed, one line each, and the exit code is 2.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import typer

from bot.cli.common import fail
from commands.i18n import translator


def _settings_or_exit() -> object:
    from pydantic import ValidationError

    from bot.settings import load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        fail(
            [
                f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
                for err in exc.errors()
            ]
        )
        raise AssertionError("unreachable") from exc


def run(
    chat: bool = typer.Option(
        True,
        "--chat/--no-chat",
        help="With no platform tokens and a terminal: chat as the demo manager.",
    ),
) -> None:
    from bot.config_check import problems
    from bot.logs import configure
    from bot.main import build_service
    from bot.secrets import SecretError
    from bot.serving import serve
    from bot.settings import Settings
    from commands.demo import load_demo, summary_lines
    from storage import repo
    from storage.db import unit_of_work, upgrade

    settings = _settings_or_exit()
    assert isinstance(settings, Settings)
    _ = translator(settings.default_lang)
    found = problems(settings)
    if found:
        fail(found)
    configure(settings)
    try:
        service = build_service(settings)
    except (SecretError, ValueError) as exc:
        fail([str(exc)])
        return
    upgrade(service.engine)
    if not settings.has_platform_tokens:
        with unit_of_work(service.engine) as session:
            if not repo.list_teams(session=session):
                for line in summary_lines(load_demo(session, now=datetime.now(UTC)), _):
                    typer.echo(line)
    typer.echo(
        _("kpibot is serving on {url} (survey page, health at /healthz).", url=settings.public_url)
    )

    if settings.has_platform_tokens or not chat or not sys.stdin.isatty():
        serve(service)
        return

    # Ctrl-C is the person's way to stop it: a shell that started kpibot with SIGINT ignored
    # (a background job, CI) must not leave it unstoppable.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # The terminal chat owns the screen: the server beside it reports only warnings.
    logging.getLogger().setLevel(logging.WARNING)
    service.settings = service.settings.model_copy(update={"log_level": "WARNING"})
    stops: list[Callable[[], None]] = []
    server = threading.Thread(
        target=serve,
        args=(service,),
        daemon=True,
        kwargs={"install_signal_handlers": False, "on_start": stops.append},
    )
    server.start()
    from bot.cli.chat import chat as chat_command

    chat_command(as_=None, db=settings.database_url, media_dir=None)
    # The chat has ended (/quit or end of input); the survey page and the rest keep serving.
    typer.echo(
        _(
            "The chat has ended, but kpibot keeps serving on {url} (survey page, health at "
            "/healthz). Press Ctrl-C to stop it.",
            url=settings.public_url,
        )
    )
    try:
        while server.is_alive():
            server.join(timeout=1.0)
    except KeyboardInterrupt:
        # Ctrl-C reaches this thread, not the server's: stop it as SIGINT would (gracefully,
        # bounded by SHUTDOWN_GRACE_S), so the process ends instead of waiting on its threads.
        for stop in stops:
            stop()
        server.join(timeout=settings.shutdown_grace_s)
        typer.echo(_("Stopped."))


def register(app: typer.Typer) -> None:
    app.command(
        "run",
        help="Run kpibot: web app (messenger webhooks, survey page, health, metrics), the "
        "messengers, chat.",
    )(run)

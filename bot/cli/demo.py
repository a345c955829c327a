"""``kpibot demo [--reset]``: load the demo team (idempotent), or remove and reload it."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from bot.cli.language import lang_ui_option, old_lang_option, ui_lang
from bot.settings import load_settings
from commands.i18n import translator


def demo(
    reset: bool = typer.Option(
        False, "--reset", help="Remove the demo team first, then load it again."
    ),
    db: str | None = typer.Option(
        None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL)."
    ),
    lang_ui: str | None = lang_ui_option(),
    lang: str | None = old_lang_option(),
) -> None:
    """Create a demo team with three months of data, so you can see rankings at once."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from commands.demo import load_demo, reset_demo, summary_lines
    from scoring.scheme import SchemeError
    from storage.db import current_revision, make_engine, unit_of_work

    settings = load_settings(**({"database_url": db} if db else {}))
    _ = translator(ui_lang(lang_ui or lang))
    try:
        engine = make_engine(settings.database_url)
    except ArgumentError:
        typer.echo(_("Not a database URL: {url}", url=settings.database_url), err=True)
        raise typer.Exit(code=2) from None
    try:
        if current_revision(engine) is None:
            typer.echo(_("The database has no tables yet. Run: kpibot db upgrade"), err=True)
            raise typer.Exit(code=2)
        now = datetime.now(UTC)
        with unit_of_work(engine) as session:
            if reset and reset_demo(session, now=now):
                typer.echo(_("Removed the old demo team."))
            summary = load_demo(session, now=now)
    except OperationalError as exc:
        typer.echo(
            _(
                "Cannot open the database {url}: {error}",
                url=settings.database_url,
                error=str(exc.orig),
            ),
            err=True,
        )
        raise typer.Exit(code=2) from None
    except SchemeError as exc:
        typer.echo(_("The demo scheme file is invalid:"), err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem.where} {problem.field}: {problem.message}", err=True)
        raise typer.Exit(code=2) from None
    finally:
        engine.dispose()
    for line in summary_lines(summary, _):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)

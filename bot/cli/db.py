"""``kpibot db upgrade`` and ``kpibot db current``: Alembic migrations, no alembic.ini needed."""

from __future__ import annotations

import typer

from bot.cli.common import fail
from bot.settings import load_settings
from commands.i18n import translator


def _settings(db: str | None) -> tuple[str, str]:
    settings = load_settings(**({"database_url": db} if db else {}))
    return settings.database_url, settings.default_lang


DB_OPTION = typer.Option(None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL).")


def upgrade(db: str | None = DB_OPTION) -> None:
    """Create or update the database tables (Alembic migrations to head)."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from storage.db import current_revision, make_engine
    from storage.db import upgrade as run_upgrade

    url, lang = _settings(db)
    _ = translator(lang)
    try:
        engine = make_engine(url)
    except ArgumentError:
        fail(_("Not a database URL: {url}", url=url))
        return
    try:
        before = current_revision(engine)
        run_upgrade(engine)
        after = current_revision(engine)
    except OperationalError as exc:
        fail(
            _(
                "Cannot open the database {url}: {error}",
                url=engine.url.render_as_string(hide_password=True),
                error=str(exc.orig),
            )
        )
        return
    finally:
        engine.dispose()
    if before == after:
        typer.echo(_("The database is up to date (revision {rev}).", rev=revision_label(after)))
    elif before is None:
        typer.echo(
            _("The database is created, at the newest revision ({rev}).", rev=revision_label(after))
        )
    else:
        typer.echo(
            _(
                "The database was upgraded from revision {old} to {new}.",
                old=revision_label(before),
                new=revision_label(after),
            )
        )


def revision_label(rev: str | None) -> str:
    """A revision as a person reads it: its place in the chain, then Alembic's id for whoever looks
    it up (``12 · 0010_door21``)."""
    if rev is None:
        return "—"
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config

    try:
        chain = list(ScriptDirectory.from_config(alembic_config()).iterate_revisions(rev, "base"))
    except Exception:  # an id this kpibot does not know (a newer database): show it as it is
        return rev
    return f"{len(chain)} · {rev}"


def current(db: str | None = DB_OPTION) -> None:
    """Show the database's migration revision and the newest one available."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from storage.db import current_revision, head_revision, make_engine

    url, lang = _settings(db)
    _ = translator(lang)
    try:
        engine = make_engine(url)
        rev = current_revision(engine)
    except ArgumentError:
        fail(_("Not a database URL: {url}", url=url))
        return
    except OperationalError as exc:
        fail(_("Cannot open the database {url}: {error}", url=url, error=str(exc.orig)))
        return
    head = head_revision()
    if rev is None:
        typer.echo(
            _(
                "The database has no tables yet (newest revision: {head}). Run: kpibot db upgrade",
                head=revision_label(head),
            )
        )
    elif rev == head:
        typer.echo(_("Revision {rev} (up to date).", rev=revision_label(rev)))
    else:
        typer.echo(
            _(
                "Revision {rev}; newest is {head}. Run: kpibot db upgrade",
                rev=revision_label(rev),
                head=revision_label(head),
            )
        )
    engine.dispose()


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
    db_app.command("upgrade")(upgrade)
    db_app.command("current")(current)
    app.add_typer(db_app, name="db")

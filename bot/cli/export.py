"""``kpibot export --team T --period P --out results.xlsx``: a team's period for payroll and HR.

The format follows the extension of ``--out``: ``.xlsx`` (a sheet per table) or ``.zip`` (one CSV
per table); in the team's language and time zone (``commands.export``). Bad input gets one
message per problem on standard error and exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.common import fail
from bot.cli.language import lang_ui_option, ui_lang
from bot.settings import load_settings
from commands.i18n import translator


def export(
    team: str = typer.Option(..., "--team", metavar="TEAM", help="The team's name."),
    period: str = typer.Option(..., "--period", metavar="PERIOD", help="The period, e.g. 2026-10."),
    out: Path = typer.Option(
        ..., "--out", metavar="FILE", help="results.xlsx, or results.zip for one CSV per table."
    ),
    lang_ui: str | None = lang_ui_option(),
    db: str | None = typer.Option(
        None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL)."
    ),
) -> None:
    """Export scores, breakdown, ratings, rewards and penalties, improvement plans and appeals."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from commands.export import export_bytes
    from storage import repo
    from storage.db import current_revision, make_engine, unit_of_work

    settings = load_settings(**({"database_url": db} if db else {}))
    _ = translator(ui_lang(lang_ui))
    fmt = out.suffix.lower().lstrip(".")
    problems: list[str] = []
    if fmt == "csv":
        problems.append(
            _(
                "A CSV file holds one table and the export has several: use --out {name} "
                "(one CSV per table, in a zip) or .xlsx.",
                name=out.with_suffix(".zip").name,
            )
        )
    elif fmt not in ("xlsx", "zip"):
        problems.append(_("--out must end in .xlsx or .zip; got {name}.", name=out.name))
    if not out.parent.exists():
        problems.append(_("The folder {folder} does not exist.", folder=str(out.parent)))
    if problems:
        fail(problems)
    try:
        engine = make_engine(settings.database_url)
        revision = current_revision(engine)
    except ArgumentError:
        fail([_("Not a database URL: {url}", url=settings.database_url)])
        return
    except OperationalError as exc:
        fail(
            [
                _(
                    "Cannot open the database {url}: {error}",
                    url=settings.database_url,
                    error=str(exc.orig),
                )
            ]
        )
        return
    if revision is None:
        fail([_("The database has no tables yet. Run: kpibot db upgrade")])
    try:
        with unit_of_work(engine) as session:
            found = repo.get_team_by_name(session=session, name=team)
            if found is None:
                fail([_("There is no team called {team}.", team=team)])
                return
            row = repo.get_period(session=session, team=found, key=period)
            if row is None:
                fail([_("Team {team} has no period {period}.", team=team, period=period)])
                return
            data = export_bytes(session, found, row, fmt)
    finally:
        engine.dispose()
    out.write_bytes(data)
    typer.echo(_("Wrote {path}.", path=str(out)))


def register(app: typer.Typer) -> None:
    app.command("export")(export)

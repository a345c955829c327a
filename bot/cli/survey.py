"""``kpibot survey link --agent NAME [--count N] [--ref REF]``: survey links from the command line.

Prints one link a line and nothing else on standard output, so the output can go
straight into a shop's auto-reply or a ticket macro. Problems go to standard error,
one line each, with exit code 2.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from bot.cli.common import fail
from bot.settings import load_settings
from commands.i18n import translator


def link(
    agent: str = typer.Option(
        ..., "--agent", metavar="NAME", help="The agent: a name, team/name or member id."
    ),
    count: int = typer.Option(1, "--count", metavar="N", help="How many links (1-50)."),
    ref: str | None = typer.Option(
        None, "--ref", metavar="REF", help="A ticket or order reference carried by the link."
    ),
    team: str | None = typer.Option(
        None, "--team", metavar="TEAM", help="The agent's team, when the name is used in several."
    ),
    db: str | None = typer.Option(
        None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL)."
    ),
) -> None:
    """Print fresh survey links for an agent's customers, one a line."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from bot.secrets import SecretError, resolve_secret
    from commands.survey import MAX_BATCH, issue_links
    from storage import repo
    from storage.conversations import find_member
    from storage.db import current_revision, make_engine, unit_of_work

    settings = load_settings(**({"database_url": db} if db else {}))
    _ = translator(settings.default_lang)
    problems: list[str] = []
    if not 1 <= count <= MAX_BATCH:
        problems.append(_("--count must be between 1 and {max}; got {n}.", max=MAX_BATCH, n=count))
    if ref is not None and not ref.strip():
        problems.append(_("--ref is empty."))
    secret = ""
    try:
        secret = resolve_secret(settings)
    except SecretError as exc:
        problems.append(str(exc))
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
            if team:
                found = repo.get_team_by_name(session=session, name=team)
                if found is None:
                    fail([_("There is no team called {team}.", team=team)])
                    return
                member = repo.get_member_by_name(session=session, team=found, name=agent)
            else:
                member = find_member("console", agent, session=session)
            if member is None:
                fail(
                    [
                        _(
                            "There is no agent {name} (or the name is used in several teams: "
                            "add --team TEAM).",
                            name=agent,
                        )
                    ]
                )
                return
            if member.role != "agent" or not member.active:
                fail(
                    [
                        _(
                            "{name} is not an active agent; survey links rate agents.",
                            name=member.name,
                        )
                    ]
                )
            issued = issue_links(
                session,
                member=member,
                secret=secret,
                public_url=settings.public_url,
                now=datetime.now(UTC),
                count=count,
                ref=ref,
            )
    finally:
        engine.dispose()
    for url in issued.urls:
        typer.echo(url)


def register(app: typer.Typer) -> None:
    survey_app = typer.Typer(help="Customer survey links.", no_args_is_help=True)
    survey_app.command("link")(link)
    app.add_typer(survey_app, name="survey")

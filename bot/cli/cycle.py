"""``kpibot cycle show|run-step|pause``: the monthly cycle from the command line.

    kpibot cycle show [--team T]                   # next steps (local time), last steps run
    kpibot cycle run-step publish --team T [--period 2026-10]
                                  [--confirm-provisional | --hold-provisional]
    kpibot cycle pause T [--resume]

Bad input: one message a line on standard error, exit code 2.

Publishing (or closing) a period whose results lack a part the scheme requires lists who is
missing what and asks on a terminal: publish them provisional, hold them, or stop. Without a
terminal (CI, cron) it changes nothing and exits 2 unless ``--confirm-provisional`` (publish
them marked provisional; for close: close anyway) or ``--hold-provisional`` (publish the
complete results, hold the others) says what to do. Nothing to publish is refused (exit 2).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import typer

from bot.cli.common import fail
from bot.settings import load_settings
from commands.i18n import normalize_lang, translator


def _engine(db: str | None) -> tuple[Any, Any]:
    engine, _, _lang = _engine_lang(db)
    return engine, _


def _engine_lang(db: str | None) -> tuple[Any, Any, str]:
    from sqlalchemy.exc import ArgumentError, OperationalError

    from storage.db import current_revision, make_engine

    settings = load_settings(**({"database_url": db} if db else {}))
    _ = translator(settings.default_lang)
    try:
        engine = make_engine(settings.database_url)
        revision = current_revision(engine)
    except ArgumentError:
        fail([_("Not a database URL: {url}", url=settings.database_url)])
        raise
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
        raise
    if revision is None:
        fail([_("The database has no tables yet. Run: kpibot db upgrade")])
    return engine, _, normalize_lang(settings.default_lang)


DB = typer.Option(None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL).")


def show(
    team: str | None = typer.Option(None, "--team", metavar="TEAM", help="Only this team."),
    db: str | None = DB,
) -> None:
    """The next steps of each team's cycle in its local time, and the last steps run."""
    from commands.schedule_admin import schedule_lines
    from storage import repo
    from storage.db import unit_of_work

    engine, _ = _engine(db)
    with unit_of_work(engine) as session:
        if team:
            found = repo.get_team_by_name(session=session, name=team)
            if found is None:
                fail([_("There is no team called {team}.", team=team)])
            teams = [found]
        else:
            teams = repo.list_teams(session=session)
        for one in teams:
            for line in schedule_lines(_, one, session=session, now=datetime.now(UTC)):
                typer.echo(line)


def run_step_command(
    step: str = typer.Argument(
        ..., metavar="STEP", help="open, remind.1, close, publish or daily."
    ),
    team: str = typer.Option(..., "--team", metavar="TEAM"),
    period: str | None = typer.Option(
        None, "--period", metavar="PERIOD", help="e.g. 2026-10 (default: this month's window)."
    ),
    confirm_provisional: bool = typer.Option(
        False,
        "--confirm-provisional",
        help="publish: publish results that lack a required part, marked provisional; close: close "
        "anyway.",
    ),
    hold_provisional: bool = typer.Option(
        False,
        "--hold-provisional",
        help="publish: publish the complete results and hold the provisional ones.",
    ),
    db: str | None = DB,
) -> None:
    """Run one step now, even if it ran before (the outbox sends nobody anything twice)."""
    from dataclasses import replace

    from bot import messengers
    from commands.cycle import run_step
    from commands.schedule_admin import outcome_text, parse_run, refusal
    from storage.db import unit_of_work

    engine, _, lang = _engine_lang(db)
    if confirm_provisional and hold_provisional:
        fail([_("Give --confirm-provisional or --hold-provisional, not both.")])
    now = datetime.now(UTC)
    choice = " confirm" if confirm_provisional else " hold" if hold_provisional else ""
    args = " ".join([step, team] + ([period] if period else [])) + choice
    with unit_of_work(engine) as session:
        request, problems = parse_run(_, args, actor=None, session=session, now=now)
        if request is None:
            fail(problems)
            return
        again = (
            f"kpibot cycle run-step {request.step} --team {request.team.name} --period "
            f"{request.period_key}"
        )
        refused = refusal(
            _,
            lang,
            request,
            session=session,
            confirm=f"{again} --confirm-provisional",
            hold=f"{again} --hold-provisional",
        )
        if refused is not None:
            answer = (
                _ask(_, refused.text, request.step) if refused.question and interactive() else None
            )
            if answer is None:
                fail([refused.text])
                return
            request = replace(request, choice=answer)
        outcome = run_step(
            session,
            team=request.team,
            period_key=request.period_key,
            step=request.step,
            now=now,
            worker="cli",
            actor="cli",
            note="run from the command line",
            force=True,
            gaps=request.choice or "hold",
            messengers=messengers.names(),
        )
        typer.echo(outcome_text(_, request, outcome))


def interactive() -> bool:
    """Whether a person at a terminal can answer (not CI, cron or a pipe)."""
    return sys.stdin.isatty()


def _ask(_: Any, question: str, step: str) -> Any:
    """On a terminal: the admin's choice for provisional results, or None (stop, nothing
    changed)."""
    typer.echo(question)
    if step == "publish":
        prompt = _("Publish them provisional (c), hold them (h), or stop (s)?")
        keys = {"c": "confirm", "h": "hold"}
    else:
        prompt = _("Close anyway (c), or stop (s)?")
        keys = {"c": "confirm"}
    answer = typer.prompt(prompt, default="s").strip().lower()[:1]
    return keys.get(answer)


def pause(
    team: str = typer.Argument(..., metavar="TEAM"),
    resume: bool = typer.Option(False, "--resume", help="Resume instead."),
    db: str | None = DB,
) -> None:
    """Hold a team's steps (or resume them); steps missed meanwhile run at the next catch-up."""
    from commands.schedule_admin import set_paused
    from storage import repo
    from storage.db import unit_of_work

    engine, _ = _engine(db)
    with unit_of_work(engine) as session:
        found = repo.get_team_by_name(session=session, name=team)
        if found is None:
            fail([_("There is no team called {team}.", team=team)])
            return
        changed = set_paused(found, not resume, session=session, actor="cli", now=datetime.now(UTC))
    if resume:
        typer.echo(
            _(
                "{team} runs again; steps missed meanwhile run at the next catch-up (within the "
                "hour).",
                team=team,
            )
            if changed
            else _("{team} was not paused.", team=team)
        )
    else:
        typer.echo(_("{team} is paused: no step runs until /resume {team}.", team=team)
                   if changed else _("{team} was already paused.", team=team))  # fmt: skip


def register(app: typer.Typer) -> None:
    cycle = typer.Typer(
        help="The monthly cycle: schedule, steps, pausing a team.", no_args_is_help=True
    )
    cycle.command("show")(show)
    cycle.command("run-step")(run_step_command)
    cycle.command("pause")(pause)
    app.add_typer(cycle, name="cycle")

"""``kpibot qa …``: quality sampling from the terminal.

    kpibot qa load-sessions --team T --period 2026-10 --mapping calls_zh FILE
    kpibot qa draw --team T --period 2026-10 [--seed N]
    kpibot qa verify-draw DRAW_ID

Bad input gets one clear message per problem and exit code 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import fail
from bot.cli.language import lang_ui_option, old_lang_option, ui_lang
from bot.settings import load_settings
from commands.i18n import Translate, translator

if TYPE_CHECKING:
    from sqlmodel import Session

qa_app = typer.Typer(
    help="Quality sampling (质检): load sessions, draw samples, verify a draw.",
    no_args_is_help=True,
)

DB_HELP = "Database URL (default: DATABASE_URL)."


def _setup(db: str | None, lang: str | None) -> tuple[str, str, Translate]:
    settings = load_settings(**({"database_url": db} if db else {}))
    code = ui_lang(lang)
    return settings.database_url, code, translator(code)


@qa_app.command(
    "load-sessions",
    help="Store a period's sessions for sampling; all rows or none; the same file twice changes "
    "nothing.",
)
def load_sessions_cmd(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="A sessions export (.csv or .xlsx) with a session id column."
    ),
    team: str = typer.Option(..., "--team", help="The team's name."),
    period: str = typer.Option(..., "--period", help="2026-10 for a month, 2026-Q4 for a quarter."),
    mapping: str = typer.Option(
        ..., "--mapping", help="A sessions mapping in schemes/mappings, or a .toml path."
    ),
    lang_ui: str | None = lang_ui_option(),
    lang: str | None = old_lang_option(),
    db: str | None = typer.Option(None, "--db", metavar="URL", help=DB_HELP),
) -> None:
    from commands.qa.sessions import load_sessions

    url, code, _ = _setup(db, lang_ui or lang)
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail([_("Cannot read {file}: {error}", file=str(file), error=exc.strerror or str(exc))])
    with _session(url) as session:
        report = load_sessions(session, team=team, period_key=period, mapping=mapping, data=data,
                               file_name=file.name, actor="cli", lang=code)  # fmt: skip
        if report.status == "refused":
            fail(report.lines(_))
    for line in report.lines(_):
        typer.echo(line)


@contextmanager
def _session(url: str) -> Iterator[Session]:
    """One unit of work on a fresh engine (a failure inside rolls everything back)."""
    from storage.db import make_engine, unit_of_work

    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            yield session
    finally:
        engine.dispose()


def _team_period(session: Session, team: str, period: str, _: Translate) -> tuple[object, object]:
    from storage import repo

    team_row = repo.get_team_by_name(session=session, name=team)
    if team_row is None:
        fail([_("There is no team named {team}.", team=team)])
    period_row = repo.get_period(session=session, team=team_row, key=period)
    if period_row is None:
        fail([_("Team {team} has no period {period}.", team=team, period=period)])
    return team_row, period_row


@qa_app.command("draw")
def draw_cmd(
    team: str = typer.Option(..., "--team", help="The team's name."),
    period: str = typer.Option(..., "--period", help="2026-10 or 2026-Q4."),
    seed: int | None = typer.Option(
        None, "--seed", min=0, help="The random seed (default: a fresh random one)."
    ),
    lang_ui: str | None = lang_ui_option(),
    lang: str | None = old_lang_option(),
    db: str | None = typer.Option(None, "--db", metavar="URL", help=DB_HELP),
) -> None:
    """Draw the period's samples by the scheme's rule; the seed is recorded with the draw."""
    from commands.qa.results import run_draw
    from storage.models import Period, Team

    url, _code, _ = _setup(db, lang_ui or lang)
    with _session(url) as session:
        team_row, period_row = _team_period(session, team, period, _)
        assert isinstance(team_row, Team) and isinstance(period_row, Period)
        ok, lines = run_draw(session, team=team_row, period=period_row, actor="cli", _=_, seed=seed)
        if not ok:
            fail(lines)
    for line in lines:
        typer.echo(line)


@qa_app.command("verify-draw")
def verify_draw_cmd(
    draw_id: int = typer.Argument(..., metavar="DRAW_ID", help="The draw's number."),
    lang_ui: str | None = lang_ui_option(),
    lang: str | None = old_lang_option(),
    db: str | None = typer.Option(None, "--db", metavar="URL", help=DB_HELP),
) -> None:
    """Run a stored draw again from its seed and check it drew exactly the same sessions."""
    from commands.qa.sampling import reproduce
    from storage import qa as store

    url, _code, _ = _setup(db, lang_ui or lang)
    with _session(url) as session:
        row = store.get_draw(session=session, draw_id=draw_id)
        if row is None:
            fail([_("There is no draw {n}.", n=draw_id)])
        same = reproduce(session, row).digest == row.digest
    if not same:
        fail(
            [
                _(
                    "Draw {n} does NOT reproduce from seed {seed}: the stored samples differ.",
                    n=draw_id,
                    seed=row.seed,
                )
            ]
        )
    typer.echo(
        _(
            "Draw {n} reproduces exactly from seed {seed}: {drawn} samples.",
            n=draw_id,
            seed=row.seed,
            drawn=row.drawn,
        )
    )


def register(app: typer.Typer) -> None:
    app.add_typer(qa_app, name="qa")

"""``kpibot import`` and ``kpibot show-source``: KPI exports in, and where each value came from."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import fail
from bot.cli.language import lang_ui_option, old_lang_option, ui_lang
from bot.settings import load_settings
from commands.i18n import translator

if TYPE_CHECKING:
    from sqlmodel import Session

PROGRESS_MIN_BYTES = 20 * 1024 * 1024  # about a few seconds of work
STEPS = ("read", "parse", "check", "store")


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def import_(
    what: str = typer.Argument(
        ...,
        metavar="FILE|list|undo",
        help="The export (.csv, .xlsx, .xls, .ods); or list; or undo.",
    ),
    number: int | None = typer.Argument(
        None, metavar="[N]", help="With undo: the import's number."
    ),
    team: str | None = typer.Option(None, "--team", help="The team's name."),
    period: str | None = typer.Option(
        None, "--period", help="2026-10 for a month, 2026-Q4 for a quarter."
    ),
    mapping: str | None = typer.Option(
        None, "--mapping", help="A mapping name in schemes/mappings, or a .toml path."
    ),
    as_: str | None = typer.Option(
        None, "--as", metavar="NAME", help="The member importing (default: cli)."
    ),
    lang_ui: str | None = lang_ui_option(),
    lang: str | None = old_lang_option(),
    db: str | None = typer.Option(
        None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL)."
    ),
) -> None:
    """Import a KPI export for one team and period (nothing is stored unless the whole file is
    valid; a file replaces only the values it supplies again); ``import list --team T`` shows
    the imports, ``import undo N`` puts back what import N replaced."""
    settings = load_settings(**({"database_url": db} if db else {}))
    code = ui_lang(lang_ui or lang)
    _ = translator(code)
    if what == "list" and number is None:
        if team is None:
            fail([_("Give the team: kpibot import list --team TEAM [--period 2026-10].")])
        _list(settings.database_url, team, period, code)
        return
    if what == "undo":
        if number is None:
            fail(
                [
                    _(
                        "Give the import's number: kpibot import undo N (kpibot import list shows "
                        "them)."
                    )
                ]
            )
        _undo(settings.database_url, number, team, as_, code)
        return
    missing = [
        flag
        for flag, value in (("--team", team), ("--period", period), ("--mapping", mapping))
        if value is None
    ]
    if missing or number is not None:
        fail(
            [
                _(
                    "To import a file give {flags}: kpibot import FILE --team TEAM --period "
                    "2026-10 --mapping NAME.",
                    flags=", ".join(missing) or "FILE",
                )
            ]
        )
    assert team is not None and period is not None and mapping is not None
    _import_file(Path(what), settings.database_url, team, period, mapping, as_, code)


def _actor(session: Session, team: str | None, as_: str | None, code: str) -> str:
    from storage import repo

    _ = translator(code)
    if not as_:
        return "cli"
    team_row = None if team is None else repo.get_team_by_name(session=session, name=team)
    member = (
        None
        if team_row is None
        else repo.get_member_by_name(session=session, team=team_row, name=as_)
    )
    if member is None:
        fail([_("There is no member {name} in team {team}.", name=as_, team=team or "?")])
    return repo.actor_of(member)


def _import_file(
    file: Path, database_url: str, team: str, period: str, mapping: str, as_: str | None, code: str
) -> None:
    from commands.importing import import_file
    from commands.importing.reading import MAX_FILE_BYTES
    from storage.db import make_engine, unit_of_work

    _ = translator(code)
    try:
        size = file.stat().st_size
        if size > MAX_FILE_BYTES:  # refused before a byte is read
            fail(
                [
                    _(
                        "{file}: {problem}",
                        file=file.name,
                        problem=_(
                            "The file is {size} MB; kpibot imports files up to {limit} MB. Export "
                            "a shorter period or fewer columns.",
                            size=round(size / 1024 / 1024, 1),
                            limit=MAX_FILE_BYTES // 1024 // 1024,
                        ),
                    )
                ]
            )
        data = file.read_bytes()
    except OSError as exc:
        fail([_("Cannot read {file}: {error}", file=str(file), error=exc.strerror or str(exc))])
    engine = make_engine(database_url)
    bar = None
    if _stderr_is_terminal() and len(data) >= PROGRESS_MIN_BYTES:
        from tqdm import tqdm

        bar = tqdm(total=len(STEPS), desc=file.name, unit="step", file=sys.stderr)

    def progress(step: str) -> None:
        if bar is not None:
            bar.set_postfix_str(step)
            bar.update(1)

    try:
        with unit_of_work(engine) as session:
            actor = _actor(session, team, as_, code)
            report = import_file(
                session,
                team=team,
                period_key=period,
                mapping=mapping,
                data=data,
                file_name=file.name,
                actor=actor,
                lang=code,
                progress=progress,
            )
    finally:
        if bar is not None:
            bar.close()
        engine.dispose()
    if not report.ok:
        fail(report.lines(code))
    for line in report.lines(code):
        typer.echo(line)


def _list(database_url: str, team: str, period: str | None, code: str) -> None:
    from commands.importing import list_imports
    from storage.db import make_engine, unit_of_work

    engine = make_engine(database_url)
    try:
        with unit_of_work(engine) as session:
            listing = list_imports(session, team=team, period_key=period)
    finally:
        engine.dispose()
    if listing.problems:
        fail(listing.lines(code))
    for line in listing.lines(code):
        typer.echo(line)


def _undo(database_url: str, number: int, team: str | None, as_: str | None, code: str) -> None:
    from commands.importing import undo_import
    from storage.db import make_engine, unit_of_work

    engine = make_engine(database_url)
    try:
        with unit_of_work(engine) as session:
            actor = _actor(session, team, as_, code)
            report = undo_import(session, import_id=number, actor=actor, team=team, lang=code)
    finally:
        engine.dispose()
    if not report.ok:
        fail(report.lines(code))
    for line in report.lines(code):
        typer.echo(line)


def show_source(
    team: str = typer.Option(..., "--team", help="The team's name."),
    period: str = typer.Option(..., "--period", help="2026-10 or 2026-Q4."),
    agent: str = typer.Option(..., "--agent", help="The agent's name."),
    indicator: str | None = typer.Option(None, "--indicator", help="Only this indicator."),
    lang_ui: str | None = lang_ui_option(),
    lang: str | None = old_lang_option(),
    db: str | None = typer.Option(
        None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL)."
    ),
) -> None:
    """Show where each of an agent's indicator values came from (file, checksum, who, when)."""
    from commands.importing import source_of
    from storage.db import make_engine, unit_of_work

    settings = load_settings(**({"database_url": db} if db else {}))
    code = ui_lang(lang_ui or lang)
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            report = source_of(
                session, team=team, period_key=period, agent=agent, indicator=indicator
            )
    finally:
        engine.dispose()
    if report.problems:
        fail(report.lines(code))
    for line in report.lines(code):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("show-source")(show_source)

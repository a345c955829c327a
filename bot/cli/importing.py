"""``kpibot import`` and ``kpibot show-source``: KPI exports in, and where each value came from."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from bot.settings import load_settings
from commands.i18n import normalize_lang, translator

PROGRESS_MIN_BYTES = 20 * 1024 * 1024  # about a few seconds of work
STEPS = ("read", "parse", "check", "store")


def _stderr_is_terminal() -> bool:
    return sys.stderr.isatty()


def _fail(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line, err=True)
    raise typer.Exit(code=2)


def import_(
    file: Path = typer.Argument(..., metavar="FILE", help="The export: .csv (UTF-8, UTF-8 with BOM, GBK) or .xlsx."),
    team: str = typer.Option(..., "--team", help="The team's name."),
    period: str = typer.Option(..., "--period", help="2026-10 for a month, 2026-Q4 for a quarter."),
    mapping: str = typer.Option(..., "--mapping", help="A mapping name in schemes/mappings, or a .toml path."),
    as_: str | None = typer.Option(None, "--as", metavar="NAME", help="The member importing (default: cli)."),
    lang: str | None = typer.Option(None, "--lang", help="zh or en (default: DEFAULT_LANG)."),
    db: str | None = typer.Option(None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL)."),
) -> None:
    """Import a KPI export for one team and period; nothing is stored unless the whole file is valid."""
    from commands.importing import import_file
    from storage import repo
    from storage.db import make_engine, unit_of_work

    settings = load_settings(**({"database_url": db} if db else {}))
    code = normalize_lang(lang, settings.default_lang)
    _ = translator(code)
    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail([_("Cannot read {file}: {error}", file=str(file), error=exc.strerror or str(exc))])
    engine = make_engine(settings.database_url)
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
            actor = "cli"
            if as_:
                team_row = repo.get_team_by_name(session=session, name=team)
                member = None if team_row is None else repo.get_member_by_name(
                    session=session, team=team_row, name=as_)
                if member is None:
                    _fail([_("There is no member {name} in team {team}.", name=as_, team=team)])
                actor = repo.actor_of(member)
            report = import_file(session, team=team, period_key=period, mapping=mapping, data=data,
                                 file_name=file.name, actor=actor, lang=code, progress=progress)
    finally:
        if bar is not None:
            bar.close()
        engine.dispose()
    if not report.ok:
        _fail(report.lines(code))
    for line in report.lines(code):
        typer.echo(line)


def show_source(
    team: str = typer.Option(..., "--team", help="The team's name."),
    period: str = typer.Option(..., "--period", help="2026-10 or 2026-Q4."),
    agent: str = typer.Option(..., "--agent", help="The agent's name."),
    indicator: str | None = typer.Option(None, "--indicator", help="Only this indicator."),
    lang: str | None = typer.Option(None, "--lang", help="zh or en (default: DEFAULT_LANG)."),
    db: str | None = typer.Option(None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL)."),
) -> None:
    """Show where each of an agent's indicator values came from (file, checksum, who, when)."""
    from commands.importing import source_of
    from storage.db import make_engine, unit_of_work

    settings = load_settings(**({"database_url": db} if db else {}))
    code = normalize_lang(lang, settings.default_lang)
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            report = source_of(session, team=team, period_key=period, agent=agent, indicator=indicator)
    finally:
        engine.dispose()
    if report.problems:
        _fail(report.lines(code))
    for line in report.lines(code):
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("show-source")(show_source)

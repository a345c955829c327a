"""``kpibot team add`` and ``kpibot member add|list|import``: onboarding a whole team from a
terminal.

The checks are the chat admin's (``commands.admin``): one message per problem, exit code 2,
nothing stored unless everything is valid (an import is all-or-nothing).

    kpibot team add demo --lang zh --timezone Asia/Shanghai --scheme online_shop
    kpibot member add --team demo --name 李经理 --role manager
    kpibot member add --team demo --name 王小红 --role agent --manager 李经理 --slack U012AB3CD
    kpibot member list --team demo --format json
    kpibot member set --team demo --name 王小红 --role manager --slack U0NEW1  # "-" clears a field
    kpibot member link --team demo --name 王小红 --platform feishu --id ou_7d8a6e…  # any messenger
    kpibot member link --team demo --name 王小红 --platform feishu --id -  # unlinks
    kpibot member remove --team demo --name 王小红     # someone who left: history kept
    kpibot member restore --team demo --name 王小红
    kpibot member import people.csv  # columns: team,name,role[,manager,slack,telegram,lang,name_en]
    kpibot member import people.csv --update --dry-run   # what would be added and changed
    kpibot member alias add --team demo --name 王小红 --source taobao --alias 示例旗舰店:小雨
    kpibot member alias list --team demo [--name 王小红]
    kpibot member alias remove --team demo --name 王小红 --source taobao --alias 示例旗舰店:小雨
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bot.cli.common import fail
from bot.cli.language import lang_ui_option, ui_lang
from bot.settings import load_settings
from commands.i18n import Translate, translator

if TYPE_CHECKING:
    from sqlmodel import Session

    from commands.admin import MemberSpec, MemberUpdate

CSV_COLUMNS = ("team", "name", "role", "manager", "slack", "telegram", "lang", "name_en")
REQUIRED_COLUMNS = ("name", "role")
HEADER_ALIASES = {
    "团队": "team",
    "姓名": "name",
    "名字": "name",
    "角色": "role",
    "主管": "manager",
    "语言": "lang",
    "英文名": "name_en",
    "英文姓名": "name_en",
}
"""Chinese column names a team's own sheet may have."""

team_app = typer.Typer(help="Teams: add one.", no_args_is_help=True)
member_app = typer.Typer(
    help="Members: add, change, mark who left, list, import from CSV.", no_args_is_help=True
)

DbOption = typer.Option(None, "--db", metavar="URL", help="Database URL (default: DATABASE_URL).")
LangOption = lang_ui_option()


@contextmanager
def _session(db: str | None) -> Iterator[Session]:
    from storage.db import make_engine, unit_of_work

    settings = load_settings(**({"database_url": db} if db else {}))
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(engine) as session:
            yield session
    finally:
        engine.dispose()


def _translator(lang_ui: str | None) -> Translate:
    return translator(ui_lang(lang_ui))


def _now() -> datetime:
    return datetime.now(UTC)


@team_app.command("add")
def team_add(
    name: str = typer.Argument(..., help="The team's name, one word (e.g. demo)."),
    lang: str = typer.Option("zh", "--lang", help="The team's language: zh or en."),
    timezone: str = typer.Option("Asia/Shanghai", "--timezone", "--tz", help="IANA time zone."),
    scheme: str | None = typer.Option(
        None, "--scheme", help="A scheme in schemes/ (online_shop) or a .toml path."
    ),
    schemes_dir: Path = typer.Option(
        Path("schemes"), "--schemes-dir", help="Where scheme files are."
    ),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    """Add a team."""
    from commands.admin import create_team
    from commands.problems import AdminError

    _ = _translator(lang_ui)
    try:
        with _session(db) as session:
            team = create_team(
                name, session=session, actor="cli", now=_now(), lang=lang, timezone=timezone,
                scheme=scheme, schemes_dir=schemes_dir,
            )  # fmt: skip
            text = _(
                "Team {team} added (language {lang}, time zone {tz}).",
                team=team.name,
                lang=_("Chinese") if team.lang == "zh" else _("English"),
                tz=team.timezone,
            )
    except AdminError as exc:
        fail(exc.lines(_))
    typer.echo(text)


@member_app.command("add")
def member_add(
    team: str = typer.Option(..., "--team", help="The team's name."),
    name: str = typer.Option(..., "--name", help="Display name, e.g. 王小红."),
    role: str = typer.Option("agent", "--role", help="agent, manager, admin or qa."),
    manager: str | None = typer.Option(
        None, "--manager", help="The direct manager's name (same team)."
    ),
    slack: str | None = typer.Option(
        None, "--slack", metavar="USER_ID", help="Slack user id (U012AB3CD)."
    ),
    telegram: str | None = typer.Option(
        None, "--telegram", metavar="USER_ID", help="Telegram user id (digits)."
    ),
    lang: str | None = typer.Option(None, "--lang", help="zh or en (default: the team's)."),
    name_en: str | None = typer.Option(None, "--name-en", help="English display name."),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    """Add one member with a role and platform ids."""
    from commands.admin import MemberSpec, add_members
    from commands.problems import AdminError, role_name

    _ = _translator(lang_ui)
    spec = MemberSpec(
        team=team,
        name=name,
        role=role,
        manager=manager,
        slack=slack,
        telegram=telegram,
        lang=lang,
        name_en=name_en,
    )
    try:
        with _session(db) as session:
            member = add_members([spec], session=session, actor="cli", now=_now())[0]
            text = _(
                "{name} added to team {team} as {role}.",
                name=member.name,
                team=team,
                role=role_name(_, member.role),
            )
    except AdminError as exc:
        fail(exc.lines(_))
    typer.echo(text)


@member_app.command("list")
def member_list(
    team: str = typer.Option(..., "--team", help="The team's name."),
    format_: str = typer.Option("table", "--format", help="table or json."),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    """List a team's active members."""
    from storage import repo

    _ = _translator(lang_ui)
    if format_ not in ("table", "json"):
        fail([_("Unknown format {format}: use table or json.", format=format_)])
    with _session(db) as session:
        team_row = repo.get_team_by_name(session=session, name=team)
        if team_row is None:
            fail([_("There is no team called {team}.", team=team)])
        members = repo.list_members(session=session, team=team_row)
        names = {m.id: m.name for m in members}
        rows = [
            {
                "name": m.name,
                "name_en": m.name_en,
                "role": m.role,
                "manager": names.get(m.manager_id),
                "slack": m.slack_user_id,
                "telegram": m.telegram_user_id,
                "lang": m.lang,
            }
            for m in members
        ]
    if format_ == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    keys = ("name", "role", "manager", "slack", "telegram", "lang")
    headers = [_(TABLE_HEADERS[k]) for k in keys]
    table = [[_cell(_, k, r[k]) for k in keys] for r in rows]
    widths = [max([_width(h)] + [_width(row[i]) for row in table]) for i, h in enumerate(headers)]
    typer.echo("  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in table:
        typer.echo("  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)).rstrip())


def N_(message: str) -> str:
    return message


TABLE_HEADERS = {
    "name": N_("name"), "role": N_("role"), "manager": N_("manager"), "slack": "Slack",
    "telegram": "Telegram", "lang": N_("language"),
}  # fmt: skip


def _cell(_: Translate, key: str, value: object) -> str:
    from commands.problems import role_name

    if value is None or value == "":
        return ""
    if key == "role":
        return role_name(_, str(value))
    if key == "lang":
        return _("Chinese") if value == "zh" else _("English")
    return str(value)


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def read_people(
    data: bytes, *, default_team: str | None, _: Translate
) -> tuple[list[MemberSpec], list[str]]:
    """CSV bytes → member specs (rows numbered from 2, the header is row 1), or problems."""
    from commands.admin import MemberSpec

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            return [], [_("The file is neither UTF-8 nor GBK text.")]
    reader = csv.DictReader(io.StringIO(text))
    header = [HEADER_ALIASES.get(h.strip(), h.strip().lower()) for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    problems = []
    needed = list(REQUIRED_COLUMNS) + ([] if default_team else ["team"])
    missing = [c for c in needed if c not in header]
    if missing:
        problems.append(_("The file has no column {columns}; expected columns: {expected}.",
                          columns=", ".join(missing), expected=",".join(CSV_COLUMNS)))  # fmt: skip
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        problems.append(_("Unknown columns: {columns}; expected columns: {expected}.",
                          columns=", ".join(unknown), expected=",".join(CSV_COLUMNS)))  # fmt: skip
    if problems:
        return [], problems
    specs: list[MemberSpec] = []
    for number, raw in enumerate(reader, start=2):
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        specs.append(
            MemberSpec(
                team=row.get("team") or default_team or "",
                name=row.get("name", ""),
                role=row.get("role") or "agent",
                role_given=row.get("role") or None,
                manager=row.get("manager") or None,
                slack=row.get("slack") or None,
                telegram=row.get("telegram") or None,
                lang=row.get("lang") or None,
                name_en=row.get("name_en") or None,
                row=number,
            )  # fmt: skip
        )
    if not specs:
        problems.append(_("The file has no members."))
    return specs, problems


@member_app.command(
    "set",
    help="Change a member: role, manager, language, Slack or Telegram id (re-link; another "
    "messenger: kpibot member link).",
)
def member_set(
    team: str = typer.Option(..., "--team", help="The team's name."),
    name: str = typer.Option(..., "--name", help="The member's name."),
    role: str | None = typer.Option(
        None, "--role", help="agent, manager, admin or qa (客服, 主管, 管理员, 质检)."
    ),
    manager: str | None = typer.Option(
        None, "--manager", help="The direct manager's name; - for none."
    ),
    slack: str | None = typer.Option(
        None, "--slack", metavar="USER_ID", help="Slack user id; - to unlink."
    ),
    telegram: str | None = typer.Option(
        None, "--telegram", metavar="USER_ID", help="Telegram user id; - to unlink."
    ),
    lang: str | None = typer.Option(None, "--lang", help="zh or en; - for the team's."),
    name_en: str | None = typer.Option(None, "--name-en", help="English display name; - for none."),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    from commands.admin import MemberUpdate, update_members
    from commands.problems import AdminError

    _ = _translator(lang_ui)
    update = MemberUpdate(
        team=team,
        name=name,
        role=role,
        manager=manager,
        slack=slack,
        telegram=telegram,
        lang=lang,
        name_en=name_en,
    )
    try:
        with _session(db) as session:
            plan = update_members([update], session=session, actor="cli", now=_now())[0]
            lines = plan.lines(_)
            shown = plan.member.name
    except AdminError as exc:
        fail(exc.lines(_))
    if not lines:
        typer.echo(_("Nothing to change: {name} already has these settings.", name=shown))
        return
    typer.echo("\n".join([_("{name} updated:", name=shown)] + ["  " + line for line in lines]))


@member_app.command("link")
def member_link(
    team: str = typer.Option(..., "--team", help="The team's name."),
    name: str = typer.Option(..., "--name", help="The member's name."),
    platform: str = typer.Option(
        ..., "--platform", help="The messenger: feishu, slack, telegram (bot.messengers)."
    ),
    id_: str = typer.Option(
        ..., "--id", metavar="ID", help="Their id there (Feishu: open_id ou_…); - to unlink."
    ),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    """Link a member to their account on any messenger kpibot speaks, or unlink it."""
    import re

    from bot import messengers
    from storage import repo

    _ = _translator(lang_ui)
    messenger = messengers.messenger(platform.strip().lower())
    if messenger is None:
        known = ", ".join(m.platform for m in messengers.MESSENGERS)
        fail([_("kpibot has no messenger called {platform}: use one of {known}.",
                 platform=platform, known=known)])  # fmt: skip
    label = _(messenger.name)
    value = id_.strip()
    if value != "-" and messenger.id_pattern and not re.match(messenger.id_pattern, value):
        fail([_("{value} is not a {messenger} id (it looks like {example}).",
                 value=value, messenger=label, example=messenger.id_example)])  # fmt: skip
    with _session(db) as session:
        team_row = repo.get_team_by_name(session=session, name=team)
        if team_row is None:
            fail([_("There is no team called {team}.", team=team)])
        member = repo.get_member_by_name(session=session, team=team_row, name=name)
        if member is None:
            fail([_("There is no member {name} in team {team}.", name=name, team=team)])
        if value == "-":
            before = member.external_id(messenger.platform)
            member.set_external_id(messenger.platform, None)
            session.add(member)
            repo.append_audit(
                session=session, actor="cli", action=f"member.unlink_{messenger.platform}",
                entity="member", entity_id=member.id, before={"external_id": before},
                reason="kpibot member link --id -", at=_now(),
            )  # fmt: skip
            text = _(
                "{name} is no longer linked on {messenger}.", name=member.name, messenger=label
            )
        else:
            try:
                repo.link_platform(
                    session=session, member=member, platform=messenger.platform, user_id=value,
                    actor="cli", reason="kpibot member link", now=_now(),
                )  # fmt: skip
            except repo.IdentityTaken:
                fail([_("{messenger} user {value} is already linked to another member.",
                         messenger=label, value=value)])  # fmt: skip
            text = _("{name} ({team}) is now linked to {messenger} user {value}.",
                     name=member.name, team=team, messenger=label, value=value)  # fmt: skip
    typer.echo(text)


def _set_active(team: str, name: str, lang_ui: str | None, db: str | None, *, active: bool) -> None:
    from commands.admin import active_text, set_active
    from storage import repo

    _ = _translator(lang_ui)
    with _session(db) as session:
        team_row = repo.get_team_by_name(session=session, name=team)
        if team_row is None:
            fail([_("There is no team called {team}.", team=team)])
        member = repo.get_member_by_name(session=session, team=team_row, name=name)
        if member is None:
            fail([_("There is no member {name} in team {team}.", name=name, team=team)])
        if member.active == active:
            fail([_("{name} is already active.", name=member.name) if active
                  else _("{name} is already marked as left.", name=member.name)])  # fmt: skip
        released = set_active(member, active, session=session, actor="cli", now=_now())
        text = active_text(_, member, released, team_row.name)
    typer.echo(text)


@member_app.command("remove")
def member_remove(
    team: str = typer.Option(..., "--team", help="The team's name."),
    name: str = typer.Option(..., "--name", help="The member who left."),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    """Mark someone who left: history kept, no new periods, no messages, decides nothing."""
    _set_active(team, name, lang_ui, db, active=False)


@member_app.command("restore")
def member_restore(
    team: str = typer.Option(..., "--team", help="The team's name."),
    name: str = typer.Option(..., "--name", help="The member who is back."),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    """Make a member who left active again."""
    _set_active(team, name, lang_ui, db, active=True)


@member_app.command(
    "import",
    help="Add every member of a CSV file (and change existing ones with --update), or nothing "
    "when any row has a problem.",
)
def member_import(
    file: Path = typer.Argument(
        ..., metavar="people.csv", help="CSV: team,name,role[,manager,slack,telegram,lang,name_en]."
    ),
    team: str | None = typer.Option(None, "--team", help="The team of rows without a team column."),
    update: bool = typer.Option(
        False,
        "--update",
        help="Change members already there (an empty cell keeps the value, - clears it).",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="List what would be added and changed; store nothing."
    ),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    from commands.admin import add_members, update_members
    from commands.problems import AdminError

    _ = _translator(lang_ui)
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail([_("Cannot read {file}: {error}", file=str(file), error=exc.strerror or str(exc))])
    specs, problems = read_people(data, default_team=team, _=_)
    if problems:
        fail(problems)
    report: list[str] = []
    try:
        with _session(db) as session:
            existing = [s for s in specs if _exists(s, session=session)] if update else []
            new = [s for s in specs if s not in existing]
            add_members(new, session=session, actor="cli", now=_now())  # new managers first
            changes = update_members(
                [_as_update(s) for s in existing], session=session, actor="cli", now=_now()
            )
            for spec in new:
                report.append(_("+ {name} ({team}, {role})", name=spec.name.strip(), team=spec.team,
                                role=_role(_, spec.role)))  # fmt: skip
            for plan in changes:
                if plan.changes:
                    report.append(
                        _(
                            "~ {name}: {changes}",
                            name=plan.member.name,
                            changes=_("; ").join(plan.lines(_)),
                        )
                    )
            unchanged = sum(1 for plan in changes if not plan.changes)
            if dry_run:
                # the same checks and the same plan as the real import, stored nowhere
                session.rollback()
    except AdminError as exc:
        hint = (
            []
            if update
            else [
                _(
                    "To change members who are already there, run the import again with --update "
                    "(see what would change with --dry-run)."
                )
            ]
        )
        fail(
            exc.lines(_) + hint
            if any("already has a member" in p.message for p in exc.problems)
            else exc.lines(_)
        )
    changed = sum(1 for plan in changes if plan.changes)
    for line in report:
        typer.echo(line)
    if dry_run:
        typer.echo(
            _(
                "Dry run: {added} would be added, {changed} changed, {same} unchanged; nothing was "
                "stored.",
                added=len(new),
                changed=changed,
                same=unchanged,
            )
        )
    elif update:
        typer.echo(
            _(
                "{added} members added, {changed} changed, {same} unchanged.",
                added=len(new),
                changed=changed,
                same=unchanged,
            )
        )
    else:
        typer.echo(_("{n} members added.", n=len(new)))


def _role(_: Translate, role: str) -> str:
    from commands.admin import parse_role
    from commands.problems import role_name

    return role_name(_, parse_role(role))


def _exists(spec: MemberSpec, *, session: Session) -> bool:
    from storage import repo

    team = repo.get_team_by_name(session=session, name=spec.team)
    return (
        team is not None
        and repo.get_member_by_name(session=session, team=team, name=spec.name) is not None
    )


def _as_update(spec: MemberSpec) -> MemberUpdate:
    from commands.admin import MemberUpdate

    return MemberUpdate(
        team=spec.team,
        name=spec.name,
        role=spec.role_given,
        manager=spec.manager,
        slack=spec.slack,
        telegram=spec.telegram,
        lang=spec.lang,
        name_en=spec.name_en,
        row=spec.row,
    )


alias_app = typer.Typer(
    help="A member's accounts in the systems exports come from (旺旺 sub-account, JD UID, Avaya "
    "login, e-mail).",
    no_args_is_help=True,
)
SourceOption = typer.Option(
    ...,
    "--source",
    help="taobao, jd, pinduoduo, zendesk, freshdesk, genesys, avaya or a mapping's source.",
)


def _alias_change(
    action: str, team: str, name: str, source: str, alias: str, lang_ui: str | None, db: str | None
) -> None:
    from commands.aliases import add_alias, change_text, remove_alias
    from commands.problems import AdminError

    _ = _translator(lang_ui)
    do = add_alias if action == "add" else remove_alias
    try:
        with _session(db) as session:
            change = do(
                session, team=team, name=name, source=source, alias=alias, actor="cli", now=_now()
            )
    except AdminError as exc:
        fail(exc.lines(_))
    typer.echo(change_text(change, _, added=action == "add"))


@alias_app.command("add")
def alias_add(
    team: str = typer.Option(..., "--team", help="The team's name."),
    name: str = typer.Option(..., "--name", help="The member's name."),
    source: str = SourceOption,
    alias: str = typer.Option(
        ..., "--alias", help="The account as the export writes it, e.g. 示例旗舰店:小雨."
    ),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    """Give a member an account in a source: imports of that source find them by it."""
    _alias_change("add", team, name, source, alias, lang_ui, db)


@alias_app.command("remove")
def alias_remove(
    team: str = typer.Option(..., "--team", help="The team's name."),
    name: str = typer.Option(..., "--name", help="The member's name."),
    source: str = SourceOption,
    alias: str = typer.Option(..., "--alias", help="The account to remove."),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    """Take an account away from a member (audited)."""
    _alias_change("remove", team, name, source, alias, lang_ui, db)


@alias_app.command("list")
def alias_list(
    team: str = typer.Option(..., "--team", help="The team's name."),
    name: str | None = typer.Option(None, "--name", help="Only this member."),
    lang_ui: str | None = LangOption,
    db: str | None = DbOption,
) -> None:
    """Each member's accounts, by source."""
    from commands.aliases import alias_lines
    from commands.problems import AdminError

    _ = _translator(lang_ui)
    try:
        with _session(db) as session:
            lines = alias_lines(session, team=team, name=name, _=_)
    except AdminError as exc:
        fail(exc.lines(_))
    typer.echo("\n".join(lines))


member_app.add_typer(alias_app, name="alias")


def register(app: typer.Typer) -> None:
    app.add_typer(team_app, name="team")
    app.add_typer(member_app, name="member")

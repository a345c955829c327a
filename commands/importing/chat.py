"""``/import`` in chat, for admins: a file sent to kpibot, the imports of a team, undo one.

    (a file, captioned)  demo 2026-10 qianniu_performance
    /import TEAM PERIOD MAPPING      (for the file kpibot asked about)
    /import list [TEAM] [2026-10]
    /import undo N

An export sent to kpibot in a Slack DM or a Telegram or Feishu private chat is imported with the
same use case as ``kpibot import FILE`` (:func:`~commands.importing.store.import_file`), so
the answer is the CLI's: the summary, or every problem and nothing stored. The caption
names the team, the period and the mapping in any order; when it leaves one out, kpibot
asks, offering the mappings whose columns fit the file, and the file waits an hour for the
answer (:mod:`storage.chat_files`). A file over :data:`CHAT_FILE_MAX_BYTES` or of a kind kpibot
does not read is refused before it is downloaded where the platform's event says the size
(Slack, Telegram), and once downloaded on Feishu, whose event does not.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import PurePath

from commands import permissions
from commands.context import Command, Context, Handler
from commands.importing.mapping import known_mappings, load_mapping
from commands.importing.problems import ImportRefused
from commands.importing.reading import header_of, match_columns
from commands.importing.store import ImportReport, import_file, list_imports, undo_import
from commands.messages import FileUnavailable, Reply, SharedFile
from storage import chat_files, repo
from storage.models.chat_files import PendingFile

_PERIOD = re.compile(r"^\d{4}-(\d{2}|Q[1-4])$", re.IGNORECASE)
CHAT_FILE_MAX_BYTES = 20 * 1024 * 1024
"""The largest file kpibot takes in chat (Telegram's Bot API hands bots files up to 20 MB);
bigger exports go through ``kpibot import FILE`` (up to 256 MB)."""
READABLE = (".csv", ".txt", ".tsv", ".xlsx", ".xls", ".ods")
WAITS = timedelta(hours=1)
N_ = permissions.N_
WHAT = {
    "team": N_("the team"),
    "period": N_("the period (e.g. 2026-10)"),
    "mapping": N_("the mapping"),
}


def import_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    permissions.require(permissions.can_administer(ctx.actor))
    words = args.split()
    if ctx.incoming.file is not None:
        return _file_sent(ctx, ctx.incoming.file, words)
    usage = _(
        "Usage: send me the export file with the team, period and mapping as its caption "
        "(demo 2026-10 qianniu_performance) · /import list [TEAM] [2026-10] · /import undo N"
    )
    if words[:1] == ["list"] and len(words) <= 3:
        rest = words[1:]
        period = next((w.upper() for w in rest if _PERIOD.match(w)), None)
        names = [w for w in rest if not _PERIOD.match(w)]
        if len(names) > 1:
            return [Reply(text=usage, ephemeral=True)]
        if names:
            team_name = names[0]
        else:
            team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
            assert team is not None
            team_name = team.name
        listing = list_imports(ctx.session, team=team_name, period_key=period)
        return [Reply(text="\n".join(listing.lines(ctx.lang)), ephemeral=True)]
    if words[:1] == ["undo"] and len(words) == 2:
        number = words[1].lstrip("#")
        if not number.isdigit():
            return [Reply(text=usage, ephemeral=True)]
        report = undo_import(
            ctx.session,
            import_id=int(number),
            actor=repo.actor_of(ctx.actor),
            lang=ctx.lang,
            now=ctx.now,
        )
        return [Reply(text="\n".join(report.lines(ctx.lang)), ephemeral=not report.ok)]
    assert ctx.actor.id is not None
    pending = chat_files.waiting(session=ctx.session, member_id=ctx.actor.id, now=ctx.now)
    if pending is not None and words:
        return _go_on(ctx, pending, words)
    return [Reply(text=usage, ephemeral=True)]


def _follow_up(ctx: Context, text: str) -> list[Reply]:
    """A plain answer (``demo 2026-10 qianniu_performance``) to kpibot's question about a file."""
    if (
        ctx.actor.id is None
        or ctx.incoming.file is not None
        or not permissions.can_administer(ctx.actor)
    ):
        return []
    pending = chat_files.waiting(session=ctx.session, member_id=ctx.actor.id, now=ctx.now)
    if pending is None:
        return []
    chosen, unknown = _choices(ctx, text.split())
    if unknown or not chosen:
        return []  # not an answer about the file: other handlers may know it
    return _go_on(ctx, pending, text.split())


def _file_sent(ctx: Context, file: SharedFile, words: list[str]) -> list[Reply]:
    _ = ctx._
    if ctx.incoming.chat != "private":
        return [
            Reply(
                text=_(
                    "Send export files to me in a direct message: in a group everyone sees them."
                ),
                ephemeral=True,
            )
        ]
    if file.size > CHAT_FILE_MAX_BYTES:
        return [
            Reply(
                text=_(
                    "{file} is {size} MB; in chat I take files up to {limit} MB. Import it with "
                    "kpibot import FILE --team TEAM --period 2026-10 --mapping NAME (up to 256 "
                    "MB).",
                    file=file.name,
                    size=round(file.size / 1024 / 1024, 1),
                    limit=CHAT_FILE_MAX_BYTES // 1024 // 1024,
                ),
                ephemeral=True,
            )
        ]
    suffix = PurePath(file.name).suffix.lower()
    if suffix not in READABLE:
        return [
            Reply(
                text=_(
                    "{file}: kpibot reads .csv, .txt, .xlsx, .xls and .ods files, not {suffix}.",
                    file=file.name,
                    suffix=suffix or "—",
                ),
                ephemeral=True,
            )
        ]
    if file.fetch is None:
        return [
            Reply(
                text=_("This chat cannot hand me files; import it with kpibot import FILE."),
                ephemeral=True,
            )
        ]
    try:
        data = file.fetch()
    except FileUnavailable:
        return [
            Reply(
                text=_("I could not download {file}; please send it again.", file=file.name),
                ephemeral=True,
            )
        ]
    if len(data) > CHAT_FILE_MAX_BYTES:
        return [
            Reply(
                text=_(
                    "{file} is larger than {limit} MB; import it with kpibot import FILE.",
                    file=file.name,
                    limit=CHAT_FILE_MAX_BYTES // 1024 // 1024,
                ),
                ephemeral=True,
            )
        ]
    assert ctx.actor.id is not None
    pending = chat_files.keep(
        session=ctx.session,
        member_id=ctx.actor.id,
        platform=ctx.incoming.platform,
        file_name=file.name,
        data=data,
        chosen={},
        now=ctx.now,
        expires_at=ctx.now + WAITS,
    )
    return _go_on(ctx, pending, words)


def _choices(ctx: Context, words: list[str]) -> tuple[dict[str, str], list[str]]:
    """What each word names: a period (2026-10, 2026-Q4), a mapping, a team; and the rest."""
    chosen: dict[str, str] = {}
    unknown: list[str] = []
    mappings = set(known_mappings())
    for word in words:
        if _PERIOD.match(word):
            chosen["period"] = word.upper()
        elif word in mappings:
            chosen["mapping"] = word
        elif repo.get_team_by_name(session=ctx.session, name=word) is not None:
            chosen["team"] = word
        else:
            unknown.append(word)
    return chosen, unknown


def _go_on(ctx: Context, pending: PendingFile, words: list[str]) -> list[Reply]:
    """Import the waiting file when everything is known; else ask for what is not."""
    _ = ctx._
    said, unknown = _choices(ctx, words)
    chosen = {**pending.chosen, **said}
    teams = repo.list_teams(session=ctx.session)
    if "team" not in chosen and len(teams) == 1:
        chosen["team"] = teams[0].name
    missing = [key for key in ("team", "period", "mapping") if key not in chosen]
    if not missing and not unknown:
        report = _import_waiting(ctx, pending, chosen)
        if report.ok:
            chat_files.forget(session=ctx.session, row=pending)
            return [Reply(text="\n".join(report.lines(ctx.lang)))]
        lines = report.lines(ctx.lang) + [
            _(
                "The file waits an hour: send /import TEAM PERIOD MAPPING to try it with other "
                "choices, or send a corrected file."
            )
        ]
        return [Reply(text="\n".join(lines), ephemeral=True)]
    pending.chosen = chosen
    ctx.session.add(pending)
    lines = []
    if unknown:
        lines.append(
            _(
                "I did not understand {words}: a caption names a team, a period such as 2026-10 "
                "and a mapping.",
                words=" ".join(unknown),
            )
        )
    fits = fitting_mappings(pending.data, pending.file_name) if "mapping" in missing else []
    if missing:
        lines.append(
            _(
                "To import {file}, tell me {what}, for example: {example}",
                file=pending.file_name,
                what=[_(WHAT[k]) for k in missing],
                example=_example(chosen, fits),
            )
        )
    else:
        lines.append(
            _(
                "To import {file}, send for example: {example}",
                file=pending.file_name,
                example=_example(chosen, fits),
            )
        )
    if "mapping" in missing:
        lines.append(_fitting_line(ctx, fits))
    if "team" in missing:
        lines.append(_("Teams: {names}", names=", ".join(t.name for t in teams)))
    return [Reply(text="\n".join(lines), ephemeral=True)]


def _import_waiting(ctx: Context, pending: PendingFile, chosen: dict[str, str]) -> ImportReport:
    return import_file(
        ctx.session,
        team=chosen["team"],
        period_key=chosen["period"],
        mapping=chosen["mapping"],
        data=pending.data,
        file_name=pending.file_name,
        actor=repo.actor_of(ctx.actor),
        lang=ctx.lang,
        now=ctx.now,
    )


def _example(chosen: dict[str, str], fits: list[str]) -> str:
    team = chosen.get("team") or "demo"
    period = chosen.get("period") or "2026-10"
    mapping = chosen.get("mapping") or (fits[0] if fits else "qianniu_performance")
    return f"/import {team} {period} {mapping}"


def fitting_mappings(data: bytes, file_name: str) -> list[str]:
    """The shipped mappings whose required columns the file's header has."""
    fits: list[str] = []
    for name in known_mappings():
        try:
            mapping = load_mapping(name)
            _found, problems = match_columns(header_of(data, file_name, mapping), mapping.columns)
        except ImportRefused:
            continue
        if not any(p.code in ("missing_columns", "duplicate_column") for p in problems):
            fits.append(name)
    return fits


def _fitting_line(ctx: Context, fits: list[str]) -> str:
    _ = ctx._
    if not fits:
        return _(
            "No mapping's columns fit this file; the mappings are: {names}. docs/importing.md says "
            "how to write one.",
            names=", ".join(known_mappings()),
        )
    shown = []
    for name in fits:
        mapping = load_mapping(name)
        title = mapping.title_zh if ctx.lang == "zh" else mapping.title_en
        shown.append(f"{name} ({title})" if title else name)
    return _("Mappings whose columns fit this file: {names}", names="; ".join(shown))


COMMANDS: tuple[Command, ...] = (
    Command(
        "import",
        import_command,
        permissions.ADMINS,
        what=N_(
            "KPI exports: send me the file (caption: team, period, mapping) to import it; list the "
            "imports; undo one"
        ),
        example="/import list demo 2026-10",
        refusal=N_("The command /import is not available to you: only an admin imports KPI data."),
    ),
)
TEXT_HANDLER: Handler = _follow_up

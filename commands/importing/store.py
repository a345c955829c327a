"""Storing a checked file: one transaction, an import record, audited values.

:func:`import_file` is the use case the CLI and the chat admin action call. It
writes nothing until the whole file has passed :func:`~commands.importing.validation.prepare`;
then, in the caller's unit of work, it records the import, replaces the values of
the import it supersedes (same team, period and kind), stores every value with its
``import_id``, recomputes the indicators that need two files (complaint share needs
complaints and sessions) and appends an audit entry. The caller's unit of work
commits, or rolls everything back if anything raises.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, cast

import pandas as pd
from sqlmodel import Session

from commands.explain import value_text
from commands.i18n import Translate, normalize_lang, translator
from commands.importing.mapping import Mapping, load_mapping
from commands.importing.parsing import period_bounds
from commands.importing.problems import ImportRefused, Problem, render_problems
from commands.importing.validation import (
    PeriodInfo,
    Prepared,
    Progress,
    Roster,
    _silent,
    name_key,
    prepare,
)
from commands.people import TeamClock
from scoring import Scheme, kpi, parse_scheme
from storage import repo
from storage.models import DataImport, ImportChange, Member, Period, Team
from storage.types import quantize

WRITABLE_STATUSES = ("planned", "open", "closed")
AGENTS_SHOWN = 5
SOURCE_IMPORT = "import"
SOURCE_DERIVED = "derived"


@dataclass(frozen=True)
class Replaced:
    """The values of one earlier import that a new import supplied again."""

    import_id: int
    file_name: str
    count: int
    agents: tuple[str, ...]
    kept: int

    def line(self, _: Translate) -> str:
        shown = ", ".join(self.agents[:AGENTS_SHOWN])
        if len(self.agents) > AGENTS_SHOWN:
            shown = _(
                "{names} and {count} more", names=shown, count=len(self.agents) - AGENTS_SHOWN
            )
        if self.kept:
            return _(
                "It replaces {count} values of import #{id} ({file}) for {agents}; "
                "its other {kept} values (other agents and indicators) are unchanged.",
                count=self.count,
                id=self.import_id,
                file=self.file_name,
                agents=shown,
                kept=self.kept,
            )
        return _(
            "It replaces all {count} values of import #{id} ({file}), for {agents}.",
            count=self.count,
            id=self.import_id,
            file=self.file_name,
            agents=shown,
        )


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or every reason it did nothing. Render with :meth:`lines`."""

    status: Literal["imported", "unchanged", "refused"]
    file_name: str
    team: str
    period: str
    mapping: str
    problems: tuple[Problem, ...] = ()
    encoding: str = ""
    rows: int = 0
    agents: int = 0
    values: int = 0
    indicators: tuple[str, ...] = ()
    import_id: int | None = None
    replaced: tuple[Replaced, ...] = ()
    earlier_at: datetime | None = None
    earlier_by: str = ""
    skipped: tuple[tuple[str, int], ...] = ()
    blank_rows: int = 0
    no_value_cells: int = 0
    zero_cells: int = 0
    daily: bool = False
    """The file had one row per agent per day, combined into the period."""
    weight: str = ""
    """Daily rows: the column that weighted rates and averages ("" when there was none to
    weight)."""
    ratings: int = 0
    """Customer ratings the file brought (they feed the customer component)."""

    @property
    def ok(self) -> bool:
        return self.status != "refused"

    def lines(self, lang: str | None) -> list[str]:
        _ = translator(lang)
        if self.status == "refused":
            head = _(
                "{file} was not imported; nothing was stored. Fix these problems and import it "
                "again:",
                file=self.file_name,
            )
            return [head, *(f"• {line}" for line in render_problems(self.problems, _))]
        if self.status == "unchanged":
            when = self.earlier_at.strftime("%Y-%m-%d %H:%M UTC") if self.earlier_at else "?"
            return [
                _(
                    "{file} was already imported for {team} {period} on {when} by {who} (import "
                    "#{id}); nothing changed.",
                    file=self.file_name,
                    team=self.team,
                    period=self.period,
                    when=when,
                    who=self.earlier_by,
                    id=self.import_id,
                )
            ]
        lines = [
            _(
                "Imported {file} into {team} {period} as import #{id}: {rows} rows, {agents} "
                "agents, {values} values.",
                file=self.file_name,
                team=self.team,
                period=self.period,
                id=self.import_id,
                rows=self.rows,
                agents=self.agents,
                values=self.values,
            ),
            _(
                "Encoding: {encoding}. Mapping: {mapping}.",
                encoding=self.encoding,
                mapping=self.mapping,
            ),
            _("Indicators: {names}.", names=", ".join(self.indicators)),
        ]
        if self.skipped:
            lines.append(
                _(
                    "Left out {count} rows that are not agents: {rows}.",
                    count=sum(n for _name, n in self.skipped),
                    rows=", ".join(name if n == 1 else f"{name} ×{n}" for name, n in self.skipped),
                )
            )
        if self.blank_rows:
            lines.append(_("Left out {count} blank rows.", count=self.blank_rows))
        if self.no_value_cells:
            lines.append(
                _(
                    "{count} cells had no value (empty, -, N/A or the like): those values are "
                    "missing, not 0.",
                    count=self.no_value_cells,
                )
            )
        if self.zero_cells:
            lines.append(
                _("{count} empty cells were read as 0, as the mapping says.", count=self.zero_cells)
            )
        if self.daily and not self.weight:
            lines.append(
                _(
                    "Days combined: {days} daily rows into {agents} agents (counts summed, rates "
                    "recomputed from the sums).",
                    days=self.rows,
                    agents=self.agents,
                )
            )
        elif self.daily:
            lines.append(
                _(
                    "Days combined: {days} daily rows into {agents} agents (counts summed, rates "
                    "and averages weighted by {weight}).",
                    days=self.rows,
                    agents=self.agents,
                    weight=self.weight,
                )
            )
        if self.ratings:
            lines.append(
                _(
                    "Customer ratings from the file: {count} (they count in the customer score "
                    "beside the survey page's).",
                    count=self.ratings,
                )
            )
        lines += [r.line(_) for r in self.replaced]
        if self.replaced:
            lines.append(
                _(
                    "The audit log keeps the old values; kpibot import undo {id} puts them back.",
                    id=self.import_id,
                )
            )
        return lines


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def roster_of(session: Session, team: Team, source: str = "") -> Roster:
    """The team's names, and its members' accounts in ``source`` (the mapping's)."""
    members: dict[str, int] = {}
    for member in repo.list_members(session=session, team=team, active_only=False):
        assert member.id is not None
        members[member.name] = member.id
        if member.name_en:
            members.setdefault(member.name_en, member.id)
    aliases = (
        {a.alias: a.member_id for a in repo.list_aliases(session=session, team=team, source=source)}
        if source
        else {}
    )
    return Roster(team.name, members, aliases)


def _decimal(
    indicator: str, value: float, declared: dict[str, kpi.FieldType] | None = None
) -> Decimal:
    """Money to the cent, counts whole, everything else to 10 decimal places."""
    kind = (
        kpi.MEASURES[indicator].type
        if indicator in kpi.MEASURES
        else kpi.INDICATOR_TYPES.get(indicator)
    )
    if kind is None and declared:
        kind = declared.get(indicator)
    if kind == "money" or indicator == "order_amount":
        return Decimal(f"{value:.2f}")
    if kind == "count":
        return Decimal(round(value))
    return Decimal(f"{value:.10f}")


def import_file(
    session: Session,
    *,
    team: str,
    period_key: str,
    mapping: str | Mapping,
    data: bytes,
    file_name: str,
    actor: str,
    lang: str | None = None,
    now: datetime | None = None,
    progress: Progress = _silent,
) -> ImportReport:
    """Import one export file; nothing is written unless every check passes.

    ``lang`` is only used for the audit entry's reason; render the report with
    ``report.lines(lang)``. ``progress`` is called with each finished step's name
    (read, parse, check, store): the CLI drives a progress bar with it.
    """
    mapping_name = mapping if isinstance(mapping, str) else mapping.name
    base: dict[str, Any] = {
        "file_name": file_name,
        "team": team,
        "period": period_key,
        "mapping": mapping_name,
    }
    try:
        team_row = repo.get_team_by_name(session=session, name=team)
        if team_row is None:
            raise ImportRefused([Problem("team_unknown", {"team": team})])
        bounds = period_bounds(period_key)
        if bounds is None:
            raise ImportRefused([Problem("period_invalid", {"period": period_key})])
        loaded = load_mapping(mapping) if isinstance(mapping, str) else mapping
        base["mapping"] = loaded.name
        period = repo.get_period(session=session, team=team_row, key=period_key)
        if period is not None and period.status not in WRITABLE_STATUSES:
            raise ImportRefused(
                [Problem("period_closed", {"period": period_key, "status": period.status})]
            )
        digest = sha256_of(data)
        if period is not None:
            earlier = _same_file(session, period, digest, loaded)
            if earlier is not None:
                return ImportReport(
                    "unchanged",
                    **base,
                    import_id=earlier.id,
                    encoding=earlier.encoding or "",
                    rows=earlier.row_count,
                    earlier_at=earlier.imported_at,
                    earlier_by=earlier.imported_by,
                )
        starts_on, ends_on = (period.starts_on, period.ends_on) if period is not None else bounds
        info = PeriodInfo(period_key, starts_on, ends_on, team_row.timezone)
        prepared = prepare(
            data, file_name, loaded, roster_of(session, team_row, loaded.source), info, progress
        )
        if prepared.values.dropna(how="all").empty:
            raise ImportRefused([Problem("nothing_to_store")])
    except ImportRefused as refused:
        return ImportReport("refused", **base, problems=tuple(refused.problems))
    if period is None:
        period = repo.get_or_create_period(session=session, team=team_row, key=period_key)
    report = _store(session, team_row, period, prepared, digest, file_name, actor, lang, now, base)
    progress("store")
    return report


def _same_file(
    session: Session, period: Period, digest: str, mapping: Mapping
) -> DataImport | None:
    found = repo.find_import(session=session, period=period, sha256=digest)
    if found is not None and found.mapping_name == mapping.name:
        return found
    return None


def _store(
    session: Session,
    team: Team,
    period: Period,
    prepared: Prepared,
    digest: str,
    file_name: str,
    actor: str,
    lang: str | None,
    now: datetime | None,
    base: dict[str, Any],
) -> ImportReport:
    mapping = prepared.mapping
    reason = translator(lang)("import of {file}", file=file_name)
    record = repo.record_import(
        session=session,
        team=team,
        period=period,
        file_name=file_name,
        sha256=digest,
        row_count=prepared.row_count,
        imported_by=actor,
        kind=mapping.kind,
        mapping_name=mapping.name,
        mapping_text=mapping.text,
        encoding=prepared.encoding,
        agent_count=len(prepared.values),
        now=now,
    )
    assert record.id is not None
    members = {m.id: m for m in repo.list_members(session=session, team=team, active_only=False)}
    rows: list[repo.ImportValue] = []
    declared = mapping.declared_types()
    for member_id, row in _with_absent_zeros(session, team, prepared).iterrows():
        for indicator, value in row.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            rows.append(
                (
                    cast(int, member_id),
                    str(indicator),
                    _decimal(str(indicator), float(value), declared),
                    SOURCE_IMPORT,
                )
            )
    changes = repo.store_import_values(
        session=session,
        period=period,
        record=record,
        rows=rows,
        actor=actor,
        reason=reason,
        now=now,
    )
    changes += _derive_across_files(session, period, record, actor, reason, now)
    replaced = _replaced(session, changes, members)
    report = ImportReport(
        "imported",
        **base,
        encoding=prepared.encoding,
        rows=prepared.row_count,
        agents=len(prepared.values),
        values=len(changes),
        import_id=record.id,
        indicators=tuple(c for c in prepared.values.columns if c in kpi.FORMULAS or c in declared),
        replaced=replaced,
        skipped=tuple(prepared.skipped.items()),
        blank_rows=prepared.blank_rows,
        no_value_cells=prepared.no_value_cells,
        zero_cells=prepared.zero_cells,
        daily=mapping.daily,
        weight=prepared.weight_column,
        ratings=int(round(float(kpi.star_counts(prepared.values).to_numpy().sum()))),
    )
    repo.append_audit(
        session=session,
        actor=actor,
        action="data_import.create",
        entity="data_import",
        entity_id=record.id,
        before=None,
        after={
            "file_name": file_name,
            "sha256": digest,
            "rows": prepared.row_count,
            "agents": len(prepared.values),
            "mapping": mapping.name,
            "kind": mapping.kind,
            "encoding": prepared.encoding,
            "values": len(changes),
            "replaced": {str(r.import_id): r.count for r in replaced},
        },
        reason=reason,
        at=now,
    )
    return report


def _with_absent_zeros(session: Session, team: Team, prepared: Prepared) -> pd.DataFrame:
    """A complaints file lists every complaint of the period: the team's active agents with no
    row in it had none, so they get 0 (``kpi.ZERO_WHEN_ABSENT``), not "no data"."""
    zeros = kpi.ZERO_WHEN_ABSENT.get(prepared.mapping.kind, ())
    if not zeros:
        return prepared.values
    agents = repo.list_members(session=session, team=team, roles=["agent"], active_only=True)
    absent = [m.id for m in agents if m.id not in prepared.values.index]
    if not absent:
        return prepared.values
    filler = pd.DataFrame(
        {c: 0.0 for c in zeros}, index=pd.Index(absent, name=prepared.values.index.name)
    )
    return pd.concat([prepared.values, filler])


def _replaced(
    session: Session, changes: list[ImportChange], members: dict[int | None, Member]
) -> tuple[Replaced, ...]:
    """What the new values replaced, per earlier import: how many, whose, what that import keeps."""
    by_import: dict[int, list[ImportChange]] = {}
    for change in changes:
        if change.had_before and change.old_import_id is not None:
            by_import.setdefault(change.old_import_id, []).append(change)
    found = []
    for import_id, replaced in sorted(by_import.items()):
        earlier = repo.get_import(session=session, import_id=import_id)
        assert earlier is not None
        agents = tuple(dict.fromkeys(members[c.member_id].name for c in replaced))
        found.append(
            Replaced(
                import_id,
                earlier.file_name,
                len(replaced),
                agents,
                repo.values_held(session=session, record=earlier),
            )
        )
    return tuple(found)


def _derive_across_files(
    session: Session,
    period: Period,
    record: DataImport,
    actor: str,
    reason: str,
    now: datetime | None,
) -> list[ImportChange]:
    """Indicators whose inputs came from different files (complaint share = complaints / sessions).

    Only values that change are stored (as part of this import, so undoing it puts them back).
    """
    rows = repo.indicator_values(session=session, period=period)
    imported = {(r.member_id, r.indicator) for r in rows if r.source != SOURCE_DERIVED}
    current = {(r.member_id, r.indicator): r.value for r in rows}
    table = pd.DataFrame.from_dict(
        {
            m: {k: float(v) for k, v in vals.items() if v is not None}
            for m, vals in repo.indicator_table(session=session, period=period).items()
        },
        orient="index",
    )
    if table.empty:
        return []
    measures = table[[c for c in table.columns if c in kpi.MEASURES]]
    derived = kpi.derive(measures)
    new: list[repo.ImportValue] = []
    for indicator in (c for c in derived.columns if c in kpi.FORMULAS):
        for member_id, value in derived[indicator].items():
            key = (cast(int, member_id), indicator)
            if key in imported or pd.isna(value):
                continue
            exact = _decimal(indicator, float(value))
            if key in current and current[key] == quantize(exact):
                continue
            new.append((*key, exact, SOURCE_DERIVED))
    return repo.store_import_values(
        session=session, period=period, record=record, rows=new, actor=actor, reason=reason, now=now
    )


# --- the imports of a team: list and undo ------------------------------------------------


@dataclass(frozen=True)
class ImportLine:
    import_id: int
    period: str
    file_name: str
    mapping: str
    imported_by: str
    imported_at: datetime
    rows: int
    agents: int
    status: str
    held: int


@dataclass(frozen=True)
class ImportList:
    team: str
    imports: tuple[ImportLine, ...] = ()
    problems: tuple[Problem, ...] = ()

    def lines(self, lang: str | None) -> list[str]:
        _ = translator(lang)
        if self.problems:
            return render_problems(self.problems, _)
        if not self.imports:
            return [_("No imports for {team} yet.", team=self.team)]
        status = {"active": _("current"), "replaced": _("replaced"), "undone": _("undone")}
        lines = [_("Imports of {team}, newest first:", team=self.team)]
        for i in self.imports:
            lines.append(
                _(
                    "#{id} {period} · {file} · by {who} at {when} · {rows} rows, {agents} agents · "
                    "mapping {mapping} · {status}, holds {held} values",
                    id=i.import_id,
                    period=i.period,
                    file=i.file_name,
                    who=i.imported_by,
                    when=i.imported_at.strftime("%Y-%m-%d %H:%M UTC"),
                    rows=i.rows,
                    agents=i.agents,
                    mapping=i.mapping,
                    status=status.get(i.status, i.status),
                    held=i.held,
                )
            )
        return lines


def list_imports(
    session: Session,
    *,
    team: str,
    period_key: str | None = None,
    names: Callable[[str], str] | None = None,
) -> ImportList:
    """The team's imports, newest first (``kpibot import list``, ``/import list``).

    ``names`` turns an actor label (``member:3``) into a person's name; by default the
    member's name is looked up.
    """
    team_row = repo.get_team_by_name(session=session, name=team)
    if team_row is None:
        return ImportList(team, problems=(Problem("team_unknown", {"team": team}),))
    period = None
    if period_key is not None:
        period = repo.get_period(session=session, team=team_row, key=period_key)
        if period is None:
            return ImportList(team)
    periods = {p.id: p.key for p in repo.list_periods(session=session, team=team_row)}
    who = names or (lambda actor: actor_name(session, actor))
    found = []
    for row in repo.list_team_imports(session=session, team=team_row, period=period):
        assert row.id is not None
        found.append(
            ImportLine(
                row.id,
                periods.get(row.period_id, "?"),
                row.file_name,
                row.mapping_name or "",
                who(row.imported_by),
                row.imported_at,
                row.row_count,
                row.agent_count,
                row.status,
                repo.values_held(session=session, record=row),
            )
        )
    return ImportList(team_row.name, tuple(found))


def actor_name(session: Session, actor: str) -> str:
    """``member:3`` → the member's name; other labels (``cli``) as they are."""
    kind, _, number = actor.partition(":")
    if kind == "member" and number.isdigit():
        member = repo.get_member(session=session, member_id=int(number))
        if member is not None:
            return member.name
    return actor


@dataclass(frozen=True)
class UndoReport:
    import_id: int
    file_name: str = ""
    restored: int = 0
    kept: int = 0
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self, lang: str | None) -> list[str]:
        _ = translator(lang)
        if self.problems:
            return render_problems(self.problems, _)
        lines = [
            _(
                "Import #{id} ({file}) is undone: {count} values are back to what they were before "
                "it.",
                id=self.import_id,
                file=self.file_name,
                count=self.restored,
            )
        ]
        if self.kept:
            lines.append(
                _(
                    "{count} of its values were replaced by a later import since; they stay as "
                    "they are.",
                    count=self.kept,
                )
            )
        return lines


def undo_import(
    session: Session,
    *,
    import_id: int,
    actor: str,
    team: str | None = None,
    lang: str | None = None,
    now: datetime | None = None,
) -> UndoReport:
    """Undo import #``import_id`` (``team``, when given, must be its team): audited."""
    record = repo.get_import(session=session, import_id=import_id)
    team_row = None if record is None else session.get(Team, record.team_id)
    if record is None or team_row is None or (team is not None and team_row.name != team):
        return UndoReport(import_id, problems=(Problem("import_unknown", {"id": import_id}),))
    if record.status == "undone":
        return UndoReport(
            import_id,
            record.file_name,
            problems=(Problem("import_undone_already", {"id": import_id}),),
        )
    period = session.get(Period, record.period_id)
    assert period is not None
    if period.status not in WRITABLE_STATUSES:
        return UndoReport(
            import_id,
            record.file_name,
            problems=(
                Problem("period_locked_undo", {"period": period.key, "status": period.status}),
            ),
        )
    reason = translator(lang)("undo of import #{id} ({file})", id=import_id, file=record.file_name)
    restored, kept = repo.undo_import(
        session=session, period=period, record=record, actor=actor, reason=reason, now=now
    )
    return UndoReport(import_id, record.file_name, restored, kept)


# --- tracing a value back to its file ----------------------------------------------------


@dataclass(frozen=True)
class SourceLine:
    indicator: str
    value: Decimal | None
    source: str
    import_id: int | None
    file_name: str = ""
    sha256: str = ""
    mapping: str = ""
    imported_by: str = ""
    imported_at: datetime | None = None
    status: str = ""


@dataclass(frozen=True)
class SourceReport:
    team: str
    period: str
    agent: str
    lines_: tuple[SourceLine, ...] = field(default_factory=tuple)
    problems: tuple[Problem, ...] = ()
    scheme: Scheme | None = None
    """The period's scheme: indicators are shown by name and their values in their unit."""
    timezone: str = "UTC"
    """The team's zone: when a file was imported, in the team's time."""

    def lines(self, lang: str | None) -> list[str]:
        _ = translator(lang)
        if self.problems:
            return render_problems(self.problems, _)
        if not self.lines_:
            return [
                _(
                    "No values for {agent} in {team} {period}.",
                    agent=self.agent,
                    team=self.team,
                    period=self.period,
                )
            ]
        code = normalize_lang(lang)
        return [_line(line, _, code, self.scheme, self.timezone) for line in self.lines_]


def _source_name(source: str, _: Translate) -> str:
    names = {"import": _("imported"), "derived": _("derived from imports"), "manual": _("typed in")}
    return names.get(source, source)


def _status_name(status: str, _: Translate) -> str:
    return {"active": _("current"), "replaced": _("replaced")}.get(status, status)


def _line(line: SourceLine, _: Translate, lang: str, scheme: Scheme | None, timezone: str) -> str:
    """One value, as the reader reads it: the indicator by name, the value in its unit (¥22,500.00),
    who imported it by name, when in the team's time."""
    indicator = None
    if scheme is not None:
        indicator = next(
            (i for i in scheme.indicators if i.column == line.indicator or i.id == line.indicator),
            None,
        )
    name = indicator.name.get(lang) if indicator is not None else line.indicator
    if line.value is None:
        value = "—"
    elif indicator is not None:
        value = value_text(_, lang, indicator, line.value)
    else:
        value = format(line.value.normalize(), "f")
    source = _source_name(line.source, _)
    if line.import_id is None:
        return _(
            "{indicator} = {value} ({source}, not from an import)",
            indicator=name,
            value=value,
            source=source,
        )
    when = TeamClock.of(timezone).text(line.imported_at) if line.imported_at else "?"
    who = _("the command line") if line.imported_by == "cli" else line.imported_by
    return _(
        "{indicator} = {value} ({source}) from import #{id} {file} (sha256 {sha}…, mapping "
        "{mapping}, by {who} at {when}, {status})",
        indicator=name,
        value=value,
        source=source,
        id=line.import_id,
        file=line.file_name,
        sha=line.sha256[:12],
        mapping=line.mapping,
        who=who,
        when=when,
        status=_status_name(line.status, _),
    )


def source_of(
    session: Session, *, team: str, period_key: str, agent: str, indicator: str | None = None
) -> SourceReport:
    """Where each of an agent's values in a period came from (``kpibot show-source``)."""
    base = SourceReport(team, period_key, agent)
    team_row = repo.get_team_by_name(session=session, name=team)
    if team_row is None:
        return SourceReport(
            team, period_key, agent, problems=(Problem("team_unknown", {"team": team}),)
        )
    roster = roster_of(session, team_row)
    lookup = roster.lookup()
    member_id = lookup.get(name_key(agent))
    if member_id is None:
        import difflib

        close = difflib.get_close_matches(agent, sorted(roster.members), n=3, cutoff=0.4)
        return SourceReport(
            team,
            period_key,
            agent,
            problems=(
                Problem("unknown_agent", {"name": agent, "suggestions": close, "team": team}),
            ),
        )
    period = repo.get_period(session=session, team=team_row, key=period_key)
    member = repo.get_member(session=session, member_id=member_id)
    if period is None or member is None:
        return base
    imports = {i.id: i for i in repo.list_imports(session=session, period=period)}
    scheme_row = repo.scheme_for(session=session, team=team_row, period=period)
    scheme = parse_scheme(scheme_row.text) if scheme_row is not None else None
    found = []
    for row in repo.indicator_values(session=session, period=period, member=member):
        if indicator is not None and row.indicator != indicator:
            continue
        origin = imports.get(row.import_id)
        found.append(
            SourceLine(
                row.indicator,
                row.value,
                row.source,
                row.import_id,
                *(
                    (
                        origin.file_name,
                        origin.sha256,
                        origin.mapping_name or "",
                        actor_name(session, origin.imported_by),
                        origin.imported_at,
                        origin.status,
                    )
                    if origin
                    else ()
                ),
            )
        )
    return SourceReport(team, period_key, agent, tuple(found), scheme=scheme,
                        timezone=team_row.timezone)  # fmt: skip

"""What can be wrong with an import, as codes and parameters, rendered in zh/en at the edge.

A :class:`Problem` carries no text: :func:`render_problem` says it in the reader's
language. Problems of the same kind in the same column with the same value are
merged, listing the first few row numbers, so a file with ten thousand bad cells
reads as a handful of lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from commands.i18n import Translate
from commands.names import N_, period_status

FILE_KINDS = {
    "summary": N_("a summary file (one row per agent)"), "sessions": N_("a sessions file"),
    "orders": N_("an orders file"), "complaints": N_("a complaints file"),
}  # fmt: skip
"""A mapping's kind (``commands.importing.mapping.KINDS``) as people read it."""

ROWS_SHOWN = 5
PROBLEMS_SHOWN = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong: ``code`` names it, ``params`` fill its message, ``rows`` locate it.

    Row numbers are the file's own, as a spreadsheet shows them (the header is row 1).
    ``row_total`` counts every affected row when ``rows`` holds only the first few.
    """

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    rows: tuple[int, ...] = ()
    row_total: int = 0


class ImportRefused(Exception):
    """Raised by a step that cannot go on; carries every problem found so far."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(", ".join(p.code for p in problems))
        self.problems = list(problems)


def at_rows(code: str, rows: Iterable[int], **params: Any) -> Problem:
    """A problem on some rows, keeping the first :data:`ROWS_SHOWN` numbers and the count."""
    listed = list(rows)
    return Problem(code, dict(params), tuple(listed[:ROWS_SHOWN]), len(listed))


def _rows_text(problem: Problem, _: Translate) -> str:
    if not problem.rows:
        return ""
    shown = ", ".join(str(r) for r in problem.rows)
    more = problem.row_total - len(problem.rows)
    if more > 0:
        return _("row {rows} and {n} more", rows=shown, n=more)
    if len(problem.rows) == 1:
        return _("row {rows}", rows=shown)
    return _("rows {rows}", rows=shown)


def _names(values: Iterable[Any]) -> str:
    return ", ".join(str(v) for v in values)


def render_problem(problem: Problem, _: Translate) -> str:  # noqa: C901 - one branch per code
    """One line saying what is wrong, where, and what would fix it."""
    p = problem.params
    code = problem.code
    if code == "encoding_unknown":
        text = _(
            "The file is neither UTF-8 nor GBK/GB18030 text. Save it as CSV UTF-8 and try again."
        )
    elif code == "encoding_utf16":
        text = _("The file is UTF-16 text. Save it as CSV UTF-8 (or .xlsx) and try again.")
    elif code == "encoding_mismatch":
        text = _(
            "The file cannot be read as {encoding}, which the mapping asks for.",
            encoding=p["encoding"],
        )
    elif code == "file_too_large":
        text = _(
            "The file is {size} MB; kpibot imports files up to {limit} MB. Export a shorter period "
            "or fewer columns.",
            size=p["size_mb"],
            limit=p["limit_mb"],
        )
    elif code == "empty_file":
        text = _("The file is empty.")
    elif code == "no_rows":
        text = _("The file has a header but no data rows.")
    elif code == "unreadable":
        text = _("The file cannot be read as CSV: {detail}", detail=p["detail"])
    elif code == "xlsx_unreadable":
        text = _(
            "The file cannot be read as a spreadsheet (.xlsx, .xls, .ods): {detail}",
            detail=p["detail"],
        )
    elif code == "sheet_missing":
        text = _(
            "The workbook has no sheet named {sheet}; it has: {found}.",
            sheet=p["sheet"],
            found=_names(p["found"]),
        )
    elif code == "unsupported_file":
        text = _(
            "kpibot reads .csv, .txt, .xlsx, .xls and .ods files, not {suffix}.", suffix=p["suffix"]
        )
    elif code == "missing_columns":
        text = _(
            "These columns are missing: {expected}. The file has: {found}.",
            expected="; ".join(" / ".join(names) for names in p["expected"]),
            found=_names(p["found"]),
        )
    elif code == "sheet_too_large":
        text = _(
            "The sheet {sheet} is too large to import ({detail}); kpibot reads sheets up to {rows} "
            "rows and {cells} cells. Export a shorter period or fewer columns.",
            sheet=p["sheet"],
            detail=p["detail"],
            rows=p["rows"],
            cells=p["cells"],
        )
    elif code == "duplicate_column":
        text = _("Column {column} appears more than once in the header.", column=p["column"])
    elif code == "unknown_agent":
        if p["suggestions"]:
            text = _(
                "Unknown agent {name}. Did you mean {suggestions}?",
                name=p["name"],
                suggestions=_names(p["suggestions"]),
            )
        else:
            text = _(
                "Unknown agent {name}: not a member of team {team}.", name=p["name"], team=p["team"]
            )
    elif code == "empty_value":
        text = _("Column {column} is empty.", column=p["column"])
    elif code == "not_a_number":
        text = _("Column {column}: {value} is not a number.", column=p["column"], value=p["value"])
    elif code == "not_a_duration":
        text = _(
            "Column {column}: {value} is not a duration (seconds, minutes or mm:ss).",
            column=p["column"],
            value=p["value"],
        )
    elif code == "not_a_flag":
        text = _(
            "Column {column}: {value} is not a yes/no value (use {allowed}).",
            column=p["column"],
            value=p["value"],
            allowed=_names(p["allowed"]),
        )
    elif code == "not_a_time":
        text = _(
            "Column {column}: {value} is not a date and time.", column=p["column"], value=p["value"]
        )
    elif code == "not_whole":
        text = _(
            "Column {column}: {value} is not a whole number.", column=p["column"], value=p["value"]
        )
    elif code == "out_of_range":
        text = _(
            "Column {column}: {value} is outside {low} to {high}.",
            column=p["column"],
            value=p["value"],
            low=p["low"],
            high=p["high"],
        )
    elif code == "outside_period":
        text = _(
            "Column {column}: {value} is outside period {period} ({start} to {end}).",
            column=p["column"],
            value=p["value"],
            period=p["period"],
            start=p["start"],
            end=p["end"],
        )
    elif code == "wrong_period":
        text = _(
            "Column {column}: {value} is not period {period}.",
            column=p["column"],
            value=p["value"],
            period=p["period"],
        )
    elif code == "duplicate_id":
        text = _(
            "Column {column}: {value} appears more than once.", column=p["column"], value=p["value"]
        )
    elif code == "duplicate_agent":
        text = _("Agent {name} has more than one row.", name=p["name"])
    elif code == "duplicate_agent_day":
        text = _(
            "Agent {name} has more than one row for {day}; a daily file has one row per agent per "
            "day.",
            name=p["name"],
            day=p["day"],
        )
    elif code == "agent_spelled_twice":
        text = _(
            "{names} are all {member} (by name or account): one agent, one row; "
            "remove the extra rows or the alias that is wrong.",
            names=_names(p["names"]),
            member=p["member"],
        )
    elif code == "impossible_ratio":
        text = _(
            "Agent {name}: {numerator} is larger than {denominator}; is a column mapped wrongly?",
            name=p["name"],
            numerator=p["numerator"],
            denominator=p["denominator"],
        )
    elif code == "mapping_unknown":
        text = _(
            "No mapping named {name}. Known mappings: {known}.",
            name=p["name"],
            known=_names(p["known"]),
        )
    elif code == "mapping_invalid":
        text = _("The mapping {name} is not valid: {detail}", name=p["name"], detail=p["detail"])
    elif code == "mapping_unknown_field":
        text = _(
            "The mapping {name} maps a column to {field}, which {kind} cannot have.",
            name=p["name"],
            field=p["field"],
            kind=_(FILE_KINDS[p["kind"]]) if p["kind"] in FILE_KINDS else p["kind"],
        )
    elif code == "team_unknown":
        text = _("There is no team named {team}.", team=p["team"])
    elif code == "period_invalid":
        text = _(
            "{period} is not a period; write 2026-10 for a month or 2026-Q4 for a quarter.",
            period=p["period"],
        )
    elif code == "period_closed":
        text = _(
            "Period {period} is {status}; its data can no longer be imported.",
            period=p["period"],
            status=period_status(_, p["status"]),
        )
    elif code == "import_unknown":
        text = _(
            "There is no import #{id} in this team; kpibot import list shows them.", id=p["id"]
        )
    elif code == "import_undone_already":
        text = _("Import #{id} is undone already.", id=p["id"])
    elif code == "period_locked_undo":
        text = _(
            "Period {period} is {status}; its imports can no longer be undone.",
            period=p["period"],
            status=period_status(_, p["status"]),
        )
    elif code == "nothing_to_store":
        text = _("The file gives no indicator value for any agent.")
    else:
        text = _("Problem {code}: {params}", code=code, params=p)
    where = _rows_text(problem, _)
    return _("{where}: {text}", where=where, text=text) if where else text


def render_problems(
    problems: Sequence[Problem], _: Translate, limit: int = PROBLEMS_SHOWN
) -> list[str]:
    """At most ``limit`` lines, then one saying how many more there are."""
    lines = [render_problem(p, _) for p in problems[:limit]]
    more = len(problems) - limit
    if more > 0:
        lines.append(_("… {n} more not shown.", n=more))
    return lines

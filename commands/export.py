"""Exports of a team's period: scores, breakdown, ratings, rewards and penalties, pay, plans,
appeals.

    sheets = build_sheets(session, team, period)  # {sheet key: rows, first row the column keys}
    shown = titled(sheets, team.lang)             # sheet names and headers in the team's language
    data = to_xlsx(shown)                         # one sheet each (openpyxl)
    data = to_zip(shown)                          # one CSV per sheet, in a zip

``kpibot export --team T --period P --out results.xlsx`` (``.zip`` for the CSVs) and the command
``/export [team] [period]`` (a ``FileAttachment``; ``csv`` or ``zip`` as a last word for the CSVs):
an admin exports any team, a manager the teams they manage, without the admin-only columns.

**The team's words.** Every sheet name, header and value is in the team's language (``team.lang``):
names, never ids (an agent, a component, an indicator); statuses, kinds and yes/no in words
(``待提交``, ``奖励``, ``是``). Dates and times are in the team's time zone (:class:`TeamClock`),
as date cells in the .xlsx and ``2026-11-13 23:59`` in a CSV. Numbers are numbers: totals and
points at the scheme's precision, money a Decimal to the cent (``#,##0.00`` in the .xlsx), a share
as a percentage number beside its unit. :func:`build_sheets` keeps the column keys as the header
row (what code and tests look columns up by); :func:`titled` puts the headers into words last, so
:data:`ADMIN_ONLY_COLUMNS` and the tests never depend on a translation.

The scores sheet says of each result whether it is provisional (a part the scheme requires is
missing: no rank, reward or penalty), which parts are missing (their names) and its publication:
final, held back until an admin confirms, published as provisional, empty before publication
(``commands.publication``).

Every text cell is escaped against formula injection: a cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so a spreadsheet shows it
as text instead of running it (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from commands import numbers, permissions, results
from commands.cells import DANGEROUS as DANGEROUS
from commands.cells import safe
from commands.context import Command, Context
from commands.i18n import Translate, translator
from commands.messages import FileAttachment, Reply
from commands.names import component_label
from commands.people import TeamClock
from commands.permissions import N_
from commands.rank import resolve_period, resolve_team, split_args
from scoring import Scheme
from scoring.pay import pay_of
from storage import consequences as store
from storage import repo
from storage.models import Period, Team

Rows = list[list[Any]]
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_MIME = "application/zip"
CENT = Decimal("0.01")
DATE_FORMAT, TIME_FORMAT = "%Y-%m-%d", "%Y-%m-%d %H:%M"

SHEETS: dict[str, str] = {
    "scores": N_("Scores"),
    "breakdown": N_("Score breakdown"),
    "ratings": N_("Customer ratings"),
    "rewards_penalties": N_("Rewards and penalties"),
    "pay": N_("Pay"),
    "improvement_plans": N_("Improvement plans"),
    "appeals": N_("Appeals"),
}
"""Each sheet's key and its name as the team reads it."""

HEADERS: dict[str, str] = {
    "agent": N_("Agent"),
    "total": N_("Total score"),
    "rank": N_("Place"),
    "group_size": N_("Ranked among"),
    "reward": N_("Reward amount"),
    "penalty": N_("Penalty amount"),
    "improvement_due": N_("Improvement plan due"),
    "post_change": N_("Change of post"),
    "star": N_("Star level"),
    "bonus_base": N_("Bonus base"),
    "provisional": N_("Provisional result"),
    "missing": N_("Missing parts"),
    "publication": N_("Publication"),
    "part": N_("Part of the scheme"),
    "name": N_("Name"),
    "value": N_("Value"),
    "unit": N_("Unit"),
    "points": N_("Points scored"),
    "max_or_weight": N_("Full points or weight"),
    "status": N_("Status"),
    "stars": N_("Stars given"),
    "comment": N_("Customer comment"),
    "ref": N_("Order or ticket"),
    "at": N_("Rated at"),
    "kind": N_("Reward or penalty"),
    "amount": N_("Amount"),
    "currency": N_("Currency"),
    "pay_total": N_("Pay total"),
    "held": N_("Held back"),
    "due": N_("Plan due"),
    "submitted": N_("Plan submitted"),
    "cause": N_("Cause"),
    "measures": N_("Measures"),
    "support": N_("Support needed"),
    "decision": N_("Manager's decision"),
    "escalated": N_("Escalated"),
    "id": N_("Appeal number"),
    "component": N_("Part appealed"),
    "reason": N_("Reason"),
    "decision_reason": N_("Decision reason"),
    "before_total": N_("Total before"),
    "before_rank": N_("Place before"),
    "after_total": N_("Total after"),
    "after_rank": N_("Place after"),
}
"""Each column's key and its header as the team reads it (a pay part is headed by its own name)."""

WORDS: dict[str, dict[str, str]] = {
    "component_status": {
        "ok": N_("counted"),
        "excluded": N_("left out: no data"),
        "worst": N_("no data: lowest score"),
        "below_min_excluded": N_("left out: too few to count"),
        "below_min_default": N_("too few to count: default score"),
        "voided": N_("voided: a required indicator was missed"),
    },
    "indicator_status": {
        "ok": N_("counted"),
        "excluded": N_("left out: no data"),
        "worst": N_("no data: lowest score"),
    },
    "part": {"component": N_("Component"), "indicator": N_("Indicator")},
    "publication": {
        "final": N_("published"),
        "held": N_("held back for an admin"),
        "confirmed": N_("published as provisional"),
    },
    "kind": {"reward": N_("Reward"), "penalty": N_("Penalty")},
    "plan_status": {
        "requested": N_("plan requested"),
        "submitted": N_("plan submitted"),
        "approved": N_("plan approved"),
        "returned": N_("plan returned"),
    },
    "appeal_status": {
        "open": N_("appeal open"),
        "upheld": N_("appeal upheld"),
        "rejected": N_("appeal rejected"),
    },
    "currency": {"CNY": N_("CNY (yuan)")},
}
"""Stored codes (statuses, kinds) as the team reads them, by what they are the code of."""

UNITS: dict[str, str] = {
    "fraction": "%", "percent": "%", "seconds": N_("seconds"), "minutes": N_("minutes"),
    "yuan": N_("yuan"), "days": N_("days"), "points": N_("points"),
}  # fmt: skip
"""An indicator value's unit in the breakdown's unit column (a count has none)."""


class Words:
    """The team's words for one export: codes, yes/no, times in the team's zone."""

    def __init__(self, team: Team) -> None:
        self.lang = team.lang
        self._: Translate = translator(team.lang)
        self.clock = TeamClock.of(team)

    def code(self, what: str, value: str | None) -> str | None:
        if value is None:
            return None
        msgid = WORDS[what].get(value)
        return self._(msgid) if msgid else value

    def yes_no(self, value: Any) -> str:
        return self._("Yes") if value else self._("No")

    def moment(self, value: datetime | None) -> datetime | None:
        """An aware moment as the team's wall-clock time (a naive datetime: what a cell can
        hold)."""
        return None if value is None else self.clock.local(value).replace(tzinfo=None)

    def deadline(self, value: datetime | None) -> datetime | None:
        """A deadline as every reply shows it (:meth:`TeamClock.deadline`: an end at midnight is
        the day before's 23:59), as a naive wall-clock cell."""
        return None if value is None else self.clock.last_minute(value).replace(tzinfo=None)


def _money(value: Any) -> Decimal | None:
    """A money cell as a number (Decimal, to the cent), never text: stored amounts come as Decimal
    or str."""
    return None if value is None or value == "" else Decimal(str(value)).quantize(CENT)


def _number(value: Any, places: int) -> float | int | None:
    """A value or a weight (not a result: those are :func:`commands.numbers.cell`) at ``places``
    decimals (a whole number as an int): 83.3, never 83.33333."""
    if value is None or value == "":
        return None
    x = round(float(value), places)
    return int(x) if x.is_integer() else x


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _indicator_cells(
    scheme: Scheme, lang: str, iid: str, value: Any
) -> tuple[str, Any, str | None]:
    """An indicator's name, its value as a number in its unit (a share as a percentage) or a
    level by its name, and that unit."""
    try:
        ind = scheme.indicator(iid)
    except KeyError:
        return iid, value, None
    if value is None:
        return ind.name.get(lang), None, None
    level = ind.method.level_name(float(value))
    if level is not None:
        return ind.name.get(lang), level.zh if lang == "zh" else level.en, None
    x = float(value) * (100 if ind.unit == "fraction" else 1)
    shown: Any = Decimal(str(value)).quantize(CENT) if ind.unit == "yuan" else _number(x, 2)
    unit = UNITS.get(ind.unit)
    return ind.name.get(lang), shown, None if unit is None else translator(lang)(unit)


def build_sheets(session: Session, team: Team, period: Period) -> dict[str, Rows]:
    """The export's sheets, each headed by its column keys (:data:`HEADERS`), values in the team's
    words."""
    words = Words(team)
    lang = words.lang
    outcome = results.period_results(team, period, session=session, store=False)
    scheme = outcome.scheme if outcome is not None else None
    places = scheme.precision if scheme is not None else 1
    sheets: dict[str, Rows] = {}
    scores: Rows = [
        [
            "agent",
            "total",
            "rank",
            "group_size",
            "reward",
            "penalty",
            "improvement_due",
            "post_change",
            "star",
            "bonus_base",
            "provisional",
            "missing",
            "publication",
        ]
    ]
    breakdown: Rows = [
        ["agent", "part", "name", "value", "unit", "points", "max_or_weight", "status"]
    ]
    if outcome is not None and scheme is not None:
        for s in outcome.scored:
            f = s.flags
            scores.append(
                [
                    s.name,
                    numbers.cell(s.total, places),
                    s.rank,
                    s.group_size,
                    _money(f.get("reward_amount")) if f.get("reward") else None,
                    _money(f.get("penalty_amount")) if f.get("penalty") else None,
                    _day(f.get("improvement_due")),
                    words.yes_no(f.get("post_change")),
                    f.get("star"),
                    _money(f.get("bonus_base")),
                    words.yes_no(s.provisional),
                    s.missing_names(scheme, lang) or None,
                    words.code("publication", s.release),
                ]
            )
            for cid, c in (s.breakdown.get("components") or {}).items():
                breakdown.append(
                    [
                        s.name,
                        words.code("part", "component"),
                        component_label(scheme, cid, lang),
                        None,
                        None,
                        numbers.cell(c.get("points"), places),
                        _number(c.get("declared_weight"), places),
                        words.code("component_status", c.get("status")),
                    ]
                )
            for iid, i in (s.breakdown.get("indicators") or {}).items():
                name, value, unit = _indicator_cells(scheme, lang, iid, i.get("value"))
                breakdown.append(
                    [
                        s.name,
                        words.code("part", "indicator"),
                        name,
                        value,
                        unit,
                        numbers.cell(i.get("points"), places),
                        numbers.cell(i.get("max_points"), places),
                        words.code("indicator_status", i.get("status")),
                    ]
                )
    sheets["scores"] = scores
    sheets["breakdown"] = breakdown
    names = {m.id: m.name for m in repo.list_members(session=session, team=team)}
    ratings: Rows = [["agent", "stars", "comment", "ref", "at"]]
    for r in repo.list_customer_ratings(session=session, period=period):
        ratings.append(
            [names.get(r.member_id, "?"), r.stars, r.comment, r.ref, words.moment(r.created_at)]
        )
    sheets["ratings"] = ratings
    payroll: Rows = [["agent", "kind", "amount", "currency"]]
    for e in store.list_payroll(session=session, period=period):
        payroll.append([names.get(e.member_id, "?"), words.code("kind", e.kind), _money(e.amount),
                        words.code("currency", e.currency)])  # fmt: skip
    sheets["rewards_penalties"] = payroll
    sheets["pay"] = pay_sheet(outcome, words)
    plans: Rows = [
        [
            "agent",
            "status",
            "due",
            "submitted",
            "cause",
            "measures",
            "support",
            "decision",
            "escalated",
        ]
    ]
    for p in store.list_plans(session=session, period=period):
        a = p.answers or {}
        plans.append(
            [
                names.get(p.member_id, "?"),
                words.code("plan_status", p.status),
                words.deadline(p.due_at),
                words.moment(p.submitted_at),
                a.get("cause"),
                a.get("measures"),
                a.get("support"),
                p.decision_comment,
                words.moment(p.escalated_at),
            ]
        )
    sheets["improvement_plans"] = plans
    appeals: Rows = [
        [
            "id",
            "agent",
            "component",
            "reason",
            "status",
            "decision_reason",
            "before_total",
            "before_rank",
            "after_total",
            "after_rank",
        ]
    ]
    for ap in store.list_appeals(session=session, period=period):
        part = component_label(scheme, ap.component, lang) if scheme is not None else ap.component
        appeals.append([ap.id, names.get(ap.member_id, "?"), part, ap.reason,
                        words.code("appeal_status", ap.status), ap.decision_reason,
                        numbers.cell(ap.before.get("total"), places), ap.before.get("rank"),
                        numbers.cell(ap.after.get("total"), places),
                        ap.after.get("rank")])  # fmt: skip
    sheets["appeals"] = appeals
    return sheets


def pay_sheet(outcome: results.PeriodResults | None, words: Words) -> Rows:
    """The scheme's pay formula per agent (``[[pay]]``, scoring.pay): one column per part, named as
    the scheme names it in the team's language, then the sum; amounts are numbers (Decimal, to the
    cent). An empty cell is a part whose input is missing, or held while the result is
    provisional."""
    if outcome is None:
        return [["agent", "pay_total", "currency", "held"]]
    scheme = outcome.scheme
    header: list[Any] = [
        "agent",
        *(p.name.get(words.lang) for p in scheme.pay),
        "pay_total",
        "currency",
        "held",
    ]
    rows: Rows = [header]
    if not scheme.pay:
        return rows
    for s in outcome.scored:
        pay = pay_of(scheme, s.breakdown)
        rows.append([s.name, *(_money(line.amount) for line in pay.lines), _money(pay.total),
                     words.code("currency", pay.currency), words.yes_no(pay.held)])  # fmt: skip
    return rows


def titled(sheets: dict[str, Rows], lang: str) -> dict[str, Rows]:
    """The sheets as people read them: each named and its columns headed in ``lang`` (a header
    that is no key, such as a pay part's name, is kept as it is)."""
    _ = translator(lang)
    out: dict[str, Rows] = {}
    for key, rows in sheets.items():
        header = [_(HEADERS[h]) if h in HEADERS else h for h in rows[0]] if rows else []
        out[_(SHEETS[key]) if key in SHEETS else key] = [header, *rows[1:]]
    return out


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(TIME_FORMAT)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    return safe(value)


def csv_table(rows: Rows) -> bytes:
    """One table as UTF-8 CSV (with BOM, so Excel reads Chinese); numbers unquoted, every text
    quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)  # 'a;=1+1;b' stays one cell
    for row in rows:
        writer.writerow([_csv_cell(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_zip(sheets: dict[str, Rows]) -> bytes:
    """One CSV per sheet (``成绩.csv`` …), in a zip: a CSV holds one table."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for i, (name, rows) in enumerate(sheets.items(), start=1):
            book.writestr(f"{i}-{name}.csv", csv_table(rows))
    return out.getvalue()


def _number_format(value: Any) -> str | None:
    """A cell's .xlsx format: a Decimal (money to the cent, a result at the scheme's precision)
    shown with its own places (``#,##0.00``, ``#,##0.0``, ``#,##0``), dates and times as such."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return "#,##0" + ("." + "0" * places if places else "")
    if isinstance(value, datetime):
        return "yyyy-mm-dd hh:mm"
    if isinstance(value, date):
        return "yyyy-mm-dd"
    return None


def to_xlsx(sheets: dict[str, Rows]) -> bytes:
    """One sheet per table; money, dates and times as numbers with their format, a bold header."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = True
    for name, rows in sheets.items():
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = name[:31]
        for row in rows:
            sheet.append([safe(v) for v in row])
        for cell in sheet[1] if rows else ():
            cell.font = Font(bold=True)
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                fmt = _number_format(cell.value)
                if fmt is not None:
                    cell.number_format = fmt
        for column, header in zip(sheet.columns, rows[0] if rows else [], strict=False):
            width = max(len(str(header)) * (2 if not str(header).isascii() else 1), 10)
            sheet.column_dimensions[column[0].column_letter].width = min(width + 2, 40)
        sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


FORMATS = {"xlsx": XLSX_MIME, "zip": ZIP_MIME}
"""What an export can be: the .xlsx (a sheet each) or a zip of CSVs (one a table)."""


def export_bytes(
    session: Session, team: Team, period: Period, fmt: str, *, admin: bool = True
) -> bytes:
    """The export as a file: ``xlsx`` or ``zip``, in the team's language; without the admin-only
    columns unless ``admin``."""
    sheets = build_sheets(session, team, period)
    if not admin:
        sheets = without_admin_columns(sheets)
    shown = titled(sheets, team.lang)
    return to_zip(shown) if fmt == "zip" else to_xlsx(shown)


def file_name(team: Team, period: Period, fmt: str) -> str:
    return f"kpibot-{team.name}-{period.key}.{fmt}"


ADMIN_ONLY_COLUMNS: tuple[str, ...] = ("post_change",)
"""Keys of columns only an admin's export carries: the change-of-post flag is for admins,
never for the team or the person's managers (DOMAIN.md)."""


def without_admin_columns(sheets: dict[str, Rows]) -> dict[str, Rows]:
    """The sheets as a manager's export has them: every :data:`ADMIN_ONLY_COLUMNS` column left
    out."""
    out: dict[str, Rows] = {}
    for name, rows in sheets.items():
        header = rows[0] if rows else []
        keep = [i for i, title in enumerate(header) if title not in ADMIN_ONLY_COLUMNS]
        out[name] = (
            [[row[i] for i in keep if i < len(row)] for row in rows]
            if len(keep) < len(header)
            else rows
        )
    return out


def export(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    words = args.split()
    fmt = "zip" if words and words[-1].lower() in ("csv", "zip") else "xlsx"
    words = [w for w in words if w.lower() not in ("csv", "zip", "xlsx")]
    team_name, key = split_args(" ".join(words))
    team, problem = resolve_team(ctx, team_name)
    if team is None:
        return [problem] if problem else []
    permissions.require(permissions.can_export(ctx.actor, team))
    period, problem = resolve_period(ctx, team, key)
    if period is None:
        return [problem] if problem else []
    data = export_bytes(ctx.session, team, period, fmt, admin=permissions.is_admin(ctx.actor))
    text = (
        _(
            "Results of {team} for {period}: one CSV per table, in a zip.",
            team=team.name,
            period=period.key,
        )
        if fmt == "zip"
        else _("Results of {team} for {period}.", team=team.name, period=period.key)
    )
    return [Reply(text=text, file=FileAttachment(file_name(team, period, fmt), data, FORMATS[fmt]),
                  private=True)]  # fmt: skip


COMMANDS: tuple[Command, ...] = (
    Command(
        "export",
        export,
        permissions.LEADERS,
        what=N_(
            "results, rewards, plans and appeals as a spreadsheet (xlsx, or csv: a zip of CSVs)"
        ),
        example="/export demo 2026-10 csv",
        refusal=permissions.EXPORT_ONLY_LEADERS,
    ),
)

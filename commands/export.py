"""Exports of a team's period: scores, breakdown, ratings, rewards and penalties, pay, plans, appeals.

    sheets = build_sheets(session, team, period)          # {sheet name: rows, first row the header}
    data = to_xlsx(sheets)                                # one sheet each (openpyxl)
    data = to_csv(sheets)                                 # one CSV: the sheets one after another

``kpibot export --team T --period P --out results.xlsx`` (``.csv`` by extension) and the
command ``/export [team] [period]`` (a ``FileAttachment``; ``csv`` as a last word for CSV): an
admin exports any team, a manager the teams they manage, without the admin-only columns.

The scores sheet says of each result whether it is ``provisional`` (a part the scheme requires
is missing: no rank, reward or penalty), which parts are ``missing`` (their names in the team's
language) and its ``publication``: ``final``, ``held`` (kept back until an admin confirms),
``confirmed`` (published provisional), empty before publication (``commands.publication``).

Every text cell is escaped against formula injection: a cell starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so a spreadsheet shows it
as text instead of running it (OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from commands import permissions, results
from commands.cells import DANGEROUS as DANGEROUS
from commands.cells import safe
from commands.context import Command, Context
from commands.messages import FileAttachment, Reply
from commands.permissions import N_
from commands.rank import resolve_period, resolve_team, split_args
from scoring.pay import pay_of
from storage import consequences as store
from storage import repo
from storage.models import Period, Team

Rows = list[list[Any]]
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _money(value: Any) -> Decimal | None:
    """A money cell as a number (Decimal), never text: stored amounts come as Decimal or str."""
    return None if value is None or value == "" else Decimal(str(value))


def build_sheets(session: Session, team: Team, period: Period) -> dict[str, Rows]:
    outcome = results.period_results(team, period, session=session, store=False)
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
    breakdown: Rows = [["agent", "part", "id", "value", "points", "max_or_weight", "status"]]
    if outcome is not None:
        for s in outcome.scored:
            f = s.flags
            scores.append([s.name, None if s.total is None else round(s.total, 4), s.rank, s.group_size,
                           _money(f.get("reward_amount")) if f.get("reward") else None,
                           _money(f.get("penalty_amount")) if f.get("penalty") else None,
                           f.get("improvement_due"), bool(f.get("post_change")), f.get("star"),
                           _money(f.get("bonus_base")), s.provisional, s.missing_names(outcome.scheme, team.lang) or None,
                           s.release])  # fmt: skip
            for cid, c in (s.breakdown.get("components") or {}).items():
                breakdown.append(
                    [
                        s.name,
                        "component",
                        cid,
                        None,
                        c.get("points"),
                        c.get("declared_weight"),
                        c.get("status"),
                    ]
                )
            for iid, i in (s.breakdown.get("indicators") or {}).items():
                breakdown.append(
                    [
                        s.name,
                        "indicator",
                        iid,
                        i.get("value"),
                        i.get("points"),
                        i.get("max_points"),
                        i.get("status"),
                    ]
                )
    sheets["scores"] = scores
    sheets["breakdown"] = breakdown
    names = {m.id: m.name for m in repo.list_members(session=session, team=team)}
    ratings: Rows = [["agent", "stars", "comment", "ref", "at"]]
    for r in repo.list_customer_ratings(session=session, period=period):
        ratings.append(
            [names.get(r.member_id, "?"), r.stars, r.comment, r.ref, r.created_at.isoformat()]
        )
    sheets["ratings"] = ratings
    payroll: Rows = [["agent", "kind", "amount", "currency"]]
    for e in store.list_payroll(session=session, period=period):
        payroll.append([names.get(e.member_id, "?"), e.kind, _money(e.amount), e.currency])
    sheets["rewards_penalties"] = payroll
    sheets["pay"] = pay_sheet(outcome)
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
        plans.append([names.get(p.member_id, "?"), p.status, p.due_at.isoformat(),
                      p.submitted_at.isoformat() if p.submitted_at else None, a.get("cause"), a.get("measures"),
                      a.get("support"), p.decision_comment, p.escalated_at.isoformat() if p.escalated_at else None])  # fmt: skip
    sheets["improvement_plans"] = plans
    appeals: Rows = [["id", "agent", "component", "reason", "status", "decision", "before_total", "before_rank",
                      "after_total", "after_rank"]]  # fmt: skip
    for ap in store.list_appeals(session=session, period=period):
        appeals.append([ap.id, names.get(ap.member_id, "?"), ap.component, ap.reason, ap.status, ap.decision_reason,
                        ap.before.get("total"), ap.before.get("rank"), ap.after.get("total"), ap.after.get("rank")])  # fmt: skip
    sheets["appeals"] = appeals
    return sheets


def pay_sheet(outcome: results.PeriodResults | None) -> Rows:
    """The scheme's pay formula per agent (``[[pay]]``, scoring.pay): one column per part, named as
    the scheme names it in its language, then the sum; amounts are numbers (Decimal, to the cent).
    An empty cell is a part whose input is missing, or held while the result is provisional."""
    if outcome is None:
        return [["agent", "pay_total", "currency", "held"]]
    scheme = outcome.scheme
    header: list[Any] = [
        "agent",
        *(p.name.get(scheme.language) for p in scheme.pay),
        "pay_total",
        "currency",
        "held",
    ]
    rows: Rows = [header]
    if not scheme.pay:
        return rows
    for s in outcome.scored:
        pay = pay_of(scheme, s.breakdown)
        rows.append(
            [s.name, *(line.amount for line in pay.lines), pay.total, pay.currency, pay.held]
        )
    return rows


def to_csv(sheets: dict[str, Rows]) -> bytes:
    """One UTF-8 CSV (with BOM, so Excel reads Chinese): each sheet headed by its name, a blank row between."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, quoting=csv.QUOTE_NONNUMERIC
    )  # every text quoted: 'a;=1+1;b' stays one cell
    for i, (name, rows) in enumerate(sheets.items()):
        if i:
            writer.writerow([])
        writer.writerow([f"# {name}"])
        for row in rows:
            writer.writerow(
                [
                    "" if v is None else safe(v if not isinstance(v, bool) else str(v).lower())
                    for v in row
                ]
            )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(sheets: dict[str, Rows]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    first = True
    for name, rows in sheets.items():
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None
        first = False
        sheet.title = name[:31]
        for row in rows:
            sheet.append([safe(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_bytes(session: Session, team: Team, period: Period, fmt: str) -> bytes:
    sheets = build_sheets(session, team, period)
    return to_csv(sheets) if fmt == "csv" else to_xlsx(sheets)


def file_name(team: Team, period: Period, fmt: str) -> str:
    return f"kpibot-{team.name}-{period.key}.{fmt}"


ADMIN_ONLY_COLUMNS: tuple[str, ...] = ("post_change",)
"""Headers of columns only an admin's export carries: the change-of-post flag is for admins,
never for the team or the person's managers (DOMAIN.md)."""


def without_admin_columns(sheets: dict[str, Rows]) -> dict[str, Rows]:
    """The sheets as a manager's export has them: every :data:`ADMIN_ONLY_COLUMNS` column left out."""
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
    fmt = "csv" if words and words[-1].lower() == "csv" else "xlsx"
    words = [w for w in words if w.lower() not in ("csv", "xlsx")]
    team_name, key = split_args(" ".join(words))
    team, problem = resolve_team(ctx, team_name)
    if team is None:
        return [problem] if problem else []
    permissions.require(permissions.can_export(ctx.actor, team))
    period, problem = resolve_period(ctx, team, key)
    if period is None:
        return [problem] if problem else []
    sheets = build_sheets(ctx.session, team, period)
    if not permissions.is_admin(ctx.actor):
        sheets = without_admin_columns(sheets)
    data = to_csv(sheets) if fmt == "csv" else to_xlsx(sheets)
    mime = "text/csv" if fmt == "csv" else XLSX_MIME
    return [Reply(text=_("Results of {team} for {period}.", team=team.name, period=period.key),
                  file=FileAttachment(file_name(team, period, fmt), data, mime), private=True)]  # fmt: skip


def sheet_names() -> Sequence[str]:
    return (
        "scores",
        "breakdown",
        "ratings",
        "rewards_penalties",
        "pay",
        "improvement_plans",
        "appeals",
    )


COMMANDS: tuple[Command, ...] = (
    Command(
        "export",
        export,
        permissions.LEADERS,
        what=N_("results, rewards, plans and appeals as a spreadsheet (xlsx or csv)"),
        example="/export demo 2026-10 csv",
        refusal=permissions.EXPORT_ONLY_LEADERS,
    ),
)

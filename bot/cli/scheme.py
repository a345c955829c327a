"""``kpibot scheme check FILE…`` and ``kpibot score``: schemes and the no-bot calculator.

Both are thin edges over ``scoring/``: read the files, call the scoring module, translate
its problem codes, print. Bad input prints one message per problem and exits with code 2.
"""

from __future__ import annotations

import csv
import io
import json
import math
import unicodedata
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from bot.cli.common import EXIT_BAD_INPUT, fail
from bot.cli.language import lang_ui_option, old_lang_option, ui_lang
from commands.i18n import Translate, normalize_lang, translator
from commands.importing.mapping import declared_indicators
from scoring import kpi
from scoring.explained import Span
from scoring.pay import pay_of
from scoring.provision import provision_problems
from scoring.scheme import PROBLEM_TEMPLATES, Indicator, Scheme, SchemeError
from scoring.scheme_parser import parse_scheme
from scoring.table import TABLE_TEMPLATES, TableError, read_score_table
from scoring.total import AgentResult, TeamResult, score_team


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def _scheme_problem_lines(path: Path, err: SchemeError, _: Translate) -> list[str]:
    return [
        f"{path}: {p.where} · {p.field}: {_(PROBLEM_TEMPLATES[p.code], **p.params)}"
        for p in err.problems
    ]


def load_scheme_file(path: Path, _: Translate) -> tuple[Scheme | None, list[str]]:
    """The scheme in ``path``, or the translated lines saying why not."""
    try:
        text = _read_text(path)
    except OSError as exc:
        return None, [
            _(
                "{file}: cannot read the file ({error}).",
                file=str(path),
                error=exc.strerror or str(exc),
            )
        ]
    try:
        return parse_scheme(text), []
    except SchemeError as err:
        return None, _scheme_problem_lines(path, err, _)


def shipped_columns() -> frozenset[str]:
    """Every indicator column the shipped import mappings (``schemes/mappings``) give, together."""
    from commands.importing.mapping import known_mappings, load_mapping

    mappings = [load_mapping(name) for name in known_mappings()]
    own = {d.id for m in mappings for d in m.declared}
    return kpi.producible_from((m.kind, m.fields()) for m in mappings) | own


def unmapped_indicators(scheme: Scheme) -> list[Indicator]:
    """Import-provided indicators that no shipped mapping fills (a team then needs its own
    mapping)."""
    shipped = shipped_columns()
    return [i for i in scheme.indicators if i.provider == "import" and i.column not in shipped]


def check(
    files: list[Path] = typer.Argument(
        ..., metavar="FILE...", help="Scheme files (TOML) to check."
    ),
    lang_ui: str | None = lang_ui_option(),
    lang: str | None = old_lang_option(),
) -> None:
    """Check scheme files and list every problem; nothing is stored. Exit code 2 if any is wrong.

    Beyond the format: every indicator must have a provider that can fill it (an import kind
    that stores its column, or a form); an import indicator no shipped mapping fills is noted.
    """
    lang = ui_lang(lang_ui or lang)
    _ = translator(lang)
    failed = False
    for path in files:
        scheme, problems = load_scheme_file(path, _)
        if scheme is not None:
            unprovided = provision_problems(scheme, declared_indicators())
            if unprovided:
                problems = _scheme_problem_lines(path, SchemeError(unprovided), _)
                scheme = None
        if scheme is None:
            failed = True
            for line in problems:
                typer.echo(line, err=True)
            typer.echo(
                _(
                    "{file}: {n} problem(s); the scheme is refused.",
                    file=str(path),
                    n=len(problems),
                ),
                err=True,
            )
        else:
            typer.echo(
                _(
                    "{file}: OK: {id} ({name}), {indicators} indicators, {components} components.",
                    file=str(path),
                    id=scheme.id,
                    name=scheme.name(normalize_lang(lang)),
                    indicators=len(scheme.indicators),
                    components=len(scheme.components),
                )
            )
            for ind in unmapped_indicators(scheme):
                typer.echo(
                    _(
                        "{file}: note: no shipped mapping fills {indicator} ({column}); import it "
                        "with a mapping of your own (docs/importing.md).",
                        file=str(path),
                        indicator=ind.name.get(normalize_lang(lang)),
                        column=ind.column,
                    )
                )
    if failed:
        raise typer.Exit(code=EXIT_BAD_INPUT)


def _read_table(path: Path, _: Translate) -> pd.DataFrame:
    try:
        text = _read_text(path)
    except OSError as exc:
        fail(
            [
                _(
                    "{file}: cannot read the file ({error}).",
                    file=str(path),
                    error=exc.strerror or str(exc),
                )
            ]
        )
    try:
        return pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        fail(
            [
                _(
                    "{file}: not a readable CSV table ({error}).",
                    file=str(path),
                    error=str(exc).strip(),
                )
            ]
        )


def score(
    scheme_path: Path = typer.Option(
        ..., "--scheme", help="The scheme file, e.g. schemes/online_shop.toml."
    ),
    input_path: Path = typer.Option(
        ..., "--input", help="The month's CSV: agent, [team], indicators, reviews."
    ),
    output: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table, json or csv."),
    lang: str | None = typer.Option(
        None, "--lang", help="zh or en (default: the scheme's language)."
    ),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        metavar="YYYY-MM-DD",
        help="Publication date (improvement plans are due from it); default today.",
    ),
) -> None:
    """Score a month's CSV with a scheme, with no bot and no database."""
    _ = translator(normalize_lang(lang) if lang else "zh")
    scheme, problems = load_scheme_file(scheme_path, _)
    if scheme is None:
        fail(problems)
    code = normalize_lang(lang, scheme.language) if lang else scheme.language
    _ = translator(code)
    try:
        day = date.fromisoformat(as_of) if as_of else date.today()
    except ValueError:
        fail([_("--as-of: {value!r} is not a date like 2026-11-03.", value=as_of)])
    table = _read_table(input_path, _)
    try:
        inputs = read_score_table(scheme, table)
    except TableError as err:
        fail(
            [
                f"{input_path}: "
                f"{_(TABLE_TEMPLATES[p.code], row=p.row, column=p.column, **p.params)}"
                for p in err.problems
            ]
        )
    result = score_team(scheme, inputs, as_of=day)
    if output is OutputFormat.json:
        rows = result.to_dict()
        if scheme.pay:  # the scheme's pay formula per agent (scoring.pay)
            rows = [{**row, "pay": pay_of(scheme, row).to_dict()} for row in rows]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, allow_nan=False))
    elif output is OutputFormat.csv:
        typer.echo(render_csv(result), nl=False)
    else:
        typer.echo(render_table(result, code))


# -- rendering --------------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(width - _width(text), 0)
    return gap + text if right else text + gap


def _grid(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(_pad(cell, widths[i], i in right) for i, cell in enumerate(row)).rstrip()
        for row in rows
    ]


def _num(x: float | None, digits: int = 1) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def format_value(unit: str, value: float | None, _: Translate) -> str:
    """A raw indicator value as a person reads it: 42.0%, 45 s, 3.5 min, ¥12,000.00, 27 days."""
    if value is None or not math.isfinite(value):
        return "—"
    if unit == "fraction":
        return f"{value * 100:.1f}%"
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "seconds":
        if value < 120:
            return _("{n} s", n=f"{value:.0f}")
        return _("{n} min", n=f"{value / 60:.1f}")
    if unit == "minutes":
        return _("{n} min", n=f"{value:.1f}")
    if unit == "yuan":
        return f"¥{value:,.2f}"
    if unit == "days":
        return _("{n} days", n=f"{value:g}")
    if unit == "count":
        return f"{value:.0f}"
    return f"{value:g}"


def _component_name(result: TeamResult, cid: str, lang: str, _: Translate) -> str:
    comp = next(c for c in result.scheme.components if c.id == cid)
    if comp.name is not None:
        return comp.name.get(lang)
    defaults: dict[str, Callable[[], str]] = {
        "kpi": lambda: _("Indicators"),
        "self": lambda: _("Self-review"),
        "manager": lambda: _("Manager review"),
        "customer": lambda: _("Customer ratings"),
        "peer": lambda: _("Peer ratings"),
        "qa": lambda: _("Quality sampling"),
        "team": lambda: _("Team share"),
    }
    return defaults[comp.kind]()


def _money(amount: Any, currency: str, _: Translate) -> str:
    if currency == "CNY":
        return _("{amount} yuan", amount=amount)
    return f"{amount} {currency}"


def _flags_text(agent: AgentResult, currency: str, _: Translate) -> str:
    f = agent.flags
    parts: list[str] = []
    if f.reward:
        parts.append(_("reward {amount}", amount=_money(f.reward_amount, currency, _)))
    if f.penalty:
        parts.append(_("penalty {amount}", amount=_money(f.penalty_amount, currency, _)))
    if f.improvement_due is not None:
        parts.append(_("improvement plan due {date}", date=f.improvement_due.isoformat()))
    if f.post_change:
        parts.append(_("consider a change of post"))
    if f.star is not None:
        parts.append("★" * f.star)
    return "; ".join(parts)


def _component_note(status: str, detail: dict[str, Any], _: Translate) -> str:
    spread = {
        "individual": lambda: _("no data, left out; its weight goes to the other individual parts"),
        "team": lambda: _("no data, left out; its weight goes to the other team parts"),
        "all": lambda: _("no data, left out; its weight goes to the other parts"),
    }
    notes: dict[str, Callable[[], str]] = {
        "excluded": spread.get(str(detail.get("spread_over")), lambda: _("no data, left out")),
        "worst": lambda: _("no data, scored 0"),
        "below_min_excluded": lambda: _(
            "too few ratings ({count} of {min}), left out",
            count=_num(detail.get("count"), 0),
            min=_num(detail.get("min"), 0),
        ),
        "below_min_default": lambda: _(
            "too few ratings ({count} of {min}), default score",
            count=_num(detail.get("count"), 0),
            min=_num(detail.get("min"), 0),
        ),
        "voided": lambda: _("void: gate {gate} missed", gate=detail.get("voided_by") or ""),
    }
    return notes[status]() if status in notes else ""


def _band_text(band: Span, unit: str, _: Translate) -> str:
    lo = None if band.lower is None else format_value(unit, band.lower, _)
    hi = None if band.upper is None else format_value(unit, band.upper, _)
    low = None if lo is None else ("≥ " if band.lower_inclusive else "> ") + lo
    high = None if hi is None else ("≤ " if band.upper_inclusive else "< ") + hi
    return ", ".join(x for x in (low, high) if x)


def _indicator_note(
    ind: Indicator, status: str, detail: dict[str, Any], lang: str, _: Translate
) -> str:
    if status == "excluded":
        return (
            _("missing, left out") if detail.get("reason") == "missing" else _("invalid, left out")
        )
    if status == "worst":
        return (
            _("missing, worst score")
            if detail.get("reason") == "missing"
            else _("invalid, worst score")
        )
    band = ind.method.band(detail)
    if band is not None:
        return _("band {range}", range=_band_text(band, ind.unit, _))
    if "deducted" in detail:
        return _(
            "{events} event(s), −{deducted}",
            events=detail["events"],
            deducted=f"{detail['deducted']:g}",
        )
    if "ratio" in detail:
        return _("target {target}", target=format_value(ind.unit, detail["target"], _))
    if "voids" in detail:
        return _("gate met") if detail["met"] else _("gate missed")
    if "met" in detail:
        return _("target met") if detail["met"] else _("target missed")
    if "level" in detail:
        return str(detail.get(f"level_{lang}", detail["level"]))
    return ""


def render_table(result: TeamResult, lang: str) -> str:
    """The ranking, then each agent's breakdown, in ``lang``."""
    _ = translator(lang)
    scheme = result.scheme
    comps = [c.id for c in scheme.components]
    lines = [
        _(
            "{scheme} — results as of {date}",
            scheme=scheme.name(lang),
            date=result.as_of.isoformat(),
        ),
        "",
    ]
    show_kpi = scheme.uses_kpi_table and scheme.component("kpi") is None
    header = [_("Rank"), _("Agent"), _("Team"), _("Total")]
    header += [_("Indicator table")] if show_kpi else []
    header += [_component_name(result, c, lang, _) for c in comps]
    header.append(_("Flags"))
    rows = [header]
    for r in result.results:
        row = [
            "—" if r.rank is None else str(r.rank),
            r.agent,
            r.team or "",
            _num(r.total, scheme.precision),
        ]
        row += [_num(r.kpi)] if show_kpi else []
        row += [_num(r.component(c).points) for c in comps]
        flags = _flags_text(r, scheme.apply.currency, _)
        if r.provisional:
            flags = _(
                "provisional, missing: {parts}",
                parts=", ".join(scheme.part_name(p, lang) for p in r.missing),
            )
        row.append(flags)
        rows.append(row)
    has_team = any(r.team for r in result.results)
    if not has_team:
        rows = [row[:2] + row[3:] for row in rows]
    lines += _grid(rows, right={0} | set(range(2 if not has_team else 3, len(rows[0]) - 1)))
    for r in result.results:
        lines += [
            "",
            _(
                "{agent}: total {total}, rank {rank} of {size}",
                agent=r.agent,
                total=_num(r.total, scheme.precision),
                rank="—" if r.rank is None else r.rank,
                size=r.group_size,
            ),
        ]
        detail_rows: list[list[str]] = []
        for c in r.components:
            note = _component_note(c.status, c.detail, _)
            detail_rows.append(
                [
                    _component_name(result, c.id, lang, _),
                    _num(c.points),
                    _("weight {w}%", w=f"{c.weight:.0f}"),
                    _num(c.contribution, scheme.precision),
                    note,
                ]
            )
        lines += ["  " + line for line in _grid(detail_rows, right={1, 3})]
        ind_rows: list[list[str]] = []
        for i in r.indicators:
            ind = scheme.indicator(i.id)
            if ind.points == 0 and i.status == "ok" and "voids" not in i.detail:
                continue
            ind_rows.append(
                [
                    ind.name.get(lang),
                    format_value(ind.unit, i.value, _),
                    f"{_num(i.points)} / {ind.points:g}",
                    _indicator_note(ind, i.status, i.detail, lang, _),
                ]
            )
        if ind_rows:
            lines += ["    " + line for line in _grid(ind_rows, right={1, 2})]
    return "\n".join(lines)


def render_csv(result: TeamResult) -> str:
    """One row per agent: rank, total, component points, indicator points, flags."""
    scheme = result.scheme
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    comps = [c.id for c in scheme.components]
    inds = [i.id for i in scheme.indicators]
    writer.writerow(
        [
            "agent",
            "team",
            "rank",
            "total",
            "kpi",
            *comps,
            *inds,
            "reward",
            "penalty",
            "improvement_due",
            "post_change",
            "star",
        ]
    )
    for r in result.results:
        d = r.to_dict()
        writer.writerow(
            [
                r.agent,
                r.team or "",
                "" if r.rank is None else r.rank,
                _csv(r.total),
                _csv(r.kpi),
                *[_csv(d["components"][c]["points"]) for c in comps],
                *[_csv(d["indicators"][i]["points"]) for i in inds],
                d["flags"]["reward_amount"] or "",
                d["flags"]["penalty_amount"] or "",
                d["flags"]["improvement_due"] or "",
                "yes" if r.flags.post_change else "",
                r.flags.star or "",
            ]
        )
    return buf.getvalue()


def _csv(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}".rstrip("0").rstrip(".")


def register(app: typer.Typer) -> None:
    scheme_app = typer.Typer(help="Schemes: check scheme files.", no_args_is_help=True)
    scheme_app.command("check")(check)
    app.add_typer(scheme_app, name="scheme")
    app.command("score")(score)

"""``/me [period]``: the agent's own score as a receipt.

Each indicator: raw value → band or deduction → points of its weight → contribution to
the total; then every component (self / manager review, customers, peers, the team share)
with its points, effective weight and contribution; the rank; where each number came
from (import file, survey, review); the last three periods. Sent privately.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from commands import explain, numbers, permissions, results
from commands.context import Command, Context
from commands.explain import component_name
from commands.forms.common import format_value
from commands.i18n import Translate
from commands.messages import Reply
from commands.permissions import N_
from commands.rank import (
    change_text,
    flag_texts,
    provisional_line,
    resolve_period,
    split_args,
    status_name,
)
from scoring import Scheme
from scoring.scheme import Component, Indicator
from storage import repo

WEIGHT_PLACES = 1
"""A component's weight (a percentage of the total, rescaled when a part is left out) is
written at most this many decimals: 33.3%."""


def how_scored(
    _: Translate,
    lang: str,
    status: str,
    ind: Indicator,
    scheme: Scheme | None,
    detail: Mapping[str, Any],
) -> str:
    """The middle of a receipt line: the method's own receipt (which band, how many deducted, the
    ratio, the level, the gate), or why there was no value to score."""
    if status == "excluded":
        return _("no data: left out, the other indicators' weights are rescaled")
    if status == "worst":
        return _("no data: scored as the worst result")
    receipt = ind.method.receipt(detail)
    return explain.render(_, lang, ind, scheme, receipt) if receipt is not None else ""


def source_text(_: Translate, source: Mapping[str, Any] | None) -> str:
    """Where an indicator value came from."""
    if not source:
        return ""
    kind = source.get("source")
    if kind == "import" and source.get("file"):
        return _("import {file}", file=source["file"])
    if kind == "import":
        return _("data import")
    if kind == "manual":
        return _("entered by hand")
    if kind == "demo":
        return _("demo data")
    if kind == "survey":
        return _("customer survey")
    if kind == "manager":
        return _("given in the manager review")
    return str(kind or "")


def kpi_share(breakdown: Mapping[str, Any], scheme: Scheme) -> float:
    """How many points of the total the KPI table carries (its contribution)."""
    share = 0.0
    for comp in scheme.components:
        got = breakdown.get("components", {}).get(comp.id)
        if not got or got.get("points") is None:
            continue
        contribution = float(got.get("contribution") or 0.0)
        if comp.kind == "kpi":
            share += contribution
            continue
        computed = [d for d in comp.dimensions if d.computed == "kpi"]
        if not computed:
            continue
        detail = got.get("detail", {})
        weighted = {
            d.id: d.weight * float(detail[d.id])
            for d in comp.dimensions
            if detail.get(d.id) is not None
        }
        whole = sum(weighted.values())
        if whole > 0:
            share += contribution * sum(weighted.get(d.id, 0.0) for d in computed) / whole
    return share


def indicator_lines(ctx: Context, scheme: Scheme, breakdown: Mapping[str, Any]) -> list[str]:
    _ = ctx._
    got: Mapping[str, Any] = breakdown.get("indicators", {})
    sources: Mapping[str, Any] = breakdown.get("sources", {}).get("indicators", {})
    share = kpi_share(breakdown, scheme)
    scored_points = sum(
        float(v.get("points") or 0.0) for v in got.values() if v.get("status") != "excluded"
    )
    lines = []
    for ind in scheme.indicators:
        item = got.get(ind.id)
        if item is None:
            continue
        lines.append(
            _indicator_line(ctx, scheme, ind, item, sources.get(ind.id), share, scored_points)
        )
    return lines


def _indicator_line(
    ctx: Context, scheme: Scheme, ind: Indicator, item: Mapping[str, Any],
    source: Mapping[str, Any] | None, share: float, scored_points: float,
) -> str:  # fmt: skip
    _ = ctx._
    points = item.get("points")
    contribution = (
        share * float(points) / scored_points
        if points is not None and scored_points > 0 and item.get("status") != "excluded"
        else 0.0
    )
    value = format_value(ctx, ind, item.get("value"))
    how = how_scored(_, ctx.lang, item.get("status", ""), ind, scheme, item.get("detail", {}))
    line = _(
        "· {name}: {value} → {how} → {points} of {weight} points → {contribution} to the total",
        name=ind.name.get(ctx.lang),
        value=value,
        how=how,
        points=numbers.part(points, scheme.precision),
        weight=numbers.part(item.get("max_points"), scheme.precision),
        contribution=numbers.part(contribution, scheme.precision),
    )
    where = source_text(_, source)
    return f"{line} [{where}]" if where else line


def component_source(
    _: Translate, comp: Component, breakdown: Mapping[str, Any], got: Mapping[str, Any]
) -> str:
    sources: Mapping[str, Any] = breakdown.get("sources", {})
    src = sources.get(comp.kind) or {}
    if comp.kind == "self" and src:
        return _("your self-review of {date}", date=str(src.get("at") or "")[:10])
    if comp.kind == "manager" and src:
        return _(
            "review by {name} on {date}",
            name=src.get("rater") or "?",
            date=str(src.get("at") or "")[:10],
        )
    if comp.kind == "customer":
        imported = [p for p in src.get("platform", []) if p.get("count")]
        if not imported:
            return _("{n} customer survey ratings", n=src.get("responses", 0))
        parts = [_("{n} from the survey page", n=src.get("survey", 0))] + [
            _(
                "{n} from {file} (import #{id})",
                n=p["count"],
                file=p.get("file") or "?",
                id=p.get("import_id"),
            )
            for p in imported
        ]
        return _(
            "{n} customer ratings: {parts}", n=src.get("responses", 0), parts=_("; ").join(parts)
        )
    if comp.kind == "peer":
        if got.get("status", "").startswith("below_min"):
            return ""
        return _("{n} anonymous peer ratings", n=src.get("raters", 0))
    if comp.kind == "qa" and src and not got.get("status", "").startswith("below_min"):
        return _("{n} sampled conversations (quality sampling)", n=src.get("samples", 0))
    if comp.kind == "team":
        return _("your team's results")
    return ""


def component_lines(ctx: Context, scheme: Scheme, breakdown: Mapping[str, Any]) -> list[str]:
    _ = ctx._
    lines = []
    for comp in scheme.components:
        got = breakdown.get("components", {}).get(comp.id)
        if got is None:
            continue
        name = component_name(_, ctx.lang, comp)
        status = got.get("status", "")
        if got.get("points") is None or status in ("excluded", "below_min_excluded"):
            if not status.startswith("below_min"):
                why = _("no data")
            else:
                why = _("not enough samples") if comp.kind == "qa" else _("not enough ratings")
            line = _("· {name}: {why}, left out ({weight}% declared, the others rescaled)",
                     name=name, why=why,
                     weight=numbers.number(got.get("declared_weight"), WEIGHT_PLACES))  # fmt: skip
        else:
            line = _(
                "· {name}: {points} × {weight}% = {contribution}",
                name=name, points=numbers.part(got["points"], scheme.precision),
                weight=numbers.number(got.get("weight"), WEIGHT_PLACES),
                contribution=numbers.part(got.get("contribution"), scheme.precision),
            )  # fmt: skip
            if status == "voided":
                line += " " + _("(voided by a missed gate)")
            elif status == "below_min_default":
                line += " " + _("(too few to count: the scheme's default)")
            elif status == "worst":
                line += " " + _("(no data: scored as the worst result)")
        where = component_source(_, comp, breakdown, got)
        lines.append(f"{line} [{where}]" if where else line)
        dims = [d for d in comp.dimensions if got.get("detail", {}).get(d.id) is not None]
        if dims:
            parts = [
                f"{d.name.get(ctx.lang)} {numbers.part(got['detail'][d.id], scheme.precision)}"
                for d in dims
            ]
            lines.append("   " + _(", ").join(parts))
    return lines


def me(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    permissions.require(permissions.can_view_result(ctx.actor, ctx.actor))
    _team_name, key = split_args(args)
    if args.strip() and key is None:
        return [
            Reply(
                text=_("Send /me or /me 2026-10 (a period such as 2026-10 or 2026-Q4)."),
                ephemeral=True,
            )
        ]
    team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
    assert team is not None
    period, problem = resolve_period(ctx, team, key)
    if period is None:
        return [problem] if problem else []
    outcome = results.current_results(
        team, period, session=ctx.session, member_ids=[ctx.actor.id or 0], store_scores=True,
        actor=repo.actor_of(ctx.actor),
    )  # fmt: skip
    if outcome is None:
        return [
            Reply(
                text=_("Your team has no scheme yet, so there is no score. Ask an admin."),
                private=True,
            )
        ]
    mine = outcome.of(ctx.actor.id)
    if mine is None or not mine.scored:
        return [
            Reply(
                text=_(
                    "You have no score for {period} yet: the reviews are still missing.",
                    period=period.key,
                ),
                private=True,
            )
        ]
    return [Reply(text="\n".join(receipt(ctx, outcome, mine)), private=True)]


def receipt(ctx: Context, outcome: results.PeriodResults, mine: results.AgentScore) -> list[str]:
    _ = ctx._
    scheme, period, team = outcome.scheme, outcome.period, outcome.team
    previous = results.previous_ranks(
        team, period, session=ctx.session, member_ids=[mine.member_id]
    ).get(mine.member_id)
    lines = [
        _("Your result for {period} ({scheme})", period=period.key, scheme=scheme.name(ctx.lang)),
        _(
            "Total {total} of 100 · rank {rank} of {size}",
            total=numbers.total(mine.total, scheme.precision),
            rank=mine.rank,
            size=mine.group_size,
        )
        if not mine.provisional
        else provisional_line(ctx, scheme, mine),
    ]
    change = change_text(_, mine.rank, previous, words=True)
    if change:
        lines.append(_("Change from last period: {change}", change=change))
    flags = flag_texts(_, mine.flags, scheme.apply.currency)
    if flags:
        lines.append("· " + _("; ").join(flags))
    if scheme.indicators:
        kpi = mine.breakdown.get("kpi")
        lines.append(
            _("Indicators (KPI table {kpi} of 100):", kpi=numbers.part(kpi, scheme.precision))
        )
        lines += indicator_lines(ctx, scheme, mine.breakdown)
    lines.append(_("Parts of the total:"))
    lines += component_lines(ctx, scheme, mine.breakdown)
    past = results.history(team, ctx.actor, period, session=ctx.session)
    if past:
        lines.append(_("Last periods:"))
        for entry in past:
            if entry.total is None:
                lines.append(_("· {period}: no score", period=entry.period))
            else:
                lines.append(
                    _(
                        "· {period}: {total}, rank {rank} of {size}",
                        period=entry.period,
                        total=numbers.total(entry.total, entry.precision),
                        rank=entry.rank,
                        size=entry.group_size or "?",
                    )
                )
    if not outcome.stored and period.status not in results.LOCKED_STATUSES:
        lines.append(
            _(
                "Provisional: the results become final when they are published (the period is "
                "{status} now).",
                status=status_name(_, period.status),
            )
        )
    return lines


COMMANDS: tuple[Command, ...] = (
    Command(
        "me",
        me,
        permissions.AGENTS,
        what=N_("your score explained, number by number"),
        example="/me 2026-10",
        refusal=N_(
            "The command /me is not available to you: it shows an agent's own score, and managers "
            "and admins are not scored. Use /rank for your teams."
        ),
        menu=N_("Your own score, explained"),
        menu_rank=2,
    ),
)

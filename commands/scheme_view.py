"""``/scheme [team] [period]``: the scheme that scores a team, as a person reads it (seed 004:
transparency).

The components and their weights (each review's dimensions, what a customer, peer or
quality rating counts, which parts are required); every indicator with its points, its
target, bands, levels or deduction rule and who provides its value; then what the result
leads to (reward, penalty, ties, improvement plans, stars, appeals, who sees the ranking),
and how the pay is made up when the scheme declares it (``[[pay]]``).
Names, never ids; values in the indicator's unit; points at the scheme's precision.

Everyone reads their own team's scheme; a manager also the teams they manage, an admin
any team (``commands.permissions.can_read_scheme``). The change-of-post rule is shown to
admins only, like the flag it raises (DOMAIN.md).
"""

from __future__ import annotations

from decimal import Decimal

from commands import explain, numbers, permissions, results
from commands.context import Command, Context
from commands.explain import component_name
from commands.i18n import joined
from commands.messages import Reply
from commands.permissions import N_
from commands.rank import money, resolve_team, split_args
from scoring import Scheme
from scoring.scheme import Component, Indicator
from storage import repo


def weight_text(x: float) -> str:
    return f"{numbers.number(x, 2)}%"


# -- components -----------------------------------------------------------------------------


def component_line(ctx: Context, scheme: Scheme, comp: Component) -> str:
    _ = ctx._
    name, weight = component_name(_, ctx.lang, comp), weight_text(comp.weight)
    what = component_rule(ctx, scheme, comp)
    line = (
        _("· {name} {weight} — {rule}", name=name, weight=weight, rule=what)
        if what
        else f"· {name} {weight}"
    )
    if comp.missing == "block":
        line += "\n   " + _(
            "required: without it the result is provisional (not ranked, rewarded or penalised)"
        )
    elif comp.missing == "zero":
        line += "\n   " + _("without any data it scores 0")
    return line


def _dimensions(ctx: Context, comp: Component) -> str:
    _ = ctx._
    parts = []
    for d in comp.dimensions:
        text = f"{d.name.get(ctx.lang)} {weight_text(d.weight)}"
        if d.computed == "kpi":
            text = _join(ctx, text, _("(computed from the indicator table)"))
        parts.append(text)
    return joined(parts, ctx.lang)


def component_rule(ctx: Context, scheme: Scheme, comp: Component) -> str:
    _ = ctx._
    if comp.kind == "self":
        return _("the agent's own review: {dimensions}", dimensions=_dimensions(ctx, comp))
    if comp.kind == "manager":
        return _("the manager's review in /review: {dimensions}", dimensions=_dimensions(ctx, comp))
    if comp.kind == "kpi":
        return _("the indicator table below")
    if comp.kind == "team":
        names = [scheme.indicator(i).name.get(ctx.lang) for i in comp.indicators]
        return _("the indicator table on the team's own values of {names}", names=names)
    if comp.kind == "customer":
        how = (_("the share of 4- and 5-star ratings") if comp.csat == "share_4_5"
               else _("the average of the stars, on 100 points"))  # fmt: skip
        return _("customers rate the agent through survey links: {how}", how=how) + _few(
            ctx, scheme, comp
        )
    if comp.kind == "peer":
        return _("teammates rate the agent anonymously (/peer)") + _few(ctx, scheme, comp)
    if comp.kind == "qa":
        return _qa_rule(ctx, scheme, comp)
    return ""


def _few(ctx: Context, scheme: Scheme, comp: Component) -> str:
    """What too few ratings, raters or samples mean (``min_count``, ``below_min``)."""
    _ = ctx._
    if comp.min_count <= 0:
        return ""
    n = comp.min_count
    if comp.below_min == "default" and comp.default is not None:
        default = numbers.points(ctx._, comp.default, scheme.precision)
        return {
            "customer": _("; at least {n} ratings, fewer count as {default}", n=n, default=default),
            "peer": _("; at least {n} raters, fewer count as {default}", n=n, default=default),
        }.get(
            comp.kind, _("; at least {n} samples, fewer count as {default}", n=n, default=default)
        )
    return {
        "customer": _(
            "; at least {n} ratings, fewer leave it out (the other weights are rescaled)", n=n
        ),
        "peer": _(
            "; at least {n} raters, fewer leave it out (the other weights are rescaled)", n=n
        ),
    }.get(
        comp.kind,
        _("; at least {n} samples, fewer leave it out (the other weights are rescaled)", n=n),
    )


def _qa_rule(ctx: Context, scheme: Scheme, comp: Component) -> str:
    _ = ctx._
    card = comp.scorecard
    text = _("sampled conversations scored on a checklist")
    if card is not None:
        s = card.sampling
        per = {"day": _("per day"), "week": _("per week"), "period": _("per period")}[s.per]
        if s.count is not None:
            text += _(": {n} conversations per agent {per}", n=s.count, per=per)
        elif s.share is not None:
            text += _(
                ": {share} of the conversations {per}", share=weight_text(100 * s.share), per=per
            )
    text += _few(ctx, scheme, comp)
    if card is not None and card.checks:
        total = sum(c.points for c in card.checks) or 1.0
        checks = []
        for c in card.checks:
            item = f"{c.name.get(ctx.lang)} {weight_text(100 * c.points / total)}"
            if c.critical:
                item = _join(ctx, item, _("(critical: failing it fails the whole sample)"))
            checks.append(item)
        text += "\n   " + _("checklist: {checks}", checks=_sep(ctx).join(checks))
    return text


def _join(ctx: Context, first: str, then: str) -> str:
    """Two pieces of text side by side: a space between them in English, none in Chinese."""
    return first + then if ctx.lang == "zh" else f"{first} {then}"


def _sep(ctx: Context) -> str:
    return "；" if ctx.lang == "zh" else "; "


# -- indicators -----------------------------------------------------------------------------


def provider_text(ctx: Context, ind: Indicator) -> str:
    _ = ctx._
    return {
        "import": _("from the data import"),
        "manager": _("rated by the manager in /review"),
        "qa": _("from quality sampling"),
        "survey": _("from the customer survey"),
        "admin": _("entered by an admin"),
    }[ind.provider]


def rule_text(ctx: Context, scheme: Scheme, ind: Indicator) -> str:
    """How the indicator's value turns into points, in its unit (the method's own rule)."""
    return explain.render(ctx._, ctx.lang, ind, scheme, ind.method.rule(ind.points, ind.better))


def indicator_line(ctx: Context, scheme: Scheme, ind: Indicator) -> str:
    _ = ctx._
    name, rule = ind.name.get(ctx.lang), rule_text(ctx, scheme, ind)
    if ind.points or ind.method.voids is None:
        line = _(
            "· {name} ({points}): {rule}",
            name=name,
            points=numbers.points(ctx._, ind.points, scheme.precision),
            rule=rule,
        )
    else:
        line = _("· {name}: {value}", name=name, value=rule)
    line += "\n   " + provider_text(ctx, ind)
    if ind.missing == "worst":
        line += _("; no value counts as the worst result")
    return line


# -- consequences ---------------------------------------------------------------------------


def consequence_lines(ctx: Context, scheme: Scheme) -> list[str]:
    _ = ctx._
    a = scheme.apply
    lines = []
    if a.reward is not None:
        lines.append("· " + _("Rank 1: a reward of {amount}.", amount=money(a.reward, a.currency)))
    if a.penalty is not None:
        lines.append(
            "· "
            + _(
                "Last place: {amount} deducted from the commission.",
                amount=money(a.penalty, a.currency),
            )
        )
    if a.reward is not None or a.penalty is not None:
        ties = {
            "share": _("Several agents tied at a rewarded or penalised place share the amount."),
            "all": _(
                "Several agents tied at a rewarded or penalised place each get the full amount."
            ),
            "none": _(
                "When several agents tie at a rewarded or penalised place, none of them gets it."
            ),
        }[a.ties]
        lines.append("· " + ties)
    if a.improvement_last:
        lines.append(
            "· "
            + _(
                "The last {n} in the ranking analyse why and submit an improvement plan (/improve) "
                "within {days} days of publication.",
                n=a.improvement_last,
                days=a.improvement_days,
            )
        )
    if a.stars:
        stars = []
        for s in sorted(a.stars, key=lambda s: -s.level):
            text = _(
                "{n}-star from {total}",
                n=s.level,
                total=numbers.points(ctx._, s.min_total, scheme.precision),
            )
            if s.bonus_base is not None:
                text = _join(
                    ctx, text, _("(bonus base {amount})", amount=money(s.bonus_base, a.currency))
                )
            stars.append(text)
        lines.append("· " + _("Star levels: {levels}.", levels=_sep(ctx).join(stars)))
    meeting = _(
        "After publication the manager holds a feedback meeting with each agent (/feedback)."
    )
    if a.personal_goals:
        meeting = _join(
            ctx,
            meeting,
            _("Goals agreed there become the agent's own targets for the next period."),
        )
    lines.append("· " + meeting)
    if a.announce_best:
        lines.append("· " + _("The best agent and the best team of the period are announced."))
    appeals = _(
        "An agent may appeal a part of their result within {days} days of publication (/appeal).",
        days=a.appeal_days,
    )
    lines.append(
        "· "
        + _join(
            ctx,
            appeals,
            _("The answer is due within {days} working days.", days=a.appeal_answer_days),
        )
    )
    if scheme.publish_ranking:
        lines.append("· " + _("The whole team sees the ranking."))
    else:
        lines.append(
            "· " + _("Each agent sees only their own place; managers see the whole ranking.")
        )
    if permissions.is_admin(ctx.actor) and a.post_change_after:
        lines.append(
            "· "
            + _(
                "Last place {n} periods in a row: flagged to the admins for a change of post (only "
                "admins see this rule and the flag).",
                n=a.post_change_after,
            )
        )
    return lines


def rounding_text(ctx: Context, scheme: Scheme) -> str:
    _ = ctx._
    if scheme.precision == 0:
        return _("totals are rounded to whole points")
    if scheme.precision == 1:
        return _("totals are rounded to one decimal place")
    return _("totals are rounded to {n} decimal places", n=scheme.precision)


def rate_text(rate: Decimal) -> str:
    """A commission rate as a percent, exactly as the scheme gives it: 0.003 → ``0.3%``."""
    percent = format((rate * 100).normalize(), "f")
    return f"{percent}%"


def pay_lines(ctx: Context, scheme: Scheme) -> list[str]:
    """The scheme's pay formula (``[[pay]]``, scoring.pay), one line per part, in the reader's
    language."""
    _ = ctx._
    currency = scheme.apply.currency
    lines = []
    for part in scheme.pay:
        name = part.name.get(ctx.lang)
        if part.kind == "fixed":
            text = _("{name}: {amount}", name=name, amount=money(part.amount, currency))
        elif part.kind == "commission":
            text = _(
                "{name}: {indicator} × {rate}",
                name=name,
                indicator=scheme.indicator(part.indicator).name.get(ctx.lang),
                rate=rate_text(part.rate or Decimal(0)),
            )
        elif part.kind == "indicator_bonus" and part.all_met:
            met = joined([scheme.indicator(i).name.get(ctx.lang) for i in part.all_met], ctx.lang)
            text = _(
                "{name}: {amount} when {indicators} each earn their full points; if one falls "
                "short, nothing",
                name=name,
                amount=money(part.amount, currency),
                indicators=met,
            )
        elif part.kind == "indicator_bonus":
            text = _("{name}: {amount}", name=name, amount=money(part.amount, currency))
        elif part.kind == "star_bonus" and part.scale == "total":
            text = _("{name}: the bonus base of the agent's star level × total ÷ 100", name=name)
        elif part.kind == "star_bonus":
            text = _("{name}: the bonus base of the agent's star level", name=name)
        else:
            text = _("{name}: the reward or the deduction for the place, as above", name=name)
        lines.append("· " + text)
    lines.append(
        "· "
        + _(
            "The pay is the sum of these parts, each rounded to the cent; "
            "while a result is provisional, its bonuses and its reward or deduction wait."
        )
    )
    return lines


def scheme_lines(ctx: Context, scheme: Scheme, team_name: str) -> list[str]:
    """The whole scheme as lines of text, in the reader's language."""
    _ = ctx._
    period = _("per month") if scheme.period == "month" else _("per quarter")
    lines = [
        _("Scheme of team {team}: {scheme}", team=team_name, scheme=scheme.name(ctx.lang)),
        _(
            "Scored {period} out of 100 points; {rounding}.",
            period=period,
            rounding=rounding_text(ctx, scheme),
        ),
        "",
        _("Parts of the total:"),
        *[component_line(ctx, scheme, c) for c in scheme.components],
    ]
    if scheme.indicators:
        total = sum(i.points for i in scheme.indicators)
        lines += [
            "",
            _(
                "Indicator table ({points} in all):",
                points=numbers.points(ctx._, total, scheme.precision),
            ),
        ]
        lines += [indicator_line(ctx, scheme, i) for i in scheme.indicators]
    lines += ["", _("What the result leads to:"), *consequence_lines(ctx, scheme)]
    if scheme.pay:
        lines += ["", _("How the pay is made up:"), *pay_lines(ctx, scheme)]
    return lines


def scheme_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    team_name, key = split_args(args)
    team, problem = resolve_team(ctx, team_name)
    if team is None:
        return [problem] if problem else []
    permissions.require(permissions.can_read_scheme(ctx.actor, team))
    period = None
    if key:
        period = repo.get_period(session=ctx.session, team=team, key=key)
        if period is None:
            return [
                Reply(
                    text=_("Team {team} has no period {period}.", team=team.name, period=key),
                    ephemeral=True,
                )
            ]
    scheme = results.load_scheme(team, period, session=ctx.session)
    if scheme is None:
        return [
            Reply(
                text=_(
                    "Team {team} has no scheme yet. An admin sets one with /team set {team} "
                    "scheme=NAME.",
                    team=team.name,
                ),
                ephemeral=True,
            )
        ]
    return [Reply(text="\n".join(scheme_lines(ctx, scheme, team.name)), private=True)]


COMMANDS: tuple[Command, ...] = (
    Command(
        "scheme",
        scheme_command,
        permissions.ALL,
        what=N_(
            "the scheme that scores you: parts, weights, indicators, targets and what the result "
            "leads to"
        ),
        example="/scheme",
        menu=N_("The scheme that scores you"),
        menu_rank=9,
    ),
)

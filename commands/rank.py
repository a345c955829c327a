"""``/rank [team] [period]``: a team's ranking with totals, change from last period, flags and a
chart.

Managers see their teams, admins every team. An agent sees their own team's full ranking
only when the scheme publishes it (``publish_ranking``), otherwise only their own place
(``commands.permissions.ranking_access``). A ranking the scheme does not publish is a
private reply (asked for in a team group or channel, it goes to the asker alone).
Scores come from ``commands.results``. The text answers at once from the stored rows; the
chart follows as a second message (``Reply.chart``), drawn off the reply path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from commands import numbers, permissions, publication, results
from commands.context import Command, Context
from commands.i18n import Translate
from commands.messages import Reply
from commands.names import period_status
from commands.outbox_charts import chart_ref
from commands.permissions import N_
from scoring import Scheme
from storage import repo
from storage.models import Period, Team

PERIOD_KEY = re.compile(r"^\d{4}-(0[1-9]|1[0-2]|Q[1-4])$", re.IGNORECASE)


def split_args(args: str) -> tuple[str | None, str | None]:
    """``"demo 2026-10"`` → ``("demo", "2026-10")``; either part may be missing, in any order."""
    team: str | None = None
    period: str | None = None
    for token in args.split():
        if PERIOD_KEY.match(token):
            period = token.upper() if "q" in token.lower() else token
        elif team is None:
            team = token.lstrip("#")
    return team, period


def resolve_team(ctx: Context, name: str | None) -> tuple[Team | None, Reply | None]:
    """The named team, else the asker's own; a reply when there is no such team."""
    _ = ctx._
    if name:
        team = repo.get_team_by_name(session=ctx.session, name=name)
        if team is None:
            return None, Reply(text=_("There is no team called {team}.", team=name), ephemeral=True)
        return team, None
    team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
    assert team is not None
    return team, None


def resolve_period(ctx: Context, team: Team, key: str | None) -> tuple[Period | None, Reply | None]:
    """The named period, else the latest month that has ended (else the current one)."""
    _ = ctx._
    if key:
        period = repo.get_period(session=ctx.session, team=team, key=key)
        if period is None:
            return None, Reply(
                text=_("Team {team} has no period {period}.", team=team.name, period=key),
                ephemeral=True,
            )
        return period, None
    period = results.latest_scored_period(team, session=ctx.session, today=ctx.now.date())
    if period is None:
        return None, Reply(
            text=_(
                "Team {team} has no period yet. A manager opens one with /period open.",
                team=team.name,
            ),
            ephemeral=True,
        )
    return period, None


def status_name(_: Translate, status: str) -> str:
    return period_status(_, status)


def change_text(
    _: Translate, rank: int | None, previous: Mapping[str, Any] | None, *, words: bool = False
) -> str:
    """``↑2``, ``↓1``, ``=`` against last period's rank; ``new`` when there was none. ``words``:
    as a sentence reads it (``up 2 places``, ``same place``), for "Change from last period: …"."""
    if rank is None:
        return ""
    before = previous.get("rank") if previous else None
    if before is None:
        return _("new")
    if before == rank:
        return _("same place as last period") if words else "="
    if words:
        return (_("up {n} places", n=before - rank) if before > rank
                else _("down {n} places", n=rank - before))  # fmt: skip
    return f"↑{before - rank}" if before > rank else f"↓{rank - before}"


def flag_texts(
    _: Translate, flags: Mapping[str, Any], currency: str = "CNY", *, post_change: bool = False
) -> list[str]:
    """Reward, penalty, improvement plan (and, for admins only, change-of-post) flags as short
    texts.

    The change-of-post flag is for admins, never for the team or the person's managers
    (DOMAIN.md, issue 9): it appears only when the caller passes ``post_change=True``.
    """
    out = []
    if flags.get("reward"):
        amount = flags.get("reward_amount")
        out.append(_("reward {amount}", amount=money(amount, currency)) if amount else _("reward"))
    if flags.get("penalty"):
        amount = flags.get("penalty_amount")
        out.append(
            _("penalty {amount}", amount=money(amount, currency)) if amount else _("penalty")
        )
    if flags.get("improvement_due"):
        out.append(_("improvement plan due {date}", date=flags["improvement_due"]))
    if post_change and flags.get("post_change"):
        out.append(_("last several periods in a row: review of post"))
    if flags.get("star"):
        out.append(_("{n}-star", n=flags["star"]))
    return out


def money(amount: Any, currency: str) -> str:
    """An amount as people read money: two decimals and thousands separators (``¥1,000.00``)."""
    from decimal import Decimal, InvalidOperation

    try:
        text = f"{Decimal(str(amount)):,.2f}"
    except InvalidOperation:
        text = str(amount)
    return f"¥{text}" if currency == "CNY" else f"{text} {currency}"


def _line(
    _: Translate,
    score: results.AgentScore,
    previous: Mapping[str, Any] | None,
    scheme: Scheme,
    *,
    post_change: bool = False,
) -> str:
    parts = [f"{score.rank}. {score.name}  {numbers.total(score.total, scheme.precision)}"]
    change = change_text(_, score.rank, previous)
    if change:
        parts.append(f"({change})")
    flags = flag_texts(_, score.flags, scheme.apply.currency, post_change=post_change)
    if flags:
        parts.append("· " + _("; ").join(flags))
    return " ".join(parts)


def rank(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    team_name, period_key = split_args(args)
    team, problem = resolve_team(ctx, team_name)
    if team is None:
        return [problem] if problem else []
    scheme = results.load_scheme(team, None, session=ctx.session)
    published = bool(scheme.publish_ranking) if scheme is not None else False
    access = permissions.require(permissions.ranking_access(ctx.actor, team, published=published))
    period, problem = resolve_period(ctx, team, period_key)
    if period is None:
        return [problem] if problem else []
    outcome = results.period_results(
        team, period, session=ctx.session, actor=repo.actor_of(ctx.actor), breakdowns=False
    )
    if outcome is None:
        return [
            Reply(
                text=_(
                    "Team {team} has no scheme yet, so there is no ranking. Ask an admin.",
                    team=team.name,
                ),
                ephemeral=True,
            )
        ]
    previous = results.previous_ranks(team, period, session=ctx.session)
    if access.scope is permissions.RankingScope.OWN_PLACE:
        return [own_place(ctx, team, period, outcome, previous)]
    replies = full_ranking(ctx, team, period, outcome, previous)
    # An admin's ranking names change-of-post flags, which never reach a team chat.
    flagged = permissions.is_admin(ctx.actor) and any(
        s.flags.get("post_change") for s in outcome.scored
    )
    return replies if published and not flagged else [replace(r, private=True) for r in replies]


def own_place(
    ctx: Context,
    team: Team,
    period: Period,
    outcome: results.PeriodResults,
    previous: Mapping[int, Mapping[str, Any]],
) -> Reply:
    _ = ctx._
    mine = outcome.of(ctx.actor.id)
    if mine is None or not mine.scored:
        return Reply(text=_("You have no score for {period} yet.", period=period.key), private=True)
    if mine.provisional:
        return Reply(
            text=_("Your result in {team} for {period}:", team=team.name, period=period.key)
            + "\n"
            + provisional_line(ctx, outcome.scheme, mine),
            private=True,
        )
    lines = [
        _("Your place in {team} for {period}: {rank} of {size}, total {total}.",
          team=team.name, period=period.key, rank=mine.rank, size=mine.group_size,
          total=numbers.total(mine.total, outcome.scheme.precision)),
        _("Your scheme does not publish the whole ranking, so you see only your own place."),
    ]  # fmt: skip
    change = change_text(_, mine.rank, previous.get(mine.member_id), words=True)
    if change:
        lines.insert(1, _("Change from last period: {change}", change=change))
    flags = flag_texts(_, mine.flags, outcome.scheme.apply.currency)
    if flags:
        lines.insert(1, "· " + _("; ").join(flags))
    return Reply(text="\n".join(lines), private=True)


def full_ranking(
    ctx: Context,
    team: Team,
    period: Period,
    outcome: results.PeriodResults,
    previous: Mapping[int, Mapping[str, Any]],
) -> list[Reply]:
    _ = ctx._
    scheme_name = outcome.scheme.name(ctx.lang)
    lines = [
        _(
            "Ranking of {team} for {period} ({scheme})",
            team=team.name,
            period=period.key,
            scheme=scheme_name,
        )
    ]
    scored = tuple(s for s in outcome.scored if not s.provisional)
    admin = permissions.is_admin(ctx.actor)
    for score in scored:
        lines.append(
            _line(_, score, previous.get(score.member_id), outcome.scheme, post_change=admin)
        )
    unscored = [s.name for s in outcome.scores if not s.scored]
    if not outcome.scored:
        lines.append(_("Nobody has a score yet: the reviews are still missing."))
    if outcome.provisional:  # never ranked against the complete results (issue 14 item 1)
        lines.append(_("Not ranked (provisional: a part the scheme requires is missing):"))
        for s in outcome.provisional:
            parts = s.missing_names(outcome.scheme, ctx.lang)
            if s.held:  # a held result's total is not broadcast (commands.publication)
                lines.append(_("· {name}: held back, missing: {parts}", name=s.name, parts=parts))
                continue
            state = f" ({_('published as provisional')})" if s.release == "confirmed" else ""
            lines.append(
                _(
                    "· {name}  {total}, missing: {parts}",
                    name=s.name,
                    total=numbers.total(s.total, outcome.scheme.precision),
                    parts=parts,
                )
                + state
            )
    if unscored:
        lines.append(_("Not scored yet (reviews missing): {names}", names=_(", ").join(unscored)))
    if period.status not in results.LOCKED_STATUSES:
        lines.append(
            _(
                "Provisional: the results become final when they are published (the period is "
                "{status} now).",
                status=status_name(_, period.status),
            )
        )
    reply = Reply(text="\n".join(lines))
    if not scored:
        return [reply]
    bars = [
        (s.name, s.total or 0.0, bool(s.flags.get("reward")), bool(s.flags.get("penalty")),
         s.member_id == ctx.actor.id)
        for s in scored
    ]  # fmt: skip
    alt = _("Ranking chart")
    if len(bars) > 2 * CHART_ENDS:  # a bar for everyone would be taller than a photo may be
        alt = _(
            "Ranking chart: the top {n} and the bottom {n} of {total}; the whole ranking is in the "
            "text above.",
            n=CHART_ENDS,
            total=len(bars),
        )
        bars = bars[:CHART_ENDS] + bars[-CHART_ENDS:]
    # Drawn after the text was said, off the reply path (issue 20: the chart was most of a
    # ranking's time): the adapter, or the outbox sender, has it drawn from these very bars.
    chart = chart_ref("rank.chart", {
        "bars": [list(b) for b in bars], "alt": alt, "xlabel": _("total"),
        "precision": outcome.scheme.precision,
        "title": _("Ranking of {team} for {period}", team=team.name, period=period.key),
        "filename": f"rank-{team.name}-{period.key}.png",
    })  # fmt: skip
    return [reply, Reply(text=alt, chart=chart)]


CHART_ENDS = 20
"""A chart of a larger team shows the top and the bottom this many: Telegram refuses a photo
whose width and height add up to more than 10,000 pixels or whose sides differ more than 20
times (one bar is 45 px), and nobody reads 200 bars."""


def provisional_line(ctx: Context, scheme: Scheme, mine: results.AgentScore) -> str:
    """A provisional result's total, and why it has no rank: what is missing, held or confirmed."""
    _ = ctx._
    line = _("Total {total} of 100 · not ranked: provisional, missing: {parts}",
             total=numbers.total(mine.total, scheme.precision),
             parts=mine.missing_names(scheme, ctx.lang))  # fmt: skip
    if mine.held:
        line += "\n" + _(
            "Held: not published while a required part is missing; the admins decide whether to "
            "publish it as provisional. It brings no reward or deduction."
        )
    elif mine.release == "confirmed":
        line += "\n" + _(
            "Published as provisional, confirmed by {who}: not ranked, no reward or deduction.",
            who=publication.confirmer(_, ctx.session, mine),
        )
    return line


COMMANDS: tuple[Command, ...] = (
    Command(
        "rank",
        rank,
        permissions.SCORED_AND_LEADERS,
        what=N_("a team's ranking with a chart"),
        example="/rank demo 2026-10",
        refusal=N_(
            "The command /rank is not available to you: rankings are for agents, managers and "
            "admins."
        ),
        menu=N_("The team ranking"),
        menu_rank=3,
    ),
)

"""What the review forms share: the scheme of a period, the review window, KPI numbers as text."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from commands import results
from commands.context import Context
from commands.explain import value_text
from commands.forms.spec import N_, Field, Localized, Msg
from commands.people import TeamClock
from scoring.scheme import Dimension, Indicator, Names, Scheme
from storage import repo
from storage.models import Conversation, Member, Period, Team

SCORE_ANCHORS: tuple[str, ...] = (
    N_("far below expectations"),
    N_("below expectations"),
    N_("meets expectations"),
    N_("above expectations"),
    N_("outstanding"),
)
# Only an open period takes reviews: a closed one is closed wherever it came from (the cycle's
# close step, ``/period close``, the demo), whatever its dates say (issue 14 item 12).
REVIEWABLE_STATUSES = ("open",)


def scheme_of(ctx: Context, team: Team, period: Period | None) -> Scheme | None:
    """The parsed scheme that scores ``period`` (its own, else the team's), read once per unit
    of work: a form asks for it in its fields, its intro and its checks, and a stored scheme
    never changes (one row per text, ``storage.repo.schemes``)."""
    scheme_id = (period.scheme_id if period is not None else None) or team.scheme_id
    if scheme_id is None:
        return None
    schemes: dict[int, Scheme | None] = ctx.session.info.setdefault(_SCHEMES, {})
    if scheme_id not in schemes:
        schemes[scheme_id] = results.load_scheme(team, period, session=ctx.session)
    return schemes[scheme_id]


_SCHEMES = "kpibot.forms.schemes"


def team_of(ctx: Context, member: Member) -> Team:
    team = repo.get_team(session=ctx.session, team_id=member.team_id)
    assert team is not None
    return team


class Window(StrEnum):
    OPEN = "open"
    NOT_YET = "not_yet"
    CLOSED = "closed"


def window(period: Period, now: datetime) -> Window:
    """Where ``now`` is against the period's review window.

    The window is ``review_opens_at`` (inclusive) to ``review_closes_at`` (exclusive); a
    missing edge is open-ended. A period that is planned has not opened; one that is
    closed, locked or published is closed whatever the dates say.
    """
    if period.status == "planned":
        return Window.NOT_YET
    if period.status not in REVIEWABLE_STATUSES:
        return Window.CLOSED
    if period.review_opens_at is not None and now < period.review_opens_at:
        return Window.NOT_YET
    if period.review_closes_at is not None and now >= period.review_closes_at:
        return Window.CLOSED
    return Window.OPEN


def period_by_key(ctx: Context, team: Team, key: str) -> Period | None:
    return repo.get_period(session=ctx.session, team=team, key=key.strip())


def open_review_period(ctx: Context, team: Team) -> Period | None:
    """The latest period of the team whose review window is open now."""
    periods = repo.list_periods(session=ctx.session, team=team)
    open_now = [p for p in periods if window(p, ctx.now) is Window.OPEN]
    return max(open_now, key=lambda p: p.starts_on) if open_now else None


def next_review_period(ctx: Context, team: Team) -> Period | None:
    periods = repo.list_periods(session=ctx.session, team=team)
    later = [p for p in periods if window(p, ctx.now) is Window.NOT_YET]
    return min(later, key=lambda p: p.starts_on) if later else None


def latest_reviewable_period(ctx: Context, team: Team) -> Period | None:
    """The most recent period that started and is still open (a manager reviews after the month,
    until the review window closes)."""
    today: date = ctx.now.date()
    periods = [
        p for p in repo.list_periods(session=ctx.session, team=team)
        if p.status in REVIEWABLE_STATUSES and p.starts_on <= today
    ]  # fmt: skip
    return max(periods, key=lambda p: p.starts_on) if periods else None


def window_refusal(ctx: Context, team: Team, period: Period, what: str) -> str | None:
    """Why the form ``what`` (an English msgid) cannot be filled for ``period`` now; None if it
    can."""
    _ = ctx._
    state = window(period, ctx.now)
    form = _(what)
    if state is Window.OPEN:
        return None
    if state is Window.NOT_YET:
        if period.review_opens_at is not None:
            return _("The {form} for {period} opens on {when}.", form=form, period=period.key,
                     when=TeamClock.of(team).text(period.review_opens_at))  # fmt: skip
        return _("The {form} for {period} is not open yet.", form=form, period=period.key)
    if period.review_closes_at is not None and period.status in REVIEWABLE_STATUSES:
        return _("The {form} for {period} closed on {when}.", form=form, period=period.key,
                 when=TeamClock.of(team).deadline(period.review_closes_at))  # fmt: skip
    return _("The {form} for {period} is closed.", form=form, period=period.key)


def expiry(ctx: Context, period: Period, days: int = 14) -> datetime:
    """A draft lasts until the review window closes, or ``days`` when it has no deadline."""
    if period.review_closes_at is not None and period.review_closes_at > ctx.now:
        return period.review_closes_at
    return ctx.now + timedelta(days=days)


def names(n: Names) -> Localized:
    """A scheme ``Names`` (zh/en) as a form text."""
    return Localized(zh=n.zh, en=n.en)


def score_field(dim: Dimension, prompt: str, *, required: bool = True) -> Field:
    """A 1–5 question about one dimension; ``prompt`` is a msgid with ``{dimension}``."""
    return Field(
        id=dim.id,
        kind="score",
        prompt=Msg(prompt, {"dimension": names(dim.name)}),
        help=names(dim.hint) if dim.hint is not None else "",
        required=required,
        anchors=SCORE_ANCHORS,
        short=names(dim.name),
    )


def task_first(dimensions: Sequence[Dimension]) -> list[Dimension]:
    """Rated dimensions with task completion first (DOMAIN.md: 工作任务完成情况)."""
    rated = [d for d in dimensions if d.computed is None]
    return sorted(rated, key=lambda d: 0 if "task" in d.id else 1)


# -- KPI numbers as text ------------------------------------------------------------------


def format_value(ctx: Context, indicator: Indicator, value: Decimal | float | None) -> str:
    """A raw indicator value as a person reads it (:func:`commands.explain.value_text`)."""
    return value_text(ctx._, ctx.lang, indicator, value)


def kpi_lines(ctx: Context, scheme: Scheme, member: Member, period: Period) -> list[str]:
    """One line per indicator of the scheme: name and the member's value for the period."""
    values = {
        row.indicator: row.value
        for row in repo.indicator_values(session=ctx.session, period=period, member=member)
    }
    lines = []
    for indicator in scheme.indicators:
        shown = format_value(ctx, indicator, values.get(indicator.id))
        lines.append(ctx._("· {name}: {value}", name=indicator.name.get(ctx.lang), value=shown))
    return lines


def conversation_period(ctx: Context, conv: Conversation) -> Period:
    """The period a form's conversation is about (every review form has one)."""
    assert conv.period_id is not None
    period = repo.get_period_by_id(session=ctx.session, period_id=conv.period_id)
    assert period is not None
    return period


def conversation_subject(ctx: Context, conv: Conversation) -> Member:
    """The member a form's conversation is about (the reviewed or rated person)."""
    assert conv.subject_id is not None
    member = repo.get_member(session=ctx.session, member_id=conv.subject_id)
    assert member is not None
    return member

"""Charts drawn when an outbox message is sent, or after a command's other replies were said
(``Reply.chart``: :func:`draw`), listed in one table (:data:`CHART_RENDERERS`).

A message stores a :class:`~commands.messages.ChartRef` (a renderer's name and its JSON
parameters) instead of a PNG, so a broadcast of thousands does not store thousands of
images; the sender (``bot/sender.py``) and ``/inbox`` draw it with :func:`resolve_reply`.
Adding a chart: its renderer here and one line in the table; :func:`chart_ref` refuses a
name the table does not have, so a typo fails where the message is made, not when it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from commands import charts, results
from commands.i18n import translator
from commands.messages import ChartRef, Image, Reply
from commands.outbox import ChartRenderer, chart_of, reply_from_json
from storage import repo

if TYPE_CHECKING:
    from sqlmodel import Session

HISTORY_LENGTH = 6
"""Periods in the results chart: this one and the five before it."""


def result_history(session: Session, params: Mapping[str, Any]) -> Image | None:
    """The agent's totals in the six periods up to this one (drawn at send time)."""
    member = repo.get_member(session=session, member_id=int(params["member_id"]))
    period = repo.get_period_by_id(session=session, period_id=int(params["period_id"]))
    if member is None or period is None:
        return None
    team = repo.get_team(session=session, team_id=member.team_id)
    if team is None:
        return None
    now_score = repo.get_score(session=session, period=period, member=member)
    past = list(
        reversed(results.history(team, member, period, session=session, limit=HISTORY_LENGTH - 1))
    )
    labels = [e.period for e in past] + [period.key]
    totals = [e.total for e in past] + [float(now_score.total) if now_score is not None else None]
    scheme = results.load_scheme(team, period, session=session)
    precisions = [e.precision for e in past] + [scheme.precision if scheme is not None else 1]
    _ = translator(str(params.get("lang") or team.lang))
    png = charts.history_chart(
        labels, totals, precisions=precisions, title=_("Your totals over the last six periods"),
        ylabel=_("total"),
    )  # fmt: skip
    return Image(
        filename=f"history-{period.key}.png",
        data=png,
        alt=_("Your totals over the last six periods"),
    )


def ranking(_session: Session, params: Mapping[str, Any]) -> Image | None:
    """A ranking's chart (``/rank``, the published ranking), from the bars its text was
    written from (``commands.rank.ranking_chart_ref``): it shows what the text says, in its
    order, whenever it is drawn. Drawn once per change: the same result version's chart
    (same bars, title and language) is the one drawn before (``charts.ranking_chart``). The
    labels carry the ranking scheme's ``precision`` (a reference stored before it was a
    parameter was written at 1 decimal, as it is still drawn)."""
    bars = [
        charts.Bar(label=str(b[0]), value=float(b[1]), reward=bool(b[2]), penalty=bool(b[3]),
                   highlight=bool(b[4]))
        for b in params.get("bars", [])
    ]  # fmt: skip
    if not bars:
        return None
    png = charts.ranking_chart(
        bars, title=str(params["title"]), xlabel=str(params["xlabel"]),
        precision=int(params.get("precision", 1)),
    )  # fmt: skip
    return Image(filename=str(params["filename"]), data=png, alt=str(params.get("alt", "")))


CHART_RENDERERS: Mapping[str, ChartRenderer] = MappingProxyType(
    {
        "result.history": result_history,
        "rank.chart": ranking,
    }
)
"""Every chart an outbox message may refer to, by name: ``renderer(session, params)``."""


def chart_ref(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    renderers: Mapping[str, ChartRenderer] = CHART_RENDERERS,
) -> ChartRef:
    """A reference to the chart ``name`` with ``params``; ``KeyError`` for a name not listed."""
    if name not in renderers:
        raise KeyError(f"no chart renderer named {name!r}")
    return ChartRef(name, dict(params or {}))


def resolve_reply(
    session: Session,
    data: Mapping[str, Any],
    *,
    renderers: Mapping[str, ChartRenderer] = CHART_RENDERERS,
) -> Reply:
    """The reply to send: stored JSON, with its chart reference (if any) drawn now.

    A chart that cannot be drawn (unknown renderer, renderer returns None) leaves the
    text alone: the person still gets their message.
    """
    ref = chart_of(data)
    image = None
    if ref is not None:
        renderer = renderers.get(ref.name)
        image = renderer(session, ref.params) if renderer is not None else None
    return replace(reply_from_json(data, image=image), chart=None)


def draw(
    session: Session,
    reply: Reply,
    *,
    renderers: Mapping[str, ChartRenderer] = CHART_RENDERERS,
) -> Reply | None:
    """A reply said after the others (``Reply.chart``) with its chart drawn now; ``None``
    when it cannot be drawn (an image with nothing in it is not said). Replies without a
    chart are returned as they are."""
    if reply.chart is None:
        return reply
    renderer = renderers.get(reply.chart.name)
    image = renderer(session, reply.chart.params) if renderer is not None else None
    if image is None:
        return None
    return replace(reply, image=image, chart=None)

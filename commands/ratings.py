"""Customer ratings: storing one from the survey page, reading them for the score.

* :func:`record_rating` stores the rating of one survey link. The link's token id is
  unique in ``customer_rating``, so a link counts once: a second rating from the same
  link replaces the first (scheme ``repeat = "replace"``) or is refused
  (``repeat = "refuse"``), never added.
* :func:`rating_counts` gives the scoring module its input: per agent, the number of
  1…5-star ratings in a period (``n1`` … ``n5``) and ``responses``.
* :func:`comments_for` lists comments for a person to read; ``escape`` makes them safe
  for HTML, Slack mrkdwn, Telegram HTML or a spreadsheet — comment text is a stranger's input.
* :func:`comment_digests` (the agent's daily digest) and :func:`low_rating_alerts`
  (1–2 stars with a comment, to the manager the same day) build the messages as
  :class:`~commands.messages.Outgoing` with a unique outbox key; sending them once is
  the outbox's job (the monthly-cycle issue). Comments travel as plain text: each
  adapter escapes text for its platform.

Nothing here commits: the caller's unit of work does.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Literal

import pandas as pd
from sqlmodel import Session

from commands.i18n import translator
from commands.messages import Outgoing, Reply
from commands.outbox import enqueue
from commands.people import TeamClock, lang_of, managers_of
from commands.survey_tokens import SurveyClaims, clean_ref
from scoring import SchemeError, kpi, parse_scheme
from storage import repo
from storage import survey as prefs
from storage.models import CustomerRating, Member, Period, Team

RepeatPolicy = Literal["replace", "refuse"]
Outcome = Literal["stored", "replaced", "refused", "missing"]
MAX_COMMENT = 500
STAR_COLUMNS: tuple[str, ...] = ("n1", "n2", "n3", "n4", "n5")


@dataclass(frozen=True)
class RatingView:
    """A stored rating as the page and commands see it (no ORM object leaks out)."""

    id: int
    member_id: int
    period_id: int | None
    stars: int
    comment: str | None
    resolved: bool | None
    ref: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SurveySettings:
    """The scheme's customer-rating settings that links and the page need.

    A scheme without a ``customer`` component (or no scheme at all) gets the defaults:
    links open 7 days, a second rating replaces the first.
    """

    repeat: RepeatPolicy = "replace"
    link_expiry_days: int = 7
    has_customer_component: bool = False


def _view(row: CustomerRating) -> RatingView:
    assert row.id is not None
    return RatingView(
        id=row.id,
        member_id=row.member_id,
        period_id=row.period_id,
        stars=row.stars,
        comment=row.comment,
        resolved=row.resolved,
        ref=row.ref,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# ---------------------------------------------------------------- scheme settings


@lru_cache(maxsize=64)
def settings_from_scheme_text(text: str | None) -> SurveySettings:
    """The survey settings of a scheme's text; defaults when absent or unreadable."""
    if not text:
        return SurveySettings()
    try:
        scheme = parse_scheme(text)
    except SchemeError:
        return SurveySettings()
    customer = scheme.customer
    if customer is None:
        return SurveySettings()
    repeat: RepeatPolicy = "refuse" if customer.repeat == "refuse" else "replace"
    return SurveySettings(
        repeat=repeat,
        link_expiry_days=max(1, int(customer.link_expiry_days or 7)),
        has_customer_component=True,
    )


def survey_settings(
    session: Session, *, team: Team, period: Period | None = None
) -> SurveySettings:
    """The settings of the scheme that scores ``period`` (else the team's scheme)."""
    scheme = repo.scheme_for(session=session, team=team, period=period)
    return settings_from_scheme_text(scheme.text if scheme is not None else None)


def repeat_policy(session: Session, *, team_id: int) -> RepeatPolicy:
    team = repo.get_team(session=session, team_id=team_id)
    if team is None:
        return "replace"
    return survey_settings(session, team=team).repeat


# ---------------------------------------------------------------- writing


def find_rating(session: Session, *, token_id: str) -> RatingView | None:
    row = repo.get_customer_rating_by_token(session=session, token_id=token_id)
    return _view(row) if row is not None else None


def record_rating(
    session: Session,
    *,
    claims: SurveyClaims,
    stars: int,
    comment: str | None,
    resolved: bool | None,
    now: datetime,
    repeat: RepeatPolicy,
    first_try: bool = False,
) -> Outcome:
    """Store the rating of one link: ``stored`` (first), ``replaced``, or ``refused``.

    The token id is unique in ``customer_rating``, so a link never counts twice.
    ``first_try=True`` is the page's fast path: insert at once (one statement), and let
    a duplicate token id — or a vanished agent, team or period (foreign keys) — fail
    at flush with ``IntegrityError``; the caller rolls back and calls again without
    ``first_try``, which looks the link up and replaces, refuses, or says ``missing``.
    The claims are signed by kpibot, so agent, team and period belonged together when
    the link was issued. Stars outside 1–5 or an over-long comment raise ``ValueError``.
    """
    if stars not in (1, 2, 3, 4, 5):
        raise ValueError(f"stars must be 1-5, got {stars!r}")
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ValueError(f"comment longer than {MAX_COMMENT} characters")
    if not first_try:
        row = repo.get_customer_rating_by_token(session=session, token_id=claims.token_id)
        if row is not None:
            if repeat == "refuse":
                return "refused"
            row.stars = stars
            row.comment = comment
            row.resolved = resolved
            row.updated_at = now
            session.add(row)
            session.flush()
            return "replaced"
        member = session.get(Member, claims.member_id)
        if member is None or member.team_id != claims.team_id:
            return "missing"
    period_id: int | None = claims.period_id or None
    if period_id is None:
        team = session.get(Team, claims.team_id)
        if team is None:
            return "missing"
        found = repo.current_period(session=session, team=team, today=TeamClock.of(team).date(now))
        period_id = found.id if found is not None else None
    session.add(
        CustomerRating(
            team_id=claims.team_id,
            member_id=claims.member_id,
            period_id=period_id,
            token_id=claims.token_id,
            stars=stars,
            comment=comment,
            resolved=resolved,
            ref=clean_ref(claims.ref),
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    return "stored"


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class PlatformRatings:
    """The customer ratings of one agent that one import brought (赤兔 满意度, JD 好评量/差评量,
    Zendesk good/bad), as star counts ``n1`` … ``n5`` (:data:`scoring.kpi.STAR_MEASURES`)."""

    import_id: int | None
    file_name: str
    counts: tuple[int, int, int, int, int]

    @property
    def total(self) -> int:
        return sum(self.counts)


def platform_ratings(
    session: Session, *, period: Period, member_ids: Iterable[int] | None = None
) -> dict[int, list[PlatformRatings]]:
    """Per agent, the platform ratings each import of the period holds.

    They are the import's stored values (one per agent and rating measure), so a second
    import of the same or a corrected file replaces them and a rating never counts twice.
    """
    wanted = set(member_ids) if member_ids is not None else None
    held: dict[tuple[int, int | None], dict[str, float]] = {}
    for row in repo.indicator_values(session=session, period=period):
        if row.indicator not in kpi.STAR_MEASURES or row.value is None:
            continue
        if wanted is not None and row.member_id not in wanted:
            continue
        held.setdefault((row.member_id, row.import_id), {})[row.indicator] = float(row.value)
    if not held:
        return {}
    files = {i.id: i.file_name for i in repo.list_imports(session=session, period=period)}
    stars = kpi.star_counts(pd.DataFrame.from_dict(held, orient="index"))
    found: dict[int, list[PlatformRatings]] = {}
    for (member_id, import_id), counts in zip(held, stars.to_numpy(), strict=True):
        n1, n2, n3, n4, n5 = (int(round(c)) for c in counts)
        found.setdefault(member_id, []).append(
            PlatformRatings(
                import_id,
                files.get(import_id, "") if import_id is not None else "",
                (n1, n2, n3, n4, n5),
            )
        )
    return found


def customer_frame(
    session: Session,
    *,
    period: Period,
    member_ids: Iterable[int] | None = None,
    platform: bool = True,
) -> pd.DataFrame:
    """The scoring module's customer input for one period: star counts per agent.

    Index: agent id as ``str`` (``ScoreInputs`` convention); columns ``n1`` … ``n5``
    (``int64``). Every id in ``member_ids`` has a row (zeros when nobody rated them);
    without ``member_ids``, the agents that have ratings. A link rated twice under
    ``replace`` is one row in storage, so it counts once. The response count is the
    row sum; the scoring module applies ``csat``, ``min_responses`` and ``below_min``.
    The ratings imported from a platform (:func:`platform_ratings`) are added to the
    survey page's, unless ``platform`` is False.
    """
    counts: dict[str, list[int]] = {str(m): [0] * 5 for m in (member_ids or ())}
    for row in repo.list_customer_ratings(session=session, period=period):
        key = str(row.member_id)
        if member_ids is not None and key not in counts:
            continue
        counts.setdefault(key, [0] * 5)[row.stars - 1] += 1
    if platform:
        for member_id, found in platform_ratings(
            session, period=period, member_ids=member_ids
        ).items():
            mine = counts.setdefault(str(member_id), [0] * 5)
            for part in found:
                for star, n in enumerate(part.counts):
                    mine[star] += n
    frame = pd.DataFrame(
        [counts[k] for k in counts],
        index=pd.Index(list(counts), name="agent", dtype=object),
        columns=list(STAR_COLUMNS),
        dtype="int64",
    )
    return frame


def responses(frame: pd.DataFrame, agent_id: int | str) -> int:
    """How many customers rated this agent in the frame from :func:`customer_frame`."""
    key = str(agent_id)
    if key not in frame.index:
        return 0
    row = frame.loc[key, list(STAR_COLUMNS)]
    return int(row.to_numpy(dtype="int64").sum())


def comments_for(
    session: Session,
    *,
    team: Team,
    period: Period | None,
    since: datetime,
    max_stars: int = 5,
    member_ids: Sequence[int] | None = None,
) -> list[RatingView]:
    """Ratings with a comment given or changed since ``since``, newest first.

    What a daily digest to the agent (all stars) or a same-day alert to the manager
    (``max_stars=2``) reads. The comment is the customer's raw text: pass it through
    :func:`escape` for where it is shown.
    """
    wanted = set(member_ids) if member_ids is not None else None
    rows = [
        r
        for r in repo.list_customer_ratings(session=session, team=team, period=period)
        if r.comment
        and r.updated_at >= since
        and r.stars <= max_stars
        and (wanted is None or r.member_id in wanted)
    ]
    rows.sort(key=lambda r: (r.updated_at, r.id or 0), reverse=True)
    return [_view(r) for r in rows]


# ---------------------------------------------------------------- notices (for the outbox)


ALERT_MAX_STARS = 2


def _stars_text(stars: int) -> str:
    return f"{stars}★"  # the same in both languages


def comment_digests(
    session: Session,
    *,
    team: Team,
    period: Period | None,
    since: datetime,
    until: datetime,
    opted_out: Collection[int] = (),
) -> list[Outgoing]:
    """One private message per agent listing the comments customers left in [since, until).

    For the daily digest: the caller (the scheduler, through the outbox) picks the day
    and passes the agents who turned the digest off. The outbox key
    ``survey-digest:<member>:<since date>`` makes a digest go out once even when two
    replicas build it.
    """
    by_member: dict[int, list[RatingView]] = {}
    for view in comments_for(session, team=team, period=period, since=since):
        if view.updated_at < until and view.member_id not in opted_out:
            by_member.setdefault(view.member_id, []).append(view)
    out: list[Outgoing] = []
    for member_id, views in sorted(by_member.items()):
        member = session.get(Member, member_id)
        if member is None or not member.active:
            continue
        _ = translator(lang_of(member, session=session))
        lines = [_("Comments from customers about your service ({n}):", n=len(views))]
        lines += [
            f"· {_stars_text(v.stars)} {escape(v.comment or '', 'text')}" for v in reversed(views)
        ]
        out.append(
            Outgoing(
                member_id=member_id,
                reply=Reply(text="\n".join(lines), private=True),
                key=f"survey-digest:{member_id}:{since.date().isoformat()}",
            )
        )
    return out


def low_rating(stars: int, comment: str | None) -> bool:
    """Whether a rating alerts the manager: 1–2 stars and a comment that says something."""
    return stars <= ALERT_MAX_STARS and bool(comment and comment.strip())


def _alerts_for(session: Session, team: Team, view: RatingView) -> list[Outgoing]:
    """The manager alerts of one rating (none unless it is 1–2 stars with a comment)."""
    if not low_rating(view.stars, view.comment):
        return []
    agent = session.get(Member, view.member_id)
    if agent is None:
        return []
    managers = [
        m
        for m_id in managers_of([agent], team=team, session=session)
        if (m := session.get(Member, m_id)) is not None
    ]
    out: list[Outgoing] = []
    for manager in managers:
        assert manager.id is not None
        _ = translator(lang_of(manager, session=session))
        text = _(
            "{agent} got a {stars} rating from a customer, with this comment:",
            agent=agent.name,
            stars=_stars_text(view.stars),
        )
        if view.ref:
            text += " " + _("(reference {ref})", ref=view.ref)
        out.append(
            Outgoing(
                member_id=manager.id,
                reply=Reply(text=f"{text}\n{escape(view.comment or '', 'text')}", private=True),
                key=f"survey-alert:{view.id}:{manager.id}",
            )
        )
    return out


def low_rating_alerts(
    session: Session, *, team: Team, period: Period | None, since: datetime
) -> list[Outgoing]:
    """A same-day private message to the manager for each 1–2 star rating with a comment.

    The agent's direct manager, else the team's managers. Key
    ``survey-alert:<rating>:<manager>``: a rating alerts each manager once.
    """
    out: list[Outgoing] = []
    views = comments_for(session, team=team, period=period, since=since, max_stars=ALERT_MAX_STARS)
    for view in reversed(views):
        out += _alerts_for(session, team, view)
    return out


# ---------------------------------------------------------------- into the outbox


def _enqueue(session: Session, *, team: Team, notice: Outgoing, now: datetime) -> bool:
    """One notice into the outbox; its key (``kind``) makes a second enqueue a no-op."""
    member = session.get(Member, notice.member_id)
    if member is None:
        return False
    return enqueue(session, team=team, period=None, member=member, kind=notice.key,
                   reply=notice.reply, now=now)  # fmt: skip


def queue_comment_digests(session: Session, *, team: Team, day: date, now: datetime) -> int:
    """Queue each agent's digest of the comments customers left on ``day`` (team's zone);
    agents who turned the digest off (``/survey digest off``) get none. Returns how many
    were queued now (a re-run queues nothing: the outbox key carries agent and day)."""
    since, until = TeamClock.of(team).day_window(day)
    members = repo.list_members(session=session, team=team, active_only=False)
    opted_out = prefs.digest_opted_out(session=session, member_ids=[m.id for m in members if m.id])
    notices = comment_digests(session, team=team, period=None, since=since, until=until,
                              opted_out=opted_out)  # fmt: skip
    return sum(_enqueue(session, team=team, notice=n, now=now) for n in notices)


def queue_rating_alerts(session: Session, *, token_id: str, now: datetime) -> int:
    """Queue the manager alerts of the rating under ``token_id`` (1–2 stars with a comment),
    the moment it is stored. The key names the rating, so a replaced rating alerts once."""
    row = repo.get_customer_rating_by_token(session=session, token_id=token_id)
    team = session.get(Team, row.team_id) if row is not None else None
    if row is None or team is None:
        return 0
    return sum(
        _enqueue(session, team=team, notice=n, now=now)
        for n in _alerts_for(session, team, _view(row))
    )


EscapeTarget = Literal["html", "slack", "telegram", "text", "csv"]


def escape(comment: str, target: EscapeTarget = "html") -> str:
    """A customer's comment made inert for where it is shown.

    ``html`` and ``telegram`` (HTML parse mode): ``&<>"'`` escaped. ``slack`` (mrkdwn):
    ``&<>`` escaped as Slack requires, so ``<!channel>`` or ``<http://x|y>`` cannot
    mention or disguise a link. ``text`` (terminal): control characters removed.
    ``csv`` (exports, spreadsheets): a leading ``= + - @`` or tab is quoted with ``'``
    so a spreadsheet never runs it as a formula.
    """
    if target in ("html", "telegram"):
        return html.escape(comment, quote=True)
    if target == "slack":
        return comment.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if target == "csv":
        return "'" + comment if comment[:1] in ("=", "+", "-", "@", "\t", "\r") else comment
    return "".join(ch for ch in comment if ch in "\n\t" or ch.isprintable())

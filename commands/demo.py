"""Demo data: a team called ``demo`` that a newcomer can rank at once.

``load_demo(session, now=...)`` creates (or completes) the team ``demo`` (zh, Asia/Shanghai):
one manager, one admin and eight agents with Chinese and English names; the online-shop
scheme from ``schemes/online_shop.toml`` (stored by text and hash, set as the team's
scheme) when the file is there; the three calendar months before ``now`` closed, with
plausible indicator values (source ``demo``), self and manager reviews (answers 1–5 per
dimension of the scheme) and a few customer ratings each; and the current month open.

It is idempotent: every row is found-or-created under a stable key and every value comes
from a random generator seeded by (period, agent, indicator), so running it twice adds
nothing the second time. :class:`DemoSummary` says what was added and what is there.
Scores are not stored here: ranking computes them from these inputs with ``scoring``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, col, select

from commands.cycle_plan import plan
from scoring.cycle_rules import CycleRules
from scoring.scheme import Scheme
from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.models import CustomerRating, IndicatorValue, Member, Period, Review, Team

DEMO_TEAM = "demo"
DEMO_TZ = "Asia/Shanghai"
DEMO_SEED = 20261
DEMO_SOURCE = "demo"
ACTOR = "demo"
REASON = "demo data (kpibot demo)"
SCHEME_FILE = "online_shop.toml"
CLOSED_MONTHS = 3

MANAGER = ("陈静", "Chen Jing")
ADMIN = ("周敏", "Zhou Min")
# (name, English name, ability 0–1): the ability sets where an agent usually lands.
AGENTS: tuple[tuple[str, str, float], ...] = (
    ("王小红", "Wang Xiaohong", 0.90),
    ("李明", "Li Ming", 0.75),
    ("张伟", "Zhang Wei", 0.62),
    ("刘洋", "Liu Yang", 0.55),
    ("赵丽", "Zhao Li", 0.48),
    ("孙浩", "Sun Hao", 0.40),
    ("杨帆", "Yang Fan", 0.30),
    ("吴婷", "Wu Ting", 0.18),
)

# Indicator id → (worst, best, decimal places). Values move from worst to best with ability.
INDICATOR_RANGES: dict[str, tuple[float, float, int]] = {
    "conversion_rate": (0.22, 0.58, 4),
    "avg_response_s": (115.0, 18.0, 1),
    "churn_rate": (0.12, 0.02, 4),
    "order_amount": (110000.0, 260000.0, 2),
    "valid_order_share": (0.90, 0.99, 4),
    "payment_ratio": (0.62, 0.95, 4),
    "refund_ratio": (0.11, 0.01, 4),
    "avg_order_value": (170.0, 380.0, 2),
    "complaint_share": (0.05, 0.002, 4),
    "abnormal_order_share": (0.045, 0.004, 4),
    "report_timeliness": (55.0, 100.0, 0),
    "report_accuracy": (60.0, 100.0, 0),
    "report_quality": (50.0, 98.0, 0),
}
# A scheme's indicator we have no range for gets one by its unit.
UNIT_RANGES: dict[str, tuple[float, float, int]] = {
    "fraction": (0.5, 0.95, 4),
    "percent": (50.0, 95.0, 2),
    "seconds": (120.0, 20.0, 1),
    "minutes": (15.0, 3.0, 2),
    "yuan": (1000.0, 9000.0, 2),
    "count": (6.0, 0.0, 0),
    "days": (35.0, 20.0, 0),
    "points": (55.0, 100.0, 0),
}
DEFAULT_SELF_DIMENSIONS: tuple[str, ...] = ("task_completion",)
DEFAULT_MANAGER_DIMENSIONS: tuple[str, ...] = ("ability", "collaboration", "service")
DEFAULT_INDICATORS: tuple[str, ...] = tuple(INDICATOR_RANGES)


@dataclass(frozen=True)
class DemoCounts:
    members: int = 0
    periods: int = 0
    indicator_values: int = 0
    reviews: int = 0
    customer_ratings: int = 0


@dataclass(frozen=True)
class DemoSummary:
    """What ``load_demo`` found and added. ``added`` counts only rows this run created."""

    team: str
    team_id: int
    team_created: bool
    scheme_key: str | None
    scheme_hash: str | None
    closed_periods: tuple[str, ...]
    open_period: str
    total: DemoCounts
    added: DemoCounts

    @property
    def changed(self) -> bool:
        return self.team_created or self.added != DemoCounts()


def default_schemes_dir() -> Path:
    """``schemes/`` next to the package (a source checkout), else in the working directory."""
    beside = Path(__file__).resolve().parent.parent / "schemes"
    return beside if beside.is_dir() else Path("schemes")


def _month_key(day: date, back: int) -> str:
    index = day.year * 12 + day.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _rng(*parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (DEMO_SEED, *parts)))


def _value(indicator: str, unit: str, ability: float, rng: random.Random) -> Decimal:
    worst, best, places = INDICATOR_RANGES.get(indicator) or UNIT_RANGES.get(unit, (0.0, 1.0, 4))
    level = min(1.0, max(0.0, ability + rng.gauss(0.0, 0.12)))
    raw = worst + (best - worst) * level
    return Decimal(str(round(raw, places)))


def _answer(ability: float, rng: random.Random, bias: float = 0.0) -> int:
    return int(min(5, max(1, round(1 + 4 * ability + bias + rng.gauss(0.0, 0.6)))))


def _load_scheme(schemes_dir: Path | None) -> Scheme | None:
    path = (schemes_dir or default_schemes_dir()) / SCHEME_FILE
    if not path.is_file():
        return None
    return parse_scheme(path.read_text(encoding="utf-8"))


def _counts(session: Session, team: Team) -> DemoCounts:
    def count(stmt: Any) -> int:
        return int(session.exec(stmt).one())

    periods = select(Period.id).where(Period.team_id == team.id)
    return DemoCounts(
        members=count(select(func.count()).select_from(Member).where(Member.team_id == team.id)),
        periods=count(select(func.count()).select_from(Period).where(Period.team_id == team.id)),
        indicator_values=count(
            select(func.count())
            .select_from(IndicatorValue)
            .where(col(IndicatorValue.period_id).in_(periods))
        ),
        reviews=count(
            select(func.count()).select_from(Review).where(col(Review.period_id).in_(periods))
        ),
        customer_ratings=count(
            select(func.count())
            .select_from(CustomerRating)
            .where(CustomerRating.team_id == team.id)
        ),
    )


def _minus(a: DemoCounts, b: DemoCounts) -> DemoCounts:
    return DemoCounts(
        members=a.members - b.members,
        periods=a.periods - b.periods,
        indicator_values=a.indicator_values - b.indicator_values,
        reviews=a.reviews - b.reviews,
        customer_ratings=a.customer_ratings - b.customer_ratings,
    )


def _member(
    session: Session,
    team: Team,
    name: str,
    name_en: str,
    role: str,
    manager: Member | None,
    now: datetime,
) -> Member:
    found = repo.get_member_by_name(session=session, team=team, name=name)
    if found is not None:
        return found
    return repo.add_member(
        session=session,
        team=team,
        name=name,
        name_en=name_en,
        role=role,
        manager=manager,
        now=now,
    )


def _at(day: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=tz)


def _close_window(
    session: Session, period: Period, scheme: Scheme | None, tz: ZoneInfo, now: datetime
) -> None:
    """A closed demo month has its review window as the cycle plans it, closed by ``now`` at the
    latest."""
    if period.review_closes_at is not None and period.review_opens_at is not None:
        return
    steps = {
        s.base: s.at
        for s in plan(scheme.cycle if scheme is not None else CycleRules(), str(tz), period.key)
    }
    period.review_opens_at = period.review_opens_at or min(steps["open"], now)
    period.review_closes_at = period.review_closes_at or min(steps["close"], now)
    session.add(period)
    session.flush()


def _fill_closed_month(
    session: Session,
    period: Period,
    agents: list[tuple[Member, float]],
    manager: Member,
    team: Team,
    indicators: list[tuple[str, str]],
    self_dims: tuple[str, ...],
    manager_dims: tuple[str, ...],
    tz: ZoneInfo,
) -> None:
    written = _at(period.ends_on, 20, tz)
    reviewed = _at(period.ends_on + timedelta(days=2), 10, tz)
    repo.set_indicator_values(
        session=session,
        period=period,
        source=DEMO_SOURCE,
        actor=ACTOR,
        reason=REASON,
        now=written,
        rows=[
            (
                agent,
                indicator,
                _value(indicator, unit, ability, _rng(period.key, agent.name_en, indicator)),
            )
            for agent, ability in agents
            for indicator, unit in indicators
        ],
    )
    for agent, ability in agents:
        rng = _rng(period.key, agent.name_en, "reviews")
        self_answers = {d: _answer(ability, rng, bias=0.4) for d in self_dims}
        manager_answers = {d: _answer(ability, rng) for d in manager_dims}
        _review(session, period, agent, agent, "self", self_answers, {}, written)
        comments: dict[str, str] = {}
        if manager_dims and manager_answers[manager_dims[0]] <= 2:
            comments[manager_dims[0]] = "需要加强产品知识 / needs more product knowledge"
        _review(session, period, agent, manager, "manager", manager_answers, comments, reviewed)
        _ratings(session, team, period, agent, ability, tz)


def _review(
    session: Session,
    period: Period,
    subject: Member,
    rater: Member,
    kind: str,
    answers: dict[str, int],
    comments: dict[str, str],
    at: datetime,
) -> None:
    existing = repo.get_review(
        session=session, period=period, subject=subject, rater=rater, kind=kind
    )
    if existing is not None:
        return
    repo.save_review(
        session=session,
        period=period,
        subject=subject,
        rater=rater,
        kind=kind,
        answers=answers,
        comments=comments,
        submitted_at=at,
        actor=ACTOR,
        reason=REASON,
        now=at,
    )


def _ratings(
    session: Session, team: Team, period: Period, agent: Member, ability: float, tz: ZoneInfo
) -> None:
    rng = _rng(period.key, agent.name_en, "customers")
    for n in range(2 + rng.randrange(3)):
        token = f"demo:{period.key}:{agent.name_en}:{n}"
        stars = min(5, max(1, round(2.4 + 2.8 * ability + rng.gauss(0.0, 0.7))))
        day = period.starts_on + timedelta(
            days=rng.randrange((period.ends_on - period.starts_on).days + 1)
        )
        if repo.get_customer_rating_by_token(session=session, token_id=token) is not None:
            continue
        repo.add_customer_rating(
            session=session,
            team=team,
            member=agent,
            period=period,
            token_id=token,
            stars=stars,
            comment="回复很快,谢谢!" if stars == 5 and n == 0 else None,
            ref=f"DEMO-{period.key.replace('-', '')}-{rng.randrange(10000, 99999)}",
            now=_at(day, 15, tz),
        )


def _scheme_shape(
    scheme: Scheme | None,
) -> tuple[list[tuple[str, str]], tuple[str, ...], tuple[str, ...]]:
    if scheme is None:
        return (
            [(i, "") for i in DEFAULT_INDICATORS],
            DEFAULT_SELF_DIMENSIONS,
            DEFAULT_MANAGER_DIMENSIONS,
        )
    indicators = [(ind.id, ind.unit) for ind in scheme.indicators]
    self_dims = tuple(d.id for d in scheme.self_dimensions if d.computed is None)
    manager_dims = tuple(d.id for d in scheme.manager_dimensions if d.computed is None)
    return indicators, self_dims, manager_dims


def load_demo(
    session: Session,
    *,
    now: datetime,
    schemes_dir: Path | None = None,
    scheme_loader: Callable[[Path | None], Scheme | None] = _load_scheme,
) -> DemoSummary:
    """Create or complete the demo team in ``session`` (no commit); see the module docstring."""
    tz = ZoneInfo(DEMO_TZ)
    today = now.astimezone(tz).date()
    scheme = scheme_loader(schemes_dir)

    team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
    team_created = team is None
    if team is None:
        team = repo.create_team(
            session=session, name=DEMO_TEAM, lang="zh", timezone=DEMO_TZ, now=now
        )
    before = _counts(session, team) if not team_created else DemoCounts()

    stored = None
    if scheme is not None:
        stored = repo.get_or_create_scheme(
            session=session,
            key=scheme.id,
            text=scheme.text,
            name_zh=scheme.name_zh,
            name_en=scheme.name_en,
            content_hash=scheme.content_hash,
            now=now,
        )
        if team.scheme_id != stored.id:
            repo.set_team_scheme(
                session=session, team=team, scheme=stored, actor=ACTOR, reason=REASON, now=now
            )

    manager = _member(session, team, *MANAGER, "manager", None, now)
    _member(session, team, *ADMIN, "admin", None, now)
    agents = [
        (_member(session, team, name, en, "agent", manager, now), ability)
        for name, en, ability in AGENTS
    ]

    indicators, self_dims, manager_dims = _scheme_shape(scheme)
    closed: list[str] = []
    for back in range(CLOSED_MONTHS, 0, -1):
        key = _month_key(today, back)
        period = repo.get_or_create_period(
            session=session, team=team, key=key, status="closed", scheme=stored
        )
        if period.status in ("planned", "open"):  # it was the open month on an earlier run
            repo.set_period_status(
                session=session, period=period, status="closed", actor=ACTOR, reason=REASON, now=now
            )
        _close_window(session, period, scheme, tz, now)
        _fill_closed_month(
            session, period, agents, manager, team, indicators, self_dims, manager_dims, tz
        )
        closed.append(key)
    open_key = _month_key(today, 0)
    repo.get_or_create_period(
        session=session, team=team, key=open_key, status="open", scheme=stored
    )

    total = _counts(session, team)
    return DemoSummary(
        team=team.name,
        team_id=int(team.id or 0),
        team_created=team_created,
        scheme_key=stored.key if stored else None,
        scheme_hash=stored.content_hash if stored else None,
        closed_periods=tuple(closed),
        open_period=open_key,
        total=total,
        added=_minus(total, before),
    )


def reset_demo(session: Session, *, now: datetime) -> bool:
    """Remove the demo team and everything under it (audited); ``False`` when there was none."""
    team = repo.get_team_by_name(session=session, name=DEMO_TEAM)
    if team is None:
        return False
    repo.delete_team(session=session, team=team, actor=ACTOR, reason="kpibot demo --reset")
    return True


def summary_lines(summary: DemoSummary, _: Callable[..., str]) -> list[str]:
    """What ``kpibot demo`` prints, in the reader's language."""
    t, a = summary.total, summary.added
    lines: list[str] = []
    if summary.changed:
        lines.append(_("Demo team '{team}' is ready.", team=summary.team))
    else:
        lines.append(
            _("Demo team '{team}' was already there; nothing was added.", team=summary.team)
        )
    if summary.scheme_key:
        lines.append(
            _(
                "Scheme: {key} ({hash})",
                key=summary.scheme_key,
                hash=(summary.scheme_hash or "")[:12],
            )
        )
    else:
        lines.append(_("No scheme file found; the team has no scheme yet."))
    lines.append(_("Members: {total} (added {added})", total=t.members, added=a.members))
    lines.append(
        _(
            "Closed periods: {keys}; open period: {key}",
            keys=summary.closed_periods,
            key=summary.open_period,
        )
    )
    lines.append(
        _(
            "Indicator values: {total} (added {added})",
            total=t.indicator_values,
            added=a.indicator_values,
        )
    )
    lines.append(_("Reviews: {total} (added {added})", total=t.reviews, added=a.reviews))
    lines.append(
        _(
            "Customer ratings: {total} (added {added})",
            total=t.customer_ratings,
            added=a.customer_ratings,
        )
    )
    return lines

"""A shop scored by the shipped online_shop scheme (seed 004), where some results lack a part the
scheme requires: the manager review and the indicator table are ``missing = "block"``.

Seed 004: an agent is scored 30 % on her own review of task completion and 70 % on the shop
manager's review, whose "performance" is the indicator table; rank 1 gets ¥100, the last
loses ¥100. Lina only rated herself (5): her result is provisional.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.models import Period, Team

ROOT = Path(__file__).resolve().parents[2]
SCHEME_TEXT = (ROOT / "schemes" / "online_shop.toml").read_text(encoding="utf-8")
PERIOD = "2026-10"
REVIEWED_AT = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
PUBLISH_AT = datetime(2026, 11, 12, 2, 0, tzinfo=UTC)  # after the review window of 2026-10
SHOP_VALUES = {
    "conversion_rate": 0.45, "avg_response_s": 40, "churn_rate": 0.05, "order_amount": 200000,
    "valid_order_share": 0.97, "payment_ratio": 0.9, "refund_ratio": 0.02, "avg_order_value": 300,
    "complaint_share": 0.005, "abnormal_order_share": 0.01, "report_timeliness": 100,
    "report_accuracy": 100, "report_quality": 100,
}  # fmt: skip
MISSING_EN = "Manager review, Performance"
MISSING_ZH = "店长考核、工作绩效"


def shop_team(session: Session, *, name: str = "shop") -> tuple[Team, Period]:
    """The team (English), its manager Mary, admins Ann (en) and 胡敏 (zh), an open period
    2026-10."""
    parsed = parse_scheme(SCHEME_TEXT)
    scheme = repo.get_or_create_scheme(
        session=session,
        key=parsed.id,
        text=SCHEME_TEXT,
        name_zh=parsed.name_zh,
        name_en=parsed.name_en,
        content_hash=parsed.content_hash,
    )
    team = repo.create_team(
        session=session,
        name=name,
        lang="en",
        timezone="Asia/Shanghai",
        scheme=scheme,
        now=datetime(2026, 9, 1, tzinfo=UTC),
    )
    repo.add_member(session=session, team=team, name="Mary", role="manager", lang="en")
    repo.add_member(session=session, team=team, name="Ann", role="admin", lang="en")
    repo.add_member(session=session, team=team, name="胡敏", role="admin", lang="zh")
    period = repo.get_or_create_period(
        session=session,
        team=team,
        key=PERIOD,
        status="open",
        scheme=scheme,
        review_opens_at=datetime(2026, 11, 1, tzinfo=UTC),
        review_closes_at=datetime(2026, 11, 10, 10, tzinfo=UTC),
    )
    return team, period


def add_agent(
    session: Session, team: Team, period: Period, name: str, *, self_score: int | None = 4,
    manager_score: int | None = 4, data: bool = True, conversion: float = 0.45,
) -> int:  # fmt: skip
    """An agent with the parts asked for: a self-review, the manager's review, indicator data."""
    boss = repo.get_member_by_name(session=session, team=team, name="Mary")
    agent = repo.add_member(session=session, team=team, name=name, manager=boss, lang="en")
    if self_score is not None:
        repo.save_review(session=session, period=period, subject=agent, rater=agent, kind="self",
                         answers={"task_completion": self_score}, actor="test", reason=None,
                         submitted_at=REVIEWED_AT)  # fmt: skip
    if manager_score is not None:
        repo.save_review(session=session, period=period, subject=agent, rater=boss, kind="manager",
                         answers={"ability": manager_score, "collaboration": manager_score,
                                  "service": manager_score}, actor="test", reason=None,
                         submitted_at=REVIEWED_AT)  # fmt: skip
    if data:
        for indicator, value in {**SHOP_VALUES, "conversion_rate": conversion}.items():
            repo.set_indicator_value(
                session=session,
                period=period,
                member=agent,
                indicator=indicator,
                value=value,
                source="test",
                actor="test",
                reason=None,
            )
    return int(agent.id or 0)


def seed_004_shop(session: Session) -> Team:
    """Alice, Bob and Carol complete; Lina rated herself 5 and has nothing else."""
    team, period = shop_team(session)
    add_agent(session, team, period, "Alice", conversion=0.5)
    add_agent(session, team, period, "Bob", conversion=0.45)
    add_agent(session, team, period, "Carol", conversion=0.2)
    add_agent(session, team, period, "Lina", self_score=5, manager_score=None, data=False)
    return team

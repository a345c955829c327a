"""Two teams in different time zones for the three-month test, scored by the mini shop scheme
with rewards, improvement plans, post-change flags and appeals switched on.

``shanghai`` (zh, Asia/Shanghai, manager 王经理) and ``london`` (en, Europe/London, manager
Mary, whose own manager is Director). Everyone has a Telegram id (``tg-<name>``) so the
outbox sender can reach them; the admin 周人事 sits in shanghai.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from scoring import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import SCHEME_TEXT

APPLY = """
[apply]
reward = "100"
penalty = "50"
improvement_last = 2
improvement_days = 7
post_change_after = 3
appeal_days = 7
announce_best = true
"""
SCHEME = SCHEME_TEXT.replace("publish_ranking = false", "publish_ranking = true") + APPLY
MONTHS = ("2026-09", "2026-10", "2026-11")
TEAMS = {
    "shanghai": ("zh", "Asia/Shanghai", "王经理", ["李娜", "张伟", "刘洋", "陈静"]),
    "london": ("en", "Europe/London", "Mary", ["Alice", "Bob", "Carol", "Dave"]),
}
# refund_ratio, avg_response_s per month; Carol and 刘洋 are last every month.
VALUES: dict[str, tuple[tuple[str, int], ...]] = {
    "李娜": (("0.02", 25), ("0.02", 22), ("0.02", 20)),
    "张伟": (("0.04", 45), ("0.03", 40), ("0.03", 35)),
    "刘洋": (("0.08", 70), ("0.07", 66), ("0.09", 75)),
    "陈静": (("0.03", 28), ("0.05", 50), ("0.02", 29)),
    "Alice": (("0.02", 20), ("0.02", 25), ("0.02", 24)),
    "Bob": (("0.04", 50), ("0.04", 50), ("0.03", 28)),
    "Carol": (("0.07", 65), ("0.08", 70), ("0.07", 64)),
    "Dave": (("0.03", 31), ("0.03", 31), ("0.05", 45)),
}
SELF = {"李娜": 5, "张伟": 4, "刘洋": 2, "陈静": 4, "Alice": 5, "Bob": 4, "Carol": 3, "Dave": 4}
MANAGER = {"李娜": 5, "张伟": 4, "刘洋": 2, "陈静": 3, "Alice": 5, "Bob": 4, "Carol": 2, "Dave": 3}


def build(engine: Engine, *, now: datetime) -> dict[str, int]:
    """Teams, people and the three planned periods; returns name → member id."""
    parsed = parse_scheme(SCHEME)
    ids: dict[str, int] = {}
    with unit_of_work(engine) as s:
        scheme = repo.get_or_create_scheme(
            session=s,
            key=parsed.id,
            text=SCHEME,
            name_zh=parsed.name_zh,
            name_en=parsed.name_en,
            content_hash=parsed.content_hash,
        )
        for team_name, (lang, tz, manager_name, agents) in TEAMS.items():
            team = repo.create_team(
                session=s, name=team_name, lang=lang, timezone=tz, scheme=scheme, now=now
            )
            manager = repo.add_member(session=s, team=team, name=manager_name, role="manager",
                                      telegram_user_id=f"tg-{manager_name}", now=now)  # fmt: skip
            ids[manager_name] = manager.id or 0
            for name in agents:
                agent = repo.add_member(
                    session=s,
                    team=team,
                    name=name,
                    role="agent",
                    manager=manager,
                    telegram_user_id=f"tg-{name}",
                    now=now,
                )
                ids[name] = agent.id or 0
        london = repo.get_team_by_name(session=s, name="london")
        shanghai = repo.get_team_by_name(session=s, name="shanghai")
        assert london is not None and shanghai is not None
        director = repo.add_member(session=s, team=london, name="Director", role="manager",
                                   telegram_user_id="tg-Director", now=now)  # fmt: skip
        mary = repo.get_member(session=s, member_id=ids["Mary"])
        assert mary is not None
        mary.manager_id = director.id
        ids["Director"] = director.id or 0
        admin = repo.add_member(
            session=s,
            team=shanghai,
            name="周人事",
            role="admin",
            telegram_user_id="tg-admin",
            now=now,
        )
        ids["周人事"] = admin.id or 0
    return ids


def enter_month_data(
    engine: Engine, month_index: int, *, at: datetime, skip_self: set[str] = frozenset()
) -> None:  # type: ignore[assignment]
    """The month's KPI values and the reviews (the forms are tested elsewhere); ``skip_self`` come
    later."""
    key = MONTHS[month_index]
    with unit_of_work(engine) as s:
        for team_name, (_lang, _tz, manager_name, agents) in TEAMS.items():
            team = repo.get_team_by_name(session=s, name=team_name)
            assert team is not None
            period = repo.get_period(session=s, team=team, key=key) or repo.get_or_create_period(
                session=s, team=team, key=key
            )
            manager = repo.get_member_by_name(session=s, team=team, name=manager_name)
            assert manager is not None
            for name in agents:
                agent = repo.get_member_by_name(session=s, team=team, name=name)
                assert agent is not None
                refund, response = VALUES[name][month_index]
                for indicator, value in (("refund_ratio", refund), ("avg_response_s", response)):
                    repo.set_indicator_value(
                        session=s,
                        period=period,
                        member=agent,
                        indicator=indicator,
                        value=value,
                        source="test",
                        actor="test",
                        reason=None,
                    )
                if name not in skip_self:
                    _self_review(s, period, agent, at)
                repo.save_review(
                    session=s,
                    period=period,
                    subject=agent,
                    rater=manager,
                    kind="manager",
                    answers={k: MANAGER[name] for k in ("ability", "collaboration", "service")},
                    actor="test",
                    reason=None,
                    submitted_at=at,
                )


def _self_review(s: Any, period: Any, agent: Any, at: datetime) -> None:
    repo.save_review(session=s, period=period, subject=agent, rater=agent, kind="self",
                     answers={"attitude": SELF[agent.name], "task_completion": SELF[agent.name]},
                     comments={"to_improve": f"{agent.name}: faster first replies"},
                     actor="test", reason=None, submitted_at=at)  # fmt: skip


def enter_late_self_reviews(
    engine: Engine, month_index: int, names: set[str], *, at: datetime, team_id: int
) -> None:
    key = MONTHS[month_index]
    with unit_of_work(engine) as s:
        for team_name, (_lang, _tz, _manager, agents) in TEAMS.items():
            team = repo.get_team_by_name(session=s, name=team_name)
            assert team is not None
            period = repo.get_period(session=s, team=team, key=key)
            assert period is not None
            for name in agents:
                if name in names and team.id == team_id:
                    agent = repo.get_member_by_name(session=s, team=team, name=name)
                    assert agent is not None
                    _self_review(s, period, agent, at)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]

"""An organisation at real size for the pickers (issue 16): a manager of 200 or 2,000 agents,
an admin of about 1,300 across teams, with Chinese and English names, linked in Slack and
Telegram, the period open for reviews."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import unit_of_work
from storage.models import Member

SCHEME = (
    Path(__file__).resolve().parents[1] / "conversations" / "data" / "mini_shop.toml"
).read_text(encoding="utf-8")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PERIOD = "2026-10"

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉玲"
FIRST = (
    "Alice",
    "Bob",
    "Carol",
    "David",
    "Emma",
    "Frank",
    "Grace",
    "Henry",
    "Ivy",
    "Jack",
    "Kate",
    "Leo",
    "Mia",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Rose",
    "Sam",
    "Tina",
)
LAST = (
    "Chen",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Smith",
    "Jones",
    "Brown",
    "Taylor",
    "Wilson",
    "Evans",
    "Clark",
    "Hall",
    "Young",
    "King",
)


def chinese_name(i: int) -> str:
    """Distinct three-character names: surname, then two given characters."""
    surname = SURNAMES[i % len(SURNAMES)]
    rest = i // len(SURNAMES)
    return surname + GIVEN[rest % len(GIVEN)] + GIVEN[(rest // len(GIVEN)) % len(GIVEN)]


def english_name(i: int) -> str:
    """Distinct English names (a number after the first 400)."""
    base = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
    return base if i < len(FIRST) * len(LAST) else f"{base} {i // (len(FIRST) * len(LAST))}"


@dataclass
class Org:
    leaders: dict[str, str] = field(default_factory=dict)
    """Who opens the picker → their Slack user id (``U…``); Telegram ids are in ``telegram``."""
    telegram: dict[str, int] = field(default_factory=dict)
    agents: dict[str, int] = field(default_factory=dict)
    """Team name → how many agents."""
    names: dict[str, list[str]] = field(default_factory=dict)
    """Team name → its agents' Chinese names, in order."""


def build_org(engine: Engine, teams: dict[str, int], *, admin: bool = False) -> Org:
    """One manager (``manager:<team>``) per team with ``teams[team]`` agents (Chinese names, the
    English one beside), and with ``admin`` one admin (``admin``) of every team. Members are
    inserted in bulk: the pickers are what is measured, not ``repo.add_member``."""
    parsed = parse_scheme(SCHEME)
    org = Org()
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session, key=parsed.id, text=SCHEME, name_zh=parsed.name_zh,
            name_en=parsed.name_en, content_hash=parsed.content_hash,
        )  # fmt: skip
        offset = 0
        for t, (name, count) in enumerate(teams.items()):
            team = repo.create_team(session=session, name=name, lang="zh", scheme=scheme)
            manager = repo.add_member(
                session=session, team=team, name=f"经理{t}", name_en=f"Manager {t}",
                role="manager", slack_user_id=f"U0MGR{t:03d}", telegram_user_id=70_000 + t,
                lang="zh",
            )  # fmt: skip
            org.leaders[f"manager:{name}"] = f"U0MGR{t:03d}"
            org.telegram[f"manager:{name}"] = 70_000 + t
            repo.get_or_create_period(
                session=session, team=team, key=PERIOD, status="open",
                review_opens_at=datetime(2026, 11, 1, tzinfo=UTC),
                review_closes_at=datetime(2026, 11, 20, tzinfo=UTC),
            )  # fmt: skip
            session.flush()
            rows = [
                {"team_id": team.id, "name": chinese_name(offset + a),
                 "name_en": english_name(offset + a), "role": "agent", "manager_id": manager.id,
                 "active": True, "created_at": NOW}
                for a in range(count)
            ]  # fmt: skip
            session.execute(insert(Member), rows)
            org.agents[name] = count
            org.names[name] = [r["name"] for r in rows]
            offset += count
            if admin and t == 0:
                repo.add_member(
                    session=session, team=team, name="周敏", name_en="Zhou Min", role="admin",
                    slack_user_id="U0ADMIN", telegram_user_id=69_999, lang="zh",
                )  # fmt: skip
                org.leaders["admin"] = "U0ADMIN"
                org.telegram["admin"] = 69_999
    return org

"""Two small teams for the form tests: ``demo`` speaks Chinese, ``london`` English.

Both are scored by ``data/mini_shop.toml``; period 2026-10 is open for reviews from
2026-11-01 00:00 UTC until 2026-11-06 10:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from scoring.scheme_parser import parse_scheme
from storage import repo
from storage.db import unit_of_work

SCHEME_TEXT = (Path(__file__).parent / "data" / "mini_shop.toml").read_text(encoding="utf-8")
OPENS = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
CLOSES = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)
PERIOD = "2026-10"

TEAMS = {
    "demo": ("zh", "王经理", ["李娜", "张伟", "刘洋", "陈静"]),
    "london": ("en", "Mary", ["Alice", "Bob", "Carol", "Dave"]),
}
VALUES = {  # refund_ratio, avg_response_s
    "李娜": ("0.02", 25),
    "张伟": ("0.05", 45),
    "刘洋": ("0.08", 70),
    "陈静": (None, 28),
    "Alice": ("0.02", 20),
    "Bob": ("0.04", 50),
    "Carol": ("0.07", 65),
    "Dave": ("0.03", 31),
}


def build_world(
    engine: Engine, *, opens: datetime = OPENS, closes: datetime = CLOSES
) -> dict[str, int]:
    """Create the teams; returns member name → id (and ``period:<team>`` → period id).

    ``opens``/``closes`` move the review window (the terminal tests run on the real clock).
    """
    ids: dict[str, int] = {}
    parsed = parse_scheme(SCHEME_TEXT)
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session, key=parsed.id, text=SCHEME_TEXT, name_zh=parsed.name_zh,
            name_en=parsed.name_en, content_hash=parsed.content_hash,
        )  # fmt: skip
        for team_name, (lang, manager_name, agents) in TEAMS.items():
            team = repo.create_team(session=session, name=team_name, lang=lang, scheme=scheme)
            manager = repo.add_member(session=session, team=team, name=manager_name, role="manager")
            period = repo.get_or_create_period(
                session=session, team=team, key=PERIOD, status="open",
                review_opens_at=opens, review_closes_at=closes,
            )  # fmt: skip
            ids[manager_name] = manager.id or 0
            ids[f"period:{team_name}"] = period.id or 0
            for name in agents:
                agent = repo.add_member(
                    session=session, team=team, name=name, role="agent", manager=manager
                )
                ids[name] = agent.id or 0
                refund, response = VALUES[name]
                for indicator, value in (("refund_ratio", refund), ("avg_response_s", response)):
                    repo.set_indicator_value(
                        session=session, period=period, member=agent, indicator=indicator,
                        value=value, source="test", actor="test", reason=None,
                    )  # fmt: skip
        demo = repo.get_team_by_name(session=session, name="demo")
        assert demo is not None
        admin = repo.add_member(session=session, team=demo, name="周人事", role="admin")
        ids["周人事"] = admin.id or 0
        london = repo.get_team_by_name(session=session, name="london")
        assert london is not None
        qa = repo.add_member(session=session, team=london, name="Quinn", role="qa")
        ids["Quinn"] = qa.id or 0
    return ids

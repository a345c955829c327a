"""A call-centre team for the quality-sampling tests.

Team ``call`` (English) scored by ``QA_SCHEME``: manager review 50 % (one dimension,
ability) and quality sampling 50 % (scorecard: greeting 20 points, identity check 30
critical, correct answer 50 that always applies). Members: manager Mary, agents Alice,
Bob and Carol, QA reviewers Quinn and Quentin, admin Hana. Period 2026-10 is open.
Every agent (and Mary, who takes calls too) has sessions on 2026-10-05, -06 and -12.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd
import pytest
from sqlalchemy.engine import Engine

from commands.context import AppConfig
from commands.qa.sessions import store_sessions
from commands.router import Router
from scoring import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.telegram.conftest import start_adapter, telegram_api  # noqa: F401  (the fake Bot API, for test_telegram)

QA_SCHEME = """
id = "qa_call"
period = "month"
language = "en"
publish_ranking = true

[name]
zh = "质检测试方案"
en = "QA test scheme"

[[components]]
kind = "manager"
weight = 50
dimensions = [ { id = "ability", name = { zh = "工作能力", en = "Ability" }, weight = 100 } ]

[[components]]
kind = "qa"
weight = 50
name = { zh = "录音质检", en = "Call quality" }
min_samples = MIN
below_min = "exclude"
blind = BLIND
link = "https://desk.example.com/call/{ref}"
sample = { per = "day", count = 1 }

[[components.checks]]
id = "greeting"
name = { zh = "规范开场白", en = "Greeting" }
points = 20

[[components.checks]]
id = "identity"
name = { zh = "核实身份", en = "Identity check" }
points = 30
critical = true

[[components.checks]]
id = "answer"
name = { zh = "解答准确", en = "Correct answer" }
points = 50
na = false
"""

PERIOD = "2026-10"
AGENTS = ("Alice", "Bob", "Carol")
# sessions per person and local day (Asia/Shanghai): Alice many, Carol few
SESSIONS = {
    "Alice": {"2026-10-05": 4, "2026-10-06": 3, "2026-10-12": 2},
    "Bob": {"2026-10-05": 2, "2026-10-06": 2, "2026-10-12": 2},
    "Carol": {"2026-10-05": 1, "2026-10-12": 1},
    "Mary": {"2026-10-05": 2, "2026-10-06": 1},
}


def scheme_text(*, blind: bool = False, min_samples: int = 1) -> str:
    return QA_SCHEME.replace("BLIND", "true" if blind else "false").replace("MIN", str(min_samples))


def build_qa_world(engine: Engine, *, blind: bool = False, min_samples: int = 1) -> dict[str, int]:
    """Create the team, people, period and sessions; returns name → id (and ``period`` → id)."""
    text = scheme_text(blind=blind, min_samples=min_samples)
    parsed = parse_scheme(text)
    ids: dict[str, int] = {}
    with unit_of_work(engine) as session:
        scheme = repo.get_or_create_scheme(
            session=session,
            key=parsed.id,
            text=text,
            name_zh=parsed.name_zh,
            name_en=parsed.name_en,
            content_hash=parsed.content_hash,
        )
        team = repo.create_team(session=session, name="call", lang="en", scheme=scheme)
        mary = repo.add_member(session=session, team=team, name="Mary", role="manager")
        ids["Mary"] = mary.id or 0
        for name in AGENTS:
            ids[name] = (
                repo.add_member(
                    session=session, team=team, name=name, role="agent", manager=mary
                ).id
                or 0
            )
        for name in ("Quinn", "Quentin"):
            ids[name] = repo.add_member(session=session, team=team, name=name, role="qa").id or 0
        ids["Hana"] = repo.add_member(session=session, team=team, name="Hana", role="admin").id or 0
        period = repo.get_or_create_period(session=session, team=team, key=PERIOD, status="open")
        ids["period"] = period.id or 0
        rows = []
        for name, days in SESSIONS.items():
            for day, count in days.items():
                for k in range(count):
                    rows.append(
                        {
                            "member_id": ids[name],
                            "ref": f"{name[0]}-{day[-2:]}-{k + 1}",
                            "started_at": pd.Timestamp(f"{day} {9 + k}:00"),
                        }
                    )  # naive: local time
        store_sessions(session, team=team, period=period, frame=pd.DataFrame(rows))
    return ids


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2026, 10, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def world(engine: Engine) -> dict[str, int]:
    return build_qa_world(engine)


@pytest.fixture
def app_config() -> AppConfig:
    return AppConfig(default_lang="en")


@pytest.fixture
def make_router(engine: Engine, clock: Clock, app_config: AppConfig) -> Callable[[], Router]:
    """A new router on the same database and clock (a restart, or another replica)."""
    return lambda: Router(engine, app_config, clock)

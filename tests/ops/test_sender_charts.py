"""Issue 20: the outbox sender draws every chart on one thread of its own. matplotlib keeps
a copy of each font per thread that draws; drawn on the event loop's default executor (up
to 64 threads), a broadcast of charts held one copy per thread in the replica's memory."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.sender import Limits, Sender
from commands import charts
from commands.messages import Reply
from commands.outbox import enqueue
from commands.outbox_charts import chart_ref
from storage import outbox as store
from storage import repo
from storage.db import unit_of_work
from tests.cycle.conftest import (  # noqa: F401 - the fixtures
    fake_slack,
    fake_telegram,
    make_crew,
    slack_adapter,
    telegram_adapter,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

FAST = {
    "telegram": Limits(overall=200.0, per_chat=50.0),
    "slack": Limits(per_workspace=200.0, per_chat=50.0),
}


async def test_every_chart_of_a_broadcast_is_drawn_on_the_senders_one_chart_thread(
    engine: Engine,
    fake_slack: FakeSlack,  # noqa: F811
    fake_telegram: FakeTelegram,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crew = make_crew(engine, telegram=4, slack=4, fake_telegram=fake_telegram)
    with unit_of_work(engine) as s:
        team = repo.get_team(session=s, team_id=crew.team_id)
        assert team is not None
        period = repo.get_or_create_period(session=s, team=team, key="2026-10")
        for member_id in crew.agents:
            member = repo.get_member(session=s, member_id=member_id)
            params = {"member_id": member_id, "period_id": period.id, "lang": "en"}
            enqueue(s, team=team, period=period, member=member, kind="result",
                    reply=Reply(text=f"result of member {member_id}", private=True),
                    chart=chart_ref("result.history", params))  # fmt: skip
    drawn_on: list[str] = []
    real = charts.history_chart

    def recorded(*args: Any, **kwargs: Any) -> bytes:
        drawn_on.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(charts, "history_chart", recorded)
    adapters = {"slack": slack_adapter(engine, fake_slack),
                "telegram": await telegram_adapter(engine, fake_telegram.base_url)}  # fmt: skip
    stats = await Sender(engine, adapters, limits=FAST).drain(timeout=60)
    assert stats.sent == len(crew.agents) == 8
    assert len(drawn_on) == 8, "one chart per message"
    assert len(set(drawn_on)) == 1 and drawn_on[0].startswith("outbox-chart"), drawn_on
    with unit_of_work(engine) as s:
        assert {row.status for row in store.list_messages(session=s)} == {"sent"}

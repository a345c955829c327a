"""/metrics: requests by route and status, command latency, outbox backlog, messages sent and
failed by platform, 429s from the platforms, scheduler runs; one registry per service."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from bot.main import build_service
from bot.metrics import Metrics
from commands.messages import Outgoing, Reply
from storage.db import unit_of_work
from tests.fakes.slack_api import FakeSlack
from tests.ops.conftest import SLACK_IDS, linked_world, slack_settings
from tests.slack.sender import SlackSender


@pytest.fixture
def fake() -> FakeSlack:
    with FakeSlack() as fake:
        for name, user_id in SLACK_IDS.items():
            fake.add_user(user_id, name.lower(), locale="en-GB")
        yield fake


async def test_requests_are_counted_by_route_template_and_status_never_by_token(
    engine: Engine, tmp_path: Path
) -> None:
    service = build_service(
        slack_settings("http://127.0.0.1:9/api/", tmp_path, slack_bot_token=None), engine=engine
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.web), base_url="http://k"
    ) as client:
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/s/not-a-real-token")).status_code == 404
        assert (await client.get("/s/another-token")).status_code == 404
        assert (await client.get("/nowhere")).status_code == 404
        page = await client.get("/metrics")
    m = service.metrics
    assert m.value("kpibot_http_requests_total", route="/healthz", method="GET", status="200") == 1
    assert (
        m.value("kpibot_http_requests_total", route="/s/{token}", method="GET", status="404") == 2
    )
    assert (
        m.value("kpibot_http_requests_total", route="<unmatched>", method="GET", status="404") == 1
    )
    assert page.headers["content-type"].startswith("text/plain")
    assert "kpibot_http_request_seconds_bucket" in page.text
    assert "not-a-real-token" not in page.text


def test_two_services_in_one_process_count_separately() -> None:
    a, b = Metrics(), Metrics()
    a.message_sent("slack")
    a.scheduler_run("broadcast", "ran")
    a.scheduler_run("broadcast", "skipped")
    assert a.value("kpibot_messages_sent_total", platform="slack") == 1
    assert b.value("kpibot_messages_sent_total", platform="slack") == 0
    assert a.value("kpibot_scheduler_runs_total", step="broadcast", outcome="skipped") == 1


async def test_a_slack_command_is_timed_by_platform_and_command(
    engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    linked_world(engine)
    service = build_service(slack_settings(fake.api_url, tmp_path), engine=engine)
    [slack] = service.adapters
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.web), base_url="http://k"
    ) as client:
        sender = SlackSender(client, fake)
        await sender.command("U0MARY", "/kpi", "help", channel_id="C0LONDON")
        await sender.command("U0MARY", "/kpi", "whatever-you-typed", channel_id="C0LONDON")
        await slack.idle()  # type: ignore[attr-defined]
    await service.stop()
    m = service.metrics
    assert m.value("kpibot_command_seconds_count", platform="slack", kind="/help") == 1
    assert m.value("kpibot_command_seconds_count", platform="slack", kind="/other") == 1, (
        "what people type is no label"
    )
    assert (
        m.value("kpibot_http_requests_total", route="/slack/events", method="POST", status="200")
        == 2
    )


async def test_outbox_messages_are_counted_sent_or_failed_and_429s_are_counted(
    engine: Engine, tmp_path: Path, fake: FakeSlack
) -> None:
    ids = linked_world(engine)
    service = build_service(slack_settings(fake.api_url, tmp_path), engine=engine)
    [slack] = service.adapters
    fake.rate_limit("chat.postMessage", calls=1, per=1.0, retry_after=1)
    for name in ("Alice", "Bob"):
        ref = await slack.send_outgoing(
            Outgoing(ids[name], Reply(text="Your October result"), f"k/{name}")
        )  # type: ignore[attr-defined]
        assert ref is not None
    assert (
        await slack.send_outgoing(Outgoing(ids["李娜"], Reply(text="not on Slack"), "k/li")) is None
    )  # type: ignore[attr-defined]
    fake.fail_next("chat.postMessage", times=5, status=500)
    with pytest.raises(Exception):  # noqa: B017 - whatever slack_sdk raises after its retries
        await slack.send_outgoing(Outgoing(ids["Carol"], Reply(text="x"), "k/carol"))  # type: ignore[attr-defined]
    await service.stop()
    m = service.metrics
    assert m.value("kpibot_messages_sent_total", platform="slack") == 2
    assert m.value("kpibot_messages_failed_total", platform="slack", reason="unreachable") == 1
    assert m.value("kpibot_messages_failed_total", platform="slack", reason="error") == 1
    assert m.value("kpibot_platform_rate_limited_total", platform="slack") >= 1
    assert len(fake.calls_to("chat.postMessage", ok=True)) == 2


def test_the_outbox_backlog_is_read_from_the_outbox_table(engine: Engine, tmp_path: Path) -> None:
    store = pytest.importorskip("storage.outbox")
    ids = linked_world(engine)
    service = build_service(
        slack_settings("http://127.0.0.1:9/api/", tmp_path, slack_bot_token=None), engine=engine
    )
    assert service.metrics.value("kpibot_outbox_backlog") == 0
    with unit_of_work(engine) as session:
        team_id = 1
        for n in range(3):
            store.insert_message(
                session=session, team_id=team_id, period_id=None, member_id=ids["Alice"],
                kind=f"reminder.{n}", key=f"1/-/{ids['Alice']}/reminder.{n}", reply={"text": "hi"},
            )  # fmt: skip
    assert service.metrics.value("kpibot_outbox_backlog") == 3


async def test_telegram_429s_are_counted_and_the_message_still_arrives(
    engine: Engine, tmp_path: Path
) -> None:
    from tests.fakes.telegram_api import TOKEN, FakeTelegram
    from tests.ops.conftest import TELEGRAM_IDS

    ids = linked_world(engine)
    async with FakeTelegram() as tg:
        tg.user(TELEGRAM_IDS["李娜"], "Li", language_code="zh")
        settings = slack_settings(
            "http://127.0.0.1:9/api/", tmp_path, slack_bot_token=None, telegram_bot_token=TOKEN,
            telegram_api_url=tg.base_url,
        )  # fmt: skip
        service = build_service(settings, engine=engine)
        await service.start()
        try:
            tg.fail_next("sendMessage", error_code=429, retry_after=1, times=1)
            [telegram] = service.adapters
            ref = await telegram.send_outgoing(
                Outgoing(ids["李娜"], Reply(text="十月结果"), "k/li")
            )  # type: ignore[attr-defined]
        finally:
            await service.stop()
    assert ref is not None
    assert service.metrics.value("kpibot_platform_rate_limited_total", platform="telegram") == 1
    assert service.metrics.value("kpibot_messages_sent_total", platform="telegram") == 1


async def test_the_cycle_scheduler_counts_each_step_it_runs_by_step_and_outcome(
    engine: Engine, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from tests.cycle.test_steps import make_team

    with unit_of_work(engine) as session:
        team_id = make_team(session, "shanghai", "Asia/Shanghai")
    settings = slack_settings("http://127.0.0.1:9/api/", tmp_path, slack_bot_token=None,
                              cycle_enabled=True)  # fmt: skip
    service = build_service(
        settings, engine=engine, clock=lambda: datetime(2026, 11, 5, 1, 30, tzinfo=UTC)
    )
    assert service.cycle is not None
    assert await service.cycle.fire(team_id, "2026-10", "open") == "ran"
    assert await service.cycle.fire(team_id, "2026-10", "remind.1") == "ran"
    assert await service.cycle.fire(team_id, "2026-10", "remind.1") == "already"
    m = service.metrics
    assert m.value("kpibot_scheduler_runs_total", step="open", outcome="ran") == 1
    assert m.value("kpibot_scheduler_runs_total", step="remind", outcome="ran") == 1
    assert m.value("kpibot_scheduler_runs_total", step="remind", outcome="already") == 1

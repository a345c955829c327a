"""What the operator sees when the outbox is stuck (issue 21 item 12, "What to build"):
``/readyz`` 503 while this replica's sender cannot reach the database, and within its 2 s
deadline while the database is silent; ``kpibot_outbox_stalled`` 1 during the stall and 0
after; the admins told for how long messages were held up; a SIGTERMed replica whose
database went silent exits within ``SHUTDOWN_GRACE_S`` (the watchdog)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine, make_url

from bot.database_watch import DatabaseWatch
from bot.metrics import Metrics
from bot.web import READY_TIMEOUT_S, build_web_app
from storage import outbox as store
from storage.db import make_engine, unit_of_work, upgrade
from tests.conftest import PgSchema, test_database_url
from tests.cycle.conftest import TG_BASE, make_crew
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.ops import faults
from tests.ops.conftest import STRONG_SECRET
from tests.ops.replica import Replica
from tests.ops.tcpproxy import TcpProxy
from tests.slack.sender import SIGNING_SECRET
from tests.waiting import CEILING_S

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def test_readyz_says_503_the_metric_says_stalled_and_the_admins_hear_of_it_afterwards(
    _pg_admin: Engine,
) -> None:
    async with faults.rig(_pg_admin) as r:
        make_crew(
            r.direct, telegram=2, slack=0, fake_telegram=r.fake_telegram
        )  # the boss hears of the stall
        metrics = Metrics()
        sender = await r.sender(stall_after=1.0, metrics=metrics)
        app = build_web_app(ready_check=lambda: True, outbox=sender.health, metrics=metrics)
        await sender.start()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://k"
        ) as client:

            async def ready() -> tuple[int, dict]:  # type: ignore[type-arg]
                answer = await client.get("/readyz")
                return answer.status_code, answer.json()

            await faults.until(
                lambda: sender.db_ok_at > sender.progress_at - 5, timeout=60, what="a first round"
            )
            assert (await ready())[0] == 200
            r.proxy.cut()
            try:
                await faults.until(lambda: metrics.value("kpibot_outbox_stalled") == 1, timeout=120,
                                   what="the stall metric")  # fmt: skip
                status, body = await ready()
                assert (
                    status == 503
                    and body["outbox"]["database"] is False
                    and body["outbox"]["ok"] is False
                ), body
                assert body["outbox"]["stalled_s"] > 0
            finally:
                r.proxy.restore()
            await faults.until(
                lambda: metrics.value("kpibot_outbox_stalled") == 0,
                timeout=120,
                what="drains again",
            )
            status, body = await ready()
            assert status == 200 and body["outbox"]["ok"] is True, body
            # The admins (here the team's manager) are told, through the outbox itself.
            await faults.until(lambda: any("held up" in (c.params.get("text") or "")
                                           for c in r.fake_telegram.sent(TG_BASE)),
                               timeout=120, what="the stall note delivered")  # fmt: skip

        def notes() -> list[str]:
            with unit_of_work(r.direct) as session:
                return [
                    m.status
                    for m in store.list_messages(session=session)
                    if m.kind.startswith("note.stall.")
                ]

        await faults.until(
            lambda: notes() == ["sent"], timeout=CEILING_S, what="one stall note, marked sent"
        )


async def test_readyz_answers_within_its_deadline_while_the_database_is_silent(
    _pg_admin: Engine,
) -> None:
    schema = PgSchema(_pg_admin)
    url = make_url(test_database_url())
    try:
        with TcpProxy([(url.host or "127.0.0.1", url.port or 5432)]) as proxy:
            engine = make_engine(make_url(schema.url()).set(host="127.0.0.1", port=proxy.port)
                                 .render_as_string(hide_password=False))  # fmt: skip
            watch = DatabaseWatch(engine)
            app = build_web_app(ready_check=watch.check)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://k"
            ) as client:
                assert (await client.get("/readyz")).status_code == 200
                proxy.freeze()
                try:
                    # it used to hang for as long as the database stayed silent (> 15 s)
                    first = await asyncio.wait_for(client.get("/readyz"), READY_TIMEOUT_S + 1.5)
                    assert first.status_code == 503
                    # the check still hanging: the next caller is not queued behind it
                    second = await asyncio.wait_for(client.get("/readyz"), READY_TIMEOUT_S + 1.5)
                    assert second.status_code == 503
                finally:
                    proxy.thaw()

                async def recovered() -> None:
                    while (await client.get("/readyz")).status_code != 200:
                        await asyncio.sleep(0.1)

                await asyncio.wait_for(recovered(), CEILING_S)
            engine.dispose()
    finally:
        schema.drop()


async def test_a_replica_sigtermed_while_its_database_is_silent_exits_within_the_shutdown_grace(
    _pg_admin: Engine, tmp_path: Path
) -> None:
    grace = 4.0
    schema = PgSchema(_pg_admin)
    url = make_url(test_database_url())
    direct = schema.engine()
    upgrade(direct)
    direct.dispose()
    try:
        with TcpProxy([(url.host or "127.0.0.1", url.port or 5432)]) as proxy, FakeSlack() as fake:
            through = make_url(schema.url()).set(host="127.0.0.1", port=proxy.port)
            replica = Replica(
                {
                    "DATABASE_URL": through.render_as_string(hide_password=False),
                    "SLACK_BOT_TOKEN": BOT_TOKEN,
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_API_URL": fake.api_url,
                    "KPIBOT_SECRET": STRONG_SECRET,
                    "DEFAULT_LANG": "en",
                    "SHUTDOWN_GRACE_S": str(grace),
                },
                tmp_path,
            ).start()
            try:
                async with httpx.AsyncClient(base_url=replica.url) as client:
                    proxy.freeze()
                    # the sender and /readyz now have calls hanging on the silent database
                    while (await client.get("/readyz", timeout=CEILING_S)).status_code == 200:
                        await asyncio.sleep(0.1)
                assert replica.process is not None
                replica.process.send_signal(signal.SIGTERM)
                # ends within the grace (a little for the interpreter), whatever still hangs
                code = await asyncio.to_thread(replica.wait, grace + 3)
            finally:
                proxy.thaw()
                replica.kill()
        assert code in (0, 1), replica.log()[-3000:]
    finally:
        schema.drop()

"""PostgreSQL goes away under load (a TCP proxy of ours in front of it is cut, then restored):
requests are answered at once with a clear message, nothing is half-saved, and the service
carries on by itself when the database is back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine, make_url
from sqlmodel import select

from bot.main import build_service
from bot.observed_router import DATABASE_DOWN
from commands.i18n import translator
from storage.db import make_engine, unit_of_work, upgrade
from storage.models import Conversation, Review
from tests.conftest import PgSchema
from tests.conversations.transcript import FakeChat
from tests.conversations.world import build_world
from tests.ops.conftest import slack_settings
from tests.ops.tcpproxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGENTS = ("Alice", "Bob", "Carol", "Dave")
DOWN_EN = translator("en")(DATABASE_DOWN)


@pytest.fixture
def schema(_pg_admin: Engine) -> Iterator[PgSchema]:
    made = PgSchema(_pg_admin)
    yield made
    made.drop()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    url = make_url(PgSchema.url.__globals__["test_database_url"]())
    with TcpProxy([(url.host or "127.0.0.1", url.port or 5432)]) as running:
        yield running


def through(proxy: TcpProxy, schema: PgSchema) -> str:
    url = make_url(schema.url())
    return url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)


def self_review(chat: FakeChat, stop: threading.Event, outcomes: list[str]) -> None:
    """A person filling in the self-review; after "try again later" they wait a moment and
    ask where they were (``/selfreview`` shows the current question or the summary)."""
    said = chat.say("/selfreview")
    deadline = time.monotonic() + 60
    while not stop.is_set() and time.monotonic() < deadline:
        text = " ".join(r.text for r in said)
        if DOWN_EN in text:
            outcomes.append("down")
            time.sleep(0.1)
            said = chat.say("/selfreview")
            continue
        outcomes.append("ok")
        if "is submitted" in text:
            return
        if "unfinished self-review" in text:
            said = chat.press("Continue")
        elif "Summary of your self-review" in text:
            said = chat.press("Submit")
        elif "Question 1 of" in text or "Question 2 of" in text:
            said = chat.say("4")
        elif "Question 3 of" in text or "Question 4 of" in text:
            said = chat.say("fine")
        else:
            raise AssertionError(f"unexpected reply: {text!r}")
    raise AssertionError(f"{chat.user_id} did not finish: {chat.transcript[-4:]}")


@pytest.mark.parametrize("router_in", ["threads", "processes"])
def test_the_database_going_away_under_load_fails_fast_saves_nothing_half_and_recovers(
    schema: PgSchema, proxy: TcpProxy, tmp_path: Path, router_in: str
) -> None:
    """``processes``: the router in a worker process, as ``kpibot run`` has it (on the real
    clock, which a worker process cannot be given instead); ``threads``: on a frozen clock."""
    direct = schema.engine()
    upgrade(direct)
    engine = make_engine(through(proxy, schema))
    if router_in == "processes":
        now = datetime.now(UTC)
        build_world(direct, opens=now - timedelta(days=1), closes=now + timedelta(days=5))
        settings = slack_settings(
            "http://127.0.0.1:9/api/", tmp_path, slack_bot_token=None, router_processes=1
        )
        service = build_service(settings, engine=engine)
        assert service.pool is not None
        service.pool.start()
    else:
        build_world(direct)
        service = build_service(
            slack_settings("http://127.0.0.1:9/api/", tmp_path, slack_bot_token=None),
            engine=engine,
            clock=lambda: NOW,
        )
        assert service.pool is None
    observed = service.adapters and service.adapters[0] or None
    assert observed is None, "no platform: the router is driven directly, as an adapter does"
    from bot.observed_router import ObservedRouter

    router = ObservedRouter(
        service.router, service.metrics, service.database, "en", pool=service.pool
    )  # type: ignore[arg-type]
    stop = threading.Event()
    outcomes: dict[str, list[str]] = {name: [] for name in AGENTS}
    errors: list[BaseException] = []

    def person(name: str) -> None:
        try:
            self_review(FakeChat(router, name, with_event_ids=False), stop, outcomes[name])
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=person, args=(n,)) for n in AGENTS]
    for t in threads:
        t.start()
    while sum(len(o) for o in outcomes.values()) < 6:  # mid-way through the forms
        time.sleep(0.005)
    proxy.cut()
    # People were told, several times: enough answers (about half a second of retries) that
    # the first ones, which each tried the cut connection (perhaps twice), are a minority.
    while sum(o.count("down") for o in outcomes.values()) < 24:
        time.sleep(0.01)
        assert all(t.is_alive() for t in threads) or errors == [], errors
    requests_while_down = sum(o.count("down") for o in outcomes.values())
    refused = proxy.refused
    assert service.database is not None and not service.database.check(), "/readyz says 503"
    proxy.restore()
    for t in threads:
        t.join(timeout=90)
    stop.set()
    assert errors == []

    # Failing fast: most requests during the outage never even tried to connect.
    assert refused < requests_while_down
    # Recovered by itself: everyone finished, and the watch says the database is up.
    assert all(o[-1] == "ok" for o in outcomes.values())
    assert service.metrics.value("kpibot_database_up") == 1
    assert service.database is not None and service.database.outages >= 1
    # Nothing half-saved: one complete self-review each, every submitted form has its review.
    with unit_of_work(direct) as session:
        reviews = session.exec(select(Review).where(Review.kind == "self")).all()
        conversations = session.exec(select(Conversation)).all()
    assert sorted(r.subject_id for r in reviews) == sorted({r.subject_id for r in reviews})
    assert len(reviews) == len(AGENTS)
    shapes = {(tuple(sorted(r.answers)), tuple(sorted(r.comments or {}))) for r in reviews}
    assert len(shapes) == 1, shapes
    [shape] = shapes
    assert len(shape[0]) + len(shape[1]) == 4, "every answer of the four questions is there"
    submitted = [c for c in conversations if c.status == "submitted"]
    assert sorted(c.result_id for c in submitted) == sorted(r.id for r in reviews)
    if service.pool is not None:
        service.pool.shutdown()
    engine.dispose()
    direct.dispose()

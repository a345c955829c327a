"""The survey rate limit shared across replicas (issue 21 item 7): counted in the database,
per real client address — a forwarded-for is believed only from FORWARDED_ALLOW_IPS."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.serving import uvicorn_config
from bot.settings import load_settings
from bot.survey_page import SharedLimiter, survey_routes
from bot.web import build_web_app
from commands.context import AppConfig
from tests.conftest import Clock

from .conftest import NOW, SECRET, seed_team


class Ticker:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _replica(
    engine: Engine,
    *,
    limit: int,
    limiter: SharedLimiter | None = None,
    forwarded_allow_ips: str = "172.16.0.0/12",
) -> ProxyHeadersMiddleware:
    """One kpibot web app as a replica serves it: its own survey routes (and, unless given,
    its own default limiter) on the shared database, behind uvicorn's proxy-header rule."""
    config = AppConfig(
        public_url="http://testserver", secret=SECRET, extra={"survey_rate_limit": limit}
    )
    settings = load_settings(forwarded_allow_ips=forwarded_allow_ips)
    trusted = uvicorn_config(SimpleNamespace(web=None, settings=settings)).forwarded_allow_ips  # type: ignore[arg-type]
    app = build_web_app(survey_routes(engine, config, clock=Clock(NOW), limiter=limiter))
    return ProxyHeadersMiddleware(app, trusted_hosts=trusted)  # type: ignore[arg-type]


async def _get(
    app: ProxyHeadersMiddleware, path: str, *, peer: str, forwarded: str | None = None
) -> int:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return (await client.get(path, headers=headers)).status_code


async def test_two_replicas_on_one_database_share_one_limit_per_address(db_engine: Engine) -> None:
    world = seed_team(db_engine)
    first, second = _replica(db_engine, limit=4), _replica(db_engine, limit=4)
    path = f"/s/{world.token()}"
    codes = [await _get(app, path, peer="203.0.113.9") for app in (first, second) * 3]
    assert codes == [200, 200, 200, 200, 429, 429]
    # another customer is not affected, on either replica
    assert await _get(first, path, peer="198.51.100.7") == 200
    assert await _get(second, path, peer="198.51.100.7") == 200


async def test_a_fresh_forwarded_for_from_an_untrusted_peer_does_not_bypass_the_limit(
    engine: Engine,
) -> None:
    world = seed_team(engine)
    app = _replica(engine, limit=3)
    path = f"/s/{world.token()}"
    codes = [
        await _get(app, path, peer="203.0.113.9", forwarded=f"198.51.100.{i}") for i in range(1, 6)
    ]
    assert codes == [200, 200, 200, 429, 429]


async def test_behind_the_trusted_proxy_two_customers_do_not_share_one_limit(
    engine: Engine,
) -> None:
    world = seed_team(engine)
    app = _replica(engine, limit=3)
    path = f"/s/{world.token()}"
    caddy = "172.30.0.10"
    first = [await _get(app, path, peer=caddy, forwarded="198.51.100.1") for _ in range(4)]
    assert first == [200, 200, 200, 429]
    assert await _get(app, path, peer=caddy, forwarded="198.51.100.2") == 200
    # and a proxy that is not configured is one client, whatever it forwards
    untrusted = _replica(engine, limit=3, forwarded_allow_ips="127.0.0.1")
    assert [
        await _get(untrusted, path, peer=caddy, forwarded=f"198.51.100.{i}") for i in range(3, 7)
    ] == [200, 200, 200, 429]


def test_replicas_counting_one_address_at_once_never_let_more_through(db_engine: Engine) -> None:
    clock = Ticker()
    limiters = [SharedLimiter(db_engine, 7, clock=clock) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        waits = list(pool.map(lambda i: limiters[i % 2].hit("203.0.113.9"), range(24)))
    assert waits.count(0) == 7
    assert all(wait >= 1 for wait in waits if wait)


def test_the_shared_count_slides_with_the_minute_and_old_windows_are_forgotten(
    db_engine: Engine,
) -> None:
    clock = Ticker(1_800_000_000.0 - 1_800_000_000.0 % 60)  # the start of a window
    one, two = SharedLimiter(db_engine, 10, clock=clock), SharedLimiter(db_engine, 10, clock=clock)
    assert [one.hit("a") for _ in range(10)] == [0] * 10
    wait = two.hit("a")
    assert 0 < wait <= 60
    clock.t += 61  # the next window: last minute's hits still weigh almost fully
    assert two.hit("a") > 0
    clock.t += 60  # two windows later: forgotten, on the other replica as well
    assert one.hit("a") == 0
    with db_engine.connect() as connection:
        windows = (
            connection.execute(text("SELECT DISTINCT window_no FROM survey_rate_hit"))
            .scalars()
            .all()
        )
    assert len(windows) == 1


def test_when_the_database_does_not_answer_the_replica_counts_in_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from storage.db import make_engine

    broken = make_engine(f"sqlite:///{tmp_path}/missing/dir/none.db")
    limiter = SharedLimiter(broken, 2, clock=Ticker())
    assert [limiter.hit("a") for _ in range(3)][:2] == [0, 0]
    assert limiter.hit("a") > 0

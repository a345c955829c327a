"""Behind the proxy (issue 21 item 7): forwarded-for trusted only from FORWARDED_ALLOW_IPS,
the survey rate limit a setting; a Telegram body that is not an update is a 400 (item 8)."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bot.main import app_config
from bot.serving import uvicorn_config
from bot.settings import load_settings
from bot.survey_page import client_key


async def _key(request: Request) -> PlainTextResponse:
    return PlainTextResponse(client_key(request))


async def _seen_as(forwarded_allow_ips: str | None, peer: str, forwarded: str) -> str:
    settings = load_settings(
        **({"forwarded_allow_ips": forwarded_allow_ips} if forwarded_allow_ips else {})
    )
    config = uvicorn_config(SimpleNamespace(web=None, settings=settings))  # type: ignore[arg-type]
    assert config.proxy_headers
    app = ProxyHeadersMiddleware(
        Starlette(routes=[Route("/", _key)]), trusted_hosts=config.forwarded_allow_ips
    )
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as client:
        return (await client.get("/", headers={"X-Forwarded-For": forwarded})).text


async def test_a_fresh_forwarded_for_from_an_untrusted_client_is_ignored() -> None:
    assert await _seen_as("172.16.0.0/12", "203.0.113.9", "198.51.100.1") == "203.0.113.9"
    assert await _seen_as("172.16.0.0/12", "203.0.113.9", "198.51.100.2") == "203.0.113.9"


async def test_behind_the_configured_proxy_each_customer_is_known_by_their_own_address() -> None:
    assert await _seen_as("172.16.0.0/12", "172.18.0.4", "198.51.100.7") == "198.51.100.7"
    assert (
        await _seen_as(None, "172.18.0.4", "198.51.100.7") == "172.18.0.4"
    )  # default: 127.0.0.1 only


def test_the_survey_rate_limit_is_a_setting() -> None:
    assert app_config(load_settings()).extra["survey_rate_limit"] == 30
    assert app_config(load_settings(survey_rate_limit=120)).extra["survey_rate_limit"] == 120

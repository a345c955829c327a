"""Fixtures: the fake Slack, a scripted router, the adapter on the one Starlette app, a signed
sender."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette

from bot.settings import load_settings
from bot.slack.adapter import SlackAdapter, build_slack
from bot.web import build_web_app
from commands.messages import Incoming, Reply
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack
from tests.slack.sender import SIGNING_SECRET, SlackSender
from tests.waiting import CEILING_S

Script = Callable[[Incoming], list[Reply]]


class ScriptedRouter:
    """Stands in for ``commands.router.Router``: records what it was asked, answers from a script.

    ``hold()`` makes the next requests wait until ``release()``, to show that kpibot acks
    before slow work finishes.
    """

    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda incoming: [Reply(text=f"you said {incoming.text}")])
        self.seen: list[Incoming] = []
        self.finished: list[Incoming] = []
        self._gate = threading.Event()
        self._gate.set()
        self.entered = threading.Event()

    def hold(self) -> None:
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def handle(self, incoming: Incoming) -> list[Reply]:
        self.seen.append(incoming)
        self.entered.set()
        if not self._gate.wait(timeout=CEILING_S):
            raise TimeoutError("the test never released the router")
        replies = list(self.script(incoming))
        self.finished.append(incoming)
        return replies


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user("U0MANAGER", "wang.fang", real_name="王芳", locale="zh-CN")
        fake.add_user("U0AGENT01", "li.lei", real_name="李雷", locale="zh-CN")
        fake.add_user(
            "U0ALICE", "alice", real_name="Alice Smith", locale="en-US", email="alice@example.com"
        )
        fake.add_user("U0STRANGER", "stranger", real_name="Someone New", locale="en-GB")
        yield fake


@pytest.fixture
def scripted() -> ScriptedRouter:
    return ScriptedRouter()


def make_adapter(fake: FakeSlack, router: object, **kwargs: object) -> SlackAdapter:
    settings = load_settings(
        slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET, slack_app_token=None,
        slack_api_url=fake.api_url, default_lang="zh",
    )  # fmt: skip
    return build_slack(settings, router, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def adapter(fake_slack: FakeSlack, scripted: ScriptedRouter) -> AsyncIterator[SlackAdapter]:
    slack = make_adapter(fake_slack, scripted, rate_limit_retries=8)
    yield slack
    scripted.release()
    await slack.stop()


def web_app(adapter: SlackAdapter) -> Starlette:
    """kpibot's one web app (bot.web) with the Slack routes."""
    return build_web_app(routes=adapter.routes())


@pytest.fixture
async def slack(adapter: SlackAdapter, fake_slack: FakeSlack) -> AsyncIterator[SlackSender]:
    app = web_app(adapter)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://kpibot.test"
    ) as client:
        yield SlackSender(client, fake_slack)

"""Each messenger as the month scenario needs it: the real adapter against its fake, people who
say, press and read their private chat, the manager's review form filled the way that
messenger shows it, and the outbox delivered through the adapter.

A platform is an async context manager; ``people[name]`` has ``say(text)``,
``press(label)`` and ``screen()`` (the bot's messages in their private chat as they read now).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from sqlalchemy.engine import Engine

from bot.messenger import Limits
from bot.sender import Sender
from bot.web import build_web_app
from storage import repo
from storage.db import unit_of_work

FAST = Limits(overall=10_000.0, per_workspace=10_000.0, per_chat=10_000.0, chat_burst=100)
"""People here answer faster than any human; pacing is tested on its own."""


class Person(Protocol):
    async def say(self, text: str) -> Any: ...

    async def press(self, label: str) -> Any: ...

    def screen(self) -> list[str]: ...


@dataclass
class Played:
    platform: str
    people: Mapping[str, Person]
    review: Callable[[Person, str, str], Any]
    """``await review(manager, agent, ability)``: one manager review, submitted."""
    adapter: Any
    engine: Engine

    async def deliver(self) -> None:
        """Everything in the outbox, through this messenger's adapter."""
        sender = Sender(
            self.engine, {self.platform: self.adapter}, limits={self.platform: FAST}, idle_poll=0.05
        )
        await sender.drain(timeout=120)


def _link(
    engine: Engine, ids: Mapping[str, int], platform: str, accounts: Mapping[str, Any]
) -> None:
    with unit_of_work(engine) as session:
        for name, account in accounts.items():
            member = repo.get_member(session=session, member_id=ids[name])
            assert member is not None
            repo.link_platform(
                session=session, member=member, platform=platform, user_id=account, actor="test"
            )


@asynccontextmanager
async def feishu(
    engine: Engine, router: Any, ids: Mapping[str, int], names: list[str]
) -> AsyncIterator[Played]:
    from bot.feishu.adapter import build_feishu
    from bot.feishu.people import FeishuPeople
    from tests.fakes.feishu_api import FakeFeishu
    from tests.feishu.chat import FeishuChat
    from tests.feishu.conftest import settings_for

    with FakeFeishu() as fake:
        fake.relax()
        users = {name: fake.user(name, locale="en_US") for name in names}
        _link(engine, ids, "feishu", {n: u.open_id for n, u in users.items()})
        people = FeishuPeople(engine)
        adapter = build_feishu(settings_for(fake), router, default_lang="en",
                               address=people.open_id_of, lang_of=people.lang_of)  # fmt: skip
        fake.callback_transport = httpx.ASGITransport(app=build_web_app(adapter.routes()))
        await adapter.start()

        async def review(manager: Any, agent: str, ability: str) -> None:
            await manager.say(f"/review @{agent}")
            await manager.submit("Next", ability=ability, collaboration="3", service="3")
            await manager.press("Submit")

        try:
            chats = {n: FeishuChat(fake, adapter, u) for n, u in users.items()}
            yield Played("feishu", chats, review, adapter, engine)  # type: ignore[arg-type]
        finally:
            await adapter.stop()


class SlackChat:
    """A person in the fake Slack workspace as the month scenario needs them: a command is
    typed as Slack has it (``/kpi runstep …``, ``/mykpi``) in their DM with kpibot (Slack
    answers it there, through the command's ``response_url``), anything else is written in
    the DM, and ``screen()`` is that DM as they read it: kpibot's messages and its answers
    to their commands, in the order they arrived."""

    def __init__(self, person: Any) -> None:
        self.person = person
        self.answers: set[str] = set()
        """The response_urls of this person's commands and presses."""

    async def say(self, text: str) -> None:
        if text.startswith("/"):
            from bot.slack.render import typed_on_slack

            name, _, rest = text[1:].partition(" ")
            command, _, sub = typed_on_slack(name).partition(" ")  # /me is /mykpi, /runstep /kpi …
            rest = f"{sub} {rest}".strip()
            sent = self.person.slack.command(
                self.person.user_id, command, rest, channel_id=self.person.dm,
                channel_name="directmessage",
            )  # fmt: skip
            await self.person._run(sent)
        else:
            await self.person.say(text)
        self._remember()

    async def press(self, label: str) -> None:
        from tests.slack.people import labels

        for _, message, ephemeral in reversed(self._shown()):
            if any(shown == label or shown.startswith(label) for shown in labels(message)):
                sent = self.person.slack.click(
                    self.person.user_id, {**message, "channel": self.person.dm}, label,
                    ephemeral=ephemeral,
                )  # fmt: skip
                await self.person._run(sent)
                self._remember()
                return
        raise AssertionError(f"no button {label!r}; the DM shows {self.screen()[-2:]}")

    async def submit(self, answers: dict[str, str]) -> None:
        await self.person.submit(answers)
        self._remember()

    def _remember(self) -> None:
        if self.person.last is not None and self.person.last.response_url:
            self.answers.add(self.person.last.response_url.split("/response/", 1)[1])

    def _shown(self) -> list[tuple[float, dict[str, Any], bool]]:
        """(when, message, ephemeral) of everything in the DM, oldest first."""
        fake, dm = self.person.fake, self.person.dm
        posted: dict[str, float] = {}
        uploaded: dict[str, float] = {}
        shown: list[tuple[float, dict[str, Any], bool]] = []
        for call in list(fake.calls):
            if not call.ok:
                continue
            if call.method == "chat.postMessage" and call.response.get("channel") == dm:
                posted[call.response["ts"]] = call.at
            elif (
                call.method == "files.completeUploadExternal" and call.args.get("channel_id") == dm
            ):
                uploaded |= {f["id"]: call.at for f in call.response.get("files", [])}
            elif call.method == "response_url" and call.args["url"] in self.answers:
                shown.append((call.at, call.args, True))
        shown += [(posted.get(m["ts"], uploaded.get((m.get("files") or [""])[0], 0.0)), m, False)
                  for m in fake.messages_in(dm)]  # fmt: skip
        return sorted(shown, key=lambda item: item[0])

    def screen(self) -> list[str]:
        return [message.get("text", "") for _, message, _ in self._shown()]


@asynccontextmanager
async def slack(
    engine: Engine, router: Any, ids: Mapping[str, int], names: list[str]
) -> AsyncIterator[Played]:
    from tests.fakes.slack_api import FakeSlack
    from tests.slack.conftest import make_adapter, web_app
    from tests.slack.people import Person
    from tests.slack.sender import SlackSender

    with FakeSlack() as fake:
        slack_ids = {name: f"U0M{n:03d}" for n, name in enumerate(names)}
        for name, user_id in slack_ids.items():
            fake.add_user(user_id, f"user{user_id}", real_name=name, locale="en-US")
        _link(engine, ids, "slack", slack_ids)
        adapter = make_adapter(fake, router, engine=engine)
        transport = httpx.ASGITransport(app=web_app(adapter))

        async def review(manager: Any, agent: str, ability: str) -> None:
            await manager.say(f"/review <@{slack_ids[agent]}|{agent.lower()}>")
            await manager.submit({"ability": ability, "collaboration": "3", "service": "3"})
            await manager.press("Submit")

        async with httpx.AsyncClient(transport=transport, base_url="http://kpibot.test") as client:
            sender = SlackSender(client, fake)
            try:
                chats = {n: SlackChat(Person(sender, fake, adapter, uid))
                         for n, uid in slack_ids.items()}  # fmt: skip
                yield Played("slack", chats, review, adapter, engine)  # type: ignore[arg-type]
            finally:
                await adapter.stop()


@asynccontextmanager
async def telegram(
    engine: Engine, router: Any, ids: Mapping[str, int], names: list[str]
) -> AsyncIterator[Played]:
    from bot.settings import load_settings
    from bot.telegram.adapter import build_telegram
    from tests.fakes.telegram_api import TOKEN, FakeTelegram
    from tests.telegram.chat import TelegramChat

    async with FakeTelegram() as fake:
        fake.relax("per_chat")
        tg_ids = {name: 500 + n for n, name in enumerate(names)}
        _link(engine, ids, "telegram", tg_ids)
        settings = load_settings(telegram_bot_token=TOKEN, telegram_api_url=fake.base_url,
                                 default_lang="en")  # fmt: skip
        adapter = build_telegram(settings, router, engine=engine, poll_timeout=2, private_burst=0)
        await adapter.start()

        async def review(manager: Any, agent: str, ability: str) -> None:
            await manager.say(f"/review @{agent}")
            for answer in (ability, "3", "3", "Skip", "Submit"):  # ability, collaboration, service
                await manager.press(answer)

        try:
            chats = {n: TelegramChat(fake, adapter, fake.user(tg_ids[n], n, language_code="en"))
                     for n in names}  # fmt: skip
            yield Played("telegram", chats, review, adapter, engine)  # type: ignore[arg-type]
        finally:
            await adapter.stop()


PLATFORMS = {"feishu": feishu, "slack": slack, "telegram": telegram}

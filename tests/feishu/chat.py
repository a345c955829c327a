"""A person on Feishu, driving the real adapter through the fake Feishu.

    li = FeishuChat(feishu, adapter, feishu.user("李娜"))
    calls = await li.say("/selfreview")           # the API calls kpibot made in answer
    calls = await li.press("4")                   # a button on the newest card with buttons
    calls = await li.submit("发送", answer="耐心")   # a form's submit button, with its fields
    li.screen()                                   # the private chat as it now reads

``seen(calls)`` turns the calls into short tuples for exact assertions:
``("card", text, labels)`` for a new card, ``("patch", text, labels)`` for a card updated in
place, ``("reply", text, labels)`` for an answer quoting a group message, ``("image",)``,
``("file", name)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tests.fakes.feishu_api import Call, FakeFeishu, User, button_labels, card_text, find_button
from tests.waiting import CEILING_S


def _card_of(call: Call) -> dict[str, Any] | None:
    body = call.body if isinstance(call.body, dict) else {}
    if call.name in ("create", "reply") and body.get("msg_type") != "interactive":
        return None
    try:
        return json.loads(body.get("content", ""))
    except ValueError:
        return None


def seen(calls: Iterable[Call]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for c in calls:
        if c.name in ("create", "reply", "patch"):
            card = _card_of(c)
            if card is None:
                out.append((c.body.get("msg_type"),))
                continue
            kind = {"create": "card", "reply": "reply", "patch": "patch"}[c.name]
            out.append((kind, card_text(card), button_labels(card)))
        elif c.name == "image":
            out.append(("image",))
        elif c.name == "file":
            out.append(("file", c.body.get("file_name")))
    return out


class FeishuChat:
    def __init__(self, fake: FakeFeishu, adapter: Any, user: User) -> None:
        self.fake, self.adapter, self.user = fake, adapter, user

    async def _handled(self, push: Any) -> list[Call]:
        start, before = len(self.fake.calls), self.adapter.handled
        delivery = await push
        assert delivery.in_time, (
            f"Feishu got {delivery.status} after {delivery.seconds:.2f} s: {delivery.body}"
        )
        await self.adapter.wait_handled(before + 1, timeout=CEILING_S)
        calls = self.fake.message_calls(start)
        failed = [c for c in calls if not c.ok]
        assert not failed, f"Feishu refused: {[(c.name, c.response) for c in failed]}"
        return calls

    async def say(self, text: str, *, chat_id: str | None = None) -> list[Call]:
        return await self._handled(self.fake.send_text(self.user, text, chat_id=chat_id))

    async def choose_menu(self, event_key: str) -> list[Call]:
        """Choose the entry of kpibot's bot menu whose event key is ``event_key``."""
        return await self._handled(self.fake.choose_menu(self.user, event_key))

    async def send_file(self, name: str, data: bytes) -> list[Call]:
        """Send kpibot a file in the private chat (as dragging it into Feishu does)."""
        return await self._handled(self.fake.send_file(self.user, name, data))

    def card_message(self, chat_id: str | None = None, *, label: str | None = None) -> str:
        """The newest app card with something to press in the chat; with ``label``, the newest
        one with that button, as a person scrolls to it (two cards the outbox sends at once,
        such as a meeting's slots and a plan's request, may arrive in either order)."""
        chat = chat_id or self.user.p2p_chat
        found = [
            m
            for m in self.fake.chat_messages(chat)
            if m["sender"] == "app"
            and m["msg_type"] == "interactive"
            and button_labels(json.loads(m["content"]))
        ]
        assert found, f"no card with buttons in {chat}: {self.screen(chat_id)}"
        if label is not None:
            found = [
                m for m in found if find_button(json.loads(m["content"]), label) is not None
            ] or found  # none has it: the newest, so that the press says what it shows
        return str(found[-1]["message_id"])

    async def press(self, label: str, *, chat_id: str | None = None) -> list[Call]:
        mid = self.card_message(chat_id, label=label)
        return await self._handled(self.fake.press(self.user, mid, label))

    async def submit(self, label: str, *, chat_id: str | None = None, **form: str) -> list[Call]:
        mid = self.card_message(chat_id, label=label)
        return await self._handled(self.fake.press(self.user, mid, label, form=form))

    def screen(self, chat_id: str | None = None) -> list[str]:
        return self.fake.screen(chat_id or self.user.p2p_chat)

    def live_cards(self, chat_id: str | None = None) -> int:
        return sum(
            1 for card in self.fake.bot_cards(chat_id or self.user.p2p_chat) if button_labels(card)
        )

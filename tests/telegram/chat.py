"""A person on Telegram, driving the real adapter through the fake Bot API.

    li = TelegramChat(telegram_api, adapter, telegram_api.user(11, "Li"))
    calls = await li.say("/selfreview")          # what the bot did in answer, in order
    calls = await li.press("4")                  # a button under the latest keyboard
    li.screen()                                  # the private chat as it now reads

``seen(calls)`` turns API calls into short tuples for exact assertions:
``("send", chat, text, labels)``, ``("edit", chat, text, labels)``, ``("strip", chat)``,
``("photo", chat, caption, filename)``, ``("answer",)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.fakes.telegram_api import ApiCall, FakeTelegram, keyboard_of
from tests.waiting import CEILING_S


def labels(call_or_markup: ApiCall | dict[str, Any] | None) -> list[list[str]]:
    rows = (
        call_or_markup.keyboard
        if isinstance(call_or_markup, ApiCall)
        else keyboard_of(call_or_markup)
    )
    return [[label for label, _data in row] for row in rows]


def seen(calls: Iterable[ApiCall]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for c in calls:
        chat = c.params.get("chat_id")
        if c.method == "sendMessage":
            out.append(("send", chat, c.params["text"], labels(c)))
        elif c.method == "editMessageText":
            out.append(("edit", chat, c.params["text"], labels(c)))
        elif c.method == "editMessageReplyMarkup":
            out.append(
                ("strip", chat) if not c.params.get("reply_markup") else ("rekey", chat, labels(c))
            )
        elif c.method == "sendPhoto":
            out.append(("photo", chat, c.params.get("caption"), c.files["photo"].filename))
        elif c.method == "answerCallbackQuery":
            out.append(("answer",))
        elif c.method != "getUpdates":
            out.append((c.method, chat))
    return out


class TelegramChat:
    def __init__(self, tg: FakeTelegram, adapter: Any, user: dict[str, Any]) -> None:
        self.tg, self.adapter, self.user = tg, adapter, user

    @property
    def id(self) -> int:
        return int(self.user["id"])

    async def _handled(self, action: Any) -> list[ApiCall]:
        start, before = len(self.tg.calls), self.adapter.handled
        await action
        await self.adapter.wait_handled(before + 1, timeout=CEILING_S)
        calls = [c for c in self.tg.calls[start:] if c.method != "getUpdates"]
        failed = [c for c in calls if not c.ok]
        assert not failed, f"Telegram refused: {[(c.method, c.response) for c in failed]}"
        return calls

    async def say(self, text: str, *, chat: dict[str, Any] | None = None) -> list[ApiCall]:
        return await self._handled(self.tg.send_text(self.user, text, chat=chat))

    async def press(self, label: str, *, chat_id: int | None = None) -> list[ApiCall]:
        """Press the button whose label is ``label`` (or starts with it) under the newest
        keyboard."""
        message = self.keyboard_message(chat_id)
        rows = keyboard_of(message.get("reply_markup"))
        buttons = [b for row in rows for b in row]
        match = next((b for b in buttons if b[0] == label), None) or next(
            (b for b in buttons if b[0].startswith(label)), None
        )
        assert match is not None, f"no button {label!r} in {[b[0] for b in buttons]}"
        return await self._handled(self.tg.press_data(self.user, message, match[1]))

    def keyboard_message(self, chat_id: int | None = None) -> dict[str, Any]:
        with_keys = [m for m in self.tg.bot_messages(chat_id or self.id) if m.get("reply_markup")]
        assert with_keys, f"no keyboard in chat {chat_id or self.id}: {self.screen(chat_id)}"
        return with_keys[-1]

    def screen(self, chat_id: int | None = None) -> list[str]:
        """The bot's messages in the chat as they read now (after edits)."""
        return [
            m.get("text") or m.get("caption") or "[photo]"
            for m in self.tg.bot_messages(chat_id or self.id)
        ]

    def live_keyboards(self, chat_id: int | None = None) -> int:
        return sum(1 for m in self.tg.bot_messages(chat_id or self.id) if m.get("reply_markup"))

"""A person in the fake Slack workspace: types commands, writes in their DM with kpibot,
presses the buttons kpibot showed them, fills in the modal it opened.

Every action waits until kpibot has finished answering (``adapter.idle()``) and returns
the Web API calls the fake Slack received meanwhile; :func:`seen` turns those into
what the person would see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.slack.adapter import SlackAdapter
from tests.fakes.slack_api import Call, FakeSlack
from tests.slack.sender import Sent, SlackSender


@dataclass
class Person:
    slack: SlackSender
    fake: FakeSlack
    adapter: SlackAdapter
    user_id: str
    last: Sent | None = None

    @property
    def dm(self) -> str:
        return self.fake.dm_channel(self.user_id)

    async def _run(self, action: Any) -> list[Call]:
        before = len(self.fake.calls)
        self.last = await action
        assert self.last.response.status_code == 200, self.last.response.text
        await self.adapter.idle()
        return [c for c in self.fake.calls[before:] if c.method not in ("auth.test", "users.info")]

    async def command(
        self, command: str, text: str = "", *, channel: str = "C0LONDON"
    ) -> list[Call]:
        return await self._run(self.slack.command(self.user_id, command, text, channel_id=channel))

    async def say(self, text: str, **kwargs: Any) -> list[Call]:
        return await self._run(self.slack.dm(self.user_id, text, **kwargs))

    async def press(self, label: str) -> list[Call]:
        """Press ``label`` (or the button starting with it) on the newest message in the DM
        that shows such a button."""
        for message in reversed(self.fake.messages_in(self.dm)):
            if any(shown == label or shown.startswith(label) for shown in labels(message)):
                return await self._run(
                    self.slack.click(self.user_id, {**message, "channel": self.dm}, label)
                )
        raise AssertionError(
            f"{self.user_id} sees no button {label!r}; the DM shows {self.screen()[-2:]}"
        )

    def modal(self) -> dict[str, Any]:
        opened = [c for c in self.fake.calls_to("views.open", ok=True)]
        assert opened, "no modal was opened"
        return list(self.fake.views.values())[-1]

    async def submit(self, answers: dict[str, str]) -> list[Call]:
        return await self._run(self.slack.submit(self.user_id, self.modal(), answers))

    def screen(self) -> list[str]:
        return self.fake.texts_in(self.dm)

    def live_buttons(self) -> int:
        """How many messages in the DM still show buttons."""
        return sum(
            any(b["type"] == "actions" for b in m.get("blocks", []))
            for m in self.fake.messages_in(self.dm)
        )


def labels(payload: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for b in payload.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def chosen(payload: dict[str, Any]) -> list[str]:
    """The lines under the questions answered in a message (``→ 4 · above expectations``)."""
    return [e["text"] for b in payload["blocks"] if b["type"] == "context" for e in b["elements"]]


def seen(calls: Sequence[Call]) -> list[tuple[Any, ...]]:
    """What the calls showed: ``(kind, where, text, button labels)`` and friends."""
    shown: list[tuple[Any, ...]] = []
    for call in calls:
        if not call.ok:  # refused (a 429 retried, say): nobody saw it
            continue
        args = call.args
        if call.method == "chat.postMessage":
            where = call.response.get("channel") or args["channel"]  # a user id: their DM
            shown.append(("post", where, args["text"], labels(args)))
        elif call.method == "chat.update":
            shown.append(("update", args["channel"], chosen(args), labels(args)))
        elif call.method == "response_url" and args.get("replace_original") is True:
            # the pressed message replaced: what was chosen so far, and what comes next
            shown.append(("replace", chosen(args), args["text"], labels(args)))
        elif call.method == "response_url":
            shown.append(("respond", args["response_type"], args["text"], labels(args)))
        elif call.method == "views.open":
            inputs = [b["block_id"] for b in args["view"]["blocks"] if b["type"] == "input"]
            shown.append(("modal", args["view"]["title"]["text"], inputs))
        elif call.method == "files.completeUploadExternal":
            shown.append(("file", args.get("channel_id"), args.get("initial_comment")))
        elif call.method in ("conversations.open", "files.getUploadURLExternal", "upload"):
            continue
        else:
            shown.append((call.method,))
    return shown

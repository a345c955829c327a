"""A fake chat for testing whole conversations as a table of (said, expected).

    chat = FakeChat(router, "王小红")             # platform "test": the member's name or id
    run(chat, [
        ("/selfreview", "Question 1 of"),         # expected text is a substring of the reply
        ("7", "whole number from 1 to 5"),        # a wrong answer: the hint, same question
        ("[4]", "Question 2 of"),                 # [label]: press the button whose label starts so
        ("#2", ["Question 3", "Back"]),           # #n: press the n-th button (1-based, as in
                                                  # the console)
        ("/cancel", None),                        # None: the bot says nothing at all
    ])

Every exchange is kept in ``chat.transcript`` (who, text) and printed when an
expectation fails, so a failing test reads like the chat it was.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from commands.messages import Button, Incoming, Platform, Reply

Expected = str | Sequence[str] | None
_event_ids = itertools.count(1)


@dataclass
class FakeChat:
    """One person talking to the router; records what was said and every reply."""

    router: Any
    user_id: str
    platform: Platform = "test"
    lang_hint: str | None = None
    chat: str = "private"
    with_event_ids: bool = True
    transcript: list[tuple[str, str]] = field(default_factory=list)
    last: list[Reply] = field(default_factory=list)

    def send(self, incoming: Incoming) -> list[Reply]:
        """As an adapter says the router's replies: in order, a chart (``Reply.chart``) drawn
        by the router once the replies before it were said."""
        replies: list[Reply] = []
        for reply in self.router.handle(incoming):
            if reply.chart is not None:
                draw = getattr(self.router, "draw", None)
                drawn = draw(reply) if draw is not None else None
                if drawn is None:
                    continue
                reply = drawn
            self.transcript.append(("bot", render_reply(reply)))
            replies.append(reply)
        self.last = replies
        return replies

    def _incoming(self, **kwargs: Any) -> Incoming:
        event_id = f"ev-{next(_event_ids)}" if self.with_event_ids else None
        return Incoming(
            platform=self.platform,
            user_id=self.user_id,
            lang_hint=self.lang_hint,
            chat=self.chat,
            event_id=kwargs.pop("event_id", event_id),
            **kwargs,  # type: ignore[arg-type]
        )

    def say(self, text: str, *, event_id: str | None = None) -> list[Reply]:
        self.transcript.append((self.user_id, text))
        extra = {"event_id": event_id} if event_id else {}
        return self.send(self._incoming(text=text, **extra))

    def buttons(self) -> list[Button]:
        return [b for r in self.last for b in r.buttons]

    def button(self, which: str | int) -> Button:
        buttons = self.buttons()
        if isinstance(which, int):
            if not 1 <= which <= len(buttons):
                raise AssertionError(
                    f"no button #{which}; buttons: {[b.label for b in buttons]}\n{self.dump()}"
                )
            return buttons[which - 1]
        for exact in (True, False):
            for b in buttons:
                if (b.label == which) if exact else b.label.startswith(which):
                    return b
        raise AssertionError(
            f"no button {which!r}; buttons: {[b.label for b in buttons]}\n{self.dump()}"
        )

    def press(self, which: str | int, *, event_id: str | None = None) -> list[Reply]:
        b = self.button(which)
        self.transcript.append((self.user_id, f"[{b.label}]"))
        extra = {"event_id": event_id} if event_id else {}
        return self.send(self._incoming(action=b.action, value=b.value, **extra))

    def press_button(self, b: Button, *, event_id: str | None = None) -> list[Reply]:
        """Press a button kept from an earlier reply (a double tap, a stale message)."""
        self.transcript.append((self.user_id, f"[{b.label}] (again)"))
        extra = {"event_id": event_id} if event_id else {}
        return self.send(self._incoming(action=b.action, value=b.value, **extra))

    def act(self, said: str) -> list[Reply]:
        """``[label]`` presses a button, ``#n`` the n-th button, anything else is typed."""
        if said.startswith("[") and said.endswith("]") and len(said) > 2:
            return self.press(said[1:-1])
        if said.startswith("#") and said[1:].isdigit():
            return self.press(int(said[1:]))
        return self.say(said)

    @property
    def text(self) -> str:
        """Everything the bot said in its last answer, as one string."""
        return "\n".join(render_reply(r) for r in self.last)

    def dump(self) -> str:
        return "\n".join(
            f"{who:>10} | {line}"
            for who, text in self.transcript
            for line in text.splitlines() or [""]
        )


def render_reply(reply: Reply) -> str:
    lines = [reply.text]
    if reply.buttons:
        lines.append("  ".join(f"[{b.label}]" for b in reply.buttons))
    if reply.image is not None:
        lines.append(f"<image {reply.image.filename}>")
    if reply.file is not None:
        lines.append(f"<file {reply.file.filename}>")
    return "\n".join(lines)


def run(chat: FakeChat, script: Iterable[tuple[str, Expected]]) -> None:
    """Play ``(said, expected)`` pairs; ``expected`` is a substring, several, or None for
    silence."""
    for number, (said, expected) in enumerate(script, start=1):
        chat.act(said)
        text = chat.text
        if expected is None:
            assert not chat.last, f"step {number} ({said!r}): expected silence, got:\n{chat.dump()}"
            continue
        wanted = [expected] if isinstance(expected, str) else list(expected)
        missing = [w for w in wanted if w not in text]
        assert not missing, (
            f"step {number} ({said!r}): missing {missing} in the reply.\n--- transcript "
            f"---\n{chat.dump()}"
        )

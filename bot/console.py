"""The terminal chat: the same router as every messenger, rendered as plain text.

Buttons are shown as numbered choices. Messages kpibot sends the person on its own (through
the outbox: results, rankings, meeting slots, plan requests, appeal notices …) are shown after
each answer, as they would arrive in a DM, when no platform reaches the person. Typing a number
presses that button, except while a question expects a typed number or text: then ``#n`` presses
button n and a bare number is the answer. Images and files are saved under ``media_dir`` and their
path is printed; a chart that follows the text (a ranking's) is printed once it is drawn.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from commands.messages import Button, Incoming, Reply
from commands.plain import printable

BUTTON_NUMBER = re.compile(r"^#?\s*(\d{1,3})$")
TYPED_KINDS = ("number", "text")


class Handles(Protocol):
    def handle(self, incoming: Incoming) -> list[Reply]: ...


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name) or "file"


@dataclass
class ConsoleChat:
    """One person at the terminal: turns lines into :class:`Incoming` and replies into text."""

    router: Handles
    user: str
    media_dir: Path
    lang_hint: str | None = None
    arrivals: Callable[[], list[Reply]] | None = None
    """The messages kpibot sent this person on its own since the last look (results, plan
    requests …: ``commands.inbox_view.arrivals``); shown after each answer, as they arrive."""
    buttons: list[Button] = field(default_factory=list)
    typed_answer: bool = False
    _counter: int = 0

    def incoming_for(self, line: str) -> Incoming | None:
        """The request a typed line stands for; ``None`` for an empty line."""
        text = line.strip()
        if not text:
            return None
        match = BUTTON_NUMBER.match(text)
        if match and self.buttons and (text.startswith("#") or not self.typed_answer):
            number = int(match.group(1))
            if 1 <= number <= len(self.buttons):
                b = self.buttons[number - 1]
                return Incoming(
                    platform="console",
                    user_id=self.user,
                    action=b.action,
                    value=b.value,
                    lang_hint=self.lang_hint,
                )
        return Incoming(platform="console", user_id=self.user, text=text, lang_hint=self.lang_hint)

    def send(self, line: str) -> str:
        """Handle one typed line; the bot's answer as text (empty when it says nothing)."""
        return "\n\n".join(self.answers(line))

    def answers(self, line: str) -> Iterator[str]:
        """One typed line's answer as it comes: what the bot says at once, then each chart
        (``Reply.chart``) once it is drawn, as the line saying where it was saved."""
        incoming = self.incoming_for(line)
        if incoming is None:
            return
        replies = self.router.handle(incoming)
        now = self.render([*(r for r in replies if r.chart is None), *self._arrived()])
        if now:
            yield now
        for reply in replies:
            if reply.chart is None:
                continue
            draw = getattr(self.router, "draw", None)  # the router's, in a router worker
            drawn: Reply | None = draw(reply) if draw is not None else None
            if drawn is not None and (shown := self._render_one(drawn)):
                yield shown

    def check(self) -> str:
        """Messages that arrived meanwhile (at the start of the chat, say), as text."""
        return self.render(self._arrived())

    def _arrived(self) -> list[Reply]:
        return list(self.arrivals()) if self.arrivals is not None else []

    def render(self, replies: Iterable[Reply]) -> str:
        replies = list(replies)
        if not replies:
            return ""
        self.buttons = []
        self.typed_answer = False
        blocks = [self._render_one(reply) for reply in replies]
        return "\n\n".join(b for b in blocks if b)

    def _render_one(self, reply: Reply) -> str:
        lines = [reply.text] if reply.text else []
        if reply.question is not None:
            self.typed_answer = reply.question.kind in TYPED_KINDS
        link_buttons = [b for b in reply.buttons if b.action == "url"]
        for b in reply.buttons:
            if b.action == "url":
                continue
            self.buttons.append(b)
            number = len(self.buttons)
            prefix = f"#{number}" if self.typed_answer else f"{number})"
            lines.append(f"  {prefix} {b.label}")
        lines += [f"  {b.label}: {b.value}" for b in link_buttons]
        for label, name, data in self._attachments(reply):
            path = self._save(name, data)
            lines.append(f"[{label}: {path}]")
        return "\n".join(lines)

    @staticmethod
    def _attachments(reply: Reply) -> list[tuple[str, str, bytes]]:
        out = []
        if reply.image is not None:
            out.append(
                (reply.image.alt or reply.image.filename, reply.image.filename, reply.image.data)
            )
        if reply.file is not None:
            out.append((reply.file.filename, reply.file.filename, reply.file.data))
        return out

    def _save(self, filename: str, data: bytes) -> Path:
        self.media_dir.mkdir(parents=True, exist_ok=True)
        self._counter += 1
        path = self.media_dir / f"{self._counter:03d}-{_safe_name(filename)}"
        path.write_bytes(data)
        return path.resolve()


PROMPT = "> "


def repl(chat: ConsoleChat, *, read: Callable[[str], str], out: TextIO, greeting: str = "") -> None:
    """Read lines until end of input or ``/quit``; print each answer."""
    if greeting:
        print(greeting, file=out, flush=True)
    waiting = chat.check()
    if waiting:
        print(printable(waiting), file=out, flush=True)
    while True:
        try:
            line = read(PROMPT)
        except (EOFError, KeyboardInterrupt):
            print(file=out, flush=True)
            return
        if line.strip() in ("/quit", "/exit"):
            return
        for answer in chat.answers(line):  # the text first, a chart's path once it is drawn
            print(printable(answer), file=out, flush=True)

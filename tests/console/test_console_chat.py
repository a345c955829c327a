from __future__ import annotations

import io
from pathlib import Path

from bot.console import ConsoleChat, repl
from commands.messages import Button, Image, Incoming, Reply
from commands.router import Router


def test_a_number_presses_the_numbered_button(router: Router, media: Path) -> None:
    chat = ConsoleChat(router, "Alice", media)
    shown = chat.send("/selfreview")
    assert "  4) 4 · above expectations" in shown
    assert "Question 2 of 4" in chat.send("4")
    assert chat.send("5").startswith("Question 3 of 4: What went well")


def test_while_a_typed_answer_is_expected_a_bare_number_is_the_answer_and_hash_n_presses(
    router: Router, media: Path
) -> None:
    chat = ConsoleChat(router, "Alice", media)
    chat.send("/selfreview")
    chat.send("4")
    shown = chat.send("5")
    assert "  #1 Back" in shown
    # "1" is typed text, not button 1; a bare number for a question wanting words is confirmed first
    assert chat.send("1").startswith("“1” is a number, but this question asks for words.")
    assert "Question 4 of 4" in chat.send("yes")
    assert "Question 3 of 4" in chat.send("#1")


def test_an_empty_line_sends_nothing(router: Router, media: Path) -> None:
    chat = ConsoleChat(router, "Alice", media)
    assert chat.incoming_for("   ") is None
    assert chat.send("") == ""


def test_a_number_with_no_buttons_on_screen_is_plain_text(media: Path) -> None:
    chat = ConsoleChat(_Recorder([]), "Alice", media)
    assert chat.incoming_for("3") == Incoming(platform="console", user_id="Alice", text="3")


class _Recorder:
    def __init__(self, replies: list[Reply]) -> None:
        self.replies = replies
        self.seen: list[Incoming] = []

    def handle(self, incoming: Incoming) -> list[Reply]:
        self.seen.append(incoming)
        return self.replies


def test_images_are_saved_to_a_file_whose_path_is_printed(media: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n-not-really"
    chat = ConsoleChat(
        _Recorder([Reply(text="Ranking", image=Image("rank 2026/10.png", png, alt="chart"))]),
        "x",
        media,
    )
    shown = chat.send("/rank")
    path = Path(shown.split("[chart: ", 1)[1].rstrip("]"))
    assert path.parent == media.resolve() and path.read_bytes() == png
    assert "/" not in path.name.removeprefix("001-")


def test_link_buttons_are_shown_as_addresses_not_numbers(media: Path) -> None:
    reply = Reply(
        text="Survey", buttons=(Button("Open", "url", "http://x/s/1"), Button("OK", "ok", "1"))
    )
    chat = ConsoleChat(_Recorder([reply]), "x", media)
    shown = chat.send("/survey")
    assert "  Open: http://x/s/1" in shown and "  1) OK" in shown
    recorder = chat.router
    chat.send("1")
    assert isinstance(recorder, _Recorder) and recorder.seen[-1].action == "ok"


def test_the_loop_prints_each_answer_until_quit(router: Router, media: Path) -> None:
    lines = iter(["/selfreview", "4", "/quit", "never read"])
    out = io.StringIO()
    repl(
        ConsoleChat(router, "Alice", media),
        read=lambda prompt: next(lines),
        out=out,
        greeting="hello",
    )
    text = out.getvalue()
    assert text.startswith("hello\n") and "Question 1 of 4" in text and "Question 2 of 4" in text


def test_the_loop_ends_quietly_at_end_of_input(router: Router, media: Path) -> None:
    def read(prompt: str) -> str:
        raise EOFError

    out = io.StringIO()
    repl(ConsoleChat(router, "Alice", media), read=read, out=out)
    assert out.getvalue() == "\n"

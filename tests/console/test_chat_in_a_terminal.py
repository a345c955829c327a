"""A newcomer's first experience: ``kpibot chat`` in a real pseudo-terminal, driven like a
person."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

GUARD_SECONDS = 300
"""A guard against a hang, not a speed assertion: the longest silence ``expect`` waits out
(``kpibot run`` took over 90 s to start at load 12 on this 2-core machine)."""


class Terminal:
    """A process on a pty: ``expect`` reads until a text appears, ``type`` sends a line."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            args, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str) -> str:
        while text not in self.seen:
            ready, _, _ = select.select([self.master], [], [], GUARD_SECONDS)
            if not ready:
                raise AssertionError(f"no {text!r} on the screen; it shows:\n{self.seen}")
            try:
                chunk = os.read(self.master, 65536).decode("utf-8", "replace")
            except OSError:  # the process ended
                chunk = ""
            if not chunk:
                raise AssertionError(
                    f"the chat ended before showing {text!r}; it showed:\n{self.seen}"
                )
            self.seen += chunk.replace("\r\n", "\n")
        head, _sep, rest = self.seen.partition(text)
        self.seen = rest
        return head + text

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=GUARD_SECONDS)
        finally:
            os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    opened: list[Terminal] = []
    script = Path(sys.executable).with_name("kpibot")
    base = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from bot.cli import main; main()"]
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "TELEGRAM_", "DATABASE_URL"))
    }
    env.update(DATA_DIR=str(tmp_path / "data"), TERM="dumb", PYTHONUNBUFFERED="1")

    def open_terminal(*args: str) -> Terminal:
        term = Terminal([*base, "chat", *args], env)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()


def test_an_agent_fills_a_self_review_in_the_terminal_chat(terminal, world_url: str) -> None:  # type: ignore[no-untyped-def]
    term = terminal("--as", "Alice", "--db", world_url)
    term.expect("You are chatting with kpibot as Alice")
    term.expect("> ")
    term.type("/selfreview")
    screen = term.expect("Question 1 of 4: Task completion")
    assert "Your KPI numbers" in screen and "· Refund ratio: 2%" in screen
    term.expect("5) 5 · outstanding")
    term.type("9")
    term.expect("Please send a whole number from 1 to 5.")
    term.expect("Question 1 of 4")
    term.type("4")
    term.expect("Question 2 of 4: Attitude")
    term.type("5")
    term.expect("Question 3 of 4: What went well")
    term.type("I answered faster")
    term.expect("Question 4 of 4")
    term.type("Fewer refunds")
    screen = term.expect("1) Submit")
    assert (
        "Summary of your self-review" in screen
        and "1. Task completion: 4 · above expectations" in screen
    )
    term.type("1")
    term.expect("your self-review is submitted")
    term.type("/quit")
    assert term.close() == 0


def test_a_newcomer_starts_as_the_demo_manager_and_reviews_an_agent(
    terminal, world_url: str
) -> None:  # type: ignore[no-untyped-def]
    term = terminal("--db", world_url)
    term.expect("你正以王经理（主管）的身份与 kpibot 对话")
    term.type("/review")
    screen = term.expect("你要评价谁")
    term.expect("4) 陈静")
    term.type("1")
    screen = term.expect("第 1/4 题：工作能力")
    assert "李娜的 2026-10 评价" in screen and "退款比例：2% → 50/50 分" in screen
    term.type("3")
    term.expect("第 2/4 题")
    term.type("3")
    term.expect("第 3/4 题")
    term.type("3")
    term.expect("第 4/4 题")
    term.type("#2")  # the typed-answer question: #2 presses the second button (skip)
    screen = term.expect("1) 提交")
    assert "李娜的总分将为" in screen
    term.type("1")
    term.expect("评价已提交")
    term.type("/rank demo")
    screen = term.expect(".png]")
    chart = Path(screen.rsplit(": ", 1)[1].removesuffix("]"))
    assert "demo 2026-10" in screen and chart.read_bytes().startswith(b"\x89PNG")
    term.type("/review 刘洋")
    term.expect("第 1/4 题")
    term.type("/quit")
    assert term.close() == 0


def _self_review(term: Terminal, score: str) -> None:
    term.type("/selfreview")
    term.expect("Question 1 of 4")
    term.type(score)
    term.expect("Question 2 of 4")
    term.type(score)
    term.expect("Question 3 of 4")
    term.type("steady")
    term.expect("Question 4 of 4")
    term.type("faster")
    term.expect("1) Submit")
    term.type("1")
    term.expect("your self-review is submitted")


def test_a_review_round_in_the_terminal_survives_quitting_midway(terminal, world_url: str) -> None:  # type: ignore[no-untyped-def]
    """Four agents self-review (one answers wrongly first, one quits midway and comes back in
    a new session), the manager reviews them all and ranks the team."""
    alice = terminal("--as", "Alice", "--db", world_url)
    alice.type("/selfreview")
    alice.expect("Question 1 of 4")
    alice.type("ten")
    alice.expect("Please send a whole number from 1 to 5.")
    alice.type("/cancel")
    alice.expect("Cancelled")
    _self_review(alice, "5")
    alice.type("/quit")
    assert alice.close() == 0

    bob = terminal("--as", "Bob", "--db", world_url)
    bob.type("/selfreview")
    bob.expect("Question 1 of 4")
    bob.type("4")
    bob.expect("Question 2 of 4")
    bob.type("/quit")
    assert bob.close() == 0
    bob = terminal("--as", "Bob", "--db", world_url)
    bob.type("/selfreview")
    bob.expect("You have an unfinished self-review. Continue from question 2?")
    bob.expect("1) Continue")
    bob.type("1")
    bob.expect("Question 2 of 4")
    bob.type("4")
    bob.expect("Question 3 of 4")
    bob.type("ok")
    bob.expect("Question 4 of 4")
    bob.type("ok")
    bob.expect("1) Submit")
    bob.type("1")
    bob.expect("your self-review is submitted")
    bob.type("/quit")
    assert bob.close() == 0

    for name, score in (("Carol", "3"), ("Dave", "2")):
        term = terminal("--as", name, "--db", world_url)
        _self_review(term, score)
        term.type("/quit")
        assert term.close() == 0

    mary = terminal("--as", "Mary", "--db", world_url)
    for name, score in (("Alice", "4"), ("Bob", "4"), ("Carol", "3"), ("Dave", "2")):
        mary.type(f"/review {name}")
        screen = mary.expect("Question 1 of 4")
        assert f"Self-review of {name}:" in screen
        for question in (2, 3, 4):
            mary.type(score)
            mary.expect(f"Question {question} of 4")
        mary.type("#2")  # skip the optional comment
        screen = mary.expect("1) Submit")
        assert f"Resulting total for {name}:" in screen
        mary.type("1")
        mary.expect("the review is submitted")
    mary.type("/rank london 2026-10")
    screen = mary.expect(".png]")
    # Dave's KPI table (75 of 100) outweighs Carol's better ratings (her KPI table is 0). With
    # no peer ratings the self/manager weights 30/60 are rescaled to 1/3 and 2/3:
    # Dave 25/3 + 2/3·(0.4·75 + 0.6·25) = 38.3 > Carol 50/3 + 2/3·(0.6·50) = 36.7.
    order = [screen.index(f" {name} ") for name in ("Alice", "Bob", "Dave", "Carol")]
    assert order == sorted(order), screen
    mary.type("/quit")
    assert mary.close() == 0

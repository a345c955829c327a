"""A newcomer's `make run`: no tokens, a fresh database, a terminal — the demo team and the chat."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.console.test_chat_in_a_terminal import GUARD_SECONDS, Terminal
from tests.ops.replica import children, running
from tests.waiting import CEILING_S

ROOT = Path(__file__).resolve().parents[2]


def _running(pids: list[int]) -> list[int]:
    return [pid for pid in pids if running(pid)]


def _answers(url: str) -> bool:
    """Whether the server answers 200 (it starts listening once its router workers are up)."""
    deadline = time.monotonic() + GUARD_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=CEILING_S) as answer:
                return answer.status == 200
        except OSError:
            time.sleep(0.2)
    return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_kpibot_run_on_a_terminal_opens_the_demo_chat_as_its_manager_and_quit_leaves_the_server(
    tmp_path: Path,
) -> None:
    script = Path(sys.executable).with_name("kpibot")
    args = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from bot.cli import main; main()"]
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "TELEGRAM_", "DATABASE_URL", "CYCLE_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}",
        DATA_DIR=str(tmp_path / "data"),
        PORT=str(port := _free_port()),
        DEFAULT_LANG="zh",
        TERM="dumb",
        PYTHONUNBUFFERED="1",
        ROUTER_PROCESSES="1",  # as `make run` has it: the router in a worker process
    )
    cwd = os.getcwd()
    os.chdir(ROOT)  # schemes/ is read from the project folder, as `make run` does
    try:
        term = Terminal([*args, "run"], env)
    finally:
        os.chdir(cwd)
    try:
        term.expect("演示团队「demo」")
        term.expect("陈静")  # the greeting names the demo manager
        term.expect("> ")
        term.type("/rank demo")
        ranking = term.expect("排名图")
        assert "1. " in ranking and "8. " in ranking
        deadline = time.monotonic() + CEILING_S
        while not (workers := _running(children(term.proc.pid))) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert workers, "the web app beside the chat runs its router in a worker process"
        term.type("/quit")
        ended = term.expect("按 Ctrl-C 停止。")
        assert "聊天已结束，但 kpibot 仍在" in ended
        assert f"http://localhost:{port}" in ended, "the banner names the PORT it listens on"
        assert term.proc.poll() is None, "the server outlives the chat"
        assert _answers(f"http://127.0.0.1:{port}/healthz"), (
            "the survey page's server still answers"
        )
        term.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert term.close() == 0
        deadline = time.monotonic() + CEILING_S
        while _running(workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(workers), "no worker process outlives `kpibot run`"
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
            term.proc.wait()

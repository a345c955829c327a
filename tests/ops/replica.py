"""``kpibot run`` as a real process, the way a container runs it: environment in, port out."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[2]
KPIBOT = Path(sys.executable).with_name("kpibot")


def children(pid: int) -> list[int]:
    """The processes ``pid`` started, from any of its threads (Linux ``/proc``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:  # the thread ended meanwhile
            continue
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for init, which reaps it in its time)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    """One ``kpibot run --no-chat`` on 127.0.0.1; stderr (the JSON log) goes to a file."""

    def __init__(self, env: Mapping[str, str], workdir: Path, *, name: str = "kpibot") -> None:
        self.port = free_port()
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("SLACK_", "TELEGRAM_", "KPIBOT_"))
            },
            "PORT": str(self.port),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "DATA_DIR": str(workdir),
            "PYTHONUNBUFFERED": "1",
            "ROUTER_PROCESSES": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 300.0) -> Replica:
        """Start ``kpibot run`` and wait until ``/readyz`` answers 200 (a condition, not a
        delay: the ceiling is generous because a loaded 2-core CI machine takes its time to
        migrate, fork the router workers and bind; a replica that exits fails at once)."""
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(KPIBOT), "run", "--no-chat"], cwd=self.workdir, env=self.env,
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"kpibot run exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                if httpx.get(self.url + "/readyz", timeout=10).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"kpibot run did not become ready:\n{self.log()}")

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait for the process to end; its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )

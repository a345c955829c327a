"""``kpibot chat`` from the command line (typer's runner: no terminal needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import build_app


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    runner = CliRunner()

    def run(args: list[str], text: str = ""):  # type: ignore[no-untyped-def]
        return runner.invoke(build_app(), ["chat", *args], input=text)

    return run


def test_chat_as_a_member_greets_them_in_their_language_and_answers(invoke, world_url: str) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["--as", "Alice", "--db", world_url], "/peer\n/quit\n")
    assert result.exit_code == 0, result.output
    assert "You are chatting with kpibot as Alice (agent)" in result.output
    assert "Whom do you want to rate?" in result.output and "1) Bob" in result.output


def test_without_as_the_chat_is_the_demo_manager(invoke, world_url: str) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["--db", world_url], "/review\n")
    assert result.exit_code == 0, result.output
    assert "王经理" in result.output and "你要评价谁" in result.output


def test_an_unknown_member_is_one_clear_message_and_exit_code_2(invoke, world_url: str) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["--as", "Nobody", "--db", world_url])
    assert result.exit_code == 2
    assert "There is no member Nobody" in result.output or "没有成员 Nobody" in result.output
    assert "Traceback" not in result.output


def test_an_empty_database_says_how_to_set_it_up(invoke, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = invoke(["--db", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 2
    assert "kpibot db upgrade" in result.output and "Traceback" not in result.output


def test_a_database_without_a_demo_team_asks_for_as(invoke, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    result = invoke(["--db", url])
    assert result.exit_code == 2 and "--as" in result.output

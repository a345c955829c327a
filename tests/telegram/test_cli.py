"""``kpibot telegram link-code`` and ``kpibot telegram check``."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app
from storage import repo
from storage.db import unit_of_work
from storage.models import LinkCode
from tests.fakes.telegram_api import BOT_USERNAME, TOKEN, FakeTelegram


@pytest.fixture
def db_url(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DEFAULT_LANG", "en")
    with unit_of_work(engine) as session:
        team = repo.create_team(session=session, name="demo", lang="en")
        repo.add_member(session=session, team=team, name="Ann", role="agent")
    return engine.url.render_as_string(hide_password=False)


def test_link_code_prints_a_code_that_is_stored_for_the_member(db_url: str, engine: Engine) -> None:
    result = CliRunner().invoke(
        build_app(), ["telegram", "link-code", "--team", "demo", "--name", "Ann", "--db", db_url]
    )
    assert result.exit_code == 0, result.output
    with unit_of_work(engine) as session:
        (row,) = session.query(LinkCode).all()
        assert f"Link code for Ann (demo): {row.code}\n" in result.output
        assert row.used_at is None


def test_link_code_for_an_unknown_member_says_so_and_exits_2(db_url: str) -> None:
    result = CliRunner().invoke(
        build_app(), ["telegram", "link-code", "--team", "demo", "--name", "Nobody", "--db", db_url]
    )
    assert result.exit_code == 2
    assert "There is no member Nobody in team demo." in result.output
    assert "Traceback" not in result.output


def test_check_asks_telegram_who_the_bot_is(
    fake_in_thread: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_LANG", "en")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", fake_in_thread.base_url)
    result = CliRunner().invoke(build_app(), ["telegram", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"@{BOT_USERNAME} (kpibot) · long polling"


def test_check_with_a_wrong_token_exits_2(
    fake_in_thread: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_LANG", "en")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:wrong")
    monkeypatch.setenv("TELEGRAM_API_URL", fake_in_thread.base_url)
    result = CliRunner().invoke(build_app(), ["telegram", "check"])
    assert result.exit_code == 2
    assert "Telegram refused the token" in result.output

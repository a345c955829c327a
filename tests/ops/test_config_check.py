"""Start-up refuses a bad configuration: one clear line per problem, all at once, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import build_app
from bot.config_check import problems
from bot.settings import Settings, load_settings

STRONG = "Zq8-kV3rT0pW5yNc1xLb7Hm2Jd9Gs4Fa6Ue0Oi3Rk"


def settings(tmp_path: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'k.db'}", "data_dir": tmp_path,
        "default_lang": "en", "slack_bot_token": None, "slack_signing_secret": None,
        "slack_app_token": None, "telegram_bot_token": None, "kpibot_secret": None,
        "environment": "development", "public_url": "http://localhost:8080",
    }  # fmt: skip
    return load_settings(**{**base, **overrides})


def test_a_trial_run_with_no_tokens_has_no_problem(tmp_path: Path) -> None:
    assert problems(settings(tmp_path)) == []


def test_a_complete_production_configuration_has_no_problem(tmp_path: Path) -> None:
    ok = settings(
        tmp_path, environment="production", public_url="https://kpi.example.com",
        slack_bot_token="xoxb-1-2-abc", slack_signing_secret="s" * 32, kpibot_secret=STRONG,
        telegram_bot_token="123456:ABCDEF", telegram_webhook_url="https://kpi.example.com/telegram/webhook",
        telegram_webhook_secret="hook-secret",
    )  # fmt: skip
    assert problems(ok) == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"slack_bot_token": "xoxb-1", "kpibot_secret": STRONG}, "SLACK_SIGNING_SECRET"),
        ({"slack_signing_secret": "s" * 32}, "SLACK_BOT_TOKEN is not"),
        (
            {
                "environment": "production",
                "public_url": "http://kpi.example.com",
                "kpibot_secret": STRONG,
            },
            "not https",
        ),
        ({"public_url": "kpi.example.com"}, "not a web address"),
        (
            {"telegram_bot_token": "123:abc", "kpibot_secret": "changeme"},
            "KPIBOT_SECRET is too weak",
        ),
        ({"telegram_bot_token": "123:abc"}, "KPIBOT_SECRET is not set"),
        (
            {"environment": "production", "public_url": "https://k.example.com"},
            "KPIBOT_SECRET is not set",
        ),
        ({"telegram_bot_token": "no-colon", "kpibot_secret": STRONG}, "TELEGRAM_BOT_TOKEN"),
        (
            {
                "telegram_bot_token": "1:a",
                "kpibot_secret": STRONG,
                "telegram_webhook_url": "https://k.example.com/t",
            },
            "TELEGRAM_WEBHOOK_SECRET",
        ),
        ({"environment": "staging"}, "ENVIRONMENT"),
        ({"default_lang": "fr"}, "DEFAULT_LANG"),
        ({"log_format": "xml"}, "LOG_FORMAT"),
        ({"port": 70000}, "PORT"),
        (
            {
                "slack_bot_token": "not-a-bot-token",
                "slack_signing_secret": "x",
                "kpibot_secret": STRONG,
            },
            "xoxb-",
        ),
    ],
)
def test_each_mistake_is_named_in_one_line(
    tmp_path: Path, overrides: dict[str, object], expected: str
) -> None:
    found = problems(settings(tmp_path, **overrides))
    assert len(found) == 1, found
    assert expected in found[0]
    assert "\n" not in found[0]


def test_an_unreachable_postgresql_is_a_problem_that_names_the_server_without_its_password(
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [line] = problems(
        settings(
            tmp_path, database_url=f"postgresql://kpibot:hunter2secret@127.0.0.1:{port}/kpibot"
        )
    )
    assert "cannot be reached" in line and f"127.0.0.1:{port}" in line
    assert "hunter2secret" not in line


def test_a_sqlite_file_in_a_missing_folder_cannot_be_opened(tmp_path: Path) -> None:
    [line] = problems(settings(tmp_path, database_url=f"sqlite:///{tmp_path}/missing/dir/k.db"))
    assert "cannot be reached" in line


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    bad = settings(
        tmp_path, environment="production", public_url="http://kpi.example.com",
        slack_bot_token="xoxb-1", kpibot_secret="password",
        database_url=f"sqlite:///{tmp_path}/missing/k.db",
    )  # fmt: skip
    found = problems(bad)
    assert len(found) == 4
    assert [
        any(k in line for line in found)
        for k in ("https", "SLACK_SIGNING_SECRET", "KPIBOT_SECRET", "database")
    ] == [True] * 4


def test_the_problems_are_said_in_chinese_when_the_default_language_is_chinese(
    tmp_path: Path,
) -> None:
    [line] = problems(
        settings(tmp_path, default_lang="zh", slack_bot_token="xoxb-1", kpibot_secret=STRONG)
    )
    assert "SLACK_SIGNING_SECRET" in line
    assert any("\u4e00" <= ch <= "\u9fff" for ch in line), line


def test_kpibot_run_refuses_a_bad_configuration_with_exit_code_2_and_no_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path}/missing/k.db", "DATA_DIR": str(tmp_path),
        "DEFAULT_LANG": "en", "ENVIRONMENT": "production", "PUBLIC_URL": "http://kpi.example.com",
        "SLACK_BOT_TOKEN": "xoxb-1", "KPIBOT_SECRET": "changeme",
    }  # fmt: skip
    result = CliRunner().invoke(build_app(), ["run", "--no-chat"], env=env)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 4, result.output
    assert "Traceback" not in result.output


def test_kpibot_run_refuses_a_setting_of_the_wrong_type_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(build_app(), ["run", "--no-chat"], env={"PORT": "eighty"})
    assert result.exit_code == 2
    assert result.output.strip().startswith("PORT:")
    assert "Traceback" not in result.output

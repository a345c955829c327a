"""`kpibot db upgrade`, `kpibot db current` and `kpibot demo` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import build_app
from storage.db import current_revision, head_revision

runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DEFAULT_LANG", "en")
    monkeypatch.chdir(tmp_path)
    return url


def test_db_upgrade_migrates_the_database_named_by_database_url(db_url: str) -> None:
    result = runner.invoke(build_app(), ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert current_revision(db_url) == head_revision()
    assert "The database is created, at the newest revision (" in result.output
    assert f" · {head_revision()})." in result.output and " - " not in result.output
    again = runner.invoke(build_app(), ["db", "upgrade"])
    assert again.exit_code == 0 and "up to date" in again.output


def test_db_upgrade_defaults_to_a_sqlite_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(build_app(), ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "kpibot.db").is_file()


def test_db_current_says_whether_an_upgrade_is_needed(db_url: str) -> None:
    before = runner.invoke(build_app(), ["db", "current"])
    assert before.exit_code == 0 and "kpibot db upgrade" in before.output
    runner.invoke(build_app(), ["db", "upgrade"])
    after = runner.invoke(build_app(), ["db", "current"])
    assert after.exit_code == 0 and "up to date" in after.output


@pytest.mark.parametrize("url", ["nonsense://x", "sqlite:////nonexistent-dir/kpibot.db"])
def test_a_bad_database_url_is_one_message_and_exit_code_2(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    result = runner.invoke(build_app(), ["db", "upgrade"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_demo_needs_an_upgraded_database(db_url: str) -> None:
    result = runner.invoke(build_app(), ["demo"])
    assert result.exit_code == 2 and "kpibot db upgrade" in result.output


def test_demo_prints_what_it_created_and_a_second_run_adds_nothing(db_url: str) -> None:
    runner.invoke(build_app(), ["db", "upgrade"])
    first = runner.invoke(build_app(), ["demo"])
    assert first.exit_code == 0, first.output
    assert "Demo team 'demo' is ready." in first.output
    assert "Members: 10 (added 10)" in first.output
    second = runner.invoke(build_app(), ["demo"])
    assert "nothing was added" in second.output
    assert "Members: 10 (added 0)" in second.output
    reset = runner.invoke(build_app(), ["demo", "--reset"])
    assert "Removed the old demo team." in reset.output and "(added 10)" in reset.output


def test_demo_speaks_chinese_when_asked(db_url: str) -> None:
    runner.invoke(build_app(), ["db", "upgrade"])
    result = runner.invoke(build_app(), ["demo", "--lang", "zh"])
    assert result.exit_code == 0
    assert "演示团队「demo」已就绪。" in result.output


def test_db_upgrade_speaks_chinese_and_names_revisions_by_their_place(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_LANG", "zh")
    result = runner.invoke(build_app(), ["db", "upgrade"])
    assert (
        result.output.startswith("数据库已创建，为最新版本（版本 ")
        and "从版本 -" not in result.output
    )
    again = runner.invoke(build_app(), ["db", "upgrade"])
    assert (
        again.output.strip()
        == f"数据库已是最新版本（版本 {result.output.split('版本 ')[1].split('）')[0]}）。"
    )

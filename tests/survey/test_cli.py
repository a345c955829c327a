"""``kpibot survey link``: one link a line on stdout; each problem one line on stderr, exit 2."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app
from commands.survey_tokens import read_token
from tests.survey.conftest import World

STRONG = "Zq3v-8Rk_2pWn5Yt7Lc9Hs4Jd6Fb1Mx0Ge-cli"


@pytest.fixture
def env(engine: Engine, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    monkeypatch.setenv("KPIBOT_SECRET", STRONG)
    monkeypatch.setenv("PUBLIC_URL", "https://kpi.example.com")
    monkeypatch.setenv("DEFAULT_LANG", "en")
    for name in ("SLACK_BOT_TOKEN", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return world


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(build_app(), ["survey", "link", *args])


def test_links_are_printed_one_a_line_for_the_agent(env: World) -> None:
    result = run("--agent", "王小红", "--count", "3", "--ref", "T-9")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("https://kpi.example.com/s/") for line in lines)
    claims = [read_token(STRONG, line.rsplit("/", 1)[1]) for line in lines]
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    period = env.period_id if date(2026, 10, 1) <= today <= date(2026, 10, 31) else 0
    assert {(c.member_id, c.team_id, c.period_id, c.ref) for c in claims} == {
        (env.agent_id, env.team_id, period, "T-9")
    }
    assert len({c.token_id for c in claims}) == 3


def test_an_agent_can_be_named_with_the_team(env: World) -> None:
    assert run("--agent", "demo/李明").exit_code == 0
    assert run("--agent", "李明", "--team", "demo").exit_code == 0
    assert run("--agent", str(env.other_agent_id)).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agent", "nobody"], "There is no agent nobody"),
        (["--agent", "张经理"], "is not an active agent"),
        (["--agent", "王小红", "--count", "0"], "--count must be between 1 and 50"),
        (["--agent", "王小红", "--count", "51"], "--count must be between 1 and 50"),
        (["--agent", "王小红", "--ref", " "], "--ref is empty"),
        (["--agent", "王小红", "--team", "elsewhere"], "There is no team called elsewhere"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_code_2(
    env: World, args: list[str], message: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""


def test_two_problems_are_two_lines(env: World) -> None:
    result = run("--agent", "王小红", "--count", "99", "--ref", "")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 2


def test_a_weak_secret_with_platform_tokens_is_refused(
    env: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("KPIBOT_SECRET", "changeme")
    result = run("--agent", "王小红")
    assert result.exit_code == 2 and "KPIBOT_SECRET is too weak" in result.stderr

"""``kpibot import`` and ``kpibot show-source`` from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app
from storage import repo
from storage.db import unit_of_work
from tests.importing.conftest import AGENTS, DATA

runner = CliRunner()


@pytest.fixture
def db_url(engine: Engine) -> str:
    with unit_of_work(engine) as session:
        team = repo.create_team(session=session, name="sample")
        for zh, en in AGENTS:
            repo.add_member(session=session, team=team, name=zh, name_en=en)
    return str(engine.url)


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(build_app(), list(args))


def test_import_prints_a_summary_with_the_encoding(db_url: str) -> None:
    result = _run(
        "import",
        "--team",
        "sample",
        "--period",
        "2026-10",
        "--mapping",
        "shop_zh",
        str(DATA / "shop_zh_summary_gbk.csv"),
        "--db",
        db_url,
        "--lang",
        "en",
    )
    assert result.exit_code == 0, result.output
    assert (
        "Imported shop_zh_summary_gbk.csv into sample 2026-10 as import #1: 3 rows, 3 agents"
        in result.output
    )
    assert "Encoding: GBK." in result.output


def test_a_broken_file_exits_2_with_a_message_and_no_traceback(db_url: str) -> None:
    result = _run(
        "import",
        "--team",
        "sample",
        "--period",
        "2026-10",
        "--mapping",
        "shop_zh",
        str(DATA / "broken_unknown_agent.csv"),
        "--db",
        db_url,
        "--lang",
        "zh",
    )
    assert result.exit_code == 2
    assert "未导入，没有保存任何数据" in result.output
    assert "未知客服王晓红。你是指王小红吗？" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--mapping", "nosuch"),
            "No mapping named nosuch. Known mappings: after_sales_zh, avaya_agents_en, calls_zh",
        ),
        (("--period", "October"), "October is not a period"),
        (("--team", "ghosts"), "There is no team named ghosts."),
    ],
)
def test_bad_arguments_exit_2_with_one_clear_message(
    db_url: str, args: tuple[str, str], message: str
) -> None:
    base = {"--team": "sample", "--period": "2026-10", "--mapping": "shop_zh"}
    base[args[0]] = args[1]
    flat = [x for pair in base.items() for x in pair]
    result = _run(
        "import", *flat, str(DATA / "shop_zh_summary.csv"), "--db", db_url, "--lang", "en"
    )
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_missing_file_exits_2(db_url: str, tmp_path: Path) -> None:
    result = _run(
        "import",
        "--team",
        "sample",
        "--period",
        "2026-10",
        "--mapping",
        "shop_zh",
        str(tmp_path / "nope.csv"),
        "--db",
        db_url,
        "--lang",
        "en",
    )
    assert result.exit_code == 2 and "Cannot read" in result.output


def test_importing_twice_says_nothing_changed(db_url: str) -> None:
    args = [
        "import",
        "--team",
        "sample",
        "--period",
        "2026-10",
        "--mapping",
        "shop_zh",
        str(DATA / "shop_zh_summary.csv"),
        "--db",
        db_url,
        "--lang",
        "en",
    ]
    assert _run(*args).exit_code == 0
    again = _run(*args)
    assert again.exit_code == 0 and "nothing changed" in again.output


def test_import_as_a_member_records_who_imported(db_url: str) -> None:
    result = _run(
        "import",
        "--team",
        "sample",
        "--period",
        "2026-10",
        "--mapping",
        "shop_zh",
        str(DATA / "shop_zh_summary.csv"),
        "--db",
        db_url,
        "--as",
        "李明",
        "--lang",
        "en",
    )
    assert result.exit_code == 0, result.output
    shown = _run(
        "show-source",
        "--team",
        "sample",
        "--period",
        "2026-10",
        "--agent",
        "张伟",
        "--indicator",
        "order_amount",
        "--db",
        db_url,
        "--lang",
        "en",
    )
    assert shown.exit_code == 0
    assert "order_amount = 22500 (imported) from import #1 shop_zh_summary.csv" in shown.output
    assert shown.output.rstrip().endswith("current)")
    assert "by 李明 at " in shown.output  # who imported it by name, not member:2


def test_show_source_for_an_unknown_agent_exits_2(db_url: str) -> None:
    result = _run(
        "show-source",
        "--team",
        "sample",
        "--period",
        "2026-10",
        "--agent",
        "Li Mng",
        "--db",
        db_url,
        "--lang",
        "en",
    )
    assert result.exit_code == 2 and "Did you mean Li Ming?" in result.output


@pytest.mark.parametrize("terminal", [True, False])
def test_a_progress_bar_is_drawn_only_on_a_terminal(
    db_url: str, terminal: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.cli.importing as cli

    monkeypatch.setattr(cli, "PROGRESS_MIN_BYTES", 0)  # every file counts as large here
    monkeypatch.setattr(cli, "_stderr_is_terminal", lambda: terminal)
    result = _run(
        "import",
        "--team",
        "sample",
        "--period",
        "2026-10",
        "--mapping",
        "sessions_en",
        str(DATA / "sessions_en.csv"),
        "--db",
        db_url,
        "--lang",
        "en",
    )
    assert result.exit_code == 0
    assert ("4/4" in result.output) is terminal


def test_import_list_and_undo_from_the_command_line(db_url: str) -> None:
    first = _run(
        "import",
        str(DATA / "shop_zh_summary.csv"),
        "--team",
        "sample",
        "--period",
        "2026-10",
        "--mapping",
        "shop_zh",
        "--db",
        db_url,
        "--lang",
        "en",
    )
    assert first.exit_code == 0, first.output
    listing = _run("import", "list", "--team", "sample", "--db", db_url, "--lang", "en")
    assert listing.exit_code == 0, listing.output
    assert (
        "#1 2026-10 · shop_zh_summary.csv · by cli" in listing.output
        and "3 rows, 3 agents" in listing.output
    )
    undo = _run("import", "undo", "1", "--db", db_url, "--lang", "en")
    assert undo.exit_code == 0, undo.output
    assert "Import #1 (shop_zh_summary.csv) is undone" in undo.output
    again = _run("import", "undo", "1", "--db", db_url, "--lang", "en")
    assert again.exit_code == 2 and "undone already" in again.output
    missing = _run("import", "list", "--db", db_url, "--lang", "en")
    assert missing.exit_code == 2 and "Give the team" in missing.output

"""typer's own words in the reader's language (issue 17, everyday item 2): when a command line
is wrong (a missing option, a value of the wrong kind, an unknown option or command) typer's
error box and usage line are in Chinese when the locale or ``--lang-ui`` says so, as ``--help``
already is (``bot.cli.language``: one rule for both); in English they stay as typer writes them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.language import DETAILS, ERRORS, USAGE_WORDS, error_text
from commands.i18n import catalog, translator

ROOT = Path(__file__).resolve().parents[2]


def _kpibot(*args: str, lang: str) -> tuple[int, str]:
    env = {**os.environ, "LANG": lang, "LC_ALL": "", "LC_MESSAGES": "", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_a_wrong_command_line_is_told_in_chinese_under_a_chinese_locale() -> None:
    code, said = _kpibot("member", "set", lang="zh_CN.UTF-8")
    assert code == 2
    assert (
        "用法： kpibot member set [选项]" in said and "查看帮助：kpibot member set --help" in said
    )
    assert "缺少选项 '--team'。" in said and "Missing" not in said and "OPTIONS" not in said
    code, said = _kpibot("survey", "link", "--count", "many", lang="zh_CN.UTF-8")
    assert code == 2 and "'--count' 的值无效：应为整数" in said, said
    _code, said = _kpibot("surve", lang="zh_CN.UTF-8")
    assert "用法： kpibot [选项] 命令 [参数]..." in said
    assert "没有命令 'surve'。你是不是想用 'survey'、'score'？" in said, said
    _code, said = _kpibot("member", "set", "--team", lang="zh_CN.UTF-8")
    assert "选项 '--team' 后面需要一个值。" in said, said
    _code, said = _kpibot("member", "list", "--bogus", "--lang-ui", "zh", lang="en_GB.UTF-8")
    assert "没有选项 --bogus" in said and "No such option" not in said, said


@pytest.mark.slow
def test_in_english_typer_speaks_as_it_always_did() -> None:
    code, said = _kpibot("member", "set", lang="en_GB.UTF-8")
    assert code == 2
    assert "Usage: kpibot member set [OPTIONS]" in said and "Missing option '--team'." in said
    _code, said = _kpibot("survey", "link", "--count", "many", lang="en_GB.UTF-8")
    assert "Invalid value for '--count': Input should be a valid integer" in said, said


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Missing option '--team'.", "缺少选项 '--team'。"),
        ("Missing argument 'FILE'.", "缺少参数 'FILE'。"),
        ("Missing command.", "缺少命令。"),
        ("No such option: --tem (Possible options: --team, --teams)",
         "没有选项 --tem（你是不是想用 --team、--teams？）"),
        ("No such command 'improt'. Did you mean 'import'?",
         "没有命令 'improt'。你是不是想用 'import'？"),
        ("Option '--period' requires an argument.", "选项 '--period' 后面需要一个值。"),
        ("Got unexpected extra arguments (a b)", "多余的参数：a b"),
        ("Invalid value for '--lang-ui': Input should be 'zh' or 'en'",
         "'--lang-ui' 的值无效：应为以下之一：'zh'、'en'"),
        ("Invalid value for 'FILE': File 'x.csv' does not exist.",
         "'FILE' 的值无效：'x.csv' 不存在。"),
        ("Invalid value for '--seed': something new", "'--seed' 的值无效：something new"),
        ("A message typer has not said before", "A message typer has not said before"),
    ],
)  # fmt: skip
def test_typers_english_reads_as_chinese(english: str, chinese: str) -> None:
    assert error_text(english, translator("zh")) == chinese


def test_every_typer_word_has_a_chinese_translation() -> None:
    zh = catalog("zh")
    words = [*USAGE_WORDS, *(msgid for _p, msgid in (*ERRORS, *DETAILS))]
    missing = [m for m in words if zh.gettext(m) == m]
    assert not missing, missing

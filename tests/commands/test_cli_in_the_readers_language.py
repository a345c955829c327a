"""The command line in the reader's language (issue 17 item 3): ``--help`` of every command in
Chinese when the locale or ``--lang-ui`` says so; ``--lang-ui`` is the language kpibot answers in
on every command, ``--lang`` a team's or member's own; roles typed in Chinese; import and
show-source messages in the reader's words (a period's status, a file's kind, who imported a
value by name, when in the team's time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from bot.cli import build_app
from bot.cli.language import (
    CLICK_WORDS,
    TYPER_WORDS,
    help_texts,
    lang_in_argv,
    locale_lang,
    ui_lang,
)
from commands.i18n import catalog

ROOT = Path(__file__).resolve().parents[2]


def test_every_help_text_of_every_command_has_a_chinese_translation() -> None:
    texts = help_texts(typer.main.get_command(build_app()))
    assert len(texts) > 100
    words = [*texts, *TYPER_WORDS.values(), *CLICK_WORDS, "Show this message and exit."]
    zh = catalog("zh")
    missing = [t for t in words if zh.gettext(t) == t]
    assert not missing, "add these to commands/locale/zh/LC_MESSAGES/cli.po:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL first, as gettext
        ({"LANG": "C.UTF-8", "DEFAULT_LANG": "en"}, "en"),  # C says nothing: DEFAULT_LANG
        ({"LANG": "POSIX", "DEFAULT_LANG": "zh"}, "zh"),
        ({"LANG": "fr_FR.UTF-8", "DEFAULT_LANG": "en"}, "en"),
    ],
)
def test_the_language_follows_the_locale_then_default_lang(
    environ: dict[str, str], expected: str
) -> None:
    assert ui_lang(None, environ=environ) == expected
    assert ui_lang("zh", environ=environ) == "zh" and ui_lang("en", environ=environ) == "en"


def test_lang_ui_is_found_anywhere_on_the_line() -> None:
    assert lang_in_argv(["member", "list", "--help", "--lang-ui", "zh"]) == "zh"
    assert lang_in_argv(["--lang-ui=en", "import", "--help"]) == "en"
    assert lang_in_argv(["member", "add", "--lang", "zh"]) is None  # a member's language
    assert locale_lang({"LANG": ""}) is None


def _help(*args: str, lang: str) -> str:
    env = {**os.environ, "LANG": lang, "LC_ALL": "", "LC_MESSAGES": "", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_help_is_chinese_under_a_chinese_locale_and_english_under_an_english_one() -> None:
    zh = _help("member", "import", "--help", lang="zh_CN.UTF-8")
    assert "导入 CSV 文件中的全部成员" in zh and "只列出将会添加和修改的内容，不保存。" in zh
    assert "选项" in zh and "显示本帮助并退出。" in zh and "Show this message" not in zh
    assert "用法： kpibot member import" in zh and "Usage" not in zh
    en = _help("member", "import", "--help", lang="en_US.UTF-8")
    assert "Options" in en and "List what would be added and changed" in en and "选项" not in en
    assert "Usage: kpibot member import" in en
    forced = _help("import", "--help", "--lang-ui", "zh", lang="en_US.UTF-8")
    assert "为一个团队的一个考核周期导入 KPI 导出文件" in forced
    assert "--lang-ui" in forced and "--lang " not in forced  # the old spelling is hidden
    root = _help("--lang-ui", "zh", "--help", lang="en_US.UTF-8")
    assert "成员：添加、修改、标记离职、列出、从 CSV 导入。" in root


def _kpibot(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(), list(args))
    return result.exit_code, result.output


def test_team_add_names_the_language_and_member_import_takes_chinese_roles(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    assert _kpibot("db", "upgrade", "--db", url)[0] == 0
    code, out = _kpibot("team", "add", "demo", "--db", url, "--lang-ui", "zh")
    assert code == 0 and "语言为中文" in out and "语言 zh" not in out, out
    people = tmp_path / "people.csv"
    people.write_text(
        "团队,姓名,角色,主管\ndemo,李经理,经理,\ndemo,王小红,客服,李经理\ndemo,周人事,管理员,\n",
        encoding="utf-8",
    )
    code, out = _kpibot("member", "import", str(people), "--db", url, "--lang-ui", "zh")
    assert code == 0 and "已添加 3 名成员" in out, out
    code, out = _kpibot("member", "list", "--team", "demo", "--db", url, "--lang-ui", "zh")
    assert out.split()[:3] == ["姓名", "角色", "主管"]
    assert "王小红  客服    李经理" in out and "周人事  管理员" in out
    code, out = _kpibot("member", "list", "--team", "demo", "--db", url, "--lang-ui", "en")
    assert "王小红  agent    李经理" in out and "周人事  admin" in out


def test_import_refusals_name_the_period_status_in_the_readers_words() -> None:
    from commands.i18n import translator
    from commands.importing.problems import Problem, render_problems

    zh, en = translator("zh"), translator("en")
    closed = Problem("period_closed", {"period": "2026-10", "status": "published"})
    assert render_problems([closed], zh) == ["考核期 2026-10 的状态是已发布，不能再导入数据。"]
    assert render_problems([closed], en) == [
        "Period 2026-10 is published; its data can no longer be imported."
    ]
    field = Problem("mapping_unknown_field", {"name": "m", "field": "x", "kind": "summary"})
    assert "汇总表（每位客服一行）" in render_problems([field], zh)[0]
    assert "summary" not in render_problems([field], zh)[0]

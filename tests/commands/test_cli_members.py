"""``kpibot team add`` and ``kpibot member add|list|import``: onboarding from a terminal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app
from storage import repo
from storage.db import unit_of_work

SCHEMES = Path(__file__).resolve().parents[2] / "schemes"


@pytest.fixture
def kpibot(engine: Engine):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    app = build_app()
    url = engine.url.render_as_string(hide_password=False)

    def call(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, [*args, "--db", url, "--lang-ui", "en"])
        return result.exit_code, result.stdout, result.stderr

    return call


def test_a_team_is_onboarded_from_the_command_line(kpibot, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    assert (
        kpibot("team", "add", "demo", "--scheme", "online_shop", "--schemes-dir", str(SCHEMES))[0]
        == 0
    )
    assert (
        kpibot("member", "add", "--team", "demo", "--name", "李经理", "--role", "manager")[0] == 0
    )
    code, out, _err = kpibot(
        "member",
        "add",
        "--team",
        "demo",
        "--name",
        "王小红",
        "--role",
        "agent",
        "--manager",
        "李经理",
        "--slack",
        "U012AB3CD",
        "--telegram",
        "777",
        "--lang",
        "zh",
    )
    assert code == 0 and "王小红 added to team demo as agent." in out
    code, out, _err = kpibot("member", "list", "--team", "demo", "--format", "json")
    rows = json.loads(out)
    assert [(r["name"], r["role"], r["manager"]) for r in rows] == [
        ("李经理", "manager", None),
        ("王小红", "agent", "李经理"),
    ]
    code, out, _err = kpibot("member", "list", "--team", "demo")
    assert (
        code == 0
        and "U012AB3CD" in out
        and out.splitlines()[0].split()
        == ["name", "role", "manager", "Slack", "Telegram", "language"]
    )
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None and repo.scheme_for(session=session, team=team) is not None


def test_every_problem_of_a_member_is_listed_with_exit_code_2(kpibot) -> None:  # type: ignore[no-untyped-def]
    kpibot("team", "add", "demo")
    code, out, err = kpibot(
        "member",
        "add",
        "--team",
        "demo",
        "--name",
        "X",
        "--role",
        "boss",
        "--slack",
        "bad",
        "--telegram",
        "x1",
        "--manager",
        "nobody",
    )
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "Unknown role boss: use agent, manager, admin or qa.",
        "bad is not a Slack user id (it looks like U012AB3CD).",
        "x1 is not a Telegram user id (digits only).",
        "Team demo has no manager called nobody.",
    ]
    assert "Traceback" not in err
    assert (
        kpibot("member", "add", "--team", "nowhere", "--name", "X")[2].strip()
        == "There is no team called nowhere."
    )
    assert kpibot("member", "list", "--team", "demo", "--format", "xml")[0] == 2


def test_an_import_is_all_or_nothing(kpibot, tmp_path: Path, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    kpibot("team", "add", "demo")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "team,name,role,manager,slack\ndemo,Boss,manager,,U0BOSS\ndemo,Ann,agent,Boss,U0BOSS\n"
        "demo,Ann,agent,Boss,\ndemo,Cy,agent,Ghost,\n",
        encoding="utf-8",
    )
    code, _out, err = kpibot("member", "import", str(bad))
    assert code == 2
    assert err.splitlines() == [
        "row 3: Slack user U0BOSS appears twice.",
        "row 4: Ann appears twice for team demo.",
        "row 5: Team demo has no manager called Ghost.",
    ]
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None and repo.list_members(session=session, team=team) == []
    good = tmp_path / "good.csv"
    good.write_bytes(
        "name,role,manager,telegram\nAnn,agent,Boss,12\nBoss,manager,,\n".encode("gb18030")
    )
    code, out, _err = kpibot("member", "import", str(good), "--team", "demo")
    assert code == 0 and "2 members added." in out
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None
        ann = repo.get_member_by_name(session=session, team=team, name="Ann")
        boss = repo.get_member_by_name(session=session, team=team, name="Boss")
        assert ann is not None and boss is not None and ann.manager_id == boss.id


def test_an_import_without_the_needed_columns_says_which(kpibot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "people.csv"
    path.write_text("fullname,job\nAnn,agent\n", encoding="utf-8")
    code, _out, err = kpibot("member", "import", str(path))
    assert code == 2
    assert "no column name, role, team" in err and "Unknown columns: fullname, job" in err
    assert kpibot("member", "import", str(tmp_path / "missing.csv"))[0] == 2


def _zh(engine: Engine):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    app = build_app()
    url = engine.url.render_as_string(hide_password=False)

    def call(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, [*args, "--db", url, "--lang-ui", "zh"])
        return result.exit_code, result.stdout, result.stderr

    return call


def test_member_set_changes_role_manager_language_and_relinks_from_the_command_line(
    kpibot, engine: Engine
) -> None:  # type: ignore[no-untyped-def]
    kpibot("team", "add", "demo")
    kpibot("member", "add", "--team", "demo", "--name", "李经理", "--role", "manager")
    kpibot("member", "add", "--team", "demo", "--name", "王小红", "--slack", "U0OLD1")
    code, out, err = kpibot(
        "member",
        "set",
        "--team",
        "demo",
        "--name",
        "王小红",
        "--manager",
        "李经理",
        "--slack",
        "U0NEW1",
        "--lang",
        "en",
    )
    assert code == 0, err
    assert out.splitlines() == [
        "王小红 updated:",
        "  manager: — → 李经理",
        "  Slack id: U0OLD1 → U0NEW1",
        "  language: — → English",
    ]
    code, _out, err = kpibot(
        "member", "set", "--team", "demo", "--name", "李经理", "--role", "客服"
    )
    assert (
        code == 2 and err.strip() == "李经理 still manages 王小红: give them another manager first."
    )
    code, out, err = _zh(engine)("member", "remove", "--team", "demo", "--name", "李经理")
    assert code == 0 and "李经理已标记为离职" in out and "王小红原来的主管是李经理" in out
    code, out, _err = _zh(engine)("member", "list", "--team", "demo")
    assert out.splitlines()[0].split() == ["姓名", "角色", "主管", "Slack", "Telegram", "语言"]
    assert out.splitlines()[1].split() == ["王小红", "客服", "U0NEW1", "英文"]
    assert (
        _zh(engine)("member", "remove", "--team", "demo", "--name", "李经理")[2].strip()
        == "李经理已经标记为离职。"
    )
    assert _zh(engine)("member", "restore", "--team", "demo", "--name", "李经理")[0] == 0
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None
        boss = repo.get_member_by_name(session=session, team=team, name="李经理")
        assert boss is not None and boss.active
        assert [m.name for m in repo.team_managers(session=session, team=team)] == ["李经理"]


def test_member_import_update_dry_run_lists_what_would_change_and_stores_nothing(
    kpibot,
    tmp_path: Path,
    engine: Engine,  # type: ignore[no-untyped-def]
) -> None:
    kpibot("team", "add", "demo")
    first = tmp_path / "people.csv"
    first.write_text(
        "姓名,角色,主管\n李经理,主管,\n王小红,客服,李经理\n张伟,客服,李经理\n", encoding="utf-8"
    )
    code, out, err = kpibot("member", "import", str(first), "--team", "demo")
    assert code == 0 and "3 members added." in out, err
    again = tmp_path / "again.csv"
    again.write_text(
        "name,role,manager,slack,lang\n李经理,manager,,U0LI1,\n王小红,,,U0WXH,zh\n张伟"
        ",manager,-,,\n新人,客服,李经理,,\n",
        encoding="utf-8",
    )
    code, _out, err = kpibot("member", "import", str(again), "--team", "demo")
    assert code == 2 and "run the import again with --update" in err
    code, out, err = kpibot(
        "member", "import", str(again), "--team", "demo", "--update", "--dry-run"
    )
    assert code == 0, err
    assert out.splitlines() == [
        "+ 新人 (demo, agent)",
        "~ 李经理: Slack id: — → U0LI1",
        "~ 王小红: Slack id: — → U0WXH; language: — → Chinese",
        "~ 张伟: role: agent → manager; manager: 李经理 → —",
        "Dry run: 1 would be added, 3 changed, 0 unchanged; nothing was stored.",
    ]
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None
        assert [m.name for m in repo.list_members(session=session, team=team)] == [
            "李经理",
            "王小红",
            "张伟",
        ]
        assert all(m.slack_user_id is None for m in repo.list_members(session=session, team=team))
    code, out, err = _zh(engine)("member", "import", str(again), "--team", "demo", "--update")
    assert code == 0, err
    assert out.splitlines()[-1] == "已添加 1 名成员，修改 3 名，0 名不变。"
    assert "~ 王小红：Slack ID：— → U0WXH；语言：— → 中文" in out
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None
        zhang = repo.get_member_by_name(session=session, team=team, name="张伟")
        assert zhang is not None and zhang.role == "manager" and zhang.manager_id is None
        assert [m.name for m in repo.team_managers(session=session, team=team)] == [
            "李经理",
            "张伟",
        ]


def test_the_command_line_prints_no_terminal_escapes() -> None:
    """Issue 21 item 9: whatever a kpibot command prints (an import cell, a stored answer, a
    name) goes through the CLI's printable streams: ESC [ 2 J, BEL and a bidi override are
    printed as text or dropped, never run by the terminal, on stdout and stderr alike."""
    import typer

    app = build_app()

    @app.command("say-raw")
    def say_raw() -> None:
        typer.echo("王\x1b[2J小红\x07\u202e")
        typer.echo("cell \x1b]0;owned\x07", err=True)

    result = CliRunner().invoke(
        app, ["say-raw"], color=True
    )  # as on a terminal: click strips nothing
    assert result.exit_code == 0
    assert result.stdout == "王[2J小红\n" and result.stderr == "cell ]0;owned\n"


def test_a_stream_that_keeps_carriage_returns_for_progress_bars_still_drops_escapes() -> None:
    import io

    from bot.cli import PrintableStream

    plain, progress = io.StringIO(), io.StringIO()
    PrintableStream(plain).write("a\x1b]0;owned\x07\r\nb\x9b2J")
    PrintableStream(progress, keep_cr=True).write("\r 50%\x1b[A")
    assert plain.getvalue() == "a]0;owned\nb2J"
    assert progress.getvalue() == "\r 50%[A"

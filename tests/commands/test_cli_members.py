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
    assert kpibot("team", "add", "demo", "--scheme", "online_shop", "--schemes-dir", str(SCHEMES))[0] == 0
    assert kpibot("member", "add", "--team", "demo", "--name", "李经理", "--role", "manager")[0] == 0
    code, out, _err = kpibot("member", "add", "--team", "demo", "--name", "王小红", "--role", "agent",
                             "--manager", "李经理", "--slack", "U012AB3CD", "--telegram", "777", "--lang", "zh")  # fmt: skip
    assert code == 0 and "王小红 added to team demo as agent." in out
    code, out, _err = kpibot("member", "list", "--team", "demo", "--format", "json")
    rows = json.loads(out)
    assert [(r["name"], r["role"], r["manager"]) for r in rows] == [("李经理", "manager", None), ("王小红", "agent", "李经理")]
    code, out, _err = kpibot("member", "list", "--team", "demo")
    assert code == 0 and "U012AB3CD" in out and out.splitlines()[0].split() == ["name", "role", "manager", "slack", "telegram", "lang"]
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None and repo.scheme_for(session=session, team=team) is not None


def test_every_problem_of_a_member_is_listed_with_exit_code_2(kpibot) -> None:  # type: ignore[no-untyped-def]
    kpibot("team", "add", "demo")
    code, out, err = kpibot("member", "add", "--team", "demo", "--name", "X", "--role", "boss", "--slack", "bad",
                            "--telegram", "x1", "--manager", "nobody")  # fmt: skip
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "Unknown role boss: use agent, manager, admin or qa.",
        "bad is not a Slack user id (it looks like U012AB3CD).",
        "x1 is not a Telegram user id (digits only).",
        "Team demo has no manager called nobody.",
    ]
    assert "Traceback" not in err
    assert kpibot("member", "add", "--team", "nowhere", "--name", "X")[2].strip() == "There is no team called nowhere."
    assert kpibot("member", "list", "--team", "demo", "--format", "xml")[0] == 2


def test_an_import_is_all_or_nothing(kpibot, tmp_path: Path, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    kpibot("team", "add", "demo")
    bad = tmp_path / "bad.csv"
    bad.write_text("team,name,role,manager,slack\ndemo,Boss,manager,,U0BOSS\ndemo,Ann,agent,Boss,U0BOSS\n"
                   "demo,Ann,agent,Boss,\ndemo,Cy,agent,Ghost,\n", encoding="utf-8")  # fmt: skip
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
    good.write_bytes("name,role,manager,telegram\nAnn,agent,Boss,12\nBoss,manager,,\n".encode("gb18030"))
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

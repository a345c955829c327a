"""Loading sessions for sampling: all or nothing, idempotent by file hash, each with its
reference."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from commands.i18n import translator
from commands.qa.sessions import load_sessions, store_sessions
from storage import qa as store
from storage import repo
from storage.db import unit_of_work
from tests.qa.conftest import PERIOD

DATA = Path(__file__).resolve().parents[1] / "data" / "qa"
_ = translator("en")


def _load(engine: Engine, name: str, mapping: str = "sessions_en"):  # type: ignore[no-untyped-def]
    data = (DATA / name).read_bytes()
    with unit_of_work(engine) as session:
        return load_sessions(
            session,
            team="call",
            period_key=PERIOD,
            mapping=mapping,
            data=data,
            file_name=name,
            actor="test",
            lang="en",
        )


def _refs(engine: Engine) -> dict[str, tuple[int, str | None]]:
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="call")
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        assert period is not None
        return {
            s.ref: (s.member_id, s.url) for s in store.list_sessions(session=session, period=period)
        }


def test_a_sessions_file_is_stored_with_references_and_links_and_the_same_file_again_is_a_no_op(
    engine: Engine, world: dict[str, int]
) -> None:
    before = len(_refs(engine))
    report = _load(engine, "sessions_oct.csv")
    assert report.status == "loaded" and (report.rows, report.added) == (5, 5)
    assert report.lines(_) == [
        "sessions_oct.csv: 5 sessions read, 5 new sessions stored for sampling."
    ]
    refs = _refs(engine)
    assert len(refs) == before + 5
    assert refs["T-1003"] == (world["Bob"], "https://desk.example.com/call/T-1003")
    again = _load(engine, "sessions_oct.csv")
    assert again.status == "unchanged" and "nothing changed" in again.lines(_)[0]
    assert len(_refs(engine)) == before + 5


def test_a_bad_file_stores_nothing_and_names_every_problem(
    engine: Engine, world: dict[str, int]
) -> None:
    before = _refs(engine)
    report = _load(engine, "sessions_bad.csv")
    assert report.status == "refused"
    text = "\n".join(report.lines(_))
    assert "Zed" in text and "2026-11-02" in text
    assert _refs(engine) == before


def test_a_mapping_without_session_ids_cannot_feed_sampling(
    engine: Engine, world: dict[str, int]
) -> None:
    report = _load(engine, "sessions_oct.csv", mapping="generic_en")
    assert report.status == "refused"
    assert "session_id" in "\n".join(report.lines(_))


def test_store_sessions_skips_references_the_period_already_has(
    engine: Engine, world: dict[str, int]
) -> None:
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="call")
        assert team is not None
        period = repo.get_period(session=session, team=team, key=PERIOD)
        assert period is not None
        frame = pd.DataFrame(
            {
                "member_id": [world["Alice"], world["Bob"]],
                "ref": ["A-05-1", "NEW-1"],
                "started_at": [
                    pd.Timestamp("2026-10-05 09:00"),
                    pd.Timestamp("2026-10-07 10:00+00:00"),
                ],
                "url": [None, "https://rec.example.com/NEW-1"],
            }
        )
        assert store_sessions(session, team=team, period=period, frame=frame) == 1
    assert _refs(engine)["NEW-1"] == (world["Bob"], "https://rec.example.com/NEW-1")


def test_the_cli_loads_sessions_and_refuses_bad_input_with_exit_code_2(
    engine: Engine, world: dict[str, int], monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import typer

    from bot.cli.qa import register

    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "qa",
            "load-sessions",
            "--team",
            "call",
            "--period",
            PERIOD,
            "--mapping",
            "sessions_en",
            "--lang",
            "en",
            str(DATA / "sessions_oct.csv"),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert "5 new sessions" in ok.output
    bad = runner.invoke(
        app,
        [
            "qa",
            "load-sessions",
            "--team",
            "call",
            "--period",
            PERIOD,
            "--mapping",
            "sessions_en",
            "--lang",
            "en",
            str(DATA / "sessions_bad.csv"),
        ],
    )
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    assert "Zed" in bad.output
    missing = runner.invoke(
        app,
        [
            "qa",
            "load-sessions",
            "--team",
            "call",
            "--period",
            PERIOD,
            "--mapping",
            "sessions_en",
            str(DATA / "nope.csv"),
        ],
    )
    assert missing.exit_code == 2 and (
        "Cannot read" in missing.output or "无法读取" in missing.output
    )
    drawn = runner.invoke(
        app, ["qa", "draw", "--team", "call", "--period", PERIOD, "--seed", "12", "--lang", "en"]
    )
    assert drawn.exit_code == 0 and "(seed 12)" in drawn.output, drawn.output
    verified = runner.invoke(app, ["qa", "verify-draw", "1", "--lang", "en"])
    assert verified.exit_code == 0 and "reproduces exactly from seed 12" in verified.output
    unknown = runner.invoke(
        app, ["qa", "draw", "--team", "nobody", "--period", PERIOD, "--lang", "en"]
    )
    assert unknown.exit_code == 2 and "There is no team named nobody." in unknown.output


def test_a_sessions_file_written_with_helpdesk_accounts_lands_on_the_members_of_those_accounts(
    engine: Engine, world: dict[str, int]
) -> None:
    from datetime import UTC, datetime

    from commands.aliases import add_alias

    with unit_of_work(engine) as session:  # the mapping names no source: its own name is it
        for name, account in (("Alice", "alice@desk"), ("Bob", "bob@desk")):
            add_alias(session, team="call", name=name, source="sessions_en", alias=account,
                      actor="cli", now=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
    data = (DATA / "sessions_oct.csv").read_bytes().replace(b"Alice,", b"alice@desk,")
    data = data.replace(b"Bob,", b"bob@desk,")
    with unit_of_work(engine) as session:
        report = load_sessions(
            session,
            team="call",
            period_key=PERIOD,
            mapping="sessions_en",
            data=data,
            file_name="accounts.csv",
            actor="test",
            lang="en",
        )
    assert report.status == "loaded", report.lines(_)
    refs = _refs(engine)
    assert refs["T-1001"][0] == refs["T-1002"][0] == world["Alice"]
    assert refs["T-1003"][0] == world["Bob"] and refs["T-1005"][0] == world["Carol"]  # by name

"""The inbox's own file beside a SQLite database (issue 16, ``storage.db.inbox_url``): made
and migrated with the database, what an older kpibot stored in the database's ``inbox``
table moved into it, none twice; PostgreSQL and in-memory SQLite keep the inbox in the
database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.inbox import Inbox
from storage import inbox as store
from storage.db import (
    current_revision,
    downgrade,
    head_revision,
    inbox_engine,
    inbox_url,
    make_engine,
    unit_of_work,
    upgrade,
)
from storage.models.inbox import InboxEvent

NOW = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)


def events(engine: Engine) -> list[tuple[str, str, str]]:
    with unit_of_work(engine) as session:
        rows = session.exec(select(InboxEvent).order_by(col(InboxEvent.id)))
        return [(row.platform, row.event_id, row.status) for row in rows]


def stored_in_the_database(engine: Engine, platform: str, event_id: str) -> None:
    """What a kpibot from before the split left in the database's own ``inbox`` table."""
    with unit_of_work(engine) as session:
        store.store_event(session=session, platform=platform, event_id=event_id,
                          payload={"text": event_id}, worker="old", now=NOW)  # fmt: skip


def test_the_inbox_of_a_sqlite_file_is_a_file_beside_it() -> None:
    side = inbox_url("sqlite:////srv/kpibot/kpibot.db")
    assert side is not None and side.database == "/srv/kpibot/kpibot-inbox.db"
    assert str(inbox_url("sqlite:///data/k")) == "sqlite:///data/k-inbox"
    assert inbox_url("sqlite://") is None
    assert inbox_url("sqlite:///:memory:") is None
    assert inbox_url("postgresql://kpibot@db/kpibot") is None


def test_upgrade_makes_and_migrates_the_inbox_file_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kpibot.db'}"
    upgrade(url)
    side = inbox_url(url)
    assert side is not None and Path(str(side.database)).exists()
    assert current_revision(side.render_as_string()) == head_revision()
    downgrade(url, "base")
    assert current_revision(side.render_as_string()) is None


def test_rows_an_older_kpibot_stored_move_to_the_inbox_file_once(engine: Engine) -> None:
    stored_in_the_database(engine, "slack", "T1")
    stored_in_the_database(engine, "telegram", "42")
    inbox = inbox_engine(engine)
    with unit_of_work(inbox) as session:  # the same request, stored in both already
        row_id = store.store_event(session=session, platform="telegram", event_id="42",
                                   payload={}, worker="new", now=NOW)  # fmt: skip
        assert row_id is not None
        store.mark_done(session=session, ids=[row_id], now=NOW)
    upgrade(engine)
    assert events(engine) == []
    assert events(inbox) == [("telegram", "42", "done"), ("slack", "T1", "claimed")]
    upgrade(engine)  # again: nothing moves twice
    assert events(inbox) == [("telegram", "42", "done"), ("slack", "T1", "claimed")]


def test_an_inbox_taken_over_after_the_upgrade_answers_what_the_database_held(
    engine: Engine,
) -> None:
    stored_in_the_database(engine, "slack", "T1")
    upgrade(engine)
    with unit_of_work(Inbox(engine, worker="replica-2").engine) as session:
        later = datetime(2026, 12, 7, 23, 5, tzinfo=UTC)
        taken = store.claim_stale(session=session, worker="replica-2", platforms=["slack"],
                                  now=later)  # fmt: skip
        assert [(row.event_id, row.payload) for row in taken] == [("T1", {"text": "T1"})]


def test_a_database_copied_without_its_inbox_file_gets_one_when_the_inbox_opens(
    tmp_path: Path, engine: Engine
) -> None:
    side = inbox_url(engine.url)
    assert side is not None
    Path(str(side.database)).unlink()
    inbox = Inbox(engine, worker="test")
    assert inbox.engine is not engine and Path(str(side.database)).exists()
    assert inspect(inbox.engine).has_table("inbox")
    assert current_revision(inbox.engine) == head_revision()


def test_postgresql_and_an_in_memory_database_keep_the_inbox_in_the_database(
    pg_engine: Engine,
) -> None:
    assert inbox_engine(pg_engine) is pg_engine
    memory = make_engine("sqlite://")
    assert inbox_engine(memory) is memory

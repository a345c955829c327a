"""storage/conversations.py on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import conversations, repo
from storage.db import unit_of_work
from tests.waiting import CEILING_S

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def people(db_engine: Engine) -> dict[str, int]:
    with unit_of_work(db_engine) as session:
        demo = repo.create_team(session=session, name="demo", lang="en")
        other = repo.create_team(session=session, name="other", lang="zh")
        rows = {
            "boss": repo.add_member(session=session, team=demo, name="Boss", role="manager"),
            "ann": repo.add_member(
                session=session, team=demo, name="Ann", slack_user_id="U1", telegram_user_id=42
            ),
            "ann2": repo.add_member(session=session, team=other, name="Ann"),
            "bo": repo.add_member(session=session, team=other, name="Bo", lang="en"),
        }
        return {k: v.id or 0 for k, v in rows.items()}


def test_an_event_is_claimed_once_per_platform(db_engine: Engine, people: dict[str, int]) -> None:
    with unit_of_work(db_engine) as session:
        assert conversations.claim_event("slack", "E1", T0, session=session) is True
    with unit_of_work(db_engine) as session:
        assert conversations.claim_event("slack", "E1", T0, session=session) is False
        assert conversations.claim_event("telegram", "E1", T0, session=session) is True


def test_a_claim_rolled_back_with_its_request_can_be_claimed_again(
    db_engine: Engine, people: dict[str, int]
) -> None:
    with pytest.raises(RuntimeError), unit_of_work(db_engine) as session:
        conversations.claim_event("slack", "E2", T0, session=session)
        raise RuntimeError("the handler failed")
    with unit_of_work(db_engine) as session:
        assert conversations.claim_event("slack", "E2", T0, session=session) is True


def test_a_duplicate_delivery_waits_for_the_first_and_is_dropped_or_claimed_after_a_rollback(
    db_engine: Engine, people: dict[str, int]
) -> None:
    """claim_event is one INSERT … ON CONFLICT DO NOTHING (issue 16): a second delivery of the
    same event while the first is being handled waits for the first's transaction, then is
    dropped (committed) or claimed (rolled back), and raises nothing either way."""
    for first_commits, expected in ((True, False), (False, True)):
        event = f"E-race-{first_commits}"
        first = Session(db_engine)
        try:
            assert conversations.claim_event("slack", event, T0, session=first) is True
            second = ThreadPoolExecutor(1).submit(claimed_in_own_unit, db_engine, event)
            assert not _finishes_within(second, 0.3), "the second waits for the first"
            first.commit() if first_commits else first.rollback()
            assert second.result(timeout=CEILING_S) is expected
        finally:
            first.close()


def claimed_in_own_unit(engine: Engine, event: str) -> bool:
    with unit_of_work(engine) as session:
        return conversations.claim_event("slack", event, T0, session=session)


def _finishes_within(future: Future[bool], seconds: float) -> bool:
    try:
        future.result(timeout=seconds)
    except FutureTimeout:
        return False
    return True


def test_the_replies_kept_with_a_delivery_are_read_back(
    db_engine: Engine, people: dict[str, int]
) -> None:
    replies = [{"text": "Saved & sent <ok>", "buttons": [["更新", "form:answer", "3"]]}]
    with unit_of_work(db_engine) as session:
        assert conversations.claim_event("slack", "E-kept", T0, session=session)
        assert conversations.claim_event("slack", "E-big", T0, session=session)
        conversations.record_replies("slack", "E-kept", replies, session=session)
        conversations.record_replies("slack", "E-big", None, session=session)
        conversations.record_replies("slack", "E-never-claimed", replies, session=session)
    with unit_of_work(db_engine) as session:
        assert conversations.recorded_replies("slack", "E-kept", session=session) == replies
        assert conversations.recorded_replies("slack", "E-big", session=session) is None
        assert conversations.recorded_replies("slack", "E-never-claimed", session=session) is None
        assert conversations.recorded_replies("telegram", "E-kept", session=session) is None


def test_members_are_found_by_platform_id_name_team_and_name_or_id(
    db_engine: Engine, people: dict[str, int]
) -> None:
    with unit_of_work(db_engine) as session:

        def found(platform: str, key: str) -> int | None:
            member = conversations.find_member(platform, key, session=session)
            return member.id if member else None

        assert found("slack", "U1") == people["ann"]
        assert found("telegram", "42") == people["ann"]
        assert found("console", "Bo") == people["bo"]
        assert found("console", "Ann") is None  # two teams have an Ann
        assert found("console", "other/Ann") == people["ann2"]
        assert found("test", str(people["boss"])) == people["boss"]
        assert found("slack", "Ann") is None and found("console", "") is None


def test_the_language_is_the_members_else_the_teams(
    db_engine: Engine, people: dict[str, int]
) -> None:
    with unit_of_work(db_engine) as session:
        bo = repo.get_member(session=session, member_id=people["bo"])
        ann2 = repo.get_member(session=session, member_id=people["ann2"])
        assert bo is not None and ann2 is not None
        assert conversations.member_lang(bo, session=session) == "en"
        assert conversations.member_lang(ann2, session=session) == "zh"


def test_drafts_latest_activity_and_expiry(db_engine: Engine, people: dict[str, int]) -> None:
    ann = people["ann"]
    with unit_of_work(db_engine) as session:
        first = conversations.create_conversation(
            session=session,
            member_id=ann,
            form_id="peer",
            period_id=None,
            subject_id=people["boss"],
            platform="test",
            now=T0,
            expires_at=T0 + timedelta(days=1),
        )
        second = conversations.create_conversation(
            session=session,
            member_id=ann,
            form_id="selfreview",
            period_id=None,
            subject_id=ann,
            platform="test",
            now=T0 + timedelta(minutes=1),
            expires_at=T0 + timedelta(days=3),
        )
        ids = (first.id, second.id)
    with unit_of_work(db_engine) as session:
        latest = conversations.latest_active(ann, session=session, lock=True)
        assert latest is not None and latest.id == ids[1]
        draft = conversations.find_draft(
            session=session,
            member_id=ann,
            form_id="peer",
            period_id=None,
            subject_id=people["boss"],
        )
        assert draft is not None and draft.id == ids[0]
        conversations.save_conversation(
            draft, session=session, now=T0 + timedelta(minutes=2), step=1, answers={"a": 1}
        )
    with unit_of_work(db_engine) as session:
        latest = conversations.latest_active(ann, session=session)
        assert latest is not None and latest.id == ids[0] and latest.answers == {"a": 1}
        assert conversations.expire_conversations(T0 + timedelta(days=2), session=session) == 1
    with unit_of_work(db_engine) as session:
        statuses = {c.id: c.status for c in conversations.conversations_of(ann, session=session)}
        assert statuses == {ids[0]: "expired", ids[1]: "active"}


def test_the_demo_manager_is_the_demo_teams_first_manager(
    db_engine: Engine, people: dict[str, int]
) -> None:
    with unit_of_work(db_engine) as session:
        boss = conversations.demo_manager(session=session)
        assert boss is not None and boss.id == people["boss"]
        assert conversations.demo_manager(session=session, team_name="other") is None

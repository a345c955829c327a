"""Repository functions for conversational forms, replayed deliveries and who is talking.

Conversations (table ``conversation``) hold a form's progress so that a restart or a
second replica continues it. ``processed_event`` remembers platform deliveries so a
retried one is dropped. Every function takes a keyword-only ``session``; none commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage.models import (
    NAMED_BY_NAME,
    Conversation,
    Member,
    MemberIdentity,
    ProcessedEvent,
    Team,
)

ACTIVE = "active"


# -- replayed deliveries --------------------------------------------------------------


def claim_event(platform: str, event_id: str, at: datetime, *, session: Session) -> bool:
    """Record a delivery; ``False`` when this platform's event id was seen before.

    Call it first in a unit of work: the claim commits or rolls back with the request, so
    a request that failed is handled again when the platform retries it. One statement,
    ``INSERT … ON CONFLICT DO NOTHING RETURNING id`` (SQLite and PostgreSQL): a delivery seen
    before inserts nothing and answers no row; on PostgreSQL a concurrent duplicate waits for
    the first one's transaction and then inserts nothing (or, the first rolled back, claims it).
    """
    dialect = session.get_bind().dialect.name
    statement = _CLAIM.get(dialect)
    if statement is None:
        return _claim_event_portably(platform, event_id, at, session=session)
    params = {"b_platform": platform, "b_event_id": event_id, "b_at": at}
    return session.connection().execute(statement, params).first() is not None


_EVENTS = ProcessedEvent.__table__  # type: ignore[attr-defined]
"""The table itself: statements on it skip the ORM's bulk-insert and bulk-update layer, which
had cost a press more CPU than the statement (issue 16; nothing of it is an ORM object)."""


def _claim_statement(insert: Any) -> Any:
    return (
        insert(_EVENTS)
        .values(
            platform=bindparam("b_platform"), event_id=bindparam("b_event_id"), at=bindparam("b_at")
        )
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(_EVENTS.c.id)
    )


# The statements of every request, built once: building them (coercing each comparison,
# aliasing, the cache key) cost more of a request's CPU than running them (issue 16).
_CLAIM = {"sqlite": _claim_statement(sqlite_insert), "postgresql": _claim_statement(pg_insert)}


def _claim_event_portably(platform: str, event_id: str, at: datetime, *, session: Session) -> bool:
    """:func:`claim_event` where ``ON CONFLICT`` is not known: look, insert; a concurrent
    duplicate hits the unique key (the session is rolled back: nothing else was written yet)."""
    seen = session.exec(
        select(ProcessedEvent.id).where(
            ProcessedEvent.platform == platform, ProcessedEvent.event_id == event_id
        )
    ).first()
    if seen is not None:
        return False
    session.add(ProcessedEvent(platform=platform, event_id=event_id, at=at))
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def record_replies(
    platform: str, event_id: str, replies: list[dict[str, Any]] | None, *, session: Session
) -> None:
    """Keep what this delivery was answered, in the unit of work that did its work (one UPDATE)."""
    params = {"b_platform": platform, "b_event_id": event_id, "b_replies": replies}
    session.connection().execute(_RECORD_REPLIES, params)


_RECORD_REPLIES = (
    update(_EVENTS)
    .where(
        _EVENTS.c.platform == bindparam("b_platform"),
        _EVENTS.c.event_id == bindparam("b_event_id"),
    )
    .values(replies=bindparam("b_replies", type_=_EVENTS.c.replies.type))
)


def recorded_replies(
    platform: str, event_id: str, *, session: Session
) -> list[dict[str, Any]] | None:
    """What a delivery seen before was answered (``None``: not kept)."""
    seen = session.exec(
        select(ProcessedEvent).where(
            ProcessedEvent.platform == platform, ProcessedEvent.event_id == event_id
        )
    ).first()
    return None if seen is None else seen.replies


# -- who is talking -----------------------------------------------------------------


def find_member(platform: str, user_id: str, *, session: Session) -> Member | None:
    """The member behind a platform user id.

    Only the terminal chat and tests (:data:`~storage.models.NAMED_BY_NAME`) name people:
    by member id (digits), ``team/name``, or a name that only one member has. Every other
    platform knows a person by that platform's own id alone (:class:`MemberIdentity`),
    never by a name or a member id they typed (issue 19).
    """
    key = user_id.strip()
    if not key:
        return None
    if platform not in NAMED_BY_NAME:
        row = (
            session.execute(_BY_IDENTITY, {"platform": platform, "external_id": key})
            .unique()
            .first()
        )
        if row is None:
            return None
        member, team = row
        keep(session, team)
        return member  # type: ignore[no-any-return]
    if key.isdigit():
        by_id = session.get(Member, int(key))
        if by_id is not None:
            return by_id
    if "/" in key:
        team_name, _sep, name = key.partition("/")
        return session.exec(
            select(Member)
            .join(Team, col(Team.id) == col(Member.team_id))
            .where(Team.name == team_name, Member.name == name)
        ).first()
    found = session.exec(select(Member).where(Member.name == key).limit(2)).all()
    return found[0] if len(found) == 1 else None


def _by_identity() -> Any:
    """The member behind one platform id, with every identity of theirs in the same query
    (joined), not a second SELECT for ``Member.identities`` (selectin), and their team (almost
    every command reads it: the language, the scheme, the clock), not a SELECT of its own."""
    identity = aliased(MemberIdentity)
    return (
        select(Member, Team)
        .join(identity, col(identity.member_id) == col(Member.id))
        .join(Team, col(Team.id) == col(Member.team_id))
        .where(
            identity.platform == bindparam("platform"),
            identity.external_id == bindparam("external_id"),
        )
        .options(joinedload(Member.identities))
    )


_BY_IDENTITY = _by_identity()


def member_lang(member: Member, *, session: Session) -> str | None:
    """The member's language, else their team's (``None`` when neither is set)."""
    if member.lang:
        return str(member.lang)
    team = session.get(Team, member.team_id)
    return str(team.lang) if team is not None and team.lang else None


def keep(session: Session, *objects: object) -> None:
    """Hold ``objects`` for as long as ``session`` lives (one unit of work): SQLAlchemy's
    identity map holds what it loaded only weakly, so an object nobody refers to any more is
    forgotten and the next ``session.get`` of it is a SELECT again (the member's team, read
    with the member; a conversation the router's scope check read before the form engine)."""
    kept: list[object] = session.info.setdefault(_KEPT, [])
    kept.extend(objects)


_KEPT = "kpibot.kept"


# -- conversations ------------------------------------------------------------------


def create_conversation(
    *,
    session: Session,
    member_id: int,
    form_id: str,
    period_id: int | None,
    subject_id: int | None,
    platform: str,
    now: datetime,
    expires_at: datetime | None,
    answers: dict[str, Any] | None = None,
) -> Conversation:
    conv = Conversation(
        member_id=member_id,
        form_id=form_id,
        period_id=period_id,
        subject_id=subject_id,
        step=0,
        answers=dict(answers or {}),
        status=ACTIVE,
        platform=platform,
        started_at=now,
        updated_at=now,
        expires_at=expires_at,
    )
    session.add(conv)
    session.flush()
    return conv


def get_conversation(
    conversation_id: int, *, session: Session, lock: bool = False
) -> Conversation | None:
    """One conversation, held for the unit of work (:func:`keep`).

    ``lock`` takes its row lock (PostgreSQL: ``SELECT … FOR UPDATE``) so a double tap waits
    its turn, and refreshes a copy the session read before (the router's scope check), which
    may be older than what the lock waited for. SQLite has no row locks: its writing
    transaction (a delivery's claim is its first statement) already excludes every other
    writer, so a copy read before in this unit of work is current and no second SELECT is sent.
    """
    if lock and _row_locks(session):
        conv = session.exec(_CONVERSATION_LOCKED, params={"b_id": conversation_id}).first()
    else:
        conv = session.get(Conversation, conversation_id)
    if conv is not None:
        keep(session, conv)
    return conv


def latest_active(member_id: int, *, session: Session, lock: bool = False) -> Conversation | None:
    """The member's most recently touched active conversation (where plain text goes);
    ``lock`` as :func:`get_conversation`."""
    statement = _LATEST_LOCKED if lock and _row_locks(session) else _LATEST
    conv = session.exec(statement, params={"b_member_id": member_id, "b_status": ACTIVE}).first()
    if conv is not None:
        keep(session, conv)
    return conv


def _row_locks(session: Session) -> bool:
    return session.get_bind().dialect.name != "sqlite"


_CONVERSATION_LOCKED = (
    select(Conversation)
    .where(col(Conversation.id) == bindparam("b_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LATEST = (
    select(Conversation)
    .where(
        col(Conversation.member_id) == bindparam("b_member_id"),
        col(Conversation.status) == bindparam("b_status"),
    )
    .order_by(col(Conversation.updated_at).desc(), col(Conversation.id).desc())
    .limit(1)
)
_LATEST_LOCKED = _LATEST.with_for_update().execution_options(populate_existing=True)


def find_draft(
    *,
    session: Session,
    member_id: int,
    form_id: str,
    period_id: int | None,
    subject_id: int | None,
) -> Conversation | None:
    """An unfinished conversation of this member for the same form, period and subject."""
    query = select(Conversation).where(
        Conversation.member_id == member_id,
        Conversation.form_id == form_id,
        Conversation.status == ACTIVE,
    )
    query = query.where(
        col(Conversation.period_id).is_(None)
        if period_id is None
        else Conversation.period_id == period_id
    )
    query = query.where(
        col(Conversation.subject_id).is_(None)
        if subject_id is None
        else Conversation.subject_id == subject_id
    )
    return session.exec(query.order_by(col(Conversation.id).desc()).limit(1)).first()


def save_conversation(
    conv: Conversation,
    *,
    session: Session,
    now: datetime,
    step: int | None = None,
    answers: dict[str, Any] | None = None,
    status: str | None = None,
    result_id: int | None = None,
) -> Conversation:
    """Store a conversation's progress (a fresh ``answers`` dict, so the JSON column is
    rewritten): one UPDATE of the columns given, sent at once, and the object told that it
    holds what is stored (the ORM's flush of one row had cost a press more CPU than the
    statement, issue 16)."""
    values: dict[str, Any] = {"updated_at": now}
    if step is not None:
        values["step"] = step
    if answers is not None:
        values["answers"] = dict(answers)
    if status is not None:
        values["status"] = status
    if result_id is not None:
        values["result_id"] = result_id
    if conv.id is None or conv not in session or session.is_modified(conv):
        for name, value in values.items():  # new, or changed elsewhere too: the ORM's flush
            setattr(conv, name, value)
        session.add(conv)
        session.flush()
        return conv
    values = {name: value for name, value in values.items() if getattr(conv, name) != value}
    if not values:  # nothing changed: no statement, as the ORM's flush would send none
        return conv
    session.connection().execute(
        update(_CONVERSATIONS).where(_CONVERSATIONS.c.id == conv.id).values(**values)
    )
    for name, value in values.items():
        set_committed_value(conv, name, value)
    return conv


_CONVERSATIONS = Conversation.__table__  # type: ignore[attr-defined]


def expire_conversations(now: datetime, *, session: Session) -> int:
    """Mark every active conversation past its ``expires_at`` as expired; how many were."""
    stale: Sequence[Conversation] = session.exec(
        select(Conversation).where(
            Conversation.status == ACTIVE,
            col(Conversation.expires_at).is_not(None),
            col(Conversation.expires_at) <= now,
        )
    ).all()
    for conv in stale:
        conv.status = "expired"
        conv.updated_at = now
        session.add(conv)
    session.flush()
    return len(stale)


def conversations_of(
    member_id: int, *, session: Session, form_id: str | None = None
) -> list[Conversation]:
    query = select(Conversation).where(Conversation.member_id == member_id)
    if form_id is not None:
        query = query.where(Conversation.form_id == form_id)
    return list(session.exec(query.order_by(col(Conversation.id))).all())


def demo_manager(*, session: Session, team_name: str = "demo") -> Member | None:
    """The first active manager of the demo team (``kpibot chat`` without ``--as``)."""
    return session.exec(
        select(Member)
        .join(Team, col(Team.id) == col(Member.team_id))
        .where(Team.name == team_name, Member.role == "manager", col(Member.active).is_(True))
        .order_by(col(Member.id))
        .limit(1)
    ).first()

"""The inbox: a request kpibot acknowledged is stored before the acknowledgement.

A Telegram webhook update is answered 200 only once it is a row here; a Slack slash command
is acked with its row written. The replica that stored it works on it at once and marks it
``done``; one that dies meanwhile leaves it ``claimed``, and after the lease
(:data:`DEFAULT_LEASE`, renewed by :func:`heartbeat` while the work goes on) any replica
takes it over and answers it then (:func:`claim_stale`). The unique (platform, event id)
makes a platform's redelivery of the same update a no-op (:func:`store_event` says so).

Rows move ``claimed → done`` (or ``given_up`` after ``MAX_ATTEMPTS`` takeovers: a request
that kills its replica each time is not retried for ever). Done rows older than a day are
removed by :func:`prune`.

On a SQLite file the inbox is a file of its own beside the database
(:func:`storage.db.inbox_engine`), so that storing a request before its ack never waits for
SQLite's one write lock held by a router transaction; on PostgreSQL it is a table of the
database. :func:`copy_rows` and :func:`delete_rows` move what an older kpibot stored in the
database's table (``storage.db.upgrade``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models.inbox import InboxEvent
from storage.repo.common import now_or_utc

DEFAULT_LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 3
KEEP_DONE = timedelta(days=1)


def store_event(
    *,
    session: Session,
    platform: str,
    event_id: str,
    payload: dict[str, Any],
    worker: str,
    now: datetime | None = None,
) -> int | None:
    """Store a request, claimed by ``worker``; its id, or ``None`` when it was already stored
    (a redelivery: nothing changes)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    moment = now_or_utc(now)
    statement = (
        insert(InboxEvent)
        .values(
            platform=platform,
            event_id=event_id,
            payload=payload,
            status="claimed",
            attempts=1,
            claimed_by=worker,
            claimed_at=moment,
            received_at=moment,
        )
        .on_conflict_do_nothing(index_elements=["platform", "event_id"])
        .returning(col(InboxEvent.id))
    )
    row = session.execute(statement).first()
    return None if row is None else int(row[0])


def mark_done(*, session: Session, ids: list[int], now: datetime | None = None) -> int:
    if not ids:
        return 0
    statement = (
        update(InboxEvent)
        .where(col(InboxEvent.id).in_(ids), col(InboxEvent.status) == "claimed")
        .values(status="done", done_at=now_or_utc(now))
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)


def heartbeat(
    *, session: Session, worker: str, ids: list[int], now: datetime | None = None
) -> None:
    """The work on ``ids`` goes on: their lease starts again."""
    if not ids:
        return
    session.execute(
        update(InboxEvent)
        .where(
            col(InboxEvent.id).in_(ids),
            col(InboxEvent.claimed_by) == worker,
            col(InboxEvent.status) == "claimed",
        )
        .values(claimed_at=now_or_utc(now))
        .execution_options(synchronize_session=False)
    )


def claim_stale(
    *,
    session: Session,
    worker: str,
    platforms: list[str],
    now: datetime | None = None,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 50,
) -> list[InboxEvent]:
    """Take over requests whose replica stopped working on them (oldest first); those taken
    over ``MAX_ATTEMPTS`` times already are ``given_up`` instead (returned too, status set)."""
    moment = now_or_utc(now)
    query = (
        select(InboxEvent)
        .where(
            col(InboxEvent.status) == "claimed",
            col(InboxEvent.claimed_at) < moment - lease,
            col(InboxEvent.platform).in_(platforms),
        )
        .order_by(col(InboxEvent.id))
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.exec(query))
    for row in rows:
        row.attempts += 1
        row.claimed_by, row.claimed_at = worker, moment
        if row.attempts > MAX_ATTEMPTS:
            row.status, row.done_at = "given_up", moment
        session.add(row)
    session.flush()
    return rows


def pending_count(*, session: Session) -> int:
    from sqlalchemy import func

    query = select(func.count()).select_from(InboxEvent).where(col(InboxEvent.status) == "claimed")
    return int(session.exec(query).one())


def prune(*, session: Session, now: datetime | None = None) -> int:
    statement = delete(InboxEvent).where(
        and_(
            col(InboxEvent.status).in_(["done", "given_up"]),
            col(InboxEvent.done_at) < now_or_utc(now) - KEEP_DONE,
        )
    )
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)


_COPIED = (
    "platform", "event_id", "payload", "status", "attempts", "claimed_by", "claimed_at",
    "received_at", "done_at",
)  # fmt: skip


def copy_rows(*, source: Session, target: Session) -> list[int]:
    """Write every row of ``source``'s inbox into ``target``'s (new ids; a request stored in
    both already, by platform and event id, stays as ``target`` has it); the ids copied, for
    :func:`delete_rows` once ``target`` has committed."""
    rows = list(source.exec(select(InboxEvent).order_by(col(InboxEvent.id))))
    if not rows:
        return []
    insert = pg_insert if target.get_bind().dialect.name == "postgresql" else sqlite_insert
    target.execute(  # executemany: a day of done rows is more than one statement's variables
        insert(InboxEvent).on_conflict_do_nothing(index_elements=["platform", "event_id"]),
        [{name: getattr(row, name) for name in _COPIED} for row in rows],
    )
    return [int(row.id) for row in rows if row.id is not None]


def delete_rows(*, session: Session, ids: list[int]) -> int:
    if not ids:
        return 0
    statement = delete(InboxEvent).where(col(InboxEvent.id).in_(ids))
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)

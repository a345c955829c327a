"""The outbox and the step ledger: SQL for sending each message once and running each step once.

Outbox rows move ``pending → claimed → sent | failed | unreachable | ambiguous`` (a claimed
row can go back to ``pending`` with a ``not_before`` when the platform asked to wait or failed).

* :func:`begin_send` records, durably and only for a row still the caller's, that its send is
  starting (``sending_at``; it renews the claim too). A row taken over with ``sending_at`` set
  may have reached the person: the new claimant settles it (a delivery check, or
  :func:`mark_ambiguous`), it never simply sends it again. :func:`release` clears it (the
  platform said no).
* :func:`heartbeat` renews every claim of a live sender at once, so the lease can be short
  (:data:`DEFAULT_LEASE`): a dead replica's rows are taken over within seconds.

* :func:`insert_message` is idempotent by ``key``: a second insert of the same key changes
  nothing (``ON CONFLICT DO NOTHING`` on both databases).
* :func:`claim_batch` takes due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL,
  so several senders never take the same row; on SQLite one sender does the work (the
  select and the update are one transaction; SQLite serialises writers). Rows claimed by a
  sender that died (``claimed_at`` older than the lease) are taken over.
* :func:`mark_sent` / :func:`release` / :func:`mark_failed` / :func:`mark_unreachable`
  only touch a row still claimed by the caller, and say whether they did.

Every function takes a keyword-only ``session`` and never commits: callers run each claim
and each mark in its own short :func:`storage.db.unit_of_work` so a crash loses at most
the row in flight.

Step ledger: :func:`claim_step` inserts the (team, period, step) row under a PostgreSQL
advisory lock taken by :func:`step_lock`; only the caller that inserted it runs the step,
in the same transaction, so a step that fails leaves no row and runs again later.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, bindparam, func, or_, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage.models.cycle import OUTBOX_STATUS_VALUES, OutboxMessage, StepLedger
from storage.repo.common import now_or_utc

DEFAULT_LEASE = timedelta(seconds=30)
"""A claimed row whose sender has said nothing for this long is taken over (a live sender's
heartbeat renews its claims every third of it; a send never takes longer than the lease)."""


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _changed(result: Any) -> bool:
    """Whether an INSERT/UPDATE touched a row."""
    return bool(cast(CursorResult[Any], result).rowcount)


def _insert(session: Session) -> Any:
    return pg_insert if _dialect(session) == "postgresql" else sqlite_insert


# --- outbox ----------------------------------------------------------------------------------


def insert_message(
    *,
    session: Session,
    team_id: int,
    period_id: int | None,
    member_id: int | None,
    kind: str,
    key: str,
    reply: dict[str, Any],
    platform: str | None = None,
    not_before: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Add a pending message; ``False`` (and nothing changes) when ``key`` is already there."""
    statement = (
        _insert(session)(OutboxMessage)
        .values(
            team_id=team_id,
            period_id=period_id,
            member_id=member_id,
            kind=kind,
            key=key,
            reply=reply,
            platform=platform,
            status="pending",
            attempts=0,
            created_at=now_or_utc(now),
            not_before=not_before,
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(col(OutboxMessage.id))
    )
    return session.execute(statement).first() is not None


def get_message(*, session: Session, key: str) -> OutboxMessage | None:
    return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()


def list_messages(
    *,
    session: Session,
    team_id: int | None = None,
    period_id: int | None = None,
    kinds: Iterable[str] | None = None,
    statuses: Iterable[str] | None = None,
) -> list[OutboxMessage]:
    query = select(OutboxMessage)
    if team_id is not None:
        query = query.where(OutboxMessage.team_id == team_id)
    if period_id is not None:
        query = query.where(OutboxMessage.period_id == period_id)
    if kinds is not None:
        query = query.where(col(OutboxMessage.kind).in_(list(kinds)))
    if statuses is not None:
        query = query.where(col(OutboxMessage.status).in_(list(statuses)))
    return list(session.exec(query.order_by(col(OutboxMessage.id))))


def status_counts(*, session: Session, team_id: int | None = None) -> dict[str, int]:
    """How many rows are in each status (every status present, zero when none)."""
    query = select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))
    if team_id is not None:
        query = query.where(OutboxMessage.team_id == team_id)
    counts = dict.fromkeys(OUTBOX_STATUS_VALUES, 0)
    for status, count in session.exec(query):
        counts[status] = int(count)
    return counts


def _due(now: datetime, lease: timedelta) -> Any:
    pending = and_(
        col(OutboxMessage.status) == "pending",
        or_(col(OutboxMessage.not_before).is_(None), col(OutboxMessage.not_before) <= now),
    )
    abandoned = and_(
        col(OutboxMessage.status) == "claimed", col(OutboxMessage.claimed_at) < now - lease
    )
    return or_(pending, abandoned)


def claim_batch(
    *,
    session: Session,
    worker: str,
    limit: int = 100,
    now: datetime | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> list[OutboxMessage]:
    """Claim up to ``limit`` due rows for ``worker`` (oldest first); ``attempts`` counts claims.

    Commit right after, so other senders see the claim.
    """
    moment = now_or_utc(now)
    query = (
        select(OutboxMessage)
        .where(_due(moment, lease))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    if _dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.exec(query))
    if not rows:
        return rows
    # One UPDATE for the whole batch (not one per row); the loaded objects get the same
    # values as their committed state, so the ORM does not write them again.
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_([row.id for row in rows]))
        .values(
            status="claimed",
            claimed_by=worker,
            claimed_at=moment,
            attempts=col(OutboxMessage.attempts) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    for row in rows:
        set_committed_value(row, "status", "claimed")
        set_committed_value(row, "claimed_by", worker)
        set_committed_value(row, "claimed_at", moment)
        set_committed_value(row, "attempts", row.attempts + 1)
    return rows


def begin_send(
    *,
    session: Session,
    worker: str,
    ids: Sequence[int],
    now: datetime | None = None,
    keep_first: bool = False,
    lease: timedelta | None = None,
) -> set[int]:
    """The sends of ``ids`` start now: ``sending_at`` and the claim's time set, for the rows
    still claimed by ``worker``; returns those (only they may be sent). ``keep_first``: rows
    already in doubt keep the start of the send that may have reached the person.

    ``lease`` (PostgreSQL): a record that reaches the server after the claim's lease has run
    out, by the server's clock, records nothing — the statement of a sender that gave up on
    a silent database, delivered once it answers again, must not make rows the sender never
    sent look started to their next claimant."""
    if not ids:
        return set()
    moment = now_or_utc(now)
    # One UPDATE … RETURNING on the table (no ORM round): it takes the row locks a SELECT …
    # FOR UPDATE would, and touches only the rows still the worker's.
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    started = func.coalesce(table.c.sending_at, moment) if keep_first else moment
    owned = [table.c.id.in_(list(ids)), table.c.status == "claimed", table.c.claimed_by == worker]
    if lease is not None and _dialect(session) == "postgresql":
        owned.append(table.c.claimed_at > func.clock_timestamp() - lease)
    statement = (
        update(table)
        .where(*owned)
        .values(sending_at=started, claimed_at=moment)
        .returning(table.c.id)
    )
    return {int(i) for (i,) in session.connection().execute(statement) if i is not None}


def heartbeat(*, session: Session, worker: str, now: datetime | None = None) -> int:
    """Renew every claim ``worker`` holds (its lease starts again); how many."""
    statement = (
        update(OutboxMessage)
        .where(col(OutboxMessage.claimed_by) == worker, col(OutboxMessage.status) == "claimed")
        .values(claimed_at=now_or_utc(now))
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount or 0)


def _finish(session: Session, message_id: int, worker: str, **values: Any) -> bool:
    statement = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.status) == "claimed",
            col(OutboxMessage.claimed_by) == worker,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _changed(session.execute(statement))


def mark_sent_many(
    *,
    session: Session,
    worker: str,
    marks: Sequence[tuple[int, str | None, str | None]],
    now: datetime | None = None,
) -> set[int]:
    """:func:`mark_sent` for many rows in two statements: ``marks`` is (id, message ref,
    platform); returns the ids that were still this worker's (and are now ``sent``)."""
    if not marks:
        return set()
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    query = select(table.c.id).where(  # on the table: the ORM's round costs more than the SQL
        table.c.id.in_([m[0] for m in marks]),
        table.c.status == "claimed",
        table.c.claimed_by == worker,
    )
    if _dialect(session) == "postgresql":
        query = query.with_for_update()
    mine = {int(i) for (i,) in session.connection().execute(query) if i is not None}
    rows = [{"mid": i, "ref": ref, "plat": platform} for i, ref, platform in marks if i in mine]
    if rows:
        statement = (
            update(table)
            .where(table.c.id == bindparam("mid"))
            .values(
                status="sent",
                sent_at=now_or_utc(now),
                message_ref=bindparam("ref"),
                platform=bindparam("plat"),
                last_error=None,
            )
        )
        session.connection().execute(statement, rows)
    return mine


def mark_sent(
    *,
    session: Session,
    message_id: int,
    worker: str,
    message_ref: str | None,
    platform: str | None,
    now: datetime | None = None,
) -> bool:
    """The platform took the message; ``False`` when the row is no longer this worker's."""
    return _finish(
        session,
        message_id,
        worker,
        status="sent",
        sent_at=now_or_utc(now),
        message_ref=message_ref,
        platform=platform,
        last_error=None,
    )


def release(
    *,
    session: Session,
    message_id: int,
    worker: str,
    not_before: datetime,
    error: str,
    platform: str | None = None,
    in_doubt: bool = False,
) -> bool:
    """Back to ``pending``, not to be tried before ``not_before`` (a 429, a 5xx). The platform
    said no, so the send did not happen (``sending_at`` cleared) — unless ``in_doubt``: an
    earlier send of it may have arrived, and the next claimant must settle that first."""
    extra: dict[str, Any] = {} if in_doubt else {"sending_at": None}
    return _finish(
        session,
        message_id,
        worker,
        status="pending",
        not_before=not_before,
        last_error=error[:2000],
        claimed_by=None,
        claimed_at=None,
        platform=platform,
        **extra,
    )


def mark_failed(*, session: Session, message_id: int, worker: str, error: str) -> bool:
    """Given up on (too many attempts, a message the platform refuses): never retried."""
    return _finish(session, message_id, worker, status="failed", last_error=error[:2000])


def mark_unreachable(
    *, session: Session, message_id: int, worker: str, error: str, platform: str | None = None
) -> bool:
    """The person has no platform account or cannot be reached: never retried."""
    return _finish(
        session,
        message_id,
        worker,
        status="unreachable",
        last_error=error[:2000],
        platform=platform,
    )


def mark_ambiguous(*, session: Session, message_id: int, worker: str, error: str) -> bool:
    """A send whose outcome cannot be settled (it may have been delivered): never sent again."""
    return _finish(session, message_id, worker, status="ambiguous", last_error=error[:2000])


# --- step ledger -----------------------------------------------------------------------------


def lock_key(*parts: object) -> int:
    """A signed 64-bit advisory-lock key from the parts (stable across processes)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def step_lock(*, session: Session, team_id: int, period_key: str, step: str) -> None:
    """Hold a PostgreSQL advisory lock on (team, period, step) until the transaction ends.

    Another replica firing the same step waits here, then finds the ledger row and skips.
    On SQLite (one process) this does nothing.
    """
    if _dialect(session) == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": lock_key("kpibot-step", team_id, period_key, step)},
        )


def get_step(*, session: Session, team_id: int, period_key: str, step: str) -> StepLedger | None:
    return session.exec(
        select(StepLedger).where(
            StepLedger.team_id == team_id,
            StepLedger.period_key == period_key,
            StepLedger.step == step,
        )
    ).first()


def claim_step(
    *,
    session: Session,
    team_id: int,
    period_key: str,
    step: str,
    worker: str,
    now: datetime | None = None,
    note: str | None = None,
) -> bool:
    """Insert the ledger row; ``False`` when (team, period, step) was already claimed."""
    statement = (
        _insert(session)(StepLedger)
        .values(
            team_id=team_id,
            period_key=period_key,
            step=step,
            claimed_by=worker,
            claimed_at=now_or_utc(now),
            note=note,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "period_key", "step"])
        .returning(col(StepLedger.id))
    )
    return session.execute(statement).first() is not None


def finish_step(
    *, session: Session, team_id: int, period_key: str, step: str, now: datetime | None = None
) -> None:
    session.execute(
        update(StepLedger)
        .where(
            col(StepLedger.team_id) == team_id,
            col(StepLedger.period_key) == period_key,
            col(StepLedger.step) == step,
        )
        .values(finished_at=now_or_utc(now))
    )


def list_steps(*, session: Session, team_id: int | None = None) -> list[StepLedger]:
    query = select(StepLedger)
    if team_id is not None:
        query = query.where(StepLedger.team_id == team_id)
    return list(session.exec(query.order_by(col(StepLedger.claimed_at), col(StepLedger.id))))


def forget_step(*, session: Session, team_id: int, period_key: str, step: str) -> bool:
    """Remove a ledger row so the step can run again (an admin's explicit re-run)."""
    row = get_step(session=session, team_id=team_id, period_key=period_key, step=step)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


# --- the terminal chat: messages for people with no platform ------------------------------------


def undelivered(
    *,
    session: Session,
    member_ids: Iterable[int] | None = None,
    team_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[OutboxMessage]:
    """Rows no platform took: ``pending`` (and due) or ``unreachable``, oldest first; for some
    members, or for every member and the team channel of some teams (``None``: everyone)."""
    query = select(OutboxMessage).where(
        col(OutboxMessage.status).in_(["pending", "unreachable"]),
        or_(
            col(OutboxMessage.not_before).is_(None),
            col(OutboxMessage.not_before) <= now_or_utc(now),
        ),
    )
    if member_ids is not None:
        query = query.where(col(OutboxMessage.member_id).in_(list(member_ids)))
    if team_ids is not None:
        query = query.where(col(OutboxMessage.team_id).in_(list(team_ids)))
    return list(session.exec(query.order_by(col(OutboxMessage.id))))


def mark_shown_in_console(
    *, session: Session, message_id: int, now: datetime | None = None
) -> bool:
    """The person read the message in the terminal chat: ``sent`` on platform ``console``;
    ``False`` when a sender took the row meanwhile (it is then theirs to deliver)."""
    statement = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id) == message_id,
            col(OutboxMessage.status).in_(["pending", "unreachable"]),
        )
        .values(status="sent", platform="console", sent_at=now_or_utc(now), last_error=None)
        .execution_options(synchronize_session=False)
    )
    return _changed(session.execute(statement))

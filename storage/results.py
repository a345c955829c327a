"""Results stored per period and kept current (issue 20): the inputs' version and the result rows.

A period's results depend on its inputs: indicator values (imports, manual entries, appeal
corrections), reviews (self, manager, peer; calibration adjustments are reviews), customer
ratings, QA reviews, appeals, improvement plans, who the team's agents are, and the scheme.

* ``result_state`` (:mod:`storage.models.results`) holds one row per period:
  ``inputs_version``, bumped in the same transaction as any write of an input, and the
  version and scheme hash the stored results were computed from (``results_version``,
  ``scheme_hash``).
* ``result`` holds the period's results as a person sees them, one row per agent (scored
  or not), in the order they are shown, with the breakdown as JSON text (decoded only
  where a reader looks at it).

The bump is in ONE place, ``storage.models.results._bump_on_flush``: a listener on every
session's flush, registered with the tables, which looks at every new, changed and deleted
row of an input table. So no writer can forget it.
A change in a period also bumps the team's later periods (their last-place history reads
the earlier ones); a change of who the agents are or of the team's scheme bumps every period
of the team. A reader (``commands.results.current_results``) compares the stored version and
scheme hash with the current ones and recomputes when they differ: a stale result is never
shown, by construction. The version is read before the inputs, so a write that commits while
a reader computes leaves the results one version behind (recomputed by the next reader),
never marked current.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage.models.results import ResultRow, ResultState, upsert


@dataclass(frozen=True)
class State:
    inputs_version: int
    results_version: int | None
    scheme_hash: str | None
    token: str | None = None

    def current(self, scheme_hash: str) -> bool:
        return self.results_version == self.inputs_version and self.scheme_hash == scheme_hash


@dataclass(frozen=True)
class StoredRow:
    member_id: int
    name: str
    total: float | None
    rank: int | None
    group_size: int
    provisional: bool
    flags: Mapping[str, Any]
    breakdown_json: str


def state(*, session: Session, period_id: int) -> State:
    """The period's versions (0 and None when nothing was ever written or stored).

    An ORM query, so the session's pending writes are flushed (and bumped) first."""
    row = session.exec(
        select(
            ResultState.inputs_version,
            ResultState.results_version,
            ResultState.scheme_hash,
            ResultState.token,
        ).where(ResultState.period_id == period_id)
    ).first()
    return State(0, None, None) if row is None else State(int(row[0]), row[1], row[2], row[3])


def store(
    *,
    session: Session,
    period_id: int,
    version: int,
    scheme_hash: str,
    rows: Sequence[Mapping[str, Any]],
    now: datetime | None = None,
) -> str:
    """Replace the period's result rows and mark them computed from ``version`` and ``scheme_hash``.

    ``rows``: ``member_id, name, total, rank, group_size, provisional, flags, breakdown``
    (a mapping; written as JSON text), in the order shown. Returns the new token."""
    session.flush()
    table = ResultRow.__table__  # type: ignore[attr-defined]
    session.execute(delete(ResultRow).where(col(ResultRow.period_id) == period_id))
    if rows:
        session.execute(insert(table), [row_values(period_id, i, r) for i, r in enumerate(rows)])
    state_table = ResultState.__table__  # type: ignore[attr-defined]
    moment = now or datetime.now(UTC)
    token = uuid.uuid4().hex
    values = {
        "results_version": version,
        "scheme_hash": scheme_hash,
        "computed_at": moment,
        "token": token,
    }
    session.execute(
        upsert(session)(state_table)
        .values(period_id=period_id, inputs_version=version, **values)
        .on_conflict_do_update(index_elements=["period_id"], set_=values)
    )
    return token


def row_values(period_id: int, position: int, row: Mapping[str, Any]) -> dict[str, Any]:
    """The ``result`` row of one agent's result as stored (the breakdown as JSON text)."""
    return {
        "period_id": period_id,
        "member_id": row["member_id"],
        "position": position,
        "name": row["name"],
        "total": row["total"],
        "rank": row["rank"],
        "group_size": row["group_size"],
        "provisional": bool(row["provisional"]),
        "flags": _jsonable(row["flags"]),
        "breakdown": json.dumps(  # a tree of plain values: no cycle to look for
            row["breakdown"],
            ensure_ascii=False,
            separators=(",", ":"),
            default=_plain,
            check_circular=False,
        ),
    }


def _plain(value: Any) -> Any:
    """What ``json.dumps`` cannot write itself: dates as ISO text, NumPy scalars as numbers."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def rows(
    *,
    session: Session,
    period_id: int,
    member_ids: Iterable[int] | None = None,
    breakdowns: bool = True,
) -> list[StoredRow]:
    """The period's stored result rows in the order shown (only ``member_ids`` if given).
    ``breakdowns`` False: without the breakdown text (``breakdown_json`` is ""; a ranking of
    2,000 reads totals and flags, and :func:`breakdown` fetches the few it looks into)."""
    c = ResultRow.__table__.c  # type: ignore[attr-defined]
    columns = [c.member_id, c.name, c.total, c.rank, c.group_size, c.provisional, c.flags]
    query = (
        core_select(*columns, *([c.breakdown] if breakdowns else []))
        .where(c.period_id == period_id)
        .order_by(c.position)
    )
    if member_ids is not None:
        query = query.where(c.member_id.in_(list(member_ids)))
    return [StoredRow(int(r[0]), r[1], r[2], r[3], int(r[4]), bool(r[5]), r[6] or {},
                      r[7] if breakdowns else "")
            for r in session.execute(query)]  # fmt: skip


def breakdown(*, session: Session, period_id: int, member_id: int) -> str:
    """One stored row's breakdown text ("{}" when there is no such row)."""
    c = ResultRow.__table__.c  # type: ignore[attr-defined]
    text = session.execute(
        core_select(c.breakdown).where(c.period_id == period_id, c.member_id == member_id)
    ).scalar()
    return text if isinstance(text, str) else "{}"


def light_rows(
    *, session: Session, period_id: int, member_ids: Iterable[int] | None = None
) -> list[tuple[int, float | None, int | None, int, bool, Mapping[str, Any]]]:
    """``(member, total, rank, group_size, provisional, flags)`` per stored row (no breakdown)."""
    c = ResultRow.__table__.c  # type: ignore[attr-defined]
    query = core_select(c.member_id, c.total, c.rank, c.group_size, c.provisional, c.flags).where(
        c.period_id == period_id
    )
    if member_ids is not None:
        query = query.where(c.member_id.in_(list(member_ids)))
    return [
        (int(r[0]), r[1], r[2], int(r[3]), bool(r[4]), r[5] or {}) for r in session.execute(query)
    ]


def ranking_totals(*, session: Session, period_id: int) -> list[tuple[int, float]]:
    """``(member, total)`` of every stored row, the total as the agents are ranked on it (NaN:
    provisional or unscored, not ranked): what one agent's what-if is ranked against
    (``scoring.rescore_with(others=)``, the agent's own row left out by the caller)."""
    c = ResultRow.__table__.c  # type: ignore[attr-defined]
    query = core_select(c.member_id, c.total, c.provisional).where(c.period_id == period_id)
    return [
        (int(member), float("nan") if total is None or provisional else float(total))
        for member, total, provisional in session.execute(query)
    ]


_ATOMS = frozenset({str, bool, int, float, type(None)})


def _jsonable(value: Any) -> Any:
    """Plain JSON values: dates as ISO text, NumPy scalars as numbers, NaN as None."""
    if type(value) is dict and all(
        type(k) is str and type(v) in _ATOMS and v == v for k, v in value.items()
    ):  # already plain (a result's flags): a copy, without a call per value
        return dict(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return None if value != value else value
    item = getattr(value, "item", None)  # NumPy scalars
    if callable(item):
        return _jsonable(item())
    return value

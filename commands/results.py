"""The results service: a team's period data from storage → the scoring module → ``score`` rows.

One path from stored facts to a score, used by ``/rank``, ``/me``, ``/simulate``, the
monthly broadcast and the CLI:

    results = period_results(team, period, session=session, actor="member:3")
    results.scores             # AgentScore tuple, best first (unscored agents last)
    results.of(member_id)      # one agent's score or None

* :func:`gather` reads indicator values, reviews (self, manager, peer), customer ratings
  and the history of last places, and builds :class:`scoring.ScoreInputs` with the agent
  ids as ``str(member.id)``. It also records where each number came from (import file,
  manual entry, survey, review) in ``sources``.
* :func:`compute` scores without writing; :func:`compute_and_store` writes one ``score``
  row per scored agent with the scheme's content hash and the breakdown (``AgentResult``
  as a dict plus ``sources``). A locked period's scores are never recomputed: they are
  read back as stored (:func:`period_results` decides).
* :func:`history` gives an agent's last periods (total, rank); :func:`previous_period`
  the period before; :func:`what_if` rescored numbers for ``/simulate``.

``as_of`` (the publication date that flags such as an improvement plan's due date count
from) defaults to the period's *planned* publication day in the team's time zone
(:func:`default_as_of`), so recomputing never changes the flags; the publish step passes the
real day. The improvement-plan deadline has one rule, :func:`plan_deadline` (publication
time + ``apply.improvement_days``, the end of that day in the team's time zone, seed 004
"within one week of the results being published"); once the plan is asked for, its stored
``due_at`` is the deadline every result shows (:func:`_with_plan_deadlines`).
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from sqlmodel import Session, col, select

from commands.cycle_plan import plan
from commands.i18n import joined
from commands.people import TeamClock
from commands.qa.inputs import qa_inputs
from commands.ratings import STAR_COLUMNS, customer_frame, platform_ratings
from scoring import (
    AgentResult,
    Scheme,
    ScoreInputs,
    TeamResult,
    parse_scheme,
    peer_summary,
    rescore_with,
    score_team,
)
from storage import consequences as consequence_store
from storage import repo
from storage import results as result_store
from storage.models import Member, Period, Score, Team

LOCKED_STATUSES = ("locked", "published")
HISTORY_PERIODS = 3


@lru_cache(maxsize=64)
def _parse(text: str) -> Scheme:
    return parse_scheme(text)


def load_scheme(team: Team, period: Period | None, *, session: Session) -> Scheme | None:
    """The parsed scheme that scores ``period`` (the period's own, else the team's current one)."""
    row = repo.scheme_for(session=session, team=team, period=period)
    return _parse(row.text) if row is not None else None


class StoredBreakdown(Mapping[str, Any]):
    """A stored breakdown (JSON text), decoded the first time a reader looks into it: a ranking
    of 2,000 reads totals and flags, not 2,000 breakdowns."""

    __slots__ = ("_text", "_value")

    def __init__(self, text: str | Callable[[], str]) -> None:
        """``text``: the JSON text, or a function that reads it (called the first time it is
        needed: a ranking reads the breakdowns of only the few results it explains)."""
        self._text = text
        self._value: dict[str, Any] | None = None

    def _decoded(self) -> dict[str, Any]:
        if self._value is None:
            text = self._text if isinstance(self._text, str) else self._text()
            self._value = json.loads(text)
        return self._value

    def __getitem__(self, key: str) -> Any:
        return self._decoded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())

    def __repr__(self) -> str:
        return f"StoredBreakdown({self._decoded()!r})"


@dataclass(frozen=True)
class AgentScore:
    """One agent's score as shown: from a fresh computation or read back from a ``score`` row.

    ``breakdown`` is ``AgentResult.to_dict()`` (components, indicators, kpi, flags) plus
    ``sources``: where every number came from.
    """

    member_id: int
    name: str
    total: float | None
    rank: int | None
    group_size: int
    breakdown: Mapping[str, Any]
    flags: Mapping[str, Any]
    release: str | None = None
    """How it was published (``storage.models.Score.release``): None (not yet), ``final``,
    ``held`` or ``confirmed``; None for a fresh computation."""
    released_by: str | None = None
    stored_provisional: bool | None = None
    """The ``result`` row's own ``provisional`` column, read with it: a ranking of 2,000 then
    decodes no breakdown to know who is provisional (None: read it from the breakdown)."""

    @property
    def scored(self) -> bool:
        return self.total is not None

    @property
    def provisional(self) -> bool:
        """A required part (``missing = "block"``) has no data: not ranked, rewarded or penalised.
        The one reading of the scoring module's ``provisional`` every view uses."""
        if self.stored_provisional is not None:
            return self.scored and self.stored_provisional
        return self.scored and bool(self.breakdown.get("provisional"))

    @property
    def missing(self) -> tuple[str, ...]:
        """The missing required parts (``Scheme.required_parts`` ids; ``Scheme.part_name`` names
        them)."""
        return (
            tuple(str(p) for p in self.breakdown.get("missing") or ()) if self.provisional else ()
        )

    @property
    def held(self) -> bool:
        """Kept back at publication until an admin confirms it (``commands.publication``)."""
        return self.release == "held"

    def missing_names(self, scheme: Scheme, lang: str) -> str:
        """``Manager review, Performance``: the missing parts as the reader reads them."""
        return joined((scheme.part_name(p, lang) for p in self.missing), lang)


@dataclass(frozen=True)
class Gathered:
    """What :func:`gather` read: the scoring inputs, the agents, and each number's source."""

    inputs: ScoreInputs
    agents: tuple[Member, ...]
    sources: Mapping[int, dict[str, Any]]


@dataclass(frozen=True)
class PeriodResults:
    team: Team
    period: Period
    scheme: Scheme
    scores: tuple[AgentScore, ...]
    stored: bool = False
    gathered: Gathered | None = None
    _by_member: dict[int, AgentScore] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_member.update({s.member_id: s for s in self.scores})

    def of(self, member_id: int | None) -> AgentScore | None:
        return None if member_id is None else self._by_member.get(member_id)

    @property
    def scored(self) -> tuple[AgentScore, ...]:
        return tuple(s for s in self.scores if s.scored)

    @property
    def provisional(self) -> tuple[AgentScore, ...]:
        """The scored results a required part is missing from (who is missing what)."""
        return tuple(s for s in self.scored if s.provisional)


def default_as_of(team: Team, period: Period, scheme: Scheme) -> date:
    """The day the period's results are planned to be published, in the team's time zone."""
    steps = {s.base: s.at for s in plan(scheme.cycle, team.timezone, period.key)}
    return TeamClock.of(team).date(steps["publish"])


def plan_deadline(team: Team, published_at: datetime, days: int) -> datetime:
    """The improvement plan's deadline: the end (23:59) of the day ``days`` after publication,
    in the team's time zone (seed 004: within one week of the results being published)."""
    clock = TeamClock.of(team)
    day = clock.date(published_at) + timedelta(days=days)
    return clock.at(day, time(23, 59)).astimezone(UTC)


def deadline_day(team: Team, due_at: datetime) -> str:
    """A stored deadline as the date every result shows (team time zone): the day of the
    deadline's last minute (:meth:`TeamClock.deadline_date`), the day its ``23:59`` is on."""
    moment = due_at if due_at.tzinfo is not None else due_at.replace(tzinfo=UTC)
    return TeamClock.of(team).deadline_date(moment).isoformat()


def _with_plan_deadlines(
    team: Team, period: Period, scores: list[AgentScore], *, session: Session
) -> list[AgentScore]:
    """Where the improvement plan was asked for, its stored deadline is the one shown."""
    due = {p.member_id: deadline_day(team, p.due_at)
           for p in consequence_store.list_plans(session=session, period=period)}  # fmt: skip
    if not due:
        return scores
    out = []
    for s in scores:
        if s.member_id in due and s.flags.get("improvement_due"):
            flags = {**s.flags, "improvement_due": due[s.member_id]}
            s = replace(s, breakdown={**s.breakdown, "flags": flags}, flags=flags)
        out.append(s)
    return out


def _id(member: Member) -> int:
    assert member.id is not None
    return member.id


def agents_of(team: Team, *, session: Session) -> list[Member]:
    """Who is scored: the team's active agents."""
    return repo.list_members(session=session, team=team, roles=["agent"], active_only=True)


def _review_columns(
    period: Period, scheme: Scheme, kind: str, agents: set[int], *, session: Session
) -> tuple[dict[int, dict[str, float]], dict[int, dict[str, Any]]]:
    """``{member: {"self.task_completion": 4}}`` and ``{member: {"at":..., "rater":...}}`` for one
    review kind."""
    component = scheme.component(kind)
    dims = {d.id for d in component.rated_dimensions} if component is not None else set()
    columns: dict[int, dict[str, float]] = {}
    sources: dict[int, dict[str, Any]] = {}
    reviews = repo.list_reviews(session=session, period=period, kind=kind)
    reviews.sort(key=lambda r: (r.submitted_at is None, r.submitted_at, r.id or 0))
    for review in reviews:
        if review.subject_id not in agents:
            continue
        answers = {
            f"{kind}.{k}": float(v)
            for k, v in review.answers.items()
            if k in dims and isinstance(v, int | float) and not isinstance(v, bool)
        }
        if not answers:
            continue
        columns[review.subject_id] = answers  # the latest submitted review wins
        rater = repo.get_member(session=session, member_id=review.rater_id)
        sources[review.subject_id] = {
            "source": "review",
            "rater": rater.name if rater is not None and kind == "manager" else None,
            "at": review.submitted_at.isoformat() if review.submitted_at else None,
        }
    return columns, sources


def _peer_frame(
    period: Period, agents: set[int], *, session: Session, min_count: int | None = None
) -> pd.DataFrame | None:
    """The peer input, from each rater's answers in the order they first answered (a
    replaced rating keeps its row and place), released in steps (scoring.released_raters)."""
    rows: list[dict[str, float]] = []
    index: list[str] = []
    reviews = sorted(
        repo.list_reviews(session=session, period=period, kind="peer"), key=lambda r: r.id or 0
    )
    for review in reviews:
        if review.subject_id not in agents or review.rater_id == review.subject_id:
            continue
        numbers = {
            str(k): float(v)
            for k, v in review.answers.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        if numbers:
            rows.append(numbers)
            index.append(str(review.subject_id))
    if not rows:
        return None
    return peer_summary(
        pd.DataFrame(rows, index=pd.Index(index, dtype=object)), min_count=min_count
    )


def _history_frame(
    team: Team, period: Period, scheme: Scheme, agent_ids: Sequence[int], *, session: Session
) -> pd.DataFrame | None:
    """Was each agent last in the periods before (oldest first)? From stored or computed scores.

    ``None`` where the agent's result was provisional (never ranked): the scoring rule skips such
    a month (it neither counts as last nor breaks the run). The look-back is twice the run's
    length, so a run of K last places spans at most 2K − 1 periods."""
    wanted = max(scheme.apply.post_change_after - 1, 0)
    if wanted == 0:
        return None
    earlier = _earlier_periods(team, period, session=session)[-2 * wanted :]
    if not earlier:
        return None
    columns: dict[str, list[bool | None]] = {}
    for past in earlier:
        scores = _light_scores(team, past, session=session)
        columns[past.key] = [
            None
            if scores.get(a, {}).get("provisional")
            else bool(scores.get(a, {}).get("last", False))
            for a in agent_ids
        ]
    return pd.DataFrame(
        columns, index=pd.Index([str(a) for a in agent_ids], dtype=object), dtype=object
    )


def _earlier_periods(team: Team, period: Period, *, session: Session) -> list[Period]:
    return [
        p for p in repo.list_periods(session=session, team=team)
        if p.starts_on < period.starts_on and p.id != period.id
    ]  # fmt: skip


def previous_period(team: Team, period: Period, *, session: Session) -> Period | None:
    """The team's period just before ``period`` (same length: a month before a month)."""
    same_kind = [
        p for p in _earlier_periods(team, period, session=session)
        if ("Q" in p.key) == ("Q" in period.key)
    ]  # fmt: skip
    return same_kind[-1] if same_kind else None


def gather(
    team: Team, period: Period, scheme: Scheme, *, session: Session, history: bool = True
) -> Gathered:
    """Every stored fact of the period, as the scoring module's inputs."""
    agents = agents_of(team, session=session)
    ids = [_id(a) for a in agents]
    id_set = set(ids)
    index = pd.Index([str(i) for i in ids], dtype=object)
    sources: dict[int, dict[str, Any]] = {i: {"indicators": {}} for i in ids}

    files = {imp.id: imp.file_name for imp in repo.list_imports(session=session, period=period)}
    values: dict[str, dict[str, float]] = {}
    for row in repo.indicator_values(session=session, period=period):
        if row.member_id not in id_set:
            continue
        values.setdefault(str(row.member_id), {})[row.indicator] = (
            math.nan if row.value is None else float(row.value)
        )
        sources[row.member_id]["indicators"][row.indicator] = {
            "source": row.source,
            "file": files.get(row.import_id) if row.import_id is not None else None,
        }
    value_frame = pd.DataFrame.from_dict(values, orient="index").reindex(index) if values else None

    review_cols: dict[int, dict[str, float]] = {}
    for kind in ("self", "manager"):
        cols, review_sources = _review_columns(period, scheme, kind, id_set, session=session)
        for member_id, answers in cols.items():
            review_cols.setdefault(member_id, {}).update(answers)
        for member_id, src in review_sources.items():
            sources[member_id][kind] = src
    reviews = (
        pd.DataFrame.from_dict({str(k): v for k, v in review_cols.items()}, orient="index").reindex(
            index
        )
        if review_cols
        else None
    )

    customer = customer_frame(session, period=period, member_ids=ids) if ids else None
    if customer is not None:
        survey = customer_frame(session, period=period, member_ids=ids, platform=False)
        imported = platform_ratings(session, period=period, member_ids=ids)
        every, surveyed = _response_counts(customer), _response_counts(survey)
        for member_id in ids:
            sources[member_id]["customer"] = {
                "source": "survey",
                "responses": every.get(str(member_id), 0),
                "survey": surveyed.get(str(member_id), 0),
                "platform": [
                    {"import_id": p.import_id, "file": p.file_name, "count": p.total}
                    for p in imported.get(member_id, [])
                ],
            }
    peer_part = scheme.component("peer")
    peer = _peer_frame(
        period,
        id_set,
        session=session,
        min_count=peer_part.min_count
        if peer_part is not None and peer_part.kind == "peer"
        else None,
    )
    if peer is not None:
        for key, count in peer["count"].items():
            sources[int(str(key))]["peer"] = {"source": "peer", "raters": int(count)}

    qa = qa_inputs(session, period) if scheme.qa is not None else None
    qa = None if qa is None or qa.empty else qa  # the scorer wants None, not an empty frame
    if qa is not None:
        for key, count in qa["count"].items():
            if int(str(key)) in sources:
                sources[int(str(key))]["qa"] = {"source": "qa", "samples": int(count)}
    inputs = ScoreInputs(
        values=value_frame,
        reviews=reviews,
        review_scale=5,
        customer=customer,
        peer=peer,
        qa=qa,
        history=_history_frame(team, period, scheme, ids, session=session) if history else None,
        agents=tuple(str(i) for i in ids),
    )
    return Gathered(inputs, tuple(agents), sources)


def _response_counts(frame: pd.DataFrame) -> dict[str, int]:
    """How many customers rated each agent (``commands.ratings.responses``, for all at once)."""
    if frame.empty:
        return {}
    sums = frame[list(STAR_COLUMNS)].to_numpy(dtype="int64").sum(axis=1)
    return {str(k): int(v) for k, v in zip(frame.index, sums, strict=True)}


def _agent_score(
    member: Member, breakdown: dict[str, Any], sources: Mapping[str, Any]
) -> AgentScore:
    """One agent's score from ``AgentResult.to_dict()`` (``TeamResult.to_dict()``'s item)."""
    breakdown["sources"] = dict(sources)
    return AgentScore(
        member_id=_id(member),
        name=member.name,
        total=breakdown["total"],
        rank=breakdown["rank"],
        group_size=breakdown["group_size"],
        breakdown=breakdown,
        flags=breakdown["flags"],
    )


def compute(
    team: Team,
    period: Period,
    *,
    session: Session,
    as_of: date | None = None,
    scheme: Scheme | None = None,
    history: bool = True,
) -> PeriodResults | None:
    """Score the period from stored facts without writing anything; None without a scheme."""
    scheme = scheme or load_scheme(team, period, session=session)
    if scheme is None:
        return None
    gathered = gather(team, period, scheme, session=session, history=history)
    return _scored(team, period, scheme, gathered, session=session, as_of=as_of)


def _scored(
    team: Team,
    period: Period,
    scheme: Scheme,
    gathered: Gathered,
    *,
    session: Session,
    as_of: date | None = None,
) -> PeriodResults:
    by_id = {str(_id(a)): a for a in gathered.agents}
    scores: list[AgentScore] = []
    if by_id:
        result: TeamResult = score_team(
            scheme, gathered.inputs, as_of=as_of or default_as_of(team, period, scheme)
        )
        for breakdown in result.to_dict():  # best first, built without result objects
            member = by_id[breakdown["agent"]]
            scores.append(_agent_score(member, breakdown, gathered.sources[_id(member)]))
        scores = _with_plan_deadlines(team, period, scores, session=session)
    return PeriodResults(team, period, scheme, tuple(scores), stored=False, gathered=gathered)


def stored_results(
    team: Team, period: Period, *, session: Session, member_ids: Iterable[int] | None = None
) -> PeriodResults | None:
    """The period's ``score`` rows as results (None without a scheme or without rows);
    ``member_ids``: only their rows."""
    scheme = load_scheme(team, period, session=session)
    if member_ids is None:
        rows = repo.list_scores(session=session, period=period)
    else:
        query = select(Score).where(
            Score.period_id == period.id, col(Score.member_id).in_(list(member_ids))
        )
        rows = list(session.exec(query).all())
        if not rows and scheme is not None:  # scored, but not them
            return PeriodResults(team, period, scheme, (), stored=True)
    if scheme is None or not rows:
        return None
    stored_scheme = repo.get_scheme_by_hash(session=session, content_hash=rows[0].scheme_hash)
    if stored_scheme is not None:
        scheme = _parse(stored_scheme.text)
    names = _names(session, {row.member_id for row in rows})
    scores = []
    for row in rows:
        breakdown = dict(row.breakdown)
        scores.append(
            AgentScore(
                member_id=row.member_id,
                name=names.get(row.member_id, "?"),
                total=float(row.total),
                rank=row.rank,
                group_size=int(breakdown.get("group_size") or len(rows)),
                breakdown=breakdown,
                flags=dict(breakdown.get("flags") or {}),
                release=row.release,
                released_by=row.released_by,
            )
        )
    scores = _with_plan_deadlines(team, period, scores, session=session)
    return PeriodResults(team, period, scheme, tuple(scores), stored=True)


def compute_and_store(
    team: Team,
    period: Period,
    *,
    session: Session,
    actor: str,
    reason: str | None = "score recomputed",
    as_of: date | None = None,
) -> PeriodResults | None:
    """Compute and write one ``score`` row per scored agent (unchanged rows are not rewritten).

    A locked period is not recomputed: its stored scores come back.
    """
    if is_locked(period, session=session):
        return stored_results(team, period, session=session)
    scheme = load_scheme(team, period, session=session)
    if scheme is None:
        return None
    results = _recompute(team, period, scheme, session=session, as_of=as_of)
    by_id = {_id(a): a for a in (results.gathered.agents if results.gathered else ())}
    for score in results.scored:
        repo.save_score(
            session=session, period=period, member=by_id[score.member_id],
            scheme_hash=results.scheme.content_hash, total=score.total or 0.0, rank=score.rank,
            breakdown=score.breakdown, flags=_flag_list(score.flags), actor=actor, reason=reason,
        )  # fmt: skip
    return results


def _flag_list(flags: Mapping[str, Any]) -> list[str]:
    """The flags that are set, as names (``reward``, ``penalty``, ``improvement``,
    ``post_change``)."""
    names = [k for k in ("reward", "penalty", "last", "post_change") if flags.get(k)]
    if flags.get("improvement_due"):
        names.append("improvement")
    return names


def is_locked(period: Period, *, session: Session) -> bool:
    """A period whose scores must not change: locked or published, or every stored score locked.

    Asked on every result a person opens, so it asks whether such rows exist (the first row
    of the period's index answers) instead of counting the team's rows."""
    of_period = select(Score.id).where(Score.period_id == period.id).limit(1)
    if session.exec(of_period).first() is None:
        return False
    if period.status in LOCKED_STATUSES:
        return True
    return session.exec(of_period.where(col(Score.locked).is_(False))).first() is None


def period_results(
    team: Team,
    period: Period,
    *,
    session: Session,
    store: bool = True,
    actor: str = "system",
    breakdowns: bool = True,
) -> PeriodResults | None:
    """The results to show: stored when locked; else the stored current results (recomputed
    first when an input or the scheme changed since). ``store``: a recomputation also writes
    the audited ``score`` rows (as ``/me`` and ``/rank`` always did). ``breakdowns`` False:
    each stored breakdown is read only when looked into (``/rank``)."""
    return current_results(
        team, period, session=session, store_scores=store, actor=actor, breakdowns=breakdowns
    )


def current_results(
    team: Team,
    period: Period,
    *,
    session: Session,
    member_ids: Iterable[int] | None = None,
    store_scores: bool = False,
    actor: str = "system",
    breakdowns: bool = True,
) -> PeriodResults | None:
    """The period's results as stored and current (issue 20).

    A locked period's ``score`` rows as they are. Otherwise the ``result`` rows when they were
    computed from the period's current inputs' version and scheme (``storage.results``), else
    recomputed and stored first: a stale result is never returned. ``member_ids``: only those
    agents' rows are read (``/me`` reads one row, not the team's). ``breakdowns`` False: the
    rows are read without their breakdowns, each fetched the first time it is looked into."""
    if is_locked(period, session=session):
        return stored_results(team, period, session=session, member_ids=member_ids)
    scheme = load_scheme(team, period, session=session)
    if scheme is None:
        return None
    state = result_store.state(session=session, period_id=_pid(period))
    if not state.current(scheme.content_hash):
        fresh = (
            compute_and_store(team, period, session=session, actor=actor)
            if store_scores
            else _recompute(team, period, scheme, session=session)
        )
        if fresh is None or member_ids is None:
            return fresh
        wanted = set(member_ids)
        return replace(
            fresh, scores=tuple(s for s in fresh.scores if s.member_id in wanted), _by_member={}
        )
    rows = result_store.rows(session=session, period_id=_pid(period), member_ids=member_ids,
                             breakdowns=breakdowns)  # fmt: skip
    scores = tuple(
        AgentScore(
            member_id=r.member_id,
            name=r.name,
            total=r.total,
            rank=r.rank,
            group_size=r.group_size,
            flags=r.flags,
            stored_provisional=r.provisional,
            breakdown=StoredBreakdown(
                r.breakdown_json if breakdowns else _breakdown_of(session, period, r.member_id)
            ),
        )
        for r in rows
    )
    return PeriodResults(team, period, scheme, scores, stored=False)


def _breakdown_of(session: Session, period: Period, member_id: int) -> Callable[[], str]:
    """Reads one stored row's breakdown when called (in the same unit of work)."""
    return lambda: result_store.breakdown(
        session=session, period_id=_pid(period), member_id=member_id
    )


def _pid(period: Period) -> int:
    assert period.id is not None
    return period.id


def _names(session: Session, member_ids: set[int]) -> dict[int, str]:
    if not member_ids:
        return {}
    rows = session.exec(
        select(Member.id, Member.name).where(col(Member.id).in_(sorted(member_ids)))
    ).all()
    return {int(i): n for i, n in rows if i is not None}


_CONTEXTS: OrderedDict[tuple[int, str], Gathered] = OrderedDict()
"""The team context (``Gathered``) of the last stored computations, by (period, token): what a
what-if rescores against without reading the team again. A token names one stored
computation, so an entry is never used for other inputs."""
CONTEXTS_KEPT = 8


def _remember(period_id: int, token: str, gathered: Gathered) -> None:
    _CONTEXTS[(period_id, token)] = gathered
    _CONTEXTS.move_to_end((period_id, token))
    while len(_CONTEXTS) > CONTEXTS_KEPT:
        _CONTEXTS.popitem(last=False)
    _keep_inputs(period_id, token, gathered)


def _recompute(
    team: Team, period: Period, scheme: Scheme, *, session: Session, as_of: date | None = None
) -> PeriodResults:
    """Compute from the stored inputs and store the results with the version read first."""
    state = result_store.state(session=session, period_id=_pid(period))
    gathered = gather(team, period, scheme, session=session)
    results = _scored(team, period, scheme, gathered, session=session, as_of=as_of)
    if as_of is None or as_of == default_as_of(team, period, scheme):
        token = result_store.store(
            session=session, period_id=_pid(period), version=state.inputs_version,
            scheme_hash=scheme.content_hash, rows=[_row(s) for s in results.scores],
        )  # fmt: skip
        _remember(_pid(period), token, gathered)
    return results


def _row(score: AgentScore) -> dict[str, Any]:
    return {
        "member_id": score.member_id, "name": score.name, "total": score.total,
        "rank": score.rank, "group_size": score.group_size, "provisional": score.provisional,
        "flags": dict(score.flags), "breakdown": dict(score.breakdown),
    }  # fmt: skip


def team_context(
    team: Team, period: Period, scheme: Scheme, *, session: Session, history: bool = True
) -> Gathered:
    """The stored team context a what-if rescores against (and ``/status`` reads): the inputs
    of the stored current results, kept in memory by their token (read from storage after a
    restart, in another worker, or when the results are not current; ``history`` False: the
    last-place history is then left out)."""
    state = result_store.state(session=session, period_id=_pid(period))
    if state.current(scheme.content_hash) and state.token is not None:
        cached = _CONTEXTS.get((_pid(period), state.token))
        if cached is not None:
            return cached
        gathered = gather(team, period, scheme, session=session)
        _remember(_pid(period), state.token, gathered)
        return gathered
    return gather(team, period, scheme, session=session, history=history)


def _light_scores(
    team: Team, period: Period, *, session: Session, member_ids: Iterable[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Total, rank and ``last`` per member for a past period: its locked ``score`` rows, else
    its stored current results (recomputed if an input changed). ``member_ids``: only them."""
    if is_locked(period, session=session):
        wanted = None if member_ids is None else set(member_ids)
        return {
            r.member_id: {
                "total": float(r.total),
                "rank": r.rank,
                "group_size": (r.breakdown or {}).get("group_size"),
                "last": bool((r.breakdown or {}).get("flags", {}).get("last"))
                or "last" in (r.flags or []),
                "provisional": bool((r.breakdown or {}).get("provisional")),
            }
            for r in repo.list_scores(session=session, period=period)
            if wanted is None or r.member_id in wanted
        }
    scheme = load_scheme(team, period, session=session)
    if scheme is None:
        return {}
    if not result_store.state(session=session, period_id=_pid(period)).current(scheme.content_hash):
        _recompute(team, period, scheme, session=session)
    return {
        member: {"total": total, "rank": rank, "group_size": size,
                 "last": bool(flags.get("last")), "provisional": provisional}
        for member, total, rank, size, provisional, flags in result_store.light_rows(
            session=session, period_id=_pid(period), member_ids=member_ids)
        if total is not None
    }  # fmt: skip


@dataclass(frozen=True)
class HistoryEntry:
    period: str
    total: float | None
    rank: int | None
    group_size: int | None
    precision: int = 1  # the decimals of the scheme that scored that period (its total's places)


def history(
    team: Team, member: Member, before: Period, *, session: Session, limit: int = HISTORY_PERIODS
) -> list[HistoryEntry]:
    """The member's totals and ranks in the ``limit`` periods before ``before``, newest first."""
    earlier = [
        p for p in _earlier_periods(team, before, session=session)
        if ("Q" in p.key) == ("Q" in before.key)
    ][-limit:]  # fmt: skip
    out = []
    for past in reversed(earlier):
        entry = _light_scores(team, past, session=session, member_ids=[_id(member)]).get(
            _id(member), {}
        )
        scheme = load_scheme(team, past, session=session)
        out.append(
            HistoryEntry(
                past.key, entry.get("total"), entry.get("rank"), entry.get("group_size"),
                scheme.precision if scheme is not None else 1,
            )
        )  # fmt: skip
    return out


def previous_ranks(
    team: Team, period: Period, *, session: Session, member_ids: Iterable[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Total and rank of every member (or of ``member_ids``) in the previous period (empty when
    there is none)."""
    prev = previous_period(team, period, session=session)
    if prev is None:
        return {}
    return _light_scores(team, prev, session=session, member_ids=member_ids)


@dataclass(frozen=True)
class WhatIf:
    before: AgentScore
    after: AgentResult
    scheme: Scheme  # the scheme that scored both (the period's): its precision is the totals'


def what_if(
    team: Team,
    period: Period,
    member: Member,
    overrides: Mapping[str, float | None],
    *,
    session: Session,
) -> WhatIf | None:
    """The member's score with some raw values changed; nothing is stored. None if not scored here.

    ``before`` is the member's stored current result; ``after`` scores this one agent from the
    stored team context (:func:`team_context`) with the overrides, ranked against the other
    agents' stored totals: the team is not rescored (``scoring.rescore_with``'s ``others``;
    the same result as rescoring it, tested). Where no current stored rows match the context
    (a locked period's own ``score`` rows), the team is rescored."""
    results = current_results(team, period, session=session, member_ids=[_id(member)])
    if results is None:
        return None
    before = results.of(_id(member))
    if before is None:
        return None
    state = result_store.state(session=session, period_id=_pid(period))
    others = None
    if state.current(results.scheme.content_hash) and state.token and not results.stored:
        inputs = _what_if_inputs(team, period, results.scheme, state.token, session=session)
        others = _others_totals(session, _pid(period), state.token, _id(member))
    else:
        inputs = team_context(team, period, results.scheme, session=session).inputs
    after = rescore_with(
        results.scheme, inputs, str(_id(member)), overrides,
        as_of=default_as_of(team, period, results.scheme), others=others,
    )  # fmt: skip
    return WhatIf(before, after, results.scheme)


_INPUTS: OrderedDict[tuple[int, str], tuple[ScoreInputs, int]] = OrderedDict()
"""The scoring inputs of the last stored computations a what-if was asked of, by (period,
token), with their number of agents: only the inputs (about half a kilobyte an agent, against
about 4.5 for the whole team context), so that an organisation's teams all fit."""
INPUTS_AGENTS_KEPT = 20_000
"""Agents whose inputs are kept in all (an organisation of 10,000 fits: a manager's what-ifs
in any of its 500 teams do not read the team again; about 9 MB)."""


def _what_if_inputs(
    team: Team, period: Period, scheme: Scheme, token: str, *, session: Session
) -> ScoreInputs:
    """The inputs of the stored current results ``token`` (the team context's, kept longer:
    from when they were computed, or the first what-if after a restart)."""
    kept = _INPUTS.get((_pid(period), token))
    if kept is not None:
        _INPUTS.move_to_end((_pid(period), token))
        return kept[0]
    return _keep_inputs(_pid(period), token, team_context(team, period, scheme, session=session))


def _keep_inputs(period_id: int, token: str, gathered: Gathered) -> ScoreInputs:
    _INPUTS[(period_id, token)] = (gathered.inputs, len(gathered.agents))
    _INPUTS.move_to_end((period_id, token))
    while len(_INPUTS) > 1 and sum(n for _i, n in _INPUTS.values()) > INPUTS_AGENTS_KEPT:
        _INPUTS.popitem(last=False)
    return gathered.inputs


_TOTALS: OrderedDict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
"""The ranking totals of the last stored computations, by (period, token): (member ids,
totals; NaN: not ranked). A token names one stored computation, whose rows never change."""


def _others_totals(session: Session, period_id: int, token: str, member_id: int) -> np.ndarray:
    """The totals every other agent of the stored results ``token`` is ranked on, read once
    per computation (a what-if is asked again and again of the same results)."""
    key = (period_id, token)
    kept = _TOTALS.get(key)
    if kept is None:
        rows = result_store.ranking_totals(session=session, period_id=period_id)
        members = np.fromiter((m for m, _t in rows), dtype=np.int64, count=len(rows))
        totals = np.fromiter((t for _m, t in rows), dtype=float, count=len(rows))
        kept = _TOTALS[key] = (members, totals)
        while len(_TOTALS) > 1 and sum(len(m) for m, _t in _TOTALS.values()) > INPUTS_AGENTS_KEPT:
            _TOTALS.popitem(last=False)
    _TOTALS.move_to_end(key)
    members, totals = kept
    others: np.ndarray = totals[members != member_id]
    return others


def latest_scored_period(team: Team, *, session: Session, today: date) -> Period | None:
    """The period a result command shows by default: the latest month that has ended, else the
    current one."""
    started = [
        p
        for p in repo.list_periods(session=session, team=team)
        if p.status != "planned" and p.starts_on <= today
    ]
    months = [p for p in started if "Q" not in p.key]
    started = months or started
    ended = [p for p in started if p.ends_on < today]
    chosen = ended or started
    return chosen[-1] if chosen else None

"""The steps of the monthly cycle, pure of any platform: open, remind, close, publish (and daily).

    outcome = run_step(session, team=team, period_key="2026-10", step="publish",
                       now=now, worker="replica-1")    # "ran", "already", "paused", "unknown"

A step runs at most once per (team, period, step): :func:`run_step` takes the step's
PostgreSQL advisory lock, claims its ``step_ledger`` row (unique key) and runs it in the
caller's transaction, so a step that fails leaves no row and runs again later, and a second
replica firing the same step waits, then finds the row and does nothing. Every message a
step sends goes through the outbox (``commands.outbox.enqueue``, idempotent by key).

* ``open`` — the period is open for reviews (``review_opens_at`` / ``review_closes_at``);
  each agent is invited to the self-review, each manager told who is theirs to review.
* ``remind.N`` — to the agents whose self-review is missing, and to each manager, the
  agents whose manager review is missing (the plan keeps these by day and out of the night).
* ``close`` — the period is closed and scored (``commands.results.compute_and_store``,
  stored with the scheme's hash), ready for calibration; nothing is locked yet.
* ``publish`` — unless already locked, scores are computed once more, locked, the period
  locked, each score marked ``final`` or, a required part missing, ``held`` (or, when an admin
  confirmed, ``confirmed`` provisional: ``commands.publication``; the admins are told who is
  held for what); with nobody scored nothing changes and the admins are told; then the
  result DMs (total, rank, components and indicators, the manager's comments, what happens
  next), a chart of the last six periods, the ranking in the team's chat where the scheme
  publishes it, and each manager's team table; then the consequences (payroll, improvement
  plans, feedback meetings …); the period ends ``published``.
* ``daily`` (period key = the local date) — nothing of its own: improvement-plan reminders
  and escalation, appeal deadlines, and each agent's digest of yesterday's customer comments.

:data:`CYCLE` is the one table of the steps: each step's own work and then its hooks, in
order. The scheduler (``bot.scheduler``), ``/runstep`` (``commands.schedule_admin``),
``kpibot cycle run-step`` and the tests all run it through :func:`run_step`; nothing is
added to a step anywhere else. A hook is ``hook(ctx: StepContext) -> None``
(``commands.step_context``); it runs after the step's own work, in the same transaction,
and must be idempotent (the outbox keys make a re-run send nothing twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from commands import (
    appeal,
    broadcast,
    consequences,
    feedback,
    improve,
    publication,
    results,
    survey_notices,
)
from commands.cycle_plan import PlannedStep, plan
from commands.i18n import Translate, translator
from commands.people import TeamClock, admins_of, lang_of, managers_of
from commands.publication import Gaps
from commands.step_context import StepContext
from scoring.cycle_rules import CycleRules
from storage import outbox as ledger
from storage import repo
from storage.models import Member, Period, Team

if TYPE_CHECKING:
    from sqlmodel import Session

log = logging.getLogger(__name__)

Hook = Callable[[StepContext], None]


@dataclass(frozen=True)
class StepOutcome:
    status: str
    """``ran``, ``already`` (someone ran it), ``paused`` (the team is paused), ``unknown``."""
    counts: dict[str, int] = field(default_factory=dict)


def rules_for(team: Team, *, session: Session) -> tuple[CycleRules, str]:
    """The team's cycle rules and period kind (``month``/``quarter``): its scheme's, else
    defaults."""
    scheme = results.load_scheme(team, None, session=session)
    if scheme is None:
        return CycleRules(), "month"
    return scheme.cycle, scheme.period


def planned(team: Team, period_key: str, *, session: Session) -> list[PlannedStep]:
    rules, _kind = rules_for(team, session=session)
    return plan(rules, team.timezone, period_key)


def run_step(
    session: Session,
    *,
    team: Team,
    period_key: str,
    step: str,
    now: datetime,
    worker: str,
    actor: str = "scheduler",
    note: str | None = None,
    force: bool = False,
    gaps: Gaps = "hold",
    messengers: Mapping[str, str] | None = None,
) -> StepOutcome:
    """Run one step once (module docstring). ``force`` (an admin's explicit re-run) forgets
    the ledger row first and runs even for a paused team; the outbox still sends nothing twice.
    ``gaps`` is what ``publish`` does with provisional results (``commands.publication``);
    ``messengers`` names the messengers kpibot speaks (``AppConfig.messengers``)."""
    if step.split(".")[0] not in CYCLE or (step.startswith("remind") and "." not in step):
        return StepOutcome("unknown")
    if team.paused and not force:
        return StepOutcome("paused")
    assert team.id is not None
    ledger.step_lock(session=session, team_id=team.id, period_key=period_key, step=step)
    if force:
        ledger.forget_step(session=session, team_id=team.id, period_key=period_key, step=step)
    if not ledger.claim_step(session=session, team_id=team.id, period_key=period_key, step=step,
                             worker=worker, now=now, note=note):  # fmt: skip
        return StepOutcome("already")
    ctx = StepContext(session, team, period_key, step, now, actor, gaps=gaps,
                      messengers=dict(messengers or {}))  # fmt: skip
    base = step.split(".")[0]
    if base != "daily":
        ctx.scheme = results.load_scheme(team, None, session=session)
        ctx.period = _period(ctx)
        if ctx.period is not None and ctx.period.scheme_id is not None:
            ctx.scheme = results.load_scheme(team, ctx.period, session=session)
    CYCLE[base].run(ctx)
    if (
        base == "publish"
        and ctx.period is not None
        and ctx.results is not None
        and ctx.period.status != "published"
    ):
        repo.set_period_status(session=session, period=ctx.period, status="published", actor=actor,
                               reason="results published", now=now)  # fmt: skip
    ledger.finish_step(session=session, team_id=team.id, period_key=period_key, step=step, now=now)
    log.info("cycle: %s %s %s ran (%s)%s", team.name, period_key, step, ctx.counts,
             f" — {note}" if note else "")  # fmt: skip
    return StepOutcome("ran", ctx.counts)


def _period(ctx: StepContext) -> Period | None:
    found = repo.get_period(session=ctx.session, team=ctx.team, key=ctx.period_key)
    if found is not None or ctx.base != "open":
        return found
    steps = {s.base: s for s in planned(ctx.team, ctx.period_key, session=ctx.session)}
    scheme_row = repo.scheme_for(session=ctx.session, team=ctx.team)
    return repo.get_or_create_period(
        session=ctx.session, team=ctx.team, key=ctx.period_key, status="open", scheme=scheme_row,
        review_opens_at=steps["open"].at, review_closes_at=steps["close"].at,
    )  # fmt: skip


# --- who is who ---------------------------------------------------------------------------


def _agents(ctx: StepContext) -> list[Member]:
    return results.agents_of(ctx.team, session=ctx.session)


def _managers_of(ctx: StepContext, agents: list[Member]) -> dict[int, list[Member]]:
    return managers_of(agents, team=ctx.team, session=ctx.session)


def _has_component(ctx: StepContext, kind: str) -> bool:
    return ctx.scheme is not None and ctx.scheme.component(kind) is not None


# --- open ----------------------------------------------------------------------------------


def open_window(ctx: StepContext) -> None:
    period = ctx.period
    if period is None:
        return
    if period.status == "planned":
        repo.set_period_status(session=ctx.session, period=period, status="open", actor=ctx.actor,
                               reason="review window opened", now=ctx.now)  # fmt: skip
    if period.status != "open":
        return
    steps = {s.base: s for s in planned(ctx.team, ctx.period_key, session=ctx.session)}
    closes = period.review_closes_at or steps["close"].at
    agents = _agents(ctx)
    if _has_component(ctx, "self"):
        for agent in agents:
            _ = translator(lang_of(agent, session=ctx.session))
            ctx.say(
                agent,
                "open.self",
                _(
                    "The self-review for {period} is open until {close}. Send /selfreview to fill "
                    "it in.",
                    period=ctx.period_key,
                    close=TeamClock.of(ctx.team).deadline(closes),
                ),
            )
    if _has_component(ctx, "manager"):
        for boss_id, theirs in _managers_of(ctx, agents).items():
            boss = repo.get_member(session=ctx.session, member_id=boss_id)
            if boss is None:
                continue
            lang = lang_of(boss, session=ctx.session)
            _ = translator(lang)
            ctx.say(boss, "open.manager", _(
                "Manager reviews for {period} are open until {close}: {names}. Send /review NAME.",
                period=ctx.period_key, close=TeamClock.of(ctx.team).deadline(closes),
                names=[a.name for a in theirs]))  # fmt: skip


# --- remind --------------------------------------------------------------------------------


def _reviewed(ctx: StepContext, kind: str) -> set[int]:
    assert ctx.period is not None
    return {
        r.subject_id for r in repo.list_reviews(session=ctx.session, period=ctx.period, kind=kind)
    }


def self_reminder(_: Translate, period_key: str, closes: str) -> str:
    """The reminder of a missing self-review (the cycle's ``remind.N`` and ``/status``'s button)."""
    return _(
        "Reminder: your self-review for {period} is still missing; the window closes {close}. Send "
        "/selfreview.",
        period=period_key,
        close=closes,
    )


def manager_reminder(lang: str, period_key: str, agents: list[str], closes: str) -> str:
    """The reminder of a manager's missing reviews (the cycle's ``remind.N`` and ``/status``'s
    button)."""
    return translator(lang)(
        "Reminder: manager reviews for {period} are still missing for {names}; the window closes "
        "{close}. Send /review NAME.",
        period=period_key,
        names=agents,
        close=closes,
    )


def review_closes(session: Session, team: Team, period: Period) -> datetime | None:
    """When the period's review window closes: as stored, else as the team's plan has it."""
    if period.review_closes_at is not None:
        return period.review_closes_at
    steps = {s.base: s for s in planned(team, period.key, session=session)}
    return steps["close"].at if "close" in steps else None


def remind(ctx: StepContext) -> None:
    period = ctx.period
    if period is None or period.status != "open":
        return
    n = ctx.step.split(".", 1)[1]
    closes = TeamClock.of(ctx.team).deadline(review_closes(ctx.session, ctx.team, period))
    agents = _agents(ctx)
    if _has_component(ctx, "self"):
        done = _reviewed(ctx, "self")
        for agent in agents:
            if agent.id in done:
                continue
            _ = translator(lang_of(agent, session=ctx.session))
            ctx.say(agent, f"remind.self.{n}", self_reminder(_, ctx.period_key, closes))
            ctx.count("self_missing")
    if _has_component(ctx, "manager"):
        done = _reviewed(ctx, "manager")
        for boss_id, theirs in _managers_of(ctx, agents).items():
            missing = [a.name for a in theirs if a.id not in done]
            boss = repo.get_member(session=ctx.session, member_id=boss_id)
            if not missing or boss is None:
                continue
            ctx.say(
                boss,
                f"remind.manager.{n}",
                manager_reminder(
                    lang_of(boss, session=ctx.session), ctx.period_key, missing, closes
                ),
            )
            ctx.count("manager_missing", len(missing))


# --- close ---------------------------------------------------------------------------------


def close_window(ctx: StepContext) -> None:
    period = ctx.period
    if period is None:
        return
    if period.status in ("planned", "open"):
        repo.set_period_status(session=ctx.session, period=period, status="closed", actor=ctx.actor,
                               reason="review window closed", now=ctx.now)  # fmt: skip
    if period.status == "closed" and not results.is_locked(period, session=ctx.session):
        outcome = results.compute_and_store(ctx.team, period, session=ctx.session, actor=ctx.actor,
                                            reason="review window closed")  # fmt: skip
        ctx.count("scored", len(outcome.scored) if outcome else 0)


# --- publish -------------------------------------------------------------------------------


def lock_results(ctx: StepContext) -> results.PeriodResults | None:
    """Scores computed once (unless already locked), stored with the scheme hash, locked;
    None, with nothing changed, when nobody has a score (nothing to publish)."""
    period = ctx.period
    assert period is not None
    if not results.is_locked(period, session=ctx.session):
        fresh = results.compute_and_store(
            ctx.team,
            period,
            session=ctx.session,
            actor=ctx.actor,
            reason="results published",
            as_of=TeamClock.of(ctx.team).date(ctx.now),
        )
        if fresh is None or not fresh.scored:
            return None
    repo.lock_scores(
        session=ctx.session, period=period, actor=ctx.actor, reason="results published", now=ctx.now
    )
    if period.status in ("planned", "open", "closed"):
        repo.set_period_status(session=ctx.session, period=period, status="locked", actor=ctx.actor,
                               reason="scores locked for publication", now=ctx.now)  # fmt: skip
    return results.stored_results(ctx.team, period, session=ctx.session)


def publish(ctx: StepContext) -> None:
    """Lock, mark each score final, held or confirmed (``commands.publication``), broadcast;
    with nothing to publish, change nothing and tell the admins."""
    if ctx.period is None or ctx.scheme is None:
        _nothing_to_publish(ctx)
        return
    locked = lock_results(ctx)
    if locked is None:
        _nothing_to_publish(ctx)
        return
    for what, n in publication.release(
        ctx.session, locked, gaps=ctx.gaps, actor=ctx.actor, now=ctx.now
    ).items():
        if n:
            ctx.count(what, n)
    outcome = results.stored_results(ctx.team, ctx.period, session=ctx.session)
    ctx.results = outcome
    if outcome is None:
        return
    broadcast.result_messages(ctx, outcome)
    broadcast.team_ranking(ctx, outcome)
    broadcast.manager_tables(ctx, outcome)
    _tell_admins_held(ctx, outcome)
    publication.tell_admins_unreachable(ctx, outcome)


def _admins(ctx: StepContext) -> list[Member]:
    return admins_of(session=ctx.session)


def _tell_admins_held(ctx: StepContext, outcome: results.PeriodResults) -> None:
    held = [s for s in outcome.scored if s.held]
    if not held:
        return
    assert ctx.period is not None
    for admin in _admins(ctx):
        lang = lang_of(admin, session=ctx.session)
        _ = translator(lang)
        ctx.say(
            admin,
            "publish.held",
            publication.held_notice(_, lang, ctx.team, ctx.period, outcome.scheme, held),
        )


def _nothing_to_publish(ctx: StepContext) -> None:
    """A scheduled publication with nothing to publish: the period stays as it is; the admins hear
    why."""
    ctx.count("nothing_to_publish")
    if ctx.period is None or ctx.actor != "scheduler":
        return
    check = publication.PeriodCheck(
        ctx.team,
        ctx.period_key,
        ctx.period,
        None
        if ctx.scheme is None
        else results.period_results(ctx.team, ctx.period, session=ctx.session, store=False),
    )
    for admin in _admins(ctx):
        _ = translator(lang_of(admin, session=ctx.session))
        reason = check.nothing(_) or ""
        ctx.say(
            admin,
            "publish.nothing",
            publication.nothing_notice(_, ctx.team, ctx.period_key, reason),
        )


# --- daily and the hooks (the features' work after a step) -------------------------------


def daily(ctx: StepContext) -> None:
    """Nothing of its own: its hooks do the work."""


def apply_consequences(ctx: StepContext) -> None:
    """``publish``: payroll, improvement plans, feedback meetings (``commands.consequences``)."""
    if ctx.period is None or ctx.results is None:
        return
    applied = consequences.apply_results(ctx.session, ctx.team, ctx.period, now=ctx.now)
    ctx.count("feedback_meetings", len(applied.meetings))
    ctx.count("improvement_plans", len(applied.plans))


def follow_up_plans(ctx: StepContext) -> None:
    """``daily``: remind open improvement plans, escalate late ones (``commands.improve``)."""
    for what, n in improve.follow_up(ctx.session, now=ctx.now, team=ctx.team).items():
        ctx.count(f"improve.{what}", n)


def follow_up_appeals(ctx: StepContext) -> None:
    """``daily``: remind deciders of appeals due, tell admins of late ones (``commands.appeal``)."""
    for what, n in appeal.follow_up_deadlines(ctx.session, now=ctx.now, team=ctx.team).items():
        ctx.count(f"appeal.{what}", n)


# --- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step: its own work, then its hooks in order (module docstring)."""

    name: str
    work: Hook
    hooks: tuple[Hook, ...] = ()

    def run(self, ctx: StepContext) -> None:
        self.work(ctx)
        for hook in self.hooks:
            hook(ctx)


CYCLE: dict[str, Step] = {
    step.name: step
    for step in (
        Step("open", open_window, hooks=(feedback.goals_at_open,)),
        Step("remind", remind),
        Step("close", close_window),
        Step("publish", publish, hooks=(apply_consequences,)),
        Step("daily", daily, hooks=(follow_up_plans, follow_up_appeals,
                                    survey_notices.comment_digest_hook)),
    )
}  # fmt: skip
STEP_NAMES: tuple[str, ...] = tuple(CYCLE)

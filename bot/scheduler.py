"""The monthly cycle on a clock: APScheduler jobs derived from the teams' settings at start-up.

    cycle = CycleScheduler(engine)
    await cycle.start()     # catches up missed steps, plans the next ones, replans hourly
    await cycle.stop()

Nothing is stored in APScheduler (its job stores cannot be shared by several processes):
every replica builds the same in-memory jobs from the teams (time zone, scheme ``[cycle]``
rules), one ``DateTrigger`` job per upcoming step (``commands.cycle_plan``) and one daily
job per team (``daily``, at :data:`DAILY_AT` local time). A fired job calls
:func:`commands.cycle.run_step`, which claims the step in the ``step_ledger`` under a
PostgreSQL advisory lock: whichever replica comes first runs it, the others find the row.
Each run is counted in ``kpibot_scheduler_runs_total{step,outcome}`` (``bot.metrics``; step
without its number, ``remind`` for ``remind.2``; outcome ``ran``, ``already``, ``paused``,
``skipped``, ``failed``, ``unknown``).

At start-up (in the background) and at every hourly replan :meth:`CycleScheduler.catch_up` looks
for steps whose time has passed and that are missing from the ledger — the service was down, the
team was paused, a step failed — and runs each once, with a warning in the log. A reminder
more than :data:`LATE_REMINDER` late is not sent any more (recorded as skipped): nobody wants
three reminders at once after an outage.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from commands.cycle import StepOutcome, rules_for, run_step
from commands.cycle_plan import PlannedStep, due_steps, next_steps
from commands.people import TeamClock
from storage import outbox as ledger
from storage import repo
from storage.db import unit_of_work
from storage.models import Team

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DAILY_AT = time(9, 30)
LATE_REMINDER = timedelta(hours=20)
REPLAN_EVERY = timedelta(hours=1)
MISFIRE_GRACE = 3600


@dataclass(frozen=True)
class PlannedJob:
    job_id: str
    team: str
    period_key: str
    step: str
    at: datetime
    local: datetime


@dataclass(frozen=True)
class CaughtUp:
    team: str
    period_key: str
    step: str
    status: str
    """``ran`` / ``already`` / ``skipped`` / ``paused`` / ``failed``."""


def worker_name() -> str:
    return f"{os.uname().nodename}:{os.getpid()}"


class CycleScheduler:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock | None = None,
        worker: str | None = None,
        scheduler: AsyncIOScheduler | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.clock = clock or (lambda: datetime.now(UTC))
        self.worker = worker or worker_name()
        self.scheduler = scheduler or AsyncIOScheduler(timezone=UTC)
        self.planned: dict[str, PlannedJob] = {}
        self._catching_up: asyncio.Task[list[CaughtUp]] | None = None
        self.runs: list[tuple[str, str, str, str]] = []
        """(team, period, step, status) of every step this replica fired or caught up."""

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Plan the jobs and start; the catch-up runs in the background (a late publication
        of a big team must not hold up the replica's start)."""
        await asyncio.to_thread(self.plan_jobs)
        self.scheduler.add_job(self._replan, IntervalTrigger(seconds=REPLAN_EVERY.total_seconds()),
                               id="cycle:replan", replace_existing=True, coalesce=True,
                               misfire_grace_time=MISFIRE_GRACE)  # fmt: skip
        self.scheduler.start()
        self._catching_up = asyncio.create_task(self.catch_up(), name="cycle catch-up")
        log.info("cycle scheduler %s: %d steps planned", self.worker, len(self.planned))

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)  # AsyncIOScheduler does it on the loop's next turn
            await asyncio.sleep(0)
        if self._catching_up is not None and not self._catching_up.done():
            self._catching_up.cancel()

    async def _replan(self) -> None:
        await self.catch_up()
        await asyncio.to_thread(self.plan_jobs)

    # ---------------------------------------------------------------- planning
    def _teams(self) -> list[tuple[Team, list[PlannedStep]]]:
        now = self.clock()
        out = []
        with unit_of_work(self.engine) as session:
            for team in repo.list_teams(session=session):
                rules, kind = rules_for(team, session=session)
                out.append((team, next_steps(rules, team.timezone, kind, now)))
        return out

    def plan_jobs(self) -> list[PlannedJob]:
        """(Re)build the jobs of every team's upcoming steps and daily run; returns the plan."""
        wanted: dict[str, PlannedJob] = {}
        for team, steps in self._teams():
            for step in steps:
                job = PlannedJob(f"cycle:{team.id}:{step.period_key}:{step.step}", team.name,
                                 step.period_key, step.step, step.at, step.local)  # fmt: skip
                wanted[job.job_id] = job
                self.scheduler.add_job(
                    self.fire,
                    DateTrigger(run_date=step.at),
                    args=[team.id, step.period_key, step.step],
                    id=job.job_id,
                    replace_existing=True,
                    coalesce=True,
                    misfire_grace_time=MISFIRE_GRACE,
                )
            self.scheduler.add_job(
                self.fire_daily,
                CronTrigger(hour=DAILY_AT.hour, minute=DAILY_AT.minute, timezone=team.timezone),
                args=[team.id],
                id=f"cycle:{team.id}:daily",
                replace_existing=True,
                coalesce=True,
                misfire_grace_time=MISFIRE_GRACE,
            )
        for job_id in set(self.planned) - set(wanted):
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)
        self.planned = wanted
        return sorted(wanted.values(), key=lambda j: j.at)

    # ---------------------------------------------------------------- firing
    async def fire(self, team_id: int, period_key: str, step: str, note: str | None = None) -> str:
        """Run one step (an APScheduler job, a catch-up, an admin's command)."""
        await asyncio.sleep(random.random() * 0.05)  # replicas firing together: spread a little
        try:
            status = await asyncio.to_thread(self._run, team_id, period_key, step, note)
        except Exception:
            log.exception("cycle: step %s %s of team %s failed; it runs again at the next catch-up",
                          period_key, step, team_id)  # fmt: skip
            status = "failed"
        self._ran(team_id, period_key, step, status)
        return status

    def _ran(self, team_id: int | str, period_key: str, step: str, status: str) -> None:
        self.runs.append((str(team_id), period_key, step, status))
        if self.metrics is not None:
            self.metrics.scheduler_run(step.split(".")[0], status)

    def _run(self, team_id: int, period_key: str, step: str, note: str | None) -> str:
        from bot import messengers  # the registry: adapters and their SDKs, loaded once started

        with unit_of_work(self.engine) as session:
            team = repo.get_team(session=session, team_id=team_id)
            if team is None:
                return "unknown"
            outcome: StepOutcome = run_step(session, team=team, period_key=period_key, step=step,
                                            now=self.clock(), worker=self.worker, note=note,
                                            messengers=messengers.names())  # fmt: skip
            return outcome.status

    async def fire_daily(self, team_id: int) -> str:
        with unit_of_work(self.engine) as session:
            team = repo.get_team(session=session, team_id=team_id)
            day = TeamClock.of(team).date(self.clock()).isoformat() if team is not None else ""
        return await self.fire(team_id, day, "daily")

    async def catch_up(self) -> list[CaughtUp]:
        """Run once every step whose time passed and that the ledger does not have."""
        missing = await asyncio.to_thread(self._missing)
        done: list[CaughtUp] = []
        now = self.clock()
        for team, step in missing:
            late = now - step.at
            if step.base == "remind" and late > LATE_REMINDER:
                status = await asyncio.to_thread(self._skip, team, step)
            else:
                log.warning(
                    "cycle: %s %s %s was due %s (%s ago) and did not run: running it now",
                    team.name,
                    step.period_key,
                    step.step,
                    step.at.isoformat(),
                    late,
                )
                status = await self.fire(
                    team.id or 0,
                    step.period_key,
                    step.step,
                    note=f"missed at {step.at.isoformat()}, run late",
                )
            done.append(CaughtUp(team.name, step.period_key, step.step, status))
        return done

    def _missing(self) -> list[tuple[Team, PlannedStep]]:
        now = self.clock()
        out: list[tuple[Team, PlannedStep]] = []
        with unit_of_work(self.engine) as session:
            for team in repo.list_teams(session=session):
                if team.paused:
                    continue
                rules, kind = rules_for(team, session=session)
                for step in due_steps(rules, team.timezone, kind, now, since=team.created_at):
                    if (
                        ledger.get_step(
                            session=session,
                            team_id=team.id or 0,
                            period_key=step.period_key,
                            step=step.step,
                        )
                        is None
                    ):
                        out.append((team, step))
        return out

    def _skip(self, team: Team, step: PlannedStep) -> str:
        with unit_of_work(self.engine) as session:
            ledger.step_lock(
                session=session, team_id=team.id or 0, period_key=step.period_key, step=step.step
            )
            claimed = ledger.claim_step(
                session=session,
                team_id=team.id or 0,
                period_key=step.period_key,
                step=step.step,
                worker=self.worker,
                now=self.clock(),
                note=f"skipped: due {step.at.isoformat()}, too late for a reminder",
            )
            if claimed:
                ledger.finish_step(
                    session=session,
                    team_id=team.id or 0,
                    period_key=step.period_key,
                    step=step.step,
                    now=self.clock(),
                )
        log.warning("cycle: %s %s %s was due %s; too late for a reminder, skipped",
                    team.name, step.period_key, step.step, step.at.isoformat())  # fmt: skip
        status = "skipped" if claimed else "already"
        self._ran(team.id or 0, step.period_key, step.step, status)
        return status

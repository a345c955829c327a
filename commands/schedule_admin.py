"""Admin commands for the monthly cycle (admins only):

* ``/schedule [TEAM]`` — each team's time zone, whether it is paused, the next steps in
  local time, and the last steps run (who ran them, notes such as "run late");
* ``/runstep STEP [TEAM] [PERIOD] [confirm|hold]`` — run a step now (``open``, ``remind.1``,
  ``close``, ``publish``, ``daily``), even if it ran before: the outbox still sends nobody the
  same message twice. The team defaults to the admin's own, the period to the one whose
  review window runs this month. ``publish`` with nothing to publish is refused; ``publish``
  or ``close`` with provisional results lists who is missing what and runs only with
  ``confirm`` (or, for publish, ``hold``): :func:`refusal`, ``commands.publication``;
* ``/pause TEAM`` / ``/resume TEAM`` — hold a team's steps (audited). Steps missed while
  paused run at the next catch-up (hourly, and at start-up); reminders more than a day
  late are skipped.

The same functions serve ``kpibot cycle show|run-step|pause`` (``bot/cli/cycle.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from commands import permissions, publication
from commands.context import Command, Context
from commands.cycle import STEP_NAMES, StepOutcome, rules_for, run_step
from commands.cycle_plan import next_steps, recent_periods
from commands.i18n import Translate
from commands.messages import Reply
from commands.people import TeamClock
from commands.permissions import N_
from commands.publication import Gaps
from storage import outbox as ledger
from storage import repo
from storage.models import Member, Team

SHOWN_NEXT = 6
SHOWN_RECENT = 5


CHOICES = ("confirm", "hold")
"""The last word of ``/runstep publish|close …``: what to do with provisional results
(``commands.publication``); ``hold`` is for ``publish`` only."""


@dataclass(frozen=True)
class RunRequest:
    team: Team
    period_key: str
    step: str
    choice: Gaps | None = None


STEP_TITLES = {
    "open": N_("opening"), "close": N_("closing"), "publish": N_("publication"),
    "daily": N_("daily follow-up"),
}  # fmt: skip
COUNT_TEXTS = {
    "self_missing": N_("self-review reminders: {n}"),
    "manager_missing": N_("agents still waiting for their manager review: {n}"),
    "scored": N_("results scored: {n}"),
    "nothing_to_publish": N_("nothing to publish"),
    "feedback_meetings": N_("feedback meetings offered: {n}"),
    "improvement_plans": N_("improvement plans asked for: {n}"),
    "held_told": N_("agents told their result is held: {n}"),
    "results": N_("results sent: {n}"),
    "queued": N_("messages queued: {n}"),
    "manager_tables": N_("manager tables sent: {n}"),
    "survey.digests": N_("survey comment digests: {n}"),
    "improve.escalated": N_("overdue improvement plans escalated: {n}"),
    "improve.reminded": N_("improvement plan reminders: {n}"),
    "appeal.reminded": N_("appeal deadline reminders: {n}"),
    "appeal.late": N_("late appeals reported: {n}"),
    "final": N_("results final: {n}"),
    "held": N_("provisional results held: {n}"),
    "confirmed": N_("provisional results published as confirmed: {n}"),
    "unreachable": N_("people no platform reaches (their messages wait in /inbox): {n}"),
}
"""What a step's counts (``StepOutcome.counts``) say, as a sentence part in the reader's
language."""


def step_title(_: Translate, step: str) -> str:
    """A step as the schedule reads it: ``remind.2`` is the second reminder, never the id."""
    base, _sep, number = step.partition(".")
    if base == "remind" and number.isdigit():
        return _("reminder {n}", n=int(number))
    return _(STEP_TITLES[step]) if step in STEP_TITLES else step


def count_text(_: Translate, counts: dict[str, int]) -> str:
    """``{"manager_missing": 7, "queued": 3}`` → ``7 agents still waiting …, 3 messages queued``."""
    parts = [
        _(COUNT_TEXTS[k], n=v) if k in COUNT_TEXTS else f"{k} {v}"
        for k, v in sorted(counts.items())
    ]
    return _(", ").join(parts) or _("nothing to do")


def who_ran(_: Translate, session: Session, claimed_by: str) -> str:
    """Who ran a step, by name: ``chat:2`` / ``member:2`` is that member, the scheduler and the CLI
    say so."""
    head, _sep, tail = claimed_by.partition(":")
    if head in ("chat", "member") and tail.isdigit():
        member = repo.get_member(session=session, member_id=int(tail))
        return member.name if member is not None else _("a former member")
    if head == "cli":
        return _("the command line")
    return _("the schedule")


def schedule_lines(_: Translate, team: Team, *, session: Session, now: datetime) -> list[str]:
    """What ``/schedule`` says about one team."""
    rules, kind = rules_for(team, session=session)
    clock = TeamClock.of(team)
    head = _("{team} ({tz}): paused", team=team.name, tz=team.timezone) if team.paused else _(
        "{team} ({tz})", team=team.name, tz=team.timezone)  # fmt: skip
    lines = [head, _("Next steps:")]
    for step in next_steps(rules, team.timezone, kind, now)[:SHOWN_NEXT]:
        # the close is a deadline: shown as its last open minute, as every reply shows it
        local = clock.last_minute(step.at) if step.base == "close" else step.local
        lines.append(f"· {clock_text(_, local)} {step.period_key} {step_title(_, step.step)}")
    done = ledger.list_steps(session=session, team_id=team.id)[-SHOWN_RECENT:]
    if done:
        lines.append(_("Last steps run:"))
    for row in reversed(done):
        at = clock.text(row.claimed_at)
        note = f" — {note_text(_, session, row.note, clock)}" if row.note else ""
        lines.append(
            _(
                "· {at} {period} {step} ({who}){note}",
                at=at,
                period=row.period_key,
                step=step_title(_, row.step),
                who=who_ran(_, session, row.claimed_by),
                note=note,
            )
        )
    return lines


WEEKDAYS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


def clock_text(_: Translate, local: datetime) -> str:
    """``2026-11-01 周日 09:00`` / ``2026-11-01 Sun 09:00``: the weekday in the reader's
    language."""
    return f"{local.strftime('%Y-%m-%d')} {_(WEEKDAYS[local.weekday()])} {local.strftime('%H:%M')}"


LATE = re.compile(r"^missed at (\S+), run late$")
SKIPPED = re.compile(r"^skipped: due (\S+), too late for a reminder$")


def note_text(_: Translate, session: Session, note: str, clock: TeamClock) -> str:
    """A step's note as stored (``run by member:2``, ``missed at <UTC>, run late``) in the
    reader's words and the team's time."""

    def local(iso: str) -> str:
        try:
            return clock.text(datetime.fromisoformat(iso))
        except ValueError:
            return iso

    if note.startswith("run by "):
        return _("run by {name}", name=who_ran(_, session, note[len("run by ") :]))
    if match := LATE.match(note):
        return _("missed at {when}, run late", when=local(match.group(1)))
    if match := SKIPPED.match(note):
        return _("skipped: due {when}, too late for a reminder", when=local(match.group(1)))
    return _("run from the command line") if note == "run from the command line" else note


def valid_step(step: str) -> bool:
    base, _sep, number = step.partition(".")
    if base == "remind":
        return number.isdigit() and int(number) >= 1
    return base in STEP_NAMES and not number


def default_period(team: Team, step: str, *, session: Session, now: datetime) -> str:
    """``daily`` → today's local date; else the period whose window runs this month."""
    if step == "daily":
        return TeamClock.of(team).date(now).isoformat()
    _rules, kind = rules_for(team, session=session)
    return recent_periods(team.timezone, kind, now, back=1)[-1]


def parse_run(
    _: Translate, args: str, *, actor: Member | None, session: Session, now: datetime
) -> tuple[RunRequest | None, list[str]]:
    """``STEP [TEAM] [PERIOD]`` → a request, or one problem a line."""
    words = args.split()
    if not words:
        return None, [
            _(
                "Send /runstep STEP [TEAM] [PERIOD], STEP one of: open, remind.1, close, publish, "
                "daily."
            )
        ]
    choice: Gaps | None = None
    if len(words) > 1 and words[-1].lower() in CHOICES:
        choice = "confirm" if words.pop().lower() == "confirm" else "hold"
    step, rest = words[0], words[1:]
    problems = []
    if not valid_step(step):
        problems.append(
            _("Unknown step {step}: use open, remind.1, close, publish or daily.", step=step)
        )
    elif choice == "hold" and step != "publish":
        problems.append(
            _(
                "hold is only for publish: it publishes the complete results and holds the "
                "provisional ones."
            )
        )
    elif choice == "confirm" and step not in ("publish", "close"):
        problems.append(_("confirm is only for publish and close."))
    team: Team | None = None
    if rest:
        team = repo.get_team_by_name(session=session, name=rest[0])
        if team is None:
            problems.append(_("There is no team called {team}.", team=rest[0]))
    elif actor is not None:
        team = repo.get_team(session=session, team_id=actor.team_id)
    else:
        problems.append(_("Name the team."))
    period_key = rest[1] if len(rest) > 1 else None
    if period_key is not None and step != "daily":
        try:
            repo.period_bounds(period_key)
        except ValueError:
            problems.append(
                _("A period is like 2026-10 or 2026-Q4; got {period}.", period=period_key)
            )
    if problems or team is None:
        return None, problems
    key = period_key or default_period(team, step, session=session, now=now)
    return RunRequest(team, key, step, choice), []


@dataclass(frozen=True)
class Refusal:
    text: str
    question: bool
    """True: provisional results wait for the admin's choice; False: nothing to publish."""


def refusal(
    _: Translate, lang: str, request: RunRequest, *, session: Session, confirm: str, hold: str
) -> Refusal | None:
    """Why a manual ``publish`` or ``close`` does not run yet (nothing changed), or None.

    Nothing to publish is refused; provisional results (who is missing what) are listed
    and wait for the admin's ``confirm`` (or ``hold`` for publish): ``commands.publication``.
    """
    if request.step not in ("publish", "close"):
        return None
    check = publication.check_period(session, request.team, request.period_key)
    if request.step == "publish":
        nothing = check.nothing(_)
        if nothing is not None:
            return Refusal(nothing, question=False)
        if check.gaps and request.choice is None:
            return Refusal(
                publication.ask_publish(_, lang, check, confirm=confirm, hold=hold), question=True
            )
        return None
    if (
        check.period is None
        or check.period.status not in ("planned", "open")
        or request.choice == "confirm"
    ):
        return None
    return (
        Refusal(publication.ask_close(_, lang, check, confirm=confirm), question=True)
        if check.gaps
        else None
    )


def outcome_text(_: Translate, request: RunRequest, outcome: StepOutcome) -> str:
    if outcome.status == "ran":
        return _(
            "Ran {step} for {team} {period}: {counts}.",
            step=step_title(_, request.step),
            team=request.team.name,
            period=request.period_key,
            counts=count_text(_, outcome.counts),
        )
    statuses = {
        "already": _("it ran before"),
        "paused": _("the team is paused"),
        "unknown": _("no such step"),
    }
    return _(
        "{step} for {team} {period} did not run ({status}).",
        step=step_title(_, request.step),
        team=request.team.name,
        period=request.period_key,
        status=statuses.get(outcome.status, outcome.status),
    )


def set_paused(team: Team, paused: bool, *, session: Session, actor: str, now: datetime) -> bool:
    """Pause or resume a team (audited); ``False`` when it already was."""
    if team.paused == paused:
        return False
    before = repo.snapshot(team)
    team.paused = paused
    session.add(team)
    session.flush()
    repo.append_audit(
        session=session,
        actor=actor,
        action="team.paused" if paused else "team.resumed",
        entity="team",
        entity_id=str(team.id),
        before=before,
        after=repo.snapshot(team),
        reason="cycle paused" if paused else "cycle resumed",
        at=now,
    )
    return True


# --- chat ----------------------------------------------------------------------------------


def _refused(ctx: Context) -> list[Reply] | None:
    if ctx.actor.role == "admin" and ctx.actor.active:
        return None
    return [
        Reply(text=ctx._("Only an admin can see and change the monthly schedule."), ephemeral=True)
    ]


def schedule(ctx: Context, args: str) -> list[Reply]:
    refused = _refused(ctx)
    if refused:
        return refused
    name = args.strip()
    if name:
        team = repo.get_team_by_name(session=ctx.session, name=name)
        if team is None:
            return [Reply(text=ctx._("There is no team called {team}.", team=name), ephemeral=True)]
        teams = [team]
    else:
        teams = repo.list_teams(session=ctx.session)
    lines: list[str] = []
    for team in teams:
        lines += schedule_lines(ctx._, team, session=ctx.session, now=ctx.now)
    return [Reply(text="\n".join(lines) or ctx._("There are no teams yet."), private=True)]


def runstep(ctx: Context, args: str) -> list[Reply]:
    refused = _refused(ctx)
    if refused:
        return refused
    request, problems = parse_run(ctx._, args, actor=ctx.actor, session=ctx.session, now=ctx.now)
    if request is None:
        return [Reply(text="\n".join(problems), ephemeral=True)]
    again = f"/runstep {request.step} {request.team.name} {request.period_key}"
    waiting = refusal(
        ctx._,
        ctx.lang,
        request,
        session=ctx.session,
        confirm=f"{again} confirm",
        hold=f"{again} hold",
    )
    if waiting is not None:
        return [Reply(text=waiting.text, private=True)]
    outcome = run_step(
        ctx.session,
        team=request.team,
        period_key=request.period_key,
        step=request.step,
        now=ctx.now,
        worker=f"chat:{ctx.actor.id}",
        actor=repo.actor_of(ctx.actor),
        note=f"run by {repo.actor_of(ctx.actor)}",
        force=True,
        gaps=request.choice or "hold",
        messengers=ctx.config.messengers,
    )
    return [Reply(text=outcome_text(ctx._, request, outcome), private=True)]


def _pause(ctx: Context, args: str, paused: bool) -> list[Reply]:
    refused = _refused(ctx)
    if refused:
        return refused
    name = args.strip()
    if not name:
        return [Reply(text=ctx._("Name the team."), ephemeral=True)]
    team = repo.get_team_by_name(session=ctx.session, name=name)
    if team is None:
        return [Reply(text=ctx._("There is no team called {team}.", team=name), ephemeral=True)]
    changed = set_paused(
        team, paused, session=ctx.session, actor=repo.actor_of(ctx.actor), now=ctx.now
    )
    if paused:
        text = (
            ctx._("{team} is paused: no step runs until /resume {team}.", team=team.name)
            if changed
            else ctx._("{team} was already paused.", team=team.name)
        )
    else:
        text = (
            ctx._(
                "{team} runs again; steps missed meanwhile run at the next catch-up (within the "
                "hour).",
                team=team.name,
            )
            if changed
            else ctx._("{team} was not paused.", team=team.name)
        )
    return [Reply(text=text, private=True)]


def pause(ctx: Context, args: str) -> list[Reply]:
    return _pause(ctx, args, True)


def resume(ctx: Context, args: str) -> list[Reply]:
    return _pause(ctx, args, False)


COMMANDS: tuple[Command, ...] = (
    Command(
        "schedule",
        schedule,
        permissions.ADMINS,
        what=N_("the monthly schedule of a team: when the window opens, reminders, close, results"),
        example="/schedule demo",
        refusal=N_(
            "The command /schedule is not available to you: only an admin sees and runs the "
            "monthly schedule."
        ),
    ),
    Command(
        "runstep",
        runstep,
        permissions.ADMINS,
        what=N_(
            "run one step of the monthly schedule now (open, remind, close, publish); results that "
            "lack a required part are listed first and wait for confirm or hold"
        ),
        example="/runstep publish demo 2026-10",
        refusal=N_(
            "The command /runstep is not available to you: only an admin sees and runs the monthly "
            "schedule."
        ),
    ),
    Command(
        "pause",
        pause,
        permissions.ADMINS,
        what=N_("pause a team's monthly schedule"),
        example="/pause demo",
        refusal=N_(
            "The command /pause is not available to you: only an admin pauses a team's schedule."
        ),
    ),
    Command(
        "resume",
        resume,
        permissions.ADMINS,
        what=N_("resume a team's monthly schedule"),
        example="/resume demo",
        refusal=N_(
            "The command /resume is not available to you: only an admin pauses a team's schedule."
        ),
    ),
)

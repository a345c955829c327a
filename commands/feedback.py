"""Feedback meetings (绩效反馈面谈, seed 000's five steps) and the goals agreed in them.

At publication (:func:`prepare_meeting`, called for every scored agent by
``commands.consequences.apply_results``) the manager gets one prompt per agent:

1. **class** across the team and over time: *high* when the total is at least the team's
   median, else *low*; *rising* / *falling* when the total is at least
   :data:`TREND_POINTS` above / below the mean of the agent's earlier totals (up to three
   periods), *steady* in between, *new* without history;
2. **goal and sub-goals**: the overall goal is a better total; two or three sub-goals are the
   weakest indicators (most points lost), each with the next band's target, plus what the
   review comments ask to improve;
3. **the four questions** answered with data: the targets, what was achieved, why (the
   indicators that lost the most points and the reviews' comments), which way to improve;
4. **slots**: three times in both people's working hours (:data:`WORK_HOURS`, weekdays, the
   team's time zone) from the next working day; the agent accepts one with a button or
   counters with ``/feedback counter YYYY-MM-DD HH:MM``, which the manager accepts;
5. **outline**: the questions in order and where answers are recorded
   (``/feedback notes AGENT …``, ``/feedback goal AGENT …``).

After the meeting the manager records notes and SMART goals (a number and a date):
``/feedback goal AGENT conversion_rate=0.45 2026-12-31 TEXT`` — a goal on a scheme indicator
becomes the agent's personal target for the next period when the scheme allows
(``apply.personal_goals``) and is shown in their next self-review (:func:`goal_lines`). The
agent acknowledges the result (``/feedback ack`` or the button) or appeals (``/appeal``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from commands import explain, numbers, outbox, permissions, results
from commands.context import Command, Context, Handler
from commands.i18n import Translate, translator
from commands.messages import Button, Reply
from commands.people import SLOT_MINUTES, TeamClock, lang_of, manager_of, zone_of
from commands.permissions import N_
from commands.publication import published_at
from commands.step_context import StepContext
from scoring import Scheme
from scoring.scheme import Indicator
from storage import consequences as store
from storage import repo
from storage.models import Member, Period, Team
from storage.models.consequences import FeedbackMeeting, MeetingSlot

TREND_POINTS = 2.0
SLOT_TIMES = (time(10, 0), time(14, 0), time(16, 0))
ACTION = "feedback"
GOAL_PLACES = 1
"""A goal's target on an indicator the scheme no longer has (no unit to write it in): this
many decimals at most."""


# -- 1. class ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    level: str  # high | low
    trend: str  # rising | falling | steady | new
    median: float
    previous_mean: float | None


def classify(
    total: float, team_totals: Sequence[float], past_totals: Sequence[float]
) -> Classification:
    """High/low against the team's median; rising/falling against the mean of earlier totals."""
    median = statistics.median(team_totals) if team_totals else total
    level = "high" if total >= median else "low"
    past = [t for t in past_totals if t is not None]
    if not past:
        return Classification(level, "new", median, None)
    before = statistics.fmean(past)
    if total - before >= TREND_POINTS:
        trend = "rising"
    elif before - total >= TREND_POINTS:
        trend = "falling"
    else:
        trend = "steady"
    return Classification(level, trend, median, before)


def class_text(_: Translate, c: Mapping[str, Any]) -> str:
    level = _("high performer") if c["level"] == "high" else _("low performer")
    trend = {
        "rising": _("rising"), "falling": _("falling"), "steady": _("steady"),
        "new": _("no earlier periods"),
    }[c["trend"]]  # fmt: skip
    return f"{level} · {trend}"


# -- 2./3. goals and the four questions ----------------------------------------------------------


def weakest(breakdown: Mapping[str, Any], scheme: Scheme, n: int = 3) -> list[dict[str, Any]]:
    """The indicators that lost the most points (ties: the scheme's order), as JSON-able dicts."""
    rows = []
    for order, ind in enumerate(scheme.indicators):
        got = (breakdown.get("indicators") or {}).get(ind.id)
        if not got or got.get("status") == "excluded" or got.get("points") is None:
            continue
        lost = float(got.get("max_points") or ind.points) - float(got["points"])
        if lost <= 1e-9:
            continue
        value = got.get("value")
        rows.append({
            "indicator": ind.id, "zh": ind.name.zh, "en": ind.name.en, "unit": ind.unit,
            "better": ind.better, "value": value, "points": float(got["points"]),
            "max_points": float(got.get("max_points") or ind.points), "lost": lost,
            "target": ind.method.next_target(None if value is None else float(value), ind.better),
            "order": order,
        })  # fmt: skip
    rows.sort(key=lambda r: (-r["lost"], r["order"]))
    return rows[:n]


def review_comments(session: Session, period: Period, member: Member) -> dict[str, str]:
    """What the manager and the agent wrote (comments of the manager and self reviews)."""
    out: dict[str, str] = {}
    for kind in ("manager", "self"):
        for review in repo.list_reviews(session=session, period=period, kind=kind, subject=member):
            for key, text in (review.comments or {}).items():
                if isinstance(text, str) and text.strip():
                    out[f"{kind}.{key}"] = text.strip()
    return out


def review_notes(session: Session, period: Period, member: Member) -> dict[str, list[str]]:
    """The reviews' words sorted by what they are for the meeting: what the agent wants to improve
    (a sub-goal), why points were lost (the manager's reasons for a low score, the manager's
    comment) and praise (the reasons for a top score), never praise as a sub-goal."""
    notes: dict[str, list[str]] = {"to_improve": [], "why": [], "praise": []}
    for kind in ("self", "manager"):
        for review in repo.list_reviews(session=session, period=period, kind=kind, subject=member):
            answers = review.answers or {}
            for key, text in (review.comments or {}).items():
                if not isinstance(text, str) or not text.strip():
                    continue
                if kind == "self":
                    if key == "to_improve":
                        notes["to_improve"].append(text.strip())
                    continue
                score = answers.get(key)
                top = isinstance(score, int | float) and not isinstance(score, bool) and score >= 5
                notes["praise" if top else "why"].append(text.strip())
    return notes


# -- 4. slots --------------------------------------------------------------------------------


def propose_slots(
    after: datetime,
    tz: str,
    *,
    count: int = 3,
    busy: Sequence[datetime] = (),
    before: datetime | None = None,
) -> list[datetime]:
    """``count`` meeting times (UTC) in working hours on weekdays, from the next working day on.

    One slot a day, cycling through :data:`SLOT_TIMES`, skipping times in ``busy``. With ``before``
    (an improvement plan's deadline) every slot ends by then: when one a day does not fit, the
    free times before it are used, several a day; only when none is free before it are the
    usual later times offered.
    """
    local = after.astimezone(zone_of(tz))
    day = local.date() + timedelta(days=1)
    out: list[datetime] = []
    taken = {b.astimezone(ZoneInfo("UTC")) for b in busy}

    def fits(at: datetime) -> bool:
        return before is None or at + timedelta(minutes=SLOT_MINUTES) <= before

    i = 0
    while len(out) < count:
        if day.weekday() < 5:
            for j in range(len(SLOT_TIMES)):
                at = datetime.combine(
                    day, SLOT_TIMES[(i + j) % len(SLOT_TIMES)], zone_of(tz)
                ).astimezone(ZoneInfo("UTC"))
                if at not in taken:
                    if fits(at):
                        out.append(at)
                    break
            i += 1
        if before is not None and datetime.combine(day, time(0, 0), zone_of(tz)) >= before:
            break
        day += timedelta(days=1)
    if before is None or len(out) >= count:
        return out
    day = local.date() + timedelta(days=1)
    while len(out) < count and datetime.combine(day, time(0, 0), zone_of(tz)) < before:
        if day.weekday() < 5:
            for slot in SLOT_TIMES:
                at = datetime.combine(day, slot, zone_of(tz)).astimezone(ZoneInfo("UTC"))
                if len(out) < count and at not in taken and at not in out and fits(at):
                    out.append(at)
        day += timedelta(days=1)
    if not out:
        return propose_slots(after, tz, count=count, busy=busy)
    return sorted(out)


def meeting_order(
    session: Session, period: Period, outcome: results.PeriodResults
) -> list[results.AgentScore]:
    """Who is offered a feedback meeting first (issue 14 item 10): those the result has consequences
    for — an improvement plan (the last N), a change of post, an open appeal — then the rest, each
    group in rank order. :func:`prepare_meeting` called in this order gives them the earliest
    times."""
    appealing = {
        a.member_id for a in store.list_appeals(session=session, period=period, statuses=["open"])
    }

    def key(score: results.AgentScore) -> tuple[int, float, str]:
        urgent = (
            bool(score.flags.get("improvement_due") or score.flags.get("post_change"))
            or score.member_id in appealing
        )
        return (0 if urgent else 1, score.rank if score.rank is not None else math.inf, score.name)

    return sorted(outcome.scored, key=key)


# -- 5. outline --------------------------------------------------------------------------------

OUTLINE: tuple[str, ...] = (
    "Open: the purpose of the meeting and how long it takes.",
    "Ask the agent how they see their month before showing the numbers.",
    "Go through the four questions: targets, results, causes, direction.",
    "Agree on the causes of the weakest indicators.",
    "Agree next period's goals: a number and a date for each.",
    "Ask what support the agent needs.",
    "Summarise and thank the agent.",
)


# -- building the prompt -------------------------------------------------------------------------


def build_prompt(
    session: Session,
    team: Team,
    period: Period,
    member: Member,
    outcome: results.PeriodResults,
    *,
    now: datetime,
) -> dict[str, Any]:
    """The five parts as data (JSON), rendered in the manager's language when sent."""
    mine = outcome.of(member.id)
    assert mine is not None and mine.total is not None
    totals = [s.total for s in outcome.scored if s.total is not None]
    past = [
        h.total
        for h in results.history(team, member, period, session=session)
        if h.total is not None
    ]
    c = classify(mine.total, totals, past)
    weak = weakest(mine.breakdown, outcome.scheme)
    return {
        "period": period.key,
        "agent": member.name,
        "total": mine.total,
        "rank": mine.rank,
        "group_size": mine.group_size,
        "class": {
            "level": c.level,
            "trend": c.trend,
            "median": c.median,
            "previous_mean": c.previous_mean,
        },
        "precision": outcome.scheme.precision,
        "subgoals": weak[:3] if len(weak) >= 2 else weak,
        "notes": review_notes(session, period, member),
        "components": {
            k: {"points": v.get("points"), "weight": v.get("declared_weight")}
            for k, v in (mine.breakdown.get("components") or {}).items()
        },  # fmt: skip
        "outline": list(OUTLINE),
    }


def _indicator(scheme: Scheme | None, indicator_id: str) -> Indicator | None:
    return next((i for i in scheme.indicators if i.id == indicator_id), None) if scheme else None


def _notes(prompt: Mapping[str, Any]) -> dict[str, list[str]]:
    """The reviews' words of a prompt (one stored before ``notes``: its ``comments``)."""
    if "notes" in prompt:
        return {k: list(v) for k, v in prompt["notes"].items()}
    old = prompt.get("comments") or {}
    return {"to_improve": [t for k, t in old.items() if k == "self.to_improve"],
            "why": [t for k, t in old.items() if k != "self.to_improve"], "praise": []}  # fmt: skip


def render_prompt(
    _: Translate,
    lang: str,
    prompt: Mapping[str, Any],
    slots: Sequence[datetime],
    tz: str,
    scheme: Scheme | None = None,
) -> str:
    """The manager's prompt in five numbered parts: numbers as people read them (¥58,278.30,
    23.5%, 45 秒), points at the scheme's precision, one target per indicator (its method's next
    target, the same in the sub-goal and in the four questions)."""
    places = int(prompt.get("precision", scheme.precision if scheme else 1))
    sep = _("; ")

    def name(s: Mapping[str, Any]) -> str:
        return str(s["zh"] if lang == "zh" else s["en"])

    def shown(s: Mapping[str, Any], key: str) -> str:
        ind = _indicator(scheme, s["indicator"])
        if ind is not None:
            return explain.value_text(_, lang, ind, s[key])
        return explain.unit_value_text(_, str(s.get("unit") or ""), s[key])

    lines = [
        _(
            "Feedback meeting with {agent} about {period}: total {total}, rank {rank} of {size}.",
            agent=prompt["agent"],
            period=prompt["period"],
            total=numbers.total(prompt["total"], places),
            rank=prompt.get("rank") or "—",
            size=prompt.get("group_size") or "—",
        )
    ]
    c = prompt["class"]
    lines.append(
        _(
            "1. Class: {cls} (team median {median}; earlier mean {before}).",
            cls=class_text(_, c),
            median=numbers.total(c["median"], places),
            before=numbers.total(c.get("previous_mean"), places),
        )
    )
    subs = prompt.get("subgoals") or []
    notes = _notes(prompt)
    lines.append(_("2. Goal: a better total next period. Sub-goals:"))
    for s in subs:
        lines.append(
            _(
                "   · {name}: from {value} to {target}",
                name=name(s),
                value=shown(s, "value"),
                target=shown(s, "target"),
            )
        )
    for text in notes["to_improve"]:
        lines.append(_("   · from the reviews: {text}", text=text))
    if not subs:
        lines.append(_("   · keep every indicator at full points"))
    lines.append(_("3. The four questions:"))
    targets = sep.join(_("{name} {target}", name=name(s), target=shown(s, "target")) for s in subs)
    lines.append(
        _(
            "   What was the target? {targets}",
            targets=targets or _("every indicator at full points"),
        )
    )
    achieved = sep.join(
        _("{name} {value} ({points} of {max} points)", name=name(s), value=shown(s, "value"),
          points=numbers.part(s["points"], places), max=numbers.part(s["max_points"], places))
        for s in subs
    ) or _("full points on every indicator")  # fmt: skip
    lines.append(_("   What was achieved? {achieved}", achieved=achieved))
    if notes["praise"]:
        lines.append(_("   Praised in the reviews: {text}", text=sep.join(notes["praise"])))
    why = [
        _("{name} lost {lost} points", name=name(s), lost=numbers.part(s["lost"], places))
        for s in subs
    ]
    why += notes["why"]
    lines.append(_("   Why? {why}", why=sep.join(why) or _("nothing stands out")))
    direction = sep.join(
        _("raise {name} to {target}", name=name(s), target=shown(s, "target"))
        if s["better"] == "higher" else
        _("bring {name} down to {target}", name=name(s), target=shown(s, "target"))
        for s in subs
    ) or _("keep up the level")  # fmt: skip
    lines.append(_("   Which way to improve? {direction}", direction=direction))
    lines.append(_("4. Proposed times (the agent accepts one or counters):"))
    for at in slots:
        lines.append(f"   · {TeamClock.of(tz).text(at)} ({tz})")
    lines.append(_("   Choose a quiet room without interruptions."))
    lines.append(_("5. Outline:"))
    for i, step in enumerate(prompt.get("outline") or OUTLINE, start=1):
        lines.append(f"   {i}. {_(step)}")
    lines.append(
        _(
            "Record the answers with /feedback notes {agent} TEXT and the goals with /feedback "
            "goal {agent} INDICATOR=NUMBER YYYY-MM-DD TEXT.",
            agent=prompt["agent"],
        )
    )
    return "\n".join(lines)


def meeting_deadline(
    session: Session,
    team: Team,
    period: Period,
    outcome: results.PeriodResults,
    member: Member,
    *,
    now: datetime,
) -> datetime | None:
    """By when the meeting should be held: the improvement plan's deadline when the result asks for
    a plan (``results.plan_deadline``, the one rule), else None."""
    mine = outcome.of(member.id)
    if mine is None or not mine.flags.get("improvement_due"):
        return None
    return results.plan_deadline(
        team, published_at(session, period) or now, outcome.scheme.apply.improvement_days
    )


def prepare_meeting(
    session: Session,
    team: Team,
    period: Period,
    member: Member,
    outcome: results.PeriodResults,
    *,
    now: datetime,
) -> FeedbackMeeting | None:
    """Create the meeting with its prompt and slots, and queue the prompt and the slot offer."""
    if outcome.of(member.id) is None or outcome.of(member.id).total is None:  # type: ignore[union-attr]
        return None
    manager = manager_of(member, session=session)
    prompt = build_prompt(session, team, period, member, outcome, now=now)
    meeting, created = store.ensure_meeting(
        session=session,
        team=team,
        period=period,
        member=member,
        manager=manager,
        prompt=prompt,
        now=now,
    )
    if not created:
        return meeting
    busy = [
        s.starts_at
        for m in store.list_meetings(session=session, period=period, manager_id=meeting.manager_id)
        for s in store.list_slots(session=session, meeting=m)
    ]
    slots = store.offer_slots(
        session=session,
        meeting=meeting,
        proposed_by="system",
        now=now,
        starts=propose_slots(
            now,
            team.timezone,
            busy=busy,
            before=meeting_deadline(session, team, period, outcome, member, now=now),
        ),
    )
    store.update_meeting(session=session, meeting=meeting, actor="system", reason="slots proposed",
                         now=now, status="proposed")  # fmt: skip
    if manager is not None:
        _m = translator(lang_of(manager, session=session))
        text = render_prompt(
            _m,
            lang_of(manager, session=session),
            prompt,
            [s.starts_at for s in slots],
            team.timezone,
            outcome.scheme,
        )
        outbox.enqueue(
            session,
            team=team,
            period=period,
            member=manager,
            kind=f"feedback.prompt.{member.id}",
            reply=Reply(text=text, private=True),
            now=now,
        )
    _a = translator(lang_of(member, session=session))
    outbox.enqueue(
        session,
        team=team,
        period=period,
        member=member,
        kind="feedback.slots",
        reply=slot_offer(_a, member, manager, slots, team.timezone),
        now=now,
    )
    return meeting


def slot_offer(
    _: Translate, member: Member, manager: Member | None, slots: Sequence[MeetingSlot], tz: str
) -> Reply:
    text = _(
        "{manager} would like a feedback meeting with you. Pick a time, or send /feedback counter "
        "YYYY-MM-DD HH:MM ({tz}) for another one on a weekday between 09:00 and 18:00.",
        manager=manager.name if manager else _("Your manager"),
        tz=tz,
    )
    buttons = tuple(
        Button(TeamClock.of(tz).text(s.starts_at, "%m-%d %H:%M"), f"{ACTION}:accept", str(s.id))
        for s in slots
    )
    return Reply(text=text, buttons=buttons, private=True)


# -- goals ---------------------------------------------------------------------------------------


def next_period_key(key: str) -> str:
    start, end = repo.period_bounds(key)
    return repo.period_key(end + timedelta(days=1), "quarter" if "Q" in key else "month")


def goal_lines(
    session: Session,
    member: Member,
    period_key: str,
    _: Translate,
    scheme: Scheme | None = None,
    lang: str = "zh",
) -> list[str]:
    """The agent's personal goals for ``period_key``, for their self-review (and /feedback);
    an indicator by its name in ``scheme`` when it has one there."""
    out = []
    for goal in store.goals_for(session=session, member=member, period_key=period_key):
        if goal.target is not None and goal.indicator:
            ind = _indicator(scheme, goal.indicator)
            shown = ind.name.get(lang) if ind is not None else goal.indicator
            target = (
                explain.value_text(_, lang, ind, goal.target)
                if ind is not None
                else numbers.number(goal.target, GOAL_PLACES)
            )
            out.append(
                _(
                    "· {text} ({indicator} {target} by {date})",
                    text=goal.text,
                    indicator=shown,
                    target=target,
                    date=goal.due_on.isoformat(),
                )
            )
        else:
            out.append(_("· {text} (by {date})", text=goal.text, date=goal.due_on.isoformat()))
    return out


def personal_targets(
    session: Session, member: Member, period_key: str, scheme: Scheme
) -> dict[str, float]:
    """Indicator → personal target for the period, when the scheme allows personal goals."""
    if not scheme.apply.personal_goals:
        return {}
    ids = {i.id for i in scheme.indicators}
    return {
        g.indicator: float(g.target)
        for g in store.goals_for(session=session, member=member, period_key=period_key)
        if g.indicator in ids and g.target is not None
    }


def goals_at_open(ctx: StepContext) -> None:
    """An ``open`` step hook (``commands.cycle.CYCLE``): when the self-review opens, each
    agent with personal goals for the period is reminded of them (kind ``goals``)."""
    if ctx.period is None:
        return
    for agent in results.agents_of(ctx.team, session=ctx.session):
        lang = lang_of(agent, session=ctx.session)
        _ = translator(lang)
        lines = goal_lines(ctx.session, agent, ctx.period_key, _, ctx.scheme, lang)
        if not lines:
            continue
        text = "\n".join(
            [
                _(
                    "Your personal goals for {period}, agreed in your feedback meeting; keep them "
                    "in mind for your self-review:",
                    period=ctx.period_key,
                ),
                *lines,
            ]
        )
        outbox.enqueue(ctx.session, team=ctx.team, period=ctx.period, member=agent, kind="goals",
                       reply=Reply(text=text, private=True), now=ctx.now)  # fmt: skip


# -- the command ---------------------------------------------------------------------------------


def _agent(ctx: Context, name: str) -> tuple[Member | None, Reply | None]:
    _ = ctx._
    team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
    assert team is not None
    candidates = [team] + [
        t for t in repo.teams_managed_by(session=ctx.session, member=ctx.actor) if t.id != team.id
    ]
    if permissions.is_admin(ctx.actor):
        candidates += [
            t
            for t in repo.list_teams(session=ctx.session)
            if t.id not in {c.id for c in candidates}
        ]
    for t in candidates:
        m = repo.get_member_by_name(session=ctx.session, team=t, name=name)
        if m is not None:
            decision = permissions.can_view_result(ctx.actor, m)
            if not decision or m.id == ctx.actor.id:
                return None, permissions.refusal(decision, _) if not decision else None
            return m, None
    return None, Reply(
        text=_("There is no member called {name} in your teams.", name=name), ephemeral=True
    )


def _latest_meeting(ctx: Context, member: Member) -> FeedbackMeeting | None:
    meetings = store.list_meetings(session=ctx.session, member_id=member.id)
    return meetings[-1] if meetings else None


def _period_of(ctx: Context, meeting: FeedbackMeeting) -> Period:
    period = repo.get_period_by_id(session=ctx.session, period_id=meeting.period_id)
    assert period is not None
    return period


def feedback(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    tokens = args.split()
    sub = tokens[0] if tokens else ""
    if permissions.role_of(ctx.actor) is permissions.Role.AGENT:
        if sub == "ack":
            return acknowledge(ctx, None)
        if sub == "counter":
            return counter(ctx, tokens[1:])
        return my_meeting(ctx)
    if permissions.role_of(ctx.actor) not in (permissions.Role.MANAGER, permissions.Role.ADMIN):
        return [
            Reply(text=_("Feedback meetings are for agents and their managers."), ephemeral=True)
        ]
    if sub == "notes" and len(tokens) >= 3:
        return notes(ctx, tokens[1], " ".join(tokens[2:]))
    if sub == "goal" and len(tokens) >= 2:
        return goal(ctx, tokens[1], tokens[2:])
    if sub and sub not in ("notes", "goal"):
        return show(ctx, sub)
    return overview(ctx)


def overview(ctx: Context) -> list[Reply]:
    _ = ctx._
    meetings = store.list_meetings(session=ctx.session, manager_id=ctx.actor.id)
    if not meetings:
        return [
            Reply(
                text=_("No feedback meetings yet: they are prepared when results are published."),
                ephemeral=True,
            )
        ]
    lines = [_("Your feedback meetings:")]
    for m in meetings[-30:]:
        member = repo.get_member(session=ctx.session, member_id=m.member_id)
        lines.append(
            _(
                "· {agent} ({period}): {status}",
                agent=member.name if member else "?",
                period=m.prompt.get("period", ""),
                status=status_text(_, m.status),
            )
        )
    return [Reply(text="\n".join(lines), private=True)]


def status_text(_: Translate, status: str) -> str:
    return {
        "prompted": _("prepared"), "proposed": _("times proposed"), "scheduled": _("scheduled"),
        "held": _("held"), "acknowledged": _("acknowledged"), "appealed": _("appealed"),
    }.get(status, status)  # fmt: skip


def current_prompt(
    ctx: Context, team: Team, meeting: FeedbackMeeting, member: Member
) -> tuple[Mapping[str, Any], Scheme | None]:
    """The prompt from the agent's current result (after an upheld appeal, the restated one), with
    the scheme that scored it; the prompt stored at publication when there is no result now."""
    period = repo.get_period_by_id(session=ctx.session, period_id=meeting.period_id)
    outcome = results.stored_results(team, period, session=ctx.session) if period else None
    mine = outcome.of(member.id) if outcome is not None else None
    if outcome is None or period is None or mine is None or mine.total is None:
        return meeting.prompt, None
    prompt = build_prompt(ctx.session, team, period, member, outcome, now=ctx.now)
    return prompt, outcome.scheme


def show(ctx: Context, name: str) -> list[Reply]:
    member, refusal = _agent(ctx, name)
    if member is None:
        return [refusal] if refusal else []
    meeting = _latest_meeting(ctx, member)
    if meeting is None:
        return [
            Reply(
                text=ctx._("There is no feedback meeting for {name} yet.", name=name),
                ephemeral=True,
            )
        ]
    team = repo.get_team(session=ctx.session, team_id=meeting.team_id)
    assert team is not None
    slots = [
        s.starts_at
        for s in store.list_slots(session=ctx.session, meeting=meeting)
        if s.status != "declined"
    ]
    prompt, scheme = current_prompt(ctx, team, meeting, member)
    text = render_prompt(ctx._, ctx.lang, prompt, slots, team.timezone, scheme)
    if meeting.slot_at is not None:
        text += "\n" + ctx._(
            "Agreed time: {when}",
            when=TeamClock.of(team).text(meeting.slot_at),
        )
    return [Reply(text=text, private=True)]


def notes(ctx: Context, name: str, text: str) -> list[Reply]:
    member, refusal = _agent(ctx, name)
    if member is None:
        return [refusal] if refusal else []
    meeting = _latest_meeting(ctx, member)
    if meeting is None:
        return [
            Reply(
                text=ctx._("There is no feedback meeting for {name} yet.", name=name),
                ephemeral=True,
            )
        ]
    store.update_meeting(
        session=ctx.session,
        meeting=meeting,
        actor=repo.actor_of(ctx.actor),
        reason="meeting notes",
        now=ctx.now,
        notes=text.strip(),
        status="held",
        held_at=ctx.now,
    )
    period = _period_of(ctx, meeting)
    team = repo.get_team(session=ctx.session, team_id=meeting.team_id)
    assert team is not None
    _a = translator(lang_of(member, session=ctx.session))
    outbox.enqueue(
        ctx.session,
        team=team,
        period=period,
        member=member,
        kind="feedback.result",
        reply=Reply(
            text=_a(
                "Your feedback meeting about {period} is recorded. Please acknowledge the result, "
                "or appeal it with /appeal.",
                period=period.key,
            ),
            buttons=(Button(_a("Acknowledge"), f"{ACTION}:ack", str(meeting.id), style="primary"),),
            private=True,
        ),
        now=ctx.now,
    )
    return [
        Reply(
            text=ctx._(
                "Notes for {name} are saved; {name} is asked to acknowledge.", name=member.name
            )
        )
    ]


def goal(ctx: Context, name: str, tokens: Sequence[str]) -> list[Reply]:
    """``goal AGENT indicator=NUMBER YYYY-MM-DD TEXT``: a SMART goal (a number and a date)."""
    _ = ctx._
    member, refusal = _agent(ctx, name)
    if member is None:
        return [refusal] if refusal else []
    meeting = _latest_meeting(ctx, member)
    if meeting is None:
        return [
            Reply(text=_("There is no feedback meeting for {name} yet.", name=name), ephemeral=True)
        ]
    indicator: str | None = None
    target: float | None = None
    due: date | None = None
    words: list[str] = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if sep and target is None:
            try:
                target, indicator = float(value), key
                continue
            except ValueError:
                pass
        if due is None:
            try:
                due = date.fromisoformat(token)
                continue
            except ValueError:
                pass
        words.append(token)
    problems = []
    if target is None:
        problems.append(_("A goal needs a number, e.g. conversion_rate=0.45."))
    if due is None:
        problems.append(_("A goal needs a date, e.g. 2026-12-31."))
    elif due < ctx.now.date():
        problems.append(_("The goal's date {date} has passed.", date=due.isoformat()))
    if problems:
        return [Reply(text="\n".join(problems), ephemeral=True)]
    assert due is not None
    period = _period_of(ctx, meeting)
    team = repo.get_team(session=ctx.session, team_id=meeting.team_id)
    assert team is not None
    text = " ".join(words) or f"{indicator} {numbers.number(target, GOAL_PLACES)}"
    nxt = next_period_key(period.key)
    store.add_goal(
        session=ctx.session,
        team=team,
        member=member,
        period_key=nxt,
        text=text,
        due_on=due,
        created_by=repo.actor_of(ctx.actor),
        indicator=indicator,
        target=target,
        meeting=meeting,
        now=ctx.now,
    )
    scheme = results.load_scheme(team, period, session=ctx.session)
    known = scheme is not None and indicator in {i.id for i in scheme.indicators}
    allowed = scheme is not None and scheme.apply.personal_goals
    note = (
        _("It is {name}'s personal target for {period}.", name=member.name, period=nxt)
        if known and allowed
        else _("It is recorded as a goal for {period}.", period=nxt)
    )
    return [
        Reply(
            text=_(
                "Goal for {name} saved: {text} by {date}.",
                name=member.name,
                text=text,
                date=due.isoformat(),
            )
            + " "
            + note
        )
    ]


def my_meeting(ctx: Context) -> list[Reply]:
    _ = ctx._
    meeting = _latest_meeting(ctx, ctx.actor)
    if meeting is None:
        return [Reply(text=_("You have no feedback meeting yet."), ephemeral=True)]
    team = repo.get_team(session=ctx.session, team_id=meeting.team_id)
    assert team is not None
    lines = [
        _(
            "Your feedback meeting about {period}: {status}.",
            period=meeting.prompt.get("period", ""),
            status=status_text(_, meeting.status),
        )
    ]
    if meeting.slot_at is not None:
        lines.append(
            _(
                "Agreed time: {when}",
                when=TeamClock.of(team).text(meeting.slot_at),
            )
        )
    goals: list[str] = []
    if meeting.prompt.get("period"):
        nxt = next_period_key(str(meeting.prompt["period"]))
        period = repo.get_period(session=ctx.session, team=team, key=nxt)
        scheme = results.load_scheme(team, period, session=ctx.session)
        goals = goal_lines(ctx.session, ctx.actor, nxt, _, scheme, ctx.lang)
    if goals:
        lines.append(_("Your goals:"))
        lines += goals
    buttons: tuple[Button, ...] = ()
    if meeting.status == "proposed":
        offered = [
            s
            for s in store.list_slots(session=ctx.session, meeting=meeting)
            if s.status == "offered"
        ]
        return [
            slot_offer(
                _, ctx.actor, manager_of(ctx.actor, session=ctx.session), offered, team.timezone
            )
        ]
    if meeting.status == "held":
        buttons = (Button(_("Acknowledge"), f"{ACTION}:ack", str(meeting.id), style="primary"),)
    return [Reply(text="\n".join(lines), buttons=buttons, private=True)]


def acknowledge(ctx: Context, meeting_id: int | None) -> list[Reply]:
    _ = ctx._
    meeting = (store.get_meeting_by_id(session=ctx.session, meeting_id=meeting_id)
               if meeting_id is not None else _latest_meeting(ctx, ctx.actor))  # fmt: skip
    if meeting is None or meeting.member_id != ctx.actor.id:
        return [Reply(text=_("You have no feedback meeting to acknowledge."), ephemeral=True)]
    if meeting.status == "acknowledged":
        return [Reply(text=_("You have already acknowledged this result."), ephemeral=True)]
    if meeting.status != "held":
        return [
            Reply(
                text=_("The meeting has not been recorded yet; acknowledge after it."),
                ephemeral=True,
            )
        ]
    store.update_meeting(
        session=ctx.session,
        meeting=meeting,
        actor=repo.actor_of(ctx.actor),
        reason="result acknowledged",
        now=ctx.now,
        status="acknowledged",
        acknowledged_at=ctx.now,
    )
    return [Reply(text=_("Thank you, the result is acknowledged."))]


def _notify_manager_of_time(ctx: Context, meeting: FeedbackMeeting, slot: MeetingSlot) -> None:
    manager = (
        repo.get_member(session=ctx.session, member_id=meeting.manager_id)
        if meeting.manager_id
        else None
    )
    team = repo.get_team(session=ctx.session, team_id=meeting.team_id)
    assert team is not None
    if manager is None:
        return
    _m = translator(lang_of(manager, session=ctx.session))
    when = TeamClock.of(team).text(slot.starts_at)
    outbox.enqueue(
        ctx.session,
        team=team,
        period=_period_of(ctx, meeting),
        member=manager,
        kind=f"feedback.time.{meeting.member_id}.{slot.id}",
        reply=Reply(
            text=_m(
                "{agent} accepted the feedback meeting at {when}.", agent=ctx.actor.name, when=when
            ),
            private=True,
        ),
        now=ctx.now,
    )


def accept(ctx: Context, slot_id: int) -> list[Reply]:
    _ = ctx._
    slot = store.get_slot(session=ctx.session, slot_id=slot_id)
    meeting = (
        store.get_meeting_by_id(session=ctx.session, meeting_id=slot.meeting_id) if slot else None
    )
    if slot is None or meeting is None:
        return [
            Reply(
                text=_("That button no longer works. Send /help to see what you can do."),
                ephemeral=True,
            )
        ]
    team = repo.get_team(session=ctx.session, team_id=meeting.team_id)
    assert team is not None
    when = TeamClock.of(team).text(slot.starts_at)
    agent_side = meeting.member_id == ctx.actor.id and slot.proposed_by != repo.actor_of(ctx.actor)
    manager_side = (
        meeting.manager_id == ctx.actor.id and slot.proposed_by == f"member:{meeting.member_id}"
    )
    if not (agent_side or manager_side):
        return [Reply(text=_("Only the other person can accept this time."), ephemeral=True)]
    if meeting.slot_at is not None:
        return [
            Reply(
                text=_(
                    "The meeting is already set for {when}.",
                    when=TeamClock.of(team).text(meeting.slot_at),
                ),
                ephemeral=True,
            )
        ]
    for other in store.list_slots(session=ctx.session, meeting=meeting):
        store.set_slot_status(
            session=ctx.session,
            slot=other,
            status="accepted" if other.id == slot.id else "declined",
        )
    store.update_meeting(
        session=ctx.session,
        meeting=meeting,
        actor=repo.actor_of(ctx.actor),
        reason="meeting time accepted",
        now=ctx.now,
        status="scheduled",
        slot_at=slot.starts_at,
    )
    if agent_side:
        _notify_manager_of_time(ctx, meeting, slot)
    else:
        agent = repo.get_member(session=ctx.session, member_id=meeting.member_id)
        if agent is not None:
            _a = translator(lang_of(agent, session=ctx.session))
            outbox.enqueue(
                ctx.session,
                team=team,
                period=_period_of(ctx, meeting),
                member=agent,
                kind=f"feedback.time.{slot.id}",
                reply=Reply(
                    text=_a("Your feedback meeting is set for {when}.", when=when), private=True
                ),
                now=ctx.now,
            )
    return [Reply(text=_("The feedback meeting is set for {when}.", when=when))]


def counter(ctx: Context, tokens: Sequence[str]) -> list[Reply]:
    _ = ctx._
    meeting = _latest_meeting(ctx, ctx.actor)
    if meeting is None or meeting.slot_at is not None:
        return [Reply(text=_("You have no feedback meeting waiting for a time."), ephemeral=True)]
    team = repo.get_team(session=ctx.session, team_id=meeting.team_id)
    assert team is not None
    try:
        local = datetime.fromisoformat(" ".join(tokens[:2])).replace(tzinfo=zone_of(team.timezone))
    except ValueError:
        return [
            Reply(
                text=_(
                    "Write the time as YYYY-MM-DD HH:MM, e.g. /feedback counter 2026-12-08 15:00."
                ),
                ephemeral=True,
            )
        ]
    at = local.astimezone(ZoneInfo("UTC"))
    if at <= ctx.now:
        return [Reply(text=_("That time has passed."), ephemeral=True)]
    if not TeamClock.of(team).in_working_hours(at):
        return [
            Reply(
                text=_("Please pick a weekday between 09:00 and 18:00 ({tz}).", tz=team.timezone),
                ephemeral=True,
            )
        ]
    (slot,) = store.offer_slots(
        session=ctx.session,
        meeting=meeting,
        starts=[at],
        proposed_by=repo.actor_of(ctx.actor),
        now=ctx.now,
    )
    manager = (
        repo.get_member(session=ctx.session, member_id=meeting.manager_id)
        if meeting.manager_id
        else None
    )
    if manager is not None:
        _m = translator(lang_of(manager, session=ctx.session))
        outbox.enqueue(
            ctx.session,
            team=team,
            period=_period_of(ctx, meeting),
            member=manager,
            kind=f"feedback.counter.{meeting.member_id}.{slot.id}",
            reply=Reply(
                text=_m(
                    "{agent} asks to hold the feedback meeting at {when} instead.",
                    agent=ctx.actor.name,
                    when=local.strftime("%Y-%m-%d %H:%M"),
                ),
                buttons=(Button(_m("Accept"), f"{ACTION}:accept", str(slot.id), style="primary"),),
                private=True,
            ),
            now=ctx.now,
        )
    return [
        Reply(
            text=_(
                "Your proposal {when} is sent to your manager.",
                when=local.strftime("%Y-%m-%d %H:%M"),
            )
        )
    ]


def on_action(ctx: Context, value: str) -> list[Reply]:
    op = (ctx.incoming.action or "").partition(":")[2]
    if value.isdigit():
        if op == "accept":
            return accept(ctx, int(value))
        if op == "ack":
            return acknowledge(ctx, int(value))
    return [
        Reply(
            text=ctx._("That button no longer works. Send /help to see what you can do."),
            ephemeral=True,
        )
    ]


COMMANDS: tuple[Command, ...] = (
    Command(
        "feedback",
        feedback,
        permissions.SCORED_AND_LEADERS,
        what=N_("feedback meetings: the prompt, the time, notes and goals; agents acknowledge"),
        example="/feedback Carol",
        refusal=N_(
            "The command /feedback is not available to you: feedback meetings are for agents and "
            "their managers."
        ),
    ),
)
ACTIONS: dict[str, Handler] = {ACTION: on_action}
ACTION_IDS: dict[str, tuple[str, ...]] = {
    f"{ACTION}:accept": ("slot.party",),
    f"{ACTION}:ack": ("meeting.own",),
}

"""Appeals (考核结果争议处理, seed 002): an agent contests one component of a published result.

* ``/appeal`` (agent) lists the components of the latest published period and the window;
  ``/appeal COMPONENT REASON…`` files an appeal within ``apply.appeal_days`` of publication.
* The decider is the agent's manager; for an appeal against the manager's own review (the
  ``manager`` component) it is an admin. The decider is told through the outbox and answers
  ``/appeal reject ID REASON…`` or ``/appeal uphold ID name=value … REASON…`` — the changes are
  the inputs that were wrong: a review dimension (1–5) of the appealed review component, or an
  indicator's raw value for the indicator table.
* An upheld appeal stores the corrected inputs (audited), rescores the whole team through
  ``commands.results.compute`` (the same scoring module), restates every score that changed
  (``storage.consequences.restate_score``: before, after, who and why in the audit log),
  rewrites the payroll entries, tells the agent, and re-publishes the corrected ranking only
  to those who were sent the ranking before (outbox rows of :data:`RANKING_KINDS` that went
  out), each under a new kind so it is sent once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from commands import names, numbers, outbox, permissions, results, scope
from commands.calibration import parse_changes
from commands.consequences import record_payroll
from commands.context import Command, Context
from commands.i18n import Translate, translator
from commands.messages import Reply
from commands.people import TeamClock, admins_of, lang_of, manager_of, zone_of
from commands.permissions import N_
from commands.publication import published_at
from commands.scope import appealable
from scoring import Scheme
from storage import consequences as store
from storage import outbox as outbox_store
from storage import repo
from storage.models import Member, Period, Team
from storage.models.consequences import Appeal

RANKING_KINDS: tuple[str, ...] = ("ranking", "result", "manager.table")
"""Outbox kinds (prefixes) of messages that showed someone a rank."""


def window_end(session: Session, period: Period, scheme: Scheme) -> datetime | None:
    """The end (23:59, team time zone) of the day ``appeal_days`` after publication — the date the
    result message names."""
    at = published_at(session, period)
    team = repo.get_team(session=session, team_id=period.team_id)
    if at is None or team is None:
        return None
    return appeal_window_end(team, at, scheme.apply.appeal_days)


def appeal_window_end(team: Team, published: datetime, days: int) -> datetime:
    """The one rule for the appeal window: the end (23:59:59, team time zone) of the day
    ``days`` after ``published``; the result message names its day, /appeal its last minute."""
    clock = TeamClock.of(team)
    local_day = clock.date(published + timedelta(days=days))
    return clock.at(local_day, time(23, 59, 59)).astimezone(UTC)


def answer_deadline(
    filed_at: datetime, working_days: int, tz: str, weekend: Sequence[int]
) -> datetime:
    """When an appeal must be answered: the end (23:59:59) of the ``working_days``-th working day
    after the day it was filed, in the team's time zone ``tz``; ``weekend`` are the ISO weekdays off
    (the scheme's ``cycle.weekend``). Filed on Friday with 3 working days: due Wednesday 23:59:59.

    The one rule for the date; the agent is told it, the decider reminded of it, the admin told
    when it has passed (:func:`follow_up_deadlines`)."""
    local = zone_of(tz)
    day = filed_at.astimezone(local).date()
    left = max(working_days, 1)
    off = set(weekend) if len(set(weekend)) < 7 else set()
    while left:
        day += timedelta(days=1)
        if day.isoweekday() not in off:
            left -= 1
    return datetime.combine(day, time(23, 59, 59), local).astimezone(UTC)


def deadline_of(session: Session, appeal: Appeal) -> datetime | None:
    """The answer deadline of a stored appeal, by its scheme's ``apply.appeal_answer_days`` and
    weekend."""
    team = repo.get_team(session=session, team_id=appeal.team_id)
    period = repo.get_period_by_id(session=session, period_id=appeal.period_id)
    if team is None or period is None:
        return None
    scheme = results.load_scheme(team, period, session=session)
    days, weekend = (
        (scheme.apply.appeal_answer_days, scheme.cycle.weekend) if scheme else (3, (6, 7))
    )
    filed = appeal.created_at if appeal.created_at.tzinfo else appeal.created_at.replace(tzinfo=UTC)
    return answer_deadline(filed, days, team.timezone, weekend)


REMIND_BEFORE = timedelta(days=1)
"""The decider is reminded once when the answer deadline is less than this away."""


def follow_up_deadlines(
    session: Session, *, now: datetime, team: Team | None = None
) -> dict[str, int]:
    """The daily step: remind the decider of an open appeal due within a day (once), and tell every
    admin of one whose deadline has passed (once). Messages go through the outbox, each under its
    own key, so running the step twice sends nothing twice."""
    counts = {"reminded": 0, "late": 0}
    for appeal in store.list_appeals(session=session, team=team, statuses=["open"]):
        due = deadline_of(session, appeal)
        member = repo.get_member(session=session, member_id=appeal.member_id)
        appeal_team = repo.get_team(session=session, team_id=appeal.team_id)
        period = repo.get_period_by_id(session=session, period_id=appeal.period_id)
        if due is None or member is None or appeal_team is None or period is None:
            continue
        scheme = results.load_scheme(appeal_team, period, session=session)
        kind = (
            appealable(scheme).get(appeal.component, appeal.component)
            if scheme
            else appeal.component
        )
        when = TeamClock.of(appeal_team).deadline(due)
        if now > due:
            for admin in admins_of(session=session):
                _ = translator(lang_of(admin, session=session))
                text = _(
                    "Appeal #{id} by {name} ({team}, {component} of {period}) was due for an "
                    "answer by {when} and is still open. Please see that it is decided: /appeal.",
                    id=appeal.id,
                    name=member.name,
                    team=appeal_team.name,
                    component=_label(scheme, appeal.component, lang_of(admin, session=session)),
                    period=period.key,
                    when=when,
                )
                if outbox.enqueue(
                    session,
                    team=appeal_team,
                    period=period,
                    member=admin,
                    kind=f"appeal.late.{appeal.id}",
                    reply=Reply(text=text, private=True),
                    now=now,
                ):
                    counts["late"] += 1
            continue
        if due - now > REMIND_BEFORE:
            continue
        for decider in deciders(session, member, kind):
            _ = translator(lang_of(decider, session=session))
            text = _(
                "Reminder: appeal #{id} by {name} ({component} of {period}) needs your answer by "
                "{when}: /appeal uphold {id} NAME=VALUE … REASON or /appeal reject {id} REASON.",
                id=appeal.id,
                name=member.name,
                component=_label(scheme, appeal.component, lang_of(decider, session=session)),
                period=period.key,
                when=when,
            )
            if outbox.enqueue(
                session,
                team=appeal_team,
                period=period,
                member=decider,
                kind=f"appeal.reminder.{appeal.id}",
                reply=Reply(text=text, private=True),
                now=now,
            ):
                counts["reminded"] += 1
    return counts


def _label(scheme: Scheme | None, component: str, lang: str) -> str:
    """An appealed component (stored by id) as the reader names it."""
    return names.component_label(scheme, component, lang) if scheme is not None else component


def _latest_published(ctx: Context, team: Team) -> Period | None:
    done = repo.list_periods(session=ctx.session, team=team, statuses=["published"])
    return done[-1] if done else None


def deciders(session: Session, member: Member, component_kind: str) -> list[Member]:
    if component_kind == "manager":
        return admins_of(session=session)
    manager = manager_of(member, session=session)
    return [manager] if manager is not None else admins_of(session=session)


def file_appeal(ctx: Context, tokens: Sequence[str]) -> list[Reply]:
    _ = ctx._
    team = repo.get_team(session=ctx.session, team_id=ctx.actor.team_id)
    assert team is not None
    period = _latest_published(ctx, team)
    scheme = results.load_scheme(team, period, session=ctx.session) if period else None
    if period is None or scheme is None:
        return [Reply(text=_("There is no published result to appeal."), ephemeral=True)]
    end = window_end(ctx.session, period, scheme)
    components = appealable(scheme)
    choices = names.component_options(scheme, ctx.lang, list(components))
    if not tokens:
        when = TeamClock.of(team).deadline(end)
        return [
            Reply(
                text=_(
                    "Appeal a component of {period} until {when}: /appeal COMPONENT REASON. "
                    "Components: {names}.",
                    period=period.key,
                    when=when,
                    names=names.listing(choices, ctx.lang),
                ),
                ephemeral=True,
            )
        ]
    if end is None or ctx.now > end:
        return [
            Reply(
                text=_("The appeal window for {period} has closed.", period=period.key),
                ephemeral=True,
            )
        ]
    found, used = names.resolve_leading(tokens, choices)
    if found.named is None:
        if found.ambiguous:
            text = _("{name} could be {names}: write more of the name.", name=tokens[0],
                     names=names.listing(found.candidates, ctx.lang))  # fmt: skip
        else:
            text = _(
                "{name} is not a component of your scheme; use one of: {names}.",
                name=tokens[0],
                names=names.listing(choices, ctx.lang),
            )
        return [Reply(text=text, ephemeral=True)]
    component, label = found.named.key, found.named.label
    reason = " ".join(tokens[used:]).strip()
    if not reason:
        return [
            Reply(
                text=_("Give a reason: /appeal {component} REASON.", component=label),
                ephemeral=True,
            )
        ]
    if any(
        a.component == component
        for a in store.list_appeals(
            session=ctx.session, period=period, member_id=ctx.actor.id, statuses=["open"]
        )
    ):
        return [
            Reply(
                text=_("You already have an open appeal about {component}.", component=label),
                ephemeral=True,
            )
        ]
    score = repo.get_score(session=ctx.session, period=period, member=ctx.actor)
    before = {"total": str(score.total), "rank": score.rank} if score is not None else {}
    appeal = store.create_appeal(
        session=ctx.session,
        team=team,
        period=period,
        member=ctx.actor,
        component=component,
        reason=reason,
        before=before,
        now=ctx.now,
    )
    due = deadline_of(ctx.session, appeal)
    assert due is not None
    when = TeamClock.of(team).deadline(due)
    for decider in deciders(ctx.session, ctx.actor, components[component]):
        _d = translator(lang_of(decider, session=ctx.session))
        outbox.enqueue(
            ctx.session,
            team=team,
            period=period,
            member=decider,
            kind=f"appeal.open.{appeal.id}",
            reply=Reply(
                text=_d(
                    "{name} appeals the {component} component of {period}: {reason}\nDecide with "
                    "/appeal uphold {id} NAME=VALUE … REASON or /appeal reject {id} REASON.",
                    name=ctx.actor.name,
                    component=_label(scheme, component, lang_of(decider, session=ctx.session)),
                    period=period.key,
                    reason=reason,
                    id=appeal.id,
                )
                + "\n"
                + _d("Please answer by {when}.", when=when),
                private=True,
            ),
            now=ctx.now,
        )
    return [
        Reply(
            text=_(
                "Your appeal #{id} about {component} is filed; you will be told the decision.",
                id=appeal.id,
                component=label,
            )
            + "\n"
            + _("The answer is due by {when}.", when=when)
        )
    ]


def _apply_changes(
    ctx: Context,
    period: Period,
    member: Member,
    scheme: Scheme,
    kind: str,
    changes: Mapping[str, float],
    reason: str,
) -> tuple[list[str], dict[str, float]]:
    """Store the corrected inputs (audited), named as the decider typed them
    (:mod:`commands.names`); returns the problems instead when a change does not fit, and the
    changes by id."""
    _ = ctx._
    actor = repo.actor_of(ctx.actor)
    label = names.component_label(scheme, kind, ctx.lang)
    if kind in ("self", "manager"):
        choices = names.dimension_options(scheme, ctx.lang, kinds=(kind,), qualified=False)
        by_id: dict[str, float] = {}
        for name, value in changes.items():
            found = names.resolve(name, choices)
            if found.named is None or not (1 <= value <= 5 and float(value).is_integer()):
                return [
                    _(
                        "Change only rated dimensions of {component} with whole numbers 1–5: "
                        "{names}.",
                        component=label,
                        names=names.listing(choices, ctx.lang),
                    )
                ], {}
            by_id[found.named.key] = value
        reviews = repo.list_reviews(session=ctx.session, period=period, kind=kind, subject=member)
        if not reviews:
            return [_("There is no {component} review to correct.", component=label)], {}
        review = reviews[-1]
        rater = repo.get_member(session=ctx.session, member_id=review.rater_id)
        assert rater is not None
        repo.save_review(session=ctx.session, period=period, subject=member, rater=rater, kind=kind,
                         answers={**review.answers, **{k: int(v) for k, v in by_id.items()}},
                         comments=review.comments, submitted_at=review.submitted_at, actor=actor,
                         reason=f"appeal: {reason}", now=ctx.now)  # fmt: skip
        return [], by_id
    if kind == "kpi":
        choices = names.indicator_options(scheme, ctx.lang)
        hits = {n: names.resolve(n, choices).named for n in changes}
        bad = [n for n, hit in hits.items() if hit is None]
        if bad:
            return [
                _("Unknown indicators: {names}.", names=bad)
                + " "
                + _("Indicators: {names}.", names=names.listing(choices, ctx.lang))
            ], {}
        by_id = {hit.key: changes[n] for n, hit in hits.items() if hit is not None}
        for name, value in by_id.items():
            repo.set_indicator_value(
                session=ctx.session,
                period=period,
                member=member,
                indicator=name,
                value=Decimal(str(value)),
                source="appeal",
                actor=actor,
                reason=f"appeal: {reason}",
            )
        return [], by_id
    return [
        _(
            "Only the review and indicator components can be corrected in chat; reject it or ask "
            "an admin to correct the data."
        )
    ], {}


def restate(
    ctx: Context, team: Team, period: Period, *, reason: str
) -> tuple[results.PeriodResults, dict[int, tuple[Any, Any]]]:
    """Rescore the team and restate every stored score that changed; ``{member: (before,
    after)}``."""
    fresh = results.compute(team, period, session=ctx.session)
    assert fresh is not None
    changed: dict[int, tuple[Any, Any]] = {}
    actor = repo.actor_of(ctx.actor)
    for s in fresh.scored:
        member = repo.get_member(session=ctx.session, member_id=s.member_id)
        row = repo.get_score(session=ctx.session, period=period, member=member) if member else None
        new_flags = results._flag_list(s.flags)
        if row is None or member is None:
            continue
        before = (str(row.total), row.rank)
        if (
            row.rank == s.rank
            and abs(float(row.total) - float(s.total or 0)) < 5e-5
            and list(row.flags) == new_flags
        ):
            continue
        store.restate_score(
            session=ctx.session,
            score=row,
            total=s.total or 0.0,
            rank=s.rank,
            breakdown=s.breakdown,
            flags=new_flags,
            actor=actor,
            reason=reason,
            now=ctx.now,
        )
        changed[s.member_id] = (before, (f"{s.total:.4f}", s.rank))
    return fresh, changed


def ranking_text(_: Translate, team: Team, period: Period, outcome: results.PeriodResults) -> str:
    lines = [
        _(
            "Corrected ranking of {team} for {period} (after an appeal):",
            team=team.name,
            period=period.key,
        )
    ]
    for s in outcome.scored:
        lines.append(f"{s.rank}. {s.name}  {numbers.total(s.total, outcome.scheme.precision)}")
    return "\n".join(lines)


def republish(
    ctx: Context, team: Team, period: Period, outcome: results.PeriodResults, appeal: Appeal
) -> int:
    """Send the corrected ranking to exactly those who were sent a ranking before; returns how
    many."""
    sent = outbox_store.list_messages(
        session=ctx.session, team_id=team.id, period_id=period.id, statuses=["sent"]
    )
    seen: set[int | None] = set()
    count = 0
    for row in sent:
        if not row.kind.startswith(RANKING_KINDS) or row.member_id in seen:
            continue
        if (
            row.member_id is not None
            and row.kind.startswith("result")
            and not outcome.scheme.publish_ranking
        ):
            continue  # an agent who saw only their own place gets their own note, not the ranking
        seen.add(row.member_id)
        member = (
            repo.get_member(session=ctx.session, member_id=row.member_id) if row.member_id else None
        )
        _r = translator(lang_of(member, session=ctx.session) if member else team.lang)
        count += outbox.enqueue(
            ctx.session,
            team=team,
            period=period,
            member=member,
            kind=f"ranking.corrected.{appeal.id}",
            reply=Reply(text=ranking_text(_r, team, period, outcome), private=member is not None),
            now=ctx.now,
        )
    return count


def decide(ctx: Context, tokens: Sequence[str], uphold: bool) -> list[Reply]:
    _ = ctx._
    if not tokens or not tokens[0].lstrip("#").isdigit():
        return [
            Reply(
                text=_("Usage: /appeal uphold ID NAME=VALUE … REASON or /appeal reject ID REASON"),
                ephemeral=True,
            )
        ]
    appeal, decision = scope.resolve(ctx, "appeal.decide", tokens[0])
    if scope.unknown(decision):  # no such appeal, or one outside the actor's teams
        return [
            Reply(text=_("There is no appeal #{id}.", id=tokens[0].lstrip("#")), ephemeral=True)
        ]
    permissions.require(decision)
    member = repo.get_member(session=ctx.session, member_id=appeal.member_id)
    team = repo.get_team(session=ctx.session, team_id=appeal.team_id)
    period = repo.get_period_by_id(session=ctx.session, period_id=appeal.period_id)
    assert member is not None and team is not None and period is not None
    scheme = results.load_scheme(team, period, session=ctx.session)
    assert scheme is not None
    kind = appealable(scheme).get(appeal.component, appeal.component)
    if appeal.status != "open":
        return [Reply(text=_("Appeal #{id} is already decided.", id=appeal.id), ephemeral=True)]
    changes, rest = parse_changes(tokens[1:]) if uphold else ({}, list(tokens[1:]))
    reason = " ".join(rest).strip()
    if not reason:
        return [
            Reply(text=_("Give a reason for the decision; the agent reads it."), ephemeral=True)
        ]
    if uphold and not changes:
        return [
            Reply(
                text=_("Say which input was wrong and its right value, e.g. ability=4."),
                ephemeral=True,
            )
        ]
    after: dict[str, Any] = dict(appeal.before)
    changed: dict[int, tuple[Any, Any]] = {}
    if uphold:
        problems, changes = _apply_changes(ctx, period, member, scheme, kind, changes, reason)
        if problems:
            return [Reply(text="\n".join(problems), ephemeral=True)]
        outcome, changed = restate(ctx, team, period, reason=f"appeal #{appeal.id}: {reason}")
        record_payroll(ctx.session, team, period, outcome, actor=repo.actor_of(ctx.actor),
                       reason=f"appeal #{appeal.id}", now=ctx.now)  # fmt: skip
        mine = outcome.of(member.id)
        after = {"total": f"{mine.total:.4f}" if mine and mine.total is not None else None,
                 "rank": mine.rank if mine else None}  # fmt: skip
        if changed:
            republish(ctx, team, period, outcome, appeal)
    store.decide_appeal(
        session=ctx.session,
        appeal=appeal,
        status="upheld" if uphold else "rejected",
        decider=ctx.actor,
        reason=reason,
        changes=changes,
        after=after,
        now=ctx.now,
    )
    _a = translator(lang_of(member, session=ctx.session))
    if uphold:
        text = _a(
            "Your appeal #{id} is upheld: {reason}. Your total is now {total}, rank {rank}.",
            id=appeal.id,
            reason=reason,
            total=numbers.total(after["total"], scheme.precision),
            rank=after.get("rank") or "—",
        )
    else:
        text = _a("Your appeal #{id} is rejected: {reason}.", id=appeal.id, reason=reason)
    outbox.enqueue(
        ctx.session,
        team=team,
        period=period,
        member=member,
        kind=f"appeal.decided.{appeal.id}",
        reply=Reply(text=text, private=True),
        now=ctx.now,
    )
    for other_id in changed:
        if other_id == member.id:
            continue
        other = repo.get_member(session=ctx.session, member_id=other_id)
        if other is None:
            continue
        _o = translator(lang_of(other, session=ctx.session))
        new_total, new_rank = changed[other_id][1]
        outbox.enqueue(
            ctx.session,
            team=team,
            period=period,
            member=other,
            kind=f"result.corrected.{appeal.id}",
            reply=Reply(
                text=_o(
                    "Your result for {period} changed after a colleague's appeal: total {total}, "
                    "rank {rank}.",
                    period=period.key,
                    total=numbers.total(new_total, scheme.precision),
                    rank=new_rank or "—",
                ),
                private=True,
            ),
            now=ctx.now,
        )
    return [
        Reply(
            text=_(
                "Appeal #{id} is {status}; {n} scores changed.",
                id=appeal.id,
                status=_("upheld") if uphold else _("rejected"),
                n=len(changed),
            )
        )
    ]


def appeal(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    tokens = args.split()
    if tokens and tokens[0] in ("uphold", "reject"):
        if permissions.role_of(ctx.actor) not in (permissions.Role.MANAGER, permissions.Role.ADMIN):
            return [Reply(text=_("Only managers and admins decide appeals."), ephemeral=True)]
        return decide(ctx, tokens[1:], tokens[0] == "uphold")
    if permissions.role_of(ctx.actor) is not permissions.Role.AGENT:
        return pending(ctx)
    return file_appeal(ctx, tokens)


def pending(ctx: Context) -> list[Reply]:
    _ = ctx._
    lines = [_("Open appeals:")]
    for team in repo.list_teams(session=ctx.session):
        if not permissions.reaches_team(ctx.actor, team.id):
            continue
        for a in store.list_appeals(session=ctx.session, team=team, statuses=["open"]):
            member = repo.get_member(session=ctx.session, member_id=a.member_id)
            period = repo.get_period_by_id(session=ctx.session, period_id=a.period_id)
            scheme = results.load_scheme(team, period, session=ctx.session) if period else None
            lines.append(
                _(
                    "· #{id} {name} ({team}): {component} — {reason}",
                    id=a.id,
                    name=member.name if member else "?",
                    team=team.name,
                    component=_label(scheme, a.component, ctx.lang),
                    reason=a.reason,
                )
            )
    if len(lines) == 1:
        return [Reply(text=_("No open appeals."), ephemeral=True)]
    return [Reply(text="\n".join(lines), private=True)]


COMMANDS: tuple[Command, ...] = (
    Command(
        "appeal",
        appeal,
        permissions.SCORED_AND_LEADERS,
        what=N_("appeal a part of your published result; managers and admins decide"),
        example="/appeal KPI my response time was 29 s",
        refusal=N_(
            "The command /appeal is not available to you: agents appeal their results; managers "
            "and admins decide."
        ),
    ),
)

"""Improvement plans (整改方案) of the last agents: the form, reminders, approval, escalation.

* :func:`request_plan` (at publication, ``commands.consequences``) asks the agent once, due
  ``apply.improvement_days`` after publication (:func:`commands.results.plan_deadline`, the one
  deadline rule), saying their place and that the scheme asks the last N; with a button.
* ``/improve`` (agent) opens the form — cause analysis, measures, support needed — declared
  with the form engine (``FORM``); submitting tells the manager, who approves or returns it:
  ``/improve approve AGENT [COMMENT]``, ``/improve return AGENT COMMENT`` (or the buttons
  and then the command for the comment). A returned plan is filled in again.
* ``/improve`` (manager, admin) lists the plans of their teams.
* :func:`follow_up` (a scheduled step, daily): a reminder :data:`REMIND_BEFORE` before the
  due time and on the due day (at most one a day); once late, one escalation to the
  manager's manager, or to the admins when there is none (``commands.people.escalation_of``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from commands import outbox, permissions, results, scope
from commands.context import Command, Context, Handler
from commands.forms import engine
from commands.forms.spec import N_, Answers, Field, FormDefinition
from commands.i18n import Translate, translator
from commands.messages import Button, Reply
from commands.people import TeamClock, escalation_of, lang_of, manager_of
from storage import consequences as store
from storage import repo
from storage.models import Conversation, Member, Period, Team
from storage.models.consequences import ImprovementPlan

FORM_ID = "improve"
TITLE = N_("improvement plan")
TEXT_LIMIT = 1000
REMIND_BEFORE = timedelta(days=2)
OPEN_STATUSES = ("requested", "returned")
ACTION = "improve"


def request_plan(
    session: Session,
    team: Team,
    period: Period,
    member: Member,
    *,
    due_at: datetime,
    now: datetime,
    rank: int | None = None,
    group_size: int | None = None,
    last_n: int = 1,
) -> ImprovementPlan:
    """Ask the agent once for a plan due ``due_at`` (:func:`commands.results.plan_deadline`): the
    request says their true place and that the scheme asks the last ``last_n`` for a plan."""
    plan, created = store.ensure_plan(
        session=session, team=team, period=period, member=member, due_at=due_at, now=now
    )
    if created:
        _ = translator(lang_of(member, session=session))
        due = results.deadline_day(team, plan.due_at)
        if rank is not None and group_size:
            text = _(
                "Your result for {period} is number {rank} of {size} in the team. The scheme asks "
                "the last {n} for an improvement plan: please analyse the causes and submit one by "
                "{due}.",
                period=period.key,
                rank=rank,
                size=group_size,
                n=last_n,
                due=due,
            )
        else:
            text = _(
                "The scheme asks the last {n} of the team for an improvement plan for {period}: "
                "please analyse the causes and submit one by {due}.",
                period=period.key,
                n=last_n,
                due=due,
            )
        outbox.enqueue(
            session,
            team=team,
            period=period,
            member=member,
            kind="improve.request",
            reply=Reply(
                text=text,
                buttons=(
                    Button(_("Write the plan"), f"{ACTION}:start", str(plan.id), style="primary"),
                ),
                private=True,
            ),
            now=now,
        )
    return plan


# -- the form ----------------------------------------------------------------------------------


def fields(ctx: Context, conv: Conversation) -> list[Field]:
    return [
        Field(
            "cause",
            "text",
            N_("Why was your result among the last? Analyse the causes."),
            max_length=TEXT_LIMIT,
            short=N_("Cause analysis"),
        ),
        Field(
            "measures",
            "text",
            N_("What will you do to improve, and by when?"),
            max_length=TEXT_LIMIT,
            short=N_("Measures"),
        ),
        Field(
            "support",
            "text",
            N_("What support do you need (training, coaching, tools)?"),
            max_length=TEXT_LIMIT,
            required=False,
            short=N_("Support needed"),
        ),
    ]


def _plan_of(ctx: Context, conv: Conversation) -> ImprovementPlan | None:
    period = repo.get_period_by_id(session=ctx.session, period_id=conv.period_id or 0)
    return store.get_plan(session=ctx.session, period=period, member=ctx.actor) if period else None


def check(ctx: Context, conv: Conversation) -> str | None:
    plan = _plan_of(ctx, conv)
    if plan is None or plan.status not in OPEN_STATUSES:
        return ctx._("There is no improvement plan waiting for you.")
    return None


def submit(ctx: Context, conv: Conversation, answers: Answers) -> int:
    plan = _plan_of(ctx, conv)
    assert plan is not None and plan.id is not None
    store.update_plan(
        session=ctx.session,
        plan=plan,
        actor=repo.actor_of(ctx.actor),
        reason="plan submitted",
        now=ctx.now,
        status="submitted",
        submitted_at=ctx.now,
        answers={k: v for k, v in answers.items() if not k.startswith("_")},
    )
    manager = manager_of(ctx.actor, session=ctx.session)
    team = repo.get_team(session=ctx.session, team_id=plan.team_id)
    period = repo.get_period_by_id(session=ctx.session, period_id=plan.period_id)
    if manager is not None and team is not None:
        _ = translator(lang_of(manager, session=ctx.session))
        outbox.enqueue(ctx.session, team=team, period=period, member=manager,
                       kind=f"improve.submitted.{ctx.actor.id}.{conv.id}",
                       reply=plan_reply(_, ctx.actor, plan), now=ctx.now)  # fmt: skip
    return plan.id


def plan_reply(_: Translate, member: Member, plan: ImprovementPlan) -> Reply:
    a = plan.answers or {}
    text = "\n".join([
        _("{name} submitted an improvement plan:", name=member.name),
        _("· Cause analysis: {text}", text=a.get("cause", "")),
        _("· Measures: {text}", text=a.get("measures", "")),
        _("· Support needed: {text}", text=a.get("support") or "—"),
        _("Approve it, or return it with /improve return {name} COMMENT.", name=member.name),
    ])  # fmt: skip
    return Reply(
        text=text,
        buttons=(Button(_("Approve"), f"{ACTION}:approve", str(plan.id), style="primary"),),
        private=True,
    )


FORM = FormDefinition(
    form_id=FORM_ID, title=TITLE, fields=fields, submit=submit, check=check,
    done=N_("Thank you, your improvement plan is sent to your manager."),
)  # fmt: skip


# -- commands ----------------------------------------------------------------------------------


def _open_plan(ctx: Context, member: Member) -> ImprovementPlan | None:
    plans = [
        p
        for p in store.list_plans(session=ctx.session, member_id=member.id)
        if p.status in OPEN_STATUSES
    ]
    return plans[-1] if plans else None


def start_form(ctx: Context) -> list[Reply]:
    plan = _open_plan(ctx, ctx.actor)
    if plan is None:
        return [Reply(text=ctx._("There is no improvement plan waiting for you."), ephemeral=True)]
    earlier = plan.answers or None
    return engine.start(
        ctx,
        FORM_ID,
        period_id=plan.period_id,
        subject_id=ctx.actor.id,
        expires_at=max(plan.due_at, ctx.now) + timedelta(days=7),
        answers=earlier,
    )


def _find_agent_plan(
    ctx: Context, name: str
) -> tuple[ImprovementPlan | None, Member | None, Reply | None]:
    """``/improve approve NAME``: the latest plan of the agent called NAME in the actor's teams
    (``TEAM/NAME`` when two of them share the name); the decision is checked on that plan."""
    _ = ctx._
    team_name, _sep, agent_name = name.rpartition("/")
    teams = [
        t
        for t in repo.list_teams(session=ctx.session)
        if permissions.sees_team(ctx.actor, t.id) and (not team_name or t.name == team_name)
    ]
    found = [
        (m, store.list_plans(session=ctx.session, member_id=m.id))
        for t in teams
        if (m := repo.get_member_by_name(session=ctx.session, team=t, name=agent_name)) is not None
    ]
    if not found:
        return (
            None,
            None,
            Reply(
                text=_("There is no member called {name} in your teams.", name=name), ephemeral=True
            ),
        )
    if len(found) > 1:
        where = [
            f"{repo.get_team(session=ctx.session, team_id=m.team_id).name}/{m.name}"  # type: ignore[union-attr]
            for m, _plans in found
        ]
        return (
            None,
            None,
            Reply(
                text=_(
                    "Several of your teams have a member called {name}; write one of: {names}.",
                    name=agent_name,
                    names=where,
                ),
                ephemeral=True,
            ),
        )
    member, plans = found[0]
    if not plans:
        return (
            None,
            member,
            Reply(text=_("{name} has no improvement plan.", name=name), ephemeral=True),
        )
    plan, decision = scope.resolve(ctx, "plan.decide", str(plans[-1].id))
    if not decision:
        return None, None, permissions.refusal(decision, _)
    return plan, member, None


def decide(
    ctx: Context, plan: ImprovementPlan, member: Member, approve: bool, comment: str
) -> list[Reply]:
    _ = ctx._
    if plan.status != "submitted":
        return [
            Reply(
                text=_("The plan of {name} is not waiting for a decision.", name=member.name),
                ephemeral=True,
            )
        ]
    if not approve and not comment:
        return [
            Reply(
                text=_("Say what to change: /improve return {name} COMMENT.", name=member.name),
                ephemeral=True,
            )
        ]
    status = "approved" if approve else "returned"
    store.update_plan(
        session=ctx.session,
        plan=plan,
        actor=repo.actor_of(ctx.actor),
        reason=comment or status,
        now=ctx.now,
        status=status,
        decided_by=repo.actor_of(ctx.actor),
        decided_at=ctx.now,
        decision_comment=comment or None,
    )
    team = repo.get_team(session=ctx.session, team_id=plan.team_id)
    period = repo.get_period_by_id(session=ctx.session, period_id=plan.period_id)
    assert team is not None
    _a = translator(lang_of(member, session=ctx.session))
    if approve:
        text = _a("Your improvement plan is approved.") + (
            " " + _a("Comment: {text}", text=comment) if comment else ""
        )
        buttons: tuple[Button, ...] = ()
    else:
        text = _a("Your improvement plan was returned: {text}. Please revise it.", text=comment)
        buttons = (Button(_a("Revise the plan"), f"{ACTION}:start", str(plan.id), style="primary"),)
    outbox.enqueue(
        ctx.session,
        team=team,
        period=period,
        member=member,
        kind=f"improve.{status}.{len(store.list_plans(session=ctx.session, member_id=member.id))}."
        f"{ctx.now:%Y%m%d%H%M%S}",
        reply=Reply(text=text, buttons=buttons, private=True),
        now=ctx.now,
    )
    return [
        Reply(
            text=_("The plan of {name} is approved.", name=member.name)
            if approve
            else _("The plan of {name} is returned with your comment.", name=member.name)
        )
    ]


def overview(ctx: Context) -> list[Reply]:
    _ = ctx._
    teams = (
        repo.list_teams(session=ctx.session)
        if permissions.is_admin(ctx.actor)
        else [
            t
            for t in repo.list_teams(session=ctx.session)
            if permissions.reaches_team(ctx.actor, t.id)
        ]
    )
    names = {
        "requested": _("requested"),
        "submitted": _("submitted, waiting for you"),
        "approved": _("approved"),
        "returned": _("returned"),
    }
    lines = [_("Improvement plans:")]
    for team in teams:
        for plan in store.list_plans(session=ctx.session, team=team):
            member = repo.get_member(session=ctx.session, member_id=plan.member_id)
            late = plan.status in OPEN_STATUSES and plan.due_at < ctx.now
            lines.append(
                _(
                    "· {name} ({team}): {status}, due {due}{late}",
                    name=member.name if member else "?",
                    team=team.name,
                    status=names.get(plan.status, plan.status),
                    due=TeamClock.of(team).deadline(plan.due_at),
                    late=_(" — late") if late else "",
                )
            )
    if len(lines) == 1:
        return [Reply(text=_("No improvement plans."), ephemeral=True)]
    return [Reply(text="\n".join(lines), private=True)]


def improve(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    tokens = args.split()
    role = permissions.role_of(ctx.actor)
    if role is permissions.Role.AGENT:
        return start_form(ctx)
    if role not in (permissions.Role.MANAGER, permissions.Role.ADMIN):
        return [
            Reply(text=_("Improvement plans are for agents and their managers."), ephemeral=True)
        ]
    if tokens and tokens[0] in ("approve", "return") and len(tokens) >= 2:
        plan, member, refusal = _find_agent_plan(ctx, tokens[1])
        if refusal is not None or plan is None or member is None:
            return [refusal] if refusal else []
        return decide(ctx, plan, member, tokens[0] == "approve", " ".join(tokens[2:]).strip())
    return overview(ctx)


def on_action(ctx: Context, value: str) -> list[Reply]:
    """``improve:start`` (the agent's own plan) and ``improve:approve`` (a plan the actor decides);
    the router has checked the plan id against the actor (``ACTION_IDS``, commands.scope)."""
    op = (ctx.incoming.action or "").partition(":")[2]
    if op == "start":
        return start_form(ctx)
    plan, decision = scope.resolve(ctx, "plan.decide", value)
    member = (
        repo.get_member(session=ctx.session, member_id=plan.member_id) if plan is not None else None
    )
    if op == "approve" and decision and member is not None:
        return decide(ctx, plan, member, True, "")
    return [
        Reply(
            text=ctx._("That button no longer works. Send /help to see what you can do."),
            ephemeral=True,
        )
    ]


# -- the daily follow-up -------------------------------------------------------------------------


def follow_up(session: Session, *, now: datetime, team: Team | None = None) -> dict[str, int]:
    """Remind open plans before and on the due day (once a day); escalate late ones once."""
    counts = {"reminded": 0, "escalated": 0}
    for plan in store.list_plans(session=session, team=team, statuses=OPEN_STATUSES):
        member = repo.get_member(session=session, member_id=plan.member_id)
        plan_team = repo.get_team(session=session, team_id=plan.team_id)
        period = repo.get_period_by_id(session=session, period_id=plan.period_id)
        if member is None or plan_team is None:
            continue
        if now > plan.due_at:
            if plan.escalated_at is None:
                targets = escalation_of(member, session=session)
                for boss in targets:
                    _ = translator(lang_of(boss, session=session))
                    outbox.enqueue(
                        session,
                        team=plan_team,
                        period=period,
                        member=boss,
                        kind=f"improve.escalated.{member.id}",
                        reply=Reply(
                            text=_(
                                "{name}'s improvement plan for {period} was due {due} and is not "
                                "in. Please follow up.",
                                name=member.name,
                                period=period.key if period else "",
                                due=TeamClock.of(plan_team).deadline(plan.due_at),
                            ),
                            private=True,
                        ),
                        now=now,
                    )
                store.update_plan(
                    session=session,
                    plan=plan,
                    actor="system",
                    reason="plan late: escalated",
                    now=now,
                    escalated_at=now,
                    escalated_to=targets[0].id if targets else None,
                )
                counts["escalated"] += 1
            continue
        last = plan.last_reminded_at
        due_soon = plan.due_at - now <= REMIND_BEFORE
        if due_soon and (last is None or last.date() != now.date()):
            _ = translator(lang_of(member, session=session))
            outbox.enqueue(
                session,
                team=plan_team,
                period=period,
                member=member,
                kind=f"improve.reminder.{plan.reminders + 1}",
                reply=Reply(
                    text=_(
                        "Reminder: your improvement plan is due {due}.",
                        due=TeamClock.of(plan_team).deadline(plan.due_at),
                    ),
                    buttons=(
                        Button(
                            _("Write the plan"), f"{ACTION}:start", str(plan.id), style="primary"
                        ),
                    ),
                    private=True,
                ),
                now=now,
            )
            store.update_plan(
                session=session,
                plan=plan,
                actor="system",
                reason="reminder",
                now=now,
                reminders=plan.reminders + 1,
                last_reminded_at=now,
            )
            counts["reminded"] += 1
    return counts


COMMANDS: tuple[Command, ...] = (
    Command(
        "improve",
        improve,
        permissions.SCORED_AND_LEADERS,
        what=N_("improvement plans: write yours, or approve and return your team's"),
        example="/improve",
        refusal=N_(
            "The command /improve is not available to you: improvement plans are for agents and "
            "their managers."
        ),
    ),
)
ACTIONS: dict[str, Handler] = {ACTION: on_action}
ACTION_IDS: dict[str, tuple[str, ...]] = {
    f"{ACTION}:start": ("plan.own",),
    f"{ACTION}:approve": ("plan.decide",),
}

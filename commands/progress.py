"""``/status [team] [period]``: who has done what this period, for managers and admins.

Per agent, each part the scheme scores: the self-review, the manager review, the KPI data
(the indicators an import or an admin fills), customer ratings, peer ratings and quality
samples against the scheme's minimum, each done (✓) or missing (✗); the agents kpibot cannot
reach (no account on any messenger, or blocked on Telegram). The facts are the ones the
score is computed from (``commands.results.gather``).

A manager sees their own agents (``commands.permissions.can_see_progress_of``), an admin
every agent of the team. While the review window is open, a "Remind them" button sends the
cycle's own reminders (``commands.cycle.self_reminder`` / ``manager_reminder``) through the
outbox: each agent whose self-review is missing, and each other manager whose reviews are
missing; nobody is reminded twice on one day (the team's date), counting the cycle's
scheduled reminders too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from commands import cycle, outbox, permissions, results
from commands.context import Command, Context, Handler
from commands.explain import component_name
from commands.i18n import translator
from commands.linking import messengers_named
from commands.messages import Button, Reply
from commands.people import TeamClock, lang_of, managers_of, reachable
from commands.permissions import N_
from commands.rank import resolve_period, resolve_team, split_args, status_name
from scoring import Scheme
from storage import outbox as outbox_store
from storage import repo
from storage.models import Member, Period, Team

REMIND_ACTION = "status:remind"
COUNTED = ("customer", "peer", "qa")
"""Component kinds counted against the scheme's minimum (ratings, raters, samples)."""


@dataclass
class AgentProgress:
    member: Member
    self_done: bool | None = None  # None: the scheme has no such part
    manager_done: bool | None = None
    kpi: tuple[int, int] | None = None  # (values present, indicators expected)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (got, minimum)

    @property
    def reachable(self) -> bool:
        return reachable(self.member)


def fed_by_data(scheme: Scheme) -> list[str]:
    """The indicators an import or an admin fills (the manager's come with the review)."""
    return [i.id for i in scheme.indicators if i.provider in ("import", "admin")]


def progress(
    session: Session, actor: Member, team: Team, period: Period, scheme: Scheme
) -> list[AgentProgress]:
    """Each agent the actor may follow, with what is done and missing for ``period``."""
    gathered = results.team_context(team, period, scheme, session=session, history=False)
    data = fed_by_data(scheme)
    valued = {
        (row.member_id, row.indicator)
        for row in repo.indicator_values(session=session, period=period)
        if row.value is not None
    }
    out = []
    for agent in gathered.agents:
        if not permissions.can_see_progress_of(actor, agent):
            continue
        src: Mapping[str, Any] = gathered.sources.get(agent.id or 0, {})
        item = AgentProgress(agent)
        if scheme.component("self") is not None:
            item.self_done = "self" in src
        if scheme.component("manager") is not None:
            item.manager_done = "manager" in src
        if data and scheme.uses_kpi_table:
            column = {i.id: i.column for i in scheme.indicators}
            item.kpi = (
                sum(1 for i in data if (agent.id, column[i]) in valued or (agent.id, i) in valued),
                len(data),
            )
        for kind, key in (("customer", "responses"), ("peer", "raters"), ("qa", "samples")):
            comp = scheme.component(kind)
            if comp is not None:
                item.counts[kind] = (int((src.get(kind) or {}).get(key, 0)), max(comp.min_count, 1))
        out.append(item)
    return out


def default_period(ctx: Context, team: Team) -> tuple[Period | None, Reply | None]:
    """The period whose review window is open (the latest such), else ``/rank``'s default."""
    open_now = repo.list_periods(session=ctx.session, team=team, statuses=["open"])
    if open_now:
        return open_now[-1], None
    return resolve_period(ctx, team, None)


# -- the view --------------------------------------------------------------------------------


def _mark(done: bool) -> str:
    return "✓" if done else "✗"


def agent_line(ctx: Context, scheme: Scheme, item: AgentProgress) -> str:
    _ = ctx._
    parts = []
    for kind, done in (("self", item.self_done), ("manager", item.manager_done)):
        comp = scheme.component(kind)
        if comp is not None and done is not None:
            parts.append(f"{component_name(_, ctx.lang, comp)} {_mark(done)}")
    if item.kpi is not None:
        have, expected = item.kpi
        parts.append(
            _("KPI data {have}/{expected}", have=have, expected=expected)
            + f" {_mark(have >= expected)}"
        )
    for kind, (got, minimum) in item.counts.items():
        comp = scheme.component(kind)
        assert comp is not None
        parts.append(f"{component_name(_, ctx.lang, comp)} {got}/{minimum} {_mark(got >= minimum)}")
    line = f"· {item.member.name} — " + " · ".join(parts)
    if not item.reachable:
        line += "  ⚠ " + _("no {messengers} account", messengers=_messengers(ctx))
    return line


def missing_self(items: list[AgentProgress]) -> list[AgentProgress]:
    return [i for i in items if i.self_done is False]


def missing_manager(items: list[AgentProgress]) -> list[AgentProgress]:
    return [i for i in items if i.manager_done is False]


def status_reply(
    ctx: Context, team: Team, period: Period, scheme: Scheme, items: list[AgentProgress]
) -> Reply:
    _ = ctx._
    window = ""
    closes = cycle.review_closes(ctx.session, team, period) if period.status == "open" else None
    if closes is not None:
        window = _(", reviews close {close}", close=TeamClock.of(team).deadline(closes))
    lines = [
        _(
            "Progress of {team} for {period} ({status}{window}):",
            team=team.name,
            period=period.key,
            status=status_name(_, period.status),
            window=window,
        )
    ]
    if not items:
        lines.append(_("No agents of yours in this team."))
        return Reply(text="\n".join(lines), ephemeral=True)
    lines += [agent_line(ctx, scheme, i) for i in items]
    lines.append("")
    summary = []
    if scheme.component("self") is not None:
        summary.append(_("self-reviews missing: {n}", n=len(missing_self(items))))
    if scheme.component("manager") is not None:
        summary.append(_("manager reviews missing: {n}", n=len(missing_manager(items))))
    if any(i.kpi is not None for i in items):
        summary.append(
            _("KPI data incomplete: {n}", n=sum(1 for i in items if i.kpi and i.kpi[0] < i.kpi[1]))
        )
    if summary:
        lines.append(_("In all: {summary}.", summary=summary))
    away = [i.member.name for i in items if not i.reachable]
    if away:
        lines.append(
            _(
                "Unreachable, they get nothing kpibot sends until an admin links their "
                "{messengers} account (/member set): {names}",
                messengers=_messengers(ctx),
                names=away,
            )
        )
    buttons: tuple[Button, ...] = ()
    if period.status == "open" and (missing_self(items) or missing_manager(items)):
        buttons = (Button(_("Remind them"), REMIND_ACTION, str(period.id)),)
    return Reply(text="\n".join(lines), buttons=buttons, private=True)


def _messengers(ctx: Context) -> str:
    return messengers_named(ctx.config.messengers, ctx.lang)


def status_command(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    team_name, key = split_args(args)
    team, problem = resolve_team(ctx, team_name)
    if team is None:
        return [problem] if problem else []
    permissions.require(permissions.can_see_progress(ctx.actor, team))
    period, problem = resolve_period(ctx, team, key) if key else default_period(ctx, team)
    if period is None:
        return [problem] if problem else []
    scheme = results.load_scheme(team, period, session=ctx.session)
    if scheme is None:
        return [
            Reply(
                text=_(
                    "Team {team} has no scheme yet. An admin sets one with /team set {team} "
                    "scheme=NAME.",
                    team=team.name,
                ),
                ephemeral=True,
            )
        ]
    return [
        status_reply(
            ctx, team, period, scheme, progress(ctx.session, ctx.actor, team, period, scheme)
        )
    ]


# -- "Remind them" ---------------------------------------------------------------------------


def reminded_today(session: Session, team: Team, period: Period, today: date) -> set[int]:
    """Members who got a reminder of ``period`` (the cycle's or this button's) on the team's
    ``today``."""
    rows = outbox_store.list_messages(session=session, team_id=team.id, period_id=period.id)
    return {
        r.member_id for r in rows
        if r.member_id is not None and r.kind.startswith("remind.")
        and TeamClock.of(team).date(r.created_at) == today
    }  # fmt: skip


def remind(ctx: Context, value: str) -> list[Reply]:
    _ = ctx._
    period = repo.get_period_by_id(session=ctx.session, period_id=int(value))
    team = (
        repo.get_team(session=ctx.session, team_id=period.team_id) if period is not None else None
    )
    if period is None or team is None:
        return [
            Reply(
                text=_("That button no longer works. Send /help to see what you can do."),
                ephemeral=True,
            )
        ]
    permissions.require(permissions.can_see_progress(ctx.actor, team))
    if period.status != "open":
        return [
            Reply(
                text=_(
                    "The review window of {period} is not open: there is nothing to remind anyone "
                    "of.",
                    period=period.key,
                ),
                ephemeral=True,
            )
        ]
    scheme = results.load_scheme(team, period, session=ctx.session)
    assert scheme is not None
    items = progress(ctx.session, ctx.actor, team, period, scheme)
    today = TeamClock.of(team).date(ctx.now)
    already = reminded_today(ctx.session, team, period, today)
    closes = TeamClock.of(team).deadline(cycle.review_closes(ctx.session, team, period))
    sent: list[str] = []
    skipped: list[str] = []
    waiting: list[str] = []
    for item in missing_self(items):
        who = item.member
        if who.id in already:
            skipped.append(who.name)
            continue
        t = translator(lang_of(who, session=ctx.session))
        outbox.enqueue(
            ctx.session,
            team=team,
            period=period,
            member=who,
            kind=f"remind.self.asked.{today}",
            reply=Reply(text=cycle.self_reminder(t, period.key, closes), private=True),
            now=ctx.now,
        )
        sent.append(who.name)
        if not reachable(who):
            waiting.append(who.name)
    late = [i.member for i in missing_manager(items)]
    for boss_id, theirs in managers_of(late, team=team, session=ctx.session).items():
        boss = repo.get_member(session=ctx.session, member_id=boss_id)
        if boss is None or boss.id == ctx.actor.id:
            continue
        if boss.id in already:
            skipped.append(boss.name)
            continue
        text = cycle.manager_reminder(
            lang_of(boss, session=ctx.session), period.key, [a.name for a in theirs], closes
        )
        outbox.enqueue(
            ctx.session,
            team=team,
            period=period,
            member=boss,
            kind=f"remind.manager.asked.{today}",
            reply=Reply(text=text, private=True),
            now=ctx.now,
        )
        sent.append(boss.name)
        if not reachable(boss):
            waiting.append(boss.name)
    lines = []
    if sent:
        lines.append(_("Reminder sent to {names}.", names=sent))
    if skipped:
        lines.append(_("Already reminded today, so not again: {names}.", names=skipped))
    if waiting:
        lines.append(
            _(
                "No {messengers} account, so their reminder waits in /inbox: {names}.",
                messengers=_messengers(ctx),
                names=waiting,
            )
        )
    if not lines and late:
        lines.append(
            _("Nobody else to remind: the missing manager reviews are yours to do (/review NAME).")
        )
    elif not lines:
        lines.append(_("Nobody to remind: every self-review and manager review is done."))
    return [Reply(text="\n".join(lines), ephemeral=True)]


COMMANDS: tuple[Command, ...] = (
    Command(
        "status",
        status_command,
        permissions.LEADERS,
        what=N_(
            "who has done what this period: self-review, manager review, KPI data, ratings, QA; "
            "remind those missing"
        ),
        example="/status demo 2026-10",
        refusal=permissions.STATUS_ONLY_LEADERS,
        menu=N_("Who has done what this period (managers)"),
        menu_rank=5,
    ),
)
ACTIONS: dict[str, Handler] = {"status": remind}
ACTION_IDS: dict[str, tuple[str, ...]] = {REMIND_ACTION: ("period",)}

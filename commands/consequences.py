"""结果应用: what follows a published period, run once per team and period at publication.

    applied = apply_results(session, team, period, now=now)     # idempotent

reads the (locked) scores through ``commands.results`` and

* records rank 1's reward and the last place's penalty as payroll entries (amounts from the
  scheme, exact decimals; :func:`record_payroll` rewrites them after an appeal);
* asks the agents the scoring module flagged (``improvement_due``: the last
  ``apply.improvement_last``) for an improvement plan due ``apply.improvement_days`` after
  publication (``commands.results.plan_deadline``); that stored deadline is the date /rank,
  /me, the export and the result message show;
* raises a post-change flag where the scoring module set ``post_change`` (last
  ``apply.post_change_after`` periods in a row), told to the admins only, never to the team;
* prepares one feedback meeting per scored agent (``commands.feedback``);
* announces the best agent and the best team of the month in the team channel when the
  scheme says so (``apply.announce_best``); the best team is the one with the highest mean
  total among the teams that have the same period;
* star levels (星级) are the scoring module's (``flags["star"]``, ``flags["bonus_base"]``):
  the same in the result message and the HR export;
* training needs: the team's weakest indicators (lowest share of points earned, averaged
  over the team), appended to the manager's team table (:func:`training_lines`).

Every message goes through the outbox (``commands.outbox.enqueue``) with its own kind.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from commands import feedback, improve, numbers, outbox, results
from commands.i18n import Translate, translator
from commands.messages import Reply
from commands.people import admins_of, lang_of
from commands.publication import published_at
from commands.rank import money
from storage import consequences as store
from storage import repo
from storage.models import Member, Period, Team

TRAINING_NEEDS = 3


@dataclass
class Applied:
    payroll: int = 0
    plans: list[int] = field(default_factory=list)
    post_change: list[int] = field(default_factory=list)
    meetings: list[int] = field(default_factory=list)
    announced: bool = False


def record_payroll(
    session: Session,
    team: Team,
    period: Period,
    outcome: results.PeriodResults,
    *,
    actor: str,
    reason: str,
    now: datetime,
) -> int:
    """Payroll entries from the flags of the scores (reward for rank 1, penalty for the last)."""
    entries: list[tuple[Member, str, Decimal, str]] = []
    currency = outcome.scheme.apply.currency
    for s in outcome.scored:
        member = repo.get_member(session=session, member_id=s.member_id)
        if member is None:
            continue
        for kind in ("reward", "penalty"):
            amount = s.flags.get(f"{kind}_amount")
            if s.flags.get(kind) and amount is not None:
                entries.append((member, kind, Decimal(str(amount)), currency))
    return len(store.replace_payroll(session=session, team=team, period=period, entries=entries,
                                     actor=actor, reason=reason, now=now))  # fmt: skip


def training_needs(
    outcome: results.PeriodResults, n: int = TRAINING_NEEDS
) -> list[tuple[str, float]]:
    """The team's weakest indicators: (indicator id, mean share of points earned), weakest first."""
    shares: dict[str, list[float]] = {}
    for s in outcome.scored:
        for iid, ind in (s.breakdown.get("indicators") or {}).items():
            if ind.get("status") == "excluded" or not ind.get("max_points"):
                continue
            shares.setdefault(iid, []).append(float(ind["points"] or 0) / float(ind["max_points"]))
    means = sorted(((iid, statistics.fmean(v)) for iid, v in shares.items()), key=lambda kv: kv[1])
    return [(iid, m) for iid, m in means if m < 1 - 1e-9][:n]


def training_lines(_: Translate, lang: str, outcome: results.PeriodResults) -> list[str]:
    """The end of the manager's team table: the team's weakest indicators as training needs."""
    needs = training_needs(outcome)
    if not needs:
        return [_("Training needs: none, every indicator is at full points.")]
    lines = [_("Training needs (the team's weakest indicators):")]
    for iid, share in needs:
        lines.append(
            _(
                "· {name}: {share} of the points",
                name=outcome.scheme.indicator(iid).name.get(lang),
                share=f"{share * 100:.0f}%",
            )
        )
    return lines


def best_team(session: Session, period_key: str) -> tuple[Team, float] | None:
    best: tuple[Team, float] | None = None
    for team in repo.list_teams(session=session):
        period = repo.get_period(session=session, team=team, key=period_key)
        if period is None:
            continue
        outcome = results.period_results(team, period, session=session, store=False)
        totals = (
            [s.total for s in outcome.scored if s.total is not None and not s.provisional]
            if outcome
            else []
        )
        if totals and (best is None or statistics.fmean(totals) > best[1]):
            best = (team, statistics.fmean(totals))
    return best


def announce(
    session: Session, team: Team, period: Period, outcome: results.PeriodResults, *, now: datetime
) -> bool:
    if not outcome.scheme.apply.announce_best or not outcome.scored:
        return False
    _ = translator(team.lang)
    top = [s for s in outcome.scored if s.rank == 1]
    total = numbers.total(top[0].total, outcome.scheme.precision)
    lines = [_("Best agent of {period}: {names} ({total}).", period=period.key,
               names=[s.name for s in top], total=total)]  # fmt: skip
    bt = best_team(session, period.key)
    if bt is not None:
        lines.append(
            _(
                "Best team of {period}: {team} (mean {mean}).",
                period=period.key,
                team=bt[0].name,
                mean=f"{bt[1]:.1f}",
            )
        )
    return outbox.enqueue(session, team=team, period=period, member=None, kind="best",
                          reply=Reply(text="\n".join(lines)), now=now)  # fmt: skip


def apply_results(session: Session, team: Team, period: Period, *, now: datetime) -> Applied:
    """Everything that follows publication (module docstring); running it twice changes nothing."""
    applied = Applied()
    outcome = results.period_results(team, period, session=session, actor="system")
    if outcome is None:
        return applied
    applied.payroll = record_payroll(session, team, period, outcome, actor="system",
                                     reason="period published", now=now)  # fmt: skip
    scheme = outcome.scheme
    published = published_at(session, period) or now
    for s in feedback.meeting_order(
        session, period, outcome
    ):  # consequences first: their meetings come first
        member = repo.get_member(session=session, member_id=s.member_id)
        if member is None or s.held:  # a held result has no consequences until an admin confirms it
            continue
        if s.flags.get("improvement_due"):
            due_at = results.plan_deadline(team, published, scheme.apply.improvement_days)
            plan = improve.request_plan(
                session,
                team,
                period,
                member,
                due_at=due_at,
                now=now,
                rank=s.rank,
                group_size=s.group_size,
                last_n=scheme.apply.improvement_last,
            )
            applied.plans.append(plan.id or 0)
        if s.flags.get(
            "post_change"
        ):  # the scoring module's rule: last now and in the K-1 periods before
            streak = scheme.apply.post_change_after
            flag, created = store.raise_post_change(
                session=session, team=team, period=period, member=member, streak=streak, now=now
            )
            applied.post_change.append(flag.id or 0)
            if created:
                for admin in admins_of(session=session):
                    _ = translator(lang_of(admin, session=session))
                    outbox.enqueue(
                        session,
                        team=team,
                        period=period,
                        member=admin,
                        kind=f"post_change.{member.id}",
                        reply=Reply(
                            text=_(
                                "{name} ({team}) was last {n} periods in a row up to {period}: "
                                "review a change of post (岗位调整).",
                                name=member.name,
                                team=team.name,
                                n=streak,
                                period=period.key,
                            ),
                            private=True,
                        ),
                        now=now,
                    )
        meeting = feedback.prepare_meeting(session, team, period, member, outcome, now=now)
        if meeting is not None:
            applied.meetings.append(meeting.id or 0)
    applied.announced = announce(session, team, period, outcome, now=now)
    return applied


def consequence_lines(_: Translate, flags: dict[str, Any], currency: str) -> list[str]:
    """What happens next for an agent, for the result message."""
    lines = []
    if flags.get("reward") and flags.get("reward_amount"):
        lines.append(
            _("Reward for rank 1: {amount}.", amount=money(flags["reward_amount"], currency))
        )
    if flags.get("penalty") and flags.get("penalty_amount"):
        lines.append(
            _(
                "Deduction for the last place: {amount}.",
                amount=money(flags["penalty_amount"], currency),
            )
        )
    return lines

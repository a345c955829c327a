"""The results broadcast of the ``publish`` step: what each person is sent, through the outbox.

* each agent (kind ``result``): the receipt ``/me`` shows (total, rank, change, every
  indicator and component, last periods), the manager's comments, and what happens next
  (reward or deduction, improvement plan due date, the appeal window, the feedback
  meeting); then (kind ``result.chart``) a chart of their totals over the last six periods,
  drawn when it is sent (``result.history``). A provisional result confirmed by an admin is
  sent marked provisional; a held one (``commands.publication``) is not sent: its owner gets
  ``result.held`` (what is missing, that the admins decide);
* the team's chat (kinds ``ranking`` and ``ranking.chart``), only where the scheme
  publishes the ranking: the ranking ``/rank`` shows;
* each manager (kind ``manager.table``): their team's table and its training needs.

Texts are built by the same functions as ``/me`` and ``/rank`` (one rule, one place).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from commands import results
from commands.appeal import appeal_window_end
from commands.consequences import consequence_lines, training_lines
from commands.feedback import review_comments
from commands.me import receipt
from commands.outbox import enqueue
from commands.outbox_charts import chart_ref
from commands.people import TeamClock, managers_of
from commands.rank import full_ranking
from commands.step_context import StepContext
from storage import repo
from storage.models import Member

if TYPE_CHECKING:
    pass


def _appeal_until(ctx: StepContext) -> str:
    """The last day to appeal, as the result message names it: the day of the window's end
    (:func:`commands.appeal.appeal_window_end`, published now), the day /appeal's deadline is on."""
    assert ctx.scheme is not None
    end = appeal_window_end(ctx.team, ctx.now, ctx.scheme.apply.appeal_days)
    return TeamClock.of(ctx.team).deadline_date(end).isoformat()


def _comment_lines(ctx: StepContext, member: Member, lang: str, _: Any) -> list[str]:
    assert ctx.period is not None and ctx.scheme is not None
    comments = {
        k.split(".", 1)[1]: v
        for k, v in review_comments(ctx.session, ctx.period, member).items()
        if k.startswith("manager.")
    }
    if not comments:
        return []
    names = {d.id: d.name.get(lang) for d in ctx.scheme.manager_dimensions}
    lines = [_("Your manager's comments:")]
    lines += [f"· {names.get(key, key)}: {text}" for key, text in comments.items()]
    return lines


def _next_lines(ctx: StepContext, score: results.AgentScore, _: Any) -> list[str]:
    assert ctx.scheme is not None
    lines = [_("What happens next:")]
    lines += [
        f"· {line}" for line in consequence_lines(_, dict(score.flags), ctx.scheme.apply.currency)
    ]
    if score.flags.get("improvement_due"):
        lines.append("· " + _("Please send an improvement plan (/improve) by {date}.",
                              date=score.flags["improvement_due"]))  # fmt: skip
    lines.append("· " + _("Your manager will propose a time for a feedback meeting."))
    lines.append(
        "· "
        + _(
            "If you disagree with a part of this result, you can appeal until {date}: send "
            "/appeal.",
            date=_appeal_until(ctx),
        )
    )
    return lines


def result_messages(ctx: StepContext, outcome: results.PeriodResults) -> None:
    assert ctx.period is not None
    for score in outcome.scores:
        member = repo.get_member(session=ctx.session, member_id=score.member_id)
        if member is None or not member.active:
            continue
        cctx = ctx.speaking_as(member)
        _ = cctx._
        if not score.scored:
            ctx.say(
                member,
                "result",
                _(
                    "There is no score for you for {period}: the reviews were missing. Please talk "
                    "to your manager.",
                    period=ctx.period_key,
                ),
            )
            continue
        if score.held:  # commands.publication: not broadcast as final; the admins decide
            ctx.say(
                member,
                "result.held",
                _(
                    "Your result for {period} is not published yet: a part the scheme requires is "
                    "missing ({parts}). The admins have been told and decide whether to publish it "
                    "as provisional; please talk to your manager.",
                    period=ctx.period_key,
                    parts=score.missing_names(outcome.scheme, cctx.lang),
                ),
            )
            ctx.count("held_told")
            continue
        lines = receipt(cctx, outcome, score)
        lines += _comment_lines(ctx, member, cctx.lang, _)
        lines += _next_lines(ctx, score, _)
        ctx.say(member, "result", "\n".join(lines))
        ctx.say(member, "result.chart", _("Your totals over the last six periods"),
             chart=chart_ref("result.history", {"member_id": member.id, "period_id": ctx.period.id,
                                                "lang": cctx.lang}))  # fmt: skip
        ctx.count("results")


def _speaker(ctx: StepContext) -> Member | None:
    """Whom the team-wide texts are rendered for (a manager: nobody's bar is highlighted)."""
    managers = repo.team_managers(session=ctx.session, team=ctx.team)
    members = managers or repo.list_members(session=ctx.session, team=ctx.team)
    return members[0] if members else None


def team_ranking(ctx: StepContext, outcome: results.PeriodResults) -> None:
    assert ctx.period is not None and ctx.scheme is not None
    speaker = _speaker(ctx)
    if not ctx.scheme.publish_ranking or speaker is None or not outcome.scored:
        return
    cctx = ctx.speaking_as(speaker, lang=ctx.team.lang)
    previous = results.previous_ranks(ctx.team, ctx.period, session=ctx.session)
    replies = full_ranking(cctx, ctx.team, ctx.period, outcome, previous)
    for kind, reply in zip(("ranking", "ranking.chart"), replies, strict=False):
        if enqueue(
            ctx.session,
            team=ctx.team,
            period=ctx.period,
            member=None,
            kind=kind,
            reply=reply,
            now=ctx.now,
        ):
            ctx.count("queued")


def manager_tables(ctx: StepContext, outcome: results.PeriodResults) -> None:
    assert ctx.period is not None
    previous = results.previous_ranks(ctx.team, ctx.period, session=ctx.session)
    agents = [
        m
        for s in outcome.scores
        if (m := repo.get_member(session=ctx.session, member_id=s.member_id)) is not None
    ]
    bosses = set(managers_of(agents, team=ctx.team, session=ctx.session)) | {
        m.id for m in repo.team_managers(session=ctx.session, team=ctx.team)
    }
    for boss_id in sorted(b for b in bosses if b is not None):
        boss = repo.get_member(session=ctx.session, member_id=boss_id)
        if boss is None or not boss.active:
            continue
        cctx = ctx.speaking_as(boss)
        [table, *_chart] = full_ranking(cctx, ctx.team, ctx.period, outcome, previous)
        lines = [table.text, *training_lines(cctx._, cctx.lang, outcome)]
        ctx.say(boss, "manager.table", "\n".join(lines))
        ctx.count("manager_tables")

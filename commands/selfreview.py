"""``/selfreview [period]``: an agent rates their own period (DOMAIN.md: self 30 %).

The questions are the scheme's self-review dimensions (task completion first), then
what went well and what to improve. Before the first question the agent sees their own
KPI numbers for the period and the personal goals agreed for it in their feedback
meeting. The form opens with the period's review window and cannot
be submitted after its deadline.
"""

from __future__ import annotations

from commands import permissions
from commands.context import Command, Context
from commands.feedback import goal_lines
from commands.forms import engine
from commands.forms.common import (
    conversation_period,
    expiry,
    kpi_lines,
    next_review_period,
    open_review_period,
    period_by_key,
    scheme_of,
    score_field,
    task_first,
    team_of,
    window_refusal,
)
from commands.forms.spec import N_, Answers, Field, FormDefinition
from commands.messages import Reply
from commands.people import TeamClock
from storage import repo
from storage.models import Conversation

FORM_ID = "selfreview"
TITLE = N_("self-review")
TEXT_LIMIT = 500


def fields(ctx: Context, conv: Conversation) -> list[Field]:
    scheme = scheme_of(ctx, team_of(ctx, ctx.actor), conversation_period(ctx, conv))
    dims = task_first(scheme.self_dimensions) if scheme is not None else []
    out = [score_field(d, N_("{dimension}: how do you rate yourself this period?")) for d in dims]
    out += [
        Field(
            "went_well",
            "text",
            N_("What went well this period?"),
            max_length=TEXT_LIMIT,
            help=N_("One or two sentences are enough."),
            short=N_("What went well"),
        ),
        Field(
            "to_improve",
            "text",
            N_("What do you want to improve next period?"),
            max_length=TEXT_LIMIT,
            short=N_("What to improve"),
        ),
    ]
    return out


def intro(ctx: Context, conv: Conversation) -> list[Reply]:
    _ = ctx._
    period = conversation_period(ctx, conv)
    team = team_of(ctx, ctx.actor)
    lines = [_("Self-review for {period}.", period=period.key)]
    if period.review_closes_at is not None:
        lines.append(
            _("Please finish by {when}.", when=TeamClock.of(team).deadline(period.review_closes_at))
        )
    scheme = scheme_of(ctx, team, period)
    if scheme is not None and scheme.indicators:
        lines.append(_("Your KPI numbers for {period}, for reference:", period=period.key))
        lines += kpi_lines(ctx, scheme, ctx.actor, period)
    goals = goal_lines(ctx.session, ctx.actor, period.key, _, scheme, ctx.lang)
    if goals:
        lines.append(
            _(
                "Your personal goals for {period}, agreed in your feedback meeting:",
                period=period.key,
            )
        )
        lines += goals
    return [Reply(text="\n".join(lines), private=True)]


def check(ctx: Context, conv: Conversation) -> str | None:
    return window_refusal(ctx, team_of(ctx, ctx.actor), conversation_period(ctx, conv), TITLE)


def submit(ctx: Context, conv: Conversation, answers: Answers) -> int:
    period = conversation_period(ctx, conv)
    comment_ids = ("went_well", "to_improve")
    review = repo.save_review(
        session=ctx.session, period=period, subject=ctx.actor, rater=ctx.actor, kind="self",
        answers={k: v for k, v in answers.items() if k not in comment_ids},
        comments={k: answers[k] for k in comment_ids if answers.get(k)},
        actor=repo.actor_of(ctx.actor), reason="self-review submitted in chat",
        submitted_at=ctx.now, idempotency_key=f"conversation:{conv.id}", now=ctx.now,
    )  # fmt: skip
    assert review.id is not None
    return review.id


FORM = FormDefinition(
    form_id=FORM_ID,
    title=TITLE,
    fields=fields,
    submit=submit,
    intro=intro,
    check=check,
    done=N_(
        "Thank you, your self-review is submitted. You can change it with /selfreview until the "
        "deadline."
    ),
)


def selfreview(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    permissions.require(permissions.can_self_review(ctx.actor))
    team = team_of(ctx, ctx.actor)
    key = args.strip()
    if key:
        period = period_by_key(ctx, team, key)
        if period is None:
            return [Reply(text=_("There is no period {period}.", period=key), ephemeral=True)]
    else:
        period = open_review_period(ctx, team)
        if period is None:
            upcoming = next_review_period(ctx, team)
            if upcoming is not None and upcoming.review_opens_at is not None:
                return [
                    Reply(text=window_refusal(ctx, team, upcoming, TITLE) or "", ephemeral=True)
                ]
            return [Reply(text=_("No self-review is open now."), ephemeral=True)]
    refusal = window_refusal(ctx, team, period, TITLE)
    if refusal:
        return [Reply(text=refusal, ephemeral=True)]
    scheme = scheme_of(ctx, team, period)
    if scheme is None:
        return [
            Reply(
                text=_("Your team has no scheme yet, so there is nothing to review. Ask an admin."),
                ephemeral=True,
            )
        ]
    if not scheme.self_dimensions:
        return [Reply(text=_("Your team's scheme has no self-review."), ephemeral=True)]
    assert ctx.actor.id is not None
    earlier = repo.get_review(
        session=ctx.session, period=period, subject=ctx.actor, rater=ctx.actor, kind="self"
    )
    answers = {**earlier.answers, **earlier.comments} if earlier is not None else None
    return engine.start(
        ctx, FORM_ID, period_id=period.id, subject_id=ctx.actor.id, expires_at=expiry(ctx, period),
        answers=answers,
    )  # fmt: skip


COMMANDS: tuple[Command, ...] = (
    Command(
        "selfreview",
        selfreview,
        permissions.AGENTS,
        what=N_("fill your self-review for the period"),
        example="/selfreview",
        refusal=N_(
            "The command /selfreview is not available to you: self-reviews are for agents; "
            "managers and admins are not scored."
        ),
        menu=N_("Fill in your self-review"),
        menu_rank=1,
    ),
)

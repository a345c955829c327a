"""Reviewing a sample in chat: the scorecard as a form walked by the one form engine.

``/qa`` gives a reviewer their next sample (:func:`next_sample`): first a sample already
assigned to them (calibration requests first), else the oldest unclaimed sample of a team
they review — never one of their own conversations. Claiming takes the sample's one
regular-review slot (``qa_review.regular_key`` is unique), so two reviewers never score the
same sample by accident.

The form (:data:`FORM`, id ``qa``) asks each check as pass / fail / N/A buttons (N/A only
where the check allows it), then an optional comment; the summary shows the resulting sample
score; submit stores it and tells the agent (through the outbox) their result, the failed
checks and the comment, with a button to dispute it. The form's conversation row carries no
subject; the link from review to conversation is ``qa_review.answers["_conversation"]``.

Under blind review the agent's name is shown nowhere a reviewer looks: the sample card, the
summary, the queue messages and the calibration report all say "hidden".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from commands import permissions
from commands.context import Context
from commands.forms import engine
from commands.forms.spec import N_, Answers, Field, FormDefinition, Localized, Msg, Option
from commands.i18n import translator
from commands.messages import Button, Reply
from commands.outbox import enqueue
from commands.people import TeamClock, lang_of
from commands.qa.common import SampleView, fmt_score, may_review, sample_view
from scoring.qa import FAIL, NA, PASS, score_sample
from scoring.scheme import Check, Scorecard
from storage import conversations, repo
from storage import qa as store
from storage.models import Conversation
from storage.models.qa import QaReview

FORM_ID = "qa"
TITLE = N_("quality review")
COMMENT = "qa_comment"
COMMENT_LIMIT = 500
PREFIX = "check_"
CLOSED_PERIODS = ("locked", "published")
ACTION = "qa"


def field_id(check: Check) -> str:
    return f"{PREFIX}{check.id}"


def check_answers_of(card: Scorecard, answers: Answers) -> dict[str, str]:
    """Form answers (``check_<id>``) → scorecard answers (``<id>``)."""
    return {
        c.id: str(answers[field_id(c)]) for c in card.checks if answers.get(field_id(c)) is not None
    }


def _review(ctx: Context, conv: Conversation) -> tuple[QaReview, SampleView] | None:
    assert conv.id is not None
    review = store.review_by_conversation(
        session=ctx.session, reviewer_id=conv.member_id, conversation_id=conv.id
    )
    if review is None:
        return None
    view = sample_view(review.sample_id, session=ctx.session)
    return (review, view) if view is not None else None


def fields(ctx: Context, conv: Conversation) -> list[Field]:
    found = _review(ctx, conv)
    if found is None:
        return []
    out: list[Field] = []
    for check in found[1].card.checks:
        name = Localized(check.name.zh, check.name.en)
        prompt: Localized | Msg = name
        if check.critical:
            prompt = Msg(
                N_("{check} (critical: failing it fails the whole sample)"), {"check": name}
            )
        options = [Option(PASS, N_("Pass")), Option(FAIL, N_("Fail"))]
        if check.na:
            options.append(Option(NA, N_("N/A")))
        out.append(
            Field(
                field_id(check),
                "choice",
                prompt,
                options=tuple(options),
                short=name,
                help=""
                if check.na
                else N_("This check always applies: N/A is not an answer here."),
            )
        )
    out.append(
        Field(
            COMMENT,
            "text",
            N_("A comment for the agent: what was good, what to change (optional)."),
            required=False,
            max_length=COMMENT_LIMIT,
            short=N_("Comment"),
        )
    )
    return out


def card_lines(ctx: Context, view: SampleView, review: QaReview) -> list[str]:
    """The sample as the reviewer sees it: reference, agent (or hidden), time, period."""
    _ = ctx._
    lines = [
        _("Quality review of sample {n} ({period}).", n=view.sample_id, period=view.period.key)
    ]
    if review.kind == "calibration":
        lines.append(
            _("This is a calibration sample: other reviewers score it too, independently.")
        )
    lines.append(_("Agent: {agent}", agent=view.agent_shown(_)))
    lines.append(_("Reference: {ref}", ref=view.reference()))
    lines.append(_("Started: {when}", when=TeamClock.of(view.team).text(view.service.started_at)))
    return lines


def intro(ctx: Context, conv: Conversation) -> list[Reply]:
    found = _review(ctx, conv)
    if found is None:
        return []
    review, view = found
    lines = card_lines(ctx, view, review)
    lines.append(ctx._("Open the original, then answer each check."))
    return [Reply(text="\n".join(lines), private=True)]


def preview(ctx: Context, conv: Conversation, answers: Answers) -> list[str]:
    found = _review(ctx, conv)
    if found is None:
        return []
    card = found[1].card
    result = score_sample(card, check_answers_of(card, answers))
    _ = ctx._
    lines = [_("Sample score: {score}", score=fmt_score(result.score))]
    if result.critical_failed:
        names = ", ".join(card.check(c).name.get(ctx.lang) for c in result.critical_failed)
        lines.append(
            _("A critical check failed ({checks}): the whole sample scores 0.", checks=names)
        )
    if result.score is None:
        lines.append(_("No check applies, so this sample has no score and does not count."))
    return lines


def check(ctx: Context, conv: Conversation) -> str | None:
    found = _review(ctx, conv)
    if found is None:
        return ctx._("This sample is no longer yours to review.")
    review, view = found
    if review.status != "assigned":
        return ctx._("This sample is already reviewed.")
    decision = may_review(ctx.actor, view)
    if not decision:
        return decision.explain(ctx._)
    if view.period.status in CLOSED_PERIODS:
        return ctx._(
            "Period {period} is closed; its samples can no longer be reviewed.",
            period=view.period.key,
        )
    return None


def submit(ctx: Context, conv: Conversation, answers: Answers) -> int:
    found = _review(ctx, conv)
    assert found is not None
    review, view = found
    card_answers = check_answers_of(view.card, answers)
    result = score_sample(view.card, card_answers)
    comment = answers.get(COMMENT)
    stored = {"_conversation": conv.id, **card_answers}
    store.submit_review(
        session=ctx.session,
        review=review,
        answers=stored,
        comment=comment,
        score=result.score,
        actor=repo.actor_of(ctx.actor),
        now=ctx.now,
    )
    if review.kind == "regular":
        notify_agent(ctx, view, review)
    assert review.id is not None
    return review.id


FORM = FormDefinition(
    form_id=FORM_ID,
    title=TITLE,
    fields=fields,
    submit=submit,
    intro=intro,
    preview=preview,
    check=check,
    done=N_("Thank you, the review is saved. Send /qa for the next sample."),
)


# -- the agent hears the result ------------------------------------------------------------


def result_text(_: Any, lang: str, view: SampleView, review: QaReview) -> str:
    """What the agent is told: score, failed checks (critical marked), the comment, how to
    dispute."""
    answers = review.answers or {}
    failed = [
        c for c in view.card.checks if answers.get(c.id) == FAIL
    ]  # the stored score stays as given
    lines = [_("QA result for your conversation {ref} ({period}): {score}", ref=view.service.ref,
               period=view.period.key, score=fmt_score(review.score))]  # fmt: skip
    if failed:
        lines.append(_("Failed checks:"))
        for c in failed:
            mark = _(" (critical: the sample scores 0)") if c.critical else ""
            lines.append(f"- {c.name.get(lang)}{mark}")
    else:
        lines.append(_("No check failed."))
    if review.comment:
        lines.append(_("Comment: {comment}", comment=review.comment))
    lines.append(
        _("If you disagree, dispute it: /qa dispute {id} followed by your reason.", id=review.id)
    )
    return "\n".join(lines)


def notify_agent(ctx: Context, view: SampleView, review: QaReview) -> None:
    """Queue the agent's QA result in the outbox (kind ``qa.result.<review id>``, sent once)."""
    agent = view.agent
    lang = lang_of(agent, session=ctx.session)
    _ = translator(lang)
    reply = Reply(
        text=result_text(_, lang, view, review),
        buttons=(Button(_("Dispute"), f"{ACTION}:dispute", str(review.id)),),
        private=True,
    )
    enqueue(
        ctx.session,
        team=view.team,
        period=view.period,
        member=agent,
        kind=f"qa.result.{review.id}",
        reply=reply,
        now=ctx.now,
    )
    store.mark_notified(session=ctx.session, review=review, now=ctx.now)


# -- the queue -----------------------------------------------------------------------------


def _team_ids(ctx: Context) -> Sequence[int]:
    teams = permissions.qa_review_teams(ctx.actor)
    if teams is None:
        return [t.id for t in repo.list_teams(session=ctx.session) if t.id is not None]
    return sorted(teams)


def _reviewable(ctx: Context, view: SampleView | None) -> bool:
    return (
        view is not None
        and bool(may_review(ctx.actor, view))
        and view.period.status not in CLOSED_PERIODS
    )


def next_sample(ctx: Context) -> list[Reply] | None:
    """Open the reviewer's next sample; ``None`` when the queue is empty."""
    assert ctx.actor.id is not None
    for review in store.open_reviews(session=ctx.session, reviewer_id=ctx.actor.id):
        view = sample_view(review.sample_id, session=ctx.session)
        if view is not None and _reviewable(ctx, view):
            return open_form(ctx, review, view)
    for sample in store.unclaimed_samples(
        session=ctx.session, team_ids=_team_ids(ctx), exclude_member=ctx.actor.id
    ):
        assert sample.id is not None
        view = sample_view(sample.id, session=ctx.session)
        if view is not None and _reviewable(ctx, view):
            review = store.assign_review(
                session=ctx.session,
                sample=sample,
                reviewer=ctx.actor,
                kind="regular",
                actor=repo.actor_of(ctx.actor),
                now=ctx.now,
            )
            return open_form(ctx, review, view)
    return None


def open_form(ctx: Context, review: QaReview, view: SampleView) -> list[Reply]:
    """Continue the review's form where it stopped, or start it."""
    assert ctx.actor.id is not None
    conv_id = (review.answers or {}).get("_conversation")
    conv = conversations.get_conversation(int(conv_id), session=ctx.session) if conv_id else None
    if conv is None or conv.status != "active":
        conv = conversations.create_conversation(
            session=ctx.session, member_id=ctx.actor.id, form_id=FORM_ID, period_id=view.period.id,
            subject_id=None, platform=ctx.incoming.platform, now=ctx.now, expires_at=None,
        )  # fmt: skip
        store.save_answers(session=ctx.session, review=review, answers={"_conversation": conv.id})
    state = engine.load(ctx, conv)
    return FORM.intro(ctx, conv) + [engine.ask(ctx, state, offer_form=True)]

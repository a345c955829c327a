"""The agent's side of quality sampling, the draw in chat, and the qa input of the score.

* ``/qa`` or ``/qa results [period]`` (an agent): their reviewed samples of the period, each with
  its score, failed checks, the comment and how to dispute it; the mean and the count the score
  uses (the scheme's ``min_samples`` rule applies as for customer ratings).
* ``/qa dispute REVIEW REASON`` (the agent of that conversation) or the *Dispute* button: the
  dispute is recorded (``qa_dispute``) and opened as an appeal of the ``qa`` component in the
  monthly cycle's appeal table, so it is decided where every other appeal is.
* ``/qa draw [period] [seed]`` (a manager of the team or an admin): draw the period's samples
  by the scheme's rule (:mod:`commands.qa.sampling`).
* :func:`qa_inputs` ``(session, period)``: the period's regular, submitted reviews as the scoring
  module's ``qa`` frame (``score`` = mean sample score 0–100, ``count``), by agent id.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from commands import permissions, scope
from commands.appeal import deciders
from commands.context import Context
from commands.forms.common import period_by_key, team_of
from commands.i18n import Translate, translator
from commands.messages import Button, Reply
from commands.outbox import enqueue
from commands.people import lang_of
from commands.qa.common import SampleView, fmt_score, qa_component, sample_view
from commands.qa.inputs import qa_inputs
from commands.qa.review import ACTION, result_text
from commands.qa.sampling import LOCKED, LOCKED_REFUSAL, draw_period
from storage import consequences, repo
from storage import qa as store
from storage.models import Period, Team
from storage.models.qa import QaDraw

REASON_LIMIT = 1000
__all__ = ["dispute", "draw", "my_results", "on_dispute_button", "qa_inputs"]


def _period(ctx: Context, key: str) -> Period | None:
    team = team_of(ctx, ctx.actor)
    if key:
        return period_by_key(ctx, team, key)
    today = ctx.now.date()
    return repo.current_period(session=ctx.session, team=team, today=today) or next(
        iter(reversed(repo.list_periods(session=ctx.session, team=team))), None
    )


def my_results(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    assert ctx.actor.id is not None
    period = _period(ctx, args.strip())
    if period is None:
        return [
            Reply(
                text=_("There is no period {period}.", period=args.strip() or "-"), ephemeral=True
            )
        ]
    rows = store.reviews_for_member(session=ctx.session, member_id=ctx.actor.id, period=period)
    if not rows:
        return [
            Reply(
                text=_(
                    "None of your conversations in {period} has been quality-reviewed yet.",
                    period=period.key,
                ),
                private=True,
            )
        ]
    replies: list[Reply] = []
    scores = [r.score for r, _s in rows if r.score is not None]
    component = qa_component(team_of(ctx, ctx.actor), period, session=ctx.session)
    head = _(
        "Your quality reviews in {period}: {count} scored samples, mean {mean}.",
        period=period.key,
        count=len(scores),
        mean=fmt_score(sum(scores) / len(scores)) if scores else "—",
    )
    if component is not None and len(scores) < component.min_count:
        head += "\n" + _("The score counts them from {n} samples on.", n=component.min_count)
    replies.append(Reply(text=head, private=True))
    for review, sample in rows:
        assert sample.id is not None
        view = sample_view(sample.id, session=ctx.session)
        if view is None:
            continue
        buttons = (
            ()
            if store.get_dispute(session=ctx.session, review_id=review.id or 0)
            else (Button(_("Dispute"), f"{ACTION}:dispute", str(review.id)),)
        )
        replies.append(
            Reply(text=result_text(_, ctx.lang, view, review), buttons=buttons, private=True)
        )
    return replies


def dispute(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    head, _sep, reason = args.strip().partition(" ")
    reason = reason.strip()
    if not head.isdigit():
        return [
            Reply(
                text=_(
                    "Write /qa dispute NUMBER followed by your reason, for example /qa dispute 7 "
                    "the customer hung up before I could greet."
                ),
                ephemeral=True,
            )
        ]
    found, decision = scope.resolve(
        ctx, "qa_review.own", head
    )  # by id: the sample's agent is the asker
    review = found[0] if found is not None else None
    view = sample_view(review.sample_id, session=ctx.session) if review is not None else None
    if not scope.unknown(decision):
        permissions.require(decision)
    if review is None or view is None or review.kind != "regular" or review.status != "submitted":
        return [Reply(text=_("There is no QA result {n} of yours.", n=head), ephemeral=True)]
    if store.get_dispute(session=ctx.session, review_id=int(head)) is not None:
        return [
            Reply(
                text=_("You have already disputed this result; it is being looked at."),
                ephemeral=True,
            )
        ]
    if not reason:
        return [
            Reply(
                text=_("Please say why: /qa dispute {n} followed by your reason.", n=head),
                ephemeral=True,
            )
        ]
    if len(reason) > REASON_LIMIT:
        return [Reply(text=_("Please keep it to {n} characters; yours has {count}.", n=REASON_LIMIT,
                             count=len(reason)), ephemeral=True)]  # fmt: skip
    appeal_id = _open_appeal(ctx, view, review.id or 0, review.score, reason)
    store.add_dispute(
        session=ctx.session,
        review=review,
        member=ctx.actor,
        reason=reason,
        appeal_id=appeal_id,
        now=ctx.now,
    )
    return [
        Reply(
            text=_(
                "Your dispute of QA result {n} is recorded; your manager will decide and you will "
                "hear back.",
                n=head,
            ),
            private=True,
        )
    ]


def _open_appeal(
    ctx: Context, view: SampleView, review_id: int, score: float | None, reason: str
) -> int | None:
    """Open the dispute as an appeal of the qa component (the monthly cycle's appeal table) and tell
    its deciders (the agent's manager, else the admins) through the outbox."""
    component = qa_component(view.team, view.period, session=ctx.session)
    appeal = consequences.create_appeal(
        session=ctx.session,
        team=view.team,
        period=view.period,
        member=ctx.actor,
        component=component.id if component is not None else "qa",
        reason=reason,
        before={
            "qa_review": review_id,
            "sample": view.sample_id,
            "ref": view.service.ref,
            "score": score,
        },
        now=ctx.now,
    )
    for decider in deciders(ctx.session, ctx.actor, "qa"):
        _d = translator(lang_of(decider, session=ctx.session))
        text = _d(
            "{name} disputes QA result {n} (conversation {ref}, score {score}): {reason}\nAn admin "
            "can ask for second reviews with /qa calibrate {sample} NAME …; decide the appeal with "
            "/appeal reject {id} REASON.",
            name=ctx.actor.name,
            n=review_id,
            ref=view.service.ref,
            score=fmt_score(score),
            reason=reason,
            sample=view.sample_id,
            id=appeal.id,
        )
        enqueue(
            ctx.session,
            team=view.team,
            period=view.period,
            member=decider,
            kind=f"qa.dispute.{review_id}",
            reply=Reply(text=text, private=True),
            now=ctx.now,
        )
    return appeal.id


def on_dispute_button(ctx: Context, value: str) -> list[Reply]:
    _ = ctx._
    return [
        Reply(
            text=_(
                "To dispute QA result {n}, send /qa dispute {n} followed by your reason.", n=value
            ),
            private=True,
        )
    ]


def draw(ctx: Context, args: str) -> list[Reply]:
    """``/qa draw [TEAM] [PERIOD] [seed=N]``: the actor's own team and current period by default."""
    _ = ctx._
    words = args.split()
    seeds = [w.partition("=")[2] for w in words if w.startswith("seed=")]
    words = [w for w in words if not w.startswith("seed=")]
    if seeds and not seeds[0].isdigit():
        return [
            Reply(
                text=_("The seed must be a whole number, for example seed=20261001."),
                ephemeral=True,
            )
        ]
    team = team_of(ctx, ctx.actor)
    if words:
        named = repo.get_team_by_name(session=ctx.session, name=words[0])
        if named is not None:
            team, words = named, words[1:]
    key = words[0] if words else ""
    seed_text = seeds[0] if seeds else None
    permissions.require(permissions.can_draw_qa(ctx.actor, team))
    period = (
        period_by_key(ctx, team, key)
        if key
        else repo.current_period(session=ctx.session, team=team, today=ctx.now.date())
    )
    if period is None:
        return [Reply(text=_("There is no period {period}.", period=key or "-"), ephemeral=True)]
    ok, lines = run_draw(ctx.session, team=team, period=period, actor=repo.actor_of(ctx.actor), _=_,
                         seed=int(seed_text) if seed_text else None, now=ctx.now)  # fmt: skip
    return [Reply(text="\n".join(lines), ephemeral=True)]


def run_draw(
    session: Session,
    *,
    team: Team,
    period: Period,
    actor: str,
    _: Translate,
    seed: int | None = None,
    now: datetime | None = None,
) -> tuple[bool, list[str]]:
    """Draw the period's samples by its scheme (chat and CLI): ``(drawn, what to tell the
    person)``."""
    if period.status in LOCKED:
        return False, [_(LOCKED_REFUSAL, period=period.key, status=period.status)]
    component = qa_component(team, period, session=session)
    if component is None or component.scorecard is None:
        return False, [_("The scheme of team {team} has no quality scorecard.", team=team.name)]
    row = draw_period(
        session,
        team=team,
        period=period,
        rule=component.scorecard.sampling,
        actor=actor,
        seed=seed,
        now=now,
    )
    return True, draw_lines(_, session, row, team.name, period.key)


def draw_lines(_: Translate, session: Session, row: QaDraw, team: str, period: str) -> list[str]:
    """What a draw did: how many samples from how many sessions, the seed, and who was short."""
    lines = [
        _(
            "Draw {n} for {team} {period}: {drawn} samples from {candidates} sessions not drawn "
            "before (seed {seed}).",
            n=row.id,
            team=team,
            period=period,
            drawn=row.drawn,
            candidates=row.candidates,
            seed=row.seed,
        )
    ]
    if row.short:
        names = store.members_by_id(session=session, ids=[int(s["member_id"]) for s in row.short])
        for s in row.short:
            who = names.get(int(s["member_id"]))
            lines.append(
                _(
                    "{name} had only {available} sessions in {stratum} (wanted {wanted}); all were "
                    "drawn.",
                    name=who.name if who else "?",
                    available=s["available"],
                    stratum=s["stratum"],
                    wanted=s["wanted"],
                )
            )
    return lines

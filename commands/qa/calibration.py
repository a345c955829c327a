"""Calibration of reviewers (质检校准): one sample to several reviewers, then their agreement.

``/qa calibrate SAMPLE NAME NAME …`` (admin): each named reviewer gets the sample at the head
of their queue (a ``qa_review`` of kind ``calibration``; it never counts in the score). Each
must be allowed to review it (a reviewer role of the scheme, their team, not their own
conversation); who cannot is named with the reason, the others are assigned.

``/qa agreement SAMPLE`` (admin): the submitted reviews of the sample (the regular one and the
calibration ones) compared by :func:`scoring.qa.agreement`: the share of checks everyone
answered the same, the mean pairwise share, each reviewer's total, the spread (max − min) and
standard deviation of the totals, and the checks answered differently.
"""

from __future__ import annotations

from commands import permissions
from commands.context import Context
from commands.messages import Reply
from commands.qa.common import SampleView, fmt_score, may_review, sample_view
from scoring.qa import agreement
from storage import qa as store
from storage import repo

USAGE_CALIBRATE = "Write /qa calibrate SAMPLE NAME NAME …, for example /qa calibrate 12 小赵 王经理"
USAGE_AGREEMENT = "Write /qa agreement SAMPLE, for example /qa agreement 12"


def _admin_sample(ctx: Context, words: list[str], usage: str, fits: bool) -> SampleView | Reply:
    """The sample named first in ``words`` for an admin, or the reply that says why not."""
    _ = ctx._
    decision = permissions.can_calibrate_qa(ctx.actor)
    if not decision:
        return permissions.refusal(decision, _)
    if not fits:
        return Reply(text=_(usage), ephemeral=True)
    if not words[0].isdigit():
        return Reply(text=_("{value} is not a sample number.", value=words[0]), ephemeral=True)
    view = sample_view(int(words[0]), session=ctx.session)
    if view is None:
        return Reply(text=_("There is no sample {n}.", n=words[0]), ephemeral=True)
    return view


def calibrate(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    words = args.split()
    view = _admin_sample(ctx, words, USAGE_CALIBRATE, len(words) >= 3)
    if isinstance(view, Reply):
        return [view]
    assigned: list[str] = []
    lines: list[str] = []
    for name in dict.fromkeys(words[1:]):
        member = repo.get_member_by_name(session=ctx.session, team=view.team, name=name.lstrip("@"))
        if member is None:
            lines.append(
                _(
                    "{name}: there is no member {name} in team {team}.",
                    name=name,
                    team=view.team.name,
                )
            )
            continue
        allowed = may_review(member, view)
        if not allowed:
            lines.append(_("{name}: {reason}", name=name, reason=allowed.explain(_)))
            continue
        assert member.id is not None and view.sample.id is not None
        if (
            store.review_of(session=ctx.session, sample_id=view.sample.id, reviewer_id=member.id)
            is not None
        ):
            lines.append(_("{name} already has this sample.", name=name))
            continue
        store.assign_review(
            session=ctx.session,
            sample=view.sample,
            reviewer=member,
            kind="calibration",
            actor=repo.actor_of(ctx.actor),
            now=ctx.now,
        )
        assigned.append(name)
    head = (
        _(
            "Sample {n} sent for calibration to: {names}.",
            n=view.sample_id,
            names=", ".join(assigned),
        )
        if assigned
        else _("Sample {n} was sent to nobody.", n=view.sample_id)
    )
    tail = _(
        "They see it first when they send /qa. Compare them with /qa agreement {n}.",
        n=view.sample_id,
    )
    return [Reply(text="\n".join([head, *lines, tail]), ephemeral=True)]


def agreement_report(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    words = args.split()
    view = _admin_sample(ctx, words, USAGE_AGREEMENT, len(words) == 1)
    if isinstance(view, Reply):
        return [view]
    reviews = [r for r in store.reviews_of_sample(session=ctx.session, sample_id=view.sample_id)
               if r.status == "submitted"]  # fmt: skip
    pending = len(store.reviews_of_sample(session=ctx.session, sample_id=view.sample_id)) - len(
        reviews
    )
    if len(reviews) < 2:
        return [
            Reply(
                text=_(
                    "Sample {n} has {k} submitted reviews; agreement needs at least two ({pending} "
                    "still open).",
                    n=view.sample_id,
                    k=len(reviews),
                    pending=pending,
                ),
                ephemeral=True,
            )
        ]
    answer_sets = [{k: v for k, v in r.answers.items() if not k.startswith("_")} for r in reviews]
    result = agreement(view.card, answer_sets)
    names = store.members_by_id(session=ctx.session, ids=[r.reviewer_id for r in reviews])
    checks = len(view.card.checks)
    same = sum(result.per_check.values())
    lines = [
        _(
            "Calibration of sample {n} ({period}), agent: {agent}.",
            n=view.sample_id,
            period=view.period.key,
            agent=view.agent_shown(_),
        ),
        _("{k} reviewers; {pending} still open.", k=result.reviewers, pending=pending),
        _(
            "Answered the same by everyone: {same} of {checks} checks ({share}%).",
            same=same,
            checks=checks,
            share=fmt_score(100 * result.unanimous),
        ),
        _("Pairwise agreement: {share}%.", share=fmt_score(100 * result.pairwise)),
    ]
    for review, total in zip(reviews, result.totals, strict=True):
        who = names.get(review.reviewer_id)
        lines.append(_("- {name}: {score}", name=who.name if who else "?", score=fmt_score(total)))
    lines.append(_("Spread of totals: {spread} points (standard deviation {stdev}).",
                   spread=fmt_score(result.spread), stdev=fmt_score(result.stdev)))  # fmt: skip
    differing = [c for c in view.card.checks if not result.per_check[c.id]]
    if differing:
        lines.append(_("Answered differently:"))
        for c in differing:
            given = " / ".join(
                f"{names[r.reviewer_id].name if r.reviewer_id in names else '?'}"
                f"={_(LABELS[str(a.get(c.id))])}"
                for r, a in zip(reviews, answer_sets, strict=True)
            )
            lines.append(f"- {c.name.get(ctx.lang)}: {given}")
    return [Reply(text="\n".join(lines), ephemeral=True)]


LABELS = {"pass": "Pass", "fail": "Fail", "na": "N/A", "None": "—"}

"""The customer survey's scheduled notice: each agent's daily digest of customer comments.

A ``daily`` step hook (listed in :data:`commands.cycle.CYCLE`): the step runs once per team per
local date (period key ``YYYY-MM-DD``); this hook queues, for every agent who did not turn it
off (``/survey digest off``), the comments customers left on the previous local day
(:func:`commands.ratings.queue_comment_digests`). The manager's alert for a 1–2 star rating
with a comment is not here: it is queued the moment the rating is stored (the survey page,
:func:`commands.ratings.queue_rating_alerts`), so it arrives the same day.
"""

from __future__ import annotations

from datetime import date, timedelta

from commands import ratings
from commands.people import TeamClock
from commands.step_context import StepContext


def digest_day(ctx: StepContext) -> date:
    """The day the digest covers: the one before the step's local date."""
    try:
        today = date.fromisoformat(ctx.period_key)
    except ValueError:
        today = TeamClock.of(ctx.team).date(ctx.now)
    return today - timedelta(days=1)


def comment_digest_hook(ctx: StepContext) -> None:
    """Queue yesterday's comment digests for the team (idempotent: outbox keys)."""
    queued = ratings.queue_comment_digests(
        ctx.session, team=ctx.team, day=digest_day(ctx), now=ctx.now
    )
    ctx.count("survey.digests", queued)

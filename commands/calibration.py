"""``/calibrate [period]``: the calibration view between the review window's close and publication.

Managers score on different scales (DOMAIN.md; the seeds ask for a joint review of raters'
scores). For a period key (default: the latest month that has ended) an admin sees, over
every team that has that period:

* each manager's review scores (the rated dimensions of their manager reviews, weighted as
  the scheme weighs them, 0–100) as a distribution over five bands beside the organisation's;
* **the outlier rule**: a manager with at least ``calibration.min_reviews`` reviews whose
  mean is more than ``calibration.outlier_k`` standard errors away from the mean of *every
  other manager's* reviews is flagged lenient (above) or strict (below). The standard error is
  the others' standard deviation divided by the square root of the manager's review count:
  ``|mean_m − mean_others| > k · sd_others / √n_m``. Leaving the manager out keeps one
  lenient manager of a small organisation from hiding in a mean they dominate;
* the scheme's distribution targets (``[calibration] targets``, e.g. at most 20 % of agents
  with a total of 90 or more): the share reached per target and whether it is over.

An admin can adjust one agent's manager review, with a reason, before the period is locked:

    /calibrate adjust TEAM AGENT ability=4 service=3 REASON…

(the review is saved as the admin's change, audited with the reason, and the team is
rescored), and lock the period (button or ``/calibrate lock [period]``): every team's scores
of that period are computed, stored and locked (``repo.lock_scores``); the period moves to
``locked``. Publication then reads the locked scores (``commands.results.period_results``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from commands import permissions, results
from commands.context import Command, Context, Handler
from commands.i18n import Translate
from commands.messages import Button, Reply
from commands.permissions import N_
from commands.rank import PERIOD_KEY
from scoring import Scheme, scale_review
from scoring.scheme import DistributionTarget
from storage import repo
from storage.models import Period, Review, Team

BANDS: tuple[tuple[float, float], ...] = ((0, 60), (60, 70), (70, 80), (80, 90), (90, 100.0001))
BAND_LABELS: tuple[str, ...] = ("<60", "60–69", "70–79", "80–89", "90+")
LENIENT = "lenient"
STRICT = "strict"
ACTION = "calibrate"


# -- pure calculations -----------------------------------------------------------------------


def review_score(answers: Mapping[str, Any], scheme: Scheme) -> float | None:
    """A manager review's answers (1–5 per rated dimension) as one 0–100 score, weighted as the
    scheme."""
    total = weight = 0.0
    for dim in scheme.manager_dimensions:
        if dim.computed is not None:
            continue
        raw = answers.get(dim.id)
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            continue
        scaled = scale_review(float(raw), 5)
        if scaled is None:
            continue
        total += scaled * dim.weight
        weight += dim.weight
    return total / weight if weight > 0 else None


def distribution(scores: Sequence[float]) -> tuple[float, ...]:
    """Share of ``scores`` in each of :data:`BANDS` (sums to 1; all zero when empty)."""
    if not scores:
        return tuple(0.0 for _ in BANDS)
    counts = [sum(1 for s in scores if lo <= s < hi) for lo, hi in BANDS]
    return tuple(c / len(scores) for c in counts)


@dataclass(frozen=True)
class RaterStats:
    rater_id: int
    name: str
    n: int
    mean: float
    shares: tuple[float, ...]
    z: float | None
    flag: str | None


def rater_stats(
    by_rater: Mapping[int, Sequence[float]], names: Mapping[int, str], *, k: float, min_reviews: int
) -> list[RaterStats]:
    """Each rater's mean and distribution, flagged by the leave-one-out outlier rule (module
    docstring)."""
    out = []
    for rater_id, scores in sorted(by_rater.items(), key=lambda kv: names.get(kv[0], "")):
        if not scores:
            continue
        mean = statistics.fmean(scores)
        others = [s for other, ss in by_rater.items() if other != rater_id for s in ss]
        z: float | None = None
        flag: str | None = None
        if len(others) >= 2 and len(scores) >= min_reviews:
            sd = statistics.stdev(others)
            diff = mean - statistics.fmean(others)
            stderr = sd / math.sqrt(len(scores))
            if stderr > 0:
                z = diff / stderr
            elif diff != 0:
                z = math.copysign(math.inf, diff)
            if z is not None and abs(z) > k:
                flag = LENIENT if z > 0 else STRICT
        out.append(RaterStats(rater_id, names.get(rater_id, "?"), len(scores), mean,
                              distribution(scores), z, flag))  # fmt: skip
    return out


@dataclass(frozen=True)
class TargetCheck:
    target: DistributionTarget
    count: int
    of: int

    @property
    def share(self) -> float:
        return self.count / self.of if self.of else 0.0

    @property
    def over(self) -> bool:
        return self.share > self.target.max_share + 1e-9

    @property
    def allowed(self) -> int:
        """How many agents the target allows at most."""
        return math.floor(self.target.max_share * self.of + 1e-9)


def check_targets(
    targets: Sequence[DistributionTarget], totals: Sequence[float]
) -> list[TargetCheck]:
    return [
        TargetCheck(t, sum(1 for x in totals if x >= t.min_total), len(totals)) for t in targets
    ]


# -- reading the period ------------------------------------------------------------------------


@dataclass(frozen=True)
class TeamPeriod:
    team: Team
    period: Period
    scheme: Scheme


def teams_with_period(ctx: Context, key: str) -> list[TeamPeriod]:
    out = []
    for team in repo.list_teams(session=ctx.session):
        period = repo.get_period(session=ctx.session, team=team, key=key)
        if period is None:
            continue
        scheme = results.load_scheme(team, period, session=ctx.session)
        if scheme is not None:
            out.append(TeamPeriod(team, period, scheme))
    return out


def default_key(ctx: Context) -> str | None:
    """The latest month that has ended in any team."""
    keys = []
    for team in repo.list_teams(session=ctx.session):
        period = results.latest_scored_period(team, session=ctx.session, today=ctx.now.date())
        if period is not None:
            keys.append(period.key)
    return max(keys) if keys else None


def _manager_reviews(ctx: Context, tp: TeamPeriod) -> list[tuple[Review, float]]:
    out = []
    for review in repo.list_reviews(session=ctx.session, period=tp.period, kind="manager"):
        score = review_score(review.answers, tp.scheme)
        if score is not None:
            out.append((review, score))
    return out


# -- the view ----------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{round(x * 100)}%"


def _bars(_: Translate, shares: Sequence[float]) -> str:
    return " ".join(f"{label} {_pct(s)}" for label, s in zip(BAND_LABELS, shares, strict=True))


def view(ctx: Context, key: str) -> list[Reply]:
    _ = ctx._
    teams = teams_with_period(ctx, key)
    if not teams:
        return [Reply(text=_("No team has a period {period}.", period=key), ephemeral=True)]
    by_rater: dict[int, list[float]] = {}
    names: dict[int, str] = {}
    every: list[float] = []
    k, min_reviews = teams[0].scheme.calibration.outlier_k, teams[0].scheme.calibration.min_reviews
    for tp in teams:
        for review, score in _manager_reviews(ctx, tp):
            by_rater.setdefault(review.rater_id, []).append(score)
            every.append(score)
            rater = repo.get_member(session=ctx.session, member_id=review.rater_id)
            names[review.rater_id] = rater.name if rater is not None else "?"
    lines = [_("Calibration of {period} (manager review scores, 0–100):", period=key)]
    lines.append(
        _(
            "Organisation: {n} reviews, mean {mean}; {bars}",
            n=len(every),
            mean=f"{statistics.fmean(every):.1f}" if every else "—",
            bars=_bars(_, distribution(every)),
        )
    )
    for stats in rater_stats(by_rater, names, k=k, min_reviews=min_reviews):
        lines.append(_("· {name}: {n} reviews, mean {mean}; {bars}", name=stats.name, n=stats.n,
                       mean=f"{stats.mean:.1f}", bars=_bars(_, stats.shares)))  # fmt: skip
        if stats.flag == LENIENT:
            lines.append(
                _("  ⚠ lenient: {z} standard errors above the other managers", z=f"{stats.z:.1f}")
            )
        elif stats.flag == STRICT:
            lines.append(
                _(
                    "  ⚠ strict: {z} standard errors below the other managers",
                    z=f"{abs(stats.z or 0):.1f}",
                )
            )
    lines.append(
        _(
            "Rule: flagged when a manager with at least {n} reviews is more than {k} standard "
            "errors from the other managers' mean.",
            n=min_reviews,
            k=f"{k:g}",
        )
    )
    totals = _totals(ctx, teams)
    for check in check_targets(teams[0].scheme.calibration.targets, totals):
        name = check.target.name.get(ctx.lang)
        if check.over:
            lines.append(
                _(
                    "⚠ {name} (total ≥ {min}): {count} of {of} agents ({share}), target at most "
                    "{max} ({allowed} agents)",
                    name=name,
                    min=f"{check.target.min_total:g}",
                    count=check.count,
                    of=check.of,
                    share=_pct(check.share),
                    max=_pct(check.target.max_share),
                    allowed=check.allowed,
                )
            )
        else:
            lines.append(
                _(
                    "✓ {name} (total ≥ {min}): {count} of {of} agents ({share}), target at most "
                    "{max}",
                    name=name,
                    min=f"{check.target.min_total:g}",
                    count=check.count,
                    of=check.of,
                    share=_pct(check.share),
                    max=_pct(check.target.max_share),
                )
            )
    locked = all(tp.period.status in results.LOCKED_STATUSES for tp in teams)
    if locked:
        lines.append(_("The period {period} is locked; publication uses these scores.", period=key))
        return [Reply(text="\n".join(lines), private=True)]
    lines.append(
        _("Adjust a review: /calibrate adjust TEAM AGENT ability=4 … REASON. Lock when done.")
    )
    lock = Button(_("Lock {period}", period=key), f"{ACTION}:lock", key, style="danger")
    return [Reply(text="\n".join(lines), buttons=(lock,), private=True)]


def _totals(ctx: Context, teams: Sequence[TeamPeriod]) -> list[float]:
    out: list[float] = []
    for tp in teams:
        res = results.period_results(tp.team, tp.period, session=ctx.session, store=False)
        if res is not None:
            out += [s.total for s in res.scored if s.total is not None]
    return out


# -- changes -------------------------------------------------------------------------------------


def lock(ctx: Context, key: str, *, reason: str = "calibrated and locked") -> list[Reply]:
    """Compute, store and lock every team's scores of the period; the periods become ``locked``."""
    _ = ctx._
    teams = teams_with_period(ctx, key)
    if not teams:
        return [Reply(text=_("No team has a period {period}.", period=key), ephemeral=True)]
    actor = repo.actor_of(ctx.actor)
    count = 0
    for tp in teams:
        if tp.period.status in results.LOCKED_STATUSES and results.is_locked(
            tp.period, session=ctx.session
        ):
            continue
        results.compute_and_store(
            tp.team, tp.period, session=ctx.session, actor=actor, reason=reason
        )
        count += repo.lock_scores(
            session=ctx.session, period=tp.period, actor=actor, reason=reason, now=ctx.now
        )
        if tp.period.status != "published":
            repo.set_period_status(
                session=ctx.session,
                period=tp.period,
                status="locked",
                actor=actor,
                reason=reason,
                now=ctx.now,
            )
    return [
        Reply(
            text=_(
                "Locked {count} scores of {period}. Publication uses them.", count=count, period=key
            )
        )
    ]


def parse_changes(tokens: Sequence[str]) -> tuple[dict[str, float], list[str]]:
    """``["ability=4", "because", …]`` → ``({"ability": 4.0}, ["because", …])``; bad numbers stay
    text."""
    changes: dict[str, float] = {}
    rest: list[str] = []
    for token in tokens:
        name, sep, value = token.partition("=")
        if sep and name and not rest:
            try:
                changes[name] = float(value)
                continue
            except ValueError:
                pass
        rest.append(token)
    return changes, rest


def adjust(ctx: Context, args: Sequence[str]) -> list[Reply]:
    """``adjust TEAM AGENT dim=value … REASON``: change the agent's manager review (admins, before
    locking)."""
    _ = ctx._
    if len(args) < 3:
        return [
            Reply(text=_("Usage: /calibrate adjust TEAM AGENT ability=4 … REASON"), ephemeral=True)
        ]
    team = repo.get_team_by_name(session=ctx.session, name=args[0])
    if team is None:
        return [Reply(text=_("There is no team called {team}.", team=args[0]), ephemeral=True)]
    agent = repo.get_member_by_name(session=ctx.session, team=team, name=args[1])
    if agent is None:
        return [
            Reply(
                text=_("There is no member called {name} in {team}.", name=args[1], team=team.name),
                ephemeral=True,
            )
        ]
    changes, rest = parse_changes(args[2:])
    reason = " ".join(rest).strip()
    period = results.latest_scored_period(team, session=ctx.session, today=ctx.now.date())
    problems = _adjust_problems(ctx, team, period, changes, reason)
    if problems or period is None:
        return [Reply(text="\n".join(problems), ephemeral=True)]
    reviews = repo.list_reviews(session=ctx.session, period=period, kind="manager", subject=agent)
    if not reviews:
        return [
            Reply(
                text=_(
                    "{name} has no manager review in {period} to adjust.",
                    name=agent.name,
                    period=period.key,
                ),
                ephemeral=True,
            )
        ]
    review = reviews[-1]
    rater = repo.get_member(session=ctx.session, member_id=review.rater_id)
    assert rater is not None
    before = review_score(review.answers, _scheme(ctx, team, period))
    answers = {**review.answers, **{k: int(v) for k, v in changes.items()}}
    repo.save_review(
        session=ctx.session,
        period=period,
        subject=agent,
        rater=rater,
        kind="manager",
        answers=answers,
        comments=review.comments,
        submitted_at=review.submitted_at,
        actor=repo.actor_of(ctx.actor),
        reason=f"calibration: {reason}",
        now=ctx.now,
    )
    results.compute_and_store(team, period, session=ctx.session, actor=repo.actor_of(ctx.actor),
                              reason=f"calibration: {reason}")  # fmt: skip
    after = review_score(answers, _scheme(ctx, team, period))
    return [
        Reply(
            text=_(
                "{name}'s manager review in {period}: {before} → {after}. Reason recorded: "
                "{reason}",
                name=agent.name,
                period=period.key,
                before=f"{before or 0:.1f}",
                after=f"{after or 0:.1f}",
                reason=reason,
            )
        )
    ]


def _scheme(ctx: Context, team: Team, period: Period) -> Scheme:
    scheme = results.load_scheme(team, period, session=ctx.session)
    assert scheme is not None
    return scheme


def _adjust_problems(
    ctx: Context, team: Team, period: Period | None, changes: Mapping[str, float], reason: str
) -> list[str]:
    _ = ctx._
    if period is None:
        return [_("Team {team} has no period to calibrate.", team=team.name)]
    if results.is_locked(period, session=ctx.session) or period.status in results.LOCKED_STATUSES:
        return [
            _(
                "The period {period} is locked; a change now goes through an appeal.",
                period=period.key,
            )
        ]
    scheme = _scheme(ctx, team, period)
    rated = {d.id for d in scheme.manager_dimensions if d.computed is None}
    problems = []
    if not changes:
        problems.append(_("Say which dimension to change, e.g. ability=4."))
    for name, value in changes.items():
        if name not in rated:
            problems.append(_("{name} is not a rated manager dimension; use one of: {choices}.",
                              name=name, choices=sorted(rated)))  # fmt: skip
        elif not (1 <= value <= 5 and float(value).is_integer()):
            problems.append(_("{name} must be a whole number from 1 to 5.", name=name))
    if not reason:
        problems.append(_("Give a reason after the changes; it is kept in the audit log."))
    return problems


# -- the command ---------------------------------------------------------------------------------


def calibrate(ctx: Context, args: str) -> list[Reply]:
    _ = ctx._
    permissions.require(permissions.can_administer(ctx.actor))
    tokens = args.split()
    if tokens and tokens[0] == "adjust":
        return adjust(ctx, tokens[1:])
    if tokens and tokens[0] == "lock":
        key = tokens[1] if len(tokens) > 1 else default_key(ctx)
        return (
            lock(ctx, key)
            if key
            else [Reply(text=_("There is no period to lock."), ephemeral=True)]
        )
    key = tokens[0] if tokens and PERIOD_KEY.match(tokens[0]) else default_key(ctx)
    if key is None:
        return [Reply(text=_("There is no period to calibrate yet."), ephemeral=True)]
    return view(ctx, key)


def on_action(ctx: Context, value: str) -> list[Reply]:
    permissions.require(permissions.can_administer(ctx.actor))
    if (ctx.incoming.action or "").endswith(":lock") and PERIOD_KEY.match(value):
        return lock(ctx, value)
    return [
        Reply(
            text=ctx._("That button no longer works. Send /help to see what you can do."),
            ephemeral=True,
        )
    ]


COMMANDS: tuple[Command, ...] = (
    Command(
        "calibrate",
        calibrate,
        permissions.ADMINS,
        what=N_("compare managers' review scores, adjust one with a reason, lock the period"),
        example="/calibrate 2026-10",
        refusal=N_(
            "The command /calibrate is not available to you: only an admin calibrates and locks a "
            "period."
        ),
    ),
)
ACTIONS: dict[str, Handler] = {ACTION: on_action}
ACTION_IDS: dict[str, tuple[str, ...]] = {f"{ACTION}:lock": ("period_key.admin",)}

"""Drawing quality samples: per agent, per day or week, uniformly at random from a recorded seed.

The draw itself (:func:`draw`) is a pure function of the candidate sessions, the scheme's
:class:`~scoring.scheme.Sampling` rule and a seed: the same three give the same samples,
so a draw can be reproduced and audited later (:func:`reproduce`).

* Candidates are the period's stored sessions not drawn before (a session is never drawn
  twice; ``qa_sample.session_id`` is unique as well).
* Strata: one per agent and day (``2026-10-03``), ISO week (``2026-W40``) or the whole
  period (``period``), from the session's local start day.
* In each stratum ``count`` sessions are drawn, or ``ceil(share × sessions)`` — at least one
  whenever the stratum has sessions. An agent with fewer sessions than the rule asks for gets
  all of them and is *marked* short (``short`` on the sample and in the draw's list).
* Randomness: NumPy's PCG64 generator seeded with the recorded seed, strata visited in sorted
  order (agent, stratum), sessions in id order inside a stratum; ``Generator.choice`` without
  replacement. Nothing else (no clock, no hash order) decides which sessions are drawn.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlmodel import Session

from scoring.scheme import Sampling
from storage import qa as store
from storage.models import Period, Team
from storage.models.qa import QaDraw

LOCKED = ("locked", "published")
LOCKED_REFUSAL = "Period {period} is {status}: its samples can no longer be drawn."


def stratum_of(day: date, per: str) -> str:
    if per == "day":
        return day.isoformat()
    if per == "week":
        year, week, _weekday = day.isocalendar()
        return f"{year}-W{week:02d}"
    return "period"


@dataclass(frozen=True)
class Drawn:
    """The result of a draw: ``samples`` (session_id, member_id, stratum, short) and the short
    strata."""

    samples: pd.DataFrame
    short: tuple[dict[str, Any], ...]
    candidates: int

    @property
    def digest(self) -> str:
        return digest_of(self.samples["session_id"].tolist())


def digest_of(session_ids: list[int]) -> str:
    text = ",".join(str(i) for i in sorted(int(x) for x in session_ids))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def wanted(rule: Sampling, available: int) -> int:
    """How many sessions the rule asks for in a stratum of ``available`` sessions."""
    if rule.share is not None:
        return max(1, math.ceil(rule.share * available - 1e-9)) if available else 0
    return int(rule.count or 0)


def draw(candidates: pd.DataFrame, rule: Sampling, seed: int) -> Drawn:
    """Draw from ``candidates`` (columns ``session_id``, ``member_id``, ``day``) by ``rule`` with
    ``seed``."""
    columns = ["session_id", "member_id", "stratum", "short"]
    if candidates.empty:
        return Drawn(pd.DataFrame(columns=columns), (), 0)
    frame = candidates[["session_id", "member_id", "day"]].copy()
    frame["stratum"] = [stratum_of(d, rule.per) for d in frame["day"]]
    frame = frame.sort_values(["member_id", "stratum", "session_id"], kind="stable")
    rng = np.random.Generator(np.random.PCG64(seed))
    rows: list[tuple[int, int, str, bool]] = []
    short: list[dict[str, Any]] = []
    for key, group in frame.groupby(["member_id", "stratum"], sort=True):
        member_id, stratum = cast(tuple[int, str], key)
        ids = group["session_id"].to_numpy(dtype=np.int64)
        want = wanted(rule, len(ids))
        take = min(want, len(ids))
        is_short = take < want
        chosen = np.sort(rng.choice(ids, size=take, replace=False)) if take else ids[:0]
        rows += [(int(s), int(member_id), str(stratum), is_short) for s in chosen]
        if is_short:
            short.append(
                {
                    "member_id": int(member_id),
                    "stratum": str(stratum),
                    "available": len(ids),
                    "wanted": want,
                }
            )
    return Drawn(pd.DataFrame(rows, columns=columns), tuple(short), len(frame))


def candidates_of(
    session: Session, period: Period, *, max_id: int | None = None, before_draw: int | None = None
) -> pd.DataFrame:
    """The period's sessions not drawn before (by draws before ``before_draw`` when given)."""
    taken = store.sampled_session_ids(session=session, period=period, before_draw=before_draw)
    rows = [
        (s.id, s.member_id, s.day)
        for s in store.list_sessions(session=session, period=period, max_id=max_id)
        if s.id not in taken
    ]
    return pd.DataFrame(rows, columns=["session_id", "member_id", "day"])


def rule_json(rule: Sampling) -> dict[str, Any]:
    return {"per": rule.per, "count": rule.count, "share": rule.share}


def rule_from(data: dict[str, Any]) -> Sampling:
    return Sampling(per=data["per"], count=data.get("count"), share=data.get("share"))


def new_seed() -> int:
    return secrets.randbits(63)


def draw_period(
    session: Session,
    *,
    team: Team,
    period: Period,
    rule: Sampling,
    actor: str,
    seed: int | None = None,
    now: datetime | None = None,
) -> QaDraw:
    """Draw the period's samples now and store the draw with its seed (even when nothing was
    drawn)."""
    seed = new_seed() if seed is None else seed
    existing = store.list_sessions(session=session, period=period)
    max_id = max((s.id or 0 for s in existing), default=0)
    drawn = draw(candidates_of(session, period, max_id=max_id), rule, seed)
    return store.add_draw(
        session=session,
        team=team,
        period=period,
        seed=seed,
        rule=rule_json(rule),
        max_session_id=max_id,
        candidates=drawn.candidates,
        samples=[{str(k): v for k, v in r.items()} for r in drawn.samples.to_dict("records")],
        short=drawn.short,
        digest=drawn.digest,
        actor=actor,
        now=now,
    )


def reproduce(session: Session, draw_row: QaDraw) -> Drawn:
    """Run a stored draw again from its seed, rule and the sessions it saw; compare ``digest``."""
    period = session.get(Period, draw_row.period_id)
    assert period is not None and draw_row.id is not None
    candidates = candidates_of(
        session, period, max_id=draw_row.max_session_id, before_draw=draw_row.id
    )
    return draw(candidates, rule_from(draw_row.rule), int(draw_row.seed))

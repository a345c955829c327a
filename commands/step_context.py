"""What a step of the monthly cycle and its hooks get: one :class:`StepContext` per run.

    ctx.say(member, "open.self", text)      # one message through the outbox (idempotent by key)
    ctx.count("queued")                     # what the step reports (``StepOutcome.counts``)
    cctx = ctx.speaking_as(member)          # a command Context, to reuse /me's and /rank's texts

A leaf: it imports only the ports every feature uses (messages, context, i18n, outbox,
people), never a feature, so a feature's hook can take a ``StepContext`` without importing
:mod:`commands.cycle`, and the cycle's table (``commands.cycle.CYCLE``) can import the hooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from commands.context import AppConfig, Context
from commands.i18n import translator
from commands.messages import ChartRef, Incoming, Reply
from commands.outbox import enqueue
from commands.people import lang_of

if TYPE_CHECKING:
    from sqlmodel import Session

    from commands.publication import Gaps
    from commands.results import PeriodResults
    from scoring import Scheme
    from storage.models import Member, Period, Team


@dataclass
class StepContext:
    """What a step and its hooks get. ``results`` is set by ``publish`` (the locked scores)."""

    session: Session
    team: Team
    period_key: str
    step: str
    now: datetime
    actor: str
    period: Period | None = None
    scheme: Scheme | None = None
    results: PeriodResults | None = None
    counts: dict[str, int] = field(default_factory=dict)
    gaps: Gaps = "hold"
    """``publish``: hold the provisional results (the schedule's way) or, when an admin
    confirmed, publish them provisional (``commands.publication``)."""
    messengers: Mapping[str, str] = field(default_factory=dict)
    """The messengers kpibot speaks, platform → name (``AppConfig.messengers``), for what a
    step says about who cannot be reached."""

    @property
    def base(self) -> str:
        """``remind.2`` → ``remind``."""
        return self.step.split(".")[0]

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def say(
        self, member: Member | None, kind: str, text: str, *, chart: ChartRef | None = None
    ) -> None:
        """Queue ``text`` for ``member`` (privately), or for the team's chat (``None``)."""
        if enqueue(
            self.session,
            team=self.team,
            period=self.period,
            member=member,
            kind=kind,
            reply=Reply(text=text, private=member is not None),
            chart=chart,
            now=self.now,
        ):
            self.count("queued")

    def speaking_as(self, member: Member, *, lang: str | None = None) -> Context:
        """A command context speaking as ``member`` (for reusing /me's and /rank's renderers)."""
        code = lang or lang_of(member, session=self.session)
        incoming = Incoming(platform="test", user_id=f"member:{member.id}")
        return Context(
            self.session,
            member,
            code,
            translator(code),
            self.now,
            incoming,
            AppConfig(default_lang=code, extra={"messengers": dict(self.messengers)}),
        )

"""What every part of quality sampling shares: the scorecard of a period, names as a reviewer may
see them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from commands import permissions
from commands.i18n import Translate
from commands.results import load_scheme
from scoring.scheme import Component, Scorecard
from storage import qa as store
from storage import repo
from storage.models import Member, Period, Team
from storage.models.qa import QaSample, ServiceSession


def qa_component(team: Team, period: Period | None, *, session: Session) -> Component | None:
    """The period's qa component (``None`` when the scheme has none)."""
    scheme = load_scheme(team, period, session=session)
    return scheme.qa if scheme is not None else None


def scorecard_of(team: Team, period: Period | None, *, session: Session) -> Scorecard | None:
    component = qa_component(team, period, session=session)
    return component.scorecard if component is not None else None


@dataclass(frozen=True)
class SampleView:
    """A sample with everything shown about it, loaded once."""

    sample: QaSample
    service: ServiceSession
    period: Period
    team: Team
    agent: Member
    card: Scorecard

    @property
    def sample_id(self) -> int:
        assert self.sample.id is not None
        return self.sample.id

    def agent_shown(self, _: Translate) -> str:
        """The agent's name, or "hidden" under blind review: every reviewer-facing text uses
        this."""
        return _("hidden (blind review)") if self.card.blind else self.agent.name

    def reference(self) -> str:
        url = self.service.url or (
            self.card.link.replace("{ref}", self.service.ref) if self.card.link else ""
        )
        return f"{self.service.ref} · {url}" if url else self.service.ref


def sample_view(sample_id: int, *, session: Session) -> SampleView | None:
    sample = store.get_sample(session=session, sample_id=sample_id)
    if sample is None:
        return None
    service = store.get_session(session=session, session_id=sample.session_id)
    period = repo.get_period_by_id(session=session, period_id=sample.period_id)
    agent = repo.get_member(session=session, member_id=sample.member_id)
    if service is None or period is None or agent is None:
        return None
    team = repo.get_team(session=session, team_id=period.team_id)
    if team is None:
        return None
    card = scorecard_of(team, period, session=session)
    if card is None:
        return None
    return SampleView(sample, service, period, team, agent, card)


def may_review(actor: Member, view: SampleView) -> permissions.Decision:
    """The one check before a reviewer sees or answers a sample."""
    assert view.agent.id is not None
    return permissions.can_qa_review(actor, view.team.id or 0, view.agent.id, view.card.reviewers)


def fmt_score(score: float | None) -> str:
    if score is None:
        return "—"
    return f"{score:.1f}".removesuffix(".0")

"""Who may do what: every permission rule of kpibot, in one place.

Roles (``member.role``): ``agent`` is scored and fills self-reviews; ``manager``
manages specific teams (rows of ``team_manager``, plus the team the manager is a
member of) and is the direct superior of the agents whose ``manager_id`` points at
them; ``admin`` (HR) runs every team; ``qa`` samples conversations (issue 8) and
otherwise only reads help.

Every check takes who asks (``actor``) and what it is about (a subject member, a
team) and returns a :class:`Decision`. A decision is truthy when allowed; when
refused it carries an English message id that says *why* without revealing any
data about the subject (translate it with ``decision.explain(_)`` or turn it into a
reply with :func:`refusal`). Callers never re-implement a rule: they ask here, and a handler
guards with :func:`require`, which the router turns into the refusal.

    permissions.require(can_review(ctx.actor, subject))  # the router answers a refusal

``managed`` (a set of team ids) can be passed to skip the database look-up of
the actor's teams; otherwise it is loaded through the actor's own session.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from commands.i18n import Translate
from commands.messages import Reply
from storage import repo
from storage.models import Member


def N_(message: str) -> str:
    """Marks an English message id for translation later (it is translated by ``explain``)."""
    return message


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"
    QA = "qa"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)


class Person(Protocol):
    """What a permission check reads of a member (``storage.models.Member`` fits)."""

    @property
    def id(self) -> int | None: ...
    @property
    def team_id(self) -> int: ...
    @property
    def role(self) -> str: ...
    @property
    def manager_id(self) -> int | None: ...
    @property
    def active(self) -> bool: ...


class TeamLike(Protocol):
    @property
    def id(self) -> int | None: ...


class RankingScope(StrEnum):
    """How much of a ranking a person may see."""

    FULL = "full"
    OWN_PLACE = "own_place"
    NONE = "none"


@dataclass(frozen=True)
class Decision:
    """The answer of a check. ``reason`` is an English msgid; ``params`` fill it in."""

    allowed: bool
    reason: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    scope: RankingScope = RankingScope.FULL

    def __bool__(self) -> bool:
        return self.allowed

    def explain(self, _: Translate) -> str:
        return _(self.reason, **dict(self.params)) if self.reason else ""


ALLOW = Decision(True)


def _refuse(reason: str, **params: Any) -> Decision:
    return Decision(False, reason, params, RankingScope.NONE)


# -- refusal reasons (English msgids; Chinese in commands/locale/zh/LC_MESSAGES/commands.po) --

INACTIVE = N_("Your account is inactive. Ask an admin to reactivate it.")
NOT_FOR_ROLE = N_(
    "The command /{command} is not available to you. Send /help to see what you can use."
)
REVIEW_ONLY_MANAGERS = N_(
    "Only managers and admins can review agents. Use /selfreview for your own review."
)
REVIEW_OWN_TEAMS = N_("You can review only members of your teams.")
REVIEW_DIRECT_MANAGER = N_("Only the agent's direct manager or an admin can review this agent.")
REVIEW_SELF = N_("You cannot review yourself. Use /selfreview for your own review.")
REVIEW_ONLY_AGENTS = N_("Only agents are reviewed.")
SUBJECT_INACTIVE = N_("This member is inactive.")
SELF_REVIEW_ONLY_AGENTS = N_("Self-reviews are for agents; managers and admins are not scored.")
PEER_ONLY_AGENTS = N_("Only agents rate their peers.")
PEER_SELF = N_("You cannot rate yourself as a peer. Use /selfreview instead.")
PEER_OWN_TEAM = N_("You can rate only peers in your own team.")
PEER_ANONYMOUS = N_("Peer ratings are anonymous: nobody can see who gave them.")
RESULT_OWN = N_("You can see only your own results.")
RESULT_OWN_TEAMS = N_("You can see results only of members of your teams.")
RANK_OWN_TEAM = N_("You can see the ranking only of your own team.")
RANK_OWN_TEAMS = N_("You can see rankings only of your teams.")
RANK_NOT_FOR_ROLE = N_("Rankings are for agents, managers and admins.")
SIMULATE_OWN = N_("What-if works only on your own score, and only agents are scored.")
ADMIN_ONLY = N_("Only an admin can change teams, members and schemes.")
PERIOD_OWN_TEAMS = N_("You can open and close periods only of your teams.")
PERIOD_ONLY_MANAGERS = N_("Only managers and admins can open and close periods.")

QA_NOT_REVIEWER = N_(
    "You are not a quality reviewer of this team: the scheme gives the review queue to other roles."
)
QA_OWN_SESSION = N_("You cannot review your own conversations.")
QA_OWN_TEAMS = N_("You can review samples only of your own teams.")
QA_DRAW_ONLY_LEADERS = N_("Only a manager of the team or an admin can draw quality samples.")
QA_CALIBRATE_ADMIN = N_("Only an admin can send a sample to several reviewers for calibration.")
QA_DISPUTE_OWN = N_("You can dispute only QA results of your own conversations.")
PLAN_DECIDERS = N_("Only the agent's manager or an admin decides on the plan.")
APPEAL_DECIDERS = N_("Only the agent's manager or an admin decides this appeal.")
APPEAL_MANAGER_REVIEW = N_("An appeal against the manager's own review is decided by an admin.")
NOT_YOURS = N_("That button no longer works. Send /help to see what you can do.")
EXPORT_OWN_TEAMS = N_("You can export only the results of your teams.")
SCHEME_OWN_TEAMS = N_("You can read the scheme only of your own team or of a team you manage.")
STATUS_OWN_TEAMS = N_("You can see the progress only of your teams.")
EXPORT_ONLY_LEADERS = N_(
    "The command /export is not available to you: managers export their teams' results, admins "
    "every team's."
)
STATUS_ONLY_LEADERS = N_(
    "The command /status is not available to you: it shows managers and admins who has done what "
    "this period."
)

REASONS: tuple[str, ...] = (
    INACTIVE, NOT_FOR_ROLE, REVIEW_ONLY_MANAGERS, REVIEW_OWN_TEAMS, REVIEW_DIRECT_MANAGER,
    REVIEW_SELF, REVIEW_ONLY_AGENTS, SUBJECT_INACTIVE, SELF_REVIEW_ONLY_AGENTS,
    PEER_ONLY_AGENTS, PEER_SELF, PEER_OWN_TEAM, PEER_ANONYMOUS, RESULT_OWN, RESULT_OWN_TEAMS,
    RANK_OWN_TEAM, RANK_OWN_TEAMS, RANK_NOT_FOR_ROLE, SIMULATE_OWN, ADMIN_ONLY,
    PERIOD_OWN_TEAMS, PERIOD_ONLY_MANAGERS, QA_NOT_REVIEWER, QA_OWN_SESSION, QA_OWN_TEAMS,
    QA_DRAW_ONLY_LEADERS, QA_CALIBRATE_ADMIN, QA_DISPUTE_OWN, PLAN_DECIDERS, APPEAL_DECIDERS,
    APPEAL_MANAGER_REVIEW, NOT_YOURS, EXPORT_OWN_TEAMS, SCHEME_OWN_TEAMS, STATUS_OWN_TEAMS,
    EXPORT_ONLY_LEADERS, STATUS_ONLY_LEADERS,
)  # fmt: skip


# -- which commands each role may use at all (each command declares its roles:
# commands.context.Command) --

ALL = frozenset(Role)
AGENTS = frozenset({Role.AGENT})
SCORED_AND_LEADERS = frozenset({Role.AGENT, Role.MANAGER, Role.ADMIN})
LEADERS = frozenset({Role.MANAGER, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})


class Declared(Protocol):
    """What a permission check reads of a command's declaration (``commands.context.Command``)."""

    @property
    def name(self) -> str: ...
    @property
    def roles(self) -> Collection[Role | str]: ...
    @property
    def refusal(self) -> str: ...


def role_of(person: Person) -> Role:
    """The member's role; an unknown value is treated as the least privileged (agent)."""
    try:
        return Role(str(person.role))
    except ValueError:
        return Role.AGENT


def is_admin(person: Person) -> bool:
    return person.active and role_of(person) is Role.ADMIN


def can_use(actor: Person, command: Declared | None) -> Decision:
    """May this person run the declared command at all (before looking at any subject)?

    ``None`` (a command nobody declared) is refused to everyone: there is no default role."""
    if not actor.active:
        return _refuse(INACTIVE)
    if command is None:
        return _refuse(NOT_YOURS)
    if role_of(actor) in command.roles:
        return ALLOW
    if command.refusal:
        return _refuse(command.refusal)
    return _refuse(NOT_FOR_ROLE, command=command.name)


def role_may_use(role: str, command: Declared) -> bool:
    """May someone of this role run the command at all (the menu a platform shows them)?"""
    return Role(role) in command.roles


def allowed_commands(actor: Person, commands: Iterable[Declared]) -> list[str]:
    """The commands this person may use, in the order given (the router's declarations)."""
    return [c.name for c in commands if can_use(actor, c)]


def managed_team_ids(actor: Person, *, managed: Collection[int] | None = None) -> frozenset[int]:
    """Teams a manager manages: ``team_manager`` rows plus the team the manager belongs to.

    Agents and QA manage nothing; admins reach every team through :func:`reaches_team`.
    """
    if role_of(actor) is not Role.MANAGER:
        return frozenset()
    teams = set(managed) if managed is not None else set(_load_managed(actor))
    teams.add(actor.team_id)
    return frozenset(teams)


def reaches_team(
    actor: Person, team_id: int | None, *, managed: Collection[int] | None = None
) -> bool:
    """Admins reach every team; managers their own teams; nobody else leads a team."""
    if not actor.active or team_id is None:
        return False
    if is_admin(actor):
        return True
    return team_id in managed_team_ids(actor, managed=managed)


def _load_managed(actor: Person) -> Collection[int]:
    """The actor's ``team_manager`` rows, read through the session the actor was loaded in."""
    from sqlalchemy.orm import object_session
    from sqlmodel import Session

    session = object_session(actor)
    if not isinstance(session, Session) or not isinstance(actor, Member):
        return ()
    return frozenset(t.id for t in repo.teams_managed_by(session=session, member=actor) if t.id)


def is_direct_manager(
    actor: Person, subject: Person, *, managed: Collection[int] | None = None
) -> bool:
    """The subject's own superior: ``manager_id`` when set, else any manager of their team."""
    if role_of(actor) is not Role.MANAGER or not actor.active:
        return False
    if subject.manager_id is not None:
        return subject.manager_id == actor.id
    return subject.team_id in managed_team_ids(actor, managed=managed)


def can_review(
    actor: Person, subject: Person, *, managed: Collection[int] | None = None
) -> Decision:
    """A manager review (``/review @agent``): the agent's direct manager or an admin."""
    if not actor.active:
        return _refuse(INACTIVE)
    role = role_of(actor)
    if actor.id is not None and actor.id == subject.id:
        return _refuse(REVIEW_SELF)
    if role not in (Role.MANAGER, Role.ADMIN):
        return _refuse(REVIEW_ONLY_MANAGERS)
    if role is Role.MANAGER and not reaches_team(actor, subject.team_id, managed=managed):
        return _refuse(REVIEW_OWN_TEAMS)
    if not subject.active:
        return _refuse(SUBJECT_INACTIVE)
    if role_of(subject) is not Role.AGENT:
        return _refuse(REVIEW_ONLY_AGENTS)
    if role is Role.MANAGER and not is_direct_manager(actor, subject, managed=managed):
        return _refuse(REVIEW_DIRECT_MANAGER)
    return ALLOW


def can_self_review(actor: Person) -> Decision:
    """``/selfreview``: agents only."""
    if not actor.active:
        return _refuse(INACTIVE)
    if role_of(actor) is not Role.AGENT:
        return _refuse(SELF_REVIEW_ONLY_AGENTS)
    return ALLOW


def can_peer_rate(actor: Person, subject: Person) -> Decision:
    """``/peer``: an agent rates another active agent of the same team."""
    if not actor.active:
        return _refuse(INACTIVE)
    if role_of(actor) is not Role.AGENT:
        return _refuse(PEER_ONLY_AGENTS)
    if actor.id is not None and actor.id == subject.id:
        return _refuse(PEER_SELF)
    if subject.team_id != actor.team_id or role_of(subject) is not Role.AGENT:
        return _refuse(PEER_OWN_TEAM)
    if not subject.active:
        return _refuse(SUBJECT_INACTIVE)
    return ALLOW


def can_see_peer_raters(actor: Person, subject: Person | None = None) -> Decision:
    """Who gave which peer rating is never shown, to anyone (DOMAIN.md: 匿名考核)."""
    return _refuse(PEER_ANONYMOUS)


def can_view_result(
    actor: Person, subject: Person, *, managed: Collection[int] | None = None
) -> Decision:
    """A member's detailed score (``/me``, a manager looking at an agent): self, their managers,
    admins."""
    if not actor.active:
        return _refuse(INACTIVE)
    if actor.id is not None and actor.id == subject.id:
        return ALLOW
    role = role_of(actor)
    if role is Role.ADMIN:
        return ALLOW
    if role is Role.MANAGER:
        if reaches_team(actor, subject.team_id, managed=managed):
            return ALLOW
        return _refuse(RESULT_OWN_TEAMS)
    return _refuse(RESULT_OWN)


def ranking_access(
    actor: Person,
    team: TeamLike,
    *,
    published: bool,
    managed: Collection[int] | None = None,
) -> Decision:
    """``/rank``: how much of a team's ranking the actor sees (``decision.scope``).

    Managers of the team and admins see it all; an agent of the team sees it all
    when the scheme publishes the ranking, otherwise only their own place.
    """
    if not actor.active:
        return _refuse(INACTIVE)
    role = role_of(actor)
    if role is Role.ADMIN:
        return ALLOW
    if role is Role.MANAGER:
        return ALLOW if reaches_team(actor, team.id, managed=managed) else _refuse(RANK_OWN_TEAMS)
    if role is Role.AGENT:
        if team.id != actor.team_id:
            return _refuse(RANK_OWN_TEAM)
        return ALLOW if published else Decision(True, scope=RankingScope.OWN_PLACE)
    return _refuse(RANK_NOT_FOR_ROLE)


def can_simulate(actor: Person, subject: Person | None = None) -> Decision:
    """``/simulate``: an agent's own score only."""
    if not actor.active:
        return _refuse(INACTIVE)
    if role_of(actor) is not Role.AGENT:
        return _refuse(SIMULATE_OWN)
    if subject is not None and subject.id != actor.id:
        return _refuse(SIMULATE_OWN)
    return ALLOW


def can_administer(actor: Person) -> Decision:
    """Add teams and members, set managers, schemes, languages and time zones: admins only."""
    if not actor.active:
        return _refuse(INACTIVE)
    return ALLOW if role_of(actor) is Role.ADMIN else _refuse(ADMIN_ONLY)


def can_manage_period(
    actor: Person, team: TeamLike, *, managed: Collection[int] | None = None
) -> Decision:
    """Open or close a team's period: a manager of that team or an admin."""
    return _leads_team(actor, team, managed, PERIOD_OWN_TEAMS, PERIOD_ONLY_MANAGERS)


# -- quality sampling (质检, issue 8) ---------------------------------------------------------
#
# Who reviews: the roles the scheme's scorecard lists in ``reviewers`` (default: qa and
# manager). A ``qa`` member reviews the samples of their own team; a manager reviews the
# teams they manage (so a manager is a quality reviewer of their own teams unless the scheme
# leaves "manager" out); an admin reviews any team when the scheme lists "admin". Nobody
# ever reviews a sample of their own conversation, whatever their role.


def qa_review_teams(
    actor: Person, *, managed: Collection[int] | None = None
) -> frozenset[int] | None:
    """The teams whose samples this person could review (``None``: every team, an admin)."""
    if not actor.active:
        return frozenset()
    role = role_of(actor)
    if role is Role.ADMIN:
        return None
    if role is Role.MANAGER:
        return managed_team_ids(actor, managed=managed)
    if role is Role.QA:
        return frozenset({actor.team_id})
    return frozenset()


def can_qa_review(
    actor: Person,
    team_id: int,
    agent_id: int,
    reviewers: Collection[str],
    *,
    managed: Collection[int] | None = None,
) -> Decision:
    """May ``actor`` review a sample of ``agent_id``'s conversation in ``team_id``?"""
    if not actor.active:
        return _refuse(INACTIVE)
    if actor.id is not None and actor.id == agent_id:
        return _refuse(QA_OWN_SESSION)
    if role_of(actor).value not in reviewers:
        return _refuse(QA_NOT_REVIEWER)
    teams = qa_review_teams(actor, managed=managed)
    if teams is not None and team_id not in teams:
        return _refuse(QA_OWN_TEAMS)
    return ALLOW


def can_draw_qa(
    actor: Person, team: TeamLike, *, managed: Collection[int] | None = None
) -> Decision:
    """Draw a period's quality samples: a manager of the team or an admin."""
    if not actor.active:
        return _refuse(INACTIVE)
    if is_admin(actor) or (
        role_of(actor) is Role.MANAGER and reaches_team(actor, team.id, managed=managed)
    ):
        return ALLOW
    return _refuse(QA_DRAW_ONLY_LEADERS)


def can_calibrate_qa(actor: Person) -> Decision:
    """Send one sample to several reviewers and read their agreement: admins only."""
    if not actor.active:
        return _refuse(INACTIVE)
    return ALLOW if is_admin(actor) else _refuse(QA_CALIBRATE_ADMIN)


def can_dispute_qa(actor: Person, agent_id: int) -> Decision:
    """Dispute a QA result: only the agent whose conversation it was."""
    if not actor.active:
        return _refuse(INACTIVE)
    if actor.id is None or actor.id != agent_id:
        return _refuse(QA_DISPUTE_OWN)
    return ALLOW


# -- decisions on another member's object (by the object's member, loaded by id) --------------


def can_decide_plan(
    actor: Person,
    member: Person,
    *,
    escalated_to: int | None = None,
    managed: Collection[int] | None = None,
) -> Decision:
    """Approve or return an improvement plan: an admin, the agent's direct manager, or the
    person the late plan was escalated to."""
    if not actor.active:
        return _refuse(INACTIVE)
    if is_admin(actor) or is_direct_manager(actor, member, managed=managed):
        return ALLOW
    if escalated_to is not None and actor.id == escalated_to:
        return ALLOW
    return _refuse(PLAN_DECIDERS)


def can_decide_appeal(
    actor: Person, member: Person, component_kind: str, *, managed: Collection[int] | None = None
) -> Decision:
    """Decide an appeal: an admin; the agent's direct manager unless it contests the manager's
    review."""
    if not actor.active:
        return _refuse(INACTIVE)
    if is_admin(actor):
        return ALLOW
    if component_kind == "manager":
        return _refuse(APPEAL_MANAGER_REVIEW)
    return ALLOW if is_direct_manager(actor, member, managed=managed) else _refuse(APPEAL_DECIDERS)


def _leads_team(
    actor: Person,
    team: TeamLike,
    managed: Collection[int] | None,
    other_team: str,
    not_a_leader: str,
) -> Decision:
    """The one rule of a team's leaders: an admin any team, a manager the teams they manage
    (``other_team`` refuses another), anyone else ``not_a_leader``."""
    if not actor.active:
        return _refuse(INACTIVE)
    role = role_of(actor)
    if role is Role.ADMIN:
        return ALLOW
    if role is Role.MANAGER:
        return ALLOW if reaches_team(actor, team.id, managed=managed) else _refuse(other_team)
    return _refuse(not_a_leader)


def can_export(
    actor: Person, team: TeamLike, *, managed: Collection[int] | None = None
) -> Decision:
    """Export a team's results (``/export``): an admin any team, a manager the teams they manage."""
    return _leads_team(actor, team, managed, EXPORT_OWN_TEAMS, EXPORT_ONLY_LEADERS)


def can_read_scheme(
    actor: Person, team: TeamLike, *, managed: Collection[int] | None = None
) -> Decision:
    """Read the scheme that scores a team (``/scheme``, seed 004: transparency): everyone their
    own team's, a manager also the teams they manage, an admin any team's."""
    if not actor.active:
        return _refuse(INACTIVE)
    return ALLOW if sees_team(actor, team.id, managed=managed) else _refuse(SCHEME_OWN_TEAMS)


def can_see_progress(
    actor: Person, team: TeamLike, *, managed: Collection[int] | None = None
) -> Decision:
    """Who has done what this period (``/status``) and the reminders it sends: an admin any
    team, a manager the teams they manage (and, within a team, :func:`progress_subjects`)."""
    return _leads_team(actor, team, managed, STATUS_OWN_TEAMS, STATUS_ONLY_LEADERS)


def can_see_progress_of(
    actor: Person, subject: Person, *, managed: Collection[int] | None = None
) -> bool:
    """Whose progress a leader follows in ``/status`` (and reminds): an admin every agent, a
    manager their own agents (the direct manager, else any manager of the agent's team)."""
    if not actor.active or role_of(subject) is not Role.AGENT:
        return False
    return is_admin(actor) or is_direct_manager(actor, subject, managed=managed)


def sees_team(
    actor: Person, team_id: int | None, *, managed: Collection[int] | None = None
) -> bool:
    """The actor's own team, or a team they lead: where a refusal may say *why* (outside it, an id
    is answered as if it did not exist, so a forged id learns nothing)."""
    return team_id is not None and (
        team_id == actor.team_id or reaches_team(actor, team_id, managed=managed)
    )


class Refused(Exception):
    """A refused decision on its way to the router (:func:`require`), which answers it."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision.reason)
        self.decision = decision


def require(decision: Decision) -> Decision:
    """The one permission guard of a handler: returns an allowed decision (it may carry a ranking
    scope), raises :class:`Refused` otherwise; the router answers with :func:`refusal`.

        permissions.require(permissions.can_export(ctx.actor, team))
    """
    if not decision:
        raise Refused(decision)
    return decision


def refusal(decision: Decision, _: Translate) -> Reply:
    """A refused decision as a reply only the asker sees."""
    return Reply(text=decision.explain(_), ephemeral=True)

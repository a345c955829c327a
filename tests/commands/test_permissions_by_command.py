"""Every command × every role through the real router: who is let in, who is refused and why.

Roles: an agent (李娜, team demo), the demo manager (王经理), a manager of another team
(Mary, london), an admin (周人事) and a quality inspector (小赵). The subject is always in
team demo. A refusal must say why in the asker's language and name no data about the subject.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from commands import permissions as p
from commands import registry
from commands.i18n import translator
from commands.messages import Incoming
from commands.router import Router
from storage import repo
from storage.db import unit_of_work

AGENT, MANAGER, OTHER_MANAGER, ADMIN, QA = "李娜", "王经理", "Mary", "周人事", "小赵"
LANG = {AGENT: "zh", MANAGER: "zh", OTHER_MANAGER: "en", ADMIN: "zh", QA: "zh"}
OK = None

REFUSALS = {name: c.refusal for name, c in registry.commands().items()}

# command → the refusal each asker gets (None: let in)
MATRIX: dict[str, dict[str, str | None]] = {
    "/help": {AGENT: OK, MANAGER: OK, OTHER_MANAGER: OK, ADMIN: OK, QA: OK},
    "/lang": {AGENT: OK, MANAGER: OK, OTHER_MANAGER: OK, ADMIN: OK, QA: OK},
    "/selfreview": {
        AGENT: OK,
        MANAGER: REFUSALS["selfreview"],
        OTHER_MANAGER: REFUSALS["selfreview"],
        ADMIN: REFUSALS["selfreview"],
        QA: REFUSALS["selfreview"],
    },
    "/peer 张伟": {
        AGENT: OK,
        MANAGER: REFUSALS["peer"],
        OTHER_MANAGER: REFUSALS["peer"],
        ADMIN: REFUSALS["peer"],
        QA: REFUSALS["peer"],
    },
    "/peer raters": {
        AGENT: p.PEER_ANONYMOUS,
        MANAGER: REFUSALS["peer"],
        OTHER_MANAGER: REFUSALS["peer"],
        ADMIN: REFUSALS["peer"],
        QA: REFUSALS["peer"],
    },
    "/me": {
        AGENT: OK,
        MANAGER: REFUSALS["me"],
        OTHER_MANAGER: REFUSALS["me"],
        ADMIN: REFUSALS["me"],
        QA: REFUSALS["me"],
    },
    "/simulate refund_ratio=3%": {
        AGENT: OK,
        MANAGER: REFUSALS["simulate"],
        OTHER_MANAGER: REFUSALS["simulate"],
        ADMIN: REFUSALS["simulate"],
        QA: REFUSALS["simulate"],
    },
    "/scheme demo": {AGENT: OK, MANAGER: OK, OTHER_MANAGER: p.SCHEME_OWN_TEAMS, ADMIN: OK, QA: OK},
    "/rank demo": {
        AGENT: OK,
        MANAGER: OK,
        OTHER_MANAGER: p.RANK_OWN_TEAMS,
        ADMIN: OK,
        QA: REFUSALS["rank"],
    },
    "/review 张伟": {
        AGENT: REFUSALS["review"],
        MANAGER: OK,
        OTHER_MANAGER: "There is no member 张伟 in your teams.",
        ADMIN: OK,
        QA: REFUSALS["review"],
    },
    "/status demo": {
        AGENT: REFUSALS["status"],
        MANAGER: OK,
        OTHER_MANAGER: p.STATUS_OWN_TEAMS,
        ADMIN: OK,
        QA: REFUSALS["status"],
    },
    "/period open demo 2026-11": {
        AGENT: REFUSALS["period"],
        MANAGER: OK,
        OTHER_MANAGER: p.PERIOD_OWN_TEAMS,
        ADMIN: OK,
        QA: REFUSALS["period"],
    },
    "/team set demo tz=Asia/Shanghai": {
        AGENT: REFUSALS["team"],
        MANAGER: REFUSALS["team"],
        OTHER_MANAGER: REFUSALS["team"],
        ADMIN: OK,
        QA: REFUSALS["team"],
    },
    "/member list demo": {
        AGENT: REFUSALS["member"],
        MANAGER: REFUSALS["member"],
        OTHER_MANAGER: REFUSALS["member"],
        ADMIN: OK,
        QA: REFUSALS["member"],
    },
    "/import list demo": {
        AGENT: REFUSALS["import"],
        MANAGER: REFUSALS["import"],
        OTHER_MANAGER: REFUSALS["import"],
        ADMIN: OK,
        QA: REFUSALS["import"],
    },
    "/survey": {AGENT: OK, MANAGER: OK, OTHER_MANAGER: OK, ADMIN: OK, QA: REFUSALS["survey"]},
    "/qa": {AGENT: OK, MANAGER: OK, OTHER_MANAGER: OK, ADMIN: OK, QA: OK},
    "/linkcode demo 张伟": {
        AGENT: REFUSALS["linkcode"],
        MANAGER: REFUSALS["linkcode"],
        OTHER_MANAGER: REFUSALS["linkcode"],
        ADMIN: OK,
        QA: REFUSALS["linkcode"],
    },
    "/feedback": {AGENT: OK, MANAGER: OK, OTHER_MANAGER: OK, ADMIN: OK, QA: REFUSALS["feedback"]},
    "/improve": {AGENT: OK, MANAGER: OK, OTHER_MANAGER: OK, ADMIN: OK, QA: REFUSALS["improve"]},
    "/appeal": {AGENT: OK, MANAGER: OK, OTHER_MANAGER: OK, ADMIN: OK, QA: REFUSALS["appeal"]},
    "/calibrate": {
        AGENT: REFUSALS["calibrate"],
        MANAGER: REFUSALS["calibrate"],
        OTHER_MANAGER: REFUSALS["calibrate"],
        ADMIN: OK,
        QA: REFUSALS["calibrate"],
    },
    "/schedule demo": {
        AGENT: REFUSALS["schedule"],
        MANAGER: REFUSALS["schedule"],
        OTHER_MANAGER: REFUSALS["schedule"],
        ADMIN: OK,
        QA: REFUSALS["schedule"],
    },
    "/runstep": {
        AGENT: REFUSALS["runstep"],
        MANAGER: REFUSALS["runstep"],
        OTHER_MANAGER: REFUSALS["runstep"],
        ADMIN: OK,
        QA: REFUSALS["runstep"],
    },
    "/pause demo": {
        AGENT: REFUSALS["pause"],
        MANAGER: REFUSALS["pause"],
        OTHER_MANAGER: REFUSALS["pause"],
        ADMIN: OK,
        QA: REFUSALS["pause"],
    },
    "/resume demo": {
        AGENT: REFUSALS["resume"],
        MANAGER: REFUSALS["resume"],
        OTHER_MANAGER: REFUSALS["resume"],
        ADMIN: OK,
        QA: REFUSALS["resume"],
    },
    "/inbox": {
        AGENT: REFUSALS["inbox"],
        MANAGER: OK,
        OTHER_MANAGER: OK,
        ADMIN: OK,
        QA: REFUSALS["inbox"],
    },
    "/export demo": {
        AGENT: REFUSALS["export"],
        MANAGER: OK,
        OTHER_MANAGER: p.EXPORT_OWN_TEAMS,
        ADMIN: OK,
        QA: REFUSALS["export"],
    },
}
CASES = [(text, who, expected) for text, row in MATRIX.items() for who, expected in row.items()]
ZHANG_WEI_NUMBERS = ("5%", "0.05", "45")  # his KPI values in the world: nothing of them may leak
ALL_REFUSALS = [*p.REASONS, *(r for r in REFUSALS.values() if r)]


def _said(router: Router, who: str, text: str) -> str:
    replies = router.handle(Incoming(platform="test", user_id=who, text=text))
    return "\n".join(r.text for r in replies)


def test_the_matrix_covers_every_registered_command_that_a_role_rule_names(router: Router) -> None:
    named = {text.split()[0][1:] for text in MATRIX}
    listed = {name for name, c in router.commands.items() if c.what}
    assert listed <= named
    assert listed <= set(router.commands)


@pytest.mark.parametrize(("text", "who", "expected"), CASES, ids=[f"{t}|{w}" for t, w, _e in CASES])
def test_each_role_is_let_in_or_told_why_not(
    router: Router, text: str, who: str, expected: str | None
) -> None:
    _ = translator(LANG[who])
    said = _said(router, who, text)
    if expected is None:
        refusals = [_(r, command=text.split()[0][1:]) for r in ALL_REFUSALS]
        assert not any(r in said for r in refusals), said
        assert said.strip()
    else:
        assert _(expected) in said
        assert not any(number in said for number in ZHANG_WEI_NUMBERS), said


def test_an_agent_trying_to_review_is_pointed_to_selfreview(router: Router) -> None:
    said = _said(router, AGENT, "/review 张伟")
    assert "/selfreview" in said


def test_a_manager_of_another_team_cannot_see_an_agents_result_or_ranking(router: Router) -> None:
    assert translator("en")(p.RANK_OWN_TEAMS) in _said(router, OTHER_MANAGER, "/rank demo 2026-10")
    said = _said(router, OTHER_MANAGER, "/review 李娜")
    assert "your teams" in said
    assert "退款" not in said and "25" not in said


def test_a_peer_trying_to_see_raters_learns_nothing(router: Router) -> None:
    said = _said(router, "张伟", "/peer raters")
    assert said == translator("zh")(p.PEER_ANONYMOUS)


def test_an_agent_cannot_rank_another_team(router: Router) -> None:
    assert translator("zh")(p.RANK_OWN_TEAM) in _said(router, AGENT, "/rank london")


def test_help_lists_exactly_the_commands_the_role_may_use(router: Router) -> None:
    for who in (AGENT, MANAGER, ADMIN, QA):
        said = _said(router, who, "/help")
        listed = {line.split()[0][1:] for line in said.splitlines() if line.startswith("/")}
        role = p.Role(_role(who))
        assert listed == {n for n, c in router.commands.items() if c.what and role in c.roles}


def _role(who: str) -> str:
    return {AGENT: "agent", MANAGER: "manager", OTHER_MANAGER: "manager", ADMIN: "admin", QA: "qa"}[
        who
    ]


def test_a_manager_given_a_second_team_sees_its_ranking_but_reviews_only_direct_reports(
    router: Router, engine: Engine
) -> None:
    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        mary = repo.get_member_by_name(
            session=session, team=repo.get_team_by_name(session=session, name="london"), name="Mary"
        )  # type: ignore[arg-type]
        assert demo is not None and mary is not None
        repo.add_team_manager(session=session, team=demo, member=mary)
    said = _said(router, OTHER_MANAGER, "/rank demo 2026-10")
    assert translator("en")(p.RANK_OWN_TEAMS) not in said and "Ranking of demo" in said
    assert translator("en")(p.PERIOD_OWN_TEAMS) not in _said(
        router, OTHER_MANAGER, "/period open demo 2026-11"
    )

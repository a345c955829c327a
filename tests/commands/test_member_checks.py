"""The checks of ``member add``/``import`` and ``member set``/``import --update``, one row a rule.

Every problem of :func:`commands.admin.check_member` and :func:`commands.admin.plan_update` in
the order the admin reads them, against the ``demo`` team of the conversation world (王经理
manages 李娜, 张伟, 刘洋 and 陈静; 周人事 is an admin) plus 老经理, a manager who has left, and
two linked accounts (李娜 on Slack, 刘洋 on Telegram).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy.engine import Engine

from commands.admin import MemberSpec, MemberUpdate, check_member, plan_update
from commands.i18n import translator
from commands.problems import Problem
from storage import repo
from storage.db import unit_of_work

ENGLISH = translator("en")


@pytest.fixture
def members(engine: Engine, world: dict[str, int]) -> dict[str, int]:
    with unit_of_work(engine) as session:
        demo = repo.get_team_by_name(session=session, name="demo")
        assert demo is not None
        gone = repo.add_member(session=session, team=demo, name="老经理", role="manager")
        gone.active = False
        for name, key, value in (
            ("李娜", "slack_user_id", "U0LINA"),
            ("刘洋", "telegram_user_id", "42"),
        ):
            member = repo.get_member_by_name(session=session, team=demo, name=name)
            assert member is not None
            setattr(member, key, value)
        session.flush()
        return world | {"老经理": gone.id or 0}


def _texts(problems: Sequence[Problem]) -> list[str]:
    """The problems as an English reader gets them (``Problem.text``: a list of names written
    as English lists it)."""
    return [p.text(ENGLISH) for p in problems]


ADD_CASES = [
    ("a_member_needs_a_name", MemberSpec("demo", " "), [], ["A member needs a name."]),
    ("the_role_is_one_of_four", MemberSpec("demo", "新人", role="boss"), [],
     ["Unknown role boss: use agent, manager, admin or qa."]),
    ("the_language_is_zh_or_en", MemberSpec("demo", "新人", lang="fr"), [],
     ["Unknown language fr: use zh or en."]),
    ("a_slack_id_looks_like_one", MemberSpec("demo", "新人", slack="x1"), [],
     ["x1 is not a Slack user id (it looks like U012AB3CD)."]),
    ("a_telegram_id_is_digits", MemberSpec("demo", "新人", telegram="t1"), [],
     ["t1 is not a Telegram user id (digits only)."]),
    ("the_team_exists", MemberSpec("nowhere", "新人"), [], ["There is no team called nowhere."]),
    ("a_name_is_unique_in_its_team", MemberSpec("demo", "张伟"), [],
     ["Team demo already has a member called 张伟."]),
    ("a_name_appears_once_in_an_import", MemberSpec("demo", "新人", row=3),
     [MemberSpec("demo", "新人", row=2)], ["row 3: 新人 appears twice for team demo."]),
    ("the_first_row_of_a_twice_named_member_is_not_the_duplicate",
     MemberSpec("demo", "新人", row=2), [MemberSpec("demo", "新人", row=3)], []),
    ("a_slack_id_belongs_to_one_member", MemberSpec("demo", "新人", slack="U0LINA"), [],
     ["Slack user U0LINA is already linked to another member."]),
    ("a_slack_id_appears_once_in_an_import", MemberSpec("demo", "新人", slack="U0NEW", row=3),
     [MemberSpec("demo", "别人", slack="U0NEW", row=2)],
     ["row 3: Slack user U0NEW appears twice."]),
    ("a_telegram_id_belongs_to_one_member", MemberSpec("demo", "新人", telegram="42"), [],
     ["Telegram user 42 is already linked to another member."]),
    ("a_telegram_id_appears_once_in_an_import", MemberSpec("demo", "新人", telegram="7", row=3),
     [MemberSpec("demo", "别人", telegram="7", row=2)], ["row 3: Telegram user 7 appears twice."]),
    ("the_manager_is_in_the_team", MemberSpec("demo", "新人", manager="Ghost"), [],
     ["Team demo has no manager called Ghost."]),
    ("the_manager_has_not_left", MemberSpec("demo", "新人", manager="老经理"), [],
     ["老经理 has left (inactive): choose someone who is still in the team."]),
    ("the_manager_is_a_manager", MemberSpec("demo", "新人", manager="张伟"), [],
     ["张伟 is not a manager (role agent)."]),
    ("every_problem_is_listed_in_order",
     MemberSpec("demo", "张伟", role="boss", slack="U0LINA", telegram="42", manager="Ghost"), [],
     ["Unknown role boss: use agent, manager, admin or qa.",
      "Team demo already has a member called 张伟.",
      "Slack user U0LINA is already linked to another member.",
      "Telegram user 42 is already linked to another member.",
      "Team demo has no manager called Ghost."]),
    ("a_good_member_has_no_problem",
     MemberSpec("demo", "新人", manager="王经理", slack="U0NEW", telegram="7", lang="en"), [], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "batch", "expected"), [c[1:] for c in ADD_CASES], ids=[c[0] for c in ADD_CASES]
)
def test_adding_a_member_checks(
    engine: Engine,
    members: dict[str, int],
    spec: MemberSpec,
    batch: list[MemberSpec],
    expected: list[str],
) -> None:
    with unit_of_work(engine) as session:
        found = check_member(spec, session=session, batch=[spec, *batch])
    assert _texts(found) == expected


SET_PROBLEMS = [
    ("the_team_exists", MemberUpdate("nowhere", "张伟", lang="en"), [],
     ["There is no team called nowhere."]),
    ("the_member_exists", MemberUpdate("demo", "Ghost", lang="en"), [],
     ["There is no member Ghost in team demo."]),
    ("the_role_is_one_of_four", MemberUpdate("demo", "张伟", role="boss"), [],
     ["Unknown role boss: use agent, manager, admin or qa."]),
    ("a_manager_who_stops_managing_leaves_no_agent_behind",
     MemberUpdate("demo", "王经理", role="agent"), [],
     ["王经理 still manages 李娜, 张伟, 刘洋, 陈静: give them another manager first."]),
    ("the_manager_is_in_the_team", MemberUpdate("demo", "张伟", manager="Ghost"), [],
     ["Team demo has no manager called Ghost."]),
    ("nobody_manages_themselves", MemberUpdate("demo", "王经理", manager="王经理"), [],
     ["王经理 cannot be their own manager."]),
    ("the_manager_has_not_left", MemberUpdate("demo", "张伟", manager="老经理"), [],
     ["老经理 has left (inactive): choose someone who is still in the team."]),
    ("the_manager_is_a_manager", MemberUpdate("demo", "张伟", manager="李娜"), [],
     ["李娜 is not a manager (role agent)."]),
    ("a_slack_id_looks_like_one", MemberUpdate("demo", "张伟", slack="x1"), [],
     ["x1 is not a Slack user id (it looks like U012AB3CD)."]),
    ("a_telegram_id_is_digits", MemberUpdate("demo", "张伟", telegram="t1"), [],
     ["t1 is not a Telegram user id (digits only)."]),
    ("a_slack_id_belongs_to_one_member", MemberUpdate("demo", "张伟", slack="U0LINA"), [],
     ["Slack user U0LINA is already linked to 李娜: unlink it there first "
      "(member set … slack=-)."]),
    ("a_telegram_id_appears_once_in_an_import", MemberUpdate("demo", "张伟", telegram="7", row=3),
     [MemberUpdate("demo", "陈静", telegram="7", row=2)],
     ["row 3: Telegram user 7 appears twice."]),
    ("the_language_is_zh_or_en", MemberUpdate("demo", "张伟", lang="fr"), [],
     ["Unknown language fr: use zh or en."]),
    ("every_problem_is_listed_in_order",
     MemberUpdate("demo", "王经理", role="agent", manager="王经理", slack="x1", lang="fr"), [],
     ["王经理 still manages 李娜, 张伟, 刘洋, 陈静: give them another manager first.",
      "王经理 cannot be their own manager.",
      "x1 is not a Slack user id (it looks like U012AB3CD).",
      "Unknown language fr: use zh or en."]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("update", "batch", "expected"),
    [c[1:] for c in SET_PROBLEMS],
    ids=[c[0] for c in SET_PROBLEMS],
)
def test_changing_a_member_checks(
    engine: Engine,
    members: dict[str, int],
    update: MemberUpdate,
    batch: list[MemberUpdate],
    expected: list[str],
) -> None:
    with unit_of_work(engine) as session:
        plan, found = plan_update(update, session=session, batch=[update, *batch])
    assert plan is None and _texts(found) == expected


def test_a_manager_promoted_in_the_same_import_can_be_given_and_both_managers_are_named(
    engine: Engine, members: dict[str, int]
) -> None:
    update = MemberUpdate("demo", "张伟", manager="李娜", slack="U0ZW", lang="-", name_en="Wei")
    batch = [MemberUpdate("demo", "李娜", role="manager"), update]
    with unit_of_work(engine) as session:
        plan, found = plan_update(update, session=session, batch=batch)
    assert found == [] and plan is not None
    assert dict(plan.changes) == {
        "manager_id": members["李娜"], "slack_user_id": "U0ZW", "name_en": "Wei",
    }  # fmt: skip
    assert dict(plan.before) == {"manager_id": members["王经理"], "slack_user_id": None,
                                 "name_en": None}  # fmt: skip
    assert dict(plan.manager_names) == {members["李娜"]: "李娜", members["王经理"]: "王经理"}


def test_a_slack_id_freed_in_the_same_import_can_be_taken(
    engine: Engine, members: dict[str, int]
) -> None:
    update = MemberUpdate("demo", "张伟", slack="U0LINA", role="manager")
    batch = [MemberUpdate("demo", "李娜", slack="-"), update]
    with unit_of_work(engine) as session:
        plan, found = plan_update(update, session=session, batch=batch)
    assert found == [] and plan is not None
    assert dict(plan.changes) == {"role": "manager", "slack_user_id": "U0LINA"}
    assert plan.manager_names == {}

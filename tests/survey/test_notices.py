"""Survey notices through the outbox: the agent's daily digest of customer comments (opt-out
with /survey digest off) and the manager's same-day alert for a 1–2 star rating with a comment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from commands import survey
from commands.context import AppConfig
from commands.cycle import CYCLE, run_step
from commands.messages import Incoming, Reply
from commands.outbox import reply_from_json
from commands.router import Router
from commands.survey_notices import comment_digest_hook
from storage import outbox as store
from storage import repo
from storage.db import unit_of_work
from storage.models import Member
from tests.conftest import Clock
from tests.survey.conftest import SECRET, World, make_client, seed_team
from tests.survey.pagekit import rate

# The team's zone is Asia/Shanghai (UTC+8): local 2026-10-14 is 10-13 16:00Z … 10-14 16:00Z.
BEFORE_DAY = datetime(2026, 10, 13, 15, 59, tzinfo=UTC)  # 10-13 23:59 local
DAY_STARTS = datetime(2026, 10, 13, 16, 0, tzinfo=UTC)  # 10-14 00:00 local
DAY_ENDS = datetime(2026, 10, 14, 15, 59, tzinfo=UTC)  # 10-14 23:59 local
AFTER_DAY = datetime(2026, 10, 14, 16, 0, tzinfo=UTC)  # 10-15 00:00 local
DAILY_RUN = datetime(2026, 10, 15, 1, 30, tzinfo=UTC)  # 10-15 09:30 local


def rate_at(
    client: TestClient,
    clock: Clock,
    world: World,
    when: datetime,
    *,
    stars: str,
    comment: str,
    member_id: int | None = None,
    token: str | None = None,
) -> str:
    clock.now = when
    token = token or world.token(member_id=member_id)
    assert rate(client, token, stars=stars, comment=comment).status_code == 200
    return token


def run_daily(world: World, day: str, now: datetime, *, force: bool = False) -> str:
    with unit_of_work(world.engine) as session:
        team = repo.get_team(session=session, team_id=world.team_id)
        assert team is not None
        return run_step(session, team=team, period_key=day, step="daily", now=now,
                        worker="test", force=force).status  # fmt: skip


def messages(world: World, prefix: str) -> list[tuple[int | None, str, Reply]]:
    """(member, kind, reply) of the team's outbox rows whose kind starts with ``prefix``."""
    with unit_of_work(world.engine) as session:
        rows = store.list_messages(session=session, team_id=world.team_id)
        return [(r.member_id, r.kind, reply_from_json(r.reply)) for r in rows
                if r.kind.startswith(prefix)]  # fmt: skip


def set_lang(world: World, member_id: int, lang: str) -> None:
    with unit_of_work(world.engine) as session:
        member = session.get(Member, member_id)
        assert member is not None
        member.lang = lang


@pytest.fixture
def router(world: World, clock: Clock) -> Router:
    config = AppConfig(public_url="https://kpi.example.com", secret=SECRET, default_lang="en")
    return Router(world.engine, config, clock, modules=[survey])


def say(router: Router, who: int, text: str) -> list[Reply]:
    return router.handle(Incoming(platform="test", user_id=str(who), text=text))


# ---------------------------------------------------------------- the daily digest


def test_the_daily_step_queues_the_previous_local_days_comments_once(
    client: TestClient, clock: Clock, world: World
) -> None:
    rate_at(client, clock, world, BEFORE_DAY, stars="4", comment="the day before")
    rate_at(client, clock, world, DAY_STARTS, stars="5", comment="at midnight")
    rate_at(client, clock, world, DAY_ENDS, stars="3", comment="just before midnight")
    rate_at(client, clock, world, AFTER_DAY, stars="5", comment="the next day")
    rate_at(client, clock, world, DAY_ENDS, stars="5", comment="")  # no comment: not listed

    assert run_daily(world, "2026-10-15", DAILY_RUN) == "ran"

    [(member_id, kind, reply)] = messages(world, "survey-digest")
    assert member_id == world.agent_id and reply.private
    assert kind == f"survey-digest:{world.agent_id}:2026-10-14"
    lines = reply.text.splitlines()
    assert lines[0] == "顾客对你服务的留言（2 条）："  # the team speaks Chinese
    assert lines[1:] == ["· 5★ at midnight", "· 3★ just before midnight"]


def test_running_the_daily_step_again_queues_no_second_digest(
    client: TestClient, clock: Clock, world: World
) -> None:
    rate_at(client, clock, world, DAY_STARTS, stars="5", comment="thanks")
    assert run_daily(world, "2026-10-15", DAILY_RUN) == "ran"
    assert run_daily(world, "2026-10-15", DAILY_RUN) == "already"
    assert run_daily(world, "2026-10-15", DAILY_RUN, force=True) == "ran"
    assert len(messages(world, "survey-digest")) == 1


def test_each_agent_gets_their_own_digest_in_their_language(
    client: TestClient, clock: Clock, world: World
) -> None:
    set_lang(world, world.other_agent_id, "en")
    rate_at(client, clock, world, DAY_STARTS, stars="5", comment="王小红 was great")
    rate_at(client, clock, world, DAY_STARTS, stars="2", comment="李明 was slow",
            member_id=world.other_agent_id)  # fmt: skip
    run_daily(world, "2026-10-15", DAILY_RUN)
    by_member = {m: r.text for m, _k, r in messages(world, "survey-digest")}
    assert by_member[world.agent_id] == "顾客对你服务的留言（1 条）：\n· 5★ 王小红 was great"
    assert by_member[world.other_agent_id] == (
        "Comments from customers about your service (1):\n· 2★ 李明 was slow"
    )


def test_a_day_without_comments_queues_no_digest(
    client: TestClient, clock: Clock, world: World
) -> None:
    rate_at(client, clock, world, BEFORE_DAY, stars="5", comment="long ago")
    run_daily(world, "2026-10-15", DAILY_RUN)
    assert messages(world, "survey-digest") == []


def test_an_agent_who_turned_the_digest_off_gets_none_and_can_turn_it_on_again(
    client: TestClient, clock: Clock, world: World, router: Router
) -> None:
    set_lang(world, world.agent_id, "en")
    [off] = say(router, world.agent_id, "/survey digest off")
    assert off.ephemeral and "/survey digest on" in off.text
    rate_at(client, clock, world, DAY_STARTS, stars="5", comment="for the quiet one")
    rate_at(client, clock, world, DAY_STARTS, stars="5", comment="for the other",
            member_id=world.other_agent_id)  # fmt: skip
    run_daily(world, "2026-10-15", DAILY_RUN)
    assert [m for m, _k, _r in messages(world, "survey-digest")] == [world.other_agent_id]

    [on] = say(router, world.agent_id, "/survey digest on")
    assert "/survey digest off" in on.text
    rate_at(client, clock, world, AFTER_DAY, stars="4", comment="on again")
    run_daily(world, "2026-10-16", datetime(2026, 10, 16, 1, 30, tzinfo=UTC))
    kinds = [k for m, k, _r in messages(world, "survey-digest") if m == world.agent_id]
    assert kinds == [f"survey-digest:{world.agent_id}:2026-10-15"]


def test_survey_digest_answers_in_chinese_and_in_english(world: World, router: Router) -> None:
    set_lang(world, world.agent_id, "zh")
    [zh_off] = say(router, world.agent_id, "/survey digest 关闭")
    assert zh_off.text == "你不再接收顾客留言汇总。发送 /survey digest on 可重新开启。"
    [zh_state] = say(router, world.agent_id, "/survey digest")
    assert zh_state.text == zh_off.text  # no word: says how it is now
    set_lang(world, world.agent_id, "en")
    [en_on] = say(router, world.agent_id, "/survey digest on")
    assert en_on.text == (
        "You get a daily digest of the comments your customers leave. "
        "/survey digest off turns it off."
    )
    [bad] = say(router, world.agent_id, "/survey digest maybe")
    assert bad.text == "Use /survey digest on or /survey digest off."
    [usage] = say(router, world.agent_id, "/survey help")
    assert "/survey digest off" in usage.text


def test_the_daily_step_lists_the_digest_hook_once_however_many_routers_start(
    world: World, clock: Clock
) -> None:
    Router(world.engine, AppConfig(secret=SECRET), clock)  # every command module, as at start-up
    Router(world.engine, AppConfig(secret=SECRET), clock)
    assert CYCLE["daily"].hooks.count(comment_digest_hook) == 1


# ---------------------------------------------------------------- the manager's alert


def test_a_low_rating_with_a_comment_alerts_the_manager_as_it_is_stored(
    client: TestClient, clock: Clock, world: World
) -> None:
    rate_at(client, clock, world, DAY_STARTS, stars="1", comment="rude <!channel> & slow")
    [(member_id, kind, reply)] = messages(world, "survey-alert")  # no step has run
    assert member_id == world.manager_id and reply.private
    assert kind.startswith("survey-alert:") and kind.endswith(f":{world.manager_id}")
    assert reply.text == "王小红收到一位顾客的 1★ 评价，留言如下：\nrude <!channel> & slow"


def test_a_replaced_low_rating_never_alerts_twice(
    client: TestClient, clock: Clock, world: World
) -> None:
    token = rate_at(client, clock, world, DAY_STARTS, stars="1", comment="rude")
    rate_at(client, clock, world, DAY_ENDS, stars="2", comment="still rude", token=token)
    rate_at(client, clock, world, DAY_ENDS, stars="1", comment="rude again", token=token)
    [(_m, _k, reply)] = messages(world, "survey-alert")
    assert reply.text.endswith("\nrude")


def test_a_rating_replaced_by_a_low_one_alerts_then(
    client: TestClient, clock: Clock, world: World
) -> None:
    token = rate_at(client, clock, world, DAY_STARTS, stars="5", comment="fine")
    assert messages(world, "survey-alert") == []
    rate_at(client, clock, world, DAY_ENDS, stars="2", comment="actually not", token=token)
    [(_m, _k, reply)] = messages(world, "survey-alert")
    assert reply.text.endswith("\nactually not")


@pytest.mark.parametrize(
    ("stars", "comment"), [("2", ""), ("2", "   "), ("3", "meh"), ("5", "great")]
)
def test_no_alert_without_a_comment_or_above_two_stars(
    client: TestClient, clock: Clock, world: World, stars: str, comment: str
) -> None:
    rate_at(client, clock, world, DAY_STARTS, stars=stars, comment=comment)
    assert messages(world, "survey-alert") == []


def test_an_english_manager_is_alerted_in_english_with_the_reference(
    client: TestClient, clock: Clock, world: World
) -> None:
    set_lang(world, world.manager_id, "en")
    clock.now = DAY_STARTS
    assert rate(client, world.token(ref="A-9"), stars="2", comment="没人回复").status_code == 200
    [(_m, _k, reply)] = messages(world, "survey-alert")
    assert reply.text == (
        "王小红 got a 2★ rating from a customer, with this comment: (reference A-9)\n没人回复"
    )


def test_the_alert_goes_to_the_teams_managers_when_the_agent_has_no_manager(
    client: TestClient, clock: Clock, world: World
) -> None:
    with unit_of_work(world.engine) as session:
        team = repo.get_team(session=session, team_id=world.team_id)
        agent = session.get(Member, world.agent_id)
        boss = Member(team_id=world.team_id, name="赵主管", role="manager")
        session.add(boss)
        session.flush()
        assert team is not None and agent is not None and boss.id is not None
        repo.add_team_manager(session=session, team=team, member=boss)
        agent.manager_id = None
        boss_id = boss.id
    rate_at(client, clock, world, DAY_STARTS, stars="1", comment="nobody came")
    assert [m for m, _k, _r in messages(world, "survey-alert")] == [boss_id]


def test_the_alert_goes_to_the_teams_managers_when_the_agents_manager_has_left(
    client: TestClient, clock: Clock, world: World
) -> None:
    with unit_of_work(world.engine) as session:
        team = repo.get_team(session=session, team_id=world.team_id)
        left = session.get(Member, world.manager_id)
        boss = Member(team_id=world.team_id, name="赵主管", role="manager")
        session.add(boss)
        session.flush()
        assert team is not None and left is not None and boss.id is not None
        repo.add_team_manager(session=session, team=team, member=boss)
        left.active = False  # the agent still points at them
        boss_id = boss.id
    rate_at(client, clock, world, DAY_STARTS, stars="1", comment="nobody came")
    assert [m for m, _k, _r in messages(world, "survey-alert")] == [boss_id]


def test_a_hostile_comment_reaches_slack_escaped_in_the_alert_and_the_digest(
    client: TestClient, clock: Clock, world: World
) -> None:
    from bot.slack import render as slack_render

    rate_at(client, clock, world, DAY_STARTS, stars="1", comment="<!channel> <http://x|bank>")
    run_daily(world, "2026-10-15", DAILY_RUN)
    replies = [r for _m, _k, r in messages(world, "survey-")]
    assert len(replies) == 2  # the manager's alert and the agent's digest
    for reply in replies:
        shown = " ".join(b["text"]["text"] for b in slack_render.message(reply)["blocks"])
        assert "&lt;!channel&gt; &lt;http://x|bank&gt;" in shown and "<!channel>" not in shown


def test_on_both_databases_a_replaced_low_rating_alerts_once_and_the_digest_goes_once(
    db_engine: Engine, clock: Clock
) -> None:
    world = seed_team(db_engine)
    client = make_client(db_engine, clock)
    token = rate_at(client, clock, world, DAY_STARTS, stars="1", comment="rude")
    rate_at(client, clock, world, DAY_ENDS, stars="2", comment="still rude", token=token)
    run_daily(world, "2026-10-15", DAILY_RUN)
    run_daily(world, "2026-10-15", DAILY_RUN, force=True)
    kinds = [k.split(":")[0] for _m, k, _r in messages(world, "survey-")]
    assert sorted(kinds) == ["survey-alert", "survey-digest"]

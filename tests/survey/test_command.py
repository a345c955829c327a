"""/survey in chat: fresh signed links for an agent, batches, QR codes, team batches for
managers."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from commands import survey
from commands.context import AppConfig
from commands.messages import Incoming, Reply
from commands.router import Router
from commands.survey import MAX_BATCH
from commands.survey_tokens import read_token
from storage.db import unit_of_work
from storage.models import Member, Team
from tests.conftest import Clock
from tests.survey.conftest import SECRET, World, scheme_text, seed_team, use_scheme
from tests.survey.pagekit import rate, rating_rows

PUBLIC = "https://kpi.example.com"
LINK = re.compile(r"https://kpi\.example\.com/s/([A-Za-z0-9_.\-]+)")


@pytest.fixture
def router(world: World, clock: Clock) -> Router:
    config = AppConfig(public_url=PUBLIC, secret=SECRET, default_lang="en")
    return Router(world.engine, config, clock, modules=[survey])


def say(router: Router, who: int, text: str, lang: str = "en") -> list[Reply]:
    with unit_of_work(router.engine) as session:
        member = session.get(Member, who)
        assert member is not None
        member.lang = lang
    return router.handle(Incoming(platform="test", user_id=str(who), text=text))


def tokens_in(replies: list[Reply]) -> list[str]:
    return [m.group(1) for r in replies for m in LINK.finditer(r.text)]


def test_an_agent_gets_one_private_signed_link(router: Router, world: World) -> None:
    replies = say(router, world.agent_id, "/survey")
    [reply] = replies
    assert reply.private and reply.image is None
    [token] = tokens_in(replies)
    claims = read_token(SECRET, token)
    assert (claims.member_id, claims.team_id, claims.period_id) == (
        world.agent_id,
        world.team_id,
        world.period_id,
    )
    assert claims.expires_at == world.now + timedelta(days=7)
    assert claims.ref is None
    assert "valid until 2026-10-21 17:30" in reply.text  # Asia/Shanghai


def test_the_scheme_sets_how_long_a_link_stays_open(router: Router, world: World) -> None:
    use_scheme(world.engine, world.team_id, scheme_text(expiry_days=3))
    claims = read_token(SECRET, tokens_in(say(router, world.agent_id, "/survey"))[0])
    assert claims.expires_at == world.now + timedelta(days=3)


@pytest.mark.parametrize(
    ("args", "ref"),
    [
        ("ORDER-7", "ORDER-7"),
        ("ref 20", "20"),
        ("订单 2026 10 23", "订单 2026 10 23"),
        ("20261023001", "20261023001"),
    ],
)
def test_a_link_can_carry_the_ticket_or_order_reference(
    router: Router, world: World, args: str, ref: str
) -> None:
    replies = say(router, world.agent_id, f"/survey {args}")
    [token] = tokens_in(replies)
    assert read_token(SECRET, token).ref == ref
    assert ref in replies[0].text


def test_a_batch_gives_distinct_links_one_a_line(router: Router, world: World) -> None:
    replies = say(router, world.agent_id, "/survey 20")
    tokens = tokens_in(replies)
    assert len(tokens) == 20 == len({read_token(SECRET, t).token_id for t in tokens})
    assert replies[0].text.count("\n") == 20


@pytest.mark.parametrize("count", ["0", str(MAX_BATCH + 1), "999", "1000"])
def test_a_batch_too_large_or_empty_is_refused(router: Router, world: World, count: str) -> None:
    [reply] = say(router, world.agent_id, f"/survey {count}")
    assert tokens_in([reply]) == [] and str(MAX_BATCH) in reply.text


def test_an_agent_gets_a_qr_code_png_of_a_link(router: Router, world: World) -> None:
    [reply] = say(router, world.agent_id, "/survey qr")
    assert reply.image is not None and reply.private
    assert reply.image.data.startswith(b"\x89PNG\r\n\x1a\n") and len(reply.image.data) > 300
    assert len(tokens_in([reply])) == 1


def test_an_agent_cannot_get_team_links(router: Router, world: World) -> None:
    [reply] = say(router, world.agent_id, "/survey team demo")
    assert tokens_in([reply]) == [] and "managers" in reply.text


def test_a_team_batch_goes_privately_to_the_manager_never_into_the_channel(
    router: Router, world: World
) -> None:
    """Reproduces issue 16 item 8: the whole team's links were posted for everyone to use up."""
    [reply] = say(router, world.manager_id, "/survey team demo 2")
    assert reply.private
    lines = reply.text.splitlines()[1:]
    assert [line.split(":")[0] for line in lines] == ["王小红", "王小红", "李明", "李明"]
    members = [read_token(SECRET, t).member_id for t in tokens_in([reply])]
    assert members == [world.agent_id] * 2 + [world.other_agent_id] * 2


def test_a_manager_gets_a_qr_code_for_each_agent(router: Router, world: World) -> None:
    replies = say(router, world.manager_id, "/survey qr")
    assert [r.text.split(":")[0] for r in replies] == ["王小红", "李明"]
    assert all(r.image is not None and r.image.data.startswith(b"\x89PNG") for r in replies)
    assert all(r.private for r in replies), "each QR code is a live link: only the manager sees it"


def test_a_team_of_200_gets_its_links_as_one_csv_file_not_pages_of_messages(
    router: Router, world: World
) -> None:
    with unit_of_work(world.engine) as session:
        for i in range(198):
            name = f"=客服{i:03d}" if i == 0 else f"客服{i:03d}"  # a name like a formula stays text
            session.add(Member(team_id=world.team_id, name=name, role="agent"))
    [reply] = say(router, world.manager_id, "/survey team demo 20", lang="zh")
    assert reply.private and reply.file is not None and reply.file.mime == "text/csv"
    rows = reply.file.data.decode("utf-8-sig").splitlines()
    assert len(rows) == 200 * 20
    assert "4000" in reply.text and "200" in reply.text and "附件" in reply.text
    members = {
        read_token(SECRET, m.group(1)).member_id for m in LINK.finditer(reply.file.data.decode())
    }
    assert len(members) == 200
    assert any(row.startswith('"\'=客服000","') for row in rows)  # quoted: one cell with , or ;


def test_a_manager_cannot_get_links_for_another_team(router: Router, world: World) -> None:
    seed_team(world.engine, name="other")
    [reply] = say(router, world.manager_id, "/survey team other")
    assert tokens_in([reply]) == [] and "your own teams" in reply.text
    [reply] = say(router, world.manager_id, "/survey team nowhere")
    assert "no team called nowhere" in reply.text


def test_replies_speak_chinese_to_a_chinese_agent(router: Router, world: World) -> None:
    [reply] = say(router, world.agent_id, "/survey", lang="zh")
    assert "评价链接" in reply.text
    [usage] = say(router, world.manager_id, "/survey", lang="zh")
    assert "二维码" in usage.text


def test_a_link_from_chat_lets_a_customer_rate_that_agent(
    router: Router, world: World, clock: Clock
) -> None:
    from tests.survey.conftest import make_client

    [token] = tokens_in(say(router, world.agent_id, "/survey A-1"))
    client: TestClient = make_client(world.engine, clock)
    assert rate(client, token, stars="5", comment="好").status_code == 200
    [row] = rating_rows(world.engine)
    assert (row.member_id, row.period_id, row.ref, row.stars) == (
        world.agent_id,
        world.period_id,
        "A-1",
        5,
    )


def test_a_link_issued_without_an_open_period_counts_for_the_period_of_the_rating(
    router: Router, world: World, clock: Clock
) -> None:
    from storage import repo
    from tests.survey.conftest import make_client

    clock.now = world.now + timedelta(days=30)  # 2026-11-13: no November period yet
    [token] = tokens_in(say(router, world.agent_id, "/survey"))
    assert read_token(SECRET, token).period_id == 0
    with unit_of_work(world.engine) as session:
        team = session.get(Team, world.team_id)
        assert team is not None
        november = repo.get_or_create_period(session=session, team=team, key="2026-11")
        november_id = november.id
    assert rate(make_client(world.engine, clock), token, stars="4").status_code == 200
    assert rating_rows(world.engine)[0].period_id == november_id


def test_a_four_digit_number_is_not_silently_taken_as_a_reference(
    router: Router, world: World
) -> None:
    [reply] = say(router, world.agent_id, "/survey 1000")
    assert tokens_in([reply]) == []
    assert reply.text.endswith("send /survey ref 1000.") or reply.text.endswith(
        "请发送 /survey ref 1000。"
    )
    [reply] = say(router, world.agent_id, "/survey ref 1000")
    [token] = tokens_in([reply])
    assert read_token(SECRET, token).ref == "1000"

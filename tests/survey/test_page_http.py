"""The survey page over HTTP: GET only renders, POST stores once, hostile input is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.conftest import Clock
from tests.survey.conftest import World, make_client
from tests.survey.pagekit import CSRF, csrf_of, rate, rating_count, rating_rows

UNFURLERS = [
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
]


@pytest.mark.parametrize("agent", UNFURLERS)
def test_opening_a_link_shows_the_form_and_records_nothing(
    client: TestClient, world: World, agent: str
) -> None:
    token = world.token()
    for _ in range(3):
        page = client.get(f"/s/{token}", headers={"user-agent": agent})
        assert page.status_code == 200
        assert 'name="stars"' in page.text
    assert client.head(f"/s/{token}").status_code == 200
    assert rating_count(world.engine) == 0


def test_a_rating_is_stored_for_the_agent_period_and_reference(
    client: TestClient, world: World
) -> None:
    token = world.token(ref="订单-42")
    reply = rate(client, token, stars="4", comment="很好 thanks", resolved="yes")
    assert reply.status_code == 200
    assert "谢谢" in reply.text
    [row] = rating_rows(world.engine)
    assert (row.member_id, row.team_id, row.period_id) == (
        world.agent_id,
        world.team_id,
        world.period_id,
    )
    assert (row.stars, row.comment, row.resolved, row.ref) == (4, "很好 thanks", True, "订单-42")
    assert row.created_at == world.now


def test_the_problem_question_and_comment_are_optional(client: TestClient, world: World) -> None:
    assert rate(client, world.token(), stars="2").status_code == 200
    [row] = rating_rows(world.engine)
    assert (row.stars, row.comment, row.resolved) == (2, None, None)


def test_a_second_rating_from_the_same_link_replaces_the_first(
    client: TestClient, world: World, clock: Clock
) -> None:
    token = world.token()
    rate(client, token, stars="1", comment="slow", resolved="no")
    clock.now += timedelta(hours=2)
    again = client.get(f"/s/{token}?lang=en")
    assert "replaces" in again.text and 'value="1" required checked' in again.text
    assert rate(client, token, stars="5", comment="", resolved="yes").status_code == 200
    [row] = rating_rows(world.engine)
    assert (row.stars, row.comment, row.resolved) == (5, None, True)
    assert row.updated_at == world.now + timedelta(hours=2)
    assert row.created_at == world.now


def test_two_links_of_one_agent_count_twice(client: TestClient, world: World) -> None:
    rate(client, world.token(), stars="5")
    rate(client, world.token(), stars="3")
    assert sorted(r.stars for r in rating_rows(world.engine)) == [3, 5]


# ---------------------------------------------------------------- forged and expired


def test_a_forged_token_is_not_found_and_stores_nothing(client: TestClient, world: World) -> None:
    token = world.token()
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert client.get(f"/s/{forged}").status_code == 404
    csrf = csrf_of(client, token)
    posted = client.post(f"/s/{forged}", data={"csrf": csrf, "stars": "5"})
    assert posted.status_code == 404
    assert rating_count(world.engine) == 0


def test_a_token_for_another_agent_cannot_be_made_by_editing_the_link(
    client: TestClient, world: World
) -> None:
    token = world.token()
    tid, _member, *rest = token.split(".")
    edited = ".".join([tid, format(world.other_agent_id, "x"), *rest])
    assert client.get(f"/s/{edited}").status_code == 404


def test_an_expired_link_shows_a_kind_page_and_stores_nothing(
    client: TestClient, world: World, clock: Clock
) -> None:
    token = world.token(days=7)
    csrf = csrf_of(client, token)
    clock.now += timedelta(days=7)
    page = client.get(f"/s/{token}", headers={"accept-language": "en"})
    assert page.status_code == 410
    assert "expired" in page.text and 'name="stars"' not in page.text
    posted = client.post(f"/s/{token}", data={"csrf": csrf, "stars": "5", "lang": "en"})
    assert posted.status_code == 410
    assert rating_count(world.engine) == 0


def test_a_rating_after_expiry_does_not_replace_the_first(
    client: TestClient, world: World, clock: Clock
) -> None:
    token = world.token(days=1)
    rate(client, token, stars="2")
    csrf = csrf_of(client, token)
    clock.now += timedelta(days=2)
    assert client.post(f"/s/{token}", data={"csrf": csrf, "stars": "5"}).status_code == 410
    assert [r.stars for r in rating_rows(world.engine)] == [2]


# ---------------------------------------------------------------- invalid input -> 400


@pytest.mark.parametrize("stars", ["0", "6", "-1", "4.5", "five", "", " 5", "５", "1e0", "05"])
def test_a_rating_outside_one_to_five_gets_the_form_again(
    client: TestClient, world: World, stars: str
) -> None:
    reply = rate(client, world.token(), stars=stars, comment="kept", lang="en")
    assert reply.status_code == 400
    assert 'role="alert"' in reply.text and "1 to 5" in reply.text
    assert 'name="stars"' in reply.text and ">kept</textarea>" in reply.text
    assert rating_count(world.engine) == 0


def test_a_missing_rating_gets_the_form_again(client: TestClient, world: World) -> None:
    token = world.token()
    reply = client.post(f"/s/{token}", data={"csrf": csrf_of(client, token), "lang": "en"})
    assert reply.status_code == 400 and "Please choose a rating" in reply.text
    assert rating_count(world.engine) == 0


def test_two_ratings_in_one_form_are_refused(client: TestClient, world: World) -> None:
    token = world.token()
    body = f"csrf={csrf_of(client, token)}&stars=5&stars=1"
    reply = client.post(
        f"/s/{token}", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert reply.status_code == 400
    assert rating_count(world.engine) == 0


def test_an_oversized_comment_gets_the_form_again_with_the_text_kept(
    client: TestClient, world: World
) -> None:
    reply = rate(client, world.token(), stars="3", comment="长" * 501, lang="en")
    assert reply.status_code == 400
    assert "501 characters" in reply.text and "长" * 501 in reply.text
    assert 'aria-invalid="true"' in reply.text
    assert rating_count(world.engine) == 0


def test_a_comment_of_exactly_the_limit_is_stored(client: TestClient, world: World) -> None:
    assert rate(client, world.token(), stars="3", comment="长" * 500).status_code == 200
    assert rating_rows(world.engine)[0].comment == "长" * 500


def test_control_characters_are_dropped_from_a_comment(client: TestClient, world: World) -> None:
    rate(client, world.token(), stars="3", comment="  ok\x00\x07 fine\r\nline2 \u202e ")
    assert rating_rows(world.engine)[0].comment == "ok fine\nline2"


def test_an_unknown_answer_to_the_problem_question_is_refused(
    client: TestClient, world: World
) -> None:
    reply = rate(client, world.token(), stars="3", resolved="maybe")
    assert reply.status_code == 400
    assert rating_count(world.engine) == 0


def test_a_huge_body_is_refused_before_it_is_read(client: TestClient, world: World) -> None:
    token = world.token()
    reply = client.post(
        f"/s/{token}", data={"csrf": csrf_of(client, token), "stars": "5", "comment": "x" * 100_000}
    )
    assert reply.status_code == 413
    assert rating_count(world.engine) == 0


@pytest.mark.parametrize("csrf", [None, "", "garbage", "a.b.c"])
def test_a_missing_or_invalid_form_token_gets_the_form_again(
    client: TestClient, world: World, csrf: str | None
) -> None:
    token = world.token()
    data = {"stars": "5", "comment": "hi", "lang": "en"}
    if csrf is not None:
        data["csrf"] = csrf
    reply = client.post(f"/s/{token}", data=data)
    assert reply.status_code == 400
    assert "Please try again" in reply.text and 'name="stars"' in reply.text
    assert 'value="5" required checked' in reply.text
    assert rating_count(world.engine) == 0
    fresh = CSRF.search(reply.text)
    assert fresh is not None
    retry = client.post(f"/s/{token}", data={**data, "csrf": fresh.group(1)})
    assert retry.status_code == 200 and rating_count(world.engine) == 1


def test_a_form_token_of_another_link_is_refused(client: TestClient, world: World) -> None:
    mine, other = world.token(), world.token()
    reply = client.post(f"/s/{mine}", data={"csrf": csrf_of(client, other), "stars": "5"})
    assert reply.status_code == 400
    assert rating_count(world.engine) == 0


def test_a_form_token_older_than_two_days_is_refused(
    client: TestClient, world: World, clock: Clock
) -> None:
    token = world.token(days=7)
    csrf = csrf_of(client, token)
    clock.now += timedelta(days=2, seconds=1)
    assert client.post(f"/s/{token}", data={"csrf": csrf, "stars": "5"}).status_code == 400
    assert rating_count(world.engine) == 0


def test_a_post_from_a_foreign_origin_is_refused(client: TestClient, world: World) -> None:
    token = world.token()
    reply = client.post(
        f"/s/{token}",
        data={"csrf": csrf_of(client, token), "stars": "5"},
        headers={"origin": "https://evil.example"},
    )
    assert reply.status_code == 400
    assert rating_count(world.engine) == 0
    same = client.post(
        f"/s/{token}",
        data={"csrf": csrf_of(client, token), "stars": "5"},
        headers={"origin": "http://testserver"},
    )
    assert same.status_code == 200


def test_a_json_body_is_not_a_form(client: TestClient, world: World) -> None:
    token = world.token()
    reply = client.post(f"/s/{token}", json={"csrf": csrf_of(client, token), "stars": 5})
    assert reply.status_code == 400
    assert rating_count(world.engine) == 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    fields=st.dictionaries(
        st.sampled_from(["stars", "comment", "resolved", "lang", "x"]),
        st.text(max_size=600),
        max_size=5,
    )
)
def test_any_form_either_stores_one_valid_rating_or_is_refused(
    client: TestClient, world: World, fields: dict[str, str]
) -> None:
    before = rating_count(world.engine)
    token = world.token()
    reply = client.post(f"/s/{token}", data={"csrf": csrf_of(client, token), **fields})
    after = rating_rows(world.engine)
    if reply.status_code == 200:
        assert len(after) == before + 1
        assert 1 <= after[-1].stars <= 5
        assert after[-1].comment is None or len(after[-1].comment) <= 500
    else:
        assert reply.status_code == 400
        assert len(after) == before


# ---------------------------------------------------------------- escaping, language, headers


def test_a_comment_is_shown_back_escaped(client: TestClient, world: World) -> None:
    token = world.token()
    evil = '</textarea><script>alert(1)</script><img src=x onerror=alert(2)>"'
    rate(client, token, stars="4", comment=evil)
    page = client.get(f"/s/{token}")
    assert "<script>" not in page.text and "<img" not in page.text
    assert "&lt;/textarea&gt;&lt;script&gt;" in page.text
    oversized = rate(client, token, stars="4", comment=evil * 20)
    assert oversized.status_code == 400 and "<script>" not in oversized.text


@pytest.mark.parametrize(
    ("header", "query", "expected", "absent"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "", "非常不满意", "Very dissatisfied"),
        ("en-US,en;q=0.9", "", "Very dissatisfied", "非常不满意"),
        ("fr-FR,en;q=0.5,zh;q=0.4", "", "Very dissatisfied", "非常不满意"),
        ("de", "", "非常不满意", "Very dissatisfied"),
        ("en-US", "?lang=zh", "非常满意", "Very satisfied"),
        ("zh-CN", "?lang=en", "Very satisfied", "非常满意"),
    ],
)
def test_the_page_speaks_the_customers_language_with_a_switch(
    client: TestClient, world: World, header: str, query: str, expected: str, absent: str
) -> None:
    page = client.get(f"/s/{world.token()}{query}", headers={"accept-language": header})
    assert expected in page.text and absent not in page.text
    assert "?lang=zh" in page.text and "?lang=en" in page.text


def test_all_five_levels_are_labelled_in_both_languages(client: TestClient, world: World) -> None:
    token = world.token()
    zh = client.get(f"/s/{token}?lang=zh").text
    en = client.get(f"/s/{token}?lang=en").text
    for label in ("非常不满意", "不满意", "一般", "满意", "非常满意"):
        assert label in zh
    for label in ("Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"):
        assert label in en
    for value in range(1, 6):
        assert f'<label for="stars-{value}">' in en


def test_the_page_loads_nothing_from_elsewhere_and_runs_no_script(
    client: TestClient, world: World
) -> None:
    page = client.get(f"/s/{world.token()}")
    body = page.text.lower()
    assert "<script" not in body and " src=" not in body and "<link" not in body
    assert "http://" not in body and "https://" not in body and "@import" not in body
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert len(page.content) < 12_000


# ---------------------------------------------------------------- flood


def test_a_flood_from_one_address_is_limited_without_blocking_others(
    engine,
    clock: Clock,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    from bot.survey_page import AddressLimiter

    limiter = AddressLimiter(limit=10, clock=lambda: 1000.0)
    app = make_client(engine, clock, limiter=limiter).app
    flooder = TestClient(app, client=("203.0.113.9", 4000))
    customer = TestClient(app, client=("198.51.100.7", 5000))
    token = world.token()
    codes = [flooder.get(f"/s/{token}").status_code for _ in range(15)]
    assert codes[:10] == [200] * 10 and set(codes[10:]) == {429}
    limited = flooder.post(f"/s/{token}", data={"stars": "5"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert rate(customer, world.token(), stars="5").status_code == 200
    assert rating_count(world.engine) == 1


def test_a_link_of_an_agent_who_was_removed_stores_nothing(
    client: TestClient, world: World
) -> None:
    from storage.db import unit_of_work
    from storage.models import Member

    token = world.token(member_id=world.other_agent_id)
    csrf = csrf_of(client, token)
    with unit_of_work(world.engine) as session:
        member = session.get(Member, world.other_agent_id)
        session.delete(member)
    reply = client.post(f"/s/{token}", data={"csrf": csrf, "stars": "5"})
    assert reply.status_code == 404
    assert rating_count(world.engine) == 0


def test_an_unreachable_database_gets_a_kind_503_not_a_crash(
    tmp_path, clock: Clock, world: World
) -> None:  # type: ignore[no-untyped-def]
    from storage.db import make_engine

    broken = make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'kpibot.db'}")
    client = make_client(broken, clock)
    token = world.token()
    page = client.get(f"/s/{token}?lang=en")
    assert page.status_code == 503 and "try again in a few minutes" in page.text
    assert page.headers["retry-after"] == "60"
    csrf = csrf_of(make_client(world.engine, clock), token)
    posted = client.post(f"/s/{token}", data={"csrf": csrf, "stars": "5", "lang": "en"})
    assert posted.status_code == 503

"""Ratings into the score: star counts per agent, repeat policy, comments escaped."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from commands import ratings
from commands.survey_tokens import SurveyClaims
from scoring.scheme_parser import parse_scheme
from scoring.total import ScoreInputs, score_team
from storage import repo
from storage.db import unit_of_work
from storage.models import Period
from tests.conftest import Clock
from tests.survey.conftest import World, make_client, scheme_text, use_scheme
from tests.survey.pagekit import rate, rating_rows


def frame_for(world: World, member_ids: list[int] | None = None) -> pd.DataFrame:
    with unit_of_work(world.engine) as session:
        period = session.get(Period, world.period_id)
        assert period is not None
        return ratings.customer_frame(session, period=period, member_ids=member_ids)


def test_counts_are_per_agent_and_star_for_the_period(client: TestClient, world: World) -> None:
    for stars in ("5", "5", "4", "1"):
        rate(client, world.token(), stars=stars)
    rate(client, world.token(member_id=world.other_agent_id), stars="3")
    frame = frame_for(world, [world.agent_id, world.other_agent_id, world.manager_id])
    assert list(frame.columns) == ["n1", "n2", "n3", "n4", "n5"]
    assert frame.loc[str(world.agent_id)].tolist() == [1, 0, 0, 1, 2]
    assert frame.loc[str(world.other_agent_id)].tolist() == [0, 0, 1, 0, 0]
    assert frame.loc[str(world.manager_id)].tolist() == [0, 0, 0, 0, 0]
    assert ratings.responses(frame, world.agent_id) == 4
    assert ratings.responses(frame, 999) == 0


def test_a_replaced_rating_counts_once_with_its_new_stars(client: TestClient, world: World) -> None:
    token = world.token()
    rate(client, token, stars="1")
    rate(client, token, stars="5")
    assert frame_for(world).loc[str(world.agent_id)].tolist() == [0, 0, 0, 0, 1]


def test_ratings_of_another_period_are_not_counted(client: TestClient, world: World) -> None:
    with unit_of_work(world.engine) as session:
        team = repo.get_team(session=session, team_id=world.team_id)
        assert team is not None
        september = repo.get_or_create_period(session=session, team=team, key="2026-09")
        september_id = september.id
    assert september_id is not None
    rate(client, world.token(period_id=september_id), stars="1")
    rate(client, world.token(), stars="5")
    assert frame_for(world).loc[str(world.agent_id)].tolist() == [0, 0, 0, 0, 1]


def test_under_refuse_a_second_rating_is_refused_and_the_first_stands(
    engine,
    clock: Clock,
    world: World,  # type: ignore[no-untyped-def]
) -> None:
    use_scheme(world.engine, world.team_id, scheme_text(repeat="refuse"))
    client = make_client(engine, clock)
    token = world.token()
    assert rate(client, token, stars="2", comment="first").status_code == 200
    page = client.get(f"/s/{token}?lang=en")
    assert "already rated" in page.text and 'name="stars"' not in page.text
    again = client.post(
        f"/s/{token}", data={"csrf": _csrf_for(client, world, token), "stars": "5", "lang": "en"}
    )
    assert again.status_code == 409 and "first rating stands" in again.text
    assert [(r.stars, r.comment) for r in rating_rows(world.engine)] == [(2, "first")]


def _csrf_for(client: TestClient, world: World, token: str) -> str:
    """A valid form token for ``token`` although its page no longer shows the form."""
    from itsdangerous import TimestampSigner

    from bot.survey_page import FORM_SALT
    from commands.survey_tokens import read_token
    from tests.survey.conftest import SECRET

    class Signer(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(world.now.timestamp())

    tid = read_token(SECRET, token).token_id
    return Signer(SECRET, salt=FORM_SALT, key_derivation="hmac").sign(tid).decode()


def test_record_rating_never_stores_two_rows_for_one_link(world: World) -> None:
    claims = SurveyClaims(
        "tid-1", world.agent_id, world.team_id, world.period_id, world.now + timedelta(days=1)
    )
    outcomes = []
    for stars in (1, 3, 5):
        with unit_of_work(world.engine) as session:
            outcomes.append(
                ratings.record_rating(
                    session,
                    claims=claims,
                    stars=stars,
                    comment=None,
                    resolved=None,
                    now=world.now,
                    repeat="replace",
                )
            )
    assert outcomes == ["stored", "replaced", "replaced"]
    assert [r.stars for r in rating_rows(world.engine)] == [5]


def test_a_link_of_a_removed_agent_stores_nothing(world: World) -> None:
    claims = SurveyClaims("tid-2", 4242, world.team_id, world.period_id, world.now)
    with unit_of_work(world.engine) as session:
        assert (
            ratings.record_rating(
                session,
                claims=claims,
                stars=4,
                comment=None,
                resolved=None,
                now=world.now,
                repeat="replace",
            )
            == "missing"
        )
    assert rating_rows(world.engine) == []


@pytest.mark.parametrize("stars", [0, 6, -1])
def test_record_rating_refuses_stars_outside_one_to_five(world: World, stars: int) -> None:
    claims = SurveyClaims("tid-3", world.agent_id, world.team_id, world.period_id, world.now)
    with pytest.raises(ValueError), unit_of_work(world.engine) as session:
        ratings.record_rating(
            session,
            claims=claims,
            stars=stars,
            comment=None,
            resolved=None,
            now=world.now,
            repeat="replace",
        )


# ---------------------------------------------------------------- into the score


def _score(world: World, text: str) -> dict[str, tuple[float | None, str, float]]:
    scheme = parse_scheme(text)
    agents = (str(world.agent_id), str(world.other_agent_id))
    reviews = pd.DataFrame({"self.task_completion": [3, 3]}, index=list(agents))
    inputs = ScoreInputs(
        reviews=reviews,
        customer=frame_for(world, [world.agent_id, world.other_agent_id]),
        agents=agents,
    )
    result = score_team(scheme, inputs, as_of=date(2026, 11, 3))
    out = {}
    for agent in agents:
        comp = result.agent(agent).components
        customer = next(c for c in comp if c.kind == "customer")
        out[agent] = (customer.points, customer.status, float(customer.detail["count"]))
    return out


@pytest.mark.parametrize("csat", ["share_4_5", "mean"])
def test_ratings_through_the_page_become_the_customer_component(
    client: TestClient, world: World, csat: str
) -> None:
    stars = [5, 4, 4, 2, 1]
    for s in stars:
        rate(client, world.token(), stars=str(s))
    scored = _score(world, scheme_text(csat=csat, min_responses=3))
    points, status, count = scored[str(world.agent_id)]
    if csat == "share_4_5":
        expected = 100 * sum(1 for s in stars if s >= 4) / len(stars)
    else:
        expected = (sum(stars) / len(stars) - 1) / 4 * 100
    assert points == pytest.approx(expected)
    assert (status, count) == ("ok", len(stars))


@pytest.mark.parametrize(("below_min", "default"), [("exclude", None), ("default", 60.0)])
def test_too_few_responses_are_handled_as_the_scheme_says(
    client: TestClient, world: World, below_min: str, default: float | None
) -> None:
    rate(client, world.token(), stars="5")
    scored = _score(world, scheme_text(min_responses=3, below_min=below_min, default=default))
    points, status, count = scored[str(world.agent_id)]
    assert count == 1
    if below_min == "exclude":
        assert status == "below_min_excluded"
    else:
        assert status == "below_min_default" and points == pytest.approx(60.0)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(stars=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=12))
def test_the_frame_counts_exactly_the_stored_stars(
    client: TestClient, world: World, stars: list[int]
) -> None:
    before = frame_for(world, [world.agent_id]).loc[str(world.agent_id)].tolist()
    for s in stars:
        rate(client, world.token(), stars=str(s))
    after = frame_for(world, [world.agent_id]).loc[str(world.agent_id)].tolist()
    assert [a - b for a, b in zip(after, before, strict=True)] == [
        stars.count(k) for k in range(1, 6)
    ]


# ---------------------------------------------------------------- comments


def test_comments_for_a_digest_and_for_a_same_day_alert(
    client: TestClient, world: World, clock: Clock
) -> None:
    rate(client, world.token(), stars="5", comment="great")
    clock.now += timedelta(hours=1)
    rate(client, world.token(), stars="1", comment="rude <!channel>")
    rate(client, world.token(), stars="2")  # no comment: nothing to read
    with unit_of_work(world.engine) as session:
        team = repo.get_team(session=session, team_id=world.team_id)
        period = session.get(Period, world.period_id)
        assert team is not None
        digest = ratings.comments_for(session, team=team, period=period, since=world.now)
        alert = ratings.comments_for(
            session, team=team, period=period, since=world.now, max_stars=2
        )
        later = ratings.comments_for(
            session, team=team, period=period, since=world.now + timedelta(minutes=30)
        )
    assert [r.comment for r in digest] == ["rude <!channel>", "great"]
    assert [r.stars for r in alert] == [1]
    assert [r.comment for r in later] == ["rude <!channel>"]


@pytest.mark.parametrize(
    ("target", "raw", "shown"),
    [
        (
            "html",
            '<script>alert("x")</script>',
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;",
        ),
        ("telegram", "<b>bold</b> & co", "&lt;b&gt;bold&lt;/b&gt; &amp; co"),
        (
            "slack",
            "<!channel> see <http://evil|bank>",
            "&lt;!channel&gt; see &lt;http://evil|bank&gt;",
        ),
        ("csv", '=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("csv", "+1 great", "'+1 great"),
        ("csv", "fine", "fine"),
        ("text", "bell\x07 and\x1b[31m red", "bell and[31m red"),
    ],
)
def test_a_comment_is_escaped_for_where_it_is_shown(target: str, raw: str, shown: str) -> None:
    assert ratings.escape(raw, target) == shown  # type: ignore[arg-type]


# ---------------------------------------------------------------- notices for the outbox


def _notices(world: World, since, until=None, opted_out=()):  # type: ignore[no-untyped-def]
    with unit_of_work(world.engine) as session:
        team = repo.get_team(session=session, team_id=world.team_id)
        period = session.get(Period, world.period_id)
        assert team is not None
        digests = ratings.comment_digests(
            session,
            team=team,
            period=period,
            since=since,
            until=until or since + timedelta(days=1),
            opted_out=opted_out,
        )
        alerts = ratings.low_rating_alerts(session, team=team, period=period, since=since)
    return digests, alerts


def test_the_agent_gets_one_digest_of_the_days_comments(
    client: TestClient, world: World, clock: Clock
) -> None:
    rate(client, world.token(), stars="5", comment="很好")
    rate(client, world.token(), stars="3")
    clock.now += timedelta(hours=3)
    rate(client, world.token(), stars="4", comment="<!channel> fast")
    clock.now += timedelta(days=1)
    rate(client, world.token(), stars="5", comment="tomorrow")
    day = world.now.replace(hour=0, minute=0)
    digests, _alerts = _notices(world, day)
    [digest] = digests
    assert digest.member_id == world.agent_id and digest.reply.private
    assert digest.key == f"survey-digest:{world.agent_id}:{day.date()}"
    lines = digest.reply.text.splitlines()
    assert "（2 条）" in lines[0]
    assert lines[1:] == ["· 5★ 很好", "· 4★ <!channel> fast"]
    assert _notices(world, day, opted_out=(world.agent_id,))[0] == []


def test_a_low_rating_with_a_comment_alerts_the_manager_once(
    client: TestClient, world: World
) -> None:
    rate(client, world.token(ref="A-9"), stars="1", comment="没人回复")
    rate(client, world.token(), stars="2")  # no comment: no alert
    rate(client, world.token(), stars="3", comment="ok")  # 3 stars: no alert
    _digests, alerts = _notices(world, world.now)
    [alert] = alerts
    assert alert.member_id == world.manager_id
    assert alert.key.startswith("survey-alert:") and alert.key.endswith(f":{world.manager_id}")
    assert "王小红" in alert.reply.text and "1★" in alert.reply.text
    assert "A-9" in alert.reply.text and alert.reply.text.endswith("没人回复")
    again = _notices(world, world.now)[1]
    assert [a.key for a in again] == [alert.key]  # the same key: the outbox sends it once

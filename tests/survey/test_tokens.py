"""Survey link tokens: signed, short, unguessable, and every alteration is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.survey_tokens import (
    BadToken,
    SurveyClaims,
    clean_ref,
    make_token,
    read_token,
    survey_url,
)

SECRET = "k" * 8 + "0123456789abcdefghijklmnopqrstuvwxyz"
WHEN = datetime(2026, 10, 21, 12, 0, tzinfo=UTC)
URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")

ids = st.integers(min_value=1, max_value=10**9)
refs = st.none() | st.text(min_size=1, max_size=80)


@given(member=ids, team=ids, period=st.integers(min_value=0, max_value=10**9), ref=refs)
def test_a_token_carries_agent_team_period_expiry_and_ref(
    member: int, team: int, period: int, ref: str | None
) -> None:
    token = make_token(
        SECRET, member_id=member, team_id=team, period_id=period, expires_at=WHEN, ref=ref
    )
    claims = read_token(SECRET, token)
    assert (claims.member_id, claims.team_id, claims.period_id) == (member, team, period)
    assert claims.expires_at == WHEN
    assert claims.ref == clean_ref(ref)
    assert set(token) <= URL_SAFE


def test_a_link_without_ref_is_short_and_lives_on_the_public_url() -> None:
    token = make_token(SECRET, member_id=1234, team_id=56, period_id=789, expires_at=WHEN)
    assert len(token) <= 64
    assert survey_url("https://kpi.example.com/", token) == f"https://kpi.example.com/s/{token}"


def test_two_links_for_the_same_agent_differ_in_their_token_id() -> None:
    tokens = {
        make_token(SECRET, member_id=1, team_id=1, period_id=1, expires_at=WHEN) for _ in range(200)
    }
    token_ids = {read_token(SECRET, t).token_id for t in tokens}
    assert len(token_ids) == 200
    assert all(len(tid) >= 12 for tid in token_ids)


@given(position=st.integers(min_value=0, max_value=10_000), data=st.data())
def test_changing_any_character_of_a_token_makes_it_invalid(
    position: int, data: st.DataObject
) -> None:
    token = make_token(SECRET, member_id=7, team_id=3, period_id=11, expires_at=WHEN, ref="A-1")
    i = position % len(token)
    replacement = data.draw(st.sampled_from(sorted(URL_SAFE - {token[i]})))
    altered = token[:i] + replacement + token[i + 1 :]
    with pytest.raises(BadToken):
        read_token(SECRET, altered)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = make_token(
        "another-secret-" + SECRET, member_id=7, team_id=3, period_id=11, expires_at=WHEN
    )
    with pytest.raises(BadToken):
        read_token(SECRET, token)


def test_a_re_signed_payload_with_another_agent_is_refused() -> None:
    token = make_token(SECRET, member_id=7, team_id=3, period_id=11, expires_at=WHEN)
    payload, signature = token.rsplit(".", 1)
    tid, _member, *rest = payload.split(".")
    with pytest.raises(BadToken):
        read_token(SECRET, ".".join([tid, "8", *rest, signature]))


@pytest.mark.parametrize(
    "junk", ["", ".", "abc", "a.b.c.d.e.f.g", "é" * 10, "x" * 1000, "../../etc/passwd", "%00"]
)
def test_junk_is_not_a_token(junk: str) -> None:
    with pytest.raises(BadToken):
        read_token(SECRET, junk)


def test_a_link_expires_at_its_moment_not_before() -> None:
    claims = SurveyClaims("t", 1, 1, 1, WHEN)
    assert not claims.expired(WHEN - timedelta(seconds=1))
    assert claims.expired(WHEN)


def test_a_reference_is_trimmed_and_bounded() -> None:
    assert clean_ref("  order   42 \n") == "order 42"
    assert clean_ref("   ") is None
    long = clean_ref("x" * 500)
    assert long is not None and len(long) == 64


def test_every_single_character_change_of_a_token_is_refused() -> None:
    token = make_token(SECRET, member_id=7, team_id=3, period_id=11, expires_at=WHEN, ref="A-1")
    accepted = [
        (i, c)
        for i in range(len(token))
        for c in sorted(URL_SAFE - {token[i]})
        if _reads(token[:i] + c + token[i + 1 :])
    ]
    assert accepted == []


def _reads(token: str) -> bool:
    try:
        read_token(SECRET, token)
    except BadToken:
        return False
    return True

"""The per-address flood limit: a sliding minute, per IPv4 address or IPv6 /64."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from bot.survey_page import AddressLimiter, client_key


class Ticker:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def test_the_limit_counts_each_address_separately() -> None:
    clock = Ticker()
    limiter = AddressLimiter(3, 60, clock)
    assert [limiter.hit("a") for _ in range(4)][:3] == [0, 0, 0]
    assert limiter.hit("a") > 0
    assert limiter.hit("b") == 0


def test_a_flooder_is_let_in_again_as_the_minute_slides() -> None:
    clock = Ticker()
    clock.t = 1_200.0  # the start of a window
    limiter = AddressLimiter(10, 60, clock)
    assert all(limiter.hit("a") == 0 for _ in range(10))
    wait = limiter.hit("a")
    assert 0 < wait <= 60
    clock.t += 61  # next window: last minute's hits still weigh almost fully
    assert limiter.hit("a") > 0
    clock.t += 60  # two windows later: forgotten
    assert limiter.hit("a") == 0


@given(gaps=st.lists(st.sampled_from([0, 0.1, 0.5, 1, 2, 5, 20, 30]), min_size=1, max_size=300))
def test_no_burst_at_a_window_edge_doubles_the_limit(gaps: list[float]) -> None:
    """A fixed window would let 2 × limit through within a second at its edge; the
    sliding estimate lets at most 1.5 × limit through in any half minute."""
    clock = Ticker()
    limiter = AddressLimiter(10, 60, clock)
    allowed: list[float] = []
    for gap in gaps:
        clock.t += gap
        if limiter.hit("x") == 0:
            allowed.append(clock.t)
    for i, start in enumerate(allowed):
        assert sum(1 for t in allowed[i:] if t < start + 30) <= 15
        assert sum(1 for t in allowed[i:] if t < start + 60) <= 20


def _request(host: str) -> Request:
    return Request(
        {
            "type": "http",
            "client": (host, 1234),
            "headers": [],
            "method": "GET",
            "path": "/",
            "query_string": b"",
        }
    )


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("testclient", "testclient"),
    ],
)
def test_an_ipv6_network_counts_as_one_address(host: str, key: str) -> None:
    assert client_key(_request(host)) == key

"""Who a messenger can reach (``commands.people.reachable``): the one rule /status, /inbox and
publication use to say who will never get their results."""

from __future__ import annotations

import pytest

from commands.people import reachable
from storage.models import Member


@pytest.mark.parametrize(
    ("links", "blocked", "expected"),
    [
        ({}, False, False),
        ({"slack": "U0BOB"}, False, True),
        ({"telegram": "4711"}, False, True),
        ({"telegram": "4711"}, True, False),  # blocked the bot: the link no longer answers
        ({"slack": "U0BOB", "telegram": "4711"}, True, True),
        ({"feishu": "ou_7d8a6e6df7621556ce0d21922b676706"}, False, True),
        ({"feishu": "ou_7d8a6e6df7621556ce0d21922b676706"}, True, True),
        ({"console": "Bob"}, False, False),  # the terminal chat is no messenger
        ({"test": "Bob"}, False, False),
    ],
)
def test_a_member_is_reachable_when_linked_on_any_messenger_that_answers(
    links: dict[str, str], blocked: bool, expected: bool
) -> None:
    member = Member(team_id=1, name="Bob", unreachable=blocked)
    for platform, external_id in links.items():
        member.set_external_id(platform, external_id)
    assert reachable(member) is expected

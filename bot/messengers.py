"""Every messenger kpibot speaks, one line each (see :mod:`bot.messenger` for what a line is).

Adding one: a package under ``bot/`` exporting ``MESSENGER``, a line here, its docs and its
tests. The order is the order adapters start in and the outbox's preference when a member
is reachable on several.
"""

from __future__ import annotations

import re

from bot import feishu, slack, telegram
from bot.messenger import Messenger
from storage.models import NAMED_BY_NAME

MESSENGERS: tuple[Messenger, ...] = (
    slack.MESSENGER,
    telegram.MESSENGER,
    feishu.MESSENGER,
)

TERMINAL_PLATFORMS = NAMED_BY_NAME
"""Not messengers: the terminal chat and tests, which name people by name or member id."""


def messenger(platform: str) -> Messenger | None:
    """The registered messenger called ``platform``, or ``None``."""
    return next((m for m in MESSENGERS if m.platform == platform), None)


def platforms() -> frozenset[str]:
    """Every platform an ``Incoming`` may come from: the messengers and the terminal ones."""
    return frozenset(m.platform for m in MESSENGERS) | TERMINAL_PLATFORMS


def names() -> dict[str, str]:
    """Each messenger's platform → its name as people read it (``feishu`` → ``Feishu``; the
    messenger's catalogue translates it), for what commands say about linking."""
    return {m.platform: m.name for m in MESSENGERS}


PLATFORM_NAME = re.compile(r"^[a-z][a-z0-9_]{1,31}$")


def check(table: tuple[Messenger, ...]) -> None:
    """Start-up refuses a table kpibot cannot route by: a platform name that is not a plain
    lower-case word, used twice, or one of the terminal ones (whose people are named by name)."""
    seen: set[str] = set()
    for m in table:
        if not PLATFORM_NAME.match(m.platform):
            raise ValueError(
                f"messenger {m.name!r}: platform {m.platform!r} is not a lower-case word"
            )
        if m.platform in TERMINAL_PLATFORMS:
            raise ValueError(
                f"messenger {m.name!r}: {m.platform!r} is the terminal chat's or the tests'"
            )
        if m.platform in seen:
            raise ValueError(f"two messengers are called {m.platform!r}")
        seen.add(m.platform)

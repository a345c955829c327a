"""The messengers one replica runs (:func:`build_adapters`), each built from its line of
:data:`bot.messengers.MESSENGERS`, every message it sends counted, and what it acknowledges
stored in the inbox (:func:`inbox_for`) when its messenger says it stores requests.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Protocol, cast

from sqlalchemy.engine import Engine

from bot import messengers
from bot.inbox import Inbox, Recover
from bot.instrumentation import count_outgoing
from bot.messenger import Adapter, RouterLike
from bot.metrics import Metrics
from bot.sender import Sender
from bot.settings import Settings


def build_adapters(
    settings: Settings, router: RouterLike, engine: Engine, metrics: Metrics
) -> dict[str, Adapter]:
    """The adapter of every messenger enabled in ``settings``, by platform, in the table's
    order (the order they start in), each one's sends counted in ``metrics``."""
    platforms: dict[str, Adapter] = {}
    for messenger in messengers.MESSENGERS:
        if messenger.enabled(settings):
            adapter = messenger.build(settings, router, engine, metrics)
            count_outgoing(adapter, messenger.platform, metrics)
            platforms[messenger.platform] = adapter
    return platforms


class StoringAdapter(Adapter, Protocol):
    """An adapter that stores what it acknowledges (``Messenger.stores_requests``)."""

    inbox: Inbox | None
    recover: Recover


def inbox_for(
    settings: Settings,
    engine: Engine,
    platforms: dict[str, Adapter],
    metrics: Metrics,
    sender: Sender | None,
) -> Inbox | None:
    """Acknowledged means stored: each platform adapter stores what it acks (the Telegram
    webhook's updates, Slack's slash commands) and answers it again after a crash."""
    if not platforms:
        return None
    worker = sender.worker if sender is not None else f"{socket.gethostname()}:{os.getpid()}"
    inbox = Inbox(engine, worker=worker, lease=timedelta(seconds=settings.lease_s), metrics=metrics)
    for name, adapter in platforms.items():
        found = messengers.messenger(name)
        if found is None or not found.stores_requests(adapter):
            continue  # e.g. Telegram's long polling: an update is kept until getUpdates confirms it
        storing = cast(StoringAdapter, adapter)
        storing.inbox = inbox
        inbox.register(name, storing.recover)
    return inbox

"""Slack as a messenger: the adapter (:mod:`.adapter`, slack-bolt), Block Kit
(:mod:`.render`), pacing under Slack's tiers (:mod:`.limits`), OAuth for several workspaces
(:mod:`.oauth`), who is who (:mod:`.people`) and ``SLACK_*`` (:mod:`.settings`).

:data:`MESSENGER` is what :mod:`bot.messengers` lists; nothing here imports slack_sdk until
an adapter is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.messenger import Limits, Messenger, always
from bot.slack import settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bot.messenger import RouterLike
    from bot.metrics import Metrics
    from bot.settings import Settings
    from bot.slack.adapter import SlackAdapter


def build(settings: Settings, router: RouterLike, engine: Engine, metrics: Metrics) -> SlackAdapter:
    from bot.slack.adapter import build_slack

    slack = build_slack(settings, router, engine=engine, ack_budget=settings.slack_ack_budget_s)
    slack.max_body_bytes = settings.max_body_bytes
    slack.count_rate_limits(lambda: metrics.rate_limited("slack"))
    return slack


MESSENGER = Messenger(
    platform="slack",
    name="Slack",
    settings=settings.SlackSettings,
    enabled=settings.enabled,
    build=build,
    limits=Limits(per_workspace=5.0, per_chat=1.0),
    problems=settings.problems,
    path_prefix="/slack/",
    stores_requests=always,  # slash commands are stored before the ack
)

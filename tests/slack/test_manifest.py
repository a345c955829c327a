"""The app manifest asks Slack for exactly what the adapter handles and calls."""

from __future__ import annotations

import re
from pathlib import Path

from bot.slack import render
from bot.slack.adapter import BOT_SCOPES

MANIFEST = (Path(__file__).parents[2] / "deploy" / "slack-manifest.yml").read_text(encoding="utf-8")
SLACK_BUILT_INS = {
    "/me",
    "/msg",
    "/dm",
    "/remind",
    "/status",
    "/away",
    "/invite",
    "/shrug",
    "/who",
    "/feed",
}


def values(key: str) -> list[str]:
    return re.findall(rf"^\s*-?\s*{key}:\s*(\S+)", MANIFEST, flags=re.MULTILINE)


def bot_scopes() -> set[str]:
    block = MANIFEST.split("bot:\n", 1)[1].split("\n\n", 1)[0]
    return set(re.findall(r"^\s+-\s+([a-z:.]+)", block, flags=re.MULTILINE))


def test_every_registered_command_is_handled_and_none_is_a_slack_built_in() -> None:
    commands = values("command")
    assert commands and set(commands) <= set(render.SLASH_COMMANDS)
    assert not set(commands) & SLACK_BUILT_INS, "Slack refuses a manifest that registers a built-in"
    assert {render.ALIASES.get(c, c) for c in commands} >= {
        "/review",
        "/rank",
        "/selfreview",
        "/me",
        "/peer",
        "/survey",
    }


def test_commands_interactivity_and_events_all_go_to_the_one_endpoint() -> None:
    urls = values("url") + values("request_url")
    assert len(urls) == len(values("command")) + 2
    assert all(u.endswith("/slack/events") for u in urls)


METHOD_SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "conversations_open": "im:write",
    "users_info": "users:read",
    "users_lookupByEmail": "users:read.email",
    "files_upload_v2": "files:write",
    "conversations_history": "im:history",
    "files_info": "files:read",
    "views_open": None,
    "views_update": None,
    "views_push": None,
    "auth_test": None,
}
"""Each Web API method's required bot scope, from its page in https://api.slack.com/methods
(``views.*`` need none beyond a trigger)."""
HANDLED_SCOPES = {"commands", "im:history", "files:read"}
"""Scopes for what Slack sends kpibot: the slash commands and ``message.im`` events, and the
files shared in the DM (downloading ``url_private`` with the bot token needs ``files:read``)."""


def web_api_methods_called() -> set[str]:
    """Every ``client.<method>(...)`` in kpibot's Slack package (the adapter, OAuth, helpers)."""
    called: set[str] = set()
    for source in Path(render.__file__).parent.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        called |= set(re.findall(r"client\.([a-z][a-zA-Z_0-9]+)\(", text)) - {"get"}
    return called


def test_the_manifest_asks_for_exactly_the_scopes_of_the_web_api_methods_the_code_calls() -> None:
    called = web_api_methods_called()
    assert "chat_postMessage" in called, "the scan found the adapter's calls"
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"a new Web API method needs its scope in METHOD_SCOPES: {unknown}"
    needed = {METHOD_SCOPES[m] for m in called} - {None} | HANDLED_SCOPES
    assert needed == bot_scopes(), "the manifest asks for what the code needs, nothing more"
    assert set(BOT_SCOPES) == bot_scopes(), "OAuth installs ask for what the manifest asks for"


def test_the_only_event_kpibot_subscribes_to_is_a_message_in_its_dm() -> None:
    [events] = re.findall(r"bot_events:\n((?:\s+- \S+\n)+)", MANIFEST)
    assert events.split() == ["-", "message.im"]


def test_a_long_pickers_menu_asks_for_its_choices_at_the_one_endpoint() -> None:
    """An ``external_select`` (a picker of more than 100 people) gets its choices from the
    Options Load URL; without it Slack shows the menu empty."""
    assert values("message_menu_options_url") == ["https://kpibot.example.com/slack/events"]

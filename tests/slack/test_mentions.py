"""Slack's mention syntax is read by the Slack adapter, not by a command (issue 18 item 4)."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.slack.render import incoming_from_command, with_mentions

ROOT = Path(__file__).resolve().parents[2]


def test_a_mention_becomes_a_plain_word_that_names_the_user_id() -> None:
    assert with_mentions("<@U0AGENT01|li.lei> 2026-10") == (
        "@U0AGENT01 2026-10",
        {"@U0AGENT01": "U0AGENT01"},
    )
    assert with_mentions("<@U1> &amp; <@U2>") == ("@U1 & @U2", {"@U1": "U1", "@U2": "U2"})


def test_a_typed_mention_lookalike_stays_what_was_typed() -> None:
    assert with_mentions("&lt;@U1&gt;") == ("<@U1>", {})


def test_a_slash_command_carries_its_mentions_to_the_router() -> None:
    body = {
        "command": "/review",
        "text": "<@U0AGENT01|li.lei>",
        "user_id": "U0BOSS",
        "channel_id": "D1",
        "channel_name": "directmessage",
        "trigger_id": "t1",
    }
    incoming = incoming_from_command(body)
    assert incoming.text == "/review @U0AGENT01" and incoming.mentions == {
        "@U0AGENT01": "U0AGENT01"
    }


def test_no_command_module_parses_slack_markup() -> None:
    hits = [
        path.name
        for path in (ROOT / "commands").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and "<@(" in node.value  # a pattern, not prose
    ]
    assert hits == []

"""Plays the Slack platform's side of the wire: signed requests to kpibot's ``/slack/events``.

Payloads follow Slack's documented examples (slash command: form fields;
interactivity: a form field ``payload`` holding JSON; events: a JSON
``event_callback``), and every request is signed as Slack signs it:
``X-Slack-Signature: v0=HMAC-SHA256(signing_secret, "v0:{timestamp}:{raw body}")`` with
``X-Slack-Request-Timestamp``. Buttons are pressed on the messages the fake Slack
actually received, and modals are filled in from the views it actually opened, so a
test clicks only what a person would have seen; a name typed into a picker's menu is the
``block_suggestion`` Slack would send for that menu (:meth:`SlackSender.suggest`).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.fakes.slack_api import (
    APP_ID,
    BOT_USER_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    FakeSlack,
    check_ack,
    slack_escape,
)  # fmt: skip

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
VERIFICATION_TOKEN = "gIkuvaNzQIHg97ATvDxqgjtO"


def signature(secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Sent:
    """One request delivered to kpibot and its HTTP answer (the ack)."""

    response: httpx.Response
    body: dict[str, Any]
    response_url: str | None = None
    trigger_id: str | None = None

    @property
    def ack(self) -> dict[str, Any]:
        return self.response.json() if self.response.content else {}


class SlackSender:
    def __init__(
        self, client: httpx.AsyncClient, fake: FakeSlack, *, secret: str = SIGNING_SECRET
    ) -> None:
        self.client = client
        self.fake = fake
        self.secret = secret
        self._ids = itertools.count(1)

    # -- the raw wire ------------------------------------------------------------------

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sent_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature(secret or self.secret, ts, body),
            **(headers or {}),
        }
        response = await self.client.post(
            "/slack/events", content=body.encode(), headers=sent_headers
        )
        problems = ack_problems(response)
        assert not problems, f"Slack would refuse this ack: {problems}"
        return response

    async def post_form(self, fields: Mapping[str, str], **kwargs: Any) -> httpx.Response:
        return await self.post(urlencode(fields), "application/x-www-form-urlencoded", **kwargs)

    async def post_payload(self, payload: Mapping[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.post_form({"payload": json.dumps(payload, ensure_ascii=False)}, **kwargs)

    def _trigger(self) -> str:
        return self.fake.new_trigger_id()

    def _user(self, user_id: str) -> dict[str, Any]:
        name = self.fake.users[user_id].name if user_id in self.fake.users else user_id.lower()
        return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}

    # -- what a person does ------------------------------------------------------------

    def command_fields(
        self, user_id: str, command: str, text: str = "", *, channel_id: str = "C0KPITEAM",
        channel_name: str = "kpi-team",
    ) -> dict[str, str]:  # fmt: skip
        """A slash command, as https://api.slack.com/interactivity/slash-commands shows it."""
        return {
            "token": VERIFICATION_TOKEN, "team_id": TEAM_ID, "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id, "channel_name": channel_name, "user_id": user_id,
            "user_name": self._user(user_id)["username"], "command": command,
            "text": slack_escape(text), "api_app_id": APP_ID, "is_enterprise_install": "false",
            "response_url": self.fake.new_response_url(channel_id), "trigger_id": self._trigger(),
        }  # fmt: skip

    async def command(
        self,
        user_id: str,
        command: str,
        text: str = "",
        *,
        channel_id: str = "C0KPITEAM",
        channel_name: str = "kpi-team",
        **kwargs: Any,
    ) -> Sent:
        fields = self.command_fields(
            user_id, command, text, channel_id=channel_id, channel_name=channel_name
        )
        response = await self.post_form(fields, **kwargs)
        return Sent(response, fields, fields["response_url"], fields["trigger_id"])

    def dm_body(self, user_id: str, text: str, *, event_id: str | None = None) -> dict[str, Any]:
        """A ``message.im`` event: the person wrote in their DM with kpibot."""
        now = time.time()
        ts = f"{now:.6f}"
        return {
            "token": VERIFICATION_TOKEN, "team_id": TEAM_ID, "api_app_id": APP_ID,
            "event": {
                "type": "message", "channel": self.fake.dm_channel(user_id), "user": user_id,
                "text": slack_escape(text), "ts": ts, "event_ts": ts, "channel_type": "im",
                "team": TEAM_ID,
                "client_msg_id": f"5f5f0b5a-{next(self._ids):04d}",
            },
            "type": "event_callback", "event_id": event_id or f"Ev0KPI{next(self._ids):06d}",
            "event_time": int(now),
            "authorizations": [{
                "enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                "is_bot": True, "is_enterprise_install": False,
            }],
            "is_ext_shared_channel": False,
        }  # fmt: skip

    def file_share_body(
        self,
        user_id: str,
        file: Mapping[str, Any],
        caption: str = "",
        *,
        event_id: str | None = None,
        check_file_info: bool = False,
    ) -> dict[str, Any]:
        """A ``message.im`` event of subtype ``file_share``: the person shared ``file`` (from
        ``FakeSlack.share_file``) in their DM, with ``caption`` as the message text. With
        ``check_file_info`` the event carries only the file's id (Slack's
        ``"file_access": "check_file_info"``), as it does for files it has not processed."""
        body = self.dm_body(user_id, caption, event_id=event_id)
        shown = (
            {"id": file["id"], "file_access": "check_file_info"} if check_file_info else dict(file)
        )
        body["event"] |= {"subtype": "file_share", "files": [shown], "upload": True}
        return body

    async def share(
        self, user_id: str, file: Mapping[str, Any], caption: str = "", **kwargs: Any
    ) -> Sent:
        body = self.file_share_body(user_id, file, caption, **kwargs)
        response = await self.post(json.dumps(body, ensure_ascii=False), "application/json")
        return Sent(response, body)

    async def dm(
        self,
        user_id: str,
        text: str,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        **kwargs: Any,
    ) -> Sent:
        body = self.dm_body(user_id, text, event_id=event_id)
        headers = dict(kwargs.pop("headers", {}) or {})
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        raw = json.dumps(body, ensure_ascii=False)
        response = await self.post(raw, "application/json", headers=headers, **kwargs)
        return Sent(response, body)

    async def click(
        self,
        user_id: str,
        message: Mapping[str, Any],
        label: str,
        *,
        channel_id: str | None = None,
        ephemeral: bool = False,
        **kwargs: Any,
    ) -> Sent:
        """Press the button labelled ``label`` (exactly, or its start) on a message kpibot sent,
        or choose the option of that label in one of its select menus."""
        block, element, option = _find_button(message, label)
        action: dict[str, Any] = {
            "action_id": element["action_id"], "block_id": block.get("block_id", "b"),
            "type": element["type"], "action_ts": f"{time.time():.6f}",
        }  # fmt: skip
        if option is not None:  # what Slack sends for a static_select choice
            action |= {"selected_option": option, "placeholder": element.get("placeholder")}
        else:
            action |= {"text": element["text"]}
            action |= {k: element[k] for k in ("value", "style") if k in element}
        return await self._block_actions(
            user_id, message, action, channel_id=channel_id, ephemeral=ephemeral, **kwargs
        )

    async def suggest(
        self, user_id: str, message: Mapping[str, Any], typed: str, **kwargs: Any
    ) -> dict[str, Any]:
        """Type ``typed`` into the ``external_select`` of a message kpibot sent: the
        ``block_suggestion`` Slack posts to the Options Load URL, and kpibot's answer, which
        must be one Slack shows (:meth:`FakeSlack.check_options`)."""
        payload = self.fake.suggestion(user_id, dict(message), typed)
        response = await self.post_payload(payload, **kwargs)
        assert response.status_code == 200, response.text
        answer = response.json()
        problems = self.fake.check_options(answer)
        assert not problems, problems
        return answer  # type: ignore[no-any-return]

    async def choose(
        self, user_id: str, message: Mapping[str, Any], option: Mapping[str, Any], **kwargs: Any
    ) -> Sent:
        """Choose ``option`` (one kpibot answered :meth:`suggest` with) in the message's
        ``external_select``: the ``block_actions`` Slack sends for that choice."""
        block, element = next(
            (b, e)
            for b in message.get("blocks", [])
            if b.get("type") == "actions"
            for e in b.get("elements", [])
            if e["type"] == "external_select"
        )
        action = {
            "type": "external_select",
            "action_id": element["action_id"],
            "block_id": block.get("block_id", "b"),
            "selected_option": dict(option),
            "placeholder": element.get("placeholder"),
            "action_ts": f"{time.time():.6f}",
        }
        return await self._block_actions(user_id, message, action, **kwargs)

    async def _block_actions(
        self,
        user_id: str,
        message: Mapping[str, Any],
        action: Mapping[str, Any],
        *,
        channel_id: str | None = None,
        ephemeral: bool = False,
        **kwargs: Any,
    ) -> Sent:
        """The ``block_actions`` Slack sends for ``action`` on a message kpibot sent."""
        channel = channel_id or message.get("channel") or self.fake.dm_channel(user_id)
        ts = message.get("ts", f"{time.time():.6f}")
        response_url = self.fake.new_response_url(channel, None if ephemeral else ts)
        trigger = self._trigger()
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            },
            "trigger_id": trigger,
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {
                "id": channel,
                "name": "directmessage" if channel.startswith("D") else "kpi-team",
            },
            "message": {
                "type": "message",
                "ts": ts,
                "text": message.get("text", ""),
                "blocks": message.get("blocks", []),
            },
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [dict(action)],
        }
        response = await self.post_payload(payload, **kwargs)
        return Sent(response, payload, response_url, trigger)

    async def submit(
        self, user_id: str, view: Mapping[str, Any], answers: Mapping[str, str], **kwargs: Any
    ) -> Sent:
        """Fill in the modal kpibot opened (``answers`` by block id) and press its submit button."""
        values = {
            block["block_id"]: {
                block["element"]["action_id"]: _state(
                    block["element"], answers.get(block["block_id"])
                )
            }
            for block in view.get("blocks", [])
            if block.get("type") == "input"
        }
        trigger = self._trigger()
        payload = {
            "type": "view_submission", "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": self._user(user_id), "api_app_id": APP_ID, "token": VERIFICATION_TOKEN,
            "trigger_id": trigger,
            "view": {
                **{k: v for k, v in view.items() if k != "state"},
                "team_id": TEAM_ID, "state": {"values": values}, "previous_view_id": None,
                "root_view_id": view.get("id"), "app_id": APP_ID, "external_id": "",
                "app_installed_team_id": TEAM_ID, "bot_id": "BKPIBOT00",
            },
            "response_urls": [], "is_enterprise_install": False, "enterprise": None,
        }  # fmt: skip
        response = await self.post_payload(payload, **kwargs)
        return Sent(response, payload, None, trigger)


def ack_problems(response: httpx.Response) -> list[str]:
    """What Slack refuses in an ack's JSON body (:func:`tests.fakes.slack_api.check_ack`)."""
    if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
        return []
    return check_ack(response.json())


def _find_button(
    message: Mapping[str, Any], label: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    elements = [
        (block, element)
        for block in message.get("blocks", [])
        if block.get("type") == "actions"
        for element in block.get("elements", [])
    ]
    choices = [
        (block, element, option if element["type"] != "button" else None)
        for block, element in elements
        for option in (
            element.get("options") or [element] if element["type"] != "button" else [element]
        )
    ]
    for exact in (True, False):
        for block, element, option in choices:
            text = (option or element)["text"]["text"]
            if text == label or (not exact and text.startswith(label)):
                return block, element, option
    shown = [(o or e)["text"]["text"] for _b, e, o in choices]
    raise AssertionError(f"no button or option {label!r} on the message; it shows {shown}")


def _state(element: Mapping[str, Any], answer: str | None) -> dict[str, Any]:
    kind = element["type"]
    if kind in {"radio_buttons", "static_select"}:
        chosen = next((o for o in element.get("options", []) if o["value"] == answer), None)
        return {"type": kind, "selected_option": chosen}
    return {"type": kind, "value": answer}

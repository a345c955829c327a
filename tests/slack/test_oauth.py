"""Several workspaces: "Add to Slack" (OAuth v2) stores each workspace's bot token, and a
request from a workspace is answered with that workspace's token."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from slack_sdk.oauth.installation_store import FileInstallationStore

from bot.settings import load_settings
from bot.slack.adapter import BOT_SCOPES, SlackAdapter, SlackOAuth, build_slack
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import ScriptedRouter, web_app
from tests.slack.sender import SIGNING_SECRET, SlackSender

CLIENT_ID, CLIENT_SECRET = "1111.2222", "oauth-client-secret"

# slack_sdk's oauth.v2.access still uses aiohttp's BasicAuth helper; not ours to change
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
def store(tmp_path: Path) -> FileInstallationStore:
    return FileInstallationStore(base_dir=str(tmp_path / "installations"), client_id=CLIENT_ID)


@pytest.fixture
def multi(
    fake_slack: FakeSlack, scripted: ScriptedRouter, store: FileInstallationStore
) -> SlackAdapter:
    fake_slack.enable_oauth(CLIENT_ID, CLIENT_SECRET, BOT_SCOPES)
    fake_slack.add_user("U0OTHER", "other", locale="en-US")
    settings = load_settings(
        slack_bot_token=None, slack_signing_secret=SIGNING_SECRET, slack_app_token=None,
        slack_api_url=fake_slack.api_url,
    )  # fmt: skip
    oauth = SlackOAuth(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        state_secret="state-signing-secret-for-tests",
        installation_store=store,
        authorization_url=f"{fake_slack.url}oauth/v2/authorize",
    )
    return build_slack(settings, scripted, oauth=oauth)


async def install(client: httpx.AsyncClient, fake: FakeSlack, team_id: str) -> httpx.Response:
    page = await client.get("/slack/install")
    assert page.status_code == 200
    link = html.unescape(re.search(r'href="([^"]+oauth/v2/authorize[^"]*)"', page.text).group(1))  # type: ignore[union-attr]
    query = parse_qs(urlsplit(link).query)
    assert query["client_id"] == [CLIENT_ID]
    assert set(query["scope"][0].split(",")) == set(BOT_SCOPES)
    code = fake.approve_install(team_id, installer="U0ADMIN2")
    return await client.get(
        "/slack/oauth_redirect", params={"code": code, "state": query["state"][0]}
    )


async def test_a_workspace_that_installs_kpibot_is_answered_with_its_own_bot_token(
    fake_slack: FakeSlack,
    scripted: ScriptedRouter,
    store: FileInstallationStore,
    multi: SlackAdapter,
) -> None:
    transport = httpx.ASGITransport(app=web_app(multi))
    async with httpx.AsyncClient(transport=transport, base_url="https://kpibot.test") as client:
        done = await install(client, fake_slack, "T0SECOND")
        assert done.status_code == 200
        bot = store.find_bot(enterprise_id=None, team_id="T0SECOND")
        assert bot is not None and bot.bot_token in fake_slack.tokens

        sender = SlackSender(client, fake_slack)
        fields = sender.command_fields("U0OTHER", "/rank") | {"team_id": "T0SECOND"}
        assert (await sender.post_form(fields)).status_code == 200
        await multi.idle()
    assert [p["text"] for p in fake_slack.response_posts(fields["response_url"])] == [
        "you said /rank"
    ]
    [lookup] = fake_slack.calls_to("users.info")
    assert lookup.token == bot.bot_token

    ref = await multi.send("U0OTHER", scripted.script(scripted.seen[0])[0], team_id="T0SECOND")
    assert ref is not None and fake_slack.calls_to("chat.postMessage")[-1].token == bot.bot_token
    await multi.stop()


async def test_an_install_without_kpibots_state_is_refused_and_stores_nothing(
    fake_slack: FakeSlack, store: FileInstallationStore, multi: SlackAdapter
) -> None:
    transport = httpx.ASGITransport(app=web_app(multi))
    async with httpx.AsyncClient(transport=transport, base_url="https://kpibot.test") as client:
        code = fake_slack.approve_install("T0EVIL", installer="U0EVIL")
        forged = await client.get(
            "/slack/oauth_redirect", params={"code": code, "state": "made-up"}
        )
    assert forged.status_code >= 400
    assert store.find_bot(enterprise_id=None, team_id="T0EVIL") is None
    assert fake_slack.calls_to("oauth.v2.access") == []


async def test_a_workspace_kpibot_is_not_installed_in_gets_nothing(
    fake_slack: FakeSlack, scripted: ScriptedRouter, multi: SlackAdapter
) -> None:
    transport = httpx.ASGITransport(app=web_app(multi))
    async with httpx.AsyncClient(transport=transport, base_url="https://kpibot.test") as client:
        sender = SlackSender(client, fake_slack)
        fields = sender.command_fields("U0OTHER", "/rank") | {"team_id": "T0UNKNOWN"}
        await sender.post_form(fields)
        await multi.idle()
    assert scripted.seen == []
    with pytest.raises(LookupError):
        await multi.client_for("T0UNKNOWN")


async def test_an_uninstalled_workspace_is_forgotten(
    fake_slack: FakeSlack, store: FileInstallationStore, multi: SlackAdapter
) -> None:
    transport = httpx.ASGITransport(app=web_app(multi))
    async with httpx.AsyncClient(transport=transport, base_url="https://kpibot.test") as client:
        await install(client, fake_slack, "T0SECOND")
        assert store.find_bot(enterprise_id=None, team_id="T0SECOND") is not None
        event = {
            "token": "x",
            "team_id": "T0SECOND",
            "api_app_id": "AKPIBOT00",
            "type": "event_callback",
            "event": {"type": "app_uninstalled"},
            "event_id": "Ev0BYE",
            "event_time": 1790000000,
        }
        sent = await SlackSender(client, fake_slack).post(json.dumps(event), "application/json")
        assert sent.status_code == 200
        await fake_slack.wait_until(
            lambda: store.find_bot(enterprise_id=None, team_id="T0SECOND") is None
        )

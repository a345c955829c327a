"""Members linked on Feishu: by a one-time code the person sends from Feishu, or by the admin
with their open_id (``kpibot member link``); a stranger is told how, in their Feishu
client's language (Chinese when the event does not say), and learns nobody's name."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import build_app
from bot.feishu.render import client_lang
from bot.main import app_config
from bot.settings import load_settings
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from storage.models import AuditLog
from tests.conversations.world import build_world
from tests.fakes.feishu_api import FakeFeishu
from tests.feishu.chat import FeishuChat


@pytest.fixture
def router(engine: Engine, tmp_path: Path) -> Router:
    config = app_config(load_settings(data_dir=tmp_path, default_lang="en"))
    return Router(engine, config, platforms={"feishu", "test"})


@pytest.mark.parametrize(
    ("agent", "lang"),
    [
        ("Mozilla/5.0 Lark/7.30.5 LarkLocale/en_US ttnet", "en_US"),
        ("Mozilla/5.0 Feishu/7.30.5 LarkLocale/zh_CN", "zh_CN"),
        ("Mozilla/5.0 Lark/7.30", None),
        (None, None),
    ],
)
def test_the_client_language_is_read_from_the_messages_user_agent(
    agent: str | None, lang: str | None
) -> None:
    assert client_lang(agent) == lang


async def test_a_member_links_their_feishu_account_with_the_code_an_admin_gave_once(
    feishu: FakeFeishu, start_adapter, engine: Engine, router: Router
) -> None:
    ids = build_world(engine)
    adapter = await start_adapter(router, default_lang="zh")
    admin = FeishuChat(feishu, adapter, feishu.user("周人事"))
    with unit_of_work(engine) as session:
        member = repo.get_member(session=session, member_id=ids["周人事"])
        assert member is not None
        repo.link_platform(session=session, member=member, platform="feishu",
                           user_id=admin.user.open_id, actor="test")  # fmt: skip
    await admin.say("/linkcode feishu demo 李娜")
    said = admin.screen()[-1]
    assert (
        said.startswith("李娜（demo）的绑定码：")
        and "请让对方在飞书里私聊 kpibot，发送 /start" in said
    )
    code = said.split("：", 1)[1].split("\n", 1)[0]

    newbie = FeishuChat(feishu, adapter, feishu.user("Li Na", locale="en_US"))
    await newbie.say("/help")
    assert newbie.screen()[-1] == (
        "I don't know you yet. Ask your kpibot admin for a one-time link code and send it to me "
        "here: /start CODE. Or the admin can link your Feishu account (your id there is "
        f"{newbie.user.open_id}): kpibot member link --team TEAM --name NAME --platform feishu "
        f"--id {newbie.user.open_id}"
    ), "in the language of their Feishu client, naming nobody"
    await newbie.say("/start WRONGCOD")
    assert newbie.screen()[-1] == (
        "This link code is not valid. Check it, or ask your kpibot admin for a new one."
    )
    await newbie.say(f"/start {code.lower()}")
    assert newbie.screen()[-1] == (
        "你的飞书账号已绑定到团队 demo 的李娜。发送 /help 查看你可以做什么。"
    ), "from now on in the member's language (the team's: Chinese)"
    await newbie.say(f"/start {code}")
    assert newbie.screen()[-1] == "你的飞书账号已经绑定到李娜。发送 /help 查看你可以做什么。"

    other = FeishuChat(feishu, adapter, feishu.user("Someone"))
    await other.say(f"/start {code}")
    assert other.screen()[-1] == "这个绑定码已经用过了。请向 kpibot 管理员索取新的绑定码。"
    with unit_of_work(engine) as session:
        li = repo.get_member(session=session, member_id=ids["李娜"])
        assert li is not None and li.external_id("feishu") == newbie.user.open_id
        trail = session.exec(select(AuditLog).where(AuditLog.entity_id == str(ids["李娜"]))).all()
        assert [e.action for e in trail][-2:] == ["member.link_code", "member.link_feishu"]


async def test_a_stranger_without_a_language_in_the_event_is_answered_in_chinese(
    feishu: FakeFeishu, start_adapter, engine: Engine, router: Router
) -> None:
    build_world(engine)
    adapter = await start_adapter(router, default_lang="zh")
    stranger = feishu.user("某人")  # its user agent names no language
    chat = FeishuChat(feishu, adapter, stranger)
    await chat.say("/rank")
    assert chat.screen()[-1].startswith("我还不认识你。请向 kpibot 管理员索取一次性绑定码")
    assert "demo" not in chat.screen()[-1] and "李娜" not in chat.screen()[-1]


def test_the_admin_links_and_unlinks_a_member_by_open_id_on_the_command_line(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = build_world(engine)
    url = str(engine.url)
    runner = CliRunner()
    app = build_app()

    def kpibot(*args: str) -> tuple[int, str]:
        done = runner.invoke(app, [*args, "--db", url, "--lang-ui", "zh"])
        return done.exit_code, done.output.strip()

    open_id = "ou_7d8a6e6df7621556ce0d21922b676706"
    assert kpibot("member", "link", "--team", "demo", "--name", "李娜", "--platform", "feishu",
                  "--id", open_id) == (0, f"李娜（demo）已绑定到飞书用户 {open_id}。")  # fmt: skip
    code, said = kpibot("member", "link", "--team", "demo", "--name", "张伟", "--platform",
                        "feishu", "--id", open_id)  # fmt: skip
    assert code == 2 and said == f"飞书用户 {open_id} 已绑定到其他成员。"
    code, said = kpibot("member", "link", "--team", "demo", "--name", "张伟", "--platform",
                        "feishu", "--id", "u1234")  # fmt: skip
    assert code == 2 and "u1234 不是飞书 ID（格式类似 ou_" in said
    code, said = kpibot("member", "link", "--team", "demo", "--name", "张伟", "--platform",
                        "wecom", "--id", "x")  # fmt: skip
    assert code == 2 and "kpibot 没有名为 wecom 的通讯工具" in said and "feishu" in said
    assert kpibot("member", "link", "--team", "demo", "--name", "李娜", "--platform", "feishu",
                  "--id", "-") == (0, "李娜已解除飞书账号绑定。")  # fmt: skip
    with unit_of_work(engine) as session:
        li = repo.get_member(session=session, member_id=ids["李娜"])
        assert li is not None and li.external_id("feishu") is None

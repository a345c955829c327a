"""An admin sends an export to kpibot in a private chat: the CLI's import, answered in chat.

Through the real router with the file as the adapters hand it over (:class:`SharedFile`,
``fetch`` counting downloads): the caption names team, period and mapping, or kpibot asks,
offering the mappings whose columns fit; nothing is stored unless the whole file is valid;
non-admins, group chats and files over the size limit are refused before any download.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from commands.context import AppConfig
from commands.importing.chat import CHAT_FILE_MAX_BYTES
from commands.messages import SharedFile
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from storage.models import DataImport, IndicatorValue
from storage.models.chat_files import PendingFile
from tests.conftest import Clock
from tests.conversations.transcript import FakeChat

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"
FILE = (
    (DATA / "shop_zh_summary.csv")
    .read_text(encoding="utf-8")
    .replace("2026-10", "2026-11")
    .replace("张伟", "刘洋")
    .replace("王小红", "李娜")
    .replace("李明", "张伟")
    .encode()
)
"""The shop_zh sample with the demo team's agents: 李娜 200 inquiries / 50 paid, 张伟 150 / 30,
刘洋 250 / 75."""


class Downloads:
    def __init__(self, data: bytes) -> None:
        self.data, self.count = data, 0

    def __call__(self) -> bytes:
        self.count += 1
        return self.data


def _send(
    chat: FakeChat,
    caption: str,
    data: bytes = FILE,
    *,
    name: str = "客服绩效.csv",
    size: int | None = None,
) -> Downloads:
    fetch = Downloads(data)
    shared = SharedFile(name, len(data) if size is None else size, "F0001", fetch)
    chat.transcript.append((chat.user_id, f"[file {name}] {caption}"))
    chat.send(chat._incoming(text=caption, file=shared))
    return fetch


def _values(engine: Engine, name: str, key: str = "2026-11") -> dict[str, Decimal | None]:
    with unit_of_work(engine) as session:
        team = repo.get_team_by_name(session=session, name="demo")
        assert team is not None
        period = repo.get_period(session=session, team=team, key=key)
        member = repo.get_member_by_name(session=session, team=team, name=name)
        if period is None or member is None:
            return {}
        return {
            v.indicator: v.value
            for v in repo.indicator_values(session=session, period=period, member=member)
        }


def _stored(engine: Engine) -> int:
    with unit_of_work(engine) as session:
        return len(session.exec(select(IndicatorValue)).all())


def test_a_captioned_file_is_imported_with_the_clis_summary(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    before = _stored(engine)
    fetch = _send(chat, "demo 2026-11 shop_zh")
    assert fetch.count == 1
    assert chat.text.startswith("已将客服绩效.csv 导入 demo 2026-11（导入 #1）：3 行，3 名客服")
    assert _values(engine, "李娜")["conversion_rate"] == Decimal("0.25")  # 50 / 200
    assert _values(engine, "刘洋")["conversion_rate"] == Decimal("0.3")  # 75 / 250
    assert _stored(engine) > before
    with unit_of_work(engine) as session:
        record = session.exec(select(DataImport)).one()
        assert (record.file_name, record.imported_by, record.mapping_name) == (
            "客服绩效.csv",
            f"member:{world['周人事']}",
            "shop_zh",
        )
        assert session.exec(select(PendingFile)).first() is None


def test_the_caption_names_team_period_and_mapping_in_any_order_and_a_second_send_changes_nothing(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    _send(chat, "shop_zh 2026-11 demo")
    assert chat.text.startswith("已将客服绩效.csv 导入 demo 2026-11（导入 #1）")
    _send(chat, "/import demo 2026-11 shop_zh")  # the caption may be the command itself
    assert (
        chat.text.startswith("客服绩效.csv 已于") and "未作任何更改" in chat.text
    )  # as kpibot import says


def test_without_a_caption_kpibot_asks_offering_the_mappings_that_fit_and_the_answer_imports_it(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    fetch = _send(chat, "")
    asked = chat.text
    assert asked.splitlines() == [
        "要导入客服绩效.csv，请告诉我团队、期间（如 2026-10）、映射，例如：/import demo "
        "2026-10 after_sales_zh",
        # 客服, 询单人数 … both have
        "列与此文件相符的映射：after_sales_zh (售后客服月度汇总); shop_zh (网店客服绩效汇总)",
        "团队：demo, london",
    ]
    assert _values(engine, "李娜") == {}, "nothing is stored while kpibot asks"
    chat.say("demo 2026-11 shop_zh")  # a plain answer
    assert "导入 demo 2026-11" in chat.text
    assert _values(engine, "李娜")["conversion_rate"] == Decimal("0.25")
    assert fetch.count == 1, "downloaded once, kept for the answer"


def test_a_caption_naming_only_the_period_gets_a_question_for_the_rest_then_a_slash_answer(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    _send(chat, "2026-11")
    assert (
        chat.text.splitlines()[0]
        == "要导入客服绩效.csv，请告诉我团队、映射，例如：/import demo 2026-11 after_sales_zh"
    )
    assert chat.text.splitlines()[-1] == "团队：demo, london"
    chat.say("/import demo shop_zh")
    assert "导入 demo 2026-11" in chat.text


def test_a_file_with_problems_stores_nothing_and_lists_every_problem(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    before = _stored(engine)
    broken = FILE.replace(b",400,", b",abc,").replace("刘洋".encode(), "无名氏".encode())
    _send(chat, "demo 2026-11 shop_zh", broken)
    assert "未导入" in chat.text and "无名氏" in chat.text and "abc" in chat.text
    assert _stored(engine) == before
    chat.say("/import demo 2026-11 shop_zh")  # the file waits: the same choices, the same answer
    assert "未导入" in chat.text


def test_someone_who_is_not_an_admin_is_refused_and_nothing_is_downloaded(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "张伟")
    fetch = _send(chat, "demo 2026-11 shop_zh")
    assert "只有管理员" in chat.text and fetch.count == 0
    assert _values(engine, "李娜") == {}


def test_a_file_over_the_limit_is_refused_before_it_is_downloaded(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    fetch = _send(chat, "demo 2026-11 shop_zh", size=CHAT_FILE_MAX_BYTES + 1)
    assert fetch.count == 0
    assert "在聊天中我最多接收 20 MB 的文件" in chat.text and "kpibot import FILE" in chat.text


def test_a_file_kpibot_does_not_read_and_a_file_in_a_group_are_refused_before_download(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    fetch = _send(chat, "demo 2026-11 shop_zh", name="report.pdf")
    assert fetch.count == 0 and ".pdf" in chat.text
    group = FakeChat(Router(engine, AppConfig(), clock), "周人事", chat="group")
    fetch = _send(group, "demo 2026-11 shop_zh")
    assert fetch.count == 0 and "私聊" in group.text


def test_an_english_admin_is_asked_in_english(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    chat.say("/lang en")
    _send(chat, "demo")
    assert "To import 客服绩效.csv, tell me the period (e.g. 2026-10), the mapping" in chat.text
    assert chat.text.splitlines()[1] == (
        "Mappings whose columns fit this file: after_sales_zh (After-sales monthly "
        "summary (Chinese headers)); shop_zh (Online-shop support summary (Chinese headers))"
    )


def test_a_word_kpibot_does_not_know_is_named_and_nothing_is_imported(
    engine: Engine, clock: Clock, world: dict[str, int]
) -> None:
    chat = FakeChat(Router(engine, AppConfig(), clock), "周人事")
    _send(chat, "demo 2026-11 shop_zh 十月")
    assert chat.text.splitlines() == [
        "我没看懂“十月”：说明里应写团队、期间（如 2026-10）和映射。",
        "要导入客服绩效.csv，请发送例如：/import demo 2026-11 shop_zh",
    ]
    assert _values(engine, "李娜") == {}
    chat.say("/import demo 2026-11 shop_zh")
    assert chat.text.startswith("已将客服绩效.csv 导入 demo 2026-11")

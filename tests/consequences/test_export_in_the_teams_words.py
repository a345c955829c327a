"""The export reads as the team reads (issue 17 item 2): sheet names, headers and values in the
team's language, names instead of ids, dates and times in the team's time zone, numbers as numbers
(money to the cent, totals at the scheme's precision), one CSV per table in a zip or the .xlsx with
a sheet each; a manager exports their own team the same way."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import build_app
from commands.export import SHEETS, WORDS
from commands.i18n import translator
from commands.router import Router
from storage import repo
from storage.db import unit_of_work
from tests.consequences.test_consequences import published  # noqa: F401  (the fixture)
from tests.conversations.transcript import FakeChat

CODES = {code for words in WORDS.values() for code in words} | {"True", "False", "None"}


def _book(reply_file: bytes):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(reply_file))


def _rows(sheet) -> list[list[object]]:  # type: ignore[no-untyped-def]
    return [[c.value for c in row] for row in sheet.iter_rows()]


def test_a_chinese_team_exports_in_chinese_with_local_times_and_numbers_as_numbers(
    engine: Engine,
    published: Router,  # noqa: F811
) -> None:
    FakeChat(published, "刘洋").say("/appeal 考核指标表 退款是同事操作的")
    reply = FakeChat(published, "王经理").say("/export demo 2026-10")[0]
    assert reply.file is not None and reply.file.filename == "kpibot-demo-2026-10.xlsx", reply.text
    book = _book(reply.file.data)
    zh = translator("zh")
    assert book.sheetnames == [zh(name) for name in SHEETS.values()]
    assert book.sheetnames[:3] == ["成绩", "得分明细", "顾客评价"]
    scores = _rows(book["成绩"])
    assert scores[0][:4] == ["客服", "总分", "名次", "参与排名人数"]
    by_name = {r[0]: dict(zip(scores[0], r, strict=True)) for r in scores[1:]}
    assert by_name["李娜"]["奖励金额"] == 100 and by_name["刘洋"]["处罚金额"] == 50
    assert book["成绩"]["E2"].number_format == "#,##0.00"
    assert by_name["张伟"]["总分"] == 69.7 and by_name["张伟"]["暂定结果"] == "否"
    plans = _rows(book["整改方案"])
    assert plans[0][:3] == ["客服", "状态", "截止时间"]
    # due 2026-11-13 15:59 UTC is 23:59 in Shanghai, as a date cell, not a UTC ISO text
    assert {r[0]: (r[1], r[2]) for r in plans[1:]} == {
        "陈静": ("待提交", datetime(2026, 11, 13, 23, 59)),
        "刘洋": ("待提交", datetime(2026, 11, 13, 23, 59)),
    }
    assert book["整改方案"]["C2"].number_format == "yyyy-mm-dd hh:mm"
    breakdown = _rows(book["得分明细"])
    kinds = {r[1] for r in breakdown[1:]}
    names = {r[2] for r in breakdown[1:]}
    assert kinds == {"组成部分", "指标"} and {"自评", "主管评价", "退款比例"} <= names
    refund = next(r for r in breakdown if r[0] == "李娜" and r[2] == "退款比例")
    assert refund[3:5] == [2, "%"]  # a share as a percentage number beside its unit
    appeal = _rows(book["申诉"])
    assert appeal[0][:5] == ["申诉编号", "客服", "申诉的部分", "申诉理由", "状态"]
    assert appeal[1][1:5] == ["刘洋", "考核指标表", "退款是同事操作的", "待处理"]
    assert isinstance(appeal[1][6], float) and appeal[1][6] == round(appeal[1][6], 1)
    money = _rows(book["奖惩"])
    assert money[1:] == [["李娜", "奖励", 100, "人民币"], ["刘洋", "处罚", 50, "人民币"]]
    for sheet in book.worksheets:  # no stored code, no Python word, no English header
        for row in _rows(sheet):
            for value in row:
                assert not (isinstance(value, str) and value in CODES), (sheet.title, value)
        assert not any(re.fullmatch(r"[a-z_]+", str(h)) for h in _rows(sheet)[0]), sheet.title


def test_the_csv_export_is_a_zip_with_one_csv_per_table(
    engine: Engine,
    published: Router,  # noqa: F811
) -> None:
    reply = FakeChat(published, "周人事").say("/export london 2026-10 csv")[0]
    assert reply.file is not None and reply.file.filename == "kpibot-london-2026-10.zip"
    # the admin reads Chinese; the file is in the team's language (London reads English)
    assert reply.file.mime == "application/zip" and "每张表一个 CSV" in reply.text
    with zipfile.ZipFile(io.BytesIO(reply.file.data)) as archive:
        names = archive.namelist()
        tables = {
            n: list(csv.reader(io.StringIO(archive.read(n).decode("utf-8-sig")))) for n in names
        }
    assert names == [
        "1-Scores.csv",
        "2-Score breakdown.csv",
        "3-Customer ratings.csv",
        "4-Rewards and penalties.csv",
        "5-Pay.csv",
        "6-Improvement plans.csv",
        "7-Appeals.csv",
    ]
    assert tables["1-Scores.csv"][0][:3] == ["Agent", "Total score", "Place"]
    assert tables["4-Rewards and penalties.csv"][1:] == [
        ["Alice", "Reward", "100.00", "CNY (yuan)"],
        ["Carol", "Penalty", "50.00", "CNY (yuan)"],
    ]
    due = {r[0]: r[2] for r in tables["6-Improvement plans.csv"][1:]}
    assert due == {"Dave": "2026-11-13 23:59", "Carol": "2026-11-13 23:59"}
    for rows in tables.values():  # one table each: a header, then rows as wide as it
        assert all(len(r) == len(rows[0]) for r in rows)


def test_dates_follow_the_teams_time_zone(engine: Engine, published: Router) -> None:  # noqa: F811
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        london.timezone = "Europe/London"
    reply = FakeChat(published, "Mary").say("/export london 2026-10")[0]
    assert reply.file is not None
    plans = _rows(_book(reply.file.data)["Improvement plans"])
    assert {r[2] for r in plans[1:]} == {datetime(2026, 11, 13, 15, 59)}  # GMT in November


def test_the_cli_writes_a_zip_or_an_xlsx_and_explains_why_not_one_csv(
    engine: Engine,
    published: Router,  # noqa: F811
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    runner = CliRunner()
    url = str(engine.url)
    args = ["export", "--team", "demo", "--period", "2026-10", "--db", url, "--out"]
    refused = runner.invoke(build_app(), [*args, str(tmp_path / "r.csv")])
    assert (
        refused.exit_code == 2 and "r.zip" in refused.output and "Traceback" not in refused.output
    )
    ok = runner.invoke(build_app(), [*args, str(tmp_path / "r.xlsx")])
    assert ok.exit_code == 0, ok.output
    book = load_workbook(tmp_path / "r.xlsx")
    assert book.sheetnames[0] == "成绩"
    scores = _rows(book["成绩"])
    assert "建议岗位调整" in scores[0]  # the CLI is the operator's: admin columns included
    assert all(isinstance(r[1], float | int) for r in scores[1:])
    assert all(isinstance(r[4], int | float | Decimal) or r[4] is None for r in scores[1:])

"""Every shipped mapping reads its sample file; every broken file fails with its own message."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session, select

from commands.i18n import translator
from commands.importing import (
    ImportRefused,
    Roster,
    import_file,
    known_mappings,
    load_mapping,
    prepare,
    render_problems,
)
from storage.models import AuditLog, DataImport, IndicatorValue, Period, Team
from tests.importing.conftest import OCTOBER, sample

SAMPLES = {
    "shop_zh": "shop_zh_summary.csv",
    "generic_en": "generic_en_summary.csv",
    "sessions_en": "sessions_en.csv",
    "calls_zh": "calls_zh_gbk.csv",
    "orders_zh": "orders_zh.csv",
    "complaints_zh": "complaints_zh.csv",
    "after_sales_zh": "after_sales_zh.csv",
    "avaya_agents_en": "avaya_agents_en.csv",
    "qianniu_performance": "qianniu_客服绩效_20261001_20261031_全部.csv",
    "chitu_presales": "chitu_售前明细表.csv",
    "chitu_satisfaction": "chitu_满意度.csv",
    "jd_workload": "jd_workload_daily.csv",
    "jd_sales": "jd_sales_daily.csv",
    "jd_ratings": "jd_ratings_daily.csv",
    "zendesk_agents": "zendesk_agents.csv",
    "freshdesk_agents": "freshdesk_agents.csv",
    "genesys_agents": "genesys_agents.csv",
}


def test_every_shipped_mapping_has_a_sample_file() -> None:
    assert sorted(SAMPLES) == known_mappings()


@pytest.mark.parametrize("mapping", sorted(SAMPLES))
def test_each_mapping_imports_its_sample_file(mapping: str, roster: Roster) -> None:
    prepared = prepare(
        sample(SAMPLES[mapping]), SAMPLES[mapping], load_mapping(mapping), roster, OCTOBER
    )
    assert prepared.row_count > 0
    assert set(prepared.values.index) <= {1, 2, 3}
    assert prepared.values.notna().any().any()


def test_the_generic_english_summary_reads_mm_ss_handling_time(roster: Roster) -> None:
    prepared = prepare(
        sample("generic_en_summary.csv"), "g.csv", load_mapping("generic_en"), roster, OCTOBER
    )
    assert prepared.values.loc[1, "aht_s"] == 270.0  # 04:30
    assert prepared.values.loc[2, "conversion_rate"] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("shop_zh_summary.csv", "UTF-8"),
        ("shop_zh_summary_bom.csv", "UTF-8 with BOM"),
        ("shop_zh_summary_gbk.csv", "GBK"),
    ],
)
def test_the_encoding_is_detected_and_named(name: str, encoding: str, roster: Roster) -> None:
    prepared = prepare(sample(name), name, load_mapping("shop_zh"), roster, OCTOBER)
    assert prepared.encoding == encoding
    assert prepared.values.loc[1, "conversion_rate"] == pytest.approx(0.25)


def test_a_gbk_call_log_is_read_with_the_opposite_flag_spelling(roster: Roster) -> None:
    prepared = prepare(
        sample("calls_zh_gbk.csv"), "c.csv", load_mapping("calls_zh"), roster, OCTOBER
    )
    assert prepared.encoding == "GBK"
    wang = prepared.values.loc[1]
    assert (wang["sessions"], wang["answered"], wang["abandoned"]) == (3, 2, 1)
    # AHT = (talk + hold + wrap) over the answered calls with a time: (180+30+60 + 300+0+60 + 0) / 3
    assert wang["aht_s"] == pytest.approx(
        (270 + 360) / 2
    )  # the unanswered call has no handling time (003)
    assert wang["avg_wait_s"] == pytest.approx(30.0)


def test_a_mapping_can_pin_the_encoding(roster: Roster) -> None:
    mapping = load_mapping("shop_zh")
    pinned = type(mapping)(**{**mapping.__dict__, "encoding": "gb18030"})
    prepared = prepare(sample("shop_zh_summary_gbk.csv"), "x.csv", pinned, roster, OCTOBER)
    assert prepared.encoding == "GB18030"


def _workbook(path: Path) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        [
            "客服",
            "统计月份",
            "接待人数",
            "询单人数",
            "询单->最终付款人数",
            "下单笔数",
            "付款笔数",
            "销售额",
            "退款金额",
            "平均响应时间",
        ]
    )
    sheet.append(["示例店:王小红", "2026-10", 400, 200, 50, 60, 50, 12500.0, "¥625.00", 18])
    sheet.append([None] * 10)  # a blank row Excel leaves behind
    sheet.append(["李明", "2026年10月", 300, 150, 30, 40, 30, "6,000", 300, time(0, 0, 25)])
    book.save(path)
    return path.read_bytes()


def test_an_xlsx_workbook_is_read_with_its_row_numbers(tmp_path: Path, roster: Roster) -> None:
    data = _workbook(tmp_path / "shop.xlsx")
    prepared = prepare(data, "shop.xlsx", load_mapping("shop_zh"), roster, OCTOBER)
    assert prepared.encoding == "xlsx" and prepared.row_count == 2
    assert prepared.values.loc[1, "refund_ratio"] == pytest.approx(0.05)
    assert prepared.values.loc[2, "avg_response_s"] == 25.0
    assert prepared.values.loc[2, "order_amount"] == 6000.0


def test_an_xlsx_problem_names_the_spreadsheet_row(tmp_path: Path, roster: Roster) -> None:
    data = _workbook(tmp_path / "shop.xlsx")
    with pytest.raises(Exception) as caught:
        prepare(
            data, "shop.xlsx", load_mapping("shop_zh"), Roster("sample", {"王小红": 1}), OCTOBER
        )
    problem = caught.value.problems[0]  # type: ignore[attr-defined]
    assert problem.code == "unknown_agent" and problem.rows == (4,)


SHOP_CASES = [
    (
        "broken_missing_column.csv",
        "shop_zh",
        "missing_columns",
        "These columns are missing: 询单人数. The file has: 客服, 统计月份, 接待人数",
        "缺少这些列：询单人数",
    ),
    (
        "broken_unknown_agent.csv",
        "shop_zh",
        "unknown_agent",
        "row 2: Unknown agent 王晓红. Did you mean 王小红?",
        "未知客服王晓红。你是指王小红吗？",
    ),
    (
        "broken_not_a_number.csv",
        "shop_zh",
        "not_a_number",
        "row 2: Column 询单人数: 很多 is not a number.",
        "第 2 行：列询单人数：“很多”不是数字。",
    ),
    (
        "broken_negative.csv",
        "shop_zh",
        "out_of_range",
        "Column 退款金额: -625 is outside 0 to ∞.",
        "超出",
    ),
    (
        "broken_not_whole.csv",
        "shop_zh",
        "not_whole",
        "Column 接待人数: 400.5 is not a whole number.",
        "不是整数",
    ),
    (
        "broken_wrong_period.csv",
        "shop_zh",
        "wrong_period",
        "row 3: Column 统计月份: 2026-09 is not period 2026-10.",
        "不是考核期 2026-10",
    ),
    (
        "broken_duplicate_agent.csv",
        "shop_zh",
        "duplicate_agent",
        "rows 2, 3: Agent 王小红 has more than one row.",
        "客服王小红有多行数据",
    ),
    (
        "broken_impossible_ratio.csv",
        "shop_zh",
        "impossible_ratio",
        "Agent 王小红: 询单->最终付款人数 is larger than 询单人数",
        "询单->最终付款人数大于询单人数",
    ),
    (
        "broken_duplicate_column.csv",
        "shop_zh",
        "duplicate_column",
        "Column 询单人数 appears more than once in the header.",
        "出现了不止一次",
    ),
    (
        "broken_ragged.csv",
        "shop_zh",
        "unreadable",
        "Expected 13 columns, got 15",
        "无法按 CSV 读取文件",
    ),
    (
        "broken_header_only.csv",
        "shop_zh",
        "no_rows",
        "The file has a header but no data rows.",
        "没有数据行",
    ),
    ("broken_empty.csv", "shop_zh", "empty_file", "The file is empty.", "文件是空的"),
    (
        "broken_latin1.csv",
        "shop_zh",
        "encoding_unknown",
        "neither UTF-8 nor GBK/GB18030",
        "CSV UTF-8",
    ),
    ("broken_utf16.csv", "shop_zh", "encoding_utf16", "The file is UTF-16 text.", "UTF-16"),
    (
        "broken_not_xlsx.xlsx",
        "shop_zh",
        "xlsx_unreadable",
        "cannot be read as a spreadsheet",
        "电子表格",
    ),
    (
        "broken_sessions_outside_period.csv",
        "sessions_en",
        "outside_period",
        "row 3: Column Started: 2026-11-01 00:00:00 is outside period 2026-10 (2026-10-01 to "
        "2026-10-31).",
        "不在考核期 2026-10",
    ),
    (
        "broken_sessions_bad_flag.csv",
        "sessions_en",
        "not_a_flag",
        "row 2: Column Resolved: maybe is not a yes/no value",
        "不是“是/否”值",
    ),
    (
        "broken_sessions_bad_duration.csv",
        "sessions_en",
        "not_a_duration",
        "Column Handling time: ten minutes is not a duration",
        "不是时长",
    ),
    (
        "broken_sessions_bad_time.csv",
        "sessions_en",
        "not_a_time",
        "row 2: Column Started: yesterday is not a date and time.",
        "不是日期时间",
    ),
    (
        "broken_orders_duplicate_id.csv",
        "orders_zh",
        "duplicate_id",
        "rows 2, 3: Column 订单号: 000101 appears more than once.",
        "出现了不止一次",
    ),
    (
        "broken_orders_missing_amount.csv",
        "orders_zh",
        "empty_value",
        "row 2: Column 订单金额 is empty.",
        "列订单金额为空",
    ),
]


@pytest.mark.parametrize(
    ("name", "mapping", "code", "english", "chinese"), SHOP_CASES, ids=[c[0] for c in SHOP_CASES]
)
def test_a_broken_file_fails_with_its_own_message_and_stores_nothing(
    session: Session, team: Team, name: str, mapping: str, code: str, english: str, chinese: str
) -> None:
    report = import_file(
        session,
        team="sample",
        period_key="2026-10",
        mapping=mapping,
        data=sample(name),
        file_name=name,
        actor="cli",
    )
    assert report.status == "refused"
    assert [p.code for p in report.problems] == [code]
    assert english in "\n".join(report.lines("en"))
    assert chinese in "\n".join(report.lines("zh"))
    for table in (DataImport, IndicatorValue, AuditLog, Period):
        assert session.exec(select(table)).all() == []


def test_every_problem_of_a_file_is_reported_at_once(roster: Roster) -> None:
    text = (
        "Session ID,Agent,Started,First response (s),Handling time,Resolved\n"
        "S1,Li Ming,2026-10-05 14:00,abc,10:00,Y\n"
        "S1,Nobody,2026-12-05 14:00,10,xx,maybe\n"
    )
    with pytest.raises(Exception) as caught:
        prepare(text.encode(), "s.csv", load_mapping("sessions_en"), roster, OCTOBER)
    codes = sorted(p.code for p in caught.value.problems)  # type: ignore[attr-defined]
    # "abc" first-response seconds and "xx" handling time are both unreadable durations
    assert codes == [
        "duplicate_id",
        "not_a_duration",
        "not_a_duration",
        "not_a_flag",
        "outside_period",
        "unknown_agent",
    ]


def test_ten_thousand_bad_cells_read_as_a_few_lines(roster: Roster) -> None:
    rows = "".join(f"S{i},Li Ming,2026-10-05 14:00,{i},x{i % 50},Y\n" for i in range(10_000))
    text = "Session ID,Agent,Started,First response (s),Handling time,Resolved\n" + rows
    with pytest.raises(Exception) as caught:
        prepare(text.encode(), "s.csv", load_mapping("sessions_en"), roster, OCTOBER)
    problems = caught.value.problems  # type: ignore[attr-defined]
    # 50 distinct bad values: the first 20 one problem each, the other 30 (6,000 rows) as one
    assert len(problems) == 21 and problems[-1].row_total == 30 * 200
    rendered = render_problems(problems, translator("en"))
    assert len(rendered) == 21 and rendered[-1] == "… 1 more not shown."
    assert rendered[0].startswith("row 2, 52, 102, 152, 202 and 195 more: Column Handling time: x0")


def test_a_summary_row_may_carry_a_date_for_the_period(roster: Roster) -> None:
    text = "Agent,Period,Sessions\nLi Ming,2026-10-31,30\nZhang Wei,2026年10月,20\n"
    prepared = prepare(text.encode(), "g.csv", load_mapping("generic_en"), roster, OCTOBER)
    assert prepared.values.loc[2, "sessions"] == 30
    assert prepared.values.loc[3, "sessions"] == 20


def test_a_bad_cell_far_down_a_large_file_is_found_by_its_row(roster: Roster) -> None:
    # the reader guesses column types from the first block; a late odd cell must still be named
    head = "Session ID,Agent,Started,First response (s),Handling time,Resolved\n"
    rows = [
        f"S{i},Li Ming,2026-10-05 14:00,{i % 60},03:00,{'Y' if i % 2 else 'N'}\n"
        for i in range(60_000)
    ]
    rows[-1] = "S59999,Li Ming,2026-10-05 14:00,soon,03:00,perhaps\n"
    with pytest.raises(ImportRefused) as caught:
        prepare(
            (head + "".join(rows)).encode(), "s.csv", load_mapping("sessions_en"), roster, OCTOBER
        )
    found = {(p.code, p.rows) for p in caught.value.problems}
    assert found == {("not_a_duration", (60_001,)), ("not_a_flag", (60_001,))}


def test_a_large_valid_file_gives_the_same_values_as_a_small_one(roster: Roster) -> None:
    head = "Session ID,Agent,Started,First response (s),Handling time,Resolved\n"
    rows = "".join(
        f"S{i},{'Li Ming' if i % 3 else 'Zhang Wei'},2026-10-05 14:00,{i % 7},0{i % 9}:30,"
        f"{'Y' if i % 4 else 'N'}\n"
        for i in range(250_000)
    )
    prepared = prepare(
        (head + rows).encode(), "s.csv", load_mapping("sessions_en"), roster, OCTOBER
    )
    li = [i for i in range(250_000) if i % 3]
    assert prepared.values.loc[2, "sessions"] == len(li)
    assert prepared.values.loc[2, "first_response_s"] == pytest.approx(
        sum(i % 7 for i in li) / len(li)
    )
    assert prepared.values.loc[2, "aht_s"] == pytest.approx(
        sum((i % 9) * 60 + 30 for i in li) / len(li)
    )
    assert prepared.values.loc[2, "resolution_rate"] == pytest.approx(
        sum(1 for i in li if i % 4) / len(li)
    )


def test_agent_names_match_whatever_their_case_spacing_or_width(roster: Roster) -> None:
    text = "Agent,Sessions\nwang  XIAOHONG,10\nＬｉ Ｍｉｎｇ,20\n张 伟,30\n"
    prepared = prepare(text.encode(), "g.csv", load_mapping("generic_en"), roster, OCTOBER)
    assert prepared.values["sessions"].to_dict() == {1: 10.0, 2: 20.0, 3: 30.0}


def test_the_after_sales_summary_carries_seed_001s_indicators(roster: Roster) -> None:
    prepared = prepare(
        sample("after_sales_zh.csv"),
        "after_sales_zh.csv",
        load_mapping("after_sales_zh"),
        roster,
        OCTOBER,
    )
    wang = prepared.values.loc[1]
    assert wang["refund_rate"] == pytest.approx(0.025)
    assert (
        wang["refund_time_min"],
        wang["disputes"],
        wang["dsr_rating"],
        wang["internal_complaints"],
    ) == (95, 1, 4.8, 0)
    assert wang["resolution_rate"] == pytest.approx(300 / 320)


def test_the_avaya_summary_gives_calls_handled_and_idle_time(roster: Roster) -> None:
    prepared = prepare(
        sample("avaya_agents_en.csv"),
        "avaya_agents_en.csv",
        load_mapping("avaya_agents_en"),
        roster,
        OCTOBER,
    )
    li = prepared.values.loc[2]
    assert li["sessions_handled"] == 980
    assert li["idle_s"] == 70 * 60

"""Real exports as they come: 千牛 and 赤兔 files (headers from ../shared/exports), comparison
rows, blank rows, banner rows above the header, "no value" spellings, header spellings,
spreadsheets read with calamine, and the limits that refuse a file before reading it whole."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import Workbook

from commands.importing import ImportRefused, Roster, load_mapping, parse_mapping, prepare, reading
from tests.importing.conftest import OCTOBER, sample

QIANNIU = "qianniu_客服绩效_20261001_20261031_全部.csv"
CHITU = "chitu_售前明细表.csv"


def _by_name(prepared, roster: Roster) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    names = {v: k for k, v in roster.members.items() if not k.isascii()}
    return {
        names[m]: {k: v for k, v in row.items() if v == v} for m, row in prepared.values.iterrows()
    }


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv_rows(name: str) -> list[list[object]]:
    import csv

    return [list(r) for r in csv.reader(io.StringIO(sample(name).decode("utf-8")))]


def test_the_qianniu_report_leaves_out_its_six_comparison_rows_and_counts_them(
    roster: Roster,
) -> None:
    prepared = prepare(
        sample(QIANNIU), QIANNIU, load_mapping("qianniu_performance"), roster, OCTOBER
    )
    assert prepared.row_count == 3
    assert prepared.skipped == {
        "汇总值": 1,
        "平均值": 1,
        "全店汇总值": 1,
        "全店平均值": 1,
        "同行同层优秀": 1,
        "同行同层均值": 1,
    }
    values = _by_name(prepared, roster)
    assert values["王小红"]["conversion_rate"] == pytest.approx(50 / 200)
    assert values["李明"]["conversion_rate"] == pytest.approx(30 / 150)
    assert values["张伟"]["conversion_rate"] == pytest.approx(75 / 250)
    assert values["王小红"]["refund_ratio"] == pytest.approx(625 / 12500)
    assert values["李明"]["avg_response_s"] == 25  # written 25秒
    assert values["王小红"]["first_response_s"] == 8.5
    assert "first_response_s" not in values["张伟"]  # written -: no value, never 0
    assert prepared.no_value_cells == 1


def test_the_qianniu_report_as_xlsx_gives_the_same_numbers(roster: Roster) -> None:
    mapping = load_mapping("qianniu_performance")
    as_csv = prepare(sample(QIANNIU), QIANNIU, mapping, roster, OCTOBER)
    as_xlsx = prepare(_xlsx(_csv_rows(QIANNIU)), "客服绩效.xlsx", mapping, roster, OCTOBER)
    assert as_xlsx.skipped == as_csv.skipped
    assert _by_name(as_xlsx, roster) == _by_name(as_csv, roster)


def test_the_chitu_presales_report_imports_with_arrow_headers_either_way(roster: Roster) -> None:
    mapping = load_mapping("chitu_presales")
    prepared = prepare(sample(CHITU), CHITU, mapping, roster, OCTOBER)
    values = _by_name(prepared, roster)
    assert values["王小红"]["conversion_rate"] == pytest.approx(50 / 200)
    assert values["张伟"]["order_amount"] == 22500
    assert values["李明"]["avg_response_s"] == 25 and values["李明"]["first_response_s"] == 12
    assert values["李明"]["aht_s"] == 375
    arrows = sample(CHITU).replace("询单->".encode(), "询单→".encode())
    again = prepare(arrows, CHITU, mapping, roster, OCTOBER)
    assert _by_name(again, roster)["王小红"]["conversion_rate"] == pytest.approx(0.25)
    plain = sample(CHITU).replace("询单->最终付款人数".encode(), "询单最终付款人数".encode())
    assert (
        _by_name(prepare(plain, CHITU, mapping, roster, OCTOBER), roster)["张伟"]["conversion_rate"]
        == 0.3
    )


MAPPING = """
name = "banner"
kind = "summary"
header_row = 6
skip_rows = ["平均值", "汇总值"]
no_value = ["延迟统计"]
[columns]
agent = "客服"
inquiries = "询单人数"
converted = "最终付款人数"
complaints = { column = "投诉数", blank = "zero" }
first_response_s = "首次响应时长(秒)"
"""
BANNER_FILE = (
    "生意参谋 商品询单\n"
    "统计时间 2026-10-01 ~ 2026-10-31\n"
    "\n\n\n"
    "客服,询单人数,最终付款人数,投诉数,首次响应时长（秒)\n"
    "王小红,200,50,2,延迟统计\n"
    ",,,,\n"
    "李明,150,30,,12\n"
    "张伟,250,75,-,9\n"
    "平均值,200,51.67,1,10.5\n"
    "汇总值,600,155,2,10.5\n"
)


def test_a_header_on_the_sixth_row_placeholders_blank_rows_and_blank_means_zero(
    roster: Roster,
) -> None:
    mapping = parse_mapping(MAPPING)
    prepared = prepare(BANNER_FILE.encode(), "商品询单.csv", mapping, roster, OCTOBER)
    values = _by_name(prepared, roster)
    assert prepared.row_count == 3 and prepared.blank_rows == 1
    assert prepared.skipped == {"平均值": 1, "汇总值": 1}
    assert "first_response_s" not in values["王小红"]  # 延迟统计: no value
    assert values["李明"]["complaints"] == 0  # blank, and the mapping says blank = 0
    assert "complaints" not in values["张伟"]  # "-" is no value even there
    assert values["张伟"]["first_response_s"] == 9  # （秒) matches (秒)
    assert prepared.no_value_cells == 2 and prepared.zero_cells == 1


def test_the_same_banner_file_as_xlsx_reads_the_same(roster: Roster) -> None:
    import csv

    rows = [list(r) for r in csv.reader(io.StringIO(BANNER_FILE))]
    prepared = prepare(_xlsx(rows), "商品询单.xlsx", parse_mapping(MAPPING), roster, OCTOBER)
    values = _by_name(prepared, roster)
    assert prepared.row_count == 3 and prepared.skipped == {"平均值": 1, "汇总值": 1}
    assert values["李明"]["complaints"] == 0 and "first_response_s" not in values["王小红"]


def test_missing_columns_are_listed_once_with_the_header_once(roster: Roster) -> None:
    data = "客服,接待人数\n王小红,3\n".encode()
    with pytest.raises(ImportRefused) as refused:
        prepare(data, "x.csv", load_mapping("chitu_presales"), roster, OCTOBER)
    (problem,) = [p for p in refused.value.problems if p.code.startswith("missing")]
    assert problem.code == "missing_columns" and len(problem.params["expected"]) == 6
    assert problem.params["found"] == ["客服", "接待人数"]


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(
    roster: Roster, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(reading, "MAX_FILE_BYTES", 100)
    with pytest.raises(ImportRefused) as refused:
        prepare(sample(CHITU), CHITU, load_mapping("chitu_presales"), roster, OCTOBER)
    assert [p.code for p in refused.value.problems] == ["file_too_large"]


def _bomb(dimension: str, body_rows: int = 2) -> bytes:
    """An .xlsx whose sheet claims ``dimension`` (a real one would unpack to gigabytes)."""
    data = _xlsx([["客服", "接待人数"], *[["王小红", 1]] * (body_rows - 1)])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(
                    rb'<dimension ref="[A-Z0-9:]+"',
                    f'<dimension ref="{dimension}"'.encode(),
                    content,
                )
            target.writestr(info, content)
    return out.getvalue()


def test_an_xlsx_whose_sheet_would_expand_past_the_limits_is_refused_unread(
    roster: Roster, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    mapping = load_mapping("chitu_presales")
    with pytest.raises(ImportRefused) as rows:
        prepare(_bomb("A1:B2000000"), "bomb.xlsx", mapping, roster, OCTOBER)
    assert [p.code for p in rows.value.problems] == ["sheet_too_large"]
    with pytest.raises(ImportRefused) as cells:
        prepare(_bomb("A1:ZZ100000"), "bomb.xlsx", mapping, roster, OCTOBER)
    assert [p.code for p in cells.value.problems] == ["sheet_too_large"]

    def unreadable(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the workbook was opened")

    import python_calamine

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_filelike", unreadable)
    monkeypatch.setattr(reading, "MAX_SHEET_XML_BYTES", 200)
    with pytest.raises(ImportRefused) as xml:
        prepare(_bomb("A1:B2", body_rows=50), "big.xlsx", mapping, roster, OCTOBER)
    assert [p.code for p in xml.value.problems] == ["sheet_too_large"]

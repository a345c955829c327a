"""The payroll export shows each part of the scheme's pay and the sum, as numbers (issue 14 item
13).

Seed 001's formula in small: base pay + the order total × a rate + an indicator bonus that one
indicator short of its target loses entirely, + the place's reward or penalty (004).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from commands import results
from commands.export import build_sheets, csv_table, titled, to_xlsx, without_admin_columns
from scoring import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.conversations.world import SCHEME_TEXT

ORDERS = {"Alice": "12345.60", "Bob": "8000", "Carol": "1675", "Dave": "20000"}
PAY = """
[apply]
reward = "100"
penalty = "50"

[[pay]]
id = "base"
kind = "fixed"
amount = "2000"
name = { zh = "底薪", en = "Base pay" }

[[pay]]
id = "commission"
kind = "commission"
indicator = "order_amount"
rate = "0.3%"
name = { zh = "提成", en = "Commission" }

[[pay]]
id = "bonus"
kind = "indicator_bonus"
amount = "300"
all_met = ["refund_ratio"]
name = { zh = "指标奖金", en = "Indicator bonus" }

[[pay]]
id = "place"
kind = "reward_penalty"
name = { zh = "名次奖罚", en = "Reward or penalty" }
"""
ORDER_INDICATOR = """
[[indicators]]
id = "order_amount"
name = { zh = "订单总金额", en = "Total order amount" }
unit = "yuan"
better = "higher"
points = 10
method = "ratio"
params.target = 20000
"""


def _scheme_with_pay() -> str:
    text = SCHEME_TEXT.replace(
        'points = 50\nmethod = "tiered"\nparams.bands = [\n  { le = 30, points = 50 },\n'
        "  { gt = 30, le = 60, points = 25 },",
        'points = 40\nmethod = "tiered"\nparams.bands = [\n  { le = 30, points = 40 },\n'
        "  { gt = 30, le = 60, points = 20 },",
    )
    assert text != SCHEME_TEXT
    return text + ORDER_INDICATOR + PAY


def _london_with_pay(engine: Engine):
    text = _scheme_with_pay()
    parsed = parse_scheme(text)
    with unit_of_work(engine) as s:
        row = repo.get_or_create_scheme(
            session=s,
            key=parsed.id,
            text=text,
            name_zh=parsed.name_zh,
            name_en=parsed.name_en,
            content_hash=parsed.content_hash,
        )
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        london.scheme_id = row.id
        period = repo.get_period(session=s, team=london, key="2026-10")
        assert period is not None
        period.scheme_id = row.id
        for name, amount in ORDERS.items():
            member = repo.get_member_by_name(session=s, team=london, name=name)
            assert member is not None
            repo.set_indicator_value(
                session=s,
                period=period,
                member=member,
                indicator="order_amount",
                value=Decimal(amount),
                source="test",
                actor="test",
                reason=None,
            )


def test_the_payroll_export_shows_each_pay_part_and_the_sum_as_numbers(
    engine: Engine, world: dict[str, int]
) -> None:
    _london_with_pay(engine)
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        period = repo.get_period(session=s, team=london, key="2026-10")
        assert period is not None
        sheets = build_sheets(s, london, period)
        outcome = results.period_results(london, period, session=s, store=False)
    assert outcome is not None
    header, *rows = sheets["pay"]
    # the parts are headed by their names in the team's language (london reads English), never ids
    header = [{"Base pay": "底薪", "Commission": "提成", "Indicator bonus": "指标奖金",
               "Reward or penalty": "名次奖罚"}.get(h, h) for h in header]  # fmt: skip
    assert header == [
        "agent",
        "底薪",
        "提成",
        "指标奖金",
        "名次奖罚",
        "pay_total",
        "currency",
        "held",
    ]
    pay = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert set(pay) == {"Alice", "Bob", "Carol", "Dave"}
    # 12345.60 × 0.3 % = 37.0368 → 37.04; 1675 × 0.3 % = 5.025 → 5.03 (half up)
    assert {n: p["提成"] for n, p in pay.items()} == {
        "Alice": Decimal("37.04"),
        "Bob": Decimal("24.00"),
        "Carol": Decimal("5.03"),
        "Dave": Decimal("60.00"),
    }
    # refund ratio 2 % and 3 % earn the full points; 4 % and 7 % do not: no indicator bonus
    assert {n: p["指标奖金"] for n, p in pay.items()} == {
        "Alice": Decimal("300.00"),
        "Bob": Decimal("0.00"),
        "Carol": Decimal("0.00"),
        "Dave": Decimal("300.00"),
    }
    by_name = {s.name: s for s in outcome.scored}
    for name, p in pay.items():
        flags = by_name[name].flags
        place = (Decimal(flags["reward_amount"]) if flags.get("reward") else 0) - (
            Decimal(flags["penalty_amount"]) if flags.get("penalty") else 0
        )
        assert p["名次奖罚"] == place
        assert p["底薪"] == Decimal("2000.00")
        assert p["pay_total"] == p["底薪"] + p["提成"] + p["指标奖金"] + p["名次奖罚"]
        assert all(isinstance(p[k], Decimal) for k in header[1:6])
        assert (p["currency"], p["held"]) == ("CNY (yuan)", "No")
    assert any(p["名次奖罚"] > 0 for p in pay.values()) and any(
        p["名次奖罚"] < 0 for p in pay.values()
    )
    # CSV: the amounts are written as numbers (unquoted); xlsx: numeric cells
    # (build_sheets keeps the column keys as the first row; titled() words them for the reader)
    lines = csv_table(titled(sheets, "en")["Pay"]).decode("utf-8-sig").splitlines()
    assert lines[0].startswith('"Agent","Base pay","Commission"')
    alice = next(line for line in lines if line.startswith('"Alice"'))
    assert alice.startswith('"Alice",2000.00,37.04,300.00,')
    book = load_workbook(io.BytesIO(to_xlsx(titled(sheets, "en"))))
    row = next(r for r in book["Pay"].iter_rows() if r[0].value == "Alice")
    assert [c.value for c in row][1:3] == [2000, 37.04]
    assert row[1].number_format == "#,##0.00"
    assert list(csv.reader(io.StringIO(alice)))[0][0] == "Alice"
    assert (
        without_admin_columns(sheets)["pay"] == sheets["pay"]
    )  # pay goes to the team's managers too


def test_a_scheme_without_pay_exports_an_empty_pay_sheet(
    engine: Engine, world: dict[str, int]
) -> None:
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        period = repo.get_period(session=s, team=london, key="2026-10")
        assert period is not None
        sheets = build_sheets(s, london, period)
    assert sheets["pay"] == [["agent", "pay_total", "currency", "held"]]

"""The worked examples of docs/schemes.md's *Pay* and *The improvement-plan deadline* sections:
every number the text gives is recomputed here by the code that pays and sets deadlines."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from commands.results import plan_deadline
from scoring.pay import pay_of
from scoring.scheme_parser import parse_scheme
from storage.models import Team
from tests.unit.test_pay import CENTRE, GOOD_MONTH, SHOP_TEXT, shop_team

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "schemes.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = DOC.index(f"\n## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end >= 0 else None]


PAY_DOC = section("Pay (")
DEADLINE_DOC = section("The improvement-plan deadline")


def test_the_pay_example_is_the_shipped_online_shop_pay_table():
    (block,) = re.findall(r"```toml\n(.*?)```", PAY_DOC, flags=re.S)
    assert block.strip() in SHOP_TEXT
    head = SHOP_TEXT.split("# --- pay")[0]
    assert parse_scheme(head + "\n" + block).pay == parse_scheme(SHOP_TEXT).pay


def test_the_pay_worked_example_adds_up_as_the_doc_says():
    table = re.findall(r"^\| (?!part|---)(.+?) \| (.+?) \| (.+?) \|$", PAY_DOC, flags=re.M)
    doc = [
        (name.strip("* "), Decimal(a.strip("* ")), Decimal(b.strip("* ")))
        for name, a, b in table
        if re.fullmatch(r"\**-?[\d.]+\**", a.strip())
    ]
    li_month = {
        **GOOD_MONTH,
        "order_amount": 215000.00,
        "refund_ratio": 0.02,
        "complaint_share": 0.005,
    }
    zhang_month = {**GOOD_MONTH, "order_amount": 123456.78, "refund_ratio": 0.05}
    team = shop_team({"李娜": li_month, "张伟": zhang_month}, {"李娜": 90.0, "张伟": 60.0})
    assert (team.agent("李娜").rank, team.agent("张伟").rank) == (1, 2)
    scheme = parse_scheme(SHOP_TEXT)
    li, zhang = (pay_of(scheme, team.agent(n).to_dict()) for n in ("李娜", "张伟"))
    computed = [
        (f"{ln.name.zh} {ln.name.en}", ln.amount, zl.amount)
        for ln, zl in zip(li.lines, zhang.lines, strict=True)
    ]
    assert doc[:-1] == computed
    assert doc[-1] == ("pay", li.total, zhang.total)


def test_the_pay_docs_rounding_and_call_centre_numbers_are_what_the_code_pays():
    rows = {"a": {**GOOD_MONTH, "order_amount": 1675}, "b": GOOD_MONTH}
    half_up = pay_of(
        parse_scheme(SHOP_TEXT), shop_team(rows, {"a": 70.0, "b": 70.0}).agent("a").to_dict()
    )
    assert f"is paid {half_up.line('commission').amount}" in PAY_DOC
    four = pay_of(CENTRE, {"total": 86.4, "flags": {"star": 4}, "indicators": {}})
    assert f"800 × 86.4 / 100 = **{four.line('star_bonus').amount}**" in PAY_DOC
    assert f"the pay **{four.total}**" in PAY_DOC
    five = pay_of(
        CENTRE,
        {
            "total": 92.5,
            "flags": {"star": 5, "reward": True, "reward_amount": "300"},
            "indicators": {},
        },
    )
    assert (
        f"1000 × 92.5 / 100 = {five.line('star_bonus').amount} + the ¥300 reward, **{five.total}**"
        in PAY_DOC
    )
    bases = " / ".join(str(s.bonus_base) for s in CENTRE.apply.stars)
    assert (
        bases.startswith("1000 / 800")
        and "¥1000 (5 stars) / 800 / 600 / 400 / 200 (1 star)" in PAY_DOC
    )


@pytest.mark.parametrize(
    ("zone", "published", "local", "utc"),
    [
        (
            "Asia/Shanghai",
            datetime(2026, 11, 6, 12, 0, tzinfo=UTC),
            "2026-11-13 23:59 Shanghai time",
            "15:59 UTC",
        ),
        (
            "Asia/Shanghai",
            datetime(2026, 12, 1, 17, 30, tzinfo=UTC),
            "2026-12-09 23:59 Shanghai time",
            "15:59 UTC",
        ),
        (
            "Europe/London",
            datetime(2026, 12, 1, 17, 30, tzinfo=UTC),
            "2026-12-08 23:59 London time",
            "23:59 UTC",
        ),
    ],
)
def test_the_deadline_worked_example_is_what_plan_deadline_gives(zone, published, local, utc):
    due = plan_deadline(Team(name="t", timezone=zone), published, 7)
    local_due = due.astimezone(ZoneInfo(zone))
    assert local_due.strftime("%Y-%m-%d %H:%M") == local.rsplit(" ", 2)[0]
    assert due.strftime("%H:%M UTC") == utc
    assert f"**{local}** ({utc})" in DEADLINE_DOC.replace("\n", " ")
    assert "`improvement_days = 7`" in DEADLINE_DOC

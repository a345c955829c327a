"""Pay from the scheme (issue 14 item 13), written from the seeds:

- 001: "月底成交订单总额 × 千分之三 + 售后指标完成奖金 + 基础工资", and "有一样不达标,指标奖金全无";
- 003: "星级越高的座席代表则奖金的基数越高" — the star level sets the bonus base;
- 004: rank 1 gets 100 yuan, the last place has 100 yuan deducted from the commission.

Money is Decimal, every part rounded to the cent half up, the parts add up to the pay.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bot.cli import build_app
from scoring.pay import pay_of
from scoring.scheme import SchemeError
from scoring.scheme_parser import parse_rate, parse_scheme
from scoring.total import ScoreInputs, score_team

ROOT = Path(__file__).resolve().parents[2]
AS_OF = date(2026, 11, 3)
SHOP_TEXT = (ROOT / "schemes" / "online_shop.toml").read_text(encoding="utf-8")
CENTRE_TEXT = (ROOT / "schemes" / "call_centre.toml").read_text(encoding="utf-8")
SHOP = parse_scheme(SHOP_TEXT)
CENTRE = parse_scheme(CENTRE_TEXT)
runner = CliRunner()

GOOD_MONTH = {  # every indicator at its best band, so the indicator bonus is earned
    "conversion_rate": 0.55,
    "avg_response_s": 25,
    "churn_rate": 0.05,
    "order_amount": 215000,
    "valid_order_share": 0.97,
    "payment_ratio": 0.9,
    "refund_ratio": 0.02,
    "avg_order_value": 320,
    "complaint_share": 0.005,
    "abnormal_order_share": 0.01,
    "report_timeliness": 100,
    "report_accuracy": 100,
    "report_quality": 100,
}


def shop_team(rows: dict[str, dict[str, float]], manager: dict[str, float | None]):
    values = pd.DataFrame.from_dict(rows, orient="index")
    reviews = pd.DataFrame({"self": {a: 80.0 for a in rows}, "manager": manager})
    return score_team(
        SHOP, ScoreInputs(values=values, reviews=reviews, review_scale=100), as_of=AS_OF
    )


def shop_with_pay(pay: str, stars: str = "") -> str:
    head = SHOP_TEXT.split("# --- pay")[0]
    return head.replace("post_change_after = 3", "post_change_after = 3\n" + stars) + pay


def amounts(pay) -> dict[str, Decimal | None]:
    return {line.id: line.amount for line in pay.lines}


# --- seed 001 / 004: the online shop -------------------------------------------------------------


def test_seed_001_pay_is_the_order_total_times_three_per_mille_plus_indicator_bonus_plus_base_pay():
    weaker = {
        **GOOD_MONTH,
        "order_amount": 123456.78,
        "refund_ratio": 0.05,
    }  # 退款比例 5 %: 3 of 5 points
    team = shop_team({"li": GOOD_MONTH, "wang": weaker}, {"li": 90.0, "wang": 60.0})
    li, wang = team.agent("li"), team.agent("wang")
    assert (li.rank, wang.rank) == (1, 2)
    best = pay_of(SHOP, li.to_dict())
    assert amounts(best) == {
        "base": Decimal("3000.00"),
        "commission": Decimal("645.00"),  # 215000 × 0.3 %
        "indicator_bonus": Decimal("500.00"),
        "reward_penalty": Decimal("100.00"),
    }
    assert best.total == Decimal("4245.00") and best.currency == "CNY"
    last = pay_of(SHOP, wang.to_dict())
    # 123456.78 × 0.003 = 370.37034 → 370.37; one indicator short of its target: no indicator bonus;
    # the last place has 100 deducted (004)
    assert amounts(last) == {
        "base": Decimal("3000.00"),
        "commission": Decimal("370.37"),
        "indicator_bonus": Decimal("0.00"),
        "reward_penalty": Decimal("-100.00"),
    }
    assert last.total == Decimal("3270.37")
    assert last.line("indicator_bonus").detail["unmet"] == ["refund_ratio"]


def test_one_indicator_short_of_its_target_loses_the_whole_indicator_bonus():
    short = {**GOOD_MONTH, "complaint_share": 0.02}  # 顾客投诉比重 2 %: 3 of 5 points
    team = shop_team({"a": GOOD_MONTH, "b": short}, {"a": 70.0, "b": 70.0})
    assert pay_of(SHOP, team.agent("a").to_dict()).line("indicator_bonus").amount == Decimal(
        "500.00"
    )
    assert pay_of(SHOP, team.agent("b").to_dict()).line("indicator_bonus").amount == Decimal("0.00")


def test_each_pay_part_is_rounded_to_the_cent_half_up_and_the_parts_add_up_to_the_pay():
    # 1675 × 0.3 % = 5.025: half up gives 5.03 (banker's rounding would give 5.02)
    team = shop_team(
        {"a": {**GOOD_MONTH, "order_amount": 1675}, "b": GOOD_MONTH}, {"a": 70.0, "b": 70.0}
    )
    pay = pay_of(SHOP, team.agent("a").to_dict())
    assert pay.line("commission").amount == Decimal("5.03")
    assert pay.total == sum(a for a in amounts(pay).values() if a is not None)
    assert all(
        isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in amounts(pay).values()
    )


def test_a_provisional_result_holds_the_result_dependent_pay_and_its_sum():
    # no manager review: the result is provisional (never rewarded); base pay and commission
    # are known, the bonus and the reward wait for the complete result
    team = shop_team({"a": GOOD_MONTH, "b": GOOD_MONTH}, {"a": 90.0, "b": None})
    result = team.agent("b")
    assert result.provisional
    pay = pay_of(SHOP, result.to_dict())
    assert amounts(pay) == {
        "base": Decimal("3000.00"),
        "commission": Decimal("645.00"),
        "indicator_bonus": None,
        "reward_penalty": None,
    }
    assert pay.total is None and pay.held


def test_a_missing_commission_indicator_leaves_the_commission_and_the_sum_empty():
    rows = {"a": {**GOOD_MONTH, "order_amount": float("nan")}, "b": GOOD_MONTH}
    pay = pay_of(SHOP, shop_team(rows, {"a": 70.0, "b": 70.0}).agent("a").to_dict())
    assert pay.line("commission").amount is None and pay.total is None


def test_a_reward_shared_by_a_tie_is_paid_as_shared():
    team = shop_team(
        {"a": GOOD_MONTH, "b": GOOD_MONTH, "c": {**GOOD_MONTH, "refund_ratio": 0.2}},
        {"a": 90.0, "b": 90.0, "c": 40.0},
    )
    a, b = (pay_of(SHOP, team.agent(x).to_dict()) for x in "ab")
    assert a.line("reward_penalty").amount == b.line("reward_penalty").amount == Decimal("50.00")


# --- seed 003: the call centre's star sets the bonus base -------------------------------------


@pytest.mark.parametrize(
    ("total", "star", "flags", "bonus", "pay"),
    [
        (
            92.5,
            5,
            {"reward": True, "reward_amount": "300"},
            "925.00",
            "4725.00",
        ),  # 1000 × 92.5 % + 300
        (86.4, 4, {}, "691.20", "4191.20"),  # 800 × 86.4 %
        (71.0, 3, {}, "426.00", "3926.00"),  # 600 × 71 %
        (
            55.5,
            1,
            {"penalty": True, "penalty_amount": "100"},
            "111.00",
            "3511.00",
        ),  # 200 × 55.5 % − 100
    ],
)
def test_seed_003_the_star_level_sets_the_bonus_base_of_the_star_bonus(
    total, star, flags, bonus, pay
):
    got = pay_of(CENTRE, {"total": total, "flags": {"star": star, **flags}, "indicators": {}})
    assert got.line("base").amount == Decimal("3500.00")
    assert got.line("star_bonus").amount == Decimal(bonus)
    assert got.total == Decimal(pay)


def test_the_call_centres_star_levels_carry_rising_bonus_bases():
    bases = [(s.level, s.bonus_base) for s in CENTRE.apply.stars]
    assert [b for _, b in sorted(bases)] == sorted(b for _, b in bases if b is not None)
    assert len({b for _, b in bases}) == 5


# --- scheme check --------------------------------------------------------------------------------

COMMISSION = """
[[pay]]
id = "commission"
kind = "commission"
indicator = "{indicator}"
rate = {rate}
name = {{ zh = "提成", en = "Commission" }}
"""


@pytest.mark.parametrize(
    ("pay", "where", "field", "code", "params"),
    [
        (
            COMMISSION.format(indicator="order_amout", rate='"0.3%"'),
            "pay.commission",
            "indicator",
            "unknown_indicator_close",
            {"id": "order_amout", "close": "order_amount"},
        ),
        (
            COMMISSION.format(indicator="refund_ratio", rate='"0.3%"'),
            "pay.commission",
            "indicator",
            "commission_not_money",
            {"id": "refund_ratio", "unit": "fraction"},
        ),
        (
            COMMISSION.format(indicator="order_amount", rate="0.003"),
            "pay.commission",
            "rate",
            "rate_not_float",
            {},
        ),
        (
            COMMISSION.format(indicator="order_amount", rate='"three per mille"'),
            "pay.commission",
            "rate",
            "bad_rate",
            {"value": "three per mille"},
        ),
        (
            COMMISSION.format(indicator="order_amount", rate='"150%"'),
            "pay.commission",
            "rate",
            "bad_rate",
            {"value": "150%"},
        ),
        (
            '[[pay]]\nid = "base"\nkind = "fixed"\namount = "3000"\nrate = "1%"\nname = { zh = '
            '"底薪", en = "Base" }\n',
            "pay.base",
            "rate",
            "pay_key_not_for_kind",
            {"key": "rate", "kind": "fixed", "keys": "amount"},
        ),
        (
            '[[pay]]\nid = "base"\nkind = "fixed"\namount = 3000.5\nname = { zh = "底薪", en = '
            '"Base" }\n',
            "pay.base",
            "amount",
            "money_not_float",
            {},
        ),
        (
            '[[pay]]\nid = "base"\nkind = "salary"\namount = "3000"\nname = { zh = "底薪", en = '
            '"Base" }\n',
            "pay.base",
            "kind",
            "bad_choice",
            {
                "value": "salary",
                "choices": "fixed, commission, indicator_bonus, star_bonus, reward_penalty",
            },
        ),
        (
            '[[pay]]\nid = "bonus"\nkind = "indicator_bonus"\namount = "500"\nall_met = '
            '["refund_rate"]\nname = { zh = "奖金", en = "Bonus" }\n',
            "pay.bonus",
            "all_met",
            "unknown_indicator_close",
            {"id": "refund_rate", "close": "refund_ratio"},
        ),
        (
            '[[pay]]\nid = "stars"\nkind = "star_bonus"\nname = { zh = "星级奖金", en = "Star '
            'bonus" }\n',
            "pay.stars",
            "kind",
            "star_bonus_needs_bases",
            {},
        ),
    ],
)
def test_scheme_check_refuses_a_pay_part_it_cannot_compute(pay, where, field, code, params):
    with pytest.raises(SchemeError) as err:
        parse_scheme(shop_with_pay(pay))
    found = [(p.where, p.field, p.code, p.params) for p in err.value.problems]
    assert (where, field, code, params) in found, found


def test_a_misspelt_pay_key_is_an_unknown_key_with_the_closest_valid_one():
    text = shop_with_pay(
        '[[pay]]\nid = "base"\nkind = "fixed"\nammount = "3000"\nname = { zh = "底薪", en = "Base" '
        "}\n"
    )
    with pytest.raises(SchemeError) as err:
        parse_scheme(text)
    (problem,) = [p for p in err.value.problems if p.code == "unknown_key_close"]
    assert (problem.where, problem.field) == ("pay.base", "ammount")
    assert problem.params == {
        "key": "ammount",
        "line": text.splitlines().index('ammount = "3000"') + 1,
        "close": "amount",
    }


@pytest.mark.parametrize(
    ("text", "rate"), [("0.003", "0.003"), ("0.3%", "0.003"), ("5%", "0.05"), (0, "0")]
)
def test_a_rate_is_read_exactly_as_a_decimal_or_a_percent(text, rate):
    assert parse_rate(text) == Decimal(rate)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "No indicator with id 'order_amout'; did you mean 'order_amount'?"),
        ("zh", "没有 id 为 'order_amout' 的指标；是不是想写 'order_amount'？"),
    ],
)
def test_kpibot_scheme_check_names_a_bad_pay_part_in_both_languages(tmp_path, lang, words):
    path = tmp_path / "shop.toml"
    path.write_text(
        shop_with_pay(COMMISSION.format(indicator="order_amout", rate='"0.3%"')), encoding="utf-8"
    )
    result = runner.invoke(build_app(), ["scheme", "check", "--lang", lang, str(path)])
    assert result.exit_code == 2
    assert words in result.stderr and "commission" in result.stderr


def test_the_shipped_pay_tables_follow_the_seeds_wording():
    shop = {p.id: p for p in SHOP.pay}
    assert (shop["commission"].indicator, shop["commission"].rate) == (
        "order_amount",
        Decimal("0.003"),
    )
    assert shop["indicator_bonus"].all_met == ("refund_ratio", "complaint_share")  # 退款率, 投诉
    assert [p.kind for p in SHOP.pay] == [
        "fixed",
        "commission",
        "indicator_bonus",
        "reward_penalty",
    ]
    assert [p.kind for p in CENTRE.pay] == ["fixed", "star_bonus", "reward_penalty"]
    assert all(p.name.zh and p.name.en for p in SHOP.pay + CENTRE.pay)

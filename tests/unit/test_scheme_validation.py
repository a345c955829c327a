"""Schemes: the shipped ones load; a wrong one is refused with every problem, each named."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from commands.i18n import catalog
from scoring.methods import Deduction, Descriptive, EitherOr, Gate, Ratio, Tiered
from scoring.scheme import PROBLEM_TEMPLATES, SchemeError
from scoring.scheme_parser import parse_scheme
from scoring.table import TABLE_TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([*(ROOT / "schemes").glob("*.toml"), *(ROOT / "schemes/examples").glob("*.toml")])

GOOD = """
id = "t"
period = "month"
name = { zh = "测试", en = "Test" }

[[components]]
kind = "kpi"
weight = 60

[[components]]
kind = "manager"
weight = 40
dimensions = [
  { id = "performance", weight = 50, computed = "kpi", name = { zh = "绩效", en = "Performance" } },
  { id = "ability", weight = 50, name = { zh = "能力", en = "Ability" } },
]

[[indicators]]
id = "hiring_cycle"
name = { zh = "招聘周期", en = "Hiring cycle" }
unit = "days"
better = "lower"
points = 15
method = "tiered"
params.bands = [
  { le = 25, points = 15 }, { gt = 25, le = 30, points = 10 }, { gt = 30, points = 0 },
]

[[indicators]]
id = "complaints"
name = { zh = "投诉", en = "Complaints" }
unit = "count"
better = "lower"
points = 85
method = "deduction"
params.per_event = 5
"""


def problems_of(text: str) -> list[tuple[str, str, str]]:
    with pytest.raises(SchemeError) as info:
        parse_scheme(text)
    return [(p.where, p.field, p.code) for p in info.value.problems]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_scheme_loads(path: Path) -> None:
    scheme = parse_scheme(path.read_text(encoding="utf-8"))
    assert scheme.id == path.stem
    assert sum(c.weight for c in scheme.components) == pytest.approx(100)
    assert sum(i.points for i in scheme.indicators) == pytest.approx(100)


def test_the_online_shop_scheme_is_self_30_manager_70_with_the_contract_indicator_ids() -> None:
    scheme = parse_scheme((ROOT / "schemes/online_shop.toml").read_text(encoding="utf-8"))
    assert {c.kind: c.weight for c in scheme.components} == {"self": 30, "manager": 70}
    assert [i.id for i in scheme.indicators] == [
        "conversion_rate",
        "avg_response_s",
        "churn_rate",
        "order_amount",
        "valid_order_share",
        "payment_ratio",
        "refund_ratio",
        "avg_order_value",
        "complaint_share",
        "abnormal_order_share",
        "report_timeliness",
        "report_accuracy",
        "report_quality",
    ]
    assert [d.id for d in scheme.manager_dimensions] == [
        "performance",
        "ability",
        "collaboration",
        "service",
    ]
    assert scheme.manager_dimensions[0].computed == "kpi"
    assert scheme.apply.reward == Decimal("100") and scheme.apply.penalty == Decimal("100")
    assert (
        scheme.apply.improvement_last,
        scheme.apply.improvement_days,
        scheme.apply.post_change_after,
    ) == (2, 7, 3)


def test_the_call_centre_scheme_is_80_individual_20_team() -> None:
    scheme = parse_scheme((ROOT / "schemes/call_centre.toml").read_text(encoding="utf-8"))
    team = sum(c.weight for c in scheme.components if c.kind == "team")
    assert (100 - team, team) == (80, 20)


def test_the_shipped_schemes_use_every_method() -> None:
    kinds = {
        type(i.method)
        for path in SHIPPED
        for i in parse_scheme(path.read_text(encoding="utf-8")).indicators
    }
    assert {Tiered, Deduction, Ratio, EitherOr, Descriptive, Gate} <= kinds


def test_the_docs_include_the_hiring_cycle_example_verbatim() -> None:
    example = (ROOT / "schemes/examples/hiring_cycle.toml").read_text(encoding="utf-8")
    doc = (ROOT / "docs/schemes.md").read_text(encoding="utf-8")
    assert example.strip() in doc


def test_the_content_hash_follows_the_text() -> None:
    a = parse_scheme(GOOD)
    b = parse_scheme(GOOD + "\n# a comment\n")
    assert a.content_hash != b.content_hash
    assert a.text == GOOD


def test_a_good_scheme_parses_with_its_bands_and_edges() -> None:
    scheme = parse_scheme(GOOD)
    bands = scheme.indicator("hiring_cycle").method.bands  # type: ignore[union-attr]
    assert [b.label() for b in bands] == ["(-inf, 25]", "(25, 30]", "(30, +inf)"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("weight = 60", "weight = 50"), ("scheme", "components.weight", "weights_not_100")),
        (("points = 85", "points = 80"), ("scheme", "indicators.points", "points_not_100")),
        (
            ('{ id = "ability", weight = 50', '{ id = "ability", weight = 40'),
            ("manager", "dimensions.weight", "weights_not_100"),
        ),
        (
            ("{ gt = 25, le = 30", "{ ge = 25, le = 30"),
            ("hiring_cycle", "params.bands[2]", "band_overlap"),
        ),
        (
            ("{ gt = 25, le = 30", "{ gt = 26, le = 30"),
            ("hiring_cycle", "params.bands[2]", "band_gap"),
        ),
        (
            ("{ gt = 30, points = 0 }", "{ gt = 30, lt = 99, points = 0 }"),
            ("hiring_cycle", "params.bands[3]", "band_open_end"),
        ),
        (
            ("{ le = 25, points = 15 }", "{ ge = 0, le = 25, points = 15 }"),
            ("hiring_cycle", "params.bands[1]", "band_open_start"),
        ),
        (
            ("{ gt = 30, points = 0 }", "{ gt = 30, points = 12 }"),
            ("hiring_cycle", "params.bands", "not_monotone"),
        ),
        (
            ("{ le = 25, points = 15 }", "{ le = 25, points = 16 }"),
            ("hiring_cycle", "params.bands[1].points", "band_points"),
        ),
        (
            ("{ gt = 25, le = 30,", "{ gt = 25, ge = 26, le = 30,"),
            ("hiring_cycle", "params.bands[2]", "band_edges"),
        ),
        (('method = "deduction"', 'method = "magic"'), ("complaints", "method", "unknown_method")),
        (
            ("params.per_event = 5", "params.per_event = -5"),
            ("complaints", "params.per_event", "not_positive"),
        ),
        (
            ("params.per_event = 5", "params.per_evnt = 5"),
            ("complaints", "params.per_evnt", "unknown_param"),
        ),
        (
            ('name = { zh = "投诉", en = "Complaints" }', 'name = { zh = "投诉" }'),
            ("complaints", "name.en", "missing_name"),
        ),
        (
            ('name = { zh = "招聘周期", en = "Hiring cycle" }', 'name = { en = "Hiring cycle" }'),
            ("hiring_cycle", "name.zh", "missing_name"),
        ),
        (('id = "complaints"', 'id = "hiring_cycle"'), ("hiring_cycle", "id", "duplicate_id")),
        (('unit = "count"', 'unit = "furlongs"'), ("complaints", "unit", "bad_choice")),
        (('period = "month"', 'period = "week"'), ("scheme", "period", "bad_choice")),
        (
            ('better = "lower"\npoints = 85', 'better = "higher"\npoints = 85'),
            ("complaints", "better", "deduction_direction"),
        ),
        (
            ('computed = "kpi"', 'computed = "magic"'),
            ("manager.performance", "computed", "computed_not_kpi"),
        ),
        (('kind = "kpi"', 'kind = "bonus"'), ("bonus", "kind", "bad_choice")),
    ],
)
def test_a_wrong_scheme_names_the_indicator_the_field_and_the_problem(change, expected) -> None:
    old, new = change
    assert old in GOOD
    assert expected in problems_of(GOOD.replace(old, new, 1))


def test_every_problem_is_listed_at_once() -> None:
    text = (
        GOOD.replace("weight = 60", "weight = 55")
        .replace('method = "deduction"', 'method = "magic"')
        .replace("{ gt = 25, le = 30", "{ ge = 25, le = 30")
        .replace('name = { zh = "投诉", en = "Complaints" }', 'name = { zh = "投诉" }')
    )
    codes = {code for _, _, code in problems_of(text)}
    assert {"weights_not_100", "unknown_method", "band_overlap", "missing_name"} <= codes


def test_money_as_a_float_is_refused_and_a_quoted_decimal_is_exact() -> None:
    assert ("apply", "reward", "money_not_float") in problems_of(
        GOOD + "\n[apply]\nreward = 100.5\n"
    )
    scheme = parse_scheme(GOOD + '\n[apply]\nreward = "100.50"\npenalty = 100\n')
    assert scheme.apply.reward == Decimal("100.50")
    assert scheme.apply.penalty == Decimal("100")


def test_a_gate_must_void_a_component_that_exists() -> None:
    text = GOOD.replace("points = 85", "points = 85\n").replace(
        "params.per_event = 5",
        'params.per_event = 5\n\n[[indicators]]\nid = "g"\nname = { zh = "门槛", en = "Gate" }\n'
        'unit = "fraction"\nbetter = "higher"\npoints = 0\nmethod = "gate"\n'
        'params = { target = 0.9, voids = "bonus" }\n',
    )
    assert ("g", "params.voids", "unknown_component") in problems_of(text)


def test_customer_settings_are_read_with_their_defaults() -> None:
    text = GOOD.replace("weight = 60", "weight = 50") + (
        '\n[[components]]\nkind = "customer"\nweight = 10\nmin_responses = 5\nbelow_min = '
        '"default"\ndefault = 80\nrepeat = "refuse"\n'
    )
    customer = parse_scheme(text).customer
    assert customer is not None
    assert (customer.csat, customer.min_count, customer.below_min, customer.default) == (
        "share_4_5",
        5,
        "default",
        80,
    )
    assert (customer.link_expiry_days, customer.repeat) == (7, "refuse")


def test_below_min_default_needs_a_default() -> None:
    text = GOOD.replace("weight = 60", "weight = 50") + (
        '\n[[components]]\nkind = "peer"\nweight = 10\nbelow_min = "default"\n'
    )
    assert ("peer", "default", "required") in problems_of(text)


def test_peer_ratings_need_three_raters_by_default() -> None:
    text = (
        GOOD.replace("weight = 60", "weight = 50")
        + '\n[[components]]\nkind = "peer"\nweight = 10\n'
    )
    peer = parse_scheme(text).component("peer")
    assert peer is not None and peer.min_count == 3


def test_invalid_toml_is_one_problem_not_a_traceback() -> None:
    assert problems_of("id = ") == [("scheme", "toml", "toml_syntax")]


def test_every_problem_message_has_a_chinese_translation() -> None:
    zh = catalog("zh")
    templates = list(PROBLEM_TEMPLATES.values()) + list(TABLE_TEMPLATES.values())
    untranslated = [t for t in templates if zh.gettext(t) == t]
    assert untranslated == []
    for t in templates:
        assert set(re.findall(r"\{(\w+)", t)) == set(re.findall(r"\{(\w+)", zh.gettext(t))), t


DESCRIPTIVE = """
[[indicators]]
id = "innovation"
name = { zh = "创新", en = "Innovation" }
unit = "points"
better = "higher"
points = 0
method = "descriptive"
params.levels = [ { id = "none", points = 0, name = { zh = "无", en = "None" } },
                  { id = "some", points = 0, name = { zh = "有", en = "Some" } } ]
"""


@pytest.mark.parametrize(
    ("extra", "old", "new", "expected"),
    [
        (
            "",
            "{ gt = 25, le = 30",
            "{ gt = 30, le = 25",
            ("hiring_cycle", "params.bands[2]", "band_empty"),
        ),
        (
            "",
            "{ gt = 25, le = 30",
            "{ gt = 25, le = 30, upto = 3",
            ("hiring_cycle", "params.bands[2].upto", "unknown_param"),
        ),
        (
            "",
            "{ gt = 25, le = 30",
            '{ gt = "25", le = 30',
            ("hiring_cycle", "params.bands[2].gt", "expected_number"),
        ),
        (
            "",
            "publish_ranking = true",
            'publish_ranking = "yes"',
            ("scheme", "publish_ranking", "expected_bool"),
        ),
        ("", 'id = "t"', 'id = "T-1"', ("scheme", "id", "bad_id")),
        (
            "",
            '{ id = "ability", weight = 50',
            '{ id = "performance", weight = 50',
            ("manager.performance", "id", "duplicate_id"),
        ),
        (
            DESCRIPTIVE,
            'points = 0, name = { zh = "有"',
            'points = 3, name = { zh = "有"',
            ("innovation", "params.levels[2].points", "level_points"),
        ),
        (
            DESCRIPTIVE,
            'better = "higher"\npoints = 0\nmethod = "descriptive"',
            'better = "lower"\npoints = 0\nmethod = "descriptive"',
            ("innovation", "better", "descriptive_direction"),
        ),
        (
            DESCRIPTIVE,
            '{ id = "some", points = 0, name = { zh = "有", en = "Some" } }',
            '{ id = "some", points = 0 }',
            ("innovation", "params.levels[2].name.zh", "missing_name"),
        ),
        (
            "\n[apply]\nstars = [ { level = 1, min_total = 80 }, { level = 2, min_total = 80 } ]\n",
            "",
            "",
            ("apply", "stars", "star_order"),
        ),
        (
            '\n[[components]]\nkind = "customer"\nweight = 0\nbelow_min = "default"\ndefault = '
            "120\n",
            "",
            "",
            ("customer", "default", "default_range"),
        ),
        (
            '\n[[components]]\nkind = "kpi"\nid = "kpi2"\nweight = 0\n',
            "",
            "",
            ("kpi2", "kind", "duplicate_kind"),
        ),
        (
            '\n[[components]]\nkind = "team"\nweight = 0\nindicators = ["nope"]\n',
            "",
            "",
            ("team", "indicators", "unknown_indicator"),
        ),
        (
            '\n[[components]]\nkind = "self"\nweight = 0\n',
            "",
            "",
            ("self", "dimensions", "dimensions_required"),
        ),
    ],
)
def test_more_wrong_schemes_are_refused_with_the_field_named(
    extra: str, old: str, new: str, expected
) -> None:
    text = GOOD.replace('period = "month"', 'period = "month"\npublish_ranking = true') + extra
    assert old in text
    assert expected in problems_of(text.replace(old, new, 1) if old else text)


def test_a_problem_reads_as_where_field_and_message() -> None:
    with pytest.raises(SchemeError) as info:
        parse_scheme(GOOD.replace("weight = 60", "weight = 61"))
    problem = info.value.problems[0]
    assert str(problem) == "scheme: components.weight: Weights add up to 101, not 100."
    assert problem.params == {"total": "101"}

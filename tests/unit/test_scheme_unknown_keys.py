"""Every table of a scheme is checked against its schema (issue 14 item 3): an unknown key is
an error naming the key, its line and the closest valid key — ``missng = "worst"`` once passed,
fell back to exclude and moved an agent from 85 to 100 and the reward."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.scheme import PROBLEM_TEMPLATES, SchemeError
from scoring.scheme_parser import parse_scheme

ROOT = Path(__file__).resolve().parents[2]
SHOP = (ROOT / "schemes/online_shop.toml").read_text(encoding="utf-8")
CALLS = (ROOT / "schemes/call_centre.toml").read_text(encoding="utf-8")


def problems_of(text: str):
    with pytest.raises(SchemeError) as err:
        parse_scheme(text)
    return err.value.problems


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(
    ("base", "old", "new", "where", "field", "close"),
    [
        (
            CALLS,
            'missing = "worst"\nparams.per_event = 5',
            'missng = "worst"\nparams.per_event = 5',
            "service_complaints",
            "missng",
            "missing",
        ),
        (
            SHOP,
            "improvement_days = 7",
            "improvment_days = 7",
            "apply",
            "improvment_days",
            "improvement_days",
        ),
        (
            SHOP,
            'kind = "manager"\nweight = 70',
            'kind = "manager"\nwieght_x = 1\nweight = 70',
            "manager",
            "wieght_x",
            "weight",
        ),
        (
            SHOP,
            'id = "ability"\nweight = 20',
            'id = "ability"\nweigth = 20',
            "manager.ability",
            "weigth",
            "weight",
        ),
        (
            SHOP,
            'zh = "网店客服绩效考核"',
            'zh = "网店客服绩效考核"\nenn = "x"',
            "scheme",
            "name.enn",
            "en",
        ),
        (
            CALLS,
            'id = "greeting"',
            'id = "greeting"\ncritcal = true',
            "qa.greeting",
            "critcal",
            "critical",
        ),
        (
            SHOP,
            "publish_ranking = true",
            "publish_ranking = true\npresicion = 1",
            "scheme",
            "presicion",
            "precision",
        ),
    ],
)
def test_an_unknown_key_is_an_error_naming_the_key_its_line_and_the_closest_valid_key(
    base, old, new, where, field, close
):
    assert old in base
    text = base.replace(old, new, 1)
    found = [p for p in problems_of(text) if p.code == "unknown_key_close"]
    assert [(p.where, p.field, p.params["close"]) for p in found] == [(where, field, close)]
    key = field.rsplit(".", 1)[-1]
    assert found[0].params["line"] == line_of(text, f"{key} =")
    assert f"line {found[0].params['line']}" in found[0].message and repr(close) in found[0].message


def test_an_unknown_key_with_nothing_close_lists_the_valid_keys():
    text = SHOP.replace("[apply]", "[apply]\nbanana = 3", 1)
    (problem,) = [p for p in problems_of(text) if p.code.startswith("unknown_key")]
    assert problem.code == "unknown_key" and "improvement_days" in problem.params["choices"]


@pytest.mark.parametrize("name", ["online_shop", "after_sales", "call_centre"])
def test_the_shipped_schemes_have_no_unknown_key(name):
    parse_scheme((ROOT / "schemes" / f"{name}.toml").read_text(encoding="utf-8"))


def test_both_unknown_key_messages_exist():
    assert {"unknown_key", "unknown_key_close"} <= set(PROBLEM_TEMPLATES)

"""Every indicator has a provider that can fill it (issue 14 item 2).

004's management indicators (报表上交及时性、真实性、整体质量) are rated by the manager; 003's
per-complaint deduction needs the complaints a complaints import stores; 001's after-sales
indicators (退款率、退款时长、纠纷、DSR 评分、店铺内部投诉) need an import that carries them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import build_app
from bot.cli.scheme import shipped_columns, unmapped_indicators
from scoring import kpi
from scoring.provision import provision_problems
from scoring.scheme_parser import parse_scheme

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ["online_shop", "after_sales", "call_centre"]
runner = CliRunner()

ONE = """
id = "one"
[name]
zh = "一"
en = "One"
[[components]]
kind = "kpi"
weight = 100
[[indicators]]
id = "{id}"
{extra}
name = {{ zh = "指标", en = "Indicator" }}
unit = "count"
better = "lower"
points = 100
method = "deduction"
params.per_event = 5
"""


def one(iid: str, extra: str = ""):
    return parse_scheme(ONE.format(id=iid, extra=extra))


def shipped(name: str):
    return parse_scheme((ROOT / "schemes" / f"{name}.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("iid", "extra", "code", "params"),
    [
        (
            "service_complaints",
            "",
            "not_importable_close",
            {"column": "service_complaints", "close": "complaints"},
        ),
        (
            "calls_handled",
            "",
            "not_importable_close",
            {"column": "calls_handled", "close": "sessions_handled"},
        ),
        (
            "x",
            'source = "service_complaints"',
            "not_importable_close",
            {"column": "service_complaints", "close": "complaints"},
        ),
        ("qq", 'provider = "qa"', "no_provider", {"provider": "qa"}),
        ("qq", 'provider = "survey"', "no_provider", {"provider": "survey"}),
    ],
)
def test_scheme_check_refuses_an_indicator_nothing_can_provide(iid, extra, code, params):
    (problem,) = provision_problems(one(iid, extra))
    assert (problem.where, problem.code, problem.params) == (iid, code, params)


@pytest.mark.parametrize(
    ("iid", "extra"),
    [
        ("complaints", ""),
        ("x", 'source = "complaints"'),
        ("errors", 'provider = "manager"'),
        ("errors", 'provider = "admin"'),
        ("disputes", ""),
        ("internal_complaints", ""),
    ],
)
def test_an_imported_column_or_a_form_provides_an_indicator(iid, extra):
    assert provision_problems(one(iid, extra)) == []


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_schemes_pass_the_provider_check(name):
    assert provision_problems(shipped(name)) == []


@pytest.mark.parametrize("name", SHIPPED)
def test_every_imported_indicator_of_a_shipped_scheme_comes_from_a_shipped_mapping(name):
    assert [i.id for i in unmapped_indicators(shipped(name))] == []


def test_the_call_centre_reads_what_the_imports_store():
    cc = shipped("call_centre")
    assert cc.indicator("service_complaints").column == "complaints"
    assert cc.indicator("calls_handled").column == "sessions_handled"
    assert {"complaints", "sessions_handled", "aht_s", "answer_rate"} <= shipped_columns()


def test_after_sales_disputes_and_internal_complaints_have_a_shipped_mapping():
    assert {
        "disputes",
        "internal_complaints",
        "dsr_rating",
        "refund_rate",
        "refund_time_min",
    } <= shipped_columns()


def test_the_importable_columns_come_from_the_import_formulas_not_a_list():
    assert kpi.importable() >= set(kpi.FORMULAS)
    assert not any(c.endswith("_total") for c in kpi.importable())
    assert kpi.producible("complaints", ["agent", "time"]) == {"complaints"}


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "did you mean 'complaints'"), ("zh", "是不是想写 'complaints'")]
)
def test_kpibot_scheme_check_names_the_unprovidable_indicator_in_both_languages(
    tmp_path, lang, words
):
    path = tmp_path / "bad.toml"
    path.write_text(ONE.format(id="service_complaints", extra=""), encoding="utf-8")
    result = runner.invoke(build_app(), ["scheme", "check", "--lang", lang, str(path)])
    assert result.exit_code == 2
    assert "service_complaints" in result.stderr and words in result.stderr


def test_kpibot_scheme_check_passes_the_shipped_schemes():
    files = [str(ROOT / "schemes" / f"{n}.toml") for n in SHIPPED]
    result = runner.invoke(build_app(), ["scheme", "check", "--lang", "en", *files])
    assert result.exit_code == 0, result.output
    assert "note:" not in result.output

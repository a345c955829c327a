"""`kpibot score` and `kpibot scheme check`: the calculator and the scheme checker, end to end."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import build_app

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests/data/scoring"
ONLINE = str(ROOT / "schemes/online_shop.toml")
MONTH = str(DATA / "online_shop_month.csv")
runner = CliRunner()


def run(*args: str):
    return runner.invoke(build_app(), list(args), catch_exceptions=False)


def write(tmp_path: Path, text: str, name: str = "month.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_json_lists_every_agent_best_first_with_total_rank_components_indicators_and_flags() -> (
    None
):
    result = run(
        "score", "--scheme", ONLINE, "--input", MONTH, "--format", "json", "--as-of", "2026-11-03"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data) == 6
    assert [d["rank"] for d in data] == sorted(d["rank"] for d in data)
    assert [d["total"] for d in data] == sorted((d["total"] for d in data), reverse=True)
    first, last = data[0], data[-1]
    assert set(first) >= {"agent", "total", "rank", "components", "indicators", "flags"}
    assert set(first["components"]) == {"self", "manager"}
    assert {"value", "points"} <= set(first["indicators"]["conversion_rate"])
    assert first["flags"]["reward"] and first["flags"]["reward_amount"] == "100"
    assert last["flags"]["penalty"] and last["flags"]["improvement_due"] == "2026-11-10"


def test_the_json_total_is_30_percent_self_and_70_percent_manager() -> None:
    data = json.loads(run("score", "--scheme", ONLINE, "--input", MONTH, "--format", "json").stdout)
    for agent in data:
        self_review, manager = agent["components"]["self"], agent["components"]["manager"]
        assert agent["total_exact"] == pytest.approx(
            0.3 * self_review["points"] + 0.7 * manager["points"]
        )
        assert agent["total"] == pytest.approx(round(agent["total_exact"] + 1e-9, 1))


def test_a_missing_cell_is_reported_as_excluded_not_zero() -> None:
    data = json.loads(run("score", "--scheme", ONLINE, "--input", MONTH, "--format", "json").stdout)
    carol = next(d for d in data if d["agent"] == "Carol")
    assert carol["indicators"]["conversion_rate"] == {
        "value": None,
        "points": None,
        "max_points": 15.0,
        "status": "excluded",
        "detail": {"reason": "missing"},
    }
    assert carol["indicators"]["report_timeliness"]["status"] == "worst"


def test_csv_output_has_one_row_per_agent_with_points() -> None:
    result = run("score", "--scheme", ONLINE, "--input", MONTH, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 6
    assert {"agent", "rank", "total", "self", "manager", "conversion_rate"} <= set(rows[0])
    assert rows[0]["rank"] == "1"


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ["排名", "总分", "咨询转化率", "奖励 100 元"]),
        ("en", ["Rank", "Total", "Inquiry-to-order conversion rate", "reward 100 yuan"]),
    ],
)
def test_the_table_is_in_the_chosen_language_with_readable_values(
    lang: str, words: list[str]
) -> None:
    result = run(
        "score", "--scheme", ONLINE, "--input", MONTH, "--lang", lang, "--as-of", "2026-11-03"
    )
    assert result.exit_code == 0
    for word in words:
        assert word in result.stdout
    assert "52.0%" in result.stdout  # a fraction shown as percent
    assert "¥210,000.00" in result.stdout


@pytest.mark.parametrize(
    ("lang", "notes"),
    [
        ("zh", ["档位 ≥ 40.0%, < 50.0%", "档位 ≤ 30 秒", "档位 > 8.0%"]),
        ("en", ["band ≥ 40.0%, < 50.0%", "band ≤ 30 s", "band > 8.0%"]),
    ],
)
def test_a_tiered_indicator_is_noted_with_its_bands_edges_in_its_unit(
    lang: str, notes: list[str]
) -> None:
    result = run(
        "score", "--scheme", ONLINE, "--input", MONTH, "--lang", lang, "--as-of", "2026-11-03"
    )
    assert result.exit_code == 0
    for note in notes:
        assert note in result.stdout


def test_the_table_defaults_to_the_schemes_language() -> None:
    assert "排名" in run("score", "--scheme", ONLINE, "--input", MONTH).stdout


HEADER = (
    "agent,conversion_rate,avg_response_s,churn_rate,order_amount,valid_order_share,payment_ratio,"
    "refund_ratio,avg_order_value,complaint_share,abnormal_order_share,report_timeliness,"
    "report_accuracy,report_quality,self,manager"
)
GOOD_ROW = "0.5,30,0.05,200000,0.96,0.9,0.02,300,0.01,0.01,100,100,100,80,80"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            HEADER.replace(",churn_rate", "") + "\na," + GOOD_ROW.replace(",0.05,", ",", 1),
            "Column churn_rate is missing.",
        ),
        (
            HEADER + "\na," + GOOD_ROW.replace("0.5,", "fast,", 1),
            "Row 2, column conversion_rate: 'fast' is not a number.",
        ),
        (
            HEADER + "\na," + GOOD_ROW + "\nb," + GOOD_ROW.replace("0.5,", "1.5,", 1),
            "Row 3, column conversion_rate: 1.5 must be between 0 and 1.",
        ),
        (
            HEADER + "\na," + GOOD_ROW + "\na," + GOOD_ROW,
            "Row 3, column agent: a already appears in row 2.",
        ),
        (
            HEADER.replace(",manager", "") + "\na," + GOOD_ROW.rsplit(",", 1)[0],
            "Column manager (or one column per rated dimension, such as manager.ability) is "
            "missing.",
        ),
        (
            HEADER + "\na," + GOOD_ROW.replace(",80,80", ",80,180"),
            "Row 2, column manager: 180 must be between 0 and 100.",
        ),
    ],
)
def test_a_bad_file_gets_one_message_per_problem_naming_row_and_column_and_exit_2(
    tmp_path: Path, text: str, expected: str
) -> None:
    result = run("score", "--scheme", ONLINE, "--input", write(tmp_path, text), "--lang", "en")
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.output


def test_a_negative_count_is_refused(tmp_path: Path) -> None:
    scheme = str(ROOT / "schemes/after_sales.toml")
    header = (
        "agent,refund_rate,refund_time_min,disputes,dsr_rating,internal_complaints,first_response_"
        "s,resolution_rate,innovation,manager"
    )
    text = header + "\na,0.02,100,-1,4.8,0,15,0.9,2,80\n"
    result = run("score", "--scheme", scheme, "--input", write(tmp_path, text), "--lang", "en")
    assert result.exit_code == 2
    assert "Row 2, column disputes: -1 must not be negative." in result.stderr


def test_a_descriptive_level_outside_the_listed_levels_is_refused(tmp_path: Path) -> None:
    scheme = str(ROOT / "schemes/after_sales.toml")
    header = (
        "agent,refund_rate,refund_time_min,disputes,dsr_rating,internal_complaints,first_response_"
        "s,resolution_rate,innovation,manager"
    )
    text = header + "\na,0.02,100,0,4.8,0,15,0.9,5,80\nb,0.02,100,0,4.8,0,15,0.9,2.5,80\n"
    result = run("score", "--scheme", scheme, "--input", write(tmp_path, text), "--lang", "en")
    assert result.exit_code == 2
    assert "Row 2, column innovation: 5 must be between 1 and 4." in result.stderr
    assert "Row 3, column innovation: 2.5 must be a whole number." in result.stderr


def test_every_problem_in_a_file_is_listed(tmp_path: Path) -> None:
    text = (
        HEADER
        + "\na,"
        + GOOD_ROW.replace("0.5,", "x,", 1)
        + "\na,"
        + GOOD_ROW.replace(",30,", ",-3,", 1)
    )
    result = run("score", "--scheme", ONLINE, "--input", write(tmp_path, text), "--lang", "en")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 3


def test_problems_are_reported_in_chinese_by_default(tmp_path: Path) -> None:
    text = HEADER + "\na," + GOOD_ROW.replace("0.5,", "x,", 1)
    result = run("score", "--scheme", ONLINE, "--input", write(tmp_path, text))
    assert "第 2 行，列 conversion_rate" in result.stderr


def test_after_sales_with_teams_and_customer_counts_scores_and_voids_the_team_bonus(
    tmp_path: Path,
) -> None:
    header = (
        "agent,team,refund_rate,refund_time_min,disputes,dsr_rating,internal_complaints,first_"
        "response_s,resolution_rate,innovation,manager,customer.n1,customer.n2,customer.n3,"
        "customer.n4,customer.n5"
    )
    rows = [
        "a,east,0.01,90,0,4.9,0,15,0.95,4,90,0,0,1,4,5",
        "b,east,0.02,100,1,4.8,0,18,0.92,3,80,0,1,1,3,5",
        "c,west,0.09,200,2,4.8,1,30,0.80,2,70,1,1,2,2,4",
        "d,west,0.09,150,0,4.9,0,25,0.85,1,75,0,0,2,3,5",
    ]
    text = header + "\n" + "\n".join(rows) + "\n"
    result = run(
        "score",
        "--scheme",
        str(ROOT / "schemes/after_sales.toml"),
        "--input",
        write(tmp_path, text),
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    data = {d["agent"]: d for d in json.loads(result.stdout)}
    assert data["a"]["components"]["team"]["status"] == "ok"
    assert data["c"]["components"]["team"]["status"] == "voided"
    assert {data[a]["group_size"] for a in "abcd"} == {2}  # ranked within each team
    assert (
        {data["a"]["rank"], data["b"]["rank"]} == {data["c"]["rank"], data["d"]["rank"]} == {1, 2}
    )
    assert data["a"]["components"]["customer"]["points"] == pytest.approx(90)


def test_scheme_check_accepts_the_shipped_schemes() -> None:
    files = [str(p) for p in sorted((ROOT / "schemes").glob("*.toml"))]
    result = run("scheme", "check", "--lang", "en", *files)
    assert result.exit_code == 0
    assert result.stdout.count(": OK:") == len(files)


def test_scheme_check_lists_every_problem_with_indicator_and_field_and_exits_2(
    tmp_path: Path,
) -> None:
    bad = (ROOT / "schemes/examples/hiring_cycle.toml").read_text(encoding="utf-8")
    bad = bad.replace("weight = 100", "weight = 90").replace(
        'method = "either_or"', 'method = "guess"'
    )
    bad = bad.replace("{ gt = 25, le = 30", "{ ge = 25, le = 30")
    result = run("scheme", "check", "--lang", "en", write(tmp_path, bad, "bad.toml"))
    assert result.exit_code == 2
    assert "scheme · components.weight: Weights add up to 90, not 100." in result.stderr
    assert "offer_acceptance · method: Unknown method 'guess'" in result.stderr
    assert "hiring_cycle · params.bands[2]: Bands 1 and 2 overlap at 25." in result.stderr


def test_scheme_check_reports_an_unreadable_file(tmp_path: Path) -> None:
    result = run("scheme", "check", "--lang", "en", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2
    assert "cannot read the file" in result.stderr


def test_a_missing_input_file_is_one_message_and_exit_2(tmp_path: Path) -> None:
    result = run("score", "--scheme", ONLINE, "--input", str(tmp_path / "none.csv"), "--lang", "en")
    assert result.exit_code == 2
    assert "none.csv: cannot read the file" in result.stderr


def test_a_wrong_scheme_stops_the_calculator_with_its_problems(tmp_path: Path) -> None:
    bad = (
        (ROOT / "schemes/examples/hiring_cycle.toml")
        .read_text(encoding="utf-8")
        .replace("points = 85", "points = 80")
    )
    result = run(
        "score", "--scheme", write(tmp_path, bad, "bad.toml"), "--input", MONTH, "--lang", "en"
    )
    assert result.exit_code == 2
    assert "Indicator points add up to 95, not 100." in result.stderr


def test_the_json_carries_each_agents_pay_by_the_schemes_formula() -> None:
    # seed 001 in online_shop.toml: base 3000 + order total × 0.3 % + indicator bonus + the place's
    # reward/penalty
    data = json.loads(run("score", "--scheme", ONLINE, "--input", MONTH, "--format", "json").stdout)
    first = data[0]
    pay = first["pay"]
    assert set(pay["parts"]) == {"base", "commission", "indicator_bonus", "reward_penalty"}
    order_total = Decimal(repr(first["indicators"]["order_amount"]["value"]))
    assert Decimal(pay["parts"]["commission"]) == (order_total * Decimal("0.003")).quantize(
        Decimal("0.01")
    )
    assert pay["parts"]["base"] == "3000.00" and pay["parts"]["reward_penalty"] == "100.00"
    for agent in data:
        if agent["pay"]["total"] is not None:
            assert Decimal(agent["pay"]["total"]) == sum(
                Decimal(v) for v in agent["pay"]["parts"].values()
            )

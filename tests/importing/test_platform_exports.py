"""The ready mappings of JD (daily rows), Zendesk, Freshdesk, Genesys and Avaya, each fixture's
numbers checked by hand; daily rows combined into the period; a mapping's own indicators;
platform ratings feeding the customer component, never counted twice.

Fixtures: tests/data/imports/, headers verbatim from ../shared/exports/README.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from commands.i18n import translator
from commands.importing import (
    ImportRefused,
    Roster,
    load_mapping,
    parse_mapping,
    prepare,
    render_problems,
)
from commands.importing.mapping import declared_indicators
from scoring import kpi
from tests.importing.conftest import OCTOBER, sample


def _values(name: str, file: str, roster: Roster) -> dict[str, dict[str, float]]:
    prepared = prepare(sample(file), file, load_mapping(name), roster, OCTOBER)
    names = {v: k for k, v in roster.members.items() if not k.isascii()}
    return {
        names[m]: {k: v for k, v in row.items() if v == v} for m, row in prepared.values.iterrows()
    }


# --- JD 咚咚: one row per agent per day ------------------------------------------------------


def test_jd_workload_days_are_weighted_by_their_sessions_not_averaged_plainly(
    roster: Roster,
) -> None:
    v = _values("jd_workload", "jd_workload_daily.csv", roster)
    wang = v["王小红"]  # 10-01: 200 chats, 10 s, 20 s, 90 %; 10-02: 50 chats, 30 s, 40 s, 70 %
    assert wang["sessions_handled"] == 250
    assert wang["first_response_s"] == pytest.approx(
        (200 * 10 + 50 * 30) / 250
    )  # 14, not (10+30)/2 = 20
    assert wang["avg_response_s"] == pytest.approx((200 * 20 + 50 * 40) / 250)  # 24
    assert wang["answer_30s_rate"] == pytest.approx((200 * 0.9 + 50 * 0.7) / 250)  # 0.86, not 0.80
    li = v["李明"]  # a third day with 0 chats and "-" everywhere counts for nothing
    assert li["sessions_handled"] == 200
    assert li["first_response_s"] == pytest.approx(20) and li["answer_30s_rate"] == pytest.approx(
        0.7
    )
    assert v["张伟"]["answer_30s_rate"] == pytest.approx(0.95)


def test_a_daily_file_counts_its_placeholder_cells_and_names_its_weight(roster: Roster) -> None:
    prepared = prepare(
        sample("jd_workload_daily.csv"), "w.csv", load_mapping("jd_workload"), roster, OCTOBER
    )
    assert prepared.row_count == 6 and len(prepared.values) == 3
    assert prepared.no_value_cells == 3  # 李明's empty day: - - -
    assert prepared.weight_column == "接待量"


def test_jd_sales_days_are_summed_and_the_conversion_recomputed_from_the_sums(
    roster: Roster,
) -> None:
    v = _values("jd_sales", "jd_sales_daily.csv", roster)
    # 王小红: 8 of 40, then 2 of 10 → 10 of 50 = 20 % (the days' rates are 20 % and 20 %)
    assert v["王小红"]["conversion_rate"] == pytest.approx(10 / 50)
    assert v["王小红"]["jd_ordered_amount"] == pytest.approx(3200 + 1800.50)
    # 李明: 3 of 30 (10 %) then 0 of 20 (0 %) → 3 of 50 = 6 %, not the plain mean 5 %
    assert v["李明"]["conversion_rate"] == pytest.approx(3 / 50)
    assert (
        v["张伟"]["conversion_rate"] == pytest.approx(9 / 30)
        and v["张伟"]["jd_ordered_amount"] == 4500
    )


def test_jd_ratings_give_satisfaction_and_the_answer_question_ratio_over_the_days(
    roster: Roster,
) -> None:
    v = _values("jd_ratings", "jd_ratings_daily.csv", roster)  # agents by UID (aliases)
    wang = v["王小红"]
    assert (wang["good_ratings"], wang["bad_ratings"]) == (27, 3)
    assert wang["satisfaction_rate"] == pytest.approx(27 / 30)  # 好评量 / (好评量 + 差评量)
    assert wang["answer_question_ratio"] == pytest.approx(450 / 350)  # summed, then divided
    assert v["李明"]["satisfaction_rate"] == pytest.approx(0.7)
    assert v["李明"]["answer_question_ratio"] == pytest.approx(1.2)
    assert v["张伟"]["satisfaction_rate"] == 1.0


def test_a_daily_file_with_an_agent_twice_on_one_day_is_refused(roster: Roster) -> None:
    data = sample("jd_sales_daily.csv") + "2026-10-01,李明,10.00,1,5\n".encode()
    with pytest.raises(ImportRefused) as refused:
        prepare(data, "x.csv", load_mapping("jd_sales"), roster, OCTOBER)
    (problem,) = refused.value.problems
    assert problem.code == "duplicate_agent_day" and problem.rows == (4, 7)
    text = render_problems([problem], translator("zh"))[0]
    assert "李明" in text and "2026-10-01" in text


def test_a_daily_row_outside_the_period_is_refused(roster: Roster) -> None:
    data = sample("jd_sales_daily.csv") + "2026-11-01,李明,10.00,1,5\n".encode()
    with pytest.raises(ImportRefused) as refused:
        prepare(data, "x.csv", load_mapping("jd_sales"), roster, OCTOBER)
    assert [p.code for p in refused.value.problems] == ["outside_period"]


DAILY_WITH_PARTS = """
name = "daily_parts"
kind = "summary"
rows = "daily"
weight = "inquiries"
[columns]
date = "日期"
agent = "客服"
inquiries = "询单人数"
converted = "付款人数"
conversion_rate = "转化率"
"""


def test_daily_rates_are_recomputed_from_their_parts_when_the_file_has_them(roster: Roster) -> None:
    data = (
        "日期,客服,询单人数,付款人数,转化率\n2026-10-01,王小红,10,5,0.5\n2026-10-02,王小红"
        ",30,3,0.1\n"
    )
    prepared = prepare(data.encode(), "d.csv", parse_mapping(DAILY_WITH_PARTS), roster, OCTOBER)
    assert prepared.values.loc[1, "conversion_rate"] == pytest.approx(8 / 40)
    assert prepared.weight_column == "询单人数"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            'kind = "summary"\nrows = "daily"\n[columns]\nagent = "A"\nanswered = "B"\n',
            "must map date",
        ),
        (
            'kind = "summary"\nrows = "daily"\n[columns]\nagent = "A"\ndate = "D"\navg_response_s '
            '= "R"\n',
            "set weight",
        ),
        ('kind = "summary"\nrows = "hourly"\n[columns]\nagent = "A"\n', "rows must be one of"),
        ('kind = "summary"\n[columns]\nagent = "A"\ndate = "D"\n', 'set rows = "daily"'),
        (
            'kind = "summary"\n[columns]\nagent = "A"\n[indicators.x]\ncolumn = "X"\nunit = "%%"\n',
            "unit must be",
        ),
        (
            'kind = "summary"\n[columns]\nagent = "A"\n[indicators.aht_s]\ncolumn = "X"\nunit = '
            '"s"\n',
            "one of kpibot's own fields",
        ),
        (
            'kind = "summary"\n[columns]\nagent = "A"\n[indicators.x]\nnumerator = "X"\nunit = '
            '"%"\n',
            "numerator and denominator",
        ),
        (
            'kind = "summary"\n[columns]\nagent = "A"\nstars_5 = "S"\ngood_ratings = "G"\n',
            "count twice",
        ),
    ],
)
def test_a_wrong_daily_or_indicator_mapping_says_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(ImportRefused) as caught:
        parse_mapping(text, default_name="mine")
    assert fragment in " ".join(render_problems(caught.value.problems, translator("en")))


def test_a_declared_rate_whose_numerator_exceeds_its_denominator_is_refused(roster: Roster) -> None:
    data = sample("zendesk_agents.csv").replace(
        b"Li Ming,80,2.25,30,260,20,", b"Li Ming,80,2.25,30,260,90,"
    )
    with pytest.raises(ImportRefused) as refused:
        prepare(data, "z.csv", load_mapping("zendesk_agents"), roster, OCTOBER)
    (problem,) = refused.value.problems
    assert problem.code == "impossible_ratio"
    assert problem.params == {
        "name": "Li Ming",
        "numerator": "One-touch tickets",
        "denominator": "Solved tickets",
    }


def test_combine_rows_sums_and_weights_per_group_like_a_plain_groupby() -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"n": rng.integers(0, 50, 1000).astype(float), "r": rng.random(1000)})
    frame.loc[::7, "r"] = np.nan
    codes = rng.integers(0, 30, 1000)
    frame["top"] = frame["r"]
    rules = {"n": kpi.RowRule("sum"), "r": kpi.RowRule("weighted", "n"), "top": kpi.RowRule("max")}
    got = kpi.combine_rows(frame, codes, rules)
    plain = frame.assign(g=codes, rn=frame.r * frame.n, w=frame.n.where(frame.r.notna())).groupby(
        "g"
    )
    assert np.allclose(got["n"], plain["n"].sum())
    assert np.allclose(got["r"], plain["rn"].sum() / plain["w"].sum())
    assert np.allclose(got["top"], plain["top"].max(), equal_nan=True)
    assert list(got.index) == sorted(set(codes))


# --- helpdesks and call centres ----------------------------------------------------------------


def test_zendesk_agent_metrics_by_hand(roster: Roster) -> None:
    v = _values("zendesk_agents", "zendesk_agents.csv", roster)
    wang = v["王小红"]
    assert wang["first_response_s"] == 1.5 * 3600  # MED (First reply time (hrs)) 1.5
    assert wang["full_resolution_s"] == 20.25 * 3600
    assert wang["one_touch_rate"] == pytest.approx(48 / 120)
    assert (wang["good_ratings"], wang["bad_ratings"]) == (45, 5)  # bad = rated 50 − good 45
    assert wang["satisfaction_rate"] == pytest.approx(0.9)
    assert (
        v["李明"]["satisfaction_rate"] == pytest.approx(27 / 36)
        and v["李明"]["agent_replies"] == 260
    )
    assert "satisfaction_rate" not in v["张伟"]  # nobody rated: no value, never 0 % or 100 %


def test_freshdesk_agent_performance_by_hand(roster: Roster) -> None:
    v = _values("freshdesk_agents", "freshdesk_agents.csv", roster)
    wang = v["王小红"]
    assert wang["resolution_rate"] == pytest.approx(120 / 150)
    assert wang["transfer_rate"] == pytest.approx(15 / 150)
    assert wang["reopen_rate"] == pytest.approx(6 / 120)
    assert wang["resolution_sla_rate"] == pytest.approx(0.925)  # Resolution SLA % 92.5
    assert (
        v["李明"]["reopen_rate"] == pytest.approx(0.1) and v["张伟"]["resolution_sla_rate"] == 1.0
    )


def test_genesys_aht_is_total_handle_time_over_answered(roster: Roster) -> None:
    v = _values("genesys_agents", "genesys_agents.csv", roster)
    assert v["王小红"]["aht_s"] == (18 * 3600 + 20 * 60) / 200  # 330 s = the export's 0:05:30
    assert v["李明"]["aht_s"] == (16 * 3600 + 40 * 60) / 150  # 400 s = 0:06:40
    assert v["李明"]["avg_talk_s"] == 300 and v["李明"]["avg_hold_s"] == 60
    assert "aht_s" not in v["张伟"]  # no answered call: no AHT


def test_a_column_feeding_two_fields_counts_its_empty_cells_once(roster: Roster) -> None:
    data = sample("genesys_agents.csv").replace(b"Zhang Wei,0,", b"Zhang Wei,-,")
    prepared = prepare(data, "g.csv", load_mapping("genesys_agents"), roster, OCTOBER)
    assert prepared.no_value_cells == 1  # Answered is both the calls handled and AHT's count


def test_avaya_aht_is_acd_time_plus_acw_time_over_acd_calls(roster: Roster) -> None:
    v = _values("avaya_agents_en", "avaya_agents_en.csv", roster)
    # 王小红: ACD Time 67:13:20 = 242,000 s, ACW Time 10:05:00 = 36,300 s, 1,210 ACD calls
    assert v["王小红"]["aht_s"] == pytest.approx((242_000 + 36_300) / 1210)  # 230 s = 3:20 + 0:30
    assert v["李明"]["aht_s"] == pytest.approx((220_500 + 39_200) / 980)  # 265 s


def test_qianniu_and_chitu_own_rates_are_taken_as_they_are(roster: Roster) -> None:
    qianniu = _values("qianniu_performance", "qianniu_客服绩效_20261001_20261031_全部.csv", roster)
    assert qianniu["王小红"]["wangwang_reply_rate"] == pytest.approx(0.995)  # 旺旺回复率 99.50%
    assert qianniu["李明"]["customer_satisfaction_rate"] == pytest.approx(0.96)  # 客户满意率 96.00%
    chitu = _values("chitu_presales", "chitu_售前明细表.csv", roster)
    assert chitu["王小红"]["reply_rate"] == pytest.approx(0.995)
    assert chitu["王小红"]["answer_question_ratio"] == pytest.approx(1.35)  # 客服答问比


def test_chitu_five_satisfaction_levels_are_star_counts(roster: Roster) -> None:
    prepared = prepare(
        sample("chitu_满意度.csv"), "s.csv", load_mapping("chitu_satisfaction"), roster, OCTOBER
    )
    assert prepared.skipped == {"合计": 1}
    stars = kpi.star_counts(prepared.values)
    assert list(stars.loc[1]) == [2, 3, 5, 10, 30]  # 非常不满意 … 非常满意 of 王小红
    assert list(stars.loc[2]) == [1, 0, 1, 6, 12]
    assert stars.loc[3].sum() == 0
    assert prepared.values.loc[1, "chitu_satisfied_rate"] == pytest.approx(0.8)


# --- a mapping's own indicators are importable for a scheme --------------------------------------


def test_the_declared_indicators_are_importable_for_scheme_check() -> None:
    declared = declared_indicators()
    assert {
        "answer_30s_rate",
        "answer_question_ratio",
        "resolution_sla_rate",
        "one_touch_rate",
    } <= set(declared)
    assert declared["agent_replies"] == ("freshdesk_agents", "zendesk_agents")
    assert (
        "answer_30s_rate" in kpi.importable(declared) and "answer_30s_rate" not in kpi.importable()
    )


def test_a_scheme_scoring_a_platform_rate_passes_the_provision_check() -> None:
    from commands.importing.mapping import declared_indicators as declared
    from scoring.provision import provision_problems
    from scoring.scheme_parser import parse_scheme

    text = """
id = "jd"
[name]
zh = "京东客服"
en = "JD support"
[[components]]
kind = "kpi"
weight = 100
[[indicators]]
id = "answer_30s_rate"
name = { zh = "30秒应答率", en = "Answered within 30 s" }
unit = "fraction"
better = "higher"
points = 100
method = "ratio"
params.target = 0.9
"""
    scheme = parse_scheme(text)
    assert [p.code for p in provision_problems(scheme)] == ["not_importable_close"]  # (answer_rate)
    assert provision_problems(scheme, declared()) == []

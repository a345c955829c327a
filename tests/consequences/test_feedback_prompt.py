"""The feedback prompt in numbers people read (issue 17): units, one target per indicator, the
current (post-appeal) result, praise kept out of the sub-goals; in Chinese and in English."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from commands.feedback import render_prompt, weakest
from commands.i18n import translator
from commands.router import Router
from scoring import parse_scheme
from storage import repo
from storage.db import unit_of_work
from tests.conftest import Clock
from tests.consequences.test_consequences import APPLY, _publish, _texts, _use_scheme
from tests.conversations.transcript import FakeChat
from tests.conversations.world import SCHEME_TEXT

SHOP = """
id = "shop"
period = "month"
[name]
zh = "网店"
en = "Shop"
[[components]]
kind = "kpi"
weight = 100
[[indicators]]
id = "sales"
name = { zh = "销售额", en = "Sales" }
unit = "yuan"
better = "higher"
points = 40
method = "ratio"
params.target = 200000
[[indicators]]
id = "conversion"
name = { zh = "询单转化率", en = "Conversion" }
unit = "fraction"
better = "higher"
points = 30
method = "tiered"
params.bands = [
  { lt = 0.2, points = 0 },
  { ge = 0.2, lt = 0.25, points = 10 },
  { ge = 0.25, lt = 0.3, points = 20 },
  { ge = 0.3, points = 30 },
]
[[indicators]]
id = "first_reply_s"
name = { zh = "首次响应时间", en = "First reply time" }
unit = "seconds"
better = "lower"
points = 30
method = "either_or"
params.target = 30
"""
BREAKDOWN = {
    "indicators": {
        "sales": {"value": 58278.3, "points": 11.66, "max_points": 40, "status": "ok"},
        "conversion": {"value": 0.235, "points": 10, "max_points": 30, "status": "ok"},
        "first_reply_s": {"value": 45, "points": 0, "max_points": 30, "status": "ok"},
    }
}
SLOT = datetime(2026, 11, 9, 2, 0, tzinfo=UTC)


def _prompt(notes: dict[str, list[str]] | None = None) -> dict[str, object]:
    scheme = parse_scheme(SHOP)
    return {
        "period": "2026-10", "agent": "王小红", "total": 26.6584, "rank": 9, "group_size": 12,
        "class": {"level": "low", "trend": "new", "median": 61.25, "previous_mean": None},
        "precision": scheme.precision, "subgoals": weakest(BREAKDOWN, scheme),
        "notes": notes or {"to_improve": [], "why": [], "praise": []}, "outline": [],
    }  # fmt: skip


def test_the_prompt_shows_money_shares_and_seconds_with_their_units_in_chinese() -> None:
    """Before: 从 5.83e+04 到 200000, values without units, a second target in the questions."""
    scheme = parse_scheme(SHOP)
    text = render_prompt(translator("zh"), "zh", _prompt(), [SLOT], "Asia/Shanghai", scheme)
    assert "总分 26.7，排名 9/12" in text
    assert "销售额：从 ¥58,278.30 到 ¥200,000.00" in text
    assert "询单转化率：从 23.5% 到 25%" in text  # the next band's edge, not the full points' 30%
    assert "首次响应时间：从 45 秒到 30 秒" in text
    assert "目标是什么？首次响应时间 30 秒；销售额 ¥200,000.00；询单转化率 25%" in text
    assert not re.search(r"\de[+-]\d", text), "no float in scientific notation"
    assert "销售额 ¥58,278.30（11.7/40 分）" in text  # points at the scheme's precision


def test_each_indicator_has_one_target_the_methods_next_one_in_english() -> None:
    scheme = parse_scheme(SHOP)
    text = render_prompt(translator("en"), "en", _prompt(), [SLOT], "Asia/Shanghai", scheme)
    assert "Sales: from ¥58,278.30 to ¥200,000.00" in text
    assert "Conversion: from 23.5% to 25%" in text
    assert "First reply time: from 45 s to 30 s" in text
    assert "What was the target? First reply time 30 s; Sales ¥200,000.00; Conversion 25%" in text
    assert "raise Conversion to 25%" in text and "bring First reply time down to 30 s" in text
    assert "30%" not in text, "one target per indicator: the full points' edge is not a second one"


def test_praise_from_the_reviews_is_not_a_sub_goal() -> None:
    scheme = parse_scheme(SHOP)
    notes = {"to_improve": ["回复再快一些"], "why": ["催单处理慢"], "praise": ["服务态度一直很好"]}
    text = render_prompt(translator("zh"), "zh", _prompt(notes), [SLOT], "Asia/Shanghai", scheme)
    goals = text.split("2. ", 1)[1].split("3. ", 1)[0]
    assert "回复再快一些" in goals and "服务态度一直很好" not in goals
    assert "评价中的肯定：服务态度一直很好" in text
    assert "催单处理慢" in text.split("原因是什么？", 1)[1]


def test_the_prompt_shown_after_an_upheld_appeal_has_the_restated_total(
    engine: Engine, router: Router, clock: Clock
) -> None:
    _use_scheme(engine, SCHEME_TEXT + APPLY)
    FakeChat(router, "周人事").say("/calibrate lock 2026-10")
    _publish(engine, clock)
    sent = next(t for t in _texts(engine, "feedback.prompt").values() if "with Dave" in t)
    before = re.search(r"total ([\d.]+)", sent).group(1)  # type: ignore[union-attr]
    filed = FakeChat(router, "Dave").say("/appeal kpi my response time was 29 s")[0].text
    appeal_id = filed.split("#")[1].split()[0]
    FakeChat(router, "Mary").say(
        f"/appeal uphold {appeal_id} avg_response_s=29 the shift log confirms it"
    )
    with unit_of_work(engine) as s:
        london = repo.get_team_by_name(session=s, name="london")
        assert london is not None
        dave = repo.get_member_by_name(session=s, team=london, name="Dave")
        period = repo.get_period(session=s, team=london, key="2026-10")
        assert dave is not None and period is not None
        row = next(r for r in repo.list_scores(session=s, period=period) if r.member_id == dave.id)
        now = f"{float(row.total):.1f}"
    assert now != before
    shown = FakeChat(router, "Mary").say("/feedback Dave")[0].text
    assert f"total {now}," in shown and f"total {before}," not in shown
    assert "Average response time: from" not in shown  # 29 s is in the best band now


def test_the_chinese_manager_sees_the_prompt_in_chinese_with_units(
    engine: Engine, router: Router, clock: Clock
) -> None:
    _use_scheme(engine, SCHEME_TEXT + APPLY)
    FakeChat(router, "周人事").say("/calibrate lock 2026-10")
    _publish(engine, clock)
    shown = FakeChat(router, "王经理").say("/feedback 刘洋")[0].text
    assert "与刘洋关于 2026-10 的绩效反馈面谈" in shown
    assert re.search(r"退款比例：从 \d+(\.\d)?% 到 \d+(\.\d)?%", shown), shown
    assert not re.search(r"\d\.\d{2,}", shown.split("4. ")[0]), "no unrounded floats"

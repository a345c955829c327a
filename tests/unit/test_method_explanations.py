"""Each scoring method is complete: its receipt, rule, next and full target (issue 18 item 4)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from commands.explain import render
from commands.i18n import catalog, translator
from scoring import SchemeError, parse_scheme
from scoring.explained import Explained, Joined, Span
from scoring.methods import (
    METHOD_KINDS,
    METHODS,
    Band,
    Deduction,
    Descriptive,
    EitherOr,
    Gate,
    Level,
    Method,
    Ratio,
    Tiered,
)

TIERED = Tiered(
    (Band(0, upper=0.2), Band(10, 0.2, True, 0.25), Band(20, 0.25, True, 0.3), Band(30, 0.3, True))
)
LEVELS = Descriptive(
    (
        Level("poor", "差", "Poor", 0),
        Level("ok", "合格", "Fair", 6),
        Level("good", "良好", "Good", 10),
    )
)
SAMPLES = [TIERED, Deduction(5, 1), Ratio(200000), EitherOr(30), LEVELS, Gate(0.9, "kpi")]


def test_the_registry_knows_every_kind_and_each_kind_parses_to_its_own_class() -> None:
    assert set(METHODS) == set(METHOD_KINDS) == {m.kind for m in SAMPLES}
    for kind, cls in METHODS.items():
        assert cls.kind == kind and cls.PARAMS


def test_an_unknown_method_kind_is_refused_with_the_kinds_there_are() -> None:
    """Before: a kind nobody parsed fell through the parser's last ``else`` into a Gate."""
    text = parse_scheme_text("bonus", "")
    with pytest.raises(SchemeError) as err:
        parse_scheme(text)
    [problem] = [p for p in err.value.problems if p.code == "unknown_method"]
    assert "bonus" in problem.message and "either_or" in problem.message


@pytest.mark.parametrize(
    ("method", "better", "value", "next_", "full"),
    [
        (TIERED, "higher", 0.235, 0.25, 0.3),
        (TIERED, "higher", 0.31, 0.3, 0.3),
        (TIERED, "higher", None, 0.3, 0.3),
        (Deduction(5, 1), "lower", 4, 1, 1),
        (Ratio(200000), "higher", 58278.3, 200000, 200000),
        (EitherOr(30), "lower", 45, 30, 30),
        (LEVELS, "higher", 1, 2, 3),
        (LEVELS, "higher", 3, 3, 3),
        (Gate(0.9, "kpi"), "higher", 0.8, 0.9, 0.9),
    ],
)  # fmt: skip
def test_each_method_says_its_next_and_its_full_target(
    method: object, better: str, value: float | None, next_: float, full: float
) -> None:
    assert method.next_target(value, better) == pytest.approx(next_)  # type: ignore[attr-defined]
    assert method.full_target(better) == pytest.approx(full)  # type: ignore[attr-defined]


def test_either_or_and_a_gate_score_points_alike_and_only_the_gate_voids_a_component() -> None:
    """DOMAIN.md: either-or is full points if the target is met, else 0; a gate earns its points
    the same way and, missed, also voids the component it names (scoring.total)."""
    values = np.array([10.0, 30.0, 31.0, np.nan])
    a = EitherOr(30).score(values, 20.0, "lower")
    b = Gate(30, "kpi").score(values, 20.0, "lower")
    np.testing.assert_array_equal(a.points, b.points)
    assert list(a.points[:3]) == [20.0, 20.0, 0.0]
    assert EitherOr(30).voids is None and Gate(30, "kpi").voids == "kpi"


def _has_words(msgid: str) -> bool:
    return any(ch.isalpha() for ch in re.sub(r"\{[^}]*\}", "", msgid))


def _msgids(said: object) -> list[str]:
    if isinstance(said, Joined):
        return [m for e in said.items for m in _msgids(e)]
    if isinstance(said, Explained):
        return [said.text, *(m for p in said.params.values() for m in _msgids(p))]
    return []


def test_every_receipt_and_rule_of_every_method_reads_in_chinese() -> None:
    zh = catalog("zh")
    said: list[object] = []
    for m in SAMPLES:
        said.append(m.rule(30, "higher"))
        said.append(m.rule(30, "lower"))
        note = m.note(30)
        if note is not None:
            said.append(note)
        values = np.array([0.235, 4.0, 2.0])
        scored = m.score(values, 30.0, "higher" if not isinstance(m, Deduction) else "lower")
        for v, code in zip(values, scored.code, strict=True):
            receipt = m.receipt(m.detail(float(v), float(code)))
            if receipt is not None:
                said.append(receipt)
    msgids = {t for s in said for t in _msgids(s) if _has_words(t)}
    assert msgids and [t for t in msgids if zh.gettext(t) == t] == []


@pytest.mark.parametrize(
    ("method", "detail", "band"),
    [
        (TIERED, {"band": 3, "range": "[0.25, 0.3)"}, Span(0.25, True, 0.3, False)),
        (TIERED, {"band": 1.0}, Span(None, False, 0.2, False)),
        (TIERED, {"band": 5}, None),
        (TIERED, {"band": 0}, None),
        (TIERED, {}, None),
        *[(m, {"band": 1}, None) for m in SAMPLES[1:]],
    ],
)  # fmt: skip
def test_only_a_tiered_method_names_the_band_a_detail_says_and_only_a_band_it_has(
    method: Method, detail: dict[str, object], band: Span | None
) -> None:
    assert method.band(detail) == band


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (0.1, Span(None, False, 0.2, False)),
        (0.2, Span(0.2, True, 0.25, False)),
        (0.26, Span(0.25, True, 0.3, False)),
        (0.3, Span(0.3, True, None, False)),
    ],
)
def test_the_band_of_a_scored_value_is_the_band_that_holds_it(value: float, band: Span) -> None:
    scored = TIERED.score(np.array([value]), 30, "higher")
    assert TIERED.band(TIERED.detail(value, float(scored.code[0]))) == band


def test_a_receipt_reads_as_before_band_deduction_ratio_level_gate() -> None:
    scheme = parse_scheme(
        parse_scheme_text(
            "tiered", "params.bands = [{ lt = 0.2, points = 0 }, { ge = 0.2, points = 30 }]"
        )
    )
    ind = scheme.indicators[0]
    _ = translator("en")
    tiered = ind.method.receipt({"band": 2})
    assert tiered is not None and render(_, "en", ind, scheme, tiered) == "band 2 (≥ 20%)"
    assert (
        render(_, "en", ind, scheme, Ratio(2).receipt({"ratio": 1.2, "capped": True}))
        == "120% of target (capped)"
    )  # type: ignore[arg-type]
    assert (
        render(_, "en", ind, scheme, Deduction(5).receipt({"events": 3, "deducted": 15.0}))
        == "3 events, 15 points deducted"
    )  # type: ignore[arg-type]
    assert render(translator("zh"), "zh", ind, scheme, LEVELS.receipt({"level": "good"})) == "良好"  # type: ignore[arg-type]
    gate = Gate(0.9, "kpi").receipt({"met": False, "voids": "kpi"})
    assert gate is not None and render(_, "en", ind, scheme, gate) == "gate missed: voids KPI table"


def parse_scheme_text(method: str, params: str) -> str:
    return f"""
id = "t"
period = "month"
[name]
zh = "测试"
en = "Test"
[[components]]
kind = "kpi"
weight = 100
[[indicators]]
id = "conversion"
name = {{ zh = "转化率", en = "Conversion" }}
unit = "fraction"
better = "higher"
points = 100
method = "{method}"
{params}
"""

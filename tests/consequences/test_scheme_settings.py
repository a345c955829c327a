"""The scheme's [calibration] table and the consequence settings in [apply]."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring import SchemeError, parse_scheme

MINI = (Path(__file__).parents[1] / "conversations" / "data" / "mini_shop.toml").read_text(
    encoding="utf-8"
)


def test_a_scheme_without_calibration_gets_the_documented_defaults() -> None:
    scheme = parse_scheme(MINI)
    assert scheme.calibration.outlier_k == 2.0
    assert scheme.calibration.min_reviews == 3
    assert scheme.calibration.targets == ()
    assert scheme.apply.appeal_days == 7
    assert scheme.apply.announce_best is False
    assert scheme.apply.personal_goals is True


def test_calibration_targets_and_apply_settings_are_read() -> None:
    text = (
        MINI
        + """
[apply]
appeal_days = 5
announce_best = true
personal_goals = false

[calibration]
outlier_k = 1.5
min_reviews = 2
targets = [
  { id = "excellent", name = { zh = "优秀", en = "Excellent" }, min_total = 90, max_share = 0.2 },
]
"""
    )
    scheme = parse_scheme(text)
    assert scheme.calibration.outlier_k == 1.5
    assert scheme.calibration.min_reviews == 2
    (target,) = scheme.calibration.targets
    assert (target.id, target.name.zh, target.min_total, target.max_share) == (
        "excellent",
        "优秀",
        90.0,
        0.2,
    )
    assert (scheme.apply.appeal_days, scheme.apply.announce_best, scheme.apply.personal_goals) == (
        5,
        True,
        False,
    )


@pytest.mark.parametrize(
    ("table", "code"),
    [
        ("[calibration]\noutlier_k = 0", "not_positive"),
        (
            '[calibration]\ntargets = [ { id = "top", name = { zh = "优", en = "Top" }, min_total '
            "= 90, max_share = 1.5 } ]",
            "share_range",
        ),
        (
            '[calibration]\ntargets = [ { id = "top", name = { zh = "优", en = "Top" }, min_total '
            "= 120, max_share = 0.1 } ]",
            "total_range",
        ),
        (
            '[calibration]\ntargets = [ { id = "top", name = { zh = "优", en = "Top" }, max_share '
            "= 0.1 } ]",
            "required",
        ),
        ('[apply]\nannounce_best = "yes"', "expected_bool"),
        ("calibration = 3", "expected_table"),
    ],
)
def test_a_bad_calibration_setting_is_refused_with_its_code(table: str, code: str) -> None:
    text = (
        (table + "\n" + MINI) if table.startswith("calibration =") else (MINI + "\n" + table + "\n")
    )
    with pytest.raises(SchemeError) as caught:
        parse_scheme(text)
    assert code in [p.code for p in caught.value.problems]

"""The ranking chart renders without a display and shows Chinese names."""

from __future__ import annotations

import logging
import shutil
import warnings

import pytest

from commands import charts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
BARS = [
    charts.Bar("张伟", 91.5, reward=True),
    charts.Bar("Alice Wang", 80.0, highlight=True),
    charts.Bar("李娜", 42.25, penalty=True),
]


@pytest.mark.skipif(shutil.which("fc-list") is None, reason="fontconfig is not installed")
def test_chinese_names_render_with_a_cjk_font_and_no_missing_glyphs() -> None:
    charts.cjk_font.cache_clear()
    if charts.cjk_font() is None:
        pytest.fail("no CJK font: install fonts-wqy-zenhei (scripts/test-setup.sh)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = charts.ranking_chart(BARS, title="排名 2026-10", xlabel="总分", precision=1)
    assert png.startswith(PNG_MAGIC)
    assert [w for w in caught if "missing from font" in str(w.message)] == []


def test_without_a_cjk_font_the_chart_still_renders_and_a_warning_is_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(charts, "PREFERRED_CJK_FAMILIES", ())
    monkeypatch.setattr(charts, "_fontconfig_cjk_files", lambda: [])
    charts.cjk_font.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="commands.charts"):
            assert charts.cjk_font() is None
        assert "fonts-wqy-zenhei" in caplog.text
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            png = charts.ranking_chart(BARS, title="ranking", xlabel="total", precision=1)
        assert png.startswith(PNG_MAGIC)
    finally:
        charts.cjk_font.cache_clear()


def test_a_longer_ranking_makes_a_taller_picture() -> None:
    from io import BytesIO

    from matplotlib.image import imread

    short = imread(BytesIO(charts.ranking_chart(BARS[:1], title="t", xlabel="x", precision=1)))
    tall = imread(BytesIO(charts.ranking_chart(BARS * 6, title="t", xlabel="x", precision=1)))
    assert tall.shape[0] > short.shape[0]

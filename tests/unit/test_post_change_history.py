"""The change-of-post run read from stored results: a provisional month is handed to the scoring
rule as unranked (``None``), so it neither counts as last nor breaks the run (issue 14 item 1)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from commands import results


def test_the_history_marks_a_provisional_month_unranked_and_looks_back_twice_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    periods = [SimpleNamespace(key=f"2026-0{m}") for m in range(1, 7)]
    stored: dict[str, dict[int, dict[str, Any]]] = {
        "2026-03": {7: {"last": True}},
        "2026-04": {7: {"last": True}},
        "2026-05": {7: {"last": False, "provisional": True}},  # never ranked: no place
        "2026-06": {7: {"last": True}},
    }
    monkeypatch.setattr(results, "_earlier_periods", lambda team, period, session: periods)
    monkeypatch.setattr(
        results, "_light_scores", lambda team, past, session: stored.get(past.key, {})
    )
    scheme = SimpleNamespace(apply=SimpleNamespace(post_change_after=3))
    frame = results._history_frame(None, None, scheme, [7, 8], session=None)  # type: ignore[arg-type]
    assert frame is not None
    assert list(frame.columns) == ["2026-03", "2026-04", "2026-05", "2026-06"]
    assert frame.loc["7"].tolist() == [True, True, None, True]
    assert frame.loc["8"].tolist() == [False, False, False, False]  # not on the team then: not last
